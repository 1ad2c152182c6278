import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { listBlockIds, MetaFetcher } from '@thanos-ts/block';
import { nopLogger } from '@thanos-ts/runtime';
import { removeTempDirs, tempDir, wrapMethods } from '@thanos-ts/testutil';
import { bucketBackfill } from './index.js';

afterAll(removeTempDirs);

async function omFile(hours: number): Promise<string> {
  const dir = await tempDir('bf');
  let om = '';
  for (const job of ['a', 'b']) for (let t = 0; t < hours * 3600; t += 60) om += `up{job="${job}"} ${t % 3} ${t}\n`;
  const f = join(dir, 'in.om');
  await writeFile(f, om + '# EOF\n');
  return f;
}

describe('bucketBackfill', () => {
  it('re-reads the input per group of windows under a small memory budget, with the same result', async () => {
    const file = await omFile(6);
    const big = new FilesystemBucket(await tempDir('bf-big'));
    const small = new FilesystemBucket(await tempDir('bf-small'));
    const a = await bucketBackfill(big, { file, labels: { c: '1' }, logger: nopLogger() });
    const b = await bucketBackfill(small, { file, labels: { c: '1' }, logger: nopLogger(), maxSamplesInMemory: 100 });
    expect(a.blocks.length).toBe(3);
    expect(b.blocks.length).toBe(3);
    const stats = async (bkt: Bucket): Promise<unknown[]> =>
      [...(await new MetaFetcher(bkt).fetch()).metas.values()].map((m) => [m.minTime, m.maxTime, m.stats]).sort();
    expect(await stats(small)).toEqual(await stats(big));
  });

  it('removes the blocks it uploaded when a later upload fails', async () => {
    const file = await omFile(6);
    const real = new FilesystemBucket(await tempDir('bf-fail'));
    let metas = 0;
    const failing = wrapMethods<Bucket>(real, {
      upload: (name, body, o) => {
        if (name.endsWith('meta.json') && ++metas === 3) return Promise.reject(new Error('bucket timed out'));
        return real.upload(name, body, o);
      },
    });
    await expect(bucketBackfill(failing, { file, labels: { c: '1' }, logger: nopLogger() })).rejects.toThrow('bucket timed out');
    expect(await listBlockIds(real)).toEqual([]);
  });
});
