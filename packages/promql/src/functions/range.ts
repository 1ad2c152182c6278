// Range-vector kernels (promql/functions.go): one series, one step, the window's float
// points in t[from..to) / f[from..to). Arithmetic follows Prometheus operation by
// operation (Kahan sums where it uses kahansum.Inc, same evaluation order) so results are
// bit-identical. Nothing here allocates per call except the quantile scratch buffer,
// which grows once and is reused.

import {
  histogramIgnoredInMixedRangeInfo,
  invalidQuantileWarning,
  startTimeOverlapWarning,
  type Annotations,
} from './annotations.js';
import { quantileOfSorted, sortNaNFirst } from './quantile.js';
import { FunctionError, type RangeCall } from './types.js';
import { formatFloatFixed } from '../go-strconv.js';

/** time.Duration(ms).Seconds() as Go computes it: whole seconds plus the remainder. */
export function durationSeconds(ms: number): number {
  const sec = Math.trunc(ms / 1000);
  const nsec = (ms - sec * 1000) * 1e6;
  return sec + nsec / 1e9;
}

/** First index i in [lo, hi) with t[i] > v, or hi (sort.Search). */
function searchGreater(t: Float64Array, lo: number, hi: number, v: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid] > v) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** First index i in [lo, hi) with t[i] >= v, or hi. */
function searchGreaterOrEqual(t: Float64Array, lo: number, hi: number, v: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid] >= v) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

// ---- start timestamps (OTel-style created timestamps) ----

/**
 * Whether the current point restarts the counter according to its start timestamp
 * (isStartTimestampReset). 0 means "unknown".
 */
export function isStartTimestampReset(prevST: number, prevT: number, curST: number, curT: number): boolean {
  if (curST === 0 || curST >= curT) return false;
  if (curST < prevT) return false;
  if (curST > prevT) return true;
  // curST == prevT: a reset for deltas, not for cumulative series with unknown start.
  if (prevST > prevT) return false;
  return prevST !== 0 && prevST !== prevT;
}

/** A start timestamp before the previous sample that is not the previous start timestamp. */
function startTimeOverlaps(prevST: number, prevT: number, curST: number): boolean {
  return curST !== 0 && curST < prevT && curST !== prevST;
}

/**
 * Counter resets (f[i] < f[i-1]) and value changes (f[i] !== f[i-1], NaN equal to NaN) at
 * or before each point of one series, as prefix counts built as far as windows reach.
 * With them a long window's count of either is exact and O(1): rate() skips its scan
 * when a window holds no reset, changes() and resets() need no scan at all.
 */
export class PointCounts {
  private resets = new Int32Array(0);
  private changes = new Int32Array(0);
  /** Counts are known for indexes below this. */
  private built = 0;

  constructor(private readonly f: Float64Array) {}

  /** Resets at indexes a+1 .. b-1 (the window [a, b) seen from its first point). */
  resetsIn(a: number, b: number): number {
    this.ensure(b);
    return this.resets[b - 1] - this.resets[a];
  }

  /** Changes at indexes a+1 .. b-1. */
  changesIn(a: number, b: number): number {
    this.ensure(b);
    return this.changes[b - 1] - this.changes[a];
  }

  private ensure(to: number): void {
    if (to <= this.built) return;
    if (to > this.resets.length) {
      const cap = Math.min(this.f.length, Math.max(to, this.resets.length * 2, 256));
      const r = new Int32Array(cap);
      r.set(this.resets.subarray(0, this.built));
      this.resets = r;
      const c = new Int32Array(cap);
      c.set(this.changes.subarray(0, this.built));
      this.changes = c;
    }
    const f = this.f;
    const r = this.resets;
    const c = this.changes;
    let i = this.built;
    if (i === 0) {
      r[0] = 0;
      c[0] = 0;
      i = 1;
    }
    for (; i < to; i++) {
      const prev = f[i - 1];
      const cur = f[i];
      r[i] = r[i - 1] + (cur < prev ? 1 : 0);
      c[i] = c[i - 1] + (cur !== prev && !(cur !== cur && prev !== prev) ? 1 : 0);
    }
    this.built = to;
  }
}

/** Windows of at least this many points read the series' PointCounts instead of scanning. */
const LONG_WINDOW = 64;

function countsOf(call: RangeCall, f: Float64Array): PointCounts {
  return (call.counts ??= new PointCounts(f));
}

// ---- rate, increase, delta ----

/**
 * extrapolatedRate for float windows: the increase (counter resets compensated when
 * isCounter) from the first to the last point, extrapolated towards the window edges
 * when the points come close enough to them, as Prometheus 3.x does.
 */
function extrapolatedRate(
  t: Float64Array,
  f: Float64Array,
  from: number,
  to: number,
  call: RangeCall,
  ann: Annotations,
  isCounter: boolean,
  isRate: boolean,
): number | undefined {
  if (call.anchored || call.smoothed) return extendedRate(t, f, from, to, call, isCounter, isRate);
  const n = to - from;
  if (n === 0) return undefined;
  const { rangeStart, rangeEnd } = call;
  const last = to - 1;
  const firstT = t[from];
  const lastT = t[last];
  let result = f[last] - f[from];
  const st = isCounter ? call.st : null;
  // A long window without a reset adds nothing in the scan: the counts say so at once.
  if (isCounter && (st !== null || n < LONG_WINDOW || countsOf(call, f).resetsIn(from, to) > 0)) {
    let overlapDetected = false;
    for (let i = from + 1; i < to; i++) {
      const prev = f[i - 1];
      if (st !== null && !overlapDetected && startTimeOverlaps(st[i - 1], t[i - 1], st[i])) {
        ann.add(startTimeOverlapWarning(call.metricName, call.pos));
        overlapDetected = true;
      }
      if (f[i] < prev || (st !== null && isStartTimestampReset(st[i - 1], t[i - 1], st[i], t[i]))) result += prev;
    }
  }

  let durationToStart = (firstT - rangeStart) / 1000;
  let durationToEnd = (rangeEnd - lastT) / 1000;
  let sampledInterval = (lastT - firstT) / 1000;
  const numSamplesMinusOne = n - 1;
  let averageDurationBetweenSamples = 0;
  if (numSamplesMinusOne > 0) averageDurationBetweenSamples = sampledInterval / numSamplesMinusOne;
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;

  if (st !== null && st[from] !== 0 && st[from] > rangeStart && st[from] < firstT) {
    // The first point's start timestamp lies inside the window: assume the counter was 0
    // there instead of extrapolating to the left.
    durationToStart = 0;
    sampledInterval = (lastT - st[from]) / 1000;
    result += f[from];
  } else if (numSamplesMinusOne === 0) {
    return undefined;
  } else {
    if (durationToStart >= extrapolationThreshold) durationToStart = averageDurationBetweenSamples / 2;
    if (isCounter) {
      // Counters cannot go negative: do not extrapolate below the zero crossing.
      let durationToZero = durationToStart;
      if (result > 0 && f[from] >= 0) durationToZero = sampledInterval * (f[from] / result);
      if (durationToZero < durationToStart) durationToStart = durationToZero;
    }
  }
  if (durationToEnd >= extrapolationThreshold) durationToEnd = averageDurationBetweenSamples / 2;

  let factor = 1.0;
  if (sampledInterval !== 0) factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= durationSeconds(rangeEnd - rangeStart);
  return result * factor;
}

/** interpolate(): the value at ts on the line p1→p2; a counter reset restarts from 0. */
function interpolate(t1: number, y1: number, t2: number, y2: number, ts: number, isCounter: boolean): number {
  if (isCounter && y2 < y1) y1 = 0;
  return y1 + ((y2 - y1) * (ts - t1)) / (t2 - t1);
}

/**
 * extendedRate: rate/increase/delta with the `anchored` or `smoothed` modifier. The window
 * holds the points the evaluator fetched beyond the range (see RangeCall).
 */
function extendedRate(
  t: Float64Array,
  f: Float64Array,
  from: number,
  to: number,
  call: RangeCall,
  isCounter: boolean,
  isRate: boolean,
): number | undefined {
  if (to - from === 0) return undefined;
  const { rangeStart, rangeEnd, smoothed } = call;
  let lastIdx = to - 1;
  let firstIdx = Math.max(from, searchGreater(t, from, lastIdx, rangeStart) - 1);
  if (smoothed) lastIdx = searchGreaterOrEqual(t, from, lastIdx, rangeEnd);
  if (t[lastIdx] <= rangeStart) return undefined;
  if (smoothed && t[firstIdx] > rangeEnd) return undefined;

  const left =
    smoothed && t[firstIdx] < rangeStart
      ? interpolate(t[firstIdx], f[firstIdx], t[firstIdx + 1], f[firstIdx + 1], rangeStart, isCounter)
      : f[firstIdx];
  const right =
    smoothed && lastIdx > from && t[lastIdx] > rangeEnd
      ? interpolate(t[lastIdx - 1], f[lastIdx - 1], t[lastIdx], f[lastIdx], rangeEnd, isCounter)
      : f[lastIdx];

  let result = right - left;
  if (isCounter) {
    // Only points strictly inside the range count for resets; the boundary values already
    // account for resets at the edges.
    if (t[firstIdx] <= rangeStart) firstIdx++;
    if (t[lastIdx] >= rangeEnd) lastIdx--;
    let correction = 0;
    let prev = left;
    for (let i = firstIdx; i <= lastIdx; i++) {
      if (f[i] < prev) correction += prev;
      prev = f[i];
    }
    if (right < prev) correction += prev;
    result += correction;
  }
  if (isRate) result /= durationSeconds(rangeEnd - rangeStart);
  return result;
}

export function funcRate(t: Float64Array, f: Float64Array, from: number, to: number, call: RangeCall, ann: Annotations): number | undefined {
  return extrapolatedRate(t, f, from, to, call, ann, true, true);
}

export function funcIncrease(t: Float64Array, f: Float64Array, from: number, to: number, call: RangeCall, ann: Annotations): number | undefined {
  return extrapolatedRate(t, f, from, to, call, ann, true, false);
}

export function funcDelta(t: Float64Array, f: Float64Array, from: number, to: number, call: RangeCall, ann: Annotations): number | undefined {
  return extrapolatedRate(t, f, from, to, call, ann, false, false);
}

// ---- irate, idelta ----

function instantValue(t: Float64Array, f: Float64Array, from: number, to: number, call: RangeCall, isRate: boolean): number | undefined {
  if (to - from < 2) return undefined;
  const i0 = to - 2;
  const i1 = to - 1;
  const sampledInterval = t[i1] - t[i0];
  if (sampledInterval === 0) return undefined;
  let result = f[i1];
  const st = call.st;
  const reset = isRate && (f[i1] < f[i0] || (st !== null && isStartTimestampReset(st[i0], t[i0], st[i1], t[i1])));
  // A counter reset leaves the last value as the increase.
  if (!reset) result = f[i1] - f[i0];
  if (isRate) result /= sampledInterval / 1000;
  return result;
}

export function funcIrate(t: Float64Array, f: Float64Array, from: number, to: number, call: RangeCall, _ann: Annotations): number | undefined {
  return instantValue(t, f, from, to, call, true);
}

export function funcIdelta(t: Float64Array, f: Float64Array, from: number, to: number, call: RangeCall, _ann: Annotations): number | undefined {
  return instantValue(t, f, from, to, call, false);
}

// ---- changes, resets ----

/**
 * pickFirstSampleIndices for float windows: with `anchored`, the last point at or before
 * rangeStart is the baseline; -1 when no point lies after rangeStart.
 */
function firstIndex(t: Float64Array, from: number, to: number, call: RangeCall): number {
  if (!call.anchored) return from;
  const after = searchGreater(t, from, to, call.rangeStart);
  if (after >= to) return -1;
  return after > from ? after - 1 : from;
}

export function funcChanges(t: Float64Array, f: Float64Array, from: number, to: number, call: RangeCall, _ann: Annotations): number | undefined {
  if (to - from === 0) return undefined;
  const first = firstIndex(t, from, to, call);
  if (first < 0) return undefined;
  if (to - first >= LONG_WINDOW) return countsOf(call, f).changesIn(first, to);
  let changes = 0;
  let prev = f[first];
  for (let i = first + 1; i < to; i++) {
    const cur = f[i];
    if (cur !== prev && !(cur !== cur && prev !== prev)) changes++;
    prev = cur;
  }
  return changes;
}

export function funcResets(t: Float64Array, f: Float64Array, from: number, to: number, call: RangeCall, _ann: Annotations): number | undefined {
  if (to - from === 0) return undefined;
  const first = firstIndex(t, from, to, call);
  if (first < 0) return undefined;
  const st = call.st;
  if (st === null && to - first >= LONG_WINDOW) return countsOf(call, f).resetsIn(first, to);
  let resets = 0;
  for (let i = first + 1; i < to; i++) {
    if (f[i] < f[i - 1] || (st !== null && isStartTimestampReset(st[i - 1], t[i - 1], st[i], t[i]))) resets++;
  }
  return resets;
}

// ---- deriv, predict_linear ----

// linearRegression's results (slope, intercept); module scratch instead of a tuple.
let regSlope = 0;
let regIntercept = 0;

/** Least-squares fit of f over (t - interceptTime) in seconds, with Kahan sums. */
function linearRegression(t: Float64Array, f: Float64Array, from: number, to: number, interceptTime: number): void {
  let n = 0;
  let sumX = 0;
  let cX = 0;
  let sumY = 0;
  let cY = 0;
  let sumXY = 0;
  let cXY = 0;
  let sumX2 = 0;
  let cX2 = 0;
  const initY = f[from];
  let constY = true;
  for (let i = from; i < to; i++) {
    const y = f[i];
    if (constY && i > from && y !== initY) constY = false;
    n += 1.0;
    const x = (t[i] - interceptTime) / 1e3;
    let s: number;
    // sumX, cX = kahansum.Inc(x, sumX, cX)
    s = sumX + x;
    if (s === Infinity || s === -Infinity) cX = 0;
    else if (Math.abs(sumX) >= Math.abs(x)) cX += sumX - s + x;
    else cX += x - s + sumX;
    sumX = s;
    // sumY, cY = kahansum.Inc(y, sumY, cY)
    s = sumY + y;
    if (s === Infinity || s === -Infinity) cY = 0;
    else if (Math.abs(sumY) >= Math.abs(y)) cY += sumY - s + y;
    else cY += y - s + sumY;
    sumY = s;
    // sumXY, cXY = kahansum.Inc(x*y, sumXY, cXY)
    const xy = x * y;
    s = sumXY + xy;
    if (s === Infinity || s === -Infinity) cXY = 0;
    else if (Math.abs(sumXY) >= Math.abs(xy)) cXY += sumXY - s + xy;
    else cXY += xy - s + sumXY;
    sumXY = s;
    // sumX2, cX2 = kahansum.Inc(x*x, sumX2, cX2)
    const x2 = x * x;
    s = sumX2 + x2;
    if (s === Infinity || s === -Infinity) cX2 = 0;
    else if (Math.abs(sumX2) >= Math.abs(x2)) cX2 += sumX2 - s + x2;
    else cX2 += x2 - s + sumX2;
    sumX2 = s;
  }
  if (constY) {
    if (initY === Infinity || initY === -Infinity) {
      regSlope = NaN;
      regIntercept = NaN;
    } else {
      regSlope = 0;
      regIntercept = initY;
    }
    return;
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  regSlope = covXY / varX;
  regIntercept = sumY / n - (regSlope * sumX) / n;
}

export function funcDeriv(t: Float64Array, f: Float64Array, from: number, to: number, call: RangeCall, ann: Annotations): number | undefined {
  const n = to - from;
  if (n < 2) {
    if (n === 1 && call.histCount > 0) ann.add(histogramIgnoredInMixedRangeInfo(call.metricName, call.pos));
    return undefined;
  }
  // The first point's time as intercept keeps x small (prometheus#2674).
  linearRegression(t, f, from, to, t[from]);
  if (call.histCount > 0) ann.add(histogramIgnoredInMixedRangeInfo(call.metricName, call.pos));
  return regSlope;
}

export function funcPredictLinear(
  t: Float64Array,
  f: Float64Array,
  from: number,
  to: number,
  call: RangeCall,
  ann: Annotations,
): number | undefined {
  const n = to - from;
  if (n < 2) {
    if (n === 1 && call.histCount > 0) ann.add(histogramIgnoredInMixedRangeInfo(call.metricName, call.pos));
    return undefined;
  }
  const duration = call.args[0];
  linearRegression(t, f, from, to, call.evalTs);
  if (call.histCount > 0) ann.add(histogramIgnoredInMixedRangeInfo(call.metricName, call.pos));
  return regSlope * duration + regIntercept;
}

// ---- *_over_time ----

export function funcSumOverTime(_t: Float64Array, f: Float64Array, from: number, to: number, _call: RangeCall, _ann: Annotations): number | undefined {
  if (to - from === 0) return undefined;
  let sum = 0;
  let c = 0;
  for (let i = from; i < to; i++) {
    const v = f[i];
    const s = sum + v;
    if (s === Infinity || s === -Infinity) c = 0;
    else if (Math.abs(sum) >= Math.abs(v)) c += sum - s + v;
    else c += v - s + sum;
    sum = s;
  }
  if (sum === Infinity || sum === -Infinity) return sum;
  return sum + c;
}

/**
 * avg_over_time: the direct mean with a Kahan sum while the sum stays finite, then an
 * incremental mean from the point where it would overflow (as Prometheus).
 */
export function funcAvgOverTime(_t: Float64Array, f: Float64Array, from: number, to: number, _call: RangeCall, _ann: Annotations): number | undefined {
  if (to - from === 0) return undefined;
  let sum = f[from];
  let count = 1;
  let mean = 0;
  let kahanC = 0;
  let incrementalMean = false;
  for (let i = from + 1; i < to; i++) {
    const v = f[i];
    count = i - from + 1;
    if (!incrementalMean) {
      const newSum = sum + v;
      if (newSum !== Infinity && newSum !== -Infinity) {
        if (Math.abs(sum) >= Math.abs(v)) kahanC += sum - newSum + v;
        else kahanC += v - newSum + sum;
        sum = newSum;
        continue;
      }
      // The sum would overflow: switch to the incremental mean.
      incrementalMean = true;
      mean = sum / (count - 1);
      kahanC /= count - 1;
    }
    const q = (count - 1) / count;
    // mean, kahanC = kahansum.Inc(v/count, q*mean, q*kahanC)
    const inc = v / count;
    const base = q * mean;
    let c = q * kahanC;
    const s = base + inc;
    if (s === Infinity || s === -Infinity) c = 0;
    else if (Math.abs(base) >= Math.abs(inc)) c += base - s + inc;
    else c += inc - s + base;
    mean = s;
    kahanC = c;
  }
  if (incrementalMean) return mean + kahanC;
  return sum / count + kahanC / count;
}

export function funcCountOverTime(_t: Float64Array, _f: Float64Array, from: number, to: number, call: RangeCall, _ann: Annotations): number | undefined {
  const n = to - from + call.histCount;
  return n === 0 ? undefined : n;
}

export function funcPresentOverTime(_t: Float64Array, _f: Float64Array, from: number, to: number, call: RangeCall, _ann: Annotations): number | undefined {
  return to - from + call.histCount === 0 ? undefined : 1;
}

/**
 * absent_over_time's per-series kernel: 1 whenever the series has points. The evaluator
 * turns this into the absent steps (see README).
 */
export function funcAbsentOverTime(_t: Float64Array, _f: Float64Array, from: number, to: number, call: RangeCall, _ann: Annotations): number | undefined {
  return to - from + call.histCount === 0 ? undefined : 1;
}

export function funcLastOverTime(_t: Float64Array, f: Float64Array, from: number, to: number, _call: RangeCall, _ann: Annotations): number | undefined {
  return to - from === 0 ? undefined : f[to - 1];
}

export function funcFirstOverTime(_t: Float64Array, f: Float64Array, from: number, to: number, _call: RangeCall, _ann: Annotations): number | undefined {
  return to - from === 0 ? undefined : f[from];
}

export function funcTsOfLastOverTime(t: Float64Array, _f: Float64Array, from: number, to: number, call: RangeCall, _ann: Annotations): number | undefined {
  if (to - from + call.histCount === 0) return undefined;
  const tf = to > from ? t[to - 1] : 0;
  const th = call.histCount > 0 ? call.histLastT : 0;
  return Math.max(tf, th) / 1000;
}

export function funcTsOfFirstOverTime(t: Float64Array, _f: Float64Array, from: number, to: number, call: RangeCall, _ann: Annotations): number | undefined {
  if (to - from + call.histCount === 0) return undefined;
  const tf = to > from ? t[from] : Infinity;
  const th = call.histCount > 0 ? call.histFirstT : Infinity;
  return Math.min(tf, th) / 1000;
}

// compareOverTime's modes.
const MAX = 0;
const MIN = 1;
const TS_OF_MAX = 2;
const TS_OF_MIN = 3;

function compareOverTime(t: Float64Array, f: Float64Array, from: number, to: number, call: RangeCall, ann: Annotations, mode: number): number | undefined {
  if (to - from === 0) return undefined;
  if (call.histCount > 0) ann.add(histogramIgnoredInMixedRangeInfo(call.metricName, call.pos));
  let best = f[from];
  let bestT = t[from];
  // A NaN best is replaced by anything; the ts_of_ variants take the last of equal values.
  for (let i = from; i < to; i++) {
    const cur = f[i];
    let take: boolean;
    switch (mode) {
      case MAX:
        take = cur > best || best !== best;
        break;
      case MIN:
        take = cur < best || best !== best;
        break;
      case TS_OF_MAX:
        take = cur >= best || best !== best;
        break;
      default:
        take = cur <= best || best !== best;
    }
    if (take) {
      best = cur;
      bestT = t[i];
    }
  }
  return mode === MAX || mode === MIN ? best : bestT / 1000;
}

export function funcMaxOverTime(t: Float64Array, f: Float64Array, from: number, to: number, call: RangeCall, ann: Annotations): number | undefined {
  return compareOverTime(t, f, from, to, call, ann, MAX);
}

export function funcMinOverTime(t: Float64Array, f: Float64Array, from: number, to: number, call: RangeCall, ann: Annotations): number | undefined {
  return compareOverTime(t, f, from, to, call, ann, MIN);
}

export function funcTsOfMaxOverTime(t: Float64Array, f: Float64Array, from: number, to: number, call: RangeCall, ann: Annotations): number | undefined {
  return compareOverTime(t, f, from, to, call, ann, TS_OF_MAX);
}

export function funcTsOfMinOverTime(t: Float64Array, f: Float64Array, from: number, to: number, call: RangeCall, ann: Annotations): number | undefined {
  return compareOverTime(t, f, from, to, call, ann, TS_OF_MIN);
}

/** The variance of the window (Welford's algorithm with Kahan-compensated mean and M2). */
function varianceOverTime(f: Float64Array, from: number, to: number): number {
  let count = 0;
  let mean = 0;
  let cMean = 0;
  let aux = 0;
  let cAux = 0;
  for (let i = from; i < to; i++) {
    const v = f[i];
    count++;
    const delta = v - (mean + cMean);
    // mean, cMean = kahansum.Inc(delta/count, mean, cMean)
    const inc = delta / count;
    let s = mean + inc;
    if (s === Infinity || s === -Infinity) cMean = 0;
    else if (Math.abs(mean) >= Math.abs(inc)) cMean += mean - s + inc;
    else cMean += inc - s + mean;
    mean = s;
    // aux, cAux = kahansum.Inc(delta*(v-(mean+cMean)), aux, cAux)
    const inc2 = delta * (v - (mean + cMean));
    s = aux + inc2;
    if (s === Infinity || s === -Infinity) cAux = 0;
    else if (Math.abs(aux) >= Math.abs(inc2)) cAux += aux - s + inc2;
    else cAux += inc2 - s + aux;
    aux = s;
  }
  return (aux + cAux) / count;
}

export function funcStdvarOverTime(_t: Float64Array, f: Float64Array, from: number, to: number, call: RangeCall, ann: Annotations): number | undefined {
  if (to - from === 0) return undefined;
  if (call.histCount > 0) ann.add(histogramIgnoredInMixedRangeInfo(call.metricName, call.pos));
  return varianceOverTime(f, from, to);
}

export function funcStddevOverTime(_t: Float64Array, f: Float64Array, from: number, to: number, call: RangeCall, ann: Annotations): number | undefined {
  if (to - from === 0) return undefined;
  if (call.histCount > 0) ann.add(histogramIgnoredInMixedRangeInfo(call.metricName, call.pos));
  return Math.sqrt(varianceOverTime(f, from, to));
}

// Scratch buffer for the sorting kernels, shared by all queries: it grows up to
// SCRATCH_KEEP points only, so that no query's large window stays alive in it after the
// query; larger windows get a buffer of their own.
const SCRATCH_KEEP = 1 << 16;
let scratch = new Float64Array(64);

function scratchCopy(f: Float64Array, from: number, to: number): Float64Array {
  const n = to - from;
  if (n > SCRATCH_KEEP) return f.slice(from, to);
  if (scratch.length < n) scratch = new Float64Array(Math.min(SCRATCH_KEEP, Math.max(n, scratch.length * 2)));
  const buf = scratch.subarray(0, n);
  buf.set(f.subarray(from, to));
  return buf;
}

export function funcQuantileOverTime(_t: Float64Array, f: Float64Array, from: number, to: number, call: RangeCall, ann: Annotations): number | undefined {
  if (to - from === 0) return undefined;
  const q = call.args[0];
  if (q !== q || q < 0 || q > 1) ann.add(invalidQuantileWarning(q, call.pos));
  if (call.histCount > 0) ann.add(histogramIgnoredInMixedRangeInfo(call.metricName, call.pos));
  if (q !== q || q < 0 || q > 1) return quantileOfSorted(q, f.subarray(from, to)); // NaN or ±Inf, no sort needed
  const values = scratchCopy(f, from, to);
  sortNaNFirst(values);
  return quantileOfSorted(q, values);
}

/** mad_over_time: the median of the absolute deviations from the median; NaN if any NaN. */
export function funcMadOverTime(_t: Float64Array, f: Float64Array, from: number, to: number, call: RangeCall, ann: Annotations): number | undefined {
  if (to - from === 0) return undefined;
  if (call.histCount > 0) ann.add(histogramIgnoredInMixedRangeInfo(call.metricName, call.pos));
  for (let i = from; i < to; i++) if (f[i] !== f[i]) return NaN;
  const values = scratchCopy(f, from, to);
  values.sort();
  const median = quantileOfSorted(0.5, values);
  for (let i = 0; i < values.length; i++) values[i] = Math.abs(values[i] - median);
  values.sort();
  return quantileOfSorted(0.5, values);
}

// ---- double_exponential_smoothing ----

/** Go's %f of a float64. */
function formatF(v: number): string {
  return formatFloatFixed(v, 6);
}

/**
 * Holt's linear (double exponential) smoothing with smoothing factor sf and trend factor
 * tf (both strictly between 0 and 1, else the query fails).
 */
export function funcDoubleExponentialSmoothing(
  _t: Float64Array,
  f: Float64Array,
  from: number,
  to: number,
  call: RangeCall,
  ann: Annotations,
): number | undefined {
  const sf = call.args[0];
  const tf = call.args[1];
  // NaN passes both checks, as in Go.
  if (sf <= 0 || sf >= 1) throw new FunctionError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${formatF(sf)}`);
  if (tf <= 0 || tf >= 1) throw new FunctionError(`invalid trend factor. Expected: 0 < tf < 1, got: ${formatF(tf)}`);
  const l = to - from;
  if (l < 2) {
    if (l === 1 && call.histCount > 0) ann.add(histogramIgnoredInMixedRangeInfo(call.metricName, call.pos));
    return undefined;
  }
  let s0 = 0;
  let s1 = f[from];
  let b = f[from + 1] - f[from];
  for (let i = 1; i < l; i++) {
    const x = sf * f[from + i];
    // calcTrendValue(i-1, tf, s0, s1, b)
    if (i - 1 !== 0) b = tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  if (call.histCount > 0) ann.add(histogramIgnoredInMixedRangeInfo(call.metricName, call.pos));
  return s1;
}
