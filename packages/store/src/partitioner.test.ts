import { describe, expect, it } from 'vitest';
import { partitionRanges } from './partitioner.js';

describe('partitionRanges', () => {
  it('merges ranges separated by small gaps and keeps distant ones apart', () => {
    const parts = partitionRanges([0, 100, 150, 10_000, 10_050], [50, 120, 400, 10_020, 10_100], 100);
    expect(parts).toEqual([
      { start: 0, end: 400, from: 0, to: 3 },
      { start: 10_000, end: 10_100, from: 3, to: 5 },
    ]);
  });
  it('handles contained and overlapping ranges', () => {
    expect(partitionRanges([0, 10, 20], [100, 20, 30], 0)).toEqual([{ start: 0, end: 100, from: 0, to: 3 }]);
    expect(partitionRanges([], [], 10)).toEqual([]);
  });
});
