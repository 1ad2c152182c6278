// histogram_quantile and histogram_fraction over classic histograms: float series
// `<name>_bucket{le="…"}` grouped by their labels without `le` (promql/quantile.go
// BucketQuantile, BucketFraction; EvalNodeHelper.resetHistograms in engine.go).
//
// Native-histogram samples in the input are recognised (a classic group with the same
// labels makes both drop out with a warning, as in Prometheus) but not evaluated yet: the
// native-histogram kernels are still to be written.

import type { Labels } from '@thanos-ts/tsdb';
import { getLabel, METRIC_NAME } from '@thanos-ts/tsdb';
import { formatFloatG, parseFloatGo } from '../go-strconv.js';
import type { Sample, Vector } from '../value.js';
import {
  badBucketLabelWarning,
  histogramQuantileForcedMonotonicityInfo,
  invalidQuantileWarning,
  mixedClassicNativeHistogramsWarning,
  type Annotations,
} from './annotations.js';
import { setLabel } from './labels.js';
import type { VectorCall } from './types.js';
import type { PositionRange } from '../ast.js';

const BUCKET_LABEL = 'le';

/**
 * Relative difference between adjacent cumulative bucket counts below which the counts are
 * treated as equal (float noise from e.g. query sharding), as Prometheus's smallDeltaTolerance.
 */
const SMALL_DELTA_TOLERANCE = 1e-12;

const MIN_NORMAL = 2.2250738585072014e-308;
const MAX_FLOAT64 = 1.7976931348623157e308;

/** util/almost.Equal for non-stale values. */
function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (a !== a && b !== b) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, MAX_FLOAT64) < epsilon;
}

/** The buckets of one classic histogram: parallel arrays of upper bounds and cumulative counts. */
export interface ClassicBuckets {
  upperBounds: number[];
  counts: number[];
}

/**
 * Sorts the buckets by upper bound, in place. Go's slices.SortFunc is an insertion sort up
 * to 12 elements, which matters only for NaN bounds (they compare equal to everything and
 * so stay where they are): the same insertion sort is used here.
 */
function sortBuckets(b: ClassicBuckets): void {
  const ub = b.upperBounds;
  const cnt = b.counts;
  const n = ub.length;
  if (n <= 12) {
    for (let i = 1; i < n; i++) {
      for (let j = i; j > 0 && ub[j] < ub[j - 1]; j--) {
        const u = ub[j];
        ub[j] = ub[j - 1];
        ub[j - 1] = u;
        const c = cnt[j];
        cnt[j] = cnt[j - 1];
        cnt[j - 1] = c;
      }
    }
    return;
  }
  const idx = new Array<number>(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((x, y) => (ub[x] < ub[y] ? -1 : ub[x] > ub[y] ? 1 : 0));
  b.upperBounds = idx.map((i) => ub[i]);
  b.counts = idx.map((i) => cnt[i]);
}

/**
 * coalesceBuckets: merges adjacent buckets with equal bounds (counts added) into a prefix
 * of the arrays and returns its length. Like Go (which reslices a local copy), the arrays
 * keep their length: histogram_quantiles calls bucketQuantile again on the same buckets.
 */
function coalesce(b: ClassicBuckets): number {
  const ub = b.upperBounds;
  const cnt = b.counts;
  const n = ub.length;
  let lastUb = ub[0];
  let lastCnt = cnt[0];
  let k = 0;
  for (let i = 1; i < n; i++) {
    if (ub[i] === lastUb) {
      lastCnt += cnt[i];
    } else {
      ub[k] = lastUb;
      cnt[k] = lastCnt;
      lastUb = ub[i];
      lastCnt = cnt[i];
      k++;
    }
  }
  ub[k] = lastUb;
  cnt[k] = lastCnt;
  return k + 1;
}

/** What bucketQuantile found besides the quantile (for the forced-monotonicity info). */
export interface BucketQuantileResult {
  quantile: number;
  forcedMonotonic: boolean;
  fixedPrecision: boolean;
  minBucket: number;
  maxBucket: number;
  maxDiff: number;
}

/**
 * ensureMonotonicAndIgnoreSmallDeltas over counts[0..n): raises a count that is lower than
 * its predecessor (recording the bucket span and largest drop) and flattens tiny relative
 * differences.
 */
function ensureMonotonic(ub: number[], counts: number[], n: number, r: BucketQuantileResult): void {
  r.minBucket = Infinity;
  r.maxBucket = -Infinity;
  r.maxDiff = 0;
  let prev = counts[0];
  for (let i = 1; i < n; i++) {
    const curr = counts[i];
    if (curr === prev) continue;
    if (almostEqual(prev, curr, SMALL_DELTA_TOLERANCE)) {
      counts[i] = prev;
      r.fixedPrecision = true;
      continue;
    }
    if (curr < prev) {
      counts[i] = prev;
      r.forcedMonotonic = true;
      if (ub[i] < r.minBucket) r.minBucket = ub[i];
      if (ub[i] > r.maxBucket) r.maxBucket = ub[i];
      const diff = prev - curr;
      if (diff > r.maxDiff) r.maxDiff = diff;
      continue;
    }
    prev = curr;
  }
}

/**
 * BucketQuantile: the q-quantile of a classic histogram, interpolating linearly inside the
 * bucket (from 0, or from the bucket's own bound when it is <= 0, for the lowest bucket).
 * NaN without a +Inf bucket, with fewer than 2 buckets or 0 observations, or for q = NaN;
 * -Inf / +Inf for q < 0 / q > 1. Sorts and fixes b in place.
 */
export function bucketQuantile(q: number, b: ClassicBuckets): BucketQuantileResult {
  const r: BucketQuantileResult = {
    quantile: NaN,
    forcedMonotonic: false,
    fixedPrecision: false,
    minBucket: 0,
    maxBucket: 0,
    maxDiff: 0,
  };
  if (q !== q) return r;
  if (q < 0) {
    r.quantile = -Infinity;
    return r;
  }
  if (q > 1) {
    r.quantile = Infinity;
    return r;
  }
  sortBuckets(b);
  if (b.upperBounds[b.upperBounds.length - 1] !== Infinity) return r;
  const n = coalesce(b);
  const ub = b.upperBounds;
  const counts = b.counts;
  ensureMonotonic(ub, counts, n, r);
  if (n < 2) return r;
  const observations = counts[n - 1];
  if (observations === 0) return r;
  let rank = q * observations;
  // sort.Search(n-1, counts[i] >= rank)
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const h = (lo + hi) >>> 1;
    if (!(counts[h] >= rank)) lo = h + 1;
    else hi = h;
  }
  const bi = lo;
  if (bi === n - 1) {
    r.quantile = ub[n - 2];
  } else if (bi === 0 && ub[0] <= 0) {
    r.quantile = ub[0];
  } else {
    let bucketStart = 0;
    const bucketEnd = ub[bi];
    let count = counts[bi];
    if (bi > 0) {
      bucketStart = ub[bi - 1];
      count -= counts[bi - 1];
      rank -= counts[bi - 1];
    }
    r.quantile = bucketStart + (bucketEnd - bucketStart) * (rank / count);
  }
  return r;
}

/**
 * BucketFraction: the estimated fraction of observations between lower and upper,
 * interpolating linearly within buckets. NaN without a +Inf bucket, with 0 observations or
 * a NaN bound; 0 when lower >= upper. Sorts b in place.
 */
export function bucketFraction(lower: number, upper: number, b: ClassicBuckets): number {
  sortBuckets(b);
  if (b.upperBounds[b.upperBounds.length - 1] !== Infinity) return NaN;
  const n = coalesce(b);
  const ub = b.upperBounds;
  const counts = b.counts;
  const count = counts[n - 1];
  if (count === 0 || lower !== lower || upper !== upper) return NaN;
  if (lower >= upper) return 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  let lowerBound = ub[0] <= 0 ? -Infinity : 0;
  for (let i = 0; i < n; i++) {
    if (i > 0) lowerBound = ub[i - 1];
    const upperBound = ub[i];
    const bCount = counts[i];
    if (!lowerSet && lowerBound >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && lowerBound >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && lowerBound < lower && upperBound > lower) {
      lowerRank = lowerBound === -Infinity ? bCount : rank + ((bCount - rank) * (lower - lowerBound)) / (upperBound - lowerBound);
      lowerSet = true;
    }
    if (!upperSet && lowerBound < upper && upperBound > upper) {
      upperRank = lowerBound === -Infinity ? bCount : rank + ((bCount - rank) * (upper - lowerBound)) / (upperBound - lowerBound);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank = bCount;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / count;
}

/** A classic histogram: the buckets of one label set without `le`. */
interface BucketGroup {
  /** The labels without `le`: the output series' labels. */
  metric: Labels;
  /** groupKey(metric). */
  key: string;
  buckets: ClassicBuckets;
  /** The groupClassicBuckets call whose buckets the group holds. */
  stamp: number;
}

/** What a bucket series' labels say, worked out once per label set (see bucketSeries). */
interface BucketSeries {
  /** The parsed `le`; NaN when it does not parse (then valid is false). */
  upperBound: number;
  valid: boolean;
  /**
   * The series' group. Buckets of one histogram converge on one group object (the first
   * one seen with them), whose labels are then the same array at every step.
   */
  group: BucketGroup;
}

/**
 * Per input label set: the same series brings the same label-set object at every step of a
 * range query, so `le` is parsed and the group's labels are built once per query, not once
 * per step and bucket. Returning the same output labels at every step lets the evaluator
 * find the output series by identity instead of hashing a fresh array each time (it was
 * GC-bound: 12 s against Prometheus's 3 s for 100 histograms × 10k steps). A WeakMap, so
 * entries go with the label sets; the values are pure functions of the (immutable) keys.
 */
const BUCKET_SERIES = new WeakMap<Labels, BucketSeries>();

/**
 * A string identifying a label set exactly. A lone high surrogate separates names and
 * values: it never occurs in decoded label text, unlike '\xff' ('ÿ').
 */
function groupKey(ls: Labels): string {
  let k = '';
  for (let i = 0; i < ls.length; i++) k += ls[i].name + '\ud800' + ls[i].value + '\ud800';
  return k;
}

/** Numbers groupClassicBuckets calls (a group is reset on its first bucket of a call). */
let callStamp = 0;

function bucketSeries(ls: Labels): BucketSeries {
  let b = BUCKET_SERIES.get(ls);
  if (b === undefined) {
    let upperBound = NaN;
    let valid = true;
    try {
      upperBound = parseFloatGo(getLabel(ls, BUCKET_LABEL));
    } catch {
      valid = false;
    }
    const metric = setLabel(ls, BUCKET_LABEL, '');
    b = { upperBound, valid, group: { metric, key: groupKey(metric), buckets: { upperBounds: [], counts: [] }, stamp: 0 } };
    BUCKET_SERIES.set(ls, b);
  }
  return b;
}

/**
 * resetHistograms: groups the float samples of vec by their labels without `le` (warning
 * about unparsable `le` values) and drops groups that collide with a native histogram of
 * the same labels. Groups come in the order of their first bucket in vec. They are reused
 * by the next call: read them before calling again (the evaluation is synchronous).
 */
function groupClassicBuckets(vec: Vector, pos: PositionRange, ann: Annotations): BucketGroup[] {
  const stamp = ++callStamp;
  const groups: BucketGroup[] = [];
  // Groups of this call by key: consulted once per group, not once per bucket.
  const byKey = new Map<string, BucketGroup>();
  let natives: Sample[] | null = null;
  for (const s of vec) {
    if (s.h !== null) {
      (natives ??= []).push(s);
      continue;
    }
    const b = bucketSeries(s.metric);
    if (!b.valid) {
      ann.add(badBucketLabelWarning(getLabel(s.metric, METRIC_NAME), getLabel(s.metric, BUCKET_LABEL), pos));
      continue;
    }
    let g = b.group;
    if (g.stamp !== stamp) {
      const other = byKey.get(g.key);
      if (other !== undefined) {
        // This bucket first meets its histogram's group now: join it for good.
        b.group = g = other;
      } else {
        g.stamp = stamp;
        g.buckets.upperBounds.length = 0;
        g.buckets.counts.length = 0;
        byKey.set(g.key, g);
        groups.push(g);
      }
    }
    g.buckets.upperBounds.push(b.upperBound);
    g.buckets.counts.push(s.f);
  }
  if (natives === null) return groups;
  const dropped = new Set<BucketGroup>();
  for (const s of natives) {
    const g = byKey.get(groupKey(s.metric));
    if (g !== undefined && !dropped.has(g)) {
      ann.add(mixedClassicNativeHistogramsWarning(getLabel(s.metric, METRIC_NAME), pos));
      dropped.add(g);
    }
  }
  return dropped.size === 0 ? groups : groups.filter((g) => !dropped.has(g));
}

/**
 * histogram_quantile(φ, v) on classic histograms: scalars = [φ]; annotations point at
 * argPos[0] (invalid φ) and argPos[1] (the buckets). One output sample per group, labels
 * without `le` and dropName set.
 */
export function funcHistogramQuantile(vec: Vector, call: VectorCall, ann: Annotations): Vector {
  const q = call.scalars[0];
  if (q !== q || q < 0 || q > 1) ann.add(invalidQuantileWarning(q, call.argPos[0]));
  const pos = call.argPos[1];
  const out: Sample[] = [];
  for (const g of groupClassicBuckets(vec, pos, ann)) {
    const r = bucketQuantile(q, g.buckets);
    if (r.forcedMonotonic) {
      ann.add(
        histogramQuantileForcedMonotonicityInfo(getLabel(g.metric, METRIC_NAME), pos, call.evalTs, r.minBucket, r.maxBucket, r.maxDiff),
      );
    }
    out.push({ metric: g.metric, t: call.evalTs, f: r.quantile, h: null, dropName: true });
  }
  return out;
}

/** histogram_fraction(lower, upper, v) on classic histograms: scalars = [lower, upper]. */
export function funcHistogramFraction(vec: Vector, call: VectorCall, ann: Annotations): Vector {
  const lower = call.scalars[0];
  const upper = call.scalars[1];
  const out: Sample[] = [];
  for (const g of groupClassicBuckets(vec, call.argPos[2], ann)) {
    out.push({ metric: g.metric, t: call.evalTs, f: bucketFraction(lower, upper, g.buckets), h: null, dropName: true });
  }
  return out;
}

/** labels.FormatOpenMetricsFloat: Go's shortest %g, with ".0" appended to integers. */
export function formatOpenMetricsFloat(f: number): string {
  if (f === 0) return '0.0';
  const s = formatFloatG(f);
  if (f !== f || f === Infinity || f === -Infinity || s.includes('e') || s.includes('.')) return s;
  return s + '.0';
}

/** Group labels → `label\ud800φ` → the group's labels with label="φ" (stable identities, as above). */
const WITH_QUANTILE = new WeakMap<Labels, Map<string, Labels>>();

function withQuantileLabel(metric: Labels, label: string, qStr: string): Labels {
  let byQ = WITH_QUANTILE.get(metric);
  if (byQ === undefined) {
    byQ = new Map();
    WITH_QUANTILE.set(metric, byQ);
  }
  const k = label + '\ud800' + qStr;
  let m = byQ.get(k);
  if (m === undefined) {
    m = setLabel(metric, label, qStr);
    byQ.set(k, m);
  }
  return m;
}

/**
 * histogram_quantiles(v, label, φ...) on classic histograms: strings = [label], scalars =
 * the quantiles; one output series per quantile and group, labelled label="<φ>".
 * Annotations point at argPos[0] (the buckets) and argPos[2 + i] (an invalid φi).
 */
export function funcHistogramQuantiles(vec: Vector, call: VectorCall, ann: Annotations): Vector {
  const label = call.strings[0];
  const qs = call.scalars;
  for (let i = 0; i < qs.length; i++) {
    const q = qs[i];
    if (q !== q || q < 0 || q > 1) ann.add(invalidQuantileWarning(q, call.argPos[2 + i]));
  }
  const pos = call.argPos[0];
  const groups = groupClassicBuckets(vec, pos, ann);
  const out: Sample[] = [];
  for (const q of qs) {
    const qStr = formatOpenMetricsFloat(q);
    for (const g of groups) {
      // The buckets stay sorted and fixed between quantiles, as in Prometheus.
      const r = bucketQuantile(q, g.buckets);
      if (r.forcedMonotonic) {
        ann.add(
          histogramQuantileForcedMonotonicityInfo(getLabel(g.metric, METRIC_NAME), pos, call.evalTs, r.minBucket, r.maxBucket, r.maxDiff),
        );
      }
      out.push({ metric: withQuantileLabel(g.metric, label, qStr), t: call.evalTs, f: r.quantile, h: null, dropName: true });
    }
  }
  return out;
}
