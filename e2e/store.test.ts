// The store gateway with real processes: three days of history for two clusters in one
// bucket — cluster "eu" uploaded by our `tools bucket backfill`, cluster "us" as blocks
// written by the real promtool and uploaded with external labels — served by `thanos-ts
// store` and queried through `thanos-ts query`. Every answer must equal that of a real
// Prometheus whose TSDB holds the same samples (with `cluster` as a series label), also
// when the bucket is S3. Blocks added to and deleted from the bucket while the store
// runs are picked up within one or two sync periods; half-uploaded blocks never are.
// Flags: --min-time/--max-time, --selector.relabel-config, the sample limit, bad values.

import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketFromConfig, FilesystemBucket, getBytes } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { listBlockIds, uploadBlock } from '@thanos-ts/block';
import { ulid } from '@thanos-ts/tsdb';
import { createBlocksFromOpenMetrics, removeTempDirs, startPrometheus, startS3Server, tempDir, waitFor } from '@thanos-ts/testutil';
import type { PrometheusInstance, S3Server } from '@thanos-ts/testutil';
import { runCli } from './cli.js';
import { loopbackAddress, startComponent } from './components.js';
import type { Component } from './components.js';
import { AP, DAY, EU, HOUR, openMetrics, seriesCount, T0, US } from './store-data.js';
import { api } from './api.js';
import type { ApiBody } from './api.js';

const MIN = 60_000;
const SYNC_MS = 2000;

/** Evaluation times (ms): on :30.5 s, between the samples at :01.234. */
const at = (h: number, m: number): number => T0 + h * HOUR + m * MIN + 30_500;
const secs = (ms: number): string => String(ms / 1000);
/** A time as an offset from T0, for messages: "T0+28h10m30.5s". */
const rel = (ms: number): string => `T0+${Math.floor((ms - T0) / HOUR)}h${Math.floor(((ms - T0) % HOUR) / MIN)}m${((ms - T0) % MIN) / 1000}s`;

/**
 * Instant query times, each chosen for something in the data: a 2h block boundary
 * inside the window, the counter reset of eu /b 200 (33h20m), the gap of us up{job="node"}
 * (40h–41h), the histogram reset of eu (50h00m), the counter reset of us /a 500 (51h40m),
 * the last samples.
 */
const INSTANTS = [at(3, 12), at(26, 2), at(33, 22), at(40, 30), at(50, 0), at(51, 42), at(71, 59)];
/** Range queries: the whole span at 1h steps, and 10h around the resets, the new series and the gap at 5m. */
const RANGES: { start: number; end: number; step: string }[] = [
  { start: at(0, 10), end: at(71, 10), step: '3600' },
  { start: at(32, 0), end: at(42, 0), step: '300' },
];

/**
 * The fixed query list (that of e2e/query.test.ts, with ranges for 60 s data). No
 * aggregation adds more than two floats: Prometheus 2.42 sums naively, while our engine
 * (like Prometheus ≥ 2.50 and 3.x) sums with Kahan–Neumaier compensation, which can
 * differ in the last bit from three addends on; sums across clusters are checked
 * separately (see `sumsAcrossClusters`).
 */
const QUERIES: [string, string][] = [
  ['rate', 'rate(demo_requests_total[5m])'],
  ['sum by path', 'sum by (cluster, path) (rate(demo_requests_total[5m]))'],
  ['increase', 'increase(demo_requests_total{path="/a"}[10m])'],
  ['histogram_quantile p50', 'histogram_quantile(0.5, sum by (le) (rate(demo_request_duration_seconds_bucket[5m])))'],
  ['histogram_quantile p90', 'histogram_quantile(0.9, rate(demo_request_duration_seconds_bucket[5m]))'],
  ['topk', 'topk(2, rate(demo_requests_total[5m]))'],
  ['gauge', 'avg by (room) (demo_temperature_celsius) * 2'],
  ['count up', 'count(up)'],
  // Matchers on the external label: one cluster's blocks only.
  ['one cluster', 'sum by (path) (increase(demo_requests_total{cluster="us"}[1h]))'],
  ['cluster regex', 'count by (cluster, job) (up{cluster=~"e.*"} == 1)'],
];

let dir: string;
let bucketDir: string;
let fsConfig: string;
let fsBucket: Bucket;
let s3: S3Server;
let prom: PrometheusInstance;
let store: Component;
let query: Component;
let queryUrl: string;
const extra: Component[] = [];
let s3Side: ReturnType<typeof startS3Side>;
let euBlocks: string[] = [];
let usBlocks: string[] = [];

beforeAll(async () => {
  const t0 = Date.now();
  dir = await tempDir('store-e2e');
  bucketDir = join(dir, 'bucket');
  await mkdir(bucketDir);
  fsConfig = join(dir, 'fs.yml');
  await writeFile(fsConfig, `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`);
  fsBucket = new FilesystemBucket(bucketDir);
  const euFile = join(dir, 'eu.om');
  await writeFile(euFile, openMetrics([EU], false));
  await writeFile(join(dir, 'ap.om'), openMetrics([AP], false));
  const usText = openMetrics([US], false);
  const allText = openMetrics([EU, US], true);

  const fillEu = async (): Promise<void> => {
    const r = await runCli(['tools', 'bucket', 'backfill', '--objstore.config-file', fsConfig, '--label', 'cluster="eu"', euFile]);
    if (r.code !== 0) throw new Error(`backfill eu: ${r.stderr}`);
    euBlocks = r.stdout.trim().split('\n').sort();
  };
  const fillUs = async (): Promise<void> => {
    // promtool's 6h blocks, so the bucket holds blocks of two sizes.
    const local = join(dir, 'us-blocks');
    await mkdir(local);
    usBlocks = await createBlocksFromOpenMetrics(usText, local, { maxBlockDuration: '6h' });
    for (const id of usBlocks) {
      await uploadBlock(fsBucket, join(local, id), {
        mutateMeta: (m) => {
          m.thanos.labels = { cluster: 'us' };
          m.thanos.source = 'bucket.upload';
        },
      });
    }
  };
  const startProm = async (): Promise<void> => {
    const data = await tempDir('store-e2e-prometheus');
    await createBlocksFromOpenMetrics(allText, data, { maxBlockDuration: '24h' });
    // Nothing to scrape; equal min and max block durations turn compaction off, and the
    // retention keeps blocks from 2024.
    prom = await startPrometheus({
      dataDir: data,
      config: {},
      scrapeSelf: false,
      blockDuration: '2h',
      extraArgs: ['--storage.tsdb.retention.time=10y'],
    });
  };
  const startS3 = async (): Promise<void> => {
    // In a child process: the store reads every chunk of three days through it.
    s3 = await startS3Server({ childProcess: true });
  };
  await Promise.all([fillEu(), fillUs(), startProm(), startS3()]);
  console.log(`store e2e: data in ${Date.now() - t0} ms: eu ${euBlocks.length} blocks (backfill), us ${usBlocks.length} blocks (promtool)`);

  const storeGrpc = await loopbackAddress();
  [store, query] = await Promise.all([
    startComponent(['store', '--objstore.config-file', fsConfig, '--data-dir', join(dir, 'store-fs'), '--sync-block-duration', `${SYNC_MS / 1000}s`], { grpcAddress: storeGrpc }),
    startComponent(['query', '--endpoint', storeGrpc, '--endpoint.info-timeout', '1s']),
  ]);
  queryUrl = `http://${query.httpAddress}`;
  await waitFor(async () => (await api(queryUrl, '/api/v1/stores')).body.data?.store?.[0]?.lastError === null, { timeoutMs: 10_000, what: 'query to see the store' });
  console.log(`store e2e: stack up in ${Date.now() - t0} ms`);
  // The S3 store builds its index-headers through s3rver while the first tests query the
  // filesystem one; its test awaits this.
  s3Side = startS3Side();
  s3Side.catch(() => undefined);
}, 90_000);

/** The same blocks copied to S3, with a store and a query over them. */
async function startS3Side(): Promise<{ ids: string[]; copied: number; started: number; s3Store: Component; s3Url: string }> {
  const t0 = Date.now();
  const s3Bucket = await bucketFromConfig(s3.objstoreYaml());
  let ids: string[];
  try {
    ids = await copyBlocks(fsBucket, s3Bucket);
  } finally {
    await s3Bucket.close();
  }
  const copied = Date.now() - t0;
  const s3Config = join(dir, 's3.yml');
  await writeFile(s3Config, s3.objstoreYaml());
  const s3Grpc = await loopbackAddress();
  const [s3Store, s3Query] = await Promise.all([
    startComponent(['store', '--objstore.config-file', s3Config, '--data-dir', join(dir, 'store-s3')], { grpcAddress: s3Grpc, readyTimeoutMs: 60_000 }),
    startComponent(['query', '--endpoint', s3Grpc, '--endpoint.info-timeout', '1s']),
  ]);
  extra.push(s3Store, s3Query);
  const s3Url = `http://${s3Query.httpAddress}`;
  await waitFor(async () => (await api(s3Url, '/api/v1/stores')).body.data?.store?.[0]?.lastError === null, { timeoutMs: 30_000, what: 'query to see the S3 store' });
  return { ids, copied, started: Date.now() - t0, s3Store, s3Url };
}

afterAll(async () => {
  await Promise.all([query, store, ...extra].map((c) => c?.stop()));
  await prom?.stop();
  await s3?.stop();
  await fsBucket?.close();
  await removeTempDirs();
});


const metricKey = (m: Record<string, string>): string =>
  Object.keys(m)
    .sort()
    .map((k) => `${k}=${JSON.stringify(m[k])}`)
    .join(',');

/**
 * A query result in a canonical order: an instant vector's order is not defined
 * (Prometheus emits aggregation groups in map order), a matrix is sorted by labels.
 */
function canonical(data: { resultType: string; result: any }): unknown {
  if (data.resultType !== 'vector') return data;
  return { ...data, result: [...(data.result as { metric: Record<string, string> }[])].sort((a, b) => (metricKey(a.metric) < metricKey(b.metric) ? -1 : 1)) };
}

/** Our answer for a query API call: HTTP 200, status success, no warnings. */
async function ours(base: string, path: string, params: Record<string, string | string[]>, what: string): Promise<ApiBody> {
  const r = await api(base, path, params);
  expect(r.status, `${what}: ${r.text.slice(0, 500)}`).toBe(200);
  expect(r.body.status, what).toBe('success');
  expect(r.body.warnings, what).toBeUndefined();
  return r.body;
}

/**
 * Runs every query of the list at every instant and range through `base` and against
 * Prometheus: the same series with byte-equal values. Returns how many were compared.
 */
async function sameAsPrometheus(base: string, instants: number[], ranges: typeof RANGES): Promise<number> {
  let compared = 0;
  for (const [name, q] of QUERIES) {
    const calls: [string, Record<string, string>, string][] = [
      ...instants.map((t): [string, Record<string, string>, string] => ['/api/v1/query', { query: q, time: secs(t) }, `instant ${name} at ${rel(t)}`]),
      ...ranges.map((r): [string, Record<string, string>, string] => [
        '/api/v1/query_range',
        { query: q, start: secs(r.start), end: secs(r.end), step: r.step },
        `range ${name} ${rel(r.start)}..${rel(r.end)} step ${r.step}s`,
      ]),
    ];
    for (const [path, params, what] of calls) {
      const [got, want] = await Promise.all([ours(base, path, params, what), api(prom.url, path, params)]);
      expect(want.body.status, `prometheus ${what}: ${want.text}`).toBe('success');
      expect(want.body.data.result.length, `${what} has data`).toBeGreaterThan(0);
      expect(canonical(got.data), what).toEqual(canonical(want.body.data));
      compared++;
    }
  }
  return compared;
}

/** Kahan–Neumaier summation in input order (Prometheus 3 kahanSumInc). */
function neumaierSum(xs: number[]): number {
  let sum = 0;
  let c = 0;
  for (const x of xs) {
    const t = sum + x;
    if (Math.abs(sum) >= Math.abs(x)) c += sum - t + x;
    else c += x - t + sum;
    sum = t;
  }
  return sum + c;
}

/**
 * `sum by (path) (rate(demo_requests_total[5m]))` over both clusters (four addends per
 * path) through `base`, checked against the compensated sum of Prometheus's per-series
 * rates in label order; returns how many sums Prometheus 2.42's naive summation gets
 * differently (last bit).
 */
async function sumsAcrossClusters(base: string, t: number): Promise<number> {
  const got = await ours(base, '/api/v1/query', { query: 'sum by (path) (rate(demo_requests_total[5m]))', time: secs(t) }, 'sum by (path)');
  const rates = await api(prom.url, '/api/v1/query', { query: 'rate(demo_requests_total[5m])', time: secs(t) });
  const byPath = new Map<string, { key: string; v: number }[]>();
  for (const s of rates.body.data.result as { metric: Record<string, string>; value: [number, string] }[]) {
    const list = byPath.get(s.metric.path) ?? [];
    list.push({ key: metricKey(s.metric), v: Number(s.value[1]) });
    byPath.set(s.metric.path, list);
  }
  const result = got.data.result as { metric: Record<string, string>; value: [number, string] }[];
  expect(result.map((s) => s.metric.path).sort()).toEqual([...byPath.keys()].sort());
  let naiveDiffers = 0;
  for (const s of result) {
    const xs = byPath.get(s.metric.path)!.sort((a, b) => (a.key < b.key ? -1 : 1)).map((x) => x.v);
    expect(Number(s.value[1]), `sum for ${s.metric.path} at ${rel(t)} of ${xs.join(' + ')}`).toBe(neumaierSum(xs));
    if (xs.reduce((a, b) => a + b, 0) !== neumaierSum(xs)) naiveDiffers++;
  }
  return naiveDiffers;
}

const blocksOf = async (c: Component): Promise<{ ulid: string; minTime: number; maxTime: number; thanos: { labels: Record<string, string> } }[]> =>
  (await api(`http://${c.httpAddress}`, '/api/v1/blocks')).body.data.blocks;

async function syncCount(c: Component): Promise<number> {
  const text = await (await fetch(`http://${c.httpAddress}/metrics`)).text();
  const m = /^thanos_bucket_store_block_syncs_total (\S+)$/m.exec(text);
  if (!m) throw new Error('no thanos_bucket_store_block_syncs_total in /metrics');
  return Number(m[1]);
}

async function instantValue(base: string, q: string, t: number): Promise<string[]> {
  const b = await ours(base, '/api/v1/query', { query: q, time: secs(t) }, q);
  return (b.data.result as { value: [number, string] }[]).map((s) => s.value[1]);
}

/**
 * Copies every block of `src` to `dst`, meta.json of each last (as an upload would);
 * eight blocks at a time.
 */
async function copyBlocks(src: Bucket, dst: Bucket): Promise<string[]> {
  const ids = await listBlockIds(src);
  const queue = [...ids];
  const copyOne = async (id: string): Promise<void> => {
    const names: string[] = [];
    await src.iter(`${id}/`, (n) => void names.push(n), { recursive: true });
    names.sort((a, b) => Number(a.endsWith('/meta.json')) - Number(b.endsWith('/meta.json')));
    for (const n of names) await dst.upload(n, await getBytes(src, n));
  };
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) await copyOne(id);
    }),
  );
  return ids;
}

describe('store gateway over a bucket of two clusters', () => {
  it('serves every uploaded block with its external labels', async () => {
    expect(euBlocks.length).toBe(36); // 3 days of 2h blocks
    expect(usBlocks.length).toBe(12); // 3 days of 6h blocks
    const blocks = await blocksOf(store);
    expect(blocks.map((b) => b.ulid)).toEqual([...euBlocks, ...usBlocks].sort());
    for (const b of blocks) expect(b.thanos.labels).toEqual({ cluster: euBlocks.includes(b.ulid) ? 'eu' : 'us' });
    const stores = (await api(queryUrl, '/api/v1/stores')).body.data.store as { name: string; labelSets: Record<string, string>[]; minTime: number; maxTime: number }[];
    expect(stores.map((s) => s.name)).toEqual([store.grpcAddress]);
    expect(stores[0].labelSets).toEqual([{ cluster: 'eu' }, { cluster: 'us' }]);
    // Thanos's Info: the blocks' earliest minTime and latest (exclusive) maxTime.
    expect([stores[0].minTime, stores[0].maxTime]).toEqual([T0 + 1234, T0 + 3 * DAY - MIN + 1235]);
  });

  it('answers the fixed query list as Prometheus does, instant and range, over three days', async () => {
    const t0 = Date.now();
    const n = await sameAsPrometheus(queryUrl, INSTANTS, RANGES);
    console.log(`store e2e: ${n} query results equal to Prometheus's in ${Date.now() - t0} ms`);
    let naiveDiffers = 0;
    for (const t of INSTANTS) naiveDiffers += await sumsAcrossClusters(queryUrl, t);
    console.log(`store e2e: sums across clusters compensated (${naiveDiffers} of them differ from Prometheus 2.42's naive sums in the last bit)`);
    // Checks of the data itself, so that a shared mistake cannot pass: every target of
    // both clusters is there, except us node in its gap.
    expect(await instantValue(queryUrl, 'count(up)', at(3, 12))).toEqual(['6']);
    expect(await instantValue(queryUrl, 'count({cluster="eu"})', at(3, 12))).toEqual([String(seriesCount(EU))]);
    expect(await instantValue(queryUrl, 'count({cluster="us"})', at(71, 59))).toEqual([String(seriesCount(US))]);
    expect(await instantValue(queryUrl, 'count(up)', at(40, 30))).toEqual(['5']);
    expect(await instantValue(queryUrl, 'count(demo_requests_total{path="/new"})', at(30, 0))).toEqual([]);
    expect(await instantValue(queryUrl, 'count(demo_requests_total{path="/new"})', at(40, 0))).toEqual(['1']);
  }, 60_000);

  it('answers series, labels and label values as Prometheus does', async () => {
    const windows = [
      { start: secs(at(60, 0)), end: secs(at(62, 0)) },
      { start: secs(T0), end: secs(T0 + 3 * DAY) },
    ];
    const calls: [string, Record<string, string | string[]>][] = [];
    for (const w of windows) {
      calls.push(
        ['/api/v1/series', { 'match[]': ['demo_requests_total', 'up'], ...w }],
        ['/api/v1/series', { 'match[]': ['{cluster="us",__name__=~"demo_request_duration.*"}'], ...w }],
        ['/api/v1/labels', w],
        ['/api/v1/labels', { 'match[]': ['demo_temperature_celsius'], ...w }],
        ['/api/v1/label/cluster/values', w],
        ['/api/v1/label/path/values', { 'match[]': ['demo_requests_total{cluster="eu"}'], ...w }],
        ['/api/v1/label/le/values', w],
      );
    }
    for (const [path, params] of calls) {
      const what = `${path} ${JSON.stringify(params)}`;
      const [got, want] = await Promise.all([ours(queryUrl, path, params, what), api(prom.url, path, params)]);
      expect(want.body.status, want.text).toBe('success');
      expect(want.body.data.length, what).toBeGreaterThan(0);
      expect(got.data, what).toEqual(want.body.data);
    }
    const w = windows[1];
    expect((await ours(queryUrl, '/api/v1/label/cluster/values', w, 'cluster values')).data).toEqual(['eu', 'us']);
    expect((await ours(queryUrl, '/api/v1/labels', w, 'labels')).data).toEqual(['__name__', 'cluster', 'code', 'instance', 'job', 'le', 'path', 'room']);
    const series = (await ours(queryUrl, '/api/v1/series', { 'match[]': 'up', ...w }, 'series')).data as Record<string, string>[];
    expect(series.map((s) => `${s.cluster}/${s.instance}`)).toEqual(['eu/a:9090', 'eu/b:9090', 'eu/c:9100', 'us/a:9090', 'us/b:9090', 'us/c:9100']);
  });

  it('gives the same answers from an S3 bucket holding the same blocks', async () => {
    const t0 = Date.now();
    // Copied and started in the background since the stack came up (see beforeAll).
    const { ids, copied, started, s3Store, s3Url } = await s3Side;
    expect((await blocksOf(s3Store)).map((b) => b.ulid)).toEqual(ids);
    expect(ids).toEqual([...euBlocks, ...usBlocks].sort());

    const instants = [INSTANTS[1], INSTANTS[3], INSTANTS[6]];
    let n = 0;
    for (const [name, q] of QUERIES) {
      const calls: [string, Record<string, string>][] = [
        ...instants.map((t): [string, Record<string, string>] => ['/api/v1/query', { query: q, time: secs(t) }]),
        ['/api/v1/query_range', { query: q, start: secs(RANGES[0].start), end: secs(RANGES[0].end), step: RANGES[0].step }],
      ];
      for (const [path, params] of calls) {
        const what = `S3 vs filesystem: ${name} ${JSON.stringify(params)}`;
        const [fromS3, fromFs] = await Promise.all([ours(s3Url, path, params, what), ours(queryUrl, path, params, what)]);
        expect(fromFs.data.result.length, what).toBeGreaterThan(0);
        expect(canonical(fromS3.data), what).toEqual(canonical(fromFs.data));
        n++;
      }
    }
    const series = { 'match[]': ['demo_requests_total', 'up'], start: secs(T0), end: secs(T0 + 3 * DAY) };
    expect((await ours(s3Url, '/api/v1/series', series, 'S3 series')).data).toEqual((await ours(queryUrl, '/api/v1/series', series, 'FS series')).data);
    console.log(`store e2e: S3: blocks copied in ${copied} ms, store up at ${started} ms (in the background), ${n} answers equal to the filesystem's ${Date.now() - t0} ms into the test`);
  }, 60_000);
});

describe('blocks appearing and disappearing while the store runs', () => {
  const t = at(11, 0);
  let apBlock = '';

  it('serves a block uploaded while running within one or two sync periods', async () => {
    expect(await instantValue(queryUrl, 'count(up{cluster="ap"})', t)).toEqual([]);
    const r = await runCli(['tools', 'bucket', 'backfill', '--objstore.config-file', fsConfig, '--label', 'cluster="ap"', join(dir, 'ap.om')]);
    expect(r.code, r.stderr).toBe(0);
    const ids = r.stdout.trim().split('\n');
    expect(ids).toHaveLength(1);
    apBlock = ids[0];
    const uploaded = Date.now();
    await waitFor(async () => (await blocksOf(store)).some((b) => b.ulid === apBlock), { timeoutMs: 3 * SYNC_MS, intervalMs: 50, what: 'the new block in /api/v1/blocks' });
    const seen = Date.now() - uploaded;
    // The query asks the store for Info every second (--endpoint.info-timeout): the new
    // external label set is known to it a second later at most.
    await waitFor(async () => (await instantValue(queryUrl, 'count(up{cluster="ap"})', t))[0] === '3', { timeoutMs: 3 * SYNC_MS + 1500, intervalMs: 100, what: 'count(up{cluster="ap"}) to be 3' });
    const queried = Date.now() - uploaded;
    console.log(`store e2e: new block served after ${seen} ms, queryable after ${queried} ms (sync period ${SYNC_MS} ms)`);
    expect(seen).toBeLessThanOrEqual(2 * SYNC_MS + 1000);
    expect(await instantValue(queryUrl, 'count(demo_requests_total{cluster="ap"})', t)).toEqual(['6']);
    expect(await instantValue(queryUrl, 'count(up)', t)).toEqual(['9']);
    expect((await ours(queryUrl, '/api/v1/label/cluster/values', {}, 'cluster values')).data).toEqual(['ap', 'eu', 'us']);
  }, 30_000);

  it('never serves a block without meta.json, and serves it once meta.json arrives', async () => {
    expect(apBlock).not.toBe('');
    const partial = ulid();
    await mkdir(join(bucketDir, partial, 'chunks'), { recursive: true });
    await cp(join(bucketDir, apBlock, 'index'), join(bucketDir, partial, 'index'));
    for (const f of await readdir(join(bucketDir, apBlock, 'chunks'))) await cp(join(bucketDir, apBlock, 'chunks', f), join(bucketDir, partial, 'chunks', f));
    // Two complete syncs after the partial block appeared.
    const before = await syncCount(store);
    await waitFor(async () => (await syncCount(store)) >= before + 2, { timeoutMs: 4 * SYNC_MS, what: 'two more syncs' });
    const served = (await blocksOf(store)).map((b) => b.ulid);
    expect(served).toContain(apBlock);
    expect(served).not.toContain(partial);
    expect(await readdir(join(dir, 'store-fs'))).not.toContain(partial);
    expect(await instantValue(queryUrl, 'count(up)', t)).toEqual(['9']);
    expect(store.logs()).not.toMatch(/loading block failed/);
    // With a meta.json the same files are a block like any other: only its absence kept
    // them out.
    const meta = JSON.parse(await readFile(join(bucketDir, apBlock, 'meta.json'), 'utf8')) as { ulid: string; compaction: { sources: string[] } };
    meta.ulid = partial;
    meta.compaction.sources = [partial];
    await writeFile(join(bucketDir, partial, 'meta.json.tmp'), JSON.stringify(meta));
    await rename(join(bucketDir, partial, 'meta.json.tmp'), join(bucketDir, partial, 'meta.json'));
    await waitFor(async () => (await blocksOf(store)).some((b) => b.ulid === partial), { timeoutMs: 3 * SYNC_MS, intervalMs: 50, what: 'the completed block in /api/v1/blocks' });
    await rm(join(bucketDir, partial), { recursive: true });
  }, 30_000);

  it('stops serving a deleted block within one or two sync periods', async () => {
    expect(apBlock).not.toBe('');
    // As a compactor deletes: meta.json first, then the rest.
    await rm(join(bucketDir, apBlock, 'meta.json'));
    const deleted = Date.now();
    await rm(join(bucketDir, apBlock), { recursive: true });
    await waitFor(async () => !(await blocksOf(store)).some((b) => b.ulid === apBlock), { timeoutMs: 3 * SYNC_MS, intervalMs: 50, what: 'the deleted block gone from /api/v1/blocks' });
    const gone = Date.now() - deleted;
    await waitFor(async () => (await instantValue(queryUrl, 'count(up{cluster="ap"})', t)).length === 0, { timeoutMs: 3 * SYNC_MS + 1500, what: 'count(up{cluster="ap"}) to be empty' });
    console.log(`store e2e: deleted block dropped after ${gone} ms`);
    expect(gone).toBeLessThanOrEqual(2 * SYNC_MS + 1000);
    expect(await instantValue(queryUrl, 'count(up)', t)).toEqual(['6']);
    await waitFor(async () => JSON.stringify((await ours(queryUrl, '/api/v1/label/cluster/values', {}, 'cluster values')).data) === '["eu","us"]', {
      timeoutMs: 3000,
      what: 'cluster values without ap',
    });
    // The local copy (meta.json, index-header) is removed too.
    expect(await readdir(join(dir, 'store-fs'))).not.toContain(apBlock);
    expect((await blocksOf(store)).map((b) => b.ulid)).toEqual([...euBlocks, ...usBlocks].sort());
  }, 30_000);
});

describe('store flags', () => {
  it('serves only [--min-time, --max-time]', async () => {
    // Off the block grid: the eu block [28h, 30h) and the us block [24h, 30h) straddle
    // --min-time, the eu block [42h, 44h) and the us block [42h, 48h) --max-time.
    const minTime = T0 + 29 * HOUR;
    const maxTime = T0 + 43 * HOUR;
    // Store and query side by side: the query is given the store's address beforehand.
    const limitedGrpc = await loopbackAddress();
    const [limited, q] = await Promise.all([
      startComponent(
        ['store', '--objstore.config-file', fsConfig, '--data-dir', join(dir, 'store-limited'), '--min-time', new Date(minTime).toISOString(), '--max-time', new Date(maxTime).toISOString()],
        { grpcAddress: limitedGrpc },
      ),
      startComponent(['query', '--endpoint', limitedGrpc, '--endpoint.info-timeout', '1s']),
    ]);
    extra.push(limited, q);
    const url = `http://${q.httpAddress}`;
    const info = await waitFor(
      async () => {
        const s = (await api(url, '/api/v1/stores')).body.data?.store?.[0];
        return s?.lastError === null ? (s as { minTime: number; maxTime: number }) : null;
      },
      { timeoutMs: 10_000, what: 'query to see the limited store' },
    );
    // The blocks' range clamped to the flags (Thanos BucketStore.TimeRange).
    expect([info.minTime, info.maxTime]).toEqual([minTime, maxTime]);
    // Only blocks overlapping the range are loaded: 8 of eu, 4 of us.
    const blocks = await blocksOf(limited);
    const all = await blocksOf(store);
    const overlapping = all.filter((b) => b.minTime <= maxTime && b.maxTime >= minTime);
    expect(overlapping.map((b) => b.thanos.labels.cluster).sort().join()).toBe('eu,eu,eu,eu,eu,eu,eu,eu,us,us,us,us');
    expect(blocks.map((b) => b.ulid)).toEqual(overlapping.map((b) => b.ulid));
    // Inside the range: Prometheus's answers; outside: nothing.
    await sameAsPrometheus(url, [at(30, 20), at(33, 22), at(40, 30), at(42, 30)], []);
    for (const time of [at(12, 0), at(28, 50), at(43, 20), at(60, 0)]) {
      expect(await instantValue(url, 'count(up)', time), `count(up) at ${rel(time)}`).toEqual([]);
      expect(await instantValue(url, 'sum(rate(demo_requests_total[5m]))', time)).toEqual([]);
    }
    // A range query across the limits: the store answers Series for [--min-time,
    // --max-time] only (Thanos clamps the request: pkg/store/bucket.go, Series), with the
    // whole chunks that overlap it. Both clusters' chunks are 2h-aligned (120 samples;
    // promtool cuts the us 6h blocks into three), so both have points from the chunk
    // [28h, 30h) to the chunk [42h, 44h): at 28h10m … 43h10m. The us blocks reach from
    // 24h to 48h, which must not show.
    const range = await ours(url, '/api/v1/query_range', { query: 'count by (cluster) (up)', start: secs(at(0, 10)), end: secs(at(71, 10)), step: '3600' }, 'range over the limits');
    const spans = (range.data.result as { metric: { cluster: string }; values: [number, string][] }[]).map((s) => [
      s.metric.cluster,
      rel(Math.round(s.values[0][0] * 1000)),
      rel(Math.round(s.values.at(-1)![0] * 1000)),
      s.values.length,
    ]);
    const span = [rel(at(28, 10)), rel(at(43, 10)), 16];
    expect(spans).toEqual([
      ['eu', ...span],
      ['us', ...span],
    ]);
  }, 60_000);

  it('shards by --selector.relabel-config and refuses Series over --store.grpc.series-sample-limit', async () => {
    const relabel = JSON.stringify([{ action: 'keep', source_labels: ['cluster'], regex: 'us' }]);
    const shardedGrpc = await loopbackAddress();
    const [sharded, q] = await Promise.all([
      startComponent(
        ['store', '--objstore.config-file', fsConfig, '--data-dir', join(dir, 'store-sharded'), '--selector.relabel-config', relabel, '--store.grpc.series-sample-limit', '20000'],
        { grpcAddress: shardedGrpc },
      ),
      startComponent(['query', '--endpoint', shardedGrpc, '--endpoint.info-timeout', '1s']),
    ]);
    extra.push(sharded, q);
    const url = `http://${q.httpAddress}`;
    await waitFor(async () => (await api(url, '/api/v1/stores')).body.data?.store?.[0]?.lastError === null, { timeoutMs: 10_000, what: 'query to see the sharded store' });
    expect((await blocksOf(sharded)).map((b) => b.ulid)).toEqual(usBlocks);
    expect((await api(url, '/api/v1/stores')).body.data.store[0].labelSets).toEqual([{ cluster: 'us' }]);
    // Small enough: 3 up series × 2h windows.
    expect(await instantValue(url, 'count by (cluster) (up)', at(33, 22))).toEqual(['3']);
    // 21 series × 3 days = ~90k samples of demo_requests_total: over the limit.
    const over = await api(url, '/api/v1/query_range', {
      query: 'sum(rate(demo_requests_total[5m]))',
      start: secs(RANGES[0].start),
      end: secs(RANGES[0].end),
      step: RANGES[0].step,
      partial_response: 'false',
    });
    expect(over.status, over.text).toBe(422);
    expect(over.body.error).toMatch(/limit/);
  }, 30_000);

  it('rejects bad flag values with a message naming the flag', async () => {
    const base = ['store', '--objstore.config-file', fsConfig, '--data-dir', join(dir, 'store-bad'), '--http-address', '127.0.0.1:0', '--grpc-address', '127.0.0.1:0'];
    const cases: [string[], RegExp][] = [
      [['--index-cache-size=lots'], /index-cache-size/],
      [['--sync-block-duration=often'], /sync-block-duration/],
      [['--min-time=2024-03-06T00:00:00Z', '--max-time=2024-03-05T00:00:00Z'], /--min-time .*--max-time/],
      [['--min-time=yesterday'], /min-time/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli([...base, ...args], { timeoutMs: 20_000 })));
    results.forEach((r, i) => {
      const what = cases[i][0].join(' ');
      expect(r.code, `${what}: ${r.stderr}`).toBe(1);
      expect(r.stderr, what).toMatch(cases[i][1]);
      expect(r.stderr.trim().split('\n').at(-1), what).toMatch(/^error: /);
    });
    // None of them got as far as creating the data dir.
    expect(existsSync(join(dir, 'store-bad'))).toBe(false);
  }, 30_000);
});
