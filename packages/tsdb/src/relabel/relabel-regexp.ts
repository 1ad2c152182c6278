// The regex of a relabel rule (Prometheus model/relabel.Regexp): RE2 syntax, compiled as
// `^(?s:<source>)$`, with Go's regexp.Expand for `$1`, `${1}`, `${name}` templates.
//
// The wrapped form is parsed as a whole, exactly as Prometheus hands it to Go's
// regexp.Compile: syntax errors quote the wrapped expression as Go does, and a source
// with unbalanced parentheses such as `a)|(b` means what it means to Prometheus
// (`^(?s:a)|(b)$`, an unanchored alternation) rather than being rejected.
//
// Matching runs on the JavaScript translation (see matchers/re2.ts). One difference shows
// in group values only: JavaScript resets the groups inside a repeated group on every
// iteration, Go keeps the last value they took (`(?:(a)|b)+` on "ab": Go's $1 is "a",
// ours is empty). Relabel regexes that capture inside a repetition are rare.
import { compileRE2, parseRE2, type ReNode } from '../matchers/re2.js';
import { parseExpandTemplate } from '../strconv/index.js';

/** A piece of a compiled template: literal text, a group number, or the groups of a name. */
type TemplatePart = string | number | readonly number[];

export class RelabelRegexp {
  /** The regex as written in the config (without the `^(?s:` `)$` wrapper). */
  readonly source: string;
  /** JavaScript translation of `^(?s:source)$`; no g/y flag, so exec/test are stateless. */
  private readonly re: RegExp;
  /** Go's SubexpNames: index 0 is the whole match, '' for unnamed groups. */
  private readonly groupNames: readonly string[];
  // Templates are few per regex (target_label and replacement): compile each once.
  private readonly templates = new Map<string, readonly TemplatePart[]>();

  /** Use RelabelRegexp.compile(). */
  private constructor(source: string, re: RegExp, groupNames: readonly string[]) {
    this.source = source;
    this.re = re;
    this.groupNames = groupNames;
  }

  /** Compiles `^(?s:source)$`; throws RegexpSyntaxError with Go's message for invalid RE2. */
  static compile(source: string): RelabelRegexp {
    const tree = parseRE2(`^(?s:${source})$`, true);
    const names = [''];
    collectCaptureNames(tree, names);
    const anchored = compileRE2(tree);
    // compileRE2 wraps its output in `^(?:…)$`. The tree carries its own anchors, so the
    // wrapper is removed: Go searches for the leftmost match, which for a balanced source
    // is the whole string anyway.
    const src = anchored.source;
    const re =
      src.startsWith('^(?:') && src.endsWith(')$') ? new RegExp(src.slice(4, -2), anchored.flags) : anchored;
    const groups = new RegExp(`${re.source}|`, re.flags).exec('')!.length - 1;
    if (groups !== names.length - 1) {
      // Cannot happen unless the translator changes how it emits groups.
      throw new Error(`relabel regex ${source}: translated regex has ${groups} groups, expected ${names.length - 1}`);
    }
    return new RelabelRegexp(source, re, names);
  }

  /** Whether the regex matches s (Go's MatchString). */
  matchString(s: string): boolean {
    return this.re.test(s);
  }

  /** The leftmost match and its groups (Go's FindStringSubmatch), or null. */
  exec(s: string): RegExpExecArray | null {
    return this.re.exec(s);
  }

  /**
   * Expands `template` with the groups of `match` as Go's Regexp.ExpandString does:
   * `$1` and `${1}` are group numbers, `$name` and `${name}` group names, the longest run
   * of letters, digits and `_` forms the name (`$1x` is the group named `1x`), `$$` is a
   * literal `$`, a malformed reference is kept as text, and unknown or unmatched groups
   * expand to nothing.
   */
  expand(template: string, match: RegExpExecArray): string {
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

/** Appends capture names in group-number order (the order of their opening parentheses). */
function collectCaptureNames(n: ReNode, names: string[]): void {
  switch (n.op) {
    case 'capture':
      names.push(n.name);
      collectCaptureNames(n.sub, names);
      return;
    case 'repeat':
      collectCaptureNames(n.sub, names);
      return;
    case 'concat':
    case 'alt':
      for (const s of n.subs) collectCaptureNames(s, names);
      return;
    default:
      return;
  }
}
