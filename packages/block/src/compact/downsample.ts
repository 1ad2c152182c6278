// Downsampling the bucket (Thanos cmd/thanos/downsample.go downsampleBucket): raw
// blocks spanning at least 40h get a 5m copy, 5m blocks spanning at least 10d a 1h
// copy, unless a block of the target resolution already holds all their sources or
// the block is marked no-downsample. Source blocks are kept: queries over long ranges
// use the coarser copies, short ones the raw data.

import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { downloadBlock } from '../download.js';
import { uploadBlock } from '../upload.js';
import type { HashFunc } from '../upload.js';
import type { Bucket } from '@thanos-ts/objstore';
import { mapConcurrent } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { downsampleBlock, DownsampleRange, ResLevel } from '@thanos-ts/tsdb';
import type { BlockMeta } from '@thanos-ts/tsdb';
import type { CompactMetrics } from './metrics.js';
import { resolutionLabel } from './metrics.js';

export interface DownsampleBucketOptions {
  bkt: Bucket;
  logger: Logger;
  metrics?: CompactMetrics;
  /** Working directory (`<data-dir>/downsample`). */
  dir: string;
  concurrency: number;
  hashFunc?: HashFunc;
  /** Blocks never downsampled (no-downsample marks, halted streams). */
  exclude?: ReadonlySet<string>;
  signal?: AbortSignal;
}

/** A block to downsample and the resolution it goes to. */
export interface DownsampleTodo {
  meta: BlockMeta;
  resolution: number;
}

/** The blocks downsampling would work on now, oldest ULID first. */
export function downsampleTodo(metas: Iterable<BlockMeta>, exclude: ReadonlySet<string> = new Set()): DownsampleTodo[] {
  const all = [...metas];
  const sources5m = new Set<string>();
  const sources1h = new Set<string>();
  for (const m of all) {
    const target = m.thanos.downsample.resolution === ResLevel.L1 ? sources5m : m.thanos.downsample.resolution === ResLevel.L2 ? sources1h : null;
    if (target) for (const s of m.compaction.sources ?? [m.ulid]) target.add(s);
  }
  const out: DownsampleTodo[] = [];
  for (const m of all.sort((a, b) => (a.ulid < b.ulid ? -1 : 1))) {
    if (exclude.has(m.ulid)) continue;
    const span = m.maxTime - m.minTime;
    const sources = m.compaction.sources ?? [m.ulid];
    if (m.thanos.downsample.resolution === ResLevel.L0) {
      // Only once the block is big enough to give about two chunks per series; this
      // must match the ranges compaction produces, or some data is never downsampled.
      if (span < DownsampleRange.L1) continue;
      if (sources.every((s) => sources5m.has(s))) continue;
      out.push({ meta: m, resolution: ResLevel.L1 });
    } else if (m.thanos.downsample.resolution === ResLevel.L1) {
      if (span < DownsampleRange.L2) continue;
      if (sources.every((s) => sources1h.has(s))) continue;
      out.push({ meta: m, resolution: ResLevel.L2 });
    }
  }
  return out;
}

/** Downsamples what downsampleTodo finds; returns the new blocks' ULIDs. */
export async function downsampleBucket(metas: Iterable<BlockMeta>, opts: DownsampleBucketOptions): Promise<string[]> {
  const todo = downsampleTodo(metas, opts.exclude);
  opts.metrics?.todoDownsampleBlocks.set(todo.length);
  if (todo.length === 0) return [];
  await rm(opts.dir, { recursive: true, force: true });
  await mkdir(opts.dir, { recursive: true });
  const created: string[] = [];
  const errors: Error[] = [];
  let left = todo.length;
  await mapConcurrent(todo, Math.max(1, opts.concurrency), async (t) => {
    if (opts.signal?.aborted) return;
    const res = resolutionLabel(t.meta.thanos.downsample.resolution);
    try {
      const id = await downsampleOne(t, opts);
      opts.metrics?.downsamples.inc({ resolution: res });
      if (id) created.push(id);
    } catch (err) {
      if (opts.signal?.aborted) return;
      opts.metrics?.downsampleFailures.inc({ resolution: res });
      errors.push(err as Error);
      opts.logger.warn({ block: t.meta.ulid, resolution: t.resolution, err: (err as Error).message }, 'downsampling failed; retried in the next iteration');
    } finally {
      opts.metrics?.todoDownsampleBlocks.set(--left);
    }
  });
  opts.signal?.throwIfAborted();
  await rm(opts.dir, { recursive: true, force: true });
  if (errors.length > 0) throw new Error(`downsampling: ${errors.length} block(s) failed, first: ${errors[0].message}`);
  return created;
}

async function downsampleOne(t: DownsampleTodo, opts: DownsampleBucketOptions): Promise<string | null> {
  const { meta, resolution } = t;
  const work = join(opts.dir, meta.ulid);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    const t0 = Date.now();
    await downloadBlock(opts.bkt, meta.ulid, work);
    opts.signal?.throwIfAborted();
    const out = await downsampleBlock(join(work, meta.ulid), work, resolution, {
      signal: opts.signal,
      warn: (msg) => opts.logger.debug({ block: meta.ulid }, msg),
    });
    if (out === null) {
      opts.logger.info({ block: meta.ulid, resolution }, 'downsampled block would be empty; nothing uploaded');
      return null;
    }
    opts.signal?.throwIfAborted();
    await uploadBlock(opts.bkt, out.dir, { hashFunc: opts.hashFunc });
    opts.logger.info({ from: meta.ulid, to: out.ulid, resolution, durationMs: Date.now() - t0 }, 'downsampled block');
    return out.ulid;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
