// Native histograms as PromQL computes with them: Prometheus's histogram.FloatHistogram
// (model/histogram/float_histogram.go), float counts, absolute (not delta) buckets.
//
// Bucket layout: buckets are stored densely per run ("span"); span i starts `offset`
// buckets after the end of span i-1 (the first offset is absolute). For exponential
// schema s, positive bucket index i covers (2^((i-1)·2^-s), 2^(i·2^-s)]; negative buckets
// mirror them. Schema -53 uses `customValues` as upper bounds instead (NHCB).
//
// Only what parsing needs is here today (copy, add, sub for `{{a}}+{{b}}xN` series); the
// evaluator's histogram functions extend this module.

/** What a histogram says about counter resets (histogram.CounterResetHint). */
export const CounterResetHint = {
  Unknown: 0,
  CounterReset: 1,
  NotCounterReset: 2,
  Gauge: 3,
} as const;
export type CounterResetHint = (typeof CounterResetHint)[keyof typeof CounterResetHint];

/** The schema of native histograms with custom buckets (NHCB). */
export const CUSTOM_BUCKETS_SCHEMA = -53;
export const EXPONENTIAL_SCHEMA_MIN = -4;
export const EXPONENTIAL_SCHEMA_MAX = 8;

/** A run of consecutive buckets. */
export interface Span {
  offset: number;
  length: number;
}

/** Raised by histogram arithmetic, with Prometheus's messages. */
export class HistogramError extends Error {
  override readonly name = 'HistogramError';
}

export const ERR_INCOMPATIBLE_SCHEMA = 'cannot apply this operation on histograms with a mix of exponential and custom bucket schemas';

export function isCustomBucketsSchema(s: number): boolean {
  return s === CUSTOM_BUCKETS_SCHEMA;
}

export function isExponentialSchema(s: number): boolean {
  return s >= EXPONENTIAL_SCHEMA_MIN && s <= EXPONENTIAL_SCHEMA_MAX;
}

/**
 * Upper bound of exponential bucket idx (getBoundExponential). The last finite bucket
 * ends at MaxFloat64 rather than +Inf. Fractional powers come from Math.pow, which may
 * differ from Prometheus's table of constants in the last bit.
 */
export function exponentialBound(idx: number, schema: number): number {
  if (schema < 0) {
    const exp = idx * 2 ** -schema;
    if (exp === 1024) return Number.MAX_VALUE;
    return 2 ** exp;
  }
  const div = 2 ** schema;
  const fracIdx = ((idx % div) + div) % div;
  const exp = Math.floor(idx / div) + 1;
  const frac = 2 ** (fracIdx / div - 1);
  if (frac === 0.5 && exp === 1025) return Number.MAX_VALUE;
  return frac * 2 ** exp;
}

/** A native histogram with float counts. */
export class FloatHistogram {
  counterResetHint: CounterResetHint = CounterResetHint.Unknown;
  /** -4..8 for exponential buckets, -53 for custom buckets. */
  schema = 0;
  /** Width of the zero bucket. */
  zeroThreshold = 0;
  /** Observations in the zero bucket. */
  zeroCount = 0;
  /** Total number of observations. */
  count = 0;
  /** Sum of observations (its bits also carry the stale marker). */
  sum = 0;
  positiveSpans: Span[] = [];
  negativeSpans: Span[] = [];
  /** Absolute counts, one per bucket covered by positiveSpans. */
  positiveBuckets: number[] = [];
  negativeBuckets: number[] = [];
  /** Upper bounds of the custom buckets (schema -53), else null. */
  customValues: number[] | null = null;

  usesCustomBuckets(): boolean {
    return isCustomBucketsSchema(this.schema);
  }

  /** A deep copy (custom values are shared, as in Prometheus). */
  copy(): FloatHistogram {
    const c = new FloatHistogram();
    c.counterResetHint = this.counterResetHint;
    c.schema = this.schema;
    c.count = this.count;
    c.sum = this.sum;
    if (this.usesCustomBuckets()) {
      c.customValues = this.customValues;
    } else {
      c.zeroThreshold = this.zeroThreshold;
      c.zeroCount = this.zeroCount;
      c.negativeSpans = this.negativeSpans.map((s) => ({ ...s }));
      c.negativeBuckets = this.negativeBuckets.slice();
    }
    c.positiveSpans = this.positiveSpans.map((s) => ({ ...s }));
    c.positiveBuckets = this.positiveBuckets.slice();
    return c;
  }

  /**
   * Adds other into this histogram (FloatHistogram.Add) and returns this. Zero thresholds
   * and schemas are reconciled (to the wider zero bucket, the coarser schema). Returns
   * whether the counter reset hints collided (reset vs not-reset).
   */
  add(other: FloatHistogram): boolean {
    return this.addOrSub(other, false);
  }

  /** Subtracts other from this histogram (FloatHistogram.Sub); see add. */
  sub(other: FloatHistogram): boolean {
    return this.addOrSub(other, true);
  }

  private addOrSub(other: FloatHistogram, negative: boolean): boolean {
    if (this.usesCustomBuckets() !== other.usesCustomBuckets()) throw new HistogramError(ERR_INCOMPATIBLE_SCHEMA);
    const collision = this.adjustCounterReset(other);
    const sign = negative ? -1 : 1;
    if (!this.usesCustomBuckets()) {
      const otherZeroCount = this.reconcileZeroBuckets(other); // may change this.zeroCount
      this.zeroCount += sign * otherZeroCount;
    }
    this.count += sign * other.count;
    this.sum += sign * other.sum;

    if (this.usesCustomBuckets()) {
      if (!customBoundsMatch(this.customValues, other.customValues)) {
        throw new HistogramError('adding native histograms with different custom bucket bounds is not supported yet');
      }
      [this.positiveSpans, this.positiveBuckets] = addBuckets(
        this.schema,
        this.zeroThreshold,
        negative,
        this.positiveSpans,
        this.positiveBuckets,
        other.positiveSpans,
        other.positiveBuckets,
      );
      return collision;
    }

    let oPosSpans = other.positiveSpans;
    let oPosBuckets = other.positiveBuckets;
    let oNegSpans = other.negativeSpans;
    let oNegBuckets = other.negativeBuckets;
    if (other.schema < this.schema) {
      [this.positiveSpans, this.positiveBuckets] = reduceResolution(this.positiveSpans, this.positiveBuckets, this.schema, other.schema);
      [this.negativeSpans, this.negativeBuckets] = reduceResolution(this.negativeSpans, this.negativeBuckets, this.schema, other.schema);
      this.schema = other.schema;
    } else if (other.schema > this.schema) {
      [oPosSpans, oPosBuckets] = reduceResolution(oPosSpans, oPosBuckets, other.schema, this.schema);
      [oNegSpans, oNegBuckets] = reduceResolution(oNegSpans, oNegBuckets, other.schema, this.schema);
    }
    [this.positiveSpans, this.positiveBuckets] = addBuckets(
      this.schema,
      this.zeroThreshold,
      negative,
      this.positiveSpans,
      this.positiveBuckets,
      oPosSpans,
      oPosBuckets,
    );
    [this.negativeSpans, this.negativeBuckets] = addBuckets(
      this.schema,
      this.zeroThreshold,
      negative,
      this.negativeSpans,
      this.negativeBuckets,
      oNegSpans,
      oNegBuckets,
    );
    return collision;
  }

  /** Prometheus's adjustCounterReset: the hint of a sum or difference. */
  private adjustCounterReset(other: FloatHistogram): boolean {
    const h = this.counterResetHint;
    const o = other.counterResetHint;
    if (o === h || h === CounterResetHint.Gauge) return false;
    if (o === CounterResetHint.Gauge) {
      this.counterResetHint = CounterResetHint.Gauge;
      return false;
    }
    if (h === CounterResetHint.Unknown) return false;
    this.counterResetHint = CounterResetHint.Unknown;
    return o !== CounterResetHint.Unknown; // reset vs not-reset
  }

  /**
   * Widens the zero bucket of this histogram and (virtually) of other until both have the
   * same threshold, not cutting through a populated bucket; returns other's zero count
   * for that threshold.
   */
  private reconcileZeroBuckets(other: FloatHistogram): number {
    let otherZeroCount = other.zeroCount;
    let otherZeroThreshold = other.zeroThreshold;
    while (otherZeroThreshold !== this.zeroThreshold) {
      if (this.zeroThreshold > otherZeroThreshold) {
        [otherZeroCount, otherZeroThreshold] = other.zeroCountForLargerThreshold(this.zeroThreshold);
      }
      if (otherZeroThreshold > this.zeroThreshold) {
        [this.zeroCount, this.zeroThreshold] = this.zeroCountForLargerThreshold(otherZeroThreshold);
        this.trimBucketsInZeroBucket();
      }
    }
    return otherZeroCount;
  }

  private zeroCountForLargerThreshold(larger: number): [number, number] {
    if (larger === this.zeroThreshold) return [this.zeroCount, larger];
    outer: for (;;) {
      let zc = this.zeroCount;
      for (const [idx, cnt] of bucketEntries(this.positiveSpans, this.positiveBuckets)) {
        const lower = exponentialBound(idx - 1, this.schema);
        const upper = exponentialBound(idx, this.schema);
        if (lower >= larger) break;
        zc += cnt;
        if (upper > larger) {
          if (cnt !== 0) larger = upper;
          break;
        }
      }
      for (const [idx, cnt] of bucketEntries(this.negativeSpans, this.negativeBuckets)) {
        const lowerAbs = exponentialBound(idx - 1, this.schema);
        const upperAbs = exponentialBound(idx, this.schema);
        if (lowerAbs >= larger) break;
        zc += cnt;
        if (upperAbs > larger) {
          if (cnt !== 0) {
            larger = upperAbs;
            continue outer;
          }
          break;
        }
      }
      return [zc, larger];
    }
  }

  /** Drops the buckets now inside the zero bucket (their counts were moved already). */
  private trimBucketsInZeroBucket(): void {
    const keep = (spans: Span[], buckets: number[]): [Span[], number[]] => {
      const idx: number[] = [];
      const val: number[] = [];
      for (const [i, c] of bucketEntries(spans, buckets)) {
        if (exponentialBound(i - 1, this.schema) < this.zeroThreshold) continue;
        if (c === 0) continue; // Prometheus compacts away every empty bucket here
        idx.push(i);
        val.push(c);
      }
      return [spansFromIndexes(idx), val];
    };
    [this.positiveSpans, this.positiveBuckets] = keep(this.positiveSpans, this.positiveBuckets);
    [this.negativeSpans, this.negativeBuckets] = keep(this.negativeSpans, this.negativeBuckets);
  }
}

function customBoundsMatch(a: number[] | null, b: number[] | null): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** (bucket index, count) pairs in index order. */
export function* bucketEntries(spans: readonly Span[], buckets: readonly number[]): Generator<[number, number]> {
  let idx = 0;
  let k = 0;
  for (const s of spans) {
    idx += s.offset;
    for (let j = 0; j < s.length && k < buckets.length; j++) yield [idx++, buckets[k++]];
  }
}

/** Spans covering sorted bucket indexes, one span per consecutive run. */
function spansFromIndexes(idx: readonly number[]): Span[] {
  const spans: Span[] = [];
  let prev = 0;
  for (let i = 0; i < idx.length; i++) {
    const cur = spans[spans.length - 1];
    if (cur !== undefined && idx[i] === prev + 1) cur.length++;
    else spans.push({ offset: spans.length === 0 ? idx[i] : idx[i] - prev - 1, length: 1 });
    prev = idx[i];
  }
  return spans;
}

/** Adds (or subtracts) the buckets of b to those of a; b's buckets inside the zero bucket are ignored. */
function addBuckets(
  schema: number,
  threshold: number,
  negative: boolean,
  spansA: readonly Span[],
  bucketsA: readonly number[],
  spansB: readonly Span[],
  bucketsB: readonly number[],
): [Span[], number[]] {
  const a = [...bucketEntries(spansA, bucketsA)];
  const b = [...bucketEntries(spansB, bucketsB)].filter(
    ([i]) => !(isExponentialSchema(schema) && exponentialBound(i, schema) <= threshold),
  );
  const idx: number[] = [];
  const val: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i][0] < b[j][0])) {
      idx.push(a[i][0]);
      val.push(a[i][1]);
      i++;
    } else {
      const bv = negative ? -b[j][1] : b[j][1];
      if (i < a.length && a[i][0] === b[j][0]) {
        idx.push(a[i][0]);
        val.push(a[i][1] + bv);
        i++;
      } else {
        idx.push(b[j][0]);
        val.push(bv);
      }
      j++;
    }
  }
  return [spansFromIndexes(idx), val];
}

/** Merges buckets into the coarser target schema (reduceResolution, absolute counts). */
function reduceResolution(spans: readonly Span[], buckets: readonly number[], from: number, to: number): [Span[], number[]] {
  const idx: number[] = [];
  const val: number[] = [];
  const shift = from - to;
  for (const [i, c] of bucketEntries(spans, buckets)) {
    const t = Math.floor((i - 1) / 2 ** shift) + 1;
    if (idx.length > 0 && idx[idx.length - 1] === t) val[val.length - 1] += c;
    else {
      idx.push(t);
      val.push(c);
    }
  }
  return [spansFromIndexes(idx), val];
}
