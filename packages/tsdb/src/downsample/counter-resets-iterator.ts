import { ValueType } from '../chunkenc/index.js';
import type { ChunkIterator } from '../chunkenc/index.js';

/**
 * Turns an ordered sequence of counter chunks (raw, or the counter aggregate of
 * downsampled chunks) into one monotonically increasing series, compensating counter
 * resets (Thanos ApplyCounterResetsSeriesIterator). Used to re-aggregate counter
 * chunks and at query time for rate()-like functions.
 *
 * Counter aggregate chunks carry their original series' first raw value as their
 * first sample and the last raw value as a repeat of their last timestamp. A sample
 * at a strictly later time accumulates (a drop counts as a reset: the new value is
 * added); a sample at the *same* time as the previous one is that "true last raw
 * value" and only replaces the value compared against, so a reset between two
 * chunks is recognised; earlier samples (overlapping chunks) are skipped, as are
 * NaNs and stale markers. Hides resets, so it does not suit resets().
 */
export class ApplyCounterResetsIterator implements ChunkIterator {
  private i = 0;
  private total = 0;
  private t = 0;
  private lastRaw = 0;
  private totalV = 0;
  private error: Error | null = null;

  constructor(private readonly chunks: readonly ChunkIterator[]) {}

  /** The last raw (uncompensated) value seen: the series' true last value once exhausted. */
  get lastV(): number {
    return this.lastRaw;
  }

  next(): ValueType {
    // After moving to the next chunk only samples after the last returned one count
    // (Thanos seeks to lastT+1); this only matters for a first sample at t <= lastT.
    let floor = Number.NEGATIVE_INFINITY;
    for (;;) {
      if (this.error !== null || this.i >= this.chunks.length) return ValueType.None;
      const it = this.chunks[this.i];
      if (it.next() === ValueType.None) {
        const e = it.err();
        if (e !== null) {
          this.error = e;
          return ValueType.None;
        }
        this.i++;
        if (this.t + 1 > floor) floor = this.t + 1;
        continue;
      }
      const v = it.atF();
      if (v !== v) continue; // NaN, including stale markers
      const t = it.atT();
      if (this.total === 0) {
        this.total = 1;
        this.t = t;
        this.lastRaw = v;
        this.totalV = v;
        if (t >= floor) return ValueType.Float;
        continue;
      }
      if (t > this.t) {
        this.totalV += v >= this.lastRaw ? v - this.lastRaw : v;
        this.t = t;
        this.lastRaw = v;
        this.total++;
        if (t >= floor) return ValueType.Float;
        continue;
      }
      // The repeated timestamp: the true last raw value of the previous chunk.
      if (t === this.t) this.lastRaw = v;
    }
  }

  /** Advances to the first sample at or after t; iterates (never skips) to see every reset. */
  seek(t: number): ValueType {
    while (this.total === 0 || this.t < t) {
      if (this.next() === ValueType.None) return ValueType.None;
    }
    return ValueType.Float;
  }

  atT(): number {
    return this.t;
  }

  /** The counter value with resets compensated. */
  atF(): number {
    return this.totalV;
  }

  err(): Error | null {
    return this.error;
  }
}
