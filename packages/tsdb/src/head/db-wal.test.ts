// The DB's WAL: a crash (the DB object dropped without close, a new one opened on the
// same directory) loses no committed sample and resurrects no uncommitted one; a torn
// tail is cut to the last whole record; block cuts checkpoint and truncate the WAL as
// Prometheus's truncateWAL does, and a reopen still yields every sample.
import { open, readdir, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@thanos-ts/runtime';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { labelsFromStrings, labelsToString, type Labels } from '../labels/index.js';
import { MatchType, newMatcher } from '../matchers/index.js';
import { listSegments, segmentName, WAL_PAGE_SIZE } from '../wlog/index.js';
import { DB } from './db.js';
import { selectAll, type Dumped } from './head-fixture.js';

afterAll(removeTempDirs);

const ALL = [newMatcher(MatchType.RE, '__name__', '.+')];
const series: Labels[] = Array.from({ length: 20 }, (_, i) => labelsFromStrings('__name__', 'wal_db', 'i', String(i), 'pad', 'x'.repeat(40)));
const valueOf = (i: number, t: number): number => i * 1e6 + t / 1000;

/** Expected query output for samples t in ts of every series. */
function expected(ts: number[], only?: (i: number, t: number) => boolean): Dumped[] {
  return series
    .map((ls, i) => ({ labels: labelsToString(ls), samples: ts.filter((t) => only?.(i, t) ?? true).map((t): [number, number] => [t, valueOf(i, t)]) }))
    .filter((d) => d.samples.length > 0)
    .sort((a, b) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0));
}

async function commitAt(db: DB, t: number): Promise<void> {
  const app = db.appender();
  series.forEach((ls, i) => app.append(0, ls, t, valueOf(i, t)));
  await app.commit();
}

describe('DB with a WAL', () => {
  it('a crash loses nothing committed; uncommitted and rolled-back samples stay gone', async () => {
    const dir = await tempDir('dbwal-crash');
    const db = await DB.open(dir, { autoCompact: false, wal: { sync: 'always' } });
    const committed: number[] = [];
    for (let t = 1000; t <= 100_000; t += 1000) {
      await commitAt(db, t);
      committed.push(t);
    }
    // Rolled back, and left pending (never committed), including a brand-new series.
    const rb = db.appender();
    rb.append(0, series[0], 200_000, 1);
    rb.append(0, labelsFromStrings('__name__', 'rolled_back'), 200_000, 1);
    await rb.rollback();
    const pending = db.appender();
    pending.append(0, series[1], 300_000, 1);
    pending.append(0, labelsFromStrings('__name__', 'never_committed'), 300_000, 1);
    // Deletes are logged too.
    await db.delete(10_000, 20_000, [newMatcher(MatchType.EQ, 'i', '3')]);
    const before = await selectAll(db, -Infinity, Infinity, ALL);
    expect(before).toEqual(expected(committed, (i, t) => i !== 3 || t < 10_000 || t > 20_000));

    // No close: a new DB on the same directory, as after kill -9.
    const db2 = await DB.open(dir, { autoCompact: false, wal: { sync: 'always' } });
    expect(await selectAll(db2, -Infinity, Infinity, ALL)).toEqual(before);
    expect(db2.walReplay).toMatchObject({ series: 20, samples: 2000, tombstones: 1, unknownSeriesRefs: 0 });
    expect(db2.walReplay!.repaired).toBeUndefined();
    // New series never reuse a ref the crashed process handed out.
    expect(db2.head.lastSeriesRef).toBeGreaterThanOrEqual(20);
    await commitAt(db2, 101_000);
    await db2.close();
    const db3 = await DB.open(dir, { autoCompact: false });
    expect(await selectAll(db3, -Infinity, Infinity, ALL)).toEqual(expected([...committed, 101_000], (i, t) => i !== 3 || t < 10_000 || t > 20_000));
    await db3.close();
    await pending.rollback();
    await db.close();
  });

  it('a WAL write that fails fails the commit, and the samples stay invisible', async () => {
    const dir = await tempDir('dbwal-fail');
    const db = await DB.open(dir, { autoCompact: false });
    await commitAt(db, 1000);
    await db.close(); // closes the WAL: later writes fail
    const app = db.appender();
    app.append(0, series[0], 2000, 1);
    await expect(app.commit()).rejects.toThrow(/write to WAL/);
    expect((await selectAll(db.head, -Infinity, Infinity, ALL))[0].samples).toEqual([[1000, valueOf(0, 1000)]]);
  });

  it('a torn tail is cut to the last whole record and the DB opens', async () => {
    const dir = await tempDir('dbwal-torn');
    const db = await DB.open(dir, { autoCompact: false, wal: { sync: 'always' } });
    const walDir = db.walDir!;
    const seg = (await listSegments(walDir)).at(-1)!.index;
    const ends: number[] = [];
    const committed: number[] = [];
    for (let t = 1000; t <= 50_000; t += 1000) {
      await commitAt(db, t);
      committed.push(t);
      ends.push((await stat(segmentName(walDir, seg))).size);
    }
    // The process died half-way through writing the last commit's record.
    const cutAt = ends[ends.length - 2] + Math.floor((ends[ends.length - 1] - ends[ends.length - 2]) / 2);
    await truncate(segmentName(walDir, seg), cutAt);

    let logged = '';
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb): void {
        logged += chunk.toString();
        cb();
      },
    });
    const db2 = await DB.open(dir, { autoCompact: false, logger: createLogger({ destination }) });
    expect(db2.walReplay!.repaired).toMatchObject({ segment: seg, offset: ends[ends.length - 2] });
    // One line says what was dropped, where.
    const warns = logged.split('\n').filter((l) => l.includes('level=warn'));
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatch(new RegExp(`segment=${seg} offset=${ends[ends.length - 2]} .*droppedBytes=${cutAt - ends[ends.length - 2]} .*cut at the last whole record`));
    expect(await selectAll(db2, -Infinity, Infinity, ALL)).toEqual(expected(committed.slice(0, -1)));
    // Appends go on after the repair, and survive another restart.
    await commitAt(db2, 60_000);
    await db2.close();
    const db3 = await DB.open(dir, { autoCompact: false });
    expect(db3.walReplay!.repaired).toBeUndefined();
    expect(await selectAll(db3, -Infinity, Infinity, ALL)).toEqual(expected([...committed.slice(0, -1), 60_000]));
    await db3.close();
    await db.close().catch(() => {});
  });

  it('block cuts leave a checkpoint and only later segments; a reopen yields every sample', async () => {
    const dir = await tempDir('dbwal-cut');
    const opts = { blockDuration: 60_000, autoCompact: false, wal: { segmentSize: WAL_PAGE_SIZE, compress: true } };
    const db = await DB.open(dir, opts);
    const ts: number[] = [];
    // 12 minutes of 5 s samples, compacting after each minute: blocks of one minute.
    // Series 19 stops after 2 minutes: gone from the head, and from the checkpoint later.
    for (let t = 0; t < 12 * 60_000; t += 5000) {
      const app = db.appender();
      series.forEach((ls, i) => {
        if (i !== 19 || t < 120_000) app.append(0, ls, t, valueOf(i, t));
      });
      await app.commit();
      ts.push(t);
      if (t % 60_000 === 55_000) await db.compact();
    }
    const want = expected(ts, (i, t) => i !== 19 || t < 120_000);
    expect(await selectAll(db, -Infinity, Infinity, ALL)).toEqual(want);
    expect(db.blocks.length).toBeGreaterThanOrEqual(9);

    const names = await readdir(db.walDir!);
    const cps = names.filter((n) => n.startsWith('checkpoint.'));
    expect(cps).toHaveLength(1);
    expect(cps[0]).toMatch(/^checkpoint\.\d{8}$/);
    const cpIndex = Number(cps[0].slice('checkpoint.'.length));
    const segs = (await listSegments(db.walDir!)).map((s) => s.index);
    expect(segs[0]).toBe(cpIndex + 1);

    // Crash, reopen: blocks + checkpoint + segments give every sample back.
    const db2 = await DB.open(dir, opts);
    expect(db2.walReplay!.unknownSeriesRefs).toBe(0);
    expect(await selectAll(db2, -Infinity, Infinity, ALL)).toEqual(want);
    // The head holds at most what was not cut into blocks.
    expect(db2.head.minTime).toBeGreaterThanOrEqual(db2.blocks.at(-1)!.maxTime);
    // The dropped series is not in the head after the replay.
    expect(db2.head.getRef(series[19])).toBe(0);
    await db2.close();
    await db.close();

    // A damaged checkpoint is not a torn tail: the open fails and says where.
    const cpSeg = segmentName(join(db.walDir!, cps[0]), 0);
    const fh = await open(cpSeg, 'r+');
    await fh.write(Buffer.from([0xff]), 0, 1, 20);
    await fh.close();
    await expect(DB.open(dir, opts)).rejects.toThrow(/checkpoint\.\d{8}/);
  });

  it('concurrent commits during background compactions: a crash loses none of them', async () => {
    const dir = await tempDir('dbwal-concurrent');
    const opts = { blockDuration: 10_000, wal: { segmentSize: WAL_PAGE_SIZE, sync: 'always' as const } };
    const db = await DB.open(dir, opts);
    const ts: number[] = [];
    for (let t = 0; t < 60_000; t += 100) {
      // Four writers, five series each, committing at once.
      await Promise.all(
        [0, 1, 2, 3].map(async (w) => {
          const app = db.appender();
          for (let i = w * 5; i < w * 5 + 5; i++) app.append(0, series[i], t, valueOf(i, t));
          await app.commit();
        }),
      );
      ts.push(t);
    }
    await db.compact();
    expect(db.blocks.length).toBeGreaterThan(3);
    expect((await readdir(db.walDir!)).some((n) => n.startsWith('checkpoint.'))).toBe(true);
    const db2 = await DB.open(dir, { ...opts, autoCompact: false });
    expect(await selectAll(db2, -Infinity, Infinity, ALL)).toEqual(expected(ts));
    await db2.close();
    await db.close();
  });

  it('runs without a WAL when told', async () => {
    const dir = await tempDir('dbwal-off');
    const db = await DB.open(dir, { autoCompact: false, wal: false });
    await commitAt(db, 1000);
    await db.close();
    expect(await readdir(dir)).not.toContain('wal');
    expect(db.walDir).toBeNull();
    const db2 = await DB.open(dir, { autoCompact: false, wal: false });
    expect(await selectAll(db2, -Infinity, Infinity, ALL)).toEqual([]);
    await db2.close();
  });
});


