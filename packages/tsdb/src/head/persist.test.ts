import { afterAll, describe, expect, it } from 'vitest';
import { analyzeBlock, dumpBlocks, removeTempDirs, rng, tempDir } from '@thanos-ts/testutil';
import { Block } from '../block/index.js';
import { readBlockMeta, SourceType, ZERO_TIME } from '../block-meta/index.js';
import { labelsFromStrings, labelsToString, type Labels } from '../labels/index.js';
import { MatchType, newMatcher } from '../matchers/index.js';
import { Head } from './head.js';
import { selectAll } from './head-fixture.js';

afterAll(removeTempDirs);

const H2 = 2 * 3600 * 1000;
const ALL = [newMatcher(MatchType.RE, '__name__', '.+')];

describe('Head.persistBlock', () => {
  it('writes [mint, maxt) as a block promtool accepts, with exactly the samples appended', async () => {
    const r = rng(3);
    const h = new Head({ chunkRange: H2 });
    const series: Labels[] = Array.from({ length: 50 }, (_, i) => labelsFromStrings('__name__', `m${i % 4}`, 'instance', `host-${i}`, 'job', i % 2 ? 'api' : 'db'));
    const want = new Map<string, [number, number][]>();
    const refs = new Array<number>(series.length).fill(0);
    // 15 s scrapes over 3h, committed every minute, plus a tombstone.
    for (let t = 0; t < 3 * 3600_000; t += 60_000) {
      const app = h.appender();
      for (let k = 0; k < 4; k++) {
        const ts = t + k * 15_000;
        series.forEach((ls, i) => {
          if (i === 7 && ts > 1000_000) return; // a series that stops early
          const v = Math.round(r() * 1e6) / 100;
          refs[i] = app.append(refs[i], ls, ts, v);
          if (ts < H2) {
            const k2 = labelsToString(ls);
            if (!want.has(k2)) want.set(k2, []);
            want.get(k2)!.push([ts, v]);
          }
        });
      }
      await app.commit();
    }
    const parent = await tempDir('head-persist');
    const b = await h.persistBlock(0, H2, parent, {
      thanos: { labels: { replica: 'a' }, downsample: { resolution: 0 }, source: SourceType.Receive, index_stats: {}, upload_time: ZERO_TIME },
    });
    expect(b).not.toBeNull();
    expect(b!.meta.minTime).toBe(0);
    expect(b!.meta.maxTime).toBe(H2);
    expect(b!.meta.stats.numSeries).toBe(50);
    expect(b!.meta.stats.numSamples).toBe([...want.values()].reduce((n, s) => n + s.length, 0));
    expect((await readBlockMeta(b!.dir)).thanos?.labels).toEqual({ replica: 'a' });

    const a = await analyzeBlock(parent, b!.ulid);
    expect(a.series).toBe(50);
    const dumped = await dumpBlocks(parent);
    const got = new Map(dumped.map((d) => [labelsToString(d.labels), d.samples.map((s) => [s.t, s.v])]));
    expect(got).toEqual(want);

    // Read back with our block reader: same as the head over the range.
    const blk = await Block.open(b!.dir);
    expect(await selectAll(blk, 0, H2 - 1, ALL)).toEqual(await selectAll(h, 0, H2 - 1, ALL));
    await blk.close();

    // An unaligned range: chunks crossing its ends are re-encoded.
    const p2 = await tempDir('head-persist-unaligned');
    const b2 = await h.persistBlock(1234_567, 2345_678, p2);
    expect(b2!.meta).not.toHaveProperty('thanos');
    const blk2 = await Block.open(b2!.dir);
    expect(await selectAll(blk2, -Infinity, Infinity, ALL)).toEqual(await selectAll(h, 1234_567, 2345_677, ALL));
    await blk2.close();
    const d2 = await dumpBlocks(p2);
    expect(d2.length).toBe(49);

    // Nothing in range: no block.
    expect(await h.persistBlock(100 * H2, 101 * H2, parent)).toBeNull();
  });
});
