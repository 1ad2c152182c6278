import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bucket } from '@thanos-ts/objstore';
import { getBytes } from '@thanos-ts/objstore';
import { META_FILENAME, parseBlockMeta, writeBlockMeta } from '@thanos-ts/tsdb';
import type { BlockMeta } from '@thanos-ts/tsdb';
import { wrapError, writeFileAtomic } from '@thanos-ts/runtime';
import { CHUNKS_DIRNAME, INDEX_FILENAME } from './upload.js';

/**
 * Downloads block `id` into `<dst>/<id>`, meta.json last so an interrupted download
 * never looks complete. Sizes are checked against thanos.files when present.
 */
export async function downloadBlock(bkt: Bucket, id: string, dst: string): Promise<BlockMeta> {
  const dir = join(dst, id);
  try {
    const meta = parseBlockMeta(await getBytes(bkt, `${id}/${META_FILENAME}`), `${id}/${META_FILENAME}`);
    await mkdir(join(dir, CHUNKS_DIRNAME), { recursive: true });
    const names: string[] = [];
    await bkt.iter(`${id}/${CHUNKS_DIRNAME}/`, (n) => {
      names.push(n);
    });
    names.push(`${id}/${INDEX_FILENAME}`);
    const expected = new Map((meta.thanos.files ?? []).map((f) => [`${id}/${f.rel_path}`, f.size_bytes]));
    for (const name of names) {
      // The size thanos.files records, when present, is checked before the rename.
      const size = expected.get(name);
      const body = await bkt.get(name);
      try {
        await writeFileAtomic(join(dst, name), body, { mkdir: true, size });
      } catch (err) {
        throw wrapError(err, name);
      }
    }
    await writeBlockMeta(dir, meta);
    return meta;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw wrapError(err, `download block ${id}`);
  }
}
