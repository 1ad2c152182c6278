// OpenMetrics 1.0 text format, accepted exactly as Prometheus 2.42's
// model/textparse/openmetricsparse.go (and so `promtool tsdb create-blocks-from
// openmetrics`) accepts it. The lexer is a hand-written version of openmetricslex.l's
// state machine, run over one line at a time; the grammar and every error message follow
// OpenMetricsParser.Next. Facts worth knowing:
//
//   line      = sample | "# HELP " name " " text | "# TYPE " name " " type
//             | "# UNIT " name " " unit | "# EOF"            (each ends in '\n', EOF's optionally)
//   sample    = name ["{" [lname "=" lvalue ("," lname "=" lvalue)*] "}"] " " value
//               [" " timestamp] [" # {" labels "} " value [" " timestamp]] '\n'
//   value, timestamp: any run of bytes but ' ' and '\n', parsed by Go's ParseFloat
//   timestamp: float seconds; milliseconds = int64(ts * 1000), i.e. truncated, not rounded
//
// Only HELP, TYPE, UNIT and EOF comments exist (any other "# " line is an error), no blank
// lines, single spaces only, "# EOF" must be the last line. Exemplars are allowed only on
// _total and _bucket series; they are validated and dropped. _created series are ordinary
// samples (promtool imports them too). Like promtool, samples without a timestamp are
// rejected unless a default timestamp is given.

import { MetricType, TextFormat, type TextEntry, type TextParseOptions } from './entry.js';
import * as chars from './chars.js';
import { goQuote } from '../strconv/index.js';
import type { TextInput } from './line-splitter.js';
import { unescapeLabelValue } from './series-labels.js';
import { parseAll, parseBatches, TextParser, Token as TokenExport, tokenName } from './text-parser.js';

// The lexer's hot loops use these through module-local bindings: vitest's module
// transform turns each access to an imported binding into a getter call, which halves
// the parser's speed under test (plain ESM, as built by tsc, is unaffected).
const { BACKSLASH, COMMA, EQUAL, HASH, LBRACE, NL, QUOTE, RBRACE, SPACE, UNDERSCORE } = chars;
const { isLNameStart, isMNameStart, scanLName, scanMName } = chars;
const Token = TokenExport;

/** Lexer states, as in openmetricslex.l. */
const S = {
  Init: 0,
  Comment: 1,
  Meta1: 2,
  Meta2: 3,
  Labels: 4,
  LValue: 5,
  Value: 6,
  Timestamp: 7,
  Exemplar: 8,
  EValue: 9,
  ETimestamp: 10,
} as const;

const OM_TYPES: ReadonlyMap<string, MetricType> = new Map(
  ['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown'].map(
    (t) => [t, t as MetricType],
  ),
);

/** Bytes of a value or timestamp token: anything but ' ', '\n' and NUL (NaN past the end). */
function isValueChar(c: number): boolean {
  return c > 0 && c !== SPACE && c !== NL;
}

/**
 * Parses OpenMetrics text one line at a time (see parseOpenMetrics for streams). Feed
 * lines with line(), collect entries with take(), and call finish() at the end.
 */
export class OpenMetricsParser extends TextParser {
  private sawEOF = false;

  constructor(opts: TextParseOptions = {}) {
    super(TextFormat.OpenMetrics, opts);
  }

  finish(lines: number): void {
    if (!this.sawEOF) this.failAt(lines + 1, 'data does not end with # EOF');
  }

  protected parseLine(badUtf8: boolean): void {
    if (this.sawEOF) this.fail('unexpected data after # EOF');
    const t = this.lex();
    switch (t) {
      case Token.EOFWord:
        if (this.lex() !== Token.EOF) this.fail('unexpected data after # EOF');
        this.sawEOF = true;
        return;
      case Token.EOF:
        this.fail('data does not end with # EOF');
      case Token.Help:
      case Token.Type:
      case Token.Unit:
        this.parseMetadata(t, badUtf8);
        return;
      case Token.MName:
        this.parseSample(badUtf8);
        return;
      default:
        this.fail(`${goQuote(tokenName(t))} ${goQuote(this.cur())} is not a valid start token`);
    }
  }

  private parseMetadata(t: number, badUtf8: boolean): void {
    const what = t === Token.Help ? 'HELP' : t === Token.Type ? 'TYPE' : 'UNIT';
    let t2 = this.lex();
    if (t2 !== Token.MName) this.failToken(`expected metric name after ${what}`, t2);
    const metric = this.s.slice(this.start, this.i);
    t2 = this.lex();
    if (t2 !== Token.Text) this.fail(`expected text in ${what}`);
    // The TEXT token is " text\n".
    const a = this.start + 1;
    const b = this.i - 1;
    if (t === Token.Type) {
      const text = this.s.slice(a, b);
      const type = OM_TYPES.get(text);
      if (type === undefined) this.fail(`invalid metric type ${goQuote(text)}`);
      this.emit({ kind: 'type', metric, type });
    } else if (t === Token.Help) {
      if (badUtf8) this.fail('help text is not a valid utf8 string');
      // OpenMetrics escapes HELP like label values.
      this.emit({ kind: 'help', metric, help: unescapeLabelValue(this.s, a, b) });
    } else {
      const unit = this.s.slice(a, b);
      if (
        unit.length > 0 &&
        (!metric.endsWith(unit) ||
          metric.length < unit.length + 1 ||
          metric.charCodeAt(metric.length - unit.length - 1) !== UNDERSCORE)
      ) {
        this.fail(`unit not a suffix of metric ${goQuote(metric)}`);
      }
      this.emit({ kind: 'unit', metric, unit });
    }
  }

  private parseSample(badUtf8: boolean): void {
    const nameEnd = this.i;
    let t = this.lex();
    if (t === Token.BraceOpen) {
      this.parseLabels(false, badUtf8);
      t = this.lex();
    }
    const v = this.value(t, 'metric');
    let ts: number | undefined;
    switch ((t = this.lex())) {
      case Token.EOF:
        this.fail('data does not end with # EOF');
      case Token.Linebreak:
        break;
      case Token.Comment:
        this.parseExemplar(nameEnd, badUtf8);
        break;
      case Token.Timestamp:
        ts = this.timestamp('invalid timestamp');
        switch ((t = this.lex())) {
          case Token.Linebreak:
            break;
          case Token.Comment:
            this.parseExemplar(nameEnd, badUtf8);
            break;
          default:
            this.failToken('expected next entry after timestamp', t);
        }
        break;
      default:
        this.failToken('expected timestamp or # symbol', t);
    }
    this.emitSample(nameEnd, ts, v);
  }

  /** Validates the exemplar after " # {", which Prometheus allows on _total and _bucket series. */
  private parseExemplar(nameEnd: number, badUtf8: boolean): void {
    const name = this.s.slice(0, nameEnd);
    if (!name.endsWith('_total') && !name.endsWith('_bucket')) {
      this.fail(`metric name ${name} does not support exemplars`);
    }
    this.parseLabels(true, badUtf8);
    this.value(this.lex(), 'exemplar labels');
    const t = this.lex();
    switch (t) {
      case Token.EOF:
        this.fail('data does not end with # EOF');
      case Token.Linebreak:
        return;
      case Token.Timestamp: {
        this.timestamp('invalid exemplar timestamp');
        const t3 = this.lex();
        if (t3 !== Token.Linebreak) this.failToken('expected next entry after exemplar timestamp', t3);
        return;
      }
      default:
        this.failToken('expected timestamp or comment', t);
    }
  }

  /** Parses label pairs up to and including '}'; records them unless `exemplar`. */
  private parseLabels(exemplar: boolean, badUtf8: boolean): void {
    for (let first = true; ; first = false) {
      let t = this.lex();
      switch (t) {
        case Token.BraceClose:
          return;
        case Token.Comma:
          if (first) this.failToken('expected label name or left brace', t);
          t = this.lex();
          if (t !== Token.LName) this.failToken('expected label name', t);
          break;
        case Token.LName:
          if (!first) this.failToken('expected comma', t);
          break;
        default:
          if (first) this.failToken('expected label name or left brace', t);
          this.failToken('expected comma or left brace', t);
      }
      const nameStart = this.start;
      const nameEnd = this.i;
      if ((t = this.lex()) !== Token.Equal) this.failToken('expected equal', t);
      if ((t = this.lex()) !== Token.LValue) this.failToken('expected label value', t);
      // Invalid bytes were decoded to U+FFFD; Prometheus checks each label value.
      if (badUtf8 && this.s.slice(this.start, this.i).includes('\uFFFD')) this.fail('invalid UTF-8 label value');
      if (!exemplar) this.addLabel(nameStart, nameEnd, this.start + 1, this.i - 1);
    }
  }

  /** getFloatValue: the VALUE token is " value". */
  private value(t: number, after: string): number {
    if (t !== Token.Value) this.failToken(`expected value after ${after}`, t);
    return this.float(this.start + 1, this.i);
  }

  /** The TIMESTAMP token is " seconds"; returns milliseconds the way Go's int64(ts*1000) does. */
  private timestamp(invalid: string): number {
    const ts = this.float(this.start + 1, this.i);
    if (ts !== ts || ts === Infinity || ts === -Infinity) this.fail(invalid);
    // Truncation toward zero, like Go's float→int64 conversion; "+ 0" turns -0 into 0.
    const ms = Math.trunc(ts * 1000) + 0;
    // Go's conversion of values beyond int64 is undefined; we refuse what JS numbers
    // cannot hold exactly instead.
    if (!Number.isSafeInteger(ms)) this.fail('timestamp out of range');
    return ms;
  }

  /** One token of openmetricslex.l; sets start/i as l.start/l.i and returns the token. */
  private lex(): number {
    const s = this.s;
    let i = this.i;
    if (i >= s.length) return Token.EOF;
    this.start = i;
    let c = s.charCodeAt(i);
    switch (this.state) {
      case S.Init:
        if (c === HASH) {
          if (s.charCodeAt(i + 1) !== SPACE) {
            this.i = i + 1;
            return Token.Invalid;
          }
          this.state = S.Comment;
          return this.lexComment(i + 2);
        }
        if (isMNameStart(c)) {
          this.i = scanMName(s, i + 1);
          this.state = S.Value;
          return Token.MName;
        }
        return Token.Invalid;
      case S.Comment:
        return this.lexComment(i);
      case S.Meta1:
        if (!isMNameStart(c)) return Token.Invalid;
        this.i = scanMName(s, i + 1);
        this.state = S.Meta2;
        return Token.MName;
      case S.Meta2:
        // " " followed by anything up to the line's '\n' (a line holds at most one, at its end).
        if (c !== SPACE) return Token.Invalid;
        this.i = s.length;
        if (s.charCodeAt(s.length - 1) !== NL) return Token.Invalid;
        this.state = S.Init;
        return Token.Text;
      case S.Labels:
      case S.Exemplar: {
        const inLabels = this.state === S.Labels;
        if (c === COMMA) {
          this.i = i + 1;
          return Token.Comma;
        }
        if (c === EQUAL) {
          this.i = i + 1;
          this.state = inLabels ? S.LValue : S.EValue;
          return Token.Equal;
        }
        if (c === RBRACE) {
          this.i = i + 1;
          this.state = inLabels ? S.Value : S.EValue;
          return Token.BraceClose;
        }
        if (isLNameStart(c)) {
          this.i = scanLName(s, i + 1);
          return Token.LName;
        }
        return Token.Invalid;
      }
      case S.LValue:
        if (c !== QUOTE) return Token.Invalid;
        return this.lexQuoted(i + 1, S.Labels);
      case S.EValue:
        if (c === QUOTE) return this.lexQuoted(i + 1, S.Exemplar);
        if (c === SPACE) return this.lexValue(i + 1, S.ETimestamp, Token.Value);
        return Token.Invalid;
      case S.Value:
        if (c === SPACE) return this.lexValue(i + 1, S.Timestamp, Token.Value);
        if (c === LBRACE) {
          this.i = i + 1;
          this.state = S.Labels;
          return Token.BraceOpen;
        }
        return Token.Invalid;
      case S.Timestamp:
        if (c === NL) {
          this.i = i + 1;
          this.state = S.Init;
          return Token.Linebreak;
        }
        if (c !== SPACE) return Token.Invalid;
        c = s.charCodeAt(++i);
        if (c === HASH) {
          c = s.charCodeAt(++i);
          if (c === SPACE) {
            // " # {" opens an exemplar; " # " followed by anything else matches no rule.
            if (s.charCodeAt(i + 1) === LBRACE) {
              this.i = i + 2;
              this.state = S.Exemplar;
              return Token.Comment;
            }
            this.i = i + 1;
            return Token.Invalid;
          }
          // "#…" is just an odd timestamp, which then fails to parse as a float.
          this.i = scanValue(s, i);
          return Token.Timestamp;
        }
        if (!isValueChar(c)) {
          this.i = i;
          return Token.Invalid;
        }
        this.i = scanValue(s, i + 1);
        return Token.Timestamp;
      case S.ETimestamp:
        if (c === NL) {
          this.i = i + 1;
          this.state = S.Init;
          return Token.Linebreak;
        }
        if (c === SPACE) return this.lexValue(i + 1, S.ETimestamp, Token.Timestamp);
        return Token.Invalid;
    }
    return Token.Invalid;
  }

  /** After "# ": HELP, TYPE, UNIT (each with a trailing space) or EOF (with an optional '\n'). */
  private lexComment(i: number): number {
    const s = this.s;
    let word: string;
    let tok: number;
    switch (s.charCodeAt(i)) {
      case 72 /* H */:
        word = 'HELP ';
        tok = Token.Help;
        break;
      case 84 /* T */:
        word = 'TYPE ';
        tok = Token.Type;
        break;
      case 85 /* U */:
        word = 'UNIT ';
        tok = Token.Unit;
        break;
      case 69 /* E */:
        word = 'EOF';
        tok = Token.EOFWord;
        break;
      default:
        this.i = i;
        return Token.Invalid;
    }
    for (let k = 1; k < word.length; k++) {
      if (s.charCodeAt(i + k) !== word.charCodeAt(k)) {
        this.i = i + k;
        return Token.Invalid;
      }
    }
    i += word.length;
    if (tok === Token.EOFWord) {
      if (s.charCodeAt(i) === NL) i++;
      this.state = S.Init;
    } else this.state = S.Meta1;
    this.i = i;
    return tok;
  }

  /** A quoted label value from just after its opening '"': (\\.|[^\\"\n])* '"'. */
  private lexQuoted(i: number, next: number): number {
    const s = this.s;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === QUOTE) {
        this.i = i + 1;
        this.state = next;
        return Token.LValue;
      }
      if (c === BACKSLASH) {
        const e = s.charCodeAt(i + 1);
        if (e === NL || e !== e) {
          this.i = i + 1;
          return Token.Invalid;
        }
        i += 2;
      } else if (c === NL || c !== c) {
        this.i = i;
        return Token.Invalid;
      } else i++;
    }
  }

  /** " " already consumed at i-1; one or more value bytes follow. */
  private lexValue(i: number, next: number, tok: number): number {
    if (!isValueChar(this.s.charCodeAt(i))) {
      this.i = i;
      return Token.Invalid;
    }
    this.i = scanValue(this.s, i + 1);
    this.state = next;
    return tok;
  }
}

function scanValue(s: string, i: number): number {
  while (isValueChar(s.charCodeAt(i))) i++;
  return i;
}

/**
 * Streams the entries of OpenMetrics text from a Readable or any (async) iterable of
 * byte/string chunks, holding one chunk and one partial line at a time.
 */
export async function* parseOpenMetrics(input: TextInput, opts: TextParseOptions = {}): AsyncGenerator<TextEntry> {
  for await (const batch of parseBatches(new OpenMetricsParser(opts), input, opts)) yield* batch;
}

/** As parseOpenMetrics, but yields the entries of each input chunk as one array (fewer awaits). */
export function parseOpenMetricsBatches(input: TextInput, opts: TextParseOptions = {}): AsyncGenerator<TextEntry[]> {
  return parseBatches(new OpenMetricsParser(opts), input, opts);
}

/** Parses a complete OpenMetrics document held in memory. */
export function parseOpenMetricsString(text: string, opts: TextParseOptions = {}): TextEntry[] {
  return parseAll(new OpenMetricsParser(opts), text);
}
