import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMemcached, waitFor } from '@thanos-ts/testutil';
import type { MemcachedInstance } from '../../testutil/src/memcached.js';
import { DEFAULT_MEMCACHED_CONFIG } from './config.js';
import type { MemcachedClientConfig } from './config.js';
import { MemcachedCache } from './memcached.js';
import { MemcachedClient, wireKey } from './memcached-client.js';

const cfgFor = (addresses: string[], over: Partial<MemcachedClientConfig> = {}): MemcachedClientConfig => ({
  ...DEFAULT_MEMCACHED_CONFIG,
  addresses,
  timeoutMs: 2000,
  ...over,
});

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function metric(text: string, line: string): number {
  const l = text.split('\n').find((x) => x.startsWith(line + ' '));
  return l === undefined ? NaN : Number(l.slice(line.length + 1));
}

describe('MemcachedCache against memcached', () => {
  let mc: MemcachedInstance;
  beforeAll(async () => {
    mc = await startMemcached();
  });
  afterAll(async () => {
    await mc?.stop();
  });

  it('round-trips items, leaves misses out, and counts requests and hits', async () => {
    const reg = new Registry();
    const c = new MemcachedCache(cfgFor([mc.address]), { name: 'rt', registry: reg });
    try {
      const items = new Map<string, Uint8Array>([
        ['rt:a', bytes(10, 1)],
        ['rt:empty', new Uint8Array(0)],
        // Larger than a socket read: arrives in several chunks.
        ['rt:big', bytes(900 * 1024, 3)],
        [`rt:${'x'.repeat(300)}`, bytes(5, 4)],
        ['rt:with space', bytes(7, 5)],
      ]);
      c.store(items, 0);
      await c.flush();
      const got = await c.fetch([...items.keys(), 'rt:missing']);
      expect([...got.keys()].sort()).toEqual([...items.keys()].sort());
      for (const [k, v] of items) expect(Buffer.compare(Buffer.from(got.get(k)!), Buffer.from(v))).toBe(0);
      const text = await reg.metrics();
      expect(metric(text, 'thanos_cache_memcached_requests_total{name="rt"}')).toBe(6);
      expect(metric(text, 'thanos_cache_memcached_hits_total{name="rt"}')).toBe(5);
      expect(metric(text, 'thanos_memcached_operations_total{name="rt",operation="set"}')).toBe(5);
    } finally {
      await c.close();
    }
  });

  it('fetches across batches of max_get_multi_batch_size', async () => {
    const reg = new Registry();
    const c = new MemcachedCache(cfgFor([mc.address], { maxGetMultiBatchSize: 7, maxGetMultiConcurrency: 2 }), { name: 'batch', registry: reg });
    try {
      const items = new Map<string, Uint8Array>();
      for (let i = 0; i < 100; i++) items.set(`batch:${i}`, bytes(100 + i, i));
      c.store(items, 60_000);
      await c.flush();
      const keys = [...items.keys(), 'batch:nope'];
      const got = await c.fetch(keys);
      expect(got.size).toBe(100);
      for (const [k, v] of items) expect(Buffer.from(got.get(k)!).equals(Buffer.from(v))).toBe(true);
      expect(metric(await reg.metrics(), 'thanos_memcached_operations_total{name="batch",operation="getmulti"}')).toBe(Math.ceil(101 / 7));
    } finally {
      await c.close();
    }
  });

  it('skips items over max_item_size and counts them', async () => {
    const reg = new Registry();
    const c = new MemcachedCache(cfgFor([mc.address], { maxItemSizeBytes: 1000 }), { name: 'skip', registry: reg });
    try {
      c.store(new Map([['skip:small', bytes(1000, 1)], ['skip:large', bytes(1001, 2)]]), 0);
      await c.flush();
      expect([...(await c.fetch(['skip:small', 'skip:large'])).keys()]).toEqual(['skip:small']);
      expect(metric(await reg.metrics(), 'thanos_memcached_operation_skipped_total{name="skip",operation="set",reason="max-item-size"}')).toBe(1);
    } finally {
      await c.close();
    }
  });

  it('counts a value memcached refuses as a server error', async () => {
    const reg = new Registry();
    // Our limit is above memcached's own 1m item limit.
    const c = new MemcachedCache(cfgFor([mc.address], { maxItemSizeBytes: 4 << 20 }), { name: 'refused', registry: reg });
    try {
      c.store(new Map([['refused:huge', bytes(2 << 20, 1)], ['refused:ok', bytes(10, 2)]]), 0);
      await c.flush();
      expect([...(await c.fetch(['refused:huge', 'refused:ok'])).keys()]).toEqual(['refused:ok']);
      expect(metric(await reg.metrics(), 'thanos_memcached_operation_failures_total{name="refused",operation="set",reason="server-error"}')).toBe(1);
    } finally {
      await c.close();
    }
  });

  it('answers misses while memcached is down, then recovers', async () => {
    const own = await startMemcached();
    const reg = new Registry();
    const c = new MemcachedCache(cfgFor([own.address], { timeoutMs: 500 }), { name: 'down', registry: reg });
    try {
      c.store(new Map([['down:a', bytes(10, 1)]]), 0);
      await c.flush();
      expect((await c.fetch(['down:a'])).size).toBe(1);
      await own.stop();
      expect((await c.fetch(['down:a'])).size).toBe(0);
      c.store(new Map([['down:b', bytes(10, 2)]]), 0);
      await c.flush();
      const text = await reg.metrics();
      expect(metric(text, 'thanos_memcached_operation_failures_total{name="down",operation="getmulti",reason="network-error"}')).toBeGreaterThanOrEqual(1);
      expect(metric(text, 'thanos_memcached_operation_failures_total{name="down",operation="set",reason="network-error"}')).toBeGreaterThanOrEqual(1);
      // A new memcached on the same port: empty, but reachable again.
      const again = await startMemcached({ port: own.port });
      try {
        c.store(new Map([['down:c', bytes(10, 3)]]), 0);
        await c.flush();
        await waitFor(async () => (await c.fetch(['down:c'])).size === 1, { what: 'memcached to answer again', timeoutMs: 10_000 });
      } finally {
        await again.stop();
      }
    } finally {
      await c.close();
      await own.stop();
    }
  });

  it('spreads keys over two servers, each key on the server the selector picks, stably', async () => {
    const other = await startMemcached();
    const client = new MemcachedClient(cfgFor([mc.address, other.address]), { name: 'two' });
    const alone = [mc.address, other.address].map((a) => new MemcachedClient(cfgFor([a]), { name: 'two-direct' }));
    try {
      const keys = Array.from({ length: 200 }, (_, i) => `two:key-${i}`);
      for (const k of keys) client.setAsync(k, bytes(20, k.length), 0);
      await client.flush();
      const onServer = await Promise.all(alone.map((a) => a.getMulti(keys)));
      for (const k of keys) {
        const where = client.serverFor(k)!;
        const idx = where === mc.address ? 0 : 1;
        expect(onServer[idx].has(k)).toBe(true);
        expect(onServer[1 - idx].has(k)).toBe(false);
      }
      expect(onServer[0].size).toBeGreaterThan(50);
      expect(onServer[1].size).toBeGreaterThan(50);
      // Another client with the servers listed the other way round finds every key.
      const reversed = new MemcachedClient(cfgFor([other.address, mc.address]), { name: 'two-rev' });
      try {
        expect((await reversed.getMulti(keys)).size).toBe(keys.length);
      } finally {
        await reversed.stop();
      }
    } finally {
      await client.stop();
      for (const a of alone) await a.stop();
      await other.stop();
    }
  });

  it('finds servers by dns+ addresses', async () => {
    const c = new MemcachedCache(cfgFor([`dns+localhost:${mc.port}`]), { name: 'dns' });
    try {
      await waitFor(() => c.client.servers().length > 0, { what: 'dns+localhost to resolve' });
      expect(c.client.servers()).toEqual([mc.address]);
      c.store(new Map([['dns:a', bytes(3, 1)]]), 0);
      await c.flush();
      expect((await c.fetch(['dns:a'])).size).toBe(1);
    } finally {
      await c.close();
    }
  });

  it('hashes keys memcached cannot take', () => {
    expect(wireKey('P:01H:abc')).toBe('P:01H:abc');
    const long = wireKey('k'.repeat(251));
    expect(long).toMatch(/^H:[A-Za-z0-9_-]{43}$/);
    expect(wireKey('a b')).not.toBe(wireKey('a_b'));
  });
});
