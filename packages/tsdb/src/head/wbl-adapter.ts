// The DB's write-behind log for out-of-order samples (Prometheus 2.42's WBL): a wlog.WL in
// `<dir>/wbl`, same segment format as the WAL, holding Samples records of the OOO samples
// each commit accepted (written after they are in memory, as Prometheus's Commit does).
//
// Prometheus also writes MmapMarkers records there, saying an OOO head chunk was
// m-mapped to chunks_head/; its replay then starts a new head chunk. We keep no
// chunks_head: replay inserts every sample again and skips markers, so a WBL written by
// Prometheus replays to the same samples, and ours (without markers) replays in
// Prometheus as head chunks it cuts itself.
//
// No checkpoints: after the OOO samples are written to blocks the segments before the
// one started at compaction are deleted (Head.truncateOOO with lastWBLFile). A damaged
// tail is cut at the last whole record, as the WAL's (db.open: "Encountered OOO WAL read
// error, attempting repair").

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@thanos-ts/runtime';
import { decodeSamples, encodeSamples, RecordType, recordType } from '../record/index.js';
import { isWalCorruption, readRecords, repair, segmentName, WL, type WalCorruptionError } from '../wlog/index.js';
import { replaySegments } from '../wlog/reader.js';
import type { Head, HeadWbl, OOOReplayStats, WalSample } from './head.js';
import type { DBWalOptions } from './wal-adapter.js';

/** Prometheus's wlog.WblDirName. */
export const WBL_DIR_NAME = 'wbl';

/** What opening the WBL found. */
export interface WblReplayResult extends OOOReplayStats {
  /** Records other than samples (m-map markers), skipped. */
  skippedRecords: number;
  /** Set when a damaged segment was cut. */
  repaired?: { segment: number; offset: number; reason: string; deletedSegments: number[]; droppedBytes: number };
  durationMs: number;
}

export class WblAdapter implements HeadWbl {
  readonly dir: string;
  private wl: WL | null = null;

  constructor(
    dbDir: string,
    private readonly opts: DBWalOptions,
    private readonly logger?: Logger,
  ) {
    this.dir = join(dbDir, WBL_DIR_NAME);
  }

  /** Whether `<dbDir>/wbl` exists (a DB that had OOO enabled keeps replaying it). */
  static async exists(dbDir: string): Promise<boolean> {
    try {
      return (await stat(join(dbDir, WBL_DIR_NAME))).isDirectory();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /**
   * Inserts the WBL's samples into the head's OOO chunks; run after the WAL replay (the
   * series come from there). A damaged segment is cut at its first damaged record.
   */
  async replay(head: Head): Promise<WblReplayResult> {
    const start = performance.now();
    const dir = this.dir;
    let corruption: WalCorruptionError | null = null;
    let skipped = 0;
    async function* decoded(): AsyncGenerator<readonly WalSample[]> {
      try {
        for await (const rec of readRecords(dir)) {
          if (recordType(rec) === RecordType.Samples) yield decodeSamples(rec);
          else skipped++;
        }
      } catch (err) {
        if (!isWalCorruption(err) || err.dir !== dir) throw err;
        corruption = err;
      }
    }
    let stats: OOOReplayStats;
    try {
      stats = await head.replayOOO(decoded());
    } catch (err) {
      throw new Error(`replay wbl ${dir}: ${(err as Error).message}`, { cause: err });
    }
    const res: WblReplayResult = { ...stats, skippedRecords: skipped, durationMs: 0 };
    if (corruption !== null) {
      const c = corruption as WalCorruptionError;
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
          'wbl: repaired a damaged tail: cut at the last whole record',
        );
      }
    }
    res.durationMs = Math.round(performance.now() - start);
    this.logger?.info(
      { dir, samples: res.samples, unknownSeriesRefs: res.unknownSeriesRefs, droppedSamples: res.droppedSamples, durationMs: res.durationMs },
      'wbl: replay completed',
    );
    return res;
  }

  /** Opens the WL for appends: a new segment after the last one. Replay first. */
  async open(): Promise<void> {
    this.wl = await WL.open(this.dir, {
      compress: this.opts.compress,
      segmentSize: this.opts.segmentSize,
      sync: this.opts.sync,
      logger: this.logger,
    });
  }

  private log(): WL {
    if (this.wl === null) throw new Error(`wbl ${this.dir}: not open`);
    return this.wl;
  }

  async logSamples(samples: WalSample[]): Promise<void> {
    if (samples.length === 0) return;
    await this.log().log(encodeSamples(samples));
  }

  /**
   * Starts a new segment (NewOOOCompactionHead's NextSegmentSync): everything logged so
   * far is in the segments before the one returned.
   */
  async nextSegment(): Promise<number> {
    return this.log().nextSegment();
  }

  /** Removes the segments before `segment`, whose samples are in blocks now. */
  async truncate(segment: number): Promise<void> {
    await this.log().truncate(segment);
  }

  /** Syncs and closes the active segment. */
  async close(): Promise<void> {
    const wl = this.wl;
    this.wl = null;
    if (wl !== null) await wl.close();
  }
}
