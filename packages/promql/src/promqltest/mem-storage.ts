// An in-memory Queryable for test scripts: series → float points in typed arrays (plus
// native-histogram points, kept for the day the engine reads them). Samples are kept in
// time order; re-appending a timestamp keeps the first sample, as the TSDB drops exact
// duplicates (the test scripts never append conflicting ones).

import {
  type Labels,
  type Matcher,
  type Querier,
  type Queryable,
  type SelectHints,
  type Series,
  type SeriesIterator,
  ValueType,
  compareLabels,
  compareStrings,
  getLabel,
} from '@thanos-ts/tsdb';
import type { FloatHistogram } from '../histogram.js';
import { FloatPoints, HistogramPoints } from '../value.js';
import { labelsKey } from '../engine/label-sets.js';

/** One stored series. */
export interface MemSeries {
  readonly labels: Labels;
  readonly floats: FloatPoints;
  /** Start timestamps of the float samples (0 = unknown), or null when none is known. */
  floatST: number[] | null;
  histograms: HistogramPoints | null;
}

export class MemStorage implements Queryable {
  private readonly series = new Map<string, MemSeries>();
  private sorted: MemSeries[] | null = null;

  /** Removes every series. */
  clear(): void {
    this.series.clear();
    this.sorted = null;
  }

  get numSeries(): number {
    return this.series.size;
  }

  private get(labels: Labels): MemSeries {
    const k = labelsKey(labels);
    let s = this.series.get(k);
    if (s === undefined) {
      s = { labels, floats: new FloatPoints(16), floatST: null, histograms: null };
      this.series.set(k, s);
      this.sorted = null;
    }
    return s;
  }

  /**
   * Appends a float sample (the value keeps its NaN bits: stale markers survive), with
   * its start timestamp (0 = unknown).
   */
  appendFloat(labels: Labels, t: number, f: number, st = 0): void {
    const s = this.get(labels);
    const fp = s.floats;
    const n = fp.length;
    if (st !== 0 && s.floatST === null) s.floatST = new Array<number>(n).fill(0);
    if (n === 0 || fp.t[n - 1] < t) {
      fp.push(t, f);
      s.floatST?.push(st);
      return;
    }
    // Out of order: insert at its place unless the timestamp exists already.
    let i = n;
    while (i > 0 && fp.t[i - 1] > t) i--;
    if (i > 0 && fp.t[i - 1] === t) return;
    fp.push(0, 0);
    fp.t.copyWithin(i + 1, i, n);
    fp.f.copyWithin(i + 1, i, n);
    fp.t[i] = t;
    fp.f[i] = f;
    s.floatST?.splice(i, 0, st);
  }

  appendHistogram(labels: Labels, t: number, h: FloatHistogram): void {
    const s = this.get(labels);
    if (s.histograms === null) s.histograms = new HistogramPoints();
    const hp = s.histograms;
    if (hp.length > 0 && hp.t[hp.length - 1] >= t) {
      if (hp.t.subarray(0, hp.length).includes(t)) return;
      // Rare in scripts: rebuild in order.
      const pts: Array<[number, FloatHistogram]> = [];
      for (let i = 0; i < hp.length; i++) pts.push([hp.t[i], hp.h[i]]);
      pts.push([t, h]);
      pts.sort((a, b) => a[0] - b[0]);
      hp.reset();
      for (const [pt, ph] of pts) hp.push(pt, ph);
      return;
    }
    hp.push(t, h);
  }

  async querier(mint: number, maxt: number): Promise<Querier> {
    if (this.sorted === null) this.sorted = [...this.series.values()].sort((a, b) => compareLabels(a.labels, b.labels));
    const all = this.sorted;
    const matching = (matchers: Matcher[]): MemSeries[] => all.filter((s) => matchers.every((m) => m.matches(getLabel(s.labels, m.name))));
    return {
      select: (hints: SelectHints, matchers: Matcher[]): AsyncIterable<Series> => {
        const from = Math.max(mint, hints.start);
        const to = Math.min(maxt, hints.end);
        // Like the TSDB, series without samples in the range are not returned.
        const found = matching(matchers)
          .filter((s) => hasSamplesIn(s, from, to))
          .map((s): Series => ({ labels: s.labels, iterator: () => new MemIterator(s, from, to) }));
        return toAsync(found);
      },
      labelNames: async (matchers: Matcher[]): Promise<string[]> => {
        const names = new Set<string>();
        for (const s of matching(matchers)) for (const l of s.labels) names.add(l.name);
        return [...names].sort(compareStrings);
      },
      labelValues: async (name: string, matchers: Matcher[]): Promise<string[]> => {
        const values = new Set<string>();
        for (const s of matching(matchers)) {
          const v = getLabel(s.labels, name);
          if (v !== '') values.add(v);
        }
        return [...values].sort(compareStrings);
      },
      close: async (): Promise<void> => {},
    };
  }
}

async function* toAsync(series: Series[]): AsyncGenerator<Series> {
  yield* series;
}

/**
 * Iterates the samples of a series in [mint, maxt], floats and histograms merged by time
 * (a float first on equal timestamps).
 */
class MemIterator implements SeriesIterator {
  private fi: number;
  private hi: number;
  private cur: ValueType = ValueType.None;
  private started = false;

  constructor(
    private readonly s: MemSeries,
    private readonly mint: number,
    private readonly maxt: number,
  ) {
    this.fi = lowerBound(s.floats.t, s.floats.length, mint) - 1;
    this.hi = s.histograms === null ? 0 : lowerBound(s.histograms.t, s.histograms.length, mint) - 1;
  }

  next(): ValueType {
    if (this.started && this.cur === ValueType.None) return ValueType.None;
    this.started = true;
    // Advance the side we are on (or both at the start).
    if (this.cur === ValueType.Float || this.cur === ValueType.None) this.fi++;
    if (this.cur === ValueType.FloatHistogram || this.cur === ValueType.None) this.hi++;
    return this.pick();
  }

  private pick(): ValueType {
    const fp = this.s.floats;
    const hp = this.s.histograms;
    const ft = this.fi < fp.length ? fp.t[this.fi] : Infinity;
    const ht = hp !== null && this.hi < hp.length ? hp.t[this.hi] : Infinity;
    const t = Math.min(ft, ht);
    if (t === Infinity || t > this.maxt) {
      this.cur = ValueType.None;
      return this.cur;
    }
    this.cur = ft <= ht ? ValueType.Float : ValueType.FloatHistogram;
    return this.cur;
  }

  seek(t: number): ValueType {
    if (this.started && this.cur !== ValueType.None && this.atT() >= t) return this.cur;
    if (this.started && this.cur === ValueType.None) return ValueType.None;
    this.started = true;
    this.fi = Math.max(this.fi, lowerBound(this.s.floats.t, this.s.floats.length, Math.max(t, this.mint)));
    if (this.s.histograms !== null) this.hi = Math.max(this.hi, lowerBound(this.s.histograms.t, this.s.histograms.length, Math.max(t, this.mint)));
    return this.pick();
  }

  atT(): number {
    return this.cur === ValueType.FloatHistogram ? this.s.histograms!.t[this.hi] : this.s.floats.t[this.fi];
  }

  atF(): number {
    return this.s.floats.f[this.fi];
  }

  /** The start timestamp of the current float sample, 0 when unknown. */
  atST(): number {
    return this.cur === ValueType.Float && this.s.floatST !== null ? this.s.floatST[this.fi] : 0;
  }

  /** The histogram at the current position (when next() returned FloatHistogram). */
  atFloatHistogram(): FloatHistogram {
    return this.s.histograms!.h[this.hi];
  }

  err(): Error | null {
    return null;
  }
}

function hasSamplesIn(s: MemSeries, mint: number, maxt: number): boolean {
  const i = lowerBound(s.floats.t, s.floats.length, mint);
  if (i < s.floats.length && s.floats.t[i] <= maxt) return true;
  if (s.histograms === null) return false;
  const j = lowerBound(s.histograms.t, s.histograms.length, mint);
  return j < s.histograms.length && s.histograms.t[j] <= maxt;
}

/** First index with ts[i] >= t. */
function lowerBound(ts: Float64Array, n: number, t: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
