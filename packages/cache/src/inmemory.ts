// IN-MEMORY: an LRU bounded by bytes (and optionally by items), with per-item TTLs
// (Thanos pkg/cache/inmemory.go; max_size_items and validity are query-frontend's).
// Values are held as given, not copied on fetch: callers must treat them as read-only.

import type { Logger } from '@thanos-ts/runtime';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Cache } from './cache.js';
import type { InMemoryCacheConfig } from './config.js';
import { metricsOnce } from './metrics.js';

interface Entry {
  value: Uint8Array;
  size: number;
  /** ms since epoch; 0: never. */
  expiresAt: number;
}

function inMemoryMetrics(registers: Registry[]) {
  const labelNames = ['name'] as const;
  return {
    evicted: new Counter({ name: 'thanos_cache_inmemory_items_evicted_total', help: 'Total number of items that were evicted from the inmemory cache.', labelNames, registers }),
    added: new Counter({ name: 'thanos_cache_inmemory_items_added_total', help: 'Total number of items that were added to the inmemory cache.', labelNames, registers }),
    requests: new Counter({ name: 'thanos_cache_inmemory_requests_total', help: 'Total number of requests to the inmemory cache.', labelNames, registers }),
    hitsExpired: new Counter({ name: 'thanos_cache_inmemory_hits_on_expired_data_total', help: 'Total number of requests to the inmemory cache that were a hit but needed to be evicted due to TTL.', labelNames, registers }),
    overflow: new Counter({ name: 'thanos_cache_inmemory_items_overflowed_total', help: 'Total number of items that could not be added to the inmemory cache due to being too big.', labelNames, registers }),
    hits: new Counter({ name: 'thanos_cache_inmemory_hits_total', help: 'Total number of requests to the inmemory cache that were a hit.', labelNames, registers }),
    items: new Gauge({ name: 'thanos_cache_inmemory_items', help: 'Current number of items in the inmemory cache.', labelNames, registers }),
    itemsSize: new Gauge({ name: 'thanos_cache_inmemory_items_size_bytes', help: 'Current byte size of items in the inmemory cache.', labelNames, registers }),
    totalSize: new Gauge({ name: 'thanos_cache_inmemory_total_size_bytes', help: 'Current byte size of items (both value and key) in the inmemory cache.', labelNames, registers }),
    maxSize: new Gauge({ name: 'thanos_cache_inmemory_max_size_bytes', help: 'Maximum number of bytes to be held in the inmemory cache.', labelNames, registers }),
    maxItemSize: new Gauge({ name: 'thanos_cache_inmemory_max_item_size_bytes', help: 'Maximum number of bytes for single entry to be held in the inmemory cache.', labelNames, registers }),
  };
}

export interface InMemoryCacheOptions {
  name: string;
  registry?: Registry;
  logger?: Logger;
}

export class InMemoryCache implements Cache {
  readonly name: string;
  // Map iteration order is insertion order: re-inserting on a hit keeps the LRU entry first.
  private readonly entries = new Map<string, Entry>();
  private curSize = 0;
  private valueSize = 0;
  private readonly m: ReturnType<typeof inMemoryMetrics>;
  private readonly labels: { name: string };

  constructor(
    readonly cfg: InMemoryCacheConfig,
    opts: InMemoryCacheOptions,
  ) {
    this.name = opts.name;
    this.labels = { name: opts.name };
    this.m = metricsOnce(opts.registry, 'inmemory', inMemoryMetrics);
    for (const c of [this.m.evicted, this.m.added, this.m.requests, this.m.hitsExpired, this.m.overflow, this.m.hits]) c.inc(this.labels, 0);
    this.m.maxSize.set(this.labels, cfg.maxSizeBytes);
    this.m.maxItemSize.set(this.labels, cfg.maxItemSizeBytes);
    this.gauges();
  }

  /** Bytes held (values and keys). */
  get size(): number {
    return this.curSize;
  }

  get length(): number {
    return this.entries.size;
  }

  store(items: Map<string, Uint8Array>, ttlMs: number): void {
    const ttl = ttlMs > 0 ? ttlMs : this.cfg.validityMs;
    const expiresAt = ttl > 0 ? Date.now() + ttl : 0;
    for (const [k, v] of items) this.set(k, v, expiresAt);
    this.gauges();
  }

  async fetch(keys: readonly string[]): Promise<Map<string, Uint8Array>> {
    return this.fetchSync(keys);
  }

  /** fetch without the promise, for callers on a hot path that know the backend. */
  fetchSync(keys: readonly string[]): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    let hits = 0;
    let expired = 0;
    const now = keys.length > 0 ? Date.now() : 0;
    for (const k of keys) {
      const e = this.entries.get(k);
      if (e === undefined) continue;
      if (e.expiresAt !== 0 && e.expiresAt <= now) {
        this.remove(k, e);
        expired++;
        continue;
      }
      this.entries.delete(k);
      this.entries.set(k, e);
      out.set(k, e.value);
      hits++;
    }
    this.m.requests.inc(this.labels, keys.length);
    if (hits > 0) this.m.hits.inc(this.labels, hits);
    if (expired > 0) {
      this.m.hitsExpired.inc(this.labels, expired);
      this.gauges();
    }
    return out;
  }

  async close(): Promise<void> {
    this.entries.clear();
    this.curSize = 0;
    this.valueSize = 0;
    this.gauges();
  }

  private set(key: string, value: Uint8Array, expiresAt: number): void {
    const size = value.byteLength + key.length;
    if (size > this.cfg.maxItemSizeBytes || size > this.cfg.maxSizeBytes) {
      this.m.overflow.inc(this.labels);
      return;
    }
    const old = this.entries.get(key);
    if (old !== undefined) this.remove(key, old);
    const maxItems = this.cfg.maxSizeItems > 0 ? this.cfg.maxSizeItems : Infinity;
    while (this.curSize + size > this.cfg.maxSizeBytes || this.entries.size >= maxItems) {
      const first = this.entries.entries().next();
      if (first.done === true) break;
      this.remove(first.value[0], first.value[1]);
      this.m.evicted.inc(this.labels);
    }
    // A view into a larger buffer (a socket chunk, a fetched range) would pin all of it.
    const own = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength ? value : Uint8Array.prototype.slice.call(value);
    this.entries.set(key, { value: own, size, expiresAt });
    this.curSize += size;
    this.valueSize += value.byteLength;
    this.m.added.inc(this.labels);
  }

  private remove(key: string, e: Entry): void {
    this.entries.delete(key);
    this.curSize -= e.size;
    this.valueSize -= e.value.byteLength;
  }

  private gauges(): void {
    this.m.items.set(this.labels, this.entries.size);
    this.m.itemsSize.set(this.labels, this.valueSize);
    this.m.totalSize.set(this.labels, this.curSize);
  }
}
