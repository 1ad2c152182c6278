import { describe, expect, it } from 'vitest';
import { nopLogger } from '@thanos-ts/runtime';
import { parseResponseCacheConfig } from './config.js';
import { queryFrontendConfigFromFlags } from './flags.js';

const logger = nopLogger();

describe('parseResponseCacheConfig', () => {
  it('reads IN-MEMORY as Thanos does, type in any case', () => {
    const c = parseResponseCacheConfig('type: in-memory\nconfig:\n  max_size: 1GB\n  max_size_items: 100\n  validity: 1h\n  unknown: 1\n', 'x', logger)!;
    expect(c).toEqual({ cache: { type: 'IN-MEMORY', config: { max_size: '1GB', max_size_items: 100, validity: '1h' } }, ttlMs: 3_600_000, name: 'fifocache' });
  });

  it('turns the cache off when IN-MEMORY has no limit (Cortex FIFO cache)', () => {
    expect(parseResponseCacheConfig('type: IN-MEMORY\n', 'x', logger)).toBeNull();
  });

  it('reads MEMCACHED strictly, with its expiration (24h when 0) as the items time to live', () => {
    const c = parseResponseCacheConfig('type: MEMCACHED\nconfig:\n  addresses: [a:11211]\n  timeout: 1s\n  max_item_size: 2MiB\n', 'x', logger)!;
    expect(c.cache.type).toBe('MEMCACHED');
    expect(c.cache.config).toMatchObject({ addresses: ['a:11211'], timeout: '1s', max_item_size: '2MiB', max_async_concurrency: 10 });
    expect(c.ttlMs).toBe(86_400_000);
    expect(parseResponseCacheConfig('type: MEMCACHED\nconfig:\n  addresses: [a:1]\n  expiration: 10m\n', 'x', logger)!.ttlMs).toBe(600_000);
    expect(() => parseResponseCacheConfig('type: MEMCACHED\nconfig:\n  adresses: [a:1]\n', 'x', logger)).toThrow('field adresses not found');
  });

  it('refuses unknown top-level keys and types', () => {
    expect(() => parseResponseCacheConfig('type: IN-MEMORY\nconfig: {max_size: 1GB}\nextra: 1\n', 'x', logger)).toThrow('field extra not found');
    expect(() => parseResponseCacheConfig('type: REDIS\n', 'x', logger)).toThrow('response cache with type REDIS is not supported');
  });
});

describe('queryFrontendConfigFromFlags', () => {
  it('takes Thanos defaults', () => {
    const c = queryFrontendConfigFromFlags({}, logger);
    expect(c.downstreamURL).toBe('http://localhost:9090');
    expect(c.queryRange).toMatchObject({ splitIntervalMs: 86_400_000, maxRetries: 5, maxQueryParallelism: 14, maxCacheFreshnessMs: 60_000, alignRangeWithStep: true, partialResponse: true, cache: null });
    expect(c.labels).toMatchObject({ splitIntervalMs: 86_400_000, defaultTimeRangeMs: 86_400_000 });
    expect(c.logQueriesLongerThanMs).toBe(0);
  });

  it('checks the config as Thanos does', () => {
    expect(() => queryFrontendConfigFromFlags({ 'query-range.split-interval': '0', 'query-range.response-cache-config': 'type: IN-MEMORY\nconfig: {max_size: 1MB}' }, logger)).toThrow('split queries or split threshold interval should be greater than 0 when caching is enabled');
    expect(() => queryFrontendConfigFromFlags({ 'labels.default-time-range': '0' }, logger)).toThrow('labels.default-time-range cannot be set to 0');
    expect(() => queryFrontendConfigFromFlags({ 'cache-compression-type': 'lz4' }, logger)).toThrow('unsupported compression type "lz4"');
    expect(queryFrontendConfigFromFlags({ 'cache-compression-type': 'snappy' }, logger).cacheCompression).toBe('snappy');
    expect(queryFrontendConfigFromFlags({}, logger).cacheCompression).toBe('');
    expect(queryFrontendConfigFromFlags({ 'query-frontend.log-queries-longer-than': '-1s' }, logger).logQueriesLongerThanMs).toBe(-1000);
  });
});
