// /api/v1/series with many match[]: Grafana and scripts send hundreds or thousands of
// selectors at once. Asking every store once per selector costs a fan-out each, so:
//  - selectors that differ only in the value of one equality matcher are asked as one
//    `=~"v1|v2|…"`, which stores answer with one postings union (literal alternations
//    are set lookups, never regex scans);
//  - many selectors left over for one metric name are asked as that name alone, and
//    the series it brings are filtered here against the selectors (label sets only:
//    cheap next to thousands of fan-outs).

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

/** Metric names asked once and filtered here when at least this many selectors remain for them. */
export const MIN_NAME_GROUP = 16;

/** One select of a series request; `filter`: keep only series some of these sets match. */
export interface SeriesSelect {
  matchers: Matcher[];
  filter: Matcher[][] | null;
}

/**
 * The selects answering a series request over `sets`. `keepLocal` names labels a
 * select's series may lack although stores matched on them (the replica labels under
 * deduplication): selectors using them are never filtered here.
 */
export function planSeriesSelects(sets: readonly Matcher[][], keepLocal: readonly string[] = []): SeriesSelect[] {
  if (sets.length <= 1) return sets.map((matchers) => ({ matchers, filter: null }));
  const merged = unionMatcherSets(sets);
  const out: SeriesSelect[] = [];
  const byName = new Map<string, Matcher[][]>();
  for (const ms of merged) {
    const name = ms.find((m) => m.type === MatchType.EQ && m.name === '__name__' && m.value !== '');
    if (!name || ms.some((m) => keepLocal.includes(m.name))) {
      out.push({ matchers: ms, filter: null });
      continue;
    }
    const g = byName.get(name.value);
    if (g) g.push(ms);
    else byName.set(name.value, [ms]);
  }
  for (const [name, group] of byName) {
    if (group.length < MIN_NAME_GROUP) {
      for (const ms of group) out.push({ matchers: ms, filter: null });
    } else {
      out.push({ matchers: [new Matcher(MatchType.EQ, '__name__', name)], filter: group });
    }
  }
  return out;
}

/** Whether some set matches the label set (absent labels match as ""). */
export function matchesAnySet(ls: readonly { name: string; value: string }[], sets: readonly Matcher[][]): boolean {
  const value = (n: string): string => {
    for (const l of ls) if (l.name === n) return l.value;
    return '';
  };
  return sets.some((ms) => ms.every((m) => m.matches(value(m.name))));
}
