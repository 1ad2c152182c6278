// Public face of @thanos-ts/cache: the Cache interface, Thanos's cache configs, and the
// IN-MEMORY and MEMCACHED backends (with the memcached wire client they use).
export type { Cache, CacheConfig, CacheType } from './cache.js';
export {
  parseCacheConfig,
  parseYamlMapping,
  inMemoryConfig,
  memcachedClientConfig,
  FieldReader,
  DEFAULT_IN_MEMORY_CONFIG,
  DEFAULT_MEMCACHED_CONFIG,
  MEMCACHED_CLIENT_CONFIG_KEYS,
} from './config.js';
export type { InMemoryCacheConfig, MemcachedClientConfig } from './config.js';
export { newCache } from './factory.js';
export { InMemoryCache } from './inmemory.js';
export type { InMemoryCacheOptions } from './inmemory.js';
export { MemcachedCache } from './memcached.js';
export type { MemcachedCacheOptions } from './memcached.js';
export { MemcachedClient, MemcachedError, FailureReason, wireKey } from './memcached-client.js';
export type { MemcachedClientOptions } from './memcached-client.js';
export { ServerSelector, jumpHash } from './server-selector.js';
