import { describe, expect, it } from 'vitest';
import { rng } from '@thanos-ts/testutil';
import { isStaleNaN, STALE_NAN, ValueType } from '../chunkenc/index.js';
import { compareLabels, labelsFromStrings, labelsToString, type Labels } from '../labels/index.js';
import { MatchType, newMatcher, type Matcher } from '../matchers/index.js';
import { DuplicateSampleForTimestampError, OutOfOrderSampleError } from '../storage/index.js';
import { Head, type WalRecord, type WalSample, type WalSeries } from './head.js';
import { InvalidSampleError, OutOfBoundsError } from './errors.js';
import { computeChunkEndTime, rangeForTimestamp, type MemSeries } from './mem-series.js';
import { selectAll, selectChunks, type Dumped } from './head-fixture.js';

const H2 = 2 * 3600 * 1000;
const A = labelsFromStrings('__name__', 'up', 'job', 'a');
const B = labelsFromStrings('__name__', 'up', 'job', 'b');
const ALL = [newMatcher(MatchType.RE, '__name__', '.+')];

function chunkRanges(h: Head, ls: Labels): [number, number, number][] {
  const s = h.seriesByRef(h.getRef(ls)) as MemSeries;
  const out: [number, number, number][] = s.closed.map((c) => [c.mint, c.maxt, c.chunk.numSamples()]);
  if (s.head !== null) out.push([s.headMint, s.headMaxt, s.headCount]);
  return out;
}

describe('Head appender', () => {
  it('makes samples visible only on commit; rollback drops them', async () => {
    const h = new Head();
    const app = h.appender();
    const ref = app.append(0, A, 1000, 1);
    expect(ref).toBe(1);
    expect(app.append(ref, [], 2000, 2)).toBe(1);
    expect(await selectAll(h, 0, 10_000, ALL)).toEqual([]);
    await app.commit();
    expect(await selectAll(h, 0, 10_000, ALL)).toEqual([{ labels: labelsToString(A), samples: [[1000, 1], [2000, 2]] }]);
    expect(h.minTime).toBe(1000);
    expect(h.maxTime).toBe(2000);

    const app2 = h.appender();
    app2.append(0, A, 3000, 3);
    app2.append(0, B, 3000, 3);
    await app2.rollback();
    expect(await selectAll(h, 0, 10_000, ALL)).toEqual([{ labels: labelsToString(A), samples: [[1000, 1], [2000, 2]] }]);
    expect(h.maxTime).toBe(2000);
    // The appender is reusable after commit or rollback.
    app2.append(0, A, 3000, 3);
    await app2.commit();
    expect((await selectAll(h, 0, 10_000, ALL))[0].samples).toHaveLength(3);
  });

  it('refuses samples with Prometheus errors, accepts exact duplicates', async () => {
    const h = new Head({ chunkRange: H2 });
    const app = h.appender();
    app.append(0, A, 10 * H2, 1);
    await app.commit();

    const a2 = h.appender();
    const ooo = (() => {
      try {
        a2.append(0, A, 10 * H2 - 1, 1);
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(ooo).toBeInstanceOf(OutOfOrderSampleError);
    expect(ooo!.message.startsWith('out of order sample')).toBe(true);

    expect(() => a2.append(0, A, 10 * H2, 2)).toThrow(DuplicateSampleForTimestampError);
    expect(() => a2.append(0, A, 10 * H2, 2)).toThrow(/^duplicate sample for timestamp/);
    expect(a2.append(0, A, 10 * H2, 1)).toBe(1); // same value: silently accepted

    // Below max time - chunkRange/2: out of bounds, for new series too.
    expect(() => a2.append(0, B, 10 * H2 - H2 / 2 - 1, 1)).toThrow(OutOfBoundsError);
    expect(() => a2.append(0, B, 10 * H2 - H2 / 2 - 1, 1)).toThrow(/^out of bounds$/);
    a2.append(0, B, 10 * H2 - H2 / 2, 1); // exactly at the bound: fine
    await a2.commit();
    expect(await selectAll(h, 0, 100 * H2, ALL)).toEqual([
      { labels: labelsToString(A), samples: [[10 * H2, 1]] },
      { labels: labelsToString(B), samples: [[10 * H2 - H2 / 2, 1]] },
    ]);
    expect(h.counters.outOfOrderSamples).toBe(1);
    expect(h.counters.outOfBoundSamples).toBe(2);
    expect(h.counters.duplicateSamples).toBe(2);

    // Below minValidTime (set by truncation or the newest block).
    h.setMinValidTime(11 * H2);
    expect(() => h.appender().append(0, A, 11 * H2 - 1, 1)).toThrow(OutOfBoundsError);

    expect(() => h.appender().append(0, [], 12 * H2, 1)).toThrow(InvalidSampleError);
    expect(() => h.appender().append(0, [], 12 * H2, 1)).toThrow('empty labelset: invalid sample');
    expect(() => h.appender().append(0, [{ name: 'a', value: '' }], 12 * H2, 1)).toThrow('empty labelset');
    expect(() =>
      h.appender().append(
        0,
        [
          { name: 'a', value: '1' },
          { name: 'a', value: '2' },
        ],
        12 * H2,
        1,
      ),
    ).toThrow('label name "a" is not unique: invalid sample');
  });

  it('checks each sample against committed data only; later conflicts in a batch are dropped on commit', async () => {
    const h = new Head();
    const app = h.appender();
    app.append(0, A, 2000, 1);
    app.append(0, A, 1000, 1); // not yet out of order: nothing committed
    app.append(0, A, 2000, 5);
    await app.commit();
    expect((await selectAll(h, 0, 10_000, ALL))[0].samples).toEqual([[2000, 1]]);
    expect(h.counters.samplesAppended).toBe(1);
  });

  it('keeps the stale marker bit-exact', async () => {
    const h = new Head();
    const app = h.appender();
    app.append(0, A, 1000, 1);
    app.append(0, A, 2000, STALE_NAN);
    app.append(0, A, 3000, NaN);
    await app.commit();
    // Checked straight from the iterator: a plain JS array may quieten the NaN.
    const q = await h.querier(0, 10_000);
    for await (const s of q.select({ start: 0, end: 10_000 }, ALL)) {
      const it = s.iterator();
      expect(it.seek(2000)).toBe(ValueType.Float);
      expect(isStaleNaN(it.atF())).toBe(true);
      expect(it.next()).toBe(ValueType.Float);
      expect(Number.isNaN(it.atF()) && !isStaleNaN(it.atF())).toBe(true);
    }
    // A stale marker where a normal NaN is: different bits, so a conflicting duplicate.
    const a2 = h.appender();
    expect(() => a2.append(0, A, 3000, STALE_NAN)).toThrow(DuplicateSampleForTimestampError);
    for await (const cs of (await h.chunkQuerier(0, 10_000)).select({ start: 0, end: 10_000 }, ALL)) {
      const it = [...cs.chunks()][0].chunk.iterator();
      expect(it.seek(2000)).toBe(ValueType.Float);
      expect(isStaleNaN(it.atF())).toBe(true);
    }
  });
});

describe('Head chunk cutting', () => {
  it('cuts at 120 samples for regular scrapes and never crosses a chunk range boundary', async () => {
    const h = new Head({ chunkRange: H2 });
    const app = h.appender();
    // 15s scrapes from 1h to 5h: the first range is half full.
    for (let t = 3600_000; t < 5 * 3600_000; t += 15_000) app.append(0, A, t, t);
    await app.commit();
    const got = chunkRanges(h, A);
    expect(got).toEqual([
      [3600_000, 5385_000, 120],
      [5400_000, 7185_000, 120],
      [7200_000, 8985_000, 120],
      [9000_000, 10785_000, 120],
      [10800_000, 12585_000, 120],
      [12600_000, 14385_000, 120],
      [14400_000, 16185_000, 120],
      [16200_000, 17985_000, 120],
    ]);
    // The next sample reaches the open chunk's predicted end (18000 s).
    const a2 = h.appender();
    a2.append(0, A, 18_000_000, 1);
    await a2.commit();
    expect(chunkRanges(h, A).at(-1)).toEqual([18_000_000, 18_000_000, 1]);
    for (const [mint, maxt] of got) expect(rangeForTimestamp(mint, H2)).toBe(rangeForTimestamp(maxt, H2));
  });

  it('predicts chunk ends as computeChunkEndTime does', () => {
    // 30 samples 15 s apart from 0: the 2h range splits into 4 chunks of 30 min.
    expect(computeChunkEndTime(0, 29 * 15_000, H2)).toBe(1800_000);
    expect(computeChunkEndTime(1800_000, 1800_000 + 29 * 15_000, H2)).toBe(3600_000);
    // Few samples per range: no earlier cut than the range end.
    expect(computeChunkEndTime(0, 29 * 60_000, H2)).toBe(H2);
    expect(rangeForTimestamp(0, H2)).toBe(H2);
    expect(rangeForTimestamp(H2 - 1, H2)).toBe(H2);
    expect(rangeForTimestamp(H2, H2)).toBe(2 * H2);
  });

  it('cuts at the range boundary for sparse series, and at 240 samples when the rate rises', async () => {
    const h = new Head({ chunkRange: H2 });
    const app = h.appender();
    for (let t = 0; t < 3 * H2; t += 10 * 60_000) app.append(0, A, t, 1); // 12 per range
    // B: 30 samples a minute apart, then one every 100 ms: the prediction is far off.
    let t = 0;
    for (let i = 0; i < 30; i++, t += 60_000) app.append(0, B, t, i);
    for (let i = 0; i < 300; i++, t += 100) app.append(0, B, t, i);
    await app.commit();
    expect(chunkRanges(h, A)).toEqual([
      [0, H2 - 600_000, 12],
      [H2, 2 * H2 - 600_000, 12],
      [2 * H2, 3 * H2 - 600_000, 12],
    ]);
    const b = chunkRanges(h, B);
    expect(b[0][2]).toBe(240);
    expect(b[1][2]).toBe(90);
  });
});

describe('Head querier', () => {
  it('equals a naive reference over random appends, for matchers of every kind', async () => {
    const r = rng(42);
    const h = new Head({ chunkRange: 100_000 });
    const names = ['job', 'instance', 'env', 'x'];
    const values = ['', 'a', 'b', 'ab', 'ba', 'c1', 'ü'];
    // reference: all series ever created (label lookups see them), committed samples per series
    const created = new Map<string, Labels>();
    const committed = new Map<string, { labels: Labels; samples: [number, number][] }>();
    const lastT = new Map<string, number>();
    const randomLabels = (): Labels => {
      const rec: [string, string][] = [['__name__', r() < 0.5 ? 'm1' : 'm2']];
      for (const n of names) {
        const v = values[Math.floor(r() * values.length)];
        if (v !== '') rec.push([n, v]);
      }
      return labelsFromStrings(...rec.flat());
    };
    const pool = Array.from({ length: 60 }, randomLabels);
    let now = 0;
    for (let batch = 0; batch < 80; batch++) {
      const app = h.appender();
      const pending: [string, Labels, number, number][] = [];
      const batchLast = new Map<string, number>();
      for (let i = 0; i < 30; i++) {
        const ls = pool[Math.floor(r() * pool.length)];
        const k = labelsToString(ls);
        now += Math.floor(r() * 500);
        const t = now;
        const v = Math.round(r() * 1000) / 10;
        const prev = lastT.get(k) ?? -Infinity;
        if (t <= prev || t <= (batchLast.get(k) ?? -Infinity)) continue;
        app.append(0, ls, t, v);
        created.set(k, ls);
        batchLast.set(k, t);
        pending.push([k, ls, t, v]);
      }
      if (r() < 0.2) {
        await app.rollback();
        continue;
      }
      await app.commit();
      for (const [k, ls, t, v] of pending) {
        let e = committed.get(k);
        if (e === undefined) committed.set(k, (e = { labels: ls, samples: [] }));
        e.samples.push([t, v]);
        lastT.set(k, t);
      }
    }
    const matcherCases: Matcher[][] = [
      [newMatcher(MatchType.EQ, '__name__', 'm1')],
      [newMatcher(MatchType.EQ, 'job', 'a'), newMatcher(MatchType.NEQ, 'env', 'b')],
      [newMatcher(MatchType.EQ, 'job', '')],
      [newMatcher(MatchType.NEQ, 'job', '')],
      [newMatcher(MatchType.RE, 'instance', 'a.*')],
      [newMatcher(MatchType.RE, 'instance', 'a|ba|')],
      [newMatcher(MatchType.NRE, 'env', 'a|b')],
      [newMatcher(MatchType.NRE, 'env', '.+')],
      [newMatcher(MatchType.RE, 'x', '.+'), newMatcher(MatchType.NEQ, '__name__', 'm2')],
      [newMatcher(MatchType.RE, 'x', '.*'), newMatcher(MatchType.EQ, 'env', 'ü')],
      [newMatcher(MatchType.NRE, 'job', '.*')],
      [newMatcher(MatchType.EQ, 'nope', 'a')],
      [newMatcher(MatchType.NEQ, 'nope', 'a')],
    ];
    const ranges: [number, number][] = [
      [-Infinity, Infinity],
      [0, now / 2],
      [now / 3, (2 * now) / 3],
      [now - 1000, now + 5],
    ];
    for (const ms of matcherCases) {
      const sel = (ls: Labels): boolean => ms.every((m) => m.matches(ls.find((l) => l.name === m.name)?.value ?? ''));
      for (const [mint, maxt] of ranges) {
        const want: Dumped[] = [...committed.values()]
          .filter((e) => sel(e.labels))
          .sort((a, b) => compareLabels(a.labels, b.labels))
          .map((e) => ({ labels: labelsToString(e.labels), samples: e.samples.filter(([t]) => t >= mint && t <= maxt) }))
          .filter((e) => e.samples.length > 0);
        const got = await selectAll(h, mint, maxt, ms);
        // A chunk overlapping the range with no sample inside it yields an empty series, as
        // a block querier does; compare the non-empty ones and check the rest are empty.
        expect(got.filter((g) => g.samples.length > 0)).toEqual(want);
        const chunked = await selectChunks(await h.chunkQuerier(mint, maxt), mint, maxt, ms);
        expect(chunked.map((c) => ({ labels: c.labels, samples: c.samples.filter(([t]) => t >= mint && t <= maxt) })).filter((c) => c.samples.length > 0)).toEqual(want);
      }
      const sets = [...created.values()].filter(sel);
      const q = await h.querier(-Infinity, Infinity);
      const wantNames = [...new Set(sets.flatMap((ls) => ls.map((l) => l.name)))].sort();
      expect(await q.labelNames(ms)).toEqual(wantNames);
      for (const n of ['job', 'env', '__name__']) {
        const wantValues = [...new Set(sets.flatMap((ls) => ls.filter((l) => l.name === n).map((l) => l.value)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        expect(await q.labelValues(n, ms)).toEqual(wantValues);
      }
    }
    const q = await h.querier(-Infinity, Infinity);
    expect(await q.labelNames([])).toEqual(['__name__', ...names].sort());
    // Outside the head's range: nothing.
    const q2 = await h.querier(now + 10, now + 20);
    expect(await q2.labelNames([])).toEqual([]);
    expect(await q2.labelValues('job', [])).toEqual([]);
  });

  it('iterates with seek and keeps a captured series stable under later appends', async () => {
    const h = new Head();
    const app = h.appender();
    for (let t = 1; t <= 300; t++) app.append(0, A, t * 1000, t);
    await app.commit();
    const q = await h.querier(0, Infinity);
    const cq = await h.chunkQuerier(0, Infinity);
    const it0 = q.select({ start: 0, end: Infinity }, ALL)[Symbol.asyncIterator]();
    const s = (await it0.next()).value!;
    const cit = cq.select({ start: 0, end: Infinity }, ALL)[Symbol.asyncIterator]();
    const cs = (await cit.next()).value!;
    const a2 = h.appender();
    for (let t = 301; t <= 400; t++) a2.append(0, A, t * 1000, t);
    await a2.commit();
    const it = s.iterator();
    expect(it.seek(150_500)).toBe(ValueType.Float);
    expect(it.atT()).toBe(151_000);
    expect(it.seek(10)).toBe(ValueType.Float);
    expect(it.atT()).toBe(151_000);
    let n = 1;
    let last = 0;
    while (it.next() !== ValueType.None) {
      n++;
      last = it.atT();
    }
    expect(it.err()).toBeNull();
    expect(last).toBe(300_000);
    expect(n).toBe(150);
    let total = 0;
    for (const c of cs.chunks()) total += c.chunk.numSamples();
    expect(total).toBe(300);
    expect(s.iterator().seek(300_001)).toBe(ValueType.None);
  });
});

describe('Head truncate', () => {
  it('drops chunks before mint and series left without any; their refs are not reused', async () => {
    const h = new Head({ chunkRange: 1000 });
    const app = h.appender();
    for (let t = 0; t < 3000; t += 100) app.append(0, A, t, t);
    for (let t = 0; t < 900; t += 100) app.append(0, B, t, t);
    await app.commit();
    const refB = h.getRef(B);
    expect(h.numSeries).toBe(2);
    h.truncate(1000);
    expect(h.numSeries).toBe(1);
    expect(h.getRef(B)).toBe(0);
    expect(h.seriesLabels(refB)).toBeUndefined();
    expect(h.minTime).toBe(1000);
    expect(h.minValidTime).toBe(1000);
    const got = await selectAll(h, -Infinity, Infinity, ALL);
    expect(got).toHaveLength(1);
    expect(got[0].samples[0][0]).toBe(1000);
    expect(await (await h.querier(-Infinity, Infinity)).labelValues('job', [])).toEqual(['a']);
    const a2 = h.appender();
    expect(() => a2.append(0, B, 999, 1)).toThrow(OutOfBoundsError);
    const ref = a2.append(0, B, 2950, 1);
    expect(ref).toBeGreaterThan(refB);
    await a2.commit();
    expect(await (await h.querier(-Infinity, Infinity)).labelValues('job', [])).toEqual(['a', 'b']);
    // Truncating past everything empties the head.
    h.truncate(10_000);
    expect(h.numSeries).toBe(0);
    expect(await selectAll(h, -Infinity, Infinity, ALL)).toEqual([]);
  });
});

describe('Head WAL hooks and replay', () => {
  it('logs series then samples before samples become visible', async () => {
    const log: WalRecord[] = [];
    let release: () => void = () => {};
    let blocked = false;
    const h = new Head({
      wal: {
        logSeries: (series: WalSeries[]) => {
          log.push({ type: 'series', series: series.map((s) => ({ ...s })) });
        },
        logSamples: (samples: WalSample[]) => {
          log.push({ type: 'samples', samples: samples.map((s) => ({ ...s })) });
          if (!blocked) return;
          return new Promise<void>((resolve) => (release = resolve));
        },
      },
    });
    const app = h.appender();
    app.append(0, A, 1000, 1);
    app.append(0, B, 1000, 2);
    await app.commit();
    blocked = true;
    const a2 = h.appender();
    a2.append(h.getRef(A), A, 2000, 3);
    const done = a2.commit();
    await new Promise((r) => setImmediate(r));
    // Written ahead, not yet visible.
    expect(log.map((r) => r.type)).toEqual(['series', 'samples', 'samples']);
    expect((await selectAll(h, 0, 10_000, ALL))[0].samples).toEqual([[1000, 1]]);
    release();
    await done;
    expect((await selectAll(h, 0, 10_000, ALL))[0].samples).toEqual([
      [1000, 1],
      [2000, 3],
    ]);
    expect(log[0]).toEqual({ type: 'series', series: [{ ref: 1, labels: A }, { ref: 2, labels: B }] });

    // A failing WAL write fails the commit and leaves nothing visible.
    const bad = new Head({ wal: { logSeries: () => {}, logSamples: () => Promise.reject(new Error('disk full')) } });
    const a3 = bad.appender();
    a3.append(0, A, 1, 1);
    await expect(a3.commit()).rejects.toThrow('write to WAL: disk full');
    expect(await selectAll(bad, -Infinity, Infinity, ALL)).toEqual([]);
  });

  it('rebuilds an equal head from the records, skipping unknown refs', async () => {
    const r = rng(7);
    const log: WalRecord[] = [];
    const h = new Head({
      chunkRange: 50_000,
      wal: {
        logSeries: (series) => void log.push({ type: 'series', series: series.map((s) => ({ ...s })) }),
        logSamples: (samples) => void log.push({ type: 'samples', samples: samples.map((s) => ({ ...s })) }),
      },
    });
    const pool = Array.from({ length: 30 }, (_, i) => labelsFromStrings('__name__', 'm', 'i', String(i), 'g', String(i % 3)));
    let t = 0;
    for (let b = 0; b < 50; b++) {
      const app = h.appender();
      for (let i = 0; i < 40; i++) {
        t += 1 + Math.floor(r() * 100);
        app.append(0, pool[Math.floor(r() * pool.length)], t, r() < 0.05 ? STALE_NAN : r());
      }
      await app.commit();
    }
    log.push({ type: 'samples', samples: [{ ref: 999, t: t + 1, v: 1 }] });
    // A second series record for known labels under another ref: its samples go to the first.
    log.push({ type: 'series', series: [{ ref: 500, labels: pool[0] }] });
    log.push({ type: 'samples', samples: [{ ref: 500, t: t + 10, v: 5 }] });
    const ap = h.appender();
    ap.append(0, pool[0], t + 10, 5);
    await ap.commit();

    async function* stream(): AsyncGenerator<WalRecord> {
      yield* log;
    }
    const h2 = new Head({ chunkRange: 50_000 });
    const stats = await h2.replay(stream());
    expect(stats.unknownSeriesRefs).toBe(1);
    expect(stats.samples).toBe(h.counters.samplesAppended);
    const a = await selectAll(h, -Infinity, Infinity, ALL);
    const b = await selectAll(h2, -Infinity, Infinity, ALL);
    expect(b).toEqual(a);
    expect(h2.minTime).toBe(h.minTime);
    expect(h2.maxTime).toBe(h.maxTime);
    expect(h2.lastSeriesRef).toBe(500);
    expect(h2.getRef(pool[3])).toBe(h.getRef(pool[3]));
    // Same chunks, byte for byte.
    for (const ls of pool) {
      const s1 = h.seriesByRef(h.getRef(ls))!;
      const s2 = h2.seriesByRef(h2.getRef(ls))!;
      expect(s2.closed.map((c) => [c.mint, c.maxt, Buffer.from(c.chunk.bytes()).toString('hex')])).toEqual(
        s1.closed.map((c) => [c.mint, c.maxt, Buffer.from(c.chunk.bytes()).toString('hex')]),
      );
    }
    // New series continue after the highest replayed ref.
    expect(h2.appender().append(0, labelsFromStrings('new', 'x'), t + 20, 1)).toBe(501);
  });

  it('applies replayed tombstones to queries', async () => {
    const h = new Head();
    await h.replay([
      { type: 'series', series: [{ ref: 3, labels: A }] },
      { type: 'samples', samples: [1, 2, 3, 4].map((i) => ({ ref: 3, t: i * 1000, v: i })) },
      { type: 'tombstones', tombstones: [{ ref: 3, intervals: [{ mint: 2000, maxt: 3000 }] }] },
    ]);
    expect((await selectAll(h, -Infinity, Infinity, ALL))[0].samples).toEqual([
      [1000, 1],
      [4000, 4],
    ]);
    expect((await selectChunks(await h.chunkQuerier(-Infinity, Infinity), -Infinity, Infinity, ALL))[0].samples).toEqual([
      [1000, 1],
      [4000, 4],
    ]);
  });
});
