// The index cache (Thanos pkg/store/cache): postings lists and series entries, keyed by
// block, held in one LRU bounded by bytes (--index-cache-size, or the IN-MEMORY config of
// --index-cache.config-file). Entries are the raw index bytes, checked when fetched, so
// a hit needs no second check. Items larger than max_item_size are not cached at all.
// With type MEMCACHED the in-memory LRU stays in front (sized by --index-cache-size) and
// memcached is a second level behind it (memcached-index-cache.ts).

import { memcachedClientConfig } from '@thanos-ts/cache';
import type { MemcachedClientConfig } from '@thanos-ts/cache';
import { parseBytes, parseConfigDuration, UserError } from '@thanos-ts/runtime';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';

export const CacheItemType = { POSTINGS: 'Postings', SERIES: 'Series' } as const;
export type CacheItemType = (typeof CacheItemType)[keyof typeof CacheItemType];

/** What the store needs from an index cache. */
export interface IndexCache {
  fetchPostings(block: string, keys: readonly { name: string; value: string }[]): (Uint8Array | undefined)[];
  storePostings(block: string, name: string, value: string, v: Uint8Array): void;
  fetchSeries(block: string, refs: ArrayLike<number>): (Uint8Array | undefined)[];
  storeSeries(block: string, ref: number, v: Uint8Array): void;
  /** Drops every item of a block that left the store. */
  dropBlock(block: string): void;
  /**
   * A second level behind the in-memory one (memcached), when configured: fills the holes
   * of `out` (what fetchPostings answered for keys) with what it has. Never throws.
   */
  fetchPostingsRemote?(block: string, keys: readonly { name: string; value: string }[], out: (Uint8Array | undefined)[]): Promise<void>;
  /** As fetchPostingsRemote, for fetchSeries's answer. */
  fetchSeriesRemote?(block: string, refs: ArrayLike<number>, out: (Uint8Array | undefined)[]): Promise<void>;
  /** Stops talking to a remote level; the in-memory one needs nothing. */
  close?(): Promise<void>;
}

export interface InMemoryIndexCacheConfig {
  maxSizeBytes: number;
  maxItemSizeBytes: number;
  /** Item types cached; empty means all. */
  enabledItems: CacheItemType[];
}

/** --index-cache.config: the in-memory cache, and for type MEMCACHED the remote level behind it. */
export interface IndexCacheConfig extends InMemoryIndexCacheConfig {
  memcached?: {
    client: MemcachedClientConfig;
    /** Expiry of stored items (Thanos `ttl`, default 24h). */
    ttlMs: number;
  };
}

export const DEFAULT_INDEX_CACHE_SIZE = 250 * 1024 * 1024;
// Thanos memcachedDefaultTTL.
const DEFAULT_REMOTE_TTL_MS = 24 * 3600 * 1000;

/**
 * Parses --index-cache.config(-file) (Thanos' `type` + `config` shape): IN-MEMORY, or
 * MEMCACHED with an in-memory level of inMemoryBytes (--index-cache-size) in front of
 * it. REDIS is recognised and refused by name.
 */
export function parseIndexCacheConfig(text: string, source = 'index cache config', inMemoryBytes = DEFAULT_INDEX_CACHE_SIZE): IndexCacheConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new UserError(`${source}: parse YAML: ${(err as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new UserError(`${source}: expected a mapping with "type" and "config"`);
  const { type, config, ...rest } = doc as Record<string, unknown>;
  const extra = Object.keys(rest).filter((k) => k !== 'enabled_items' && k !== 'ttl');
  if (extra.length > 0) throw new UserError(`${source}: field ${extra[0]} not found in type storecache.IndexCacheConfig`);
  const t = String(type ?? '').toUpperCase();
  if (t === 'REDIS') throw new UserError(`${source}: index cache type ${t} is not supported by thanos-ts; use IN-MEMORY or MEMCACHED`);
  if (t !== 'IN-MEMORY' && t !== 'INMEMORY' && t !== 'MEMCACHED') throw new UserError(`${source}: unsupported index cache type: ${String(type ?? '')}`);
  const c = (config ?? {}) as Record<string, unknown>;
  if (typeof c !== 'object' || Array.isArray(c)) throw new UserError(`${source}: config must be a mapping`);
  if (t === 'MEMCACHED') {
    const rawTTL = (doc as Record<string, unknown>).ttl;
    let ttlMs = DEFAULT_REMOTE_TTL_MS;
    if (rawTTL !== undefined && rawTTL !== null && rawTTL !== 0 && rawTTL !== '0' && rawTTL !== '') {
      try {
        ttlMs = parseConfigDuration(String(rawTTL));
      } catch (err) {
        throw new UserError(`${source}: ttl: ${(err as Error).message}`);
      }
    }
    return {
      maxSizeBytes: inMemoryBytes,
      maxItemSizeBytes: Math.floor(inMemoryBytes / 2),
      enabledItems: enabledItems((doc as Record<string, unknown>).enabled_items, source),
      memcached: { client: memcachedClientConfig(c, source), ttlMs },
    };
  }
  for (const k of Object.keys(c)) {
    if (k !== 'max_size' && k !== 'max_item_size' && k !== 'enabled_items') throw new UserError(`${source}: field ${k} not found in type storecache.InMemoryIndexCacheConfig`);
  }
  const size = (v: unknown, def: number, field: string): number => {
    if (v === undefined || v === null) return def;
    try {
      return typeof v === 'number' ? v : parseBytes(String(v));
    } catch (err) {
      throw new UserError(`${source}: ${field}: ${(err as Error).message}`);
    }
  };
  const maxSizeBytes = size(c.max_size, DEFAULT_INDEX_CACHE_SIZE, 'max_size');
  // Thanos defaults max_item_size to 125MB and then refuses a smaller max_size without
  // one; we default it to half of a small max_size instead.
  const maxItemSizeBytes = size(c.max_item_size, Math.min(125 * 1024 * 1024, Math.floor(maxSizeBytes / 2)), 'max_item_size');
  if (maxItemSizeBytes > maxSizeBytes) {
    throw new UserError(`${source}: max item size (${maxItemSizeBytes}) cannot be bigger than overall cache size (${maxSizeBytes})`);
  }
  return { maxSizeBytes, maxItemSizeBytes, enabledItems: enabledItems(c.enabled_items ?? (doc as Record<string, unknown>).enabled_items, source) };
}

function enabledItems(v: unknown, source: string): CacheItemType[] {
  const items = (v ?? []) as unknown[];
  if (!Array.isArray(items)) throw new UserError(`${source}: enabled_items must be a list`);
  const out: CacheItemType[] = [];
  for (const i of items) {
    if (i === CacheItemType.POSTINGS || i === CacheItemType.SERIES) out.push(i);
    else if (i === 'ExpandedPostings') continue; // we do not cache expanded postings; accepted for config compatibility
    else throw new UserError(`${source}: unsupported item type ${String(i)}`);
  }
  return out;
}

// Per-entry bookkeeping on top of the value's own bytes (key string, Map slot).
const ENTRY_OVERHEAD = 64;

/** An item, linked into the LRU list (least recently used at the head). */
interface Entry {
  type: CacheItemType;
  block: string;
  /** Its key in the map it lives in: a postings key, or a series ref. */
  key: string | number;
  value: Uint8Array;
  size: number;
  prev: Entry | null;
  next: Entry | null;
}

/**
 * An LRU of index items bounded by bytes. Series entries are keyed by ref in a map per
 * block, so a Series call's thousands of lookups build no key strings; a hit relinks its
 * entry at the tail of the list instead of re-inserting it into a map.
 */
export class InMemoryIndexCache implements IndexCache {
  private readonly postings = new Map<string, Entry>();
  private readonly series = new Map<string, Map<number, Entry>>();
  private head: Entry | null = null;
  private tail: Entry | null = null;
  private count = 0;
  private curSize = 0;
  private readonly enabled: Set<CacheItemType>;
  private readonly m: ReturnType<typeof cacheMetrics>;

  constructor(
    readonly cfg: InMemoryIndexCacheConfig,
    registry?: Registry,
  ) {
    this.enabled = new Set(cfg.enabledItems.length > 0 ? cfg.enabledItems : Object.values(CacheItemType));
    this.m = cacheMetrics(registry, cfg, () => this.curSize);
  }

  get size(): number {
    return this.curSize;
  }

  get length(): number {
    return this.count;
  }

  fetchPostings(block: string, keys: readonly { name: string; value: string }[]): (Uint8Array | undefined)[] {
    const out = new Array<Uint8Array | undefined>(keys.length);
    if (!this.enabled.has(CacheItemType.POSTINGS)) return out;
    let hits = 0;
    for (let i = 0; i < keys.length; i++) if ((out[i] = this.hit(this.postings.get(postingsKey(block, keys[i].name, keys[i].value)))) !== undefined) hits++;
    this.counted(CacheItemType.POSTINGS, keys.length, hits);
    return out;
  }

  storePostings(block: string, name: string, value: string, v: Uint8Array): void {
    const key = postingsKey(block, name, value);
    this.set(CacheItemType.POSTINGS, block, key, key.length, v);
  }

  fetchSeries(block: string, refs: ArrayLike<number>): (Uint8Array | undefined)[] {
    const out = new Array<Uint8Array | undefined>(refs.length);
    if (!this.enabled.has(CacheItemType.SERIES)) return out;
    const m = this.series.get(block);
    let hits = 0;
    if (m !== undefined) for (let i = 0; i < refs.length; i++) if ((out[i] = this.hit(m.get(refs[i]))) !== undefined) hits++;
    this.counted(CacheItemType.SERIES, refs.length, hits);
    return out;
  }

  storeSeries(block: string, ref: number, v: Uint8Array): void {
    this.set(CacheItemType.SERIES, block, ref, seriesKeyLength(block, ref), v);
  }

  dropBlock(block: string): void {
    const m = this.series.get(block);
    if (m !== undefined) for (const e of [...m.values()]) this.remove(e, false);
    for (const e of [...this.postings.values()]) if (e.block === block) this.remove(e, false);
  }

  /** The entry's value, its entry made the most recently used. */
  private hit(e: Entry | undefined): Uint8Array | undefined {
    if (e === undefined) return undefined;
    if (e !== this.tail) {
      this.unlink(e);
      this.append(e);
    }
    return e.value;
  }

  // Counted once per batch: a Series call looks up every series entry it touches.
  private counted(type: CacheItemType, requests: number, hits: number): void {
    if (requests > 0) this.m.requests.inc({ item_type: type }, requests);
    if (hits > 0) this.m.hits.inc({ item_type: type }, hits);
  }

  private set(type: CacheItemType, block: string, key: string | number, keyLength: number, value: Uint8Array): void {
    if (!this.enabled.has(type)) return;
    const size = value.byteLength + keyLength + ENTRY_OVERHEAD;
    if (size > this.cfg.maxItemSizeBytes || size > this.cfg.maxSizeBytes) {
      this.m.overflowed.inc({ item_type: type });
      return;
    }
    const old = typeof key === 'string' ? this.postings.get(key) : this.series.get(block)?.get(key);
    if (old !== undefined) this.remove(old, false);
    while (this.curSize + size > this.cfg.maxSizeBytes && this.head !== null) this.remove(this.head, true);
    // Copy: the value may be a view into a large fetched range that must not stay pinned.
    // (Uint8Array's slice copies; Buffer's, which a Node Buffer would pick, does not.)
    const own = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength ? value : Uint8Array.prototype.slice.call(value);
    const e: Entry = { type, block, key, value: own, size, prev: null, next: null };
    if (typeof key === 'string') this.postings.set(key, e);
    else {
      let m = this.series.get(block);
      if (m === undefined) this.series.set(block, (m = new Map()));
      m.set(key, e);
    }
    this.append(e);
    this.count++;
    this.curSize += size;
    this.m.added.inc({ item_type: type });
    this.m.items.inc({ item_type: type });
    this.m.itemsSize.inc({ item_type: type }, size);
  }

  private remove(e: Entry, evicted: boolean): void {
    if (typeof e.key === 'string') this.postings.delete(e.key);
    else {
      const m = this.series.get(e.block)!;
      m.delete(e.key);
      if (m.size === 0) this.series.delete(e.block);
    }
    this.unlink(e);
    this.count--;
    this.curSize -= e.size;
    if (evicted) this.m.evicted.inc({ item_type: e.type });
    this.m.items.dec({ item_type: e.type });
    this.m.itemsSize.dec({ item_type: e.type }, e.size);
  }

  private append(e: Entry): void {
    e.prev = this.tail;
    e.next = null;
    if (this.tail !== null) this.tail.next = e;
    else this.head = e;
    this.tail = e;
  }

  private unlink(e: Entry): void {
    if (e.prev !== null) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next !== null) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = e.next = null;
  }
}

function postingsKey(block: string, name: string, value: string): string {
  // \xff cannot occur in a ULID, and label names cannot contain it either.
  return `P${block}\xff${name}\xff${value}`;
}

/** The length of the key Thanos would use (`S` block `\xff` ref), which the entry's size counts. */
function seriesKeyLength(block: string, ref: number): number {
  let digits = 1;
  for (let r = ref; r >= 10; r = Math.floor(r / 10)) digits++;
  return 2 + block.length + digits;
}

function cacheMetrics(registry: Registry | undefined, cfg: InMemoryIndexCacheConfig, size: () => number) {
  const registers = registry ? [registry] : [];
  const labelNames = ['item_type'] as const;
  const m = {
    requests: new Counter({ name: 'thanos_store_index_cache_requests_total', help: 'Total number of items requests to the cache.', labelNames, registers }),
    hits: new Counter({ name: 'thanos_store_index_cache_hits_total', help: 'Total number of items requests to the cache that were a hit.', labelNames, registers }),
    added: new Counter({ name: 'thanos_store_index_cache_items_added_total', help: 'Total number of items that were added to the index cache.', labelNames, registers }),
    evicted: new Counter({ name: 'thanos_store_index_cache_items_evicted_total', help: 'Total number of items that were evicted from the index cache.', labelNames, registers }),
    overflowed: new Counter({ name: 'thanos_store_index_cache_items_overflowed_total', help: 'Total number of items that could not be added to the cache due to being too big.', labelNames, registers }),
    items: new Gauge({ name: 'thanos_store_index_cache_items', help: 'Current number of items in the index cache.', labelNames, registers }),
    itemsSize: new Gauge({ name: 'thanos_store_index_cache_items_size_bytes', help: 'Current byte size of items in the index cache.', labelNames, registers }),
  };
  new Gauge({ name: 'thanos_store_index_cache_total_size_bytes', help: 'Current byte size of items (both value and key) in the index cache.', registers, collect() { this.set(size()); } });
  new Gauge({ name: 'thanos_store_index_cache_max_size_bytes', help: 'Maximum number of bytes to be held in the index cache.', registers }).set(cfg.maxSizeBytes);
  new Gauge({ name: 'thanos_store_index_cache_max_item_size_bytes', help: 'Maximum number of bytes for single entry to be held in the index cache.', registers }).set(cfg.maxItemSizeBytes);
  for (const t of Object.values(CacheItemType)) {
    for (const c of [m.requests, m.hits, m.added, m.evicted, m.overflowed]) c.inc({ item_type: t }, 0);
    m.items.set({ item_type: t }, 0);
    m.itemsSize.set({ item_type: t }, 0);
  }
  return m;
}
