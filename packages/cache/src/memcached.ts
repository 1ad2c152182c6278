// MEMCACHED: the Cache face over a MemcachedClient (Thanos pkg/cache/memcached.go),
// counting requested and found keys per cache name.

import type { Logger } from '@thanos-ts/runtime';
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Cache } from './cache.js';
import type { MemcachedClientConfig } from './config.js';
import { MemcachedClient } from './memcached-client.js';
import { metricsOnce } from './metrics.js';

function memcachedCacheMetrics(registers: Registry[]) {
  const labelNames = ['name'] as const;
  return {
    requests: new Counter({ name: 'thanos_cache_memcached_requests_total', help: 'Total number of items requests to memcached.', labelNames, registers }),
    hits: new Counter({ name: 'thanos_cache_memcached_hits_total', help: 'Total number of items requests to the cache that were a hit.', labelNames, registers }),
  };
}

export interface MemcachedCacheOptions {
  name: string;
  registry?: Registry;
  logger?: Logger;
}

export class MemcachedCache implements Cache {
  readonly name: string;
  readonly client: MemcachedClient;
  private readonly m: ReturnType<typeof memcachedCacheMetrics>;
  private readonly labels: { name: string };

  constructor(cfg: MemcachedClientConfig | MemcachedClient, opts: MemcachedCacheOptions) {
    this.name = opts.name;
    this.labels = { name: opts.name };
    this.client = cfg instanceof MemcachedClient ? cfg : new MemcachedClient(cfg, opts);
    this.m = metricsOnce(opts.registry, 'memcached-cache', memcachedCacheMetrics);
    this.m.requests.inc(this.labels, 0);
    this.m.hits.inc(this.labels, 0);
  }

  store(items: Map<string, Uint8Array>, ttlMs: number): void {
    for (const [k, v] of items) this.client.setAsync(k, v, ttlMs);
  }

  async fetch(keys: readonly string[]): Promise<Map<string, Uint8Array>> {
    const got = await this.client.getMulti(keys);
    this.m.requests.inc(this.labels, keys.length);
    this.m.hits.inc(this.labels, got.size);
    return got;
  }

  /** Resolves once the stores queued so far have been sent (tests, shutdown). */
  flush(): Promise<void> {
    return this.client.flush();
  }

  close(): Promise<void> {
    return this.client.stop();
  }
}
