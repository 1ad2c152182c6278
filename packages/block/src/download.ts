import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Bucket } from '@thanos-ts/objstore';
import { getBytes } from '@thanos-ts/objstore';
import { META_FILENAME, parseBlockMeta, writeBlockMeta } from '@thanos-ts/tsdb';
import type { BlockMeta } from '@thanos-ts/tsdb';
import { wrapError } from '@thanos-ts/runtime';
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
      const path = join(dst, name);
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.tmp`;
      await pipeline(await bkt.get(name), createWriteStream(tmp));
      const want = expected.get(name);
      if (want !== undefined) {
        const got = (await stat(tmp)).size;
        if (got !== want) throw new Error(`${name}: downloaded ${got} bytes, meta.json says ${want}`);
      }
      await rename(tmp, path);
    }
    await writeBlockMeta(dir, meta);
    return meta;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw wrapError(err, `download block ${id}`);
  }
}
