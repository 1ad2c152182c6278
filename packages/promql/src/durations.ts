// Evaluation of duration expressions (`[5m+1m]`, `offset step()`, `[1h:min_of(step(), 1m)]`),
// as Prometheus's engine does before evaluating a query (promql/durations.go): each
// rangeExpr/stepExpr/originalOffsetExpr is computed for the query's step and range and
// stored into the matching millisecond field.

import type { DurationNode, Expr } from './ast.js';
import { inspect } from './ast.js';
import { goPow } from './go-math.js';

/** The query parameters duration expressions may refer to, in milliseconds. */
export interface DurationContext {
  /** step() : the range query's step (0 for instant queries). */
  stepMs: number;
  /** range() : end - start of the range query (0 for instant queries). */
  rangeMs: number;
}

/** An invalid duration expression; the message is Prometheus's, with "start:end" offsets. */
export class DurationError extends Error {
  override readonly name = 'DurationError';
}

/** Value of a duration expression in seconds. Throws DurationError on division by zero. */
export function evaluateDurationExpr(n: DurationNode, ctx: DurationContext): number {
  if (n.type === 'NumberLiteral') return n.val;
  const lhs = n.lhs !== null ? evaluateDurationExpr(n.lhs, ctx) : 0;
  const rhs = n.rhs !== null ? evaluateDurationExpr(n.rhs, ctx) : 0;
  switch (n.op) {
    case 'step':
      return ctx.stepMs / 1000;
    case 'range':
      return ctx.rangeMs / 1000;
    case 'min_of':
      return Math.min(lhs, rhs);
    case 'max_of':
      return Math.max(lhs, rhs);
    case '+':
      return n.lhs === null ? rhs : lhs + rhs;
    case '-':
      return n.lhs === null ? -rhs : lhs - rhs;
    case '*':
      return lhs * rhs;
    case '/':
      if (rhs === 0) throw new DurationError(`${n.start}:${n.end}: division by zero`);
      return lhs / rhs;
    case '%':
      if (rhs === 0) throw new DurationError(`${n.start}:${n.end}: modulo by zero`);
      return lhs % rhs;
    case '^':
      return goPow(lhs, rhs);
  }
}

const LIMIT_SECONDS = 9223372036.854775808; // 1<<63 / 1e9

/**
 * A duration expression in milliseconds, validated like Prometheus's calculateDuration:
 * finite, positive unless allowNegative (offsets), and within time.Duration's range.
 */
export function calculateDurationMs(n: DurationNode, ctx: DurationContext, allowNegative: boolean): number {
  const d = evaluateDurationExpr(n, ctx);
  const where = `${n.start}:${n.end}`;
  if (!Number.isFinite(d)) throw new DurationError(`${where}: duration is NaN or infinite`);
  if (d <= 0 && !allowNegative) throw new DurationError(`${where}: duration must be greater than 0`);
  if (d > LIMIT_SECONDS || d < -LIMIT_SECONDS) throw new DurationError(`${where}: duration is out of range`);
  return Math.trunc(d * 1000) || 0;
}

/**
 * Computes every duration expression in expr and stores the results in the millisecond
 * fields (range, step, originalOffset), as the engine does once per query.
 */
export function resolveDurationExprs(expr: Expr, ctx: DurationContext): void {
  inspect(expr, (n) => {
    switch (n.type) {
      case 'VectorSelector':
        if (n.originalOffsetExpr !== null) n.originalOffset = calculateDurationMs(n.originalOffsetExpr, ctx, true);
        break;
      case 'MatrixSelector':
        if (n.rangeExpr !== null) n.range = calculateDurationMs(n.rangeExpr, ctx, false);
        break;
      case 'SubqueryExpr':
        if (n.originalOffsetExpr !== null) n.originalOffset = calculateDurationMs(n.originalOffsetExpr, ctx, true);
        if (n.stepExpr !== null) n.step = calculateDurationMs(n.stepExpr, ctx, false);
        if (n.rangeExpr !== null) n.range = calculateDurationMs(n.rangeExpr, ctx, false);
        break;
    }
  });
}
