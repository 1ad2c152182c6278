import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MatchType, forceRegexpEngine, labelsFromStrings, newMatcher } from '@thanos-ts/tsdb';
import type { Labels, RegexpEngine } from '@thanos-ts/tsdb';
import { runScript } from '../promqltest/index.js';
import type { Sample } from '../value.js';
import { Annotations } from './annotations.js';
import { absentLabels, compileLabelJoin, compileLabelReplace, funcLabelJoin, funcLabelReplace, parseExpandTemplate, setLabel } from './labels.js';
import { FunctionError, type VectorCall } from './types.js';

const ls = (...nv: string[]): Labels => labelsFromStrings(...nv);
const sample = (metric: Labels, dropName = false): Sample => ({ metric, t: 0, f: 1, h: null, dropName });
const call = (...strings: string[]): VectorCall => ({ evalTs: 0, scalars: [], strings, argPos: [] });

describe('setLabel', () => {
  it('inserts in name order, replaces, and deletes on empty values', () => {
    expect(setLabel(ls('a', '1', 'c', '3'), 'b', '2')).toEqual(ls('a', '1', 'b', '2', 'c', '3'));
    expect(setLabel(ls('a', '1'), 'a', '9')).toEqual(ls('a', '9'));
    expect(setLabel(ls('a', '1', 'b', '2'), 'a', '')).toEqual(ls('b', '2'));
    const same = ls('a', '1');
    expect(setLabel(same, 'a', '1')).toBe(same);
    expect(setLabel(same, 'z', '')).toBe(same);
  });
});

// Each test runs with the automatic engine choice, then forced onto V8 and onto re2js.
describe.each<RegexpEngine | null>([null, 'v8', 're2js'])('label_replace (engine %s)', (engine) => {
  let prev: RegexpEngine | null = null;
  beforeEach(() => {
    prev = forceRegexpEngine(engine);
  });
  afterEach(() => {
    forceRegexpEngine(prev);
  });

  it('expands $1 and ${name} from a fully anchored RE2 match', () => {
    const r = compileLabelReplace('dst', 'destination-value-$1', 'src', 'source-value-(.*)');
    expect(r(ls('src', 'source-value-10'))).toEqual(ls('dst', 'destination-value-10', 'src', 'source-value-10'));
    // Anchored: "value-(.*)" does not match "source-value-10".
    expect(compileLabelReplace('dst', 'x', 'src', 'value-(.*)')(ls('src', 'source-value-10'))).toBeNull();
    const named = compileLabelReplace('dst', '${b}-${a}', 'src', '(?P<a>\\w+)-(?P<b>\\w+)');
    expect(named(ls('src', 'x-y'))).toEqual(ls('dst', 'y-x', 'src', 'x-y'));
  });

  it('reads templates as Go regexp.Expand does', () => {
    expect(parseExpandTemplate('a$1b')).toEqual(['a', { name: '1b' }]);
    expect(parseExpandTemplate('a${1}b')).toEqual(['a', 1, 'b']);
    expect(parseExpandTemplate('$$1')).toEqual(['$1']);
    expect(parseExpandTemplate('$01 ${x')).toEqual([{ name: '01' }, ' ${x']);
    expect(parseExpandTemplate('$')).toEqual(['$']);
    expect(parseExpandTemplate('$10')).toEqual([10]);
    const r = compileLabelReplace('dst', '[$1x][${1}x][$2][$$]', 'src', '(a)');
    expect(r(ls('src', 'a'))).toEqual(ls('dst', '[][ax][][$]', 'src', 'a'));
  });

  it('matches a missing source label as the empty string and deletes on empty results', () => {
    expect(compileLabelReplace('dst', 'value-$1', 'nonexistent', '(.*)')(ls('a', '1'))).toEqual(ls('a', '1', 'dst', 'value-'));
    expect(compileLabelReplace('dst', '', 'dst', '.*')(ls('dst', 'x', 'src', 'y'))).toEqual(ls('src', 'y'));
  });

  it('fails with Prometheus texts on a bad regex or destination', () => {
    expect(() => compileLabelReplace('dst', 'v', 'src', '(.*')).toThrow(new FunctionError('invalid regular expression in label_replace(): (.*'));
    expect(() => compileLabelReplace('', 'v', 'src', '(.*)')).toThrow('invalid destination label name in label_replace(): ');
    expect(() => compileLabelReplace('a\udcffz', 'v', 'src', '(.*)')).toThrow(FunctionError);
  });

  it('keeps the name of series whose __name__ it sets; keeps other samples untouched', () => {
    const input = [sample(ls('__name__', 'm', 'src', 'a'), true), sample(ls('__name__', 'm', 'src', 'b'), true)];
    const out = funcLabelReplace(input, call('__name__', 'new_$1', 'src', '(a)'), new Annotations());
    expect(out[0]).toEqual(sample(ls('__name__', 'new_a', 'src', 'a'), false));
    expect(out[1]).toBe(input[1]);
    expect(input[0].metric).toEqual(ls('__name__', 'm', 'src', 'a'));
  });
});

describe('label_replace on hostile regexes', () => {
  let prev: RegexpEngine | null = null;
  beforeEach(() => {
    prev = forceRegexpEngine(null);
  });
  afterEach(() => {
    forceRegexpEngine(prev);
  });

  it('label_replace(…, "(a+)+b") on 31 a’s answers in linear time (V8 backtracking: 7-11 s)', async () => {
    const a31 = 'a'.repeat(31);
    const script = `eval instant at 0m label_replace(label_replace(vector(1),"x","${a31}","",""),"y","$1","x","(a+)+b")\n  {x="${a31}"} 1\n`;
    const t0 = performance.now();
    const out = await runScript('hostile.test', script);
    const ms = performance.now() - t0;
    expect(out.map((o) => [o.ok, o.reason])).toEqual([[true, '']]);
    expect(ms).toBeLessThan(2000);
  });

  it('expands Go’s groups for regexes that go to re2js', () => {
    const t0 = performance.now();
    const r = compileLabelReplace('dst', '$1|${last}', 'src', '(a+)+(?P<last>b)');
    expect(r(ls('src', 'a'.repeat(5000) + 'b'))).toEqual(ls('dst', 'a'.repeat(5000) + '|b', 'src', 'a'.repeat(5000) + 'b'));
    expect(r(ls('src', 'a'.repeat(5000) + 'cb'))).toBeNull();
    // A group inside a repetition keeps its last value, as in Go.
    expect(compileLabelReplace('dst', '$1', 'src', '(?:(a)|b)+')(ls('src', 'ab'))).toEqual(ls('dst', 'a', 'src', 'ab'));
    expect(compileLabelReplace('dst', '${w}', 'src', '(?P<w>\\w+\\s?)+$')(ls('src', 'ab cd'))).toEqual(ls('dst', 'cd', 'src', 'ab cd'));
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('expands names Go allows and JavaScript does not', () => {
    expect(compileLabelReplace('dst', '$1x-${1x}', 'src', '(?P<1x>a)')(ls('src', 'a'))).toEqual(ls('dst', 'a-a', 'src', 'a'));
    expect(compileLabelReplace('dst', '$n', 'src', '(?P<n>a)|(?P<n>b)')(ls('src', 'b'))).toEqual(ls('dst', 'b', 'src', 'b'));
  });
});

describe('label_join', () => {
  it('joins source values, missing ones empty', () => {
    const r = compileLabelJoin('dst', '-', ['src', 'src3', 'src1']);
    expect(r(ls('src', 'a', 'src1', 'b'))).toEqual(ls('dst', 'a--b', 'src', 'a', 'src1', 'b'));
    expect(compileLabelJoin('dst', ', ', [])(ls('dst', 'x'))).toEqual([]);
    const out = funcLabelJoin([sample(ls('a', '1'), true)], call('b', '+', 'a', 'a'), new Annotations());
    expect(out).toEqual([sample(ls('a', '1', 'b', '1+1'), true)]);
  });

  it('validates source names before the destination', () => {
    expect(() => compileLabelJoin('', '-', [''])).toThrow('invalid source label name in label_join(): ');
    expect(() => compileLabelJoin('', '-', ['a'])).toThrow('invalid destination label name in label_join(): ');
  });
});

describe('absentLabels', () => {
  it('keeps equality matchers used once, without __name__', () => {
    const m = (t: MatchType, n: string, v: string) => newMatcher(t, n, v);
    expect(absentLabels([m(MatchType.EQ, '__name__', 'x'), m(MatchType.EQ, 'job', 'a'), m(MatchType.EQ, 'foo', 'bar')])).toEqual(
      ls('foo', 'bar', 'job', 'a'),
    );
    expect(absentLabels([m(MatchType.EQ, 'job', 'a'), m(MatchType.EQ, 'job', 'b'), m(MatchType.EQ, 'foo', 'bar')])).toEqual(ls('foo', 'bar'));
    expect(absentLabels([m(MatchType.RE, 'job', 'a'), m(MatchType.NEQ, 'x', 'y')])).toEqual([]);
    expect(absentLabels([m(MatchType.EQ, 'job', '')])).toEqual([]);
  });
});
