// Deduplication over StoreAPI series frames; the iterators themselves live in
// @thanos-ts/tsdb (dedup/), shared with the compactor.

import type { AggrChunk, StoreSeries } from '@thanos-ts/storeapi';
import { chainIterator, dedupIterator, DedupFunc, labelsEqual, overlapSplit, sortedByMinTime } from '@thanos-ts/tsdb';
import type { Labels, Series, SeriesIterator } from '@thanos-ts/tsdb';
import { chunksIterator, StoreChunkSeries } from '../chunk-series.js';
import type { Aggr } from '../chunk-series.js';

export interface DedupOptions {
  /** Bounds of the samples returned (the querier's range). */
  mint: number;
  maxt: number;
  /** Which aggregate to read (aggrsFromFunc). */
  aggrs: readonly Aggr[];
  /** The function around the selection; counter functions get counter adjustment. */
  func?: string;
  /** penalty (default) or chain. */
  dedupFunc?: DedupFunc;
}

/**
 * One logical series made of replicas, each a non-overlapping list of chunks; its
 * iterator merges them with the penalty algorithm (or chains them).
 */
export class DedupSeries implements Series {
  constructor(
    readonly labels: Labels,
    readonly replicas: readonly (readonly AggrChunk[])[],
    private readonly opts: DedupOptions,
  ) {}

  iterator(): SeriesIterator {
    const { aggrs, mint, maxt } = this.opts;
    const its = this.replicas.map((chunks) => chunksIterator(chunks, aggrs, mint, maxt));
    return this.opts.dedupFunc === DedupFunc.CHAIN ? chainIterator(its) : dedupIterator(its, this.opts.func);
  }
}

/**
 * Deduplicates a label-sorted stream of series whose replica labels are already gone
 * (Thanos dedup.NewSeriesSet over NewOverlapSplit): adjacent series with equal labels
 * are replicas of one series, and so are the overlapping chunk runs inside one series
 * (the proxy merges equal label sets into one series). A series with a single replica
 * passes through undecoded. Streams: holds one group of equal series at a time.
 */
export async function* dedupSeriesSet(set: AsyncIterable<StoreSeries>, opts: DedupOptions): AsyncGenerator<Series> {
  let labels: Labels | null = null;
  let group: (readonly AggrChunk[])[] = [];
  for await (const s of set) {
    if (labels !== null && !labelsEqual(labels, s.labels)) {
      yield toSeries(labels, group, opts);
      group = [];
    }
    labels = s.labels;
    for (const run of overlapSplit(sortedByMinTime(s.chunks))) group.push(run);
  }
  if (labels !== null) yield toSeries(labels, group, opts);
}

function toSeries(labels: Labels, replicas: (readonly AggrChunk[])[], opts: DedupOptions): Series {
  if (replicas.length === 1) return new StoreChunkSeries(labels, replicas[0], opts.mint, opts.maxt, opts.aggrs);
  return new DedupSeries(labels, replicas, opts);
}
