// When downsampling is due, on crafted metas: the 1h step needs 5m blocks spanning 10
// days, which the e2e test cannot make cheaply (about 30 days of raw data compacted
// first), so it is checked here.
import { describe, expect, it } from 'vitest';
import type { BlockMeta } from '@thanos-ts/tsdb';
import { downsampleTodo } from './downsample.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let n = 0;

function meta(resolution: number, minTime: number, maxTime: number, sources?: string[]): BlockMeta {
  const id = `01HZZZZZZZZZZZZZZZZZZZZZ${String(n++).padStart(2, '0')}`;
  return {
    ulid: id,
    minTime,
    maxTime,
    version: 1,
    stats: {},
    compaction: { level: 4, sources: sources ?? [id] },
    thanos: { version: 1, labels: { cluster: 'eu' }, downsample: { resolution }, source: 'compactor' },
  } as unknown as BlockMeta;
}

describe('downsampleTodo', () => {
  it('raw blocks spanning 40h or more go to 5m, shorter ones stay', () => {
    const long = meta(0, 0, 40 * HOUR);
    const short = meta(0, 0, 40 * HOUR - 1);
    expect(downsampleTodo([long, short]).map((t) => [t.meta.ulid, t.resolution])).toEqual([[long.ulid, 300_000]]);
  });

  it('5m blocks spanning 10 days or more go to 1h, shorter ones stay', () => {
    const long = meta(300_000, 0, 10 * DAY);
    const short = meta(300_000, 0, 10 * DAY - 1);
    expect(downsampleTodo([long, short]).map((t) => [t.meta.ulid, t.resolution])).toEqual([[long.ulid, 3_600_000]]);
  });

  it('skips blocks whose sources a coarser block already holds, and excluded (no-downsample) blocks', () => {
    const raw = meta(0, 0, 2 * DAY, ['A', 'B']);
    const done5m = meta(300_000, 0, 2 * DAY, ['A', 'B']);
    const fiveM = meta(300_000, 0, 14 * DAY, ['C', 'D']);
    const done1h = meta(3_600_000, 0, 14 * DAY, ['C', 'D']);
    expect(downsampleTodo([raw, done5m, fiveM, done1h])).toEqual([]);
    // Only part of the sources downsampled: the block is downsampled again.
    const partial = meta(0, 0, 2 * DAY, ['A', 'E']);
    expect(downsampleTodo([partial, done5m]).map((t) => t.meta.ulid)).toEqual([partial.ulid]);
    const marked = meta(300_000, 0, 14 * DAY);
    expect(downsampleTodo([marked], new Set([marked.ulid]))).toEqual([]);
  });

  it('never downsamples 1h blocks further', () => {
    expect(downsampleTodo([meta(3_600_000, 0, 100 * DAY)])).toEqual([]);
  });
});
