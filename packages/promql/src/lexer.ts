// The PromQL lexer: a state machine in the shape of Prometheus's promql/parser/lex.go, so
// that tokens, token boundaries and lexer error messages are Prometheus's own. The parser
// pulls one item at a time; the lexer knows nothing about the grammar except the few
// modes Prometheus's lexer has too (inside braces, inside a range/duration bracket, in a
// series description's value sequence, inside a native histogram literal).
//
// Positions are offsets into the JS string (UTF-16 code units); see ParseError for how
// they become Prometheus's byte-based line:column.

import { formatRuneGo, quoteGo, quoteGoPrefix, quoteRuneGo, utf8ByteLength } from './go-strconv.js';

/**
 * Token types, numbered like the token constants of Prometheus's generated parser: the
 * numbers surface in a few error messages (`unexpected "<Item 57372>" …`), and the
 * ranges group operators, aggregators and keywords as Prometheus does.
 */
export const ItemType = {
  ERROR: 57353,
  EOF: 57352,
  COMMENT: 57350,
  IDENTIFIER: 57354,
  METRIC_IDENTIFIER: 57360,
  LEFT_PAREN: 57357,
  RIGHT_PAREN: 57364,
  LEFT_BRACE: 57355,
  RIGHT_BRACE: 57362,
  LEFT_BRACKET: 57356,
  RIGHT_BRACKET: 57363,
  COMMA: 57349,
  EQL: 57346,
  COLON: 57348,
  SEMICOLON: 57365,
  STRING: 57367,
  NUMBER: 57361,
  DURATION: 57351,
  BLANK: 57347,
  TIMES: 57368,
  SPACE: 57366,
  OPEN_HIST: 57358,
  CLOSE_HIST: 57359,

  // Histogram descriptors (series descriptions only).
  SUM_DESC: 57370,
  COUNT_DESC: 57371,
  SCHEMA_DESC: 57372,
  OFFSET_DESC: 57373,
  NEGATIVE_OFFSET_DESC: 57374,
  BUCKETS_DESC: 57375,
  NEGATIVE_BUCKETS_DESC: 57376,
  ZERO_BUCKET_DESC: 57377,
  ZERO_BUCKET_WIDTH_DESC: 57378,
  CUSTOM_VALUES_DESC: 57379,
  COUNTER_RESET_HINT_DESC: 57380,

  // Operators.
  ADD: 57383,
  DIV: 57384,
  EQLC: 57385,
  EQL_REGEX: 57386,
  GTE: 57387,
  GTR: 57388,
  TRIM_UPPER: 57389,
  TRIM_LOWER: 57390,
  LAND: 57391,
  LOR: 57392,
  LSS: 57393,
  LTE: 57394,
  LUNLESS: 57395,
  MOD: 57396,
  MUL: 57397,
  NEQ: 57398,
  NEQ_REGEX: 57399,
  POW: 57400,
  SUB: 57401,
  AT: 57402,
  ATAN2: 57403,

  // Aggregators.
  AVG: 57406,
  BOTTOMK: 57407,
  COUNT: 57408,
  COUNT_VALUES: 57409,
  GROUP: 57410,
  MAX: 57411,
  MIN: 57412,
  QUANTILE: 57413,
  STDDEV: 57414,
  STDVAR: 57415,
  SUM: 57416,
  TOPK: 57417,
  LIMITK: 57418,
  LIMIT_RATIO: 57419,

  // Keywords.
  BOOL: 57422,
  BY: 57423,
  GROUP_LEFT: 57424,
  GROUP_RIGHT: 57425,
  FILL: 57426,
  FILL_LEFT: 57427,
  FILL_RIGHT: 57428,
  IGNORING: 57429,
  OFFSET: 57430,
  SMOOTHED: 57431,
  ANCHORED: 57432,
  ON: 57433,
  WITHOUT: 57434,

  // Preprocessors.
  START: 57437,
  END: 57438,
  STEP: 57439,
  RANGE: 57440,
  MAX_OF: 57441,
  MIN_OF: 57442,

  // Counter reset hints (series descriptions only).
  UNKNOWN_COUNTER_RESET: 57445,
  COUNTER_RESET: 57446,
  NOT_COUNTER_RESET: 57447,
  GAUGE_TYPE: 57448,
} as const;
export type ItemType = (typeof ItemType)[keyof typeof ItemType];

const T = ItemType;

const OPERATORS_START = 57382;
const OPERATORS_END = 57404;
const AGGREGATORS_START = 57405;
const AGGREGATORS_END = 57420;
const KEYWORDS_START = 57421;
const KEYWORDS_END = 57435;

export function isOperator(t: ItemType): boolean {
  return t > OPERATORS_START && t < OPERATORS_END;
}
export function isAggregator(t: ItemType): boolean {
  return t > AGGREGATORS_START && t < AGGREGATORS_END;
}
export function isKeyword(t: ItemType): boolean {
  return t > KEYWORDS_START && t < KEYWORDS_END;
}
export function isComparisonOperator(t: ItemType): boolean {
  return t === T.EQLC || t === T.NEQ || t === T.LTE || t === T.LSS || t === T.GTE || t === T.GTR;
}
export function isSetOperator(t: ItemType): boolean {
  return t === T.LAND || t === T.LOR || t === T.LUNLESS;
}
export function isAggregatorWithParam(t: ItemType): boolean {
  return t === T.TOPK || t === T.BOTTOMK || t === T.COUNT_VALUES || t === T.QUANTILE || t === T.LIMITK || t === T.LIMIT_RATIO;
}

/** PromQL keywords (lower case) and their token types. "inf" and "nan" lex as numbers. */
const KEYWORDS: ReadonlyMap<string, ItemType> = new Map<string, ItemType>([
  ['and', T.LAND],
  ['or', T.LOR],
  ['unless', T.LUNLESS],
  ['atan2', T.ATAN2],
  ['sum', T.SUM],
  ['avg', T.AVG],
  ['count', T.COUNT],
  ['min', T.MIN],
  ['max', T.MAX],
  ['group', T.GROUP],
  ['stddev', T.STDDEV],
  ['stdvar', T.STDVAR],
  ['topk', T.TOPK],
  ['bottomk', T.BOTTOMK],
  ['count_values', T.COUNT_VALUES],
  ['quantile', T.QUANTILE],
  ['limitk', T.LIMITK],
  ['limit_ratio', T.LIMIT_RATIO],
  ['offset', T.OFFSET],
  ['smoothed', T.SMOOTHED],
  ['anchored', T.ANCHORED],
  ['by', T.BY],
  ['without', T.WITHOUT],
  ['on', T.ON],
  ['ignoring', T.IGNORING],
  ['group_left', T.GROUP_LEFT],
  ['group_right', T.GROUP_RIGHT],
  ['fill', T.FILL],
  ['fill_left', T.FILL_LEFT],
  ['fill_right', T.FILL_RIGHT],
  ['bool', T.BOOL],
  ['start', T.START],
  ['end', T.END],
  ['step', T.STEP],
  ['range', T.RANGE],
  ['max_of', T.MAX_OF],
  ['min_of', T.MIN_OF],
  ['inf', T.NUMBER],
  ['nan', T.NUMBER],
]);

const HISTOGRAM_DESC: ReadonlyMap<string, ItemType> = new Map<string, ItemType>([
  ['sum', T.SUM_DESC],
  ['count', T.COUNT_DESC],
  ['schema', T.SCHEMA_DESC],
  ['offset', T.OFFSET_DESC],
  ['n_offset', T.NEGATIVE_OFFSET_DESC],
  ['buckets', T.BUCKETS_DESC],
  ['n_buckets', T.NEGATIVE_BUCKETS_DESC],
  ['z_bucket', T.ZERO_BUCKET_DESC],
  ['z_bucket_w', T.ZERO_BUCKET_WIDTH_DESC],
  ['custom_values', T.CUSTOM_VALUES_DESC],
  ['counter_reset_hint', T.COUNTER_RESET_HINT_DESC],
]);

const COUNTER_RESET_HINTS: ReadonlyMap<string, ItemType> = new Map<string, ItemType>([
  ['unknown', T.UNKNOWN_COUNTER_RESET],
  ['reset', T.COUNTER_RESET],
  ['not_reset', T.NOT_COUNTER_RESET],
  ['gauge', T.GAUGE_TYPE],
]);

const DURATION_KEYWORDS: ReadonlyMap<string, ItemType> = new Map<string, ItemType>([
  ['step', T.STEP],
  ['range', T.RANGE],
  ['max_of', T.MAX_OF],
  ['min_of', T.MIN_OF],
]);

/** Canonical spelling of token types (Prometheus's ItemTypeStr), used in messages and printing. */
const ITEM_TYPE_STR = new Map<ItemType, string>([
  [T.OPEN_HIST, '{{'],
  [T.CLOSE_HIST, '}}'],
  [T.LEFT_PAREN, '('],
  [T.RIGHT_PAREN, ')'],
  [T.LEFT_BRACE, '{'],
  [T.RIGHT_BRACE, '}'],
  [T.LEFT_BRACKET, '['],
  [T.RIGHT_BRACKET, ']'],
  [T.COMMA, ','],
  [T.EQL, '='],
  [T.COLON, ':'],
  [T.SEMICOLON, ';'],
  [T.BLANK, '_'],
  [T.TIMES, 'x'],
  [T.SPACE, '<space>'],
  [T.SUB, '-'],
  [T.ADD, '+'],
  [T.MUL, '*'],
  [T.MOD, '%'],
  [T.DIV, '/'],
  [T.EQLC, '=='],
  [T.NEQ, '!='],
  [T.LTE, '<='],
  [T.LSS, '<'],
  [T.GTE, '>='],
  [T.GTR, '>'],
  [T.TRIM_UPPER, '</'],
  [T.TRIM_LOWER, '>/'],
  [T.EQL_REGEX, '=~'],
  [T.NEQ_REGEX, '!~'],
  [T.POW, '^'],
  [T.AT, '@'],
]);
for (const [word, t] of KEYWORDS) if (t !== T.NUMBER) ITEM_TYPE_STR.set(t, word);

/** The canonical text of a token type: "+", "sum", "offset", … */
export function itemTypeString(t: ItemType): string {
  return ITEM_TYPE_STR.get(t) ?? `<Item ${t}>`;
}

/** A token: its type, start offset and text. */
export interface Item {
  readonly typ: ItemType;
  readonly pos: number;
  readonly val: string;
}

/** Prometheus's Item.String(): `"foo"`, `<op:+>`, `<aggr:sum>`, `<offset>`, `EOF`. */
export function itemString(i: Item): string {
  if (i.typ === T.EOF) return 'EOF';
  if (i.typ === T.ERROR) return i.val;
  if (i.typ === T.IDENTIFIER || i.typ === T.METRIC_IDENTIFIER) return quoteGo(i.val);
  if (isKeyword(i.typ)) return `<${i.val}>`;
  if (isOperator(i.typ)) return `<op:${i.val}>`;
  if (isAggregator(i.typ)) return `<aggr:${i.val}>`;
  if (utf8ByteLength(i.val) > 10) return quoteGoPrefix(i.val, 10) + '...';
  return quoteGo(i.val);
}

/** Prometheus's Item.desc(), as used in "unexpected …" messages. */
export function itemDesc(i: Item): string {
  if (ITEM_TYPE_STR.has(i.typ)) return itemString(i);
  if (i.typ === T.EOF) return 'end of input';
  return `${itemTypeDesc(i.typ)} ${itemString(i)}`;
}

function itemTypeDesc(t: ItemType): string {
  switch (t) {
    case T.ERROR:
      return 'error';
    case T.EOF:
      return 'end of input';
    case T.COMMENT:
      return 'comment';
    case T.IDENTIFIER:
      return 'identifier';
    case T.METRIC_IDENTIFIER:
      return 'metric identifier';
    case T.STRING:
      return 'string';
    case T.NUMBER:
      return 'number';
    case T.DURATION:
      return 'duration';
  }
  return quoteGo(itemTypeString(t));
}

const EOF = -1;

const HistogramState = { None: 0, Open: 1, Mul: 2, Add: 3, Sub: 4 } as const;
type HistogramState = (typeof HistogramState)[keyof typeof HistogramState];

type StateFn = (l: Lexer) => StateFn | null;

function isSpace(r: number): boolean {
  return r === 0x20 || r === 0x09 || r === 0x0a || r === 0x0d;
}
function isDigit(r: number): boolean {
  return r >= 0x30 && r <= 0x39;
}
function isAlpha(r: number): boolean {
  return r === 0x5f || (r >= 0x61 && r <= 0x7a) || (r >= 0x41 && r <= 0x5a);
}
function isAlphaNumeric(r: number): boolean {
  return isAlpha(r) || isDigit(r);
}
function isEndOfLine(r: number): boolean {
  return r === 0x0d || r === 0x0a;
}
/** Whether r decodes as Go's utf8.RuneError: U+FFFD itself, or bytes that are not UTF-8. */
function isRuneError(r: number): boolean {
  return r === 0xfffd || (r >= 0xd800 && r <= 0xdfff);
}
function isDurationKeywordStartChar(r: number): boolean {
  const c = r | 0x20; // ASCII lower case; other runes never match
  return r < 0x80 && (c === 0x73 || c === 0x72 || c === 0x6d); // s(tep), r(ange), m(ax_of|in_of)
}
function digitVal(r: number): number {
  if (r >= 0x30 && r <= 0x39) return r - 0x30;
  if (r >= 0x61 && r <= 0x66) return r - 0x61 + 10;
  if (r >= 0x41 && r <= 0x46) return r - 0x41 + 10;
  return 16;
}

/** The PromQL lexer. Create one per input; call nextItem() until EOF or ERROR. */
export class Lexer {
  readonly input: string;
  private state: StateFn | null = lexStatements;
  /** Current position. */
  pos = 0;
  /** Start of the item being scanned. */
  start = 0;
  private width = 0;
  private item: Item = { typ: T.EOF, pos: 0, val: '' };
  private scannedItem = false;

  parenDepth = 0;
  braceOpen = false;
  bracketOpen = false;
  gotColon = false;
  gotDuration = false;
  stringOpen = 0;
  /** Lexing a series description (a `load` line): value sequences, histograms, no hex. */
  seriesDesc = false;
  histogramState: HistogramState = HistogramState.None;

  constructor(input: string) {
    this.input = input;
  }

  /** Scans and returns the next item. After EOF or ERROR, keeps returning EOF. */
  nextItem(): Item {
    this.scannedItem = false;
    if (this.state !== null) {
      while (!this.scannedItem) {
        const s: StateFn | null = this.state === null ? null : this.state(this);
        this.state = s;
        if (s === null && !this.scannedItem) this.emit(T.EOF);
      }
    } else {
      this.emit(T.EOF);
    }
    return this.item;
  }

  next(): number {
    if (this.pos >= this.input.length) {
      this.width = 0;
      return EOF;
    }
    const r = this.input.codePointAt(this.pos)!;
    this.width = r > 0xffff ? 2 : 1;
    this.pos += this.width;
    return r;
  }

  peek(): number {
    const r = this.next();
    this.backup();
    return r;
  }

  backup(): void {
    this.pos -= this.width;
  }

  emit(t: ItemType): void {
    this.item = { typ: t, pos: this.start, val: this.input.slice(this.start, this.pos) };
    this.start = this.pos;
    this.scannedItem = true;
  }

  ignore(): void {
    this.start = this.pos;
  }

  accept(valid: string): boolean {
    const r = this.next();
    if (r !== EOF && valid.includes(String.fromCodePoint(r))) return true;
    this.backup();
    return false;
  }

  is(valid: string): boolean {
    const r = this.peek();
    return r !== EOF && valid.includes(String.fromCodePoint(r));
  }

  acceptRun(valid: string): void {
    while (this.accept(valid)) {
      // consume
    }
  }

  /** Emits an ERROR item carrying msg; lexing stops. */
  errorf(msg: string): StateFn | null {
    this.item = { typ: T.ERROR, pos: this.start, val: msg };
    this.scannedItem = true;
    return null;
  }

  /** Scans a number; the text is not necessarily a valid number (the parser checks). */
  scanNumber(): boolean {
    const initialPos = this.pos;
    let digitPattern = '0123456789';
    // Hexadecimal is not allowed in series descriptions: `0x5` would be ambiguous with repetitions.
    if (!this.seriesDesc && this.accept('0') && this.accept('xX')) {
      this.accept('_'); // 0x_1F
      digitPattern = '0123456789abcdefABCDEF';
    }
    this.accept('.');
    this.accept(digitPattern);
    let dotConsumed = false;
    let exponentConsumed = false;
    while (this.is(digitPattern + '._eE')) {
      if (this.is('.') && dotConsumed) {
        this.accept('.');
        return false;
      }
      if (this.is('eE') && exponentConsumed) {
        this.accept('eE');
        return false;
      }
      if (this.accept('.')) {
        dotConsumed = true;
        if (this.accept('_.')) return false;
        if (digitPattern.length > 10) return false; // no fractional hexadecimal literals
        continue;
      }
      if (this.accept('eE')) {
        exponentConsumed = true;
        this.accept('+-');
        if (this.accept('._eE') || this.peek() === EOF) return false;
        continue;
      }
      if (this.accept('_')) {
        if (this.accept('._eE') || this.peek() === EOF) return false;
        continue;
      }
      this.acceptRun(digitPattern);
    }
    if (this.pos === initialPos) return false;
    // Next thing must not be alphanumeric, unless it's the repetition `x` of a series value.
    const r = this.peek();
    return (this.seriesDesc && r === 0x78) || !isAlphaNumeric(r);
  }

  /** Scans a step()/range()/max_of/min_of keyword after its first character. */
  scanDurationKeyword(): boolean {
    for (;;) {
      const r = this.next();
      if (isAlpha(r)) continue;
      this.backup();
      const word = this.input.slice(this.start, this.pos).toLowerCase();
      const t = DURATION_KEYWORDS.get(word);
      if (t !== undefined) {
        this.emit(t);
        return true;
      }
      return false;
    }
  }

  /** Whether the next non-space character is '(' (fill/fill_left/fill_right are keywords only then). */
  peekFollowedByLeftParen(): boolean {
    for (let p = this.pos; p < this.input.length; p++) {
      const r = this.input.charCodeAt(p);
      if (!isSpace(r)) return r === 0x28;
    }
    return false;
  }
}

function lexStatements(l: Lexer): StateFn | null {
  if (l.histogramState !== HistogramState.None) return lexHistogram;
  if (l.braceOpen) return lexInsideBraces;
  if (l.input.startsWith('#', l.pos)) return lexLineComment;

  const r = l.next();
  if (r === EOF) {
    if (l.parenDepth !== 0) return l.errorf('unclosed left parenthesis');
    if (l.bracketOpen) return l.errorf('unclosed left bracket');
    l.emit(T.EOF);
    return null;
  }
  switch (r) {
    case 0x2c: // ,
      l.emit(T.COMMA);
      return lexStatements;
    case 0x2a: // *
      l.emit(T.MUL);
      return lexStatements;
    case 0x2f: // /
      l.emit(T.DIV);
      return lexStatements;
    case 0x25: // %
      l.emit(T.MOD);
      return lexStatements;
    case 0x2b: // +
      l.emit(T.ADD);
      return lexStatements;
    case 0x2d: // -
      l.emit(T.SUB);
      return lexStatements;
    case 0x5e: // ^
      l.emit(T.POW);
      return lexStatements;
    case 0x3d: {
      // =
      const t = l.peek();
      if (t === 0x3d) {
        l.next();
        l.emit(T.EQLC);
      } else if (t === 0x7e) {
        return l.errorf(`unexpected character after '=': ${quoteRuneGo(t)}`);
      } else {
        l.emit(T.EQL);
      }
      return lexStatements;
    }
    case 0x21: {
      // !
      const t = l.next();
      if (t !== 0x3d) return l.errorf(`unexpected character after '!': ${quoteRuneGo(t)}`);
      l.emit(T.NEQ);
      return lexStatements;
    }
    case 0x3c: {
      // <
      const t = l.peek();
      if (t === 0x3d) {
        l.next();
        l.emit(T.LTE);
      } else if (t === 0x2f) {
        l.next();
        l.emit(T.TRIM_UPPER);
      } else {
        l.emit(T.LSS);
      }
      return lexStatements;
    }
    case 0x3e: {
      // >
      const t = l.peek();
      if (t === 0x3d) {
        l.next();
        l.emit(T.GTE);
      } else if (t === 0x2f) {
        l.next();
        l.emit(T.TRIM_LOWER);
      } else {
        l.emit(T.GTR);
      }
      return lexStatements;
    }
    case 0x22: // "
    case 0x27: // '
      l.stringOpen = r;
      return lexString;
    case 0x60: // `
      l.stringOpen = r;
      return lexRawString;
    case 0x28: // (
      l.emit(T.LEFT_PAREN);
      l.parenDepth++;
      return lexStatements;
    case 0x29: // )
      l.emit(T.RIGHT_PAREN);
      l.parenDepth--;
      if (l.parenDepth < 0) return l.errorf(`unexpected right parenthesis ${quoteRuneGo(r)}`);
      return lexStatements;
    case 0x7b: // {
      l.emit(T.LEFT_BRACE);
      l.braceOpen = true;
      return lexInsideBraces;
    case 0x5b: // [
      if (l.bracketOpen) return l.errorf(`unexpected left bracket ${quoteRuneGo(r)}`);
      l.gotColon = false;
      l.emit(T.LEFT_BRACKET);
      if (isSpace(l.peek())) skipSpaces(l);
      l.bracketOpen = true;
      return lexDurationExpr;
    case 0x5d: // ]
      if (!l.bracketOpen) return l.errorf(`unexpected right bracket ${quoteRuneGo(r)}`);
      l.emit(T.RIGHT_BRACKET);
      l.bracketOpen = false;
      return lexStatements;
    case 0x40: // @
      l.emit(T.AT);
      return lexStatements;
  }
  if (isSpace(r)) return lexSpace;
  if (isDigit(r) || (r === 0x2e && isDigit(l.peek()))) {
    l.backup();
    return lexNumberOrDuration;
  }
  if (isAlpha(r) || r === 0x3a) {
    if (!l.bracketOpen) {
      l.backup();
      return lexKeywordOrIdentifier;
    }
    if (r === 0x3a) {
      if (l.gotColon) return l.errorf(`unexpected colon ${quoteRuneGo(r)}`);
      l.emit(T.COLON);
      l.gotColon = true;
      return lexStatements;
    }
    if (isDurationKeywordStartChar(r) && l.scanDurationKeyword()) return lexStatements;
    return l.errorf(`unexpected character: ${quoteRuneGo(r)}, expected ${quoteRuneGo(0x3a)}`);
  }
  return l.errorf(`unexpected character: ${quoteRuneGo(r)}`);
}

function lexHistogram(l: Lexer): StateFn | null {
  switch (l.histogramState) {
    case HistogramState.Mul:
      l.histogramState = HistogramState.None;
      l.next();
      l.emit(T.TIMES);
      return lexValueSequence;
    case HistogramState.Add:
      l.histogramState = HistogramState.None;
      l.next();
      l.emit(T.ADD);
      return lexValueSequence;
    case HistogramState.Sub:
      l.histogramState = HistogramState.None;
      l.next();
      l.emit(T.SUB);
      return lexValueSequence;
  }
  if (l.bracketOpen) return lexBuckets;
  const r = l.next();
  if (isSpace(r)) {
    l.emit(T.SPACE);
    return lexSpace;
  }
  if (isAlpha(r)) {
    l.backup();
    return lexHistogramDescriptor;
  }
  if (r === 0x3a) {
    l.emit(T.COLON);
    return lexHistogram;
  }
  if (r === 0x2d) {
    l.emit(T.SUB);
    return lexHistogram;
  }
  if (isDigit(r)) {
    l.backup();
    return lexNumber;
  }
  if (r === 0x5b) {
    l.bracketOpen = true;
    l.gotColon = false;
    l.gotDuration = false;
    l.emit(T.LEFT_BRACKET);
    return lexBuckets;
  }
  if (r === 0x7d && l.peek() === 0x7d) {
    l.next();
    l.emit(T.CLOSE_HIST);
    switch (l.peek()) {
      case 0x78:
        l.histogramState = HistogramState.Mul;
        return lexHistogram;
      case 0x2b:
        l.histogramState = HistogramState.Add;
        return lexHistogram;
      case 0x2d:
        l.histogramState = HistogramState.Sub;
        return lexHistogram;
      default:
        l.histogramState = HistogramState.None;
        return lexValueSequence;
    }
  }
  return l.errorf(`histogram description incomplete unexpected: ${quoteRuneGo(r)}`);
}

function lexHistogramDescriptor(l: Lexer): StateFn | null {
  for (;;) {
    const r = l.next();
    if (isAlpha(r)) continue;
    l.backup();
    const word = l.input.slice(l.start, l.pos);
    const lw = word.toLowerCase();
    const desc = HISTOGRAM_DESC.get(lw);
    if (desc !== undefined) {
      if (l.peek() === 0x3a) {
        l.emit(desc);
        return lexHistogram;
      }
      return l.errorf('missing `:` for histogram descriptor');
    }
    if (KEYWORDS.get(lw) === T.NUMBER) {
      l.emit(T.NUMBER);
      return lexHistogram;
    }
    const hint = COUNTER_RESET_HINTS.get(lw);
    if (hint !== undefined) {
      l.emit(hint);
      return lexHistogram;
    }
    return l.errorf(`bad histogram descriptor found: ${quoteGo(word)}`);
  }
}

function lexBuckets(l: Lexer): StateFn | null {
  const r = l.next();
  if (isSpace(r)) {
    l.emit(T.SPACE);
    return lexSpace;
  }
  if (r === 0x2d) {
    l.emit(T.SUB);
    return lexNumber;
  }
  if (isDigit(r)) {
    l.backup();
    return lexNumber;
  }
  if (r === 0x5d) {
    l.bracketOpen = false;
    l.emit(T.RIGHT_BRACKET);
    return lexHistogram;
  }
  if (isAlpha(r)) {
    // Inf or NaN, read one letter per call.
    const word = l.input.slice(l.start, l.pos).toLowerCase();
    if (KEYWORDS.get(word) === T.NUMBER) {
      l.emit(T.NUMBER);
      return lexStatements;
    }
    return lexBuckets;
  }
  return l.errorf(`invalid character in buckets description: ${quoteRuneGo(r)}`);
}

function lexInsideBraces(l: Lexer): StateFn | null {
  if (l.input.startsWith('#', l.pos)) return lexLineComment;
  const r = l.next();
  if (r === EOF) return l.errorf('unexpected end of input inside braces');
  if (isSpace(r)) return lexSpace;
  if (isAlpha(r)) {
    l.backup();
    return lexIdentifier;
  }
  switch (r) {
    case 0x2c:
      l.emit(T.COMMA);
      return lexInsideBraces;
    case 0x22:
    case 0x27:
      l.stringOpen = r;
      return lexString;
    case 0x60:
      l.stringOpen = r;
      return lexRawString;
    case 0x3d:
      if (l.next() === 0x7e) {
        l.emit(T.EQL_REGEX);
      } else {
        l.backup();
        l.emit(T.EQL);
      }
      return lexInsideBraces;
    case 0x21: {
      const nr = l.next();
      if (nr === 0x7e) l.emit(T.NEQ_REGEX);
      else if (nr === 0x3d) l.emit(T.NEQ);
      else return l.errorf(`unexpected character after '!' inside braces: ${quoteRuneGo(nr)}`);
      return lexInsideBraces;
    }
    case 0x7b:
      return l.errorf(`unexpected left brace ${quoteRuneGo(r)}`);
    case 0x7d:
      l.emit(T.RIGHT_BRACE);
      l.braceOpen = false;
      return l.seriesDesc ? lexValueSequence : lexStatements;
  }
  return l.errorf(`unexpected character inside braces: ${quoteRuneGo(r)}`);
}

function lexValueSequence(l: Lexer): StateFn | null {
  if (l.histogramState !== HistogramState.None) return lexHistogram;
  const r = l.next();
  if (r === EOF) return lexStatements;
  if (r === 0x7b && l.peek() === 0x7b) {
    l.histogramState = HistogramState.Open;
    l.next();
    l.emit(T.OPEN_HIST);
    return lexHistogram;
  }
  if (isSpace(r)) {
    l.emit(T.SPACE);
    lexSpace(l);
  } else if (r === 0x2b) l.emit(T.ADD);
  else if (r === 0x2d) l.emit(T.SUB);
  else if (r === 0x78) l.emit(T.TIMES);
  else if (r === 0x5f) l.emit(T.BLANK);
  else if (isDigit(r) || (r === 0x2e && isDigit(l.peek()))) {
    l.backup();
    lexNumber(l);
  } else if (isAlpha(r)) {
    l.backup();
    return lexKeywordOrIdentifier; // invalid items are caught by the parser
  } else {
    return l.errorf(`unexpected character in series sequence: ${quoteRuneGo(r)}`);
  }
  return lexValueSequence;
}

/** Scans an escape sequence of a quoted string; the backslash has been read. */
function lexEscape(l: Lexer): StateFn | null {
  let n: number;
  let base: number;
  let max: number;
  let ch = l.next();
  switch (ch) {
    case 0x61:
    case 0x62:
    case 0x66:
    case 0x6e:
    case 0x72:
    case 0x74:
    case 0x76:
    case 0x5c:
    case l.stringOpen:
      return lexString;
    case 0x30:
    case 0x31:
    case 0x32:
    case 0x33:
    case 0x34:
    case 0x35:
    case 0x36:
    case 0x37:
      n = 3;
      base = 8;
      max = 255;
      break;
    case 0x78:
      ch = l.next();
      n = 2;
      base = 16;
      max = 255;
      break;
    case 0x75:
      ch = l.next();
      n = 4;
      base = 16;
      max = 0x10ffff;
      break;
    case 0x55:
      ch = l.next();
      n = 8;
      base = 16;
      max = 0x10ffff;
      break;
    case EOF:
      return l.errorf('escape sequence not terminated');
    default:
      return l.errorf(`unknown escape sequence ${formatRuneGo(ch)}`);
  }
  let x = 0;
  while (n > 0) {
    const d = digitVal(ch);
    if (d >= base) {
      if (ch === EOF) return l.errorf('escape sequence not terminated');
      return l.errorf(`illegal character ${formatRuneGo(ch)} in escape sequence`);
    }
    x = x * base + d;
    n--;
    if (n > 0) ch = l.next();
  }
  if (x > max || (x >= 0xd800 && x < 0xe000)) return l.errorf('escape sequence is an invalid Unicode code point');
  return lexString;
}

function skipSpaces(l: Lexer): void {
  while (isSpace(l.peek())) l.next();
  l.ignore();
}

function lexString(l: Lexer): StateFn | null {
  for (;;) {
    const r = l.next();
    if (r === 0x5c) return lexEscape;
    if (isRuneError(r)) return l.errorf('invalid UTF-8 rune');
    if (r === EOF || r === 0x0a) return l.errorf('unterminated quoted string');
    if (r === l.stringOpen) break;
  }
  l.emit(T.STRING);
  return lexStatements;
}

function lexRawString(l: Lexer): StateFn | null {
  for (;;) {
    const r = l.next();
    if (isRuneError(r)) return l.errorf('invalid UTF-8 rune');
    if (r === EOF) return l.errorf('unterminated raw string');
    if (r === l.stringOpen) break;
  }
  l.emit(T.STRING);
  return lexStatements;
}

function lexSpace(l: Lexer): StateFn | null {
  while (isSpace(l.peek())) l.next();
  l.ignore();
  return lexStatements;
}

function lexLineComment(l: Lexer): StateFn | null {
  l.pos += 1;
  let r = l.next();
  while (!isEndOfLine(r) && r !== EOF) r = l.next();
  l.backup();
  l.emit(T.COMMENT);
  return lexStatements;
}

function lexNumber(l: Lexer): StateFn | null {
  if (!l.scanNumber()) return l.errorf(`bad number syntax: ${quoteGo(l.input.slice(l.start, l.pos))}`);
  l.emit(T.NUMBER);
  return lexStatements;
}

function lexNumberOrDuration(l: Lexer): StateFn | null {
  if (l.scanNumber()) {
    l.emit(T.NUMBER);
    return lexStatements;
  }
  if (acceptRemainingDuration(l)) {
    l.backup();
    l.emit(T.DURATION);
    return lexStatements;
  }
  return l.errorf(`bad number or duration syntax: ${quoteGo(l.input.slice(l.start, l.pos))}`);
}

function acceptRemainingDuration(l: Lexer): boolean {
  if (!l.accept('smhdwy')) return false;
  l.accept('s'); // ms; bad units like "hs" are caught when the duration is parsed
  while (l.accept('0123456789')) {
    while (l.accept('0123456789')) {
      // digits
    }
    if (!l.accept('smhdw')) return false; // y must come first
    l.accept('s');
  }
  return !isAlphaNumeric(l.next());
}

function lexIdentifier(l: Lexer): StateFn | null {
  while (isAlphaNumeric(l.next())) {
    // absorb
  }
  l.backup();
  l.emit(T.IDENTIFIER);
  return lexStatements;
}

function lexKeywordOrIdentifier(l: Lexer): StateFn | null {
  for (;;) {
    const r = l.next();
    if (isAlphaNumeric(r) || r === 0x3a) continue;
    l.backup();
    const word = l.input.slice(l.start, l.pos);
    const kw = KEYWORDS.get(word.toLowerCase());
    if (kw !== undefined) {
      // fill, fill_left and fill_right are keywords only before '(', so that they stay
      // usable as metric names ("fill + fill").
      if ((kw === T.FILL || kw === T.FILL_LEFT || kw === T.FILL_RIGHT) && !l.peekFollowedByLeftParen()) {
        l.emit(T.IDENTIFIER);
      } else {
        l.emit(kw);
      }
    } else if (!word.includes(':')) {
      l.emit(T.IDENTIFIER);
    } else {
      l.emit(T.METRIC_IDENTIFIER);
    }
    break;
  }
  if (l.seriesDesc && l.peek() !== 0x7b) return lexValueSequence;
  return lexStatements;
}

function lexDurationExpr(l: Lexer): StateFn | null {
  const r = l.next();
  if (r === EOF) return l.errorf('unexpected end of input in duration expression');
  switch (r) {
    case 0x5d:
      l.emit(T.RIGHT_BRACKET);
      l.bracketOpen = false;
      l.gotColon = false;
      return lexStatements;
    case 0x3a:
      l.emit(T.COLON);
      if (!l.gotDuration) return l.errorf('unexpected colon before duration in duration expression');
      if (l.gotColon) return l.errorf('unexpected repeated colon in duration expression');
      l.gotColon = true;
      return lexDurationExpr;
    case 0x28:
      l.emit(T.LEFT_PAREN);
      l.parenDepth++;
      return lexDurationExpr;
    case 0x29:
      l.emit(T.RIGHT_PAREN);
      l.parenDepth--;
      if (l.parenDepth < 0) return l.errorf(`unexpected right parenthesis ${quoteRuneGo(r)}`);
      return lexDurationExpr;
    case 0x2b:
      l.emit(T.ADD);
      return lexDurationExpr;
    case 0x2d:
      l.emit(T.SUB);
      return lexDurationExpr;
    case 0x2a:
      l.emit(T.MUL);
      return lexDurationExpr;
    case 0x2f:
      l.emit(T.DIV);
      return lexDurationExpr;
    case 0x25:
      l.emit(T.MOD);
      return lexDurationExpr;
    case 0x5e:
      l.emit(T.POW);
      return lexDurationExpr;
    case 0x2c:
      l.emit(T.COMMA);
      return lexDurationExpr;
  }
  if (isSpace(r)) {
    skipSpaces(l);
    return lexDurationExpr;
  }
  if (isDurationKeywordStartChar(r)) {
    if (l.scanDurationKeyword()) return lexDurationExpr;
    return l.errorf(`unexpected character in duration expression: ${quoteRuneGo(r)}`);
  }
  if (isDigit(r) || (r === 0x2e && isDigit(l.peek()))) {
    l.backup();
    l.gotDuration = true;
    return lexNumberOrDuration;
  }
  return l.errorf(`unexpected character in duration expression: ${quoteRuneGo(r)}`);
}
