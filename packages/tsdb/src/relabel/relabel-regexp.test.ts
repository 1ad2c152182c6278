import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RegexpSyntaxError, forceRegexpEngine, type RegexpEngine } from '../matchers/index.js';
import { RelabelRegexp } from './relabel-regexp.js';

function expand(regex: string, value: string, template: string): string {
  const re = RelabelRegexp.compile(regex);
  const m = re.exec(value);
  if (!m) throw new Error(`${regex} does not match ${value}`);
  return re.expand(template, m);
}

// Each test runs with the automatic engine choice, then forced onto V8 and onto re2js.
describe.each<RegexpEngine | null>([null, 'v8', 're2js'])('RelabelRegexp (engine %s)', (engine) => {
  let prev: RegexpEngine | null = null;
  beforeEach(() => {
    prev = forceRegexpEngine(engine);
  });
  afterEach(() => {
    forceRegexpEngine(prev);
  });

  it('is fully anchored and lets . match newlines', () => {
    const re = RelabelRegexp.compile('f|o');
    expect(re.matchString('f')).toBe(true);
    expect(re.matchString('foo')).toBe(false);
    expect(RelabelRegexp.compile('a.*b').matchString('a\n\nb')).toBe(true);
    expect(RelabelRegexp.compile('').matchString('')).toBe(true);
    expect(RelabelRegexp.compile('').matchString('x')).toBe(false);
    expect(RelabelRegexp.compile('(.*)').source).toBe('(.*)');
  });

  it('speaks RE2, not JavaScript', () => {
    expect(RelabelRegexp.compile('\\Qa.b\\E').matchString('a.b')).toBe(true);
    expect(RelabelRegexp.compile('\\Qa.b\\E').matchString('axb')).toBe(false);
    expect(RelabelRegexp.compile('[[:alpha:]]+').matchString('abC')).toBe(true);
    expect(RelabelRegexp.compile('(?i)abc').matchString('ABC')).toBe(true);
    expect(RelabelRegexp.compile('a{,2}').matchString('a{,2}')).toBe(true); // not a repeat in RE2
    expect(() => RelabelRegexp.compile('a(?=b)')).toThrow(RegexpSyntaxError);
    expect(() => RelabelRegexp.compile('(a)\\1')).toThrow('invalid escape sequence: `\\1`');
  });

  it('reports syntax errors on the wrapped expression, as Go does', () => {
    expect(() => RelabelRegexp.compile('a(b')).toThrow('error parsing regexp: missing closing ): `^(?s:a(b)$`');
    expect(() => RelabelRegexp.compile('[a')).toThrow('error parsing regexp: missing closing ]: `[a)$`');
    expect(() => RelabelRegexp.compile('a)')).toThrow('error parsing regexp: unexpected ): `^(?s:a))$`');
  });

  it('takes unbalanced parentheses the way Prometheus does', () => {
    // `^(?s:a)|(b)$`: "a" at the start or "b" at the end, as Go compiles it.
    const re = RelabelRegexp.compile('a)|(b');
    expect(re.matchString('axx')).toBe(true);
    expect(re.matchString('xxb')).toBe(true);
    expect(re.matchString('xax')).toBe(false);
    const m = re.exec('zzb')!;
    expect(re.expand('[$0][$1]', m)).toBe('[b][b]');
  });

  it('expands templates as Go regexp.Expand', () => {
    const re = '(?P<first>a+)(b)?(?<x1>c*)';
    expect(expand(re, 'aac', '$1-${2}-$3')).toBe('aa--c');
    expect(expand(re, 'aac', '${first}|$first|$x1|${x1}')).toBe('aa|aa|c|c');
    expect(expand(re, 'aabc', '$0')).toBe('aabc');
    // The name is the longest run of letters, digits and '_': `$1x` is the group named 1x.
    expect(expand(re, 'aac', '$1x|${1}x|$first_|$firstc')).toBe('|aax||');
    expect(expand(re, 'aac', '$$1|$|$-|${|${1|${}|a$')).toBe('$1|$|$-|${|${1|${}|a$');
    // Leading zeros make a name, not a number; numbers beyond the groups are empty.
    expect(expand(re, 'aac', '[$01][$4][$999999999]')).toBe('[][][]');
    // Unicode letters and digits are name characters, as in Go (group names are ASCII).
    expect(expand('(?P<x>x)', 'x', '${x}|$xä|$x٣|$x-|$x\u00a0')).toBe('x|||x-|x\u00a0');
    expect(expand('(x)', 'x', 'no vars')).toBe('no vars');
  });

  it('uses the first participating group of a duplicated name', () => {
    const re = '(?P<n>a)|(?P<n>b)';
    expect(expand(re, 'a', '$n')).toBe('a');
    expect(expand(re, 'b', '$n')).toBe('b');
    expect(expand(re, 'b', '$1/$2')).toBe('/b');
  });
});

describe('RelabelRegexp on hostile regexes', () => {
  let prev: RegexpEngine | null = null;
  beforeEach(() => {
    prev = forceRegexpEngine(null);
  });
  afterEach(() => {
    forceRegexpEngine(prev);
  });

  it('runs them on re2js in linear time, with Go’s groups', () => {
    const t0 = performance.now();
    const re = RelabelRegexp.compile('(a+)+b');
    expect(re.engine).toBe('re2js');
    expect(re.matchString('a'.repeat(5000) + 'cb')).toBe(false);
    expect(re.expand('$1', re.exec('a'.repeat(40) + 'b')!)).toBe('a'.repeat(40));
    const dots = RelabelRegexp.compile('(.*){16}[!#]');
    expect(dots.matchString('x'.repeat(5000))).toBe(false);
    expect(dots.expand('[$1]', dots.exec('x'.repeat(100) + '#')!)).toBe('[]');
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('keeps simple regexes on V8', () => {
    for (const src of ['(.*)', 'foo', '(.*)-(.*)', '([^:]+):\\d+', 'a)|(b']) expect([src, RelabelRegexp.compile(src).engine]).toEqual([src, 'v8']);
  });

  it('takes the last value of a group inside a repetition, as Go', () => {
    expect(expand('(?:(a)|b)+', 'ab', '$1')).toBe('a');
    expect(expand('((?:\\w+\\.)*)(\\w+)', 'a.b.c', '$1|$2')).toBe('a.b.|c');
  });
});
