// A receiver that ships its blocks to a bucket (filesystem objstore) with one-minute
// blocks and a two-minute local retention, fed by a load generator whose samples go from
// 12 minutes ago to 1 minute ago (a client catching up after an outage): the blocks it
// cuts reach the bucket with source "receive" and the receiver's external labels plus
// tenant_id; once retention has dropped the old ones locally, a `thanos-ts store` over the
// bucket and a `thanos-ts query` over the store and the receiver return every
// acknowledged sample exactly once.
//
// The shipper runs at its default interval (30 s), as Thanos's receiver uploads every
// 30 s: blocks cut faster than that must wait for it, retention or not (Thanos's
// tenant.blocksToDelete keeps every block the shipper has not uploaded).

import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir, waitFor } from '@thanos-ts/testutil';
import { api } from './api.js';
import { startComponent } from './components.js';
import type { Component } from './components.js';
import { countSamples, LoadGenerator, receiverPorts, receiverProcess } from './receive-load.js';
import type { ReceiverProcess, SampleSet } from './receive-load.js';

const TENANT = 'default-tenant';
const MINUTE = 60_000;
const BLOCK = MINUTE;
const RETENTION = 2 * MINUTE;
/** Sample time one request advances by. */
const STEP = 5000;

const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

let bucketDir: string;
let objstore: string;
let tsdbDir: string;
let recv: ReceiverProcess;
const components: Component[] = [];

beforeAll(async () => {
  bucketDir = await tempDir('receive-bucket');
  objstore = join(await tempDir('receive-bucket-config'), 'objstore.yml');
  await writeFile(objstore, `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`);
  tsdbDir = await tempDir('receive-bucket-tsdb');
  recv = receiverProcess(await receiverPorts(), [
    '--tsdb.path', tsdbDir,
    '--label', 'receive_replica="0"',
    '--objstore.config-file', objstore,
    '--tsdb.block-duration', '1m',
    '--tsdb.retention', '2m',
  ]);
  await recv.start();
}, 60_000);

afterAll(async () => {
  for (const c of components.reverse()) await c.stop();
  await recv?.kill();
  await removeTempDirs();
});

interface Meta {
  ulid: string;
  minTime: number;
  maxTime: number;
  thanos: { labels: Record<string, string>; source: string; downsample: { resolution: number } };
}

async function bucketBlocks(): Promise<Meta[]> {
  const out: Meta[] = [];
  for (const n of await readdir(bucketDir)) {
    if (!ULID_RE.test(n)) continue;
    try {
      out.push(JSON.parse(await readFile(join(bucketDir, n, 'meta.json'), 'utf8')) as Meta);
    } catch {
      // meta.json is uploaded last: not there yet
    }
  }
  return out.sort((a, b) => a.minTime - b.minTime);
}

async function localBlocks(): Promise<string[]> {
  return (await readdir(join(tsdbDir, TENANT))).filter((n) => ULID_RE.test(n));
}

describe('receive with a bucket', () => {
  it('ships the blocks it cuts, drops them locally after retention, and store + receiver serve every acknowledged sample once', async () => {
    const t0 = Date.now();
    const first = Math.floor((t0 - 12 * MINUTE) / BLOCK) * BLOCK + 250;
    // One lane: a series' samples go in order, and the block cuts never refuse a late one.
    const loadUntil = async (from: number, until: number): Promise<SampleSet> => {
      const load = new LoadGenerator([recv.rw], {
        metric: 'ring_bucket',
        lanes: 1,
        seriesPerLane: 20,
        // Fast, as a client catching up after an outage: blocks are cut a few hundred ms apart.
        intervalMs: 20,
        nextTimestamp: (last) => (last === -Infinity ? from : last + STEP),
        until,
      });
      await load.done();
      expect(load.failures()).toEqual([]);
      return load.acked;
    };
    const acked = await loadUntil(first, t0 - 3 * MINUTE);
    const times = sampleTimes(acked);
    const lastTs = times[times.length - 1];
    console.log(`receive-bucket e2e: ${countSamples(acked)} samples over ${(lastTs - first) / MINUTE} min written in ${Date.now() - t0} ms`);

    // Blocks are cut while the head spans more than 1.5 block durations, oldest range
    // first; each starts at its first sample and ends at its range's end. The shipper
    // uploads them within its interval (30 s); retention must not have deleted any before.
    const expected = cutBlocks(times);
    expect(expected.length).toBeGreaterThanOrEqual(7);
    const firstRange = Math.floor(first / BLOCK) * BLOCK;
    const minutes = (b: { minTime: number; maxTime: number }): string => `[${((b.minTime - firstRange) / MINUTE).toFixed(2)}m, ${(b.maxTime - firstRange) / MINUTE}m)`;
    let blocks: Meta[] = [];
    try {
      blocks = await waitFor(
        async () => {
          const b = await bucketBlocks();
          return b.length >= expected.length && b;
        },
        { timeoutMs: 40_000, intervalMs: 250, what: `${expected.length} blocks in the bucket` },
      );
    } catch (err) {
      // Name the ranges that are neither in the bucket nor on disk.
      const have = await bucketBlocks();
      const localMetas = await Promise.all((await localBlocks()).map(async (u) => JSON.parse(await readFile(join(tsdbDir, TENANT, u, 'meta.json'), 'utf8')) as Meta));
      const where = (b: { maxTime: number }): string => (have.some((x) => x.maxTime === b.maxTime) ? 'in the bucket' : localMetas.some((x) => x.maxTime === b.maxTime) ? 'local only' : 'LOST');
      throw new Error(`${(err as Error).message}; blocks (minutes after ${new Date(firstRange).toISOString()}): ${expected.map((b) => `${minutes(b)} ${where(b)}`).join('; ')}`);
    }
    expect(blocks.map(minutes)).toEqual(expected.map(minutes));
    for (const b of blocks) {
      expect(b.thanos.source).toBe('receive');
      expect(b.thanos.labels).toEqual({ receive_replica: '0', tenant_id: TENANT });
      expect(b.thanos.downsample.resolution).toBe(0);
    }

    // The client goes on to the present: more blocks are cut, and retention (2 minutes
    // before the newest block's end) drops the shipped old ones locally.
    const more = await loadUntil(lastTs + STEP, t0 - MINUTE);
    for (const [k, m] of more) for (const [t, v] of m) acked.get(k)!.set(t, v);
    const allTimes = sampleTimes(acked);
    const newestEnd = cutBlocks(allTimes).at(-1)!.maxTime;
    const beyond = new Set(blocks.filter((b) => newestEnd - b.maxTime > RETENTION).map((b) => b.ulid));
    expect(beyond.size).toBeGreaterThanOrEqual(5);
    await waitFor(async () => (await localBlocks()).every((u) => !beyond.has(u)), { timeoutMs: 10_000, what: `blocks ${[...beyond].join(',')} deleted locally` });
    expect((await localBlocks()).length).toBeGreaterThan(0);

    const store = await startComponent(['store', '--objstore.config-file', objstore, '--data-dir', await tempDir('receive-bucket-store'), '--sync-block-duration', '2s']);
    components.push(store);
    const query = await startComponent(['query', '--endpoint', store.grpcAddress, '--endpoint', recv.grpc, '--endpoint.info-timeout', '1s']);
    components.push(query);
    const qurl = `http://${query.httpAddress}`;

    // Every sample once: the raw samples of a range selector over all the data.
    const at = ((allTimes[allTimes.length - 1] + 1) / 1000).toFixed(3);
    const want = expectedMatrix(acked);
    let last = '';
    await waitFor(
      async () => {
        const r = await api(qurl, '/api/v1/query', { query: 'ring_bucket[15m]', time: at });
        last = r.text.slice(0, 500);
        if (r.body.status !== 'success' || r.body.data.result.length !== want.size) return false;
        for (const s of r.body.data.result as { metric: Record<string, string>; values: [number, string][] }[]) {
          expect(s.metric).toMatchObject({ receive_replica: '0', tenant_id: TENANT });
          const w = want.get(`${s.metric.lane}/${s.metric.series}`);
          expect(w, JSON.stringify(s.metric)).toBeDefined();
          expect(s.values.map(([t, v]) => [Math.round(t * 1000), Number(v)])).toEqual(w);
        }
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: 'every acknowledged sample through store + receiver' },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nlast answer: ${last}`);
    });
    const total = await api(qurl, '/api/v1/query', { query: 'sum(count_over_time(ring_bucket[15m]))', time: at });
    expect(total.body.data.result[0].value[1]).toBe(String(countSamples(acked)));
    // The oldest samples are in the bucket only.
    const oldest = await api(qurl, '/api/v1/query', { query: 'count(ring_bucket)', time: ((first + 1) / 1000).toFixed(3) });
    expect(oldest.body.data.result[0].value[1]).toBe('20');
  }, 85_000);
});

/** Every sample timestamp of a set, ascending. */
function sampleTimes(s: SampleSet): number[] {
  return [...new Set([...s.values()].flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
}

/** The blocks a head holding samples at `times` is cut into (DB.compact): while it spans more than 1.5 blocks. */
function cutBlocks(times: number[]): { minTime: number; maxTime: number }[] {
  const out: { minTime: number; maxTime: number }[] = [];
  const lastTs = times[times.length - 1];
  for (let headMin = times[0]; lastTs - headMin > (BLOCK / 2) * 3; ) {
    const maxTime = Math.floor(headMin / BLOCK) * BLOCK + BLOCK;
    out.push({ minTime: headMin, maxTime });
    headMin = times.find((t) => t >= maxTime)!;
  }
  return out;
}

/** The acknowledged samples per `lane/series`, as [ms, value] in time order. */
function expectedMatrix(acked: SampleSet): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  for (const [k, m] of acked) {
    const l = Object.fromEntries(JSON.parse(k) as [string, string][]);
    out.set(`${l.lane}/${l.series}`, [...m].sort((a, b) => a[0] - b[0]));
  }
  return out;
}
