// Test support for the store's tests (excluded from the build as *-fixture.ts): Series
// requests as the gRPC server hands them over, and a sink that collects the answer.

import type { AggrChunk, SeriesSink, StoreChunk, StoreSeries, ValidatedSeriesRequest } from '@thanos-ts/storeapi';
import type { Bucket } from '@thanos-ts/objstore';
import { tempDir } from '@thanos-ts/testutil';
import type { Matcher, ThanosMeta } from '@thanos-ts/tsdb';
import { BucketStore } from './bucket-store.js';
import type { BucketStoreOptions } from './bucket-store.js';
import { InMemoryIndexCache } from './index-cache.js';

/** A gateway over `bkt` with an in-memory index cache and a roomy chunk pool, synced. */
export async function syncedTestStore(bkt: Bucket, opts: Partial<BucketStoreOptions> = {}): Promise<BucketStore> {
  const store = new BucketStore({
    bkt,
    dataDir: await tempDir('store-data'),
    indexCache: new InMemoryIndexCache({ maxSizeBytes: 1 << 24, maxItemSizeBytes: 1 << 20, enabledItems: [] }),
    chunkPoolBytes: 1 << 30,
    ...opts,
  });
  await store.syncBlocks();
  return store;
}

export function seriesRequest(matchers: Matcher[], minTime: number, maxTime: number, extra: Record<string, unknown> = {}): ValidatedSeriesRequest {
  return {
    minTime,
    maxTime,
    matchers: [],
    parsedMatchers: matchers,
    maxResolutionWindow: 0,
    aggregates: [],
    skipChunks: false,
    withoutReplicaLabels: [],
    limit: 0,
    ...extra,
  } as unknown as ValidatedSeriesRequest;
}

/**
 * Runs a Series call and returns the series and the number of hints frames. Chunk bytes
 * are copied as the sink receives them, as the gRPC sink encodes them: the store's slabs
 * go back to its pool (and to later calls) when the call ends.
 */
export async function collectSeries(store: BucketStore, req: ValidatedSeriesRequest): Promise<{ series: StoreSeries[]; hints: number }> {
  const series: StoreSeries[] = [];
  let hints = 0;
  const sink: SeriesSink = {
    series: (s) => void series.push(copySeries(s)),
    warning: () => undefined,
    hints: () => void hints++,
  };
  await store.series(req, sink, new AbortController().signal);
  return { series, hints };
}

/** The meta.json thanos section of a raw test block with these external labels. */
export function testThanosMeta(labels: Record<string, string>): ThanosMeta {
  return { labels, downsample: { resolution: 0 }, source: 'test', index_stats: {}, upload_time: '0001-01-01T00:00:00Z' };
}

function copySeries(s: StoreSeries): StoreSeries {
  const chunks = s.chunks.map((c: AggrChunk) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(c)) out[k] = v !== null && typeof v === 'object' ? { ...(v as StoreChunk), data: Uint8Array.from((v as StoreChunk).data) } : v;
    return out as unknown as AggrChunk;
  });
  return { labels: s.labels, chunks };
}
