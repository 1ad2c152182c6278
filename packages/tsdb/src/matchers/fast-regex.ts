// FastRegexMatcher: a label-value regex matcher with the fast paths of Prometheus's
// model/labels/regexp.go. Regexes are fully anchored and `.` matches newlines, as in
// Prometheus 3.x (`^(?s:re)$`). Most regexes in real queries are literal alternations,
// prefixes or `.*x.*` shapes; those never reach a regex engine. The rest run on V8 when
// proven safe, else on re2js (compiled-regexp.ts).
import { compileRegexpTree, type CompiledRegexp } from './compiled-regexp.js';
import { parseRE2, type ReNode } from './re2.js';

/** Above this many alternatives a regex yields no set matches (Prometheus: maxSetMatches). */
const MAX_SET_MATCHES = 256;

type StringMatcher = (s: string) => boolean;

// Characters Go's regexp.QuoteMeta escapes: a string without them is a literal.
const META = /[\\.+*?()|[\]{}^$]/;

const matchAll: StringMatcher = () => true;
const matchEmpty: StringMatcher = (s) => s === '';
const matchNonEmpty: StringMatcher = (s) => s.length > 0;
const matchNoNewline: StringMatcher = (s) => !s.includes('\n');
const matchNonEmptyNoNewline: StringMatcher = (s) => s.length > 0 && !s.includes('\n');

function equalsMatcher(v: string): StringMatcher {
  return (s) => s === v;
}

function setMatcher(values: Iterable<string>): StringMatcher {
  const set = new Set(values);
  if (set.size === 1) return equalsMatcher(set.values().next().value as string);
  return (s) => set.has(s);
}

function containsInOrder(s: string, subs: readonly string[]): boolean {
  let pos = 0;
  for (const c of subs) {
    const i = s.indexOf(c, pos);
    if (i < 0) return false;
    pos = i + c.length;
  }
  return true;
}

export class FastRegexMatcher {
  /** Exact case-sensitive values the regex matches, when it is a small finite set. */
  private readonly setMatchList: readonly string[];
  /** Case-sensitive literal the value must start with ('' when unknown). */
  readonly prefix: string;
  readonly suffix: string;
  readonly contains: readonly string[];
  /** The compiled regex (fully anchored), or null when no parsing was needed. */
  readonly regexp: CompiledRegexp | null;
  /** Whether a string matcher replaces the RegExp (after the prefix/suffix/contains checks). */
  private readonly hasStringMatcher: boolean;
  /** Whether v matches `^(?s:source)$`. */
  readonly matchString: (v: string) => boolean;

  /** @throws RegexpSyntaxError when source is not a valid RE2 regex */
  constructor(readonly source: string) {
    // Fast path: `a|b|c` of plain literals needs no parsing at all.
    const lits = alternatingLiterals(source);
    if (lits) {
      this.setMatchList = lits.set;
      this.prefix = '';
      this.suffix = '';
      this.contains = [];
      this.regexp = null;
      this.hasStringMatcher = true;
      this.matchString = lits.match;
      return;
    }

    const parsed = parseRE2(source);
    this.regexp = compileRegexpTree(parsed, { source });
    const re = this.regexp;
    const node = stripTextAnchors(parsed);

    let prefix = '';
    let suffix = '';
    const contains: string[] = [];
    if (node.op === 'concat') {
      const subs = node.subs;
      const first = subs[0];
      const last = subs[subs.length - 1];
      if (first.op === 'lit' && !first.fold) prefix = first.text;
      if (last.op === 'lit' && !last.fold) suffix = last.text;
      for (let i = 1; i < subs.length - 1; i++) {
        const s = subs[i];
        if (s.op === 'lit' && !s.fold) contains.push(s.text);
      }
    }
    this.prefix = prefix;
    this.suffix = suffix;
    this.contains = contains;

    let sm: StringMatcher | null = null;
    const set = findSetMatches(node, ['']);
    this.setMatchList = set ?? [];
    if (set && set.length > 1) sm = setMatcher(set);
    if (!sm) sm = isSimpleConcatenation(node) ? matchAll : stringMatcherFrom(node);
    this.hasStringMatcher = sm !== null;

    if (set && set.length === 1) {
      const v = set[0];
      this.matchString = (s) => s === v;
    } else if (prefix === '' && suffix === '' && contains.length === 0 && sm) {
      this.matchString = sm;
    } else {
      const final = sm;
      this.matchString = (s) => {
        if (prefix !== '' && !s.startsWith(prefix)) return false;
        if (suffix !== '' && !s.endsWith(suffix)) return false;
        if (contains.length > 0 && !containsInOrder(s, contains)) return false;
        return final ? final(s) : re.test(s);
      };
    }
  }

  /** A copy of the exact values matched, or [] when the regex is not a small literal set. */
  setMatches(): string[] {
    return this.setMatchList.slice();
  }

  /** Whether any fast path is in use. */
  isOptimized(): boolean {
    return this.hasStringMatcher || this.setMatchList.length > 0 || this.prefix !== '' || this.suffix !== '' || this.contains.length > 0;
  }
}

/** `lit1|lit2|…` (or a single literal, or ''): matcher and set matches, else null. */
function alternatingLiterals(v: string): { match: StringMatcher; set: string[] } | null {
  if (v === '') return { match: matchEmpty, set: [] };
  if (!v.includes('|')) return META.test(v) ? null : { match: equalsMatcher(v), set: [v] };
  const parts = v.split('|');
  for (const p of parts) if (META.test(p)) return null;
  const uniq = [...new Set(parts)];
  return { match: setMatcher(uniq), set: uniq.length < MAX_SET_MATCHES ? uniq : [] };
}

/** Prometheus regexes are anchored anyway: drop a leading \A/^ and trailing \z/$ at the top. */
function stripTextAnchors(n: ReNode): ReNode {
  if (n.op === 'beginText' || n.op === 'endText') return { op: 'empty' };
  if (n.op !== 'concat') return n;
  let subs = n.subs;
  if (subs[0].op === 'beginText') subs = subs.slice(1);
  if (subs.length > 0 && subs[subs.length - 1].op === 'endText') subs = subs.slice(0, -1);
  if (subs.length === 0) return { op: 'empty' };
  if (subs.length === 1) return subs[0];
  return { op: 'concat', subs };
}

/**
 * The exact set of strings n matches, each prefixed by one of `bases`, when n is built
 * only from case-sensitive literals, small classes, alternations and concatenations;
 * null otherwise or beyond MAX_SET_MATCHES strings.
 */
function findSetMatches(n: ReNode, bases: string[]): string[] | null {
  switch (n.op) {
    case 'lit':
      return n.fold ? null : bases.map((b) => b + n.text);
    case 'empty':
      // As in Prometheus: an empty branch only counts after some literal text.
      return bases.some((b) => b === '') ? null : bases;
    case 'class': {
      if (n.fold || n.negated || n.props.length > 0) return null;
      let total = 0;
      for (let i = 0; i < n.ranges.length; i += 2) total += n.ranges[i + 1] - n.ranges[i] + 1;
      if (total * bases.length > MAX_SET_MATCHES) return null;
      const out: string[] = [];
      for (const b of bases) {
        for (let i = 0; i < n.ranges.length; i += 2) {
          for (let c = n.ranges[i]; c <= n.ranges[i + 1]; c++) out.push(b + String.fromCodePoint(c));
        }
      }
      return out;
    }
    case 'alt': {
      const out: string[] = [];
      for (const s of n.subs) {
        const m = findSetMatches(s, bases);
        if (!m || out.length + m.length > MAX_SET_MATCHES) return null;
        out.push(...m);
      }
      return out;
    }
    case 'concat': {
      let cur = bases;
      for (const s of n.subs) {
        const m = findSetMatches(s, cur);
        if (!m || m.length > MAX_SET_MATCHES) return null;
        cur = m;
      }
      return cur;
    }
    default:
      return null;
  }
}

function isAnyRepeat(n: ReNode): n is Extract<ReNode, { op: 'repeat' }> {
  return n.op === 'repeat' && n.sub.op === 'any' && n.max === -1 && (n.min === 0 || n.min === 1);
}

function isMatchAny(n: ReNode): boolean {
  return n.op === 'repeat' && n.sub.op === 'any' && n.sub.nl && n.min === 0 && n.max === -1;
}

/** `.*lit.*lit.*`: prefix, suffix and containsInOrder decide it completely. */
function isSimpleConcatenation(n: ReNode): boolean {
  if (n.op !== 'concat' || n.subs.length < 2) return false;
  const subs = n.subs;
  if (!isMatchAny(subs[0]) || !isMatchAny(subs[subs.length - 1])) return false;
  for (let i = 1; i < subs.length - 1; i++) {
    const s = subs[i];
    if (!isMatchAny(s) && !(s.op === 'lit' && !s.fold)) return false;
  }
  return true;
}

/** A plain-string matcher equivalent to n, or null (then the RegExp runs). */
function stringMatcherFrom(n: ReNode): StringMatcher | null {
  switch (n.op) {
    case 'repeat': {
      if (!isAnyRepeat(n)) return null;
      const nl = (n.sub as { nl: boolean }).nl;
      if (n.min === 0) return nl ? matchAll : matchNoNewline;
      return nl ? matchNonEmpty : matchNonEmptyNoNewline;
    }
    case 'empty':
      return matchEmpty;
    case 'lit':
      return n.fold ? null : equalsMatcher(n.text);
    case 'alt': {
      if (n.subs.every((s) => s.op === 'lit' && !s.fold)) {
        return setMatcher(n.subs.map((s) => (s as { text: string }).text));
      }
      const ms: StringMatcher[] = [];
      for (const s of n.subs) {
        const m = stringMatcherFrom(s);
        if (!m) return null;
        ms.push(m);
      }
      return (s) => {
        for (const m of ms) if (m(s)) return true;
        return false;
      };
    }
    case 'concat': {
      let subs = n.subs;
      let left: StringMatcher | null = null;
      let right: StringMatcher | null = null;
      if (isAnyRepeat(subs[0])) {
        left = stringMatcherFrom(subs[0]);
        subs = subs.slice(1);
      }
      if (subs.length > 0 && isAnyRepeat(subs[subs.length - 1])) {
        right = stringMatcherFrom(subs[subs.length - 1]);
        subs = subs.slice(0, -1);
      }
      if (subs.length === 0) return null;
      const middle: ReNode = subs.length === 1 ? subs[0] : { op: 'concat', subs };
      let matches = findSetMatches(middle, ['']);
      if (!matches && subs.length === 2) {
        const [a, b] = subs;
        if (!right && a.op === 'lit' && !a.fold) {
          right = stringMatcherFrom(b);
          if (right) matches = [a.text];
        } else if (!left && b.op === 'lit' && !b.fold) {
          left = stringMatcherFrom(a);
          if (left) matches = [b.text];
        }
      }
      if (!matches || matches.length === 0) return null;
      if (!left && !right) return setMatcher(matches);
      return containsMatcher(matches, left, right);
    }
    default:
      return null;
  }
}

/** Some m in subs occurs in s with left matching what precedes it and right what follows. */
function containsMatcher(subs: string[], left: StringMatcher | null, right: StringMatcher | null): StringMatcher {
  if (!left) {
    const r = right!;
    return (s) => {
      for (const m of subs) if (s.startsWith(m) && r(s.slice(m.length))) return true;
      return false;
    };
  }
  if (!right) {
    return (s) => {
      for (const m of subs) if (s.endsWith(m) && left(s.slice(0, s.length - m.length))) return true;
      return false;
    };
  }
  // fast path: .*x.* is a substring test
  if (left === matchAll && right === matchAll) {
    return (s) => {
      for (const m of subs) if (s.includes(m)) return true;
      return false;
    };
  }
  return (s) => {
    for (const m of subs) {
      for (let i = s.indexOf(m); i >= 0; i = s.indexOf(m, i + 1)) {
        if (left(s.slice(0, i)) && right(s.slice(i + m.length))) return true;
      }
    }
    return false;
  };
}
