// The DB's write-ahead log: a wlog.WL in `<dir>/wal` behind the head's HeadWal hooks,
// with Prometheus's replay on open (Head.Init/loadWAL), repair of a torn tail
// (db.open: "Encountered WAL read error, attempting repair") and truncation after a block
// is cut (Head.truncateWAL).
//
// Life cycle, as DB.open drives it:
//   1. new WalAdapter(...)        the head is built with it as its HeadWal;
//   2. replay(head)               last checkpoint + later segments into head.replay; a
//                                 damaged segment is cut at its first damaged record
//                                 (every whole record before it is kept) and replay goes
//                                 on with what was read; a damaged checkpoint is fatal;
//   3. open()                     the WL starts a new segment after the last one;
//   4. logSeries/logSamples       per commit; series records are held back and written
//                                 with the samples in one WL.log call (one write, one
//                                 fsync under sync 'always');
//   5. seriesDeleted/truncate     after the head is truncated at a block's end;
//   6. close()                    pads, syncs and closes the active segment.

import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@thanos-ts/runtime';
import {
  decodeSampleColumns,
  decodeSeries,
  decodeTombstones,
  encodeSampleColumns,
  encodeSamples,
  encodeSeries,
  encodeTombstones,
  newSampleColumns,
  RecordType,
  recordType,
} from '../record/index.js';
import {
  checkpoint,
  deleteCheckpoints,
  isWalCorruption,
  lastCheckpoint,
  readRecords,
  repair,
  segmentName,
  WL,
  type WalCorruptionError,
  type WLSyncPolicy,
} from '../wlog/index.js';
import { replaySegments } from '../wlog/reader.js';
import type { Head, HeadWal, ReplayStats, WalRecord, WalSample, WalSeries, WalTombstone } from './head.js';

/** How the DB keeps its WAL (Prometheus --storage.tsdb.wal-* flags). */
export interface DBWalOptions {
  /** Snappy-compress records (--storage.tsdb.wal-compression). Default false. */
  compress?: boolean;
  /** Segment size in bytes, a multiple of 32 KiB (--storage.tsdb.wal-segment-size). Default 128 MiB. */
  segmentSize?: number;
  /**
   * When commits are fsynced (see WLSyncPolicy). Default 'none', as Prometheus: a crash
   * of the process loses nothing committed, a power loss may lose the unsynced tail.
   * With 'always' a commit resolves only once its records are on disk.
   */
  sync?: WLSyncPolicy;
}

/** What opening the WAL found. */
export interface WalReplayResult extends ReplayStats {
  /** Records of kinds the head does not hold (histograms, exemplars, metadata, mmap markers), skipped. */
  skippedRecords: number;
  /** Set when a damaged segment was cut: where, why, and the later segments deleted. */
  repaired?: { segment: number; offset: number; reason: string; deletedSegments: number[]; droppedBytes: number };
  durationMs: number;
}

export class WalAdapter implements HeadWal {
  readonly dir: string;
  private wl: WL | null = null;
  /** Series records held back until the samples of their commit are written. */
  private pendingSeries: Uint8Array[] = [];
  /**
   * Series removed from the head, to the last segment at that time (Head.deleted): their
   * records stay in checkpoints until those segments, which may still hold samples for
   * them, are gone.
   */
  private readonly deleted = new Map<number, number>();
  /** Head.lastWALTruncationTime: a truncation at or below it is a no-op. */
  private lastTruncationMint = -Infinity;

  constructor(
    dbDir: string,
    private readonly opts: DBWalOptions,
    private readonly logger?: Logger,
  ) {
    this.dir = join(dbDir, 'wal');
  }

  /**
   * Rebuilds the head from the last checkpoint and the segments after it. A damaged
   * segment is repaired by truncation and never stops the start.
   * @throws WalCorruptionError when the checkpoint itself is damaged
   */
  async replay(head: Head): Promise<WalReplayResult> {
    const start = performance.now();
    let corruption: WalCorruptionError | null = null;
    let skipped = 0;
    const dir = this.dir;
    // One set of columns for every samples record: the head is done with a record
    // before it asks for the next.
    const cols = newSampleColumns();
    async function* decoded(): AsyncGenerator<WalRecord> {
      try {
        for await (const rec of readRecords(dir)) {
          switch (recordType(rec)) {
            case RecordType.Series:
              yield { type: 'series', series: decodeSeries(rec) };
              break;
            case RecordType.Samples:
              decodeSampleColumns(rec, cols);
              yield { type: 'sampleColumns', refs: cols.refs, ts: cols.ts, vs: cols.vs, n: cols.n };
              break;
            case RecordType.Tombstones:
              yield { type: 'tombstones', tombstones: decodeTombstones(rec) };
              break;
            default:
              skipped++;
          }
        }
      } catch (err) {
        // Everything yielded before the damage is whole: stop there, repair below.
        if (!isWalCorruption(err) || err.dir !== dir) throw err;
        corruption = err;
      }
    }
    let stats: ReplayStats;
    try {
      stats = await head.replay(decoded());
    } catch (err) {
      throw new Error(`replay wal ${dir}: ${(err as Error).message}`, { cause: err });
    }
    const res: WalReplayResult = { ...stats, skippedRecords: skipped, durationMs: 0 };
    if (corruption !== null) {
      const c = corruption as WalCorruptionError;
      // What the cut drops, for the log line: the damaged segment's tail and every later one.
      let droppedBytes = 0;
      for (const seg of await replaySegments(dir)) {
        if (seg < c.segment) continue;
        const size = (await stat(segmentName(dir, seg))).size;
        droppedBytes += seg === c.segment ? Math.max(0, size - c.offset) : size;
      }
      const r = await repair(dir);
      if (r.repaired) {
        const deletedSegments = r.deletedSegments ?? [];
        res.repaired = { segment: r.segment!, offset: r.offset!, reason: r.reason!, deletedSegments, droppedBytes };
        this.logger?.warn(
          { dir, segment: r.segment, offset: r.offset, reason: r.reason, droppedBytes, deletedSegments: deletedSegments.join(',') },
          'wal: repaired a damaged tail: cut at the last whole record',
        );
      }
    }
    res.durationMs = Math.round(performance.now() - start);
    this.logger?.info(
      {
        dir,
        series: res.series,
        samples: res.samples,
        tombstones: res.tombstones,
        unknownSeriesRefs: res.unknownSeriesRefs,
        droppedSamples: res.droppedSamples,
        skippedRecords: res.skippedRecords,
        durationMs: res.durationMs,
      },
      'wal: replay completed',
    );
    return res;
  }

  /** Opens the WL for appends: a new segment after the last one. Replay first. */
  async open(): Promise<void> {
    // A checkpoint half-written when the process died is never read; clear it.
    await this.removeTmpCheckpoints();
    this.wl = await WL.open(this.dir, {
      compress: this.opts.compress,
      segmentSize: this.opts.segmentSize,
      sync: this.opts.sync,
      logger: this.logger,
    });
  }

  private log(): WL {
    if (this.wl === null) throw new Error(`wal ${this.dir}: not open`);
    return this.wl;
  }

  /** Held back: written, in order, with the next samples or tombstones record. */
  logSeries(series: WalSeries[]): void {
    this.log();
    this.pendingSeries.push(encodeSeries(series));
  }

  async logSamples(samples: WalSample[]): Promise<void> {
    const recs = this.takePending();
    recs.push(encodeSamples(samples));
    await this.log().log(...recs);
  }

  async logSampleColumns(refs: Float64Array, ts: Float64Array, vs: Float64Array, n: number): Promise<void> {
    const recs = this.takePending();
    recs.push(encodeSampleColumns(refs, ts, vs, n));
    await this.log().log(...recs);
  }

  async logTombstones(stones: WalTombstone[]): Promise<void> {
    if (stones.length === 0) return;
    const recs = this.takePending();
    recs.push(encodeTombstones(stones));
    await this.log().log(...recs);
  }

  private takePending(): Uint8Array[] {
    const recs = this.pendingSeries;
    this.pendingSeries = [];
    return recs;
  }

  /** Remembers series the head removed (Head.gc), against the WAL's last segment now. */
  async seriesDeleted(refs: readonly number[]): Promise<void> {
    if (refs.length === 0 || this.wl === null) return;
    const { last } = await this.wl.segments();
    for (const ref of refs) this.deleted.set(ref, last);
  }

  /**
   * Head.truncateWAL after the head was truncated at mint: starts a new segment, then
   * checkpoints the lower two thirds of the older segments (series still in the head or
   * recently deleted, samples >= mint), removes those segments and older checkpoints.
   * @returns the checkpoint written, or null when there were too few segments
   */
  async truncate(mint: number, head: Head): Promise<{ checkpoint: number } | null> {
    const wl = this.wl;
    if (wl === null || mint <= this.lastTruncationMint) return null;
    const start = performance.now();
    this.lastTruncationMint = mint;
    const segs = await wl.segments();
    const first = segs.first;
    let last = segs.last;
    // Start a new segment, so a WAL with little traffic does not keep more than needed.
    await wl.nextSegment();
    last--; // never the segment being written when we were called
    if (last < 0) return null;
    // The lower two thirds should hold mostly obsolete samples; with fewer than two
    // segments it is not worth it (about 3h of WAL kept with 2h blocks).
    last = first + Math.floor(((last - first) * 2) / 3);
    if (last <= first) return null;

    const prev = await lastCheckpoint(this.dir);
    if (prev !== null && last <= prev.index) {
      // Already covered by a checkpoint (leftovers of a failed truncation).
      await wl.truncate(prev.index + 1);
      return null;
    }
    const keep = (ref: number): boolean => head.seriesLabels(ref) !== undefined || this.deleted.has(ref);
    let cp: Awaited<ReturnType<typeof checkpoint>>;
    try {
      cp = await checkpoint(this.dir, first, last, keep, mint, { compress: this.opts.compress, logger: this.logger });
    } catch (err) {
      throw new Error(`create checkpoint: ${(err as Error).message}`, { cause: err });
    }
    try {
      await wl.truncate(last + 1);
    } catch (err) {
      // Tried again at the next truncation; a newer checkpoint makes leftovers unread.
      this.logger?.error({ err }, 'wal: truncating segments failed');
    }
    for (const [ref, seg] of this.deleted) if (seg < first) this.deleted.delete(ref);
    try {
      await deleteCheckpoints(this.dir, last);
    } catch (err) {
      this.logger?.error({ err }, 'wal: delete old checkpoints');
    }
    this.logger?.info(
      {
        first,
        last,
        mint,
        series: cp.stats.totalSeries - cp.stats.droppedSeries,
        samples: cp.stats.totalSamples - cp.stats.droppedSamples,
        durationMs: Math.round(performance.now() - start),
      },
      'wal: checkpoint complete',
    );
    return { checkpoint: cp.index };
  }

  async sync(): Promise<void> {
    await this.wl?.sync();
  }

  /** Syncs and closes the active segment. */
  async close(): Promise<void> {
    const wl = this.wl;
    this.wl = null;
    if (wl !== null) await wl.close();
  }

  private async removeTmpCheckpoints(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const n of names) if (/^checkpoint\.\d+\.tmp$/.test(n)) await rm(join(this.dir, n), { recursive: true, force: true });
  }
}
