// Repair of a damaged write log (Prometheus WL.Repair): everything from the first damaged
// record on is dropped. Segments after the damaged one are deleted; the damaged one is cut
// at the record's first byte and zero-filled to the end of that page. Prometheus rewrites
// the segment record by record instead; since the kept records are whole and laid out by
// the same rules, cutting in place leaves the same bytes without a second copy.
//
// A torn tail after a crash is the common case: the process died between two writes of one
// record. Records after a damaged one are dropped even when intact, because later records
// may refer to series the lost ones created.

import { open, rm } from 'node:fs/promises';
import type { Logger } from '@thanos-ts/runtime';
import { syncDir } from '@thanos-ts/runtime';
import { isWalCorruption, readSegment, replaySegments } from './reader.js';
import { segmentName, WAL_PAGE_SIZE } from './segments.js';

export interface RepairResult {
  repaired: boolean;
  /** The damaged segment that was cut. */
  segment?: number;
  /** Its new length before zero-padding: where the first damaged record started. */
  offset?: number;
  /** What was wrong there. */
  reason?: string;
  /** Later segments deleted. */
  deletedSegments?: number[];
}

/**
 * Reads the segments readRecords(dir) replays and cuts the log at the first damage.
 * Must not run while a WL is open on dir. A damaged checkpoint is not repaired: replay
 * reports it with a WalCorruptionError whose `dir` is the checkpoint.
 */
export async function repair(dir: string, opts: { logger?: Logger } = {}): Promise<RepairResult> {
  const segments = await replaySegments(dir);
  for (const index of segments) {
    try {
      for await (const _ of readSegment(dir, index)) {
        // reading is the check
      }
    } catch (err) {
      if (!isWalCorruption(err)) throw err;
      return cut(dir, err.segment, err.offset, err.reason, segments.filter((s) => s > err.segment), opts.logger);
    }
  }
  return { repaired: false };
}

async function cut(dir: string, segment: number, offset: number, reason: string, later: number[], logger?: Logger): Promise<RepairResult> {
  logger?.warn({ dir, segment, offset, reason }, 'wal: repairing: dropping everything from the first damaged record');
  // Newest first, so a crash half-way leaves a log without gaps.
  for (const s of [...later].reverse()) await rm(segmentName(dir, s));
  const fh = await open(segmentName(dir, segment), 'r+');
  try {
    await fh.truncate(offset);
    // Extending with ftruncate writes zeros: the cut page ends as a finished page would.
    const padded = Math.ceil(offset / WAL_PAGE_SIZE) * WAL_PAGE_SIZE;
    if (padded > offset) await fh.truncate(padded);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await syncDir(dir);
  return { repaired: true, segment, offset, reason, deletedSegments: later };
}
