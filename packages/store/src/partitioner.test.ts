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
  it('starts a new read where merging would pass maxRead', () => {
    // Ranges of 100 bytes every 300: three fit in a read of 800 bytes, a fourth would not.
    const starts = [0, 300, 600, 900, 1200];
    const ends = starts.map((x) => x + 100);
    expect(partitionRanges(starts, ends, 500, 800)).toEqual([
      { start: 0, end: 700, from: 0, to: 3 },
      { start: 900, end: 1300, from: 3, to: 5 },
    ]);
    // A range longer than maxRead is a read of its own.
    expect(partitionRanges([0, 50], [1000, 1100], 500, 800)).toEqual([
      { start: 0, end: 1000, from: 0, to: 1 },
      { start: 50, end: 1100, from: 1, to: 2 },
    ]);
  });
});
