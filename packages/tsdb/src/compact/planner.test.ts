import { describe, expect, it } from 'vitest';
import { emptyBlockMeta, type BlockMeta, type BlockStats } from '../block-meta/index.js';
import { planCompaction, splitByRange } from './planner.js';

// Expectations from Prometheus' tsdb/compact_test.go (TestLeveledCompactor plan,
// TestRangeWithFailedCompactionWontGetSelected, TestSplitByRange), where blocks are
// named and the planner returns names.

function meta(name: string, minTime: number, maxTime: number, stats: BlockStats = {}): BlockMeta {
  return { ...emptyBlockMeta(), ulid: name, minTime, maxTime, stats, compaction: { level: 1 } };
}

const names = (ms: readonly BlockMeta[]): string[] => ms.map((m) => m.ulid);

describe('planCompaction (Prometheus LeveledCompactor.plan cases)', () => {
  // ExponentialBlockRanges with a minimum block size of 20.
  const ranges = [20, 60, 180, 540, 1620];
  const cases: [string, BlockMeta[], string[]][] = [
    ['outside range', [meta('1', 0, 20)], []],
    ['wait for four blocks of size 20', [meta('1', 0, 20), meta('2', 20, 40)], []],
    ['three blocks, the fresh one is ignored', [meta('1', 0, 20), meta('2', 20, 40), meta('3', 40, 60)], []],
    [
      'a block filling the parent range appeared',
      [meta('1', 0, 20), meta('2', 20, 40), meta('3', 40, 60), meta('4', 60, 80)],
      ['1', '2', '3'],
    ],
    ['next parent range appeared with a gap; the fresh one is still ignored', [meta('1', 0, 20), meta('2', 20, 40), meta('3', 60, 80)], []],
    [
      'next parent range appeared, the gap will not be filled: compact the two',
      [meta('1', 0, 20), meta('2', 20, 40), meta('3', 60, 80), meta('4', 80, 100)],
      ['1', '2'],
    ],
    [
      '20, 20, 20, 60, 60 ranges; 5 is fresh',
      [meta('1', 0, 20), meta('2', 20, 40), meta('3', 40, 60), meta('4', 60, 120), meta('5', 120, 180)],
      ['1', '2', '3'],
    ],
    [
      '20, 60, 20, 60, 240 ranges: compact 20 + 60 + 60',
      [meta('2', 20, 40), meta('4', 60, 120), meta('5', 960, 980), meta('6', 120, 180), meta('7', 720, 960)],
      ['2', '4', '6'],
    ],
    ['large block with many tombstones, no fresh block', [meta('1', 0, 540, { numSeries: 10, numTombstones: 3 })], []],
    ['large block with many tombstones, a fresh one appears', [meta('1', 0, 540, { numSeries: 10, numTombstones: 3 }), meta('2', 540, 560)], ['1']],
    ['small block with tombstones, even with a fresh one', [meta('1', 0, 60, { numSeries: 10, numTombstones: 3 }), meta('2', 60, 80)], []],
    ['regression: zero tombstones and series do not loop', [meta('1', 0, 540, { numSeries: 0, numTombstones: 0 }), meta('2', 540, 560)], []],
    [
      'regression: the fresh block is the one with the largest minTime, not ULID',
      [meta('5', 0, 360), meta('6', 540, 560), meta('7', 360, 420), meta('8', 420, 540)],
      ['7', '8'],
    ],
    ['overlapping blocks 1', [meta('1', 0, 20), meta('2', 19, 40), meta('3', 40, 60)], ['1', '2']],
    ['overlapping blocks 2', [meta('1', 0, 20), meta('2', 20, 40), meta('3', 30, 50)], ['2', '3']],
    ['overlapping blocks 3', [meta('1', 0, 20), meta('2', 10, 40), meta('3', 30, 50)], ['1', '2', '3']],
    ['overlapping blocks 4', [meta('5', 0, 360), meta('6', 340, 560), meta('7', 360, 420), meta('8', 420, 540)], ['5', '6', '7', '8']],
    ['overlapping blocks 5', [meta('1', 0, 10), meta('2', 9, 20), meta('3', 30, 40), meta('4', 39, 50)], ['1', '2']],
  ];
  for (const [title, metas, expected] of cases) {
    it(title, () => {
      expect(names(planCompaction(metas, ranges, { allowOverlapping: true }))).toEqual(expected);
    });
  }

  it('entirely deleted small block is selected (NumTombstones >= NumSeries)', () => {
    expect(names(planCompaction([meta('1', 0, 60, { numSeries: 3, numTombstones: 3 }), meta('2', 60, 80)], ranges))).toEqual(['1']);
  });

  it('no panic for zero tombstones with a single range', () => {
    expect(planCompaction([meta('1', 0, 100), meta('2', 101, 200)], [50])).toEqual([]);
  });

  it('without allowOverlapping, overlaps are not selected first', () => {
    expect(names(planCompaction([meta('1', 0, 20), meta('2', 19, 40), meta('3', 40, 60)], ranges))).toEqual([]);
  });

  it('rejects empty ranges', () => {
    expect(() => planCompaction([meta('1', 0, 20)], [])).toThrow(RangeError);
  });
});

describe('planCompaction: failed compactions (TestRangeWithFailedCompactionWontGetSelected)', () => {
  const ranges = [20, 60, 240, 720, 2160];
  const cases = [
    [meta('1', 0, 20), meta('2', 20, 40), meta('3', 40, 60), meta('4', 60, 80)],
    [meta('1', 0, 20), meta('2', 20, 40), meta('3', 60, 80), meta('4', 80, 100)],
    [meta('1', 0, 20), meta('2', 20, 40), meta('3', 40, 60), meta('4', 60, 120), meta('5', 120, 180), meta('6', 180, 200)],
  ];
  cases.forEach((metas, i) => {
    it(`case ${i + 1}`, () => {
      metas[1].compaction.failed = true;
      expect(planCompaction(metas, ranges, { allowOverlapping: true })).toEqual([]);
    });
  });
});

describe('planCompaction: no-compact marks (Thanos tsdbBasedPlanner)', () => {
  const ranges = [20, 60, 180];
  it('an excluded block splits its range without gaps', () => {
    const metas = [meta('1', 0, 20), meta('2', 20, 40), meta('3', 40, 60), meta('4', 60, 80)];
    expect(names(planCompaction(metas, ranges, { excluded: new Set(['2']) }))).toEqual([]);
    expect(names(planCompaction(metas, ranges, { excluded: new Set(['1']) }))).toEqual(['2', '3']);
    expect(names(planCompaction(metas, ranges, { excluded: new Set(['3']) }))).toEqual(['1', '2']);
  });
  it('an excluded block is never part of an overlap', () => {
    const metas = [meta('1', 0, 20), meta('2', 10, 40), meta('3', 30, 50)];
    expect(names(planCompaction(metas, ranges, { allowOverlapping: true, excluded: new Set(['2']) }))).toEqual([]);
    expect(names(planCompaction(metas, ranges, { allowOverlapping: true, excluded: new Set(['1']) }))).toEqual(['2', '3']);
  });
  it('an excluded newest block still counts as the fresh one for range selection', () => {
    const metas = [meta('1', 0, 20), meta('2', 20, 40), meta('3', 40, 60), meta('4', 60, 80)];
    expect(names(planCompaction(metas, ranges, { excluded: new Set(['4']) }))).toEqual(['1', '2', '3']);
  });
});

describe('splitByRange (TestSplitByRange)', () => {
  const cases: [number, [number, number][], [number, number][][]][] = [
    [60, [[0, 10]], [[[0, 10]]]],
    [60, [[0, 60]], [[[0, 60]]]],
    [60, [[0, 10], [9, 15], [30, 60]], [[[0, 10], [9, 15], [30, 60]]]],
    [60, [[70, 90], [125, 130], [130, 180], [1000, 1001]], [[[70, 90]], [[125, 130], [130, 180]], [[1000, 1001]]]],
    [60, [[50, 70], [70, 80]], [[[70, 80]]]],
    [72, [[0, 144], [144, 216], [216, 288]], [[[144, 216]], [[216, 288]]]],
    [60, [[-10, -5]], [[[-10, -5]]]],
    [60, [[-60, -50], [-10, -5]], [[[-60, -50], [-10, -5]]]],
    [60, [[-60, -50], [-10, -5], [0, 15]], [[[-60, -50], [-10, -5]], [[0, 15]]]],
  ];
  cases.forEach(([tr, input, output], i) => {
    it(`case ${i + 1}`, () => {
      const ms = input.map(([minTime, maxTime]) => ({ minTime, maxTime }));
      expect(splitByRange(ms, tr).map((g) => g.map((m) => [m.minTime, m.maxTime]))).toEqual(output);
    });
  });
});
