// Token handling and error reporting shared by the expression parser and the series
// description parser.
//
// Error reporting mimics Prometheus's yacc parser, whose messages users see:
// - A lexer error is reported as is (at the start of the offending token) and ends parsing.
// - A syntax error reports the current token: "unexpected <desc>[ in <context>][, expected …]".
//   The context is that of the innermost grammar rule with an error production that was
//   still open when the error was detected: the rules fail "immediately" (label matching,
//   grouping options: `unexpected(ctx, expected)`), or the error surfaces to an enclosing
//   *region* (an aggregation's body, an offset, an `@`, a range selector's duration), or to
//   the top level without context (`unexpectedInRegion()`).
// - Semantic errors (unknown function, bad label name, …) are recorded and parsing goes on,
//   as the generated parser does; only the first error ends up in the message.

import type { PositionRange } from './ast.js';
import { nsToSeconds, parseDurationNs, parseFloatGo, parseIntGo0, quoteGo, unquoteGo } from './go-strconv.js';
import { type Item, ItemType, Lexer, itemDesc } from './lexer.js';
import { ParseErr, ParseErrors } from './parse-error.js';

/** Thrown inside the parser to unwind after a syntax or lexer error. */
export const ABORT: unique symbol = Symbol('promql parse abort');

const T = ItemType;

export class ParserBase {
  protected readonly lex: Lexer;
  protected readonly input: string;
  private lookahead: Item | null = null;
  /** The last consumed token. */
  protected last: Item = { typ: T.EOF, pos: 0, val: '' };
  readonly errors: ParseErr[] = [];
  /** Open error regions, innermost last: [context, expected]. */
  protected readonly regions: Array<readonly [string, string]> = [];

  constructor(input: string) {
    this.input = input;
    this.lex = new Lexer(input);
  }

  /** The next token, not consumed. Comments are skipped; a lexer error aborts. */
  protected peek(): Item {
    if (this.lookahead === null) {
      let it = this.lex.nextItem();
      while (it.typ === T.COMMENT) it = this.lex.nextItem();
      if (it.typ === T.ERROR) {
        this.addErr({ start: it.pos, end: this.input.length }, it.val);
        throw ABORT;
      }
      this.lookahead = it;
    }
    return this.lookahead;
  }

  protected peekType(): ItemType {
    return this.peek().typ;
  }

  /** Consumes and returns the next token. */
  protected advance(): Item {
    const it = this.peek();
    this.lookahead = null;
    this.last = it;
    return it;
  }

  /** End offset of the last consumed token. */
  protected get lastEnd(): number {
    return this.last.pos + this.last.val.length;
  }

  protected addErr(pr: PositionRange, err: string): void {
    this.errors.push(new ParseErr({ start: pr.start, end: pr.end }, err, this.input));
  }

  protected itemRange(it: Item): PositionRange {
    return { start: it.pos, end: it.pos + it.val.length };
  }

  /** Reports the current token as unexpected and aborts. */
  protected unexpected(context: string, expected: string): never {
    const it = this.peek();
    let msg = 'unexpected ' + itemDesc(it);
    if (context !== '') msg += ' in ' + context;
    if (expected !== '') msg += ', expected ' + expected;
    this.addErr(this.itemRange(it), msg);
    throw ABORT;
  }

  /** Reports the current token as unexpected in the innermost open region, or without context. */
  protected unexpectedInRegion(): never {
    const r = this.regions[this.regions.length - 1];
    return r === undefined ? this.unexpected('', '') : this.unexpected(r[0], r[1]);
  }

  /** Consumes a token of type t, or reports the current one as unexpected in the region. */
  protected expect(t: ItemType): Item {
    if (this.peekType() !== t) this.unexpectedInRegion();
    return this.advance();
  }

  /** Runs fn; throws ParseErrors if any error was recorded. */
  protected run<R>(fn: () => R | undefined): R {
    let result: R | undefined;
    try {
      result = fn();
    } catch (e) {
      if (e !== ABORT) throw e;
    }
    if (this.errors.length > 0 || result === undefined) throw new ParseErrors(this.errors);
    return result;
  }

  /** Value of a NUMBER token: Go's ParseInt(s, 0, 64), else ParseFloat. */
  protected numberValue(it: Item): number {
    const i = parseIntGo0(it.val);
    if (i !== null) return i;
    try {
      return parseFloatGo(it.val);
    } catch (e) {
      this.addErr(this.itemRange(it), `error parsing number: ${(e as Error).message}`);
      return 0;
    }
  }

  /** Seconds of a DURATION token. */
  protected durationValue(it: Item): number {
    try {
      return nsToSeconds(parseDurationNs(it.val));
    } catch (e) {
      this.addErr(this.itemRange(it), (e as Error).message);
      return 0;
    }
  }

  /** Value of a NUMBER or DURATION token, in seconds for durations. */
  protected numberOrDurationValue(it: Item): number {
    return it.typ === T.DURATION ? this.durationValue(it) : this.numberValue(it);
  }

  protected unquote(it: Item): string {
    try {
      return unquoteGo(it.val);
    } catch (e) {
      this.addErr(this.itemRange(it), `error unquoting string ${quoteGo(it.val)}: ${(e as Error).message}`);
      return '';
    }
  }
}
