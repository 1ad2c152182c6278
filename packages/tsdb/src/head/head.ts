// The head block (Prometheus tsdb/head.go): the in-memory, appendable part of a TSDB.
// Series live in memory with their XOR chunks, found by ref (Prometheus'
// HeadSeriesRef) or by a hash of their labels, and indexed by label for queries.
//
// Time bounds, as Prometheus keeps them:
//   minTime/maxTime   the range of committed samples (+Infinity/-Infinity when empty);
//   minValidTime      nothing below it may be appended: the end of the last block
//                     persisted or truncated away;
//   appendable min    an appender refuses samples below max(maxTime - chunkRange/2,
//                     minValidTime) with "out of bounds" (without an out-of-order
//                     window);
//   minOOOTime/maxOOOTime  the range of out-of-order samples held (see ooo-series.ts).
//
// Series refs are plain numbers counting up from 1, never reused. They are kept below
// 2^32 because the label index stores them in Uint32Arrays (see mem-postings.ts).

import { compareLabels, compareStrings, labelsToString, type Label, type Labels } from '../labels/index.js';
import { XorChunk, XorIterator, ValueType } from '../chunkenc/index.js';
import { BlockWriter, type WrittenBlockMeta } from '../block/index.js';
import type { BlockMetaCompaction, ThanosMeta } from '../block-meta/index.js';
import type { Matcher } from '../matchers/index.js';
import { postingsForMatchers, type Postings } from '../postings/index.js';
import type { ChunkQuerier, ChunkQueryable, Querier, Queryable, SeriesChunk } from '../storage/index.js';
import { addInterval, isDeleted, type Interval, type Intervals } from '../tombstones/index.js';
import { HeadAppender, type Appender } from './appender.js';
import { InvalidSampleError } from './errors.js';
import { hashLabels } from './label-hash.js';
import { MemPostings } from './mem-postings.js';
import { Appendable, MemSeries } from './mem-series.js';
import { HeadChunkQuerier, HeadQuerier } from './querier.js';
import { DEFAULT_OUT_OF_ORDER_CAP_MAX, MAX_OUT_OF_ORDER_CAP_MAX, MemSeriesOOO, type OOOSeqSource } from './ooo-series.js';

/** A series record as the WAL carries it (record.RefSeries). */
export interface WalSeries {
  ref: number;
  labels: Labels;
}

/** A float sample record entry (record.RefSample). */
export interface WalSample {
  ref: number;
  t: number;
  v: number;
}

/** A tombstone record entry (record.RefTombstone). */
export interface WalTombstone {
  ref: number;
  intervals: readonly Interval[];
}

/**
 * Where the head writes ahead. Both calls must have stored (or buffered, in order) the
 * records when their promise resolves; the head awaits them before making samples
 * visible. The arrays and objects passed are reused after the promise resolves.
 */
export interface HeadWal {
  logSeries(series: WalSeries[]): Promise<void> | void;
  logSamples(samples: WalSample[]): Promise<void> | void;
  /**
   * logSamples for samples in columns (refs[i], ts[i], vs[i], i < n), as the appender
   * holds them: used instead of logSamples when present, to spare an object per sample.
   */
  logSampleColumns?(refs: Float64Array, ts: Float64Array, vs: Float64Array, n: number): Promise<void> | void;
}

/**
 * Where the head logs the out-of-order samples of a commit (Prometheus's WBL), after the
 * WAL write and after they were inserted. The array is reused after the promise resolves.
 */
export interface HeadWbl {
  logSamples(samples: WalSample[]): Promise<void> | void;
}

/** A record read back from the WAL, for replay. */
export type WalRecord =
  | { type: 'series'; series: readonly WalSeries[] }
  | { type: 'samples'; samples: readonly WalSample[] }
  /** Samples in columns (i < n); the arrays may be reused once the next record is asked for. */
  | { type: 'sampleColumns'; refs: Float64Array; ts: Float64Array; vs: Float64Array; n: number }
  | { type: 'tombstones'; tombstones: readonly WalTombstone[] };

export interface HeadOptions {
  /** Chunk range in ms (Prometheus' min block duration): chunks never cross its multiples. Default 2h. */
  chunkRange?: number;
  /** Write-ahead hooks; without them the head is memory only. */
  wal?: HeadWal;
  /**
   * How far (ms) behind the head's max time a sample may be and still be accepted out of
   * order (tsdb.Options.OutOfOrderTimeWindow). 0 (default): out-of-order samples are refused.
   */
  outOfOrderTimeWindow?: number;
  /** Samples per out-of-order head chunk before it is encoded (OutOfOrderCapMax, 1..255). Default 32. */
  outOfOrderCapMax?: number;
  /** Where out-of-order samples are logged (the WBL); without it they are memory only. */
  wbl?: HeadWbl;
}

/** What a WBL replay did. */
export interface OOOReplayStats {
  samples: number;
  unknownSeriesRefs: number;
  /** Samples already held (a duplicate timestamp in the OOO head chunk, or in the in-order chunks). */
  droppedSamples: number;
}

/** What a replay did (counts as Prometheus logs them). */
export interface ReplayStats {
  series: number;
  samples: number;
  /** Samples for series refs with no series record (skipped, as Prometheus does). */
  unknownSeriesRefs: number;
  /** Samples below the head's minValidTime or not after their series' newest sample. */
  droppedSamples: number;
  tombstones: number;
}

/** Counters as Prometheus' prometheus_tsdb_head_* metrics. */
export interface HeadCounters {
  samplesAppended: number;
  outOfOrderSamples: number;
  outOfBoundSamples: number;
  /** Samples at an existing timestamp with a different value. */
  duplicateSamples: number;
  seriesCreated: number;
  seriesRemoved: number;
  chunksCreated: number;
  chunksRemoved: number;
  truncations: number;
  /** Samples refused as older than the out-of-order window (prometheus_tsdb_too_old_samples_total). */
  tooOldSamples: number;
  /** Samples accepted out of order (prometheus_tsdb_head_out_of_order_samples_appended_total). */
  outOfOrderSamplesAppended: number;
}

export interface PersistBlockOptions {
  /** The meta.json `thanos` section; without it a plain Prometheus meta.json. */
  thanos?: ThanosMeta;
  ulid?: string;
  compaction?: BlockMetaCompaction;
}

/** A block written from the head. */
export interface PersistedBlock {
  ulid: string;
  dir: string;
  meta: WrittenBlockMeta;
}

const DEFAULT_CHUNK_RANGE = 2 * 60 * 60 * 1000;
/** Bits of the label hash that key the series map. */
const BUCKET_MASK = 0x3fffffff;
/** Highest ref the uint32 postings lists can hold. */
const MAX_REF = 0xffffffff;

export class Head implements Queryable, ChunkQueryable, OOOSeqSource {
  readonly chunkRange: number;
  readonly wal: HeadWal | undefined;
  readonly wbl: HeadWbl | undefined;
  /** OutOfOrderTimeWindow in ms; 0 when out-of-order samples are refused. */
  readonly outOfOrderTimeWindow: number;
  readonly outOfOrderCapMax: number;
  readonly counters: HeadCounters = {
    samplesAppended: 0,
    outOfOrderSamples: 0,
    outOfBoundSamples: 0,
    duplicateSamples: 0,
    seriesCreated: 0,
    seriesRemoved: 0,
    chunksCreated: 0,
    chunksRemoved: 0,
    truncations: 0,
    tooOldSamples: 0,
    outOfOrderSamplesAppended: 0,
  };

  private minT = Infinity;
  private maxT = -Infinity;
  private minValidT = -Infinity;
  private lastRef = 0;
  private minOOOT = Infinity;
  private maxOOOT = -Infinity;
  private oooSeq = 0;
  /** Duplicate series refs of the last WAL replay, for the WBL replay after it. */
  private replayMultiRef = new Map<number, MemSeries>();
  private readonly byRef = new Map<number, MemSeries>();
  /**
   * Label hash (its low 30 bits: a small integer, which V8 hashes and stores unboxed) to
   * the first series of its collision chain.
   */
  private readonly byHash = new Map<number, MemSeries>();
  /** @internal the label index */
  readonly postings = new MemPostings();

  constructor(opts: HeadOptions = {}) {
    this.chunkRange = opts.chunkRange ?? DEFAULT_CHUNK_RANGE;
    if (!Number.isSafeInteger(this.chunkRange) || this.chunkRange <= 0) throw new RangeError(`head: invalid chunk range ${this.chunkRange}`);
    this.wal = opts.wal;
    this.wbl = opts.wbl;
    this.outOfOrderTimeWindow = Math.max(0, opts.outOfOrderTimeWindow ?? 0);
    if (!Number.isSafeInteger(this.outOfOrderTimeWindow)) throw new RangeError(`head: invalid out-of-order time window ${opts.outOfOrderTimeWindow}`);
    this.outOfOrderCapMax = opts.outOfOrderCapMax ?? DEFAULT_OUT_OF_ORDER_CAP_MAX;
    if (!Number.isInteger(this.outOfOrderCapMax) || this.outOfOrderCapMax <= 0 || this.outOfOrderCapMax > MAX_OUT_OF_ORDER_CAP_MAX) {
      throw new RangeError(`head: invalid out-of-order cap max ${opts.outOfOrderCapMax}`);
    }
  }

  /** Oldest out-of-order sample held (ms), +Infinity when none. */
  get minOOOTime(): number {
    return this.minOOOT;
  }

  /** Newest out-of-order sample held (ms), -Infinity when none. */
  get maxOOOTime(): number {
    return this.maxOOOT;
  }

  /** @internal */
  nextOOOChunkSeq(): number {
    return ++this.oooSeq;
  }

  /** Oldest committed sample (ms), +Infinity when the head is empty. */
  get minTime(): number {
    return this.minT;
  }

  /** Newest committed sample (ms), -Infinity when the head is empty. */
  get maxTime(): number {
    return this.maxT;
  }

  /** Samples below this time are refused (the end of what was persisted). */
  get minValidTime(): number {
    return this.minValidT;
  }

  /** Number of series held. */
  get numSeries(): number {
    return this.byRef.size;
  }

  /** The newest series ref handed out. */
  get lastSeriesRef(): number {
    return this.lastRef;
  }

  isEmpty(): boolean {
    return this.minT === Infinity;
  }

  /** Sets the lower bound of appends, e.g. to the newest block's maxTime on open (Head.Init). */
  setMinValidTime(t: number): void {
    this.minValidT = t;
  }

  /** @internal Head.initTime: the first sample into an empty head sets its range. */
  initTime(t: number): void {
    if (this.minT === Infinity) this.minT = t;
    if (this.maxT === -Infinity) this.maxT = t;
  }

  /** Lowest timestamp a new appender accepts (Head.appendableMinValidTime). */
  appendableMinValidTime(): number {
    return Math.max(this.maxT - this.chunkRange / 2, this.minValidT);
  }

  /** A new appender. Appenders are cheap; one may be reused after commit/rollback. */
  appender(): Appender {
    return new HeadAppender(this);
  }

  /** The ref of the series with these labels, or 0 (storage.GetRef). */
  getRef(labels: Labels): number {
    return this.lookup(labels, hashLabels(labels))?.ref ?? 0;
  }

  /**
   * The ref of the series whose labels hash to `hash` (hashLabels) and satisfy `same`,
   * or 0 (Prometheus' GetRef with a precomputed hash): for callers holding labels in
   * encoded form, who compare bytes rather than decode (see label-hash.ts).
   */
  getRefByHash(hash: number, same: (labels: Labels) => boolean): number {
    return this.seriesByHash(hash, same)?.ref ?? 0;
  }

  /** @internal getRefByHash, returning the series. */
  seriesByHash(hash: number, same: (labels: Labels) => boolean): MemSeries | undefined {
    for (let s = this.byHash.get(hash & BUCKET_MASK) ?? null; s !== null; s = s.nextInBucket) {
      if (same(s.labels)) return s;
    }
    return undefined;
  }

  /** The labels of series `ref`, or undefined when it does not exist (any more). */
  seriesLabels(ref: number): Labels | undefined {
    return this.byRef.get(ref)?.labels;
  }

  /** Every series as (ref, labels), in ref order of creation; for WAL checkpoints. */
  *series(): IterableIterator<WalSeries> {
    for (const s of this.byRef.values()) yield { ref: s.ref, labels: s.labels };
  }

  /** @internal */
  seriesByRef(ref: number): MemSeries | undefined {
    return this.byRef.get(ref);
  }

  /** @internal Every series, in ref order of creation. */
  memSeries(): IterableIterator<MemSeries> {
    return this.byRef.values();
  }

  private lookup(labels: Labels, hash: number): MemSeries | undefined {
    for (let s = this.byHash.get(hash & BUCKET_MASK) ?? null; s !== null; s = s.nextInBucket) {
      if (sameLabels(s.labels, labels)) return s;
    }
    return undefined;
  }

  /** @internal The series with these labels, created (without samples) if new. */
  getOrCreate(labels: Labels): MemSeries {
    const hash = hashLabels(labels);
    const s = this.lookup(labels, hash);
    if (s !== undefined) return s;
    const ls = normalizeLabels(labels);
    if (ls !== labels) {
      // Labels with empty values or unsorted: look up the normalised set again.
      const h2 = hashLabels(ls);
      const s2 = this.lookup(ls, h2);
      if (s2 !== undefined) return s2;
      return this.create(this.lastRef + 1, ls, h2);
    }
    return this.create(this.lastRef + 1, copyLabels(ls), hash);
  }

  private create(ref: number, labels: Labels, hash: number): MemSeries {
    if (ref > MAX_REF) throw new RangeError(`head: series ref ${ref} beyond uint32`);
    // The masked hash is all the map needs, and a small integer needs no heap box.
    const s = new MemSeries(ref, labels, hash & BUCKET_MASK);
    const first = this.byHash.get(hash & BUCKET_MASK);
    if (first !== undefined) s.nextInBucket = first;
    this.byHash.set(hash & BUCKET_MASK, s);
    this.byRef.set(ref, s);
    if (ref > this.lastRef) this.lastRef = ref;
    this.postings.add(ref, labels);
    this.counters.seriesCreated++;
    return s;
  }

  private remove(s: MemSeries): void {
    this.byRef.delete(s.ref);
    let prev: MemSeries | null = null;
    for (let c = this.byHash.get(s.hash & BUCKET_MASK) ?? null; c !== null; prev = c, c = c.nextInBucket) {
      if (c !== s) continue;
      if (prev === null) {
        if (c.nextInBucket === null) this.byHash.delete(s.hash & BUCKET_MASK);
        else this.byHash.set(s.hash & BUCKET_MASK, c.nextInBucket);
      } else {
        prev.nextInBucket = c.nextInBucket;
      }
      break;
    }
    this.counters.seriesRemoved++;
  }

  /**
   * @internal Puts committed samples into their series (headAppender.Commit after the
   * WAL write). Samples that are no longer appendable (another commit got there first,
   * or the head was truncated past them) are dropped and counted, as Prometheus does.
   */
  commitSamples(
    series: readonly MemSeries[],
    ts: Float64Array,
    vs: Float64Array,
    n: number,
    appenderMinValid: number,
    headMaxt = -Infinity,
    oooOut?: WalSample[],
  ): void {
    const minValid = Math.max(appenderMinValid, this.minValidT);
    const chunkRange = this.chunkRange;
    const window = this.outOfOrderTimeWindow;
    let mint = Infinity;
    let maxt = -Infinity;
    let oooMint = Infinity;
    let oooMaxt = -Infinity;
    let appended = 0;
    for (let i = 0; i < n; i++) {
      const s = series[i];
      const t = ts[i];
      const v = vs[i];
      const a = s.appendable(t, v, minValid, headMaxt, window);
      if (a !== Appendable.OK) {
        if (a === Appendable.OUT_OF_ORDER_ACCEPTED) {
          // The window was checked against the head's max time when the appender
          // started, as Prometheus does; the sample goes to the OOO chunks.
          if (this.insertOOO(s, t, v) === 0) continue;
          if (oooOut !== undefined) oooOut.push({ ref: s.ref, t, v });
          this.counters.outOfOrderSamplesAppended++;
          appended++;
          if (t < oooMint) oooMint = t;
          if (t > oooMaxt) oooMaxt = t;
          continue;
        }
        if (a === Appendable.OUT_OF_ORDER) this.counters.outOfOrderSamples++;
        else if (a === Appendable.OUT_OF_BOUNDS) this.counters.outOfBoundSamples++;
        else if (a === Appendable.TOO_OLD) this.counters.tooOldSamples++;
        else if (a === Appendable.DUPLICATE_DIFFERENT_VALUE) this.counters.duplicateSamples++;
        continue;
      }
      const r = s.append(t, v, chunkRange);
      if (r === 0) continue;
      if (r === 2) this.counters.chunksCreated++;
      appended++;
      if (t < mint) mint = t;
      if (t > maxt) maxt = t;
    }
    this.counters.samplesAppended += appended;
    if (mint <= maxt) this.updateMinMaxTime(mint, maxt);
    if (oooMint <= oooMaxt) this.updateMinMaxOOOTime(oooMint, oooMaxt);
  }

  /** memSeries.insert into the series' OOO chunks; counts chunks created. */
  private insertOOO(s: MemSeries, t: number, v: number): 0 | 1 | 2 {
    const ooo = (s.ooo ??= new MemSeriesOOO());
    const r = ooo.insert(t, v, this.outOfOrderCapMax, this);
    if (r === 2) this.counters.chunksCreated++;
    return r;
  }

  private updateMinMaxOOOTime(mint: number, maxt: number): void {
    if (mint < this.minOOOT) this.minOOOT = mint;
    if (maxt > this.maxOOOT) this.maxOOOT = maxt;
  }

  private updateMinMaxTime(mint: number, maxt: number): void {
    if (mint < this.minT) this.minT = mint;
    if (maxt > this.maxT) this.maxT = maxt;
  }

  /**
   * Rebuilds state from WAL records, in the order written (Head.loadWAL): series are
   * created with their logged refs (a second record for the same labels maps its ref to
   * the first series), samples appended in order; samples for unknown refs, below
   * minValidTime or not after their series' newest sample are counted and skipped.
   * Replay does not write to the WAL.
   */
  async replay(records: AsyncIterable<WalRecord> | Iterable<WalRecord>): Promise<ReplayStats> {
    const stats: ReplayStats = { series: 0, samples: 0, unknownSeriesRefs: 0, droppedSamples: 0, tombstones: 0 };
    /** Refs of duplicate series records to the ref of the series kept. */
    const multiRef = new Map<number, MemSeries>();
    let mint = Infinity;
    let maxt = -Infinity;
    const chunkRange = this.chunkRange;
    for await (const rec of records) {
      switch (rec.type) {
        case 'series':
          for (const ws of rec.series) {
            stats.series++;
            // Never hand out a logged ref again, even one only a duplicate record used.
            if (ws.ref > this.lastRef) this.lastRef = ws.ref;
            const ls = normalizeLabels(ws.labels);
            const hash = hashLabels(ls);
            const existing = this.lookup(ls, hash);
            if (existing !== undefined) {
              if (existing.ref !== ws.ref) multiRef.set(ws.ref, existing);
              existing.walLogged = true;
              continue;
            }
            if (this.byRef.has(ws.ref)) {
              // The ref is taken by other labels: the WAL is inconsistent; keep the first.
              continue;
            }
            const s = this.create(ws.ref, ls === ws.labels ? copyLabels(ls) : ls, hash);
            s.walLogged = true;
          }
          break;
        case 'samples':
          for (const smp of rec.samples) {
            const s = this.byRef.get(smp.ref) ?? multiRef.get(smp.ref);
            if (s === undefined) {
              stats.unknownSeriesRefs++;
              continue;
            }
            if (smp.t < this.minValidT) {
              stats.droppedSamples++;
              continue;
            }
            const r = s.append(smp.t, smp.v, chunkRange);
            if (r === 0) {
              stats.droppedSamples++;
              continue;
            }
            if (r === 2) this.counters.chunksCreated++;
            stats.samples++;
            if (smp.t < mint) mint = smp.t;
            if (smp.t > maxt) maxt = smp.t;
          }
          break;
        case 'sampleColumns': {
          const { refs, ts, vs, n } = rec;
          for (let i = 0; i < n; i++) {
            const ref = refs[i];
            const t = ts[i];
            const s = this.byRef.get(ref) ?? multiRef.get(ref);
            if (s === undefined) {
              stats.unknownSeriesRefs++;
              continue;
            }
            if (t < this.minValidT) {
              stats.droppedSamples++;
              continue;
            }
            const r = s.append(t, vs[i], chunkRange);
            if (r === 0) {
              stats.droppedSamples++;
              continue;
            }
            if (r === 2) this.counters.chunksCreated++;
            stats.samples++;
            if (t < mint) mint = t;
            if (t > maxt) maxt = t;
          }
          break;
        }
        case 'tombstones':
          for (const ts of rec.tombstones) {
            const s = this.byRef.get(ts.ref) ?? multiRef.get(ts.ref);
            if (s === undefined) {
              stats.unknownSeriesRefs++;
              continue;
            }
            for (const iv of ts.intervals) {
              if (iv.maxt < this.minValidT) continue;
              s.tombstones = addInterval(s.tombstones ?? [], iv);
              stats.tombstones++;
            }
          }
          break;
      }
    }
    this.counters.samplesAppended += stats.samples;
    if (stats.samples > 0) this.updateMinMaxTime(mint, maxt);
    this.replayMultiRef = multiRef;
    return stats;
  }

  /**
   * Rebuilds the out-of-order chunks from WBL sample records, after replay() of the WAL
   * (Head.loadWBL): every sample is inserted, whatever the window or minValidTime, into
   * the OOO chunks of its series (duplicate series records of the WAL mapped as there).
   * A sample the in-order chunks already hold is skipped: the WAL replay appends in
   * order a sample that was out of order only against the appender's window minimum.
   */
  async replayOOO(records: AsyncIterable<readonly WalSample[]> | Iterable<readonly WalSample[]>): Promise<OOOReplayStats> {
    const stats: OOOReplayStats = { samples: 0, unknownSeriesRefs: 0, droppedSamples: 0 };
    let mint = Infinity;
    let maxt = -Infinity;
    for await (const samples of records) {
      for (const smp of samples) {
        const s = this.byRef.get(smp.ref) ?? this.replayMultiRef.get(smp.ref);
        if (s === undefined) {
          stats.unknownSeriesRefs++;
          continue;
        }
        if (s.hasInOrderSampleAt(smp.t) || this.insertOOO(s, smp.t, smp.v) === 0) {
          stats.droppedSamples++;
          continue;
        }
        stats.samples++;
        if (smp.t < mint) mint = smp.t;
        if (smp.t > maxt) maxt = smp.t;
      }
    }
    this.replayMultiRef = new Map();
    this.counters.outOfOrderSamplesAppended += stats.samples;
    if (stats.samples > 0) this.updateMinMaxOOOTime(mint, maxt);
    return stats;
  }

  /**
   * Drops the chunks entirely before mint and the series left without any
   * (Head.truncateMemory and gc); their refs are never handed out again. Sets
   * minValidTime to mint. Afterwards minTime is the oldest sample left (never below
   * mint, nor above the appendable minimum when nothing is left).
   * @returns the refs of the series removed (the WAL keeps their records a while)
   */
  truncate(mint: number): number[] {
    if (!this.isEmpty() && this.minT >= mint) return [];
    const wasEmpty = this.isEmpty();
    this.minT = mint;
    if (mint > this.minValidT) this.minValidT = mint;
    if (this.maxT < mint) this.maxT = mint;
    if (wasEmpty) return [];
    this.counters.truncations++;
    let actualMint = Infinity;
    const deleted = new Set<number>();
    const deletedLabels: Labels[] = [];
    for (const s of this.byRef.values()) {
      this.counters.chunksRemoved += s.truncateChunksBefore(mint);
      if (s.hasChunks()) {
        const m = s.minTime();
        if (m < actualMint) actualMint = m;
        if (s.tombstones !== null) s.tombstones = dropIntervalsBefore(s.tombstones, mint);
        continue;
      }
      // Out-of-order chunks go with their own compaction (truncateOOO).
      if (s.pendingCommit > 0 || (s.ooo !== null && s.ooo.hasChunks())) continue;
      deleted.add(s.ref);
      deletedLabels.push(s.labels);
    }
    for (const ref of deleted) this.remove(this.byRef.get(ref)!);
    this.postings.delete(deleted, deletedLabels);
    if (actualMint > this.minT) {
      // The oldest sample left is newer than asked: the head starts there, but never
      // past what appenders may still add.
      const appendableMin = this.appendableMinValidTime();
      const m = Math.min(actualMint, appendableMin);
      this.minT = m;
      this.minValidT = Math.max(this.minValidT, m);
    }
    return [...deleted];
  }

  /**
   * Drops the out-of-order chunks with sequence <= maxSeq, once written to blocks, and
   * the series left without any chunk (Head.truncateOOO and gc). The OOO time range is
   * recomputed from what is left.
   * @returns the refs of the series removed
   */
  truncateOOO(maxSeq: number): number[] {
    let mint = Infinity;
    let maxt = -Infinity;
    const deleted = new Set<number>();
    const deletedLabels: Labels[] = [];
    for (const s of this.byRef.values()) {
      const ooo = s.ooo;
      if (ooo !== null) {
        this.counters.chunksRemoved += ooo.truncateUpTo(maxSeq);
        if (ooo.hasChunks()) {
          mint = Math.min(mint, ooo.minTime());
          maxt = Math.max(maxt, ooo.maxTime());
          continue;
        }
        s.ooo = null;
      }
      if (s.hasChunks() || s.pendingCommit > 0) continue;
      deleted.add(s.ref);
      deletedLabels.push(s.labels);
    }
    for (const ref of deleted) this.remove(this.byRef.get(ref)!);
    this.postings.delete(deleted, deletedLabels);
    this.minOOOT = mint;
    this.maxOOOT = maxt;
    return [...deleted];
  }

  /**
   * Marks the samples of the selected series in [mint, maxt] deleted (Head.Delete);
   * queries and persisted blocks leave them out. Not written to the WAL by the head
   * (DB.delete logs them).
   * @returns the tombstones added, to log if wanted
   */
  delete(mint: number, maxt: number, matchers: Matcher[]): WalTombstone[] {
    const out: WalTombstone[] = [];
    const p = postingsForMatchers(this.postings, matchers);
    while (p.next()) {
      const s = this.byRef.get(p.at());
      if (s === undefined) continue;
      const iv = { mint: Math.max(mint, s.minTime()), maxt: Math.min(maxt, s.maxTime()) };
      if (iv.mint > iv.maxt) continue;
      s.tombstones = addInterval(s.tombstones ?? [], iv);
      out.push({ ref: s.ref, intervals: [iv] });
    }
    return out;
  }

  /** A querier over [mint, maxt] (ms, inclusive), with the block querier's semantics. */
  async querier(mint: number, maxt: number): Promise<Querier> {
    return new HeadQuerier(this, mint, maxt);
  }

  /** A chunk querier over [mint, maxt]: series with their encoded chunks, for StoreAPI. */
  async chunkQuerier(mint: number, maxt: number): Promise<ChunkQuerier> {
    return new HeadChunkQuerier(this, mint, maxt);
  }

  /** @internal Series refs selected by matchers (all series when none), ascending. */
  selectPostings(matchers: readonly Matcher[]): Postings {
    return matchers.length === 0 ? this.postings.allPostings() : postingsForMatchers(this.postings, matchers);
  }

  /** @internal The series of a postings list, sorted by labels (headIndexReader.SortedPostings). */
  sortedSeries(p: Postings): MemSeries[] {
    const out: MemSeries[] = [];
    while (p.next()) {
      const s = this.byRef.get(p.at());
      if (s !== undefined) out.push(s);
    }
    const e = p.err();
    if (e !== null) throw e;
    return out.sort((a, b) => compareLabels(a.labels, b.labels));
  }

  /**
   * Writes the samples in [mint, maxt) (maxt exclusive, as a block's range) as one block
   * under `parent` with the streaming BlockWriter (LeveledCompactor.Write over a
   * RangeHead). Chunks inside the range are written as they are; chunks crossing its
   * ends or touched by tombstones are re-encoded with the samples left. Memory beyond
   * the head: the symbol table and the sorted list of series written.
   * @returns the block, or null when the range holds no samples (nothing is written)
   */
  async persistBlock(mint: number, maxt: number, parent: string, opts: PersistBlockOptions = {}): Promise<PersistedBlock | null> {
    if (!(mint < maxt)) throw new RangeError(`persist block: invalid range [${mint}, ${maxt})`);
    const last = maxt - 1;
    // The series (and so the symbols) are fixed now; appends below maxt are not
    // expected meanwhile (the appendable minimum is far above a compacted range).
    const selected: MemSeries[] = [];
    const symbols = new Set<string>();
    for (const s of this.byRef.values()) {
      if (!overlapsSeries(s, mint, last)) continue;
      selected.push(s);
      for (const l of s.labels) symbols.add(l.name).add(l.value);
    }
    if (selected.length === 0) return null;
    selected.sort((a, b) => compareLabels(a.labels, b.labels));
    const w = new BlockWriter(parent, {
      mint,
      maxt,
      symbols: [...symbols].sort(compareStrings),
      ulid: opts.ulid,
      compaction: opts.compaction,
      thanos: opts.thanos,
    });
    try {
      const chunks: SeriesChunk[] = [];
      const it = new XorIterator();
      for (let k = 0; k < selected.length; k++) {
        const s = selected[k];
        chunks.length = 0;
        const stones = s.tombstones;
        for (const c of s.closed) addChunkInRange(chunks, c.mint, c.maxt, c.chunk, mint, last, stones, it);
        if (s.head !== null && s.headCount > 0) addChunkInRange(chunks, s.headMint, s.headMaxt, s.head, mint, last, stones, it);
        if (chunks.length > 0) w.addSeries(s.labels, chunks);
        // Let appends and queries run during long writes.
        if ((k & 0x3fff) === 0x3fff) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (w.stats().numSamples === 0) {
        await w.abort();
        return null;
      }
      const meta = await w.close();
      return { ulid: w.ulid, dir: w.dir, meta };
    } catch (err) {
      await w.abort();
      throw err;
    }
  }
}

function overlapsSeries(s: MemSeries, mint: number, maxt: number): boolean {
  if (s.head !== null && s.headCount > 0 && s.headMint <= maxt && s.headMaxt >= mint) return true;
  for (const c of s.closed) if (c.mint <= maxt && c.maxt >= mint) return true;
  return false;
}

/**
 * @internal Appends chunk [cmint, cmaxt] to `out` for a block covering [mint, maxt]: as it is
 * when inside and untouched by tombstones, else re-encoded with the samples left.
 */
export function addChunkInRange(
  out: SeriesChunk[],
  cmint: number,
  cmaxt: number,
  chunk: XorChunk,
  mint: number,
  maxt: number,
  stones: Intervals | null,
  it: XorIterator,
): void {
  if (cmaxt < mint || cmint > maxt) return;
  const touched = stones !== null && stones.some((iv) => iv.mint <= cmaxt && cmint <= iv.maxt);
  if (cmint >= mint && cmaxt <= maxt && !touched) {
    // The open chunk's bytes are copied by the writer before it returns.
    out.push({ mint: cmint, maxt: cmaxt, chunk });
    return;
  }
  it.reset(chunk.bytes());
  const c = new XorChunk();
  const app = c.appender();
  let first = 0;
  let lastT = 0;
  let n = 0;
  while (it.next() !== ValueType.None) {
    const t = it.atT();
    if (t < mint) continue;
    if (t > maxt) break;
    if (stones !== null && isDeleted(stones, t)) continue;
    app.append(t, it.atF());
    if (n === 0) first = t;
    lastT = t;
    n++;
  }
  const e = it.err();
  if (e !== null) throw e;
  if (n === 0) return;
  c.compact();
  out.push({ mint: first, maxt: lastT, chunk: c });
}

function dropIntervalsBefore(ivs: Intervals, mint: number): Intervals | null {
  const kept = ivs.filter((iv) => iv.maxt >= mint);
  return kept.length === 0 ? null : kept;
}

function sameLabels(a: Labels, b: Labels): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].name !== b[i].name || a[i].value !== b[i].value) return false;
  return true;
}

function copyLabels(ls: Labels): Labels {
  const out: Label[] = new Array<Label>(ls.length);
  for (let i = 0; i < ls.length; i++) out[i] = { name: ls[i].name, value: ls[i].value };
  return Object.freeze(out);
}

/**
 * The label set as the head stores it: without empty values (Labels.WithoutEmpty),
 * sorted by name. Returns `ls` itself when nothing changes.
 * @throws InvalidSampleError for an empty set or a repeated name
 */
function normalizeLabels(ls: Labels): Labels {
  let ok = true;
  for (let i = 0; i < ls.length; i++) {
    if (ls[i].value === '' || (i > 0 && compareStrings(ls[i - 1].name, ls[i].name) >= 0)) {
      ok = false;
      break;
    }
  }
  let out = ls;
  if (!ok) {
    out = Object.freeze(
      ls
        .filter((l) => l.value !== '')
        .map((l) => ({ name: l.name, value: l.value }))
        .sort((a, b) => compareStrings(a.name, b.name)),
    );
  }
  if (out.length === 0) throw new InvalidSampleError('empty labelset');
  for (let i = 1; i < out.length; i++) {
    if (out[i - 1].name === out[i].name) throw new InvalidSampleError(`label name ${JSON.stringify(out[i].name)} is not unique`);
  }
  for (const l of out) if (l.name === '') throw new InvalidSampleError(`empty label name in ${labelsToString(out)}`);
  return out;
}
