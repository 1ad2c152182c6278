// The preparation pass (Prometheus's populateSeries + checkAndExpandSeriesSet): every
// vector selector of the query is selected once, with hints covering the whole query
// range, and its samples are read into typed arrays. Evaluation then runs synchronously
// over these arrays: windows are index ranges found by binary search, never copies. A
// plain selector is evaluated on the query's steps right here, series by series, and an
// aggregation around it may take each series as it comes (a StepSink) and keep nothing;
// a range function over a matrix selector may likewise take each series' samples as
// they are read and keep only its own points.

import {
  type FloatSampleArrays,
  type FloatSampleReader,
  type Labels,
  type Querier,
  type SelectHints,
  type Series as StorageSeries,
  ValueType,
  isStaleNaN,
} from '@thanos-ts/tsdb';
import type { VectorSelector } from '../ast.js';
import { FloatPoints } from '../value.js';
import type { PointsArena } from './arena.js';
import { EvalError, QueryCanceledError, QueryTimeoutError, TooManySamplesError, UnsupportedError } from './errors.js';

/**
 * One selected series: its labels and its float samples in [hints.start, hints.end], or,
 * selected on a step grid, its values at the grid's steps.
 */
export interface SelectedSeries {
  readonly metric: Labels;
  /**
   * Samples in time order. Stale markers are kept for instant selectors and dropped for
   * range selectors. On a step grid: a point per step that has a value, at the step's time.
   */
  readonly points: FloatPoints;
  /** Set when the series comes from a subquery result whose name is to be dropped. */
  readonly dropName: boolean;
  /**
   * Start timestamps parallel to the points (0 = unknown), or null when the storage knows
   * none (only iterators with an atST() method provide them).
   */
  readonly st: Float64Array | null;
}

/** A series iterator that also knows the start timestamps of samples (OTel created timestamps). */
interface StartTimestampIterator {
  atST(): number;
}

function hasStartTimestamps(it: object): it is StartTimestampIterator {
  return typeof (it as Partial<StartTimestampIterator>).atST === 'function';
}

function readsFloatsInBulk(s: object): s is FloatSampleReader {
  return typeof (s as Partial<FloatSampleReader>).readFloats === 'function';
}

/**
 * The steps a plain vector selector is evaluated at: count steps from `start`, `interval`
 * apart, each reading the newest sample at or before (step - offset) that is newer than
 * (step - offset - lookback) and no stale marker.
 */
export interface StepGrid {
  start: number;
  interval: number;
  count: number;
  offset: number;
  lookback: number;
}

/** Takes a selected series' points on the step grid (t, f)[0, n), valid during the call only. */
export type StepSink = (metric: Labels, t: Float64Array, f: Float64Array, n: number) => void;

/** A selection evaluated on a grid: the buffer its points are made in, and who takes them. */
interface OnSteps {
  grid: StepGrid;
  buf: FloatPoints;
  sink: StepSink | null;
}

/**
 * How a selection hands on its series, when not as copies of their samples: evaluated on
 * a step grid (to a sink, or kept), or as read (stale markers dropped as asked) to a sink
 * that copies what it keeps.
 */
export type SelectMode = { kind: 'steps'; grid: StepGrid; sink: StepSink | null } | { kind: 'samples'; sink: StepSink };

/** The series of every selector of a query, by selector node. */
export type SelectedData = Map<VectorSelector, SelectedSeries[]>;

/** The error text of a failed selection (Prometheus wraps it the same way). */
function expandError(err: unknown): Error {
  return new Error(`expanding series: ${err instanceof Error ? err.message : String(err)}`);
}

/**
 * Selects one selector's series and reads their samples in [hints.start, hints.end].
 * dropStale: range selectors never see staleness markers, so they are left out here.
 * checkDone is called between series (timeouts, cancellation); countSelected with the
 * samples of each series read (it throws when the query's selection budget is spent).
 */
export async function selectSeries(
  querier: Querier,
  hints: SelectHints,
  vs: VectorSelector,
  dropStale: boolean,
  checkDone: () => void,
  arena: PointsArena,
  countSelected: (n: number) => void = () => {},
  mode: SelectMode | null = null,
): Promise<SelectedSeries[]> {
  const out: SelectedSeries[] = [];
  const scratch = new ReadScratch(checkDone);
  // Points on the steps are made in one buffer for all series, then handed to the sink
  // or copied out at their exact size (a bound made up front can be far too large: a
  // series alive for an hour of a two-day range).
  const onSteps: OnSteps | null = mode?.kind === 'steps' ? { grid: mode.grid, buf: new FloatPoints(0), sink: mode.sink } : null;
  const sink = mode === null ? null : mode.sink;
  try {
    for await (const s of querier.select(hints, vs.matchers)) {
      checkDone();
      const { points, st } = readPoints(s, hints.start, hints.end, dropStale, arena, scratch, checkDone, onSteps, sink !== null);
      countSelected(points.length);
      if (sink !== null) sink(s.labels, points.t, points.f, points.length);
      else out.push({ metric: s.labels, points, dropName: false, st });
    }
  } catch (err) {
    // A sink's evaluation errors are the query's own, not the storage's.
    if (err instanceof UnsupportedError || err instanceof QueryTimeoutError || err instanceof QueryCanceledError || err instanceof TooManySamplesError || err instanceof EvalError) throw err;
    throw expandError(err);
  }
  return out;
}

/** Samples read between two calls of checkDone within one series. */
const CHECK_EVERY_SAMPLES = 1 << 16;

/**
 * Samples are read into these buffers, then copied out at their exact size. One per
 * selection, not per module: they grow to the largest series read and must go with the
 * query. Bulk readers append to t and f, reserving room chunk by chunk.
 */
class ReadScratch implements FloatSampleArrays {
  // Small at first: most selections are of a few short series, and every query zeroes
  // these (a long series grows them by doubling).
  t: Float64Array = new Float64Array(128);
  f: Float64Array = new Float64Array(128);
  st: Float64Array = new Float64Array(128);
  n = 0;
  /** The samples read, as points, for a sink (views of t and f, valid until the next read). */
  readonly view = new FloatPoints(0);
  /** Samples reserved since checkDone was last called. */
  private unchecked = 0;

  constructor(private readonly checkDone: () => void) {}

  reserve(extra: number): void {
    this.unchecked += extra;
    if (this.unchecked >= CHECK_EVERY_SAMPLES) {
      this.unchecked = 0;
      this.checkDone();
    }
    if (this.n + extra > this.t.length) this.grow(this.n + extra);
  }

  /** Room for at least `size` samples in all three arrays, keeping the first n. */
  grow(size: number): void {
    let cap = this.t.length * 2;
    while (cap < size) cap *= 2;
    const grow = (a: Float64Array): Float64Array => {
      const b = new Float64Array(cap);
      b.set(a.subarray(0, this.n));
      return b;
    };
    this.t = grow(this.t);
    this.f = grow(this.f);
    this.st = grow(this.st);
  }
}

/**
 * Drops the stale markers from samples [0, n) of t and f, in place; returns how many
 * samples are left. A stale marker is a NaN, so the common case is one comparison each.
 */
function dropStaleMarkers(t: Float64Array, f: Float64Array, n: number): number {
  let i = 0;
  while (i < n && !(f[i] !== f[i] && isStaleNaN(f[i]))) i++;
  let k = i;
  for (; i < n; i++) {
    const v = f[i];
    if (v !== v && isStaleNaN(v)) continue;
    t[k] = t[i];
    f[k] = v;
    k++;
  }
  return k;
}

/**
 * The selector's value at each step of the grid, from its samples t/f[0, n)
 * (vectorSelectorSingle at every step): the points the evaluation produces, made here
 * so that a range query over long series never holds every sample, nor the samples and
 * the evaluated points at once.
 */
function evalOnSteps(t: Float64Array, f: Float64Array, n: number, g: StepGrid, p: FloatPoints): FloatPoints {
  // At most one point per step, and each sample lasts at most a lookback delta.
  p.reset();
  p.grow(Math.min(g.count, n * (Math.floor(g.lookback / g.interval) + 1)));
  if (n === 0) return p;
  const pt = p.t;
  const pf = p.f;
  let out = 0;
  const lastT = t[n - 1];
  let i = 0;
  for (let k = 0; k < g.count; k++) {
    const ts = g.start + k * g.interval;
    const ref = ts - g.offset;
    if (lastT <= ref - g.lookback) break;
    while (i < n && t[i] <= ref) i++;
    if (i === 0 || t[i - 1] <= ref - g.lookback) continue;
    const v = f[i - 1];
    if (v !== v && isStaleNaN(v)) continue;
    pt[out] = ts;
    pf[out] = v;
    out++;
  }
  p.length = out;
  return p;
}

/** Samples t/f[0, n) evaluated on the grid: as made for a sink (which copies what it keeps), else copied out at their size. */
function pointsOnSteps(t: Float64Array, f: Float64Array, n: number, s: OnSteps, arena: PointsArena): { points: FloatPoints; st: null } {
  const p = evalOnSteps(t, f, n, s.grid, s.buf);
  return { points: s.sink !== null ? p : arena.copy(p.t, p.f, 0, p.length), st: null };
}

function readPoints(
  s: StorageSeries,
  mint: number,
  maxt: number,
  dropStale: boolean,
  arena: PointsArena,
  scratch: ReadScratch,
  checkDone: () => void,
  onSteps: OnSteps | null,
  toSink: boolean,
): { points: FloatPoints; st: Float64Array | null } {
  // fast path: whole chunks decoded in tight loops
  if (readsFloatsInBulk(s)) {
    scratch.n = 0;
    if (s.readFloats(mint, maxt, scratch)) {
      if (onSteps !== null) return pointsOnSteps(scratch.t, scratch.f, scratch.n, onSteps, arena);
      const n = dropStale ? dropStaleMarkers(scratch.t, scratch.f, scratch.n) : scratch.n;
      return { points: toSink ? viewOf(scratch, scratch.t, scratch.f, n) : arena.copy(scratch.t, scratch.f, 0, n), st: null };
    }
  }
  let scratchT = scratch.t;
  let scratchF = scratch.f;
  let scratchST = scratch.st;
  let read = 0;
  const it = s.iterator();
  const withST = hasStartTimestamps(it);
  let anyST = false;
  let n = 0;
  let vt = it.seek(mint);
  while (vt !== ValueType.None) {
    if (vt !== ValueType.Float) {
      throw new UnsupportedError('native histograms are not supported by this engine yet');
    }
    if ((++read & (CHECK_EVERY_SAMPLES - 1)) === 0) checkDone();
    const t = it.atT();
    if (t > maxt) break;
    const f = it.atF();
    if (!(dropStale && isStaleNaN(f))) {
      if (n === scratchT.length) {
        scratch.n = n;
        scratch.grow(n + 1);
        scratchT = scratch.t;
        scratchF = scratch.f;
        scratchST = scratch.st;
      }
      scratchT[n] = t;
      scratchF[n] = f;
      if (withST) {
        const st = it.atST();
        scratchST[n] = st;
        if (st !== 0) anyST = true;
      }
      n++;
    }
    vt = it.next();
  }
  const err = it.err();
  if (err !== null) throw err;
  // The evaluation on steps reads no start timestamps.
  if (onSteps !== null) return pointsOnSteps(scratchT, scratchF, n, onSteps, arena);
  // A sink reads no start timestamps (the engine streams no function that needs them).
  if (toSink) return { points: viewOf(scratch, scratchT, scratchF, n), st: null };
  return { points: arena.copy(scratchT, scratchF, 0, n), st: anyST ? scratchST.slice(0, n) : null };
}

/** The samples read, without copying them: for a sink, which copies what it keeps. */
function viewOf(scratch: ReadScratch, t: Float64Array, f: Float64Array, n: number): FloatPoints {
  const v = scratch.view;
  v.t = t;
  v.f = f;
  v.length = n;
  return v;
}

/**
 * Index of the first point with timestamp > t in ts[from..to) (upper bound), by
 * binary search.
 */
export function upperBound(ts: Float64Array, from: number, to: number, t: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
