import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemBucket, getBytes } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { parseBlockMeta, readBlockMeta, writeBlockMeta } from '@thanos-ts/tsdb';
import { nopLogger } from '@thanos-ts/runtime';
import { createBlocksFromOpenMetrics, removeTempDirs, tempDir, wrapMethods } from '@thanos-ts/testutil';
import { listBlockIds, Shipper } from './index.js';

afterAll(removeTempDirs);

async function tsdbDir(): Promise<{ dir: string; ids: string[] }> {
  const dir = await tempDir('shipper-tsdb');
  let om = '';
  for (let t = 0; t < 6 * 3600; t += 60) om += `up{job="a"} 1 ${t}\n`;
  const ids = await createBlocksFromOpenMetrics(om + '# EOF\n', dir);
  return { dir, ids };
}

describe('shipper', () => {
  it('uploads every level-1 block once, with labels and source, and remembers it', async () => {
    const { dir, ids } = await tsdbDir();
    expect(ids.length).toBe(3);
    // One block looks compacted: it must be skipped without --shipper.upload-compacted.
    const compacted = await readBlockMeta(join(dir, ids[2]));
    compacted.compaction.level = 2;
    await writeBlockMeta(join(dir, ids[2]), compacted);
    const bkt = new FilesystemBucket(await tempDir('shipper-bkt'));
    const mk = (uploadCompacted = false): Shipper =>
      new Shipper({ dir, bucket: bkt, logger: nopLogger(), labels: () => ({ cluster: 'eu1', replica: 'a' }), source: 'sidecar', uploadCompacted });
    expect(await mk().sync()).toBe(2);
    expect(await listBlockIds(bkt)).toEqual(ids.slice(0, 2));
    const meta = parseBlockMeta(await getBytes(bkt, `${ids[0]}/meta.json`));
    expect(meta.thanos).toMatchObject({ labels: { cluster: 'eu1', replica: 'a' }, source: 'sidecar', segment_files: ['000001'] });
    expect(JSON.parse(await readFile(join(dir, 'thanos.shipper.json'), 'utf8'))).toEqual({ version: 1, uploaded: ids.slice(0, 2) });
    // The local meta.json stays Prometheus's own.
    expect((await readBlockMeta(join(dir, ids[0]))).thanos.labels).toEqual({});
    // A restart uploads nothing twice.
    expect(await mk().sync()).toBe(0);
    expect(await mk(true).sync()).toBe(1);
    expect(await listBlockIds(bkt)).toEqual(ids);
  });

  it('retries a failed upload on the next sync and finds blocks already in the bucket', async () => {
    const { dir, ids } = await tsdbDir();
    const real = new FilesystemBucket(await tempDir('shipper-bkt2'));
    let failNext = true;
    const flaky = wrapMethods<Bucket>(real, {
      upload: (name, body, o) => {
        if (failNext && name.endsWith('/index')) {
          failNext = false;
          return Promise.reject(new Error('connection reset'));
        }
        return real.upload(name, body, o);
      },
    });
    const s = new Shipper({ dir, bucket: flaky, logger: nopLogger(), labels: () => ({ a: 'b' }), source: 'sidecar' });
    await expect(s.sync()).rejects.toThrow('failed to sync 1 block(s)');
    expect((await listBlockIds(real)).length).toBe(2);
    expect(await s.sync()).toBe(1);
    expect(await listBlockIds(real)).toEqual(ids);
    // Losing the shipper file is safe: the bucket tells what is there.
    const fresh = new Shipper({ dir, bucket: real, logger: nopLogger(), labels: () => ({ a: 'b' }), source: 'sidecar', metaFileName: 'other.json' });
    expect(await fresh.sync()).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'other.json'), 'utf8')).uploaded).toEqual(ids);
  });
});
