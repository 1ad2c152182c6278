import { describe, expect, it } from 'vitest';
import { alignToStep, nextIntervalBoundary, splitQuery } from './split.js';
import { decodeQueryRange } from './request.js';
import { hashKey, queryRangeCacheKey, shouldCache } from './cache-key.js';

const DAY = 86_400_000;

function req(params: Record<string, string>) {
  return decodeQueryRange(new URLSearchParams(params), '/api/v1/query_range', true);
}

describe('splitQuery', () => {
  it('cuts at day boundaries without sharing a step between pieces', () => {
    const r = req({ query: 'up', start: String((DAY - 3_600_000) / 1000), end: String((2 * DAY + 3_600_000) / 1000), step: '60' });
    const pieces = splitQuery(r, DAY);
    expect(pieces.map((p) => [p.start, p.end])).toEqual([
      [DAY - 3_600_000, DAY - 60_000],
      [DAY, 2 * DAY - 60_000],
      [2 * DAY, 2 * DAY + 3_600_000],
    ]);
  });

  it('keeps steps a whole number of steps from the start when start is not aligned', () => {
    const r = { ...req({ query: 'up', start: '7', end: String((DAY + 500_000) / 1000), step: '60' }) };
    const pieces = splitQuery(r, DAY);
    expect(pieces).toHaveLength(2);
    for (const p of pieces) expect((p.start - 7000) % 60_000).toBe(0);
    expect(pieces[1].start - pieces[0].end).toBe(60_000);
  });

  it('leaves an instant-like range whole', () => {
    const r = req({ query: 'up', start: '100', end: '100', step: '15' });
    expect(splitQuery(r, DAY)).toHaveLength(1);
  });

  it('nextIntervalBoundary is the last step before the boundary', () => {
    expect(nextIntervalBoundary(0, 60_000, DAY)).toBe(DAY - 60_000);
    expect(nextIntervalBoundary(30_000, 60_000, DAY)).toBe(DAY - 30_000);
  });

  it('aligns start and end down to the step', () => {
    const r = alignToStep(req({ query: 'up', start: '61', end: '179', step: '60' }));
    expect([r.start, r.end]).toEqual([60_000, 120_000]);
  });
});

describe('decodeQueryRange', () => {
  it('answers bad parameters with Prometheus messages', () => {
    expect(() => req({ query: 'up', start: 'x', end: '1', step: '1' })).toThrow('invalid parameter "start": cannot parse "x" to a valid timestamp');
    expect(() => req({ query: 'up', start: '2', end: '1', step: '1' })).toThrow('invalid parameter "end": end timestamp must not be before start time');
    expect(() => req({ query: 'up', start: '1', end: '2', step: 'abc' })).toThrow('invalid parameter "step": cannot parse "abc" to a valid duration');
    expect(() => req({ query: 'up', start: '1', end: '2', step: '0' })).toThrow('zero or negative query resolution step widths are not accepted. Try a positive integer');
    expect(() => req({ query: 'up', start: '0', end: '100000', step: '1' })).toThrow('exceeded maximum resolution of 11,000 points per timeseries');
    expect(() => req({ query: 'up', start: '0', end: '1', step: '1', dedup: 'maybe' })).toThrow('cannot parse parameter dedup');
  });

  it('reads RFC 3339 and float times and duration steps', () => {
    const r = req({ query: 'up', start: '2024-01-01T00:00:00Z', end: '1704067260.5', step: '1m' });
    expect([r.start, r.end, r.step]).toEqual([1704067200000, 1704067260500, 60_000]);
    expect(r.dedup).toBe(true);
    expect(r.partialResponse).toBe(true);
  });
});

describe('cache key', () => {
  const base = req({ query: 'sum(up)', start: '0', end: '3600', step: '60' });
  it('differs for every parameter that changes an answer', () => {
    const key = (over: Record<string, string>): string => queryRangeCacheKey('t', req({ query: 'sum(up)', start: '0', end: '3600', step: '60', ...over }), DAY);
    const keys = [
      key({}),
      key({ step: '30' }),
      key({ partial_response: 'false' }),
      key({ max_source_resolution: '5m' }),
      key({ max_source_resolution: '1h' }),
      key({ 'replicaLabels[]': 'replica' }),
      key({ lookback_delta: '10m' }),
      key({ engine: 'thanos' }),
      key({ analyze: 'true' }),
      key({ query: 'sum(up) by (job)' }),
      queryRangeCacheKey('other', base, DAY),
      queryRangeCacheKey('t', { ...base, start: DAY, end: DAY + 3_600_000 }, DAY),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    expect(key({ max_source_resolution: '1m' })).toBe(key({}));
    // unaligned steps (align-range-with-step off) do not share extents with aligned ones
    expect(queryRangeCacheKey('t', { ...base, start: 30_000 }, DAY)).not.toBe(queryRangeCacheKey('t', base, DAY));
  });

  it('does not cache dedup=false, storeMatch[] or no-store requests', () => {
    expect(shouldCache(base)).toBe(true);
    expect(shouldCache(req({ query: 'up', start: '0', end: '60', step: '60', dedup: 'false' }))).toBe(false);
    expect(shouldCache(req({ query: 'up', start: '0', end: '60', step: '60', 'storeMatch[]': '{a="b"}' }))).toBe(false);
    expect(shouldCache({ ...base, noCache: true })).toBe(false);
  });

  it('hashes as FNV-1a 64 in hex', () => {
    expect(hashKey('')).toBe('cbf29ce484222325');
    expect(hashKey('a')).toBe('af63dc4c8601ec8c');
  });
});
