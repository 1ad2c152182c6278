// Query preparation (promql/engine.go: PreprocessExpr, setOffsetForAtModifier,
// FindMinMaxTime, getTimeRangesForSelector): the rewrites the engine applies to a
// parsed expression before evaluating it, and the time ranges its selectors need.
//
// The evaluator mutates the tree (resolved offsets, `@ start()` timestamps, step
// invariant wrappers, subqueries replaced by their results), so every query works on
// its own copy: cloneExpr.

import type { SelectHints } from '@thanos-ts/tsdb';
import type { DurationExpr, DurationNode, Expr, NumberLiteral, StepInvariantExpr, SubqueryExpr, VectorSelector } from '../ast.js';
import { inspect } from '../ast.js';
import { resolveDurationExprs } from '../durations.js';

/**
 * Functions whose result depends on the evaluation time even with step-invariant
 * arguments (AtModifierUnsafeFunctions), and timestamp(), which reads the timestamps of
 * its argument.
 */
export const AT_MODIFIER_UNSAFE_FUNCTIONS: ReadonlySet<string> = new Set([
  'days_in_month',
  'day_of_month',
  'day_of_week',
  'day_of_year',
  'end',
  'hour',
  'minute',
  'month',
  'year',
  'predict_linear',
  'range',
  'start',
  'step',
  'time',
  'timestamp',
]);

/** A deep copy of an expression tree (matchers and function definitions are shared: immutable). */
export function cloneExpr<T extends Expr>(e: T): T {
  return cloneNode(e) as T;
}

function cloneNode(e: Expr): Expr {
  switch (e.type) {
    case 'AggregateExpr':
      return { ...e, expr: cloneNode(e.expr), param: e.param === null ? null : cloneNode(e.param), grouping: e.grouping.slice() };
    case 'BinaryExpr':
      return {
        ...e,
        lhs: cloneNode(e.lhs),
        rhs: cloneNode(e.rhs),
        vectorMatching:
          e.vectorMatching === null
            ? null
            : {
                ...e.vectorMatching,
                matchingLabels: e.vectorMatching.matchingLabels.slice(),
                include: e.vectorMatching.include.slice(),
                fillValues: { ...e.vectorMatching.fillValues },
              },
      };
    case 'Call':
      return { ...e, args: e.args.map(cloneNode) };
    case 'MatrixSelector':
      return { ...e, vectorSelector: { ...e.vectorSelector, matchers: e.vectorSelector.matchers.slice() }, rangeExpr: cloneDuration(e.rangeExpr) };
    case 'SubqueryExpr':
      return {
        ...e,
        expr: cloneNode(e.expr),
        rangeExpr: cloneDuration(e.rangeExpr),
        stepExpr: cloneDuration(e.stepExpr),
        originalOffsetExpr: cloneDuration(e.originalOffsetExpr),
      };
    case 'ParenExpr':
    case 'UnaryExpr':
    case 'StepInvariantExpr':
      return { ...e, expr: cloneNode(e.expr) };
    case 'VectorSelector':
      return { ...e, matchers: e.matchers.slice(), originalOffsetExpr: cloneDuration(e.originalOffsetExpr) };
    case 'NumberLiteral':
    case 'StringLiteral':
      return { ...e };
  }
}

function cloneDuration(d: DurationExpr | null): DurationExpr | null {
  if (d === null) return null;
  const c = (n: DurationNode | null): DurationNode | null => (n === null ? null : n.type === 'NumberLiteral' ? { ...n } : cloneDuration(n));
  return { ...d, lhs: c(d.lhs), rhs: c(d.rhs) };
}

function numberLiteral(val: number, at: Expr): NumberLiteral {
  return { type: 'NumberLiteral', valueType: 'scalar', val, duration: false, start: at.start, end: at.end };
}

/**
 * Replaces start(), end(), range() and step() by their values for this query
 * (foldQueryContextFunctions), so the expressions around them can be step invariant.
 */
export function foldQueryContextFunctions(expr: Expr, startMs: number, endMs: number, stepMs: number): Expr {
  if (expr.type === 'Call') {
    switch (expr.func.name) {
      case 'start':
        return numberLiteral(startMs / 1000, expr);
      case 'end':
        return numberLiteral(endMs / 1000, expr);
      case 'range':
        return numberLiteral((endMs - startMs) / 1000, expr);
      case 'step':
        return numberLiteral(startMs !== endMs ? stepMs / 1000 : 0, expr);
    }
  }
  switch (expr.type) {
    case 'BinaryExpr':
      expr.lhs = foldQueryContextFunctions(expr.lhs, startMs, endMs, stepMs);
      expr.rhs = foldQueryContextFunctions(expr.rhs, startMs, endMs, stepMs);
      break;
    case 'Call':
      for (let i = 0; i < expr.args.length; i++) expr.args[i] = foldQueryContextFunctions(expr.args[i], startMs, endMs, stepMs);
      break;
    case 'AggregateExpr':
      expr.expr = foldQueryContextFunctions(expr.expr, startMs, endMs, stepMs);
      if (expr.param !== null) expr.param = foldQueryContextFunctions(expr.param, startMs, endMs, stepMs);
      break;
    case 'UnaryExpr':
    case 'ParenExpr':
    case 'SubqueryExpr':
    case 'StepInvariantExpr':
      expr.expr = foldQueryContextFunctions(expr.expr, startMs, endMs, stepMs);
      break;
    default:
      break;
  }
  return expr;
}

/**
 * Prometheus's PreprocessExpr: folds start()/end()/range()/step(), computes duration
 * expressions, resolves `@ start()`/`@ end()`, drops parentheses around function and
 * aggregation arguments and wraps the highest step-invariant sub-trees in
 * StepInvariantExpr. Throws DurationError for invalid durations.
 */
export function preprocessExpr(expr: Expr, startMs: number, endMs: number, stepMs: number): Expr {
  expr = foldQueryContextFunctions(expr, startMs, endMs, stepMs);
  resolveDurationExprs(expr, { stepMs, rangeMs: endMs - startMs });
  const [, shouldWrap] = preprocessHelper(expr, startMs, endMs);
  return shouldWrap ? stepInvariant(expr) : expr;
}

function stepInvariant(expr: Expr): StepInvariantExpr {
  return { type: 'StepInvariantExpr', valueType: expr.valueType, expr, start: expr.start, end: expr.end };
}

function unwrapParens(e: Expr): Expr {
  while (e.type === 'ParenExpr') e = e.expr;
  return e;
}

/** Returns [isStepInvariant, shouldWrap] (preprocessExprHelper). */
function preprocessHelper(expr: Expr, startMs: number, endMs: number): [boolean, boolean] {
  switch (expr.type) {
    case 'VectorSelector':
      resolveAtPreprocessor(expr, startMs, endMs);
      return [expr.timestamp !== null, expr.timestamp !== null];
    case 'AggregateExpr':
      expr.expr = unwrapParens(expr.expr);
      if (expr.param !== null) expr.param = unwrapParens(expr.param);
      return preprocessHelper(expr.expr, startMs, endMs);
    case 'BinaryExpr': {
      const [invL, wrapL] = preprocessHelper(expr.lhs, startMs, endMs);
      const [invR, wrapR] = preprocessHelper(expr.rhs, startMs, endMs);
      if (invL && invR) return [true, true];
      if (wrapL) expr.lhs = stepInvariant(expr.lhs);
      if (wrapR) expr.rhs = stepInvariant(expr.rhs);
      return [false, false];
    }
    case 'Call': {
      let inv = !AT_MODIFIER_UNSAFE_FUNCTIONS.has(expr.func.name);
      // timestamp(metric @ t) is step invariant, timestamp(abs(metric @ t)) is not.
      let timestampOfInvariantSelectors = expr.func.name === 'timestamp';
      const wrap: boolean[] = [];
      for (let i = 0; i < expr.args.length; i++) {
        expr.args[i] = unwrapParens(expr.args[i]);
        const [argInv, argWrap] = preprocessHelper(expr.args[i], startMs, endMs);
        wrap.push(argWrap);
        inv = inv && argInv;
        if (!argInv || expr.args[i].type !== 'VectorSelector') timestampOfInvariantSelectors = false;
      }
      if (inv || timestampOfInvariantSelectors) return [true, true];
      for (let i = 0; i < wrap.length; i++) if (wrap[i]) expr.args[i] = stepInvariant(expr.args[i]);
      return [false, false];
    }
    case 'MatrixSelector': {
      const [inv] = preprocessHelper(expr.vectorSelector, startMs, endMs);
      return [inv, false];
    }
    case 'SubqueryExpr': {
      // The inside of a subquery is wrapped whenever it is invariant, @ or not: it is then
      // evaluated once, relative to the subquery's start.
      const [inv] = preprocessHelper(expr.expr, startMs, endMs);
      if (inv) expr.expr = stepInvariant(expr.expr);
      resolveAtPreprocessor(expr, startMs, endMs);
      return [expr.timestamp !== null, false];
    }
    case 'ParenExpr':
    case 'UnaryExpr':
      return preprocessHelper(expr.expr, startMs, endMs);
    case 'StringLiteral':
    case 'NumberLiteral':
      return [true, false];
    case 'StepInvariantExpr':
      return [true, false];
  }
}

function resolveAtPreprocessor(n: VectorSelector | SubqueryExpr, startMs: number, endMs: number): void {
  if (n.startOrEnd === 'start') n.timestamp = startMs;
  else if (n.startOrEnd === 'end') n.timestamp = endMs;
}

/**
 * The summed offsets and ranges of the subqueries on a path, reset at a subquery with
 * `@` (whose timestamp is returned, else null) (subqueryTimes).
 */
export function subqueryTimes(path: readonly Expr[]): { offset: number; range: number; ts: number | null } {
  let offset = 0;
  let range = 0;
  let ts: number | null = null;
  for (const n of path) {
    if (n.type !== 'SubqueryExpr') continue;
    offset += n.originalOffset;
    range += n.range;
    if (n.timestamp !== null) {
      offset = n.originalOffset;
      range = n.range;
      ts = n.timestamp;
    }
  }
  return { offset, range, ts };
}

/**
 * Sets `offset` of every selector and subquery so that evaluating at evalTime reads the
 * data of its `@` timestamp (setOffsetForAtModifier).
 */
export function setOffsetForAtModifier(evalTime: number, expr: Expr): void {
  const offsetFor = (ts: number | null, originalOffset: number, path: readonly Expr[]): number => {
    if (ts === null) return originalOffset;
    const sq = subqueryTimes(path);
    let subqOffset = sq.offset;
    if (sq.ts !== null) subqOffset += evalTime - sq.ts;
    return originalOffset + (evalTime - ts - subqOffset);
  };
  inspect(expr, (n, path) => {
    switch (n.type) {
      case 'VectorSelector':
        n.offset = offsetFor(n.timestamp, n.originalOffset, path);
        break;
      case 'MatrixSelector':
        n.vectorSelector.offset = offsetFor(n.vectorSelector.timestamp, n.vectorSelector.originalOffset, path);
        break;
      case 'SubqueryExpr':
        n.offset = offsetFor(n.timestamp, n.originalOffset, path);
        break;
      default:
        break;
    }
  });
}

/** Statement parameters: query range, step and lookback, all in ms. */
export interface EvalStatement {
  start: number;
  end: number;
  interval: number;
  lookbackDelta: number;
}

/**
 * The time range [start, end] of the samples one selector needs (getTimeRangesForSelector);
 * evalRange is the range of its matrix selector, 0 for an instant selector.
 */
export function selectorTimeRange(s: EvalStatement, n: VectorSelector, path: readonly Expr[], evalRange: number): { start: number; end: number } {
  let start = s.start;
  let end = s.end;
  const sq = subqueryTimes(path);
  if (sq.ts !== null) {
    start = sq.ts;
    end = sq.ts;
  }
  if (n.timestamp !== null) {
    start = n.timestamp;
    end = n.timestamp;
  } else {
    start = start - sq.offset - sq.range;
    end -= sq.offset;
  }
  if (evalRange === 0) {
    // One ms less than the lookback: a sample exactly lookbackDelta old is out.
    start -= s.lookbackDelta - 1;
    if (n.smoothed) end += s.lookbackDelta;
  } else if (n.anchored) {
    start -= s.lookbackDelta + evalRange - 1;
  } else if (n.smoothed) {
    start -= s.lookbackDelta + evalRange - 1;
    end += s.lookbackDelta;
  } else {
    start -= evalRange - 1;
  }
  start -= n.originalOffset;
  end -= n.originalOffset;
  return { start, end };
}

/** The earliest and latest timestamp the statement reads (FindMinMaxTime); [0, 0] without selectors. */
export function findMinMaxTime(s: EvalStatement, expr: Expr): { mint: number; maxt: number } {
  let mint = Infinity;
  let maxt = -Infinity;
  forEachSelector(expr, (n, path, evalRange) => {
    const r = selectorTimeRange(s, n, path, evalRange);
    if (r.start < mint) mint = r.start;
    if (r.end > maxt) maxt = r.end;
  });
  if (maxt === -Infinity) return { mint: 0, maxt: 0 };
  return { mint, maxt };
}

/**
 * Calls fn for every vector selector that reads data, with its path and the range of its
 * matrix selector (0 if none). info()'s second argument only names labels: it is skipped.
 */
export function forEachSelector(expr: Expr, fn: (n: VectorSelector, path: readonly Expr[], evalRange: number) => void): void {
  let evalRange = 0;
  inspect(expr, (n, path) => {
    if (n.type === 'VectorSelector') {
      if (!n.bypassEmptyMatcherCheck) fn(n, path, evalRange);
      evalRange = 0;
    } else if (n.type === 'MatrixSelector') {
      evalRange = n.range;
    }
  });
}

/**
 * The `@` timestamp and offset that govern info()'s info series, from its first argument
 * (infoSelectTimestampAndOffset): those of the first vector selector in it, the offsets of
 * enclosing subqueries added until one with `@` anchors it.
 */
export function infoTimestampAndOffset(expr: Expr): { timestamp: number | null; offset: number } {
  let timestamp: number | null = null;
  let offset = 0;
  let found = false;
  inspect(expr, (n, path) => {
    if (found) return false;
    if (n.type !== 'VectorSelector') return;
    found = true;
    timestamp = n.timestamp;
    offset = n.originalOffset;
    for (let i = path.length - 1; timestamp === null && i >= 0; i--) {
      const p = path[i];
      if (p.type === 'SubqueryExpr') {
        offset += p.originalOffset;
        timestamp = p.timestamp;
      }
    }
    return false;
  });
  return { timestamp, offset };
}

/** The innermost subquery step on a path, or 0 (getLastSubqueryInterval). */
export function lastSubqueryInterval(path: readonly Expr[], noStepSubqueryInterval: (rangeMs: number) => number): number {
  let interval = 0;
  for (const n of path) {
    if (n.type === 'SubqueryExpr') interval = n.step !== 0 ? n.step : noStepSubqueryInterval(n.range);
  }
  return interval;
}

/** The select hints of one selector (populateSeries). */
export function selectHints(
  s: EvalStatement,
  n: VectorSelector,
  path: readonly Expr[],
  evalRange: number,
  noStepSubqueryInterval: (rangeMs: number) => number,
): SelectHints {
  const { start, end } = selectorTimeRange(s, n, path, evalRange);
  let step = lastSubqueryInterval(path, noStepSubqueryInterval);
  if (step === 0) step = s.interval;
  const hints: SelectHints = { start, end, step, range: evalRange, func: funcFromPath(path) };
  const parent = path.length > 0 ? path[path.length - 1] : null;
  if (parent !== null && parent.type === 'AggregateExpr') {
    hints.by = !parent.without;
    hints.grouping = parent.grouping.slice();
  } else {
    hints.by = false;
  }
  return hints;
}

/** The nearest enclosing function or aggregation name, '' past a binary operator (extractFuncFromPath). */
function funcFromPath(path: readonly Expr[]): string {
  for (let i = path.length - 1; i >= 0; i--) {
    const n = path[i];
    if (n.type === 'AggregateExpr') return n.op;
    if (n.type === 'Call') return n.func.name;
    if (n.type === 'BinaryExpr') return '';
  }
  return '';
}
