// @thanos-ts/store: the store gateway, serving StoreAPI from the blocks in object storage.
export { Store } from './store.js';
export type { StoreConfig } from './store.js';
export { STORE_FLAGS, storeConfigFromFlags } from './flags.js';
export { BucketStore, SERIES_BATCH_SIZE } from './bucket-store.js';
export type { BucketStoreOptions } from './bucket-store.js';
export { BucketBlock, ESTIMATED_MAX_SERIES_SIZE, ESTIMATED_MAX_CHUNK_SIZE } from './bucket-block.js';
export { BlockSet } from './block-set.js';
export { InMemoryIndexCache, parseIndexCacheConfig, CacheItemType, DEFAULT_INDEX_CACHE_SIZE } from './index-cache.js';
export type { IndexCache, InMemoryIndexCacheConfig } from './index-cache.js';
export { Limiter, BytesPool, MAX_SAMPLES_PER_CHUNK } from './limiter.js';
export { partitionRanges, MAX_GAP_BYTES } from './partitioner.js';
export { newQueryStats, fetchedBytes } from './stats.js';
export type { QueryStats } from './stats.js';
export { CachingBucket, parseCachingBucketConfig } from './caching-bucket.js';
export type { CachingBucketConfig } from './caching-bucket.js';
export { MemcachedIndexCache } from './memcached-index-cache.js';
export type { IndexCacheConfig } from './index-cache.js';
