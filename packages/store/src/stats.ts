// What one Series/LabelNames/LabelValues call touched and fetched, per data type: the
// numbers behind Thanos' thanos_bucket_store_series_data_* metrics and the bench figures.

export interface QueryStats {
  blocksQueried: number;
  postingsTouched: number;
  postingsTouchedBytes: number;
  postingsFetched: number;
  postingsFetchedBytes: number;
  postingsFetchCount: number;
  seriesTouched: number;
  seriesTouchedBytes: number;
  seriesFetched: number;
  seriesFetchedBytes: number;
  seriesFetchCount: number;
  seriesRefetches: number;
  chunksTouched: number;
  chunksTouchedBytes: number;
  chunksFetched: number;
  chunksFetchedBytes: number;
  chunksFetchCount: number;
  chunkRefetches: number;
  mergedSeries: number;
  mergedChunks: number;
}

export function newQueryStats(): QueryStats {
  return {
    blocksQueried: 0,
    postingsTouched: 0,
    postingsTouchedBytes: 0,
    postingsFetched: 0,
    postingsFetchedBytes: 0,
    postingsFetchCount: 0,
    seriesTouched: 0,
    seriesTouchedBytes: 0,
    seriesFetched: 0,
    seriesFetchedBytes: 0,
    seriesFetchCount: 0,
    seriesRefetches: 0,
    chunksTouched: 0,
    chunksTouchedBytes: 0,
    chunksFetched: 0,
    chunksFetchedBytes: 0,
    chunksFetchCount: 0,
    chunkRefetches: 0,
    mergedSeries: 0,
    mergedChunks: 0,
  };
}

/** Bytes read from the bucket for a query. */
export function fetchedBytes(s: QueryStats): number {
  return s.postingsFetchedBytes + s.seriesFetchedBytes + s.chunksFetchedBytes;
}
