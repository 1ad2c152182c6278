import { describe, expect, it } from 'vitest';
import { parseMetricSelector } from '@thanos-ts/promql';
import { Matcher, MatchType } from '@thanos-ts/tsdb';
import { matchesAnySet, MIN_NAME_GROUP, planSeriesSelects, quoteMeta, unionMatcherSets } from './series-union.js';

const show = (sets: Matcher[][]): string[] =>
  sets.map((ms) => ms.map((m) => `${m.name}${['=', '!=', '=~', '!~'][m.type]}${JSON.stringify(m.value)}`).join(',')).sort();

describe('unionMatcherSets', () => {
  it("merges selectors differing in one equality matcher (__name__, else the first)", () => {
    const sets = ['{__name__="a",job="x"}', 'b{job="x"}', 'c{job="y"}', '{instance="i.1",job="x"}', '{instance="i+2",job="x"}', '{foo=~"f.*"}'].map(parseMetricSelector);
    expect(show(unionMatcherSets(sets))).toEqual(
      [
        'job="x",__name__=~"a|b"',
        'job="y",__name__="c"',
        'job="x",instance=~"i\\\\.1|i\\\\+2"',
        'foo=~"f.*"',
      ].sort(),
    );
  });

  it('selects exactly what the sets select, in chunks of at most maxValues values', () => {
    const values = Array.from({ length: 1000 }, (_, i) => `m${i}.x|${i % 7}`);
    const sets = values.map((v) => [new Matcher(MatchType.EQ, '__name__', v), new Matcher(MatchType.NEQ, 'env', 'dev')]);
    const merged = unionMatcherSets(sets, 256);
    expect(merged).toHaveLength(4);
    const selects = (ms: Matcher[], name: string, env: string): boolean => ms.every((m) => m.matches(m.name === '__name__' ? name : env));
    for (const name of [...values, 'm1x|1', 'm1', 'other']) {
      for (const env of ['dev', 'prod']) {
        expect(merged.some((ms) => selects(ms, name, env))).toBe(sets.some((ms) => selects(ms, name, env)));
      }
    }
  });

  it('leaves sets without a non-empty equality matcher alone', () => {
    const sets = ['{a=""}', '{a=~"x"}', '{a!="y"}'].map(parseMetricSelector);
    expect(unionMatcherSets(sets)).toEqual(sets);
    expect(quoteMeta('a.b*c[d]')).toBe('a\\.b\\*c\\[d\\]');
  });

  it('asks a metric name once for many selectors on it, filtering here, never on replica labels', () => {
    const sets = Array.from({ length: 40 }, (_, i) => parseMetricSelector(`req_total{path="/p${i}",code=~"2..|${i}"}`));
    sets.push(parseMetricSelector('req_total{replica="0",path="/x"}'), parseMetricSelector('other{a="b"}'));
    const plan = planSeriesSelects(sets, ['replica']);
    expect(plan.map((p) => show([p.matchers])[0]).sort()).toEqual(['__name__="req_total"', 'a="b",__name__="other"', 'replica="0",path="/x",__name__="req_total"']);
    const grouped = plan.find((p) => p.filter !== null)!;
    expect(grouped.filter).toHaveLength(40);
    const series = (path: string, code: string) => [
      { name: '__name__', value: 'req_total' },
      { name: 'code', value: code },
      { name: 'path', value: path },
    ];
    expect(matchesAnySet(series('/p7', '200'), grouped.filter!)).toBe(true);
    expect(matchesAnySet(series('/p7', '7'), grouped.filter!)).toBe(true);
    expect(matchesAnySet(series('/p7', '500'), grouped.filter!)).toBe(false);
    expect(matchesAnySet(series('/q', '200'), grouped.filter!)).toBe(false);
    // Below the threshold every selector is asked as it is.
    expect(planSeriesSelects(sets.slice(0, MIN_NAME_GROUP - 1)).every((p) => p.filter === null)).toBe(true);
  });
});
