// `tools bucket mark`: writes (or with --remove deletes) a marker file of blocks, as
// Thanos' tools bucket mark: deletion-mark.json, no-compact-mark.json or
// no-downsample-mark.json, with the operator's details.

import { markForDeletion, markForNoCompact, markForNoDownsample } from '@thanos-ts/block';
import type { Bucket } from '@thanos-ts/objstore';
import { UserError } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { DELETION_MARK_FILENAME, isValidUlid, META_FILENAME, NO_COMPACT_MARK_FILENAME, NO_DOWNSAMPLE_MARK_FILENAME, NoCompactReason, NoDownsampleReason } from '@thanos-ts/tsdb';

export const MARKERS = [DELETION_MARK_FILENAME, NO_COMPACT_MARK_FILENAME, NO_DOWNSAMPLE_MARK_FILENAME] as const;

export interface MarkOptions {
  ids: string[];
  marker: string;
  details: string;
  remove: boolean;
  logger: Logger;
}

/** Marks (or unmarks) each block; returns the blocks changed. */
export async function bucketMark(bkt: Bucket, opts: MarkOptions): Promise<string[]> {
  if (opts.ids.length === 0) throw new UserError('--id: at least one block ID is required');
  for (const id of opts.ids) if (!isValidUlid(id)) throw new UserError(`--id: invalid ULID "${id}"`);
  if (!(MARKERS as readonly string[]).includes(opts.marker)) throw new UserError(`--marker: unknown marker "${opts.marker}" (want ${MARKERS.join(', ')})`);
  if (!opts.remove && opts.details.trim() === '') throw new UserError('--details: required when marking (say why the block is marked)');
  const changed: string[] = [];
  for (const id of opts.ids) {
    if (opts.remove) {
      const name = `${id}/${opts.marker}`;
      if (!(await bkt.exists(name))) {
        opts.logger.warn({ block: id, marker: opts.marker }, 'block has no such marker; nothing removed');
        continue;
      }
      await bkt.delete(name);
      opts.logger.info({ block: id, marker: opts.marker }, 'marker removed');
      changed.push(id);
      continue;
    }
    if (!(await bkt.exists(`${id}/${META_FILENAME}`))) throw new UserError(`block ${id}: not found in the bucket (no meta.json)`);
    let done: boolean;
    if (opts.marker === DELETION_MARK_FILENAME) done = await markForDeletion(bkt, id, opts.details);
    else if (opts.marker === NO_COMPACT_MARK_FILENAME) done = await markForNoCompact(bkt, id, NoCompactReason.Manual, opts.details);
    else done = await markForNoDownsample(bkt, id, NoDownsampleReason.Manual, opts.details);
    if (done) {
      opts.logger.info({ block: id, marker: opts.marker }, 'block marked');
      changed.push(id);
    } else {
      opts.logger.warn({ block: id, marker: opts.marker }, 'block already marked; the existing marker is kept');
    }
  }
  return changed;
}
