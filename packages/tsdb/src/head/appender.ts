// The head's appender (Prometheus tsdb/head_append.go headAppender): samples are
// checked against the committed state of their series as they are appended, buffered,
// written to the WAL on commit and only then put into the series' chunks, so a query
// never sees a sample that is not yet in the WAL, nor one later rolled back.
//
// The buffer is typed arrays grown by doubling (timestamps and values in Float64Arrays,
// which keep NaN payloads such as the stale marker bit-exact) and an array of series
// objects; an appender may be reused after commit() or rollback(), and then appends
// allocate nothing per sample.
//
// With an out-of-order window, a sample that cannot be appended in order but is not
// older than the head's max time (when the appender started) minus the window goes to
// its series' out-of-order chunks on commit, and is then logged to the WBL as well
// (Prometheus 2.42 logs every sample to the WAL, and the OOO ones also to the WBL,
// from which they are replayed).

import { labelsToString, type Labels } from '../labels/index.js';
import { DuplicateSampleForTimestampError, OutOfOrderSampleError } from '../storage/index.js';
import { OutOfBoundsError, TooOldSampleError } from './errors.js';
import { Appendable, type MemSeries } from './mem-series.js';
import type { Head, WalSample, WalSeries } from './head.js';

/** Adds samples to a Head; nothing is visible until commit(). */
export interface Appender {
  /**
   * Buffers a sample for the series `ref` (from an earlier append; 0 when unknown) or,
   * when that ref is unknown, for the series with these labels (created if new).
   * @returns the series ref, to pass on the next append for the same series
   * @throws OutOfBoundsError, OutOfOrderSampleError, DuplicateSampleForTimestampError,
   *   TooOldSampleError (with an out-of-order window), InvalidSampleError (empty or
   *   duplicate label names)
   */
  append(ref: number, labels: Labels, t: number, v: number): number;
  /**
   * The ref of the existing series whose labels hash to `hash` (hashLabels) and satisfy
   * `same`, or 0 (storage.GetRef): lets a caller holding labels in encoded form append
   * by ref without decoding them. Append a sample for it before awaiting anything: an
   * unused series may be removed meanwhile. Optional: other storages' appenders may lack it.
   */
  getRefByHash?(hash: number, same: (labels: Labels) => boolean): number;
  /**
   * Writes the samples to the WAL, then makes them visible, then logs the out-of-order
   * ones to the WBL. The appender is reusable afterwards.
   * @throws when a log write fails; when the WBL write fails the samples are already
   *   visible (retrying the commit is safe: duplicates are dropped)
   */
  commit(): Promise<void>;
  /** Drops the buffered samples. The appender is reusable afterwards. */
  rollback(): Promise<void>;
}

export class HeadAppender implements Appender {
  private n = 0;
  private ts = new Float64Array(64);
  private vs = new Float64Array(64);
  private series: MemSeries[] = [];
  /** Series refs of the buffered samples, for the WAL (filled on commit). */
  private refs = new Float64Array(0);
  /** Pooled objects handed to the WAL hook. */
  private walSamples: WalSample[] = [];
  private walSeries: WalSeries[] = [];
  /** The out-of-order samples a commit accepted, for the WBL. */
  private oooSamples: WalSample[] = [];
  /** Minimum valid time, fixed for the appender's batch; NaN until the first append. */
  private minValidTime = Number.NaN;
  /**
   * The series the last getRefByHash found, for the append that follows it (the
   * caller appends right away: nothing can remove the series in between).
   */
  private found: MemSeries | null = null;
  /** The head's max time when the batch started: the out-of-order window ends there. */
  private headMaxt = -Infinity;

  constructor(private readonly head: Head) {}

  append(ref: number, labels: Labels, t: number, v: number): number {
    const head = this.head;
    if (!Number.isSafeInteger(t)) throw new RangeError(`append: timestamp ${t} is not a safe integer`);
    if (Number.isNaN(this.minValidTime)) {
      // Prometheus' initAppender: the first sample into an empty head sets its time range.
      if (head.isEmpty()) head.initTime(t);
      this.minValidTime = head.appendableMinValidTime();
      this.headMaxt = head.maxTime;
    }
    const window = head.outOfOrderTimeWindow;
    // Without a window this is final; with one the series decides (an OOO sample may be
    // below minValidTime).
    if (window === 0 && t < this.minValidTime) {
      head.counters.outOfBoundSamples++;
      throw new OutOfBoundsError(t, this.minValidTime);
    }
    let s: MemSeries | undefined;
    const found = this.found;
    if (found !== null) {
      // fast path: the series getRefByHash just found, without a second map lookup
      this.found = null;
      if (found.ref === ref) s = found;
    }
    if (s === undefined && ref !== 0) s = head.seriesByRef(ref);
    if (s === undefined) s = head.getOrCreate(labels);
    switch (s.appendable(t, v, this.minValidTime, this.headMaxt, window)) {
      case Appendable.OK:
      case Appendable.DUPLICATE:
      case Appendable.OUT_OF_ORDER_ACCEPTED:
        break;
      case Appendable.TOO_OLD:
        head.counters.tooOldSamples++;
        throw new TooOldSampleError(t);
      case Appendable.OUT_OF_ORDER:
        head.counters.outOfOrderSamples++;
        throw new OutOfOrderSampleError(t, s.maxTime(), labelsToString(s.labels));
      case Appendable.DUPLICATE_DIFFERENT_VALUE:
        head.counters.duplicateSamples++;
        throw new DuplicateSampleForTimestampError(t, labelsToString(s.labels));
      default:
        head.counters.outOfBoundSamples++;
        throw new OutOfBoundsError(t, this.minValidTime);
    }
    s.pendingCommit++;
    const n = this.n;
    if (n === this.ts.length) this.grow();
    this.ts[n] = t;
    this.vs[n] = v;
    this.series[n] = s;
    this.n = n + 1;
    return s.ref;
  }

  getRefByHash(hash: number, same: (labels: Labels) => boolean): number {
    const s = this.head.seriesByHash(hash, same);
    this.found = s ?? null;
    return s === undefined ? 0 : s.ref;
  }

  private grow(): void {
    const ts = new Float64Array(this.ts.length * 2);
    ts.set(this.ts);
    const vs = new Float64Array(this.vs.length * 2);
    vs.set(this.vs);
    this.ts = ts;
    this.vs = vs;
  }

  async commit(): Promise<void> {
    const n = this.n;
    const head = this.head;
    try {
      if (n > 0 && head.wal !== undefined) {
        try {
          await this.log(n);
        } catch (err) {
          throw new Error(`write to WAL: ${(err as Error).message}`, { cause: err });
        }
      }
      const ooo = this.oooSamples;
      ooo.length = 0;
      head.commitSamples(this.series, this.ts, this.vs, n, this.minValidTime, this.headMaxt, head.wbl !== undefined ? ooo : undefined);
      if (ooo.length > 0) {
        try {
          await head.wbl!.logSamples(ooo);
        } catch (err) {
          throw new Error(`write to WBL: ${(err as Error).message}`, { cause: err });
        } finally {
          ooo.length = 0;
        }
      }
    } finally {
      this.release();
    }
  }

  /** Series records for series not logged yet, then the samples (headAppender.log). */
  private async log(n: number): Promise<void> {
    const wal = this.head.wal!;
    const series = this.walSeries;
    series.length = 0;
    for (let i = 0; i < n; i++) {
      const s = this.series[i];
      if (!s.walLogged) {
        // Marked before the write: a concurrent commit must not log it again, and
        // the WAL writes records in the order they are handed over.
        s.walLogged = true;
        series.push({ ref: s.ref, labels: s.labels });
      }
    }
    if (series.length > 0) await wal.logSeries(series);
    if (wal.logSampleColumns !== undefined) {
      let refs = this.refs;
      if (refs.length < n) refs = this.refs = new Float64Array(this.ts.length);
      for (let i = 0; i < n; i++) refs[i] = this.series[i].ref;
      await wal.logSampleColumns(refs, this.ts, this.vs, n);
      return;
    }
    const pool = this.walSamples;
    while (pool.length < n) pool.push({ ref: 0, t: 0, v: 0 });
    const samples = pool.length === n ? pool : pool.slice(0, n);
    for (let i = 0; i < n; i++) {
      const o = samples[i];
      o.ref = this.series[i].ref;
      o.t = this.ts[i];
      o.v = this.vs[i];
    }
    await wal.logSamples(samples);
  }

  async rollback(): Promise<void> {
    // Series created by this appender stay in the head (another appender may have
    // their refs); gc removes them at the next truncation if they get no samples.
    this.release();
  }

  private release(): void {
    const series = this.series;
    for (let i = 0; i < this.n; i++) {
      series[i].pendingCommit--;
    }
    series.length = 0;
    this.n = 0;
    this.minValidTime = Number.NaN;
    this.headMaxt = -Infinity;
    this.found = null;
  }
}
