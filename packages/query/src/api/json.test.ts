import { describe, expect, it } from 'vitest';
import { FloatPoints, matrixValue, scalarValue, stringValue, vectorValue } from '@thanos-ts/promql';
import { errorBody, formatSampleValue, formatTimestamp, jsonString, queryDataParts, successBody } from './json.js';

describe('Prometheus JSON', () => {
  it('formats sample values as Go does (expectations from go run of jsonutil.MarshalFloat)', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [-0, '-0'],
      [1, '1'],
      [-1, '-1'],
      [0.1 + 0.2, '0.30000000000000004'],
      [1e-7, '1e-07'],
      [1.5e21, '1.5e+21'],
      [1e21, '1e+21'],
      [1e20, '100000000000000000000'],
      [123456789.123, '123456789.123'],
      [5e-324, '5e-324'],
      [1e-6, '0.000001'],
      [9.99999e-7, '9.99999e-07'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [NaN, 'NaN'],
      [Infinity, '+Inf'],
      [-Infinity, '-Inf'],
      [2.5e-10, '2.5e-10'],
      [0.000123, '0.000123'],
      [1e15 + 0.5, '1000000000000000.5'],
      [12345678901234567890, '12345678901234567000'],
    ];
    for (const [v, want] of cases) expect(formatSampleValue(v), String(v)).toBe(want);
  });

  it('formats timestamps as seconds with a three-digit millisecond fraction', () => {
    expect(formatTimestamp(1_700_000_000_000)).toBe('1700000000');
    expect(formatTimestamp(1_700_000_000_500)).toBe('1700000000.500');
    expect(formatTimestamp(1_700_000_000_050)).toBe('1700000000.050');
    expect(formatTimestamp(1_700_000_000_005)).toBe('1700000000.005');
    expect(formatTimestamp(-1500)).toBe('-1.500');
    expect(formatTimestamp(0)).toBe('0');
  });

  it('escapes strings as jsoniter with EscapeHTML', () => {
    expect(jsonString('plain text 123')).toBe('"plain text 123"');
    expect(jsonString('a<b>&"\\\n\t\r\b\f\u0001')).toBe('"a\\u003cb\\u003e\\u0026\\"\\\\\\n\\t\\r\\u0008\\u000c\\u0001"');
    expect(jsonString('ü€😀\u2028')).toBe('"ü€😀\\u2028"');
    expect(jsonString('x\udc80y')).toBe('"x\\ufffdy"');
  });

  it('renders every value type and the envelopes', () => {
    const m = [{ name: '__name__', value: 'up' }, { name: 'job', value: 'a<b' }];
    expect(successBody(queryDataParts(vectorValue([{ metric: m, t: 1_000_123, f: 1, h: null, dropName: false }])))).toBe(
      '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a\\u003cb"},"value":[1000.123,"1"]}]}}',
    );
    const fp = new FloatPoints();
    fp.push(1000, 0.5);
    fp.push(2000, NaN);
    expect(successBody(queryDataParts(matrixValue([{ metric: [], floats: fp, histograms: null, dropName: false }])), ['w'], ['i'])).toBe(
      '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"0.5"],[2,"NaN"]]}]},"warnings":["w"],"infos":["i"]}',
    );
    expect(queryDataParts(scalarValue(1500, -Infinity)).join('')).toBe('{"resultType":"scalar","result":[1.500,"-Inf"]}');
    expect(queryDataParts(stringValue(1000, 'x"y')).join('')).toBe('{"resultType":"string","result":[1,"x\\"y"]}');
    expect(queryDataParts(vectorValue([])).join('')).toBe('{"resultType":"vector","result":[]}');
    expect(errorBody('bad_data', 'invalid parameter "query": 1:5: parse error: unexpected <op:*>')).toBe(
      '{"status":"error","errorType":"bad_data","error":"invalid parameter \\"query\\": 1:5: parse error: unexpected \\u003cop:*\\u003e"}',
    );
  });
});
