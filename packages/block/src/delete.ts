import type { Bucket } from '@thanos-ts/objstore';
import { DELETION_MARK_FILENAME, encodeDeletionMark, MARKER_VERSION_1, META_FILENAME } from '@thanos-ts/tsdb';
import { wrapError } from '@thanos-ts/runtime';

/**
 * Writes `<id>/deletion-mark.json`, after which readers stop using the block once
 * --ignore-deletion-marks-delay has passed and the compactor deletes it after
 * --delete-delay. Marking an already marked block keeps the original mark.
 */
export async function markForDeletion(bkt: Bucket, id: string, details = '', now = Date.now()): Promise<boolean> {
  const name = `${id}/${DELETION_MARK_FILENAME}`;
  if (await bkt.exists(name)) return false;
  if (!(await bkt.exists(`${id}/${META_FILENAME}`))) throw new Error(`mark block ${id} for deletion: block not found`);
  const mark = encodeDeletionMark({ id, version: MARKER_VERSION_1, details: details || undefined, deletion_time: Math.floor(now / 1000) });
  await bkt.upload(name, Buffer.from(mark));
  return true;
}

/**
 * Deletes a block in Thanos order: meta.json first (so the block stops being a block
 * at once), then everything else, the deletion mark last (so an interrupted delete is
 * retried by whoever acts on marks).
 */
export async function deleteBlock(bkt: Bucket, id: string): Promise<void> {
  try {
    await bkt.delete(`${id}/${META_FILENAME}`);
    const rest: string[] = [];
    await bkt.iter(`${id}/`, (n) => {
      if (n !== `${id}/${DELETION_MARK_FILENAME}`) rest.push(n);
    }, { recursive: true });
    for (const n of rest) await bkt.delete(n);
    await bkt.delete(`${id}/${DELETION_MARK_FILENAME}`);
  } catch (err) {
    throw wrapError(err, `delete block ${id}`);
  }
}
