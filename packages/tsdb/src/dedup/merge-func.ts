// The deduplication functions as vertical merge functions: what the compactor calls
// for each series present in several overlapping blocks (Thanos compact
// --deduplication.func), with the samples of each block as one iterator, in block order.

import type { Labels } from '../labels/index.js';
import { ChainSampleIterator } from '../storage/index.js';
import type { SeriesIterator } from '../storage/index.js';
import { chainIterator, DedupFunc, dedupIterator } from './iter.js';

/**
 * --deduplication.func=penalty: replicas of one series from different blocks merged
 * with the penalty algorithm (Thanos dedup.NewChunkSeriesMerger). No counter
 * adjustment: offline there is no surrounding function to tell counters apart, and
 * Thanos adjusts nothing there either.
 */
export function penaltySeriesMerge(_labels: Labels, iterators: SeriesIterator[]): SeriesIterator {
  if (iterators.length === 0) return new ChainSampleIterator([]);
  return dedupIterator(iterators);
}

/**
 * The default vertical merge (one-to-one deduplication, Prometheus ChainedSeriesMerge):
 * the union of all samples, one per timestamp, the earlier block winning a tie.
 */
export function chainedSeriesMerge(_labels: Labels, iterators: SeriesIterator[]): SeriesIterator {
  return chainIterator(iterators);
}

/**
 * The vertical merge function for a --deduplication.func value: "" (the compactor's
 * default) and "chain" chain the samples, "penalty" applies the penalty algorithm.
 * @throws Error for any other value
 */
export function seriesMergeFuncFor(dedupFunc: string): (labels: Labels, iterators: SeriesIterator[]) => SeriesIterator {
  switch (dedupFunc) {
    case '':
    case DedupFunc.CHAIN:
      return chainedSeriesMerge;
    case DedupFunc.PENALTY:
      return penaltySeriesMerge;
    default:
      throw new Error(`unknown deduplication func "${dedupFunc}" (want "", "${DedupFunc.PENALTY}" or "${DedupFunc.CHAIN}")`);
  }
}
