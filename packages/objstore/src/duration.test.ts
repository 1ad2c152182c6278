import { describe, expect, it } from 'vitest';

import { parseDuration } from './duration.js';

describe('parseDuration', () => {
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
    expect(parseDuration(s)).toBe(ms);
  });

  it.each(['', '1', '1x', 'm', '-1s', '1s ', ' 1s', '1.s.5'])('rejects %j', (s) => {
    expect(() => parseDuration(s)).toThrow();
  });
});
