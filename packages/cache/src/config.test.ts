import { UserError } from '@thanos-ts/runtime';
import { describe, expect, it } from 'vitest';
import { inMemoryConfig, memcachedClientConfig, parseCacheConfig } from './config.js';

describe('parseCacheConfig', () => {
  it('reads IN-MEMORY with Thanos defaults', () => {
    const c = parseCacheConfig('type: in-memory\nconfig:\n  max_size: 1GB\n', 'index-cache.config');
    expect(c.type).toBe('IN-MEMORY');
    expect(inMemoryConfig(c.config, 'x')).toEqual({ maxSizeBytes: 1024 ** 3, maxItemSizeBytes: 125 * 1024 * 1024, maxSizeItems: 0, validityMs: 0 });
  });

  it("reads query-frontend's IN-MEMORY keys", () => {
    const c = parseCacheConfig('type: IN-MEMORY\nconfig:\n  max_size: 10MB\n  max_size_items: 100\n  validity: 2m\n', 'q');
    expect(inMemoryConfig(c.config, 'q')).toMatchObject({ maxSizeItems: 100, validityMs: 120_000 });
  });

  it('reads MEMCACHED with Thanos defaults and ignores what does not apply', () => {
    const c = parseCacheConfig(
      `type: MEMCACHED
config:
  addresses: [a:11211, "dns+memcached:11211"]
  timeout: 1s
  max_get_multi_batch_size: 100
  max_item_size: 2MiB
  auto_discovery: false
  set_async_circuit_breaker_config:
    enabled: true
`,
      'store.caching-bucket.config',
    );
    expect(c.type).toBe('MEMCACHED');
    expect(memcachedClientConfig(c.config, 'x')).toEqual({
      addresses: ['a:11211', 'dns+memcached:11211'],
      timeoutMs: 1000,
      maxIdleConnections: 100,
      maxAsyncConcurrency: 20,
      maxAsyncBufferSize: 10000,
      maxGetMultiConcurrency: 100,
      maxGetMultiBatchSize: 100,
      maxItemSizeBytes: 2 * 1024 * 1024,
      dnsProviderUpdateIntervalMs: 10_000,
    });
  });

  it('names the flag and the bad field', () => {
    const bad = (text: string): string => {
      try {
        parseCacheConfig(text, 'index-cache.config');
      } catch (err) {
        expect(err).toBeInstanceOf(UserError);
        return (err as Error).message;
      }
      throw new Error('no error');
    };
    expect(bad('type: REDIS')).toMatch(/^index-cache.config: type: REDIS is not supported/);
    expect(bad('type: FOO')).toMatch(/^index-cache.config: type: unsupported cache type FOO/);
    expect(bad('config: {}')).toMatch(/^index-cache.config: type: missing/);
    expect(bad('type: IN-MEMORY\nconfig:\n  max_size: lots')).toMatch(/^index-cache.config: config.max_size: /);
    expect(bad('type: IN-MEMORY\nconfig:\n  maxsize: 1')).toBe('index-cache.config: config: field maxsize not found in type cache.InMemoryCacheConfig');
    expect(bad('type: IN-MEMORY\nconfig:\n  max_size: 1MB\n  max_item_size: 2MB')).toMatch(/max item size \(2097152\) cannot be bigger than overall cache size \(1048576\)/);
    expect(bad('type: MEMCACHED\nconfig:\n  timeout: 1s')).toBe('index-cache.config: config: addresses: no memcached addresses provided');
    expect(bad('type: MEMCACHED\nconfig:\n  addresses: [a:1]\n  timeout: soon')).toMatch(/^index-cache.config: config.timeout: /);
    expect(bad('type: MEMCACHED\nconfig:\n  addresses: [a:1]\n  max_async_concurrency: 0')).toMatch(/max async concurrency must be positive/);
    expect(bad('type: [')).toMatch(/^index-cache.config: parse YAML: /);
  });
});
