import { describe, expect, it } from 'vitest';
import { decodeCachedExtents, encodeCachedExtents } from './extent-codec.js';
import { decodeRangeResponse, encodeRangeResponse, extractRange, mergeResponses } from './response.js';

const body = JSON.stringify({
  status: 'success',
  data: {
    resultType: 'matrix',
    result: [
      { metric: { __name__: 'up', job: 'b' }, values: [[1, '1'], [61, 'NaN'], [121, '1e-7']] },
      { metric: { job: 'a', instance: 'x:1' }, values: [[61.5, '+Inf']], histograms: [[121, { count: '3', sum: '1.5', buckets: [[0, '0', '1', '3']] }]] },
    ],
  },
  warnings: ['w1'],
});

describe('extent codec', () => {
  it('round-trips an answer exactly', () => {
    const resp = decodeRangeResponse(200, {}, Buffer.from(body));
    const v = encodeCachedExtents('k', [{ start: 1000, end: 121_000, response: resp }]);
    const back = decodeCachedExtents('k', v)!;
    expect(back).toHaveLength(1);
    expect(encodeRangeResponse(back[0].response).toString()).toBe(encodeRangeResponse(resp).toString());
    expect(back[0].start).toBe(1000);
  });

  it('reads another key or damaged bytes as a miss', () => {
    const resp = decodeRangeResponse(200, {}, Buffer.from(body));
    const v = encodeCachedExtents('k', [{ start: 0, end: 1, response: resp }]);
    expect(decodeCachedExtents('other', v)).toBeNull();
    expect(decodeCachedExtents('k', v.subarray(0, v.length - 3))).toBeNull();
    expect(decodeCachedExtents('k', new Uint8Array([1, 2, 3]))).toBeNull();
  });
});

describe('merge and extract', () => {
  it('concatenates pieces by series without repeating a boundary point', () => {
    const a = decodeRangeResponse(200, {}, Buffer.from(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { a: '1' }, values: [[1, '1'], [2, '2']] }] } })));
    const b = decodeRangeResponse(200, {}, Buffer.from(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { a: '1' }, values: [[2, '2'], [3, '3']] }, { metric: { a: '0' }, values: [[3, '9']] }] }, warnings: ['x'] })));
    const m = mergeResponses([a, b]);
    expect(JSON.parse(encodeRangeResponse(m).toString())).toEqual({
      status: 'success',
      data: { resultType: 'matrix', result: [{ metric: { a: '0' }, values: [[3, '9']] }, { metric: { a: '1' }, values: [[1, '1'], [2, '2'], [3, '3']] }] },
      warnings: ['x'],
    });
    const e = extractRange(m, 2000, 2000);
    expect(e.series.map((s) => s.ts)).toEqual([[2000]]);
  });

  it('orders series as labels.Compare does', () => {
    const r = decodeRangeResponse(200, {}, Buffer.from(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { ab: '1' }, values: [[1, '1']] }, { metric: { a: '2' }, values: [[1, '1']] }, { metric: { a: '10' }, values: [[1, '1']] }] } })));
    const m = mergeResponses([r, { series: [], warnings: [], infos: [] }]);
    expect(m.series.map((s) => s.metric)).toEqual([{ a: '10' }, { a: '2' }, { ab: '1' }]);
  });
});
