// Annotations: the warnings and infos a query returns beside its result
// (util/annotations/annotations.go). Like Prometheus, they are deduplicated by their text
// without position; the position ("line:col" of the sub-expression that raised them) is
// only appended when they are rendered against the query string.

import type { PositionRange } from '../ast.js';
import { formatFloatG, quoteGo } from '../go-strconv.js';
import { positionToLineCol } from '../parse-error.js';

export const AnnotationKind = {
  Warning: 'warning',
  Info: 'info',
} as const;
export type AnnotationKind = (typeof AnnotationKind)[keyof typeof AnnotationKind];

const WARNING_PREFIX = 'PromQL warning: ';
const INFO_PREFIX = 'PromQL info: ';

/** One annotation. `text` is the full text without position, e.g. `PromQL info: …`. */
export class Annotation {
  constructor(
    readonly kind: AnnotationKind,
    readonly text: string,
    readonly pos: PositionRange,
  ) {}

  /** The deduplication key (Prometheus: the error text before the query is known). */
  get key(): string {
    return this.text;
  }

  /** The text the API returns: `<text> (<line>:<col>)`; without a query, just the text. */
  render(query: string): string {
    if (query === '') return this.text;
    return `${this.text} (${positionToLineCol(query, this.pos.start)})`;
  }

  /** Combines with an earlier annotation of the same key; the plain kind keeps the newer one. */
  mergeWith(_previous: Annotation): Annotation {
    return this;
  }
}

function warning(text: string, pos: PositionRange): Annotation {
  return new Annotation(AnnotationKind.Warning, WARNING_PREFIX + text, pos);
}

function info(text: string, pos: PositionRange): Annotation {
  return new Annotation(AnnotationKind.Info, INFO_PREFIX + text, pos);
}

/** The set of annotations of one query (or one part of it, to be merged). */
export class Annotations {
  private readonly byKey = new Map<string, Annotation>();

  /** Adds a, merging it with an earlier annotation of the same text. */
  add(a: Annotation): this {
    const prev = this.byKey.get(a.key);
    this.byKey.set(a.key, prev === undefined ? a : a.mergeWith(prev));
    return this;
  }

  /** Adds every annotation of other. */
  merge(other: Annotations): this {
    for (const a of other.byKey.values()) this.add(a);
    return this;
  }

  get size(): number {
    return this.byKey.size;
  }

  /** The annotations in insertion order. */
  values(): IterableIterator<Annotation> {
    return this.byKey.values();
  }

  clear(): void {
    this.byKey.clear();
  }

  /** Number of warnings and infos. */
  counts(): { warnings: number; infos: number } {
    let warnings = 0;
    let infos = 0;
    for (const a of this.byKey.values()) {
      if (a.kind === AnnotationKind.Info) infos++;
      else warnings++;
    }
    return { warnings, infos };
  }

  /**
   * Prometheus's AsStrings: rendered warnings and infos, at most maxWarnings/maxInfos of
   * each (0 = no limit) plus an "N more … annotations omitted" line when some were cut.
   */
  asStrings(query: string, maxWarnings = 0, maxInfos = 0): { warnings: string[]; infos: string[] } {
    const warnings: string[] = [];
    const infos: string[] = [];
    let warnSkipped = 0;
    let infoSkipped = 0;
    for (const a of this.byKey.values()) {
      if (a.kind === AnnotationKind.Info) {
        if (maxInfos === 0 || infos.length < maxInfos) infos.push(a.render(query));
        else infoSkipped++;
      } else if (maxWarnings === 0 || warnings.length < maxWarnings) {
        warnings.push(a.render(query));
      } else {
        warnSkipped++;
      }
    }
    if (warnSkipped > 0) warnings.push(`${warnSkipped} more warning annotations omitted`);
    if (infoSkipped > 0) infos.push(`${infoSkipped} more info annotations omitted`);
    return { warnings, infos };
  }
}

// ---- constructors, one per Prometheus annotation, same texts ----

/** ` for metric name "x"`, or nothing when the name is empty (maybeAddMetricName). */
function forMetricName(metricName: string): string {
  return metricName === '' ? '' : ` for metric name ${quoteGo(metricName)}`;
}

export function invalidQuantileWarning(q: number, pos: PositionRange): Annotation {
  return warning(`quantile value should be between 0 and 1, got ${formatFloatG(q)}`, pos);
}

export function invalidRatioWarning(q: number, to: number, pos: PositionRange): Annotation {
  return warning(`ratio value should be between -1 and 1, got ${formatFloatG(q)}, capping to ${formatFloatG(to)}`, pos);
}

/** A classic histogram bucket whose `le` label is missing or not a number. */
export function badBucketLabelWarning(metricName: string, label: string, pos: PositionRange): Annotation {
  return warning(`bucket label "le" is missing or has a malformed value of ${quoteGo(label)}${forMetricName(metricName)}`, pos);
}

export function mixedFloatsHistogramsWarning(metricName: string, pos: PositionRange): Annotation {
  return warning(`encountered a mix of histograms and floats for metric name ${quoteGo(metricName)}`, pos);
}

export function mixedFloatsHistogramsAggWarning(pos: PositionRange): Annotation {
  return warning('encountered a mix of histograms and floats for aggregation', pos);
}

export function mixedClassicNativeHistogramsWarning(metricName: string, pos: PositionRange): Annotation {
  return warning(`vector contains a mix of classic and native histograms${forMetricName(metricName)}`, pos);
}

export function nativeHistogramNotCounterWarning(metricName: string, pos: PositionRange): Annotation {
  return warning(`this native histogram metric is not a counter: ${quoteGo(metricName)}`, pos);
}

export function nativeHistogramNotGaugeWarning(metricName: string, pos: PositionRange): Annotation {
  return warning(`this native histogram metric is not a gauge: ${quoteGo(metricName)}`, pos);
}

export function mixedExponentialCustomHistogramsWarning(metricName: string, pos: PositionRange): Annotation {
  return warning(
    `vector contains a mix of histograms with exponential and custom buckets schemas for metric name ${quoteGo(metricName)}`,
    pos,
  );
}

export function incompatibleBucketLayoutInBinOpWarning(operator: string, pos: PositionRange): Annotation {
  return warning(`incompatible bucket layout encountered for binary operator ${operator}`, pos);
}

export function sortInRangeQueryWarning(pos: PositionRange): Annotation {
  return warning('sort is ineffective for range queries since results are always ordered by labels', pos);
}

/** rate/increase over a float series whose name has none of the counter suffixes. */
export function possibleNonCounterInfo(metricName: string, pos: PositionRange): Annotation {
  return info(`metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${quoteGo(metricName)}`, pos);
}

/** The same check when type-and-unit labels are on: __type__ is neither counter nor histogram. */
export function possibleNonCounterLabelInfo(metricName: string, typeLabel: string, pos: PositionRange): Annotation {
  return info(
    `metric might not be a counter, __type__ label is not set to "counter" or "histogram", got ${quoteGo(typeLabel)}: ${quoteGo(metricName)}`,
    pos,
  );
}

export function incompatibleTypesInBinOpInfo(lhsType: string, operator: string, rhsType: string, pos: PositionRange): Annotation {
  return info(`incompatible sample types encountered for binary operator ${quoteGo(operator)}: ${lhsType} ${operator} ${rhsType}`, pos);
}

export function histogramIgnoredInAggregationInfo(aggregation: string, pos: PositionRange): Annotation {
  return info(`ignored histogram in ${aggregation} aggregation`, pos);
}

export function histogramIgnoredInMixedRangeInfo(metricName: string, pos: PositionRange): Annotation {
  return info(`ignored histograms in a range containing both floats and histograms for metric name ${quoteGo(metricName)}`, pos);
}

export function nativeHistogramQuantileNaNResultInfo(metricName: string, pos: PositionRange): Annotation {
  return info(`input to histogram_quantile has NaN observations, result is NaN${forMetricName(metricName)}`, pos);
}

export function nativeHistogramQuantileNaNSkewInfo(metricName: string, pos: PositionRange): Annotation {
  return info(`input to histogram_quantile has NaN observations, result is skewed higher${forMetricName(metricName)}`, pos);
}

export function nativeHistogramFractionNaNsInfo(metricName: string, pos: PositionRange): Annotation {
  return info(`input to histogram_fraction has NaN observations, which are excluded from all fractions${forMetricName(metricName)}`, pos);
}

export const HistogramOperation = {
  Add: 'addition',
  Sub: 'subtraction',
  Agg: 'aggregation',
} as const;
export type HistogramOperation = (typeof HistogramOperation)[keyof typeof HistogramOperation];

export function histogramCounterResetCollisionWarning(pos: PositionRange, operation: HistogramOperation): Annotation {
  return warning(`conflicting counter resets during histogram ${operation}`, pos);
}

export function mismatchedCustomBucketsHistogramsInfo(pos: PositionRange, operation: HistogramOperation): Annotation {
  return info(`mismatched custom buckets were reconciled during ${operation}`, pos);
}

/**
 * histogram_quantile had to fix non-monotonic classic buckets. Annotations of the same
 * metric merge: the rendered text reports the bucket and time span over all of them.
 */
export class ForcedMonotonicityAnnotation extends Annotation {
  constructor(
    text: string,
    pos: PositionRange,
    readonly minTs: number,
    readonly maxTs: number,
    readonly minBucket: number,
    readonly maxBucket: number,
    readonly maxDiff: number,
    /** Number of merged occurrences minus one (as Prometheus counts). */
    readonly count: number,
  ) {
    super(AnnotationKind.Info, text, pos);
  }

  override render(query: string): string {
    if (query === '') return this.text;
    return (
      `${this.text}, from buckets ${formatFloatG(this.minBucket)} to ${formatFloatG(this.maxBucket)}, ` +
      `with a max diff of ${formatFloatPrecG(this.maxDiff, 2)}, over ${this.count + 1} samples ` +
      `from ${rfc3339Seconds(this.minTs)} to ${rfc3339Seconds(this.maxTs)} (${positionToLineCol(query, this.pos.start)})`
    );
  }

  override mergeWith(previous: Annotation): Annotation {
    if (!(previous instanceof ForcedMonotonicityAnnotation) || previous.text !== this.text) return this;
    // Prometheus keeps the earlier annotation's position and widens its ranges.
    return new ForcedMonotonicityAnnotation(
      previous.text,
      previous.pos,
      Math.min(this.minTs, previous.minTs),
      Math.max(this.maxTs, previous.maxTs),
      this.minBucket < previous.minBucket ? this.minBucket : previous.minBucket,
      this.maxBucket > previous.maxBucket ? this.maxBucket : previous.maxBucket,
      this.maxDiff > previous.maxDiff ? this.maxDiff : previous.maxDiff,
      previous.count + this.count + 1,
    );
  }
}

export function histogramQuantileForcedMonotonicityInfo(
  metricName: string,
  pos: PositionRange,
  ts: number,
  minBucket: number,
  maxBucket: number,
  maxDiff: number,
): Annotation {
  const text =
    INFO_PREFIX +
    'input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)' +
    forMetricName(metricName);
  return new ForcedMonotonicityAnnotation(text, pos, ts, ts, minBucket, maxBucket, maxDiff, 0);
}

/** A sample's start time overlaps the previous sample; merged occurrences are counted. */
export class StartTimeOverlapAnnotation extends Annotation {
  constructor(
    readonly metricName: string,
    pos: PositionRange,
    readonly count: number,
  ) {
    super(
      AnnotationKind.Warning,
      `${WARNING_PREFIX}sample has start time that overlaps with previous sample timestamp for metric ${quoteGo(metricName)}`,
      pos,
    );
  }

  override render(query: string): string {
    if (query === '') return this.text;
    const times = this.count > 1 ? ` (${this.count} occurrences)` : '';
    return `${this.text}${times} (${positionToLineCol(query, this.pos.start)})`;
  }

  override mergeWith(previous: Annotation): Annotation {
    if (!(previous instanceof StartTimeOverlapAnnotation) || previous.metricName !== this.metricName) return this;
    return new StartTimeOverlapAnnotation(previous.metricName, previous.pos, previous.count + this.count);
  }
}

export function startTimeOverlapWarning(metricName: string, pos: PositionRange): Annotation {
  return new StartTimeOverlapAnnotation(metricName, pos, 1);
}

// ---- formatting helpers ----

/** Go's time.Unix(ms/1000, 0).UTC().Format(time.RFC3339) (integer division truncates toward 0). */
function rfc3339Seconds(ms: number): string {
  const d = new Date(Math.trunc(ms / 1000) * 1000);
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Go's fmt %.Ng of a float64: the exact binary value rounded to N significant digits (ties
 * to even), exponent form outside [1e-4, 1e(N)), trailing zeros dropped.
 */
export function formatFloatPrecG(v: number, prec: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  if (prec === 0) prec = 1;
  const sign = v < 0 ? '-' : '';
  const { digits, exp } = roundSignificant(Math.abs(v), prec);
  const trimmed = digits.replace(/0+$/, '') || '0';
  if (exp < -4 || exp >= prec) {
    const mant = trimmed.length > 1 ? `${trimmed[0]}.${trimmed.slice(1)}` : trimmed;
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${trimmed}`;
  const intPart = trimmed.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = trimmed.slice(exp + 1);
  return sign + intPart + (frac === '' ? '' : `.${frac}`);
}

/** The n significant decimal digits of v > 0 (exact, ties to even) and the exponent of the first. */
function roundSignificant(v: number, n: number): { digits: string; exp: number } {
  // v = mant * 2^e exactly.
  const F = new Float64Array([v]);
  const U = new BigUint64Array(F.buffer);
  const bits = U[0];
  const bexp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let e: number;
  if (bexp === 0) e = -1074;
  else {
    mant |= 1n << 52n;
    e = bexp - 1075;
  }
  let num = e >= 0 ? mant << BigInt(e) : mant;
  let den = e >= 0 ? 1n : 1n << BigInt(-e);
  // Decimal exponent of the leading digit: 10^exp <= v < 10^(exp+1).
  let exp = Math.floor(Math.log10(v));
  const pow = (k: number): bigint => 10n ** BigInt(k);
  const geq = (k: number): boolean => (k >= 0 ? num >= den * pow(k) : num * pow(-k) >= den);
  while (!geq(exp)) exp--;
  while (geq(exp + 1)) exp++;
  const shift = n - 1 - exp;
  if (shift >= 0) num *= pow(shift);
  else den *= pow(-shift);
  let q = num / den;
  const r2 = (num % den) * 2n;
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) q += 1n;
  if (q === pow(n)) {
    q /= 10n;
    exp++;
  }
  return { digits: q.toString(), exp };
}
