// The DB with an out-of-order window: OOO samples survive a crash through the WBL (a
// torn tail is cut), compaction writes them to blocks of their own with every sample
// stored once, and the WBL segments written to blocks are removed.
import { readdir, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { ValueType } from '../chunkenc/index.js';
import { labelsFromStrings, labelsToString, type Labels } from '../labels/index.js';
import { MatchType, newMatcher } from '../matchers/index.js';
import type { Queryable } from '../storage/index.js';
import { listSegments, segmentName } from '../wlog/index.js';
import { DB } from './db.js';
import { selectAll, selectChunks, type Dumped } from './head-fixture.js';
import { isOutOfOrderBlock, OUT_OF_ORDER_HINT } from './ooo-compact.js';

afterAll(removeTempDirs);

const ALL = [newMatcher(MatchType.RE, '__name__', '.+')];
const HOUR = 3600_000;
const series: Labels[] = Array.from({ length: 5 }, (_, i) => labelsFromStrings('__name__', 'ooo_db', 'i', String(i)));
const valueOf = (i: number, t: number): number => i * 1e9 + t / 1000;

/** Samples committed per series index, for the expected output. */
class Expected {
  readonly byI = series.map(() => new Set<number>());
  add(i: number, t: number): void {
    this.byI[i].add(t);
  }
  dumped(mint = -Infinity, maxt = Infinity): Dumped[] {
    return series
      .map((ls, i) => ({
        labels: labelsToString(ls),
        samples: [...this.byI[i]]
          .filter((t) => t >= mint && t <= maxt)
          .sort((a, b) => a - b)
          .map((t): [number, number] => [t, valueOf(i, t)]),
      }))
      .filter((d) => d.samples.length > 0)
      .sort((a, b) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0));
  }
}

async function commitAt(db: DB, exp: Expected, t: number, only?: number[]): Promise<void> {
  const app = db.appender();
  for (const i of only ?? series.map((_, k) => k)) {
    app.append(0, series[i], t, valueOf(i, t));
    exp.add(i, t);
  }
  await app.commit();
}

/** Every (series, timestamp) of a queryable, counted: a count above 1 is a sample stored twice. */
async function countSamples(q: Queryable, into: Map<string, number>): Promise<void> {
  const querier = await q.querier(-Infinity, Infinity);
  for await (const s of querier.select({ start: -Infinity, end: Infinity }, ALL)) {
    const it = s.iterator();
    while (it.next() !== ValueType.None) {
      const k = `${labelsToString(s.labels)}@${it.atT()}`;
      into.set(k, (into.get(k) ?? 0) + 1);
    }
  }
  await querier.close();
}

describe('DB with an out-of-order window', () => {
  it('replays OOO samples from the WBL after a crash', async () => {
    const dir = await tempDir('ooo-db-replay');
    const opts = { autoCompact: false, outOfOrderTimeWindow: HOUR, wal: { sync: 'always' as const } };
    const db = await DB.open(dir, opts);
    const exp = new Expected();
    for (let t = 600_000; t <= 1_200_000; t += 60_000) await commitAt(db, exp, t);
    // Out of order: between the in-order samples, and for series 4 older than its first sample.
    for (let t = 630_000; t < 1_200_000; t += 120_000) await commitAt(db, exp, t, [0, 1, 2]);
    await commitAt(db, exp, 300_000, [4]);
    expect((await stat(join(dir, 'wbl'))).isDirectory()).toBe(true);
    const before = await selectAll(db, -Infinity, Infinity, ALL);
    expect(before).toEqual(exp.dumped());

    // No close: as after kill -9.
    const db2 = await DB.open(dir, opts);
    expect(db2.wblReplay?.samples).toBe(5 * 3 + 1);
    expect(db2.wblReplay?.droppedSamples).toBe(0);
    expect(await selectAll(db2, -Infinity, Infinity, ALL)).toEqual(exp.dumped());
    expect(await selectChunks(await db2.chunkQuerier(-Infinity, Infinity), -Infinity, Infinity, ALL)).toEqual(exp.dumped());
    await db2.close();
  });

  it('does not replay twice a sample the WAL replay already appended in order', async () => {
    // A new series below the appendable minimum is out of order for the appender, but
    // the WAL replay (bounded by the last block's end only) appends it in order.
    const dir = await tempDir('ooo-db-replay-both');
    const opts = { autoCompact: false, outOfOrderTimeWindow: 4 * HOUR };
    const db = await DB.open(dir, opts);
    const exp = new Expected();
    await commitAt(db, exp, 3 * HOUR, [0]);
    await commitAt(db, exp, HOUR, [1]);
    expect(db.head.counters.outOfOrderSamplesAppended).toBe(1);
    await db.close();
    const db2 = await DB.open(dir, opts);
    expect(db2.wblReplay).toMatchObject({ samples: 0, droppedSamples: 1 });
    expect(await selectAll(db2, -Infinity, Infinity, ALL)).toEqual(exp.dumped());
    await db2.close();
  });

  it('cuts a torn WBL tail at the last whole record', async () => {
    const dir = await tempDir('ooo-db-torn');
    const opts = { autoCompact: false, outOfOrderTimeWindow: HOUR, wal: { sync: 'always' as const } };
    const db = await DB.open(dir, opts);
    const exp = new Expected();
    for (let t = 600_000; t <= 1_200_000; t += 60_000) await commitAt(db, exp, t);
    await commitAt(db, exp, 630_000);
    await commitAt(db, exp, 690_000);
    // The last commit's WBL record is torn: its samples are lost, the one before kept.
    const lost = new Expected();
    for (const [i, set] of exp.byI.entries()) for (const t of set) if (t !== 690_000) lost.add(i, t);
    const wbl = join(dir, 'wbl');
    const segs = await listSegments(wbl);
    const last = segmentName(wbl, segs[segs.length - 1].index);
    await truncate(last, (await stat(last)).size - 5);

    const db2 = await DB.open(dir, opts);
    expect(db2.wblReplay?.repaired).toBeDefined();
    expect(db2.wblReplay?.samples).toBe(5);
    expect(await selectAll(db2, -Infinity, Infinity, ALL)).toEqual(lost.dumped());
    // Appends go on after the repair and survive another restart.
    await commitAt(db2, lost, 750_000);
    await db2.close();
    const db3 = await DB.open(dir, opts);
    expect(db3.wblReplay?.repaired).toBeUndefined();
    expect(await selectAll(db3, -Infinity, Infinity, ALL)).toEqual(lost.dumped());
    await db3.close();
  });

  it('writes OOO samples to blocks of their own on compaction, each sample once, and truncates the WBL', async () => {
    const dir = await tempDir('ooo-db-compact');
    const opts = { autoCompact: false, blockDuration: 2 * HOUR, outOfOrderTimeWindow: 3.5 * HOUR };
    const db = await DB.open(dir, opts);
    const exp = new Expected();
    // In order every 5 min over [1h, 4h]: the head spans more than 1.5 * 2h.
    for (let t = HOUR; t <= 4 * HOUR + 300_000; t += 300_000) await commitAt(db, exp, t);
    // Out of order, in two block ranges: [0, 2h) and [2h, 4h); some below the head's first sample.
    for (let t = HOUR + 150_000; t < 4 * HOUR; t += 600_000) await commitAt(db, exp, t, [0, 2]);
    await commitAt(db, exp, 2_100_000, [3]); // exactly at head maxt - window: accepted
    const oooCount = db.head.counters.outOfOrderSamplesAppended;
    expect(oooCount).toBeGreaterThan(0);

    const written = await db.compact();
    const ooo = written.filter((b) => isOutOfOrderBlock(b.meta));
    expect(ooo.map((b) => [b.meta.minTime, b.meta.maxTime])).toEqual([
      [0, 2 * HOUR],
      [2 * HOUR, 4 * HOUR],
    ]);
    expect(ooo[0].meta.compaction.hints).toEqual([OUT_OF_ORDER_HINT]);
    expect(ooo.reduce((n, b) => n + (b.meta.stats.numSamples ?? 0), 0)).toBe(oooCount);
    expect(db.head.minOOOTime).toBe(Infinity);

    // Every sample once across blocks and head, and the merged query equals the union.
    const counts = new Map<string, number>();
    for (const b of db.blocks) await countSamples(b, counts);
    await countSamples(db.head, counts);
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    expect(counts.size).toBe(exp.byI.reduce((n, s) => n + s.size, 0));
    expect(await selectAll(db, -Infinity, Infinity, ALL)).toEqual(exp.dumped());
    // What the StoreAPI reads: chunks of overlapping blocks and the head merged, in order.
    expect(await selectChunks(await db.chunkQuerier(-Infinity, Infinity), -Infinity, Infinity, ALL)).toEqual(exp.dumped());

    // The WBL keeps only the segment started at compaction.
    const segs = await listSegments(join(dir, 'wbl'));
    expect(segs.length).toBe(1);

    // OOO samples after the compaction, then a restart: nothing comes back twice.
    await commitAt(db, exp, 3 * HOUR + 60_000, [1]);
    await db.close();
    const db2 = await DB.open(dir, opts);
    expect(db2.wblReplay?.samples).toBe(1);
    expect(await selectAll(db2, -Infinity, Infinity, ALL)).toEqual(exp.dumped());
    // OOO blocks do not bound the head: the lower bound is the in-order block's end.
    expect(db2.head.minValidTime).toBe(2 * HOUR);
    // One in-order block [1h, 2h) and the two OOO ones.
    expect(db2.blocks.map((b) => [b.minTime, b.maxTime, isOutOfOrderBlock(b.meta)])).toEqual([
      [0, 2 * HOUR, true],
      [HOUR, 2 * HOUR, false],
      [2 * HOUR, 4 * HOUR, true],
    ]);
    await db2.close();
  });

  it('flushHead writes the OOO samples too', async () => {
    const dir = await tempDir('ooo-db-flush');
    const db = await DB.open(dir, { autoCompact: false, outOfOrderTimeWindow: HOUR, wal: false });
    const exp = new Expected();
    await commitAt(db, exp, 100_000);
    await commitAt(db, exp, 50_000, [0]);
    await db.flushHead();
    expect(db.blocks.filter((b) => isOutOfOrderBlock(b.meta)).length).toBe(1);
    expect(db.head.minOOOTime).toBe(Infinity);
    expect(await selectAll(db, -Infinity, Infinity, ALL)).toEqual(exp.dumped());
    await db.close();
  });

  it('without a window creates no WBL and refuses out-of-order samples', async () => {
    const dir = await tempDir('ooo-db-off');
    const db = await DB.open(dir, { autoCompact: false });
    const exp = new Expected();
    await commitAt(db, exp, 100_000);
    const app = db.appender();
    expect(() => app.append(0, series[0], 50_000, 1)).toThrow(/out of order/);
    await app.rollback();
    await db.close();
    expect(await readdir(dir)).not.toContain('wbl');
  });
});
