// Which blocks to compact next: Prometheus' LeveledCompactor.plan (tsdb/compact.go) over
// metas alone, with Thanos' handling of no-compact-marked blocks (pkg/compact/planner.go,
// tsdbBasedPlanner), which skips them without leaving gaps rather than stopping there.
//
// In order of preference:
//   1. overlapping blocks (vertical compaction), when allowed: the first run of blocks,
//      by minTime, each overlapping the span of those before it;
//   2. for each range after the first (ranges[1:]), blocks aligned to it (splitByRange)
//      that fill it or end before the newest block starts, two or more, none with a
//      failed compaction. The newest block (largest minTime) is never picked here: it
//      may still be joined by a block of the same range;
//   3. one block of at least the middle range with more than 5% tombstones per series,
//      or a smaller one entirely deleted (as many tombstones as series).

import type { BlockMeta, PromBlockMeta } from '../block-meta/index.js';

export interface PlanOptions {
  /** Select overlapping blocks first (vertical compaction). Default false. */
  allowOverlapping?: boolean;
  /** ULIDs of blocks with a no-compact mark: never returned. */
  excluded?: ReadonlySet<string>;
}

/** What the planner reads of a meta: the Prometheus part (the Thanos section is not needed). */
type PlanMeta = PromBlockMeta;

/**
 * Returns the blocks to compact next into one, sorted by minTime; [] when there is
 * nothing to do. `ranges` are the block ranges in ms, smallest first (Prometheus:
 * [2h, 6h, 24h, …], Thanos: [2h, 8h, 2d, 14d]).
 * @throws RangeError when ranges is empty
 */
export function planCompaction<M extends PlanMeta = BlockMeta>(metas: readonly M[], ranges: readonly number[], opts: PlanOptions = {}): M[] {
  if (ranges.length === 0) throw new RangeError('plan compaction: at least one range must be given');
  if (metas.length === 0) return [];
  const excluded = opts.excluded ?? new Set<string>();
  const isExcluded = (m: PlanMeta): boolean => excluded.has(m.ulid);
  // Stable sort by minTime, as Go's sort of the block dirs (which are in ULID order).
  const byMinTime = metas.map((m, i) => ({ m, i })).sort((a, b) => a.m.minTime - b.m.minTime || a.i - b.i).map((x) => x.m);
  let notExcluded = byMinTime.filter((m) => !isExcluded(m));

  if (opts.allowOverlapping) {
    const res = selectOverlapping(notExcluded);
    if (res.length > 0) return res;
  }

  // Leave out the newest block: a block of the same range may still come next to it.
  if (!isExcluded(byMinTime[byMinTime.length - 1])) notExcluded = notExcluded.slice(0, -1);
  const candidates = byMinTime.slice(0, -1);
  const res = selectForRanges(candidates, ranges, isExcluded);
  if (res.length > 0) return res;

  // A big enough block with many tombstones is rewritten on its own.
  const middle = ranges[Math.floor(ranges.length / 2)];
  for (let i = notExcluded.length - 1; i >= 0; i--) {
    const m = notExcluded[i];
    const tombstones = m.stats.numTombstones ?? 0;
    const series = m.stats.numSeries ?? 0;
    if (m.maxTime - m.minTime < middle) {
      // An entirely deleted block is worth it whatever its size.
      if (tombstones > 0 && tombstones >= series) return [m];
      break;
    }
    if (tombstones / (series + 1) > 0.05) return [m];
  }
  return [];
}

/** The first run of overlapping blocks (selectOverlappingDirs); input sorted by minTime. */
function selectOverlapping<M extends PlanMeta>(ms: readonly M[]): M[] {
  const out: M[] = [];
  if (ms.length < 2) return out;
  let globalMaxt = ms[0].maxTime;
  for (let i = 1; i < ms.length; i++) {
    const m = ms[i];
    if (m.minTime < globalMaxt) {
      if (out.length === 0) out.push(ms[i - 1]);
      out.push(m);
    } else if (out.length > 0) {
      break;
    }
    if (m.maxTime > globalMaxt) globalMaxt = m.maxTime;
  }
  return out;
}

/** selectDirs / Thanos' selectMetas; input sorted by minTime, newest block already left out. */
function selectForRanges<M extends PlanMeta>(ms: readonly M[], ranges: readonly number[], isExcluded: (m: PlanMeta) => boolean): M[] {
  if (ranges.length < 2 || ms.length < 1) return [];
  const highTime = ms[ms.length - 1].minTime;
  for (const iv of ranges.slice(1)) {
    for (const p of splitByRange(ms, iv)) {
      if (p.some((m) => m.compaction.failed === true)) continue;
      if (p.length < 2) continue;
      const mint = p[0].minTime;
      const maxt = p[p.length - 1].maxTime;
      // The range is full (gaps allowed) or lies before the newest block: nothing more
      // will join it.
      if (maxt - mint !== iv && maxt > highTime) continue;
      // No-compact-marked blocks split the group; the first run of two or more is taken.
      let from = 0;
      for (let i = 0; i < p.length; i++) {
        if (!isExcluded(p[i])) continue;
        if (i - from > 1) return p.slice(from, i);
        from = i + 1;
      }
      if (p.length - from > 1) return p.slice(from);
    }
  }
  return [];
}

/**
 * Groups blocks (sorted by minTime) by the aligned window of size tr they fall in,
 * skipping blocks that fit in none (misaligned or larger than tr). E.g. [0-10, 10-20,
 * 50-60, 90-100] with tr 30 gives [0-10, 10-20], [50-60], [90-100].
 */
export function splitByRange<M extends Pick<PlanMeta, 'minTime' | 'maxTime'>>(ms: readonly M[], tr: number): M[][] {
  const out: M[][] = [];
  for (let i = 0; i < ms.length; ) {
    const m = ms[i];
    // Go's integer division truncates toward zero; floor gives the same aligned start.
    const t0 = tr * Math.floor(m.minTime / tr);
    if (m.maxTime > t0 + tr) {
      i++;
      continue;
    }
    const group: M[] = [];
    for (; i < ms.length; i++) {
      if (ms[i].maxTime > t0 + tr) break;
      group.push(ms[i]);
    }
    if (group.length > 0) out.push(group);
  }
  return out;
}
