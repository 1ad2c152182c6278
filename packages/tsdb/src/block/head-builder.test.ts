import { readdir } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { STALE_NAN, isStaleNaN } from '../chunkenc/index.js';
import { labelsFromStrings } from '../labels/index.js';
import { MatchType, newMatcher } from '../matchers/index.js';
import { DuplicateSampleForTimestampError, OutOfOrderSampleError } from '../storage/index.js';
import { Block, BlocksQueryable, DEFAULT_BLOCK_DURATION, SeriesBuilder } from './index.js';
import { collect, firstDifference, makeInput } from './test-fixture.js';

afterAll(removeTempDirs);

const H = 3_600_000;
const T0 = 1_700_006_400_000; // a multiple of 2h
const L = labelsFromStrings('__name__', 'm', 'i', '1');

/** Chunk [mint, maxt, samples] of every series of a block, in order. */
async function chunkLayout(dir: string): Promise<[number, number, number][][]> {
  const b = await Block.open(dir);
  try {
    const out: [number, number, number][][] = [];
    for await (const s of (await b.chunkQuerier(-Infinity, Infinity)).select({ start: -Infinity, end: Infinity }, [])) {
      out.push([...s.chunks()].map((c) => [c.mint, c.maxt, c.chunk.numSamples()]));
    }
    return out;
  } finally {
    await b.close();
  }
}

describe('SeriesBuilder chunk cutting (as the Prometheus head)', () => {
  it('cuts 120-sample chunks for a regular scrape, and at chunk range boundaries', async () => {
    const b = new SeriesBuilder();
    // 3h at 15 s from 30 min into a 2h range: boundary at T0 + 2h.
    const start = T0 + 30 * 60_000;
    for (let t = start; t < start + 3 * H; t += 15_000) b.append(L, t, t % 7);
    const [w1, w2] = await b.writeBlocks(await tempDir('hb-cut'), DEFAULT_BLOCK_DURATION);
    const first = (await chunkLayout(w1.dir))[0];
    const second = (await chunkLayout(w2.dir))[0];
    // 90 min before the boundary: 360 samples in 3 chunks of 120.
    expect(first.map((c) => c[2])).toEqual([120, 120, 120]);
    expect(first[2][1]).toBe(T0 + 2 * H - 15_000);
    expect(second[0][0]).toBe(T0 + 2 * H);
    expect(second.map((c) => c[2])).toEqual([120, 120, 120, 120, 120, 120].slice(0, second.length));
    expect(second.reduce((n, c) => n + c[2], 0)).toBe(720 - 360);
    expect(w1.meta.minTime).toBe(start);
    expect(w1.meta.maxTime).toBe(T0 + 2 * H - 15_000 + 1);
    expect(w2.meta.minTime).toBe(T0 + 2 * H);
  });

  it('caps a chunk at 2 * 120 samples when the rate rises after the prediction', async () => {
    const b = new SeriesBuilder();
    let t = T0;
    for (let i = 0; i < 30; i++, t += 60_000) b.append(L, t, i); // predicts ~ 2h / 4 per chunk
    for (let i = 0; i < 400; i++, t += 10) b.append(L, t, i);
    const w = await b.writeBlock(await tempDir('hb-cap'));
    // The first chunk predicted ~2h/4 at one sample a minute, then hit the cap; the next
    // one predicts at the new rate: 30 samples over 290 ms -> chunks of ~1164 ms.
    expect((await chunkLayout(w!.dir))[0].map((c) => c[2])).toEqual([240, 117, 73]);
  });

  it('cuts before a chunk would exceed maxChunkBytes when asked to', async () => {
    const b = new SeriesBuilder({ maxChunkBytes: 1024 });
    for (let i = 0; i < 120; i++) b.append(L, T0 + i * 15_000, Math.sin(i) * 1e9 + i / 7);
    const w = await b.writeBlock(await tempDir('hb-bytes'));
    const blk = await Block.open(w!.dir);
    const sizes: number[] = [];
    for await (const s of (await blk.chunkQuerier(-Infinity, Infinity)).select({ start: -Infinity, end: Infinity }, [])) {
      for (const c of s.chunks()) sizes.push(c.chunk.bytes().length);
    }
    await blk.close();
    expect(sizes.length).toBeGreaterThan(1);
    for (const n of sizes) expect(n).toBeLessThanOrEqual(1024);
  });
});

describe('SeriesBuilder appends', () => {
  it('rejects out-of-order samples and conflicting duplicates with typed errors', () => {
    const b = new SeriesBuilder();
    const ref = b.append(L, 2000, 1);
    expect(() => b.appendRef(ref, 1999, 1)).toThrow(OutOfOrderSampleError);
    expect(() => b.append(L, 1000, 1)).toThrow(/out of order sample: timestamp 1000 is before the series' last timestamp 2000/);
    expect(() => b.append(L, 2000, 2)).toThrow(DuplicateSampleForTimestampError);
    b.append(L, 2000, 1); // an exact duplicate is dropped silently, as Prometheus does
    expect(() => b.append(L, 2000, NaN)).toThrow(DuplicateSampleForTimestampError);
    b.append(L, 3000, NaN);
    b.append(L, 3000, NaN);
    expect(b.stats()).toEqual({ numSeries: 1, numSamples: 2, numChunks: 1, minTime: 2000, maxTime: 3000 });
  });

  it('rejects invalid label sets and timestamps', () => {
    const b = new SeriesBuilder();
    expect(() => b.append([], 1, 1)).toThrow(/empty label set/);
    expect(() => b.append([{ name: 'b', value: '1' }, { name: 'a', value: '2' }], 1, 1)).toThrow(/not sorted/);
    expect(() => b.append(labelsFromStrings('a', ''), 1, 1)).toThrow(/empty value/);
    expect(() => b.append(L, 1.5, 1)).toThrow(/not a safe integer/);
    expect(() => b.appendRef(42, 1, 1)).toThrow(/unknown series ref/);
  });

  it('accepts series in any order and writes them sorted, values bit-exact (StaleNaN too)', async () => {
    const input = makeInput(3, 40, T0, H);
    const b = new SeriesBuilder();
    // Feed in reverse series order, interleaved by time.
    const order = [...input].reverse();
    const pos = order.map(() => 0);
    for (let more = true; more; ) {
      more = false;
      order.forEach((s, i) => {
        if (pos[i] < s.ts.length) {
          b.append(s.labels, s.ts[pos[i]], s.vs[pos[i]]);
          pos[i]++;
          more = true;
        }
      });
    }
    const stale = labelsFromStrings('__name__', 'zzz_stale');
    b.append(stale, T0 + 1000, 1);
    b.append(stale, T0 + 2000, STALE_NAN);
    const w = await b.writeBlock(await tempDir('hb-order'));
    const blk = await Block.open(w!.dir);
    const got = await collect((await blk.querier(-Infinity, Infinity)).select({ start: -Infinity, end: Infinity }, []));
    await blk.close();
    expect(firstDifference(got.slice(0, -1), input)).toBeNull();
    const last = got[got.length - 1];
    expect(last.labels).toEqual(stale);
    expect(isStaleNaN(last.vs[1])).toBe(true);
  });

  it('writeBlock with an explicit range uses it, and refuses samples outside it', async () => {
    const b = new SeriesBuilder();
    b.append(L, T0 + 10, 1);
    b.append(L, T0 + 20, 2);
    const dir = await tempDir('hb-range');
    await expect(b.writeBlock(dir, { mint: T0 + 15, maxt: T0 + 100 })).rejects.toThrow(/do not fit in the block range/);
    await expect(b.writeBlock(dir, { mint: T0, maxt: T0 + 20 })).rejects.toThrow(/do not fit/);
    const w = await b.writeBlock(dir, { mint: T0, maxt: T0 + DEFAULT_BLOCK_DURATION });
    expect([w!.meta.minTime, w!.meta.maxTime]).toEqual([T0, T0 + DEFAULT_BLOCK_DURATION]);
    expect(await readdir(dir)).toEqual([w!.ulid]);
    expect(await new SeriesBuilder().writeBlock(dir)).toBeNull();
    expect(await new SeriesBuilder().writeBlocks(dir, DEFAULT_BLOCK_DURATION)).toEqual([]);
  });

  it('writeBlocks splits into aligned ranges; one window at a time gives the same data', async () => {
    const input = makeInput(5, 30, T0 - H, 5 * H);
    const all = new SeriesBuilder();
    for (const s of input) for (let i = 0; i < s.ts.length; i++) all.append(s.labels, s.ts[i], s.vs[i]);
    const dirA = await tempDir('hb-split-a');
    const blocks = await all.writeBlocks(dirA, DEFAULT_BLOCK_DURATION);
    expect(blocks.map((x) => Math.floor(x.meta.minTime / DEFAULT_BLOCK_DURATION))).toEqual([0, 1, 2].map((k) => (T0 - 2 * H) / DEFAULT_BLOCK_DURATION + k));
    for (const x of blocks) {
      expect(Math.floor(x.meta.minTime / DEFAULT_BLOCK_DURATION)).toBe(Math.floor((x.meta.maxTime - 1) / DEFAULT_BLOCK_DURATION));
    }
    // The same through a builder fed one window at a time, reset in between.
    const dirB = await tempDir('hb-split-b');
    const win = new SeriesBuilder();
    for (let w = T0 - 2 * H; w < T0 + 4 * H; w += DEFAULT_BLOCK_DURATION) {
      win.reset();
      for (const s of input) for (let i = 0; i < s.ts.length; i++) if (s.ts[i] >= w && s.ts[i] < w + DEFAULT_BLOCK_DURATION) win.append(s.labels, s.ts[i], s.vs[i]);
      await win.writeBlock(dirB, { mint: w, maxt: w + DEFAULT_BLOCK_DURATION });
    }
    for (const dir of [dirA, dirB]) {
      const db = await BlocksQueryable.openDir(dir);
      expect(db.blocks).toHaveLength(3);
      const got = await collect((await db.querier(-Infinity, Infinity)).select({ start: -Infinity, end: Infinity }, [newMatcher(MatchType.RE, '__name__', '.+')]));
      expect(firstDifference(got, input)).toBeNull();
      await db.close();
    }
  });

  it('refuses to split when chunks straddle the block ranges', async () => {
    const b = new SeriesBuilder({ chunkRange: 4 * H });
    for (let t = T0 + H; t < T0 + 3 * H; t += 60_000) b.append(L, t, 1);
    await expect(b.writeBlocks(await tempDir('hb-straddle'), DEFAULT_BLOCK_DURATION)).rejects.toThrow(/spans two 7200000 ms blocks/);
  });

  it('holds 100k series x 120 samples and writes them as one block', async () => {
    const b = new SeriesBuilder();
    const n = 100_000;
    const refs = new Uint32Array(n);
    for (let i = 0; i < n; i++) refs[i] = b.getOrCreate(labelsFromStrings('__name__', 'load', 'instance', `host-${i % 1000}`, 'shard', String(i)));
    const started = performance.now();
    for (let k = 0; k < 120; k++) {
      const t = T0 + k * 15_000;
      for (let i = 0; i < n; i++) b.appendRef(refs[i], t, (i * 31 + k) % 1000);
    }
    const appendMs = performance.now() - started;
    expect(b.stats()).toEqual({ numSeries: n, numSamples: n * 120, numChunks: n, minTime: T0, maxTime: T0 + 119 * 15_000 });
    const w = await b.writeBlock(await tempDir('hb-100k'));
    const totalMs = performance.now() - started;
    expect(w!.meta.stats).toEqual({ numSamples: n * 120, numFloatSamples: n * 120, numSeries: n, numChunks: n });
    const blk = await Block.open(w!.dir);
    const got = await collect((await blk.querier(-Infinity, Infinity)).select({ start: -Infinity, end: Infinity }, [newMatcher(MatchType.EQ, 'shard', '77777')]));
    await blk.close();
    expect(got).toHaveLength(1);
    expect([...got[0].vs]).toEqual(Array.from({ length: 120 }, (_, k) => (77777 * 31 + k) % 1000));
    // Generous bounds (2 slow cores); the benchmark reports the real numbers.
    expect(appendMs).toBeLessThan(15_000);
    expect(totalMs).toBeLessThan(30_000);
  }, 60_000);
});
