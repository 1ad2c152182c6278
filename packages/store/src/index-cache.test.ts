import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { InMemoryIndexCache, parseIndexCacheConfig } from './index-cache.js';

const bytes = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill);

describe('InMemoryIndexCache', () => {
  it('returns what was stored and counts hits per item type', async () => {
    const reg = new Registry();
    const c = new InMemoryIndexCache({ maxSizeBytes: 1 << 20, maxItemSizeBytes: 1 << 19, enabledItems: [] }, reg);
    c.storePostings('B1', 'job', 'api', bytes(10, 7));
    c.storeSeries('B1', 42, bytes(20, 9));
    expect(c.fetchPostings('B1', [{ name: 'job', value: 'api' }, { name: 'job', value: 'x' }]).map((v) => v?.[0])).toEqual([7, undefined]);
    expect(c.fetchSeries('B1', [42, 43]).map((v) => v?.length)).toEqual([20, undefined]);
    expect(c.fetchPostings('B2', [{ name: 'job', value: 'api' }])).toEqual([undefined]);
    const text = await reg.metrics();
    expect(text).toContain('thanos_store_index_cache_hits_total{item_type="Postings"} 1');
    expect(text).toContain('thanos_store_index_cache_requests_total{item_type="Postings"} 3');
    expect(text).toContain('thanos_store_index_cache_hits_total{item_type="Series"} 1');
  });

  it('evicts least recently used items to stay within its size', () => {
    const c = new InMemoryIndexCache({ maxSizeBytes: 3 * 1200, maxItemSizeBytes: 2000, enabledItems: [] });
    for (let i = 0; i < 3; i++) c.storeSeries('B', i, bytes(1000));
    c.fetchSeries('B', [0]); // 0 is now the most recently used
    c.storeSeries('B', 3, bytes(1000));
    expect(c.fetchSeries('B', [0, 1, 2, 3]).map((v) => v !== undefined)).toEqual([true, false, true, true]);
    expect(c.size).toBeLessThanOrEqual(3 * 1200);
  });

  it('keeps one recency order across item types and blocks, and accounts replaced and dropped items', () => {
    const c = new InMemoryIndexCache({ maxSizeBytes: 4 * 1200, maxItemSizeBytes: 2000, enabledItems: [] });
    c.storeSeries('B1', 7, bytes(1000));
    c.storePostings('B1', 'job', 'api', bytes(1000));
    c.storeSeries('B2', 7, bytes(1000));
    c.storePostings('B2', 'job', 'api', bytes(1000));
    c.fetchSeries('B1', [7]);
    c.fetchPostings('B1', [{ name: 'job', value: 'api' }]);
    // Least recently used now: B2's series, then B2's postings.
    c.storeSeries('B3', 1, bytes(1000));
    expect(c.fetchSeries('B2', [7])).toEqual([undefined]);
    expect(c.fetchPostings('B2', [{ name: 'job', value: 'api' }])[0]).toBeDefined();
    // Replacing an item keeps one copy, with the new value.
    c.storeSeries('B1', 7, bytes(900, 3));
    expect(c.length).toBe(4);
    expect(c.fetchSeries('B1', [7])[0]![0]).toBe(3);
    // The entry's size counts the key Thanos would use: S + ULID-sized block + \xff + ref.
    const sized = new InMemoryIndexCache({ maxSizeBytes: 1 << 20, maxItemSizeBytes: 1 << 19, enabledItems: [] });
    sized.storeSeries('01M999Y3CKB1XDYD4ES988W1M4', 123456, bytes(10));
    expect(sized.size).toBe(10 + 'S01M999Y3CKB1XDYD4ES988W1M4\xff123456'.length + 64);
    for (const b of ['B1', 'B2', 'B3']) c.dropBlock(b);
    expect(c.length).toBe(0);
    expect(c.size).toBe(0);
  });

  it('does not cache items over max_item_size, nor disabled item types', () => {
    const c = new InMemoryIndexCache({ maxSizeBytes: 1 << 20, maxItemSizeBytes: 500, enabledItems: ['Series'] });
    c.storeSeries('B', 1, bytes(1000));
    c.storePostings('B', 'a', 'b', bytes(10));
    expect(c.length).toBe(0);
  });

  it('drops a block\'s items and copies values out of larger buffers', () => {
    const c = new InMemoryIndexCache({ maxSizeBytes: 1 << 20, maxItemSizeBytes: 1 << 19, enabledItems: [] });
    // A Buffer view, as fetched ranges are: Buffer#slice would not copy.
    const big = Buffer.alloc(1 << 16, 1);
    c.storeSeries('B1', 1, big.subarray(10, 20));
    c.storeSeries('B2', 1, bytes(5));
    expect(c.fetchSeries('B1', [1])[0]!.buffer.byteLength).toBe(10);
    c.dropBlock('B1');
    expect(c.fetchSeries('B1', [1])).toEqual([undefined]);
    expect(c.fetchSeries('B2', [1])[0]).toBeDefined();
  });
});

describe('parseIndexCacheConfig', () => {
  it('reads Thanos IN-MEMORY configs with base-2 sizes', () => {
    expect(parseIndexCacheConfig('type: IN-MEMORY\nconfig:\n  max_size: 1GB\n  max_item_size: 16MB\n')).toEqual({
      maxSizeBytes: 1024 ** 3,
      maxItemSizeBytes: 16 * 1024 ** 2,
      enabledItems: [],
    });
    expect(parseIndexCacheConfig('type: in-memory\n').maxSizeBytes).toBe(250 * 1024 * 1024);
  });
  it('refuses what it cannot honour, by name', () => {
    expect(() => parseIndexCacheConfig('type: REDIS\nconfig:\n  addresses: [a:1]\n')).toThrow(/REDIS is not supported/);
    expect(() => parseIndexCacheConfig('type: FOO\n')).toThrow(/unsupported index cache type: FOO/);
    expect(() => parseIndexCacheConfig('type: IN-MEMORY\nconfig:\n  max_size: 1MB\n  max_item_size: 2MB\n')).toThrow(/cannot be bigger/);
    expect(() => parseIndexCacheConfig('type: IN-MEMORY\nconfig:\n  maxsize: 1MB\n')).toThrow(/field maxsize not found/);
    expect(() => parseIndexCacheConfig('type: IN-MEMORY\nconfig:\n  max_size: lots\n')).toThrow(/max_size: invalid byte size/);
  });
});
