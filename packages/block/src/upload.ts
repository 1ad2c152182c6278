// Block upload in Thanos order (pkg/block/block.go): chunks first, then the index, and
// meta.json last. A block directory without meta.json is by definition a partial upload
// that readers skip and the compactor cleans, so no reader ever sees half a block.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Bucket } from '@thanos-ts/objstore';
import { encodeBlockMeta, formatUploadTime, isValidUlid, META_FILENAME, readBlockMeta } from '@thanos-ts/tsdb';
import type { BlockMeta, ThanosFile } from '@thanos-ts/tsdb';
import { wrapError } from '@thanos-ts/runtime';

export const INDEX_FILENAME = 'index';
export const CHUNKS_DIRNAME = 'chunks';

export type HashFunc = '' | 'SHA256';

export interface UploadOptions {
  /** Compute SHA256 of every file into thanos.files (Thanos --hash-func). */
  hashFunc?: HashFunc;
  /** Allow blocks without external labels (Thanos' UploadPromBlock). */
  allowNoLabels?: boolean;
  /** Adjusts the meta before it is uploaded (labels, source...), after files are gathered. */
  mutateMeta?: (meta: BlockMeta) => void;
  /** Injected clock for upload_time. */
  now?: () => number;
}

/**
 * Uploads the block in `dir` (named by its ULID) to `bkt` under `<ULID>/`. The meta.json
 * uploaded is the local one plus `thanos.files` and `thanos.upload_time`; the local file
 * is not changed. On failure the objects uploaded so far are deleted best-effort.
 */
export async function uploadBlock(bkt: Bucket, dir: string, opts: UploadOptions = {}): Promise<BlockMeta> {
  const id = basename(dir);
  if (!isValidUlid(id)) throw new Error(`upload block ${dir}: directory name is not a ULID`);
  const meta = await readBlockMeta(dir).catch((err: unknown) => {
    throw wrapError(err, `upload block ${id}: read meta`);
  });
  if (meta.ulid !== id) throw new Error(`upload block ${id}: meta.json ulid ${meta.ulid} does not match the directory`);
  opts.mutateMeta?.(meta);
  if (!opts.allowNoLabels && (meta.thanos.labels === null || Object.keys(meta.thanos.labels).length === 0)) {
    throw new Error(`upload block ${id}: empty external labels are not allowed for Thanos blocks`);
  }
  if (meta.thanos.downsample.resolution < 0) throw new Error(`upload block ${id}: negative resolution`);

  const chunkFiles = (await readdir(join(dir, CHUNKS_DIRNAME))).filter((f) => /^\d{6}$/.test(f)).sort();
  if (chunkFiles.length === 0 && (meta.stats.numChunks ?? 0) > 0) {
    throw new Error(`upload block ${id}: no chunk segment files but meta.json counts ${meta.stats.numChunks} chunks`);
  }
  const files: ThanosFile[] = [];
  for (const f of chunkFiles) files.push(await fileStat(dir, `${CHUNKS_DIRNAME}/${f}`, opts.hashFunc));
  files.push(await fileStat(dir, INDEX_FILENAME, opts.hashFunc));
  files.push({ rel_path: META_FILENAME });
  meta.thanos.files = files;
  meta.thanos.upload_time = formatUploadTime(opts.now?.() ?? Date.now());

  const uploaded: string[] = [];
  try {
    for (const f of files) {
      if (f.rel_path === META_FILENAME) continue;
      const name = `${id}/${f.rel_path}`;
      await bkt.upload(name, createReadStream(join(dir, f.rel_path)), { size: f.size_bytes });
      uploaded.push(name);
    }
    // Last: the object whose presence makes the block visible.
    await bkt.upload(`${id}/${META_FILENAME}`, Buffer.from(encodeBlockMeta(meta)));
  } catch (err) {
    await Promise.allSettled(uploaded.map((n) => bkt.delete(n)));
    throw wrapError(err, `upload block ${id}`);
  }
  return meta;
}

async function fileStat(dir: string, rel: string, hashFunc: HashFunc | undefined): Promise<ThanosFile> {
  const path = join(dir, rel);
  const st = await stat(path);
  const f: ThanosFile = { rel_path: rel, size_bytes: st.size };
  if (hashFunc === 'SHA256') {
    const h = createHash('sha256');
    for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
    f.hash = { hashFunc: 'SHA256', value: h.digest('hex') };
  }
  return f;
}
