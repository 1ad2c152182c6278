// The PromQL engine (promql/engine.go Engine): instant and range queries over a
// Queryable. A query runs in three phases, like Prometheus's:
//  1. preparation: parse (or copy) the expression and preprocess it for the query's
//     time range (step invariants, `@ start()`, durations);
//  2. selection: one querier for the whole time range the query reads, one select per
//     vector selector with hints (start/end/step/func/range/grouping) so that a
//     StoreAPI-backed queryable can push work down; samples land in typed arrays;
//  3. evaluation, synchronous, step by step (evaluator.ts).

import { type Queryable, compareLabels } from '@thanos-ts/tsdb';
import type { AggregateExpr, Call, Expr, MatrixSelector, VectorSelector } from '../ast.js';
import { inspect } from '../ast.js';
import { Annotations } from '../functions/annotations.js';
import { FUNCTION_KERNELS } from '../functions/index.js';
import type { KernelEntry } from '../functions/types.js';
import { printExpr } from '../printer.js';
import { ALL_FEATURES, type ParseOptions, parseExpr } from '../parser.js';
import type { Matrix, Value } from '../value.js';
import { matrixValue, scalarValue, stringValue, vectorValue } from '../value.js';
import { documentedType } from '../value-type.js';
import { PointsArena } from './arena.js';
import { type AbortSignalLike, EvalError, QUERY_EXECUTION, TooManySamplesError } from './errors.js';
import { infoCandidateSelector } from './info.js';
import { type EvaluatorConfig, Evaluator, Labelsets, QueryState, ST_FUNCTIONS, StringResult, stepCount } from './evaluator.js';
import { type EvalStatement, cloneExpr, findMinMaxTime, forEachSelector, preprocessExpr, selectHints, setOffsetForAtModifier } from './preprocess.js';
import { type SelectedData, type StepSink, selectSeries } from './select.js';
import { STREAMED_OPS, StepAggregation } from './aggregation.js';
import { sortStrings } from './label-sets.js';

export const DEFAULT_LOOKBACK_DELTA = 5 * 60 * 1000;
export const DEFAULT_TIMEOUT = 2 * 60 * 1000;
export const DEFAULT_MAX_SAMPLES = 50_000_000;

/** Engine settings (Prometheus's EngineOpts and feature flags). Durations in ms. */
export interface EngineOptions {
  /** How far back an instant selector looks for a sample (default 5m). */
  lookbackDelta?: number;
  /** Maximum run time of a query (default 2m); Infinity for none. */
  timeout?: number;
  /** Maximum number of samples a query may hold in memory (default 50 million). */
  maxSamples?: number;
  /**
   * Maximum number of samples a query may select from storage (default: no limit, as
   * Prometheus). Selection reads every sample of the query's range before evaluating,
   * where Prometheus streams them, so a server bounds its memory with this.
   */
  maxSelectedSamples?: number;
  /**
   * Delay dropping __name__ to the end of evaluation (Prometheus's
   * promql-delayed-name-removal feature flag; default off, as in Prometheus).
   */
  enableDelayedNameRemoval?: boolean;
  /** Experimental functions and aggregations (promql-experimental-functions; default off). */
  enableExperimentalFunctions?: boolean;
  /** Full parser switches; overrides enableExperimentalFunctions when given. */
  parseOptions?: ParseOptions;
  /** The step of subqueries written without one, given their range (default 1m). */
  noStepSubqueryInterval?: (rangeMs: number) => number;
  /** Function kernels by name (default: the package's FUNCTION_KERNELS). */
  kernels?: ReadonlyMap<string, KernelEntry>;
  /**
   * Use the start timestamps of samples where the storage knows them (Prometheus's
   * use-start-timestamps feature; default off): rate, irate, increase, resets and
   * start_timestamp() read them.
   */
  useStartTimestamps?: boolean;
}

/** Per-query settings. */
export interface QueryOptions {
  /**
   * Aborts the query: it fails with QueryCanceledError. An AbortSignal or any object with
   * an `aborted` flag (AbortSignalLike): the engine polls the flag at its checkpoints, also
   * during synchronous evaluation, and never registers listeners.
   */
  signal?: AbortSignalLike;
  /** Overrides the engine's lookback delta for this query. */
  lookbackDelta?: number;
  /** Lowers the engine's maxSamples for this query (never raises it). */
  maxSamples?: number;
  /** Lowers the engine's maxSelectedSamples for this query (never raises it). */
  maxSelectedSamples?: number;
  /**
   * Called once every selector is selected, with the samples selected, right before the
   * synchronous evaluation. It may throw to stop the query there.
   */
  onSelected?: (samples: number) => void;
}

/** The outcome of a query: its value and annotations. */
export interface QueryResult {
  value: Value;
  annotations: Annotations;
  /** Warnings rendered against the query text: `PromQL warning: … (1:5)`. */
  warnings: string[];
  /** Infos rendered against the query text. */
  infos: string[];
}

/** Evaluates PromQL queries over any Queryable. Stateless between queries; safe to share. */
/**
 * A query the caller has just parsed with Engine.parse and hands over with its text: the
 * engine takes the expression as it is (no second parse, no copy) and may change it.
 */
export interface ParsedQuery {
  parsed: true;
  expr: Expr;
  text: string;
}

function isParsedQuery(q: Expr | ParsedQuery): q is ParsedQuery {
  return (q as ParsedQuery).parsed === true;
}

export class Engine {
  readonly lookbackDelta: number;
  readonly timeout: number;
  readonly maxSamples: number;
  readonly maxSelectedSamples: number;
  readonly enableDelayedNameRemoval: boolean;
  readonly parseOptions: ParseOptions;
  private readonly noStepSubqueryInterval: (rangeMs: number) => number;
  private readonly kernels: ReadonlyMap<string, KernelEntry>;
  readonly useStartTimestamps: boolean;

  constructor(opts: EngineOptions = {}) {
    this.lookbackDelta = opts.lookbackDelta ?? DEFAULT_LOOKBACK_DELTA;
    this.timeout = opts.timeout ?? DEFAULT_TIMEOUT;
    this.maxSamples = opts.maxSamples ?? DEFAULT_MAX_SAMPLES;
    this.maxSelectedSamples = opts.maxSelectedSamples ?? Infinity;
    this.enableDelayedNameRemoval = opts.enableDelayedNameRemoval ?? false;
    this.parseOptions = opts.parseOptions ?? {
      enableExperimentalFunctions: opts.enableExperimentalFunctions ?? false,
      // Duration expressions are always on in Prometheus 3.14.
      experimentalDurationExpr: true,
      enableExtendedRangeSelectors: false,
      enableBinopFillModifiers: false,
    };
    this.noStepSubqueryInterval = opts.noStepSubqueryInterval ?? (() => 60_000);
    this.kernels = opts.kernels ?? FUNCTION_KERNELS;
    this.useStartTimestamps = opts.useStartTimestamps ?? false;
  }

  /** An engine with every feature on: the settings of Prometheus's PromQL tests (NewTestEngine). */
  static forTests(opts: EngineOptions = {}): Engine {
    return new Engine({ enableDelayedNameRemoval: true, useStartTimestamps: true, parseOptions: ALL_FEATURES, ...opts });
  }

  /** Parses a query with the engine's parser settings (throws ParseErrors). */
  parse(query: string): Expr {
    return parseExpr(query, this.parseOptions);
  }

  /** Evaluates query at ts (Unix ms). */
  async instantQuery(queryable: Queryable, query: string | Expr | ParsedQuery, ts: number, opts: QueryOptions = {}): Promise<QueryResult> {
    const { expr, text } = this.prepare(query);
    return this.exec(queryable, expr, text, ts, ts, 0, opts);
  }

  /** Evaluates query at start, start+step, … ≤ end (Unix ms; step > 0). */
  async rangeQuery(queryable: Queryable, query: string | Expr | ParsedQuery, start: number, end: number, step: number, opts: QueryOptions = {}): Promise<QueryResult> {
    const { expr, text } = this.prepare(query);
    if (expr.valueType !== 'vector' && expr.valueType !== 'scalar') {
      throw new EvalError(`invalid expression type "${documentedType(expr.valueType)}" for range query, must be Scalar or instant Vector`);
    }
    if (!(step > 0)) throw new EvalError('zero or negative query resolution step widths are not accepted. Try a positive integer');
    if (end < start) throw new EvalError('end timestamp must not be before start time');
    return this.exec(queryable, expr, text, start, end, step, opts);
  }

  private prepare(query: string | Expr | ParsedQuery): { expr: Expr; text: string } {
    if (typeof query === 'string') return { expr: this.parse(query), text: query };
    if (isParsedQuery(query)) return query;
    return { expr: cloneExpr(query), text: printExpr(query) };
  }

  private async exec(queryable: Queryable, parsed: Expr, text: string, start: number, end: number, interval: number, opts: QueryOptions): Promise<QueryResult> {
    const lookbackDelta = opts.lookbackDelta !== undefined && opts.lookbackDelta > 0 ? opts.lookbackDelta : this.lookbackDelta;
    const expr = preprocessExpr(parsed, start, end, interval);
    const annos = new Annotations();
    const deadline = this.timeout === Infinity ? Infinity : Date.now() + this.timeout;
    const data: SelectedData = new Map();
    const arena = new PointsArena();
    const state = new QueryState(
      {
        lookbackDelta,
        maxSamples: Math.min(this.maxSamples, opts.maxSamples ?? Infinity),
        engineMaxSamples: this.maxSamples,
        enableDelayedNameRemoval: this.enableDelayedNameRemoval,
        noStepSubqueryInterval: this.noStepSubqueryInterval,
        kernel: (name) => this.kernels.get(name),
        useStartTimestamps: this.useStartTimestamps,
      },
      data,
      annos,
      deadline,
      opts.signal,
      arena,
    );
    state.checkDone(QUERY_EXECUTION);
    // Evaluations with more steps than maxSamples fail before anything is selected.
    state.checkSteps(stepCount(start, end, interval === 0 ? 1 : interval));
    inspect(expr, (n) => {
      if (n.type !== 'SubqueryExpr') return;
      // A subquery runs over at least range/step steps (exactly: subqueryTimeRange).
      const step = n.step !== 0 ? n.step : this.noStepSubqueryInterval(n.range);
      state.checkSteps(Math.floor(n.range / step));
    });

    const stmt: EvalStatement = { start, end, interval, lookbackDelta };
    const { mint, maxt } = findMinMaxTime(stmt, expr);
    const querier = await queryable.querier(mint, maxt);
    let selected = 0;
    const maxSelected = Math.min(this.maxSelectedSamples, opts.maxSelectedSamples ?? Infinity);
    const countSelected = (n: number): void => {
      selected += n;
      if (selected > maxSelected) throw new TooManySamplesError(QUERY_EXECUTION);
    };
    const instant = start === end && interval === 0;
    const stepInterval = instant ? 1 : interval;
    const ev = new Evaluator(state, start, end, stepInterval);
    // The query's steps, on which plain selectors and streamed aggregations are evaluated.
    const grid = { start, interval: stepInterval, count: ev.numSteps };
    try {
      // Selection: every selector once, concurrently (remote stores answer in parallel).
      const selects: Promise<void>[] = [];
      forEachSelector(expr, (vs, path, evalRange) => {
        const hints = selectHints(stmt, vs, path, evalRange, this.noStepSubqueryInterval);
        // A plain vector selector (no range, `@`, modifier or enclosing subquery, and not
        // timestamp()'s argument, which reads the samples' times) is evaluated on the
        // query's steps as its series arrive: a point per step is all it keeps.
        const parent = path[path.length - 1];
        const onSteps =
          evalRange === 0 &&
          vs.timestamp === null &&
          vs.startOrEnd === null &&
          !vs.anchored &&
          !vs.smoothed &&
          !(parent?.type === 'Call' && (parent.func.name === 'timestamp' || parent.func.name === 'start_timestamp')) &&
          !path.some((p) => p.type === 'SubqueryExpr');
        const steps = onSteps ? { ...grid, offset: vs.originalOffset, lookback: lookbackDelta } : null;
        if (onSteps) state.evaluatedOnSteps.add(vs);
        // An aggregation right around it takes the series as they arrive, by `by` groups.
        let sink: StepSink | null = null;
        if (steps !== null && parent?.type === 'AggregateExpr' && parent.expr === vs && STREAMED_OPS.has(parent.op)) {
          const agg = new StepAggregation(parent.op, sortStrings(parent.grouping), parent.without, steps, state.cfg.maxSamples);
          state.streamedAggregations.set(parent, agg);
          sink = (metric, t, f, n) => agg.add(metric, t, f, n);
        }
        if (steps !== null) {
          selects.push(
            // The selection limit bounds what is held: a sink's series are not.
            selectSeries(querier, hints, vs, false, () => state.checkDone(QUERY_EXECUTION), arena, sink === null ? countSelected : () => {}, { kind: 'steps', grid: steps, sink }).then((series) => {
              data.set(vs, series);
            }),
          );
          return;
        }
        // A range function over this matrix selector runs over each series as it is read:
        // only its points are kept.
        const streamedCall = evalRange > 0 ? streamableRangeCall(vs, path, state.cfg) : null;
        if (streamedCall !== null) {
          const { call, ms } = streamedCall;
          // Its windows and points count against the bound on what is held, as they would
          // while evaluating (without what other parts of the query hold by then).
          const count = { currentSamples: 0 };
          const windows = { offset: vs.originalOffset, range: ms.range, fixed: false, anchored: false, smoothed: false, pos: { start: ms.start, end: ms.end } };
          // An aggregation right around the call takes its points series by series: they
          // are made in one reused buffer, and the call's matrix never exists either.
          const outer = path[path.length - 3];
          const agg = outer !== undefined && aggregatesAsSeriesArrive(outer, call) ? new StepAggregation(outer.op, sortStrings(outer.grouping), outer.without, grid, state.cfg.maxSamples) : null;
          const rf = ev.rangeFunction(call, 0, windows, count, agg !== null);
          let take: StepSink;
          if (agg !== null) {
            state.streamedAggregations.set(outer as AggregateExpr, agg);
            // What evalRangeCall checks of the matrix it would have returned.
            const labelsets = !state.cfg.enableDelayedNameRemoval && rf.dropName ? new Labelsets() : null;
            take = (metric, t, f, n) => {
              const ss = rf.series(metric, false, null, t, f, n);
              if (ss === null) return;
              if (labelsets !== null && !labelsets.add(ss.metric)) throw new EvalError('vector cannot contain metrics with the same labelset');
              agg.add(ss.metric, ss.floats.t, ss.floats.f, ss.floats.length);
            };
          } else {
            const streamed = { series: [] as Matrix, dropName: rf.dropName };
            state.streamedRangeCalls.set(call, streamed);
            take = (metric, t, f, n) => {
              const ss = rf.series(metric, false, null, t, f, n);
              if (ss !== null) streamed.series.push(ss);
            };
          }
          selects.push(
            // The selection limit still counts the samples read: they all pass through here.
            selectSeries(querier, hints, vs, true, () => state.checkDone(QUERY_EXECUTION), arena, countSelected, { kind: 'samples', sink: take }).then(() => {
              rf.done();
              data.set(vs, []);
            }),
          );
          return;
        }
        selects.push(
          selectSeries(querier, hints, vs, evalRange > 0, () => state.checkDone(QUERY_EXECUTION), arena, countSelected).then((series) => {
            data.set(vs, series);
          }),
        );
      });
      // info() calls: their candidate info series (info.ts).
      inspect(expr, (n, path) => {
        if (n.type !== 'Call' || n.func.name !== 'info') return;
        const vs = infoCandidateSelector(n);
        const hints = { ...selectHints(stmt, vs, [...path, n], 0, this.noStepSubqueryInterval), func: 'info' };
        selects.push(
          selectSeries(querier, hints, vs, false, () => state.checkDone(QUERY_EXECUTION), arena, countSelected).then((series) => {
            state.infoCandidates.set(n, series);
          }),
        );
      });
      await Promise.all(selects);
      opts.onSelected?.(selected);

      setOffsetForAtModifier(start, expr);
      const val = ev.evalTop(expr);
      const value = toValue(val, expr, start, instant, () => state.checkDoneSometimes());
      const rendered = annos.asStrings(text);
      return { value, annotations: annos, warnings: rendered.warnings, infos: rendered.infos };
    } finally {
      await querier.close();
    }
  }
}

/**
 * The range function call whose only argument is vs's matrix selector, when it can run
 * over the series as they are read: no `@`, anchored or smoothed modifier, no enclosing
 * subquery, and no start timestamps to read.
 */
function streamableRangeCall(vs: VectorSelector, path: readonly Expr[], cfg: EvaluatorConfig): { call: Call; ms: MatrixSelector } | null {
  const call = path[path.length - 2];
  const ms = path[path.length - 1];
  if (ms?.type !== 'MatrixSelector' || call?.type !== 'Call' || call.args.length !== 1 || call.args[0] !== ms) return null;
  if (vs.timestamp !== null || vs.startOrEnd !== null || vs.anchored || vs.smoothed) return null;
  if (cfg.kernel(call.func.name)?.kind !== 'range') return null;
  if (cfg.useStartTimestamps && ST_FUNCTIONS.has(call.func.name)) return null;
  return path.some((p) => p.type === 'SubqueryExpr') ? null : { call, ms };
}

/**
 * Whether e is an aggregation that can take call's series as they come (StepAggregation):
 * one of STREAMED_OPS, not `by` the metric name (which the call may drop only later,
 * with delayed name removal), over a call whose result needs no look at all its series
 * first (absent_over_time's does).
 */
function aggregatesAsSeriesArrive(e: Expr, call: Call): e is AggregateExpr {
  return e.type === 'AggregateExpr' && e.expr === call && STREAMED_OPS.has(e.op) && !(!e.without && e.grouping.includes('__name__')) && call.func.name !== 'absent_over_time';
}

/** The API value of an evaluation result (execEvalStmt's conversions). */
function toValue(val: Matrix | StringResult, expr: Expr, start: number, instant: boolean, tick: () => void): Value {
  if (val instanceof StringResult) return stringValue(val.t, val.v);
  if (!instant) return matrixValue(sortMatrix(val, tick));
  switch (expr.valueType) {
    case 'vector':
      return vectorValue(val.map((s) => ({ metric: s.metric, t: start, f: s.floats.f[0], h: null, dropName: s.dropName })));
    case 'scalar':
      return scalarValue(start, val.length > 0 ? val[0].floats.f[0] : NaN);
    case 'matrix':
      return matrixValue(sortMatrix(val, tick));
    default:
      throw new EvalError(`unexpected expression type "${expr.valueType}"`);
  }
}

/** Sorts by labels; the comparator checks for timeouts (results may hold millions of series). */
function sortMatrix(m: Matrix, tick: () => void): Matrix {
  return m.sort((a, b) => (tick(), compareLabels(a.metric, b.metric)));
}
