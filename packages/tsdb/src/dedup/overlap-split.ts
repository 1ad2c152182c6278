/** Anything covering [minTime, maxTime] (ms, both inclusive): a StoreAPI chunk, a chunk meta. */
export interface TimeRanged {
  readonly minTime: number;
  readonly maxTime: number;
}

/**
 * Splits the chunks of one series into runs that do not overlap in time, so replicas
 * merged into one series upstream (the proxy merges equal label sets, and with replica
 * labels removed every replica has the same ones; overlapping blocks of one series in
 * the compactor) can be deduplicated sample by sample again (Thanos NewOverlapSplit).
 * Greedy, over chunks sorted by min time: each chunk joins the first run whose last
 * chunk ends before it starts, else opens a new "pseudo replica". Non-overlapping
 * series come back as one run (the input array).
 */
export function overlapSplit<C extends TimeRanged>(chunks: readonly C[]): (readonly C[])[] {
  // fast path: no chunk starts before the previous one ends
  let overlaps = false;
  for (let i = 1; i < chunks.length; i++) {
    if (chunks[i].minTime <= chunks[i - 1].maxTime) {
      overlaps = true;
      break;
    }
  }
  if (!overlaps) return [chunks];

  const runs: C[][] = [[chunks[0]]];
  next: for (let i = 1; i < chunks.length; i++) {
    const c = chunks[i];
    for (const run of runs) {
      if (run[run.length - 1].maxTime < c.minTime) {
        run.push(c);
        continue next;
      }
    }
    runs.push([c]);
  }
  return runs;
}

/** The chunks sorted by min time, then max time; the input itself when already sorted. */
export function sortedByMinTime<C extends TimeRanged>(chunks: readonly C[]): readonly C[] {
  for (let i = 1; i < chunks.length; i++) {
    if (chunks[i].minTime < chunks[i - 1].minTime) {
      return chunks.slice().sort((a, b) => a.minTime - b.minTime || a.maxTime - b.maxTime);
    }
  }
  return chunks;
}
