import { STALE_NAN, isStaleNaN } from '@thanos-ts/tsdb';
import { describe, expect, it } from 'vitest';
import { CounterResetHint } from './histogram.js';
import { parseMetric, parseSeriesDesc } from './series-desc.js';

function values(input: string): Array<number | string> {
  return parseSeriesDesc(input).values.map((v) => (v.omitted ? '_' : v.histogram !== null ? 'h' : isStaleNaN(v.value) ? 'stale' : v.value));
}

describe('parseSeriesDesc', () => {
  it('parses the metric', () => {
    expect(parseSeriesDesc('{} 1').labels).toEqual([]);
    expect(parseSeriesDesc('m 1').labels).toEqual([{ name: '__name__', value: 'm' }]);
    expect(parseSeriesDesc('m{b="2", a="1"} 1').labels).toEqual([
      { name: '__name__', value: 'm' },
      { name: 'a', value: '1' },
      { name: 'b', value: '2' },
    ]);
    expect(parseSeriesDesc('{"http.requests", "service.name"="api"}\t\t0').labels).toEqual([
      { name: '__name__', value: 'http.requests' },
      { name: 'service.name', value: 'api' },
    ]);
    expect(parseSeriesDesc('sum{a="\\u70ac"} 1').labels).toEqual([
      { name: '__name__', value: 'sum' },
      { name: 'a', value: '炬' },
    ]);
    expect(parseSeriesDesc('').values).toEqual([]);
  });

  it('expands value sequences', () => {
    expect(values('m 1 2 3')).toEqual([1, 2, 3]);
    expect(values('m 1x3')).toEqual([1, 1, 1, 1]);
    expect(values('m 0+10x3')).toEqual([0, 10, 20, 30]);
    expect(values('m 10-2x3')).toEqual([10, 8, 6, 4]);
    expect(values('m -5+2x3')).toEqual([-5, -3, -1, 1]);
    expect(values('m 1-1x3')).toEqual([1, 0, -1, -2]);
    expect(values('m 1 _ 2 _x3 3')).toEqual([1, '_', 2, '_', '_', '_', 3]);
    expect(values('m _x0 1x0 1+1x0')).toEqual([1, 1]);
    expect(values('m stale 1 stale')).toEqual(['stale', 1, 'stale']);
    expect(values('m 1 -1 +1 Inf -Inf 1e3 .5')).toEqual([1, -1, 1, Infinity, -Infinity, 1000, 0.5]);
    expect(values('m 1 2 3    ')).toEqual([1, 2, 3]);
    expect(values('m 0x10')).toEqual(Array(11).fill(0)); // no hexadecimal here: 0 repeated
    expect(parseSeriesDesc('m NaN').values[0].value).toBeNaN();
    expect(isStaleNaN(parseSeriesDesc('m stale').values[0].value)).toBe(true);
    expect(STALE_NAN).toBeNaN();
  });

  it('adds increments repeatedly, like Prometheus', () => {
    const got = parseSeriesDesc('m 0+0.1x10').values.map((v) => v.value);
    let x = 0;
    const want: number[] = [];
    for (let i = 0; i <= 10; i++) {
      want.push(x);
      x += 0.1;
    }
    expect(got).toEqual(want);
    expect(got[10]).not.toBe(1); // 0.9999999999999999, not 10 * 0.1
  });

  it('parses native histogram literals', () => {
    const [v] = parseSeriesDesc(
      'm {{schema:1 sum:-0.3 count:3.1 z_bucket:7.1 z_bucket_w:0.05 buckets:[5.1 10 7] offset:-3 n_buckets:[4.1 5] n_offset:5 counter_reset_hint:gauge}}',
    ).values;
    expect(v.counterResetHintSet).toBe(true);
    expect(v.histogram).toMatchObject({
      schema: 1,
      sum: -0.3,
      count: 3.1,
      zeroCount: 7.1,
      zeroThreshold: 0.05,
      positiveSpans: [{ offset: -3, length: 3 }],
      positiveBuckets: [5.1, 10, 7],
      negativeSpans: [{ offset: 5, length: 2 }],
      negativeBuckets: [4.1, 5],
      counterResetHint: CounterResetHint.Gauge,
      customValues: null,
    });
    const [c] = parseSeriesDesc('m {{schema:-53 sum:1 count:2 custom_values:[5 10] buckets:[1 1]}}').values;
    expect(c.histogram).toMatchObject({ schema: -53, customValues: [5, 10], positiveBuckets: [1, 1] });
    expect(c.counterResetHintSet).toBe(false);
    expect(parseSeriesDesc('m {{}} {{ }}').values.map((x) => x.histogram?.count)).toEqual([0, 0]);
  });

  it('repeats and increments histograms', () => {
    const rep = parseSeriesDesc('m {{sum:1 count:1}}x2').values;
    expect(rep.length).toBe(3);
    expect(rep.every((v) => v.histogram?.sum === 1)).toBe(true);

    const inc = parseSeriesDesc('m {{schema:0 sum:4 count:4 buckets:[1 2 1]}}+{{sum:2 count:1 buckets:[1] offset:1}}x2').values;
    expect(inc.map((v) => [v.histogram?.sum, v.histogram?.count, v.histogram?.positiveBuckets])).toEqual([
      [4, 4, [1, 2, 1]],
      [6, 5, [1, 3, 1]],
      [8, 6, [1, 4, 1]],
    ]);

    const dec = parseSeriesDesc('m {{buckets:[5 10 7] schema:1}}-{{buckets:[1 2 3] schema:1}}x2').values;
    expect(dec.map((v) => v.histogram?.positiveBuckets)).toEqual([
      [5, 10, 7],
      [4, 8, 4],
      [3, 6, 1],
    ]);

    // A finer increment is reduced to the base's schema.
    const mixed = parseSeriesDesc('m {{buckets:[5] schema:0}}+{{buckets:[1 2] schema:1}}x2').values;
    expect(mixed.map((v) => [v.histogram?.positiveSpans, v.histogram?.positiveBuckets])).toEqual([
      [[{ offset: 0, length: 1 }], [5]],
      [[{ offset: 0, length: 2 }], [6, 2]],
      [[{ offset: 0, length: 2 }], [7, 4]],
    ]);

    // The hint of the increment decides whether hints are compared.
    const hinted = parseSeriesDesc('m {{sum:1}}+{{sum:1 counter_reset_hint:gauge}}x1').values;
    expect(hinted.map((v) => [v.counterResetHintSet, v.histogram?.counterResetHint])).toEqual([
      [true, CounterResetHint.Unknown],
      [true, CounterResetHint.Gauge],
    ]);
  });

  it('reports errors like Prometheus', () => {
    const cases: Array<[string, string]> = [
      ['{"http.requests"xx}\t\t0+50x2', '1:17: parse error: unexpected identifier "xx" in label set, expected "," or "}"'],
      ['{"http.requests"=, x="y"}\t\t0+50x2', '1:18: parse error: unexpected "," in label set, expected string'],
      ['{"http.requests}\t\t0+50x2', '1:2: parse error: unterminated quoted string'],
      ['{a!="b"} 1', '1:3: parse error: unexpected <op:!=> in label set, expected "="'],
      ['{} 1+1', '1:7: parse error: unexpected end of input in series values'],
      ['m 1 3 _ 5 _a4', '1:12: parse error: unexpected identifier "a4"'],
      ['m -3 _-2', '1:7: parse error: unexpected <op:->'],
      ['{}1', '1:3: parse error: unexpected number "1" in series values'],
      ['m 1 x3', '1:5: parse error: unexpected "x"'],
      ['m 1+', '1:5: parse error: unexpected end of input in series values'],
      ['m 1 foo', '1:5: parse error: unexpected identifier "foo" in series values, expected number or "stale"'],
      ['m 1x1.5', '1:5: parse error: invalid repetition in series values: strconv.ParseUint: parsing "1.5": invalid syntax'],
      ['m {{schema:1 schema:1}}', '1:1: parse error: duplicate key "schema" in histogram'],
      ['m {{foo:1}}', '1:5: parse error: bad histogram descriptor found: "foo"'],
      ['m {{schema :1}}', '1:5: parse error: missing `:` for histogram descriptor'],
      ['m {{schema: 1}}', '1:12: parse error: unexpected " " in series values'],
      ['m {{ schema:1}}', '1:6: parse error: unexpected "<Item 57372>" "schema" in series values'],
      ['m {{sum:1 count}}', '1:11: parse error: missing `:` for histogram descriptor'],
      ['m {{sum:1 count:}}', '1:17: parse error: unexpected "}}" in histogram description, expected histogram description key, e.g. buckets:[5 10 7]'],
      ['m {{buckets:[5 10 7] schema:1}}+{{buckets:[1 2 3] schema:0}}x2', '1:62: parse error: error combining histograms: cannot merge from schema 0 to 1'],
      [
        'm {{schema:-53 sum:1}}+{{schema:0 sum:1}}x1',
        '1:43: parse error: cannot apply this operation on histograms with a mix of exponential and custom bucket schemas',
      ],
    ];
    for (const [input, want] of cases) expect(() => parseSeriesDesc(input), input).toThrow(want);
  });
});

describe('parseMetric', () => {
  it('parses labels', () => {
    expect(parseMetric('up{job="a"}')).toEqual([
      { name: '__name__', value: 'up' },
      { name: 'job', value: 'a' },
    ]);
    expect(() => parseMetric('up 1')).toThrow('1:4: parse error: unexpected number "1"');
  });
});
