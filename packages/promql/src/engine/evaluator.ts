// The evaluator (promql/engine.go evaluator): evaluates a prepared expression over the
// steps [startTs, endTs] of a query. Every node evaluates to a Matrix holding its value
// at every step (a scalar is one series without labels); rangeEval then gathers, step by
// step, the instant vectors of a node's operands from their matrices and calls the
// node's operation on them.
//
// The data was read by the preparation pass (select.ts), so evaluation is synchronous.
// Hot loops run over typed arrays: selector lookups and range windows are cursors into
// the selected series' Float64Arrays; step vectors are built from pooled Sample objects;
// output series are found by label-set identity before falling back to a string key.

import { type Labels, isStaleNaN } from '@thanos-ts/tsdb';
import type { AggregateExpr, BinaryExpr, Call, Expr, MatrixSelector, PositionRange, SubqueryExpr, UnaryExpr, VectorMatching, VectorSelector } from '../ast.js';
import { isSetOp } from '../ast.js';
import { type Annotations, sortInRangeQueryWarning } from '../functions/annotations.js';
import { absentLabels, compileLabelJoin, compileLabelReplace, isValidLabelName } from '../functions/labels.js';
import type { KernelEntry, VectorCall } from '../functions/types.js';
import { FunctionError } from '../functions/types.js';
import { formatFloatG } from '../go-strconv.js';
import { printExpr } from '../printer.js';
import type { Matrix, Sample, Series, Vector } from '../value.js';
import { FloatPoints } from '../value.js';
import type { PointsArena } from './arena.js';
import { FParams, type StepAggregation, aggregationCountValues, rangeEvalAgg } from './aggregation.js';
import { scalarBinop, vectorAnd, vectorBinop, vectorOr, vectorScalarBinop, vectorUnless } from './binop.js';
import { type AbortSignalLike, EXPRESSION_EVALUATION, EvalError, QueryCanceledError, QueryTimeoutError, TooManySamplesError, UnsupportedError } from './errors.js';
import { dropMetricName, keyWithLabels, keyWithoutLabels, setLabel, sortStrings } from './label-sets.js';
import { EvalNodeHelper, keyOf } from './node-helper.js';
import { evalInfo, type InfoContext } from './info.js';
import { setOffsetForAtModifier } from './preprocess.js';
import { RangeFunction, type RangeWindows, type SampleCount } from './range-call.js';
import { type SelectedData, type SelectedSeries, upperBound } from './select.js';

/** Engine settings the evaluator needs. */
export interface EvaluatorConfig {
  lookbackDelta: number;
  /** Samples the query may hold (the engine's limit, or a lower one for this query). */
  maxSamples: number;
  /**
   * The engine's own limit (--query.max-samples): what a streamed aggregation's input,
   * never held, counts against, so the same queries fail as in Prometheus.
   */
  engineMaxSamples: number;
  enableDelayedNameRemoval: boolean;
  /** The step of subqueries written without one (`x[5m:]`), given their range. */
  noStepSubqueryInterval: (rangeMs: number) => number;
  /** Function kernels by name. */
  kernel: (name: string) => KernelEntry | undefined;
  /** Start timestamps of samples feed rate/irate/increase/resets and start_timestamp(). */
  useStartTimestamps: boolean;
}

/** Range functions that read start timestamps. */
export const ST_FUNCTIONS = new Set(['rate', 'irate', 'increase', 'resets']);

/**
 * Units of work (roughly: samples or series touched) between two reads of the clock and
 * the cancellation flag: a few hundred microseconds of CPU at most.
 */
const CHECK_EVERY = 4096;

/**
 * Points a query may preallocate ahead of need (series capacities beyond their accounted
 * points), 128 MiB of Float64Array pairs; past it new series start small and double.
 */
const PREALLOC_BUDGET = 1 << 22;

/** The number of steps of an evaluation over [start, end] every interval ms. */
export function stepCount(start: number, end: number, interval: number): number {
  return end < start ? 0 : Math.floor((end - start) / interval) + 1;
}

/** State shared by the evaluators of one query (sub-evaluators of subqueries included). */
export class QueryState {
  /** Samples currently held in memory, checked against maxSamples. */
  currentSamples = 0;
  private work = 0;
  private preallocated = 0;

  constructor(
    readonly cfg: EvaluatorConfig,
    readonly data: SelectedData,
    readonly annos: Annotations,
    /** Unix ms after which the query times out. */
    readonly deadline: number,
    /** Read at every check; only its `aborted` flag is used (no listeners). */
    readonly signal: AbortSignalLike | undefined,
    /** Where the query's point buffers come from. */
    readonly arena: PointsArena,
    /** The candidate info series of every info() call, selected ahead (info.ts). */
    readonly infoCandidates: Map<Call, SelectedSeries[]> = new Map(),
  ) {}

  /** Selectors whose series hold their values at the query's steps already (select.ts). */
  readonly evaluatedOnSteps = new Set<VectorSelector>();

  /** Aggregations computed as their selector's series arrived, by aggregation node. */
  readonly streamedAggregations = new Map<AggregateExpr, StepAggregation>();

  /**
   * Range functions computed as their matrix selector's series were read, by call node:
   * their points (not yet counted in currentSamples) and whether they drop the name.
   */
  readonly streamedRangeCalls = new Map<Call, { series: Matrix; dropName: boolean }>();

  /**
   * A new series whose points come from the query's arena. Capacity beyond one point is
   * memory not yet accounted in currentSamples: once the query has preallocated
   * PREALLOC_BUDGET points, new series start at 16 points and grow by doubling.
   */
  newSeries(metric: Labels, cap: number, max = Infinity): Series {
    if (cap > 16) {
      if (this.preallocated > PREALLOC_BUDGET) cap = 16;
      else this.preallocated += cap;
    }
    return { metric, floats: this.arena.points(cap, max), histograms: null, dropName: false };
  }

  /** Throws when the query was canceled or timed out (contextDone). */
  checkDone(where: string = EXPRESSION_EVALUATION): void {
    const signal = this.signal;
    if (signal !== undefined && signal.aborted) throw new QueryCanceledError(where, signal.reason);
    if (this.deadline !== Infinity && Date.now() > this.deadline) throw new QueryTimeoutError(where);
  }

  /**
   * Counts work done (default one unit: a sample or a series) and calls checkDone every
   * CHECK_EVERY units. Every loop whose length depends on the data or the steps calls it.
   */
  checkDoneSometimes(work = 1): void {
    if ((this.work += work) >= CHECK_EVERY) {
      this.work = 0;
      this.checkDone();
    }
  }

  checkSamples(): void {
    if (this.currentSamples > this.cfg.maxSamples) throw new TooManySamplesError();
  }

  /**
   * Throws before n more samples are created if holding them would exceed maxSamples:
   * for allocations whose size is known in advance, where Prometheus would fail while
   * appending them one by one.
   */
  checkRoomFor(n: number): void {
    if (this.currentSamples + n > this.cfg.maxSamples) throw new TooManySamplesError();
  }

  /**
   * An evaluation over more steps than maxSamples cannot hold one series: it fails before
   * anything is allocated (see the package README on how this differs from Prometheus).
   */
  checkSteps(numSteps: number): void {
    if (numSteps > this.cfg.maxSamples) throw new TooManySamplesError();
  }
}

/** The value of a string literal (the only non-matrix result of eval). */
export class StringResult {
  constructor(
    readonly t: number,
    readonly v: string,
  ) {}
}

export type EvalResult = Matrix | StringResult;

type StepFunction = (vectors: Vector[], sigs: Int32Array[], enh: EvalNodeHelper) => Vector;

const EMPTY_SIGS: Int32Array[] = [];

/**
 * The labels of scalars and vector(s): one array for every step, so that rangeEval finds
 * the output series by identity instead of keying a fresh array per step.
 */
const NO_LABELS: Labels = Object.freeze([]);

/** A matrix argument prepared for a range function: the series and their windows. */
interface RangeSource extends RangeWindows {
  series: SelectedSeries[];
  /** Position annotations of kernels point at (the call's first argument). */
  pos: PositionRange;
}

/** Functions that accept the anchored / smoothed modifiers (AnchoredSafeFunctions, SmoothedSafeFunctions). */
const ANCHORED_SAFE = ['changes', 'delta', 'increase', 'rate', 'resets'];
const SMOOTHED_SAFE = ['delta', 'increase', 'rate'];

export class Evaluator {
  readonly numSteps: number;

  constructor(
    readonly q: QueryState,
    readonly startTs: number,
    readonly endTs: number,
    /** Step in ms; 1 for instant queries, as Prometheus sets it. */
    readonly interval: number,
  ) {
    this.numSteps = stepCount(startTs, endTs, interval);
    q.checkSteps(this.numSteps);
  }

  /**
   * The time of step i. Steps are counted, never accumulated: past 2^53 ms adding the
   * interval to a float stops changing it, and a `ts += interval` loop would never end.
   */
  stepTs(i: number): number {
    return this.startTs + i * this.interval;
  }

  private get delayed(): boolean {
    return this.q.cfg.enableDelayedNameRemoval;
  }

  /** q.checkDoneSometimes() as a function, for helpers and comparators. */
  private readonly tick = (work = 1): void => this.q.checkDoneSometimes(work);

  private child(start: number, end: number, interval: number): Evaluator {
    return new Evaluator(this.q, start, end, interval);
  }

  /** Evaluates expr, then drops the metric names marked for delayed removal (Eval). */
  evalTop(expr: Expr): EvalResult {
    const v = this.eval(expr);
    if (this.delayed && !(v instanceof StringResult)) return this.cleanupMetricLabels(v);
    return v;
  }

  eval(expr: Expr): EvalResult {
    this.q.checkDone();
    if (this.endTs < this.startTs) return [];
    switch (expr.type) {
      case 'AggregateExpr':
        return this.evalAggregate(expr);
      case 'Call':
        return this.evalCall(expr);
      case 'ParenExpr':
        return this.eval(expr.expr);
      case 'UnaryExpr':
        return this.evalUnary(expr);
      case 'BinaryExpr':
        return this.evalBinary(expr);
      case 'NumberLiteral': {
        const val = expr.val;
        return this.rangeEval(null, (_v, _s, enh) => {
          enh.out.push(enh.sample(NO_LABELS, val, false));
          return enh.out;
        }, [], true);
      }
      case 'StringLiteral':
        return new StringResult(this.startTs, expr.val);
      case 'VectorSelector':
        return expr.smoothed ? this.smoothSeries(expr) : this.evalVectorSelector(expr);
      case 'MatrixSelector':
        if (this.startTs !== this.endTs) throw new EvalError('cannot do range evaluation of matrix selector');
        return this.matrixSelector(expr);
      case 'SubqueryExpr':
        return this.runSubquery(expr);
      case 'StepInvariantExpr':
        return this.evalStepInvariant(expr.expr);
    }
  }

  /** Evaluates an expression that must produce a matrix. */
  evalMatrix(expr: Expr): Matrix {
    const v = this.eval(expr);
    if (v instanceof StringResult) throw new EvalError(`unexpected string result for ${printExpr(expr)}`);
    return v;
  }

  // ---- selectors ----

  private selected(vs: VectorSelector): SelectedSeries[] {
    const s = this.q.data.get(vs);
    if (s === undefined) throw new EvalError(`internal error: selector ${printExpr(vs)} was not prepared`);
    return s;
  }

  /** An instant vector selector at every step (evalSeries + vectorSelectorSingle). */
  private evalVectorSelector(vs: VectorSelector): Matrix {
    const out: Matrix = [];
    if (this.q.evaluatedOnSteps.has(vs)) {
      // Evaluated once, so the points are handed on, not copied.
      for (const s of this.selected(vs)) {
        if (s.points.length === 0) continue;
        this.q.currentSamples += s.points.length;
        this.q.checkSamples();
        out.push({ metric: s.metric, floats: s.points, histograms: null, dropName: false });
      }
      return out;
    }
    const lookback = this.q.cfg.lookbackDelta;
    const offset = vs.offset;
    for (const s of this.selected(vs)) {
      this.q.checkDoneSometimes();
      const t = s.points.t;
      const f = s.points.f;
      const n = s.points.length;
      let ss: Series | null = null;
      // k: index of the newest sample at or before the reference time; the reference time
      // only grows with the steps, so it is found once by binary search, then advanced.
      let k = -2;
      for (let i = 0; i < this.numSteps; i++) {
        this.q.checkDoneSometimes();
        const ts = this.stepTs(i);
        const ref = ts - offset;
        if (k === -2) k = upperBound(t, 0, n, ref) - 1;
        else while (k + 1 < n && t[k + 1] <= ref) k++;
        if (k < 0 || t[k] <= ref - lookback) continue;
        const v = f[k];
        if (isStaleNaN(v)) continue;
        this.q.currentSamples++;
        this.q.checkSamples();
        // At most one point per step, and each sample lasts at most a lookback delta.
        if (ss === null) {
          const bound = Math.min(this.numSteps, n * (Math.floor(lookback / this.interval) + 1));
          ss = this.q.newSeries(s.metric, Math.min(bound, 4096), bound);
        }
        ss.floats.push(ts, v);
      }
      if (ss !== null) out.push(ss);
    }
    return out;
  }

  /** A range selector evaluated once, for an instant query returning a range vector. */
  private matrixSelector(ms: MatrixSelector): Matrix {
    const vs = ms.vectorSelector;
    const lookback = this.q.cfg.lookbackDelta;
    const maxt = this.startTs - vs.offset;
    const mint = maxt - ms.range;
    const out: Matrix = [];
    for (const s of this.selected(vs)) {
      this.q.checkDoneSometimes();
      if (vs.anchored || vs.smoothed) {
        // The window reaches one lookback further back (and ahead, smoothed); the points
        // at the edges are then picked or interpolated (extendFloats).
        const lo = upperBound(s.points.t, 0, s.points.length, mint - lookback);
        const hi = upperBound(s.points.t, lo, s.points.length, vs.smoothed ? maxt + lookback : maxt);
        const ss = extendFloats(this.q, s.metric, s.points.t, s.points.f, lo, hi, mint, maxt, vs.smoothed);
        if (ss !== null) {
          this.q.currentSamples += ss.floats.length;
          this.q.checkSamples();
          out.push(ss);
        }
        continue;
      }
      const lo = upperBound(s.points.t, 0, s.points.length, mint);
      const hi = upperBound(s.points.t, lo, s.points.length, maxt);
      if (hi <= lo) continue;
      this.q.checkRoomFor(hi - lo);
      this.q.checkDoneSometimes(hi - lo);
      const ss: Series = { metric: s.metric, floats: this.q.arena.copy(s.points.t, s.points.f, lo, hi), histograms: null, dropName: false };
      this.q.currentSamples += hi - lo;
      out.push(ss);
    }
    return out;
  }

  /**
   * A `smoothed` instant selector (smoothSeries): the value at each step is interpolated
   * between the samples around it (within a lookback delta on either side), or the
   * previous sample when there is none after it.
   */
  private smoothSeries(vs: VectorSelector): Matrix {
    const lb = this.q.cfg.lookbackDelta;
    const out: Matrix = [];
    for (const s of this.selected(vs)) {
      this.q.checkDoneSometimes();
      const pts = s.points;
      // The samples in (dataTs - lb, dataTs + lb], staleness markers left out.
      const t: number[] = [];
      const f: number[] = [];
      this.q.checkDoneSometimes(pts.length);
      for (let i = 0; i < pts.length; i++) {
        if (isStaleNaN(pts.f[i])) continue;
        t.push(pts.t[i]);
        f.push(pts.f[i]);
      }
      let ss: Series | null = null;
      for (let step = 0; step < this.numSteps; step++) {
        this.q.checkDoneSometimes();
        const ts = this.stepTs(step);
        const dataTs = ts - vs.offset;
        const lo = upperBoundArr(t, dataTs - lb);
        const hi = upperBoundArr(t, dataTs + lb);
        if (hi <= lo) continue;
        // The first sample at or after dataTs.
        let i = lo;
        while (i < hi && t[i] < dataTs) i++;
        let v: number;
        if (i < hi && t[i] === dataTs) v = f[i];
        else if (i > lo && i < hi) v = interpolate(t[i - 1], f[i - 1], t[i], f[i], dataTs);
        else if (i > lo) v = f[i - 1];
        else continue;
        this.q.currentSamples++;
        this.q.checkSamples();
        if (ss === null) ss = this.q.newSeries(s.metric, Math.min(this.numSteps, 1024), this.numSteps);
        ss.floats.push(ts, v);
      }
      if (ss !== null) out.push(ss);
    }
    return out;
  }

  // ---- step invariants and subqueries ----

  private evalStepInvariant(inner: Expr): EvalResult {
    const res = this.child(this.startTs, this.startTs, this.interval).eval(inner);
    if (inner.type === 'MatrixSelector' || inner.type === 'SubqueryExpr' || res instanceof StringResult) return res;
    // The value is the same at every step; only the timestamps differ. Prometheus appends
    // the copies one by one and fails once currentSamples passes maxSamples; the total is
    // known here, so the check comes before the points are allocated.
    const copies = this.numSteps - 1;
    if (copies === 0) return res;
    this.q.checkRoomFor(res.length * copies);
    for (const s of res) {
      if (s.floats.length !== 1) throw new EvalError('unexpected number of samples');
      const v = s.floats.f[0];
      s.floats.grow(this.numSteps);
      for (let i = 1; i < this.numSteps; i++) {
        this.q.checkDoneSometimes();
        s.floats.push(this.stepTs(i), v);
      }
      this.q.currentSamples += copies;
    }
    return res;
  }

  /** The start, end and step of a subquery's evaluator (subqueryTimeRange). */
  subqueryTimeRange(e: SubqueryExpr): { start: number; end: number; interval: number } {
    const offset = e.offset;
    const range = e.range;
    const parentEnd = this.interval > 0 ? this.startTs + Math.trunc((this.endTs - this.startTs) / this.interval) * this.interval : this.endTs;
    const end = parentEnd - offset;
    const interval = e.step !== 0 ? e.step : this.q.cfg.noStepSubqueryInterval(range);
    // The first step after start - offset - range that is a multiple of the interval.
    const from = this.startTs - offset - range;
    let start = interval * Math.trunc(from / interval);
    if (start <= from) start += interval;
    return { start, end, interval };
  }

  private runSubquery(e: SubqueryExpr): Matrix {
    const { start, end, interval } = this.subqueryTimeRange(e);
    // Offsets for `@` are relative to the evaluator's start time.
    if (start !== this.startTs) setOffsetForAtModifier(start, e.expr);
    return this.child(start, end, interval).evalMatrix(e.expr);
  }

  // ---- rangeEval ----

  /**
   * Evaluates exprs (null or string entries are skipped: functions read string
   * arguments from the tree), then calls fn at every step with their instant vectors.
   * With matching, sigs hold the join signature ordinal of every vector element.
   *
   * onePerStep: fn returns exactly one sample at every step (scalars, vector(s), time(),
   * …). Prometheus would then hold currentSamples + numSteps samples by the last step, so
   * an evaluation that cannot fit fails before it starts instead of after building most of
   * its result.
   */
  rangeEval(matching: VectorMatching | null, fn: StepFunction, exprs: readonly (Expr | null)[], onePerStep = false): Matrix {
    const originalNumSamples = this.q.currentSamples;
    const matrices: Matrix[] = exprs.map((e) => (e === null || e.valueType === 'string' ? [] : this.evalMatrix(e)));
    if (onePerStep) this.q.checkRoomFor(this.numSteps);
    const vectors: Vector[] = matrices.map(() => []);
    const cursors = matrices.map((m) => new Int32Array(m.length));
    const pools: Sample[][] = matrices.map((m) => new Array<Sample>(m.length));
    const enh = new EvalNodeHelper(this.delayed, () => this.q.checkDoneSometimes());

    let seriesSigs: Int32Array[] = EMPTY_SIGS;
    let stepSigs: Int32Array[] = EMPTY_SIGS;
    if (matching !== null) {
      const names = sortStrings(matching.matchingLabels.slice());
      const sigf = matching.on ? (ls: Labels): string => keyWithLabels(ls, names) : (ls: Labels): string => keyWithoutLabels(ls, names, true);
      const ordinals = new Map<string, number>();
      seriesSigs = matrices.map((m) => {
        const sigs = new Int32Array(m.length);
        for (let i = 0; i < m.length; i++) {
          this.q.checkDoneSometimes();
          const sig = sigf(m[i].metric);
          let ord = ordinals.get(sig);
          if (ord === undefined) {
            ord = enh.numSigs++;
            ordinals.set(sig, ord);
          }
          sigs[i] = ord;
        }
        return sigs;
      });
      stepSigs = matrices.map((m) => new Int32Array(m.length));
    }

    const instant = this.startTs === this.endTs;
    // lastStep: the step of the series' latest point (two samples of one series at one
    // step are an error; compared by step, not time, which past 2^53 ms is not unique).
    const outSeries = new Map<string, { s: Series; lastStep: number }>();
    const byIdentity = new Map<Labels, { s: Series; lastStep: number }>();
    const prevMetrics: Labels[] = [];
    const prevEntries: { s: Series; lastStep: number }[] = [];
    let tempNumSamples = this.q.currentSamples;

    for (let step = 0; step < this.numSteps; step++) {
      const ts = this.stepTs(step);
      this.q.checkDone();
      this.q.currentSamples = tempNumSamples;
      for (let i = 0; i < matrices.length; i++) {
        const m = matrices[i];
        const vec = vectors[i];
        vec.length = 0;
        const cur = cursors[i];
        const pool = pools[i];
        const ssig = seriesSigs.length > 0 ? seriesSigs[i] : null;
        const bsig = ssig !== null ? stepSigs[i] : null;
        this.q.checkDoneSometimes(m.length);
        for (let si = 0; si < m.length; si++) {
          if ((si & 0xffff) === 0xffff) this.q.checkDone();
          const fp = m[si].floats;
          const p = cur[si];
          if (p >= fp.length || fp.t[p] !== ts) continue;
          cur[si] = p + 1;
          let smp = pool[si];
          if (smp === undefined) {
            smp = { metric: m[si].metric, t: ts, f: 0, h: null, dropName: m[si].dropName };
            pool[si] = smp;
          }
          smp.metric = m[si].metric;
          smp.dropName = m[si].dropName;
          smp.t = ts;
          smp.f = fp.f[p];
          if (bsig !== null) bsig[vec.length] = ssig![si];
          vec.push(smp);
          this.q.currentSamples++;
        }
        this.q.checkSamples();
      }
      enh.reset(ts);
      const result = fn(vectors, stepSigs, enh);
      this.q.checkDoneSometimes(result.length);
      this.q.currentSamples += result.length;
      tempNumSamples += result.length;
      this.q.checkSamples();

      if (instant) {
        if (!this.delayed && containsSameLabelset(result)) throw new EvalError('vector cannot contain metrics with the same labelset');
        const mat: Matrix = new Array(result.length);
        for (let i = 0; i < result.length; i++) {
          const ss = this.q.newSeries(result[i].metric, 1);
          ss.floats.push(ts, result[i].f);
          ss.dropName = result[i].dropName;
          mat[i] = ss;
        }
        this.q.currentSamples = originalNumSamples + mat.length;
        return mat;
      }

      for (let ri = 0; ri < result.length; ri++) {
        const smp = result[ri];
        // fast path: the same series at the same position as in the previous step
        let entry = prevMetrics[ri] === smp.metric ? prevEntries[ri] : byIdentity.get(smp.metric);
        if (entry === undefined) {
          const k = keyOf(smp.metric);
          entry = outSeries.get(k);
          if (entry === undefined) {
            // At most one point per remaining step.
            const remaining = this.numSteps - step;
            const s = this.q.newSeries(smp.metric, Math.min(remaining, 4096), remaining);
            s.dropName = smp.dropName;
            entry = { s, lastStep: -1 };
            outSeries.set(k, entry);
          }
          byIdentity.set(smp.metric, entry);
        }
        if (entry.lastStep === step) throw new EvalError('vector cannot contain metrics with the same labelset');
        entry.lastStep = step;
        entry.s.floats.push(ts, smp.f);
        prevMetrics[ri] = smp.metric;
        prevEntries[ri] = entry;
      }
    }
    const mat: Matrix = [];
    let total = 0;
    for (const e of outSeries.values()) {
      mat.push(e.s);
      total += e.s.floats.length;
    }
    this.q.currentSamples = originalNumSamples + total;
    return mat;
  }

  // ---- operators ----

  private evalUnary(e: UnaryExpr): Matrix {
    const mat = this.evalMatrix(e.expr);
    if (e.op !== '-') return mat;
    for (const s of mat) {
      this.q.checkDoneSometimes(1 + s.floats.length);
      if (!this.delayed) s.metric = dropMetricName(s.metric);
      s.dropName = true;
      const f = s.floats.f;
      for (let j = 0; j < s.floats.length; j++) f[j] = -f[j];
    }
    return this.delayed ? mat : this.mergeSeriesWithSameLabelset(mat);
  }

  private evalBinary(e: BinaryExpr): Matrix {
    const lt = e.lhs.valueType;
    const rt = e.rhs.valueType;
    const op = e.op;
    const pos = { start: e.start, end: e.end };
    const annos = this.q.annos;
    if (lt === 'scalar' && rt === 'scalar') {
      return this.rangeEval(null, (v, _s, enh) => {
        enh.out.push(enh.sample(NO_LABELS, scalarBinop(op, v[0][0].f, v[1][0].f), false));
        return enh.out;
      }, [e.lhs, e.rhs], true);
    }
    if (lt === 'vector' && rt === 'vector') {
      const matching = e.vectorMatching!;
      if (isSetOp(op)) {
        if (matching.card !== 'many-to-many') throw new EvalError('set operations must only use many-to-many matching');
        const setFn = op === 'and' ? vectorAnd : op === 'or' ? vectorOr : vectorUnless;
        return this.rangeEval(matching, (v, sigs, enh) => setFn(v[0], v[1], sigs[0], sigs[1], enh), [e.lhs, e.rhs]);
      }
      return this.rangeEval(matching, (v, sigs, enh) => {
        const a = vectorBinop(op, v[0], v[1], matching, e.returnBool, sigs[0], sigs[1], enh, pos);
        if (a !== null) annos.add(a);
        return enh.out;
      }, [e.lhs, e.rhs]);
    }
    if (lt === 'vector' && rt === 'scalar') {
      return this.rangeEval(null, (v, _s, enh) => {
        const a = vectorScalarBinop(op, v[0], v[1][0].f, false, e.returnBool, enh, pos);
        if (a !== null) annos.add(a);
        return enh.out;
      }, [e.lhs, e.rhs]);
    }
    if (lt === 'scalar' && rt === 'vector') {
      return this.rangeEval(null, (v, _s, enh) => {
        const a = vectorScalarBinop(op, v[1], v[0][0].f, true, e.returnBool, enh, pos);
        if (a !== null) annos.add(a);
        return enh.out;
      }, [e.lhs, e.rhs]);
    }
    throw new EvalError(`invalid operand types ${lt} and ${rt} for binary operator ${op}`);
  }

  // ---- aggregations ----

  private evalAggregate(e: AggregateExpr): Matrix {
    // Grouping labels must be sorted (grouping keys and result labels rely on it).
    const sortedGrouping = sortStrings(e.grouping);
    if (e.op === 'count_values') {
      const param = e.param!;
      if (param.type !== 'StringLiteral') throw new EvalError('count_values: the label name must be a string literal');
      const valueLabel = param.val;
      if (!isValidLabelName(valueLabel)) throw new EvalError(`invalid label name ${printExpr(param)}`);
      const grouping = e.without ? sortedGrouping : sortStrings([...sortedGrouping, valueLabel]);
      return this.rangeEval(null, (v, _s, enh) => aggregationCountValues(e, grouping, valueLabel, v[0], enh), [e.expr]);
    }
    const originalNumSamples = this.q.currentSamples;
    const streamed = this.q.streamedAggregations.get(e);
    if (streamed !== undefined) {
      // The input matrix never existed: its samples count as they would have against the
      // engine's limit, but not against a lower one bounding what this query holds.
      if (this.q.currentSamples + streamed.points > this.q.cfg.engineMaxSamples) throw new TooManySamplesError();
      const result = streamed.result({ newSeries: (m, cap, max) => this.q.newSeries(m, cap, max), tick: this.tick });
      let total = 0;
      for (const s of result) total += s.floats.length;
      this.q.currentSamples = originalNumSamples + total;
      return result;
    }
    const params = this.fParams(e.param);
    const input = this.evalMatrix(e.expr);
    const result = rangeEvalAgg(
      {
        startTs: this.startTs,
        endTs: this.endTs,
        interval: this.interval,
        numSteps: this.numSteps,
        annos: this.q.annos,
        enableDelayedNameRemoval: this.delayed,
        checkDone: () => this.q.checkDone(),
        tick: this.tick,
        checkSamples: () => this.q.checkSamples(),
        newSeries: (m, cap, max) => this.q.newSeries(m, cap, max),
      },
      e,
      sortedGrouping,
      input,
      params,
    );
    let total = 0;
    for (const s of result) total += s.floats.length;
    this.q.currentSamples = originalNumSamples + total;
    return result;
  }

  /** The parameter of topk/bottomk/quantile/limitk/limit_ratio per step (newFParams). */
  private fParams(param: Expr | null): FParams {
    if (param === null) return FParams.none();
    const isConst = param.type === 'NumberLiteral';
    const v = this.eval(param);
    if (v instanceof StringResult || v.length === 0) return FParams.none();
    const fp = v[0].floats;
    if (isConst) return FParams.constant(fp.f[0]);
    return FParams.series(fp.f.slice(0, fp.length));
  }

  // ---- functions ----

  private kernel(name: string): KernelEntry {
    const k = this.q.cfg.kernel(name);
    if (k === undefined) throw new UnsupportedError(`function ${name}() is not implemented by this engine yet`);
    return k;
  }

  private evalCall(e: Call): Matrix {
    const name = e.func.name;
    if ((name === 'timestamp' || name === 'start_timestamp') && e.args[0].type === 'VectorSelector') {
      return this.timestampOverSelector(e.args[0], name === 'start_timestamp');
    }
    // A matrix argument, possibly a subquery (evaluated first, as Prometheus does).
    let matrixArg = -1;
    let subqueryResult: { source: RangeSource; samples: number } | null = null;
    for (let i = 0; i < e.args.length; i++) {
      const a = e.args[i];
      if (a.type === 'MatrixSelector') {
        matrixArg = i;
        break;
      }
      if (a.type === 'SubqueryExpr') {
        matrixArg = i;
        subqueryResult = this.evalSubqueryArg(a);
        break;
      }
    }
    try {
      switch (name) {
        case 'label_replace':
          return this.evalLabelRewrite(e, () => compileLabelReplace(str(e.args[1]), str(e.args[2]), str(e.args[3]), str(e.args[4])));
        case 'label_join':
          return this.evalLabelRewrite(e, () => compileLabelJoin(str(e.args[1]), str(e.args[2]), e.args.slice(3).map(str)));
        case 'info':
          return evalInfo(this.infoContext(), e);
        default:
          break;
      }
      if ((name === 'sort' || name === 'sort_desc' || name === 'sort_by_label' || name === 'sort_by_label_desc') && this.startTs !== this.endTs) {
        this.q.annos.add(sortInRangeQueryWarning({ start: e.start, end: e.end }));
      }
      if (matrixArg < 0) return this.evalInstantCall(e);
      const streamed = this.q.streamedRangeCalls.get(e);
      if (streamed !== undefined) {
        let total = 0;
        for (const s of streamed.series) total += s.floats.length;
        this.q.checkRoomFor(total);
        this.q.currentSamples += total;
        return this.rangeCallResult(e, streamed.series, streamed.dropName);
      }
      const source = subqueryResult !== null ? subqueryResult.source : this.matrixSource(e.args[matrixArg] as MatrixSelector);
      return this.evalRangeCall(e, matrixArg, source);
    } finally {
      // The subquery's result is released once the call is evaluated.
      if (subqueryResult !== null) this.q.currentSamples -= subqueryResult.samples;
    }
  }

  private matrixSource(ms: MatrixSelector): RangeSource {
    const vs = ms.vectorSelector;
    return {
      series: this.selected(vs),
      offset: vs.offset,
      range: ms.range,
      fixed: vs.timestamp !== null,
      pos: { start: ms.start, end: ms.end },
      anchored: vs.anchored,
      smoothed: vs.smoothed,
    };
  }

  /** Runs a subquery argument; its result becomes the series of a range source (evalSubquery). */
  private evalSubqueryArg(subq: SubqueryExpr): { source: RangeSource; samples: number } {
    const mat = this.runSubquery(subq);
    let samples = 0;
    const series: SelectedSeries[] = mat.map((s) => {
      samples += s.floats.length;
      return { metric: s.metric, points: s.floats, dropName: s.dropName, st: null };
    });
    // With `@`, the offset was not adjusted for the outer evaluation: do it here.
    const offset = subq.timestamp !== null ? subq.originalOffset + (this.startTs - subq.timestamp) : subq.offset;
    return {
      source: {
        series,
        offset,
        range: subq.range,
        fixed: subq.timestamp !== null,
        // Prometheus replaces the argument by a matrix selector without a position, so
        // annotations about it point at the start of the query.
        pos: { start: 0, end: 0 },
        anchored: false,
        smoothed: false,
      },
      samples,
    };
  }

  private infoContext(): InfoContext {
    return {
      startTs: this.startTs,
      endTs: this.endTs,
      interval: this.interval,
      numSteps: this.numSteps,
      lookbackDelta: this.q.cfg.lookbackDelta,
      evalMatrix: (e) => this.evalMatrix(e),
      candidates: (call) => {
        const c = this.q.infoCandidates.get(call);
        if (c === undefined) throw new EvalError('internal error: info() candidates were not prepared');
        return c;
      },
      newSeries: (m, cap, max) => this.q.newSeries(m, cap, max),
      checkDone: () => this.q.checkDone(),
      tick: this.tick,
      addSamples: (n) => {
        this.q.currentSamples += n;
        this.q.checkSamples();
      },
    };
  }

  /** label_replace / label_join: rewrite whole series, then merge equal ones. */
  private evalLabelRewrite(e: Call, compile: () => ((m: Labels) => Labels | null) & { setsMetricName: boolean }): Matrix {
    let rewrite: ReturnType<typeof compile>;
    try {
      rewrite = compile();
    } catch (err) {
      if (err instanceof FunctionError) throw new EvalError(err.message);
      throw err;
    }
    const mat = this.evalMatrix(e.args[0]);
    for (const s of mat) {
      this.q.checkDoneSometimes(8);
      const m = rewrite(s.metric);
      if (m === null) continue;
      s.metric = m;
      if (rewrite.setsMetricName) s.dropName = false;
    }
    return this.mergeSeriesWithSameLabelset(mat);
  }

  /**
   * timestamp(v) of a vector selector: the timestamps of the samples found; with
   * start, start_timestamp(v): their start timestamps, 0 when unknown, nothing at all
   * unless the engine uses start timestamps (rangeEvalTimestampFunctionOverVectorSelector).
   */
  private timestampOverSelector(vs: VectorSelector, start: boolean): Matrix {
    if (start && !this.q.cfg.useStartTimestamps) return this.rangeEval(null, (_v, _s, enh) => enh.out, []);
    const series = this.selected(vs);
    const lookback = this.q.cfg.lookbackDelta;
    const ks = new Int32Array(series.length).fill(-2);
    const delayed = this.delayed;
    return this.rangeEval(null, (_v, _s, enh) => {
      // With `@` every step reads the data at the @ time.
      const offset = vs.timestamp !== null ? enh.ts - vs.timestamp : vs.offset;
      const ref = enh.ts - offset;
      for (let i = 0; i < series.length; i++) {
        enh.tick();
        const pts = series[i].points;
        let k = ks[i];
        if (k === -2 || (k >= 0 && pts.t[k] > ref)) k = upperBound(pts.t, 0, pts.length, ref) - 1;
        else while (k + 1 < pts.length && pts.t[k + 1] <= ref) k++;
        ks[i] = k;
        if (k < 0 || pts.t[k] <= ref - lookback || isStaleNaN(pts.f[k])) continue;
        this.q.currentSamples++;
        this.q.checkSamples();
        const metric = delayed ? series[i].metric : dropMetricName(series[i].metric);
        const st = series[i].st;
        enh.out.push(enh.sample(metric, start ? (st !== null ? st[k] : 0) / 1000 : pts.t[k] / 1000, true));
      }
      return enh.out;
    }, []);
  }

  /** Functions without a matrix argument, evaluated step by step over their arguments. */
  private evalInstantCall(e: Call): Matrix {
    const name = e.func.name;
    const delayed = this.delayed;
    const vecArg = e.args.findIndex((a) => a.valueType === 'vector');
    switch (name) {
      case 'vector':
        return this.rangeEval(null, (v, _s, enh) => {
          enh.out.push(enh.sample(NO_LABELS, v[0][0].f, false));
          return enh.out;
        }, e.args, true);
      case 'scalar':
        return this.rangeEval(null, (v, _s, enh) => {
          let value = NaN;
          let found = false;
          for (const s of v[0]) {
            if (s.h !== null) continue;
            if (found) {
              value = NaN;
              break;
            }
            found = true;
            value = s.f;
          }
          enh.out.push(enh.sample(NO_LABELS, value, false));
          return enh.out;
        }, e.args, true);
      case 'absent': {
        const labels = absentLabels(absentMatchers(e.args[0]));
        return this.rangeEval(null, (v, _s, enh) => {
          if (v[0].length === 0) enh.out.push(enh.sample(labels, 1, false));
          return enh.out;
        }, e.args);
      }
      case 'start_timestamp':
        // Start timestamps only come from selectors: over an expression, nothing.
        return this.rangeEval(null, (_v, _s, enh) => enh.out, e.args);
      case 'timestamp':
        return this.rangeEval(null, (v, _s, enh) => {
          for (const s of v[0]) {
            enh.tick();
            enh.out.push(enh.sample(delayed ? s.metric : dropMetricName(s.metric), s.t / 1000, true));
          }
          return enh.out;
        }, e.args);
      case 'histogram_count':
      case 'histogram_sum':
      case 'histogram_avg':
      case 'histogram_stddev':
      case 'histogram_stdvar':
        // These read native histograms only and skip float samples; histograms never get
        // here (selection refuses them), so the result is empty.
        return this.rangeEval(null, (_v, _s, enh) => enh.out, e.args);
      case 'histogram_quantiles':
        return this.histogramQuantiles(e);
      case 'min_of':
      case 'max_of':
        return this.rangeEval(null, (v, _s, enh) => {
          const a = v[0][0].f;
          const b = v[1][0].f;
          enh.out.push(enh.sample(NO_LABELS, name === 'min_of' ? Math.min(a, b) : Math.max(a, b), false));
          return enh.out;
        }, e.args, true);
      default:
        break;
    }
    const k = this.kernel(name);
    switch (k.kind) {
      case 'scalar': {
        const kernel = k.kernel;
        return this.rangeEval(null, (_v, _s, enh) => {
          enh.out.push(enh.sample(NO_LABELS, kernel(enh.ts), false));
          return enh.out;
        }, e.args, true);
      }
      case 'instant': {
        const kernel = k.kernel;
        const args: number[] = [];
        if (vecArg < 0) {
          // Date functions without argument: the evaluation time, no labels.
          return this.rangeEval(null, (_v, _s, enh) => {
            const r = kernel(enh.ts / 1000, args);
            if (r !== undefined) enh.out.push(enh.sample(NO_LABELS, r, false));
            return enh.out;
          }, e.args);
        }
        return this.rangeEval(null, (v, _s, enh) => {
          args.length = 0;
          for (let i = 0; i < v.length; i++) if (i !== vecArg) args.push(v[i][0].f);
          for (const s of v[vecArg]) {
            enh.tick();
            if (s.h !== null) continue;
            const r = kernel(s.f, args);
            if (r === undefined) continue;
            enh.out.push(enh.sample(delayed ? s.metric : dropMetricName(s.metric), r, true));
          }
          return enh.out;
        }, e.args);
      }
      case 'vector': {
        const kernel = k.kernel;
        const scalars: number[] = [];
        const strings = e.args.filter((a) => a.type === 'StringLiteral').map(str);
        const call: VectorCall = {
          evalTs: 0,
          scalars,
          strings,
          argPos: e.args.map((a) => ({ start: a.start, end: a.end })),
          tick: () => this.q.checkDoneSometimes(),
        };
        const annos = this.q.annos;
        return this.rangeEval(null, (v, _s, enh) => {
          scalars.length = 0;
          for (let i = 0; i < e.args.length; i++) if (e.args[i].valueType === 'scalar') scalars.push(v[i][0].f);
          call.evalTs = enh.ts;
          let res: Vector;
          try {
            res = kernel(vecArg >= 0 ? v[vecArg] : [], call, annos);
          } catch (err) {
            if (err instanceof FunctionError) throw new EvalError(err.message);
            throw err;
          }
          for (const s of res) {
            enh.tick();
            if (!delayed && s.dropName) s.metric = dropMetricName(s.metric);
            enh.out.push(s);
          }
          return enh.out;
        }, e.args);
      }
      case 'range':
        throw new EvalError(`function ${name}() needs a range vector argument`);
    }
  }

  /**
   * histogram_quantiles(v, "label", φ1, φ2, …): histogram_quantile for each φ, the result
   * series told apart by a label holding φ (funcHistogramQuantiles).
   */
  private histogramQuantiles(e: Call): Matrix {
    const entry = this.kernel('histogram_quantile');
    if (entry.kind !== 'vector') throw new EvalError('histogram_quantile() must be a vector kernel');
    const kernel = entry.kernel;
    const label = str(e.args[1]);
    const vecPos = { start: e.args[0].start, end: e.args[0].end };
    const annos = this.q.annos;
    const delayed = this.delayed;
    const withLabel = new Map<Labels, Map<number, Labels>>();
    return this.rangeEval(null, (v, _s, enh) => {
      for (let i = 2; i < e.args.length; i++) {
        const q = v[i][0].f;
        const call: VectorCall = { evalTs: enh.ts, scalars: [q], strings: [], argPos: [{ start: e.args[i].start, end: e.args[i].end }, vecPos] };
        let res: Vector;
        try {
          res = kernel(v[0], call, annos);
        } catch (err) {
          if (err instanceof FunctionError) throw new EvalError(err.message);
          throw err;
        }
        for (const s of res) {
          enh.tick();
          // The labels with the quantile, memoised per (series, φ): stable output identities.
          let byQ = withLabel.get(s.metric);
          if (byQ === undefined) {
            byQ = new Map();
            withLabel.set(s.metric, byQ);
          }
          const qk = Number.isNaN(q) ? NaN : q;
          let m = byQ.get(qk);
          if (m === undefined) {
            m = setLabel(s.metric, label, formatOpenMetricsFloat(q));
            byQ.set(qk, m);
          }
          enh.out.push(enh.sample(!delayed && s.dropName ? dropMetricName(m) : m, s.f, s.dropName));
        }
      }
      return enh.out;
    }, e.args);
  }

  /** A function over a range vector, one series at a time, step by step. */
  private evalRangeCall(e: Call, matrixArg: number, src: RangeSource): Matrix {
    const rf = this.rangeFunction(e, matrixArg, src, this.q);
    const out: Matrix = [];
    for (const s of src.series) {
      this.q.checkDoneSometimes();
      const ss = rf.series(s.metric, s.dropName, s.st, s.points.t, s.points.f, s.points.length);
      if (ss !== null) out.push(ss);
    }
    rf.done();
    return this.rangeCallResult(e, out, rf.dropName);
  }

  /**
   * The range function e over its matrix argument src: checked, with its scalar
   * arguments evaluated. Its samples count in `count` (the query's state, or a
   * selection's own count when it runs as the series are read). With `reuse`, each
   * series' points are made in one buffer, valid until the next series.
   */
  rangeFunction(e: Call, matrixArg: number, src: Omit<RangeSource, 'series'>, count: SampleCount, reuse = false): RangeFunction {
    const name = e.func.name;
    const entry = this.kernel(name);
    if (entry.kind !== 'range') throw new EvalError(`function ${name}() does not take a range vector`);
    if (src.anchored && !ANCHORED_SAFE.includes(name)) {
      throw new EvalError(`anchored modifier can only be used with: ${ANCHORED_SAFE.join(', ')} - not with ${name}`);
    }
    if (src.smoothed && !SMOOTHED_SAFE.includes(name)) {
      throw new EvalError(`smoothed modifier can only be used with: ${SMOOTHED_SAFE.join(', ')} - not with ${name}`);
    }
    // Scalar arguments, one value per step.
    const argVals: Float64Array[] = [];
    for (let i = 0; i < e.args.length; i++) {
      if (i === matrixArg) continue;
      const m = this.evalMatrix(e.args[i]);
      argVals.push(m.length > 0 ? m[0].floats.f : new Float64Array(0));
    }
    const firstArgPos = matrixArg === 0 ? src.pos : { start: e.args[0].start, end: e.args[0].end };
    const readST = this.q.cfg.useStartTimestamps && ST_FUNCTIONS.has(name);
    const steps = { start: this.startTs, interval: this.interval, numSteps: this.numSteps };
    return new RangeFunction(this.q, count, name, entry.kernel, steps, src, argVals, readST, firstArgPos, reuse);
  }

  /** A range function's result from its series' points: absent_over_time's, or checked for clashes. */
  private rangeCallResult(e: Call, out: Matrix, dropName: boolean): Matrix {
    if (e.func.name === 'absent_over_time') return this.absentOverTime(e, out, dropName);
    if (!this.delayed && containsSameLabelsetMatrix(out, this.tick)) throw new EvalError('vector cannot contain metrics with the same labelset');
    return out;
  }

  /** absent_over_time: 1 at the steps where no input series has a point. */
  private absentOverTime(e: Call, mat: Matrix, dropName: boolean): Matrix {
    const steps = this.numSteps;
    for (const s of mat) if (s.floats.length === steps) return [];
    const found = new Set<number>();
    for (let i = 0; i < mat.length; i++) {
      const fp = mat[i].floats;
      this.q.checkDoneSometimes(fp.length);
      for (let j = 0; j < fp.length; j++) found.add(fp.t[j]);
      if (i > 0 && found.size === steps) return [];
    }
    // Not counted in currentSamples, as in Prometheus; at most one point per step, and the
    // steps are bounded by maxSamples (checkSteps).
    const ss = this.q.newSeries(absentLabels(absentMatchers(e.args[0])), Math.max(1, steps - found.size));
    for (let i = 0; i < steps; i++) {
      this.q.checkDoneSometimes();
      const ts = this.stepTs(i);
      if (!found.has(ts)) ss.floats.push(ts, 1);
    }
    ss.dropName = dropName;
    return [ss];
  }

  // ---- result clean-up ----

  /** Drops the names marked for removal, then merges series that became equal (cleanupMetricLabels). */
  cleanupMetricLabels(mat: Matrix): Matrix {
    for (const s of mat) {
      this.q.checkDoneSometimes();
      if (s.dropName) s.metric = dropMetricName(s.metric);
    }
    return this.mergeSeriesWithSameLabelset(mat);
  }

  /**
   * Merges series with equal labels whose points do not overlap; overlapping points are
   * "vector cannot contain metrics with the same labelset" (mergeSeriesWithSameLabelset).
   */
  mergeSeriesWithSameLabelset(mat: Matrix): Matrix {
    if (mat.length <= 1 || !containsSameLabelsetMatrix(mat, this.tick)) return mat;
    const groups = new Map<string, Series[]>();
    for (const s of mat) {
      this.q.checkDoneSometimes();
      const k = keyOf(s.metric);
      const g = groups.get(k);
      if (g === undefined) groups.set(k, [s]);
      else g.push(s);
    }
    const merged: Matrix = [];
    for (const g of groups.values()) {
      if (g.length === 1) {
        merged.push(g[0]);
        continue;
      }
      // All points of the group, ordered by time through an index (the comparator checks
      // for timeouts: the group may be large).
      let n = 0;
      for (const s of g) n += s.floats.length;
      const t = new Float64Array(n);
      const f = new Float64Array(n);
      n = 0;
      for (const s of g) {
        t.set(s.floats.t.subarray(0, s.floats.length), n);
        f.set(s.floats.f.subarray(0, s.floats.length), n);
        n += s.floats.length;
      }
      const order = new Uint32Array(n);
      for (let j = 0; j < n; j++) order[j] = j;
      const tick = this.tick;
      order.sort((a, b) => (tick(), t[a] - t[b]));
      const base = g[0];
      const fp = new FloatPoints(n);
      for (let j = 0; j < n; j++) {
        if (j > 0 && t[order[j]] === t[order[j - 1]]) throw new EvalError('vector cannot contain metrics with the same labelset');
        fp.push(t[order[j]], f[order[j]]);
      }
      base.floats = fp;
      merged.push(base);
    }
    return merged;
  }
}

/** A float as OpenMetrics writes it: Go's %g, with ".0" added to integers (labels.FormatOpenMetricsFloat). */
export function formatOpenMetricsFloat(f: number): string {
  if (f === 0) return '0.0';
  const s = formatFloatG(f);
  if (!Number.isFinite(f) || s.includes('e') || s.includes('.')) return s;
  return s + '.0';
}

/** Linear interpolation at t between two points (interpolate, not as a counter). */
function interpolate(t1: number, f1: number, t2: number, f2: number, t: number): number {
  return f1 + ((f2 - f1) * (t - t1)) / (t2 - t1);
}

/** First index with a[i] > v. */
function upperBoundArr(a: number[], v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The points of an anchored or smoothed range selector (extendFloats): the samples in
 * t[lo..hi) (fetched one lookback delta wider) become a point at mint (the last sample at
 * or before it, or the value interpolated there when smoothed), the samples strictly
 * inside (mint, maxt), and a point at maxt. Null when nothing lies after mint.
 */
function extendFloats(q: QueryState, metric: Labels, t: Float64Array, f: Float64Array, lo: number, hi: number, mint: number, maxt: number, smoothed: boolean): Series | null {
  // Staleness markers never enter range selectors.
  const pt: number[] = [];
  const pf: number[] = [];
  for (let i = lo; i < hi; i++) {
    if (isStaleNaN(f[i])) continue;
    pt.push(t[i]);
    pf.push(f[i]);
  }
  if (pt.length === 0) return null;
  let last = pt.length - 1;
  // sort.Search over [0, last): the first index with t > mint, minus one.
  let first = 0;
  while (first < last && pt[first] <= mint) first++;
  first = Math.max(0, first - 1);
  if (smoothed) {
    let i = 0;
    while (i < last && pt[i] < maxt) i++;
    last = i;
  }
  if (pt[last] <= mint) return null;
  const left = smoothed && pt[first] < mint ? interpolate(pt[first], pf[first], pt[first + 1], pf[first + 1], mint) : pf[first];
  const right = smoothed && last > 0 && pt[last] > maxt ? interpolate(pt[last - 1], pf[last - 1], pt[last], pf[last], maxt) : pf[last];
  if (pt[first] <= mint) first++;
  if (pt[last] >= maxt) last--;
  const ss = q.newSeries(metric, Math.max(last - first + 1, 0) + 2);
  ss.floats.push(mint, left);
  for (let i = first; i <= last; i++) ss.floats.push(pt[i], pf[i]);
  ss.floats.push(maxt, right);
  return ss;
}

function str(e: Expr): string {
  if (e.type !== 'StringLiteral') throw new EvalError(`expected a string literal, got ${printExpr(e)}`);
  return e.val;
}

function absentMatchers(arg: Expr): import('@thanos-ts/tsdb').Matcher[] {
  if (arg.type === 'VectorSelector') return arg.matchers;
  if (arg.type === 'MatrixSelector') return arg.vectorSelector.matchers;
  return [];
}

/** Whether two samples of a vector have the same labels (Vector.ContainsSameLabelset). */
export function containsSameLabelset(vec: Vector): boolean {
  if (vec.length <= 1) return false;
  const seen = new Set<string>();
  for (const s of vec) {
    const k = keyOf(s.metric);
    if (seen.has(k)) return true;
    seen.add(k);
  }
  return false;
}

function containsSameLabelsetMatrix(mat: Matrix, tick: () => void): boolean {
  if (mat.length <= 1) return false;
  const seen = new Labelsets();
  for (const s of mat) {
    tick();
    if (!seen.add(s.metric)) return true;
  }
  return false;
}

/** The label sets of series seen so far, to find two with the same (ContainsSameLabelset). */
export class Labelsets {
  private readonly seen = new Set<string>();

  /** Adds metric's label set; false when it was there already. */
  add(metric: Labels): boolean {
    const k = keyOf(metric);
    if (this.seen.has(k)) return false;
    this.seen.add(k);
    return true;
  }
}
