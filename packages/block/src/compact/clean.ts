// Deleting what the compactor (or an operator) marked, and aborted partial uploads
// (Thanos compact.BlocksCleaner and BestEffortCleanAbortedPartialUploads).
//
// Deletion is always two steps: deletion-mark.json first (readers stop using the
// block), the delete itself after --delete-delay, meta.json first so the block stops
// being a block at once. A delete interrupted half way leaves a directory with a
// deletion mark and no meta.json, which the next cleanup finishes.

import { deleteBlock } from '../delete.js';
import { IgnoreDeletionMarkFilter, MetaFetcher } from '../fetcher.js';
import type { Bucket } from '@thanos-ts/objstore';
import type { Logger } from '@thanos-ts/runtime';
import { DELETION_MARK_FILENAME, ulidTime } from '@thanos-ts/tsdb';
import type { CompactMetrics } from './metrics.js';

export interface CleanOptions {
  bkt: Bucket;
  logger: Logger;
  metrics?: CompactMetrics;
  /** --delete-delay: how long a marked block is kept. */
  deleteDelayMs: number;
  /** Partial uploads (no meta.json) whose ULID is older than this are removed. */
  consistencyDelayMs: number;
  concurrency?: number;
  now?: () => number;
  signal?: AbortSignal;
  /** Report what would be deleted, delete nothing. */
  dryRun?: boolean;
}

export interface CleanResult {
  /** Marked blocks deleted (or, dry run, to delete). */
  deleted: string[];
  /** Partial uploads removed (or, dry run, to remove). */
  partial: string[];
  failures: number;
}

/** One cleanup pass over the whole bucket: marked blocks past the delay, then partial uploads. */
export async function cleanBucket(opts: CleanOptions): Promise<CleanResult> {
  const now = opts.now ?? Date.now;
  const marks = new IgnoreDeletionMarkFilter(opts.deleteDelayMs, opts.concurrency ?? 32, now);
  const res = await new MetaFetcher(opts.bkt, { concurrency: opts.concurrency ?? 32, filters: [marks] }).fetch();
  const out: CleanResult = { deleted: [], partial: [], failures: 0 };
  const del = async (id: string, why: string, list: string[]): Promise<void> => {
    opts.signal?.throwIfAborted();
    if (opts.dryRun) {
      list.push(id);
      opts.logger.info({ block: id, reason: why }, 'would delete block (dry run)');
      return;
    }
    try {
      await deleteBlock(opts.bkt, id);
      list.push(id);
      opts.metrics?.blocksCleaned.inc();
      opts.logger.info({ block: id, reason: why }, 'deleted block');
    } catch (err) {
      out.failures++;
      opts.metrics?.blockCleanupFailures.inc();
      opts.logger.warn({ block: id, err: (err as Error).message }, 'deleting block failed; retried at the next cleanup');
    }
  };
  for (const [id, filter] of [...res.filtered].sort()) {
    if (filter !== marks.name) continue;
    await del(id, `marked for deletion more than --delete-delay ago`, out.deleted);
  }
  for (const id of [...res.partial.keys()].sort()) {
    if (await opts.bkt.exists(`${id}/${DELETION_MARK_FILENAME}`)) {
      await del(id, 'interrupted deletion', out.deleted);
      continue;
    }
    const age = now() - ulidTime(id);
    if (age < opts.consistencyDelayMs) continue;
    opts.metrics?.partialUploadDeleteAttempts.inc();
    await del(id, 'aborted partial upload (no meta.json, older than the consistency delay)', out.partial);
  }
  return out;
}
