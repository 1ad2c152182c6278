// query-frontend in front of a query: a Grafana dashboard of 12 range queries over the
// last 7 days, refreshed 10 times, once straight against the query and once through
// `thanos-ts query-frontend` (default flags: 24h split interval, 14 pieces in parallel,
// an IN-MEMORY results cache), A/B interleaved refresh by refresh, the side going first
// alternating. Printed: the dashboard's time per refresh on each side as a ratio (cold
// first refresh, warm ones after it), and the results cache's hit ratio.
//
// Data: 7 days of samples every 2 m for 3 jobs × 4 instances of a counter with 4 codes,
// a histogram of 6 buckets, a gauge and up (156 series, 786k samples), written once as
// day-long blocks by promtool (as a compactor leaves a week) into a FILESYSTEM bucket
// (node_modules/.cache/thanos-ts-bench/query-frontend-v2; delete it to regenerate) and
// served by `thanos-ts store` and
// `thanos-ts query`. The data lies in the past, as a dashboard's week mostly does; each
// refresh moves the dashboard's end by one minute, as Grafana's "now" moves between
// refreshes (its steps keep the aligned windows the same until a step boundary passes).
// One untimed refresh against the query first loads what the store reads on first use,
// so neither side pays it. The first answers of both sides are compared series by series.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { uploadBlock } from '@thanos-ts/block';
import { FilesystemBucket } from '@thanos-ts/objstore';
import { createBlocksFromOpenMetrics, freePort, LogBuffer, waitFor } from '@thanos-ts/testutil';
import { cacheDir, fmt, httpGet, median, scrapeMetrics, startThanosTs, table } from './util.mjs';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** 2024-05-06T00:00:00Z: fixed, so the cached bucket stays valid. */
const T0 = Date.UTC(2024, 4, 6);
const END = T0 + 7 * DAY;
const JOBS = ['api', 'web', 'db'];
const INSTANCES = 4;
/** Scrape interval of the generated data. */
const SCRAPE = 2 * MIN;
const CODES = ['200', '404', '500', '503'];
const LE = ['0.05', '0.1', '0.25', '0.5', '1', '+Inf'];
const REFRESHES = 10;
const BIN = fileURLToPath(new URL('../bin/thanos-ts', import.meta.url));

/** The dashboard: 12 panels, each asking for the whole week at Grafana's step for ~1000 points. */
const PANELS = [
  'sum by (job) (rate(http_requests_total[5m]))',
  'sum by (code) (rate(http_requests_total[5m]))',
  'sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))',
  'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))',
  'histogram_quantile(0.5, sum by (job, le) (rate(http_request_duration_seconds_bucket[5m])))',
  'avg by (job) (process_resident_memory_bytes)',
  'max by (instance) (process_resident_memory_bytes)',
  'topk(5, sum by (instance) (rate(http_requests_total[5m])))',
  'count by (job) (up == 1)',
  'sum(increase(http_requests_total[1h]))',
  'avg_over_time(sum(rate(http_requests_total[5m]))[30m:1m])',
  'rate(http_requests_total{job="api",instance="api-0",code="200"}[10m])',
];
const STEP_S = 600;

function openMetrics() {
  const lines = [];
  const steps = (7 * DAY) / SCRAPE;
  const fam = (name, type, series) => {
    lines.push(`# TYPE ${name} ${type}`);
    for (const [suffix, labels, value] of series) for (let i = 0; i < steps; i++) lines.push(`${name}${suffix}{${labels}} ${value(i)} ${(T0 + i * SCRAPE) / 1000}`);
  };
  const targets = JOBS.flatMap((job) => Array.from({ length: INSTANCES }, (_, k) => [job, `${job}-${k}`]));
  fam('http_requests', 'counter', targets.flatMap(([job, inst], t) => CODES.map((code, c) => ['_total', `job="${job}",instance="${inst}",code="${code}"`, (i) => i * (c + 1) * ((t % 7) + 1)])));
  fam('http_request_duration_seconds', 'histogram', [
    ...targets.flatMap(([job, inst], t) => LE.map((le, b) => ['_bucket', `job="${job}",instance="${inst}",le="${le}"`, (i) => i * (b + 1) + (t % 3)])),
    ...targets.map(([job, inst], t) => ['_count', `job="${job}",instance="${inst}"`, (i) => i * LE.length + (t % 3)]),
  ]);
  fam('process_resident_memory_bytes', 'gauge', targets.map(([job, inst], t) => ['', `job="${job}",instance="${inst}"`, (i) => 1e8 + ((i * 7919 + t * 104729) % 5e7)]));
  fam('up', 'gauge', targets.map(([job, inst]) => ['', `job="${job}",instance="${inst}"`, (i) => ((i + inst.length) % 997 === 0 ? 0 : 1)]));
  lines.push('# EOF');
  return lines.join('\n') + '\n';
}

async function bucket() {
  const dir = cacheDir('query-frontend-v2');
  const objstore = join(dir, 'fs.yml');
  const done = join(dir, 'done');
  if (existsSync(done)) return objstore;
  const bucketDir = join(dir, 'bucket');
  mkdirSync(bucketDir, { recursive: true });
  writeFileSync(objstore, `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`);
  // Day-long blocks, as a compactor leaves a week of data.
  const local = join(dir, 'blocks');
  mkdirSync(local, { recursive: true });
  const bkt = new FilesystemBucket(bucketDir);
  for (const id of await createBlocksFromOpenMetrics(openMetrics(), local, { maxBlockDuration: '24h' })) {
    await uploadBlock(bkt, join(local, id), {
      mutateMeta: (m) => {
        m.thanos.labels = { cluster: 'bench' };
        m.thanos.source = 'bucket.upload';
      },
    });
  }
  rmSync(local, { recursive: true, force: true });
  writeFileSync(done, '');
  return objstore;
}

/** `thanos-ts query-frontend` on a free port (it has no gRPC address, so not startThanosTs). */
async function startFrontend(downstream) {
  const addr = `127.0.0.1:${await freePort()}`;
  const log = new LogBuffer(64 * 1024);
  const cache = 'type: IN-MEMORY\nconfig:\n  max_size: 512MB\n';
  const proc = spawn(process.execPath, [BIN, 'query-frontend', `--http-address=${addr}`, `--query-frontend.downstream-url=${downstream}`, '--query-range.response-cache-config', cache], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.setEncoding('utf8').on('data', (d) => log.append(d));
  proc.stderr.setEncoding('utf8').on('data', (d) => log.append(d));
  const kill = () => proc.kill('SIGKILL');
  process.once('exit', kill);
  const died = new AbortController();
  proc.once('exit', (code, sig) => died.abort(new Error(`query-frontend exited (${code ?? sig})\n${log.toString()}`)));
  await waitFor(async () => (await fetch(`http://${addr}/-/ready`)).status === 200, { what: 'query-frontend ready', timeoutMs: 30_000, signal: died.signal });
  return {
    url: `http://${addr}`,
    stop: async () => {
      process.removeListener('exit', kill);
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** One dashboard refresh: every panel at once, as Grafana asks; ms until the last answer. */
async function refresh(base, agent, end) {
  const endS = Math.floor(end / 1000 / STEP_S) * STEP_S;
  const startS = endS - 7 * 24 * 3600;
  const t0 = performance.now();
  const answers = await Promise.all(
    PANELS.map(async (q) => {
      const r = await httpGet(`${base}/api/v1/query_range?${new URLSearchParams({ query: q, start: String(startS), end: String(end / 1000), step: String(STEP_S) })}`, agent);
      if (r.status !== 200) throw new Error(`${q}: ${r.status} ${r.body.toString().slice(0, 300)}`);
      return JSON.parse(r.body.toString());
    }),
  );
  return { ms: performance.now() - t0, answers };
}

function sameAnswers(a, b) {
  const key = (body) => new Map(body.data.result.map((s) => [JSON.stringify(Object.entries(s.metric).sort()), JSON.stringify(s.values)]));
  for (let i = 0; i < a.length; i++) {
    const x = key(a[i]);
    const y = key(b[i]);
    if (x.size !== y.size || [...x].some(([k, v]) => y.get(k) !== v)) return `panel ${i} (${PANELS[i]}) differs`;
  }
  return null;
}

export async function run() {
  const objstore = await bucket();
  const store = await startThanosTs('store', ['store', '--objstore.config-file', objstore, '--data-dir', join(cacheDir('query-frontend-v2'), 'store-data')]);
  const query = await startThanosTs('query', ['query', '--endpoint', store.grpc, '--endpoint.info-timeout', '1s']);
  const frontend = await startFrontend(query.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 6 });
  try {
    // Untimed: the store's first reads (index-headers, postings) so neither side pays them.
    await refresh(query.url, agent, END);
    const direct = [];
    const through = [];
    let mismatch = null;
    for (let i = 0; i < REFRESHES; i++) {
      // Grafana's "now": the data's end, one minute later each refresh.
      const end = END - (REFRESHES - 1 - i) * MIN;
      const sides = i % 2 === 0 ? ['direct', 'frontend'] : ['frontend', 'direct'];
      const got = {};
      for (const s of sides) got[s] = await refresh(s === 'direct' ? query.url : frontend.url, agent, end);
      direct.push(got.direct.ms);
      through.push(got.frontend.ms);
      if (i === 0) mismatch = sameAnswers(got.direct.answers, got.frontend.answers);
    }
    const m = await scrapeMetrics(`${frontend.url}/metrics`);
    const sum = (name) => [...m].filter(([k]) => k.startsWith(name + '{') || k === name).reduce((a, [, v]) => a + v, 0);
    const fetched = sum('cortex_cache_fetched_keys_total');
    const hits = sum('cortex_cache_hits_total');
    const warmDirect = median(direct.slice(1));
    const warmThrough = median(through.slice(1));
    table([
      ['dashboard (12 panels × 7d, step 10m)', 'query', 'through query-frontend', 'frontend / query'],
      ['first refresh (cold cache)', `${fmt(direct[0])} ms`, `${fmt(through[0])} ms`, `${(through[0] / direct[0]).toFixed(2)}×`],
      [`refreshes 2–${REFRESHES} (median)`, `${fmt(warmDirect)} ms`, `${fmt(warmThrough)} ms`, `${(warmThrough / warmDirect).toFixed(3)}×`],
      [`all ${REFRESHES} refreshes (total)`, `${fmt(direct.reduce((a, b) => a + b, 0))} ms`, `${fmt(through.reduce((a, b) => a + b, 0))} ms`, `${(through.reduce((a, b) => a + b, 0) / direct.reduce((a, b) => a + b, 0)).toFixed(3)}×`],
    ]);
    console.log(`\nresults cache: ${hits} hits of ${fetched} lookups (hit ratio ${(hits / Math.max(1, fetched)).toFixed(3)}); answers ${mismatch === null ? 'equal' : 'DIFFER: ' + mismatch}`);
  } finally {
    agent.destroy();
    await frontend.stop();
    await query.stop();
    await store.stop();
  }
}
