import { describe, expect, it } from 'vitest';
import { labelsFromStrings } from '@thanos-ts/tsdb';
import type { Sample } from '../value.js';
import { Annotations } from './annotations.js';
import {
  bucketFraction,
  bucketQuantile,
  formatOpenMetricsFloat,
  funcHistogramFraction,
  funcHistogramQuantile,
  funcHistogramQuantiles,
  type ClassicBuckets,
} from './histogram-quantile.js';
import type { VectorCall } from './types.js';

const buckets = (pairs: Array<[number, number]>): ClassicBuckets => ({ upperBounds: pairs.map((p) => p[0]), counts: pairs.map((p) => p[1]) });
const bucket = (le: string, f: number, ...nv: string[]): Sample => ({
  metric: labelsFromStrings('__name__', 'm_bucket', 'le', le, ...nv),
  t: 0,
  f,
  h: null,
  dropName: false,
});
const QUERY = 'histogram_quantile(0.5, m_bucket)';
const call = (...scalars: number[]): VectorCall => ({
  evalTs: 60_000,
  scalars,
  strings: [],
  argPos: [
    { start: 19, end: 22 },
    { start: 24, end: 32 },
    { start: 24, end: 32 },
  ],
});

describe('bucketQuantile', () => {
  // promql/quantile_test.go TestBucketQuantile_ForcedMonotonicity.
  const cases: Array<{ name: string; b: Array<[number, number]>; fixed: boolean; want: Record<number, number> }> = [
    {
      name: 'simple - monotonic',
      b: [[10, 10], [15, 15], [20, 15], [30, 15], [Infinity, 15]],
      fixed: false,
      want: { 1: 15, 0.99: 14.85, 0.9: 13.5, 0.5: 7.5 },
    },
    {
      name: 'simple - non-monotonic middle',
      b: [[10, 10], [15, 15], [20, 15.00000000001], [30, 15], [Infinity, 15]],
      fixed: true,
      want: { 1: 15, 0.99: 14.85, 0.9: 13.5, 0.5: 7.5 },
    },
    {
      name: 'real example - non-monotonic',
      b: [
        [1, 6454661.3014166225],
        [5, 8339611.2001912957],
        [10, 14118319.2444762159],
        [25, 14130031.5272856504],
        [50, 46001270.3030008227],
        [64, 46008473.8585563824],
        [80, 46008473.8585563898],
        [100, 46008473.8585563824],
        [250, 46008473.8585563824],
        [1000, 46008473.8585563898],
        [Infinity, 46008473.8585563824],
      ],
      fixed: true,
      want: { 1: 64, 0.99: 49.64475715376406, 0.9: 46.39671690938454, 0.5: 31.96098248992002 },
    },
    {
      name: 'real example 2 - non-monotonic',
      b: [
        [0.005, 9.6],
        [0.01, 9.688888889],
        [0.025, 9.755555556],
        [0.05, 9.844444444],
        [0.1, 9.888888889],
        [0.25, 9.888888889],
        [0.5, 9.888888889],
        [1, 9.888888889],
        [2.5, 9.888888889],
        [5, 9.888888889],
        [10, 9.888888889001],
        [25, 9.888888889],
        [50, 9.888888888999],
        [100, 9.888888889],
        [Infinity, 9.888888889],
      ],
      fixed: true,
      want: { 1: 0.1, 0.99: 0.03468750000281261, 0.9: 0.00463541666671875, 0.5: 0.0025752314815104174 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      for (const [q, v] of Object.entries(c.want)) {
        const r = bucketQuantile(Number(q), buckets(c.b));
        expect(r.forcedMonotonic).toBe(false);
        expect(r.fixedPrecision).toBe(c.fixed);
        expect(Math.abs(r.quantile - v) / v).toBeLessThan(1e-12);
      }
    });
  }

  it('handles the special cases', () => {
    const b = (): ClassicBuckets => buckets([[1, 1], [2, 2], [Infinity, 3]]);
    expect(bucketQuantile(NaN, b()).quantile).toBeNaN();
    expect(bucketQuantile(-0.1, b()).quantile).toBe(-Infinity);
    expect(bucketQuantile(1.1, b()).quantile).toBe(Infinity);
    expect(bucketQuantile(0.5, buckets([[1, 1], [2, 2]])).quantile).toBeNaN(); // no +Inf bucket
    expect(bucketQuantile(0.5, buckets([[Infinity, 2]])).quantile).toBeNaN(); // a single bucket
    expect(bucketQuantile(0.5, buckets([[1, 0], [Infinity, 0]])).quantile).toBeNaN(); // no observations
    expect(bucketQuantile(1, b()).quantile).toBe(2); // in the +Inf bucket: the next lower bound
    expect(bucketQuantile(0.1, buckets([[-1, 1], [Infinity, 3]])).quantile).toBe(-1); // lowest bucket <= 0
    expect(bucketQuantile(0, b()).quantile).toBe(0);
    // Unsorted input and duplicate bounds (le="1" and le="1.0") are sorted and merged.
    expect(bucketQuantile(0.5, buckets([[Infinity, 4], [1, 1], [1, 1], [2, 3]])).quantile).toBe(1);
  });

  it('forces monotonicity and reports the span', () => {
    const r = bucketQuantile(0.5, buckets([[1, 5], [2, 3], [4, 4], [8, 2], [Infinity, 10]]));
    expect(r.forcedMonotonic).toBe(true);
    expect([r.minBucket, r.maxBucket, r.maxDiff]).toEqual([2, 8, 3]);
    // Counts become 5 5 5 5 10: rank 5 falls into the first bucket.
    expect(r.quantile).toBe(1);
  });
});

describe('bucketFraction', () => {
  const b = (): ClassicBuckets => buckets([[1, 2], [2, 6], [4, 8], [Infinity, 10]]);
  it('interpolates within buckets', () => {
    expect(bucketFraction(0, 1, b())).toBe(0.2);
    expect(bucketFraction(0, 1.5, b())).toBe(0.4);
    expect(bucketFraction(-Infinity, Infinity, b())).toBe(1);
    expect(bucketFraction(4, Infinity, b())).toBe(0.2);
    expect(bucketFraction(2, 2, b())).toBe(0);
    expect(bucketFraction(NaN, 2, b())).toBeNaN();
    expect(bucketFraction(0, 2, buckets([[1, 1], [2, 2]]))).toBeNaN();
  });
});

describe('histogram_quantile', () => {
  it('groups buckets by their labels without le and drops le', () => {
    const vec = [
      bucket('1', 1, 'job', 'a'),
      bucket('+Inf', 2, 'job', 'a'),
      bucket('1', 0, 'job', 'b'),
      bucket('+Inf', 4, 'job', 'b'),
      bucket('2', 3, 'job', 'b'),
    ];
    const ann = new Annotations();
    const out = funcHistogramQuantile(vec, call(0.5), ann);
    expect(out).toEqual([
      { metric: labelsFromStrings('__name__', 'm_bucket', 'job', 'a'), t: 60_000, f: 1, h: null, dropName: true },
      { metric: labelsFromStrings('__name__', 'm_bucket', 'job', 'b'), t: 60_000, f: 1 + (2 / 3), h: null, dropName: true },
    ]);
    expect(ann.size).toBe(0);
  });

  it('keeps apart histograms whose label texts contain the character ÿ', () => {
    // {a="1ÿbÿ2"} and {a="1", b="2"} would share a key joined with '\xff'.
    const out = funcHistogramQuantile([bucket('1', 1, 'a', '1\xffb\xff2'), bucket('+Inf', 2, 'a', '1\xffb\xff2'), bucket('1', 2, 'a', '1', 'b', '2'), bucket('+Inf', 2, 'a', '1', 'b', '2')], call(0.5), new Annotations());
    expect(out.map((s) => [s.metric.length, s.f])).toEqual([[2, 1], [3, 0.5]]);
  });

  it('warns about bad le labels and invalid quantiles', () => {
    const ann = new Annotations();
    const out = funcHistogramQuantile([bucket('foo', 1), bucket('1', 1), bucket('+Inf', 1), { ...bucket('x', 1), metric: labelsFromStrings('__name__', 'm_bucket') }], call(2), ann);
    expect(out.map((s) => s.f)).toEqual([Infinity]);
    expect(ann.asStrings(QUERY).warnings).toEqual([
      'PromQL warning: quantile value should be between 0 and 1, got 2 (1:20)',
      'PromQL warning: bucket label "le" is missing or has a malformed value of "foo" for metric name "m_bucket" (1:25)',
      'PromQL warning: bucket label "le" is missing or has a malformed value of "" for metric name "m_bucket" (1:25)',
    ]);
  });

  it('reports forced monotonicity, merged over steps', () => {
    const ann = new Annotations();
    const vec = [bucket('1', 5), bucket('2', 3), bucket('+Inf', 10)];
    funcHistogramQuantile(vec, call(0.5), ann);
    funcHistogramQuantile([bucket('1', 5), bucket('4', 1), bucket('+Inf', 10)], { ...call(0.5), evalTs: 120_000 }, ann);
    expect(ann.asStrings(QUERY).infos).toEqual([
      'PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name "m_bucket", from buckets 2 to 4, with a max diff of 4, over 2 samples from 1970-01-01T00:01:00Z to 1970-01-01T00:02:00Z (1:25)',
    ]);
  });

  it('drops classic groups that collide with a native histogram of the same labels', () => {
    const ann = new Annotations();
    const native: Sample = { metric: labelsFromStrings('__name__', 'm_bucket'), t: 0, f: 0, h: {} as never, dropName: false };
    expect(funcHistogramQuantile([bucket('1', 1), bucket('+Inf', 2), native], call(0.5), ann)).toEqual([]);
    expect(ann.asStrings(QUERY).warnings).toEqual(['PromQL warning: vector contains a mix of classic and native histograms for metric name "m_bucket" (1:25)']);
  });
});

describe('histogram_quantile across the steps of a range query', () => {
  // The evaluator passes the same label-set objects at every step; the output labels must
  // then be the same objects too (its series lookup by identity), and each step's buckets
  // must be computed afresh.
  const step = (vec: Sample[], evalTs: number, ann = new Annotations()): Sample[] => funcHistogramQuantile(vec, { ...call(0.5), evalTs }, ann);
  const at = (s: Sample, f: number): Sample => ({ ...s, f });

  it('returns the same output labels at every step, with each step computed afresh', () => {
    const [a1, aInf, b1, bInf] = [bucket('1', 0, 'job', 'a'), bucket('+Inf', 0, 'job', 'a'), bucket('1', 0, 'job', 'b'), bucket('+Inf', 0, 'job', 'b')];
    const first = step([at(a1, 1), at(aInf, 2), at(b1, 3), at(bInf, 4)], 60_000);
    const second = step([at(a1, 4), at(aInf, 4), at(b1, 1), at(bInf, 2)], 120_000);
    expect(first.map((s) => s.f)).toEqual([1, 2 / 3]);
    expect(second.map((s) => s.f)).toEqual([0.5, 1]);
    expect(second[0].metric).toBe(first[0].metric);
    expect(second[1].metric).toBe(first[1].metric);
    expect(second[0].metric).toEqual(labelsFromStrings('__name__', 'm_bucket', 'job', 'a'));
    // A step where a group is missing, then back.
    const third = step([at(b1, 1), at(bInf, 1)], 180_000);
    expect(third.map((s) => [s.metric, s.f])).toEqual([[first[1].metric, 0.5]]);
    expect(third[0].metric).toBe(first[1].metric);
    expect(step([at(a1, 1), at(aInf, 1)], 240_000)[0].metric).toBe(first[0].metric);
  });

  it('groups buckets by labels, not by the identity of their groups', () => {
    // le="2" first appears with the others at the second step: one group, which all its
    // buckets share from then on.
    const [l1, lInf] = [bucket('1', 1), bucket('+Inf', 4)];
    const first = step([l1, lInf], 60_000);
    const l2 = bucket('2', 3);
    const second = step([l2, l1, lInf], 120_000);
    expect(second).toHaveLength(1);
    expect(second[0].f).toBe(1.5);
    expect(second[0].metric).toEqual(first[0].metric);
    const third = step([l1, l2, lInf], 180_000);
    expect(third[0].metric).toBe(second[0].metric);
    expect(step([l2, lInf], 240_000)[0].metric).toBe(second[0].metric);
  });

  it('warns about a bad le at every step', () => {
    const bad = bucket('foo', 1);
    for (const ts of [60_000, 120_000]) {
      const ann = new Annotations();
      expect(step([bad, bucket('+Inf', 1)], ts, ann)).toHaveLength(1);
      expect(ann.asStrings(QUERY).warnings).toEqual(['PromQL warning: bucket label "le" is missing or has a malformed value of "foo" for metric name "m_bucket" (1:25)']);
    }
  });
});

describe('histogram_fraction', () => {
  it('computes fractions of classic histograms', () => {
    const out = funcHistogramFraction([bucket('1', 2), bucket('2', 6), bucket('+Inf', 10)], call(0, 1), new Annotations());
    expect(out.map((s) => s.f)).toEqual([0.2]);
  });
});

describe('histogram_quantiles', () => {
  const qcall = (...qs: number[]): VectorCall => ({
    evalTs: 0,
    scalars: qs,
    strings: ['q'],
    argPos: [{ start: 20, end: 28 }, { start: 30, end: 33 }, ...qs.map((_, i) => ({ start: 35 + 3 * i, end: 36 + 3 * i }))],
  });

  it('labels each quantile with its OpenMetrics float', () => {
    const out = funcHistogramQuantiles([bucket('1', 1), bucket('2', 2), bucket('+Inf', 2)], qcall(0, 0.5, 1), new Annotations());
    expect(out.map((s) => [s.metric.find((l) => l.name === 'q')?.value, s.f])).toEqual([
      ['0.0', 0],
      ['0.5', 1],
      ['1.0', 2],
    ]);
    expect(out[0].metric.map((l) => l.name)).toEqual(['__name__', 'q']);
  });

  it('returns the same labels for each quantile at every step', () => {
    const vec = [bucket('1', 1), bucket('2', 2), bucket('+Inf', 2)];
    const first = funcHistogramQuantiles(vec, qcall(0.5, 1), new Annotations());
    const second = funcHistogramQuantiles(vec, qcall(0.5, 1), new Annotations());
    expect(second.map((s) => s.metric)).toEqual(first.map((s) => s.metric));
    for (let i = 0; i < first.length; i++) expect(second[i].metric).toBe(first[i].metric);
    expect(first[0].metric).not.toBe(first[1].metric);
  });

  it('reuses the sorted and coalesced buckets between quantiles, as Prometheus does', () => {
    // Duplicate bounds: the first call merges le="1"+"1.0" into the prefix [1:2, 2:3, Inf:4]
    // and leaves the stale last entry Inf:4, which the second call merges again (Inf:8).
    const vec = [bucket('1', 1), bucket('1.0', 1), bucket('2', 3), bucket('+Inf', 4)];
    const out = funcHistogramQuantiles(vec, qcall(0.5, 0.5), new Annotations());
    expect(out.map((s) => s.f)).toEqual([1, 2]);
  });

  it('warns about each invalid quantile at its position', () => {
    const ann = new Annotations();
    funcHistogramQuantiles([], qcall(0.5, -1), ann);
    expect(ann.asStrings('histogram_quantiles(x_bucket, "q", 0.5, -1)').warnings).toEqual([
      'PromQL warning: quantile value should be between 0 and 1, got -1 (1:39)',
    ]);
  });

  it('formats OpenMetrics floats', () => {
    expect([0, -0, 1, -1, 0.25, 1e21, 100, NaN, Infinity, -Infinity, 1e-7].map(formatOpenMetricsFloat)).toEqual([
      '0.0',
      '0.0',
      '1.0',
      '-1.0',
      '0.25',
      '1e+21',
      '100.0',
      'NaN',
      '+Inf',
      '-Inf',
      '1e-07',
    ]);
  });
});
