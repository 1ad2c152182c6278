// The load drill: LOAD_CLIENTS (20) concurrent HTTP clients issue a mix of range queries
// for LOAD_SECONDS (30) against `thanos-ts query` and for as long against a real
// Prometheus (2.42) holding the same samples, interleaved in rounds of LOAD_ROUND_SECONDS
// (10): thanos-ts, Prometheus, thanos-ts, … Per target: requests/s, p50/p99/max latency,
// errors; the peak RSS of every thanos-ts process and of each Prometheus; the latency of
// /-/healthy polled every 200 ms during the load (a busy querier must still answer its
// health checks); the CPU seconds every process used in each target's rounds (CPU per
// request is steadier than latency on a shared machine); and after the load, whether both
// answer a few queries identically.
// THANOS_TS_BIN runs another build's bin/thanos-ts (e.g. a worktree of an older commit);
// LOAD_QUERY_FLAGS adds flags to `thanos-ts query`; LOAD_PODS scales the data (560 series
// at 20).
//
// Data. One exporter (in this process) serves PODS pods' worth of series: a counter
// http_requests_total{pod,path,code} (5 paths × 3 codes), a classic histogram
// http_request_duration_seconds{pod,le} (10 buckets, _sum, _count) and a gauge
// queue_depth{pod}: 560 series at the default 20 pods. Every sample carries an explicit
// timestamp on a 15 s grid and a value that is a function of that timestamp (counters
// grow by pseudo-random increments, histogram buckets stay cumulative), so every
// Prometheus scraping it (every 5 s) stores identical samples whenever it scrapes.
// The exporter serves nothing before T_live (setup start + LOAD_SETUP_MARGIN, 30 s, on
// the grid); the HISTORY (6h30m) before T_live is written once as OpenMetrics (with the
// job and instance labels a scrape adds) and turned into 2h blocks by promtool:
//   - replicas 0 and 1 (external labels cluster="c0", replica="0"/"1") start empty and
//     each gets a thanos-ts sidecar: their heads hold the samples from T_live on;
//   - their older blocks (a second promtool run for replica 1, so that the ULIDs differ)
//     are uploaded to a FILESYSTEM bucket with those external labels, as their sidecars
//     would have shipped them, and `thanos-ts store` serves it: the store answers
//     everything before T_live, the sidecars everything after;
//   - the reference Prometheus (a third replica of the cluster, replica="ref") scrapes the
//     same exporter and has the history backfilled into its TSDB directory before it
//     starts, so it alone holds exactly the samples thanos-ts query sees through the
//     store and the two sidecars. It is a third process rather than replica 0 because our
//     sidecar has no --min-time: beside replica 0 it would serve that history a second
//     time, overlapping the store. Prometheus runs with 2h min = max block durations (no
//     compaction) and is loaded only in its own rounds (replicas 0 and 1 serve the
//     sidecars' remote reads in the thanos-ts rounds).
// `thanos-ts query` runs over the two sidecars and the store with --query.replica-label
// replica (dedup on, the penalty algorithm), default flags otherwise (20 concurrent queries,
// as Prometheus's --query.max-concurrency).
//
// Queries. Each client draws from a PRNG seeded by its number (the same sequence for both
// targets) one of QUERIES and one of RANGES (1h, 3h, 6h; 100–900 points), ending at the
// current second minus 0.5 s: evaluation times never fall on a sample (Prometheus 2.42's
// closed range selectors and our 3.x left-open ones then agree). A request counts from
// sending to the last byte of the body; an error is a failed connection, a timeout
// (LOAD_TIMEOUT_SECONDS, 60), an HTTP status other than 200 or a body without
// "status":"success". A round stops issuing at its end and waits for what is in flight;
// requests/s divides by the rounds' time including that drain.
//
// Answers, after the load: every query shape over a 1h range at 15 s and a 6h range at
// 60 s, ending 30 s ago, through thanos-ts (dedup=true, partial_response=false, the
// external label cluster dropped) and the reference Prometheus: the same series, the same
// timestamps, values equal within 1e-9 relative (Prometheus 2.42 sums naively, our engine
// with compensation).
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { uploadBlock } from '@thanos-ts/block';
import { FilesystemBucket } from '@thanos-ts/objstore';
import { promtool, removeTempDirs, startExporter, startPrometheus, waitFor } from '@thanos-ts/testutil';
import { cleanup, cpuSeconds, descendants, envNum, fmtBytes, pidOfPrometheus, procMemory, rng, startThanosTs, table, tmp } from './util.mjs';

const BIN = process.env.THANOS_TS_BIN || fileURLToPath(new URL('../bin/thanos-ts', import.meta.url));
const CLIENTS = envNum('LOAD_CLIENTS', 20);
const LOAD_S = envNum('LOAD_SECONDS', 30);
const ROUND_S = envNum('LOAD_ROUND_SECONDS', 10);
const TIMEOUT_MS = envNum('LOAD_TIMEOUT_SECONDS', 60) * 1000;
/** Seconds from setup start to T_live: enough to write the history and start the reference Prometheus. */
const SETUP_MARGIN_S = envNum('LOAD_SETUP_MARGIN', 30);
const PODS = envNum('LOAD_PODS', 20);
/** Extra flags for `thanos-ts query`, space-separated (e.g. "--query.workers=-1"). */
const QUERY_FLAGS = (process.env.LOAD_QUERY_FLAGS ?? '').split(/\s+/).filter(Boolean);

const GRID_MS = 15_000;
const SCRAPE_INTERVAL = '5s';
const HISTORY_MS = 6.5 * 3600_000;
const HEALTH_EVERY_MS = 200;
const RSS_EVERY_MS = 500;
const CLUSTER = 'c0';

const PATHS = ['/api/users', '/api/orders', '/api/search', '/static', '/login'];
const CODES = ['200', '404', '500'];
const LES = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];
/** Share of a pod's requests at or below each bucket's bound (cumulative, ends at 1). */
const LE_SHARE = [0.02, 0.05, 0.12, 0.25, 0.45, 0.65, 0.8, 0.9, 0.97, 1];

/** The query mix: POD is replaced by a pod the client draws. */
const QUERIES = [
  ['rate', 'rate(http_requests_total{pod="POD"}[5m])'],
  ['sum by', 'sum by (code) (rate(http_requests_total[5m]))'],
  ['histogram_quantile', 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))'],
  ['histogram_quantile by pod', 'histogram_quantile(0.9, sum by (le, pod) (rate(http_request_duration_seconds_bucket{pod=~"pod-1.*"}[5m])))'],
  ['topk', 'topk(5, sum by (pod) (rate(http_requests_total[5m])))'],
  ['avg_over_time', 'avg_over_time(queue_depth[10m])'],
  ['regex', 'sum by (pod) (rate(http_requests_total{path=~"/api/.+",code!~"5.."}[5m]))'],
  ['count by', 'count by (code) (rate(http_requests_total[5m]) > 5)'],
];
/** Range (s) and step (s) of a request: 100 to 900 points. */
const RANGES = [
  [3600, 6],
  [3600, 15],
  [3 * 3600, 12],
  [3 * 3600, 30],
  [6 * 3600, 60],
  [6 * 3600, 216],
];
/** The ranges of the answers check. */
const CHECK_RANGES = [
  [3600, 15],
  [6 * 3600, 60],
];

export async function run() {
  if (!existsSync(BIN)) throw new Error(`THANOS_TS_BIN: ${BIN} does not exist`);
  const dir = tmp('load');
  const stoppers = [];
  const stopAll = async () => {
    for (const s of stoppers.reverse()) await s().catch((e) => console.log(`stop: ${e.message}`));
  };
  try {
    const setupT0 = Date.now();
    const tLive = Math.ceil((setupT0 + SETUP_MARGIN_S * 1000) / GRID_MS) * GRID_MS;
    const series = seriesList();
    const exporter = await startExporter(() => exposition(series, tLive));
    stoppers.push(() => exporter.stop());

    // Replicas 0 and 1 start now, empty: their heads begin at T_live.
    const promCfg = { scrape_configs: [{ job_name: 'exporter', static_configs: [{ targets: [exporter.target] }] }] };
    const startReplica = (replica, dataDir) =>
      startPrometheus({ dataDir, config: promCfg, scrapeSelf: false, scrapeInterval: SCRAPE_INTERVAL, blockDuration: '2h', externalLabels: { cluster: CLUSTER, replica } });
    const replicasP = Promise.all(
      ['0', '1'].map((r) => {
        mkdirSync(join(dir, `replica-${r}`));
        return startReplica(r, join(dir, `replica-${r}`));
      }),
    );

    // The history, then the reference Prometheus over it (the critical path to T_live).
    let t = performance.now();
    const om = join(dir, 'history.om');
    const samples = writeHistory(om, series, exporter.target, tLive);
    const genMs = performance.now() - t;
    t = performance.now();
    const refData = join(dir, 'ref-data');
    mkdirSync(refData);
    await createBlocks(om, refData);
    const promtoolMs = performance.now() - t;
    const ref = await startReplica('ref', refData);
    stoppers.push(() => ref.stop());
    const refReadyAt = Date.now();
    const replicas = await replicasP;
    for (const p of replicas) stoppers.push(() => p.stop());
    if (refReadyAt > tLive - GRID_MS / 3) {
      throw new Error(`setup: the reference Prometheus was ready ${((refReadyAt - tLive) / 1000).toFixed(1)} s after T_live - 5 s; raise LOAD_SETUP_MARGIN (now ${SETUP_MARGIN_S})`);
    }

    // The bucket: each replica's history as its sidecar would have shipped it. Replica 0's
    // blocks are the reference's (upload only reads them); replica 1's come from a second
    // promtool run, so that their ULIDs differ.
    t = performance.now();
    const bucketDir = join(dir, 'bucket');
    mkdirSync(bucketDir);
    const bkt = new FilesystemBucket(bucketDir);
    let bucketBlocks = 0;
    const upload = async (local, replica) => {
      for (const id of readdirSync(local).filter((f) => /^[0-9A-Z]{26}$/.test(f))) {
        await uploadBlock(bkt, join(local, id), {
          mutateMeta: (m) => {
            m.thanos.labels = { cluster: CLUSTER, replica };
            m.thanos.source = 'sidecar';
          },
        });
        bucketBlocks++;
      }
    };
    const blocks1 = join(dir, 'blocks-1');
    mkdirSync(blocks1);
    await Promise.all([upload(refData, '0'), createBlocks(om, blocks1).then(() => upload(blocks1, '1'))]);
    await bkt.close();
    const bucketMs = performance.now() - t;
    cleanup(om);

    // thanos-ts: store gateway, two sidecars, query.
    t = performance.now();
    const objstore = join(dir, 'objstore.yml');
    writeFileSync(objstore, `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`);
    const [store, sc0, sc1] = await Promise.all([
      startComponent('store', ['store', `--objstore.config-file=${objstore}`, `--data-dir=${join(dir, 'store-data')}`]),
      startComponent('sidecar 0', ['sidecar', `--prometheus.url=${replicas[0].url}`, `--tsdb.path=${replicas[0].dataDir}`]),
      startComponent('sidecar 1', ['sidecar', `--prometheus.url=${replicas[1].url}`, `--tsdb.path=${replicas[1].dataDir}`]),
    ]);
    stoppers.push(() => store.stop(), () => sc0.stop(), () => sc1.stop());
    const query = await startComponent('query', ['query', ...[sc0, sc1, store].flatMap((c) => ['--endpoint', c.grpc]), '--query.replica-label=replica', ...QUERY_FLAGS]);
    stoppers.push(() => query.stop());
    await waitFor(
      async () => {
        const body = await (await fetch(`${query.url}/api/v1/stores`)).json();
        const all = Object.values(body.data ?? {}).flat();
        return all.length >= 3 && all.every((s) => s.lastError === null || s.lastError === undefined);
      },
      { what: 'query to see its three endpoints', timeoutMs: 30_000 },
    );
    const thanosMs = performance.now() - t;

    // Some head data in every replica: a grid step past T_live, and a scrape of it.
    const headFrom = tLive + GRID_MS + 6000;
    if (Date.now() < headFrom) await sleep(headFrom - Date.now());
    const promPids = {
      'Prometheus reference (queried)': pidOfPrometheus(ref.port),
      'Prometheus replica 0 (behind sidecar 0)': pidOfPrometheus(replicas[0].port),
      'Prometheus replica 1 (behind sidecar 1)': pidOfPrometheus(replicas[1].port),
    };
    const thanosPids = { query: query.pid, store: store.pid, 'sidecar 0': sc0.pid, 'sidecar 1': sc1.pid };
    console.log(
      `bin: ${BIN}${QUERY_FLAGS.length ? ` (query ${QUERY_FLAGS.join(' ')})` : ''}\n${series.length} series × ${samples / series.length} samples of history (${(samples / 1e6).toFixed(2)}M; OpenMetrics ${(genMs / 1000).toFixed(1)} s, promtool ${(promtoolMs / 1000).toFixed(1)} s) ` +
        `before T_live ${new Date(tLive).toISOString()}, then live scrapes every ${SCRAPE_INTERVAL} of a ${GRID_MS / 1000} s grid; ` +
        `bucket ${bucketBlocks} blocks (2 replicas, ${(bucketMs / 1000).toFixed(1)} s); thanos-ts up in ${(thanosMs / 1000).toFixed(1)} s; setup ${((Date.now() - setupT0) / 1000).toFixed(1)} s`,
    );
    console.log(`${CLIENTS} clients × ${LOAD_S} s per target, rounds of ${ROUND_S} s alternating thanos-ts query and the reference Prometheus`);
    console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} before the load (everything here shares them)\n`);

    const targets = [
      { name: 'thanos-ts query', url: query.url, extra: '&dedup=true' },
      { name: 'Prometheus', url: ref.url, extra: '' },
    ];

    // Warm-up: every query once per target (untimed); an error here is printed, not fatal.
    const warmAgent = newAgent(1);
    for (const tg of targets) {
      for (const [name, q] of QUERIES) {
        const r = await request(tg, urlFor(tg, q.replace('POD', 'pod-1'), 3600, 15, Date.now()), warmAgent);
        if (r.error) console.log(`warm-up ${tg.name} ${name}: ${r.error}`);
      }
    }
    warmAgent.destroy();

    // Memory before the load, then sampled through it.
    const allPids = { ...thanosPids, ...promPids };
    const rssBefore = Object.fromEntries(Object.entries(allPids).map(([k, pid]) => [k, memOf(pid).rss]));
    const rssMax = Object.fromEntries(Object.keys(allPids).map((k) => [k, 0]));
    const extraPids = new Map();
    const sampleRss = () => {
      for (const [k, pid] of Object.entries(allPids)) rssMax[k] = Math.max(rssMax[k], memOf(pid).rss || 0);
      for (const [k, pid] of Object.entries(thanosPids)) for (const c of descendants(pid)) extraPids.set(c, `${k} child ${c}`);
    };
    const rssTimer = setInterval(sampleRss, RSS_EVERY_MS);

    const health = startHealthPoller([
      { name: 'query /-/healthy', url: `${query.url}/-/healthy` },
      { name: 'Prometheus /-/healthy', url: `${ref.url}/-/healthy` },
    ]);
    stoppers.push(() => health.terminate());

    // The load, in alternating rounds.
    const stats = new Map(targets.map((tg) => [tg.name, newStats()]));
    const clientRngs = new Map(targets.map((tg) => [tg.name, Array.from({ length: CLIENTS }, (_, c) => rng(1000 + c))]));
    const rounds = [];
    // CPU seconds of every process, split by the target whose round it was.
    const cpu = new Map(targets.map((tg) => [tg.name, Object.fromEntries(Object.keys(allPids).map((k) => [k, 0]))]));
    for (let done = 0; done < LOAD_S * 1000 - 1; done += ROUND_S * 1000) {
      const ms = Math.min(ROUND_S * 1000, LOAD_S * 1000 - done);
      for (const tg of targets) {
        const cpu0 = Object.fromEntries(Object.entries(allPids).map(([k, pid]) => [k, cpuSeconds(pid)]));
        const r = await loadRound(tg, ms, clientRngs.get(tg.name), stats.get(tg.name));
        for (const [k, pid] of Object.entries(allPids)) cpu.get(tg.name)[k] += cpuSeconds(pid) - cpu0[k];
        rounds.push({ target: tg.name, ...r });
      }
    }
    clearInterval(rssTimer);
    sampleRss();
    const healthSamples = await health.stop();

    const peak = Object.fromEntries(Object.entries(allPids).map(([k, pid]) => [k, memOf(pid).peak]));
    for (const [pid, name] of extraPids) peak[name] = memOf(pid).peak;

    // Results.
    const rows = [['target', 'requests', 'requests/s', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'with warnings', 'MB received']];
    const json = { bin: BIN, clients: CLIENTS, seconds: LOAD_S, roundSeconds: ROUND_S, series: series.length, targets: {} };
    for (const tg of targets) {
      const s = stats.get(tg.name);
      const wall = rounds.filter((r) => r.target === tg.name).reduce((a, r) => a + r.ms, 0);
      const lat = [...s.latencies].sort((a, b) => a - b);
      const n = s.latencies.length + s.errors;
      const fig = { requests: n, rps: n / (wall / 1000), p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), max: lat.length ? lat[lat.length - 1] : NaN, errors: s.errors, warnings: s.warnings };
      json.targets[tg.name] = { ...fig, errorKinds: Object.fromEntries(s.errorKinds), bytes: s.bytes, wallMs: Math.round(wall) };
      rows.push([tg.name, n, fig.rps.toFixed(1), fig.p50.toFixed(0), fig.p99.toFixed(0), fig.max.toFixed(0), fig.errors, fig.warnings, (s.bytes / 1e6).toFixed(1)]);
    }
    table(rows);
    const [tq, tp] = targets.map((tg) => json.targets[tg.name]);
    console.log(`\nthanos-ts / Prometheus: requests/s ${(tq.rps / tp.rps).toFixed(3)}, p50 ${(tq.p50 / tp.p50).toFixed(1)}×, p99 ${(tq.p99 / tp.p99).toFixed(1)}×`);
    for (const tg of targets) {
      const s = stats.get(tg.name);
      if (s.errors > 0) console.log(`${tg.name} errors: ${[...s.errorKinds].map(([k, v]) => `${v}× ${k}`).join('; ')}`);
    }

    console.log('\nper query (p50 ms, all ranges):\n');
    const qrows = [['query', 'thanos-ts n', 'thanos-ts p50', 'Prometheus n', 'Prometheus p50', 'ratio']];
    for (const [name] of QUERIES) {
      const [a, b] = targets.map((tg) => [...(stats.get(tg.name).byQuery.get(name) ?? [])].sort((x, y) => x - y));
      qrows.push([name, a.length, quantile(a, 0.5).toFixed(0), b.length, quantile(b, 0.5).toFixed(0), (quantile(a, 0.5) / quantile(b, 0.5)).toFixed(1)]);
    }
    table(qrows);

    console.log(`\nrounds: ${rounds.map((r) => `${r.target === targets[0].name ? 'T' : 'P'} ${(r.ms / 1000).toFixed(1)}s/${r.requests}`).join(', ')}`);

    console.log(`\n/-/healthy polled every ${HEALTH_EVERY_MS} ms (fresh connection each; from a worker thread):\n`);
    const hrows = [['endpoint', 'during', 'polls', 'p50 ms', 'p99 ms', 'max ms', 'failed']];
    json.health = {};
    for (const ep of ['query /-/healthy', 'Prometheus /-/healthy']) {
      for (const tg of targets) {
        const inRounds = healthSamples.filter((h) => h.name === ep && rounds.some((r) => r.target === tg.name && h.t >= r.t0 && h.t < r.t1));
        const lat = inRounds.map((h) => h.ms).sort((a, b) => a - b);
        const failed = inRounds.filter((h) => !h.ok).length;
        json.health[`${ep} during ${tg.name}`] = { polls: lat.length, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), max: lat.at(-1) ?? NaN, failed };
        hrows.push([ep, `${tg.name} rounds`, lat.length, quantile(lat, 0.5).toFixed(1), quantile(lat, 0.99).toFixed(1), (lat.at(-1) ?? NaN).toFixed(1), failed]);
      }
    }
    table(hrows);

    console.log('\nmemory (RSS from /proc):\n');
    const mrows = [['process', 'pid', 'RSS before load', 'max RSS during load', 'peak RSS (VmHWM, lifetime)']];
    json.memory = {};
    for (const [k, pid] of Object.entries(allPids)) {
      mrows.push([k, pid, fmtBytes(rssBefore[k]), fmtBytes(rssMax[k]), fmtBytes(peak[k])]);
      json.memory[k] = { before: rssBefore[k], maxDuringLoad: rssMax[k], peak: peak[k] };
    }
    for (const [pid, name] of extraPids) mrows.push([name, pid, '', '', fmtBytes(peak[name])]);
    table(mrows);

    // CPU per request: what a request cost the whole stack behind each target (the
    // thanos-ts processes and the replicas their sidecars read; the reference Prometheus).
    console.log(`\nCPU seconds (utime + stime from /proc) used in each target's rounds:\n`);
    const crows = [['process', ...targets.map((tg) => `in ${tg.name} rounds`)]];
    for (const k of Object.keys(allPids)) crows.push([k, ...targets.map((tg) => cpu.get(tg.name)[k].toFixed(1))]);
    const stackOf = { [targets[0].name]: [...Object.keys(thanosPids), 'Prometheus replica 0 (behind sidecar 0)', 'Prometheus replica 1 (behind sidecar 1)'], [targets[1].name]: ['Prometheus reference (queried)'] };
    json.cpuMsPerRequest = {};
    const perReq = targets.map((tg) => {
      const sec = stackOf[tg.name].reduce((a, k) => a + cpu.get(tg.name)[k], 0);
      const ms = (sec * 1000) / Math.max(1, json.targets[tg.name].requests);
      json.cpuMsPerRequest[tg.name] = ms;
      return ms.toFixed(0);
    });
    crows.push(['CPU ms per request of the target\'s stack', ...perReq]);
    table(crows);
    json.cpuSeconds = Object.fromEntries([...cpu].map(([k, v]) => [k, v]));

    // Answers.
    const checks = [];
    const evalEnd = Date.now() - 30_000;
    for (const [name, q] of QUERIES) {
      for (const [range, step] of CHECK_RANGES) {
        const qq = q.replace('POD', 'pod-3');
        const [a, b] = await Promise.all(targets.map((tg) => fetchJson(urlFor(tg, qq, range, step, evalEnd) + (tg.extra ? '&partial_response=false' : ''))));
        checks.push({ what: `${name} ${range / 3600}h@${step}s`, diff: compareAnswers(a, b) });
      }
    }
    const equal = checks.filter((c) => c.diff === null).length;
    console.log(`\nanswers equal: ${equal}/${checks.length}`);
    for (const c of checks) if (c.diff !== null) console.log(`  ${c.what}: ${c.diff}`);
    json.answersEqual = `${equal}/${checks.length}`;
    console.log(`\n${JSON.stringify(json)}`);
  } finally {
    await stopAll();
    cleanup(dir);
    // The prometheus.yml directories startPrometheus made.
    await removeTempDirs();
  }
}

// ---- data ----

/** A 32-bit hash of a grid index and a series number: the noise of the values. */
function mix(n, i) {
  let x = Math.imul(n ^ Math.imul(i + 1, 0x9e3779b1), 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * Every series as its name, labels (without job and instance) and value at grid index n
 * (timestamp / GRID_MS). Counters grow by 1..2k-1 per step (k distinct per pod, so no two
 * pods tie in topk); bucket counts are shares of a pod's request counter, cumulative in le.
 */
function seriesList() {
  const out = [];
  let id = 0;
  const podsTotal = [];
  for (let p = 0; p < PODS; p++) {
    const pod = `pod-${p}`;
    for (const [pi, path] of PATHS.entries()) {
      for (const [ci, code] of CODES.entries()) {
        const k = 5 + p * 13 + pi * 3 + ci;
        const i = id++;
        out.push({ type: 'counter', name: 'http_requests_total', labels: `code="${code}",path="${path}",pod="${pod}"`, value: (n) => n * k + (mix(n, i) % k) });
      }
    }
    const kp = 20 + 3 * p;
    const i = id++;
    podsTotal.push((n) => n * kp + (mix(n, i) % kp));
  }
  // Grouped by name: the OpenMetrics history needs each name's lines together.
  for (let p = 0; p < PODS; p++) {
    for (const [j, le] of LES.entries()) {
      out.push({ type: 'histogram', name: 'http_request_duration_seconds_bucket', labels: `le="${le}",pod="pod-${p}"`, value: (n) => Math.floor(podsTotal[p](n) * LE_SHARE[j]) });
    }
  }
  for (let p = 0; p < PODS; p++) {
    out.push({ type: 'histogram', name: 'http_request_duration_seconds_sum', labels: `pod="pod-${p}"`, value: (n) => Math.round(podsTotal[p](n) * 0.187 * 1000) / 1000 });
  }
  for (let p = 0; p < PODS; p++) out.push({ type: 'histogram', name: 'http_request_duration_seconds_count', labels: `pod="pod-${p}"`, value: podsTotal[p] });
  for (let p = 0; p < PODS; p++) {
    const i = id++;
    out.push({ type: 'gauge', name: 'queue_depth', labels: `pod="pod-${p}"`, value: (n) => (mix(n, i) % 50) + p });
  }
  return out;
}

const FAMILY = { counter: 'http_requests_total', histogram: 'http_request_duration_seconds', gauge: 'queue_depth' };

/** The exposition at the current grid step (explicit timestamps), empty before T_live. */
function exposition(series, tLive) {
  const ts = Math.floor(Date.now() / GRID_MS) * GRID_MS;
  if (ts < tLive) return '';
  const n = ts / GRID_MS;
  let out = '';
  let type = '';
  for (const s of series) {
    if (s.type !== type) {
      type = s.type;
      out += `# TYPE ${FAMILY[type]} ${type}\n`;
    }
    out += `${s.name}{${s.labels}} ${s.value(n)} ${ts}\n`;
  }
  return out;
}

/**
 * The history before T_live as OpenMetrics (timestamps in seconds), series after series,
 * with the labels a scrape of the exporter adds. Families as `unknown` (what promtool needs
 * is contiguity, not types). Returns the number of samples.
 */
function writeHistory(file, series, target, tLive) {
  const n1 = tLive / GRID_MS;
  const n0 = n1 - HISTORY_MS / GRID_MS;
  const fd = openSync(file, 'w');
  let count = 0;
  try {
    let buf = '';
    let name = '';
    for (const s of series) {
      if (s.name !== name) {
        name = s.name;
        buf += `# TYPE ${name} unknown\n`;
      }
      const prefix = `${s.name}{${s.labels},instance="${target}",job="exporter"} `;
      for (let n = n0; n < n1; n++) {
        buf += `${prefix}${s.value(n)} ${(n * GRID_MS) / 1000}\n`;
        count++;
        if (buf.length > 1 << 20) {
          writeSync(fd, buf);
          buf = '';
        }
      }
    }
    writeSync(fd, buf + '# EOF\n');
  } finally {
    closeSync(fd);
  }
  return count;
}

async function createBlocks(om, out) {
  const r = await promtool(['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', om, out], { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`promtool create-blocks-from openmetrics: ${r.stderr || r.stdout}`);
}

// ---- load ----

function newStats() {
  return { latencies: [], errors: 0, warnings: 0, bytes: 0, errorKinds: new Map(), byQuery: new Map() };
}

function newAgent(n) {
  return new http.Agent({ keepAlive: true, maxSockets: n });
}

function urlFor(tg, q, rangeS, stepS, nowMs) {
  const end = Math.floor(nowMs / 1000) - 0.5;
  return `${tg.url}/api/v1/query_range?query=${encodeURIComponent(q)}&start=${end - rangeS}&end=${end}&step=${stepS}${tg.extra}`;
}

/** One round: CLIENTS loops until `ms` have passed, then the drain of what is in flight. */
async function loadRound(tg, ms, rngs, stats) {
  const agent = newAgent(CLIENTS);
  const t0 = Date.now();
  const deadline = t0 + ms;
  let requests = 0;
  const client = async (c) => {
    const rand = rngs[c];
    while (Date.now() < deadline) {
      const [name, q] = QUERIES[Math.floor(rand() * QUERIES.length)];
      const [range, step] = RANGES[Math.floor(rand() * RANGES.length)];
      const pod = `pod-${Math.floor(rand() * PODS)}`;
      const r = await request(tg, urlFor(tg, q.replace('POD', pod), range, step, Date.now()), agent);
      requests++;
      stats.bytes += r.bytes;
      if (r.error) {
        stats.errors++;
        stats.errorKinds.set(r.error, (stats.errorKinds.get(r.error) ?? 0) + 1);
        continue;
      }
      if (r.warnings) stats.warnings++;
      stats.latencies.push(r.ms);
      let l = stats.byQuery.get(name);
      if (!l) stats.byQuery.set(name, (l = []));
      l.push(r.ms);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
  agent.destroy();
  const t1 = Date.now();
  return { t0, t1, ms: t1 - t0, requests };
}

/** GET url; `error` names what went wrong (short, so that errors group), else the latency. */
function request(tg, url, agent) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.get(url, { agent }, (res) => {
      const parts = [];
      let bytes = 0;
      res.on('data', (d) => {
        parts.push(d);
        bytes += d.length;
      });
      res.on('end', () => {
        const ms = performance.now() - t0;
        const body = Buffer.concat(parts);
        const head = body.subarray(0, 200).toString('utf8');
        const tail = body.subarray(Math.max(0, body.length - 4096)).toString('utf8');
        if (res.statusCode !== 200) {
          const msg = /"error":"([^"]{0,80})/.exec(head)?.[1] ?? head.slice(0, 80);
          resolve({ ms, bytes, error: `HTTP ${res.statusCode}: ${msg}` });
        } else if (!head.includes('"status":"success"')) resolve({ ms, bytes, error: `not success: ${head.slice(0, 80)}` });
        else resolve({ ms, bytes, warnings: tail.includes('"warnings":[') });
      });
      res.on('error', (e) => resolve({ ms: performance.now() - t0, bytes, error: `response: ${e.code ?? e.message}` }));
    });
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ ms: performance.now() - t0, bytes: 0, error: e.message === 'timeout' ? `timeout ${TIMEOUT_MS / 1000}s` : `request: ${e.code ?? e.message}` }));
  });
}

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/**
 * Polls each endpoint every HEALTH_EVERY_MS (the next poll once the previous answered, at the
 * earliest HEALTH_EVERY_MS after it started) from a worker thread, so that the load's own
 * event loop does not delay the measurement. stop() returns [{name, t (epoch ms), ms, ok}].
 */
function startHealthPoller(endpoints) {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const http = require('node:http');
    const out = [];
    let stopping = false;
    const poll = (ep) => new Promise((resolve) => {
      const t = Date.now();
      const t0 = performance.now();
      const done = (ok) => { out.push({ name: ep.name, t, ms: performance.now() - t0, ok }); resolve(); };
      const req = http.get(ep.url, { agent: false }, (res) => { res.resume(); res.on('end', () => done(res.statusCode === 200)); res.on('error', () => done(false)); });
      req.setTimeout(10000, () => req.destroy(new Error('timeout')));
      req.on('error', () => done(false));
    });
    const loop = async (ep) => {
      while (!stopping) {
        const t0 = Date.now();
        await poll(ep);
        const wait = workerData.every - (Date.now() - t0);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    };
    const loops = workerData.endpoints.map(loop);
    parentPort.on('message', async () => { stopping = true; await Promise.all(loops); parentPort.postMessage(out); });
  `;
  const w = new Worker(code, { eval: true, workerData: { endpoints, every: HEALTH_EVERY_MS } });
  return {
    terminate: () => w.terminate(),
    stop: () =>
      new Promise((resolve, reject) => {
        w.once('message', (m) => {
          void w.terminate();
          resolve(m);
        });
        w.once('error', reject);
        w.postMessage('stop');
      }),
  };
}

// ---- answers ----

async function fetchJson(url) {
  const res = await fetch(url);
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return { status: 'error', error: `HTTP ${res.status}: ${text.slice(0, 200)}` };
  }
}

function parseValue(s) {
  return s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s);
}

function close(a, b) {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

/** null when thanos-ts's answer (`cluster` dropped) and Prometheus's hold the same series and points. */
function compareAnswers(ours, theirs) {
  if (ours.status !== 'success') return `thanos-ts: ${ours.error}`;
  if (theirs.status !== 'success') return `Prometheus: ${theirs.error}`;
  if (ours.warnings?.length) return `thanos-ts warnings: ${ours.warnings.join('; ')}`;
  const key = (m) => {
    const { cluster, ...rest } = m;
    return JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  };
  const a = ours.data.result;
  const b = theirs.data.result;
  if (a.length !== b.length) return `${a.length} series from thanos-ts, ${b.length} from Prometheus`;
  const want = new Map(b.map((s) => [key(s.metric), s.values]));
  let points = 0;
  for (const s of a) {
    const k = key(s.metric);
    const pv = want.get(k);
    if (pv === undefined) return `Prometheus lacks ${k}`;
    if (pv.length !== s.values.length) return `${k}: ${s.values.length} points from thanos-ts, ${pv.length} from Prometheus`;
    for (let i = 0; i < pv.length; i++) {
      const [t, v] = s.values[i];
      if (pv[i][0] !== t || !close(parseValue(pv[i][1]), parseValue(v))) return `${k} at point ${i}: thanos-ts ${t} ${v}, Prometheus ${pv[i][0]} ${pv[i][1]}`;
    }
    points += pv.length;
  }
  return points === 0 ? 'both answers are empty' : null;
}

// ---- processes ----

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A thanos-ts component of the build under test, on free loopback ports. */
function startComponent(what, args) {
  return startThanosTs(what, args, { bin: BIN, readyTimeoutMs: 60_000 });
}

function memOf(pid) {
  try {
    return procMemory(pid);
  } catch {
    return { rss: NaN, peak: NaN };
  }
}
