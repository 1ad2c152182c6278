// Values the evaluator computes with (promql/value.go), laid out for speed:
// - an instant vector is an array of Sample objects (one per series, not per point);
// - a matrix is an array of Series whose points live in growable Float64Arrays, so
//   range evaluation allocates no object per sample.
// Timestamps are Unix milliseconds held in float64 (exact up to 2^53 ms, far beyond any
// real time). Sample values may be NaN with payload (the stale marker): they are kept in
// Float64Arrays or object fields, never in plain JS number arrays, which may quieten them.

import type { Labels } from '@thanos-ts/tsdb';
import type { FloatHistogram } from './histogram.js';
import { ValueType } from './value-type.js';

/** One point of an instant vector: a series' labels with a float or a histogram value. */
export interface Sample {
  metric: Labels;
  /** Timestamp in ms. */
  t: number;
  /** The float value; ignored when h is set. */
  f: number;
  /** The histogram value, or null for a float sample. */
  h: FloatHistogram | null;
  /**
   * Delayed name removal: the evaluator marks series whose __name__ must be dropped at
   * the end of evaluation, instead of dropping it right away.
   */
  dropName: boolean;
}

/** An instant vector. */
export type Vector = Sample[];

const NO_POINTS = new Float64Array(0);

/**
 * Float points (timestamp, value) of one series in two parallel growable arrays. Only the
 * first `length` entries are valid; `t`/`f` may be replaced when the buffer grows, so do
 * not keep references to them across push().
 */
export class FloatPoints {
  t: Float64Array;
  f: Float64Array;
  length = 0;

  constructor(capacity = 16) {
    // Empty buffers are shared: nothing can be written to them, and subclasses that
    // bring their own buffers should not pay two allocations first.
    this.t = capacity === 0 ? NO_POINTS : new Float64Array(capacity);
    this.f = capacity === 0 ? NO_POINTS : new Float64Array(capacity);
  }

  push(t: number, f: number): void {
    if (this.length === this.t.length) this.grow(this.length + 1);
    this.t[this.length] = t;
    this.f[this.length] = f;
    this.length++;
  }

  /** Ensures room for n points in total. */
  grow(n: number): void {
    if (n <= this.t.length) return;
    const cap = Math.max(n, this.t.length * 2, 16);
    const t = new Float64Array(cap);
    const f = new Float64Array(cap);
    t.set(this.t.subarray(0, this.length));
    f.set(this.f.subarray(0, this.length));
    this.t = t;
    this.f = f;
  }

  /** Empties the buffer, keeping its capacity for reuse. */
  reset(): void {
    this.length = 0;
  }

  /** Drops the first n points (sliding windows). */
  dropFirst(n: number): void {
    if (n <= 0) return;
    if (n >= this.length) {
      this.length = 0;
      return;
    }
    this.t.copyWithin(0, n, this.length);
    this.f.copyWithin(0, n, this.length);
    this.length -= n;
  }

  /** Views of the valid points (no copy). */
  timestamps(): Float64Array {
    return this.t.subarray(0, this.length);
  }

  values(): Float64Array {
    return this.f.subarray(0, this.length);
  }
}

/** Histogram points (timestamp, histogram) of one series. */
export class HistogramPoints {
  t: Float64Array;
  h: FloatHistogram[] = [];
  length = 0;

  constructor(capacity = 4) {
    this.t = new Float64Array(capacity);
  }

  push(t: number, h: FloatHistogram): void {
    if (this.length === this.t.length) {
      const nt = new Float64Array(Math.max(this.t.length * 2, 4));
      nt.set(this.t.subarray(0, this.length));
      this.t = nt;
    }
    this.t[this.length] = t;
    this.h[this.length] = h;
    this.length++;
  }

  reset(): void {
    this.length = 0;
    this.h.length = 0;
  }

  dropFirst(n: number): void {
    if (n <= 0) return;
    if (n >= this.length) {
      this.reset();
      return;
    }
    this.t.copyWithin(0, n, this.length);
    this.h.splice(0, n);
    this.length -= n;
  }
}

/** One series of a range vector: float points and histogram points, each in time order. */
export interface Series {
  metric: Labels;
  floats: FloatPoints;
  /** Null until the series has a histogram point. */
  histograms: HistogramPoints | null;
  /** See Sample.dropName. */
  dropName: boolean;
}

/** A range vector. */
export type Matrix = Series[];

export function newSeries(metric: Labels, capacity = 16): Series {
  return { metric, floats: new FloatPoints(capacity), histograms: null, dropName: false };
}

/** Number of points (floats and histograms) of a series. */
export function seriesLength(s: Series): number {
  return s.floats.length + (s.histograms?.length ?? 0);
}

export interface Scalar {
  t: number;
  v: number;
}

export interface StringValue {
  t: number;
  v: string;
}

/** The result of evaluating an expression, tagged with its type. */
export type Value =
  | { readonly type: typeof ValueType.Scalar; readonly scalar: Scalar }
  | { readonly type: typeof ValueType.String; readonly string: StringValue }
  | { readonly type: typeof ValueType.Vector; readonly vector: Vector }
  | { readonly type: typeof ValueType.Matrix; readonly matrix: Matrix };

export function scalarValue(t: number, v: number): Value {
  return { type: ValueType.Scalar, scalar: { t, v } };
}

export function stringValue(t: number, v: string): Value {
  return { type: ValueType.String, string: { t, v } };
}

export function vectorValue(vector: Vector): Value {
  return { type: ValueType.Vector, vector };
}

export function matrixValue(matrix: Matrix): Value {
  return { type: ValueType.Matrix, matrix };
}
