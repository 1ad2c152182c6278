import type { AggrChunk } from '@thanos-ts/storeapi';

/**
 * Splits the chunks of one series into runs that do not overlap in time, so the
 * replicas merged into one series upstream (the proxy merges equal label sets, and with
 * replica labels removed every replica has the same ones) can be deduplicated sample by
 * sample again (Thanos NewOverlapSplit). Greedy, over chunks sorted by min time: each
 * chunk joins the first run whose last chunk ends before it starts, else opens a new
 * "pseudo replica". Non-overlapping series come back as one run (the input array).
 */
export function overlapSplit(chunks: readonly AggrChunk[]): (readonly AggrChunk[])[] {
  // fast path: no chunk starts before the previous one ends
  let overlaps = false;
  for (let i = 1; i < chunks.length; i++) {
    if (chunks[i].minTime <= chunks[i - 1].maxTime) {
      overlaps = true;
      break;
    }
  }
  if (!overlaps) return [chunks];

  const runs: AggrChunk[][] = [[chunks[0]]];
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
