import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MEMCACHED_CONFIG, MemcachedCache } from '@thanos-ts/cache';
import type { MemcachedClientConfig } from '@thanos-ts/cache';
import { crc32c } from '@thanos-ts/tsdb';
import type { MemcachedInstance } from '../../testutil/src/memcached.js';
import { InMemoryIndexCache, parseIndexCacheConfig } from './index-cache.js';
import { MemcachedIndexCache, postingsKey, seriesKey } from './memcached-index-cache.js';
import { startMemcached } from '@thanos-ts/testutil';

/** A postings section as in the index: len ‖ count ‖ refs ‖ CRC32C, all big-endian. */
function postings(refs: number[]): Uint8Array {
  const b = Buffer.alloc(4 + 4 + refs.length * 4 + 4);
  b.writeUInt32BE(4 + refs.length * 4, 0);
  b.writeUInt32BE(refs.length, 4);
  refs.forEach((r, i) => b.writeUInt32BE(r, 8 + i * 4));
  b.writeUInt32BE(crc32c(b, 4, 8 + refs.length * 4), 8 + refs.length * 4);
  return b;
}

/** A series entry: uvarint len ‖ body ‖ CRC32C (bodies here are under 128 bytes). */
function series(body: number[]): Uint8Array {
  const b = Buffer.alloc(1 + body.length + 4);
  b[0] = body.length;
  b.set(body, 1);
  b.writeUInt32BE(crc32c(b, 1, 1 + body.length), 1 + body.length);
  return b;
}

const memory = (): InMemoryIndexCache => new InMemoryIndexCache({ maxSizeBytes: 1 << 20, maxItemSizeBytes: 1 << 19, enabledItems: [] });

describe('MemcachedIndexCache', () => {
  let mc: MemcachedInstance;
  let client: MemcachedClientConfig;
  beforeAll(async () => {
    mc = await startMemcached();
    client = { ...DEFAULT_MEMCACHED_CONFIG, addresses: [mc.address], timeoutMs: 2000 };
  });
  afterAll(async () => {
    await mc?.stop();
  });

  it('answers from memory first and from memcached what memory lacks, keeping it in memory', async () => {
    const reg = new Registry();
    const remoteA = new MemcachedCache(client, { name: 'index-cache', registry: reg });
    const a = new MemcachedIndexCache(memory(), remoteA, { ttlMs: 60_000, enabledItems: [] });
    const p = postings([1, 5, 9]);
    const s = series([1, 2, 3, 4]);
    a.storePostings('B1', 'job', 'api', p);
    a.storeSeries('B1', 16, s);
    await remoteA.flush();

    // Another store with an empty memory: memory misses, memcached has them.
    const b = new MemcachedIndexCache(memory(), new MemcachedCache(client, { name: 'index-cache-b' }), { ttlMs: 60_000, enabledItems: [] });
    const keys = [{ name: 'job', value: 'api' }, { name: 'job', value: 'none' }];
    const got = b.fetchPostings('B1', keys);
    expect(got).toEqual([undefined, undefined]);
    await b.fetchPostingsRemote('B1', keys, got);
    expect(Buffer.from(got[0]!).equals(Buffer.from(p))).toBe(true);
    expect(got[1]).toBeUndefined();
    const sg = b.fetchSeries('B1', [16, 32]);
    await b.fetchSeriesRemote('B1', [16, 32], sg);
    expect(Buffer.from(sg[0]!).equals(Buffer.from(s))).toBe(true);
    expect(sg[1]).toBeUndefined();
    // Now in b's memory: a synchronous hit.
    expect(b.fetchPostings('B1', keys)[0]).toBeDefined();
    expect(b.fetchSeries('B1', [16])[0]).toBeDefined();
    expect(await reg.metrics()).toContain('thanos_memcached_operations_total{name="index-cache",operation="set"} 2');
    await a.close();
    await b.close();
  });

  it('takes a value from memcached that fails its checks as a miss', async () => {
    const raw = new MemcachedCache(client, { name: 'raw' });
    // What a Thanos store would put under the same series key: the body without our framing.
    raw.store(new Map([[seriesKey('B2', 16), new Uint8Array([9, 9, 9])], [postingsKey('B2', 'a', 'b'), postings([1]).subarray(0, 10)]]), 0);
    await raw.flush();
    const c = new MemcachedIndexCache(memory(), new MemcachedCache(client, { name: 'check' }), { ttlMs: 0, enabledItems: [] });
    const sg: (Uint8Array | undefined)[] = [undefined];
    await c.fetchSeriesRemote('B2', [16], sg);
    const pg: (Uint8Array | undefined)[] = [undefined];
    await c.fetchPostingsRemote('B2', [{ name: 'a', value: 'b' }], pg);
    expect([sg[0], pg[0]]).toEqual([undefined, undefined]);
    await raw.close();
    await c.close();
  });

  it('leaves item types out of memcached that enabled_items leaves out', async () => {
    const remote = new MemcachedCache(client, { name: 'only-series' });
    const c = new MemcachedIndexCache(memory(), remote, { ttlMs: 0, enabledItems: ['Series'] });
    c.storePostings('B3', 'a', 'b', postings([1]));
    c.storeSeries('B3', 16, series([1]));
    await remote.flush();
    const got = await remote.fetch([postingsKey('B3', 'a', 'b'), seriesKey('B3', 16)]);
    expect([...got.keys()]).toEqual([seriesKey('B3', 16)]);
    await c.close();
  });

  it('answers misses when memcached is unreachable', async () => {
    const c = new MemcachedIndexCache(memory(), { ...client, addresses: ['127.0.0.1:1'], timeoutMs: 500 }, { ttlMs: 0, enabledItems: [] });
    c.storeSeries('B4', 16, series([1]));
    const sg: (Uint8Array | undefined)[] = [undefined];
    await c.fetchSeriesRemote('B4', [32], sg);
    expect(sg).toEqual([undefined]);
    expect(c.fetchSeries('B4', [16])[0]).toBeDefined();
    await c.close();
  });
});

describe('parseIndexCacheConfig MEMCACHED', () => {
  it("reads Thanos's MEMCACHED config with the in-memory level sized by --index-cache-size", () => {
    const cfg = parseIndexCacheConfig('type: MEMCACHED\nconfig:\n  addresses: [a:11211]\n  max_get_multi_batch_size: 50\n', '--index-cache.config', 64 << 20);
    expect(cfg).toMatchObject({ maxSizeBytes: 64 << 20, memcached: { ttlMs: 24 * 3600_000, client: { addresses: ['a:11211'], maxGetMultiBatchSize: 50 } } });
    expect(() => parseIndexCacheConfig('type: MEMCACHED\nconfig:\n  addresses: [a:1]\n  nope: 1\n', 'f')).toThrow('f: config: field nope not found in type cacheutil.MemcachedClientConfig');
    expect(() => parseIndexCacheConfig('type: MEMCACHED\nconfig:\n  addresses: [a:1]\nttl: x\n', 'f')).toThrow(/^f: ttl: /);
  });
});
