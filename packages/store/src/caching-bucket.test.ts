import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_IN_MEMORY_CONFIG, DEFAULT_MEMCACHED_CONFIG, InMemoryCache, MemcachedCache } from '@thanos-ts/cache';
import type { Cache } from '@thanos-ts/cache';
import { FilesystemBucket, getBytes, getRangeBytes, isObjectNotFound } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { nopLogger } from '@thanos-ts/runtime';
import { removeTempDirs, rng, startMemcached, tempDir, wrapMethods } from '@thanos-ts/testutil';
import type { MemcachedInstance } from '../../testutil/src/memcached.js';
import { CachingBucket, parseCachingBucketConfig } from './caching-bucket.js';
import type { CachingBucketConfig } from './caching-bucket.js';
import { storeConfigFromFlags } from './flags.js';

const BLOCK = '01HZZZZZZZZZZZZZZZZZZZZZ00';
const CHUNKS = `${BLOCK}/chunks/000001`;
const SIZE = 100_000 + 123; // the last subrange is short

interface Counted {
  bkt: Bucket;
  ranges: [number, number][];
  calls: Record<string, number>;
}

function counting(real: Bucket): Counted {
  const c: Counted = { bkt: real, ranges: [], calls: {} };
  const count = (op: string): void => {
    c.calls[op] = (c.calls[op] ?? 0) + 1;
  };
  c.bkt = wrapMethods(real, {
    getRange: (name: string, off: number, len?: number) => {
      count('getRange');
      c.ranges.push([off, off + (len ?? 0)]);
      return real.getRange(name, off, len);
    },
    get: (name: string) => (count('get'), real.get(name)),
    exists: (name: string) => (count('exists'), real.exists(name)),
    attributes: (name: string) => (count('attributes'), real.attributes(name)),
    iter: (...a: Parameters<Bucket['iter']>) => (count('iter'), real.iter(...a)),
  });
  return c;
}

function cfgWith(over: Partial<CachingBucketConfig> = {}): CachingBucketConfig {
  return { ...parseCachingBucketConfig('type: IN-MEMORY\n', 'test'), chunkSubrangeSize: 1000, ...over };
}

let mc: MemcachedInstance;
let data: Uint8Array;
let bucketDir: string;

beforeAll(async () => {
  mc = await startMemcached();
  bucketDir = await tempDir('caching-bucket');
  data = new Uint8Array(SIZE);
  const r = rng(7);
  for (let i = 0; i < SIZE; i++) data[i] = Math.floor(r() * 256);
  await mkdir(join(bucketDir, BLOCK, 'chunks'), { recursive: true });
  await writeFile(join(bucketDir, CHUNKS), data);
  await writeFile(join(bucketDir, BLOCK, 'meta.json'), '{"ulid":"x"}');
  await writeFile(join(bucketDir, BLOCK, 'index'), data.subarray(0, 5000));
});

afterAll(async () => {
  await mc?.stop();
  await removeTempDirs();
});

const backends: [string, (name: string) => Cache][] = [
  ['IN-MEMORY', (name) => new InMemoryCache(DEFAULT_IN_MEMORY_CONFIG, { name })],
  ['MEMCACHED', (name) => new MemcachedCache({ ...DEFAULT_MEMCACHED_CONFIG, addresses: [mc.address], timeoutMs: 2000 }, { name })],
];

// A memcached cache stores asynchronously: wait for its sets before expecting hits.
async function settle(cache: Cache): Promise<void> {
  if (cache instanceof MemcachedCache) await cache.flush();
}

describe.each(backends)('CachingBucket over %s', (backend, newBackend) => {
  let seq = 0;
  // A fresh object per test, so tests sharing one memcached do not see each other's items.
  async function fresh(over: Partial<CachingBucketConfig> = {}): Promise<{ cb: CachingBucket; c: Counted; cache: Cache; name: string }> {
    const name = `${BLOCK}/chunks/${String(++seq).padStart(6, '0')}${backend === 'MEMCACHED' ? '1' : '2'}`;
    await writeFile(join(bucketDir, name), data);
    const c = counting(new FilesystemBucket(bucketDir));
    const cache = newBackend(`cb-${backend}-${seq}`);
    return { cb: new CachingBucket(c.bkt, cache, cfgWith(over)), c, cache, name };
  }

  it('serves a range read twice from the cache the second time', async () => {
    const { cb, c, cache, name } = await fresh();
    expect(Buffer.from(await getRangeBytes(cb, name, 5500, 3000)).equals(Buffer.from(data.subarray(5500, 8500)))).toBe(true);
    expect(c.ranges).toEqual([[5000, 9000]]);
    await settle(cache);
    expect(Buffer.from(await getRangeBytes(cb, name, 5500, 3000)).equals(Buffer.from(data.subarray(5500, 8500)))).toBe(true);
    expect(Buffer.from(await getRangeBytes(cb, name, 6000, 10)).equals(Buffer.from(data.subarray(6000, 6010)))).toBe(true);
    expect(c.calls.getRange).toBe(1);
    expect(c.calls.attributes).toBe(1);
    await cb.close();
  });

  it('fetches only the missing subranges of a partial overlap, merged', async () => {
    const { cb, c, cache, name } = await fresh();
    await getRangeBytes(cb, name, 5000, 3000); // 5..7 cached
    await getRangeBytes(cb, name, 12_000, 1000); // 12 cached
    await settle(cache);
    c.ranges.length = 0;
    const got = await getRangeBytes(cb, name, 4500, 10_000); // wants 4..14
    expect(Buffer.from(got).equals(Buffer.from(data.subarray(4500, 14_500)))).toBe(true);
    expect(c.ranges).toEqual([
      [4000, 5000],
      [8000, 12_000],
      [13_000, 15_000],
    ]);
    await cb.close();
  });

  it('splits a read into at most max_chunks_get_range_requests bucket requests', async () => {
    const { cb, c, cache, name } = await fresh({ maxChunksGetRangeRequests: 2 });
    for (let s = 1; s < 20; s += 2) await getRangeBytes(cb, name, s * 1000, 1000); // every odd subrange
    await settle(cache);
    c.ranges.length = 0;
    const got = await getRangeBytes(cb, name, 0, 21_000);
    expect(Buffer.from(got).equals(Buffer.from(data.subarray(0, 21_000)))).toBe(true);
    expect(c.ranges.length).toBeLessThanOrEqual(2);
    await cb.close();
  });

  it('answers exactly what the bucket answers for random ranges', async () => {
    const { cb, cache, name } = await fresh();
    const raw = new FilesystemBucket(bucketDir);
    const r = rng(42);
    for (let i = 0; i < 150; i++) {
      const off = Math.floor(r() * (SIZE + 500));
      const len = 1 + Math.floor(r() * (r() < 0.2 ? 30_000 : 2500));
      const want = Buffer.from(await getRangeBytes(raw, name, off, len));
      const got = Buffer.from(await getRangeBytes(cb, name, off, len));
      expect(got.equals(want), `range ${off}+${len}`).toBe(true);
      if (i % 10 === 0) await settle(cache);
    }
    await cb.close();
  });

  it('caches meta.json content and existence, misses, and the root listing', async () => {
    const c = counting(new FilesystemBucket(bucketDir));
    const cache = newBackend(`cb-meta-${backend}`);
    // Unique names per backend: memcached outlives this test.
    const missing = `${BLOCK}/deletion-mark.json`;
    const cb = new CachingBucket(c.bkt, cache, { ...cfgWith(), configHash: `${backend}-${Date.now()}` });
    expect(new TextDecoder().decode(await getBytes(cb, `${BLOCK}/meta.json`))).toBe('{"ulid":"x"}');
    await expect(getBytes(cb, missing)).rejects.toSatisfy(isObjectNotFound);
    const names: string[] = [];
    await cb.iter('', (n) => void names.push(n));
    await settle(cache);
    expect(new TextDecoder().decode(await getBytes(cb, `${BLOCK}/meta.json`))).toBe('{"ulid":"x"}');
    await expect(getBytes(cb, missing)).rejects.toSatisfy(isObjectNotFound);
    expect(await cb.exists(`${BLOCK}/meta.json`)).toBe(true);
    expect(await cb.exists(missing)).toBe(false);
    const again: string[] = [];
    await cb.iter('', (n) => void again.push(n));
    expect(again).toEqual(names);
    expect(names).toEqual([`${BLOCK}/`]);
    expect(c.calls).toEqual({ get: 2, iter: 1 });
    // Other objects pass through.
    expect((await getBytes(cb, `${BLOCK}/index`)).length).toBe(5000);
    await cb.close();
  });
});

describe('parseCachingBucketConfig', () => {
  it("takes Thanos's defaults and fields", () => {
    const cfg = parseCachingBucketConfig(
      'type: MEMCACHED\nconfig:\n  addresses: [a:11211]\nchunk_subrange_size: 8000\nmax_chunks_get_range_requests: 5\nblocks_iter_ttl: 1m\nmetafile_max_size: 2MiB\n',
      '--store.caching-bucket.config',
    );
    expect(cfg).toMatchObject({
      cache: { type: 'MEMCACHED' },
      chunkSubrangeSize: 8000,
      maxChunksGetRangeRequests: 5,
      chunkObjectAttrsTTLMs: 24 * 3600_000,
      chunkSubrangeTTLMs: 24 * 3600_000,
      blocksIterTTLMs: 60_000,
      metafileExistsTTLMs: 2 * 3600_000,
      metafileDoesntExistTTLMs: 15 * 60_000,
      metafileContentTTLMs: 24 * 3600_000,
      metafileMaxSizeBytes: 2 * 1024 * 1024,
    });
  });

  it('names the flag and the field', () => {
    expect(() => parseCachingBucketConfig('type: IN-MEMORY\nchunk_subrange: 1\n', 'f')).toThrow('f: field chunk_subrange not found in type storecache.CachingWithBackendConfig');
    expect(() => parseCachingBucketConfig('type: IN-MEMORY\nblocks_iter_ttl: soon\n', 'f')).toThrow(/^f.blocks_iter_ttl: /);
    expect(() => parseCachingBucketConfig('type: MEMCACHED\n', 'f')).toThrow(/^f: config: addresses: no memcached addresses/);
  });

  it('comes from --store.caching-bucket.config and --index-cache.config', () => {
    const cfg = storeConfigFromFlags(
      {
        'store.caching-bucket.config': 'type: IN-MEMORY\nconfig:\n  max_size: 10MB\n',
        'index-cache.config': 'type: MEMCACHED\nconfig:\n  addresses: [127.0.0.1:1]\nttl: 1h\nenabled_items: [Series]\n',
        'index-cache-size': '10MB',
      },
      new FilesystemBucket('/tmp/unused-bucket'),
      nopLogger(),
    );
    expect(cfg.cachingBucket?.cache).toEqual({ type: 'IN-MEMORY', config: { max_size: '10MB' } });
    expect(cfg.indexCache).toMatchObject({ maxSizeBytes: 10 * 1024 * 1024, enabledItems: ['Series'], memcached: { ttlMs: 3600_000, client: { addresses: ['127.0.0.1:1'] } } });
    expect(() => storeConfigFromFlags({ 'store.caching-bucket.config': 'type: REDIS\n' }, new FilesystemBucket('/tmp/unused-bucket'), nopLogger())).toThrow(
      /^--store.caching-bucket.config: type: REDIS is not supported/,
    );
  });
});

describe('CachingBucket metrics', () => {
  it('counts requests, hits and bytes by origin as Thanos does', async () => {
    const reg = new Registry();
    const cb = new CachingBucket(new FilesystemBucket(bucketDir), new InMemoryCache(DEFAULT_IN_MEMORY_CONFIG, { name: 'caching-bucket', registry: reg }), cfgWith(), { registry: reg });
    await getRangeBytes(cb, CHUNKS, 0, 2000);
    await getRangeBytes(cb, CHUNKS, 1000, 2000);
    const text = await reg.metrics();
    expect(text).toContain('thanos_store_bucket_cache_operation_requests_total{operation="get_range",config="chunks"} 2');
    expect(text).toContain('thanos_store_bucket_cache_operation_hits_total{operation="get_range",config="chunks"} 0.5');
    expect(text).toContain('thanos_store_bucket_cache_getrange_fetched_bytes_total{origin="bucket",config="chunks"} 3000');
    expect(text).toContain('thanos_store_bucket_cache_getrange_fetched_bytes_total{origin="cache",config="chunks"} 1000');
    expect(text).toContain('thanos_store_bucket_cache_getrange_requested_bytes_total{config="chunks"} 4000');
    await cb.close();
  });
});

describe('Store with the caching bucket and the index cache on memcached', () => {
  it('serves the same series as without caches, and a second store reads chunks from memcached', async () => {
    const { uploadBlock } = await import('@thanos-ts/block');
    const { labelsFromRecord, SeriesBuilder } = await import('@thanos-ts/tsdb');
    const { StoreClient } = await import('@thanos-ts/storeapi');
    const { Store } = await import('./store.js');
    const { testThanosMeta } = await import('./series-fixture.js');
    const dir = await tempDir('store-caches-bucket');
    const bkt = new FilesystemBucket(dir);
    const b = new SeriesBuilder();
    for (let s = 0; s < 50; s++) for (let t = 0; t < 7200_000; t += 15_000) b.append(labelsFromRecord({ __name__: 'up', instance: `i${s}` }), t, s + t / 1000);
    const w = await b.writeBlock(await tempDir('store-caches-blocks'), { mint: 0, maxt: 7200_000, thanos: testThanosMeta({ cluster: 'c' }) });
    await uploadBlock(bkt, w!.dir);

    const memcached = `type: MEMCACHED\nconfig:\n  addresses: ["${mc.address}"]\n  timeout: 2s\n`;
    const run = async (flags: Record<string, string>): Promise<{ series: string; metrics: string }> => {
      const store = new Store(
        storeConfigFromFlags({ 'grpc-address': '127.0.0.1:0', 'http-address': '127.0.0.1:0', 'data-dir': await tempDir('store-caches-data'), ...flags }, new FilesystemBucket(dir), nopLogger()),
      );
      await store.start();
      try {
        const client = new StoreClient(store.grpcAddress);
        const out: string[] = [];
        for (let i = 0; i < 2; i++) {
          for await (const r of client.series({ minTime: 0, maxTime: 7200_000, matchers: [{ type: 0, name: '__name__', value: 'up' }] })) {
            if (r.series) out.push(JSON.stringify(r.series));
          }
        }
        client.close();
        const metrics = await (await fetch(`http://${store.httpAddress}/metrics`)).text();
        return { series: out.join('\n'), metrics };
      } finally {
        await store.stop();
      }
    };
    const plain = await run({});
    const cached = { 'store.caching-bucket.config': `${memcached}chunk_subrange_size: 4000\n`, 'index-cache.config': memcached };
    const first = await run(cached);
    const second = await run(cached);
    expect(first.series).toBe(plain.series);
    expect(second.series).toBe(plain.series);
    expect(plain.series.split('\n').length).toBe(100);
    expect(first.metrics).toMatch(/thanos_memcached_operations_total\{name="caching-bucket",operation="set"\} [1-9]/);
    expect(first.metrics).toMatch(/thanos_memcached_operations_total\{name="index-cache",operation="set"\} [1-9]/);
    // The second store's chunk reads were answered by memcached, not the bucket.
    expect(second.metrics).toMatch(/thanos_store_bucket_cache_getrange_fetched_bytes_total\{origin="cache",config="chunks"\} [1-9]/);
    expect(second.metrics).toMatch(/thanos_store_bucket_cache_getrange_fetched_bytes_total\{origin="bucket",config="chunks"\} 0\n/);
  });
});
