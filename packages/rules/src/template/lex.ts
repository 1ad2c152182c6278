// The lexer of Go's text/template (text/template/parse/lex.go, Go 1.19): items with their
// position and line, trim markers `{{- ` / ` -}}`, comments, newlines inside actions.
// Errors are items too (ItemType.Error) so that the parser reports them where it meets
// them, as Go does ("unexpected unclosed action in command").

import { quoteGo } from '@thanos-ts/promql';
import { formatRune } from './go-fmt.js';

export const enum ItemType {
  Error,
  Bool,
  Char,
  CharConstant,
  Complex,
  Assign,
  Declare,
  EOF,
  Field,
  Identifier,
  LeftDelim,
  LeftParen,
  Number,
  Pipe,
  RawString,
  RightDelim,
  RightParen,
  Space,
  String,
  Text,
  Variable,
  // Keywords appear after all the rest.
  Keyword,
  Block,
  Break,
  Continue,
  Dot,
  Define,
  Else,
  End,
  If,
  Nil,
  Range,
  Template,
  With,
}

export interface Item {
  typ: ItemType;
  /** Offset in the input (UTF-16 units). */
  pos: number;
  val: string;
  line: number;
}

const KEYWORDS: Record<string, ItemType> = {
  '.': ItemType.Dot,
  block: ItemType.Block,
  break: ItemType.Break,
  continue: ItemType.Continue,
  define: ItemType.Define,
  else: ItemType.Else,
  end: ItemType.End,
  if: ItemType.If,
  range: ItemType.Range,
  nil: ItemType.Nil,
  template: ItemType.Template,
  with: ItemType.With,
};

const LEFT_DELIM = '{{';
const RIGHT_DELIM = '}}';
const LEFT_COMMENT = '/*';
const RIGHT_COMMENT = '*/';
const SPACE_CHARS = ' \t\r\n';

/** How Go prints an item in "unexpected %s" errors. */
export function itemString(i: Item): string {
  if (i.typ === ItemType.EOF) return 'EOF';
  if (i.typ === ItemType.Error) return i.val;
  if (i.typ > ItemType.Keyword) return `<${i.val}>`;
  if ([...i.val].length > 10) return quoteGo([...i.val].slice(0, 10).join('')) + '...';
  return quoteGo(i.val);
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

function isAlphaNumeric(c: string): boolean {
  return c === '_' || /^[\p{L}\p{Nd}]$/u.test(c);
}

function hasLeftTrimMarker(s: string, at: number): boolean {
  return s.length >= at + 2 && s[at] === '-' && isSpace(s[at + 1]);
}

function hasRightTrimMarker(s: string, at: number): boolean {
  return s.length >= at + 2 && isSpace(s[at]) && s[at + 1] === '-';
}

/** Lexes the whole input up to EOF or the first error. */
export function lex(input: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  let start = 0;
  let parenDepth = 0;
  const lineAt = makeLineIndex(input);

  const emit = (typ: ItemType): void => {
    items.push({ typ, pos: start, val: input.slice(start, pos), line: lineAt(start) });
    start = pos;
  };
  const error = (msg: string): void => {
    items.push({ typ: ItemType.Error, pos: start, val: msg, line: lineAt(start) });
  };
  const peekCp = (): string => {
    if (pos >= input.length) return '';
    const cp = input.codePointAt(pos)!;
    return String.fromCodePoint(cp);
  };
  const atTerminator = (): boolean => {
    const r = peekCp();
    if (r === '' || isSpace(r)) return true;
    if ('.,|:)('.includes(r)) return true;
    return input.startsWith(RIGHT_DELIM, pos);
  };
  const atRightDelim = (): { delim: boolean; trim: boolean } => {
    if (hasRightTrimMarker(input, pos) && input.startsWith(RIGHT_DELIM, pos + 2)) return { delim: true, trim: true };
    if (input.startsWith(RIGHT_DELIM, pos)) return { delim: true, trim: false };
    return { delim: false, trim: false };
  };
  const leftTrimLength = (from: number): number => {
    let i = from;
    while (i < input.length && SPACE_CHARS.includes(input[i])) i++;
    return i - from;
  };

  // Returns false when lexing must stop (EOF or error emitted).
  const lexText = (): 'action' | 'done' => {
    const x = input.indexOf(LEFT_DELIM, pos);
    if (x < 0) {
      pos = input.length;
      if (pos > start) emit(ItemType.Text);
      emit(ItemType.EOF);
      return 'done';
    }
    {
      pos = x;
      let trim = 0;
      if (hasLeftTrimMarker(input, pos + LEFT_DELIM.length)) {
        let j = pos;
        while (j > start && SPACE_CHARS.includes(input[j - 1])) j--;
        trim = pos - j;
      }
      pos -= trim;
      if (pos > start) emit(ItemType.Text);
      pos += trim;
      start = pos;
    }
    // Left delimiter, possibly with a trim marker, possibly opening a comment.
    pos += LEFT_DELIM.length;
    const trimSpace = hasLeftTrimMarker(input, pos);
    const after = trimSpace ? 2 : 0;
    if (input.startsWith(LEFT_COMMENT, pos + after)) {
      pos += after;
      start = pos;
      pos += LEFT_COMMENT.length;
      const i = input.indexOf(RIGHT_COMMENT, pos);
      if (i < 0) {
        error('unclosed comment');
        return 'done';
      }
      pos = i + RIGHT_COMMENT.length;
      const { delim, trim } = atRightDelim();
      if (!delim) {
        error('comment ends before closing delimiter');
        return 'done';
      }
      if (trim) pos += 2;
      pos += RIGHT_DELIM.length;
      if (trim) pos += leftTrimLength(pos);
      start = pos;
      return lexText();
    }
    emit(ItemType.LeftDelim);
    pos += after;
    start = pos;
    parenDepth = 0;
    return 'action';
  };

  // Lexes inside an action until its right delimiter; false on error.
  const lexInsideAction = (): boolean => {
    for (;;) {
      const { delim, trim } = atRightDelim();
      if (delim) {
        if (parenDepth !== 0) {
          error('unclosed left paren');
          return false;
        }
        if (trim) {
          pos += 2;
          start = pos;
        }
        pos += RIGHT_DELIM.length;
        emit(ItemType.RightDelim);
        if (trim) {
          pos += leftTrimLength(pos);
          start = pos;
        }
        return true;
      }
      if (pos >= input.length) {
        error('unclosed action');
        return false;
      }
      const r = peekCp();
      pos += r.length;
      if (isSpace(r)) {
        // A run of spaces; leave " -}}" to the right delimiter.
        let n = 1;
        while (pos < input.length && isSpace(input[pos])) {
          pos++;
          n++;
        }
        if (hasRightTrimMarker(input, pos - 1) && input.startsWith(RIGHT_DELIM, pos + 1)) {
          pos--;
          if (n === 1) continue;
        }
        emit(ItemType.Space);
        continue;
      }
      switch (r) {
        case '=':
          emit(ItemType.Assign);
          continue;
        case ':':
          if (input[pos] !== '=') {
            if (pos < input.length) pos++;
            error('expected :=');
            return false;
          }
          pos++;
          emit(ItemType.Declare);
          continue;
        case '|':
          emit(ItemType.Pipe);
          continue;
        case '"': {
          for (;;) {
            const c = input[pos++];
            if (c === '\\') {
              const d = input[pos++];
              if (d !== undefined && d !== '\n') continue;
            }
            if (c === undefined || c === '\n' || c === '\\') {
              error('unterminated quoted string');
              return false;
            }
            if (c === '"') break;
          }
          emit(ItemType.String);
          continue;
        }
        case '`': {
          const i = input.indexOf('`', pos);
          if (i < 0) {
            error('unterminated raw quoted string');
            return false;
          }
          pos = i + 1;
          emit(ItemType.RawString);
          continue;
        }
        case '$':
          if (atTerminator()) {
            emit(ItemType.Variable);
            continue;
          }
          if (!lexFieldOrVariable(ItemType.Variable)) return false;
          continue;
        case "'": {
          for (;;) {
            const c = input[pos++];
            if (c === '\\') {
              const d = input[pos++];
              if (d !== undefined && d !== '\n') continue;
            }
            if (c === undefined || c === '\n' || c === '\\') {
              error('unterminated character constant');
              return false;
            }
            if (c === "'") break;
          }
          emit(ItemType.CharConstant);
          continue;
        }
        case '(':
          parenDepth++;
          emit(ItemType.LeftParen);
          continue;
        case ')':
          // Go emits the paren before complaining about it.
          parenDepth--;
          emit(ItemType.RightParen);
          if (parenDepth < 0) {
            error(`unexpected right paren ${formatRune(0x29)}`);
            return false;
          }
          continue;
      }
      if (r === '.' && pos < input.length && !(input[pos] >= '0' && input[pos] <= '9')) {
        if (!lexFieldOrVariable(ItemType.Field)) return false;
        continue;
      }
      if (r === '.' || r === '+' || r === '-' || (r >= '0' && r <= '9')) {
        pos -= r.length;
        if (!lexNumber()) return false;
        continue;
      }
      if (isAlphaNumeric(r)) {
        while (pos < input.length && isAlphaNumeric(peekCp())) pos += peekCp().length;
        const word = input.slice(start, pos);
        if (!atTerminator()) {
          error(`bad character ${formatRune(input.codePointAt(pos)!)}`);
          return false;
        }
        const kw = KEYWORDS[word];
        if (kw !== undefined) emit(kw);
        else if (word === 'true' || word === 'false') emit(ItemType.Bool);
        else emit(ItemType.Identifier);
        continue;
      }
      const cp = r.codePointAt(0)!;
      if (cp <= 0x7f && cp >= 0x20 && cp !== 0x7f) {
        emit(ItemType.Char);
        continue;
      }
      error(`unrecognized character in action: ${formatRune(cp)}`);
      return false;
    }
  };

  const lexFieldOrVariable = (typ: ItemType): boolean => {
    if (atTerminator()) {
      emit(typ === ItemType.Variable ? ItemType.Variable : ItemType.Dot);
      return true;
    }
    while (pos < input.length && isAlphaNumeric(peekCp())) pos += peekCp().length;
    if (!atTerminator()) {
      error(`bad character ${formatRune(input.codePointAt(pos)!)}`);
      return false;
    }
    emit(typ);
    return true;
  };

  const accept = (valid: string): boolean => {
    if (pos < input.length && valid.includes(input[pos])) {
      pos++;
      return true;
    }
    return false;
  };
  const acceptRun = (valid: string): void => {
    while (pos < input.length && valid.includes(input[pos])) pos++;
  };
  const scanNumber = (): boolean => {
    accept('+-');
    let digits = '0123456789_';
    if (accept('0')) {
      if (accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (accept('oO')) digits = '01234567_';
      else if (accept('bB')) digits = '01_';
    }
    acceptRun(digits);
    if (accept('.')) acceptRun(digits);
    if (digits.length === 11 && accept('eE')) {
      accept('+-');
      acceptRun('0123456789_');
    }
    if (digits.length === 23 && accept('pP')) {
      accept('+-');
      acceptRun('0123456789_');
    }
    accept('i');
    if (pos < input.length && isAlphaNumeric(peekCp())) {
      pos += peekCp().length;
      return false;
    }
    return true;
  };
  const lexNumber = (): boolean => {
    if (!scanNumber()) {
      error(`bad number syntax: ${quoteGo(input.slice(start, pos))}`);
      return false;
    }
    const sign = input[pos];
    if (sign === '+' || sign === '-') {
      if (!scanNumber() || input[pos - 1] !== 'i') {
        error(`bad number syntax: ${quoteGo(input.slice(start, pos))}`);
        return false;
      }
      emit(ItemType.Complex);
    } else emit(ItemType.Number);
    return true;
  };

  for (;;) {
    if (lexText() === 'done') return items;
    if (!lexInsideAction()) return items;
  }
}

/** Maps an offset to its 1-based line number. */
export function makeLineIndex(input: string): (pos: number) => number {
  const starts: number[] = [];
  for (let i = input.indexOf('\n'); i >= 0; i = input.indexOf('\n', i + 1)) starts.push(i);
  return (pos: number): number => {
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] < pos) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
}
