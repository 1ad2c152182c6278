import { describe, expect, it } from 'vitest';
import { FloatHistogram, FloatPoints, HistogramPoints, matrixValue, scalarValue, stringValue, vectorValue } from '@thanos-ts/promql';
import type { Series, Value } from '@thanos-ts/promql';
import { errorBody, formatSampleValue, formatTimestamp, jsonString, queryDataBytes, queryDataParts, successBody } from './json.js';
import { rng } from '@thanos-ts/testutil';

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


const SPECIAL = [
  NaN, Infinity, -Infinity, 0, -0, 5e-324, -5e-324, Number.MAX_VALUE, Number.MIN_VALUE, 1e-6, 9.99999e-7, 1e-7, 1.0000000000000002e-6,
  1e21, 999999999999999900000, 1e20, 2 ** 53, 2 ** 53 - 1, 2 ** 53 + 2, 2 ** 51, 2 ** 51 - 0.5, 2 ** 52 + 0.5, 0.1 + 0.2, 1 / 3, 2 / 3, 0.5,
  1.6666666666666667, 0.9999999999999999, 1.0000000000000002, 123456789.123, 1e15 + 0.5, 12345678901234567890, 0.000123, 1e-5, 4.35, 1.005,
];

/** Values as a query answers them: integers, short decimals, rates, specials, and random bit patterns. */
function randomValue(r: () => number): number {
  const sign = r() < 0.3 ? -1 : 1;
  switch (Math.floor(r() * 8)) {
    case 0:
      return SPECIAL[Math.floor(r() * SPECIAL.length)] * (r() < 0.5 ? 1 : -1);
    case 1:
      return sign * Math.floor(r() * 10 ** Math.floor(r() * 17));
    case 2: {
      const k = Math.floor(r() * 12);
      return (sign * Math.round(r() * 10 ** Math.floor(r() * 16))) / 10 ** k;
    }
    case 3:
      return (sign * Math.floor(r() * 100000)) / [60, 300, 7, 3, 1000, 3600][Math.floor(r() * 6)];
    case 4:
      return sign * r() * 10 ** (Math.floor(r() * 60) - 30);
    case 5: {
      const b = new Uint32Array(2);
      b[0] = Math.floor(r() * 2 ** 32);
      b[1] = Math.floor(r() * 2 ** 32);
      return new Float64Array(b.buffer)[0];
    }
    case 6:
      return sign * 10 ** (Math.floor(r() * 50) - 25) * (1 + Math.floor(r() * 9));
    default:
      return sign * Math.floor(r() * 1e6) * 0.001;
  }
}

function randomTimestamp(r: () => number): number {
  switch (Math.floor(r() * 5)) {
    case 0:
      return Math.floor(r() * 2e12 - 1e12) * 1000; // zero fraction
    case 1:
      return -Math.floor(r() * 1e13);
    case 2:
      return Math.floor(r() * 3000) - 1500;
    case 3:
      return [0, -0, 1, -1, 999, -999, 1000, -1000, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER][Math.floor(r() * 10)];
    default:
      return 1_700_000_000_000 + Math.floor(r() * 1e9);
  }
}

function randomHistogram(r: () => number): FloatHistogram {
  const h = new FloatHistogram();
  h.schema = Math.floor(r() * 4);
  h.zeroThreshold = 1e-3;
  h.zeroCount = Math.floor(r() * 3);
  h.positiveSpans = [{ offset: Math.floor(r() * 4) - 2, length: 2 }];
  h.positiveBuckets = [Math.floor(r() * 10), randomValue(r)];
  h.count = h.zeroCount + h.positiveBuckets[0];
  h.sum = randomValue(r);
  return h;
}

const LABEL_VALUES = ['a', 'x<y>&"z"\\', 'ü€😀\u2028', 'line\nbreak', 'x\udc80y'];

function randomSeries(r: () => number, points: number): Series {
  const metric = [{ name: '__name__', value: 'm' + Math.floor(r() * 100) }];
  if (r() < 0.5) metric.push({ name: 'v', value: LABEL_VALUES[Math.floor(r() * LABEL_VALUES.length)].repeat(1 + Math.floor(r() * 3)) });
  if (r() < 0.05) metric.push({ name: 'long', value: 'é'.repeat(40_000) }); // longer than a piece
  const floats = new FloatPoints();
  for (let j = 0; j < points; j++) floats.push(randomTimestamp(r), randomValue(r));
  let histograms: HistogramPoints | null = null;
  if (r() < 0.2) {
    histograms = new HistogramPoints();
    for (let j = 0; j < 3; j++) histograms.push(randomTimestamp(r), randomHistogram(r));
  }
  return { metric, floats, histograms, dropName: false };
}

/** The byte encoder's pieces, checked for size, joined. */
function encodeBytes(v: Value, size: number): Buffer {
  const pieces = [...queryDataBytes(v, size)];
  const wrong = pieces.findIndex((p, i) => (i < pieces.length - 1 ? p.length !== size : p.length > size || p.length === 0));
  expect(wrong, `piece ${wrong} of ${pieces.length} is ${pieces[wrong]?.length} bytes`).toBe(-1);
  return Buffer.concat(pieces);
}

describe('queryDataBytes', () => {
  it('writes the same bytes as queryDataChunks for random matrices, in pieces of the asked size', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const matrix = Array.from({ length: Math.floor(r() * 20) }, () => randomSeries(r, Math.floor(r() * 300)));
      const v = matrixValue(matrix);
      const want = Buffer.from(queryDataParts(v).join(''), 'utf8');
      for (const size of [7, 100, 4096, 64 * 1024]) {
        const got = encodeBytes(v, size);
        if (!got.equals(want)) expect(got.toString('utf8'), `seed ${seed}, size ${size}`).toBe(want.toString('utf8'));
      }
    }
  });

  it('formats every sample value and timestamp as the string encoder does', () => {
    const r = rng(12345);
    const fp = new FloatPoints();
    for (const f of SPECIAL) {
      fp.push(0, f);
      fp.push(0, -f);
    }
    for (let i = 0; i < 200_000; i++) fp.push(randomTimestamp(r), randomValue(r));
    const v = matrixValue([{ metric: [], floats: fp, histograms: null, dropName: false }]);
    const got = encodeBytes(v, 64 * 1024).toString('utf8');
    const want = queryDataParts(v).join('');
    if (got !== want) {
      // Name the first point that differs rather than dumping megabytes.
      const gotPoints = got.split('],[');
      const wantPoints = want.split('],[');
      const i = gotPoints.findIndex((p, j) => p !== wantPoints[j]);
      expect(gotPoints[i], `point ${i}: t=${fp.t[i]} f=${fp.f[i]}`).toBe(wantPoints[i]);
    }
  });

  it('writes the other value types as queryDataChunks does', () => {
    const r = rng(7);
    const vec = Array.from({ length: 50 }, (_, i) => ({
      metric: randomSeries(r, 0).metric,
      t: randomTimestamp(r),
      f: randomValue(r),
      h: i % 7 === 0 ? randomHistogram(r) : null,
      dropName: false,
    }));
    const values = [vectorValue(vec), vectorValue([]), matrixValue([]), scalarValue(1500, -Infinity), scalarValue(-1, 0.1), stringValue(1000, 'x"y<')];
    for (const v of values) {
      for (const size of [3, 64 * 1024]) expect(encodeBytes(v, size).toString('utf8')).toBe(queryDataParts(v).join(''));
    }
  });
});
