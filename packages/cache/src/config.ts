// Thanos's cache config files (`type` + `config`, as --index-cache.config,
// --store.caching-bucket.config and query-frontend's --query-range.response-cache-config
// take them), parsed strictly: an unknown or malformed field is an error naming the
// flag and the field, as yaml.UnmarshalStrict would refuse it in Thanos.

import { parseBytes, parseConfigDuration, UserError } from '@thanos-ts/runtime';
import { parse as parseYaml } from 'yaml';
import type { CacheConfig, CacheType } from './cache.js';

/** IN-MEMORY (Thanos pkg/cache InMemoryCacheConfig, plus query-frontend's max_size_items and validity). */
export interface InMemoryCacheConfig {
  maxSizeBytes: number;
  maxItemSizeBytes: number;
  /** Most items held at once; 0: no bound but bytes. */
  maxSizeItems: number;
  /** TTL of items stored with ttlMs 0; 0: they never expire. */
  validityMs: number;
}

/** MEMCACHED (Thanos pkg/cacheutil MemcachedClientConfig). */
export interface MemcachedClientConfig {
  /** HOST:PORT, or dns+HOST:PORT / dnssrv+NAME looked up every dnsProviderUpdateIntervalMs. */
  addresses: string[];
  timeoutMs: number;
  maxIdleConnections: number;
  maxAsyncConcurrency: number;
  maxAsyncBufferSize: number;
  maxGetMultiConcurrency: number;
  /** Keys per `get` command; 0: all keys of a server in one. */
  maxGetMultiBatchSize: number;
  maxItemSizeBytes: number;
  dnsProviderUpdateIntervalMs: number;
}

export const DEFAULT_IN_MEMORY_CONFIG: InMemoryCacheConfig = {
  maxSizeBytes: 250 * 1024 * 1024,
  maxItemSizeBytes: 125 * 1024 * 1024,
  maxSizeItems: 0,
  validityMs: 0,
};

export const DEFAULT_MEMCACHED_CONFIG: Omit<MemcachedClientConfig, 'addresses'> = {
  timeoutMs: 500,
  maxIdleConnections: 100,
  maxAsyncConcurrency: 20,
  maxAsyncBufferSize: 10000,
  maxGetMultiConcurrency: 100,
  maxGetMultiBatchSize: 0,
  maxItemSizeBytes: 1024 * 1024,
  dnsProviderUpdateIntervalMs: 10_000,
};

// Fields Thanos has that mean nothing here; accepted so that Thanos configs load:
// auto_discovery (AWS ElastiCache's config endpoint) and the set circuit breaker.
const MEMCACHED_IGNORED = new Set(['auto_discovery', 'set_async_circuit_breaker_config']);

/** Every field of Thanos's memcached client config (cacheutil.MemcachedClientConfig), those we ignore included. */
export const MEMCACHED_CLIENT_CONFIG_KEYS: readonly string[] = [
  'addresses',
  'timeout',
  'max_idle_connections',
  'max_async_concurrency',
  'max_async_buffer_size',
  'max_get_multi_concurrency',
  'max_item_size',
  'max_get_multi_batch_size',
  'dns_provider_update_interval',
  ...MEMCACHED_IGNORED,
];

/**
 * Parses a Thanos cache config (YAML or JSON). Only `type` and `config` are read here;
 * other top-level fields belong to the caller (enabled_items of the index cache, the
 * caching bucket's TTLs) and are left for it to check.
 */
export function parseCacheConfig(text: string, what: string): CacheConfig {
  const doc = parseYamlMapping(text, what);
  const rawType = doc.type;
  if (rawType === undefined || rawType === null || rawType === '') throw new UserError(`${what}: type: missing (IN-MEMORY or MEMCACHED)`);
  const t = String(rawType).toUpperCase();
  let type: CacheType;
  if (t === 'IN-MEMORY' || t === 'INMEMORY') type = 'IN-MEMORY';
  else if (t === 'MEMCACHED') type = 'MEMCACHED';
  else if (t === 'REDIS' || t === 'GROUPCACHE') throw new UserError(`${what}: type: ${t} is not supported by thanos-ts; use IN-MEMORY or MEMCACHED`);
  else throw new UserError(`${what}: type: unsupported cache type ${String(rawType)}`);
  const c = doc.config ?? {};
  if (typeof c !== 'object' || Array.isArray(c)) throw new UserError(`${what}: config: must be a mapping`);
  const cfg: CacheConfig = { type, config: c as Record<string, unknown> };
  // Checked now, so that a bad field fails at startup with the flag's name.
  if (type === 'IN-MEMORY') inMemoryConfig(cfg.config, what);
  else memcachedClientConfig(cfg.config, what);
  return cfg;
}

/** A YAML (or JSON) document that must be a mapping; '' is an empty one. */
export function parseYamlMapping(text: string, what: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new UserError(`${what}: parse YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new UserError(`${what}: expected a mapping`);
  return doc as Record<string, unknown>;
}

/** The IN-MEMORY backend config with Thanos's defaults filled in. */
export function inMemoryConfig(c: Record<string, unknown>, what: string): InMemoryCacheConfig {
  const f = new FieldReader(c, `${what}: config`);
  f.only(['max_size', 'max_item_size', 'max_size_items', 'validity'], 'cache.InMemoryCacheConfig');
  const maxSizeBytes = f.bytes('max_size', DEFAULT_IN_MEMORY_CONFIG.maxSizeBytes);
  const cfg: InMemoryCacheConfig = {
    maxSizeBytes,
    // Thanos refuses a max_size below its 125MB default max_item_size unless both are
    // given; query-frontend's config has no max_item_size at all. Cap the default instead.
    maxItemSizeBytes: f.bytes('max_item_size', Math.min(DEFAULT_IN_MEMORY_CONFIG.maxItemSizeBytes, maxSizeBytes)),
    maxSizeItems: f.int('max_size_items', 0),
    validityMs: f.duration('validity', 0),
  };
  if (cfg.maxItemSizeBytes > cfg.maxSizeBytes) {
    throw new UserError(`${what}: config: max item size (${cfg.maxItemSizeBytes}) cannot be bigger than overall cache size (${cfg.maxSizeBytes})`);
  }
  return cfg;
}

/** The MEMCACHED client config with Thanos's defaults filled in. */
export function memcachedClientConfig(c: Record<string, unknown>, what: string): MemcachedClientConfig {
  const f = new FieldReader(c, `${what}: config`);
  f.only(MEMCACHED_CLIENT_CONFIG_KEYS, 'cacheutil.MemcachedClientConfig');
  const d = DEFAULT_MEMCACHED_CONFIG;
  const cfg: MemcachedClientConfig = {
    addresses: f.strings('addresses'),
    timeoutMs: f.duration('timeout', d.timeoutMs),
    maxIdleConnections: f.int('max_idle_connections', d.maxIdleConnections),
    maxAsyncConcurrency: f.int('max_async_concurrency', d.maxAsyncConcurrency),
    maxAsyncBufferSize: f.int('max_async_buffer_size', d.maxAsyncBufferSize),
    maxGetMultiConcurrency: f.int('max_get_multi_concurrency', d.maxGetMultiConcurrency),
    maxGetMultiBatchSize: f.int('max_get_multi_batch_size', d.maxGetMultiBatchSize),
    maxItemSizeBytes: f.bytes('max_item_size', d.maxItemSizeBytes),
    dnsProviderUpdateIntervalMs: f.duration('dns_provider_update_interval', d.dnsProviderUpdateIntervalMs),
  };
  if (cfg.addresses.length === 0) throw new UserError(`${what}: config: addresses: no memcached addresses provided`);
  if (cfg.dnsProviderUpdateIntervalMs <= 0) throw new UserError(`${what}: config: dns_provider_update_interval: DNS provider update interval must be positive`);
  if (cfg.maxAsyncConcurrency <= 0) throw new UserError(`${what}: config: max_async_concurrency: max async concurrency must be positive`);
  if (cfg.maxGetMultiConcurrency <= 0) throw new UserError(`${what}: config: max_get_multi_concurrency: must be positive`);
  return cfg;
}

/** Reads typed fields of a config mapping; errors read `<where>.<field>: <problem>`. */
export class FieldReader {
  constructor(
    private readonly c: Record<string, unknown>,
    private readonly where: string,
  ) {}

  /** Refuses fields not in known, as Go's strict YAML decoding does. */
  only(known: readonly string[], goType: string): void {
    for (const k of Object.keys(this.c)) {
      if (!known.includes(k)) throw new UserError(`${this.where}: field ${k} not found in type ${goType}`);
    }
  }

  private fail(field: string, msg: string): never {
    throw new UserError(`${this.where}.${field}: ${msg}`);
  }

  private get(field: string): unknown {
    const v = this.c[field];
    return v === null ? undefined : v;
  }

  bytes(field: string, def: number): number {
    const v = this.get(field);
    if (v === undefined || v === '') return def;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
    try {
      return parseBytes(String(v));
    } catch (err) {
      this.fail(field, (err as Error).message);
    }
  }

  duration(field: string, def: number): number {
    const v = this.get(field);
    if (v === undefined || v === '') return def;
    // Go's yaml decodes a bare integer into a time.Duration as nanoseconds.
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v / 1e6;
    try {
      return parseConfigDuration(String(v));
    } catch (err) {
      this.fail(field, (err as Error).message);
    }
  }

  int(field: string, def: number): number {
    const v = this.get(field);
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(field, `cannot unmarshal ${JSON.stringify(v)} into int`);
    return v;
  }

  bool(field: string, def: boolean): boolean {
    const v = this.get(field);
    if (v === undefined) return def;
    if (typeof v !== 'boolean') this.fail(field, `cannot unmarshal ${JSON.stringify(v)} into bool`);
    return v;
  }

  strings(field: string): string[] {
    const v = this.get(field);
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(field, 'must be a list of strings');
    return v.map((x, i) => {
      if (typeof x !== 'string' || x === '') this.fail(`${field}[${i}]`, 'must be a non-empty string');
      return x;
    });
  }
}
