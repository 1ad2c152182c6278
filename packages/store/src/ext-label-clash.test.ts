import { afterAll, describe, expect, it } from 'vitest';
import { uploadBlock } from '@thanos-ts/block';
import { FilesystemBucket } from '@thanos-ts/objstore';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { labelsFromRecord, labelsToString, MatchType, newMatcher, SeriesBuilder } from '@thanos-ts/tsdb';
import { collectSeries, seriesRequest, syncedTestStore, testThanosMeta } from './series-fixture.js';

afterAll(removeTempDirs);

describe('BucketStore with series labels named like external labels', () => {
  it('lets the external value win and still streams in label order', async () => {
    const b = new SeriesBuilder();
    // In index order az="1",b="2" sorts first; once az becomes "ext" the shorter set does.
    const recs: Record<string, string>[] = [
      { __name__: 'm', az: '1', b: '2' },
      { __name__: 'm', az: '2' },
      { __name__: 'm', az: '3', b: '1' },
    ];
    for (const r of recs) for (let t = 0; t < 600_000; t += 60_000) b.append(labelsFromRecord(r), t, 1);
    const w = await b.writeBlock(await tempDir('clash-blocks'), { mint: 0, maxt: 600_000, thanos: testThanosMeta({ az: 'ext' }) });
    const bkt = new FilesystemBucket(await tempDir('clash-bucket'));
    await uploadBlock(bkt, w!.dir);
    const store = await syncedTestStore(bkt, { seriesBatchSize: 1 });
    const { series: out } = await collectSeries(store, seriesRequest([newMatcher(MatchType.EQ, '__name__', 'm')], 0, 600_000));
    expect(out.map((s) => labelsToString(s.labels))).toEqual(['{__name__="m", az="ext"}', '{__name__="m", az="ext", b="1"}', '{__name__="m", az="ext", b="2"}']);
  });
});
