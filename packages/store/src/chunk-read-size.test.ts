// How much the store reads per chunk of a block whose meta has no chunk_max_size (blocks
// from sidecars and receivers): Thanos' 16,000-byte guess at first, then twice the
// largest record it has seen; a record longer than the guess is read again on its own.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadBlock } from '@thanos-ts/block';
import { FilesystemBucket } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { removeTempDirs, rng, tempDir, wrapMethods } from '@thanos-ts/testutil';
import { labelsFromRecord, MatchType, newMatcher, SeriesBuilder, XorIterator } from '@thanos-ts/tsdb';
import { BucketStore } from './bucket-store.js';
import { InMemoryIndexCache } from './index-cache.js';
import { collectSeries, seriesRequest, testThanosMeta } from './series-fixture.js';

const STEP = 15_000;
const POINTS = 2000;
const END = POINTS * STEP;
const SERIES = 30;

/** Written values per series name and index. */
const written = new Map<string, number[]>();
let bucket: FilesystemBucket;

beforeAll(async () => {
  const local = await tempDir('chunk-size-blocks');
  bucket = new FilesystemBucket(await tempDir('chunk-size-bucket'));
  const b = new SeriesBuilder();
  const r = rng(7);
  for (let i = 0; i < SERIES; i++) {
    // jitter: random floats, records of about a kilobyte, each series' last chunk some
    // 17 KB after the one before; steady: a counter, records of a few dozen bytes.
    for (const name of ['jitter', 'steady']) {
      const ls = labelsFromRecord({ __name__: name, i: String(i).padStart(2, '0') });
      const vs: number[] = [];
      for (let k = 0; k < POINTS; k++) {
        const v = name === 'jitter' ? r() * 1e6 : k * 2;
        b.append(ls, k * STEP, v);
        vs.push(v);
      }
      written.set(`${name}/${i}`, vs);
    }
  }
  const w = await b.writeBlock(local, { mint: 0, maxt: END, thanos: testThanosMeta({ cluster: 'c' }) });
  await uploadBlock(bucket, w!.dir);
});

afterAll(async () => {
  await removeTempDirs();
});

async function newStore(): Promise<BucketStore> {
  const s = new BucketStore({
    // One read per chunk, so that what is read per chunk shows.
    bkt: wrapMethods<Bucket>(bucket, { rangeGapBytes: 0, rangeReadMaxBytes: 0 }),
    dataDir: await tempDir('chunk-size-data'),
    indexCache: new InMemoryIndexCache({ maxSizeBytes: 64 << 20, maxItemSizeBytes: 32 << 20, enabledItems: [] }),
    chunkPoolBytes: 1 << 30,
  });
  await s.syncBlocks();
  return s;
}

/** The last 10 minutes of `name`: the last chunk of each series. */
async function lastChunks(store: BucketStore, name: string): Promise<{ values: number[][]; fetched: number; refetches: number }> {
  const req = seriesRequest([newMatcher(MatchType.EQ, '__name__', name)], END - 600_000, END);
  const { series } = await collectSeries(store, req);
  const values = series.map((s) => {
    const out: number[] = [];
    for (const c of s.chunks) {
      const it = new XorIterator(c.raw!.data);
      while (it.next()) if (it.atT() >= END - 600_000) out.push(it.atF());
    }
    return out;
  });
  const st = store.lastStats!;
  return { values, fetched: st.chunksFetchedBytes, refetches: st.chunkRefetches };
}

const tail = (name: string, i: number): number[] => written.get(`${name}/${i}`)!.filter((_, k) => k * STEP >= END - 600_000);

describe('chunk reads of a block without chunk_max_size', () => {
  it('read about twice the largest record seen once some have been read', async () => {
    const store = await newStore();
    const first = await lastChunks(store, 'jitter');
    const second = await lastChunks(store, 'jitter');
    expect(second.values).toEqual(first.values);
    expect(first.values).toEqual([...Array(SERIES).keys()].map((i) => tail('jitter', i)));
    // Up to 16,000 bytes per chunk at first (to the next series' chunk), for the store's
    // first batch of 16 series; about two kilobytes after, later batches included.
    expect(first.fetched).toBeGreaterThan(16 * 10_000);
    expect(second.fetched).toBeLessThan(first.fetched / 4);
    expect(second.refetches).toBe(0);
  });

  it('read a record longer than the guess again, whole', async () => {
    const store = await newStore();
    // Steady records teach a guess of 512 bytes; jitter records are about a kilobyte.
    await lastChunks(store, 'steady');
    const jitter = await lastChunks(store, 'jitter');
    expect(jitter.refetches).toBeGreaterThan(0);
    expect(jitter.values).toEqual([...Array(SERIES).keys()].map((i) => tail('jitter', i)));
  });
});
