// The PromQL expression parser: hand-written recursive descent with precedence climbing
// for binary operators, following Prometheus 3.14's grammar (promql/parser/
// generated_parser.y) including how its LALR automaton resolves the grammar's conflicts,
// then the type checks of Prometheus's checkAST. See parser-base.ts for error reporting.
//
// Precedence, lowest first: `or` < `and` `unless` < comparisons (`== != > < >= <= </ >/`)
// < `+ -` < `* / % atan2` < `^` (right-associative). Unary `-`/`+` binds like `*`, so
// `-a ^ b` is `-(a ^ b)`. The postfix modifiers `[range]`, `[range:step]`, `offset`, `@`,
// `anchored` and `smoothed` bind tighter than everything and attach to the operand
// before them.

import { MatchType, type Matcher, newMatcher } from '@thanos-ts/tsdb';
import type {
  AggregateExpr,
  AggregateOp,
  AtModifierPreprocessor,
  BinaryExpr,
  BinaryOp,
  Call,
  DurationExpr,
  DurationNode,
  DurationOp,
  Expr,
  MatrixSelector,
  NumberLiteral,
  StringLiteral,
  SubqueryExpr,
  VectorMatching,
  VectorSelector,
} from './ast.js';
import { isAggregateWithParam, isComparisonOp, isSetOp } from './ast.js';
import { getFunction } from './functions.js';
import { formatFloatFixed, goRound, isValidUTF8, quoteGo, secondsToDurationMs } from './go-strconv.js';
import { type Item, ItemType, itemTypeString } from './lexer.js';
import { ParserBase } from './parser-base.js';
import { ValueType, documentedType } from './value-type.js';

/** Parser switches for Prometheus's feature-flagged syntax. */
export interface ParseOptions {
  /** Experimental functions and aggregations (limitk, limit_ratio, sort_by_label, info, …). */
  enableExperimentalFunctions?: boolean;
  /** Duration arithmetic in ranges/offsets (`[5m+1m]`, `offset step()`). */
  experimentalDurationExpr?: boolean;
  /** `anchored` and `smoothed` range modifiers. */
  enableExtendedRangeSelectors?: boolean;
  /** `fill()`, `fill_left()`, `fill_right()` on binary operators. */
  enableBinopFillModifiers?: boolean;
}

/** Everything on: the settings of Prometheus's own PromQL tests, and our default. */
export const ALL_FEATURES: Readonly<Required<ParseOptions>> = Object.freeze({
  enableExperimentalFunctions: true,
  experimentalDurationExpr: true,
  enableExtendedRangeSelectors: true,
  enableBinopFillModifiers: true,
});

/** Prometheus's defaults without feature flags: every experimental syntax off. */
export const NO_FEATURES: Readonly<Required<ParseOptions>> = Object.freeze({
  enableExperimentalFunctions: false,
  experimentalDurationExpr: false,
  enableExtendedRangeSelectors: false,
  enableBinopFillModifiers: false,
});

/**
 * Parses a PromQL expression and type-checks it. Throws ParseErrors whose message is
 * Prometheus's, e.g. `1:9: parse error: unexpected end of input`.
 */
export function parseExpr(input: string, options: ParseOptions = ALL_FEATURES): Expr {
  return new ExprParser(input, options).parseExpr();
}

/** Parses a series selector (`foo{a="b"}`, as in the API's match[]) into its matchers. */
export function parseMetricSelector(input: string, options: ParseOptions = ALL_FEATURES): Matcher[] {
  return new ExprParser(input, options).parseMetricSelector();
}

const T = ItemType;

/** Binary operator precedences; 0 for tokens that are not binary operators. */
function binaryPrecedence(t: ItemType): number {
  switch (t) {
    case T.LOR:
      return 1;
    case T.LAND:
    case T.LUNLESS:
      return 2;
    case T.EQLC:
    case T.NEQ:
    case T.GTR:
    case T.LSS:
    case T.GTE:
    case T.LTE:
    case T.TRIM_UPPER:
    case T.TRIM_LOWER:
      return 3;
    case T.ADD:
    case T.SUB:
      return 4;
    case T.MUL:
    case T.DIV:
    case T.MOD:
    case T.ATAN2:
      return 5;
    case T.POW:
      return 6;
    default:
      return 0;
  }
}
const PREC_POW = 6;

function durationPrecedence(t: ItemType): number {
  switch (t) {
    case T.ADD:
    case T.SUB:
      return 4;
    case T.MUL:
    case T.DIV:
    case T.MOD:
      return 5;
    case T.POW:
      return 6;
    default:
      return 0;
  }
}

const AGGREGATORS = new Set<ItemType>([
  T.AVG,
  T.BOTTOMK,
  T.COUNT,
  T.COUNT_VALUES,
  T.GROUP,
  T.MAX,
  T.MIN,
  T.QUANTILE,
  T.STDDEV,
  T.STDVAR,
  T.SUM,
  T.TOPK,
  T.LIMITK,
  T.LIMIT_RATIO,
]);

/** Tokens that may name a metric at the start of an expression (metric_identifier). */
export const METRIC_IDENTIFIERS = new Set<ItemType>([
  ...AGGREGATORS,
  T.BY,
  T.FILL,
  T.FILL_LEFT,
  T.FILL_RIGHT,
  T.IDENTIFIER,
  T.LAND,
  T.LOR,
  T.LUNLESS,
  T.METRIC_IDENTIFIER,
  T.OFFSET,
  T.WITHOUT,
  T.START,
  T.END,
  T.STEP,
  T.RANGE,
  T.ANCHORED,
  T.SMOOTHED,
  T.MAX_OF,
  T.MIN_OF,
]);

/** Tokens that can begin an expression. */
const EXPR_START = new Set<ItemType>([
  ...METRIC_IDENTIFIERS,
  T.DURATION,
  T.NUMBER,
  T.STRING,
  T.LEFT_BRACE,
  T.LEFT_PAREN,
  T.ADD,
  T.SUB,
]);

/** Tokens accepted as label names in by(…), without(…), on(…), … (maybe_label). */
const GROUPING_LABELS = new Set<ItemType>([
  ...AGGREGATORS,
  T.BOOL,
  T.BY,
  T.GROUP_LEFT,
  T.GROUP_RIGHT,
  T.FILL,
  T.FILL_LEFT,
  T.FILL_RIGHT,
  T.IDENTIFIER,
  T.IGNORING,
  T.LAND,
  T.LOR,
  T.LUNLESS,
  T.METRIC_IDENTIFIER,
  T.OFFSET,
  T.ON,
  T.START,
  T.END,
  T.ATAN2,
  T.STEP,
  T.RANGE,
  T.ANCHORED,
  T.SMOOTHED,
  T.MAX_OF,
  T.MIN_OF,
]);

const EXPERIMENTAL_AGGREGATORS = new Set<ItemType>([T.LIMITK, T.LIMIT_RATIO]);

interface BinModifiers {
  returnBool: boolean;
  matching: VectorMatching;
}

const MS_PER_SEC = 1000;
const INT64_MAX_F = 9223372036854775807; // float64(math.MaxInt64) == 2^63
const DURATION_LIMIT_SECONDS = 9223372036.854775808; // 1<<63 / 1e9

function durationLiteralOutOfRange(v: number): boolean {
  return v > DURATION_LIMIT_SECONDS || v < -DURATION_LIMIT_SECONDS;
}

function zeroLiteral(): NumberLiteral {
  return { type: 'NumberLiteral', valueType: 'scalar', val: 0, duration: false, start: 0, end: 0 };
}

class ExprParser extends ParserBase {
  private readonly opts: Required<ParseOptions>;

  constructor(input: string, options: ParseOptions) {
    super(input);
    this.opts = { ...ALL_FEATURES, ...options };
  }

  parseExpr(): Expr {
    return this.run(() => {
      if (this.peekType() === T.EOF) {
        this.addErr({ start: 0, end: 0 }, 'no expression found in input');
        return undefined;
      }
      const e = this.parseBinary(0);
      if (this.peekType() !== T.EOF) this.unexpected('', '');
      // Type checks run only on a syntactically valid tree, as in Prometheus.
      if (this.errors.length === 0) this.checkAST(e);
      return e;
    });
  }

  parseMetricSelector(): Matcher[] {
    return this.run(() => {
      const t = this.peek();
      let vs: VectorSelector;
      if (METRIC_IDENTIFIERS.has(t.typ)) vs = this.parseVectorSelector(this.advance());
      else if (t.typ === T.LEFT_BRACE) vs = this.parseVectorSelector(null);
      else this.unexpected('', '');
      if (this.peekType() !== T.EOF) this.unexpected('', '');
      return vs.matchers;
    });
  }

  // ---- expressions ----

  private parseBinary(minPrec: number): Expr {
    let lhs = this.parseUnary();
    for (;;) {
      const op = this.peek();
      const prec = binaryPrecedence(op.typ);
      if (prec === 0 || prec < minPrec) return lhs;
      this.advance();
      const mods = this.parseBinModifiers();
      const rhs = this.parseBinary(op.typ === T.POW ? prec : prec + 1);
      lhs = this.newBinaryExpr(lhs, op, mods, rhs);
    }
  }

  private parseUnary(): Expr {
    const t = this.peek();
    if (t.typ === T.ADD || t.typ === T.SUB) {
      this.advance();
      const operand = this.parseBinary(PREC_POW);
      if (operand.type === 'NumberLiteral') {
        // A sign before a number is part of the literal.
        if (t.typ === T.SUB) operand.val *= -1;
        operand.start = t.pos;
        return operand;
      }
      return {
        type: 'UnaryExpr',
        valueType: operand.valueType,
        op: t.typ === T.SUB ? '-' : '+',
        expr: operand,
        start: t.pos,
        end: operand.end,
      };
    }
    return this.parsePostfix(this.parsePrimary());
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    switch (t.typ) {
      case T.NUMBER:
      case T.DURATION:
        this.advance();
        return this.numberLiteral(t);
      case T.STRING: {
        this.advance();
        const s: StringLiteral = {
          type: 'StringLiteral',
          valueType: 'string',
          val: this.unquote(t),
          start: t.pos,
          end: t.pos + t.val.length,
        };
        return s;
      }
      case T.LEFT_BRACE:
        return this.parseVectorSelector(null);
      case T.LEFT_PAREN: {
        this.advance();
        const e = this.parseBinary(0);
        const rp = this.expect(T.RIGHT_PAREN);
        return { type: 'ParenExpr', valueType: e.valueType, expr: e, start: t.pos, end: rp.pos + 1 };
      }
      case T.IDENTIFIER:
        this.advance();
        return this.peekType() === T.LEFT_PAREN ? this.parseCall(t) : this.parseVectorSelector(t);
      case T.START:
      case T.END:
      case T.STEP:
      case T.RANGE:
      case T.MAX_OF:
      case T.MIN_OF:
        this.advance();
        return this.peekType() === T.LEFT_PAREN ? this.parseCall(t) : this.parseVectorSelector(t);
    }
    if (AGGREGATORS.has(t.typ)) {
      this.advance();
      const n = this.peekType();
      if (n === T.LEFT_PAREN || n === T.BY || n === T.WITHOUT) return this.parseAggregate(t);
      return this.parseVectorSelector(t);
    }
    if (METRIC_IDENTIFIERS.has(t.typ)) {
      this.advance();
      return this.parseVectorSelector(t);
    }
    return this.unexpectedInRegion();
  }

  /** Applies the modifiers that follow an operand: ranges, subqueries, offset, @, anchored, smoothed. */
  private parsePostfix(e: Expr): Expr {
    for (;;) {
      switch (this.peekType()) {
        case T.LEFT_BRACKET:
          e = this.parseRangeOrSubquery(e);
          break;
        case T.OFFSET:
          this.advance();
          this.parseOffset(e);
          break;
        case T.AT:
          this.advance();
          this.parseAt(e);
          break;
        case T.ANCHORED:
          this.advance();
          this.setAnchored(e);
          break;
        case T.SMOOTHED:
          this.advance();
          this.setSmoothed(e);
          break;
        default:
          return e;
      }
    }
  }

  private numberLiteral(t: Item): NumberLiteral {
    return {
      type: 'NumberLiteral',
      valueType: 'scalar',
      val: this.numberOrDurationValue(t),
      duration: t.typ === T.DURATION,
      start: t.pos,
      end: t.pos + t.val.length,
    };
  }

  // ---- selectors ----

  private parseVectorSelector(nameTok: Item | null): VectorSelector {
    let start = 0;
    let end = 0;
    let matchers: Matcher[] = [];
    if (nameTok !== null) {
      start = nameTok.pos;
      end = nameTok.pos + nameTok.val.length;
    }
    if (this.peekType() === T.LEFT_BRACE) {
      const lb = this.advance();
      if (nameTok === null) start = lb.pos;
      matchers = this.parseLabelMatchers();
      end = this.lastEnd;
    }
    const name = nameTok?.val ?? '';
    if (name !== '') matchers.push(newMatcher(MatchType.EQ, '__name__', name));
    return {
      type: 'VectorSelector',
      valueType: 'vector',
      name,
      matchers,
      originalOffset: 0,
      originalOffsetExpr: null,
      offset: 0,
      timestamp: null,
      startOrEnd: null,
      anchored: false,
      smoothed: false,
      bypassEmptyMatcherCheck: false,
      skipHistogramBuckets: false,
      start,
      end,
    };
  }

  /** The matchers between braces; the '{' has been consumed. */
  private parseLabelMatchers(): Matcher[] {
    const out: Matcher[] = [];
    if (this.peekType() === T.RIGHT_BRACE) {
      this.advance();
      return out;
    }
    for (;;) {
      const m = this.parseLabelMatcher();
      if (m !== null) out.push(m);
      const t = this.peekType();
      if (t === T.COMMA) {
        this.advance();
        if (this.peekType() === T.RIGHT_BRACE) {
          this.advance();
          return out;
        }
        continue;
      }
      if (t === T.RIGHT_BRACE) {
        this.advance();
        return out;
      }
      this.unexpected('label matching', '"," or "}"');
    }
  }

  private parseLabelMatcher(): Matcher | null {
    const t = this.peek();
    if (t.typ === T.IDENTIFIER) {
      this.advance();
      const op = this.peek();
      if (!isMatchOp(op.typ)) this.unexpected('label matching', 'label matching operator');
      this.advance();
      if (this.peekType() !== T.STRING) this.unexpected('label matching', 'string');
      return this.newLabelMatcher(t, t.val, op, this.advance());
    }
    if (t.typ === T.STRING) {
      // A quoted name: a label name before an operator, else the metric name (UTF-8 names).
      this.advance();
      const name = this.unquote(t);
      const op = this.peek();
      if (isMatchOp(op.typ)) {
        this.advance();
        if (this.peekType() !== T.STRING) this.unexpected('label matching', 'string');
        return this.newLabelMatcher(t, name, op, this.advance());
      }
      return newMatcher(MatchType.EQ, '__name__', name);
    }
    return this.unexpected('label matching', 'identifier or "}"');
  }

  private newLabelMatcher(labelTok: Item, name: string, op: Item, valueTok: Item): Matcher | null {
    const value = this.unquote(valueTok);
    const type =
      op.typ === T.EQL ? MatchType.EQ : op.typ === T.NEQ ? MatchType.NEQ : op.typ === T.EQL_REGEX ? MatchType.RE : MatchType.NRE;
    try {
      return newMatcher(type, name, value);
    } catch (e) {
      this.addErr({ start: labelTok.pos, end: valueTok.pos + valueTok.val.length }, (e as Error).message);
      return null;
    }
  }

  /** `[range]` or `[range:step]` after e; the '[' is next. */
  private parseRangeOrSubquery(e: Expr): Expr {
    const lb = this.advance();
    this.regions.push(['subquery or range selector', 'number, duration, step(), or range()']);
    const range = this.parsePositiveDurationExpr();
    this.regions.pop();
    const t = this.peekType();
    if (t === T.RIGHT_BRACKET) {
      const rb = this.advance();
      let err = '';
      if (e.type !== 'VectorSelector') err = 'ranges only allowed for vector selectors';
      else if (e.originalOffset !== 0 || e.originalOffsetExpr !== null) err = 'no offset modifiers allowed before range';
      else if (e.timestamp !== null || e.startOrEnd !== null) err = 'no @ modifiers allowed before range';
      if (err !== '') this.addErr({ start: lb.pos, end: rb.pos + 1 }, err);
      const ms: MatrixSelector = {
        type: 'MatrixSelector',
        valueType: 'matrix',
        vectorSelector: e as VectorSelector,
        range: range.type === 'NumberLiteral' ? secondsToDurationMs(range.val) : 0,
        rangeExpr: range.type === 'DurationExpr' ? range : null,
        start: e.start,
        end: rb.pos + 1,
      };
      return ms;
    }
    if (t !== T.COLON) this.unexpected('subquery or range', '":" or "]"');
    this.advance();
    this.regions.push(['subquery selector', 'number, duration, step(), range(), or "]"']);
    let step: DurationNode | null = null;
    if (this.peekType() !== T.RIGHT_BRACKET) {
      step = this.parsePositiveDurationExpr();
      if (this.peekType() !== T.RIGHT_BRACKET) this.unexpected('subquery selector', '"]"');
    }
    const rb = this.advance();
    this.regions.pop();
    const sq: SubqueryExpr = {
      type: 'SubqueryExpr',
      valueType: 'matrix',
      expr: e,
      range: range.type === 'NumberLiteral' ? secondsToDurationMs(range.val) : 0,
      rangeExpr: range.type === 'DurationExpr' ? range : null,
      step: step !== null && step.type === 'NumberLiteral' ? secondsToDurationMs(step.val) : 0,
      stepExpr: step !== null && step.type === 'DurationExpr' ? step : null,
      originalOffset: 0,
      originalOffsetExpr: null,
      offset: 0,
      timestamp: null,
      startOrEnd: null,
      start: e.start,
      end: rb.pos + 1,
    };
    return sq;
  }

  // ---- duration expressions ----

  private parsePositiveDurationExpr(): DurationNode {
    const d = this.parseDurationExpr(0);
    if (d.type === 'NumberLiteral' && d.val <= 0) {
      this.addErr({ start: d.start, end: d.end }, 'duration must be greater than 0');
      return zeroLiteral();
    }
    return d;
  }

  private parseDurationExpr(minPrec: number): DurationNode {
    return this.parseDurationBinaryRest(this.parseDurationUnary(), minPrec);
  }

  private parseDurationBinaryRest(lhs: DurationNode, minPrec: number): DurationNode {
    for (;;) {
      const op = this.peek();
      const prec = durationPrecedence(op.typ);
      if (prec === 0 || prec < minPrec) return lhs;
      this.advance();
      const rhs = this.parseDurationExpr(op.typ === T.POW ? prec : prec + 1);
      lhs = this.newDurationBinary(lhs, op, rhs);
    }
  }

  private parseDurationUnary(): DurationNode {
    const t = this.peek();
    if (t.typ === T.ADD || t.typ === T.SUB) {
      this.advance();
      return this.applyUnaryOpToDuration(t, this.parseDurationExpr(PREC_POW), false);
    }
    return this.parseDurationPrimary();
  }

  private parseDurationPrimary(): DurationNode {
    const t = this.peek();
    switch (t.typ) {
      case T.NUMBER:
      case T.DURATION: {
        this.advance();
        const nl = this.numberLiteral(t);
        if (durationLiteralOutOfRange(nl.val)) {
          this.addErr({ start: nl.start, end: nl.end }, 'duration out of range');
          return zeroLiteral();
        }
        return nl;
      }
      case T.STEP:
      case T.RANGE:
      case T.MAX_OF:
      case T.MIN_OF:
        this.advance();
        return this.parseDurationFunction(t);
      case T.LEFT_PAREN: {
        this.advance();
        const inner = this.parseDurationExpr(0);
        this.expect(T.RIGHT_PAREN);
        this.experimentalDurationExpr(inner);
        return this.wrapParenDuration(inner, t.pos);
      }
    }
    return this.unexpectedInRegion();
  }

  /**
   * step(), range(), min_of(a, b), max_of(a, b); the keyword has been consumed. check=false
   * skips the experimental-feature check (the signed offset forms check the whole instead).
   */
  private parseDurationFunction(kw: Item, check = true): DurationExpr {
    this.expect(T.LEFT_PAREN);
    const op = itemTypeString(kw.typ) as DurationOp;
    let lhs: DurationNode | null = null;
    let rhs: DurationNode | null = null;
    if (kw.typ === T.MAX_OF || kw.typ === T.MIN_OF) {
      lhs = this.parseDurationExpr(0);
      this.expect(T.COMMA);
      rhs = this.parseDurationExpr(0);
    }
    const rp = this.expect(T.RIGHT_PAREN);
    const de: DurationExpr = {
      type: 'DurationExpr',
      valueType: 'scalar',
      op,
      lhs,
      rhs,
      wrapped: false,
      start: kw.pos,
      end: rp.pos + 1,
    };
    if (check) this.experimentalDurationExpr(de);
    return de;
  }

  private newDurationBinary(lhs: DurationNode, op: Item, rhs: DurationNode): DurationNode {
    this.experimentalDurationExpr(lhs);
    if ((op.typ === T.DIV || op.typ === T.MOD) && rhs.type === 'NumberLiteral' && rhs.val === 0) {
      this.addErr(this.itemRange(op), op.typ === T.DIV ? 'division by zero' : 'modulo by zero');
      return zeroLiteral();
    }
    return {
      type: 'DurationExpr',
      valueType: 'scalar',
      op: itemTypeString(op.typ) as DurationOp,
      lhs,
      rhs,
      wrapped: false,
      start: lhs.start,
      end: rhs.end,
    };
  }

  /** Marks a parenthesised duration; a bare literal becomes a wrapped unary plus. */
  private wrapParenDuration(e: DurationNode, start: number): DurationExpr {
    if (e.type === 'DurationExpr') {
      e.wrapped = true;
      return e;
    }
    return { type: 'DurationExpr', valueType: 'scalar', op: '+', lhs: null, rhs: e, wrapped: true, start, end: e.end };
  }

  private applyUnaryOpToDuration(op: Item, e: DurationNode, wrapped: boolean): DurationNode {
    if (wrapped) e = this.wrapParenDuration(e, e.start);
    if (e.type === 'DurationExpr') {
      if (op.typ === T.SUB) {
        return { type: 'DurationExpr', valueType: 'scalar', op: '-', lhs: null, rhs: e, wrapped: false, start: op.pos, end: e.end };
      }
      return e;
    }
    if (op.typ === T.SUB) e.val *= -1;
    if (durationLiteralOutOfRange(e.val)) {
      this.addErr(this.itemRange(op), 'duration out of range');
      return zeroLiteral();
    }
    e.start = op.pos;
    return e;
  }

  private experimentalDurationExpr(e: DurationNode): void {
    if (!this.opts.experimentalDurationExpr) {
      this.addErr({ start: e.start, end: e.end }, 'experimental duration expression is not enabled');
    }
  }

  // ---- offset, @, anchored, smoothed ----

  /** `offset <duration>`; OFFSET has been consumed. */
  private parseOffset(e: Expr): void {
    this.regions.push(['offset', 'number, duration, step(), or range()']);
    const d = this.parseOffsetDuration();
    this.regions.pop();
    if (d.type === 'NumberLiteral') this.addOffset(e, secondsToDurationMs(d.val), null);
    else this.addOffset(e, 0, d);
  }

  /**
   * The offset grammar (offset_duration_expr): a plain literal, signed literal, step(),
   * range(), min_of/max_of or `-(…)` ends the offset, so `x offset 5m + 1` adds 1 to the
   * selector; only a parenthesised duration may continue with duration arithmetic.
   */
  private parseOffsetDuration(): DurationNode {
    const t = this.peek();
    switch (t.typ) {
      case T.NUMBER:
      case T.DURATION: {
        this.advance();
        const nl = this.numberLiteral(t);
        if (durationLiteralOutOfRange(nl.val)) {
          this.addErr({ start: nl.start, end: nl.end }, 'duration out of range');
          return zeroLiteral();
        }
        return nl;
      }
      case T.ADD:
      case T.SUB: {
        this.advance();
        const t2 = this.peek();
        switch (t2.typ) {
          case T.NUMBER:
          case T.DURATION: {
            this.advance();
            const nl = this.numberLiteral(t2);
            if (t.typ === T.SUB) nl.val *= -1;
            if (durationLiteralOutOfRange(nl.val)) {
              this.addErr(this.itemRange(t), 'duration out of range');
              return zeroLiteral();
            }
            nl.start = t.pos;
            return nl;
          }
          case T.STEP:
          case T.RANGE:
          case T.MAX_OF:
          case T.MIN_OF: {
            this.advance();
            const inner = this.parseDurationFunction(t2, false);
            const de: DurationExpr = {
              type: 'DurationExpr',
              valueType: 'scalar',
              op: t.typ === T.SUB ? '-' : '+',
              lhs: null,
              rhs: inner,
              wrapped: false,
              start: t.pos,
              end: inner.end,
            };
            this.experimentalDurationExpr(de);
            return de;
          }
          case T.LEFT_PAREN: {
            this.advance();
            const inner = this.parseDurationExpr(0);
            this.expect(T.RIGHT_PAREN);
            return this.applyUnaryOpToDuration(t, inner, true);
          }
          case T.ADD:
          case T.SUB: {
            const d = this.applyUnaryOpToDuration(t, this.parseDurationExpr(PREC_POW), false);
            return this.parseDurationBinaryRest(d, 0);
          }
        }
        return this.unexpectedInRegion();
      }
      case T.STEP:
      case T.RANGE:
      case T.MAX_OF:
      case T.MIN_OF:
        this.advance();
        return this.parseDurationFunction(t);
      case T.LEFT_PAREN:
        return this.parseDurationBinaryRest(this.parseDurationPrimary(), 0);
    }
    return this.unexpectedInRegion();
  }

  private addOffset(e: Expr, ms: number, expr: DurationExpr | null): void {
    let target: VectorSelector | SubqueryExpr;
    switch (e.type) {
      case 'VectorSelector':
      case 'SubqueryExpr':
        target = e;
        break;
      case 'MatrixSelector':
        if (e.vectorSelector.type !== 'VectorSelector') {
          this.addErr({ start: e.start, end: e.end }, 'ranges only allowed for vector selectors');
          return;
        }
        target = e.vectorSelector;
        break;
      default:
        this.addErr(
          { start: e.start, end: e.end },
          'offset modifier must be preceded by an instant vector selector or range vector selector or a subquery',
        );
        return;
    }
    if (target.originalOffset !== 0 || target.originalOffsetExpr !== null) {
      this.addErr({ start: e.start, end: e.end }, 'offset may not be set multiple times');
    } else if (expr !== null) {
      target.originalOffsetExpr = expr;
    } else {
      target.originalOffset = ms;
    }
    e.end = this.lastEnd;
  }

  /** `@ <timestamp>`, `@ start()`, `@ end()`; AT has been consumed. */
  private parseAt(e: Expr): void {
    this.regions.push(['@', 'timestamp']);
    const t = this.peek();
    let ts = 0;
    let preproc: AtModifierPreprocessor | null = null;
    switch (t.typ) {
      case T.NUMBER:
      case T.DURATION:
        this.advance();
        ts = this.numberOrDurationValue(t);
        break;
      case T.ADD:
      case T.SUB: {
        this.advance();
        const n = this.peek();
        if (n.typ !== T.NUMBER && n.typ !== T.DURATION) this.unexpectedInRegion();
        this.advance();
        ts = this.numberOrDurationValue(n);
        if (t.typ === T.SUB) ts = -ts;
        break;
      }
      case T.START:
      case T.END:
        this.advance();
        this.expect(T.LEFT_PAREN);
        this.expect(T.RIGHT_PAREN);
        preproc = t.typ === T.START ? 'start' : 'end';
        break;
      default:
        this.unexpectedInRegion();
    }
    this.regions.pop();
    if (preproc === null && (!Number.isFinite(ts) || ts >= INT64_MAX_F || ts <= -INT64_MAX_F)) {
      this.addErr({ start: e.start, end: e.end }, `timestamp out of bounds for @ modifier: ${formatFloatFixed(ts, 6)}`);
    }
    const target = this.atModifierTarget(e);
    if (target === null) return;
    if (preproc !== null) target.startOrEnd = preproc;
    else target.timestamp = goRound(ts * MS_PER_SEC);
    e.end = this.lastEnd;
  }

  private atModifierTarget(e: Expr): VectorSelector | SubqueryExpr | null {
    let target: VectorSelector | SubqueryExpr;
    switch (e.type) {
      case 'VectorSelector':
      case 'SubqueryExpr':
        target = e;
        break;
      case 'MatrixSelector':
        if (e.vectorSelector.type !== 'VectorSelector') {
          this.addErr({ start: e.start, end: e.end }, 'ranges only allowed for vector selectors');
          return null;
        }
        target = e.vectorSelector;
        break;
      default:
        this.addErr(
          { start: e.start, end: e.end },
          '@ modifier must be preceded by an instant vector selector or range vector selector or a subquery',
        );
        return null;
    }
    if (target.timestamp !== null || target.startOrEnd !== null) {
      this.addErr({ start: e.start, end: e.end }, '@ <timestamp> may not be set multiple times');
      return null;
    }
    return target;
  }

  private setAnchored(e: Expr): void {
    this.setExtendedRange(e, 'anchored');
  }

  private setSmoothed(e: Expr): void {
    this.setExtendedRange(e, 'smoothed');
  }

  private setExtendedRange(e: Expr, which: 'anchored' | 'smoothed'): void {
    const range = { start: e.start, end: e.end };
    if (!this.opts.enableExtendedRangeSelectors) {
      this.addErr(range, `${which} modifier is experimental and not enabled`);
      return;
    }
    let vs: VectorSelector;
    switch (e.type) {
      case 'VectorSelector':
        vs = e;
        break;
      case 'MatrixSelector':
        if (e.vectorSelector.type !== 'VectorSelector') return;
        vs = e.vectorSelector;
        break;
      case 'SubqueryExpr':
        this.addErr(range, `${which} modifier is not supported for subqueries`);
        return;
      default:
        this.addErr(range, `${which} modifier not implemented`);
        return;
    }
    vs[which] = true;
    if (vs.anchored && vs.smoothed) this.addErr(range, 'anchored and smoothed modifiers cannot be used together');
  }

  // ---- calls and aggregations ----

  private parseCall(nameTok: Item): Call {
    const args = this.parseCallBody();
    const end = this.lastEnd;
    const range = this.itemRange(nameTok);
    const fn = getFunction(nameTok.val);
    if (fn === undefined) this.addErr(range, `unknown function with name ${quoteGo(nameTok.val)}`);
    else if (fn.experimental && !this.opts.enableExperimentalFunctions) {
      this.addErr(range, `function ${quoteGo(nameTok.val)} is not enabled`);
    }
    return {
      type: 'Call',
      valueType: fn?.returnType ?? ValueType.None,
      // With an unknown function the parse fails; the node never escapes.
      func: fn ?? { name: nameTok.val, argTypes: [], variadic: 0, returnType: ValueType.None, experimental: false },
      args,
      start: nameTok.pos,
      end,
    };
  }

  /** `( args )` of a call or aggregation; the '(' is next. */
  private parseCallBody(): Expr[] {
    this.expect(T.LEFT_PAREN);
    const args: Expr[] = [];
    if (this.peekType() === T.RIGHT_PAREN) {
      this.advance();
      return args;
    }
    args.push(this.parseBinary(0));
    for (;;) {
      const t = this.peek();
      if (t.typ === T.COMMA) {
        this.advance();
        if (EXPR_START.has(this.peekType())) args.push(this.parseBinary(0));
        else this.addErr(this.itemRange(t), 'trailing commas not allowed in function call args');
        continue;
      }
      if (t.typ === T.RIGHT_PAREN) {
        this.advance();
        return args;
      }
      this.unexpectedInRegion();
    }
  }

  private parseAggregate(opTok: Item): AggregateExpr {
    this.regions.push(['aggregation', '']);
    let grouping: string[] = [];
    let without = false;
    let args: Expr[];
    const t = this.peekType();
    if (t === T.BY || t === T.WITHOUT) {
      this.advance();
      without = t === T.WITHOUT;
      grouping = this.parseGroupingLabels();
      args = this.parseCallBody();
    } else {
      args = this.parseCallBody();
      const m = this.peekType();
      if (m === T.BY || m === T.WITHOUT) {
        this.advance();
        without = m === T.WITHOUT;
        grouping = this.parseGroupingLabels();
      }
    }
    this.regions.pop();
    return this.newAggregateExpr(opTok, args, grouping, without);
  }

  private newAggregateExpr(opTok: Item, args: Expr[], grouping: string[], without: boolean): AggregateExpr {
    const op = itemTypeString(opTok.typ) as AggregateOp;
    const node: AggregateExpr = {
      type: 'AggregateExpr',
      valueType: 'vector',
      op,
      expr: args[args.length - 1] ?? zeroLiteral(),
      param: null,
      grouping,
      without,
      start: opTok.pos,
      end: this.lastEnd,
    };
    const range = { start: node.start, end: node.end };
    if (args.length === 0) {
      this.addErr(range, 'no arguments for aggregate expression provided');
      return node;
    }
    let desired = 1;
    if (isAggregateWithParam(op)) {
      if (!this.opts.enableExperimentalFunctions && EXPERIMENTAL_AGGREGATORS.has(opTok.typ)) {
        this.addErr(range, `${op}() is experimental and must be enabled with --enable-feature=promql-experimental-functions`);
        return node;
      }
      desired = 2;
      node.param = args[0];
    }
    if (args.length !== desired) {
      this.addErr(range, `wrong number of arguments for aggregate expression provided, expected ${desired}, got ${args.length}`);
      return node;
    }
    node.expr = args[desired - 1];
    return node;
  }

  /** `( label, … )` after by, without, on, ignoring, group_left, group_right. */
  private parseGroupingLabels(): string[] {
    if (this.peekType() !== T.LEFT_PAREN) this.unexpected('grouping opts', '"("');
    this.advance();
    const labels: string[] = [];
    if (this.peekType() === T.RIGHT_PAREN) {
      this.advance();
      return labels;
    }
    labels.push(this.parseGroupingLabel());
    for (;;) {
      const t = this.peekType();
      if (t === T.COMMA) {
        this.advance();
        if (this.peekType() === T.RIGHT_PAREN) {
          this.advance();
          return labels;
        }
        labels.push(this.parseGroupingLabel());
        continue;
      }
      if (t === T.RIGHT_PAREN) {
        this.advance();
        return labels;
      }
      this.unexpected('grouping opts', '"," or ")"');
    }
  }

  private parseGroupingLabel(): string {
    const t = this.peek();
    if (GROUPING_LABELS.has(t.typ)) {
      this.advance();
      return t.val;
    }
    if (t.typ === T.STRING) {
      this.advance();
      const name = this.unquote(t);
      if (name === '' || !isValidUTF8(name)) this.addErr(this.itemRange(t), `invalid label name for grouping: ${quoteGo(name)}`);
      return name;
    }
    return this.unexpected('grouping opts', 'label');
  }

  // ---- binary expressions ----

  /** bool, on/ignoring(…), group_left/group_right(…), fill/fill_left/fill_right(…). */
  private parseBinModifiers(): BinModifiers {
    const matching: VectorMatching = {
      card: 'one-to-one',
      matchingLabels: [],
      on: false,
      include: [],
      fillValues: { lhs: null, rhs: null },
    };
    let returnBool = false;
    if (this.peekType() === T.BOOL) {
      this.advance();
      returnBool = true;
    }
    const t = this.peekType();
    if (t === T.ON || t === T.IGNORING) {
      this.advance();
      matching.matchingLabels = this.parseGroupingLabels();
      matching.on = t === T.ON;
      const g = this.peekType();
      if (g === T.GROUP_LEFT || g === T.GROUP_RIGHT) {
        this.advance();
        matching.card = g === T.GROUP_LEFT ? 'many-to-one' : 'one-to-many';
        const n = this.peekType();
        if (n === T.LEFT_PAREN) matching.include = this.parseGroupingLabels();
        else if (!EXPR_START.has(n)) this.unexpected('grouping opts', '"("');
      }
    }
    const f = this.peekType();
    if (f === T.FILL) {
      this.advance();
      const v = this.parseFillValue();
      matching.fillValues.lhs = v;
      matching.fillValues.rhs = v;
    } else if (f === T.FILL_LEFT) {
      this.advance();
      matching.fillValues.lhs = this.parseFillValue();
      if (this.peekType() === T.FILL_RIGHT) {
        this.advance();
        matching.fillValues.rhs = this.parseFillValue();
      }
    } else if (f === T.FILL_RIGHT) {
      this.advance();
      matching.fillValues.rhs = this.parseFillValue();
      if (this.peekType() === T.FILL_LEFT) {
        this.advance();
        matching.fillValues.lhs = this.parseFillValue();
      }
    }
    return { returnBool, matching };
  }

  /** `( [+|-] number )` of a fill modifier. */
  private parseFillValue(): number {
    this.expect(T.LEFT_PAREN);
    let sign = 1;
    const s = this.peekType();
    if (s === T.ADD || s === T.SUB) {
      this.advance();
      if (s === T.SUB) sign = -1;
    }
    const n = this.peek();
    if (n.typ !== T.NUMBER && n.typ !== T.DURATION) this.unexpectedInRegion();
    this.advance();
    const v = this.numberOrDurationValue(n);
    this.expect(T.RIGHT_PAREN);
    return sign * v;
  }

  private newBinaryExpr(lhs: Expr, opTok: Item, mods: BinModifiers, rhs: Expr): BinaryExpr {
    const node: BinaryExpr = {
      type: 'BinaryExpr',
      valueType: lhs.valueType === ValueType.Scalar && rhs.valueType === ValueType.Scalar ? ValueType.Scalar : ValueType.Vector,
      op: itemTypeString(opTok.typ) as BinaryOp,
      lhs,
      rhs,
      returnBool: mods.returnBool,
      vectorMatching: mods.matching,
      start: lhs.start,
      end: rhs.end,
    };
    const fill = mods.matching.fillValues;
    if (!this.opts.enableBinopFillModifiers && (fill.lhs !== null || fill.rhs !== null)) {
      this.addErr({ start: node.start, end: node.end }, 'binop fill modifiers are experimental and not enabled');
    }
    return node;
  }

  // ---- type checks (Prometheus's checkAST) ----

  private checkAST(node: Expr): ValueType {
    const typ = node.valueType;
    switch (node.type) {
      case 'AggregateExpr':
        this.expectType(node.expr, ValueType.Vector, 'aggregation expression');
        if (node.param !== null) {
          if (node.op === 'count_values') this.expectType(node.param, ValueType.String, 'aggregation parameter');
          else this.expectType(node.param, ValueType.Scalar, 'aggregation parameter');
        }
        break;
      case 'BinaryExpr':
        this.checkBinarySpine(node);
        break;
      case 'Call':
        this.checkCall(node);
        break;
      case 'ParenExpr':
        this.checkAST(node.expr);
        break;
      case 'UnaryExpr': {
        const t = this.checkAST(node.expr);
        if (t !== ValueType.Scalar && t !== ValueType.Vector) {
          this.addErr(
            { start: node.start, end: node.end },
            `unary expression only allowed on expressions of type scalar or instant vector, got ${quoteGo(documentedType(t))}`,
          );
        }
        break;
      }
      case 'SubqueryExpr': {
        const t = this.checkAST(node.expr);
        if (t !== ValueType.Vector) {
          this.addErr({ start: node.start, end: node.end }, `subquery is only allowed on instant vector, got ${t} instead`);
        }
        break;
      }
      case 'MatrixSelector':
        this.checkAST(node.vectorSelector);
        break;
      case 'VectorSelector':
        this.checkVectorSelector(node);
        break;
      case 'NumberLiteral':
      case 'StringLiteral':
        break;
      default:
        this.addErr({ start: node.start, end: node.end }, `unknown node type: ${node.type}`);
    }
    return typ;
  }

  private expectType(node: Expr, want: ValueType, context: string): void {
    const t = this.checkAST(node);
    if (t !== want) {
      this.addErr({ start: node.start, end: node.end }, `expected type ${documentedType(want)} in ${context}, got ${documentedType(t)}`);
    }
  }

  /**
   * Checks a chain of binary expressions nested on the left (`a + b + c + …`, thousands
   * deep in generated queries) without recursing once per link, in the same order as
   * the recursive check: innermost left operand first.
   */
  private checkBinarySpine(root: BinaryExpr): void {
    const spine: BinaryExpr[] = [root];
    for (let n = root.lhs; n.type === 'BinaryExpr'; n = n.lhs) spine.push(n);
    let lt = this.checkAST(spine[spine.length - 1].lhs);
    for (let i = spine.length - 1; i >= 0; i--) {
      const n = spine[i];
      this.checkBinary(n, lt, this.checkAST(n.rhs));
      lt = n.valueType;
    }
  }

  private checkBinary(n: BinaryExpr, lt: ValueType, rt: ValueType): void {
    // The operator's position: between the operands, without surrounding blanks.
    const opRange = (): { start: number; end: number } => {
      let s = n.lhs.end;
      while (isBlank(this.input.charCodeAt(s))) s++;
      let e = n.rhs.start - 1;
      while (isBlank(this.input.charCodeAt(e))) e--;
      return { start: s, end: e };
    };
    const range = { start: n.start, end: n.end };
    const vm = n.vectorMatching;
    if (n.returnBool && !isComparisonOp(n.op)) this.addErr(opRange(), 'bool modifier can only be used on comparison operators');
    if (isComparisonOp(n.op) && !n.returnBool && n.rhs.valueType === ValueType.Scalar && n.lhs.valueType === ValueType.Scalar) {
      this.addErr(opRange(), 'comparisons between scalars must use BOOL modifier');
    }
    if (vm !== null && isSetOp(n.op) && vm.card === 'one-to-one') vm.card = 'many-to-many';
    if (vm !== null && vm.on) {
      for (const l1 of vm.matchingLabels) {
        for (const l2 of vm.include) {
          if (l1 === l2) this.addErr(opRange(), `label ${quoteGo(l1)} must not occur in ON and GROUP clause at once`);
        }
      }
    }
    if (lt !== ValueType.Scalar && lt !== ValueType.Vector) {
      this.addErr({ start: n.lhs.start, end: n.lhs.end }, 'binary expression must contain only scalar and instant vector types');
    }
    if (rt !== ValueType.Scalar && rt !== ValueType.Vector) {
      this.addErr({ start: n.rhs.start, end: n.rhs.end }, 'binary expression must contain only scalar and instant vector types');
    }
    const hasFill = vm !== null && (vm.fillValues.lhs !== null || vm.fillValues.rhs !== null);
    if ((lt !== ValueType.Vector || rt !== ValueType.Vector) && vm !== null) {
      if (vm.matchingLabels.length > 0) this.addErr(range, 'vector matching only allowed between instant vectors');
      if (hasFill) this.addErr(range, 'filling in missing series only allowed between instant vectors');
      n.vectorMatching = null;
    } else if (isSetOp(n.op) && vm !== null) {
      if (vm.card === 'one-to-many' || vm.card === 'many-to-one') {
        this.addErr(range, `no grouping allowed for ${quoteGo(n.op)} operation`);
      }
      if (vm.card !== 'many-to-many') this.addErr(range, 'set operations must always be many-to-many');
      if (hasFill) this.addErr(range, 'filling in missing series not allowed for set operators');
    }
    if ((lt === ValueType.Scalar || rt === ValueType.Scalar) && isSetOp(n.op)) {
      this.addErr(range, `set operator ${quoteGo(n.op)} not allowed in binary scalar expression`);
    }
  }

  private checkCall(n: Call): void {
    const fn = n.func;
    const nargs = fn.argTypes.length;
    const range = { start: n.start, end: n.end };
    if (fn.variadic === 0) {
      if (nargs !== n.args.length) {
        this.addErr(range, `expected ${nargs} argument(s) in call to ${quoteGo(fn.name)}, got ${n.args.length}`);
      }
    } else {
      const na = nargs - 1;
      if (na > n.args.length) {
        this.addErr(range, `expected at least ${na} argument(s) in call to ${quoteGo(fn.name)}, got ${n.args.length}`);
      } else if (fn.variadic > 0 && na + fn.variadic < n.args.length) {
        this.addErr(range, `expected at most ${na + fn.variadic} argument(s) in call to ${quoteGo(fn.name)}, got ${n.args.length}`);
      }
    }
    if (fn.name === 'info' && n.args.length > 1) {
      const a = n.args[1];
      if (a.valueType !== ValueType.Vector) {
        this.addErr(
          range,
          `expected type ${documentedType(ValueType.Vector)} in call to function ${quoteGo(fn.name)}, got ${documentedType(a.valueType)}`,
        );
      }
      if (a.type === 'VectorSelector' && a.name !== '') {
        this.addErr({ start: a.start, end: a.end }, 'expected label selectors only, got vector selector instead');
      } else if (a.type === 'VectorSelector') {
        a.bypassEmptyMatcherCheck = true;
      } else {
        this.addErr({ start: a.start, end: a.end }, 'expected label selectors only');
      }
    }
    for (let i = 0; i < n.args.length; i++) {
      let k = i;
      if (k >= nargs) {
        if (fn.variadic === 0) break; // not variadic: extra arguments are not checked
        k = nargs - 1;
      }
      const t = this.checkAST(n.args[i]);
      if (t !== fn.argTypes[k]) {
        this.addErr(
          { start: n.args[i].start, end: n.args[i].end },
          `expected type ${documentedType(fn.argTypes[k])} in call to function ${quoteGo(fn.name)}, got ${documentedType(t)}`,
        );
      }
    }
  }

  private checkVectorSelector(n: VectorSelector): void {
    const range = { start: n.start, end: n.end };
    if (n.name !== '') {
      // The last matcher is the one for the name written outside the braces.
      for (let i = 0; i < n.matchers.length - 1; i++) {
        const m = n.matchers[i];
        if (m.name === '__name__') {
          this.addErr(range, `metric name must not be set twice: ${quoteGo(n.name)} or ${quoteGo(m.value)}`);
        }
      }
      return; // a name is a non-empty matcher
    }
    if (!n.bypassEmptyMatcherCheck && !n.matchers.some((m) => !m.matches(''))) {
      this.addErr(range, 'vector selector must contain at least one non-empty matcher');
    }
  }
}

function isMatchOp(t: ItemType): boolean {
  return t === T.EQL || t === T.NEQ || t === T.EQL_REGEX || t === T.NEQ_REGEX;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}
