import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { markForNoDownsample, MetaFetcher } from '@thanos-ts/block';
import { FilesystemBucket } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { nopLogger } from '@thanos-ts/runtime';
import { NoDownsampleReason } from '@thanos-ts/tsdb';
import type { BlockMeta } from '@thanos-ts/tsdb';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { bucketDownsample } from './bucket-downsample.js';
import { bucketObjects, downloadTo, HOUR, putBlock, readBlockAggregates, readBlockSamples } from './tools-fixture.js';

afterAll(removeTempDirs);

const T0 = Date.UTC(2024, 0, 1);

async function metas(bkt: Bucket): Promise<BlockMeta[]> {
  return [...(await new MetaFetcher(bkt).fetch()).metas.values()].sort((a, b) => (a.ulid < b.ulid ? -1 : 1));
}

async function setup(): Promise<{ bkt: Bucket; work: string; dataDir: string; run: () => Promise<string[]> }> {
  const bkt = new FilesystemBucket(await tempDir('ds-bkt'));
  const work = await tempDir('ds-work');
  const dataDir = join(await tempDir('ds-data'), 'downsample');
  const run = (): Promise<string[]> => bucketDownsample(bkt, { dataDir, concurrency: 2, consistencyDelayMs: 0, logger: nopLogger() });
  return { bkt, work, dataDir, run };
}

describe('bucketDownsample', () => {
  it('uploads a 5m block for a raw block spanning 40h, none for a shorter one, and nothing new on a second run', async () => {
    const { bkt, work, dataDir, run } = await setup();
    const now = Date.now();
    // 2m samples keep the 40h block small; 5m aggregation needs no denser data.
    const long = await putBlock(bkt, work, T0, T0 + 40 * HOUR, { stepMs: 120_000, ulidTime: now - 2 });
    const short = await putBlock(bkt, work, T0 + 40 * HOUR, T0 + 78 * HOUR, { stepMs: 120_000, ulidTime: now - 1 });

    const made = await run();
    expect(made).toHaveLength(1);
    const all = await metas(bkt);
    expect(all.map((m) => m.ulid).sort()).toEqual([long.ulid, short.ulid, made[0]].sort());
    const ds = all.find((m) => m.ulid === made[0])!;
    expect(ds.thanos.downsample.resolution).toBe(300_000);
    expect(ds.thanos.source).toBe('compactor');
    expect(ds.thanos.labels).toEqual(long.thanos.labels);
    expect([ds.minTime, ds.maxTime]).toEqual([long.minTime, long.maxTime]);
    expect(ds.compaction.sources).toEqual([long.ulid]);
    expect(ds.stats?.numSeries).toBe(3);
    // The source blocks stay as they were.
    expect(all.find((m) => m.ulid === long.ulid)!.thanos.downsample.resolution).toBe(0);
    expect(all.find((m) => m.ulid === short.ulid)!.thanos.downsample.resolution).toBe(0);

    // Every raw sample is counted in exactly one 5m window of the new block, and the
    // sums add up to the raw values' sum.
    const raw = await readBlockSamples(await downloadTo(bkt, long.ulid, work));
    const agg = await readBlockAggregates(await downloadTo(bkt, made[0], work));
    expect([...agg.keys()].sort()).toEqual([...raw.keys()].sort());
    for (const [series, samples] of raw) {
      const a = agg.get(series)!;
      expect(samples).toHaveLength(1200);
      expect(a.count).toBe(samples.length);
      expect(a.sum).toBe(samples.reduce((acc, [, v]) => acc + v, 0));
      expect(a.windows.length).toBeGreaterThanOrEqual(40 * 12);
      expect(Math.min(...a.windows)).toBeGreaterThan(T0);
      expect(Math.max(...a.windows)).toBeLessThan(T0 + 40 * HOUR);
    }

    const files = await bucketObjects(bkt);
    expect(await run()).toEqual([]);
    expect(await bucketObjects(bkt)).toEqual(files);
    // The working directory is cleaned up after the run.
    expect(await readdir(dataDir).catch(() => [])).toEqual([]);
  });

  it('skips a raw block with a no-downsample mark', async () => {
    const { bkt, work, run } = await setup();
    const marked = await putBlock(bkt, work, T0, T0 + 40 * HOUR, { stepMs: 120_000, ulidTime: Date.now() - 2 });
    const other = await putBlock(bkt, work, T0, T0 + 40 * HOUR, { stepMs: 120_000, labels: { cluster: 'us1' }, ulidTime: Date.now() - 1 });
    expect(await markForNoDownsample(bkt, marked.ulid, NoDownsampleReason.Manual, 'keep raw')).toBe(true);
    const made = await run();
    expect(made).toHaveLength(1);
    const ds = (await metas(bkt)).filter((m) => m.thanos.downsample.resolution !== 0);
    expect(ds.map((m) => m.compaction.sources)).toEqual([[other.ulid]]);
  });

  it('uploads nothing when no block spans 40h', async () => {
    const { bkt, work, run } = await setup();
    await putBlock(bkt, work, T0, T0 + 2 * HOUR);
    const files = await bucketObjects(bkt);
    expect(await run()).toEqual([]);
    expect(await bucketObjects(bkt)).toEqual(files);
  });
});
