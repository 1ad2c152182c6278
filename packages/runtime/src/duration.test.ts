import { describe, expect, it } from 'vitest';
import {
  formatGoDuration,
  formatPromDuration,
  parseConfigDuration,
  parseGoDuration,
  parsePromDuration,
  parseTimeOrDuration,
} from './index.js';

describe('durations', () => {
  it('parses and formats Prometheus durations', () => {
    expect(parsePromDuration('1h30m')).toBe(5_400_000);
    expect(parsePromDuration('10s53ms')).toBe(10_053);
    expect(parsePromDuration('0')).toBe(0);
    expect(parsePromDuration('2w')).toBe(14 * 86_400_000);
    expect(() => parsePromDuration('30m1h')).toThrow('not a valid duration string');
    expect(() => parsePromDuration('1.5h')).toThrow();
    expect(formatPromDuration(5_400_000)).toBe('1h30m');
    expect(formatPromDuration(14 * 86_400_000)).toBe('2w');
  });
  it('parses and formats Go durations', () => {
    expect(parseGoDuration('1m30s')).toBe(90_000);
    expect(parseGoDuration('1.5h')).toBe(5_400_000);
    expect(parseGoDuration('500ms')).toBe(500);
    expect(() => parseGoDuration('5 minutes')).toThrow('time: invalid duration "5 minutes"');
    expect(formatGoDuration(7_200_000)).toBe('2h0m0s');
    expect(formatGoDuration(90_000)).toBe('1m30s');
    expect(formatGoDuration(300_000)).toBe('5m0s');
    expect(formatGoDuration(1_500)).toBe('1.5s');
    expect(formatGoDuration(0)).toBe('0s');
  });
  it('parses time-or-duration flag values', () => {
    const now = Date.UTC(2024, 0, 15);
    expect(parseTimeOrDuration('-2w', now)).toBe(now - 14 * 86_400_000);
    expect(parseTimeOrDuration('2024-01-01T00:00:00Z', now)).toBe(Date.UTC(2024, 0, 1));
    expect(() => parseTimeOrDuration('yesterday', now)).toThrow('neither an RFC3339 time nor a duration');
  });
});

describe('parseConfigDuration', () => {
  it.each([
    ['0', 0],
    ['1m30s', 90_000],
    ['2m', 120_000],
    ['10s', 10_000],
    ['500ms', 500],
    ['1.5s', 1_500],
    ['1h2m3s4ms', 3_723_004],
    ['1d', 86_400_000],
    ['1w', 604_800_000],
    ['250us', 0.25],
    ['1000000ns', 1],
  ])('%s = %d ms', (s, ms) => {
    expect(parseConfigDuration(s)).toBe(ms);
  });

  it.each(['', '1', '1x', 'm', '-1s', '1s ', ' 1s', '1.s.5'])('rejects %j', (s) => {
    expect(() => parseConfigDuration(s)).toThrow();
  });
});
