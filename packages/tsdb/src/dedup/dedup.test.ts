import { describe, expect, it } from 'vitest';
import { ValueType } from '../chunkenc/index.js';
import { expand, expandFrom, ListIterator, samplesEvery } from './dedup-fixture.js';
import type { Sample } from './dedup-fixture.js';
import { chainIterator, CounterErrAdjustIterator, dedupIterator, DedupSeriesIterator, NoopAdjustIterator } from './iter.js';
import { chainedSeriesMerge, penaltySeriesMerge, seriesMergeFuncFor } from './merge-func.js';
import { overlapSplit, sortedByMinTime } from './overlap-split.js';
import type { TimeRanged } from './overlap-split.js';

const pair = (a: Sample[], b: Sample[]): DedupSeriesIterator =>
  new DedupSeriesIterator(new NoopAdjustIterator(new ListIterator(a)), new NoopAdjustIterator(new ListIterator(b)));

describe('DedupSeriesIterator (penalty)', () => {
  // Thanos pkg/dedup/iter_test.go TestDedupSeriesIterator.
  const cases: { name: string; a: Sample[]; b: Sample[]; exp: Sample[] }[] = [
    {
      name: 'prefers the first series',
      a: [[10000, 10], [20000, 11], [30000, 12], [40000, 13]],
      b: [[10000, 20], [20000, 21], [30000, 22], [40000, 23]],
      exp: [[10000, 10], [20000, 11], [30000, 12], [40000, 13]],
    },
    {
      name: 'prefers b when it starts earlier',
      a: [[10100, 1], [20100, 1], [30100, 1], [40100, 1]],
      b: [[10000, 2], [20000, 2], [30000, 2], [40000, 2]],
      exp: [[10000, 2], [20000, 2], [30000, 2], [40000, 2]],
    },
    {
      name: 'does not switch on a single-interval gap',
      a: [[10000, 1], [20000, 1], [40000, 1]],
      b: [[10000, 2], [20000, 2], [30000, 2], [40000, 2]],
      exp: [[10000, 1], [20000, 1], [40000, 1]],
    },
    {
      name: 'does not switch on a single-interval gap (offset replica)',
      a: [[10000, 1], [20000, 1], [40000, 1]],
      b: [[15000, 2], [25000, 2], [35000, 2], [45000, 2]],
      exp: [[10000, 1], [20000, 1], [40000, 1]],
    },
    {
      name: 'switches once the gap exceeds two intervals and stays',
      a: [[10000, 1], [20000, 1], [30000, 1], [60000, 1], [70000, 1]],
      b: [[10100, 2], [20100, 2], [30100, 2], [40100, 2], [50100, 2], [60100, 2]],
      exp: [[10000, 1], [20000, 1], [30000, 1], [50100, 2], [60100, 2]],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(expand(pair(c.a, c.b))).toEqual(c.exp);
    });
  }

  it('holds the other replica back by the initial penalty, then by twice the last gap', () => {
    // B at 4 s is within the 5000 ms initial penalty, B at 6 s is not and wins over A at
    // 100 s; A at 100 s then wins as B (200 s) is beyond 6 s + 2 × 6 s.
    const out = expand(pair([[0, 1], [100_000, 1]], [[4_000, 2], [6_000, 2], [200_000, 2]]));
    expect(out).toEqual([[0, 1], [6_000, 2], [100_000, 1]]);
  });

  it('two identical replicas give the samples once', () => {
    const s = samplesEvery(0, 600_000, 15_000, (t) => t / 1000);
    expect(expand(pair(s, s))).toEqual(s);
  });

  it('fills a gap of one replica from the other without doubling samples', () => {
    const a = samplesEvery(0, 600_000, 15_000, () => 0).filter(([t]) => t < 200_000 || t > 400_000);
    const b = samplesEvery(3_000, 600_000, 15_000, () => 1);
    const out = expand(pair(a, b));
    // A until its gap, then B to the end (B keeps delivering when A is back).
    expect(out.slice(0, 14)).toEqual(samplesEvery(0, 195_000, 15_000, () => 0));
    expect(out.slice(14)).toEqual(samplesEvery(228_000, 600_000, 15_000, () => 1));
    // The switch waits two intervals: 195 s + 2 × 15 s, then B's next scrape.
    expect(out[14][0] - out[13][0]).toBe(33_000);
  });

  it('seek on a fresh iterator starts like next() would (no repeated first sample)', () => {
    const a: Sample[] = [[10100, 1], [20100, 1], [30100, 1]];
    const b: Sample[] = [[10000, 2], [20000, 2], [30000, 2]];
    expect(expandFrom(pair(a, b), 0)).toEqual([[10000, 2], [20000, 2], [30000, 2]]);
    expect(expandFrom(pair(a, b), 15000)).toEqual([[20000, 2], [30000, 2]]);
    expect(expandFrom(pair(a, b), 40000)).toEqual([]);
    // seek never goes backwards and stays put when already there.
    const it = pair(a, b);
    expect(it.seek(20000)).toBe(ValueType.Float);
    expect(it.seek(5000)).toBe(ValueType.Float);
    expect(it.atT()).toBe(20000);
  });

  it('seek steps through gaps instead of jumping over them', () => {
    const a: Sample[] = [[10000, 1], [20000, 1], [30000, 1], [60000, 1], [70000, 1]];
    const b: Sample[] = [[10100, 2], [20100, 2], [30100, 2], [40100, 2], [50100, 2], [60100, 2]];
    // Same as iterating from the start: the switch to b at 50100 is kept.
    expect(expandFrom(pair(a, b), 45000)).toEqual([[50100, 2], [60100, 2]]);
  });
});

describe('counter adjustment (thanos-io/thanos#2401)', () => {
  // Thanos TestDedupSeriesSet "Regression test against 2401" and its non-counter twin.
  const a: Sample[] = [
    [10000, 8.0],
    [20000, 9.0],
    [50001, 9 + 1.0],
    [60000, 9 + 2.0],
    [70000, 9 + 3.0],
    [80000, 9 + 4.0],
    [90000, 9 + 5.0],
    [100000, 9 + 6.0],
  ];
  const b: Sample[] = [
    [10001, 8.0],
    [45001, 8 + 0.5],
    [55001, 8 + 1.5],
    [65001, 8 + 2.5],
  ];

  // Thanos expects (90000, 14) as well: its mock iterator seeks backwards (binary
  // search from the start), which no chunk iterator does. A was already moved to
  // 100000 by the penalty seek when B took over, so real iterators cannot return 90000.
  it('keeps counters from going down across a replica switch for rate', () => {
    const it = dedupIterator([new ListIterator(a), new ListIterator(b)], 'rate');
    expect(expand(it)).toEqual([
      [10000, 8],
      [20000, 9],
      [45001, 9],
      [55001, 10],
      [65001, 11],
      [100000, 15],
    ]);
  });

  it('does not adjust for non-counter functions', () => {
    for (const f of [undefined, 'avg_over_time', 'xrate']) {
      const it = dedupIterator([new ListIterator(a), new ListIterator(b)], f);
      expect(expand(it)).toEqual([
        [10000, 8],
        [20000, 9],
        [45001, 8.5],
        [55001, 9.5],
        [65001, 10.5],
        [100000, 15],
      ]);
    }
  });

  it('wraps replicas for rate, increase, irate and resets only', () => {
    const wrapped = (f: string | undefined): boolean => {
      const it = dedupIterator([new ListIterator(a), new ListIterator(b)], f) as unknown as { a: unknown; b: unknown };
      return it.b instanceof CounterErrAdjustIterator;
    };
    for (const f of ['rate', 'increase', 'irate', 'resets']) expect(wrapped(f)).toBe(true);
    for (const f of ['xrate', 'xincrease', 'delta', 'sum', undefined]) expect(wrapped(f)).toBe(false);
  });

  it('a counter replica that starts first is not offset by the other one', () => {
    // Thanos adjusts B by A's first (not yet emitted) value here: 1088 would read 1110.
    const a = samplesEvery(555_000, 700_000, 15_000, (t) => (t / 1000) * 2);
    const b = samplesEvery(544_000, 700_000, 15_000, (t) => (t / 1000) * 2);
    const out = expand(dedupIterator([new ListIterator(a), new ListIterator(b)], 'rate'));
    expect(out.slice(0, 3)).toEqual([
      [544_000, 1088],
      [555_000, 1110],
      [570_000, 1140],
    ]);
  });

  /**
   * increase() as PromQL computes it over (from, to], without extrapolation: deltas of
   * consecutive samples, a drop counting as a reset (the new value is the increase).
   */
  function increase(samples: readonly Sample[], from: number, to: number): number {
    let prev: number | null = null;
    let sum = 0;
    for (const [t, v] of samples) {
      if (t <= from || t > to) continue;
      if (prev !== null) sum += v >= prev ? v - prev : v;
      prev = v;
    }
    return sum;
  }

  it('replicas whose counters reset at different times do not make rate spike', () => {
    // Both replicas scrape a counter growing 1/s every 10 s, B 5 s after A. Each sees it
    // reset at a different time (A at 100 s, B at 500 s: e.g. each scrapes its own
    // instance of a per-replica exporter), so their values differ. A misses 800–870 s:
    // the switch to B goes from A's ~690 down to B's ~310.
    const a = samplesEvery(0, 1_200_000, 10_000, (t) => (t < 100_000 ? t / 1000 + 1000 : (t - 100_000) / 1000)).filter(
      ([t]) => t < 800_000 || t > 870_000,
    );
    const b = samplesEvery(5_000, 1_200_000, 10_000, (t) => (t < 500_000 ? t / 1000 + 2000 : (t - 500_000) / 1000));
    const windows = (samples: Sample[]): number[] => {
      const out: number[] = [];
      for (let t = 200_000; t <= 1_200_000; t += 10_000) out.push(increase(samples, t - 60_000, t));
      return out;
    };
    const adjusted = windows(expand(dedupIterator([new ListIterator(a), new ListIterator(b)], 'rate')));
    const naive = windows(expand(dedupIterator([new ListIterator(a), new ListIterator(b)], 'sum_over_time')));
    // True increase over 60 s is 60; a window spanning the switch sees the penalty gap.
    expect(Math.max(...adjusted)).toBeLessThanOrEqual(61);
    expect(Math.min(...adjusted)).toBeGreaterThanOrEqual(20);
    // Without adjustment the switch reads as a reset and the increase jumps by B's value.
    expect(Math.max(...naive)).toBeGreaterThan(300);
  });
});

describe('three replicas', () => {
  it('folds pairwise and fills each gap from whichever replica has data', () => {
    // Scrapes every 10 s, 1 s apart (within the initial penalty); values name the replica.
    const r0 = samplesEvery(0, 300_000, 10_000, () => 0).filter(([t]) => t < 100_000);
    const r1 = samplesEvery(1_000, 300_000, 10_000, () => 1).filter(([t]) => t < 200_000);
    const r2 = samplesEvery(2_000, 300_000, 10_000, () => 2);
    const out = expand(dedupIterator([new ListIterator(r0), new ListIterator(r1), new ListIterator(r2)]));
    for (let i = 1; i < out.length; i++) {
      const gap = out[i][0] - out[i - 1][0];
      // Never interleaved (no doubled rate), and no hole beyond the two-interval penalty.
      expect(gap).toBeGreaterThanOrEqual(10_000);
      expect(gap).toBeLessThanOrEqual(31_000);
      // Sticks to a replica and only moves on when it stops.
      expect(out[i][1]).toBeGreaterThanOrEqual(out[i - 1][1]);
    }
    expect(out[0]).toEqual([0, 0]);
    expect(out.filter(([, v]) => v === 0).length).toBe(10);
    expect(out.some(([, v]) => v === 1)).toBe(true);
    expect(out[out.length - 1]).toEqual([292_000, 2]);
  });

  it('an offset larger than the initial penalty makes the later replica win early', () => {
    // Thanos behaviour: B's first sample 6 s after A's is beyond the 5 s initial penalty.
    const a = samplesEvery(0, 100_000, 10_000, () => 0);
    const b = samplesEvery(6_000, 100_000, 10_000, () => 1);
    expect(expand(pair(a, b)).slice(0, 3)).toEqual([[0, 0], [6_000, 1], [16_000, 1]]);
  });
});

describe('chain', () => {
  it('unions the replicas, one sample per timestamp', () => {
    const it = chainIterator([
      new ListIterator([[10000, 1], [30000, 3]]),
      new ListIterator([[10000, 1], [20000, 2], [30000, 3]]),
    ]);
    expect(expand(it)).toEqual([[10000, 1], [20000, 2], [30000, 3]]);
  });
});

describe('overlapSplit', () => {
  const c = (minTime: number, maxTime: number): TimeRanged => ({ minTime, maxTime });
  const ranges = (runs: (readonly TimeRanged[])[]): [number, number][][] => runs.map((r) => r.map((x) => [x.minTime, x.maxTime]));

  // Thanos TestOverlapSplitSet.
  it('splits overlapping chunks into pseudo replicas', () => {
    expect(ranges(overlapSplit([]))).toEqual([[]]);
    expect(ranges(overlapSplit([c(0, 20), c(21, 100), c(110, 300)]))).toEqual([[[0, 20], [21, 100], [110, 300]]]);
    expect(ranges(overlapSplit([c(0, 20), c(0, 30), c(21, 50), c(31, 60), c(100, 160)]))).toEqual([
      [[0, 20], [21, 50], [100, 160]],
      [[0, 30], [31, 60]],
    ]);
    expect(ranges(overlapSplit([c(50, 55), c(55, 100)]))).toEqual([[[50, 55]], [[55, 100]]]);
    expect(ranges(overlapSplit([c(0, 20), c(0, 30), c(1, 15), c(2, 36), c(16, 200), c(21, 50), c(31, 60), c(100, 160)]))).toEqual([
      [[0, 20], [21, 50], [100, 160]],
      [[0, 30], [31, 60]],
      [[1, 15], [16, 200]],
      [[2, 36]],
    ]);
  });
});

describe('sortedByMinTime', () => {
  it('returns sorted input as is and sorts the rest by min, then max time', () => {
    const sorted = [
      { minTime: 0, maxTime: 10 },
      { minTime: 5, maxTime: 20 },
    ];
    expect(sortedByMinTime(sorted)).toBe(sorted);
    const out = sortedByMinTime([
      { minTime: 5, maxTime: 20 },
      { minTime: 0, maxTime: 30 },
      { minTime: 0, maxTime: 10 },
    ]);
    expect(out.map((x) => [x.minTime, x.maxTime])).toEqual([[0, 10], [0, 30], [5, 20]]);
  });
});

describe('vertical merge functions (compactor --deduplication.func)', () => {
  // Two replicas of a series in two overlapping blocks, scraping 1 s apart.
  const a = samplesEvery(0, 300_000, 15_000, () => 1).filter(([t]) => t < 100_000 || t > 200_000);
  const b = samplesEvery(1_000, 300_000, 15_000, () => 2);
  const labels = [{ name: '__name__', value: 'up' }];

  it('penalty: one replica at a time, gaps filled from the other, never interleaved', () => {
    const out = expand(penaltySeriesMerge(labels, [new ListIterator(a), new ListIterator(b)]));
    expect(out).toEqual(expand(dedupIterator([new ListIterator(a), new ListIterator(b)])));
    expect(out[0]).toEqual([0, 1]);
    for (let i = 1; i < out.length; i++) expect(out[i][0] - out[i - 1][0]).toBeGreaterThanOrEqual(14_000);
    expect(out.some(([, v]) => v === 2)).toBe(true);
  });

  it('chain: every sample of every replica, one per timestamp', () => {
    const out = expand(chainedSeriesMerge(labels, [new ListIterator(a), new ListIterator(b)]));
    expect(out.length).toBe(a.length + b.length);
    expect(out).toEqual([...a, ...b].sort((x, y) => x[0] - y[0]));
  });

  it('both take one iterator or none', () => {
    for (const merge of [penaltySeriesMerge, chainedSeriesMerge]) {
      expect(expand(merge(labels, [new ListIterator(a)]))).toEqual(a);
      expect(expand(merge(labels, []))).toEqual([]);
    }
  });

  it('maps --deduplication.func values', () => {
    expect(seriesMergeFuncFor('')).toBe(chainedSeriesMerge);
    expect(seriesMergeFuncFor('chain')).toBe(chainedSeriesMerge);
    expect(seriesMergeFuncFor('penalty')).toBe(penaltySeriesMerge);
    expect(() => seriesMergeFuncFor('median')).toThrow(/unknown deduplication func "median"/);
  });
});
