// The query-frontend's configuration and its response cache config file
// (--query-range.response-cache-config, --labels.response-cache-config), read as Thanos
// reads it (pkg/queryfrontend/config.go): `type` IN-MEMORY {max_size, max_size_items,
// validity} or MEMCACHED {addresses, timeout, …, max_item_size, expiration}, under
// `config`.

import { parse as parseYaml } from 'yaml';
import { parseConfigDuration, UserError } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { MEMCACHED_CLIENT_CONFIG_KEYS } from '@thanos-ts/cache';
import type { CacheConfig } from '@thanos-ts/cache';
import type { CacheCompression } from './compressed-cache.js';

export interface ResponseCacheConfig {
  /** What newCache gets. */
  cache: CacheConfig;
  /** The time to live of stored items: IN-MEMORY validity (0: until evicted), MEMCACHED expiration. */
  ttlMs: number;
  /** The name Cortex gives the cache in metrics (`fifocache`, `memcache`). */
  name: string;
}

export interface QueryFrontendConfig {
  /** --cache-compression-type: how results cache values are stored. */
  cacheCompression: CacheCompression;
  httpAddress: string;
  httpConfigFile: string;
  httpGracePeriodMs: number;
  webDisableCORS: boolean;
  downstreamURL: string;
  downstreamTripper: DownstreamTripperConfig;
  compressResponses: boolean;
  /** <0: every query; 0: off. */
  logQueriesLongerThanMs: number;
  forwardHeaders: string[];
  orgIdHeaders: string[];
  queryRange: {
    alignRangeWithStep: boolean;
    requestDownsampled: boolean;
    splitIntervalMs: number;
    maxRetries: number;
    maxQueryLengthMs: number;
    maxQueryParallelism: number;
    maxCacheFreshnessMs: number;
    partialResponse: boolean;
    cache: ResponseCacheConfig | null;
  };
  instantMaxRetries: number;
  labels: {
    splitIntervalMs: number;
    maxRetries: number;
    maxQueryParallelism: number;
    maxCacheFreshnessMs: number;
    partialResponse: boolean;
    defaultTimeRangeMs: number;
    cache: ResponseCacheConfig | null;
  };
}

export interface DownstreamTripperConfig {
  idleConnTimeoutMs: number;
  responseHeaderTimeoutMs: number;
  maxIdleConnsPerHost?: number;
  maxConnsPerHost?: number;
}

// The response cache's memcached section: the client config plus its expiration.
const MEMCACHED_KEYS = new Set([...MEMCACHED_CLIENT_CONFIG_KEYS, 'expiration']);

/** Parses a response cache config; null when the backend is configured to hold nothing. */
export function parseResponseCacheConfig(text: string, what: string, logger: Logger): ResponseCacheConfig | null {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new UserError(`${what}: parsing config YAML file: ${(err as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new UserError(`${what}: parsing config YAML file: expected a mapping`);
  const top = doc as Record<string, unknown>;
  for (const k of Object.keys(top)) {
    if (k !== 'type' && k !== 'config') throw new UserError(`${what}: parsing config YAML file: field ${k} not found in type queryfrontend.CacheProviderConfig`);
  }
  const type = String(top.type ?? '').toUpperCase();
  const raw = top.config ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UserError(`${what}: config: expected a mapping`);
  const config = { ...(raw as Record<string, unknown>) };
  const duration = (k: string, v: unknown): number => {
    try {
      return parseConfigDuration(String(v));
    } catch (err) {
      throw new UserError(`${what}: config: ${k}: ${(err as Error).message}`);
    }
  };
  if (type === 'IN-MEMORY') {
    // Cortex's FIFO cache holds nothing when neither limit is set.
    const maxSize = config.max_size === undefined || config.max_size === '' ? '' : String(config.max_size);
    const maxItems = Number(config.max_size_items ?? 0);
    if (maxSize === '' && !(maxItems > 0)) {
      logger.warn({ cache: what }, 'neither max_size nor max_size_items is set: the response cache is off');
      return null;
    }
    // Thanos reads this section leniently: only the three keys it knows count.
    const passed: Record<string, unknown> = {};
    if (maxSize !== '') passed.max_size = maxSize;
    if (maxItems > 0) passed.max_size_items = maxItems;
    if (config.validity !== undefined) passed.validity = String(config.validity);
    const ttlMs = config.validity === undefined ? 0 : duration('validity', config.validity);
    return { cache: { type: 'IN-MEMORY', config: passed }, ttlMs, name: 'fifocache' };
  }
  if (type === 'MEMCACHED') {
    for (const k of Object.keys(config)) {
      if (!MEMCACHED_KEYS.has(k)) throw new UserError(`${what}: field ${k} not found in type queryfrontend.MemcachedResponseCacheConfig`);
    }
    let ttlMs = config.expiration === undefined ? 0 : duration('expiration', config.expiration);
    if (ttlMs === 0) {
      logger.warn({}, 'memcached cache valid time set to 0, so using a default of 24 hours expiration time');
      ttlMs = 24 * 3_600_000;
    }
    delete config.expiration;
    // The frontend's defaults where they differ from the generic memcached client's.
    if (config.max_async_concurrency === undefined || Number(config.max_async_concurrency) <= 0) config.max_async_concurrency = 10;
    return { cache: { type: 'MEMCACHED', config }, ttlMs, name: 'memcache' };
  }
  throw new UserError(`${what}: response cache with type ${String(top.type ?? '')} is not supported`);
}
