// newCache: a Cache for a parsed Thanos cache config.

import type { Logger } from '@thanos-ts/runtime';
import type { Registry } from 'prom-client';
import type { Cache, CacheConfig } from './cache.js';
import { inMemoryConfig, memcachedClientConfig } from './config.js';
import { InMemoryCache } from './inmemory.js';
import { MemcachedCache } from './memcached.js';

export function newCache(cfg: CacheConfig, opts: { name: string; registry: Registry; logger: Logger }): Cache {
  const what = `${opts.name} cache config`;
  switch (cfg.type) {
    case 'IN-MEMORY':
      return new InMemoryCache(inMemoryConfig(cfg.config, what), opts);
    case 'MEMCACHED':
      return new MemcachedCache(memcachedClientConfig(cfg.config, what), opts);
    default:
      throw new Error(`${what}: unsupported cache type ${String((cfg as CacheConfig).type)}`);
  }
}
