// The index check the compactor runs on every downloaded input (a slice of Thanos
// block.GatherIndexHealthStats): chunks of a series that overlap or go back in time.
// Prometheus bugs have written such blocks; merging them would fail on every pass (our
// block writer refuses them) or write wrong data, so the block is excluded instead.

import { join } from 'node:path';
import { IndexReader, labelsToString, MatchType, newMatcher, postingsForMatchers } from '@thanos-ts/tsdb';

export interface OutOfOrderChunks {
  /** Chunks starting at or before the end of the series' previous chunk. */
  count: number;
  /** The first such chunk, for the log and the mark's details. */
  first: string;
}

/**
 * Scans the index of the block in `blockDir` (series by series, chunk metas only) for
 * out-of-order or overlapping chunks; null when there are none.
 */
export function findOutOfOrderChunks(blockDir: string): OutOfOrderChunks | null {
  const ir = IndexReader.fromFile(join(blockDir, 'index'));
  const all = postingsForMatchers(ir, [newMatcher(MatchType.EQ, '', '')]);
  let count = 0;
  let first = '';
  while (all.next()) {
    const s = ir.series(all.at());
    let lastMaxt = -Infinity;
    for (const c of s.chunks) {
      if (c.mint <= lastMaxt) {
        if (count === 0) first = `series ${labelsToString(s.labels)}: chunk [${c.mint}, ${c.maxt}] starts at or before the previous chunk's end ${lastMaxt}`;
        count++;
      }
      lastMaxt = Math.max(lastMaxt, c.maxt);
    }
  }
  const err = all.err();
  if (err) throw new Error(`check chunk order of ${blockDir}: ${err.message}`, { cause: err });
  return count === 0 ? null : { count, first };
}
