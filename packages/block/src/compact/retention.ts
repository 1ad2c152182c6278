// Retention by resolution (Thanos compact.ApplyRetentionPolicyByResolution): a block
// whose maxTime is older than its resolution's retention is marked for deletion; the
// cleaner deletes it after --delete-delay. A retention of 0 keeps that resolution forever.

import { markForDeletion } from '../delete.js';
import type { Bucket } from '@thanos-ts/objstore';
import { formatGoDuration } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import type { BlockMeta } from '@thanos-ts/tsdb';
import type { CompactMetrics } from './metrics.js';

/** Retention per resolution in ms (0 = forever), keyed by resolution in ms. */
export interface RetentionByResolution {
  raw: number;
  fiveMinutes: number;
  oneHour: number;
}

function retentionFor(r: RetentionByResolution, resolution: number): number {
  if (resolution === 0) return r.raw;
  if (resolution === 300_000) return r.fiveMinutes;
  if (resolution === 3_600_000) return r.oneHour;
  return 0;
}

/** The blocks retention would mark now. */
export function retentionTodo(metas: Iterable<BlockMeta>, r: RetentionByResolution, now = Date.now()): BlockMeta[] {
  const out: BlockMeta[] = [];
  for (const m of metas) {
    const d = retentionFor(r, m.thanos.downsample.resolution);
    if (d === 0) continue;
    // Thanos compares at second precision: time.Unix(maxTime/1000, 0).
    const maxTimeSec = Math.trunc(m.maxTime / 1000) * 1000;
    if (now > maxTimeSec + d) out.push(m);
  }
  return out.sort((a, b) => (a.ulid < b.ulid ? -1 : 1));
}

/** Marks every block past its resolution's retention for deletion; returns their ULIDs. */
export async function applyRetention(
  bkt: Bucket,
  metas: Iterable<BlockMeta>,
  r: RetentionByResolution,
  opts: { logger: Logger; metrics?: CompactMetrics; now?: number; signal?: AbortSignal },
): Promise<string[]> {
  const marked: string[] = [];
  for (const m of retentionTodo(metas, r, opts.now)) {
    opts.signal?.throwIfAborted();
    const d = retentionFor(r, m.thanos.downsample.resolution);
    if (await markForDeletion(bkt, m.ulid, `block exceeding retention of ${formatGoDuration(d)}`)) {
      opts.metrics?.blocksMarked.inc({ marker: 'deletion-mark.json', reason: '' });
      opts.logger.info({ block: m.ulid, resolution: m.thanos.downsample.resolution, maxTime: new Date(m.maxTime).toISOString(), retention: formatGoDuration(d) }, 'applying retention: marked block for deletion');
      marked.push(m.ulid);
    }
  }
  return marked;
}
