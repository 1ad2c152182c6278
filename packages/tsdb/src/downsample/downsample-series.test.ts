// The expectations of Thanos' pkg/compact/downsample/downsample_test.go (TestDownsample,
// TestDownsampleCounterBoundaryReset, TestExpandChunkIterator,
// TestDownsampleAggrAnd{Empty,NonEmpty}XORChunks, TestDownsampleAndReadResultingData),
// with the same inputs and expected aggregates, run against our implementation.

import { describe, expect, it } from 'vitest';
import { AggrChunk, AggrType, EncXOR, ValueType, XorChunk, XorIterator } from '../chunkenc/index.js';
import {
  aggrChunk,
  aggrSamples,
  nums,
  rawChunk,
  readAggr,
  thanosVectors,
  xorOf,
  type AggrSamples,
  type Smp,
} from './downsample-fixture.js';
import { ApplyCounterResetsIterator } from './counter-resets-iterator.js';
import { downsampleAggr, downsampleAggrLoop } from './downsample-aggr.js';
import { downsampleRaw, downsampleRawLoop } from './downsample-raw.js';
import { downsampleSeries, type SourceChunk } from './downsample-series.js';
import type { AggrChunkMeta } from './aggregator.js';
import { currentWindow, ResLevel, targetChunkCount } from './resolution.js';
import { appendSamples, SampleBuffer } from './sample-buffer.js';

const V = thanosVectors();

/** Output chunks as aggregate name -> samples, for toEqual against Thanos' expectations. */
function got(chunks: readonly AggrChunkMeta[]): Record<string, [number, number][]>[] {
  return chunks.map((c) => {
    expect(c.mint).toBeLessThanOrEqual(c.maxt); // assertValidChunkTime
    return readAggr(c.chunk.bytes());
  });
}

function want(...chunks: AggrSamples[]): Record<string, [number, number][]>[] {
  return chunks.map((c) => Object.fromEntries(Object.entries(c).map(([k, s]) => [k, nums(s)])));
}

/** Downsamples like Thanos' TestDownsample: aggregate input pretends to be at resolution-1. */
function run(input: { raw?: Smp[][]; aggr?: AggrSamples[] }, resolution: number): AggrChunkMeta[] {
  const chunks: SourceChunk[] = input.raw ? input.raw.map(rawChunk) : input.aggr!.map(aggrChunk);
  return downsampleSeries(chunks, input.raw ? 0 : resolution - 1, resolution);
}

const STALE = 'stale';
const NAN = 'nan';

const AGGR_IN: AggrSamples = {
  count: [[199, 5], [299, 1], [399, 10], [400, 3], [499, 10], [699, 0], [999, 100]],
  sum: [[199, 5], [299, 1], [399, 10], [400, 3], [499, 10], [699, 0], [999, 100]],
  min: [[199, 5], [299, 1], [399, 10], [400, -3], [499, 10], [699, 0], [999, 100]],
  max: [[199, 5], [299, 1], [399, 10], [400, -3], [499, 10], [699, 0], [999, 100]],
  counter: [
    [99, 100], [299, 150], [499, 210], [499, 10], // chunk 1
    [599, 20], [799, 50], [999, 120], [999, 50], // chunk 2, no reset
    [1099, 40], [1199, 80], [1299, 110], // chunk 3, reset
  ],
};
const AGGR_500: AggrSamples = {
  count: [[499, 29], [999, 100]],
  sum: [[499, 29], [999, 100]],
  min: [[499, -3], [999, 0]],
  max: [[499, 10], [999, 100]],
  counter: [[99, 100], [499, 210], [999, 320], [1299, 430], [1299, 110]],
};

describe('downsampleSeries: raw input (TestDownsample)', () => {
  it('single chunk', () => {
    const out = run({ raw: [[[20, 1], [40, 2], [60, 3], [80, 1], [100, 2], [101, STALE], [120, 5], [180, 10], [250, 1]]] }, 100);
    expect(got(out)).toEqual(
      want({
        count: [[99, 4], [199, 3], [250, 1]],
        sum: [[99, 7], [199, 17], [250, 1]],
        min: [[99, 1], [199, 2], [250, 1]],
        max: [[99, 3], [199, 10], [250, 1]],
        counter: [[20, 1], [99, 4], [199, 13], [250, 14], [250, 1]],
      }),
    );
    // The chunk range spans the window timestamps, not the first raw sample.
    expect([out[0].mint, out[0].maxt]).toEqual([99, 250]);
  });

  it('three chunks', () => {
    const out = run(
      {
        raw: [
          [[20, 1], [40, 2], [60, 3], [80, 1], [100, 2], [101, STALE], [120, 5], [180, 10], [250, 2]],
          [[260, 1], [300, 10], [340, 15], [380, 25], [420, 35]],
          [[460, STALE], [500, 10], [540, 3]],
        ],
      },
      100,
    );
    expect(got(out)).toEqual(
      want({
        count: [[99, 4], [199, 3], [299, 2], [399, 3], [499, 1], [540, 2]],
        sum: [[99, 7], [199, 17], [299, 3], [399, 50], [499, 35], [540, 13]],
        min: [[99, 1], [199, 2], [299, 1], [399, 10], [499, 35], [540, 3]],
        max: [[99, 3], [199, 10], [299, 2], [399, 25], [499, 35], [540, 10]],
        counter: [[20, 1], [99, 4], [199, 13], [299, 16], [399, 40], [499, 50], [540, 63], [540, 3]],
      }),
    );
  });

  it('rejects overlapping chunks', () => {
    const c = [[20, 1], [40, 2], [60, 3], [80, 1], [100, 2], [101, STALE], [120, 5], [180, 10], [250, 2]] as Smp[];
    expect(() =>
      run({ raw: [c, c, [[260, 1], [300, 10], [340, 15], [380, 25], [420, 35]], [[460, STALE], [500, 10], [540, 3]]] }, 100),
    ).toThrow(/found overlapping chunks: chunk 1 \[20, 250\] starts before chunk 0 \[20, 250\] ends/);
  });

  it('realistic 15s interval raw chunks (counter reset after a stale marker)', () => {
    const out = run({ raw: V.rawWithStaleMarker }, ResLevel.L1);
    expect(got(out)).toEqual(want(V.res5m));
  });

  it('three chunks, the first one with NaN values only', () => {
    const out = run(
      {
        raw: [
          [[20, NAN], [40, NAN], [60, NAN], [80, NAN], [100, NaN], [101, STALE], [120, NAN], [180, NAN], [250, NAN]],
          [[260, 1], [300, 10], [340, 15], [380, 25], [420, 35]],
          [[460, STALE], [500, 10], [540, 3]],
        ],
      },
      100,
    );
    expect(got(out)).toEqual(
      want({
        count: [[299, 1], [399, 3], [499, 1], [540, 2]],
        sum: [[299, 1], [399, 50], [499, 35], [540, 13]],
        min: [[299, 1], [399, 10], [499, 35], [540, 3]],
        max: [[299, 1], [399, 25], [499, 35], [540, 10]],
        counter: [[260, 1], [299, 1], [399, 25], [499, 35], [540, 48], [540, 3]],
      }),
    );
  });

  it('returns nothing for a series of NaNs only', () => {
    expect(run({ raw: [[[20, NAN], [40, STALE]]] }, 100)).toEqual([]);
  });
});

describe('downsampleSeries: aggregate input (TestDownsample)', () => {
  it('single aggregated chunk', () => {
    expect(got(run({ aggr: [AGGR_IN] }, 500))).toEqual(want(AGGR_500));
  });

  it('downsampling already downsampled chunks to the same resolution changes nothing', () => {
    expect(got(run({ aggr: [AGGR_500] }, 500))).toEqual(want(AGGR_500));
  });

  it('two aggregated chunks', () => {
    const second: AggrSamples = {
      count: [[1399, 10], [1400, 3], [1499, 10], [1699, 0], [1999, 100]],
      sum: [[1399, 10], [1400, 3], [1499, 10], [1699, 0], [1999, 100]],
      min: [[1399, 10], [1400, -3], [1499, 10], [1699, 0], [1999, 100]],
      max: [[1399, 10], [1400, -3], [1499, 10], [1699, 0], [1999, 100]],
      counter: [
        [1499, 210], [1499, 10], // chunk 1
        [1599, 20], [1799, 50], [1999, 120], [1999, 50], // chunk 2, no reset
        [2099, 40], [2199, 80], [2299, 110], // chunk 3, reset
      ],
    };
    expect(got(run({ aggr: [AGGR_IN, second] }, 500))).toEqual(
      want({
        count: [[499, 29], [999, 100], [1499, 23], [1999, 100]],
        sum: [[499, 29], [999, 100], [1499, 23], [1999, 100]],
        min: [[499, -3], [999, 0], [1499, -3], [1999, 0]],
        max: [[499, 10], [999, 100], [1499, 10], [1999, 100]],
        counter: [[99, 100], [499, 210], [999, 320], [1499, 530], [1999, 640], [2299, 750], [2299, 110]],
      }),
    );
  });

  it('rejects overlapping aggregated chunks', () => {
    const c: AggrSamples = { count: [[199, 5], [299, 1], [399, 10], [400, 3], [499, 10], [699, 0], [999, 100]] };
    expect(() => run({ aggr: [c, c] }, 500)).toThrow(/found overlapping chunks/);
  });

  it('realistic 5m chunks with a counter reset to 1h', () => {
    const out = downsampleSeries([aggrChunk(V.res5m)], ResLevel.L1, ResLevel.L2);
    expect(got(out)).toEqual(
      want({
        count: [[1587693590791, 236]],
        sum: [[1587693590791, 8.0151286e7]],
        min: [[1587693590791, 75]],
        max: [[1587693590791, 496544]],
        counter: [[1587690005791, 461968], [1587693590791, 511500], [1587693590791, 14956]],
      }),
    );
  });

  it('four 120-sample counter-only chunks at 2x resolution become one chunk (Thanos #2542)', () => {
    const input: AggrSamples[] = [0, 1, 2, 3].map((k) => ({
      counter: Array.from({ length: 120 }, (_, i): Smp => [k * 120 + i, k * 120 + i]),
    }));
    const counter: Smp[] = [[0, 0]];
    for (let i = 0; i < 480; i += 2) counter.push([1 + i, 1 + i]);
    counter.push([479, 479]);
    const out = run({ aggr: input }, 2);
    // count, sum, min and max are empty in the input, hence absent in the output.
    expect(got(out)).toEqual(want({ counter }));
    // Thanos would give this chunk mint 0 (from the empty aggregates); we take the windows'.
    expect([out[0].mint, out[0].maxt]).toEqual([1, 479]);
    // The absent aggregates are encoded as single zero bytes before the counter.
    expect([...out[0].chunk.bytes().subarray(0, 4)]).toEqual([0, 0, 0, 0]);
  });

  it('skips an empty XOR chunk in a downsampled series (TestDownsampleAggrAndEmptyXORChunks)', () => {
    const warnings: string[] = [];
    const empty: SourceChunk = { mint: Infinity, maxt: -Infinity, encoding: EncXOR, data: new XorChunk().bytes().slice() };
    const out = downsampleSeries([aggrChunk(V.res5m), empty], ResLevel.L1, ResLevel.L2, undefined, (m) => warnings.push(m));
    expect(out).toHaveLength(1);
    expect(warnings).toEqual([expect.stringMatching(/empty XOR chunk/)]);
  });

  it('converts a stray raw XOR chunk of a downsampled series (TestDownsampleAggrAndNonEmptyXORChunks)', () => {
    const aggr = aggrChunk({
      count: [[1587690299999, 20], [1587690599999, 20], [1587690899999, 20]],
      sum: [[1587690299999, 9.276972e6], [1587690599999, 9.359861e6], [1587693590791, 255746]],
      min: [[1587690299999, 461968], [1587690599999, 466070], [1587690899999, 470131], [1587691199999, 474913]],
      max: [[1587690299999, 465870], [1587690599999, 469951], [1587690899999, 474726]],
      counter: [[1587690005791, 461968], [1587690299999, 465870], [1587690599999, 469951]],
    });
    const raw: SourceChunk = { mint: Infinity, maxt: -Infinity, encoding: EncXOR, data: xorOf([[1587690005794, 42.5]]).bytes().slice() };
    const out = downsampleSeries([aggr, raw], ResLevel.L1, ResLevel.L2);
    const t = 1587690005794;
    expect(got(out)).toEqual(
      want({
        count: [[t, 20], [t, 20], [t, 21]],
        sum: [[t, 9.276972e6], [t, 9.359861e6], [t, 255788.5]],
        min: [[t, 461968], [t, 466070], [t, 470131], [t, 42.5]],
        max: [[t, 465870], [t, 469951], [t, 474726]],
        counter: [[1587690005791, 461968], [1587690599999, 469951], [1587690599999, 469951]],
      }),
    );
  });

  it('rejects a target resolution not lower than the input', () => {
    expect(() => downsampleSeries([aggrChunk(AGGR_500)], 500, 500)).toThrow(/not lower than existing one 500/);
  });

  it('rejects native histogram chunks clearly', () => {
    const h: SourceChunk = { mint: 0, maxt: 10, encoding: 3, data: new Uint8Array(8) };
    expect(() => downsampleSeries([h], 0, 300_000)).toThrow(/chunk encoding 3 \(floathistogram\) is not supported/);
    expect(() => downsampleSeries([h], 300_000, 3_600_000)).toThrow(/native histograms/);
  });
});

describe('counter resets across chunk boundaries (TestDownsampleCounterBoundaryReset)', () => {
  const raw: [number, number][] = [
    [10, 1], [20, 3], [30, 5],
    [50, 1], [60, 8], [70, 10],
    [120, 1], [130, 18], [140, 20],
    [160, 21], [170, 38], [180, 40],
  ];
  const counterSamples = (cs: readonly AggrChunkMeta[]): [number, number][] => cs.flatMap((c) => aggrSamples(c.chunk.bytes(), AggrType.COUNTER)!);
  const counterIterate = (cs: readonly AggrChunkMeta[]): [number, number][] => {
    const it = new ApplyCounterResetsIterator(cs.map((c) => c.chunk.xorChunk(AggrType.COUNTER)!.iterator()));
    const out: [number, number][] = [];
    while (it.next() !== ValueType.None) out.push([it.atT(), it.atF()]);
    expect(it.err()).toBeNull();
    return out;
  };

  it('keeps the first raw value of every chunk through two levels', () => {
    // More target chunks than samples: one window per chunk.
    const cm: AggrChunkMeta[] = [];
    downsampleRawLoop(raw.map((s) => s[0]), raw.map((s) => s[1]), raw.length, 50, raw.length + 1, cm);
    expect(cm).toHaveLength(4);
    expect(counterSamples(cm)).toEqual([
      [10, 1], [30, 5], [30, 5],
      [50, 1], [70, 10], [70, 10],
      [120, 1], [140, 20], [140, 20],
      [160, 21], [180, 40], [180, 40],
    ]);
    expect(counterIterate(cm)).toEqual([[10, 1], [30, 5], [50, 6], [70, 15], [120, 16], [140, 35], [160, 36], [180, 55]]);

    const acm = downsampleAggrLoop(cm.map((c) => c.chunk), 100, 2);
    expect(acm).toHaveLength(2);
    expect(counterSamples(acm)).toEqual([[10, 1], [70, 15], [70, 10], [120, 1], [180, 40], [180, 40]]);
    expect(counterIterate(acm)).toEqual([[10, 1], [70, 15], [120, 16], [180, 55]]);
  });
});

describe('appendSamples (TestExpandChunkIterator)', () => {
  it('drops stale markers and samples going back in time, keeps repeated timestamps', () => {
    const buf = new SampleBuffer(2);
    appendSamples(xorOf([[100, 1], [200, 2], [200, 3], [201, 4], [200, 5], [300, 6], [400, STALE], [500, 5]]).iterator(), buf);
    expect([...buf.t.subarray(0, buf.length)]).toEqual([100, 200, 200, 201, 300, 500]);
    expect([...buf.v.subarray(0, buf.length)]).toEqual([1, 2, 3, 4, 6, 5]);
  });
});

describe('downsample and read the resulting data (TestDownsampleAndReadResultingData)', () => {
  it('every chunk of both levels has all five aggregates with count and sum aligned', () => {
    const data = V.readResultingData;
    const chunk = rawChunk(data);
    const five = downsampleSeries([chunk], 0, ResLevel.L1);
    expect(five.length).toBeGreaterThan(0);
    const one = downsampleAggr(
      five.map((c) => c.chunk),
      five[0].mint,
      five[five.length - 1].maxt,
      ResLevel.L1,
      ResLevel.L2,
    );
    expect(one.length).toBeGreaterThan(0);
    for (const c of [...five, ...one]) {
      const a = readAggr(c.chunk.bytes());
      expect(Object.keys(a)).toEqual(['count', 'sum', 'min', 'max', 'counter']);
      expect(a.count.map((s) => s[0])).toEqual(a.sum.map((s) => s[0]));
      for (const [, v] of [...a.count, ...a.sum]) expect(Number.isNaN(v)).toBe(false);
    }
    // The NaNs are dropped: the counts add up to the non-NaN raw samples.
    const nonNaN = data.filter(([, v]) => typeof v === 'number' || v.startsWith('bits:')).length;
    const total = one.flatMap((c) => readAggr(c.chunk.bytes()).count).reduce((n, [, v]) => n + v, 0);
    expect(total).toBe(nonNaN);
  });
});

describe('window arithmetic', () => {
  it('currentWindow ends windows at t - t%r + r - 1', () => {
    expect(currentWindow(0, 300_000)).toBe(299_999);
    expect(currentWindow(299_999, 300_000)).toBe(299_999);
    expect(currentWindow(300_000, 300_000)).toBe(599_999);
    expect(currentWindow(1587690005791, 3_600_000)).toBe(1587693599999);
  });

  it('targetChunkCount aims at fewer than 140 samples per chunk', () => {
    // 2 days of 1-minute raw data to 5m: 576 windows -> 5 chunks (576/4 = 144 > 140).
    expect(targetChunkCount(0, 2 * 86_400_000, 60_000, 300_000, 2 * 1440)).toBe(5);
    // Sparse data lowers the expectation: 10 samples over 2 days -> one chunk.
    expect(targetChunkCount(0, 2 * 86_400_000, 60_000, 300_000, 10)).toBe(1);
    // A single sample (mint == maxt).
    expect(targetChunkCount(5, 5, 60_000, 300_000, 1)).toBe(1);
  });

  it('a 2-day raw series at 15s becomes chunks of at most ~140 windows', () => {
    const n = (2 * 86_400_000) / 15_000;
    const ts = new Float64Array(n);
    const vs = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      ts[i] = i * 15_000;
      vs[i] = i;
    }
    const out = downsampleRaw(ts, vs, ResLevel.L1);
    expect(out).toHaveLength(5);
    const windows = out.map((c) => c.chunk.numSamples());
    expect(windows.reduce((a, b) => a + b, 0)).toBe(576);
    for (const w of windows) expect(w).toBeLessThanOrEqual(140);
    // chunks are time-ordered and disjoint
    for (let i = 1; i < out.length; i++) expect(out[i].mint).toBeGreaterThan(out[i - 1].maxt);
  });
});

describe('ApplyCounterResetsIterator (TestApplyCounterResetsIterator)', () => {
  const iterate = (chunks: readonly (readonly Smp[])[]): [number, number][] => {
    const it = new ApplyCounterResetsIterator(chunks.map((c) => xorOf(c).iterator()));
    const out: [number, number][] = [];
    while (it.next() !== ValueType.None) out.push([it.atT(), it.atF()]);
    expect(it.err()).toBeNull();
    for (let i = 1; i < out.length; i++) {
      expect(out[i][0]).toBeGreaterThanOrEqual(out[i - 1][0]);
      expect(out[i][1]).toBeGreaterThanOrEqual(out[i - 1][1]);
    }
    return out;
  };

  it('series with stale marker', () => {
    expect(
      iterate([
        [[100, 10], [200, 20], [300, 10], [400, 20], [400, 5]],
        [[500, 10], [600, 20], [700, 30], [800, 40], [800, 10]], // no reset, just the repeated last sample
        [[900, 5], [1000, 10], [1100, 15]], // actual reset
        [[1200, 20], [1250, STALE], [1300, 40]], // no special last sample, no reset
        [[1400, 30], [1500, 30], [1600, 50]], // no special last sample, reset
      ]),
    ).toEqual([
      [100, 10], [200, 20], [300, 30], [400, 40], [500, 45],
      [600, 55], [700, 65], [800, 75], [900, 80], [1000, 85],
      [1100, 90], [1200, 95], [1300, 115], [1400, 145], [1500, 145], [1600, 165],
    ]);
  });

  it('realistic raw data with 2 chunks that have one stale marker', () => {
    expect(iterate(V.rawWithStaleMarker)).toEqual(nums(V.counterIterated));
  });

  it('realistic raw data with many overlapping chunks', () => {
    const [a, b] = V.rawWithStaleMarker;
    expect(iterate([a, a, a, b, b, b, b, b, b, b, b, b])).toEqual(nums(V.counterIterated));
  });

  it('the same input after 5m downsampling', () => {
    expect(iterate([V.res5m.counter])).toEqual([
      [1587690005791, 461968], [1587690299999, 465870], [1587690599999, 469951], [1587690899999, 474726], [1587691199999, 479368],
      [1587691499999, 483566], [1587691799999, 487787], [1587692099999, 492065], [1587692399999, 496245], [1587692699999, 498647],
      [1587692999999, 502554], [1587693299999, 506786], [1587693590791, 511500],
    ]);
  });

  const one = (): ApplyCounterResetsIterator =>
    new ApplyCounterResetsIterator([xorOf([[100, 10], [200, 20], [300, 10], [400, 20], [400, 5]]).iterator()]);

  it('seek (TestCounterSeriesIteratorSeek)', () => {
    const it = one();
    expect(it.seek(150)).toBe(ValueType.Float);
    const out: [number, number][] = [];
    do out.push([it.atT(), it.atF()]);
    while (it.next() !== ValueType.None);
    expect(out).toEqual([[200, 20], [300, 30], [400, 40]]);
  });

  it('seek past the end (TestCounterSeriesIteratorSeekExtendTs)', () => {
    expect(one().seek(500)).toBe(ValueType.None);
  });

  it('seek backwards after next (TestCounterSeriesIteratorSeekAfterNext)', () => {
    const it = new ApplyCounterResetsIterator([xorOf([[100, 10]]).iterator()]);
    it.next();
    expect(it.seek(50)).toBe(ValueType.Float);
    expect([it.atT(), it.atF()]).toEqual([100, 10]);
    expect(it.next()).toBe(ValueType.None);
  });

  it('reports a corrupt chunk instead of skipping it', () => {
    const bad = xorOf([[1, 1], [2, 2], [3, 3]]).bytes().slice(0, 5);
    const it = new ApplyCounterResetsIterator([new XorIterator(bad)]);
    while (it.next() !== ValueType.None);
    expect(it.err()).not.toBeNull();
  });

  it('exposes the true last raw value', () => {
    const it = new ApplyCounterResetsIterator([xorOf([[100, 10], [200, 30], [200, 7]]).iterator()]);
    while (it.next() !== ValueType.None);
    expect([it.atT(), it.atF(), it.lastV]).toEqual([200, 30, 7]);
  });
});

describe('AggrChunk produced by downsampling', () => {
  it('exposes its five XOR sub-chunks and counts windows as samples', () => {
    const [c] = downsampleRaw([20, 40, 120], [1, 2, 3], 100);
    expect(c.chunk).toBeInstanceOf(AggrChunk);
    expect(c.chunk.numSamples()).toBe(2);
    expect(c.chunk.xorChunk(AggrType.COUNTER)!.numSamples()).toBe(4);
    expect(c.chunk.xorChunk(AggrType.MAX)!.encoding).toBe(EncXOR);
  });
});
