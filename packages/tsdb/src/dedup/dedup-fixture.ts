// Helpers for the dedup tests: sample lists as iterators and back.

import { ValueType } from '../chunkenc/index.js';
import type { SeriesIterator } from '../storage/index.js';

/** A [t, v] sample. */
export type Sample = readonly [number, number];

/** A SeriesIterator over a sample list (Prometheus ListSeriesIterator). */
export class ListIterator implements SeriesIterator {
  private i = -1;

  constructor(private readonly samples: readonly Sample[]) {}

  next(): ValueType {
    if (this.i >= this.samples.length) return ValueType.None;
    this.i++;
    return this.i < this.samples.length ? ValueType.Float : ValueType.None;
  }

  seek(t: number): ValueType {
    if (this.i < 0) this.i = 0;
    while (this.i < this.samples.length && this.samples[this.i][0] < t) this.i++;
    return this.i < this.samples.length ? ValueType.Float : ValueType.None;
  }

  atT(): number {
    return this.samples[this.i][0];
  }

  atF(): number {
    return this.samples[this.i][1];
  }

  err(): Error | null {
    return null;
  }
}

/** All samples from the iterator's current position on (next() first). */
export function expand(it: SeriesIterator): [number, number][] {
  const out: [number, number][] = [];
  while (it.next() !== ValueType.None) out.push([it.atT(), it.atF()]);
  const err = it.err();
  if (err) throw err;
  return out;
}

/** All samples from `t` on, starting with seek(t) as the PromQL engine does. */
export function expandFrom(it: SeriesIterator, t: number): [number, number][] {
  const out: [number, number][] = [];
  for (let vt = it.seek(t); vt !== ValueType.None; vt = it.next()) out.push([it.atT(), it.atF()]);
  const err = it.err();
  if (err) throw err;
  return out;
}

/** Samples every `stepMs` from t0 to t1 (inclusive) with values from `value(t)`. */
export function samplesEvery(t0: number, t1: number, stepMs: number, value: (t: number) => number): Sample[] {
  const out: Sample[] = [];
  for (let t = t0; t <= t1; t += stepMs) out.push([t, value(t)]);
  return out;
}
