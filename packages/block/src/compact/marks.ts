// Writing the no-compact and no-downsample markers (Thanos block.MarkForNoCompact,
// block.MarkForNoDownsample); deletion marks are @thanos-ts/block's markForDeletion.

import type { Bucket } from '@thanos-ts/objstore';
import {
  encodeNoCompactMark,
  encodeNoDownsampleMark,
  MARKER_VERSION_1,
  META_FILENAME,
  NO_COMPACT_MARK_FILENAME,
  NO_DOWNSAMPLE_MARK_FILENAME,
} from '@thanos-ts/tsdb';

/** Uploads `<id>/no-compact-mark.json`; false when the block already has one. */
export async function markForNoCompact(bkt: Bucket, id: string, reason: string, details = '', now = Date.now()): Promise<boolean> {
  const name = `${id}/${NO_COMPACT_MARK_FILENAME}`;
  if (await bkt.exists(name)) return false;
  if (!(await bkt.exists(`${id}/${META_FILENAME}`))) throw new Error(`mark block ${id} for no compaction: block not found`);
  const mark = encodeNoCompactMark({ id, version: MARKER_VERSION_1, details: details || undefined, no_compact_time: Math.floor(now / 1000), reason });
  await bkt.upload(name, Buffer.from(mark));
  return true;
}

/** Uploads `<id>/no-downsample-mark.json`; false when the block already has one. */
export async function markForNoDownsample(bkt: Bucket, id: string, reason: string, details = '', now = Date.now()): Promise<boolean> {
  const name = `${id}/${NO_DOWNSAMPLE_MARK_FILENAME}`;
  if (await bkt.exists(name)) return false;
  if (!(await bkt.exists(`${id}/${META_FILENAME}`))) throw new Error(`mark block ${id} for no downsampling: block not found`);
  const mark = encodeNoDownsampleMark({ id, version: MARKER_VERSION_1, details: details || undefined, no_downsample_time: Math.floor(now / 1000), reason });
  await bkt.upload(name, Buffer.from(mark));
  return true;
}
