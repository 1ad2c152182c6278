// The storage contracts everything above the TSDB talks to (Prometheus storage/interface.go):
// a Queryable opens a Querier for a time range; a Querier selects series by matchers.
//
// Series arrive asynchronously (they may come from a local block, an object-storage
// range read or a gRPC stream), but the samples of one series are iterated
// synchronously from chunks already in memory: that keeps the PromQL inner loops free
// of promises while letting I/O stream.

import type { Labels } from '../labels/index.js';
import type { Matcher } from '../matchers/index.js';
import type { ChunkIterator, Chunk } from '../chunkenc/index.js';

/** Iterates the samples of one series; same contract as a chunk iterator. */
export type SeriesIterator = ChunkIterator;

/** A series: its labels and a way to walk its samples. */
export interface Series {
  readonly labels: Labels;
  /** A fresh iterator over all samples; `reuse` may be recycled. */
  iterator(reuse?: SeriesIterator): SeriesIterator;
}

/** A chunk with the time range it covers (both ends inclusive). */
export interface SeriesChunk {
  mint: number;
  maxt: number;
  chunk: Chunk;
}

/** A series as its encoded chunks, for code that passes chunks through (StoreAPI). */
export interface ChunkSeries {
  readonly labels: Labels;
  /** The chunks in time order, not overlapping. */
  chunks(): Iterable<SeriesChunk>;
}

/** Hints a selector passes down, as Prometheus' storage.SelectHints. */
export interface SelectHints {
  /** Inclusive start and end of the data needed, in ms. */
  start: number;
  end: number;
  /** Query step in ms (0 for instant queries). */
  step?: number;
  /** Surrounding function name, e.g. "rate"; "series" for metadata-only calls. */
  func?: string;
  /** Range of the matrix selector in ms. */
  range?: number;
  grouping?: string[];
  by?: boolean;
}

/** Selects series from one time range. */
export interface Querier {
  /**
   * Series matching all matchers, sorted by labels. Implementations stream: they must
   * not collect the whole result before yielding the first series.
   */
  select(hints: SelectHints, matchers: Matcher[]): AsyncIterable<Series>;
  /** Sorted label names of series matching the matchers (all series when none). */
  labelNames(matchers: Matcher[]): Promise<string[]>;
  /** Sorted values of a label among series matching the matchers. */
  labelValues(name: string, matchers: Matcher[]): Promise<string[]>;
  close(): Promise<void>;
}

/** Anything that can open a Querier over [mint, maxt] (ms, inclusive). */
export interface Queryable {
  querier(mint: number, maxt: number): Promise<Querier>;
}

/** Like Querier, but series come as encoded chunks (storage.ChunkQuerier). */
export interface ChunkQuerier {
  /** Chunk series matching all matchers, sorted by labels; streamed like Querier.select. */
  select(hints: SelectHints, matchers: Matcher[]): AsyncIterable<ChunkSeries>;
  labelNames(matchers: Matcher[]): Promise<string[]>;
  labelValues(name: string, matchers: Matcher[]): Promise<string[]>;
  close(): Promise<void>;
}

/** Anything that can open a ChunkQuerier over [mint, maxt] (ms, inclusive). */
export interface ChunkQueryable {
  chunkQuerier(mint: number, maxt: number): Promise<ChunkQuerier>;
}
