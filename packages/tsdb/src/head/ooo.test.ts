// The head's out-of-order window (Prometheus 2.42 semantics): which samples are accepted
// out of order, refused as too old or as duplicates, and that queries through both
// queriers return the sorted union of in-order and OOO samples, each timestamp once.
import { describe, expect, it } from 'vitest';
import { labelsFromStrings, labelsToString } from '../labels/index.js';
import { MatchType, newMatcher } from '../matchers/index.js';
import { DuplicateSampleForTimestampError, OutOfOrderSampleError } from '../storage/index.js';
import { OutOfBoundsError, TooOldSampleError } from './errors.js';
import { Head } from './head.js';
import { selectAll, selectChunks } from './head-fixture.js';
import { OOOChunk } from './ooo-chunk.js';

const ALL = [newMatcher(MatchType.RE, '__name__', '.+')];
const A = labelsFromStrings('__name__', 'a');
const B = labelsFromStrings('__name__', 'b');
const HOUR = 3600_000;

async function commit(head: Head, samples: [typeof A, number, number][]): Promise<void> {
  const app = head.appender();
  for (const [ls, t, v] of samples) app.append(0, ls, t, v);
  await app.commit();
}

/** Seeded pseudo-random numbers, so a failure replays. */
function rand(seed: number): () => number {
  let x = seed;
  return () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 2 ** 32;
  };
}

describe('OOOChunk', () => {
  it('keeps samples sorted and refuses a timestamp it holds', () => {
    const c = new OOOChunk();
    for (const t of [50, 10, 30, 70, 20]) expect(c.insert(t, t * 2)).toBe(true);
    expect(c.insert(30, 1)).toBe(false);
    const it = c.toXor().iterator();
    const got: number[] = [];
    while (it.next()) got.push(it.atT());
    expect(got).toEqual([10, 20, 30, 50, 70]);
    expect(c.toXor(20, 50).numSamples()).toBe(3);
  });
});

describe('Head out-of-order window', () => {
  it('without a window refuses as before: out of order, out of bounds', async () => {
    const head = new Head({ chunkRange: 2 * HOUR });
    await commit(head, [[A, 10 * HOUR, 1]]);
    const app = head.appender();
    expect(() => app.append(0, A, 10 * HOUR - 1, 1)).toThrow(OutOfOrderSampleError);
    expect(() => app.append(0, A, 8 * HOUR, 1)).toThrow(OutOfBoundsError);
    await app.rollback();
  });

  it('accepts within the window, refuses older samples as too old', async () => {
    const head = new Head({ chunkRange: 2 * HOUR, outOfOrderTimeWindow: 3 * HOUR });
    await commit(head, [[A, 10 * HOUR, 1]]);
    const app = head.appender();
    // Older than the series' newest, and even below the appendable minimum (maxt - range/2).
    app.append(0, A, 10 * HOUR - 1000, 2);
    app.append(0, A, 7 * HOUR, 3);
    // A new series below the appendable minimum is out of order too.
    app.append(0, B, 8 * HOUR, 4);
    expect(() => app.append(0, A, 7 * HOUR - 1, 5)).toThrow(TooOldSampleError);
    expect(() => app.append(0, A, 10 * HOUR, 6)).toThrow(DuplicateSampleForTimestampError);
    await app.commit();
    expect(head.counters.tooOldSamples).toBe(1);
    expect(head.counters.outOfOrderSamplesAppended).toBe(3);
    expect(head.minOOOTime).toBe(7 * HOUR);
    expect(head.maxOOOTime).toBe(10 * HOUR - 1000);
    // In-order bounds are untouched by OOO samples.
    expect(head.minTime).toBe(10 * HOUR);
    expect(await selectAll(head, 0, 20 * HOUR, ALL)).toEqual([
      { labels: labelsToString(A), samples: [[7 * HOUR, 3], [10 * HOUR - 1000, 2], [10 * HOUR, 1]] },
      { labels: labelsToString(B), samples: [[8 * HOUR, 4]] },
    ]);
  });

  it('drops a duplicate OOO timestamp silently (first write wins), and the in-order sample wins over an OOO one', async () => {
    const head = new Head({ chunkRange: 2 * HOUR, outOfOrderTimeWindow: HOUR });
    await commit(head, [
      [A, 1000, 1],
      [A, 3000, 3],
    ]);
    await commit(head, [[A, 2000, 2]]);
    await commit(head, [[A, 2000, 20]]); // OOO duplicate: dropped, no error
    await commit(head, [[A, 1000, 10]]); // OOO at an in-order timestamp: kept apart, hidden by the in-order one
    expect(await selectAll(head, 0, 10_000, ALL)).toEqual([
      {
        labels: labelsToString(A),
        samples: [
          [1000, 1],
          [2000, 2],
          [3000, 3],
        ],
      },
    ]);
    const q = await head.chunkQuerier(0, 10_000);
    expect((await selectChunks(q, 0, 10_000, ALL))[0].samples).toEqual([
      [1000, 1],
      [2000, 2],
      [3000, 3],
    ]);
  });

  it('queries return the sorted union of in-order and OOO samples, each timestamp once, over many OOO chunks', async () => {
    const head = new Head({ chunkRange: 2 * HOUR, outOfOrderTimeWindow: 2 * HOUR, outOfOrderCapMax: 4 });
    const r = rand(7);
    const want = new Map<string, Map<number, number>>();
    const put = (name: string, t: number, v: number): void => {
      const m = want.get(name) ?? new Map<number, number>();
      want.set(name, m);
      if (!m.has(t)) m.set(t, v);
    };
    // In order: every 10s up to 1h, for both series.
    for (let t = 0; t <= HOUR; t += 10_000) {
      await commit(head, [
        [A, t, t],
        [B, t, -t],
      ]);
      put('a', t, t);
      put('b', t, -t);
    }
    // Out of order: random timestamps between, in random batches (some at in-order timestamps).
    for (let k = 0; k < 60; k++) {
      const batch: [typeof A, number, number][] = [];
      for (let j = 0; j < 5; j++) {
        const t = Math.floor(r() * 360) * 10_000 + (r() < 0.8 ? 5000 : 0);
        const ls = r() < 0.5 ? A : B;
        batch.push([ls, t, 1e6 + k * 10 + j]);
        const name = ls === A ? 'a' : 'b';
        // The in-order sample at an existing timestamp hides an OOO one; among OOO samples the first wins.
        put(name, t, 1e6 + k * 10 + j);
      }
      const app = head.appender();
      for (const [ls, t, v] of batch) app.append(0, ls, t, v);
      await app.commit();
    }
    const expectedFor = (mint: number, maxt: number): { labels: string; samples: [number, number][] }[] =>
      ['a', 'b']
        .map((name) => ({
          labels: labelsToString(labelsFromStrings('__name__', name)),
          samples: [...want.get(name)!.entries()].filter(([t]) => t >= mint && t <= maxt).sort((x, y) => x[0] - y[0]),
        }))
        .filter((d) => d.samples.length > 0);
    for (const [mint, maxt] of [
      [0, HOUR],
      [600_000, 1_200_000],
      [1_234_567, 1_234_999],
    ]) {
      // As a block querier's, a series whose chunks overlap the range may have no sample in it.
      expect((await selectAll(head, mint, maxt, ALL)).filter((d) => d.samples.length > 0)).toEqual(expectedFor(mint, maxt));
      // Whole chunks overlapping the range: cut to the range to compare.
      const q = await head.chunkQuerier(mint, maxt);
      const got = (await selectChunks(q, mint, maxt, ALL)).map((d) => ({ ...d, samples: d.samples.filter(([t]) => t >= mint && t <= maxt) }));
      expect(got.filter((d) => d.samples.length > 0)).toEqual(expectedFor(mint, maxt));
    }
    // More than one OOO chunk per series, some overlapping.
    const s = head.seriesByRef(head.getRef(A))!;
    expect(s.ooo!.closed.length).toBeGreaterThan(2);
  });

  it('a series with only OOO samples survives in-order truncation, and truncateOOO drops what was written', async () => {
    const head = new Head({ chunkRange: 2 * HOUR, outOfOrderTimeWindow: 4 * HOUR });
    await commit(head, [[A, 5 * HOUR, 1]]);
    await commit(head, [[B, 3 * HOUR, 2]]); // below the appendable minimum: OOO
    expect(head.truncate(5 * HOUR)).toEqual([]);
    expect(head.getRef(B)).not.toBe(0);
    const refB = head.getRef(B);
    for (const s of head.memSeries()) s.ooo?.closeHead();
    const maxSeq = head.nextOOOChunkSeq();
    expect(head.truncateOOO(maxSeq)).toEqual([refB]);
    expect(head.getRef(B)).toBe(0);
    expect(head.minOOOTime).toBe(Infinity);
    expect(await selectAll(head, 0, 10 * HOUR, ALL)).toEqual([{ labels: labelsToString(A), samples: [[5 * HOUR, 1]] }]);
  });

  it('logs accepted OOO samples to the WBL hook, after the WAL', async () => {
    const log: string[] = [];
    const head = new Head({
      outOfOrderTimeWindow: HOUR,
      wal: { logSeries: () => void log.push('series'), logSamples: (s) => void log.push(`wal ${s.map((x) => x.t).join(',')}`) },
      wbl: { logSamples: (s) => void log.push(`wbl ${s.map((x) => x.t).join(',')}`) },
    });
    await commit(head, [[A, 5000, 1]]);
    await commit(head, [
      [A, 6000, 1],
      [A, 4000, 1],
      [A, 4000, 2], // duplicate OOO timestamp in the same commit: dropped
    ]);
    expect(log).toEqual(['series', 'wal 5000', 'wal 6000,4000,4000', 'wbl 4000']);
  });

  it('fails the commit when the WBL write fails (the samples are in memory already)', async () => {
    const head = new Head({
      outOfOrderTimeWindow: HOUR,
      wbl: {
        logSamples: () => {
          throw new Error('disk full');
        },
      },
    });
    await commit(head, [[A, 5000, 1]]);
    await expect(commit(head, [[A, 4000, 1]])).rejects.toThrow('write to WBL: disk full');
  });
});
