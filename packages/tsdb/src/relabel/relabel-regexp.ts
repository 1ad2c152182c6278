// The regex of a relabel rule (Prometheus model/relabel.Regexp): RE2 syntax, compiled as
// `^(?s:<source>)$`, with Go's regexp.Expand for `$1`, `${1}`, `${name}` templates.
//
// The wrapped form is parsed as a whole, exactly as Prometheus hands it to Go's
// regexp.Compile: syntax errors quote the wrapped expression as Go does, and a source
// with unbalanced parentheses such as `a)|(b` means what it means to Prometheus
// (`^(?s:a)|(b)$`, an unanchored alternation) rather than being rejected.
//
// Matching runs on V8's RegExp when the tree is proven safe from catastrophic
// backtracking and has no group inside a repetition (where JavaScript's group values
// differ from Go's), else on re2js; see matchers/compiled-regexp.ts.
import { compileRegexpTree, type CompiledRegexp, type RegexpMatch } from '../matchers/compiled-regexp.js';
import { parseRE2 } from '../matchers/re2.js';
import { parseExpandTemplate } from '../strconv/index.js';

/** A piece of a compiled template: literal text, a group number, or the groups of a name. */
type TemplatePart = string | number | readonly number[];

export class RelabelRegexp {
  /** The regex as written in the config (without the `^(?s:` `)$` wrapper). */
  readonly source: string;
  /** `^(?s:source)$`, searched for (the tree carries its own anchors). */
  private readonly re: CompiledRegexp;
  /** Go's SubexpNames: index 0 is the whole match, '' for unnamed groups. */
  private readonly groupNames: readonly string[];
  // Templates are few per regex (target_label and replacement): compile each once.
  private readonly templates = new Map<string, readonly TemplatePart[]>();

  /** Use RelabelRegexp.compile(). */
  private constructor(source: string, re: CompiledRegexp) {
    this.source = source;
    this.re = re;
    this.groupNames = re.groupNames;
  }

  /** Compiles `^(?s:source)$`; throws RegexpSyntaxError with Go's message for invalid RE2. */
  static compile(source: string): RelabelRegexp {
    // Go searches for the leftmost match, which for a balanced source is the whole string.
    const wrapped = `^(?s:${source})$`;
    return new RelabelRegexp(source, compileRegexpTree(parseRE2(wrapped, true), { anchor: false, source: wrapped }));
  }

  /** Which engine runs the regex ('v8' only when proven safe from backtracking). */
  get engine(): CompiledRegexp['engine'] {
    return this.re.engine;
  }

  /** Whether the regex matches s (Go's MatchString). */
  matchString(s: string): boolean {
    return this.re.test(s);
  }

  /** The leftmost match and its groups (Go's FindStringSubmatch), or null. */
  exec(s: string): RegexpMatch | null {
    return this.re.exec(s);
  }

  /**
   * Expands `template` with the groups of `match` as Go's Regexp.ExpandString does:
   * `$1` and `${1}` are group numbers, `$name` and `${name}` group names, the longest run
   * of letters, digits and `_` forms the name (`$1x` is the group named `1x`), `$$` is a
   * literal `$`, a malformed reference is kept as text, and unknown or unmatched groups
   * expand to nothing.
   */
  expand(template: string, match: RegexpMatch): string {
    if (template.indexOf('$') < 0) return template;
    let parts = this.templates.get(template);
    if (!parts) {
      parts = this.compileTemplate(template);
      this.templates.set(template, parts);
    }
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') out += p;
      else if (typeof p === 'number') out += match[p] ?? '';
      else {
        // Go takes the first group of that name that took part in the match.
        for (const i of p) {
          const g = match[i];
          if (g !== undefined) {
            out += g;
            break;
          }
        }
      }
    }
    return out;
  }

  private compileTemplate(template: string): TemplatePart[] {
    return parseExpandTemplate(template).map((p): TemplatePart => {
      if (typeof p === 'string') return p;
      // A number beyond the group count expands to nothing, as in Go.
      if (typeof p === 'number') return p < this.groupNames.length ? p : '';
      const idx: number[] = [];
      for (let i = 1; i < this.groupNames.length; i++) if (this.groupNames[i] === p.name) idx.push(i);
      return idx;
    });
  }
}
