// The compaction loop over all groups (Thanos compact.BucketCompactor): sync, collect
// garbage, group, compact one plan per group, and again until no group has work.
//
// Unlike Thanos, a critical error in one stream (overlapping blocks without vertical
// compaction) does not stop the others: the stream is reported halted — metric
// thanos_compact_halted = 1 and one error line naming the blocks and the fix — and
// every other stream goes on being compacted, downsampled and held to retention.

import type { HashFunc } from '../upload.js';
import type { Bucket } from '@thanos-ts/objstore';
import { mapConcurrent } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { groupBlocks, HaltError } from './group.js';
import type { Group } from './group.js';
import type { CompactMetrics } from './metrics.js';
import type { Syncer } from './syncer.js';
import type { LocalCompactFn, VerticalMergeFunc } from './tsdb-compactor.js';

export interface BucketCompactorOptions {
  bkt: Bucket;
  logger: Logger;
  metrics?: CompactMetrics;
  syncer: Syncer;
  /** Working directory (`<data-dir>/compact`). */
  dir: string;
  ranges: readonly number[];
  verticalCompaction: boolean;
  verticalMerge?: VerticalMergeFunc;
  compact: LocalCompactFn;
  concurrency: number;
  maxIndexSizeBytes: number;
  hashFunc?: HashFunc;
  /** Mark inputs with out-of-order chunks no-compact (default) instead of halting their stream. */
  skipOutOfOrderChunks?: boolean;
}

export interface CompactPassResult {
  /** Halted streams: group name → the reason. */
  halted: Map<string, string>;
  /** Keys of the halted groups. */
  haltedKeys: Set<string>;
  /** Retriable failures of groups, by group name. */
  errors: Map<string, Error>;
  /** Compactions done in this pass. */
  compactions: number;
}

export class BucketCompactor {
  /** Halt reasons already logged, so a stream halted for the same blocks logs once. */
  private readonly loggedHalts = new Set<string>();

  constructor(private readonly opts: BucketCompactorOptions) {}

  /** Compacts every group until none has work left, or the signal aborts. */
  async compact(signal?: AbortSignal): Promise<CompactPassResult> {
    const { logger, metrics, syncer } = this.opts;
    const result: CompactPassResult = { halted: new Map(), haltedKeys: new Set(), errors: new Map(), compactions: 0 };
    for (;;) {
      signal?.throwIfAborted();
      await syncer.syncMetas();
      await syncer.garbageCollect(signal);
      const groups = groupBlocks(syncer.activeMetas().values());
      const noCompact = new Set(syncer.noCompact.marks.keys());
      this.updateTodo(groups, noCompact);

      let progressed = false;
      const todo = groups.filter((g) => !result.haltedKeys.has(g.key) && !result.errors.has(g.name));
      await mapConcurrent(todo, Math.max(1, this.opts.concurrency), async (g) => {
        if (signal?.aborted) return;
        try {
          const r = await g.compact(
            {
              bkt: this.opts.bkt,
              logger,
              metrics,
              dir: this.opts.dir,
              ranges: this.opts.ranges,
              verticalCompaction: this.opts.verticalCompaction,
              verticalMerge: this.opts.verticalMerge,
              compact: this.opts.compact,
              maxIndexSizeBytes: this.opts.maxIndexSizeBytes,
              hashFunc: this.opts.hashFunc,
              noCompact,
              skipOutOfOrderChunks: this.opts.skipOutOfOrderChunks,
            },
            signal,
          );
          // Inputs marked no-compact: plan the group again after the next sync.
          if (r.markedNoCompact && r.markedNoCompact.length > 0) progressed = true;
          if (r.planned.length === 0) return;
          progressed = true;
          result.compactions++;
          const left = g.todo(this.opts.ranges, noCompact, this.opts.verticalCompaction);
          logger.info({ group: g.name, planned: r.planned.length, compacted: r.newBlock ?? 'none (empty result)', sources: r.planned.join(','), left: left.compactions }, 'compacted group');
        } catch (err) {
          if (signal?.aborted) return;
          if (err instanceof HaltError) {
            result.halted.set(g.name, err.message);
            result.haltedKeys.add(g.key);
            if (!this.loggedHalts.has(err.message)) {
              this.loggedHalts.add(err.message);
              logger.error({ group: g.name, err: err.message }, 'critical error in stream; compaction of this stream halted, other streams continue');
            }
            return;
          }
          result.errors.set(g.name, err as Error);
          logger.warn({ group: g.name, err: (err as Error).message }, 'group compaction failed; retried in the next iteration');
        }
      });
      signal?.throwIfAborted();
      metrics?.halted.set(result.halted.size > 0 ? 1 : 0);
      metrics?.haltedGroups.set(result.halted.size);
      if (!progressed) break;
    }
    // Final figures after the last sync.
    this.updateTodo(groupBlocks(syncer.activeMetas().values()), new Set(syncer.noCompact.marks.keys()), result.haltedKeys);
    return result;
  }

  private updateTodo(groups: Group[], noCompact: ReadonlySet<string>, skip: ReadonlySet<string> = new Set()): void {
    let compactions = 0;
    let blocks = 0;
    for (const g of groups) {
      if (skip.has(g.key)) continue;
      const t = g.todo(this.opts.ranges, noCompact, this.opts.verticalCompaction);
      compactions += t.compactions;
      blocks += t.blocks;
    }
    this.opts.metrics?.todoCompactions.set(compactions);
    this.opts.metrics?.todoCompactionBlocks.set(blocks);
  }
}
