import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadBlock } from '@thanos-ts/block';
import { FilesystemBucket } from '@thanos-ts/objstore';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { expandPostings, IndexReader, labelsFromRecord, MatchType, newMatcher, SeriesBuilder } from '@thanos-ts/tsdb';
import { BucketStore } from './bucket-store.js';
import { InMemoryIndexCache } from './index-cache.js';
import { collectSeries, seriesRequest, testThanosMeta } from './series-fixture.js';

// A series entry's CRC is checked once, when the entry is read from the bucket and before
// it is cached; entries served from the index cache are not checked again (as in Thanos).

const H = 3600_000;
let bucketDir: string;
let id: string;
const refOf: Record<string, number> = {};

beforeAll(async () => {
  const local = await tempDir('series-crc-blocks');
  bucketDir = await tempDir('series-crc-bucket');
  const b = new SeriesBuilder();
  for (let i = 0; i < 10; i++) for (let t = 0; t < 2 * H; t += 15_000) b.append(labelsFromRecord({ __name__: 'm', i: String(i) }), t, i + t / 1000);
  const w = await b.writeBlock(local, { mint: 0, maxt: 2 * H, thanos: testThanosMeta({ cluster: 'c' }) });
  id = (await uploadBlock(new FilesystemBucket(bucketDir), w!.dir)).ulid;
  const path = `${bucketDir}/${id}/index`;
  const ir = IndexReader.fromFile(path);
  for (const i of ['3', '5']) refOf[i] = [...expandPostings(ir.postings('i', i))][0];
  // Flip a byte inside series i=5's entry (the index-header does not cover series).
  const index = await readFile(path);
  index[refOf['5'] * 16 + 4] ^= 0x01;
  await writeFile(path, index);
});

afterAll(removeTempDirs);

const req = (i: string) => seriesRequest([newMatcher(MatchType.EQ, '__name__', 'm'), newMatcher(MatchType.EQ, 'i', i)], 0, 2 * H);

describe('series entry checksums', () => {
  it('are checked when read from the bucket, and a bad entry is never cached', async () => {
    const cache = new InMemoryIndexCache({ maxSizeBytes: 1 << 20, maxItemSizeBytes: 1 << 19, enabledItems: [] });
    const store = new BucketStore({ bkt: new FilesystemBucket(bucketDir), dataDir: await tempDir('series-crc-data'), indexCache: cache, chunkPoolBytes: 1 << 26 });
    await store.syncBlocks();
    for (let k = 0; k < 2; k++) {
      await expect(collectSeries(store, req('5'))).rejects.toThrow(new RegExp(`${id}/index.*read series: invalid checksum`));
      expect(cache.fetchSeries(id, [refOf['5']])).toEqual([undefined]);
    }
  });

  it('are not recomputed for entries served from the index cache', async () => {
    const cache = new InMemoryIndexCache({ maxSizeBytes: 1 << 20, maxItemSizeBytes: 1 << 19, enabledItems: [] });
    const store = new BucketStore({ bkt: new FilesystemBucket(bucketDir), dataDir: await tempDir('series-crc-data'), indexCache: cache, chunkPoolBytes: 1 << 26 });
    await store.syncBlocks();
    const first = await collectSeries(store, req('3'));
    expect(first.series).toHaveLength(1);
    expect(first.series[0].chunks.length).toBeGreaterThan(1);
    // Spoil the cached copy's CRC only: the next call decodes it without checking.
    const [cached] = cache.fetchSeries(id, [refOf['3']]);
    expect(cached).toBeDefined();
    cached![cached!.length - 1] ^= 0xff;
    const again = await collectSeries(store, req('3'));
    expect(again.series).toEqual(first.series);
  });
});
