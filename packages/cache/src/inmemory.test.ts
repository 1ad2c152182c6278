import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DEFAULT_IN_MEMORY_CONFIG } from './config.js';
import { InMemoryCache } from './inmemory.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('InMemoryCache', () => {
  it('returns what was stored and leaves misses out', async () => {
    const c = new InMemoryCache(DEFAULT_IN_MEMORY_CONFIG, { name: 't' });
    c.store(new Map([['a', b('1')], ['b', b('22')]]), 0);
    const got = await c.fetch(['a', 'b', 'c']);
    expect([...got.keys()].sort()).toEqual(['a', 'b']);
    expect(Buffer.from(got.get('b')!).toString()).toBe('22');
  });

  it('evicts the least recently used items to stay within max_size', async () => {
    // Each item is 1 (key) + 9 bytes.
    const c = new InMemoryCache({ ...DEFAULT_IN_MEMORY_CONFIG, maxSizeBytes: 30, maxItemSizeBytes: 30 }, { name: 't' });
    c.store(new Map([['a', b('aaaaaaaaa')], ['b', b('bbbbbbbbb')], ['c', b('ccccccccc')]]), 0);
    await c.fetch(['a']); // a is now the most recently used
    c.store(new Map([['d', b('ddddddddd')]]), 0);
    expect([...(await c.fetch(['a', 'b', 'c', 'd'])).keys()].sort()).toEqual(['a', 'c', 'd']);
    expect(c.size).toBeLessThanOrEqual(30);
  });

  it('bounds items by max_size_items and skips items over max_item_size', async () => {
    const reg = new Registry();
    const c = new InMemoryCache({ ...DEFAULT_IN_MEMORY_CONFIG, maxItemSizeBytes: 10, maxSizeItems: 2 }, { name: 'q', registry: reg });
    c.store(new Map([['big', new Uint8Array(20)], ['x', b('1')], ['y', b('2')], ['z', b('3')]]), 0);
    expect(c.length).toBe(2);
    expect([...(await c.fetch(['big', 'x', 'y', 'z'])).keys()]).toEqual(['y', 'z']);
    const text = await reg.metrics();
    expect(text).toContain('thanos_cache_inmemory_items_overflowed_total{name="q"} 1');
    expect(text).toContain('thanos_cache_inmemory_items_evicted_total{name="q"} 1');
    expect(text).toContain('thanos_cache_inmemory_requests_total{name="q"} 4');
    expect(text).toContain('thanos_cache_inmemory_hits_total{name="q"} 2');
  });

  it('drops expired items', async () => {
    const c = new InMemoryCache({ ...DEFAULT_IN_MEMORY_CONFIG, validityMs: 1 }, { name: 't' });
    c.store(new Map([['short', b('1')]]), 0);
    c.store(new Map([['long', b('2')]]), 3_600_000);
    await new Promise((r) => setTimeout(r, 20));
    expect([...(await c.fetch(['short', 'long'])).keys()]).toEqual(['long']);
    expect(c.length).toBe(1);
  });

  it('does not pin the buffer a stored view belongs to', async () => {
    const c = new InMemoryCache(DEFAULT_IN_MEMORY_CONFIG, { name: 't' });
    const big = new Uint8Array(1 << 16).fill(7);
    c.store(new Map([['v', big.subarray(10, 20)]]), 0);
    const v = (await c.fetch(['v'])).get('v')!;
    expect(v.buffer.byteLength).toBe(10);
    expect([...v]).toEqual(new Array(10).fill(7));
  });
});
