// The PromQL syntax tree (promql/parser/ast.go), as discriminated unions on `type`.
//
// Conventions:
// - Every node carries `start`/`end`: offsets into the query string (UTF-16 code units,
//   end exclusive). `positionToLineCol` turns them into Prometheus's "line:col".
// - Every expression carries `valueType`, resolved by the parser: what it evaluates to.
// - Durations (ranges, steps, offsets) are integer milliseconds; `@` timestamps are Unix
//   milliseconds. Prometheus keeps nanosecond time.Durations, but everything observable
//   (evaluation and printing) truncates them to milliseconds first, so nothing is lost.
// - Nodes are plain mutable objects: the evaluator's preprocessing may fill in `offset`,
//   resolve `@ start()`/`@ end()` into `timestamp`, or wrap sub-trees in StepInvariantExpr,
//   as Prometheus's engine does.

import type { Matcher } from '@thanos-ts/tsdb';
import type { FunctionDef } from './functions.js';
import type { ValueType } from './value-type.js';

/** A half-open range [start, end) of offsets into the query string. */
export interface PositionRange {
  start: number;
  end: number;
}

export type AggregateOp =
  | 'sum'
  | 'avg'
  | 'count'
  | 'min'
  | 'max'
  | 'group'
  | 'stddev'
  | 'stdvar'
  | 'topk'
  | 'bottomk'
  | 'quantile'
  | 'count_values'
  | 'limitk'
  | 'limit_ratio';

/** Binary operators; `</` and `>/` trim native histogram buckets (Prometheus 3.x). */
export type BinaryOp =
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '^'
  | 'atan2'
  | '=='
  | '!='
  | '>'
  | '<'
  | '>='
  | '<='
  | '</'
  | '>/'
  | 'and'
  | 'or'
  | 'unless';

export type UnaryOp = '+' | '-';

/** `@ start()` / `@ end()`. */
export type AtModifierPreprocessor = 'start' | 'end';

/** The cardinality of a vector match (VectorMatchCardinality). */
export type VectorMatchCardinality = 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';

/** How the elements of two vectors are matched in a binary operation. */
export interface VectorMatching {
  card: VectorMatchCardinality;
  /** Labels given to on(…) / ignoring(…). */
  matchingLabels: string[];
  /** true for on(…), false for ignoring(…) (or no clause). */
  on: boolean;
  /** Labels of group_left(…)/group_right(…) to copy from the "one" side. */
  include: string[];
  /** fill(…)/fill_left(…)/fill_right(…): values for series missing on one side, or null. */
  fillValues: { lhs: number | null; rhs: number | null };
}

/** Comparison operators, which filter unless `bool` is given. */
export function isComparisonOp(op: BinaryOp): boolean {
  return op === '==' || op === '!=' || op === '>' || op === '<' || op === '>=' || op === '<=';
}

/** The set operators `and`, `or`, `unless`. */
export function isSetOp(op: BinaryOp): boolean {
  return op === 'and' || op === 'or' || op === 'unless';
}

/** Aggregations taking a parameter first: topk(k, …), quantile(φ, …), count_values("l", …), … */
export function isAggregateWithParam(op: AggregateOp): boolean {
  return op === 'topk' || op === 'bottomk' || op === 'quantile' || op === 'count_values' || op === 'limitk' || op === 'limit_ratio';
}

export interface NumberLiteral {
  readonly type: 'NumberLiteral';
  valueType: 'scalar';
  val: number;
  /** Written as a duration (`5m`): printed back as one, val is in seconds. */
  duration: boolean;
  start: number;
  end: number;
}

export interface StringLiteral {
  readonly type: 'StringLiteral';
  valueType: 'string';
  /** The unquoted value; raw non-UTF-8 bytes are kept as described in go-strconv.ts. */
  val: string;
  start: number;
  end: number;
}

/**
 * An instant vector selector `name{matchers} @ t offset d`. In a range selector the same
 * node carries the modifiers written after the range (`x[5m] offset 1h`).
 */
export interface VectorSelector {
  readonly type: 'VectorSelector';
  valueType: 'vector';
  /** The metric name written before the braces, or "". */
  name: string;
  /** The matchers in written order, then `__name__="name"` when a name was written. */
  matchers: Matcher[];
  /** The offset as written, in ms (0 when none, or when given as an expression). */
  originalOffset: number;
  /** The offset when written as a duration expression (`offset (1m*2)`, `offset step()`). */
  originalOffsetExpr: DurationExpr | null;
  /** The offset used by the evaluator, in ms; the parser leaves it 0. */
  offset: number;
  /** `@ <t>` in Unix ms, or null. The evaluator resolves `@ start()`/`@ end()` into it. */
  timestamp: number | null;
  startOrEnd: AtModifierPreprocessor | null;
  /** `anchored` range modifier (experimental extended range selectors). */
  anchored: boolean;
  /** `smoothed` range modifier (experimental extended range selectors). */
  smoothed: boolean;
  /** Set for info()'s second argument, which may select nothing but empty matchers. */
  bypassEmptyMatcherCheck: boolean;
  /** Evaluator hint: native histogram buckets need not be decoded. */
  skipHistogramBuckets: boolean;
  start: number;
  end: number;
}

/** A range vector selector `vs[range]`; offset and `@` live on the vector selector. */
export interface MatrixSelector {
  readonly type: 'MatrixSelector';
  valueType: 'matrix';
  vectorSelector: VectorSelector;
  /** The range in ms (0 when given as an expression). */
  range: number;
  /** The range when written as a duration expression (`[5m+1m]`, `[step()]`). */
  rangeExpr: DurationExpr | null;
  start: number;
  end: number;
}

/** A subquery `expr[range:step] @ t offset d`. */
export interface SubqueryExpr {
  readonly type: 'SubqueryExpr';
  valueType: 'matrix';
  expr: Expr;
  /** ms (0 when given as rangeExpr). */
  range: number;
  rangeExpr: DurationExpr | null;
  /** ms; 0 when omitted (`[1h:]`: the evaluator uses the default resolution) or given as stepExpr. */
  step: number;
  stepExpr: DurationExpr | null;
  originalOffset: number;
  originalOffsetExpr: DurationExpr | null;
  /** Offset used by the evaluator, in ms; the parser leaves it 0. */
  offset: number;
  timestamp: number | null;
  startOrEnd: AtModifierPreprocessor | null;
  start: number;
  end: number;
}

export interface ParenExpr {
  readonly type: 'ParenExpr';
  valueType: ValueType;
  expr: Expr;
  start: number;
  end: number;
}

/** `-expr` / `+expr`. A sign before a number literal is folded into the literal instead. */
export interface UnaryExpr {
  readonly type: 'UnaryExpr';
  valueType: ValueType;
  op: UnaryOp;
  expr: Expr;
  start: number;
  end: number;
}

export interface BinaryExpr {
  readonly type: 'BinaryExpr';
  /** scalar when both sides are scalars, else vector. */
  valueType: ValueType;
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  /** `bool` on a comparison: return 0/1 instead of filtering. */
  returnBool: boolean;
  /** Present only between two instant vectors. */
  vectorMatching: VectorMatching | null;
  start: number;
  end: number;
}

export interface AggregateExpr {
  readonly type: 'AggregateExpr';
  valueType: 'vector';
  op: AggregateOp;
  /** The vector aggregated over. */
  expr: Expr;
  /** The parameter of topk, bottomk, quantile, count_values, limitk, limit_ratio; else null. */
  param: Expr | null;
  /** Labels of by(…)/without(…); empty for neither. */
  grouping: string[];
  without: boolean;
  start: number;
  end: number;
}

export interface Call {
  readonly type: 'Call';
  valueType: ValueType;
  func: FunctionDef;
  args: Expr[];
  start: number;
  end: number;
}

/**
 * Marks a sub-tree whose value is the same at every step of a range query. Never produced
 * by the parser; the evaluator may insert it (Prometheus's PreprocessExpr).
 */
export interface StepInvariantExpr {
  readonly type: 'StepInvariantExpr';
  valueType: ValueType;
  expr: Expr;
  start: number;
  end: number;
}

/** Operators of duration expressions: arithmetic, unary (lhs null) and the functions. */
export type DurationOp = '+' | '-' | '*' | '/' | '%' | '^' | 'step' | 'range' | 'min_of' | 'max_of';

/**
 * An arithmetic expression over durations in a range, subquery step or offset
 * (`[5m+1m]`, `offset -step()`), evaluated to seconds by the evaluator. Shapes:
 * binary (lhs and rhs), unary `-x`/`+x` (lhs null), `step()`/`range()` (no operands),
 * `min_of(a, b)`/`max_of(a, b)`. `wrapped` marks parentheses (kept for printing); a bare
 * parenthesised literal `(5m)` becomes a wrapped unary `+`.
 */
export interface DurationExpr {
  readonly type: 'DurationExpr';
  valueType: 'scalar';
  op: DurationOp;
  lhs: DurationNode | null;
  rhs: DurationNode | null;
  wrapped: boolean;
  start: number;
  end: number;
}

/** An operand of a duration expression: a number/duration literal or a nested expression. */
export type DurationNode = NumberLiteral | DurationExpr;

/** A PromQL expression. */
export type Expr =
  | AggregateExpr
  | BinaryExpr
  | Call
  | MatrixSelector
  | SubqueryExpr
  | NumberLiteral
  | ParenExpr
  | StringLiteral
  | UnaryExpr
  | VectorSelector
  | StepInvariantExpr;

/** Any syntax tree node, including duration expressions. */
export type Node = Expr | DurationExpr;

/** The position range of a node. */
export function positionRange(n: Node): PositionRange {
  return { start: n.start, end: n.end };
}

/** The direct children of a node, in Prometheus's order (ChildrenIter). */
export function children(n: Node): Expr[] {
  switch (n.type) {
    case 'AggregateExpr':
      return n.param !== null ? [n.expr, n.param] : [n.expr];
    case 'BinaryExpr':
      return [n.lhs, n.rhs];
    case 'Call':
      return n.args;
    case 'SubqueryExpr':
    case 'ParenExpr':
    case 'UnaryExpr':
    case 'StepInvariantExpr':
      return [n.expr];
    case 'MatrixSelector':
      return [n.vectorSelector];
    default:
      return [];
  }
}

/**
 * Visits node and its descendants depth-first. `path` holds the ancestors (outermost
 * first) and is reused between calls: copy it to keep it. Returning false from fn skips
 * the children of that node.
 */
export function inspect(node: Expr, fn: (node: Expr, path: readonly Expr[]) => boolean | void): void {
  const path: Expr[] = [];
  const visit = (n: Expr): void => {
    if (fn(n, path) === false) return;
    path.push(n);
    for (const c of children(n)) visit(c);
    path.pop();
  };
  visit(node);
}

/** The matchers of every vector selector in expr, in tree order (ExtractSelectors). */
export function extractSelectors(expr: Expr): Matcher[][] {
  const out: Matcher[][] = [];
  inspect(expr, (n) => {
    if (n.type === 'VectorSelector') out.push(n.matchers);
  });
  return out;
}
