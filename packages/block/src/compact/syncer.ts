// The compactor's view of the bucket (Thanos compact.Syncer): metas fetched through
// the compactor's filters, and garbage collection of blocks whose data a compacted
// block already holds.

import { consistencyDelayFilter, IgnoreDeletionMarkFilter, MetaFetcher, timePartitionFilter } from '../fetcher.js';
import { markForDeletion } from '../delete.js';
import type { FetchResult, MetaFilter } from '../fetcher.js';
import type { Bucket } from '@thanos-ts/objstore';
import type { Logger } from '@thanos-ts/runtime';
import type { BlockMeta } from '@thanos-ts/tsdb';
import { DeduplicateFilter, GatherNoCompactMarkFilter, GatherNoDownsampleMarkFilter, replicaLabelRemover } from './filters.js';
import type { CompactMetrics } from './metrics.js';

export interface SyncerOptions {
  bkt: Bucket;
  logger: Logger;
  metrics?: CompactMetrics;
  /** Concurrent meta.json reads. */
  concurrency?: number;
  minTime?: number;
  maxTime?: number;
  /** --selector.relabel-config as a filter, or null. */
  relabelFilter?: MetaFilter | null;
  consistencyDelayMs: number;
  /** --delete-delay; blocks marked longer than half of it ago are no longer seen. */
  deleteDelayMs: number;
  /** --deduplication.replica-label: dropped from the labels a block is grouped by. */
  replicaLabels?: readonly string[];
  now?: () => number;
}

export class Syncer {
  readonly deletionMarks: IgnoreDeletionMarkFilter;
  readonly duplicates = new DeduplicateFilter();
  readonly noCompact: GatherNoCompactMarkFilter;
  readonly noDownsample: GatherNoDownsampleMarkFilter;
  private readonly fetcher: MetaFetcher;
  private last: FetchResult | null = null;
  private lastSyncAt = 0;

  constructor(private readonly opts: SyncerOptions) {
    const conc = opts.concurrency ?? 32;
    const now = opts.now ?? Date.now;
    // Marked blocks stay visible for half the delete delay, so a block about to be
    // deleted is still seen until its replacement is (no compaction with a gap).
    this.deletionMarks = new IgnoreDeletionMarkFilter(Math.floor(opts.deleteDelayMs / 2), conc, now);
    this.noCompact = new GatherNoCompactMarkFilter(conc);
    this.noDownsample = new GatherNoDownsampleMarkFilter(conc);
    const filters: MetaFilter[] = [timePartitionFilter(opts.minTime ?? -8.64e15, opts.maxTime ?? 8.64e15)];
    if (opts.relabelFilter) filters.push(opts.relabelFilter);
    filters.push(consistencyDelayFilter(opts.consistencyDelayMs, now));
    filters.push(this.deletionMarks);
    filters.push(replicaLabelRemover(opts.replicaLabels ?? []));
    filters.push(this.duplicates);
    filters.push(this.noCompact);
    filters.push(this.noDownsample);
    this.fetcher = new MetaFetcher(opts.bkt, { concurrency: conc, filters });
  }

  /** Re-reads the bucket's metas. */
  async syncMetas(): Promise<void> {
    const res = await this.fetcher.fetch();
    for (const [id, err] of res.corrupted) this.opts.logger.warn({ block: id, err: err.message }, 'block with a corrupted meta.json skipped');
    this.last = res;
    this.lastSyncAt = Date.now();
  }

  /** The usable blocks of the last sync (duplicates and long-marked blocks left out). */
  metas(): Map<string, BlockMeta> {
    return this.last?.metas ?? new Map();
  }

  /**
   * The blocks to work on: metas() without those marked for deletion (being replaced,
   * past retention, or marked by hand), which must not come back inside a new block.
   */
  activeMetas(): Map<string, BlockMeta> {
    const out = new Map<string, BlockMeta>();
    for (const [id, m] of this.metas()) if (!this.deletionMarks.marks.has(id)) out.set(id, m);
    return out;
  }

  /** Blocks without meta.json seen by the last sync. */
  partial(): Map<string, Error> {
    return this.last?.partial ?? new Map();
  }

  get lastSync(): number {
    return this.lastSyncAt;
  }

  /**
   * Marks for deletion the blocks found to duplicate others at the last sync: the
   * inputs of a compaction whose marking was interrupted, or the output of a
   * compaction done twice.
   */
  async garbageCollect(signal?: AbortSignal): Promise<number> {
    let n = 0;
    for (const id of this.duplicates.duplicates) {
      signal?.throwIfAborted();
      if (this.deletionMarks.marks.has(id)) continue;
      if (await markForDeletion(this.opts.bkt, id, 'outdated block: its data is in a compacted block')) {
        this.opts.logger.info({ block: id }, 'marked outdated block for deletion');
        this.opts.metrics?.blocksMarked.inc({ marker: 'deletion-mark.json', reason: '' });
        this.opts.metrics?.garbageCollectedBlocks.inc();
        n++;
      }
    }
    return n;
  }
}
