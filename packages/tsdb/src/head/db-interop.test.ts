// A DB directory is a Prometheus 2.42 data directory, both ways:
//  (1) Prometheus started on a directory our DB wrote (blocks + wal/ with a checkpoint and
//      later segments; closed cleanly or dropped as in a crash) serves every sample;
//  (2) our DB opens a directory Prometheus wrote while scraping itself (blocks, a
//      checkpoint and segments) and serves what Prometheus serves from it.
import { cp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, startPrometheus, tempDir, waitFor } from '@thanos-ts/testutil';
import { isStaleNaN } from '../chunkenc/float-bits.js';
import { labelsFromRecord, labelsFromStrings, labelsKey, type Labels } from '../labels/index.js';
import { MatchType, newMatcher } from '../matchers/index.js';
import { isValidUlid } from '../ulid/index.js';
import { ValueType } from '../chunkenc/index.js';
import { DB } from './db.js';

afterAll(removeTempDirs);

const ALL = [newMatcher(MatchType.RE, '__name__', '.+')];

interface ApiSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

async function queryMatrix(url: string, query: string, timeMs: number): Promise<Map<string, [number, number][]>> {
  const u = new URL('/api/v1/query', url);
  u.searchParams.set('query', query);
  u.searchParams.set('time', String(timeMs / 1000));
  const res = await fetch(u);
  const body = (await res.json()) as { status: string; data: { resultType: string; result: ApiSeries[] }; error?: string };
  if (body.status !== 'success') throw new Error(`query ${query}: ${body.error}`);
  const m = new Map<string, [number, number][]>();
  for (const s of body.data.result) m.set(labelsKey(labelsFromRecord(s.metric)), s.values.map(([t, v]) => [Math.round(t * 1000), Number(v)]));
  return m;
}

/** Every series of the DB, stale markers left out (range selectors never return them). */
async function dumpDB(db: DB): Promise<Map<string, [number, number][]>> {
  const q = await db.querier(-Infinity, Infinity);
  const m = new Map<string, [number, number][]>();
  for await (const s of q.select({ start: -Infinity, end: Infinity }, ALL)) {
    const it = s.iterator();
    const out: [number, number][] = [];
    while (it.next() !== ValueType.None) if (!isStaleNaN(it.atF())) out.push([it.atT(), it.atF()]);
    if (it.err() !== null) throw it.err();
    if (out.length > 0) m.set(labelsKey(s.labels), out);
  }
  await q.close();
  return m;
}

const sameFloat = (a: number, b: number): boolean => a === b || (Number.isNaN(a) && Number.isNaN(b));

function expectSameSeries(got: Map<string, [number, number][]>, want: Map<string, [number, number][]>): void {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [k, w] of want) {
    const g = got.get(k)!;
    expect(g.length, k).toBe(w.length);
    for (let i = 0; i < w.length; i++) {
      expect(g[i][0], k).toBe(w[i][0]);
      expect(sameFloat(g[i][1], w[i][1]), `${k} @${w[i][0]}: ${g[i][1]} vs ${w[i][1]}`).toBe(true);
    }
  }
}

describe('Prometheus 2.42 serves a DB directory we wrote', () => {
  for (const closed of [true, false]) {
    it(`blocks + checkpoint + segments, every sample (${closed ? 'closed' : 'crashed'})`, async () => {
      const NOW = Date.now();
      const STEP = 15_000;
      const T0 = Math.floor((NOW - 5 * 3600_000) / STEP) * STEP; // 5h: blocks are cut from the head
      const END = NOW - 60_000;
      const series: Labels[] = Array.from({ length: 40 }, (_, i) => labelsFromStrings('__name__', 'db_interop', 'i', String(i), 'job', i % 2 ? 'a' : 'b'));
      const dataDir = await tempDir('dbwal-ours');
      // Small compressed segments, so truncation has segments to checkpoint.
      const db = await DB.open(dataDir, { blockDuration: 30 * 60_000, autoCompact: false, wal: { segmentSize: 64 * 1024, compress: true } });
      const want = new Map<string, [number, number][]>();
      for (const ls of series) want.set(labelsKey(ls), []);
      const refs = new Array<number>(series.length).fill(0);
      for (let t = T0, k = 0; t <= END; t += STEP, k++) {
        const app = db.appender();
        series.forEach((ls, i) => {
          const v = i * 1000 + k + (i % 3 === 0 ? 0.5 : 0);
          refs[i] = app.append(refs[i], ls, t, v);
          want.get(labelsKey(ls))!.push([t, v]);
        });
        await app.commit();
        // Compact every simulated 10 minutes, as the background timer would.
        if (k % 40 === 39) await db.compact();
      }
      await db.compact();
      expect(db.blocks.length).toBeGreaterThanOrEqual(1);
      const walNames = await readdir(join(dataDir, 'wal'));
      expect(walNames.some((n) => /^checkpoint\.\d{8}$/.test(n))).toBe(true);
      const cpIndex = Math.max(...walNames.filter((n) => n.startsWith('checkpoint.')).map((n) => Number(n.slice(11))));
      const segs = walNames.filter((n) => /^\d{8}$/.test(n)).map(Number);
      expect(Math.min(...segs)).toBe(cpIndex + 1);
      expect(await dumpDB(db)).toEqual(want);
      if (closed) await db.close();

      const prom = await startPrometheus({ dataDir, scrapeSelf: false });
      try {
        const got = await queryMatrix(prom.url, 'db_interop[6h]', NOW);
        expectSameSeries(got, want);
        expect(prom.logs()).not.toMatch(/level=(error|warn).*(wal|WAL|checkpoint)/);
      } finally {
        await prom.stop();
      }
      if (!closed) await db.close();
    }, 180_000);
  }
});

describe('our DB serves a data directory Prometheus 2.42 wrote', () => {
  it('blocks, checkpoint and segments: what Prometheus serves from it', async () => {
    const dataDir = await tempDir('dbwal-prom');
    // 2 s blocks and 200 ms scrapes: within seconds of its first scrape Prometheus has cut
    // blocks and truncated its WAL behind a checkpoint (its truncateWAL needs four
    // truncations, one per head compaction, each starting a new segment).
    const prom = await startPrometheus({ dataDir, scrapeInterval: '200ms', blockDuration: '2s' });
    try {
      await waitFor(
        async () => {
          const names = await readdir(join(dataDir, 'wal'));
          const blocks = (await readdir(dataDir)).filter(isValidUlid);
          return blocks.length >= 2 && names.some((n) => /^checkpoint\.\d{8}$/.test(n));
        },
        { timeoutMs: 120_000, intervalMs: 500, what: 'prometheus blocks and a WAL checkpoint' },
      );
    } finally {
      await prom.stop();
    }

    // Our DB reads a copy, so Prometheus can be started on the original afterwards.
    const copy = await tempDir('dbwal-prom-copy');
    await cp(dataDir, copy, { recursive: true });
    const db = await DB.open(copy, { blockDuration: 2000, autoCompact: false });
    expect(db.blocks.length).toBeGreaterThanOrEqual(2);
    expect(db.walReplay!.samples).toBeGreaterThan(0);
    expect(db.walReplay!.repaired).toBeUndefined();
    const ours = await dumpDB(db);
    await db.close();
    let maxT = 0;
    for (const s of ours.values()) maxT = Math.max(maxT, s.at(-1)![0]);
    expect(ours.size).toBeGreaterThan(100);

    const prom2 = await startPrometheus({ dataDir, scrapeSelf: false });
    try {
      const theirs = await queryMatrix(prom2.url, '{__name__=~".+"}[1h]', maxT + 1);
      expectSameSeries(ours, theirs);
    } finally {
      await prom2.stop();
    }
  }, 240_000);
});
