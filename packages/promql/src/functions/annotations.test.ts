import { describe, expect, it } from 'vitest';
import {
  Annotations,
  formatFloatPrecG,
  histogramIgnoredInMixedRangeInfo,
  invalidRatioWarning,
  mixedFloatsHistogramsWarning,
  possibleNonCounterInfo,
  sortInRangeQueryWarning,
} from './annotations.js';
import { checkCounterName } from './index.js';

describe('Annotations', () => {
  it('deduplicates by text, keeping the newest position', () => {
    const a = new Annotations();
    a.add(possibleNonCounterInfo('foo', { start: 5, end: 8 }));
    a.add(possibleNonCounterInfo('foo', { start: 0, end: 3 }));
    a.add(sortInRangeQueryWarning({ start: 0, end: 4 }));
    expect(a.size).toBe(2);
    expect(a.counts()).toEqual({ warnings: 1, infos: 1 });
    expect(a.asStrings('rate(foo[5m])')).toEqual({
      warnings: ['PromQL warning: sort is ineffective for range queries since results are always ordered by labels (1:1)'],
      infos: ['PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "foo" (1:1)'],
    });
  });

  it('renders line:col in bytes across lines, and plain text without a query', () => {
    const a = new Annotations().add(mixedFloatsHistogramsWarning('m', { start: 6, end: 7 }));
    expect(a.asStrings('ä\nabc m').warnings).toEqual(['PromQL warning: encountered a mix of histograms and floats for metric name "m" (2:5)']);
    expect(a.asStrings('').warnings).toEqual(['PromQL warning: encountered a mix of histograms and floats for metric name "m"']);
  });

  it('limits the number returned', () => {
    const a = new Annotations();
    for (const n of ['a', 'b', 'c']) a.add(histogramIgnoredInMixedRangeInfo(n, { start: 0, end: 1 }));
    expect(a.asStrings('x', 0, 2).infos).toEqual([
      'PromQL info: ignored histograms in a range containing both floats and histograms for metric name "a" (1:1)',
      'PromQL info: ignored histograms in a range containing both floats and histograms for metric name "b" (1:1)',
      '1 more info annotations omitted',
    ]);
  });

  it('merges', () => {
    const a = new Annotations().add(possibleNonCounterInfo('a', { start: 0, end: 1 }));
    const b = new Annotations().add(possibleNonCounterInfo('b', { start: 0, end: 1 }));
    expect(a.merge(b).size).toBe(2);
  });

  it('formats floats as Go %g and %.2g', () => {
    expect(invalidRatioWarning(1.5, 1, { start: 0, end: 1 }).text).toBe('PromQL warning: ratio value should be between -1 and 1, got 1.5, capping to 1');
    expect(formatFloatPrecG(3, 2)).toBe('3');
    expect(formatFloatPrecG(0.00012345, 2)).toBe('0.00012');
    expect(formatFloatPrecG(123456, 2)).toBe('1.2e+05');
    expect(formatFloatPrecG(1e-5, 2)).toBe('1e-05');
    expect(formatFloatPrecG(99.9, 2)).toBe('1e+02');
    expect(formatFloatPrecG(0.125, 2)).toBe('0.12'); // exact tie: to even
    expect(formatFloatPrecG(1.35, 2)).toBe('1.4'); // 1.35 is 1.350000000000000088…
    expect(formatFloatPrecG(2.5, 2)).toBe('2.5');
    expect(formatFloatPrecG(-1234.5, 2)).toBe('-1.2e+03');
    expect(formatFloatPrecG(10, 2)).toBe('10');
    expect(formatFloatPrecG(5e-324, 2)).toBe('4.9e-324');
  });
});

describe('checkCounterName', () => {
  it('flags named series without counter suffixes that produced output', () => {
    const pos = { start: 5, end: 12 };
    const a = new Annotations();
    checkCounterName('requests_total', true, pos, a);
    checkCounterName('x_bucket', true, pos, a);
    checkCounterName('', true, pos, a);
    checkCounterName('gauge', false, pos, a);
    expect(a.size).toBe(0);
    checkCounterName('gauge', true, pos, a);
    expect(a.asStrings('rate(gauge[5m])').infos).toEqual([
      'PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "gauge" (1:6)',
    ]);
  });
});
