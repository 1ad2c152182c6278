import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { FilesystemBucket, getBytes } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { nopLogger, UserError } from '@thanos-ts/runtime';
import { DELETION_MARK_FILENAME, NO_COMPACT_MARK_FILENAME, NO_DOWNSAMPLE_MARK_FILENAME, ulid } from '@thanos-ts/tsdb';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { bucketMark } from './bucket-mark.js';
import { bucketObjects, HOUR, putBlock } from './tools-fixture.js';

afterAll(removeTempDirs);

const T0 = Date.UTC(2024, 0, 1);

let bkt: Bucket;
let id: string;

beforeEach(async () => {
  bkt = new FilesystemBucket(await tempDir('mark-bkt'));
  id = (await putBlock(bkt, await tempDir('mark-work'), T0, T0 + 2 * HOUR)).ulid;
});

async function markerText(name: string): Promise<string> {
  return Buffer.from(await getBytes(bkt, name)).toString('utf8');
}

function mark(marker: string, over: { ids?: string[]; details?: string; remove?: boolean } = {}): Promise<string[]> {
  return bucketMark(bkt, { ids: over.ids ?? [id], marker, details: over.details ?? 'operator says so', remove: over.remove ?? false, logger: nopLogger() });
}

describe('bucketMark', () => {
  it('writes deletion-mark.json with Thanos\' fields, compact as json.Marshal writes them', async () => {
    const before = Math.floor(Date.now() / 1000);
    expect(await mark(DELETION_MARK_FILENAME, { details: 'bad "data"' })).toEqual([id]);
    const after = Math.floor(Date.now() / 1000);
    const text = await markerText(`${id}/${DELETION_MARK_FILENAME}`);
    expect(text).toMatch(new RegExp(`^\\{"id":"${id}","version":1,"details":"bad \\\\"data\\\\"","deletion_time":\\d+\\}$`));
    const m = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(m)).toEqual(['id', 'version', 'details', 'deletion_time']);
    expect(m.deletion_time).toBeGreaterThanOrEqual(before);
    expect(m.deletion_time).toBeLessThanOrEqual(after);
  });

  it('writes no-compact-mark.json with reason "manual"', async () => {
    const before = Math.floor(Date.now() / 1000);
    expect(await mark(NO_COMPACT_MARK_FILENAME, { details: 'too big' })).toEqual([id]);
    const m = JSON.parse(await markerText(`${id}/${NO_COMPACT_MARK_FILENAME}`)) as Record<string, unknown>;
    expect(Object.keys(m)).toEqual(['id', 'version', 'details', 'no_compact_time', 'reason']);
    expect(m).toMatchObject({ id, version: 1, details: 'too big', reason: 'manual' });
    expect(m.no_compact_time).toBeGreaterThanOrEqual(before);
    expect(m.no_compact_time).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it('writes no-downsample-mark.json with reason "manual"', async () => {
    expect(await mark(NO_DOWNSAMPLE_MARK_FILENAME, { details: 'keep raw' })).toEqual([id]);
    const m = JSON.parse(await markerText(`${id}/${NO_DOWNSAMPLE_MARK_FILENAME}`)) as Record<string, unknown>;
    expect(Object.keys(m)).toEqual(['id', 'version', 'details', 'no_downsample_time', 'reason']);
    expect(m).toMatchObject({ id, version: 1, details: 'keep raw', reason: 'manual' });
    expect(typeof m.no_downsample_time).toBe('number');
  });

  it('marks several blocks and keeps an existing mark as it is', async () => {
    const other = (await putBlock(bkt, await tempDir('mark-work'), T0 + 2 * HOUR, T0 + 4 * HOUR, { ulidTime: Date.now() + 1 })).ulid;
    expect(await mark(NO_COMPACT_MARK_FILENAME, { details: 'first' })).toEqual([id]);
    const first = await markerText(`${id}/${NO_COMPACT_MARK_FILENAME}`);
    expect(await mark(NO_COMPACT_MARK_FILENAME, { ids: [id, other], details: 'second' })).toEqual([other]);
    expect(await markerText(`${id}/${NO_COMPACT_MARK_FILENAME}`)).toBe(first);
    expect(JSON.parse(await markerText(`${other}/${NO_COMPACT_MARK_FILENAME}`))).toMatchObject({ id: other, details: 'second' });
  });

  it('--remove deletes the marker and nothing else; a missing marker is not an error', async () => {
    const files = await bucketObjects(bkt);
    await mark(DELETION_MARK_FILENAME);
    await mark(NO_DOWNSAMPLE_MARK_FILENAME);
    expect(await mark(DELETION_MARK_FILENAME, { remove: true, details: '' })).toEqual([id]);
    expect(await bkt.exists(`${id}/${DELETION_MARK_FILENAME}`)).toBe(false);
    expect(await bkt.exists(`${id}/${NO_DOWNSAMPLE_MARK_FILENAME}`)).toBe(true);
    expect(await mark(NO_DOWNSAMPLE_MARK_FILENAME, { remove: true })).toEqual([id]);
    expect(await bucketObjects(bkt)).toEqual(files);
    expect(await mark(NO_COMPACT_MARK_FILENAME, { remove: true })).toEqual([]);
  });

  it('refuses an unknown marker, a bad ULID, no ID and empty details, writing nothing', async () => {
    const files = await bucketObjects(bkt);
    const refused = async (p: Promise<unknown>, msg: string): Promise<void> => {
      const err = await p.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toContain(msg);
    };
    await refused(mark('delete-me.json'), '--marker: unknown marker "delete-me.json"');
    await refused(mark('deletion-mark'), 'unknown marker');
    await refused(mark(DELETION_MARK_FILENAME, { ids: ['not-a-ulid'] }), '--id: invalid ULID "not-a-ulid"');
    // A bad ID anywhere in the list refuses the whole command before anything is marked.
    await refused(mark(DELETION_MARK_FILENAME, { ids: [id, `${id}X`] }), 'invalid ULID');
    await refused(mark(DELETION_MARK_FILENAME, { ids: [] }), '--id: at least one block ID is required');
    await refused(mark(DELETION_MARK_FILENAME, { details: '  ' }), '--details: required');
    expect(await bucketObjects(bkt)).toEqual(files);
  });

  it('refuses a block that is not in the bucket, writing no marker for it', async () => {
    const missing = ulid(Date.now() - HOUR);
    for (const marker of [DELETION_MARK_FILENAME, NO_COMPACT_MARK_FILENAME, NO_DOWNSAMPLE_MARK_FILENAME]) {
      const err = await mark(marker, { ids: [missing] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toBe(`block ${missing}: not found in the bucket (no meta.json)`);
    }
    expect(await bucketObjects(bkt, `${missing}/`)).toEqual([]);
  });
});
