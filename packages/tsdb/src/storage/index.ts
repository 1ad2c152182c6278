export type { SeriesIterator, Series, SeriesChunk, ChunkSeries, SelectHints, Querier, Queryable } from './interface.js';
