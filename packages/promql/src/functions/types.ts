// The calling convention between the evaluator and the function kernels. Kernels are
// engine-agnostic: they see typed arrays, numbers, Sample arrays and strings, never AST
// nodes, and report Prometheus's annotations into a collector the evaluator passes in.

import type { PointCounts } from './range.js';
import type { PositionRange } from '../ast.js';
import type { Vector } from '../value.js';
import type { Annotations } from './annotations.js';

/**
 * Per-call context of a range-vector kernel. The evaluator may reuse one object for
 * every call (mutating its fields); kernels never keep it.
 */
export interface RangeCall {
  /** Left edge of the window in ms, exclusive: evalTs - offset - range. */
  rangeStart: number;
  /** Right edge of the window in ms, inclusive: evalTs - offset. */
  rangeEnd: number;
  /** The evaluation timestamp (ms). */
  evalTs: number;
  /**
   * The scalar arguments in call order, the matrix argument left out:
   * quantile_over_time(φ, m) → [φ]; predict_linear(m, s) → [s];
   * double_exponential_smoothing(m, sf, tf) → [sf, tf]; others → [].
   */
  args: readonly number[];
  /** The series' __name__ ('' when none): it goes into annotation texts. */
  metricName: string;
  /** Position of the call's first argument (Prometheus points annotations at args[0]). */
  pos: PositionRange;
  /** `anchored` range modifier: the window also holds the last point at or before rangeStart. */
  anchored: boolean;
  /**
   * `smoothed` range modifier: the window also holds one point at or before rangeStart
   * and the points up to the first one at or after rangeEnd (lookback-widened fetch).
   */
  smoothed: boolean;
  /**
   * Start timestamps (ms) parallel to the float points, 0 = unknown, or null when the
   * engine does not track them (only rate, increase, irate and resets read them).
   */
  st: Float64Array | null;
  /**
   * Native-histogram points of the same window, summarised (the float kernels only look at
   * floats): how many, and the timestamps of the first and last (unused when 0).
   */
  histCount: number;
  histFirstT: number;
  histLastT: number;
  /**
   * Counts over the series' points that long windows read in two lookups instead of a
   * scan (built by the kernels as they need them); the evaluator clears it per series.
   */
  counts?: PointCounts | null;
}


/**
 * A range-vector function over the float points t[from..to), f[from..to) of one series at
 * one step (stale markers already dropped, timestamps ascending). Returns the output value,
 * or undefined for "no output for this series at this step".
 *
 * The evaluator calls it whenever the window holds at least one point, float or histogram
 * (so from === to is possible when histCount > 0). No per-call allocation.
 */
export type RangeKernel = (
  t: Float64Array,
  f: Float64Array,
  from: number,
  to: number,
  call: RangeCall,
  ann: Annotations,
) => number | undefined;

/**
 * A per-sample function of an instant vector (abs, round, clamp, hour, …): the float value
 * and the call's scalar arguments in order (round(v, 5) → [5]; clamp(v, lo, hi) → [lo, hi];
 * date functions → [] and v is Unix seconds). Returns undefined to drop the sample
 * (only clamp* with max < min). The evaluator keeps the sample's metric and sets
 * dropName = true; histogram samples are skipped, as in Prometheus.
 */
export type InstantKernel = (v: number, args: readonly number[]) => number | undefined;

/** Per-call context of a vector-level kernel. */
export interface VectorCall {
  /** The evaluation timestamp (ms); histogram_quantile's annotations carry it. */
  evalTs: number;
  /** Scalar arguments in call order (histogram_quantile(φ, v) → [φ]; histogram_fraction(lo, hi, v) → [lo, hi]). */
  scalars: readonly number[];
  /**
   * String arguments in call order: label_replace → [dst, replacement, src, regex];
   * label_join → [dst, separator, ...src]; sort_by_label(_desc) → the label names.
   */
  strings: readonly string[];
  /** Positions of all the call's arguments, in order (annotations point at one of them). */
  argPos: readonly PositionRange[];
  /**
   * Counts one unit of work; the evaluator's version checks now and then for timeout and
   * cancellation and throws then. Kernels whose work is more than linear (sorting) call it
   * per comparison. Optional: kernels called outside an engine need none.
   */
  tick?: () => void;
}

/**
 * A function over a whole instant vector (sorting, label rewriting, classic histograms).
 * Returns a new array (input samples are not mutated; unchanged samples may be reused).
 * Throws FunctionError for Prometheus's evaluation errors (invalid regex, label name).
 */
export type VectorKernel = (vec: Vector, call: VectorCall, ann: Annotations) => Vector;

/** How the evaluator runs a function: one entry per implemented function name. */
export type KernelEntry =
  | {
      readonly kind: 'range';
      readonly kernel: RangeKernel;
      /**
       * True for functions whose result depends on the histogram points themselves (rate,
       * irate, changes, resets, sum/avg/last/first_over_time, …): when call.histCount > 0
       * the evaluator must use a histogram-aware implementation (not written yet), which
       * also raises the "mix of histograms and floats" warnings. False: the float kernel's
       * answer is complete for every window; it ignores or counts histogram points exactly
       * as Prometheus does, using the histCount/histFirstT/histLastT summary.
       */
      readonly histogramAware: boolean;
    }
  | { readonly kind: 'instant'; readonly kernel: InstantKernel }
  | { readonly kind: 'vector'; readonly kernel: VectorKernel }
  | { readonly kind: 'scalar'; readonly kernel: (evalTs: number) => number };

/** An evaluation error raised by a function (the query fails with exactly this message). */
export class FunctionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FunctionError';
  }
}
