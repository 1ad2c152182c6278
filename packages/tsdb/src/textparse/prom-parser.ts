// Prometheus text exposition format 0.0.4, accepted as Prometheus 2.42's
// model/textparse/promparse.go accepts it when scraping: the lexer follows promlex.l,
// the grammar and messages PromParser.Next. Differences from OpenMetrics worth knowing:
// runs of spaces/tabs separate tokens anywhere; blank lines and free "#" comments are
// allowed; HELP unescapes only \\ and \n; TYPE knows "untyped" (reported as unknown) but
// not the OpenMetrics-only types; no UNIT, no exemplars, no "# EOF"; timestamps are
// integer milliseconds; label pairs may end in a comma (and commas are even optional).
//
// One deliberate gap: promlex.l lets a quoted label value span lines; we parse line by
// line, so such a value fails with "expected label value".

import { MetricType, TextFormat, type TextEntry, type TextParseOptions } from './entry.js';
import * as chars from './chars.js';
import { goQuote, parseGoInt } from '../strconv/index.js';
import type { TextInput } from './line-splitter.js';
import { unescapeHelp } from './series-labels.js';
import { parseAll, parseBatches, TextParser, Token as TokenExport, tokenName } from './text-parser.js';

// The lexer's hot loops use these through module-local bindings: vitest's module
// transform turns each access to an imported binding into a getter call, which halves
// the parser's speed under test (plain ESM, as built by tsc, is unaffected).
const { BACKSLASH, COMMA, EQUAL, HASH, LBRACE, NL, QUOTE, RBRACE, SPACE, TAB } = chars;
const { isLNameStart, isMNameStart, scanLName, scanMName } = chars;
const Token = TokenExport;

/** Lexer states, as in promlex.l (its sComment is folded into Init here). */
const S = {
  Init: 0,
  Meta1: 2,
  Meta2: 3,
  Labels: 4,
  LValue: 5,
  Value: 6,
  Timestamp: 7,
} as const;

const PROM_TYPES: ReadonlyMap<string, MetricType> = new Map<string, MetricType>([
  ['counter', MetricType.Counter],
  ['gauge', MetricType.Gauge],
  ['histogram', MetricType.Histogram],
  ['summary', MetricType.Summary],
  ['untyped', MetricType.Unknown],
]);

function isWS(c: number): boolean {
  return c === SPACE || c === TAB;
}

/** A value byte: [^{ \t\n] and not NUL (NaN past the end). */
function isValueChar(c: number): boolean {
  return c > 0 && c !== SPACE && c !== TAB && c !== NL && c !== LBRACE;
}

/** Parses the Prometheus text format one line at a time (see parsePromText for streams). */
export class PromParser extends TextParser {
  constructor(opts: TextParseOptions = {}) {
    super(TextFormat.Prometheus, opts);
  }

  finish(): void {
    // The format has no end marker.
  }

  protected parseLine(badUtf8: boolean): void {
    // Prometheus appends '\n' to the scraped body, so the last line needs none.
    if (this.s.charCodeAt(this.s.length - 1) !== NL) this.s += '\n';
    const t = this.lex();
    switch (t) {
      case Token.Linebreak:
        return;
      case Token.Help:
      case Token.Type:
        this.parseMetadata(t, badUtf8);
        return;
      case Token.Comment:
        this.expectLinebreak('linebreak expected after comment');
        return;
      case Token.MName:
        this.parseSample(badUtf8);
        return;
      default:
        this.fail(`${goQuote(tokenName(t))} is not a valid start token`);
    }
  }

  private parseMetadata(t: number, badUtf8: boolean): void {
    const what = t === Token.Help ? 'HELP' : 'TYPE';
    let t2 = this.lex();
    if (t2 !== Token.MName) this.failToken(`expected metric name after ${what}`, t2);
    const metric = this.s.slice(this.start, this.i);
    t2 = this.lex();
    if (t2 !== Token.Text) this.fail(`expected text in ${what}`);
    // The TEXT token starts with the separator (if any) that it drops.
    const text = this.i - this.start > 1 ? this.s.slice(this.start + 1, this.i) : '';
    if (t === Token.Type) {
      const type = PROM_TYPES.get(text);
      if (type === undefined) this.fail(`invalid metric type ${goQuote(text)}`);
      this.expectLinebreak('linebreak expected after metadata');
      this.emit({ kind: 'type', metric, type });
    } else {
      if (badUtf8) this.fail('help text is not a valid utf8 string');
      this.expectLinebreak('linebreak expected after metadata');
      this.emit({ kind: 'help', metric, help: unescapeHelp(text) });
    }
  }

  private parseSample(badUtf8: boolean): void {
    const nameEnd = this.i;
    let t = this.lex();
    if (t === Token.BraceOpen) {
      this.parseLabels(badUtf8);
      t = this.lex();
    }
    if (t !== Token.Value) this.failToken('expected value after metric', t);
    const v = this.float(this.start, this.i);
    let ts: number | undefined;
    switch ((t = this.lex())) {
      case Token.Linebreak:
        break;
      case Token.Timestamp:
        try {
          ts = parseGoInt(this.s, this.start, this.i);
        } catch (e) {
          this.fail((e as Error).message);
        }
        this.expectLinebreak('expected next entry after timestamp');
        break;
      default:
        this.failToken('expected timestamp or new record', t);
    }
    this.emitSample(nameEnd, ts, v);
  }

  private parseLabels(badUtf8: boolean): void {
    let t = this.lex();
    for (;;) {
      if (t === Token.BraceClose) return;
      if (t !== Token.LName) this.failToken('expected label name', t);
      const nameStart = this.start;
      const nameEnd = this.i;
      if ((t = this.lex()) !== Token.Equal) this.failToken('expected equal', t);
      if ((t = this.lex()) !== Token.LValue) this.failToken('expected label value', t);
      if (badUtf8 && this.s.slice(this.start, this.i).includes('\uFFFD')) this.fail('invalid UTF-8 label value');
      this.addLabel(nameStart, nameEnd, this.start + 1, this.i - 1);
      // Free trailing commas are allowed.
      if ((t = this.lex()) === Token.Comma) t = this.lex();
    }
  }

  private expectLinebreak(what: string): void {
    const t = this.lex();
    if (t !== Token.Linebreak) this.failToken(what, t);
  }

  /**
   * One token of promlex.l, with whitespace tokens skipped as PromParser.nextToken does
   * (except where whitespace belongs to a HELP/TYPE text).
   */
  private lex(): number {
    const s = this.s;
    let i = this.i;
    if (i >= s.length) return Token.EOF;
    let c = s.charCodeAt(i);
    if (this.state === S.Meta2) {
      // Whitespace up to the '\n' is skipped; else the text runs from here to the '\n'.
      let j = i;
      while (isWS(s.charCodeAt(j))) j++;
      this.start = i;
      this.state = S.Init;
      if (s.charCodeAt(j) === NL) {
        this.start = j;
        this.i = j;
        return Token.Text;
      }
      this.i = s.length - 1;
      return Token.Text;
    }
    while (isWS(c)) c = s.charCodeAt(++i);
    this.i = i;
    this.start = i;
    if (i >= s.length) return Token.EOF;
    switch (this.state) {
      case S.Init:
        if (c === NL) {
          this.i = i + 1;
          return Token.Linebreak;
        }
        if (c === HASH) {
          c = s.charCodeAt(++i);
          if (!isWS(c)) return this.comment();
          while (isWS(c)) c = s.charCodeAt(++i);
          // "# HELP " / "# TYPE " start metadata; anything else is a comment.
          const kw = s.startsWith('HELP', i) ? Token.Help : s.startsWith('TYPE', i) ? Token.Type : 0;
          if (kw === 0 || !isWS(s.charCodeAt(i + 4))) return this.comment();
          i += 5;
          while (isWS(s.charCodeAt(i))) i++;
          this.i = i;
          this.state = S.Meta1;
          return kw;
        }
        if (isMNameStart(c)) {
          this.i = scanMName(s, i + 1);
          this.state = S.Value;
          return Token.MName;
        }
        return Token.Invalid;
      case S.Meta1:
        if (!isMNameStart(c)) return Token.Invalid;
        this.i = scanMName(s, i + 1);
        this.state = S.Meta2;
        return Token.MName;
      case S.Labels:
        if (c === COMMA) {
          this.i = i + 1;
          return Token.Comma;
        }
        if (c === EQUAL) {
          this.i = i + 1;
          this.state = S.LValue;
          return Token.Equal;
        }
        if (c === RBRACE) {
          this.i = i + 1;
          this.state = S.Value;
          return Token.BraceClose;
        }
        if (isLNameStart(c)) {
          this.i = scanLName(s, i + 1);
          return Token.LName;
        }
        return Token.Invalid;
      case S.LValue:
        if (c !== QUOTE) return Token.Invalid;
        for (i++; ; ) {
          c = s.charCodeAt(i);
          if (c === QUOTE) {
            this.i = i + 1;
            this.state = S.Labels;
            return Token.LValue;
          }
          if (c !== c) {
            // Ran off the line: a value spanning lines (see the header).
            this.i = i;
            return Token.Invalid;
          }
          i += c === BACKSLASH ? 2 : 1;
        }
      case S.Value:
        if (c === LBRACE) {
          this.i = i + 1;
          this.state = S.Labels;
          return Token.BraceOpen;
        }
        if (!isValueChar(c)) return Token.Invalid;
        i++;
        while (isValueChar(s.charCodeAt(i))) i++;
        this.i = i;
        this.state = S.Timestamp;
        return Token.Value;
      case S.Timestamp:
        if (c === NL) {
          this.i = i + 1;
          this.state = S.Init;
          return Token.Linebreak;
        }
        if (c < 48 || c > 57) return Token.Invalid;
        i++;
        while (s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
        this.i = i;
        return Token.Timestamp;
    }
    return Token.Invalid;
  }

  /** consumeComment: everything up to the '\n', which is left for the next token. */
  private comment(): number {
    this.i = this.s.length - 1;
    this.state = S.Init;
    return Token.Comment;
  }
}

/** Streams the entries of Prometheus text format (0.0.4) from bytes or strings. */
export async function* parsePromText(input: TextInput, opts: TextParseOptions = {}): AsyncGenerator<TextEntry> {
  for await (const batch of parseBatches(new PromParser(opts), input, opts)) yield* batch;
}

/** As parsePromText, but yields the entries of each input chunk as one array. */
export function parsePromTextBatches(input: TextInput, opts: TextParseOptions = {}): AsyncGenerator<TextEntry[]> {
  return parseBatches(new PromParser(opts), input, opts);
}

/** Parses a complete text-format document held in memory. */
export function parsePromTextString(text: string, opts: TextParseOptions = {}): TextEntry[] {
  return parseAll(new PromParser(opts), text);
}
