import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket, getBytes } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { parseBlockMeta, parseDeletionMark, readBlockMeta, writeBlockMeta } from '@thanos-ts/tsdb';
import { createBlocksFromOpenMetrics, removeTempDirs, tempDir, wrapMethods } from '@thanos-ts/testutil';
import {
  deleteBlock,
  downloadBlock,
  IgnoreDeletionMarkFilter,
  markForDeletion,
  MetaFetcher,
  timePartitionFilter,
  uploadBlock,
} from './index.js';

let src: string;
let id: string;
let bkt: Bucket;

beforeAll(async () => {
  src = await tempDir('block-src');
  let om = '# TYPE up gauge\n';
  for (let t = 0; t < 600; t += 15) om += `up{job="a",instance="x"} ${t % 7} ${t}\nup{job="b",instance="y"} 1 ${t}\n`;
  om += '# EOF\n';
  [id] = await createBlocksFromOpenMetrics(om, src);
  const meta = await readBlockMeta(join(src, id));
  meta.thanos.labels = { cluster: 'eu1' };
  meta.thanos.source = 'test';
  await writeBlockMeta(join(src, id), meta);
  bkt = new FilesystemBucket(await tempDir('block-bkt'));
});
afterAll(removeTempDirs);

describe('block upload, fetch, download, delete', () => {
  it('uploads chunks, index and meta.json with thanos.files', async () => {
    const order: string[] = [];
    const spy = wrapMethods<Bucket>(bkt, {
      upload: (name, body, o) => {
        order.push(name);
        return bkt.upload(name, body, o);
      },
    });
    const meta = await uploadBlock(spy, join(src, id), { hashFunc: 'SHA256', now: () => Date.UTC(2024, 0, 1) });
    expect(order).toEqual([`${id}/chunks/000001`, `${id}/index`, `${id}/meta.json`]);
    const remote = parseBlockMeta(await getBytes(bkt, `${id}/meta.json`));
    expect(remote.thanos.files?.map((f) => f.rel_path)).toEqual(['chunks/000001', 'index', 'meta.json']);
    expect(remote.thanos.files?.[1].hash?.hashFunc).toBe('SHA256');
    expect(remote.thanos.upload_time).toBe('2024-01-01T00:00:00Z');
    expect(remote).toEqual(meta);
  });

  it('refuses blocks without external labels', async () => {
    const other = await tempDir('block-nolabels');
    const [nid] = await createBlocksFromOpenMetrics('up 1 0\n# EOF\n', other);
    await expect(uploadBlock(bkt, join(other, nid))).rejects.toThrow(`upload block ${nid}: empty external labels are not allowed`);
    expect(await bkt.exists(`${nid}/index`)).toBe(false);
  });

  it('fetches metas and tells partial and corrupted blocks apart', async () => {
    await bkt.upload('01ARZ3NDEKTSV4RRFFQ69G5FAV/index', Buffer.from('x'));
    await bkt.upload('01BX5ZZKBKACTAV9WEVGEMMVRZ/meta.json', Buffer.from('{"broken'));
    const res = await new MetaFetcher(bkt).fetch();
    expect([...res.metas.keys()]).toEqual([id]);
    expect([...res.partial.keys()]).toEqual(['01ARZ3NDEKTSV4RRFFQ69G5FAV']);
    expect([...res.corrupted.keys()]).toEqual(['01BX5ZZKBKACTAV9WEVGEMMVRZ']);
    const filtered = await new MetaFetcher(bkt, { filters: [timePartitionFilter(10_000_000, 20_000_000)] }).fetch();
    expect(filtered.metas.size).toBe(0);
    expect(filtered.filtered.get(id)).toBe('time-excluded');
  });

  it('downloads a block identical to the source', async () => {
    const dst = await tempDir('block-dst');
    await downloadBlock(bkt, id, dst);
    for (const f of ['index', 'chunks/000001']) {
      expect(Buffer.compare(await readFile(join(dst, id, f)), await readFile(join(src, id, f)))).toBe(0);
    }
    expect((await readBlockMeta(join(dst, id))).ulid).toBe(id);
  });

  it('a failed download leaves nothing behind', async () => {
    const dst = await tempDir('block-dst2');
    await expect(downloadBlock(bkt, '01ARZ3NDEKTSV4RRFFQ69G5FAV', dst)).rejects.toThrow('download block 01ARZ3NDEKTSV4RRFFQ69G5FAV');
    expect(await readdir(dst)).toEqual([]);
  });

  it('marks for deletion and deletes meta.json first, the mark last', async () => {
    expect(await markForDeletion(bkt, id, 'test', 1_700_000_000_000)).toBe(true);
    expect(await markForDeletion(bkt, id)).toBe(false);
    const mark = parseDeletionMark(await getBytes(bkt, `${id}/deletion-mark.json`));
    expect(mark).toMatchObject({ id, version: 1, deletion_time: 1_700_000_000 });
    const f = new IgnoreDeletionMarkFilter(3600_000, 4, () => 1_700_000_000_000 + 7200_000);
    const res = await new MetaFetcher(bkt, { filters: [f] }).fetch();
    expect(res.filtered.get(id)).toBe('marked-for-deletion');
    await deleteBlock(bkt, id);
    const left: string[] = [];
    await bkt.iter(`${id}/`, (n) => void left.push(n), { recursive: true });
    expect(left).toEqual([]);
  });
});

