// /api/v1/series with many match[]: Grafana and scripts send hundreds or thousands of
// `{__name__="x"}`-style selectors at once. Asking every store once per selector costs a
// fan-out each; selectors that differ only in the value of one equality matcher are
// asked as one `=~"v1|v2|…"` instead, which stores answer with one postings union
// (literal alternations are set lookups, never regex scans).

import { Matcher, MatchType } from '@thanos-ts/tsdb';

/**
 * Values per merged selector: Prometheus's maxSetMatches, so a Prometheus behind a
 * sidecar also looks the values up as a set.
 */
export const MAX_UNION_VALUES = 256;

/** Go's regexp.QuoteMeta. */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/**
 * Matcher sets selecting the same series as `sets` together, with sets that differ only
 * in one non-empty equality matcher merged (at most `maxValues` values each). The
 * order of the sets is not kept: the series API sorts its union anyway.
 */
export function unionMatcherSets(sets: readonly Matcher[][], maxValues = MAX_UNION_VALUES): Matcher[][] {
  const out: Matcher[][] = [];
  // key: the other matchers and the varying label's name → the values seen.
  const groups = new Map<string, { rest: Matcher[]; name: string; values: Set<string> }>();
  for (const ms of sets) {
    const i = varyingMatcher(ms);
    if (i < 0) {
      out.push(ms);
      continue;
    }
    const rest = ms.filter((_, j) => j !== i);
    const key = JSON.stringify([ms[i].name, rest.map((m) => [m.type, m.name, m.value]).sort()]);
    let g = groups.get(key);
    if (!g) {
      g = { rest, name: ms[i].name, values: new Set() };
      groups.set(key, g);
    }
    g.values.add(ms[i].value);
  }
  for (const g of groups.values()) {
    const values = [...g.values];
    for (let k = 0; k < values.length; k += maxValues) {
      const part = values.slice(k, k + maxValues);
      const m = part.length === 1 ? new Matcher(MatchType.EQ, g.name, part[0]) : new Matcher(MatchType.RE, g.name, part.map(quoteMeta).join('|'));
      out.push([...g.rest, m]);
    }
  }
  return out;
}

/** The index of the equality matcher to vary: __name__'s if any, else the first; -1 for none. */
function varyingMatcher(ms: readonly Matcher[]): number {
  let first = -1;
  for (let i = 0; i < ms.length; i++) {
    const m = ms[i];
    if (m.type !== MatchType.EQ || m.value === '') continue;
    if (m.name === '__name__') return i;
    if (first < 0) first = i;
  }
  return first;
}
