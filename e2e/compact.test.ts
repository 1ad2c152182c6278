// The compactor with real processes, over one shared bucket: three days of two clusters
// × two replicas — cluster "eu" uploaded by our `tools bucket backfill`, cluster "us" as
// blocks written by the real promtool (Prometheus 2.42) and uploaded with external
// labels. One `compact --wait=false` with offline deduplication must reach 2d blocks,
// halve the samples and downsample to 5m; then `thanos-ts store` + `thanos-ts query`
// over the compacted bucket must answer every query of the list exactly as a real
// Prometheus holding one replica's samples, and with max_source_resolution=5m|1h close
// to it. Besides: retention over blocks placed relative to now; kill -9 of the compactor
// in the middle of an upload and of a deletion, against S3 behind a slow proxy; a
// halted stream (metric and one log line) while another compacts; `tools bucket
// rewrite` checked with promtool tsdb dump.
//
// Not here: the 1h downsampling step, which needs 5m blocks spanning 10 days (about
// 30 days of raw data to compact first); packages/block/src/compact/downsample.test.ts
// checks when it is due with crafted metas, and the store e2e test serves 1h blocks.

import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketFromConfig, FilesystemBucket } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { downloadBlock, MetaFetcher, uploadBlock } from '@thanos-ts/block';
import type { BlockMeta } from '@thanos-ts/tsdb';
import { createBlocksFromOpenMetrics, dumpBlocks, removeTempDirs, startPrometheus, startS3Server, tempDir, waitFor } from '@thanos-ts/testutil';
import type { PrometheusInstance, S3Server } from '@thanos-ts/testutil';
import { BIN, runCli } from './cli.js';
import { loopbackAddress, startComponent } from './components.js';
import type { Component } from './components.js';
import { api } from './api.js';
import type { ApiBody } from './api.js';
import { DAY, EU, HOUR, openMetrics, T0, US } from './store-data.js';
import type { ClusterSpec } from './store-data.js';
import { inventory, listing, lostSources, partials, putBlock, sampleSum } from './compact-bucket.js';
import { startSlowProxy } from './compact-slow-proxy.js';
import type { SlowProxy } from './compact-slow-proxy.js';

const MIN = 60_000;
const T0S = T0 / 1000;
/** Evaluation times (ms): on :30.5 s, between the samples at :01.234. */
const at = (h: number, m: number): number => T0 + h * HOUR + m * MIN + 30_500;
const secs = (ms: number): string => String(ms / 1000);

/** The query list (that of e2e/store.test.ts): no aggregation adds more than two floats (see there). */
const QUERIES: [string, string][] = [
  ['rate', 'rate(demo_requests_total[5m])'],
  ['sum by path', 'sum by (cluster, path) (rate(demo_requests_total[5m]))'],
  ['increase', 'increase(demo_requests_total{path="/a"}[10m])'],
  ['histogram_quantile p50', 'histogram_quantile(0.5, sum by (le) (rate(demo_request_duration_seconds_bucket[5m])))'],
  ['histogram_quantile p90', 'histogram_quantile(0.9, rate(demo_request_duration_seconds_bucket[5m]))'],
  ['topk', 'topk(2, rate(demo_requests_total[5m]))'],
  ['gauge', 'avg by (room) (demo_temperature_celsius) * 2'],
  ['count up', 'count(up)'],
  ['one cluster', 'sum by (path) (increase(demo_requests_total{cluster="us"}[1h]))'],
  ['cluster regex', 'count by (cluster, job) (up{cluster=~"e.*"} == 1)'],
];
/** A 2h boundary, the eu counter reset (33h20m), the us gap (40h), the eu histogram reset (50h), the last samples. */
const INSTANTS = [at(3, 12), at(26, 2), at(33, 22), at(40, 30), at(50, 0), at(71, 59)];
const RANGES = [
  { start: at(0, 10), end: at(71, 10), step: '3600' },
  { start: at(32, 0), end: at(42, 0), step: '300' },
];

let dir: string;
let cfg: string;
let bkt: FilesystemBucket;
let prom: PrometheusInstance;
let store: Component | undefined;
let query: Component | undefined;
let s3: S3Server | undefined;
let proxy: SlowProxy | undefined;
let beforeMetas: BlockMeta[] = [];

async function metas(b: Bucket): Promise<BlockMeta[]> {
  return [...(await new MetaFetcher(b).fetch()).metas.values()].sort((a, c) => a.minTime - c.minTime);
}

async function fsBucket(name: string): Promise<{ cfg: string; bkt: FilesystemBucket }> {
  const c = join(dir, `${name}.yml`);
  await writeFile(c, `type: FILESYSTEM\nconfig:\n  directory: ${join(dir, name)}\n`);
  return { cfg: c, bkt: new FilesystemBucket(join(dir, name)) };
}

async function backfill(config: string, spec: ClusterSpec, replica: string): Promise<void> {
  const f = join(dir, `${spec.name}-${replica}.om`);
  await writeFile(f, openMetrics([spec], false));
  const r = await runCli(['tools', 'bucket', 'backfill', '--objstore.config-file', config, '--label', `cluster=${spec.name}`, '--label', `replica=${replica}`, f]);
  if (r.code !== 0) throw new Error(`backfill ${spec.name} ${replica}: ${r.stderr}`);
}

/** Blocks written by the real promtool, uploaded with external labels (as a sidecar would). */
async function promtoolBlocks(b: Bucket, spec: ClusterSpec, replica: string, maxBlockDuration: string): Promise<void> {
  const local = await tempDir(`e2e-compact-promtool-${replica}`);
  const ids = await createBlocksFromOpenMetrics(openMetrics([spec], false), local, { maxBlockDuration });
  for (const id of ids) {
    await uploadBlock(b, join(local, id), {
      mutateMeta: (m) => {
        m.thanos.labels = { cluster: spec.name, replica };
        m.thanos.source = 'sidecar';
      },
    });
  }
}

const metricKey = (m: Record<string, string>): string =>
  Object.keys(m)
    .sort()
    .map((k) => `${k}=${JSON.stringify(m[k])}`)
    .join(',');

function canonical(data: { resultType: string; result: any }): unknown {
  if (data.resultType !== 'vector') return data;
  return { ...data, result: [...(data.result as { metric: Record<string, string> }[])].sort((a, b) => (metricKey(a.metric) < metricKey(b.metric) ? -1 : 1)) };
}

async function ours(path: string, params: Record<string, string>, what: string): Promise<ApiBody> {
  const r = await api(`http://${query!.httpAddress}`, path, params);
  expect(r.status, `${what}: ${r.text.slice(0, 500)}`).toBe(200);
  expect(r.body.status, what).toBe('success');
  expect(r.body.warnings, what).toBeUndefined();
  return r.body;
}

beforeAll(async () => {
  const t0 = Date.now();
  dir = await tempDir('e2e-compact');
  ({ cfg, bkt } = await fsBucket('main'));
  const startProm = async (): Promise<void> => {
    const data = await tempDir('e2e-compact-prometheus');
    await createBlocksFromOpenMetrics(openMetrics([EU, US], true), data, { maxBlockDuration: '24h' });
    prom = await startPrometheus({ dataDir: data, config: {}, scrapeSelf: false, blockDuration: '2h', extraArgs: ['--storage.tsdb.retention.time=10y'] });
  };
  // Both replicas of a cluster hold the same samples (they scrape the same targets).
  await Promise.all([
    backfill(cfg, EU, 'r1'),
    backfill(cfg, EU, 'r2'),
    promtoolBlocks(bkt, US, 'r1', '2h'),
    promtoolBlocks(bkt, US, 'r2', '6h'),
    startProm(),
  ]);
  beforeMetas = await metas(bkt);
  console.log(`compact e2e: ${beforeMetas.length} blocks and Prometheus in ${Date.now() - t0} ms`);
}, 90_000);

afterAll(async () => {
  await Promise.all([query?.stop(), store?.stop()]);
  await prom?.stop();
  await proxy?.close();
  await s3?.stop();
  await removeTempDirs();
});

describe('compact', () => {
  it('compacts to 2d blocks, halves the samples by deduplicating replicas and downsamples to 5m', async () => {
    const t0 = Date.now();
    const r = await runCli(
      ['compact', '--wait=false', '--objstore.config-file', cfg, '--data-dir', join(dir, 'data-main'), '--http-address', '127.0.0.1:0', '--consistency-delay', '0s', '--delete-delay', '0s', '--deduplication.replica-label', 'replica', '--deduplication.func', 'penalty'],
      { timeoutMs: 100_000 },
    );
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    console.log(`compact e2e: compaction in ${Date.now() - t0} ms`);
    expect(r.stderr).toContain('msg="compacted group"');

    const after = await metas(bkt);
    const raw = after.filter((m) => m.thanos.downsample.resolution === 0);
    // Compacted blocks carry the stream's labels without the replica label (as Thanos),
    // and no level-1 block is left: everything went through the compactor.
    for (const m of raw) expect(m.thanos.labels).toEqual({ cluster: m.thanos.labels.cluster });
    for (const m of after) expect(m.thanos.source).toBe('compactor');
    for (const c of ['eu', 'us']) {
      const mine = raw.filter((m) => m.thanos.labels.cluster === c);
      // [T0, T0+2d) in one block (meta times are those of the first and last sample + 1);
      // the last day in smaller blocks (its 2d range is not complete).
      const twoDay = mine.find((m) => m.minTime < T0 + MIN && m.maxTime > T0 + 2 * DAY - 2 * MIN && m.maxTime <= T0 + 2 * DAY);
      expect(twoDay, `${c}: a 2d block`).toBeDefined();
      expect(twoDay!.compaction.level).toBeGreaterThanOrEqual(3);
      expect(mine.filter((m) => m.minTime < T0 + 2 * DAY)).toHaveLength(1);
      // Offline dedup: one replica's samples (the replicas hold the same ones).
      const before = sampleSum(beforeMetas.filter((m) => m.thanos.labels.cluster === c));
      const now = sampleSum(mine);
      expect(now / before, c).toBeGreaterThan(0.45);
      expect(now / before, c).toBeLessThan(0.55);
      expect(now * 2, c).toBe(before);
      // Raw 2d block (>= 40h) → a 5m copy of the same sources.
      const ds = after.find((m) => m.thanos.downsample.resolution === 300_000 && m.thanos.labels.cluster === c);
      expect(ds, `${c} 5m block`).toBeDefined();
      expect(ds!.compaction.sources).toEqual(twoDay!.compaction.sources);
      expect([ds!.minTime, ds!.maxTime]).toEqual([twoDay!.minTime, twoDay!.maxTime]);
    }
    // The 8h blocks of the last day do not span 40h: no 5m copy of them.
    expect(after.filter((m) => m.thanos.downsample.resolution === 300_000)).toHaveLength(2);
    expect(after.filter((m) => m.thanos.downsample.resolution === 3_600_000)).toHaveLength(0);
    // Nothing half done is left: no partial uploads, no deletion marks, all blocks whole.
    const inv = await inventory(bkt);
    expect(inv.problems).toEqual([]);
    expect([...inv.partialUploads, ...inv.partialDeletes, ...inv.marked]).toEqual([]);
  }, 110_000);

  it('answers over store + query after compaction as a Prometheus with one replica does', async () => {
    const storeGrpc = await loopbackAddress();
    [store, query] = await Promise.all([
      startComponent(['store', '--objstore.config-file', cfg, '--data-dir', join(dir, 'store'), '--sync-block-duration', '2s'], { grpcAddress: storeGrpc }),
      startComponent(['query', '--endpoint', storeGrpc, '--endpoint.info-timeout', '1s', '--query.replica-label', 'replica']),
    ]);
    await waitFor(async () => (await api(`http://${query!.httpAddress}`, '/api/v1/stores')).body.data?.store?.[0]?.lastError === null, { timeoutMs: 15_000, what: 'query to see the store' });
    let compared = 0;
    for (const [name, q] of QUERIES) {
      const calls: [string, Record<string, string>, string][] = [
        ...INSTANTS.map((t): [string, Record<string, string>, string] => ['/api/v1/query', { query: q, time: secs(t) }, `${name} at ${secs(t)}`]),
        ...RANGES.map((r): [string, Record<string, string>, string] => ['/api/v1/query_range', { query: q, start: secs(r.start), end: secs(r.end), step: r.step }, `${name} range ${secs(r.start)}..${secs(r.end)}`]),
      ];
      for (const [path, params, what] of calls) {
        const [got, want] = await Promise.all([ours(path, params, what), api(prom.url, path, params)]);
        expect(want.body.status, `prometheus ${what}: ${want.text}`).toBe('success');
        expect(want.body.data.result.length, `${what} has data`).toBeGreaterThan(0);
        expect(canonical(got.data), what).toEqual(canonical(want.body.data));
        compared++;
      }
    }
    expect(compared).toBe(QUERIES.length * (INSTANTS.length + RANGES.length));
  }, 60_000);

  it('answers with max_source_resolution=5m and 1h from the 5m blocks, close to the raw answer', async () => {
    // Tolerances against raw data: avg_over_time over 1h differs by the window edge
    // (the 5m aggregates cover 11:00–11:59 where the raw window holds 11:01–12:00, one
    // sample of sixty): within 0.5%. rate over 1h from the counter aggregate differs
    // by at most the extrapolation over one 5m bucket of twelve: within 10%.
    const cases: [string, number][] = [
      ['avg_over_time(demo_temperature_celsius[1h])', 0.005],
      ['rate(demo_requests_total[1h])', 0.1],
    ];
    let compared = 0;
    for (const res of ['5m', '1h']) {
      for (const [q, tol] of cases) {
        for (const t of [at(6, 0), at(20, 0), at(44, 0)]) {
          const what = `${q} at ${secs(t)} max_source_resolution=${res}`;
          const [got, want] = await Promise.all([ours('/api/v1/query', { query: q, time: secs(t), max_source_resolution: res }, what), api(prom.url, '/api/v1/query', { query: q, time: secs(t) })]);
          const byKey = new Map((want.body.data.result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => [metricKey(s.metric), Number(s.value[1])]));
          const rows = got.data.result as { metric: Record<string, string>; value: [number, string] }[];
          expect(rows.map((s) => metricKey(s.metric)).sort(), what).toEqual([...byKey.keys()].sort());
          for (const s of rows) {
            const w = byKey.get(metricKey(s.metric))!;
            expect(Math.abs(Number(s.value[1]) - w), `${what} ${metricKey(s.metric)}: ${s.value[1]} vs ${w}`).toBeLessThanOrEqual(Math.abs(w) * tol);
            compared++;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(0);
  }, 30_000);

  it('retention deletes exactly the blocks past their resolution retention', async () => {
    const { cfg: rc, bkt: rb } = await fsBucket('retention');
    const base = Math.floor(Date.now() / (2 * HOUR)) * 2 * HOUR;
    // One stream per block, so that nothing is compacted: [resolution, age of maxTime in days].
    const specs: [number, number][] = [
      [0, 1],
      [0, 2],
      [0, 4],
      [0, 5],
      [300_000, 9],
      [300_000, 13],
      [3_600_000, 400],
    ];
    const blocks = new Map<string, [number, number]>();
    for (const [res, age] of specs) {
      const m = await putBlock(rb, { cluster: `c${res}-${age}` }, base - age * DAY - 2 * HOUR, base - age * DAY, res);
      blocks.set(m.ulid, [res, age]);
    }
    const r = await runCli(['compact', '--wait=false', '--objstore.config-file', rc, '--data-dir', join(dir, 'data-retention'), '--http-address', '127.0.0.1:0', '--consistency-delay', '0s', '--delete-delay', '0s', '--retention.resolution-raw', '3d', '--retention.resolution-5m', '11d']);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const left = new Set((await metas(rb)).map((m) => m.ulid));
    const want = [...blocks].filter(([, [res, age]]) => (res === 0 ? age < 3 : res === 300_000 ? age < 11 : true)).map(([id]) => id);
    expect([...left].sort()).toEqual(want.sort());
    expect(left.size).toBe(4);
    const inv = await inventory(rb);
    expect([...inv.partialDeletes, ...inv.partialUploads, ...inv.marked]).toEqual([]);
  }, 30_000);

  it('survives kill -9 in the middle of an upload and of a deletion: blocks whole, no data lost, the next run finishes', async () => {
    s3 = await startS3Server({ childProcess: true });
    proxy = await startSlowProxy(s3.endpoint, 40);
    const direct = await bucketFromConfig(s3.objstoreYaml());
    const slowCfg = join(dir, 'slow-s3.yml');
    await writeFile(slowCfg, s3.objstoreYaml().replace(s3.endpoint, proxy.endpoint));
    // One day of two clusters in 2h blocks (one replica each): 2h → 8h compactions.
    const day: [number, number] = [0, 1440];
    const local = await fsBucket('kill-src');
    await Promise.all([backfill(local.cfg, { ...EU, range: day }, 'r1'), backfill(local.cfg, { ...US, range: day, newSeriesFrom: undefined }, 'r1')]);
    const src = await metas(local.bkt);
    await Promise.all(src.map((m) => uploadBlock(direct, join(dir, 'kill-src', m.ulid))));
    const sources = src.map((m) => m.ulid);
    const total = sampleSum(src);
    const series = (ms: BlockMeta[], c: string): number => Math.max(...ms.filter((m) => m.thanos.labels.cluster === c).map((m) => m.stats.numSeries ?? 0));

    const args = ['compact', '--wait=false', '--objstore.config-file', slowCfg, '--data-dir', join(dir, 'data-kill'), '--http-address', '127.0.0.1:0', '--consistency-delay', '0s', '--delete-delay', '0s', '--block-meta-fetch-concurrency', '4'];
    /**
     * Runs the compactor, SIGKILLs it once the bucket matches `cond`; false if it finished
     * first. Without `cond` it runs to the end unwatched (the bucket is not listed
     * meanwhile, so the compactor has the CPU to itself).
     */
    const runUntil = async (cond: ((p: ReturnType<typeof partials>) => boolean) | null): Promise<boolean> => {
      const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      let done = false;
      void exited.then(() => (done = true));
      while (!done && cond !== null) {
        // One listing per poll (no reads), so the kill follows what it saw closely.
        const p = partials(await listing(direct));
        if (!done && cond(p)) {
          child.kill('SIGKILL');
          await exited;
          return true;
        }
      }
      await exited;
      expect(child.exitCode, log.slice(-2000)).toBe(0);
      return false;
    };
    const check = async (what: string): Promise<Awaited<ReturnType<typeof inventory>>> => {
      const inv = await inventory(direct);
      expect(inv.problems, what).toEqual([]);
      expect(lostSources(inv, sources), what).toEqual([]);
      return inv;
    };

    // 1. In the middle of an upload: a new block's files are there, its meta.json is not.
    const known = new Set(sources);
    expect(await runUntil((inv) => inv.partialUploads.some((id) => !known.has(id)))).toBe(true);
    const i1 = await check('after kill -9 mid-upload');
    expect(i1.partialUploads.length).toBeGreaterThan(0);
    // 2. In the middle of a deletion: a marked block has lost its meta.json, not yet the rest.
    expect(await runUntil((inv) => inv.partialDeletes.length > 0)).toBe(true);
    const i2 = await check('after kill -9 mid-deletion');
    expect(i2.partialDeletes.length).toBeGreaterThan(0);
    // 3. The next run finishes the work.
    expect(await runUntil(null)).toBe(false);
    const i3 = await check('after the last run');
    expect([...i3.partialDeletes, ...i3.marked]).toEqual([]);
    // s3rver leaves out of a delimiter listing a directory holding only nested keys
    // (`<id>/chunks/000001`), which real S3 lists: a partial upload cut after its first
    // chunk file is then invisible to the cleaner here (and to every reader: no
    // meta.json). Any other partial upload must be gone.
    const top = new Set<string>();
    await direct.iter('', (n) => void top.add(n.replace(/\/$/, '')));
    expect(i3.partialUploads.filter((id) => top.has(id))).toEqual([]);
    const final = [...i3.metas.values()];
    // Everything compacted to 8h blocks but the last 8h range, which is not complete
    // (its newest block is never planned, as in Prometheus): its blocks stay at level 1.
    expect(final.filter((m) => m.compaction.level === 1).every((m) => m.minTime >= T0 + 16 * HOUR)).toBe(true);
    expect(final.filter((m) => m.minTime < T0 + 16 * HOUR).map((m) => m.compaction.level)).toEqual([2, 2, 2, 2]);
    expect(sampleSum(final)).toBe(total);
    for (const c of ['eu', 'us']) expect(series(final, c), c).toBe(series(src, c));
    await direct.close?.();
  }, 120_000);

  it('halts only a stream with overlapping blocks, visible in /metrics and one log line', async () => {
    const { cfg: hc, bkt: hb } = await fsBucket('halt');
    const f = join(dir, 'h.om');
    const lines: string[] = [];
    for (const job of ['a', 'b']) for (let t = T0S; t < T0S + 86_400; t += 60) lines.push(`demo_total{job="${job}"} ${t - T0S} ${t}`);
    await writeFile(f, lines.join('\n') + '\n# EOF\n');
    const fills = await Promise.all(
      [['--label', 'cluster=eu'], ['--label', 'cluster=us'], ['--label', 'cluster=us', '--block-duration', '3h']].map((extra) =>
        runCli(['tools', 'bucket', 'backfill', '--objstore.config-file', hc, ...extra, f]),
      ),
    );
    for (const r of fills) expect(r.code, r.stderr).toBe(0);
    const c = await startComponent(['compact', '--wait', '--wait-interval', '1s', '--objstore.config-file', hc, '--data-dir', join(dir, 'data-halt'), '--consistency-delay', '0s', '--delete-delay', '0s'], { grpc: false });
    try {
      await waitFor(async () => {
        const body = await (await fetch(`http://${c.httpAddress}/metrics`)).text();
        return /^thanos_compact_halted 1$/m.test(body) && /^thanos_compact_iterations_total/m.test(body);
      }, { timeoutMs: 60_000 });
      const errs = c.logs().split('\n').filter((l) => l.includes('level=error'));
      expect(errs).toHaveLength(1);
      expect(errs[0]).toContain('overlapping blocks in stream 0@{cluster=\\"us\\"}');
      expect(errs[0]).toContain('--compact.enable-vertical-compaction');
      // eu was compacted all the same.
      await waitFor(async () => (await metas(hb)).some((m) => m.thanos.labels?.cluster === 'eu' && m.compaction.level > 1), { timeoutMs: 30_000 });
      const blocks = (await (await fetch(`http://${c.httpAddress}/api/v1/blocks`)).json()) as { status: string; data: { blocks: unknown[] } };
      expect(blocks.status).toBe('success');
      expect(blocks.data.blocks.length).toBeGreaterThan(0);
    } finally {
      expect(await c.stop()).toBe(0);
    }
    const rep = await runCli(['tools', 'bucket', 'verify', '--objstore.config-file', hc, '-i', 'overlapped_blocks', '--repair']);
    expect(rep.code, rep.stderr.slice(-2000)).toBe(0);
    expect(rep.stdout).toContain('repaired overlapped_blocks');
  }, 90_000);

  it('rewrite removes the named series and nothing else', async () => {
    // A promtool block from the main fixture's data: one 2h block of cluster eu.
    const { cfg: wc, bkt: wb } = await fsBucket('rewrite');
    const local = await tempDir('e2e-compact-rw');
    const ids = await createBlocksFromOpenMetrics(openMetrics([{ ...EU, range: [0, 120] }], false), local, { maxBlockDuration: '2h' });
    expect(ids).toHaveLength(1);
    const m = await uploadBlock(wb, join(local, ids[0]), { mutateMeta: (x) => void (x.thanos.labels = { cluster: 'eu' }) });
    const before = await dumpBlocks(local);
    const rw = await runCli(['tools', 'bucket', 'rewrite', '--objstore.config-file', wc, '--id', m.ulid, '--rewrite.to-delete-config', '- matchers: \'{__name__="demo_requests_total", path="/b"}\'', '--tmp.dir', join(dir, 'rw')]);
    expect(rw.code, rw.stderr).toBe(0);
    const now = (await metas(wb)).filter((x) => x.ulid !== m.ulid);
    expect(now).toHaveLength(1);
    expect(now[0].thanos.source).toBe('bucket.rewrite');
    expect(await wb.exists(`${m.ulid}/deletion-mark.json`)).toBe(true);
    const d2 = await tempDir('e2e-compact-rw2');
    await downloadBlock(wb, now[0].ulid, d2);
    const after = await dumpBlocks(d2);
    const gone = (s: { labels: unknown }): boolean => {
      const k = JSON.stringify(s.labels);
      return k.includes('demo_requests_total') && k.includes('"/b"');
    };
    expect(before.filter(gone).length).toBe(2);
    expect(after.length).toBe(before.length - 2);
    expect(after).toEqual(before.filter((s) => !gone(s)));
  }, 60_000);
});
