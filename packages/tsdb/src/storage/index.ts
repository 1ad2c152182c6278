export type {
  SeriesIterator,
  Series,
  SeriesChunk,
  ChunkSeries,
  SelectHints,
  Querier,
  Queryable,
  ChunkQuerier,
  ChunkQueryable,
} from './interface.js';
export { OutOfOrderSampleError, DuplicateSampleForTimestampError } from './errors.js';
export { mergeQueriers, mergeSeriesSets, ChainedSeries, ChainSampleIterator } from './merge.js';
