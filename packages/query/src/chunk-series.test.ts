import { describe, expect, it } from 'vitest';
import type { AggrChunk } from '@thanos-ts/storeapi';
import { ApplyCounterResetsIterator, ValueType, XorIterator } from '@thanos-ts/tsdb';
import { Aggr, aggrsFromFunc, ChunkSeriesIterator, chunksIterator, maxResolutionForSelect } from './chunk-series.js';
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
