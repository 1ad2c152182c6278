import { describe, expect, it } from 'vitest';
import { parseMetricSelector } from '@thanos-ts/promql';
import { Matcher, MatchType } from '@thanos-ts/tsdb';
import { quoteMeta, unionMatcherSets } from './series-union.js';

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
});
