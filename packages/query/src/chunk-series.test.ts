import { describe, expect, it } from 'vitest';
import type { AggrChunk } from '@thanos-ts/storeapi';
import { rng } from '@thanos-ts/testutil';
import { ApplyCounterResetsIterator, NORMAL_NAN, STALE_NAN, ValueType, XorChunk, XorIterator, labelsFromStrings } from '@thanos-ts/tsdb';
import type { FloatSampleArrays } from '@thanos-ts/tsdb';
import { Aggr, aggrsFromFunc, ChunkSeriesIterator, chunksIterator, maxResolutionForSelect, StoreChunkSeries } from './chunk-series.js';
import { expand, expandFrom, samplesEvery, xorChunk } from './testing.js';

describe('aggrsFromFunc / maxResolutionForSelect', () => {
  it('chooses aggregates as Thanos does', () => {
    expect(aggrsFromFunc('min_over_time')).toEqual([Aggr.MIN]);
    expect(aggrsFromFunc('max')).toEqual([Aggr.MAX]);
    expect(aggrsFromFunc('count_over_time')).toEqual([Aggr.COUNT]);
    expect(aggrsFromFunc('sum_over_time')).toEqual([Aggr.SUM]);
    expect(aggrsFromFunc('sum')).toEqual([Aggr.COUNT, Aggr.SUM]);
    for (const f of ['rate', 'increase', 'irate', 'resets', 'xrate', 'xincrease']) expect(aggrsFromFunc(f)).toEqual([Aggr.COUNTER]);
    expect(aggrsFromFunc(undefined)).toEqual([Aggr.COUNT, Aggr.SUM]);
  });

  it('caps the resolution at half the range for functions needing two samples', () => {
    expect(maxResolutionForSelect(3_600_000, 300_000, 'rate')).toBe(150_000);
    expect(maxResolutionForSelect(3_600_000, 300_000, 'avg_over_time')).toBe(3_600_000);
    expect(maxResolutionForSelect(0, 300_000, 'rate')).toBe(0);
    expect(maxResolutionForSelect(300_000, 0, 'rate')).toBe(300_000);
  });
});

describe('ChunkSeriesIterator', () => {
  it('reads chunks in order and skips samples not after the last one (overlaps)', () => {
    const chunks: AggrChunk[] = [
      xorChunk([[0, 0], [10, 1], [20, 2]]),
      xorChunk([[15, 99], [20, 99], [30, 3]]),
      xorChunk([[40, 4]]),
    ];
    expect(expand(new ChunkSeriesIterator(chunks))).toEqual([[0, 0], [10, 1], [20, 2], [30, 3], [40, 4]]);
  });

  it('seeks across chunks without decoding those that end before the target', () => {
    const chunks = [xorChunk(samplesEvery(0, 100, 10, (t) => t)), xorChunk(samplesEvery(110, 200, 10, (t) => t))];
    // A chunk that would fail to decode is never opened when the seek skips it.
    const broken: AggrChunk = { minTime: 0, maxTime: 100, raw: { type: 0, data: new Uint8Array([0]) } };
    expect(expandFrom(new ChunkSeriesIterator([broken, chunks[1]]), 150)).toEqual(samplesEvery(150, 200, 10, (t) => t));
    const it = new ChunkSeriesIterator(chunks);
    expect(it.seek(95)).toBe(ValueType.Float);
    expect(it.atT()).toBe(100);
    expect(it.seek(50)).toBe(ValueType.Float);
    expect(it.atT()).toBe(100);
    expect(it.seek(201)).toBe(ValueType.None);
    expect(it.next()).toBe(ValueType.None);
  });

  it('reports corrupt and unsupported chunks through err()', () => {
    const bad = new ChunkSeriesIterator([{ minTime: 0, maxTime: 1, raw: { type: 0, data: new Uint8Array([0]) } }]);
    expect(bad.next()).toBe(ValueType.None);
    expect(bad.err()?.message).toMatch(/shorter than its 2-byte header/);
    const hist = new ChunkSeriesIterator([{ minTime: 0, maxTime: 1, raw: { type: 1, data: new Uint8Array(8) } }]);
    expect(hist.next()).toBe(ValueType.None);
    expect(hist.err()?.message).toMatch(/unsupported chunk encoding 2 \(histogram\)/);
  });
});

describe('chunksIterator', () => {
  const raw = [xorChunk(samplesEvery(0, 100_000, 10_000, (t) => t / 1000))];

  it('bounds raw samples to [mint, maxt] for every aggregate choice', () => {
    for (const aggrs of [[Aggr.RAW], [Aggr.COUNTER], [Aggr.COUNT, Aggr.SUM], [Aggr.MIN], [Aggr.MAX], [Aggr.SUM], [Aggr.COUNT]]) {
      expect(expand(chunksIterator(raw, aggrs, 25_000, 55_000))).toEqual([[30_000, 30], [40_000, 40], [50_000, 50]]);
      expect(expandFrom(chunksIterator(raw, aggrs, 25_000, 55_000), 0)).toEqual([[30_000, 30], [40_000, 40], [50_000, 50]]);
    }
  });

  it('keeps raw counters as they are (resets included) for rate', () => {
    const c = [xorChunk([[0, 10], [10, 20], [20, 5], [30, 15]])];
    expect(expand(chunksIterator(c, [Aggr.COUNTER], 0, 100))).toEqual([[0, 10], [10, 20], [20, 5], [30, 15]]);
  });

  it('averages downsampled sum and count', () => {
    const d: AggrChunk = {
      minTime: 0,
      maxTime: 600_000,
      count: xorChunk([[299_999, 20], [599_999, 10]]).raw,
      sum: xorChunk([[299_999, 100], [599_999, 70]]).raw,
    };
    expect(expand(chunksIterator([d], [Aggr.COUNT, Aggr.SUM], 0, 1e9))).toEqual([[299_999, 5], [599_999, 7]]);
    expect(expand(chunksIterator([d], [Aggr.SUM], 0, 1e9))).toEqual([[299_999, 100], [599_999, 70]]);
  });

  it('folds counter resets of downsampled counter chunks', () => {
    // Two chunks; the second starts with a reset. Each carries its true last raw value
    // repeated at the last timestamp (equal to the aggregate here).
    const c1: AggrChunk = { minTime: 0, maxTime: 20, counter: xorChunk([[0, 1], [10, 5], [20, 8], [20, 8]]).raw };
    const c2: AggrChunk = { minTime: 30, maxTime: 50, counter: xorChunk([[30, 2], [40, 4], [50, 9], [50, 9]]).raw };
    expect(expand(new ApplyCounterResetsIterator([c1, c2].map((c) => new XorIterator(c.counter!.data))))).toEqual([
      [0, 1],
      [10, 5],
      [20, 8],
      [30, 10],
      [40, 12],
      [50, 17],
    ]);
    expect(expand(chunksIterator([c1, c2], [Aggr.COUNTER], 0, 100)).map(([, v]) => v)).toEqual([1, 5, 8, 10, 12, 17]);
  });
});

/** Growable arrays starting tiny, with junk before the samples appended. */
class Sink implements FloatSampleArrays {
  t = new Float64Array(2).fill(-7);
  f = new Float64Array(2).fill(-7);
  n = 2;
  reserve(extra: number): void {
    if (this.n + extra <= this.t.length) return;
    const t = new Float64Array((this.n + extra) * 2);
    const f = new Float64Array((this.n + extra) * 2);
    t.set(this.t);
    f.set(this.f);
    this.t = t;
    this.f = f;
  }
}

/** Samples as `t:hi.lo` text, value bits included, so stale markers are told from other NaNs. */
function bitsText(t: number, f: number): string {
  const b = new Uint32Array(new Float64Array([f]).buffer);
  return `${t}:${b[1].toString(16)}.${b[0].toString(16)}`;
}

/** What the PromQL engine reads through the iterator: seek(mint), then next() up to maxt. */
function viaIterator(s: StoreChunkSeries, mint: number, maxt: number): string[] | Error {
  const out: string[] = [];
  const it = s.iterator();
  for (let vt = it.seek(mint); vt !== ValueType.None; vt = it.next()) {
    if (it.atT() > maxt) break;
    out.push(bitsText(it.atT(), it.atF()));
  }
  return it.err() ?? out;
}

/** What readFloats appends, or null when it declines (then `out` must be as it was). */
function viaBulk(s: StoreChunkSeries, mint: number, maxt: number): string[] | null {
  const out = new Sink();
  if (!s.readFloats(mint, maxt, out)) {
    expect(out.n).toBe(2);
    return null;
  }
  expect([out.t[0], out.t[1]]).toEqual([-7, -7]);
  const got: string[] = [];
  for (let i = 2; i < out.n; i++) got.push(bitsText(out.t[i], out.f[i]));
  return got;
}

/** A raw XOR chunk of samples with values from typed arrays (keeps NaN payloads). */
function chunkOf(t: Float64Array, f: Float64Array, from: number, to: number): AggrChunk {
  const c = new XorChunk();
  const app = c.appender();
  for (let i = from; i < to; i++) app.append(t[i], f[i]);
  c.compact();
  return { minTime: t[from], maxTime: t[to - 1], raw: { type: 0, data: c.bytes() } };
}

describe('StoreChunkSeries.readFloats', () => {
  it('reads what the iterator yields: overlapping and duplicate chunks, stale markers, every bound', () => {
    const rand = rng(17);
    const labels = labelsFromStrings('__name__', 'x');
    for (let round = 0; round < 60; round++) {
      // two replicas of a series, with different values and some missing samples, cut into chunks
      const n = 1 + Math.floor(rand() * 600);
      const t = new Float64Array(n);
      const f = new Float64Array(n);
      const g = new Float64Array(n);
      let ts = 1_700_000_000_000 + Math.floor(rand() * 1e6);
      for (let i = 0; i < n; i++) {
        ts += rand() < 0.9 ? 15_000 : 1 + Math.floor(rand() * 2e6);
        t[i] = ts;
        const r = rand();
        f[i] = r < 0.1 ? STALE_NAN : r < 0.13 ? NORMAL_NAN : r < 0.16 ? -0 : r < 0.18 ? -Infinity : i * 3;
        g[i] = rand() < 0.2 ? STALE_NAN : i * 3 + 1;
      }
      const chunks: AggrChunk[] = [];
      for (let from = 0; from < n; ) {
        const to = Math.min(n, from + 1 + Math.floor(rand() * 130));
        chunks.push(chunkOf(t, f, from, to));
        const r = rand();
        if (r < 0.2) chunks.push(chunkOf(t, f, from, to)); // the same chunk from another block
        else if (r < 0.4) chunks.push(chunkOf(t, g, Math.max(0, from - Math.floor(rand() * 50)), Math.min(n, to + Math.floor(rand() * 50))));
        from = to;
      }
      chunks.sort((a, b) => a.minTime - b.minTime);
      const edges = [-Infinity, Infinity, t[0], t[n - 1]];
      for (let k = 0; k < 10; k++) edges.push(t[Math.floor(rand() * n)] + Math.floor(rand() * 3) - 1);
      const pick = (): number => edges[Math.floor(rand() * edges.length)];
      for (let k = 0; k < 30; k++) {
        const aggrs = [[Aggr.RAW], [Aggr.COUNTER], [Aggr.COUNT, Aggr.SUM], [Aggr.MIN]][k % 4];
        const s = new StoreChunkSeries(labels, chunks, pick(), pick(), aggrs);
        const mint = pick();
        const maxt = pick();
        const want = viaIterator(s, mint, maxt);
        if (want instanceof Error) throw want;
        expect(viaBulk(s, mint, maxt), `round ${round} series [${s['mint']}, ${s['maxt']}] read [${mint}, ${maxt}]`).toEqual(want);
      }
    }
  });

  it('reads the aggregate chosen, and declines what only the iterators can read', () => {
    const labels = labelsFromStrings('__name__', 'x');
    const d: AggrChunk = {
      minTime: 0,
      maxTime: 600_000,
      count: xorChunk([[299_999, 20], [599_999, 10]]).raw,
      sum: xorChunk([[299_999, 100], [599_999, 70]]).raw,
      counter: xorChunk([[299_999, 3], [599_999, 4]]).raw,
    };
    expect(viaBulk(new StoreChunkSeries(labels, [d], 0, 1e9, [Aggr.SUM]), 0, 1e9)).toEqual(viaIterator(new StoreChunkSeries(labels, [d], 0, 1e9, [Aggr.SUM]), 0, 1e9));
    expect(viaBulk(new StoreChunkSeries(labels, [d], 0, 1e9, [Aggr.SUM]), 0, 1e9)).toHaveLength(2);
    // averages computed from sum and count, counter resets folded in, no such aggregate
    expect(viaBulk(new StoreChunkSeries(labels, [d], 0, 1e9, [Aggr.COUNT, Aggr.SUM]), 0, 1e9)).toBeNull();
    expect(viaBulk(new StoreChunkSeries(labels, [d], 0, 1e9, [Aggr.COUNTER]), 0, 1e9)).toBeNull();
    expect(viaBulk(new StoreChunkSeries(labels, [d], 0, 1e9, [Aggr.MIN]), 0, 1e9)).toBeNull();
    // a histogram chunk, or a corrupt one, is left to the iterator, which reports it
    const raw = xorChunk(samplesEvery(0, 100_000, 10_000, (t) => t));
    const hist: AggrChunk = { minTime: 200_000, maxTime: 300_000, raw: { type: 1, data: new Uint8Array(8) } };
    const hs = new StoreChunkSeries(labels, [raw, hist], 0, 1e9, [Aggr.RAW]);
    expect(viaBulk(hs, 0, 1e9)).toBeNull();
    expect(String(viaIterator(hs, 0, 1e9))).toMatch(/unsupported chunk encoding 2/);
    const cut: AggrChunk = { ...raw, minTime: 110_000, maxTime: 200_000, raw: { type: 0, data: raw.raw!.data.subarray(0, 20) } };
    const cs = new StoreChunkSeries(labels, [raw, cut], 0, 1e9, [Aggr.RAW]);
    expect(viaBulk(cs, 0, 1e9)).toBeNull();
    expect(String(viaIterator(cs, 0, 1e9))).toMatch(/xor chunk/);
    // unless the read stops before it
    expect(viaBulk(cs, 0, 50_000)).toEqual(viaIterator(cs, 0, 50_000));
  });
});
