// Go's regexp (RE2 syntax) as reReplaceAll and match use it, on JavaScript's RegExp:
// `(?P<name>…)` groups, leading `(?i)`/`(?s)`/`(?m)` flags, `\A` and `\z`, and Go's
// replacement templates (`$1`, `${1}`, `$name`; `$1x` names the group "1x").

import { GoError } from './exec.js';

export interface GoRegexp {
  test(s: string): boolean;
  replaceAll(s: string, repl: string): string;
}

const cache = new Map<string, GoRegexp>();

/** Compiles a Go regular expression; `must` reports errors as regexp.MustCompile's panic does. */
export function goRegexp(pattern: string, must: boolean): GoRegexp {
  const hit = cache.get(pattern);
  if (hit !== undefined) return hit;
  let src = pattern;
  let flags = 'g';
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    for (const f of lead[1]) if (f === 'i' || f === 'm' || f === 's') flags += f;
    src = src.slice(lead[0].length);
  }
  src = src.replace(/\(\?P</g, '(?<').replace(/\\A/g, '^').replace(/\\z/g, '$(?![\\s\\S])');
  let re: RegExp;
  try {
    re = new RegExp(src, flags);
  } catch (e) {
    const msg = `error parsing regexp: ${goSyntaxError((e as Error).message, pattern)}`;
    throw new GoError(must ? `regexp: Compile(${goBackquote(pattern)}): ${msg}` : msg, { cause: e });
  }
  const compiled: GoRegexp = {
    test: (s) => {
      re.lastIndex = 0;
      return re.test(s);
    },
    replaceAll: (s, repl) => s.replace(re, (...m) => expand(repl, m)),
  };
  if (cache.size > 1000) cache.clear();
  cache.set(pattern, compiled);
  return compiled;
}

/** Go's wording of the common syntax errors ("missing closing ): `(`"). */
function goSyntaxError(jsMessage: string, pattern: string): string {
  const why = jsMessage.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
  if (/Unterminated group/i.test(why)) return `missing closing ): \`${pattern}\``;
  if (/Unmatched '\)'/i.test(why)) return `unexpected ): \`${pattern}\``;
  if (/Unterminated character class/i.test(why)) return `missing closing ]: \`${pattern.slice(pattern.lastIndexOf('['))}\``;
  if (/Nothing to repeat/i.test(why)) {
    const op = /(?:^|[(|])([*+?]|\{[0-9,]+\})/.exec(pattern);
    return `missing argument to repetition operator: \`${op ? op[1] : '*'}\``;
  }
  return `${why.toLowerCase()}: \`${pattern}\``;
}

function goBackquote(s: string): string {
  return s.includes('`') ? JSON.stringify(s) : '`' + s + '`';
}

/** Go's Regexp.Expand over a String.replace callback's arguments. */
function expand(template: string, m: unknown[]): string {
  const hasGroups = typeof m[m.length - 1] === 'object' && m[m.length - 1] !== null;
  const groups = (hasGroups ? m[m.length - 1] : {}) as Record<string, string | undefined>;
  const numbered = m.slice(0, hasGroups ? -3 : -2) as (string | undefined)[];
  const group = (name: string): string => {
    if (/^[0-9]+$/.test(name)) return numbered[Number(name)] ?? '';
    return groups[name] ?? '';
  };
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c !== '$') {
      out += c;
      continue;
    }
    if (template[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string | null = null;
    let end = i + 1;
    if (template[i + 1] === '{') {
      const close = template.indexOf('}', i + 2);
      const n = close < 0 ? '' : template.slice(i + 2, close);
      if (close >= 0 && /^[A-Za-z0-9_]+$/.test(n)) {
        name = n;
        end = close + 1;
      }
    } else {
      const mm = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1));
      if (mm) {
        name = mm[0];
        end = i + 1 + mm[0].length;
      }
    }
    if (name === null) {
      out += '$'; // a malformed reference is kept literally
      continue;
    }
    out += group(name);
    i = end - 1;
  }
  return out;
}
