// One series in the head (Prometheus tsdb/head.go memSeries): its labels, the closed
// XOR chunks and the open one being appended to, and the chunk-cutting rule of
// memSeries.appendPreprocessor (tsdb/head_append.go, 2.42):
//
//   - a chunk never crosses a multiple of chunkRange: nextAt starts as the end of the
//     aligned range holding the chunk's first sample (rangeForTimestamp);
//   - when the chunk holds samplesPerChunk/4 (30) samples, nextAt is moved so the rest
//     of the range splits into chunks of about samplesPerChunk (120) samples each
//     (computeChunkEndTime): regular scrapes give exactly 120 samples per chunk;
//   - a chunk is cut at 2 * samplesPerChunk (240) samples at the latest.
//
// Closed chunks stay in memory (Prometheus m-maps them to chunks_head/; we do not yet).

import { floatHiBits, floatLoBits, ValueType, XorChunk, type XorAppender } from '../chunkenc/index.js';
import type { Labels } from '../labels/index.js';
import type { Intervals } from '../tombstones/index.js';
import type { MemSeriesOOO } from './ooo-series.js';

/** Prometheus' samplesPerChunk. */
export const SAMPLES_PER_CHUNK = 120;

/** A finished chunk of a series, covering [mint, maxt] (both inclusive). */
export interface ClosedChunk {
  readonly mint: number;
  readonly maxt: number;
  readonly chunk: XorChunk;
}

/**
 * End of the aligned chunk range holding t (Prometheus' rangeForTimestamp,
 * `(t/width)*width + width`). Floor division where Go truncates: equal for t >= 0.
 */
export function rangeForTimestamp(t: number, width: number): number {
  return Math.floor(t / width) * width + width;
}

/**
 * Predicts the end of a chunk that started at `start` and reached `cur` after a quarter
 * of its target samples, so that [start, max) splits into equally filled chunks
 * (Prometheus' computeChunkEndTime, with Go's truncating integer division).
 */
export function computeChunkEndTime(start: number, cur: number, max: number): number {
  const n = Math.trunc((max - start) / ((cur - start + 1) * 4));
  if (n <= 1) return max;
  return start + Math.trunc((max - start) / n);
}

/** Result of appendable(): accepted, dropped as an exact duplicate, or refused. */
export const Appendable = {
  OK: 0,
  /** Same timestamp and value bits as the newest sample: accept and drop. */
  DUPLICATE: 1,
  OUT_OF_BOUNDS: 2,
  OUT_OF_ORDER: 3,
  DUPLICATE_DIFFERENT_VALUE: 4,
  /** Not appendable in order, but within the out-of-order window: goes to the OOO chunks. */
  OUT_OF_ORDER_ACCEPTED: 5,
  /** Older than the out-of-order window allows (storage.ErrTooOldSample). */
  TOO_OLD: 6,
} as const;
export type Appendable = (typeof Appendable)[keyof typeof Appendable];

export class MemSeries {
  /** Closed chunks, oldest first. */
  closed: ClosedChunk[] = [];
  /** The open chunk, or null when the series has none (new, or truncated). */
  head: XorChunk | null = null;
  private app: XorAppender | null = null;
  headMint = 0;
  headMaxt = 0;
  headCount = 0;
  /** The open chunk is cut before a sample at or after this time. */
  private nextAt = 0;
  /** Value of the newest sample, for the duplicate check (bits compared, not ===). */
  lastValue = 0;
  /** Samples appended by open appenders, not yet committed or rolled back; gc keeps the series meanwhile. */
  pendingCommit = 0;
  /** Whether its series record has been handed to the WAL. */
  walLogged = false;
  /** Next series with the same label hash (collision chain). */
  nextInBucket: MemSeries | null = null;
  /** Deleted intervals (from tombstones), applied when reading. */
  tombstones: Intervals | null = null;
  /** Out-of-order samples, created on the first one (memSeries.ooo). */
  ooo: MemSeriesOOO | null = null;

  constructor(
    /** Prometheus' HeadSeriesRef: stable for the life of the series, never reused. */
    readonly ref: number,
    readonly labels: Labels,
    /** The low 30 bits of the label hash: the head's series map key. */
    readonly hash: number,
  ) {}

  /** Timestamp of the newest sample, or -Infinity when the series has no chunk. */
  maxTime(): number {
    if (this.head !== null) return this.headMaxt;
    const n = this.closed.length;
    return n > 0 ? this.closed[n - 1].maxt : -Infinity;
  }

  /** Timestamp of the oldest sample held, or +Infinity when none. */
  minTime(): number {
    if (this.closed.length > 0) return this.closed[0].mint;
    return this.head !== null ? this.headMint : Infinity;
  }

  hasChunks(): boolean {
    return this.head !== null || this.closed.length > 0;
  }

  /**
   * memSeries.appendable (head_append.go, 2.42): in order when at or above minValidTime
   * and after the newest sample (an exact duplicate of the newest is accepted and
   * dropped); otherwise, with an out-of-order window, accepted out of order when at or
   * above `headMaxt - oooWindow` and refused as too old below it; without a window,
   * out of bounds below minValidTime and out of order above it.
   */
  appendable(t: number, v: number, minValidTime: number, headMaxt = -Infinity, oooWindow = 0): Appendable {
    if (t >= minValidTime) {
      if (!this.hasChunks()) return Appendable.OK;
      const maxt = this.maxTime();
      if (t > maxt) return Appendable.OK;
      if (t === maxt) {
        // Exact duplicates are allowed: federation and retries produce them. Only the
        // newest in-order sample is checked; the OOO head chunk checks its own.
        const lv = this.lastValue;
        if (floatHiBits(lv) !== floatHiBits(v) || floatLoBits(lv) !== floatLoBits(v)) return Appendable.DUPLICATE_DIFFERENT_VALUE;
        return Appendable.DUPLICATE;
      }
    }
    if (oooWindow > 0) return t >= headMaxt - oooWindow ? Appendable.OUT_OF_ORDER_ACCEPTED : Appendable.TOO_OLD;
    return t < minValidTime ? Appendable.OUT_OF_BOUNDS : Appendable.OUT_OF_ORDER;
  }

  /** Whether the in-order chunks hold a sample at t (for WBL replay, which must not add it twice). */
  hasInOrderSampleAt(t: number): boolean {
    if (t < this.minTime() || t > this.maxTime()) return false;
    const chunks: { mint: number; maxt: number; chunk: XorChunk; count: number }[] = [];
    for (const c of this.closed) if (c.mint <= t && t <= c.maxt) chunks.push({ ...c, count: c.chunk.numSamples() });
    if (this.head !== null && this.headCount > 0 && this.headMint <= t && t <= this.headMaxt) {
      chunks.push({ mint: this.headMint, maxt: this.headMaxt, chunk: this.head, count: this.headCount });
    }
    for (const c of chunks) {
      const it = c.chunk.iterator();
      for (let k = 0; k < c.count && it.next() !== ValueType.None; k++) {
        const ct = it.atT();
        if (ct === t) return true;
        if (ct > t) break;
      }
    }
    return false;
  }

  /**
   * memSeries.append: appends a sample after the newest one, cutting a chunk when due.
   * A sample not after the newest is dropped (false), as Prometheus does on commit and
   * WAL replay. `onCut` counts chunks created.
   */
  append(t: number, v: number, chunkRange: number): 0 | 1 | 2 {
    let created: 0 | 1 | 2 = 1;
    if (this.head === null) {
      const n = this.closed.length;
      if (n > 0 && this.closed[n - 1].maxt >= t) return 0;
      this.cut(t, chunkRange);
      created = 2;
    } else {
      if (this.headMaxt >= t) return 0;
      const n = this.headCount;
      if (n === SAMPLES_PER_CHUNK >> 2) this.nextAt = computeChunkEndTime(this.headMint, this.headMaxt, this.nextAt);
      if (t >= this.nextAt || n >= SAMPLES_PER_CHUNK * 2) {
        this.cut(t, chunkRange);
        created = 2;
      }
    }
    this.app!.append(t, v);
    this.headCount++;
    this.headMaxt = t;
    this.lastValue = v;
    return created;
  }

  /** Closes the open chunk (if any) and opens one starting at t. */
  private cut(t: number, chunkRange: number): void {
    const h = this.head;
    if (h !== null && this.headCount > 0) {
      // Copies the bytes into a tight array; readers of the old buffer stay valid,
      // since nothing writes to it any more.
      h.compact();
      this.closed.push({ mint: this.headMint, maxt: this.headMaxt, chunk: h });
    }
    const c = new XorChunk();
    this.head = c;
    this.app = c.appender();
    this.headMint = t;
    this.headMaxt = t;
    this.headCount = 0;
    this.nextAt = rangeForTimestamp(t, chunkRange);
  }

  /**
   * Drops the chunks entirely before mint (memSeries.truncateChunksBefore).
   * @returns the number of chunks removed
   */
  truncateChunksBefore(mint: number): number {
    let i = 0;
    const c = this.closed;
    while (i < c.length && c[i].maxt < mint) i++;
    let removed = i;
    if (i > 0) this.closed = c.slice(i);
    if (this.head !== null && this.headMaxt < mint) {
      this.head = null;
      this.app = null;
      this.headCount = 0;
      removed++;
    }
    return removed;
  }

  /** Number of chunks held, closed and open. */
  numChunks(): number {
    return this.closed.length + (this.head !== null ? 1 : 0);
  }
}
