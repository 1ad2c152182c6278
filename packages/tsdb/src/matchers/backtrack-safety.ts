// Which RE2 trees are safe to run on V8's backtracking RegExp.
//
// V8's engine backtracks: the time of a match grows with the number of ways the pattern
// can split the text, exponential for `(a+)+b`, polynomial for `.*a.*a.*b`. RE2 (re2js) is
// linear but much slower on the simple patterns most queries use. So a regex runs on V8
// only when its tree is PROVEN to have few ways to split any text; everything else runs
// on re2js.
//
// The proof is an upper bound on the number of ways to proceed, `c · n^deg` for a text
// of n characters, computed bottom-up (`cost`):
// - a character, class, assertion or the empty string: one way (deg 0, c 1);
// - a concatenation: the product (degrees add, constants multiply);
// - an alternation: the sum, or only the largest branch when the choice is deterministic
//   (no branch matches the empty string and their first characters are disjoint);
// - a fixed repeat x{k}: x's cost to the k-th power (`(.*){16}` has degree 16);
// - a variable repeat (`*`, `+`, `?`, `{n,m}`): its body must itself have exactly one way
//   to match and must not match the empty string, else the repeat is UNSAFE whatever the
//   text (the exponential `(a+)+`, `(a|a)*`, `(\w+\s?)+`). The repeat then only chooses how
//   many iterations to take: one way when what may follow it cannot start like its body
//   (`[a-z]+-`, `\d+\.`: giving back an iteration fails at once), up to m-n+1 ways for
//   a short `{n,m}` or `?`, otherwise one more degree (`.*` before `foo`).
// An unanchored search (a relabel regex with unbalanced parentheses) adds a degree.
//
// Each way costs at most linear work (consuming the text, and the give-backs of the
// deterministic repeats, which fail at once but are n each: `a+a*a+` on "aaa…c" is n^3
// steps with only n^2 ways), so the work is at most `c · n^(deg+1)`. V8 runs the regex
// when that is at most 2^20 for n = 1024: degree 0 with c ≤ 1024, or degree 1 with c = 1,
// i.e. at most one ambiguous unbounded repeat and no other choice (tens of ms at worst on
// 5000 characters; two such repeats take seconds at that length, `.*a.*a.*b` a quarter
// of a second on 1000, and `a*a?a?a*` (c = 4) 350 ms on 5000). Literals,
// literal alternations, `prefix.*`, `.*contains.*`, `[a-z]+`, `foo|bar.*`, `(\d+\.){3}\d+`,
// `(.*)-(.*)` all stay on V8; the matcher fast paths decide `.*a.*b.*` without any regex.
import { MAX_RUNE, cleanRanges, negateRanges, type ReNode } from './re2.js';

/** At most `c · n^deg` ways to proceed over a text of n characters (work: times n). */
export interface BacktrackCost {
  deg: number;
  c: number;
}

/** Work allowed for a 1024-character text: c · 1024^(deg+1). */
const MAX_WORK = 2 ** 20;
/** A `{n,m}` with m-n above this counts as unbounded (`a{0,1000}` is `a*` for label values). */
const SHORT_REPEAT = 16;

const UNSAFE: BacktrackCost = { deg: Infinity, c: Infinity };
const ONE: BacktrackCost = { deg: 0, c: 1 };

// Character sets are sorted, merged code point ranges [lo0, hi0, lo1, hi1, …].
type CharSet = number[];
const NONE: CharSet = [];
const ALL: CharSet = [0, MAX_RUNE];
const ALL_BUT_NL: CharSet = [0, 0x09, 0x0b, MAX_RUNE];

/** Whether V8's backtracking RegExp may run the tree (see the rule above). */
export function isBacktrackSafe(node: ReNode, anchored = true): boolean {
  const k = backtrackCost(node, anchored);
  return k.c * 1024 ** (k.deg + 1) <= MAX_WORK;
}

/** The path bound of the tree matched as a whole (anchored) or searched for anywhere. */
export function backtrackCost(node: ReNode, anchored = true): BacktrackCost {
  const k = cost(node, NONE);
  // Searching tries every start position: one more degree.
  return anchored || startsAnchored(node) ? k : { deg: k.deg + 1, c: k.c };
}

function startsAnchored(n: ReNode): boolean {
  switch (n.op) {
    case 'beginText':
      return true;
    case 'concat':
      return startsAnchored(n.subs[0]);
    case 'alt':
      return n.subs.every(startsAnchored);
    case 'capture':
      return startsAnchored(n.sub);
    default:
      return false;
  }
}

/**
 * The cost of matching n when the text after it can only start with a character of
 * `follow` (NONE: the match ends there).
 */
function cost(n: ReNode, follow: CharSet): BacktrackCost {
  switch (n.op) {
    case 'capture':
      return cost(n.sub, follow);
    case 'concat': {
      let deg = 0;
      let c = 1;
      let f = follow;
      for (let i = n.subs.length - 1; i >= 0; i--) {
        const k = cost(n.subs[i], f);
        deg += k.deg;
        c *= k.c;
        const fi = first(n.subs[i]);
        f = fi.nullable ? union(fi.set, f) : fi.set;
      }
      return { deg, c };
    }
    case 'alt': {
      let deg = 0;
      let sum = 0;
      let max = 0;
      for (const s of n.subs) {
        const k = cost(s, follow);
        deg = Math.max(deg, k.deg);
        sum += k.c;
        max = Math.max(max, k.c);
      }
      return { deg, c: deterministicChoice(n.subs) ? max : sum };
    }
    case 'repeat': {
      if (n.max === 0) return ONE;
      const f1 = first(n.sub);
      // After an iteration comes another one or what follows the repeat.
      const k = cost(n.sub, union(f1.set, follow));
      if (n.min === n.max) return { deg: k.deg * n.min, c: k.c ** n.min };
      if (k.deg > 0 || k.c > 1 || f1.nullable) return UNSAFE;
      if (!intersects(f1.set, follow)) return ONE;
      if (n.max >= 0 && n.max - n.min <= SHORT_REPEAT) return { deg: 0, c: n.max - n.min + 1 };
      return { deg: 1, c: 1 };
    }
    default:
      return ONE;
  }
}

/** No branch matches the empty string and no two branches can start with the same character. */
function deterministicChoice(subs: ReNode[]): boolean {
  const spans: [number, number, number][] = [];
  for (let b = 0; b < subs.length; b++) {
    const f = first(subs[b]);
    if (f.nullable) return false;
    for (let i = 0; i < f.set.length; i += 2) spans.push([f.set[i], f.set[i + 1], b]);
  }
  spans.sort((x, y) => x[0] - y[0]);
  // Sets are merged within a branch, so an overlap of two spans is between branches.
  let hi = -1;
  for (const [lo, h] of spans) {
    if (lo <= hi) return false;
    hi = Math.max(hi, h);
  }
  return true;
}

/** The characters a match of n can start with, and whether n matches the empty string. */
function first(n: ReNode): { set: CharSet; nullable: boolean } {
  switch (n.op) {
    case 'lit': {
      const cp = n.text.codePointAt(0)!;
      return { set: n.fold ? foldSet([cp, cp]) : [cp, cp], nullable: false };
    }
    case 'class': {
      // Unicode properties: any character (conservative). A negated folded class matches
      // a subset of the negated unfolded one.
      if (n.props.length > 0) return { set: ALL, nullable: false };
      if (n.negated) return { set: negateRanges(n.ranges), nullable: false };
      return { set: n.fold ? foldSet(n.ranges) : n.ranges, nullable: false };
    }
    case 'any':
      return { set: n.nl ? ALL : ALL_BUT_NL, nullable: false };
    case 'concat': {
      let set = NONE;
      for (const s of n.subs) {
        const f = first(s);
        set = union(set, f.set);
        if (!f.nullable) return { set, nullable: false };
      }
      return { set, nullable: true };
    }
    case 'alt': {
      let set = NONE;
      let nullable = false;
      for (const s of n.subs) {
        const f = first(s);
        set = union(set, f.set);
        nullable ||= f.nullable;
      }
      return { set, nullable };
    }
    case 'repeat': {
      if (n.max === 0) return { set: NONE, nullable: true };
      const f = first(n.sub);
      return { set: f.set, nullable: f.nullable || n.min === 0 };
    }
    case 'capture':
      return first(n.sub);
    default:
      // Assertions and the empty string consume nothing.
      return { set: NONE, nullable: true };
  }
}

/**
 * A superset of the case variants of r: ASCII letters get their other case (and k, s
 * their non-ASCII folds U+212A, U+017F); anything beyond ASCII may fold to anything.
 */
function foldSet(r: CharSet): CharSet {
  const out = r.slice();
  let wide = false;
  const overlap = (lo: number, hi: number, a: number, b: number): [number, number] | null => {
    const x = Math.max(lo, a);
    const y = Math.min(hi, b);
    return x <= y ? [x, y] : null;
  };
  for (let i = 0; i < r.length; i += 2) {
    const lo = r[i];
    const hi = r[i + 1];
    if (hi >= 0x80) wide = true;
    const up = overlap(lo, hi, 0x41, 0x5a);
    if (up) out.push(up[0] + 0x20, up[1] + 0x20);
    const low = overlap(lo, hi, 0x61, 0x7a);
    if (low) out.push(low[0] - 0x20, low[1] - 0x20);
    if (overlap(lo, hi, 0x4b, 0x4b) || overlap(lo, hi, 0x6b, 0x6b)) out.push(0x212a, 0x212a);
    if (overlap(lo, hi, 0x53, 0x53) || overlap(lo, hi, 0x73, 0x73)) out.push(0x17f, 0x17f);
  }
  if (wide) out.push(0x41, 0x5a, 0x61, 0x7a, 0x80, MAX_RUNE);
  return cleanRanges(out);
}

function union(a: CharSet, b: CharSet): CharSet {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return cleanRanges(a.concat(b));
}

function intersects(a: CharSet, b: CharSet): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i + 1] < b[j]) i += 2;
    else if (b[j + 1] < a[i]) j += 2;
    else return true;
  }
  return false;
}
