// RE2 (Go regexp/syntax, Perl flags) → JavaScript RegExp translation.
//
// Prometheus label matchers use Go's RE2 dialect. JavaScript's RegExp accepts a different
// language: it has lookarounds and backreferences RE2 rejects, lacks POSIX classes, \z,
// \Q…\E and inline flag groups, and reads `\s`, `{` and `]` differently. So we parse the
// RE2 syntax ourselves (following regexp/syntax/parse.go: same errors, same flag scoping,
// same quirks such as `{` being a literal when it is not a valid repeat), build a small
// syntax tree, and emit a JavaScript source that always runs with the `u` flag (so `.`
// and classes work on code points like Go's runes) and the `s` flag where `.` may match
// a newline. The tree is also what the fast paths in fast-regex.ts inspect.
//
// Known approximations (none affects patterns seen in practice):
// - `\b`/`\B` inside a fully case-insensitive pattern use JavaScript's /iu word set,
//   which also counts U+017F and U+212A as word characters (Go: ASCII only). re2js: as Go.
// - Unicode property classes (`\pL`, `\p{Greek}`) inside a `(?i:…)` group of an
//   otherwise case-sensitive pattern are not case-folded. re2js: folded, as Go.
// - A negated property under (?i) (`(?i)\PL`) is folded after negation, on both engines;
//   Go folds first. That differs only for the few non-letters that fold to a letter
//   (U+0345 folds to ι: Go's `(?i)\PL` matches neither, ours both).
//
// JavaScript's engine backtracks: `(a+)+b` takes exponential time where RE2 is linear. So
// user regexes run here only when backtrack-safety.ts proves the tree safe; every other
// one runs on re2js, fed a pattern re-emitted from the same tree (see compiled-regexp.ts).

/** A regex RE2 would reject, with Go's message: `error parsing regexp: <code>: \`<expr>\``. */
export class RegexpSyntaxError extends Error {
  override readonly name = 'RegexpSyntaxError';
  constructor(
    readonly code: string,
    readonly expr: string,
  ) {
    super(`error parsing regexp: ${code}: \`${expr}\``);
  }
}

const ERR_INVALID_CHAR_RANGE = 'invalid character class range';
const ERR_INVALID_ESCAPE = 'invalid escape sequence';
const ERR_INVALID_NAMED_CAPTURE = 'invalid named capture';
const ERR_INVALID_PERL_OP = 'invalid or unsupported Perl syntax';
const ERR_INVALID_REPEAT_OP = 'invalid nested repetition operator';
const ERR_INVALID_REPEAT_SIZE = 'invalid repeat count';
const ERR_MISSING_BRACKET = 'missing closing ]';
const ERR_MISSING_PAREN = 'missing closing )';
const ERR_MISSING_REPEAT_ARG = 'missing argument to repetition operator';
const ERR_TRAILING_BACKSLASH = 'trailing backslash at end of expression';
const ERR_UNEXPECTED_PAREN = 'unexpected )';
const ERR_NESTING_DEPTH = 'expression nests too deeply';

export const MAX_RUNE = 0x10ffff;
const MAX_HEIGHT = 1000;

// Parser flags, as in regexp/syntax. Prometheus parses with Perl|DotNL: OneLine is on
// (^ and $ anchor the text), `.` matches newlines.
const FOLD = 1;
const DOT_NL = 2;
const ONE_LINE = 4;
const NON_GREEDY = 8;
const INITIAL_FLAGS = DOT_NL | ONE_LINE;

/** Syntax tree of a parsed RE2 regex. Groups are structural: they leave no node behind. */
export type ReNode =
  /** A literal string (one or more code points); `fold` = case-insensitive. */
  | { op: 'lit'; text: string; fold: boolean }
  /**
   * A character class: sorted, merged code point ranges [lo0, hi0, lo1, hi1, …] plus
   * Unicode property escapes in JavaScript syntax (`\p{L}`), negated as a whole when
   * `negated`. Ranges are already case-folded when `fold`.
   */
  | { op: 'class'; ranges: number[]; props: string[]; negated: boolean; fold: boolean }
  /** `.`; `nl` = also matches `\n`. */
  | { op: 'any'; nl: boolean }
  | { op: 'beginText' | 'endText' | 'beginLine' | 'endLine' | 'wordBoundary' | 'noWordBoundary' }
  | { op: 'empty' }
  | { op: 'concat'; subs: ReNode[] }
  | { op: 'alt'; subs: ReNode[] }
  /** max = -1 means unbounded. `counted` = written as {n,m} (matters for RE2's size check). */
  | { op: 'repeat'; sub: ReNode; min: number; max: number; greedy: boolean; counted: boolean }
  /** A capturing group; only produced when parsing with `captures` (matching ignores them). */
  | { op: 'capture'; sub: ReNode; name: string };

// ---------------------------------------------------------------------------------------
// Character sets.

/** Perl classes (ASCII, as in RE2). */
const PERL_GROUPS: Record<string, [number, number[]]> = {
  '\\d': [1, [0x30, 0x39]],
  '\\D': [-1, [0x30, 0x39]],
  '\\s': [1, [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20]],
  '\\S': [-1, [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20]],
  '\\w': [1, [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a]],
  '\\W': [-1, [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a]],
};

const POSIX_CLASSES: Record<string, number[]> = {
  alnum: [0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a],
  alpha: [0x41, 0x5a, 0x61, 0x7a],
  ascii: [0x00, 0x7f],
  blank: [0x09, 0x09, 0x20, 0x20],
  cntrl: [0x00, 0x1f, 0x7f, 0x7f],
  digit: [0x30, 0x39],
  graph: [0x21, 0x7e],
  lower: [0x61, 0x7a],
  print: [0x20, 0x7e],
  punct: [0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e],
  space: [0x09, 0x0d, 0x20, 0x20],
  upper: [0x41, 0x5a],
  word: [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a],
  xdigit: [0x30, 0x39, 0x41, 0x46, 0x61, 0x66],
};

// Go's unicode.Categories. Go's "C" excludes unassigned code points (Cn), JavaScript's
// includes them, so it is spelled out.
const GO_CATEGORIES = new Set(
  'Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(' '),
);

/** Sorts and merges ranges in place semantics (returns a new array). */
export function cleanRanges(r: number[]): number[] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < r.length; i += 2) pairs.push([r[i], r[i + 1]]);
  pairs.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    if (n > 0 && lo <= out[n - 1] + 1) {
      if (hi > out[n - 1]) out[n - 1] = hi;
    } else out.push(lo, hi);
  }
  return out;
}

export function negateRanges(r: number[]): number[] {
  const c = cleanRanges(r);
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < c.length; i += 2) {
    if (c[i] > next) out.push(next, c[i] - 1);
    next = c[i + 1] + 1;
  }
  if (next <= MAX_RUNE) out.push(next, MAX_RUNE);
  return out;
}

// Case-folding orbits (the sets of code points RE2 and /iu treat as equal), built on
// first use (~60 ms) from the single-code-point String#toLowerCase/toUpperCase mappings
// that the engine's own /iu folding confirms: k ~ K ~ U+212A,
// s ~ S ~ U+017F, σ ~ ς ~ Σ, … Only needed for (?i) in a partly case-sensitive pattern
// and for negated classes under (?i).
let orbitTable: { keys: Int32Array; orbit: Map<number, number[]> } | null = null;

function foldOrbits(): { keys: Int32Array; orbit: Map<number, number[]> } {
  if (orbitTable) return orbitTable;
  const parent = new Map<number, number>();
  const find = (x: number): number => {
    let r = x;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r)!;
    return r;
  };
  const union = (a: number, b: number): void => {
    if (!parent.has(a)) parent.set(a, a);
    if (!parent.has(b)) parent.set(b, b);
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra, rb);
  };
  // Cased letters end below U+1F000 (Adlam is the last cased script).
  for (let cp = 0x41; cp < 0x1f000; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const s = String.fromCodePoint(cp);
    for (const t of [s.toLowerCase(), s.toUpperCase()]) {
      if (t === s) continue;
      const tc = t.codePointAt(0)!;
      // Keep only pairs simple case folding relates (what /iu and RE2 use): İ→i̇ is
      // not a single code point, ı→I is a Turkic special case, not a fold.
      if (t.length === (tc > 0xffff ? 2 : 1) && new RegExp(`^\\u{${cp.toString(16)}}$`, 'iu').test(t)) union(cp, tc);
    }
  }
  const groups = new Map<number, number[]>();
  for (const cp of parent.keys()) {
    const r = find(cp);
    let g = groups.get(r);
    if (!g) groups.set(r, (g = []));
    g.push(cp);
  }
  const orbit = new Map<number, number[]>();
  for (const g of groups.values()) {
    g.sort((a, b) => a - b);
    for (const cp of g) orbit.set(cp, g);
  }
  const keys = Int32Array.from([...orbit.keys()].sort((a, b) => a - b));
  orbitTable = { keys, orbit };
  return orbitTable;
}

/** Adds the case variants of every code point in the ranges. */
function foldRanges(r: number[]): number[] {
  const { keys, orbit } = foldOrbits();
  const out = r.slice();
  for (let i = 0; i < r.length; i += 2) {
    const lo = r[i];
    const hi = r[i + 1];
    // Binary search for the first key >= lo.
    let a = 0;
    let b = keys.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (keys[m] < lo) a = m + 1;
      else b = m;
    }
    for (let k = a; k < keys.length && keys[k] <= hi; k++) {
      for (const cp of orbit.get(keys[k])!) out.push(cp, cp);
    }
  }
  return cleanRanges(out);
}

// ---------------------------------------------------------------------------------------
// Parser.

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function unhex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

function cpLen(cp: number): number {
  return cp > 0xffff ? 2 : 1;
}

class Parser {
  pos = 0;
  private readonly src: string;
  private readonly captures: boolean;

  constructor(src: string, captures: boolean) {
    this.src = src;
    this.captures = captures;
  }

  private peek(off = 0): number {
    const i = this.pos + off;
    return i < this.src.length ? this.src.codePointAt(i)! : -1;
  }

  parse(): ReNode {
    const node = this.parseAlternation(INITIAL_FLAGS, 0);
    if (this.pos < this.src.length) {
      // Only a ')' stops the top-level alternation early.
      throw new RegexpSyntaxError(ERR_UNEXPECTED_PAREN, this.src);
    }
    return node;
  }

  /** Parses up to an unmatched ')' or the end. Flags changed by (?i) last until then. */
  private parseAlternation(flags: number, depth: number): ReNode {
    if (depth > MAX_HEIGHT) throw new RegexpSyntaxError(ERR_NESTING_DEPTH, this.src);
    const src = this.src;
    const branches: ReNode[] = [];
    let items: ReNode[] = [];
    // Start of the repetition operator just parsed, or -1: RE2 rejects `a**`.
    let lastRepeat = -1;
    while (this.pos < src.length) {
      const c = src.charCodeAt(this.pos);
      let repeatStart = -1;
      switch (c) {
        case 0x7c: // |
          branches.push(makeConcat(items));
          items = [];
          this.pos++;
          break;
        case 0x29: // )
          branches.push(makeConcat(items));
          return makeAlt(branches);
        case 0x28: {
          // (
          if (src.charCodeAt(this.pos + 1) === 0x3f) {
            const r = this.parseGroupPrefix(flags);
            if (r.kind === 'flags') {
              flags = r.flags;
              break;
            }
            const body = this.parseGroupBody(r.flags, depth);
            items.push(r.kind === 'capture' && this.captures ? { op: 'capture', sub: body, name: r.name } : body);
            break;
          }
          this.pos++;
          const body = this.parseGroupBody(flags, depth);
          items.push(this.captures ? { op: 'capture', sub: body, name: '' } : body);
          break;
        }
        case 0x5e: // ^
          items.push({ op: flags & ONE_LINE ? 'beginText' : 'beginLine' });
          this.pos++;
          break;
        case 0x24: // $
          items.push({ op: flags & ONE_LINE ? 'endText' : 'endLine' });
          this.pos++;
          break;
        case 0x2e: // .
          items.push({ op: 'any', nl: (flags & DOT_NL) !== 0 });
          this.pos++;
          break;
        case 0x5b: // [
          items.push(this.parseClass(flags));
          break;
        case 0x2a: // *
        case 0x2b: // +
        case 0x3f: {
          // ?
          repeatStart = this.pos;
          this.pos++;
          const min = c === 0x2b ? 1 : 0;
          const max = c === 0x3f ? 1 : -1;
          this.applyRepeat(items, flags, min, max, false, repeatStart, lastRepeat);
          break;
        }
        case 0x7b: {
          // {
          const r = this.parseRepeatCount();
          if (!r) {
            // Not a valid repeat: `{` is a literal.
            items.push({ op: 'lit', text: '{', fold: (flags & FOLD) !== 0 });
            this.pos++;
            break;
          }
          repeatStart = this.pos;
          if (r.min < 0 || r.min > 1000 || r.max > 1000 || (r.max >= 0 && r.min > r.max)) {
            throw new RegexpSyntaxError(ERR_INVALID_REPEAT_SIZE, src.slice(this.pos, r.end));
          }
          this.pos = r.end;
          this.applyRepeat(items, flags, r.min, r.max, true, repeatStart, lastRepeat);
          break;
        }
        case 0x5c: {
          // backslash
          const n = this.parseBackslash(flags);
          if (Array.isArray(n)) items.push(...n);
          else items.push(n);
          break;
        }
        default: {
          const cp = src.codePointAt(this.pos)!;
          items.push({ op: 'lit', text: String.fromCodePoint(cp), fold: (flags & FOLD) !== 0 });
          this.pos += cpLen(cp);
        }
      }
      lastRepeat = repeatStart;
    }
    branches.push(makeConcat(items));
    return makeAlt(branches);
  }

  private applyRepeat(
    items: ReNode[],
    flags: number,
    min: number,
    max: number,
    counted: boolean,
    start: number,
    lastRepeat: number,
  ): void {
    let greedy = (flags & NON_GREEDY) === 0;
    if (this.src.charCodeAt(this.pos) === 0x3f) {
      this.pos++;
      greedy = !greedy;
    }
    if (lastRepeat >= 0) {
      throw new RegexpSyntaxError(ERR_INVALID_REPEAT_OP, this.src.slice(lastRepeat, this.pos));
    }
    if (items.length === 0) {
      throw new RegexpSyntaxError(ERR_MISSING_REPEAT_ARG, this.src.slice(start, this.pos));
    }
    const node: ReNode = { op: 'repeat', sub: items[items.length - 1], min, max, greedy, counted };
    if (counted && (min >= 2 || max >= 2) && !repeatIsValid(node, 1000)) {
      throw new RegexpSyntaxError(ERR_INVALID_REPEAT_SIZE, this.src.slice(start, this.pos));
    }
    items[items.length - 1] = node;
  }

  /** Parses {n}, {n,} or {n,m} at pos without consuming; null if it is not one. */
  private parseRepeatCount(): { min: number; max: number; end: number } | null {
    const src = this.src;
    let i = this.pos + 1;
    const num = (): number | null => {
      const start = i;
      if (i >= src.length || src.charCodeAt(i) < 0x30 || src.charCodeAt(i) > 0x39) return null;
      // Leading zeros are not allowed.
      if (src.charCodeAt(i) === 0x30 && i + 1 < src.length && src.charCodeAt(i + 1) >= 0x30 && src.charCodeAt(i + 1) <= 0x39) {
        return null;
      }
      while (i < src.length && src.charCodeAt(i) >= 0x30 && src.charCodeAt(i) <= 0x39) i++;
      const digits = src.slice(start, i);
      return digits.length > 8 ? -1 : Number(digits);
    };
    let min = num();
    if (min === null || i >= src.length) return null;
    let max: number;
    if (src.charCodeAt(i) !== 0x2c) {
      max = min;
    } else {
      i++;
      if (i >= src.length) return null;
      if (src.charCodeAt(i) === 0x7d) max = -1;
      else {
        const m = num();
        if (m === null) return null;
        max = m;
        if (m < 0) min = -1; // too big: reported as an invalid count

      }
    }
    if (i >= src.length || src.charCodeAt(i) !== 0x7d) return null;
    return { min, max, end: i + 1 };
  }

  /**
   * Parses `(?…` up to and including `:` or `)`. Returns the new flags and whether a group
   * body follows (`(?i:`, `(?P<n>`) or only the flags changed (`(?i)`).
   */
  private parseGroupPrefix(flags: number): { kind: 'flags' | 'group' | 'capture'; flags: number; name: string } {
    const src = this.src;
    const start = this.pos;
    const rest = src.slice(start);
    // Lookarounds are valid JavaScript but not RE2: say so plainly.
    for (const la of ['(?=', '(?!', '(?<=', '(?<!']) {
      if (rest.startsWith(la)) throw new RegexpSyntaxError(ERR_INVALID_PERL_OP, la);
    }
    // Named captures: (?P<name>re) and (?<name>re).
    const startsWithP = rest.length > 4 && rest[2] === 'P' && rest[3] === '<';
    const startsWithName = rest.length > 3 && rest[2] === '<';
    if (startsWithP || startsWithName) {
      const end = rest.indexOf('>');
      if (end < 0) throw new RegexpSyntaxError(ERR_INVALID_NAMED_CAPTURE, rest);
      const name = rest.slice(startsWithP ? 4 : 3, end);
      if (!/^[A-Za-z0-9_]+$/.test(name)) throw new RegexpSyntaxError(ERR_INVALID_NAMED_CAPTURE, rest.slice(0, end + 1));
      this.pos = start + end + 1;
      return { kind: 'capture', flags, name };
    }
    let i = start + 2;
    let f = flags;
    let sign = 1;
    let sawFlag = false;
    while (i < src.length) {
      const c = src[i++];
      switch (c) {
        case 'i':
        case 'm':
        case 's':
        case 'U': {
          const bit = c === 'i' ? FOLD : c === 'm' ? ONE_LINE : c === 's' ? DOT_NL : NON_GREEDY;
          // `m` clears OneLine; the others set their flag. A '-' inverts both.
          const set = (c === 'm' ? -1 : 1) * sign > 0;
          f = set ? f | bit : f & ~bit;
          sawFlag = true;
          continue;
        }
        case '-':
          if (sign < 0) break;
          sign = -1;
          sawFlag = false;
          continue;
        case ':':
        case ')':
          if (sign < 0 && !sawFlag) break;
          this.pos = i;
          return { kind: c === ':' ? 'group' : 'flags', flags: f, name: '' };
        default:
          break;
      }
      break;
    }
    throw new RegexpSyntaxError(ERR_INVALID_PERL_OP, src.slice(start, i));
  }

  /** Parses a group body after its opening; consumes the closing ')'. */
  private parseGroupBody(flags: number, depth: number): ReNode {
    const node = this.parseAlternation(flags, depth + 1);
    if (this.pos >= this.src.length) throw new RegexpSyntaxError(ERR_MISSING_PAREN, this.src);
    this.pos++; // )
    return node;
  }

  /** Parses an escape outside a class; `\Q…\E` yields one literal node per character. */
  private parseBackslash(flags: number): ReNode | ReNode[] {
    const src = this.src;
    const fold = (flags & FOLD) !== 0;
    const c1 = src[this.pos + 1];
    switch (c1) {
      case 'A':
        this.pos += 2;
        return { op: 'beginText' };
      case 'z':
        this.pos += 2;
        return { op: 'endText' };
      case 'b':
        this.pos += 2;
        return { op: 'wordBoundary' };
      case 'B':
        this.pos += 2;
        return { op: 'noWordBoundary' };
      case 'C':
        throw new RegexpSyntaxError(ERR_INVALID_ESCAPE, '\\C');
      case 'Q': {
        // \Q…\E: everything up to \E (or the end) is literal.
        const end = src.indexOf('\\E', this.pos + 2);
        const lit = src.slice(this.pos + 2, end < 0 ? src.length : end);
        this.pos = end < 0 ? src.length : end + 2;
        return [...lit].map((ch): ReNode => ({ op: 'lit', text: ch, fold }));
      }
      case 'p':
      case 'P': {
        const cls: ClassBuilder = { ranges: [], props: [] };
        this.parseUnicodeClass(cls);
        return finishClass(cls, false, fold);
      }
      case 'd':
      case 'D':
      case 's':
      case 'S':
      case 'w':
      case 'W': {
        const cls: ClassBuilder = { ranges: [], props: [] };
        addGroup(cls, PERL_GROUPS['\\' + c1], fold);
        this.pos += 2;
        return finishClass(cls, false, fold);
      }
      default: {
        const cp = this.parseEscape();
        return { op: 'lit', text: String.fromCodePoint(cp), fold };
      }
    }
  }

  /** Parses a single-character escape at pos (which is a backslash); returns the code point. */
  private parseEscape(): number {
    const src = this.src;
    const start = this.pos;
    this.pos++;
    if (this.pos >= src.length) throw new RegexpSyntaxError(ERR_TRAILING_BACKSLASH, '');
    const c = src.codePointAt(this.pos)!;
    this.pos += cpLen(c);
    const isOct = (x: number): boolean => x >= 0x30 && x <= 0x37;
    const bad = (): RegexpSyntaxError => new RegexpSyntaxError(ERR_INVALID_ESCAPE, src.slice(start, this.pos));
    if (c < 0x80 && !isAlnum(c)) return c; // escaped punctuation is itself
    if (c >= 0x30 && c <= 0x37) {
      // \1-\7 alone is a backreference, which RE2 does not support; \0, \12, \101 are octal.
      if (c !== 0x30 && !isOct(this.peek())) throw bad();
      let r = c - 0x30;
      for (let i = 1; i < 3 && isOct(this.peek()); i++) {
        r = r * 8 + this.peek() - 0x30;
        this.pos++;
      }
      return r;
    }
    switch (c) {
      case 0x78: {
        // \x
        if (this.pos >= src.length) throw bad();
        const d = src.codePointAt(this.pos)!;
        this.pos += cpLen(d);
        if (d === 0x7b) {
          let r = 0;
          let n = 0;
          for (;;) {
            if (this.pos >= src.length) throw bad();
            const h = src.codePointAt(this.pos)!;
            this.pos += cpLen(h);
            if (h === 0x7d) break;
            const v = unhex(h);
            if (v < 0) throw bad();
            r = r * 16 + v;
            if (r > MAX_RUNE) throw bad();
            n++;
          }
          if (n === 0) throw bad();
          return r;
        }
        if (this.pos >= src.length) throw bad();
        const e = src.codePointAt(this.pos)!;
        this.pos += cpLen(e);
        const x = unhex(d);
        const y = unhex(e);
        if (x < 0 || y < 0) throw bad();
        return x * 16 + y;
      }
      case 0x61:
        return 0x07; // \a
      case 0x66:
        return 0x0c; // \f
      case 0x6e:
        return 0x0a; // \n
      case 0x72:
        return 0x0d; // \r
      case 0x74:
        return 0x09; // \t
      case 0x76:
        return 0x0b; // \v
      default:
        throw bad();
    }
  }

  /** Parses \pX, \p{Name}, \p{^Name}, \PX at pos into cls. */
  private parseUnicodeClass(cls: ClassBuilder): void {
    const src = this.src;
    const start = this.pos;
    let sign = src[start + 1] === 'P' ? -1 : 1;
    let name: string;
    let seq: string;
    if (src[start + 2] === '{') {
      const end = src.indexOf('}', start);
      if (end < 0) throw new RegexpSyntaxError(ERR_INVALID_CHAR_RANGE, src.slice(start));
      seq = src.slice(start, end + 1);
      name = src.slice(start + 3, end);
      this.pos = end + 1;
    } else {
      const cp = start + 2 < src.length ? src.codePointAt(start + 2)! : -1;
      const len = cp < 0 ? 0 : cpLen(cp);
      seq = src.slice(start, start + 2 + len);
      name = seq.slice(2);
      this.pos = start + 2 + len;
    }
    if (name.startsWith('^')) {
      sign = -sign;
      name = name.slice(1);
    }
    const neg = sign < 0;
    if (name === 'Any') {
      // \p{Any} is every code point; \P{Any} is none.
      if (!neg) cls.ranges.push(0, MAX_RUNE);
      return;
    }
    let props: string[];
    if (name === 'C') props = ['Cc', 'Cf', 'Co', 'Cs'];
    else if (GO_CATEGORIES.has(name)) props = [name];
    else if (/^[A-Z][A-Za-z_]+$/.test(name) && isScript(name)) props = [`Script=${name}`];
    else throw new RegexpSyntaxError(ERR_INVALID_CHAR_RANGE, seq);
    if (neg && props.length > 1) {
      // \PC cannot be written as one escape and classes do not nest, so list the
      // complementary categories instead.
      cls.props.push(...['L', 'M', 'N', 'P', 'S', 'Z', 'Cn'].map((p) => `\\p{${p}}`));
      return;
    }
    cls.props.push(...props.map((p) => `\\${neg ? 'P' : 'p'}{${p}}`));
  }

  private parseClass(flags: number): ReNode {
    const src = this.src;
    const whole = src.slice(this.pos);
    const fold = (flags & FOLD) !== 0;
    this.pos++; // [
    let negated = false;
    if (src[this.pos] === '^') {
      negated = true;
      this.pos++;
    }
    const cls: ClassBuilder = { ranges: [], props: [] };
    let first = true;
    while (this.pos >= src.length || src[this.pos] !== ']' || first) {
      if (this.pos >= src.length) throw new RegexpSyntaxError(ERR_MISSING_BRACKET, whole);
      first = false;
      // POSIX [:alpha:] and [:^alpha:].
      if (src.startsWith('[:', this.pos) && this.pos + 2 < src.length) {
        const end = src.indexOf(':]', this.pos + 2);
        if (end >= 0) {
          const seq = src.slice(this.pos, end + 2);
          let name = seq.slice(2, -2);
          let sign = 1;
          if (name.startsWith('^')) {
            sign = -1;
            name = name.slice(1);
          }
          const r = Object.prototype.hasOwnProperty.call(POSIX_CLASSES, name) ? POSIX_CLASSES[name] : undefined;
          if (!r) throw new RegexpSyntaxError(ERR_INVALID_CHAR_RANGE, seq);
          addGroup(cls, [sign, r], fold);
          this.pos = end + 2;
          continue;
        }
      }
      if (src[this.pos] === '\\' && (src[this.pos + 1] === 'p' || src[this.pos + 1] === 'P')) {
        this.parseUnicodeClass(cls);
        continue;
      }
      if (src[this.pos] === '\\') {
        const g = PERL_GROUPS[src.slice(this.pos, this.pos + 2)];
        if (g) {
          addGroup(cls, g, fold);
          this.pos += 2;
          continue;
        }
      }
      const rangeStart = this.pos;
      const lo = this.parseClassChar(whole);
      let hi = lo;
      // [a-] means a or '-'.
      if (src[this.pos] === '-' && this.pos + 1 < src.length && src[this.pos + 1] !== ']') {
        this.pos++;
        hi = this.parseClassChar(whole);
        if (hi < lo) throw new RegexpSyntaxError(ERR_INVALID_CHAR_RANGE, src.slice(rangeStart, this.pos));
      }
      cls.ranges.push(lo, hi);
    }
    this.pos++; // ]
    return finishClass(cls, negated, fold);
  }

  private parseClassChar(whole: string): number {
    if (this.pos >= this.src.length) throw new RegexpSyntaxError(ERR_MISSING_BRACKET, whole);
    if (this.src[this.pos] === '\\') return this.parseEscape();
    const cp = this.src.codePointAt(this.pos)!;
    this.pos += cpLen(cp);
    return cp;
  }
}

interface ClassBuilder {
  ranges: number[];
  props: string[];
}

/** Adds a Perl or POSIX group; a negated one under (?i) is folded before negation, as RE2 does. */
function addGroup(cls: ClassBuilder, [sign, r]: [number, number[]], fold: boolean): void {
  const base = fold && sign < 0 ? foldRanges(r) : r;
  cls.ranges.push(...(sign < 0 ? negateRanges(base) : base));
}

// Ranges of a folded class are stored unfolded: folding is materialised only where the
// JavaScript `i` flag cannot be used (see emitNode).
function finishClass(cls: ClassBuilder, negated: boolean, fold: boolean): ReNode {
  return { op: 'class', ranges: cleanRanges(cls.ranges), props: cls.props, negated, fold };
}

const scriptCache = new Map<string, boolean>();
function isScript(name: string): boolean {
  let ok = scriptCache.get(name);
  if (ok === undefined) {
    try {
      new RegExp(`\\p{Script=${name}}`, 'u');
      ok = true;
    } catch {
      ok = false;
    }
    scriptCache.set(name, ok);
  }
  return ok;
}

function repeatIsValid(re: ReNode, n: number): boolean {
  if (re.op === 'repeat' && re.counted) {
    let m = re.max;
    if (m === 0) return true;
    if (m < 0) m = re.min;
    if (m > n) return false;
    if (m > 0) n = Math.trunc(n / m);
  }
  if (re.op === 'repeat' || re.op === 'capture') return repeatIsValid(re.sub, n);
  if (re.op === 'concat' || re.op === 'alt') return re.subs.every((s) => repeatIsValid(s, n));
  return true;
}

/** Builds a concat, flattening nested concats and merging adjacent literals of the same case mode. */
function makeConcat(items: ReNode[]): ReNode {
  const out: ReNode[] = [];
  const push = (n: ReNode): void => {
    if (n.op === 'empty') return;
    if (n.op === 'concat') {
      for (const s of n.subs) push(s);
      return;
    }
    const last = out[out.length - 1];
    if (n.op === 'lit' && last && last.op === 'lit' && last.fold === n.fold) {
      out[out.length - 1] = { op: 'lit', text: last.text + n.text, fold: n.fold };
      return;
    }
    out.push(n);
  };
  for (const n of items) push(n);
  if (out.length === 0) return { op: 'empty' };
  if (out.length === 1) return out[0];
  return { op: 'concat', subs: out };
}

function makeAlt(branches: ReNode[]): ReNode {
  if (branches.length === 1) return branches[0];
  const out: ReNode[] = [];
  for (const b of branches) {
    if (b.op === 'alt') out.push(...b.subs);
    else out.push(b);
  }
  return { op: 'alt', subs: out };
}

/**
 * Parses an RE2 regex (Perl syntax, `.` matches newline) into a syntax tree. Groups
 * leave no node unless `captures` is set.
 */
export function parseRE2(src: string, captures = false): ReNode {
  return new Parser(src, captures).parse();
}

// ---------------------------------------------------------------------------------------
// Emitter.

function rangesHaveCase(r: number[]): boolean {
  for (let i = 0; i < r.length; i += 2) {
    const lo = r[i];
    const hi = r[i + 1];
    // ASCII letters, or anything beyond ASCII (which may be cased).
    if (hi >= 0x80) return true;
    if (lo <= 0x5a && hi >= 0x41) return true;
    if (lo <= 0x7a && hi >= 0x61) return true;
  }
  return false;
}

function textHasCase(s: string): boolean {
  return s.toLowerCase() !== s || s.toUpperCase() !== s || /[^\x00-\x7f]/.test(s);
}

/**
 * Whether the pattern is case-insensitive as a whole, so the JavaScript `i` flag gives
 * RE2's semantics: every node that could be affected by case carries the fold flag.
 */
function allFolded(n: ReNode): boolean {
  switch (n.op) {
    case 'lit':
      return n.fold || !textHasCase(n.text);
    case 'class':
      return n.fold || (n.props.length === 0 && !rangesHaveCase(n.ranges));
    case 'concat':
    case 'alt':
      return n.subs.every(allFolded);
    case 'repeat':
    case 'capture':
      return allFolded(n.sub);
    default:
      return true;
  }
}

function anyFolded(n: ReNode): boolean {
  switch (n.op) {
    case 'lit':
    case 'class':
      return n.fold;
    case 'concat':
    case 'alt':
      return n.subs.some(anyFolded);
    case 'repeat':
    case 'capture':
      return anyFolded(n.sub);
    default:
      return false;
  }
}

function escLit(cp: number): string {
  if ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) || cp === 0x5f) {
    return String.fromCharCode(cp);
  }
  // Printable non-ASCII outside the surrogate range reads better as itself.
  if (cp > 0xa0 && (cp < 0xd800 || cp > 0xdfff) && cp !== 0xfeff) return String.fromCodePoint(cp);
  return `\\u{${cp.toString(16)}}`;
}

function emitClass(ranges: number[], props: string[], negated: boolean): string {
  let s = negated ? '[^' : '[';
  for (let i = 0; i < ranges.length; i += 2) {
    s += escLit(ranges[i]);
    if (ranges[i + 1] !== ranges[i]) s += '-' + escLit(ranges[i + 1]);
  }
  return s + props.join('') + ']';
}

function emitNode(n: ReNode, manualFold: boolean, names?: Set<string>): string {
  switch (n.op) {
    case 'lit': {
      let s = '';
      for (const ch of n.text) {
        const cp = ch.codePointAt(0)!;
        if (manualFold && n.fold) {
          const orbit = foldOrbits().orbit.get(cp);
          if (orbit) {
            s += emitClass(
              orbit.flatMap((x) => [x, x]),
              [],
              false,
            );
            continue;
          }
        }
        s += escLit(cp);
      }
      return s;
    }
    case 'class': {
      const ranges = manualFold && n.fold ? foldRanges(n.ranges) : n.ranges;
      return emitClass(ranges, n.props, n.negated);
    }
    case 'any':
      return n.nl ? '.' : '[^\\n]';
    case 'beginText':
      return '^';
    case 'endText':
      return '$';
    case 'beginLine':
      return '(?:^|(?<=\\n))';
    case 'endLine':
      return '(?:$|(?=\\n))';
    case 'wordBoundary':
      return '\\b';
    case 'noWordBoundary':
      return '\\B';
    case 'empty':
      return '(?:)';
    case 'concat':
      return n.subs.map((s) => emitNode(s, manualFold, names)).join('');
    case 'alt':
      return '(?:' + n.subs.map((s) => emitNode(s, manualFold, names)).join('|') + ')';
    case 'repeat': {
      const sub = emitNode(n.sub, manualFold, names);
      // Quantifiers bind to one atom, and /u forbids quantifying assertions: group
      // everything that is not a single character, class or group already.
      const atom =
        (n.sub.op === 'lit' && [...n.sub.text].length === 1) ||
        n.sub.op === 'class' ||
        n.sub.op === 'any' ||
        n.sub.op === 'alt' ||
        n.sub.op === 'capture'
          ? sub
          : `(?:${sub})`;
      let q: string;
      if (n.min === 0 && n.max === -1) q = '*';
      else if (n.min === 1 && n.max === -1) q = '+';
      else if (n.min === 0 && n.max === 1) q = '?';
      else if (n.max === -1) q = `{${n.min},}`;
      else if (n.min === n.max) q = `{${n.min}}`;
      else q = `{${n.min},${n.max}}`;
      return atom + q + (n.greedy ? '' : '?');
    }
    case 'capture': {
      // Go allows names JavaScript does not (leading digits, duplicates): those groups
      // stay capturing but unnamed, so numbering is unchanged.
      let open = '(';
      if (n.name !== '' && /^[A-Za-z_]\w*$/.test(n.name) && names && !names.has(n.name)) {
        names.add(n.name);
        open = `(?<${n.name}>`;
      }
      return open + emitNode(n.sub, manualFold, names) + ')';
    }
  }
}

/** The JavaScript source and flags of a parsed RE2 tree, without any anchoring. */
export function emitJS(node: ReNode): { source: string; flags: string } {
  // Whole-pattern (?i) maps onto the `i` flag. A pattern that mixes case-sensitive and
  // case-insensitive parts gets its folded literals and classes expanded ([kK\u212a]).
  const useI = anyFolded(node) && allFolded(node);
  const manualFold = !useI && anyFolded(node);
  return { source: emitNode(node, manualFold, new Set()), flags: useI ? 'isu' : 'su' };
}

/**
 * Translates a parsed RE2 tree into a fully anchored JavaScript RegExp. It backtracks:
 * for a user-supplied regex use compileRegexp (compiled-regexp.ts), which takes this only
 * for trees proven safe.
 */
export function compileRE2(node: ReNode): RegExp {
  const { source, flags } = emitJS(node);
  return new RegExp(`^(?:${source})$`, flags);
}

export interface TranslateOptions {
  /**
   * Keep capturing groups, numbered as in Go (for `$1`-style replacements such as
   * PromQL's label_replace); named groups keep their names where JavaScript allows.
   */
  captures?: boolean;
}

/**
 * The JavaScript RegExp equivalent to the RE2 regex `^(?s:src)$`; throws RegexpSyntaxError.
 * Backtracking: only for trusted patterns (tests, tools); user input goes through
 * compileUserRegexp.
 */
export function translateRE2(src: string, opts: TranslateOptions = {}): RegExp {
  return compileRE2(parseRE2(src, opts.captures ?? false));
}
