// The MEMCACHED index cache: memcached as a second level behind the in-memory LRU.
// Lookups hit memory first (synchronously, as with IN-MEMORY alone); what memory misses
// is asked of memcached in one multi-get, and what memcached has is kept in memory too.
// Items read from the bucket go to both (memcached asynchronously).
//
// Keys are Thanos's (pkg/store/cache/cache.go CacheKey): P:<block>:<hash of name:value>
// and S:<block>:<series ref>, except that the hash is SHA-256 (Node has no BLAKE2b-256).
// Values are the raw index bytes (postings section, series entry with its CRC), not
// Thanos's encodings; since a Thanos store sharing the memcached may write other bytes
// under the same series keys, a value from memcached is checked (length and CRC) before
// it is used, and one that fails is a miss.

import { MemcachedCache } from '@thanos-ts/cache';
import type { Cache, MemcachedClientConfig } from '@thanos-ts/cache';
import type { Logger } from '@thanos-ts/runtime';
import { readPostingsList, verifySeriesEntry } from '@thanos-ts/tsdb';
import { createHash } from 'node:crypto';
import type { Registry } from 'prom-client';
import { CacheItemType } from './index-cache.js';
import type { IndexCache, InMemoryIndexCache } from './index-cache.js';

export interface MemcachedIndexCacheOptions {
  /** Expiry of stored items. */
  ttlMs: number;
  /** Item types cached; empty means all. */
  enabledItems: readonly CacheItemType[];
  registry?: Registry;
  logger?: Logger;
}

export class MemcachedIndexCache implements IndexCache {
  private readonly remote: Cache;
  private readonly postings: boolean;
  private readonly series: boolean;

  /** remote: a MEMCACHED client config, or any Cache (tests). */
  constructor(
    readonly memory: InMemoryIndexCache,
    remote: MemcachedClientConfig | Cache,
    private readonly opts: MemcachedIndexCacheOptions,
  ) {
    this.remote = 'fetch' in remote ? remote : new MemcachedCache(remote, { name: 'index-cache', registry: opts.registry, logger: opts.logger });
    const all = opts.enabledItems.length === 0;
    this.postings = all || opts.enabledItems.includes(CacheItemType.POSTINGS);
    this.series = all || opts.enabledItems.includes(CacheItemType.SERIES);
  }

  fetchPostings(block: string, keys: readonly { name: string; value: string }[]): (Uint8Array | undefined)[] {
    return this.memory.fetchPostings(block, keys);
  }

  fetchSeries(block: string, refs: ArrayLike<number>): (Uint8Array | undefined)[] {
    return this.memory.fetchSeries(block, refs);
  }

  storePostings(block: string, name: string, value: string, v: Uint8Array): void {
    this.memory.storePostings(block, name, value, v);
    if (this.postings) this.remote.store(new Map([[postingsKey(block, name, value), v]]), this.opts.ttlMs);
  }

  storeSeries(block: string, ref: number, v: Uint8Array): void {
    this.memory.storeSeries(block, ref, v);
    if (this.series) this.remote.store(new Map([[seriesKey(block, ref), v]]), this.opts.ttlMs);
  }

  dropBlock(block: string): void {
    // memcached forgets the block's items when they expire.
    this.memory.dropBlock(block);
  }

  async fetchPostingsRemote(block: string, keys: readonly { name: string; value: string }[], out: (Uint8Array | undefined)[]): Promise<void> {
    if (!this.postings) return;
    const idx: number[] = [];
    const ks: string[] = [];
    for (let i = 0; i < keys.length; i++) {
      if (out[i] !== undefined) continue;
      idx.push(i);
      ks.push(postingsKey(block, keys[i].name, keys[i].value));
    }
    if (ks.length === 0) return;
    const got = await this.remote.fetch(ks);
    if (got.size === 0) return;
    for (let j = 0; j < idx.length; j++) {
      const v = got.get(ks[j]);
      if (v === undefined || !validPostings(v)) continue;
      const k = keys[idx[j]];
      this.memory.storePostings(block, k.name, k.value, v);
      out[idx[j]] = v;
    }
  }

  async fetchSeriesRemote(block: string, refs: ArrayLike<number>, out: (Uint8Array | undefined)[]): Promise<void> {
    if (!this.series) return;
    const idx: number[] = [];
    const ks: string[] = [];
    for (let i = 0; i < refs.length; i++) {
      if (out[i] !== undefined) continue;
      idx.push(i);
      ks.push(seriesKey(block, refs[i]));
    }
    if (ks.length === 0) return;
    const got = await this.remote.fetch(ks);
    if (got.size === 0) return;
    for (let j = 0; j < idx.length; j++) {
      const v = got.get(ks[j]);
      if (v === undefined || !validSeries(v)) continue;
      this.memory.storeSeries(block, refs[idx[j]], v);
      out[idx[j]] = v;
    }
  }

  close(): Promise<void> {
    return this.remote.close();
  }
}

/** Thanos's postings key, with SHA-256 for BLAKE2b-256. */
export function postingsKey(block: string, name: string, value: string): string {
  return `P:${block}:${createHash('sha256').update(`${name}:${value}`).digest('base64url')}`;
}

export function seriesKey(block: string, ref: number): string {
  return `S:${block}:${ref}`;
}

function validPostings(v: Uint8Array): boolean {
  try {
    const { start, count } = readPostingsList(v, 0, 'memcached');
    return start + count * 4 + 4 === v.length;
  } catch {
    return false;
  }
}

function validSeries(v: Uint8Array): boolean {
  try {
    return verifySeriesEntry(v, 0, 'memcached') === v.length;
  } catch {
    return false;
  }
}
