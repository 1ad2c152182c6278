import { describe, expect, it } from 'vitest';
import { API_MAX_TIME, API_MIN_TIME, parseBool, parseDuration, parseLimit, parseTime } from './params.js';

describe('API parameters', () => {
  it('parses times as Prometheus (expectations from go run of parseTime + timestamp.FromTime)', () => {
    const cases: [string, number][] = [
      ['0.1', 100],
      ['1700000000.123', 1_700_000_000_123],
      ['1700000000.1235', 1_700_000_000_124],
      ['-1.5', -1500],
      ['1e3', 1_000_000],
      ['1700000000.0005', 1_700_000_000_000],
      ['-0.0005', -1],
      ['0.0015', 2],
      ['1.9999', 2000],
      ['2023-11-14T22:13:20Z', 1_700_000_000_000],
      ['2023-11-14T22:13:20.123456789Z', 1_700_000_000_123],
      ['2023-11-15T00:13:20.5+02:00', 1_700_000_000_500],
      ['-292273086-05-16T16:47:06Z', API_MIN_TIME],
      ['292277025-08-18T07:12:54.999999999Z', API_MAX_TIME],
    ];
    for (const [s, want] of cases) expect(parseTime(s), s).toBe(want);
    expect(() => parseTime('yesterday')).toThrow('cannot parse "yesterday" to a valid timestamp');
    expect(() => parseTime('')).toThrow('cannot parse "" to a valid timestamp');
    expect(() => parseTime('2023-13-01T00:00:00Z')).toThrow();
  });

  it('parses durations as seconds or Prometheus durations', () => {
    expect(parseDuration('15')).toBe(15_000);
    expect(parseDuration('0.5')).toBe(500);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('-1')).toBe(-1000);
    expect(() => parseDuration('1x')).toThrow('cannot parse "1x" to a valid duration');
    expect(() => parseDuration('1e20')).toThrow('cannot parse "1e20" to a valid duration. It overflows int64');
  });

  it('parses bools and limits as Go does', () => {
    expect(parseBool('1')).toBe(true);
    expect(parseBool('False')).toBe(false);
    expect(() => parseBool('yes')).toThrow('strconv.ParseBool: parsing "yes": invalid syntax');
    expect(parseLimit('')).toBe(0);
    expect(parseLimit('10')).toBe(10);
    expect(() => parseLimit('-1')).toThrow('limit must be non-negative');
    expect(() => parseLimit('x')).toThrow('strconv.Atoi: parsing "x": invalid syntax');
  });
});
