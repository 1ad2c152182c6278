// The preparation pass (Prometheus's populateSeries + checkAndExpandSeriesSet): every
// vector selector of the query is selected once, with hints covering the whole query
// range, and its samples are read into typed arrays. Evaluation then runs synchronously
// over these arrays: windows are index ranges found by binary search, never copies.

import { type Labels, type Querier, type SelectHints, type Series as StorageSeries, ValueType, isStaleNaN } from '@thanos-ts/tsdb';
import type { VectorSelector } from '../ast.js';
import type { FloatPoints } from '../value.js';
import type { PointsArena } from './arena.js';
import { QueryCanceledError, QueryTimeoutError, TooManySamplesError, UnsupportedError } from './errors.js';

/** One selected series: its labels and its float samples in [hints.start, hints.end]. */
export interface SelectedSeries {
  readonly metric: Labels;
  /** Samples in time order. Stale markers are kept for instant selectors and dropped for range selectors. */
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
): Promise<SelectedSeries[]> {
  const out: SelectedSeries[] = [];
  const scratch = new ReadScratch();
  try {
    for await (const s of querier.select(hints, vs.matchers)) {
      checkDone();
      const { points, st } = readPoints(s, hints.start, hints.end, dropStale, arena, scratch, checkDone);
      countSelected(points.length);
      out.push({ metric: s.labels, points, dropName: false, st });
    }
  } catch (err) {
    if (err instanceof UnsupportedError || err instanceof QueryTimeoutError || err instanceof QueryCanceledError || err instanceof TooManySamplesError) throw err;
    throw expandError(err);
  }
  return out;
}

/**
 * Samples are read into these buffers, then copied out at their exact size. One per
 * selection, not per module: they grow to the largest series read and must go with the
 * query.
 */
class ReadScratch {
  t: Float64Array = new Float64Array(1024);
  f: Float64Array = new Float64Array(1024);
  st: Float64Array = new Float64Array(1024);
}

/** Samples read between two calls of checkDone within one series. */
const CHECK_EVERY_SAMPLES = 1 << 16;

function readPoints(
  s: StorageSeries,
  mint: number,
  maxt: number,
  dropStale: boolean,
  arena: PointsArena,
  scratch: ReadScratch,
  checkDone: () => void,
): { points: FloatPoints; st: Float64Array | null } {
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
        const grow = (a: Float64Array): Float64Array => {
          const b = new Float64Array(n * 2);
          b.set(a);
          return b;
        };
        scratchT = scratch.t = grow(scratchT);
        scratchF = scratch.f = grow(scratchF);
        scratchST = scratch.st = grow(scratchST);
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
  return { points: arena.copy(scratchT, scratchF, 0, n), st: anyST ? scratchST.slice(0, n) : null };
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
