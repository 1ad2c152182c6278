// A user-supplied RE2 regex compiled for one of two engines: V8's RegExp (fast, but
// backtracking) for trees backtrack-safety.ts proves safe, re2js (RE2's linear-time
// automata in JavaScript) for every other one, and for trees with a group inside a
// repetition, whose values only re2js takes as Go does. Label matchers, label_replace()
// and relabelling all compile through here, so no user regex reaches V8 unproven.
//
// re2js is not fed the user's text. It follows RE2/J's syntax, which differs from Go's
// (`{` literals, \Q…\E, (?U), Unicode tables, named groups); our parser already resolved
// all of that into the ReNode tree, and emitRE2 writes the tree back in a small
// unambiguous subset both read the same way: literals as \x{…}, classes as explicit
// ranges (Unicode properties expanded with V8's tables, as the V8 path uses them),
// (?i:…) only around folded literals and classes (re2js then folds with RE2's tables, as
// Go does), (?s:.) / [^\n] for dots, \A \z (?m:^) (?m:$) for anchors, and unnamed groups
// (names are kept beside, Go's SubexpNames). The oracle table in matcher.test.ts runs
// through both engines.
import { RE2JS } from 're2js';
import { isBacktrackSafe } from './backtrack-safety.js';
import { MAX_RUNE, RegexpSyntaxError, cleanRanges, emitJS, parseRE2, type ReNode } from './re2.js';

export type RegexpEngine = 'v8' | 're2js';

/** A match: the whole match, then each group (undefined when it took no part), as Go's FindStringSubmatch. */
export type RegexpMatch = readonly (string | undefined)[];

export interface CompiledRegexp {
  /** Which engine runs it. */
  readonly engine: RegexpEngine;
  /** Go's SubexpNames: index 0 is the whole match, '' for unnamed groups. */
  readonly groupNames: readonly string[];
  /** Whether s matches. */
  test(s: string): boolean;
  /** The leftmost-first match and its groups, or null. */
  exec(s: string): RegexpMatch | null;
}

export interface CompileRegexpOptions {
  /**
   * Match the whole text, as `^(?:…)$` (default). False searches for the leftmost match:
   * for trees that carry their own anchors (relabelling's `^(?s:…)$`).
   */
  anchor?: boolean;
  /** The regex as written, for error messages. */
  source?: string;
}

/**
 * An engine every regex must use: for tests and benchmarks that compare the engines, never
 * for production. THANOS_TS_REGEXP_ENGINE=re2js (or v8) sets it for a whole test run.
 */
let forcedEngine: RegexpEngine | null = engineFromEnv(process.env.THANOS_TS_REGEXP_ENGINE);

function engineFromEnv(v: string | undefined): RegexpEngine | null {
  return v === 'v8' || v === 're2js' ? v : null;
}

/**
 * Makes every regex compiled from now on use one engine (null: choose by safety again).
 * Returns the previous setting, to restore.
 */
export function forceRegexpEngine(engine: RegexpEngine | null): RegexpEngine | null {
  const prev = forcedEngine;
  forcedEngine = engine;
  return prev;
}

/**
 * The engine compileRegexpTree picks for the tree when none is forced: V8 for trees proven
 * safe from catastrophic backtracking, except those with a capture inside a repeat. For
 * those, JavaScript clears the group on each iteration and Go keeps its last value
 * (`(?:(a)|b)+` on "ab": Go's $1 is "a", V8's undefined); re2js follows Go.
 */
export function regexpEngineFor(node: ReNode, anchor = true): RegexpEngine {
  return isBacktrackSafe(node, anchor) && !captureInRepeat(node, false) ? 'v8' : 're2js';
}

function captureInRepeat(n: ReNode, inRepeat: boolean): boolean {
  switch (n.op) {
    case 'capture':
      return inRepeat || captureInRepeat(n.sub, inRepeat);
    case 'repeat':
      return captureInRepeat(n.sub, inRepeat || n.max !== 1);
    case 'concat':
    case 'alt':
      return n.subs.some((s) => captureInRepeat(s, inRepeat));
    default:
      return false;
  }
}

/**
 * Parses an RE2 regex (Perl syntax, `.` matches newline, as Prometheus) and compiles it
 * fully anchored. Throws RegexpSyntaxError with Go's message.
 */
export function compileRegexp(src: string, opts: { captures?: boolean } = {}): CompiledRegexp {
  return compileRegexpTree(parseRE2(src, opts.captures ?? false), { source: src });
}

/**
 * Compiles a parsed tree on V8 when it is proven safe, else on re2js. Throws
 * RegexpSyntaxError when re2js refuses a tree our parser accepted: RE2's size limit
 * (`expression too large`), which our parser does not check.
 */
export function compileRegexpTree(node: ReNode, opts: CompileRegexpOptions = {}): CompiledRegexp {
  const anchor = opts.anchor ?? true;
  const names = captureNames(node);
  const engine = forcedEngine ?? regexpEngineFor(node, anchor);
  if (engine === 'v8') return new V8Regexp(node, anchor, names);
  try {
    return new Re2jsRegexp(node, anchor, names);
  } catch (e) {
    // Sent to re2js only for Go's group values: V8 is safe and nearly as right.
    if (forcedEngine === null && isBacktrackSafe(node, anchor)) return new V8Regexp(node, anchor, names);
    const msg = e instanceof Error ? e.message : String(e);
    throw new RegexpSyntaxError(/too large/.test(msg) ? 'expression too large' : msg, opts.source ?? '');
  }
}

class V8Regexp implements CompiledRegexp {
  readonly engine = 'v8';
  private readonly re: RegExp;

  constructor(
    node: ReNode,
    anchor: boolean,
    readonly groupNames: readonly string[],
  ) {
    const { source, flags } = emitJS(node);
    // No g/y flag: test and exec keep no state between calls.
    this.re = new RegExp(anchor ? `^(?:${source})$` : source, flags);
  }

  test(s: string): boolean {
    return this.re.test(s);
  }

  exec(s: string): RegexpMatch | null {
    return this.re.exec(s);
  }
}

class Re2jsRegexp implements CompiledRegexp {
  readonly engine = 're2js';
  /** The pattern itself; matched whole (its matches() is the fastest test) or searched for. */
  private readonly re: RE2JS;
  /** For exec of an anchored regex: `\A(?:…)\z`, compiled on first use. */
  private anchored: RE2JS | null = null;

  constructor(
    node: ReNode,
    private readonly anchor: boolean,
    readonly groupNames: readonly string[],
  ) {
    this.re = RE2JS.compile(emitRE2(node));
  }

  test(s: string): boolean {
    return this.anchor ? this.re.matches(s) : this.re.test(s);
  }

  exec(s: string): RegexpMatch | null {
    // fast path: the DFA answers whether there is a match at all several times faster
    // than the submatch machine, and most values given to label_replace do not match.
    if (!this.test(s)) return null;
    if (!this.anchor) return this.re.exec(s) as RegexpMatch | null;
    this.anchored ??= RE2JS.compile(`\\A(?:${this.re.pattern()})\\z`);
    return this.anchored.exec(s) as RegexpMatch | null;
  }
}

/** Go's SubexpNames of a tree parsed with captures: group names in group-number order. */
export function captureNames(n: ReNode, names: string[] = ['']): string[] {
  switch (n.op) {
    case 'capture':
      names.push(n.name);
      captureNames(n.sub, names);
      break;
    case 'repeat':
      captureNames(n.sub, names);
      break;
    case 'concat':
    case 'alt':
      for (const s of n.subs) captureNames(s, names);
      break;
    default:
      break;
  }
  return names;
}

// ---------------------------------------------------------------------------------------
// The tree in RE2 syntax, for re2js.

function hexRune(cp: number): string {
  if ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) || cp === 0x5f) {
    return String.fromCharCode(cp);
  }
  return `\\x{${cp.toString(16)}}`;
}

function rangesRE2(ranges: readonly number[], negated: boolean): string {
  // RE2 has no empty class syntax: [^\x{0}-\x{10ffff}] matches nothing.
  if (ranges.length === 0) return negated ? `[\\x{0}-\\x{10ffff}]` : `[^\\x{0}-\\x{10ffff}]`;
  let s = negated ? '[^' : '[';
  for (let i = 0; i < ranges.length; i += 2) {
    s += hexRune(ranges[i]);
    if (ranges[i + 1] !== ranges[i]) s += '-' + hexRune(ranges[i + 1]);
  }
  return s + ']';
}

/** Emits n in RE2 syntax (Perl flags off: every flag is explicit where it matters). */
export function emitRE2(n: ReNode): string {
  switch (n.op) {
    case 'lit': {
      let s = '';
      for (const ch of n.text) s += hexRune(ch.codePointAt(0)!);
      return n.fold ? `(?i:${s})` : s;
    }
    case 'class': {
      let ranges = n.ranges;
      if (n.props.length > 0) ranges = cleanRanges(n.props.reduce((acc, p) => acc.concat(propertyRanges(p)), ranges.slice()));
      const s = rangesRE2(ranges, n.negated);
      return n.fold ? `(?i:${s})` : s;
    }
    case 'any':
      return n.nl ? '(?s:.)' : '[^\\n]';
    case 'beginText':
      return '\\A';
    case 'endText':
      return '\\z';
    case 'beginLine':
      return '(?m:^)';
    case 'endLine':
      return '(?m:$)';
    case 'wordBoundary':
      return '\\b';
    case 'noWordBoundary':
      return '\\B';
    case 'empty':
      return '(?:)';
    case 'concat':
      return n.subs.map(emitRE2).join('');
    case 'alt':
      return '(?:' + n.subs.map(emitRE2).join('|') + ')';
    case 'capture':
      return '(' + emitRE2(n.sub) + ')';
    case 'repeat': {
      let q: string;
      if (n.min === 0 && n.max === -1) q = '*';
      else if (n.min === 1 && n.max === -1) q = '+';
      else if (n.min === 0 && n.max === 1) q = '?';
      else if (n.max === -1) q = `{${n.min},}`;
      else if (n.min === n.max) q = `{${n.min}}`;
      else q = `{${n.min},${n.max}}`;
      return `(?:${emitRE2(n.sub)})${q}${n.greedy ? '' : '?'}`;
    }
  }
}

// Code point ranges of a JavaScript property escape (`\p{L}`, `\P{Script=Greek}`, `\p{Cn}`),
// from V8's own tables so both engines agree. ~65 ms per property, once per process.
const propertyCache = new Map<string, number[]>();

function propertyRanges(prop: string): number[] {
  let r = propertyCache.get(prop);
  if (r) return r;
  const re = new RegExp(`^${prop}$`, 'u');
  r = [];
  let start = -1;
  for (let cp = 0; cp <= MAX_RUNE; cp++) {
    const m = re.test(String.fromCodePoint(cp));
    if (m && start < 0) start = cp;
    else if (!m && start >= 0) {
      r.push(start, cp - 1);
      start = -1;
    }
  }
  if (start >= 0) r.push(start, MAX_RUNE);
  propertyCache.set(prop, r);
  return r;
}
