// A Series call cancelled while its blocks are still being read (the querier went away or
// stopped at a limit): the call ends with the cancellation, what was still loading fails
// nowhere else, and the store answers the next call whole.

import { afterAll, describe, expect, it } from 'vitest';
import { uploadBlock } from '@thanos-ts/block';
import { FilesystemBucket } from '@thanos-ts/objstore';
import type { SeriesSink } from '@thanos-ts/storeapi';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { labelsFromRecord, MatchType, newMatcher, SeriesBuilder } from '@thanos-ts/tsdb';
import { collectSeries, seriesRequest, syncedTestStore, testThanosMeta } from './series-fixture.js';

afterAll(removeTempDirs);

const BLOCKS = 4;
const SERIES = 600;
const SPAN = 60 * 60_000;

describe('BucketStore: a cancelled Series call over several blocks', () => {
  it('ends with the cancellation, leaves no read unhandled, and answers the next call whole', async () => {
    const local = await tempDir('cancel-blocks');
    const bkt = new FilesystemBucket(await tempDir('cancel-bucket'));
    for (let k = 0; k < BLOCKS; k++) {
      const b = new SeriesBuilder();
      for (let i = 0; i < SERIES; i++) {
        for (let t = k * SPAN; t < (k + 1) * SPAN; t += 60_000) b.append(labelsFromRecord({ __name__: 'm', i: String(i).padStart(4, '0') }), t, i);
      }
      const w = await b.writeBlock(local, { mint: k * SPAN, maxt: (k + 1) * SPAN, thanos: testThanosMeta({ c: 'x' }) });
      await uploadBlock(bkt, w!.dir);
    }
    const store = await syncedTestStore(bkt);
    const req = seriesRequest([newMatcher(MatchType.EQ, '__name__', 'm')], 0, BLOCKS * SPAN);

    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      for (const at of [1, 20, 300]) {
        // As the gRPC server does: the call's signal aborts, and the sink refuses what follows.
        const ac = new AbortController();
        let taken = 0;
        const sink: SeriesSink = {
          series: () => {
            if (ac.signal.aborted) throw new Error('call cancelled');
            if (++taken === at) ac.abort(new Error('call cancelled'));
            return undefined;
          },
          warning: () => undefined,
          hints: () => undefined,
        };
        await expect(store.series(req, sink, ac.signal)).rejects.toThrow(/call cancelled/);
        expect(taken).toBe(at);
      }
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    const { series } = await collectSeries(store, req);
    expect(series).toHaveLength(SERIES);
    expect(series.every((s) => s.chunks.length >= BLOCKS)).toBe(true);
  });
});
