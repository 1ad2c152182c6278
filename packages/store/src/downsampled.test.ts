import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadBlock } from '@thanos-ts/block';
import { FilesystemBucket } from '@thanos-ts/objstore';
import { thanos } from '@thanos-ts/storeapi';
import type { StoreSeries } from '@thanos-ts/storeapi';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { downsampleBlock, labelsFromRecord, MatchType, newMatcher, SeriesBuilder, XorIterator } from '@thanos-ts/tsdb';
import { BucketStore } from './bucket-store.js';
import { InMemoryIndexCache } from './index-cache.js';
import { collectSeries, seriesRequest, testThanosMeta } from './series-fixture.js';

const H = 3600_000;
const FIVE_M = 300_000;
const ONE_H = 3600_000;
const N = 10;
let store: BucketStore;
/** Raw samples per series index, for checking aggregates. */
const raw: { t: number[]; v: number[] }[] = [];

beforeAll(async () => {
  const local = await tempDir('ds-blocks');
  const bkt = new FilesystemBucket(await tempDir('ds-bucket'));
  const ext = { cluster: 'd' };
  const dirs: string[] = [];
  for (let i = 0; i < N; i++) raw.push({ t: [], v: [] });
  for (const [mint, maxt] of [
    [0, 2 * H],
    [2 * H, 4 * H],
  ]) {
    const b = new SeriesBuilder();
    for (let i = 0; i < N; i++) {
      const ls = labelsFromRecord({ __name__: 'requests_total', idx: String(i) });
      for (let t = mint; t < maxt; t += 15_000) {
        // a counter with a reset every 50 minutes
        const v = (t % (50 * 60_000)) / 1000 + i;
        b.append(ls, t, v);
        raw[i].t.push(t);
        raw[i].v.push(v);
      }
    }
    const w = await b.writeBlock(local, { mint, maxt, thanos: testThanosMeta(ext) });
    dirs.push(w!.dir);
  }
  // Only the first 2h get a 5m block: queries at 5m must fill [2h, 4h) from raw.
  const ds = await downsampleBlock(dirs[0], local, FIVE_M);
  // And a 1h block of the same 2h, made from the 5m block.
  const ds1h = await downsampleBlock(ds!.dir, local, ONE_H);
  for (const d of [...dirs, ds!.dir, ds1h!.dir]) await uploadBlock(bkt, d);
  store = new BucketStore({
    bkt,
    dataDir: await tempDir('ds-data'),
    indexCache: new InMemoryIndexCache({ maxSizeBytes: 16 << 20, maxItemSizeBytes: 8 << 20, enabledItems: [] }),
    chunkPoolBytes: 1 << 30,
  });
  await store.syncBlocks();
});

afterAll(async () => {
  await removeTempDirs();
});

async function series(maxResolutionWindow: number, aggregates: number[]): Promise<StoreSeries[]> {
  const { series: out } = await collectSeries(store, seriesRequest([newMatcher(MatchType.EQ, '__name__', 'requests_total')], 0, 4 * H, { maxResolutionWindow, aggregates }));
  return out;
}

function idxOf(s: StoreSeries): number {
  return Number(s.labels.find((l) => l.name === 'idx')!.value);
}

function values(data: Uint8Array): { t: number[]; v: number[] } {
  const it = new XorIterator(data);
  const t: number[] = [];
  const v: number[] = [];
  while (it.next()) {
    t.push(it.atT());
    v.push(it.atF());
  }
  return { t, v };
}

describe('BucketStore with downsampled blocks', () => {
  it('serves raw chunks when raw data is asked for', async () => {
    const out = await series(0, [thanos.Aggr.COUNT, thanos.Aggr.SUM]);
    expect(out).toHaveLength(N);
    for (const s of out) {
      expect(s.chunks.every((c) => c.raw && !c.count && !c.sum)).toBe(true);
      const got = s.chunks.flatMap((c) => values(c.raw!.data).v);
      expect(got).toEqual(raw[idxOf(s)].v);
    }
  });

  it('serves the requested aggregates of the 5m block and fills the rest of the range from raw blocks', async () => {
    const out = await series(FIVE_M, [thanos.Aggr.COUNT, thanos.Aggr.SUM]);
    expect(out).toHaveLength(N);
    for (const s of out) {
      const i = idxOf(s);
      const aggr = s.chunks.filter((c) => c.count);
      const rawChunks = s.chunks.filter((c) => c.raw);
      expect(aggr.length).toBeGreaterThan(0);
      expect(aggr.every((c) => c.maxTime < 2 * H && c.sum && !c.counter && !c.min && !c.raw)).toBe(true);
      expect(rawChunks.every((c) => c.minTime >= 2 * H)).toBe(true);
      // Counts add up to the raw samples of the first 2h, sums to their sum.
      const firstHalf = raw[i].t.map((t, k) => [t, raw[i].v[k]] as const).filter(([t]) => t < 2 * H);
      const counts = aggr.flatMap((c) => values(c.count!.data).v);
      const sums = aggr.flatMap((c) => values(c.sum!.data).v);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(firstHalf.length);
      expect(sums.reduce((a, b) => a + b, 0)).toBeCloseTo(firstHalf.reduce((a, [, v]) => a + v, 0), 6);
      expect(counts).toHaveLength(24); // one window per 5 minutes
      expect(rawChunks.flatMap((c) => values(c.raw!.data).t)).toEqual(raw[i].t.filter((t) => t >= 2 * H));
    }
  });

  it('picks the 1h block at a 1h resolution window and keeps counts intact', async () => {
    const at5m = await series(FIVE_M, [thanos.Aggr.COUNT]);
    const at1h = await series(ONE_H, [thanos.Aggr.COUNT]);
    for (let k = 0; k < N; k++) {
      const c5 = at5m[k].chunks.filter((c) => c.count).flatMap((c) => values(c.count!.data).v);
      const c1 = at1h[k].chunks.filter((c) => c.count).flatMap((c) => values(c.count!.data).v);
      expect(c1).toHaveLength(2); // two 1h windows
      expect(c1.reduce((a, b) => a + b, 0)).toBe(c5.reduce((a, b) => a + b, 0));
      expect(at1h[k].chunks.filter((c) => c.raw).every((c) => c.minTime >= 2 * H)).toBe(true);
    }
  });

  it('serves the counter aggregate for rate-like functions', async () => {
    const out = await series(FIVE_M, [thanos.Aggr.COUNTER]);
    for (const s of out) {
      const aggr = s.chunks.filter((c) => c.maxTime < 2 * H);
      expect(aggr.every((c) => c.counter && !c.count && !c.sum)).toBe(true);
      const { t, v } = values(aggr[0].counter!.data);
      // The counter aggregate never decreases although the raw counter resets; its last
      // point repeats the last timestamp with the last raw value (for resets across chunks).
      expect(t[t.length - 1]).toBe(t[t.length - 2]);
      for (let k = 1; k < v.length - 1; k++) expect(v[k]).toBeGreaterThanOrEqual(v[k - 1]);
    }
  });
});
