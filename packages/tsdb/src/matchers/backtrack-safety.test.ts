import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backtrackCost } from './backtrack-safety.js';
import { compileRegexp, forceRegexpEngine, regexpEngineFor } from './compiled-regexp.js';
import { FastRegexMatcher } from './fast-regex.js';
import { MatchType, newMatcher } from './matcher.js';
import { parseRE2 } from './re2.js';

const engineOf = (re: string): string => regexpEngineFor(parseRE2(re));

// These tests are about the automatic choice: ignore THANOS_TS_REGEXP_ENGINE.
let prevEngine: ReturnType<typeof forceRegexpEngine> = null;
beforeAll(() => {
  prevEngine = forceRegexpEngine(null);
});
afterAll(() => {
  forceRegexpEngine(prevEngine);
});

describe('which regexes stay on V8', () => {
  it('keeps the common shapes on V8', () => {
    const common = [
      'foo',
      'foo|bar|baz',
      'foo.*',
      '.*foo',
      '.*foo.*',
      '.+',
      '[a-z]+',
      '[a-z0-9_-]+',
      'foo|bar.*',
      '(foo|bar)baz.*',
      'host-1.*',
      'pod-1.*5',
      '(?i)foo.*',
      '(.*)-(.*)',
      '(\\d+\\.){3}\\d+',
      '[a-z0-9-]+\\.example\\.com(:\\d+)?',
      '(?:\\w+-)*\\w+',
      '2..|5..',
      'a{2,5}b',
      '(?P<host>[^:]+):(?P<port>\\d+)',
    ];
    expect(common.map((re) => [re, engineOf(re)])).toEqual(common.map((re) => [re, 'v8']));
    // The default relabel regex, searched for in its `^(?s:…)$` wrapper.
    expect(regexpEngineFor(parseRE2('^(?s:(.*))$', true), false)).toBe('v8');
  });

  it('sends nested, ambiguous and long polynomial repeats to re2js', () => {
    const hostile = [
      '(a+)+b',
      '(a|a)*b',
      '(a|ab)*c',
      '(.*){16}[!#]',
      '(x+x+)+y',
      '(\\w+\\s?)+$',
      '.*.*.*.*.*=.*',
      '.*a.*a.*a.*b',
      '(a?){30}a{30}',
      '(a*)*',
      'a+a*a+',
      '.*foo.*bar',
      '(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a)(?:a|a).*a.*b',
      '(?i)(k|\u212a)+x',
    ];
    expect(hostile.map((re) => [re, engineOf(re)])).toEqual(hostile.map((re) => [re, 're2js']));
  });

  it('bounds paths by c·n^deg', () => {
    const cost = (re: string): [number, number] => {
      const k = backtrackCost(parseRE2(re));
      return [k.deg, k.c];
    };
    expect(cost('foo')).toEqual([0, 1]);
    expect(cost('[a-z]+-[0-9]+')).toEqual([0, 1]); // give-backs fail at once
    expect(cost('.*foo')).toEqual([1, 1]);
    expect(cost('.*a.*b')).toEqual([2, 1]);
    expect(cost('(a|ab)(c|cd)')).toEqual([0, 4]);
    expect(cost('a?a')).toEqual([0, 2]);
    expect(cost('(.*){16}x')).toEqual([16, 1]);
    expect(cost('(a+)+')[0]).toBe(Infinity);
    // An unanchored search tries every start: one degree more.
    expect(backtrackCost(parseRE2('a.*b'), false).deg).toBe(2);
    expect(backtrackCost(parseRE2('^a.*b'), false).deg).toBe(1);
  });

  it('sends groups inside repetitions to re2js (Go’s submatch values)', () => {
    expect(regexpEngineFor(parseRE2('(?:(a)|b)+', true))).toBe('re2js');
    expect(regexpEngineFor(parseRE2('(a)?b', true))).toBe('v8');
    expect(regexpEngineFor(parseRE2('(?:(a)|b)+', false))).toBe('v8'); // matching only: no groups
  });
});

// Classic ReDoS patterns and inputs that defeat the prefix/suffix prefilters. Expected
// answers are Go's (fully anchored RE2), worked out by hand: these patterns are simple
// enough; the engines' agreement with Go on the oracle table is tested in matcher.test.ts.
const redos: [string, (n: number) => string, boolean][] = [
  ['(a+)+b', (n) => 'a'.repeat(n) + 'cb', false],
  ['(a+)+b', (n) => 'a'.repeat(n) + 'b', true],
  ['(a|a)*b', (n) => 'a'.repeat(n) + 'cb', false],
  ['(a|aa)+c', (n) => 'a'.repeat(n) + 'bc', false],
  ['(.*){16}[!#]', (n) => 'x'.repeat(n), false],
  ['(.*){16}[!#]', (n) => 'x'.repeat(n) + '#', true],
  ['(x+x+)+y', (n) => 'x'.repeat(n) + 'zy', false],
  ['(x+x+)+y', (n) => 'x'.repeat(n) + 'y', true],
  ['(\\w+\\s?)+$', (n) => 'a'.repeat(n) + '!', false],
  ['(\\w+\\s?)+$', (n) => 'ab '.repeat(Math.ceil(n / 3)), true],
  ['.*.*.*.*.*=.*', (n) => 'a'.repeat(n), false],
  ['.*.*.*.*.*=.*', (n) => 'a'.repeat(n) + '=', true],
  ['.*a.*a.*a.*b', (n) => 'a'.repeat(n) + 'c', false],
  ['(?i)(k|\u212a)+x', (n) => 'k'.repeat(n) + 'y', false],
];
const LENGTHS = [30, 100, 1000, 5000];
// Backtracking takes seconds to years on these; linear matching a few ms.
const BOUND_MS = 2000;

describe('classic ReDoS patterns run in linear time', () => {
  it.each(redos)('%s', (re, input, want) => {
    const m = newMatcher(MatchType.RE, 'l', re);
    const withCaptures = compileRegexp(re, { captures: true });
    for (const n of LENGTHS) {
      const v = input(n);
      const t0 = performance.now();
      expect([n, m.matches(v), withCaptures.test(v), withCaptures.exec(v) !== null]).toEqual([n, want, want, want]);
      const ms = performance.now() - t0;
      expect(ms, `${re} on ${n} chars`).toBeLessThan(BOUND_MS);
    }
  });

  it('(a?){30}a{30}: exponential in the pattern, not the text', () => {
    const m = new FastRegexMatcher('(a?){30}a{30}');
    const t0 = performance.now();
    expect(m.matchString('a'.repeat(30))).toBe(true);
    expect(m.matchString('a'.repeat(29))).toBe(false);
    expect(performance.now() - t0).toBeLessThan(BOUND_MS);
  });

  it('a store-gateway matcher instance=~"(.*){16}[!#]" over 20k label values', () => {
    const values = Array.from({ length: 20_000 }, (_, i) => `host-${i}.eu-west-1.compute.internal:9100`);
    const m = newMatcher(MatchType.RE, 'instance', '(.*){16}[!#]');
    const t0 = performance.now();
    let n = 0;
    for (const v of values) if (m.matches(v)) n++;
    expect(n).toBe(0);
    expect(performance.now() - t0).toBeLessThan(BOUND_MS);
  });
});

describe('patterns proven safe run fast on V8', () => {
  // Random regexes over a tiny alphabet, kept when the rule says V8; each runs on V8
  // against texts that hurt backtracking most (long runs of one letter, a bad end). The
  // rule allows quadratic work (one ambiguous unbounded repeat): ~100-200 ms at worst on
  // 5000 characters; a regression to cubic or exponential takes many seconds.
  it('no pattern the rule keeps on V8 backtracks for long on 5000-character texts', () => {
    let seed = 42;
    const rnd = (k: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return (seed >>> 8) % k;
    };
    const atoms = ['a', 'b', '.', '[ab]', '[^b]', '\\w', 'ab', 'aa'];
    const atom = (d: number): string => {
      const r = rnd(d > 2 ? 8 : 12);
      if (r < 8) return atoms[r];
      if (r <= 9) return `(${gen(d + 1)})`;
      return `(${gen(d + 1)}|${gen(d + 1)})`;
    };
    const quant = (): string => ['', '', '', '*', '+', '?', '{2}', '{1,3}', '*?', '{0,20}', '{3,}'][rnd(11)];
    const gen = (d: number): string => {
      let s = '';
      const len = 1 + rnd(5);
      for (let i = 0; i < len; i++) s += atom(d) + quant();
      return s;
    };
    const n = 5000;
    const texts = ['a'.repeat(n), 'a'.repeat(n) + 'c', 'ab'.repeat(n / 2) + 'c', 'b'.repeat(n) + 'a', 'aab'.repeat(n / 5) + 'c'];
    let kept = 0;
    let worst = 0;
    let worstRe = '';
    for (let i = 0; i < 2000; i++) {
      const re = gen(0);
      let r;
      try {
        r = compileRegexp(re);
      } catch {
        continue; // nested counts beyond RE2's 1000
      }
      if (r.engine !== 'v8') continue;
      kept++;
      for (const t of texts) {
        const t0 = performance.now();
        r.test(t);
        const ms = performance.now() - t0;
        if (ms > worst) [worst, worstRe] = [ms, re];
      }
    }
    expect(kept).toBeGreaterThan(400);
    expect(worst, `slowest: ${worstRe}`).toBeLessThan(1000);
  });
});
