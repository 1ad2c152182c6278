import { readdir, readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadBlock } from '@thanos-ts/block';
import { FilesystemBucket } from '@thanos-ts/objstore';
import type { SeriesSink, ValidatedSeriesRequest } from '@thanos-ts/storeapi';
import { seriesRequest, testThanosMeta } from './series-fixture.js';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { labelsFromRecord, MatchType, newMatcher, SeriesBuilder } from '@thanos-ts/tsdb';
import { BucketStore } from './bucket-store.js';
import { InMemoryIndexCache } from './index-cache.js';

const H = 3600_000;
let bucketDir: string;
const ids: Record<string, string> = {};

async function block(parent: string, cluster: string): Promise<string> {
  const b = new SeriesBuilder();
  for (let i = 0; i < 20; i++) for (let t = 0; t < 2 * H; t += 60_000) b.append(labelsFromRecord({ __name__: 'm', i: String(i) }), t, i + t / 1000);
  const w = await b.writeBlock(parent, { mint: 0, maxt: 2 * H, thanos: testThanosMeta({ cluster }) });
  return w!.dir;
}

beforeAll(async () => {
  const local = await tempDir('corrupt-blocks');
  bucketDir = await tempDir('corrupt-bucket');
  const bkt = new FilesystemBucket(bucketDir);
  for (const c of ['good', 'badchunks', 'badindex', 'badmeta']) {
    const dir = await block(local, c);
    const meta = await uploadBlock(bkt, dir);
    ids[c] = meta.ulid;
  }
  // Flip bytes in the middle of the chunk data, in the index's postings offset table
  // (so the index-header cannot be built), and make a meta.json unparsable.
  const seg = `${bucketDir}/${ids.badchunks}/chunks/000001`;
  const chunks = await readFile(seg);
  for (let i = 100; i < chunks.length - 100; i += 97) chunks[i] ^= 0xff;
  await writeFile(seg, chunks);
  const idx = `${bucketDir}/${ids.badindex}/index`;
  const index = await readFile(idx);
  index[index.length - 80] ^= 0xff;
  await writeFile(idx, index);
  await writeFile(`${bucketDir}/${ids.badmeta}/meta.json`, '{"ulid": ');
});

afterAll(removeTempDirs);

function req(cluster: string): ValidatedSeriesRequest {
  return seriesRequest([newMatcher(MatchType.EQ, 'cluster', cluster), newMatcher(MatchType.EQ, '__name__', 'm')], 0, 2 * H);
}

describe('BucketStore with corrupt blocks', () => {
  it('skips blocks it cannot load, fails queries touching corrupt chunks with the file named, and keeps serving the rest', async () => {
    const store = new BucketStore({
      bkt: new FilesystemBucket(bucketDir),
      dataDir: await tempDir('corrupt-data'),
      indexCache: new InMemoryIndexCache({ maxSizeBytes: 1 << 20, maxItemSizeBytes: 1 << 19, enabledItems: [] }),
      chunkPoolBytes: 1 << 30,
    });
    await store.syncBlocks();
    // The corrupt meta.json and the index whose header cannot be built are left out.
    expect(store.blockIds().sort()).toEqual([ids.good, ids.badchunks].sort());
    expect(await readdir(`${bucketDir}/${ids.badindex}`)).toContain('meta.json'); // nothing deleted from the bucket
    const sink = (): SeriesSink & { n: number } => {
      const s = { n: 0, series: () => void s.n++, warning: () => undefined, hints: () => undefined };
      return s;
    };
    await expect(store.series(req('badchunks'), sink(), new AbortController().signal)).rejects.toThrow(new RegExp(`${ids.badchunks}/chunks/000001`));
    const ok = sink();
    await store.series(req('good'), ok, new AbortController().signal);
    expect(ok.n).toBe(20);
  });
});
