// The one narrow interface every cache sits behind (Thanos pkg/cache.Cache): bytes by
// string key, stored asynchronously and fetched in bulk. The index cache, the caching
// bucket and query-frontend's results cache all talk to this and nothing else.

export interface Cache {
  readonly name: string;
  /** Stores asynchronously; failures are logged and counted, never thrown. ttlMs 0 = backend default/no expiry. */
  store(items: Map<string, Uint8Array>, ttlMs: number): void;
  /** The items found (misses absent). Backend failures are counted and answer as misses, never throw. */
  fetch(keys: readonly string[]): Promise<Map<string, Uint8Array>>;
  close(): Promise<void>;
}

/** The `type` of Thanos's cache configs that thanos-ts implements. */
export type CacheType = 'IN-MEMORY' | 'MEMCACHED';

/** A cache config as Thanos writes it: `type` and the backend's own `config` mapping. */
export interface CacheConfig {
  type: CacheType;
  config: Record<string, unknown>;
}
