// `tools bucket cleanup`: the compactor's cleanup run alone (Thanos tools bucket
// cleanup): blocks marked for deletion longer than --delete-delay ago are deleted, and
// partial uploads older than --consistency-delay removed.

import { consistencyDelayFilter, IgnoreDeletionMarkFilter, MetaFetcher, cleanBucket } from '@thanos-ts/block';
import type { MetaFilter } from '@thanos-ts/block';
import type { CleanResult } from '@thanos-ts/block';
import type { Bucket } from '@thanos-ts/objstore';
import type { Logger } from '@thanos-ts/runtime';
import type { BlockMeta } from '@thanos-ts/tsdb';

export interface CleanupOptions {
  deleteDelayMs: number;
  consistencyDelayMs: number;
  dryRun?: boolean;
  logger: Logger;
}

/** Deletes blocks marked more than --delete-delay ago and partial uploads older than --consistency-delay. */
export async function bucketCleanup(bkt: Bucket, opts: CleanupOptions): Promise<CleanResult> {
  return cleanBucket({ bkt, logger: opts.logger, deleteDelayMs: opts.deleteDelayMs, consistencyDelayMs: opts.consistencyDelayMs, dryRun: opts.dryRun });
}

/** Blocks the compactor would work on: complete, old enough, not marked for deletion. */
export async function activeMetas(bkt: Bucket, consistencyDelayMs: number, extra: MetaFilter[] = []): Promise<BlockMeta[]> {
  const marks = new IgnoreDeletionMarkFilter(0);
  const res = await new MetaFetcher(bkt, { filters: [consistencyDelayFilter(consistencyDelayMs), marks, ...extra] }).fetch();
  return [...res.metas.values()];
}
