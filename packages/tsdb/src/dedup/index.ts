export {
  DedupFunc,
  DedupSeriesIterator,
  CounterErrAdjustIterator,
  NoopAdjustIterator,
  INITIAL_PENALTY_MS,
  isCounterFunc,
  dedupIterator,
  chainIterator,
} from './iter.js';
export type { AdjustableIterator } from './iter.js';
export { overlapSplit, sortedByMinTime } from './overlap-split.js';
export type { TimeRanged } from './overlap-split.js';
export { penaltySeriesMerge, chainedSeriesMerge, seriesMergeFuncFor } from './merge-func.js';
