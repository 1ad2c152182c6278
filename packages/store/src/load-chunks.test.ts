// BucketBlock.loadChunks places every chunk where its series wants it, whatever order the
// chunk refs come in: a compacted block's refs ascend with the series, and that case
// skips sorting; refs in any other order are sorted first.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadBlock } from '@thanos-ts/block';
import { FilesystemBucket } from '@thanos-ts/objstore';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { ChunkMetaBuffer, labelsFromRecord, labelsToString, MatchType, newMatcher, SeriesBuilder, XorIterator } from '@thanos-ts/tsdb';
import type { BucketBlock, BlockSeries } from './bucket-block.js';
import { BucketStore } from './bucket-store.js';
import { ChunkPool, ChunkSlabs } from './chunk-pool.js';
import { InMemoryIndexCache } from './index-cache.js';
import { testThanosMeta } from './series-fixture.js';
import { newQueryStats } from './stats.js';

const SERIES = 12;
const STEP = 15_000;
const POINTS = 600; // five chunks of 120 samples per series
const END = POINTS * STEP;

let store: BucketStore;
let block: BucketBlock;

beforeAll(async () => {
  const local = await tempDir('load-chunks-blocks');
  const bkt = new FilesystemBucket(await tempDir('load-chunks-bucket'));
  const b = new SeriesBuilder();
  for (let i = 0; i < SERIES; i++) {
    for (let k = 0; k < POINTS; k++) b.append(labelsFromRecord({ __name__: 'm', i: String(i).padStart(2, '0') }), k * STEP, i * 1000 + k);
  }
  const w = await b.writeBlock(local, { mint: 0, maxt: END, thanos: testThanosMeta({ c: 'x' }) });
  await uploadBlock(bkt, w!.dir);
  store = new BucketStore({
    bkt,
    dataDir: await tempDir('load-chunks-data'),
    indexCache: new InMemoryIndexCache({ maxSizeBytes: 1 << 24, maxItemSizeBytes: 1 << 20, enabledItems: [] }),
    chunkPoolBytes: 1 << 26,
  });
  await store.syncBlocks();
  // The block itself: the test drives loadChunks directly.
  block = [...(store as unknown as { blocks: Map<string, { block: BucketBlock }> }).blocks.values()][0].block;
});

afterAll(async () => {
  store.close();
  await removeTempDirs();
});

async function seriesOfBlock(): Promise<BlockSeries[]> {
  const stats = newQueryStats();
  const refs = await block.expandedPostings([newMatcher(MatchType.EQ, '__name__', 'm')], stats);
  const entries = await block.loadSeries(refs, stats);
  return block.decodeSeriesForTime(entries, refs, 0, END);
}

/** The series with its chunk metas in reverse order, in a buffer of its own. */
function reverseMetas(s: BlockSeries): BlockSeries {
  const metas = new ChunkMetaBuffer();
  for (let i = s.metaCount - 1; i >= 0; i--) metas.push(s.metas.mint(s.metaFrom + i), s.metas.maxt(s.metaFrom + i), s.metas.ref(s.metaFrom + i));
  return { ...s, metas, metaFrom: 0 };
}

/** Each series' samples, read back from the chunks loadChunks placed. */
function samplesOf(series: BlockSeries[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const s of series) {
    const vs: number[] = [];
    for (const c of s.chunks) {
      const it = new XorIterator(c.raw!.data);
      while (it.next()) vs.push(it.atF());
    }
    out.set(labelsToString(s.labels), vs);
  }
  return out;
}

describe('BucketBlock.loadChunks', () => {
  it('places chunks wanted in ref order, in reverse order and twice', async () => {
    const want = new Map<string, number[]>();
    for (let i = 0; i < SERIES; i++) want.set(`{__name__="m", i="${String(i).padStart(2, '0')}"}`, Array.from({ length: POINTS }, (_, k) => i * 1000 + k));
    const pool = new ChunkPool(1 << 26);

    const inOrder = await seriesOfBlock();
    expect(inOrder.every((s) => s.metaCount === 5)).toBe(true);
    const slabs1 = new ChunkSlabs(pool);
    await block.loadChunks(inOrder, [], newQueryStats(), slabs1, pool);
    expect(samplesOf(inOrder)).toEqual(want);
    slabs1.release();

    // Series and their chunk metas reversed (refs descending), and one series twice.
    const reversed = (await seriesOfBlock()).reverse().map(reverseMetas);
    const again = reverseMetas((await seriesOfBlock())[3]);
    reversed.push(again);
    const slabs2 = new ChunkSlabs(pool);
    const stats = newQueryStats();
    await block.loadChunks(reversed, [], stats, slabs2, pool);
    for (const s of reversed) s.chunks.reverse();
    const got = samplesOf(reversed.slice(0, SERIES));
    expect(got).toEqual(want);
    expect(samplesOf([again])).toEqual(new Map([[labelsToString(again.labels), want.get(labelsToString(again.labels))]]));
    expect(stats.chunksFetched).toBe(SERIES * 5 + 5);
    // Sorted, the wanted records are read in merged ranges, none on its own.
    expect(stats.chunkRefetches).toBe(0);
    expect(stats.chunksFetchCount).toBe(1);
    for (const s of reversed) for (let c = 0; c < s.chunks.length; c++) expect(s.chunks[c].minTime).toBe(s.metas.mint(s.metaFrom + s.metaCount - 1 - c));
    slabs2.release();
  });
});
