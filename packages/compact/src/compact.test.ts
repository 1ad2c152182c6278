import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { nopLogger } from '@thanos-ts/runtime';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { DELETION_MARK_FILENAME, NO_COMPACT_MARK_FILENAME, ulid } from '@thanos-ts/tsdb';
import type { BlockMeta } from '@thanos-ts/tsdb';
import { captureLogger, HOUR, putBlock, T0, testConfig } from './compact-fixture.js';
import { Compactor } from './compact.js';
import { markForNoCompact, findDuplicates, downsampleTodo, retentionTodo, cleanBucket, listBlockIds, markForDeletion, MetaFetcher, uploadBlock } from '@thanos-ts/block';

afterAll(removeTempDirs);

async function metas(bkt: Bucket): Promise<BlockMeta[]> {
  return [...(await new MetaFetcher(bkt).fetch()).metas.values()].sort((a, b) => a.minTime - b.minTime || (a.ulid < b.ulid ? -1 : 1));
}

async function metricValue(c: Compactor, name: string): Promise<number> {
  const m = await c.registry.getSingleMetric(name)?.get();
  return m?.values.reduce((a, v) => a + v.value, 0) ?? NaN;
}

describe('Compactor.iteration', () => {
  it('compacts 2h blocks of each stream into 8h blocks, marks and deletes the inputs', async () => {
    const bkt = new FilesystemBucket(await tempDir('c-bkt'));
    for (const cluster of ['eu', 'us']) for (let i = 0; i < 5; i++) await putBlock(bkt, { cluster }, T0 + i * 2 * HOUR, T0 + (i + 1) * 2 * HOUR);
    const c = new Compactor(await testConfig(bkt, nopLogger()));
    const res = await c.iteration();
    expect(res.errors).toEqual([]);
    expect(res.halted.size).toBe(0);
    const after = await metas(bkt);
    // Per stream: [0,8h) compacted (level 2, 4 sources), [8h,10h) left as the newest block.
    const rows = after.map((m) => [m.thanos.labels?.cluster, m.minTime - T0, m.maxTime - T0, m.compaction.level, m.thanos.source]);
    expect(rows.sort((a, b) => (a[1] as number) - (b[1] as number) || String(a[0]).localeCompare(String(b[0])))).toEqual([
      ['eu', 0, 8 * HOUR, 2, 'compactor'],
      ['us', 0, 8 * HOUR, 2, 'compactor'],
      ['eu', 8 * HOUR, 10 * HOUR, 1, 'sidecar'],
      ['us', 8 * HOUR, 10 * HOUR, 1, 'sidecar'],
    ]);
    expect(after[0].compaction.sources).toHaveLength(4);
    expect(after[0].stats.numSamples).toBe(3 * 8 * 60);
    expect(await listBlockIds(bkt)).toHaveLength(4); // delete-delay 0: inputs gone
    expect(await metricValue(c, 'thanos_compact_group_compactions_total')).toBe(2);
    expect(await metricValue(c, 'thanos_compact_todo_compactions')).toBe(0);
    expect(await metricValue(c, 'thanos_compact_halted')).toBe(0);
  });

  it('merges the replicas of one cluster into one block with --deduplication.replica-label', async () => {
    const bkt = new FilesystemBucket(await tempDir('c-bkt'));
    for (const replica of ['a', 'b']) for (let i = 0; i < 5; i++) await putBlock(bkt, { cluster: 'eu', replica }, T0 + i * 2 * HOUR, T0 + (i + 1) * 2 * HOUR, { phaseMs: replica === 'a' ? 0 : 7_000 });
    const c = new Compactor(await testConfig(bkt, nopLogger(), { replicaLabels: ['replica'], verticalCompaction: true, dedupFunc: 'penalty' }));
    const res = await c.iteration();
    expect(res.errors).toEqual([]);
    const after = await metas(bkt);
    expect(after.map((m) => [m.thanos.labels, m.minTime - T0, m.maxTime - T0])).toEqual([
      [{ cluster: 'eu' }, 0, 8 * HOUR],
      [{ cluster: 'eu' }, 8 * HOUR, 10 * HOUR],
    ]);
    // About one replica's samples, not two (penalty dedup keeps one replica at a time).
    const one = 3 * 8 * 60;
    expect(after[0].stats.numSamples).toBeGreaterThanOrEqual(one);
    expect(after[0].stats.numSamples).toBeLessThan(one * 1.1);
    expect(after[0].compaction.sources).toHaveLength(8);
    // Each overlapping pair is merged vertically first (5), then the 8h range (1).
    expect(await metricValue(c, 'thanos_compact_group_vertical_compactions_total')).toBe(5);
    expect(await metricValue(c, 'thanos_compact_group_compactions_total')).toBe(6);
  });

  it('halts only the stream with overlapping blocks, says so once and keeps compacting the others', async () => {
    const bkt = new FilesystemBucket(await tempDir('c-bkt'));
    for (let i = 0; i < 5; i++) await putBlock(bkt, { cluster: 'eu' }, T0 + i * 2 * HOUR, T0 + (i + 1) * 2 * HOUR);
    const a = await putBlock(bkt, { cluster: 'us' }, T0, T0 + 2 * HOUR);
    const b = await putBlock(bkt, { cluster: 'us' }, T0 + HOUR, T0 + 3 * HOUR);
    const { logger, lines } = captureLogger();
    const c = new Compactor(await testConfig(bkt, logger));
    const res = await c.iteration();
    expect([...res.halted.keys()]).toEqual(['0@{cluster="us"}']);
    expect(await metricValue(c, 'thanos_compact_halted')).toBe(1);
    const errs = lines.filter((l) => l.level === 'error');
    expect(errs).toHaveLength(1);
    expect(String(errs[0].err)).toContain(a.ulid);
    expect(String(errs[0].err)).toContain(b.ulid);
    expect(String(errs[0].err)).toContain('--compact.enable-vertical-compaction');
    expect(String(errs[0].err)).toContain('tools bucket verify --repair');
    const after = await metas(bkt);
    expect(after.filter((m) => m.thanos.labels?.cluster === 'eu').map((m) => m.compaction.level)).toEqual([2, 1]);
    expect(after.filter((m) => m.thanos.labels?.cluster === 'us').map((m) => m.ulid)).toEqual([a.ulid, b.ulid]);

    // Without --wait the run fails after doing the rest; a second iteration does not log again.
    await c.iteration();
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
    await expect(new Compactor(await testConfig(bkt, nopLogger())).run(new AbortController().signal)).rejects.toThrow(/stream 0@\{cluster="us"\} halted/);

    // With vertical compaction the overlap is merged.
    const v = new Compactor(await testConfig(bkt, nopLogger(), { verticalCompaction: true }));
    const r2 = await v.iteration();
    expect(r2.halted.size).toBe(0);
    const us = (await metas(bkt)).filter((m) => m.thanos.labels?.cluster === 'us');
    expect(us.map((m) => [m.minTime - T0, m.maxTime - T0])).toEqual([[0, 3 * HOUR]]);
  });

  it('finishes the work of a run killed after its upload: the unmarked inputs are marked as duplicates', async () => {
    const bkt = new FilesystemBucket(await tempDir('c-bkt'));
    const ins: BlockMeta[] = [];
    for (let i = 0; i < 5; i++) ins.push(await putBlock(bkt, { cluster: 'eu' }, T0 + i * 2 * HOUR, T0 + (i + 1) * 2 * HOUR));
    // A run compacts with a long delete delay; then pretend it died before marking by removing the marks.
    const c = new Compactor(await testConfig(bkt, nopLogger(), { deleteDelayMs: 48 * HOUR }));
    await c.iteration();
    for (const m of ins.slice(0, 4)) await bkt.delete(`${m.ulid}/${DELETION_MARK_FILENAME}`);
    const c2 = new Compactor(await testConfig(bkt, nopLogger(), { deleteDelayMs: 48 * HOUR }));
    await c2.iteration();
    for (const m of ins.slice(0, 4)) expect(await bkt.exists(`${m.ulid}/${DELETION_MARK_FILENAME}`)).toBe(true);
    expect(await metricValue(c2, 'thanos_compact_garbage_collected_blocks_total')).toBe(4);
    expect(await metricValue(c2, 'thanos_compact_group_compactions_total')).toBe(0);
  });

  it('honours no-compact marks and marks blocks whose index is too big', async () => {
    const bkt = new FilesystemBucket(await tempDir('c-bkt'));
    const ins: BlockMeta[] = [];
    for (let i = 0; i < 5; i++) ins.push(await putBlock(bkt, { cluster: 'eu' }, T0 + i * 2 * HOUR, T0 + (i + 1) * 2 * HOUR));
    await markForNoCompact(bkt, ins[0].ulid, 'manual');
    const c = new Compactor(await testConfig(bkt, nopLogger(), { maxIndexSizeBytes: 1 }));
    await c.iteration();
    // Every plan's indexes exceed 1 byte: the biggest block is marked, again, until
    // fewer than two blocks are left to plan ([0] is marked by hand, [4] is the newest).
    const marked = await Promise.all(ins.map((m) => bkt.exists(`${m.ulid}/${NO_COMPACT_MARK_FILENAME}`)));
    expect(marked[0]).toBe(true);
    expect(marked.slice(1, 4).filter(Boolean)).toHaveLength(2);
    expect(marked[4]).toBe(false);
    expect((await metas(bkt)).every((m) => m.compaction.level === 1)).toBe(true);
  });

  it('removes partial uploads older than the consistency delay and finishes interrupted deletions', async () => {
    const bkt = new FilesystemBucket(await tempDir('c-bkt'));
    const old = ulid(Date.now() - 2 * HOUR);
    const fresh = ulid(Date.now());
    await bkt.upload(`${old}/index`, Buffer.from('x'));
    await bkt.upload(`${fresh}/index`, Buffer.from('x'));
    const half = await putBlock(bkt, { cluster: 'eu' }, T0, T0 + 2 * HOUR);
    await markForDeletion(bkt, half.ulid, 'test', Date.now());
    await bkt.delete(`${half.ulid}/meta.json`); // a delete killed after its first step
    const r = await cleanBucket({ bkt, logger: nopLogger(), deleteDelayMs: 48 * HOUR, consistencyDelayMs: 30 * 60_000 });
    expect(r.partial).toEqual([old]);
    expect(r.deleted).toEqual([half.ulid]);
    expect(await listBlockIds(bkt)).toEqual([fresh]);
  });
});

describe('planning helpers', () => {
  const meta = (id: string, res: number, sources: string[], mint = 0, maxt = 2 * HOUR): BlockMeta =>
    ({ ulid: id, minTime: mint, maxTime: maxt, stats: {}, compaction: { level: 1, sources }, version: 1, thanos: { labels: {}, downsample: { resolution: res }, source: '', index_stats: {}, upload_time: '' } }) as BlockMeta;

  it('finds blocks covered by others of the same resolution', () => {
    const ms = [meta('A', 0, ['A']), meta('B', 0, ['B']), meta('C', 0, ['A', 'B']), meta('D', 300_000, ['A', 'B']), meta('E', 0, ['A', 'B'])];
    expect(findDuplicates(ms)).toEqual(['A', 'B', 'E']);
  });

  it('downsamples raw blocks of 40h+ and 5m blocks of 10d+ not yet downsampled', () => {
    const ms = [
      meta('R1', 0, ['s1'], 0, 48 * HOUR),
      meta('R2', 0, ['s2'], 0, 8 * HOUR),
      meta('R3', 0, ['s3'], 0, 48 * HOUR),
      meta('F3', 300_000, ['s3'], 0, 48 * HOUR),
      meta('F4', 300_000, ['s4'], 0, 14 * 24 * HOUR),
    ];
    expect(downsampleTodo(ms).map((t) => [t.meta.ulid, t.resolution])).toEqual([
      ['F4', 3_600_000],
      ['R1', 300_000],
    ]);
    expect(downsampleTodo(ms, new Set(['R1'])).map((t) => t.meta.ulid)).toEqual(['F4']);
  });

  it('applies retention per resolution on maxTime, 0 keeping forever', () => {
    const now = 100 * 24 * HOUR;
    const ms = [meta('A', 0, [], 0, now - 10 * 24 * HOUR), meta('B', 0, [], 0, now - 1 * HOUR), meta('C', 300_000, [], 0, 0), meta('D', 3_600_000, [], 0, 0)];
    expect(retentionTodo(ms, { raw: 5 * 24 * HOUR, fiveMinutes: 50 * 24 * HOUR, oneHour: 0 }, now).map((m) => m.ulid)).toEqual(['A', 'C']);
  });
});
