// Byte compatibility of wlog + record with the real Prometheus 2.42:
//  (1) Prometheus started on a data dir whose wal/ we wrote (plain and snappy-compressed,
//      records fragmented over pages and segments) serves every sample we logged;
//  (2) we replay the WAL Prometheus wrote while scraping itself: the series and samples
//      we decode are what its API returns after it replays the same WAL; rewriting its
//      first segment's records with our WL gives the same bytes;
//  (3) after a torn tail is repaired, Prometheus starts on the dir and serves exactly the
//      records before the tear.
import { readFile, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, startPrometheus, tempDir, waitFor } from '@thanos-ts/testutil';
import { isStaleNaN } from '../chunkenc/float-bits.js';
import { labelsFromRecord, labelsKey, type Labels } from '../labels/labels.js';
import { decodeSamples, decodeSeries, encodeSamples, encodeSeries, RecordType, recordType, type RefSample } from '../record/record.js';
import { listSegments, readRecords, repair, segmentName, WAL_PAGE_SIZE, WL } from './index.js';

afterAll(removeTempDirs);

interface ApiSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

async function queryMatrix(url: string, query: string, time: number): Promise<ApiSeries[]> {
  const u = new URL('/api/v1/query', url);
  u.searchParams.set('query', query);
  u.searchParams.set('time', String(time / 1000));
  const res = await fetch(u);
  const body = (await res.json()) as { status: string; data: { resultType: string; result: ApiSeries[] }; error?: string };
  if (body.status !== 'success') throw new Error(`query ${query}: ${body.error}`);
  expect(body.data.resultType).toBe('matrix');
  return body.data.result;
}

/** key → [t, v] sorted by t, from the API. */
function byKey(result: ApiSeries[]): Map<string, [number, number][]> {
  const m = new Map<string, [number, number][]>();
  for (const s of result) m.set(labelsKey(labelsFromRecord(s.metric)), s.values.map(([t, v]) => [Math.round(t * 1000), Number(v)]));
  return m;
}

const sameFloat = (a: number, b: number): boolean => a === b || (Number.isNaN(a) && Number.isNaN(b));

const NOW = Date.now();
const STEP = 15_000;
const N_SAMPLES = 40; // 10 minutes of 15 s samples, ending a minute ago
const T0 = NOW - 60_000 - N_SAMPLES * STEP;

/** Three named series plus `bulk` series with long label values (a series record > 32 KiB). */
function makeSeries(bulk: number): { ref: number; labels: Labels }[] {
  const out = [
    { ref: 1, labels: labelsFromRecord({ __name__: 'wal_test', kind: 'counter' }) },
    { ref: 2, labels: labelsFromRecord({ __name__: 'wal_test', kind: 'gauge' }) },
    { ref: 7, labels: labelsFromRecord({ __name__: 'wal_test_other', job: 'x' }) },
  ];
  for (let i = 0; i < bulk; i++) {
    out.push({ ref: 100 + i, labels: labelsFromRecord({ __name__: 'wal_test_bulk', i: String(i), pad: 'p'.repeat(100) }) });
  }
  return out;
}

function valueOf(ref: number, k: number): number {
  if (ref === 1) return k * 10;
  if (ref === 2) return Math.sin(k) * 1e6 + 0.125;
  if (ref === 7) return -k / 3;
  return ref * 1000 + k;
}

describe('Prometheus 2.42 reads a WAL we wrote', () => {
  for (const compress of [false, true]) {
    it(`serves every sample (compress=${compress})`, async () => {
      const dataDir = await tempDir('wal-ours');
      const series = makeSeries(500);
      // Small segments: records of every kind end up spread over several segments.
      const w = await WL.open(join(dataDir, 'wal'), { segmentSize: 4 * WAL_PAGE_SIZE, compress });
      await w.log(encodeSeries(series));
      // The named series: one record each over all their samples (time deltas grow).
      for (const s of series.slice(0, 3)) {
        await w.log(encodeSamples(Array.from({ length: N_SAMPLES }, (_, k) => ({ ref: s.ref, t: T0 + k * STEP, v: valueOf(s.ref, k) }))));
      }
      for (let k = 0; k < N_SAMPLES; k++) {
        const samples: RefSample[] = series.slice(3).map((s) => ({ ref: s.ref, t: T0 + k * STEP, v: valueOf(s.ref, k) }));
        // Even steps in descending ref order (negative ref deltas); odd steps split in two
        // records, to vary record sizes.
        if (k % 2 === 1) await w.log(encodeSamples(samples.slice(0, 250)), encodeSamples(samples.slice(250)));
        else await w.log(encodeSamples(samples.reverse()));
      }
      await w.close();
      expect((await listSegments(join(dataDir, 'wal'))).length).toBeGreaterThan(1);

      const prom = await startPrometheus({ dataDir, scrapeSelf: false, extraArgs: [compress ? '--storage.tsdb.wal-compression' : '--no-storage.tsdb.wal-compression'] });
      try {
        const at = NOW;
        const got = byKey(await queryMatrix(prom.url, '{__name__=~"wal_test|wal_test_other"}[15m]', at));
        expect(got.size).toBe(3);
        for (const s of series.slice(0, 3)) {
          const want = Array.from({ length: N_SAMPLES }, (_, k): [number, number] => [T0 + k * STEP, valueOf(s.ref, k)]);
          expect(got.get(labelsKey(s.labels)), labelsKey(s.labels)).toEqual(want);
        }
        const bulk = await queryMatrix(prom.url, 'wal_test_bulk[15m]', at);
        expect(bulk.length).toBe(500);
        for (const s of bulk) {
          const ref = 100 + Number(s.metric.i);
          expect(s.metric.pad).toBe('p'.repeat(100));
          expect(s.values.map(([t, v]) => [Math.round(t * 1000), Number(v)])).toEqual(
            Array.from({ length: N_SAMPLES }, (_, k) => [T0 + k * STEP, valueOf(ref, k)]),
          );
        }
      } finally {
        await prom.stop();
      }
    }, 120_000);
  }
});

describe('we replay a WAL Prometheus 2.42 wrote', () => {
  it('decodes the series and samples its API returns, and rewrites its segment to the same bytes', async () => {
    const dataDir = await tempDir('wal-prom');
    // Scrape itself every 200 ms until 15 scrapes are in, then stop cleanly. (The scrape
    // manager starts its targets up to 5 s after start.)
    const prom = await startPrometheus({ dataDir, scrapeInterval: '200ms', extraArgs: ['--storage.tsdb.wal-compression'] });
    try {
      await waitFor(
        async () => {
          const r = await queryMatrix(prom.url, 'up[1m]', Date.now());
          return r.length === 1 && r[0].values.length >= 15;
        },
        { timeoutMs: 30_000, intervalMs: 200, what: '15 scrapes' },
      );
    } finally {
      await prom.stop();
    }

    const walDir = join(dataDir, 'wal');
    const labels = new Map<number, Labels>();
    const samples = new Map<number, [number, number][]>();
    let maxT = 0;
    const types = new Set<RecordType>();
    const raw: Uint8Array[] = [];
    for await (const rec of readRecords(walDir)) {
      raw.push(rec);
      types.add(recordType(rec));
      if (recordType(rec) === RecordType.Series) {
        for (const s of decodeSeries(rec)) labels.set(s.ref, s.labels);
      } else if (recordType(rec) === RecordType.Samples) {
        for (const s of decodeSamples(rec)) {
          expect(labels.has(s.ref)).toBe(true); // series records come first
          if (isStaleNaN(s.v)) continue; // range selectors never return stale markers
          let l = samples.get(s.ref);
          if (!l) samples.set(s.ref, (l = []));
          l.push([s.t, s.v]);
          maxT = Math.max(maxT, s.t);
        }
      }
    }
    expect(types).toContain(RecordType.Series);
    expect(types).toContain(RecordType.Samples);
    expect(labels.size).toBeGreaterThan(100);

    // Prometheus's first segment holds every record of this run (128 MiB segments), and
    // was padded on close; laying the same records out again must give the same bytes.
    // (With --storage.tsdb.wal-compression, so this also compares our snappy encoder with Go's.)
    const segs = await listSegments(walDir);
    expect(segs[0].index).toBe(0);
    const theirs = await readFile(segmentName(walDir, 0));
    expect(theirs[0] & 0x08).toBe(0x08); // its first record is snappy-compressed
    const again = await tempDir('wal-rewrite');
    const w = await WL.open(again, { compress: true });
    await w.log(...raw);
    await w.close();
    const ours = await readFile(segmentName(again, 0));
    expect(ours.length).toBe(theirs.length);
    expect(Buffer.compare(ours, theirs)).toBe(0);

    // Prometheus replays the same WAL (no scrape this time) and answers with the samples we decoded.
    const prom2 = await startPrometheus({ dataDir, scrapeSelf: false });
    try {
      const got = byKey(await queryMatrix(prom2.url, '{__name__=~".+"}[1h]', maxT + 1));
      const want = new Map<string, [number, number][]>();
      for (const [ref, l] of samples) want.set(labelsKey(labels.get(ref)!), l.sort((a, b) => a[0] - b[0]));
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [key, l] of want) {
        const g = got.get(key)!;
        expect(g.length, key).toBe(l.length);
        for (let i = 0; i < l.length; i++) {
          expect(g[i][0], key).toBe(l[i][0]);
          expect(sameFloat(g[i][1], l[i][1]), `${key} @${l[i][0]}: ${g[i][1]} vs ${l[i][1]}`).toBe(true);
        }
      }
      // Labels as decoded match the API's label sets exactly.
      for (const ref of samples.keys()) expect(got.has(labelsKey(labels.get(ref)!))).toBe(true);
    } finally {
      await prom2.stop();
    }
  }, 120_000);
});

describe('torn tail', () => {
  it('repair cuts to the last whole record; Prometheus starts on the result and serves exactly those records', async () => {
    const dataDir = await tempDir('wal-torn');
    const walDir = join(dataDir, 'wal');
    const series = makeSeries(200);
    const w = await WL.open(walDir);
    await w.log(encodeSeries(series));
    for (let k = 0; k < N_SAMPLES; k++) {
      await w.log(encodeSamples(series.map((s) => ({ ref: s.ref, t: T0 + k * STEP, v: valueOf(s.ref, k) }))));
    }
    await w.sync();
    const size = (await stat(segmentName(walDir, 0))).size;
    await w.close();
    // A crash in the middle of writing the last samples record (about 3.4 KiB): lose its last 1000 bytes.
    await truncate(segmentName(walDir, 0), size - 1000);

    const res = await repair(walDir);
    expect(res.repaired).toBe(true);
    const recs: Uint8Array[] = [];
    for await (const r of readRecords(walDir)) recs.push(r);
    expect(recs.length).toBe(1 + N_SAMPLES - 1);
    expect(decodeSamples(recs[recs.length - 1])[0].t).toBe(T0 + (N_SAMPLES - 2) * STEP);

    const prom = await startPrometheus({ dataDir, scrapeSelf: false });
    try {
      const got = byKey(await queryMatrix(prom.url, '{__name__=~"wal_test.*"}[15m]', NOW));
      expect(got.size).toBe(series.length);
      for (const s of series) {
        expect(got.get(labelsKey(s.labels))).toEqual(
          Array.from({ length: N_SAMPLES - 1 }, (_, k) => [T0 + k * STEP, valueOf(s.ref, k)]),
        );
      }
      expect(prom.logs()).not.toMatch(/repair/i);
    } finally {
      await prom.stop();
    }
  }, 120_000);
});
