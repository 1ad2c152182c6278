// Planning for the compactor: Thanos' compaction ranges over the tsdb library's
// leveled planner (Prometheus' plan with Thanos' no-compact handling). Overlapping
// blocks are always planned first, as in Thanos: with vertical compaction off they
// are what halts the stream.

import { planCompaction as tsdbPlanCompaction } from '@thanos-ts/tsdb';
import type { BlockMeta } from '@thanos-ts/tsdb';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

/**
 * Thanos' compaction levels (cmd/thanos compactions): 1h, 2h, 8h, 2d, 14d. The first
 * range is the smallest block size; planning merges into the others, so 2h blocks
 * become 8h, then 2d, then 14d blocks.
 */
export const DEFAULT_COMPACTION_RANGES: readonly number[] = [1 * HOUR, 2 * HOUR, 8 * HOUR, 2 * DAY, 14 * DAY];

/** The blocks of one group to compact next into one block, [] when there is nothing to do. */
export function planCompaction(metas: readonly BlockMeta[], ranges: readonly number[], noCompact: ReadonlySet<string> = new Set()): BlockMeta[] {
  return tsdbPlanCompaction(metas, ranges, { allowOverlapping: true, excluded: noCompact });
}

/** The first run of overlapping blocks among metas (sorted by minTime), [] when none overlap. */
export function selectOverlappingMetas(metasByMinTime: readonly BlockMeta[]): BlockMeta[] {
  const out: BlockMeta[] = [];
  if (metasByMinTime.length < 2) return out;
  let globalMaxt = metasByMinTime[0].maxTime;
  for (let i = 1; i < metasByMinTime.length; i++) {
    const m = metasByMinTime[i];
    if (m.minTime < globalMaxt) {
      if (out.length === 0) out.push(metasByMinTime[i - 1]);
      out.push(m);
    } else if (out.length > 0) {
      break;
    }
    if (m.maxTime > globalMaxt) globalMaxt = m.maxTime;
  }
  return out;
}
