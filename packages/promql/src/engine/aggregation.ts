// Aggregation operators (promql/engine.go: rangeEvalAgg, aggregation, aggregationK,
// aggregationCountValues). Float semantics follow Prometheus operation by operation:
// Kahan-Neumaier sums for sum and avg (avg switching to an incremental mean when the sum
// would overflow), Welford for stddev/stdvar, NaN-aware min/max, container/heap order for
// topk/bottomk/limitk.

import type { Labels } from '@thanos-ts/tsdb';
import type { AggregateExpr } from '../ast.js';
import { type Annotations, invalidQuantileWarning, invalidRatioWarning } from '../functions/annotations.js';
import { kahanSumInc } from '../functions/kahan.js';
import { quantile } from '../functions/quantile.js';
import { formatFloatF, formatFloatG } from '../go-strconv.js';
import type { Matrix, Series, Vector } from '../value.js';
import { EvalError, TooManySamplesError } from './errors.js';
import type { StepGrid } from './select.js';
import { METRIC_NAME_LABEL, hashRatioOffset } from './hash-ratio.js';
import { deleteLabels, keepLabels, keyWithLabels, keyWithoutLabels, setLabel } from './label-sets.js';
import { type EvalNodeHelper, keyOf } from './node-helper.js';

/** The largest float that converts to int64 without overflow, and the smallest (engine.go). */
const MAX_INT64 = 9223372036854774784;
const MIN_INT64 = -9223372036854775808;

/** A scalar parameter of an aggregation, per step (fParams). */
export class FParams {
  private i = 0;
  constructor(
    /** Values per step, or null when there is no parameter. */
    private readonly values: Float64Array | null,
    private readonly constant: boolean,
    readonly min: number,
    readonly max: number,
    readonly hasNaN: boolean,
  ) {}

  static none(): FParams {
    return new FParams(null, false, 0, 0, false);
  }

  /** From a number literal: the same value at every step. */
  static constant(v: number): FParams {
    return new FParams(Float64Array.of(v), true, v, v, Number.isNaN(v));
  }

  /** From the points of a scalar expression, one per step. */
  static series(values: Float64Array): FParams {
    let min = Number.MAX_VALUE;
    let max = -Number.MAX_VALUE;
    let hasNaN = false;
    for (const v of values) {
      max = Math.max(max, v);
      min = Math.min(min, v);
      if (v !== v) hasNaN = true;
    }
    return new FParams(values, false, min, max, hasNaN);
  }

  next(): number {
    if (this.values === null) return 0;
    if (this.constant) return this.values[0];
    return this.i < this.values.length ? this.values[this.i++] : 0;
  }
}

/** What the aggregation needs from the evaluator. */
export interface AggregationContext {
  readonly startTs: number;
  readonly endTs: number;
  readonly interval: number;
  /** Steps are start + i·interval for i < numSteps (counted, never accumulated). */
  readonly numSteps: number;
  readonly annos: Annotations;
  readonly enableDelayedNameRemoval: boolean;
  checkDone(): void;
  /** Counts work (default one unit): checks for timeout and cancellation now and then. */
  tick(work?: number): void;
  /** Accounts for samples held in memory; throws when over the limit. */
  checkSamples(): void;
  /** A new, empty result series. */
  newSeries(metric: Labels, cap: number, max?: number): Series;
}

/** The grouping key of a series (generateGroupingKey). */
function groupingKey(metric: Labels, grouping: readonly string[], without: boolean): string {
  if (without) return keyWithoutLabels(metric, grouping, true);
  if (grouping.length === 0) return '';
  return keyWithLabels(metric, grouping);
}

/** The labels of a group's result (generateGroupingLabels). */
function groupingLabels(metric: Labels, grouping: readonly string[], without: boolean): Labels {
  if (without) return deleteLabels(metric, [...grouping, METRIC_NAME_LABEL]);
  if (grouping.length > 0) return keepLabels(metric, grouping);
  return [];
}

interface Group {
  seen: boolean;
  floatValue: number;
  floatMean: number;
  kahanC: number;
  groupCount: number;
  incrementalMean: boolean;
  dropName: boolean;
  values: number[];
  heap: HeapSample[];
  complete: boolean;
}

function newGroup(): Group {
  return {
    seen: false,
    floatValue: 0,
    floatMean: 0,
    kahanC: 0,
    groupCount: 0,
    incrementalMean: false,
    dropName: false,
    values: [],
    heap: [],
    complete: false,
  };
}

interface HeapSample {
  metric: Labels;
  f: number;
  dropName: boolean;
}

const KAHAN = new Float64Array(2);

/** Per-series cursors over the input matrix (nextValues). */
class Cursors {
  readonly pos: Int32Array;
  constructor(private readonly input: Matrix) {
    this.pos = new Int32Array(input.length);
  }
  /** The value of series si at ts, consuming it; undefined when it has none. */
  next(si: number, ts: number): number | undefined {
    const fp = this.input[si].floats;
    const p = this.pos[si];
    if (p < fp.length && fp.t[p] === ts) {
      this.pos[si] = p + 1;
      return fp.f[p];
    }
    return undefined;
  }
}

/**
 * Evaluates an aggregation (everything but count_values) over the steps of the input
 * matrix (rangeEvalAgg). sortedGrouping must be sorted.
 */
export function rangeEvalAgg(ctx: AggregationContext, e: AggregateExpr, sortedGrouping: string[], input: Matrix, params: FParams): Matrix {
  const numSteps = ctx.numSteps;
  const isK = e.op === 'topk' || e.op === 'bottomk' || e.op === 'limitk' || e.op === 'limit_ratio';
  const groupIndex = new Map<string, number>();
  const seriesToResult = new Int32Array(input.length);
  const result: Matrix = [];
  let groupCount = 0;
  for (let si = 0; si < input.length; si++) {
    ctx.tick();
    const k = groupingKey(input[si].metric, sortedGrouping, e.without);
    let idx = groupIndex.get(k);
    if (idx === undefined) {
      if (!isK) result.push(ctx.newSeries(groupingLabels(input[si].metric, sortedGrouping, e.without), Math.min(numSteps, 4096), numSteps));
      idx = groupCount++;
      groupIndex.set(k, idx);
    }
    seriesToResult[si] = idx;
  }
  const groups: Group[] = [];
  for (let i = 0; i < groupCount; i++) groups.push(newGroup());
  const paramPos = e.param !== null ? { start: e.param.start, end: e.param.end } : { start: e.start, end: e.end };

  switch (e.op) {
    case 'topk':
    case 'bottomk':
    case 'limitk':
      if (params.max < 1) return [];
      if (params.hasNaN) throw new EvalError('Parameter value is NaN');
      if (params.min <= MIN_INT64) throw new EvalError(`Scalar value ${formatFloatG(params.min)} underflows int64`);
      if (params.max >= MAX_INT64) throw new EvalError(`Scalar value ${formatFloatG(params.max)} overflows int64`);
      break;
    case 'limit_ratio':
      if (params.max === 0 && params.min === 0) return [];
      if (params.hasNaN) throw new EvalError('Ratio value is NaN');
      if (params.max > 1) ctx.annos.add(invalidRatioWarning(params.max, 1, paramPos));
      if (params.min < -1) ctx.annos.add(invalidRatioWarning(params.min, -1, paramPos));
      break;
    case 'quantile':
      if (params.hasNaN) ctx.annos.add(invalidQuantileWarning(NaN, paramPos));
      if (params.max > 1) ctx.annos.add(invalidQuantileWarning(params.max, paramPos));
      if (params.min < 0) ctx.annos.add(invalidQuantileWarning(params.min, paramPos));
      break;
    default:
      break;
  }

  const cursors = new Cursors(input);
  const kSeries = isK ? new Map<string, Series>() : null;
  const instant = ctx.startTs === ctx.endTs;
  for (let step = 0; step < numSteps; step++) {
    const ts = ctx.startTs + step * ctx.interval;
    const p = params.next();
    ctx.checkDone();
    if (isK) {
      const out = aggregationK(ctx, e, p, input, seriesToResult, groups, cursors, ts);
      if (instant) return out;
      for (const s of out) {
        ctx.tick();
        const k = keyOf(s.metric);
        let ss = kSeries!.get(k);
        if (ss === undefined) {
          ss = ctx.newSeries(s.metric, 16, numSteps);
          ss.dropName = s.dropName;
          kSeries!.set(k, ss);
        }
        ss.floats.push(ts, s.floats.f[0]);
      }
    } else {
      aggregation(ctx, e, p, input, result, seriesToResult, groups, cursors, ts);
    }
    ctx.checkSamples();
  }
  if (isK) return [...kSeries!.values()];
  return result.filter((s) => s.floats.length > 0);
}

/** sum, avg, count, group, min, max, stddev, stdvar and quantile at one step (aggregation). */
function aggregation(
  ctx: AggregationContext,
  e: AggregateExpr,
  q: number,
  input: Matrix,
  output: Matrix,
  seriesToResult: Int32Array,
  groups: Group[],
  cursors: Cursors,
  ts: number,
): void {
  const op = e.op;
  for (const g of groups) g.seen = false;
  for (let si = 0; si < input.length; si++) {
    ctx.tick();
    const f = cursors.next(si, ts);
    if (f === undefined) continue;
    const g = groups[seriesToResult[si]];
    if (!g.seen) {
      g.seen = true;
      g.floatValue = f;
      g.floatMean = f;
      g.kahanC = 0;
      g.incrementalMean = false;
      g.groupCount = 1;
      g.dropName = input[si].dropName;
      switch (op) {
        case 'stddev':
        case 'stdvar':
          g.floatValue = Number.isNaN(f) || f === Infinity || f === -Infinity ? NaN : 0;
          break;
        case 'quantile':
          g.values.length = 0;
          g.values.push(f);
          break;
        case 'group':
          g.floatValue = 1;
          break;
        default:
          break;
      }
      continue;
    }
    if (input[si].dropName) g.dropName = true;
    switch (op) {
      case 'sum':
        kahanSumInc(f, g.floatValue, g.kahanC, KAHAN);
        g.floatValue = KAHAN[0];
        g.kahanC = KAHAN[1];
        break;
      case 'avg':
        // Direct mean with Kahan summation while the sum stays finite; once it would
        // overflow, switch to the incremental mean (see Prometheus issue 16714).
        g.groupCount++;
        if (!g.incrementalMean) {
          kahanSumInc(f, g.floatValue, g.kahanC, KAHAN);
          if (KAHAN[0] !== Infinity && KAHAN[0] !== -Infinity) {
            g.floatValue = KAHAN[0];
            g.kahanC = KAHAN[1];
            break;
          }
          g.incrementalMean = true;
          g.floatMean = g.floatValue / (g.groupCount - 1);
          g.kahanC /= g.groupCount - 1;
        }
        {
          const r = (g.groupCount - 1) / g.groupCount;
          kahanSumInc(f / g.groupCount, r * g.floatMean, r * g.kahanC, KAHAN);
          g.floatMean = KAHAN[0];
          g.kahanC = KAHAN[1];
        }
        break;
      case 'group':
        break;
      case 'max':
        if (g.floatValue < f || Number.isNaN(g.floatValue)) g.floatValue = f;
        break;
      case 'min':
        if (g.floatValue > f || Number.isNaN(g.floatValue)) g.floatValue = f;
        break;
      case 'count':
        g.groupCount++;
        break;
      case 'stddev':
      case 'stdvar': {
        g.groupCount++;
        const delta = f - g.floatMean;
        g.floatMean += delta / g.groupCount;
        g.floatValue += delta * (f - g.floatMean);
        break;
      }
      case 'quantile':
        g.values.push(f);
        break;
      default:
        throw new EvalError(`expected aggregation operator but got "${op}"`);
    }
  }
  for (let ri = 0; ri < groups.length; ri++) {
    const g = groups[ri];
    if (!g.seen) continue;
    let v = g.floatValue;
    switch (op) {
      case 'avg':
        v = g.incrementalMean ? g.floatMean + g.kahanC : g.floatValue / g.groupCount + g.kahanC / g.groupCount;
        break;
      case 'count':
        v = g.groupCount;
        break;
      case 'stdvar':
        v = g.floatValue / g.groupCount;
        break;
      case 'stddev':
        v = Math.sqrt(g.floatValue / g.groupCount);
        break;
      case 'quantile':
        ctx.tick(g.values.length);
        v = quantile(q, Float64Array.from(g.values));
        break;
      case 'sum':
        v = g.floatValue + g.kahanC;
        break;
      default:
        break;
    }
    const ss = output[ri];
    ss.floats.push(ts, v);
    ss.dropName = g.dropName;
  }
}

// ---- topk, bottomk, limitk, limit_ratio ----

type Less = (a: HeapSample, b: HeapSample) => boolean;

/** vectorByValueHeap.Less: NaN sorts first. */
const byValue: Less = (a, b) => (Number.isNaN(a.f) ? true : a.f < b.f);
/** vectorByReverseValueHeap.Less. */
const byReverseValue: Less = (a, b) => (Number.isNaN(a.f) ? true : a.f > b.f);

// container/heap, step by step as Go does it: the order of equal elements matters for
// the order of topk's output.
function heapUp(h: HeapSample[], j: number, less: Less): void {
  for (;;) {
    const i = Math.trunc((j - 1) / 2);
    if (i === j || !less(h[j], h[i])) break;
    [h[i], h[j]] = [h[j], h[i]];
    j = i;
  }
}

function heapDown(h: HeapSample[], i0: number, n: number, less: Less): boolean {
  let i = i0;
  for (;;) {
    const j1 = 2 * i + 1;
    if (j1 >= n || j1 < 0) break;
    let j = j1;
    const j2 = j1 + 1;
    if (j2 < n && less(h[j2], h[j1])) j = j2;
    if (!less(h[j], h[i])) break;
    [h[i], h[j]] = [h[j], h[i]];
    i = j;
  }
  return i > i0;
}

function heapPush(h: HeapSample[], s: HeapSample, less: Less): void {
  h.push(s);
  heapUp(h, h.length - 1, less);
}

function heapFix(h: HeapSample[], i: number, less: Less): void {
  if (!heapDown(h, i, h.length, less)) heapUp(h, i, less);
}

/**
 * sort.Sort(sort.Reverse(heap)): Go's pdqsort is an insertion sort up to 12 elements,
 * reproduced exactly; longer inputs use a stable sort (ties may order differently).
 */
function sortReverse(h: HeapSample[], less: Less, tick: () => void): void {
  const rless = (a: HeapSample, b: HeapSample): boolean => less(b, a);
  if (h.length <= 12) {
    for (let i = 1; i < h.length; i++) {
      for (let j = i; j > 0 && rless(h[j], h[j - 1]); j--) [h[j], h[j - 1]] = [h[j - 1], h[j]];
    }
    return;
  }
  h.sort((a, b) => (tick(), rless(a, b) ? -1 : rless(b, a) ? 1 : 0));
}

/** topk, bottomk, limitk or limit_ratio at one step; each result series has one point. */
function aggregationK(
  ctx: AggregationContext,
  e: AggregateExpr,
  fParam: number,
  input: Matrix,
  seriesToResult: Int32Array,
  groups: Group[],
  cursors: Cursors,
  ts: number,
): Matrix {
  const op = e.op;
  let groupsRemaining = groups.length;
  for (const g of groups) {
    g.seen = false;
    g.complete = false;
  }
  // Values at ts of the series not looked at must still be consumed, or the next step would see them.
  const skipRest = (from: number): void => {
    for (let i = from; i < input.length; i++) {
      ctx.tick();
      cursors.next(i, ts);
    }
  };
  let k = 0;
  let r = 0;
  seriesLoop: for (let si = 0; si < input.length; si++) {
    ctx.tick();
    const f = cursors.next(si, ts);
    if (f === undefined) continue;
    const s: HeapSample = { metric: input[si].metric, f, dropName: input[si].dropName };
    if (op === 'limit_ratio') {
      if (fParam === 0) {
        skipRest(si + 1);
        return [];
      }
      r = fParam < -1 ? -1 : fParam > 1 ? 1 : fParam;
    } else {
      k = Math.min(Math.trunc(fParam), input.length);
      if (k < 1) {
        skipRest(si + 1);
        return [];
      }
    }
    const g = groups[seriesToResult[si]];
    if (!g.seen) {
      g.seen = true;
      g.heap = [];
      switch (op) {
        case 'limit_ratio':
          if (addRatioSample(r, s.metric)) heapPush(g.heap, s, byValue);
          break;
        case 'limitk':
          g.heap.push(s);
          break;
        case 'topk':
          heapPush(g.heap, s, byValue);
          break;
        case 'bottomk':
          heapPush(g.heap, s, byReverseValue);
          break;
        default:
          break;
      }
      continue;
    }
    switch (op) {
      case 'topk':
        if (g.heap.length < k) heapPush(g.heap, s, byValue);
        else if (g.heap[0].f < s.f || (Number.isNaN(g.heap[0].f) && !Number.isNaN(s.f))) {
          g.heap[0] = s;
          if (k > 1) heapFix(g.heap, 0, byValue);
        }
        break;
      case 'bottomk':
        if (g.heap.length < k) heapPush(g.heap, s, byReverseValue);
        else if (g.heap[0].f > s.f || (Number.isNaN(g.heap[0].f) && !Number.isNaN(s.f))) {
          g.heap[0] = s;
          if (k > 1) heapFix(g.heap, 0, byReverseValue);
        }
        break;
      case 'limitk':
        if (g.heap.length < k) heapPush(g.heap, s, byValue);
        if (!g.complete && g.heap.length === k) {
          g.complete = true;
          groupsRemaining--;
          if (groupsRemaining === 0) {
            skipRest(si + 1);
            break seriesLoop;
          }
        }
        break;
      case 'limit_ratio':
        if (addRatioSample(r, s.metric)) heapPush(g.heap, s, byValue);
        break;
      default:
        throw new EvalError(`expected aggregation operator but got "${op}"`);
    }
  }
  const out: Matrix = [];
  const add = (s: HeapSample): void => {
    const ss = ctx.newSeries(s.metric, 1);
    ss.floats.push(ts, s.f);
    ss.dropName = s.dropName;
    out.push(ss);
  };
  for (const g of groups) {
    if (!g.seen) continue;
    if (op === 'topk') {
      if (g.heap.length > 1) sortReverse(g.heap, byValue, ctx.tick);
    } else if (op === 'bottomk') {
      if (g.heap.length > 1) sortReverse(g.heap, byReverseValue, ctx.tick);
    }
    for (const s of g.heap) {
      ctx.tick();
      add(s);
    }
  }
  return out;
}

/** Whether limit_ratio keeps a series (HashRatioSampler.AddRatioSample). */
function addRatioSample(ratioLimit: number, metric: Labels): boolean {
  const offset = hashRatioOffset(metric);
  return (ratioLimit >= 0 && offset < ratioLimit) || (ratioLimit < 0 && offset >= 1 + ratioLimit);
}

/** count_values at one step (aggregationCountValues): one series per distinct value per group. */
export function aggregationCountValues(e: AggregateExpr, grouping: readonly string[], valueLabel: string, vec: Vector, enh: EvalNodeHelper): Vector {
  const counts = new Map<string, { labels: Labels; count: number }>();
  for (const s of vec) {
    enh.tick();
    const metric = setLabel(s.metric, valueLabel, formatFloatF(s.f));
    const k = groupingKey(metric, grouping, e.without);
    const g = counts.get(k);
    if (g === undefined) counts.set(k, { labels: groupingLabels(metric, grouping, e.without), count: 1 });
    else g.count++;
  }
  for (const g of counts.values()) enh.out.push(enh.sample(g.labels, g.count, false));
  return enh.out;
}


// ---- aggregation as the series arrive ----

/** Operators a StepAggregation computes: no parameter, a few floats of state per step. */
export const STREAMED_OPS: ReadonlySet<string> = new Set(['sum', 'avg', 'count', 'group', 'min', 'max', 'stddev', 'stdvar']);

/** A group's state at every step, in parallel arrays (Group's fields; count 0: not seen). */
interface StepGroup {
  labels: Labels;
  count: Float64Array;
  value: Float64Array;
  /** Kahan compensation (sum, avg). */
  c: Float64Array | null;
  /** Running mean (avg after overflow, stddev, stdvar). */
  mean: Float64Array | null;
  /** avg switched to the incremental mean at this step. */
  incremental: Uint8Array | null;
}

/**
 * An aggregation (sum, avg, count, group, min, max, stddev, stdvar) of a selector
 * evaluated on the query's steps, fed series by series as they are selected instead of
 * from the whole input matrix: a wide aggregation then holds its groups, not its input.
 * Each step's state sees the series in the same order as rangeEvalAgg's, so every float
 * operation, and the answer, is the same.
 */
export class StepAggregation {
  private readonly groups: StepGroup[] = [];
  private readonly index = new Map<string, StepGroup>();
  /** Points fed: what the input matrix would have held (for the samples limit). */
  points = 0;
  /** Step slots held by the groups' state, a value each. */
  private slots = 0;

  constructor(
    readonly op: string,
    /** Sorted `by` labels, or `without` labels when `without`. */
    private readonly grouping: readonly string[],
    private readonly without: boolean,
    /** The query's steps, which the points fed lie on. */
    private readonly grid: Pick<StepGrid, 'start' | 'interval' | 'count'>,
    /**
     * Slots the state may hold (the query's bound on samples held): every group holds a
     * slot per step, so many groups over many steps fail as too many samples instead of
     * allocating without bound.
     */
    private readonly maxSlots: number = Infinity,
  ) {
    if (!STREAMED_OPS.has(op)) throw new EvalError(`internal error: ${op} is not aggregated as series arrive`);
  }

  private group(metric: Labels): StepGroup {
    const key = groupingKey(metric, this.grouping, this.without);
    let g = this.index.get(key);
    if (g === undefined) {
      const n = this.grid.count;
      const op = this.op;
      this.slots += n;
      if (this.slots > this.maxSlots) throw new TooManySamplesError();
      g = {
        labels: groupingLabels(metric, this.grouping, this.without),
        count: new Float64Array(n),
        value: new Float64Array(n),
        c: op === 'sum' || op === 'avg' ? new Float64Array(n) : null,
        mean: op === 'avg' || op === 'stddev' || op === 'stdvar' ? new Float64Array(n) : null,
        incremental: op === 'avg' ? new Uint8Array(n) : null,
      };
      this.index.set(key, g);
      this.groups.push(g);
    }
    return g;
  }

  /** One series' points, at step times (t = start + k·interval). */
  add(metric: Labels, t: Float64Array, f: Float64Array, n: number): void {
    if (n === 0) return;
    this.points += n;
    const g = this.group(metric);
    const { count, value } = g;
    const { start, interval } = this.grid;
    switch (this.op) {
      case 'sum': {
        const c = g.c!;
        for (let i = 0; i < n; i++) {
          const k = (t[i] - start) / interval;
          const v = f[i];
          if (count[k] === 0) {
            count[k] = 1;
            value[k] = v;
            c[k] = 0;
            continue;
          }
          kahanSumInc(v, value[k], c[k], KAHAN);
          value[k] = KAHAN[0];
          c[k] = KAHAN[1];
        }
        break;
      }
      case 'avg': {
        const c = g.c!;
        const mean = g.mean!;
        const incremental = g.incremental!;
        for (let i = 0; i < n; i++) {
          const k = (t[i] - start) / interval;
          const v = f[i];
          if (count[k] === 0) {
            count[k] = 1;
            value[k] = v;
            mean[k] = v;
            c[k] = 0;
            continue;
          }
          const cnt = ++count[k];
          if (incremental[k] === 0) {
            kahanSumInc(v, value[k], c[k], KAHAN);
            if (KAHAN[0] !== Infinity && KAHAN[0] !== -Infinity) {
              value[k] = KAHAN[0];
              c[k] = KAHAN[1];
              continue;
            }
            incremental[k] = 1;
            mean[k] = value[k] / (cnt - 1);
            c[k] /= cnt - 1;
          }
          const r = (cnt - 1) / cnt;
          kahanSumInc(v / cnt, r * mean[k], r * c[k], KAHAN);
          mean[k] = KAHAN[0];
          c[k] = KAHAN[1];
        }
        break;
      }
      case 'count':
        for (let i = 0; i < n; i++) count[(t[i] - start) / interval]++;
        break;
      case 'group':
        for (let i = 0; i < n; i++) {
          const k = (t[i] - start) / interval;
          count[k] = 1;
          value[k] = 1;
        }
        break;
      case 'max':
      case 'min': {
        const max = this.op === 'max';
        for (let i = 0; i < n; i++) {
          const k = (t[i] - start) / interval;
          const v = f[i];
          if (count[k] === 0) {
            count[k] = 1;
            value[k] = v;
          } else if ((max ? value[k] < v : value[k] > v) || Number.isNaN(value[k])) value[k] = v;
        }
        break;
      }
      case 'stddev':
      case 'stdvar': {
        const mean = g.mean!;
        for (let i = 0; i < n; i++) {
          const k = (t[i] - start) / interval;
          const v = f[i];
          if (count[k] === 0) {
            count[k] = 1;
            value[k] = Number.isNaN(v) || v === Infinity || v === -Infinity ? NaN : 0;
            mean[k] = v;
            continue;
          }
          const cnt = ++count[k];
          const delta = v - mean[k];
          mean[k] += delta / cnt;
          value[k] += delta * (v - mean[k]);
        }
        break;
      }
    }
  }

  /** The aggregated series, groups in order of first appearance (as rangeEvalAgg's). */
  result(ctx: Pick<AggregationContext, 'newSeries' | 'tick'>): Matrix {
    const out: Matrix = [];
    const op = this.op;
    const { start, interval, count: steps } = this.grid;
    for (const g of this.groups) {
      ctx.tick(steps);
      const { count, value, c, mean, incremental } = g;
      let seen = 0;
      for (let k = 0; k < steps; k++) if (count[k] !== 0) seen++;
      if (seen === 0) continue;
      const s = ctx.newSeries(g.labels, seen, seen);
      for (let k = 0; k < steps; k++) {
        const cnt = count[k];
        if (cnt === 0) continue;
        let v = value[k];
        switch (op) {
          case 'avg':
            v = incremental![k] !== 0 ? mean![k] + c![k] : value[k] / cnt + c![k] / cnt;
            break;
          case 'count':
            v = cnt;
            break;
          case 'stdvar':
            v = value[k] / cnt;
            break;
          case 'stddev':
            v = Math.sqrt(value[k] / cnt);
            break;
          case 'sum':
            v = value[k] + c![k];
            break;
          default:
            break;
        }
        s.floats.push(start + k * interval, v);
      }
      out.push(s);
    }
    return out;
  }
}
