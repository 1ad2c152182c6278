// `tools bucket backfill`: turns an OpenMetrics text file into 2h-aligned blocks (our
// writer) uploaded with the given external labels: the way to load history into
// long-term storage. The whole file is validated before anything is uploaded, each block
// goes up chunks → index → meta.json, and a failure removes the blocks this run
// uploaded, so a run either lands completely or leaves the bucket as it was.
//
// Memory: like promtool, the input is re-read per group of time windows instead of
// being held; a group is as many consecutive 2h windows as fit in `maxSamplesInMemory`
// (samples are held XOR-compressed, ~1-2 bytes each).

import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bucket } from '@thanos-ts/objstore';
import { deleteBlock, uploadBlock } from '@thanos-ts/block';
import { parseOpenMetricsBatches, SeriesBuilder, ZERO_TIME } from '@thanos-ts/tsdb';
import type { Labels, ThanosMeta } from '@thanos-ts/tsdb';
import { UserError, formatRFC3339 } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';

export const DEFAULT_BACKFILL_BLOCK_DURATION = 2 * 3600_000;

export interface BackfillOptions {
  file: string;
  labels: Record<string, string>;
  logger: Logger;
  blockDuration?: number;
  /** Upper bound of samples held at once (default 20M). */
  maxSamplesInMemory?: number;
  /** Where blocks are written before upload (default: a temp dir). */
  tmpDir?: string;
}

export interface BackfillResult {
  blocks: string[];
  samples: number;
  series: number;
}

export async function bucketBackfill(bkt: Bucket, opts: BackfillOptions): Promise<BackfillResult> {
  if (Object.keys(opts.labels).length === 0) {
    throw new UserError('--label: at least one external label is required (blocks without external labels are not Thanos blocks)');
  }
  const range = opts.blockDuration ?? DEFAULT_BACKFILL_BLOCK_DURATION;
  const budget = opts.maxSamplesInMemory ?? 20_000_000;
  const { logger } = opts;

  // Pass 1: validate everything and count samples per window.
  const perWindow = new Map<number, number>();
  let total = 0;
  await forEachSample(opts.file, (t) => {
    const w = Math.floor(t / range);
    perWindow.set(w, (perWindow.get(w) ?? 0) + 1);
    total++;
  });
  if (total === 0) throw new UserError(`${opts.file}: no samples to backfill`);
  const windows = [...perWindow.keys()].sort((a, b) => a - b);
  logger.info(
    { file: opts.file, samples: total, from: formatRFC3339(windows[0] * range), to: formatRFC3339((windows[windows.length - 1] + 1) * range) },
    'backfill: input validated',
  );

  // Group consecutive windows under the memory budget (one window always fits a group).
  const groups: [number, number][] = [];
  for (const w of windows) {
    const last = groups[groups.length - 1];
    if (last && sumWindows(perWindow, last[0], w) <= budget) last[1] = w;
    else groups.push([w, w]);
  }

  const thanos: ThanosMeta = {
    version: 1,
    labels: opts.labels,
    downsample: { resolution: 0 },
    source: 'bucket.upload',
    index_stats: {},
    upload_time: ZERO_TIME,
  };
  const tmp = opts.tmpDir ?? (await mkdtemp(join(tmpdir(), 'thanos-ts-backfill-')));
  const uploaded: string[] = [];
  let series = 0;
  try {
    for (const [g0, g1] of groups) {
      const lo = g0 * range;
      const hi = (g1 + 1) * range;
      const builder = new SeriesBuilder({ chunkRange: range });
      await forEachSample(opts.file, (t, v, labels) => {
        if (t >= lo && t < hi) builder.append(labels, t, v);
      });
      for (const b of await builder.writeBlocks(tmp, range, { thanos })) {
        await uploadBlock(bkt, b.dir);
        uploaded.push(b.ulid);
        series += b.meta.stats.numSeries ?? 0;
        logger.info({ block: b.ulid, minTime: b.meta.minTime, maxTime: b.meta.maxTime, series: b.meta.stats.numSeries }, 'backfill: uploaded block');
        await rm(b.dir, { recursive: true, force: true });
      }
    }
  } catch (err) {
    logger.warn({ blocks: uploaded.length }, 'backfill failed: removing the blocks this run uploaded');
    for (const id of uploaded) await deleteBlock(bkt, id).catch(() => undefined);
    throw err;
  } finally {
    if (!opts.tmpDir) await rm(tmp, { recursive: true, force: true });
  }
  return { blocks: uploaded, samples: total, series };
}

function sumWindows(perWindow: Map<number, number>, from: number, to: number): number {
  let n = 0;
  for (const [w, c] of perWindow) if (w >= from && w <= to) n += c;
  return n;
}

async function forEachSample(file: string, fn: (t: number, v: number, labels: Labels) => void): Promise<void> {
  let stream;
  try {
    stream = createReadStream(file);
    await new Promise<void>((resolve, reject) => {
      stream!.once('open', () => resolve());
      stream!.once('error', reject);
    });
  } catch (err) {
    throw new UserError(`${file}: ${(err as Error).message}`);
  }
  try {
    for await (const batch of parseOpenMetricsBatches(stream)) {
      for (const e of batch) if (e.kind === 'sample') fn(e.t, e.v, e.labels);
    }
  } catch (err) {
    throw new UserError(`${file}: ${(err as Error).message}`);
  } finally {
    stream.destroy();
  }
}
