import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { createRegistry, HttpServer, nopLogger, Prober } from '@thanos-ts/runtime';
import { emptyBlockMeta, encodeBlockMeta, ulid } from '@thanos-ts/tsdb';
import type { BlockMeta } from '@thanos-ts/tsdb';
import { removeTempDirs, tempDir, wrapMethods } from '@thanos-ts/testutil';
import { blocksApiHandler } from './blocks-api.js';
import type { BlocksApiState } from './blocks-api.js';
import { markForDeletion } from './delete.js';
import { IgnoreDeletionMarkFilter, MetaFetcher } from './fetcher.js';
import { GatherNoCompactMarkFilter } from './compact/filters.js';
import { markForNoCompact } from './compact/marks.js';

const servers: HttpServer[] = [];

async function serve(state: () => BlocksApiState): Promise<string> {
  const http = new HttpServer({ address: '127.0.0.1:0', registry: createRegistry('test'), prober: new Prober(), logger: nopLogger() });
  http.route('/api/v1/blocks', blocksApiHandler(state));
  await http.start();
  servers.push(http);
  return `http://${http.address()}/api/v1/blocks`;
}

async function putBlock(bkt: Bucket, minTime: number): Promise<BlockMeta> {
  const meta: BlockMeta = { ...emptyBlockMeta(), ulid: ulid(minTime), minTime, maxTime: minTime + 7_200_000, version: 1, compaction: { level: 1, sources: [] } };
  meta.compaction.sources = [meta.ulid];
  meta.thanos = { ...meta.thanos, labels: { cluster: 'eu' }, source: 'sidecar' };
  await bkt.upload(`${meta.ulid}/meta.json`, Buffer.from(encodeBlockMeta(meta)));
  return meta;
}

interface Answer {
  status: string;
  data: { blocks: (BlockMeta & { deletionMark?: Record<string, unknown>; noCompactMark?: Record<string, unknown> })[]; label: string; refreshedAt: string; err: string | null };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

afterAll(async () => {
  await removeTempDirs();
});

describe('blocksApiHandler', () => {
  it('lists the metas in the envelope with the label and refresh time', async () => {
    const bkt = new FilesystemBucket(await tempDir('blocks-api'));
    const a = await putBlock(bkt, Date.UTC(2024, 0, 1));
    const url = await serve(() => ({ blocks: [a], refreshedAt: Date.UTC(2024, 0, 2), err: null, label: 'cluster' }));
    const body = (await (await fetch(url)).json()) as Answer;
    expect(body.status).toBe('success');
    expect(body.data.label).toBe('cluster');
    expect(body.data.refreshedAt).toBe('2024-01-02T00:00:00.000Z');
    expect(body.data.blocks.map((b) => b.ulid)).toEqual([a.ulid]);
    expect(body.data.blocks[0]).not.toHaveProperty('deletionMark');
    expect(body.data.blocks[0]).not.toHaveProperty('noCompactMark');
  });

  it('adds the marks the last sync found, reading nothing from the bucket per request', async () => {
    const fsBkt = new FilesystemBucket(await tempDir('blocks-api'));
    const [a, b, c] = [await putBlock(fsBkt, Date.UTC(2024, 0, 1)), await putBlock(fsBkt, Date.UTC(2024, 0, 2)), await putBlock(fsBkt, Date.UTC(2024, 0, 3))];
    const markedAt = Date.UTC(2024, 0, 4) / 1000;
    await markForDeletion(fsBkt, a.ulid, 'outdated block', markedAt * 1000);
    await markForNoCompact(fsBkt, b.ulid, 'index-size-exceeding', 'too big', markedAt * 1000);

    let reads = 0;
    const bkt = wrapMethods<Bucket>(fsBkt, {
      get: (name) => (reads++, fsBkt.get(name)),
      getRange: (name, off, len) => (reads++, fsBkt.getRange(name, off, len)),
      getRangeBytes: (name, off, len) => (reads++, fsBkt.getRangeBytes(name, off, len)),
      readRange: (name, off, len, use) => (reads++, fsBkt.readRange(name, off, len, use)),
      exists: (name) => (reads++, fsBkt.exists(name)),
      iter: (dir, fn, opts) => (reads++, fsBkt.iter(dir, fn, opts)),
    });
    // A delay longer than the mark's age: the marked block is still served, as the store
    // and the compactor do until the delay passes.
    const deletionMarks = new IgnoreDeletionMarkFilter(100 * 365 * 86_400_000);
    const noCompactMarks = new GatherNoCompactMarkFilter();
    const fetched = await new MetaFetcher(bkt, { filters: [deletionMarks, noCompactMarks] }).fetch();
    const blocks = [...fetched.metas.values()].sort((x, y) => x.minTime - y.minTime);
    expect(blocks.map((m) => m.ulid)).toEqual([a.ulid, b.ulid, c.ulid]);

    const url = await serve(() => ({ blocks, refreshedAt: Date.now(), err: null, deletionMarks: deletionMarks.marks, noCompactMarks: noCompactMarks.marks }));
    const before = reads;
    expect(before).toBeGreaterThan(0);
    const body = (await (await fetch(url)).json()) as Answer;
    await fetch(url);
    expect(reads).toBe(before);

    const [ja, jb, jc] = body.data.blocks;
    expect(ja.deletionMark).toEqual({ id: a.ulid, version: 1, details: 'outdated block', deletion_time: markedAt });
    expect(ja).not.toHaveProperty('noCompactMark');
    expect(jb.noCompactMark).toMatchObject({ id: b.ulid, version: 1, details: 'too big', reason: 'index-size-exceeding', no_compact_time: markedAt });
    expect(jb).not.toHaveProperty('deletionMark');
    expect(jc).not.toHaveProperty('deletionMark');
    expect(jc).not.toHaveProperty('noCompactMark');
    // The meta.json fields stay as they are beside the marks.
    expect(ja.thanos.labels).toEqual({ cluster: 'eu' });
    expect(ja.compaction.sources).toEqual([a.ulid]);
  });
});
