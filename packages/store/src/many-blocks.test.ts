import { afterAll, describe, expect, it } from 'vitest';
import { uploadBlock } from '@thanos-ts/block';
import { FilesystemBucket } from '@thanos-ts/objstore';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { labelsFromRecord, MatchType, newMatcher, SeriesBuilder, XorIterator } from '@thanos-ts/tsdb';
import { collectSeries, seriesRequest, syncedTestStore, testThanosMeta } from './series-fixture.js';

afterAll(removeTempDirs);

const BLOCKS = 60;
const SERIES = 40;
const SPAN = 10 * 60_000;

describe('BucketStore over many blocks', () => {
  it('merges the series of 60 consecutive blocks in order, sample for sample', async () => {
    const local = await tempDir('many-blocks');
    const bkt = new FilesystemBucket(await tempDir('many-bucket'));
    for (let k = 0; k < BLOCKS; k++) {
      const b = new SeriesBuilder();
      // Some series exist only in some blocks.
      for (let i = 0; i < SERIES; i++) {
        if ((i + k) % 7 === 0) continue;
        for (let t = k * SPAN; t < (k + 1) * SPAN; t += 30_000) b.append(labelsFromRecord({ __name__: 'm', i: String(i).padStart(3, '0') }), t, t / 1000 + i);
      }
      const w = await b.writeBlock(local, { mint: k * SPAN, maxt: (k + 1) * SPAN, thanos: testThanosMeta({ c: 'x' }) });
      await uploadBlock(bkt, w!.dir);
    }
    const store = await syncedTestStore(bkt, { seriesBatchSize: 400 }); // shrinks to the 256 minimum over 60 blocks
    expect(store.blockCount).toBe(BLOCKS);
    const { series: out } = await collectSeries(store, seriesRequest([newMatcher(MatchType.EQ, '__name__', 'm')], 0, BLOCKS * SPAN));
    expect(out).toHaveLength(SERIES);
    for (let i = 0; i < SERIES; i++) {
      const s = out[i];
      expect(s.labels.find((l) => l.name === 'i')!.value).toBe(String(i).padStart(3, '0'));
      const ts: number[] = [];
      for (const c of s.chunks) {
        const it = new XorIterator(c.raw!.data);
        while (it.next()) {
          expect(it.atF()).toBe(it.atT() / 1000 + i);
          ts.push(it.atT());
        }
      }
      const want: number[] = [];
      for (let k = 0; k < BLOCKS; k++) if ((i + k) % 7 !== 0) for (let t = k * SPAN; t < (k + 1) * SPAN; t += 30_000) want.push(t);
      expect(ts).toEqual(want);
    }
    expect(store.lastStats!.blocksQueried).toBe(BLOCKS);
  });
});
