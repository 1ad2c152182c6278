// Label matchers with Prometheus semantics (model/labels/matcher.go).
import { goQuote } from '../strconv/index.js';
import { FastRegexMatcher } from './fast-regex.js';

/** Match types; the numbers are those of the Thanos/Prometheus protobuf enums. */
export const MatchType = {
  EQ: 0,
  NEQ: 1,
  RE: 2,
  NRE: 3,
} as const;
export type MatchType = (typeof MatchType)[keyof typeof MatchType];

const MATCH_OPS = ['=', '!=', '=~', '!~'] as const;

/** The PromQL operator of a match type: `=`, `!=`, `=~`, `!~`. */
export function matchTypeToString(t: MatchType): string {
  const s = MATCH_OPS[t];
  if (s === undefined) throw new RangeError(`unknown match type ${t}`);
  return s;
}

/**
 * A label matcher. `matches(v)` is the test applied to a label value, where an absent
 * label counts as the empty string: `{a=""}` selects series without `a`, `{a!=""}`
 * those with it, and `{a=~".*"}` everything.
 */
export class Matcher {
  private readonly re: FastRegexMatcher | null;
  private inv: Matcher | null = null;

  /** Use newMatcher(); throws RegexpSyntaxError for a bad regex. */
  constructor(
    readonly type: MatchType,
    readonly name: string,
    readonly value: string,
  ) {
    if (type !== MatchType.EQ && type !== MatchType.NEQ && type !== MatchType.RE && type !== MatchType.NRE) {
      throw new RangeError(`unknown match type ${type as number}`);
    }
    this.re = type === MatchType.RE || type === MatchType.NRE ? new FastRegexMatcher(value) : null;
  }

  matches(v: string): boolean {
    switch (this.type) {
      case MatchType.EQ:
        return v === this.value;
      case MatchType.NEQ:
        return v !== this.value;
      case MatchType.RE:
        return this.re!.matchString(v);
      default:
        return !this.re!.matchString(v);
    }
  }

  /** The matcher selecting the opposite values (= ↔ !=, =~ ↔ !~). */
  inverse(): Matcher {
    // Memoised: postings selection inverts !~ matchers per query; spare re-parsing.
    if (!this.inv) {
      const t = [MatchType.NEQ, MatchType.EQ, MatchType.NRE, MatchType.RE][this.type] as MatchType;
      this.inv = new Matcher(t, this.name, this.value);
      this.inv.inv = this;
    }
    return this.inv;
  }

  /**
   * For =~ and !~: the exact values the regex matches when it is a small set of
   * case-sensitive literals (`a|b`, `(x|y)z`), else []. Postings lookups use it to avoid
   * scanning every label value.
   */
  setMatches(): string[] {
    return this.re ? this.re.setMatches() : [];
  }

  /** A case-sensitive literal every matching value starts with, or ''. Empty for = and !=. */
  prefix(): string {
    return this.re ? this.re.prefix : '';
  }

  /** Whether a regex fast path is in use (false for = and !=). */
  isRegexOptimized(): boolean {
    return this.re !== null && this.re.isOptimized();
  }

  /** Prometheus's form: `name="value"`, `name=~"re"`; Go-quoted, the name quoted when not an identifier. */
  toString(): string {
    const name = shouldQuoteName(this.name) ? goQuote(this.name) : this.name;
    return name + MATCH_OPS[this.type] + goQuote(this.value);
  }
}

/** Creates a matcher; throws RegexpSyntaxError (`error parsing regexp: …`) for a bad regex. */
export function newMatcher(type: MatchType, name: string, value: string): Matcher {
  return new Matcher(type, name, value);
}

function shouldQuoteName(name: string): boolean {
  if (name === '') return true;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok = c === 0x5f || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (i > 0 && c >= 0x30 && c <= 0x39);
    if (!ok) return true;
  }
  return false;
}
