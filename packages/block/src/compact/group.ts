// Compaction groups (Thanos compact.DefaultGrouper and compact.Group): the blocks of
// one stream — equal external labels (replica labels removed under deduplication)
// and equal resolution — planned, downloaded, merged and replaced as one unit.

import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { downloadBlock } from '../download.js';
import { markForDeletion } from '../delete.js';
import { uploadBlock } from '../upload.js';
import type { HashFunc } from '../upload.js';
import type { Bucket } from '@thanos-ts/objstore';
import type { Logger } from '@thanos-ts/runtime';
import { labelsFromRecord, labelsToString, NoCompactReason, SourceType, THANOS_VERSION_1 } from '@thanos-ts/tsdb';
import type { BlockMeta } from '@thanos-ts/tsdb';
import { findOutOfOrderChunks } from './index-health.js';
import { markForNoCompact } from './marks.js';
import type { CompactMetrics } from './metrics.js';
import { resolutionLabel } from './metrics.js';
import { planCompaction, selectOverlappingMetas } from './planner.js';
import type { LocalCompactFn, VerticalMergeFunc } from './tsdb-compactor.js';

/**
 * A problem that must not be retried blindly: compacting on would write wrong data
 * (Thanos' HaltError). The stream it happened in is left alone until an operator
 * acts; the other streams go on.
 */
export class HaltError extends Error {
  override readonly name = 'HaltError';
}

/** Thanos' group key: `<resolution>@<hash of the external labels>`. */
export function groupKey(resolution: number, labels: Record<string, string> | null): string {
  const s = labelsToString(labelsFromRecord(labels ?? {}));
  const h = createHash('sha256').update(s).digest();
  return `${resolution}@${h.readBigUInt64BE(0).toString()}`;
}

export interface GroupOptions {
  bkt: Bucket;
  logger: Logger;
  metrics?: CompactMetrics;
  /** Where the group's inputs are downloaded and its output written. */
  dir: string;
  ranges: readonly number[];
  verticalCompaction: boolean;
  verticalMerge?: VerticalMergeFunc;
  compact: LocalCompactFn;
  /** --compact.block-max-index-size: the estimated index size of a result may not exceed it. */
  maxIndexSizeBytes: number;
  hashFunc?: HashFunc;
  /** Marks of blocks excluded from compaction (shared with the syncer's filter). */
  noCompact: ReadonlySet<string>;
  /**
   * --compact.skip-block-with-out-of-order-chunks: an input with out-of-order chunks is
   * marked no-compact (true, our default) or halts the stream (false, Thanos' default).
   */
  skipOutOfOrderChunks?: boolean;
}

export interface GroupCompactResult {
  /** Input blocks of the compaction done, [] when there was nothing to do. */
  planned: string[];
  /** The new block, null when none was written (nothing to do, or empty result). */
  newBlock: string | null;
  /** Inputs marked no-compact instead (out-of-order chunks); the group is planned again. */
  markedNoCompact?: string[];
}

export class Group {
  readonly metas: BlockMeta[] = [];
  readonly labels: Record<string, string>;

  constructor(
    readonly key: string,
    readonly resolution: number,
    labels: Record<string, string> | null,
  ) {
    this.labels = { ...(labels ?? {}) };
  }

  /** The stream as logs name it: `0@{cluster="eu"}`. */
  get name(): string {
    return `${this.resolution}@${labelsToString(labelsFromRecord(this.labels))}`;
  }

  add(m: BlockMeta): void {
    this.metas.push(m);
    this.metas.sort((a, b) => a.minTime - b.minTime || (a.ulid < b.ulid ? -1 : 1));
  }

  /** The next compaction's inputs (no side effects). */
  plan(ranges: readonly number[], noCompact: ReadonlySet<string>): BlockMeta[] {
    return planCompaction(this.metas, ranges, noCompact);
  }

  /**
   * How many compactions (and of how many blocks) are left in this group, by planning
   * repeatedly on metas where each plan is replaced by its would-be result.
   */
  todo(ranges: readonly number[], noCompact: ReadonlySet<string>, verticalCompaction: boolean): { compactions: number; blocks: number } {
    let metas = [...this.metas];
    let compactions = 0;
    let blocks = 0;
    for (let i = 0; i < 10_000; i++) {
      const p = planCompaction(metas, ranges, noCompact);
      if (p.length === 0) break;
      if (!verticalCompaction && selectOverlappingMetas(p).length > 0) break;
      compactions++;
      blocks += p.length;
      const ids = new Set(p.map((m) => m.ulid));
      const merged: BlockMeta = {
        ...p[0],
        ulid: `~${i}`,
        minTime: Math.min(...p.map((m) => m.minTime)),
        maxTime: Math.max(...p.map((m) => m.maxTime)),
        stats: {},
        compaction: { level: Math.max(...p.map((m) => m.compaction.level)) + 1 },
      };
      metas = [...metas.filter((m) => !ids.has(m.ulid)), merged].sort((a, b) => a.minTime - b.minTime);
    }
    return { compactions, blocks };
  }

  /**
   * Does the next compaction of this group: plan, download the inputs, merge them,
   * upload the result (meta.json last), then mark the inputs for deletion. A crash at
   * any point leaves the bucket consistent: before the upload completes nothing has
   * changed (a partial upload is invisible and cleaned later); after it, the inputs
   * are duplicates of the new block and the next sync marks them.
   * @throws HaltError for overlapping blocks when vertical compaction is off
   */
  async compact(opts: GroupOptions, signal?: AbortSignal): Promise<GroupCompactResult> {
    const res = resolutionLabel(this.resolution);
    const noCompact = new Set(opts.noCompact);
    let plan = this.plan(opts.ranges, noCompact);
    if (plan.length === 0) return { planned: [], newBlock: null };

    const overlapping = selectOverlappingMetas(plan).length > 0;
    if (overlapping && !opts.verticalCompaction) {
      throw new HaltError(
        `overlapping blocks in stream ${this.name}: ${plan.map((m) => `${m.ulid} [${m.minTime}, ${m.maxTime})`).join(', ')}; ` +
          'compaction of this stream is halted (the others go on): run the compactor with --compact.enable-vertical-compaction ' +
          '(with --deduplication.replica-label for replicas of one Prometheus pair) to merge them, or repair with `thanos-ts tools bucket verify --repair -i overlapped_blocks`',
      );
    }

    // Blocks whose index would make the result's too big are marked no-compact
    // (Thanos largeTotalIndexSizeFilter), biggest first, and the group re-planned.
    if (opts.maxIndexSizeBytes > 0) {
      for (;;) {
        const sizes = await Promise.all(plan.map((m) => indexSize(opts.bkt, m)));
        const total = sizes.reduce((a, b) => a + b, 0);
        if (total <= opts.maxIndexSizeBytes || plan.length === 0) break;
        let biggest = 0;
        for (let i = 1; i < sizes.length; i++) if (sizes[i] > sizes[biggest]) biggest = i;
        const id = plan[biggest].ulid;
        const details = `block id ${id}, total size ${total} bytes of the planned compaction's indexes exceeds --compact.block-max-index-size ${opts.maxIndexSizeBytes}`;
        if (await markForNoCompact(opts.bkt, id, NoCompactReason.IndexSizeExceeding, details)) {
          opts.metrics?.blocksMarked.inc({ marker: 'no-compact-mark.json', reason: NoCompactReason.IndexSizeExceeding });
        }
        opts.logger.warn({ group: this.name, block: id, totalIndexBytes: total, max: opts.maxIndexSizeBytes }, 'marked block for no compaction: the compacted index would be too big');
        noCompact.add(id);
        plan = this.plan(opts.ranges, noCompact);
      }
      if (plan.length === 0) return { planned: [], newBlock: null };
    }

    opts.metrics?.groupCompactionRunsStarted.inc({ resolution: res });
    const groupDir = join(opts.dir, this.key.replace(/[^0-9A-Za-z@_-]/g, '_'));
    await rm(groupDir, { recursive: true, force: true });
    await mkdir(groupDir, { recursive: true });
    try {
      const dirs: string[] = [];
      for (const m of plan) {
        signal?.throwIfAborted();
        await downloadBlock(opts.bkt, m.ulid, groupDir);
        dirs.push(join(groupDir, m.ulid));
      }
      const marked = await this.excludeOutOfOrder(plan, groupDir, opts);
      if (marked.length > 0) return { planned: [], newBlock: null, markedNoCompact: marked };
      signal?.throwIfAborted();
      const t0 = Date.now();
      const out = await opts.compact(dirs, groupDir, {
        verticalMerge: overlapping ? opts.verticalMerge : undefined,
        signal,
        thanos: { version: THANOS_VERSION_1, labels: { ...this.labels }, downsample: { resolution: this.resolution }, source: SourceType.Compactor },
      });
      signal?.throwIfAborted();
      const ids = plan.map((m) => m.ulid);
      if (out === null) {
        opts.logger.info({ group: this.name, blocks: ids }, 'compacted block would be empty; marking the source blocks for deletion');
      } else {
        await uploadBlock(opts.bkt, join(groupDir, out.ulid), {
          hashFunc: opts.hashFunc,
          mutateMeta: (meta) => {
            meta.thanos.version = THANOS_VERSION_1;
            meta.thanos.labels = { ...this.labels };
            meta.thanos.downsample = { resolution: this.resolution };
            meta.thanos.source = SourceType.Compactor;
          },
        });
        opts.logger.debug({ group: this.name, block: out.ulid, durationMs: Date.now() - t0 }, 'uploaded compacted block');
      }
      // Only once the new block is whole in the bucket are its inputs marked.
      for (const id of ids) {
        if (await markForDeletion(opts.bkt, id, out ? `source of compacted block ${out.ulid}` : 'compacted into an empty block')) {
          opts.metrics?.blocksMarked.inc({ marker: 'deletion-mark.json', reason: '' });
        }
      }
      opts.metrics?.groupCompactionRunsCompleted.inc({ resolution: res });
      if (out) {
        opts.metrics?.groupCompactions.inc({ resolution: res });
        if (overlapping) opts.metrics?.groupVerticalCompactions.inc({ resolution: res });
      }
      // Replace the inputs by the output in this group's view, for the next plan.
      const planned = new Set(ids);
      const kept = this.metas.filter((m) => !planned.has(m.ulid));
      this.metas.length = 0;
      this.metas.push(...kept);
      if (out) this.add({ ...out, thanos: { ...out.thanos, labels: { ...this.labels } } });
      return { planned: ids, newBlock: out?.ulid ?? null };
    } catch (err) {
      if (!signal?.aborted) opts.metrics?.groupCompactionFailures.inc({ resolution: res });
      throw err;
    } finally {
      await rm(groupDir, { recursive: true, force: true });
    }
  }

  /**
   * Thanos' outOfOrderChunkError handling: an input whose index has out-of-order chunks
   * cannot be compacted, so (with skipOutOfOrderChunks, the default) it is marked
   * no-compact with reason block-index-out-of-order-chunk and left as it is — still
   * queryable, downsampled and held to retention — instead of failing this group on
   * every pass. Returns the blocks marked.
   * @throws HaltError for such a block when skipOutOfOrderChunks is false
   */
  private async excludeOutOfOrder(plan: BlockMeta[], groupDir: string, opts: GroupOptions): Promise<string[]> {
    const marked: string[] = [];
    for (const m of plan) {
      const ooo = findOutOfOrderChunks(join(groupDir, m.ulid));
      if (ooo === null) continue;
      const details = `block ${m.ulid} has ${ooo.count} out-of-order chunk(s), first: ${ooo.first}`;
      if (opts.skipOutOfOrderChunks === false) {
        throw new HaltError(`${details}; compaction of stream ${this.name} is halted: mark the block with \`thanos-ts tools bucket mark --marker no-compact-mark.json\`, or run with --compact.skip-block-with-out-of-order-chunks`);
      }
      if (await markForNoCompact(opts.bkt, m.ulid, NoCompactReason.OutOfOrderChunks, details)) {
        opts.metrics?.blocksMarked.inc({ marker: 'no-compact-mark.json', reason: NoCompactReason.OutOfOrderChunks });
      }
      opts.logger.warn({ group: this.name, block: m.ulid, outOfOrderChunks: ooo.count, first: ooo.first }, 'marked block for no compaction: its index has out-of-order chunks');
      marked.push(m.ulid);
    }
    if (marked.length > 0) {
      const gone = new Set(marked);
      const kept = this.metas.filter((m) => !gone.has(m.ulid));
      this.metas.length = 0;
      this.metas.push(...kept);
    }
    return marked;
  }
}

/** Splits metas into groups by resolution and (replica-stripped) external labels. */
export function groupBlocks(metas: Iterable<BlockMeta>): Group[] {
  const groups = new Map<string, Group>();
  for (const m of metas) {
    const key = groupKey(m.thanos.downsample.resolution, m.thanos.labels);
    let g = groups.get(key);
    if (!g) {
      g = new Group(key, m.thanos.downsample.resolution, m.thanos.labels);
      groups.set(key, g);
    }
    g.add(m);
  }
  return [...groups.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The index size of a block: from meta.json's file list, else from the bucket. */
async function indexSize(bkt: Bucket, m: BlockMeta): Promise<number> {
  const f = m.thanos.files?.find((x) => x.rel_path === 'index');
  if (f?.size_bytes !== undefined) return f.size_bytes;
  try {
    return (await bkt.attributes(`${m.ulid}/index`)).size;
  } catch {
    return 0;
  }
}
