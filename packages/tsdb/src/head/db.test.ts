import { readdir } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { dumpBlocks, removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { labelsFromStrings, labelsToString } from '../labels/index.js';
import { MatchType, newMatcher } from '../matchers/index.js';
import { isValidUlid } from '../ulid/index.js';
import { DB } from './db.js';
import { OutOfBoundsError } from './errors.js';
import { selectAll, selectChunks } from './head-fixture.js';

afterAll(removeTempDirs);

const H2 = 2 * 3600 * 1000;
const ALL = [newMatcher(MatchType.RE, '__name__', '.+')];
const A = labelsFromStrings('__name__', 'up', 'job', 'a');
const B = labelsFromStrings('__name__', 'up', 'job', 'b');

async function appendRange(db: DB, from: number, to: number, step: number): Promise<void> {
  for (let t = from; t < to; t += step * 20) {
    const app = db.appender();
    for (let u = t; u < Math.min(to, t + step * 20); u += step) {
      app.append(0, A, u, u / 1000);
      app.append(0, B, u, -u / 1000);
    }
    await app.commit();
  }
}

describe('DB', () => {
  it('cuts a block once the head spans 1.5 block durations, and serves queries across head and blocks', async () => {
    const dir = await tempDir('db-cut');
    const db = await DB.open(dir, { autoCompact: false });
    await appendRange(db, 0, 3 * 3600_000 + 1, 60_000); // exactly 1.5 × 2h: not yet
    expect(db.compactable()).toBe(false);
    expect(await db.compact()).toEqual([]);
    await appendRange(db, 3 * 3600_000 + 60_000, 3 * 3600_000 + 120_000, 60_000);
    expect(db.compactable()).toBe(true);
    const blocks = await db.compact();
    expect(blocks.map((b) => [b.meta.minTime, b.meta.maxTime])).toEqual([[0, H2]]);
    expect(db.blocks).toHaveLength(1);
    expect(db.head.minTime).toBe(H2);
    expect(db.head.minValidTime).toBe(H2);
    const all = await selectAll(db, -Infinity, Infinity, ALL);
    expect(all.map((s) => s.labels)).toEqual([labelsToString(A), labelsToString(B)]);
    expect(all[0].samples.map(([t]) => t)).toEqual(Array.from({ length: 3 * 60 + 2 }, (_, i) => i * 60_000));
    expect(all[1].samples[5]).toEqual([300_000, -300]);
    // Chunks too, through the merged chunk querier.
    const cq = await db.chunkQuerier(-Infinity, Infinity);
    expect((await selectChunks(cq, -Infinity, Infinity, ALL)).map((s) => s.samples.length)).toEqual([182, 182]);
    // The block is a Prometheus block with the first 2h; promtool reads the rest of the
    // head from our WAL.
    expect((await dumpBlocks(dir, { maxTime: H2 - 1 })).map((d) => d.samples.length)).toEqual([120, 120]);
    expect((await dumpBlocks(dir)).map((d) => d.samples.length)).toEqual([182, 182]);
    // Nothing goes into the persisted range any more.
    expect(() => db.appender().append(0, A, H2 - 1, 1)).toThrow(OutOfBoundsError);
    await db.close();

    // Reopen: the block is loaded, the head replayed from the WAL, bounded by the block.
    const db2 = await DB.open(dir, { autoCompact: false });
    expect(db2.blocks).toHaveLength(1);
    expect(() => db2.appender().append(0, A, H2 - 1, 1)).toThrow(OutOfBoundsError);
    expect((await selectAll(db2, 0, H2 - 1, ALL))[0].samples).toHaveLength(120);
    expect(db2.head.minTime).toBe(H2);
    expect(await selectAll(db2, -Infinity, Infinity, ALL)).toEqual(all);
    await db2.close();
  });

  it('compacts after commits on its own, and applies time retention', async () => {
    const dir = await tempDir('db-auto');
    const errors: Error[] = [];
    const db = await DB.open(dir, { blockDuration: 60_000, retention: 3 * 60_000, onCompactionError: (e) => errors.push(e) });
    for (let t = 0; t < 10 * 60_000; t += 1000) {
      const app = db.appender();
      app.append(0, A, t, t);
      await app.commit();
      await new Promise((r) => setImmediate(r));
    }
    await db.compact();
    expect(errors).toEqual([]);
    const dirs = (await readdir(dir)).filter(isValidUlid);
    expect(dirs.length).toBe(db.blocks.length);
    const ends = db.blocks.map((b) => b.maxTime);
    // Blocks 1 min each; head keeps > 1.5 min; those ending more than 3 min before the newest are gone.
    expect(Math.max(...ends) - Math.min(...ends)).toBeLessThanOrEqual(3 * 60_000);
    expect(db.blocks.every((b) => b.maxTime - b.minTime <= 60_000)).toBe(true);
    const s = await selectAll(db, -Infinity, Infinity, ALL);
    const ts = s[0].samples.map(([t]) => t);
    expect(ts.at(-1)).toBe(10 * 60_000 - 1000);
    expect(ts[0]).toBe(Math.min(...db.blocks.map((b) => b.minTime)));
    // Contiguous: no gap between blocks and head.
    for (let i = 1; i < ts.length; i++) expect(ts[i] - ts[i - 1]).toBe(1000);
    await db.close();
  });

  it('keeps blocks past retention that blocksToDelete holds back, and tells of each block written', async () => {
    const dir = await tempDir('db-keep');
    const written: string[] = [];
    let shipped = new Set<string>();
    const db = await DB.open(dir, {
      blockDuration: 60_000,
      retention: 60_000,
      autoCompact: false,
      blocksToDelete: async (candidates) => candidates.filter((m) => shipped.has(m.ulid)).map((m) => m.ulid),
      onBlocksWritten: (bs) => written.push(...bs.map((b) => b.meta.ulid)),
    });
    await appendRange(db, 0, 8 * 60_000, 1000);
    await db.compact();
    expect(written.length).toBeGreaterThanOrEqual(5);
    expect(db.blocks.map((b) => b.meta.ulid)).toEqual(written);
    // Once "shipped", the next compaction's retention deletes all but the newest two.
    shipped = new Set(written);
    await appendRange(db, 8 * 60_000, 9 * 60_000 + 30_000, 1000);
    await db.compact();
    const ends = db.blocks.map((b) => b.maxTime);
    expect(Math.max(...ends) - Math.min(...ends)).toBeLessThanOrEqual(60_000);
    await db.close();
  });

  it('flushes the whole head into a block', async () => {
    const dir = await tempDir('db-flush');
    const db = await DB.open(dir, { autoCompact: false });
    await appendRange(db, 1000, 100_000, 1000);
    const b = await db.flushHead();
    expect([b!.meta.minTime, b!.meta.maxTime]).toEqual([1000, 99_001]);
    expect(db.head.numSeries).toBe(0);
    expect((await selectAll(db, -Infinity, Infinity, ALL))[0].samples).toHaveLength(99);
    await db.close();
  });
});
