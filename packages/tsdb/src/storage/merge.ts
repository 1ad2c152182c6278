// Merging of sorted series sets and of overlapping sample streams (Prometheus
// storage/merge.go: NewMergeSeriesSet with ChainedSeriesMerge, chainSampleIterator).
// The TSDB uses it across the blocks of a data directory; the querier uses the same
// idea across StoreAPI endpoints.

import { ValueType } from '../chunkenc/index.js';
import { compareLabels, compareStrings, type Labels } from '../labels/index.js';
import type { Matcher } from '../matchers/index.js';
import type { Querier, SelectHints, Series, SeriesIterator } from './interface.js';

/**
 * A Querier over several queriers: select merges their series (mergeSeriesSets), label
 * lookups return the sorted union. Closing it closes them all.
 */
export function mergeQueriers(queriers: readonly Querier[]): Querier {
  if (queriers.length === 1) return queriers[0];
  return {
    select: (hints: SelectHints, matchers: Matcher[]): AsyncIterable<Series> => mergeSeriesSets(queriers.map((q) => q.select(hints, matchers))),
    labelNames: async (matchers: Matcher[]): Promise<string[]> => sortedUnion(await Promise.all(queriers.map((q) => q.labelNames(matchers)))),
    labelValues: async (name: string, matchers: Matcher[]): Promise<string[]> =>
      sortedUnion(await Promise.all(queriers.map((q) => q.labelValues(name, matchers)))),
    close: async (): Promise<void> => {
      await Promise.all(queriers.map((q) => q.close()));
    },
  };
}

/** Union of string lists, sorted in UTF-8 byte order. */
function sortedUnion(lists: readonly string[][]): string[] {
  if (lists.length === 1) return lists[0];
  const set = new Set<string>();
  for (const l of lists) for (const s of l) set.add(s);
  return [...set].sort(compareStrings);
}

/**
 * Merges series sets, each sorted by labels, into one sorted set. Series with equal
 * labels in several sets become one series whose samples are merged by timestamp; a
 * timestamp present in several sets is kept once, from the first set (in `sets` order)
 * that has it. Every input is consumed at most one series ahead of the output.
 */
export async function* mergeSeriesSets(sets: readonly AsyncIterable<Series>[]): AsyncGenerator<Series> {
  // fast path: nothing to merge
  if (sets.length === 0) return;
  if (sets.length === 1) {
    yield* sets[0];
    return;
  }
  const its = sets.map((s) => s[Symbol.asyncIterator]());
  const heads: (Series | null)[] = new Array<Series | null>(its.length).fill(null);
  const pull = async (i: number): Promise<void> => {
    const r = await its[i].next();
    heads[i] = r.done ? null : r.value;
  };
  try {
    await Promise.all(its.map((_, i) => pull(i)));
    const group: Series[] = [];
    const advance: number[] = [];
    for (;;) {
      // Linear scan: the number of sets (blocks overlapping a query) is small.
      let min: Labels | null = null;
      for (const h of heads) if (h !== null && (min === null || compareLabels(h.labels, min) < 0)) min = h.labels;
      if (min === null) return;
      group.length = 0;
      advance.length = 0;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (h !== null && (h.labels === min || compareLabels(h.labels, min) === 0)) {
          group.push(h);
          advance.push(i);
        }
      }
      yield group.length === 1 ? group[0] : new ChainedSeries(min, group.slice());
      await Promise.all(advance.map(pull));
    }
  } finally {
    await Promise.all(its.map((it) => it.return?.()));
  }
}

/** One series made of several with the same labels; samples merged by timestamp. */
export class ChainedSeries implements Series {
  constructor(
    readonly labels: Labels,
    private readonly series: readonly Series[],
  ) {}

  iterator(): SeriesIterator {
    return new ChainSampleIterator(this.series.map((s) => s.iterator()));
  }
}

/**
 * Iterates several sample iterators as one, in timestamp order, dropping repeated
 * timestamps (the first iterator holding a timestamp wins). Allocates nothing per
 * sample.
 *
 * fast path: while the current iterator stays below the smallest timestamp of all the
 * others (`nextOther`), next() only advances it. Blocks of one series do not overlap
 * in time, so the other iterators are looked at only at block boundaries.
 */
export class ChainSampleIterator implements SeriesIterator {
  private readonly ts: Float64Array;
  private readonly valid: Uint8Array;
  private started = false;
  /** Index of the iterator at the current sample, -1 when exhausted. */
  private cur = -1;
  private curT = 0;
  private nextOther = Infinity;
  private error: Error | null = null;

  constructor(private readonly its: readonly SeriesIterator[]) {
    this.ts = new Float64Array(its.length);
    this.valid = new Uint8Array(its.length);
  }

  next(): ValueType {
    if (!this.started) {
      this.started = true;
      for (let i = 0; i < this.its.length; i++) this.advance(i);
      return this.pick();
    }
    const c = this.cur;
    if (c < 0) return ValueType.None;
    if (this.its[c].next() !== ValueType.None) {
      const t = this.its[c].atT();
      this.ts[c] = t;
      if (t < this.nextOther) {
        this.curT = t;
        return ValueType.Float;
      }
    } else {
      this.valid[c] = 0;
      if (this.checkErr(c)) return ValueType.None;
    }
    return this.pick();
  }

  seek(t: number): ValueType {
    if (this.error !== null) return ValueType.None;
    if (this.started) {
      if (this.cur < 0) return ValueType.None;
      if (this.curT >= t) return ValueType.Float;
    }
    this.started = true;
    for (let i = 0; i < this.its.length; i++) {
      if (this.cur >= 0 && (this.valid[i] === 0 || this.ts[i] >= t)) continue;
      const it = this.its[i];
      if (it.seek(t) !== ValueType.None) {
        this.valid[i] = 1;
        this.ts[i] = it.atT();
      } else {
        this.valid[i] = 0;
        if (this.checkErr(i)) return ValueType.None;
      }
    }
    return this.pick();
  }

  atT(): number {
    return this.curT;
  }

  atF(): number {
    return this.its[this.cur].atF();
  }

  err(): Error | null {
    return this.error;
  }

  private advance(i: number): void {
    const it = this.its[i];
    if (it.next() !== ValueType.None) {
      this.valid[i] = 1;
      this.ts[i] = it.atT();
    } else {
      this.valid[i] = 0;
      this.checkErr(i);
    }
  }

  private checkErr(i: number): boolean {
    const e = this.its[i].err();
    if (e === null) return false;
    this.error = e;
    this.cur = -1;
    return true;
  }

  /**
   * Makes the iterator with the smallest timestamp current (lowest index on ties),
   * moves the others past that timestamp, and records the smallest one left.
   */
  private pick(): ValueType {
    if (this.error !== null) return ValueType.None;
    const n = this.its.length;
    let best = -1;
    for (let i = 0; i < n; i++) {
      if (this.valid[i] === 1 && (best < 0 || this.ts[i] < this.ts[best])) best = i;
    }
    if (best < 0) {
      this.cur = -1;
      return ValueType.None;
    }
    const t = this.ts[best];
    let other = Infinity;
    for (let i = 0; i < n; i++) {
      if (i === best) continue;
      while (this.valid[i] === 1 && this.ts[i] <= t) {
        this.advance(i);
        if (this.error !== null) return ValueType.None;
      }
      if (this.valid[i] === 1 && this.ts[i] < other) other = this.ts[i];
    }
    this.cur = best;
    this.curT = t;
    this.nextOther = other;
    return ValueType.Float;
  }
}
