import { afterAll, describe, expect, it } from 'vitest';
import { markForDeletion } from '@thanos-ts/block';
import { FilesystemBucket } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { nopLogger } from '@thanos-ts/runtime';
import { DELETION_MARK_FILENAME, ulid } from '@thanos-ts/tsdb';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { bucketCleanup } from './bucket-cleanup.js';
import { bucketObjects, HOUR, MINUTE, putBlock } from './tools-fixture.js';

afterAll(removeTempDirs);

const T0 = Date.UTC(2024, 0, 1);
const opts = { deleteDelayMs: 2 * HOUR, consistencyDelayMs: 30 * MINUTE, logger: nopLogger() };

interface Scene {
  bkt: Bucket;
  /** Marked 3h ago: past the 2h delete delay. */
  oldMarked: string;
  /** Marked 1h ago: within the delay. */
  newMarked: string;
  unmarked: string;
  /** No meta.json, ULID 2h old: past the 30m consistency delay. */
  oldPartial: string;
  /** No meta.json, ULID 1m old. */
  newPartial: string;
}

async function scene(): Promise<Scene> {
  const bkt = new FilesystemBucket(await tempDir('cleanup-bkt'));
  const work = await tempDir('cleanup-work');
  const now = Date.now();
  const [oldMarked, newMarked, unmarked] = await Promise.all(
    [0, 1, 2].map(async (i) => (await putBlock(bkt, work, T0 + i * 2 * HOUR, T0 + (i + 1) * 2 * HOUR, { ulidTime: now - 10 * HOUR + i })).ulid),
  );
  await markForDeletion(bkt, oldMarked, 'test', now - 3 * HOUR);
  await markForDeletion(bkt, newMarked, 'test', now - HOUR);
  const oldPartial = ulid(now - 2 * HOUR);
  const newPartial = ulid(now - MINUTE);
  for (const id of [oldPartial, newPartial]) {
    await bkt.upload(`${id}/index`, Buffer.from('partial index'));
    await bkt.upload(`${id}/chunks/000001`, Buffer.from('partial chunks'));
  }
  return { bkt, oldMarked, newMarked, unmarked, oldPartial, newPartial };
}

describe('bucketCleanup', () => {
  it('deletes every file of a block marked longer than the delete delay ago and keeps a recently marked one', async () => {
    const s = await scene();
    const before = await bucketObjects(s.bkt);
    expect(before.filter((n) => n.startsWith(`${s.oldMarked}/`))).toEqual([
      `${s.oldMarked}/chunks/000001`,
      `${s.oldMarked}/${DELETION_MARK_FILENAME}`,
      `${s.oldMarked}/index`,
      `${s.oldMarked}/meta.json`,
    ]);
    const res = await bucketCleanup(s.bkt, opts);
    expect(res.deleted).toEqual([s.oldMarked]);
    expect(res.failures).toBe(0);
    const after = await bucketObjects(s.bkt);
    expect(after.filter((n) => n.startsWith(`${s.oldMarked}/`))).toEqual([]);
    for (const id of [s.newMarked, s.unmarked]) expect(after.filter((n) => n.startsWith(`${id}/`))).toEqual(before.filter((n) => n.startsWith(`${id}/`)));
    expect(await s.bkt.exists(`${s.newMarked}/${DELETION_MARK_FILENAME}`)).toBe(true);
  });

  it('removes a partial upload older than the consistency delay and keeps a fresh one', async () => {
    const s = await scene();
    const res = await bucketCleanup(s.bkt, opts);
    expect(res.partial).toEqual([s.oldPartial]);
    expect(await bucketObjects(s.bkt, `${s.oldPartial}/`)).toEqual([]);
    expect(await bucketObjects(s.bkt, `${s.newPartial}/`)).toEqual([`${s.newPartial}/chunks/000001`, `${s.newPartial}/index`]);
  });

  it('a delete delay of 0 deletes every marked block, and a second run finds nothing', async () => {
    const s = await scene();
    const res = await bucketCleanup(s.bkt, { ...opts, deleteDelayMs: 0 });
    expect(res.deleted).toEqual([s.oldMarked, s.newMarked].sort());
    const again = await bucketCleanup(s.bkt, { ...opts, deleteDelayMs: 0 });
    expect(again).toEqual({ deleted: [], partial: [], failures: 0 });
    expect(await s.bkt.exists(`${s.unmarked}/meta.json`)).toBe(true);
  });

  it('finishes an interrupted delete (a deletion mark without meta.json) however young the ULID', async () => {
    const bkt = new FilesystemBucket(await tempDir('cleanup-interrupted'));
    const id = ulid(Date.now());
    await bkt.upload(`${id}/index`, Buffer.from('x'));
    await bkt.upload(`${id}/${DELETION_MARK_FILENAME}`, Buffer.from(JSON.stringify({ id, version: 1, deletion_time: Math.floor(Date.now() / 1000) })));
    const res = await bucketCleanup(bkt, opts);
    expect(res.deleted).toEqual([id]);
    expect(await bucketObjects(bkt)).toEqual([]);
  });

  it('dry run reports the same blocks and deletes nothing', async () => {
    const s = await scene();
    const before = await bucketObjects(s.bkt);
    const res = await bucketCleanup(s.bkt, { ...opts, dryRun: true });
    expect(res).toEqual({ deleted: [s.oldMarked], partial: [s.oldPartial], failures: 0 });
    expect(await bucketObjects(s.bkt)).toEqual(before);
  });
});
