import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemBucket, getBytes } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { nopLogger } from '@thanos-ts/runtime';
import { DELETION_MARK_FILENAME, parseDeletionMark } from '@thanos-ts/tsdb';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { bucketRetention } from './bucket-retention.js';
import { DAY, HOUR, MINUTE, putBlock } from './tools-fixture.js';

afterAll(removeTempDirs);

const RAW = 0;
const FIVE_MIN = 300_000;
const ONE_HOUR = 3_600_000;
const retention = { raw: 7 * DAY, fiveMinutes: 30 * DAY, oneHour: 365 * DAY };

/** A 2h block of the resolution whose maxTime is `age` before now (ULIDs in creation order). */
interface Spec {
  name: string;
  resolution: number;
  age: number;
}

// For each resolution: a block just past its retention (by a minute, more than the
// second precision Thanos compares at) and one just within it (by five: maxTime is
// rounded down to the minute, which ages a block by up to a minute more, and a loaded
// machine may take a while between making the scene and judging it).
const SPECS: Spec[] = [
  { name: 'raw-old', resolution: RAW, age: 7 * DAY + MINUTE },
  { name: 'raw-new', resolution: RAW, age: 7 * DAY - 5 * MINUTE },
  { name: '5m-old', resolution: FIVE_MIN, age: 30 * DAY + MINUTE },
  { name: '5m-new', resolution: FIVE_MIN, age: 30 * DAY - 5 * MINUTE },
  { name: '1h-old', resolution: ONE_HOUR, age: 365 * DAY + MINUTE },
  { name: '1h-new', resolution: ONE_HOUR, age: 365 * DAY - 5 * MINUTE },
  // Older than the raw retention but of a resolution kept longer.
  { name: '5m-past-raw-retention', resolution: FIVE_MIN, age: 8 * DAY },
];

async function scene(): Promise<{ bkt: Bucket; ids: Map<string, string> }> {
  const bkt = new FilesystemBucket(await tempDir('retention-bkt'));
  const work = await tempDir('retention-work');
  const now = Date.now();
  const ids = new Map<string, string>();
  for (const [i, s] of SPECS.entries()) {
    const maxt = Math.floor((now - s.age) / MINUTE) * MINUTE;
    const m = await putBlock(bkt, work, maxt - 2 * HOUR, maxt, { resolution: s.resolution, stepMs: 10 * MINUTE, ulidTime: now - HOUR + i });
    ids.set(s.name, m.ulid);
  }
  return { bkt, ids };
}

function marked(ids: Map<string, string>, names: string[]): string[] {
  return names.map((n) => ids.get(n)!).sort();
}

async function markedInBucket(bkt: Bucket, ids: Map<string, string>): Promise<string[]> {
  const out: string[] = [];
  for (const [name, id] of ids) if (await bkt.exists(`${id}/${DELETION_MARK_FILENAME}`)) out.push(name);
  return out.sort();
}

describe('bucketRetention', () => {
  it('marks for deletion exactly the blocks whose maxTime is older than now minus their resolution\'s retention', async () => {
    const { bkt, ids } = await scene();
    const res = await bucketRetention(bkt, { retention, consistencyDelayMs: 0, logger: nopLogger() });
    expect([...res].sort()).toEqual(marked(ids, ['raw-old', '5m-old', '1h-old']));
    expect(await markedInBucket(bkt, ids)).toEqual(['1h-old', '5m-old', 'raw-old']);
    const id = ids.get('raw-old')!;
    const mark = parseDeletionMark(await getBytes(bkt, `${id}/${DELETION_MARK_FILENAME}`));
    expect(mark.id).toBe(id);
    expect(mark.details).toMatch(/^block exceeding retention of \d+h0m0s$/);
    expect(Math.abs(mark.deletion_time - Date.now() / 1000)).toBeLessThan(60);
    // The marked blocks are left in place for the cleaner; nothing is deleted.
    expect(await bkt.exists(`${id}/meta.json`)).toBe(true);
  });

  it('a second run marks nothing more (marked blocks are no longer looked at)', async () => {
    const { bkt, ids } = await scene();
    await bucketRetention(bkt, { retention, consistencyDelayMs: 0, logger: nopLogger() });
    expect(await bucketRetention(bkt, { retention, consistencyDelayMs: 0, logger: nopLogger() })).toEqual([]);
    expect(await markedInBucket(bkt, ids)).toEqual(['1h-old', '5m-old', 'raw-old']);
  });

  it('a retention of 0 keeps that resolution forever', async () => {
    const { bkt, ids } = await scene();
    expect(await bucketRetention(bkt, { retention: { raw: 0, fiveMinutes: 0, oneHour: 0 }, consistencyDelayMs: 0, logger: nopLogger() })).toEqual([]);
    expect(await markedInBucket(bkt, ids)).toEqual([]);
    const res = await bucketRetention(bkt, { retention: { ...retention, raw: 0 }, consistencyDelayMs: 0, logger: nopLogger() });
    expect([...res].sort()).toEqual(marked(ids, ['5m-old', '1h-old']));
  });

  it('leaves blocks younger than the consistency delay alone', async () => {
    const { bkt, ids } = await scene();
    // The blocks' ULIDs are an hour old.
    expect(await bucketRetention(bkt, { retention, consistencyDelayMs: 2 * HOUR, logger: nopLogger() })).toEqual([]);
    expect(await markedInBucket(bkt, ids)).toEqual([]);
  });
});
