import { labelsToString } from '../labels/index.js';
import {
  TextParseError,
  type SampleEntry,
  type TextEntry,
  type TextFormat,
  type TextParseOptions,
} from './entry.js';
import { goQuote, parseGoFloat } from '../strconv/index.js';
import { LineSplitter, LineTooLongError, toBuffer, type LineSink, type TextInput } from './line-splitter.js';
import { buildLabels } from './series-labels.js';

const DEFAULT_MAX_LINE_BYTES = 16 << 20;

/**
 * Tokens of Prometheus's text lexers; the names are what its error messages print
 * (`expected label value, got "INVALID"`).
 */
export const Token = {
  Invalid: -1,
  EOF: 0,
  Linebreak: 2,
  Help: 4,
  Type: 5,
  Unit: 6,
  EOFWord: 7,
  Text: 8,
  Comment: 9,
  MName: 11,
  BraceOpen: 12,
  BraceClose: 13,
  LName: 14,
  LValue: 15,
  Comma: 16,
  Equal: 17,
  Timestamp: 18,
  Value: 19,
} as const;

const TOKEN_NAMES: Record<number, string> = {
  [-1]: 'INVALID',
  0: 'EOF',
  2: 'LINEBREAK',
  4: 'HELP',
  5: 'TYPE',
  6: 'UNIT',
  7: 'EOFWORD',
  8: 'TEXT',
  9: 'COMMENT',
  11: 'MNAME',
  12: 'BOPEN',
  13: 'BCLOSE',
  14: 'LNAME',
  15: 'LVALUE',
  16: 'COMMA',
  17: 'EQUAL',
  18: 'TIMESTAMP',
  19: 'VALUE',
};

export function tokenName(t: number): string {
  return TOKEN_NAMES[t] ?? `<invalid: ${t}>`;
}

/**
 * The line-at-a-time machinery both text formats share: a cursor over the current line
 * (which keeps its '\n', so the lexers see the bytes Prometheus's lexers see), label
 * offsets into it, the batch of entries produced, and errors that carry the line
 * number. A subclass supplies the lexer and the grammar.
 */
export abstract class TextParser implements LineSink {
  /** Current line, its '\n' included when it had one. */
  protected s = '';
  /** Lexer position and start of the current token, as Prometheus's l.i and l.start. */
  protected i = 0;
  protected start = 0;
  protected state = 0;
  /** offs[4k..4k+3]: name start/end and raw value start/end of the k-th label. */
  protected offs = new Int32Array(64);
  protected pairs = 0;
  protected lineNo = 0;
  private out: TextEntry[] = [];
  private readonly defaultTimestamp: number | undefined;

  constructor(
    readonly format: TextFormat,
    opts: TextParseOptions = {},
  ) {
    this.defaultTimestamp = opts.defaultTimestamp;
  }

  /** LineSink: parses one line, appending what it yields to the batch. */
  line(line: string, lineNo: number, badUtf8: boolean): void {
    this.lineNo = lineNo;
    this.s = line;
    this.i = 0;
    this.start = 0;
    this.state = 0;
    this.pairs = 0;
    this.parseLine(badUtf8);
  }

  /** Checks the end of input; `lines` is how many lines there were. */
  abstract finish(lines: number): void;

  protected abstract parseLine(badUtf8: boolean): void;

  /** Returns the entries parsed since the last call. */
  take(): TextEntry[] {
    const o = this.out;
    if (o.length > 0) this.out = [];
    return o;
  }

  protected emit(e: TextEntry): void {
    this.out.push(e);
  }

  /** Emits a sample whose labels are in offs/pairs, the metric name being s[0, nameEnd). */
  protected emitSample(nameEnd: number, t: number | undefined, v: number): void {
    let labels;
    try {
      labels = buildLabels(this.s, nameEnd, this.offs, this.pairs);
    } catch (e) {
      this.fail((e as Error).message);
    }
    if (t === undefined) {
      t = this.defaultTimestamp;
      if (t === undefined) this.fail(`expected timestamp for series ${labelsToString(labels)}, got none`);
    }
    const e: SampleEntry = { kind: 'sample', labels, t, v };
    this.out.push(e);
  }

  protected addLabel(nameStart: number, nameEnd: number, valueStart: number, valueEnd: number): void {
    const o = this.pairs * 4;
    if (o + 4 > this.offs.length) {
      const grown = new Int32Array(this.offs.length * 2);
      grown.set(this.offs);
      this.offs = grown;
    }
    this.offs[o] = nameStart;
    this.offs[o + 1] = nameEnd;
    this.offs[o + 2] = valueStart;
    this.offs[o + 3] = valueEnd;
    this.pairs++;
  }

  /** Parses s[a, b) as a float, failing with Go's message. */
  protected float(a: number, b: number): number {
    try {
      return parseGoFloat(this.s, a, b);
    } catch (e) {
      this.fail((e as Error).message);
    }
  }

  /** Prometheus's parseError: `<exp>, got "<TOKEN>"`. */
  protected failToken(exp: string, got: number): never {
    this.fail(`${exp}, got ${goQuote(tokenName(got))}`);
  }

  /** The character at the cursor as Prometheus's lexer cur() reports it. */
  protected cur(): string {
    return this.i < this.s.length ? this.s[this.i] : ' ';
  }

  protected fail(reason: string): never {
    throw new TextParseError(this.format, this.lineNo, reason);
  }

  protected failAt(line: number, reason: string): never {
    throw new TextParseError(this.format, line, reason);
  }
}

/** Feeds a byte stream through a parser, yielding the entries of each chunk together. */
export async function* parseBatches(
  parser: TextParser,
  input: TextInput,
  opts: TextParseOptions = {},
): AsyncGenerator<TextEntry[], void, undefined> {
  const splitter = new LineSplitter(parser, opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
  try {
    for await (const chunk of input) {
      splitter.push(toBuffer(chunk));
      const batch = parser.take();
      if (batch.length > 0) yield batch;
    }
    splitter.end();
  } catch (e) {
    if (e instanceof LineTooLongError) throw new TextParseError(parser.format, e.lineNo, e.message);
    throw e;
  }
  parser.finish(splitter.lines);
  const batch = parser.take();
  if (batch.length > 0) yield batch;
}

/** Parses a whole string synchronously; for tests and small inputs. */
export function parseAll(parser: TextParser, text: string): TextEntry[] {
  let lineNo = 0;
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl < 0 ? text.length : nl + 1;
    parser.line(text.slice(pos, end), ++lineNo, false);
    pos = end;
  }
  parser.finish(lineNo);
  return parser.take();
}
