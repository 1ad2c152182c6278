import { describe, expect, it } from 'vitest';
import { ValueType } from '../chunkenc/index.js';
import { labelsFromStrings, type Labels } from '../labels/index.js';
import type { Querier, Series, SeriesIterator } from './index.js';
import { ChainSampleIterator, mergeQueriers, mergeSeriesSets } from './index.js';

class ArrayIterator implements SeriesIterator {
  private i = -1;
  constructor(
    private readonly s: [number, number][],
    private readonly failAt = -1,
  ) {}
  next(): ValueType {
    if (this.i + 1 === this.failAt) return ValueType.None;
    return ++this.i < this.s.length ? ValueType.Float : ((this.i = this.s.length), ValueType.None);
  }
  seek(t: number): ValueType {
    if (this.i >= 0 && this.i < this.s.length && this.s[this.i][0] >= t) return ValueType.Float;
    while (this.next() !== ValueType.None) if (this.s[this.i][0] >= t) return ValueType.Float;
    return ValueType.None;
  }
  atT(): number {
    return this.s[this.i][0];
  }
  atF(): number {
    return this.s[this.i][1];
  }
  err(): Error | null {
    return this.failAt >= 0 && this.i + 1 >= this.failAt ? new Error('boom') : null;
  }
}

function all(it: SeriesIterator): [number, number][] {
  const out: [number, number][] = [];
  while (it.next() !== ValueType.None) out.push([it.atT(), it.atF()]);
  return out;
}

describe('ChainSampleIterator', () => {
  it('concatenates non-overlapping iterators in time order', () => {
    const it = new ChainSampleIterator([new ArrayIterator([[5, 5], [6, 6]]), new ArrayIterator([[1, 1], [2, 2]]), new ArrayIterator([])]);
    expect(all(it)).toEqual([[1, 1], [2, 2], [5, 5], [6, 6]]);
    expect(it.next()).toBe(ValueType.None);
  });

  it('interleaves overlapping ones and keeps the first iterator on equal timestamps', () => {
    const a = new ArrayIterator([[1, 10], [3, 30], [5, 50], [7, 70]]);
    const b = new ArrayIterator([[2, -2], [3, -3], [4, -4], [7, -7], [8, -8]]);
    const c = new ArrayIterator([[3, 99], [9, 99]]);
    expect(all(new ChainSampleIterator([a, b, c]))).toEqual([[1, 10], [2, -2], [3, 30], [4, -4], [5, 50], [7, 70], [8, -8], [9, 99]]);
  });

  it('seeks forward only', () => {
    const mk = (): ChainSampleIterator =>
      new ChainSampleIterator([new ArrayIterator([[1, 1], [4, 4], [9, 9]]), new ArrayIterator([[2, 2], [4, 40], [6, 6]])]);
    const it = mk();
    expect(it.seek(3)).toBe(ValueType.Float);
    expect([it.atT(), it.atF()]).toEqual([4, 4]);
    expect(it.seek(0)).toBe(ValueType.Float);
    expect(it.atT()).toBe(4);
    expect(it.next()).toBe(ValueType.Float);
    expect([it.atT(), it.atF()]).toEqual([6, 6]);
    expect(it.seek(7)).toBe(ValueType.Float);
    expect(it.atT()).toBe(9);
    expect(it.seek(10)).toBe(ValueType.None);
    const fresh = mk();
    expect(fresh.seek(-5)).toBe(ValueType.Float);
    expect(fresh.atT()).toBe(1);
  });

  it('stops with the error of a failing iterator', () => {
    const it = new ChainSampleIterator([new ArrayIterator([[1, 1], [2, 2], [3, 3]], 2), new ArrayIterator([[10, 10]])]);
    expect(all(it)).toEqual([[1, 1], [2, 2]]);
    expect(it.err()?.message).toBe('boom');
  });
});

function series(labels: Labels, samples: [number, number][]): Series {
  return { labels, iterator: () => new ArrayIterator(samples) };
}

async function* gen(ss: Series[]): AsyncGenerator<Series> {
  for (const s of ss) yield s;
}

describe('mergeSeriesSets', () => {
  const a = labelsFromStrings('n', 'a');
  const b = labelsFromStrings('n', 'b');
  const c = labelsFromStrings('n', 'c');

  it('merges sorted sets by labels, chaining equal series', async () => {
    const out: [Labels, [number, number][]][] = [];
    for await (const s of mergeSeriesSets([gen([series(a, [[1, 1]]), series(c, [[1, 1]])]), gen([]), gen([series(a, [[1, 9], [2, 2]]), series(b, [[5, 5]])])])) {
      out.push([s.labels, all(s.iterator())]);
    }
    expect(out).toEqual([
      [a, [[1, 1], [2, 2]]],
      [b, [[5, 5]]],
      [c, [[1, 1]]],
    ]);
  });

  it('merges queriers: select and sorted label unions', async () => {
    const q = (ss: Series[], names: string[]): Querier => ({
      select: () => gen(ss),
      labelNames: async () => names,
      labelValues: async () => names,
      close: async () => {},
    });
    const m = mergeQueriers([q([series(b, [])], ['x', 'é']), q([series(a, [])], ['a', 'x'])]);
    const labels: Labels[] = [];
    for await (const s of m.select({ start: 0, end: 1 }, [])) labels.push(s.labels);
    expect(labels).toEqual([a, b]);
    expect(await m.labelNames([])).toEqual(['a', 'x', 'é']);
  });
});
