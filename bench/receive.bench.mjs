// The ingest drill: a remote-write load generator pushes RECEIVE_SERIES (100k) active
// series at four targets in turn, interleaved in rounds of RECEIVE_ROUND_SECONDS (10) for
// RECEIVE_SECONDS (30) per target:
//   (a) `thanos-ts receive`, one process (POST /api/v1/receive);
//   (b) three `thanos-ts receive` with --receive.replication-factor 3 and a hashrings file
//       listing the three (--receive.local-endpoint = own gRPC address); the shards'
//       connections are spread over the three, as a load balancer in front would;
//   (c) Prometheus 2.42 with --web.enable-remote-write-receiver (POST /api/v1/write);
//   (d) VictoriaMetrics single-node (/usr/bin/victoria-metrics, Debian package
//       victoria-metrics; POST /api/v1/write).
// RECEIVE_TARGETS picks some of them (comma-separated: thanos-ts, rf3, prometheus, vm);
// THANOS_TS_BIN runs another build's bin/thanos-ts; RECEIVE_NODE_FLAGS adds node flags to
// every thanos-ts process (e.g. "--max-semi-space-size=64 --trace-gc"); RECEIVE_KEEP_DIR=1
// keeps the temp dir with the data, the receivers' logs (<data dir>.log) and profiles.
//
// Load. RECEIVE_SHARDS (8) shards, like Prometheus's remote-write queue shards: shard s owns
// the series i with i % shards = s and sends them in requests of RECEIVE_BATCH (2000, the
// max_samples_per_send default) series × 1 sample, one request in flight per shard on its
// own keep-alive connection. A shard sweeps its series as fast as the target answers, so
// the target is saturated; a sweep's samples share one timestamp, the wall clock at the
// sweep's start (at least 1 ms past the shard's previous sweep for that target), so every
// series' samples arrive in order and in real time and no target refuses one as out of
// order or out of bounds. The shards run in RECEIVE_WORKERS (2) worker threads of this
// process; requests are protobuf prometheus.WriteRequest encoded by hand (each series'
// labels encoded once, the sample appended per request) and compressed with our
// snappyCompress. Its cost is measured twice: a dry run (encode + compress, no sending)
// gives the generator's ceiling, and the rounds report the CPU this process used.
//
// Series: 100 metric names (10 subsystems × 10 measurements, counters and gauges) × 1000
// scrape targets, each with the labels a Kubernetes scrape gives:
//   {__name__, cluster, env, instance="10.a.b.c:8080", job, namespace, pod}
// sorted by name as remote write requires. Counters grow by a per-series step each sweep;
// gauges take pseudo-random values with two decimals.
//
// Figures per target: samples/s accepted (2xx) over its rounds, requests, p50/p99/max push
// latency, errors by kind; CPU seconds of the target's processes and of this process (the
// generator) per target; RSS (VmRSS) at start and after the load, and RSS per active
// series (the three summed for RF 3); the time of the first sweep (creating the 100k
// series) as a warm-up outside the rounds.
//
// Restart. Fresh instances of thanos-ts receive (RF 1), Prometheus and VictoriaMetrics
// each get the same RECEIVE_REPLAY_SWEEPS (5) sweeps (100k series × 5 samples), are
// SIGKILLed (a crash: thanos-ts receive flushes its head into a block on SIGTERM, so only
// a kill leaves a WAL to replay) and restarted on their data dir; the figure is the time
// from spawn to the first 200 from /-/ready (VictoriaMetrics: /health, it has no WAL and
// is listed for scale).
//
// RECEIVE_PROFILE=1 runs target (a), the first receiver of (b) and the restarted thanos-ts
// under `node --cpu-prof`; (a) and (b)'s first are stopped with SIGTERM after the rounds so
// that the profiles are written (their shutdown flush is in them), and the top self-time
// functions of each are printed (the restart's profile cut at ready).
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import http from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { prometheus, snappyCompress, snappyDecompress } from '@thanos-ts/storeapi';
import { findBinary, freePort, LogBuffer, waitFor } from '@thanos-ts/testutil';
import { cleanup, cpuSeconds, envNum, fmt, fmtBytes, packageOf, procMemory, table, tmp } from './util.mjs';

const BIN = process.env.THANOS_TS_BIN || fileURLToPath(new URL('../bin/thanos-ts', import.meta.url));
const VM_BIN = '/usr/bin/victoria-metrics';
const SERIES = envNum('RECEIVE_SERIES', 100_000);
const BATCH = envNum('RECEIVE_BATCH', 2000);
const SHARDS = envNum('RECEIVE_SHARDS', 8);
const WORKERS = envNum('RECEIVE_WORKERS', 2);
const LOAD_S = envNum('RECEIVE_SECONDS', 30);
const ROUND_S = envNum('RECEIVE_ROUND_SECONDS', 10);
const REPLAY_SWEEPS = envNum('RECEIVE_REPLAY_SWEEPS', 5);
const DRY_S = envNum('RECEIVE_DRY_SECONDS', 3);
const TIMEOUT_MS = envNum('RECEIVE_TIMEOUT_SECONDS', 60) * 1000;
const PROFILE = process.env.RECEIVE_PROFILE === '1';
/** Extra node flags for every thanos-ts process, space-separated (e.g. "--max-semi-space-size=64"). */
const NODE_FLAGS = (process.env.RECEIVE_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
const TARGET_KEYS = (process.env.RECEIVE_TARGETS || 'thanos-ts,rf3,prometheus,vm').split(',').map((s) => s.trim());

// ---- series ----

const SUBSYSTEMS = ['http_server', 'grpc_server', 'process', 'go', 'node_network', 'db_client', 'cache', 'queue', 'kafka_consumer', 'container'];
/** [measurement, counter?] */
const MEASUREMENTS = [
  ['requests_total', true],
  ['errors_total', true],
  ['received_bytes_total', true],
  ['sent_bytes_total', true],
  ['duration_seconds_sum', true],
  ['duration_seconds_count', true],
  ['in_flight', false],
  ['open_connections', false],
  ['memory_bytes', false],
  ['last_success_timestamp_seconds', false],
];
const JOBS = ['api-gateway', 'checkout', 'payments', 'catalog', 'search', 'users', 'inventory', 'shipping', 'notifications', 'recommendations'];
const TARGETS_PER_NAME = 1000;

/** Label pairs of series i, sorted by name (remote write requires it). */
function seriesLabels(i) {
  const name = i % 100;
  const target = Math.floor(i / 100) % TARGETS_PER_NAME;
  const copy = Math.floor(i / (100 * TARGETS_PER_NAME)); // > 0 only past 100k series
  const job = JOBS[target % JOBS.length];
  const h = (Math.imul(target + 1, 0x9e3779b1) >>> 0).toString(36).padStart(7, '0').slice(0, 7);
  return [
    ['__name__', `${SUBSYSTEMS[Math.floor(name / 10)]}_${MEASUREMENTS[name % 10][0]}`],
    ['cluster', copy === 0 ? 'prod-eu-west-1' : `prod-eu-west-${copy + 1}`],
    ['env', 'production'],
    ['instance', `10.${12 + (target >> 8)}.${target & 255}.${(target * 7) % 250 + 2}:8080`],
    ['job', job],
    ['namespace', `team-${job}`],
    ['pod', `${job}-${h.slice(0, 5)}-${h.slice(2, 7)}`],
  ];
}

const isCounter = (i) => MEASUREMENTS[i % 10][1];

function putUvarint(buf, off, x) {
  while (x >= 0x80) {
    buf[off++] = (x % 0x80) | 0x80;
    x = Math.floor(x / 0x80);
  }
  buf[off++] = x;
  return off;
}

/** The `labels` fields of a prometheus.TimeSeries (field 1, repeated Label{name=1, value=2}). */
function encodeLabels(pairs) {
  const parts = [];
  for (const [n, v] of pairs) {
    const nb = Buffer.from(n);
    const vb = Buffer.from(v);
    const label = Buffer.alloc(nb.length + vb.length + 12);
    let o = 0;
    label[o++] = 0x0a;
    o = putUvarint(label, o, nb.length);
    o += nb.copy(label, o);
    label[o++] = 0x12;
    o = putUvarint(label, o, vb.length);
    o += vb.copy(label, o);
    const field = Buffer.alloc(o + 6);
    let f = 0;
    field[f++] = 0x0a;
    f = putUvarint(field, f, o);
    f += label.copy(field, f, 0, o);
    parts.push(field.subarray(0, f));
  }
  return Buffer.concat(parts);
}

const uvarintLen = (x) => {
  let n = 1;
  while (x >= 0x80) {
    x = Math.floor(x / 0x80);
    n++;
  }
  return n;
};

/**
 * A WriteRequest{timeseries: [TimeSeries{labels, samples: [Sample{value=1 double, timestamp=2 int64}]}]}
 * for the series `ids` at ts, into buf; returns the encoded length.
 */
function encodeRequest(buf, labels, ids, ts, sweep) {
  const sampleLen = 1 + 8 + 1 + uvarintLen(ts);
  let o = 0;
  for (const i of ids) {
    const lb = labels[i];
    buf[o++] = 0x0a;
    o = putUvarint(buf, o, lb.length + 2 + sampleLen);
    o += lb.copy(buf, o);
    buf[o++] = 0x12;
    buf[o++] = sampleLen;
    buf[o++] = 0x09;
    buf.writeDoubleLE(valueOf(i, sweep), o);
    o += 8;
    buf[o++] = 0x10;
    o = putUvarint(buf, o, ts);
  }
  return o;
}

function valueOf(i, sweep) {
  if (isCounter(i)) return sweep * ((i % 13) + 1) + (i % 1000);
  const x = Math.imul(i ^ Math.imul(sweep + 1, 0x85ebca6b), 0xc2b2ae35) >>> 0;
  return Math.round((x % 100000) + (i % 50) * 1000) / 100;
}

// ---- generator worker ----

if (!isMainThread && workerData?.receiveBench) workerMain(workerData);

function workerMain({ shards }) {
  const labels = [];
  const state = shards.map((s) => {
    const ids = [];
    for (let i = s; i < SERIES; i += SHARDS) {
      ids.push(i);
      labels[i] = encodeLabels(seriesLabels(i));
    }
    let maxLen = 0;
    for (const i of ids) maxLen = Math.max(maxLen, labels[i].length);
    // Per series: labels + the TimeSeries and Sample headers + a 10-byte timestamp.
    return { id: s, ids, buf: Buffer.alloc(BATCH * (maxLen + 40)), lastTs: new Map(), sweeps: new Map(), agents: new Map() };
  });

  /** One shard sweeping until the deadline, or for `sweeps` whole sweeps. */
  const shardLoop = async (sh, tg, deadline, maxSweeps, st) => {
    const url = tg.urls[sh.id % tg.urls.length];
    let agent = sh.agents.get(url);
    if (!agent) sh.agents.set(url, (agent = new http.Agent({ keepAlive: true, maxSockets: 1 })));
    for (let n = 0; n < maxSweeps && Date.now() < deadline; n++) {
      const ts = Math.max(Date.now(), (sh.lastTs.get(tg.name) ?? 0) + 1);
      sh.lastTs.set(tg.name, ts);
      const sweep = (sh.sweeps.get(tg.name) ?? 0) + 1;
      sh.sweeps.set(tg.name, sweep);
      for (let b = 0; b < sh.ids.length; b += BATCH) {
        if (maxSweeps === Infinity && Date.now() >= deadline) return;
        const ids = sh.ids.slice(b, b + BATCH);
        const len = encodeRequest(sh.buf, labels, ids, ts, sweep);
        const body = snappyCompress(sh.buf.subarray(0, len));
        st.bytes += body.length;
        st.rawBytes += len;
        if (tg.dry) {
          st.requests++;
          st.okSamples += ids.length;
          continue;
        }
        const r = await post(url, body, agent);
        st.requests++;
        st.latencies.push(r.ms);
        if (r.ok) st.okSamples += ids.length;
        else st.errors.set(r.error, (st.errors.get(r.error) ?? 0) + 1);
      }
    }
  };

  parentPort.on('message', async (m) => {
    const st = { requests: 0, okSamples: 0, bytes: 0, rawBytes: 0, latencies: [], errors: new Map() };
    const t0 = Date.now();
    const deadline = m.ms === undefined ? Infinity : t0 + m.ms;
    await Promise.all(state.map((sh) => shardLoop(sh, m.target, deadline, m.sweeps ?? Infinity, st)));
    if (m.closeConnections) for (const sh of state) for (const a of sh.agents.values()) a.destroy();
    const lat = Float64Array.from(st.latencies);
    parentPort.postMessage({ ...st, latencies: lat, errors: [...st.errors], t0, t1: Date.now() }, [lat.buffer]);
  });
  parentPort.postMessage({ ready: true });
}

/** POST a snappy WriteRequest; ok on 2xx, else a short error naming the status. */
function post(url, body, agent) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'Content-Encoding': 'snappy',
          'Content-Type': 'application/x-protobuf',
          'User-Agent': 'thanos-ts-bench/receive',
          'X-Prometheus-Remote-Write-Version': '0.1.0',
          'Content-Length': body.length,
        },
      },
      (res) => {
        const parts = [];
        res.on('data', (d) => parts.push(d));
        res.on('end', () => {
          const ms = performance.now() - t0;
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) resolve({ ok: true, ms });
          else resolve({ ok: false, ms, error: `HTTP ${code}: ${Buffer.concat(parts).toString('utf8').slice(0, 70).replace(/\d+/g, 'N').trim()}` });
        });
        res.on('error', (e) => resolve({ ok: false, ms: performance.now() - t0, error: `response: ${e.code ?? e.message}` }));
      },
    );
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ ok: false, ms: performance.now() - t0, error: e.message === 'timeout' ? `timeout ${TIMEOUT_MS / 1000}s` : `request: ${e.code ?? e.message}` }));
    req.end(body);
  });
}

/** The generator: WORKERS threads sharing the shards. */
async function startGenerator() {
  const workers = [];
  for (let w = 0; w < WORKERS; w++) {
    const shards = [];
    for (let s = w; s < SHARDS; s += WORKERS) shards.push(s);
    const worker = new Worker(new URL(import.meta.url), { workerData: { receiveBench: true, shards } });
    await once(worker, 'message');
    workers.push(worker);
  }
  /** Runs every shard against target for ms (or `sweeps` sweeps); merged stats. */
  const round = async (target, { ms, sweeps, closeConnections } = {}) => {
    const cpu0 = process.cpuUsage();
    const parts = await Promise.all(
      workers.map(
        (w) =>
          new Promise((resolve, reject) => {
            const onError = (err) => {
              w.off('message', onMessage);
              reject(err);
            };
            const onMessage = (m) => {
              w.off('error', onError);
              resolve(m);
            };
            w.once('message', onMessage).once('error', onError);
            w.postMessage({ target, ms, sweeps, closeConnections });
          }),
      ),
    );
    const cpu = process.cpuUsage(cpu0);
    const out = { requests: 0, okSamples: 0, bytes: 0, rawBytes: 0, latencies: [], errors: new Map(), t0: Infinity, t1: 0, cpuS: (cpu.user + cpu.system) / 1e6 };
    for (const p of parts) {
      out.requests += p.requests;
      out.okSamples += p.okSamples;
      out.bytes += p.bytes;
      out.rawBytes += p.rawBytes;
      for (const x of p.latencies) out.latencies.push(x);
      for (const [k, v] of p.errors) out.errors.set(k, (out.errors.get(k) ?? 0) + v);
      out.t0 = Math.min(out.t0, p.t0);
      out.t1 = Math.max(out.t1, p.t1);
    }
    out.ms = out.t1 - out.t0;
    return out;
  };
  return { round, stop: () => Promise.all(workers.map((w) => w.terminate())) };
}

/** Encodes one request as the workers do and decodes it with our generated codec: the hand encoding must be a valid WriteRequest. */
function selfCheck() {
  const labels = [];
  const ids = [];
  for (let i = 0; i < 5; i++) {
    ids.push(i * 37);
    labels[i * 37] = encodeLabels(seriesLabels(i * 37));
  }
  const buf = Buffer.alloc(1 << 16);
  const ts = Date.now();
  const len = encodeRequest(buf, labels, ids, ts, 3);
  const wr = prometheus.WriteRequest.decode(snappyDecompress(snappyCompress(buf.subarray(0, len))));
  if (wr.timeseries.length !== ids.length) throw new Error(`self-check: ${wr.timeseries.length} series decoded, want ${ids.length}`);
  for (const [k, t] of wr.timeseries.entries()) {
    const want = seriesLabels(ids[k]);
    const got = t.labels.map((l) => [l.name, l.value]);
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`self-check: labels ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    if (t.samples.length !== 1 || Number(t.samples[0].timestamp) !== ts || t.samples[0].value !== valueOf(ids[k], 3)) {
      throw new Error(`self-check: sample ${JSON.stringify(t.samples)}, want ${valueOf(ids[k], 3)}@${ts}`);
    }
  }
  return seriesLabels(12345);
}

// ---- targets ----

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A process started by this bench, ready once readyUrl answers 200. restart() SIGKILLs
 * nothing: call kill() first; it returns the ms from spawn to ready.
 */
async function startProc(what, cmd, args, readyUrl, { readyTimeoutMs = 120_000, env, logFile } = {}) {
  const log = new LogBuffer(256 * 1024);
  let proc = null;
  let exited = null;
  const start = async () => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    proc = p;
    exited = new Promise((r) => p.once('exit', r));
    const file = logFile ? createWriteStream(logFile, { flags: 'a' }) : null;
    const onData = (d) => {
      log.append(d);
      file?.write(d);
    };
    p.stdout.setEncoding('utf8').on('data', onData);
    p.stderr.setEncoding('utf8').on('data', onData);
    p.once('exit', () => file?.end());
    const died = new AbortController();
    p.once('exit', (code, sig) => died.abort(new Error(`${what} exited (${code ?? sig})\n${log.toString().slice(-3000)}`)));
    try {
      await waitFor(
        async () => {
          const res = await fetch(readyUrl);
          await res.arrayBuffer();
          return res.status === 200;
        },
        { what: `${what} ready`, timeoutMs: readyTimeoutMs, intervalMs: 20, signal: died.signal },
      );
    } catch (err) {
      p.kill('SIGKILL');
      throw err;
    }
    return performance.now() - t0;
  };
  const killAtExit = () => proc?.kill('SIGKILL');
  process.once('exit', killAtExit);
  const alive = () => proc !== null && proc.exitCode === null && proc.signalCode === null;
  const self = {
    what,
    get pid() {
      return proc.pid;
    },
    startMs: await start(),
    logs: () => log.toString(),
    kill: async () => {
      if (!alive()) return;
      proc.kill('SIGKILL');
      await exited;
    },
    /** SIGTERM, SIGKILL after graceMs. */
    stop: async (graceMs = 30_000) => {
      process.removeListener('exit', killAtExit);
      if (!alive()) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    restart: () => start(),
  };
  return self;
}

async function startThanos(what, dir, extra = [], { profileDir, grpcAddress } = {}) {
  mkdirSync(dir, { recursive: true });
  const httpAddr = `127.0.0.1:${await freePort()}`;
  const grpc = grpcAddress ?? `127.0.0.1:${await freePort()}`;
  const rw = `127.0.0.1:${await freePort()}`;
  const nodeArgs = [...NODE_FLAGS, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
  const label = extra.some((a) => a.startsWith('--label')) ? [] : ['--label=receive_replica="0"'];
  const args = [...nodeArgs, BIN, 'receive', `--tsdb.path=${dir}`, `--http-address=${httpAddr}`, `--grpc-address=${grpc}`, `--remote-write.address=${rw}`, ...label, ...extra];
  const p = await startProc(what, process.execPath, args, `http://${httpAddr}/-/ready`, { logFile: `${dir}.log` });
  return Object.assign(p, { urls: [`http://${rw}/api/v1/receive`], metricsUrl: `http://${httpAddr}/metrics`, grpc, dataDir: dir, args });
}

/** Three receivers in one hashring, replication factor 3. */
async function startThanosRF3(dir, { profileDir } = {}) {
  const grpcs = [];
  for (let i = 0; i < 3; i++) grpcs.push(`127.0.0.1:${await freePort()}`);
  const hashrings = join(dir, 'hashrings.json');
  mkdirSync(dir, { recursive: true });
  writeFileSync(hashrings, JSON.stringify([{ hashring: 'default', endpoints: grpcs }], null, 2));
  const procs = [];
  try {
    for (let i = 0; i < 3; i++) {
      const extra = ['--receive.replication-factor=3', `--receive.hashrings-file=${hashrings}`, `--receive.local-endpoint=${grpcs[i]}`, `--label=receive_replica="${i}"`];
      procs.push(await startThanos(`thanos-ts receive RF3 #${i}`, join(dir, `r${i}`), extra, { grpcAddress: grpcs[i], profileDir: i === 0 ? profileDir : undefined }));
    }
  } catch (err) {
    for (const p of procs) await p.kill();
    throw err;
  }
  return {
    procs,
    urls: procs.map((p) => p.urls[0]),
    pids: () => procs.map((p) => p.pid),
    kill: async () => {
      for (const p of procs) await p.kill();
    },
  };
}

async function startPrometheusRW(dir) {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const cfg = join(dir, 'prometheus.yml');
  writeFileSync(cfg, 'global:\n  scrape_interval: 15s\n');
  const data = join(dir, 'data');
  const args = [`--config.file=${cfg}`, `--storage.tsdb.path=${data}`, `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver'];
  const p = await startProc('prometheus', findBinary('prometheus'), args, `http://127.0.0.1:${port}/-/ready`);
  return Object.assign(p, { urls: [`http://127.0.0.1:${port}/api/v1/write`], metricsUrl: `http://127.0.0.1:${port}/metrics`, dataDir: data });
}

async function startVictoriaMetrics(dir) {
  if (!existsSync(VM_BIN)) throw new Error(`${VM_BIN} is missing: apt-get install victoria-metrics`);
  const port = await freePort();
  const data = join(dir, 'data');
  const args = [`-storageDataPath=${data}`, `-httpListenAddr=127.0.0.1:${port}`, '-retentionPeriod=1', '-loggerLevel=ERROR'];
  const p = await startProc('victoria-metrics', VM_BIN, args, `http://127.0.0.1:${port}/health`);
  return Object.assign(p, { urls: [`http://127.0.0.1:${port}/api/v1/write`], metricsUrl: `http://127.0.0.1:${port}/metrics`, dataDir: data });
}

async function metric(url, name) {
  try {
    const res = await fetch(url);
    const text = await res.text();
    let sum = 0;
    let found = false;
    for (const line of text.split('\n')) {
      if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) {
        sum += Number(line.slice(line.lastIndexOf(' ') + 1));
        found = true;
      }
    }
    return found ? sum : NaN;
  } catch {
    return NaN;
  }
}

/** Series in each target's head (thanos-ts and Prometheus) or storage (VictoriaMetrics). */
async function activeSeries(key, t) {
  if (key === 'vm') {
    // VictoriaMetrics buffers rows for up to a second before they are searchable.
    const base = t.urls[0].replace('/api/v1/write', '');
    try {
      await (await fetch(`${base}/internal/force_flush`)).arrayBuffer();
      const body = await (await fetch(`${base}/api/v1/series/count`)).json();
      return Number(body.data?.[0] ?? NaN);
    } catch {
      return NaN;
    }
  }
  if (key === 'rf3') {
    let n = 0;
    for (const p of t.procs) n += await metric(p.metricsUrl, 'prometheus_tsdb_head_series');
    return n;
  }
  return metric(t.metricsUrl, 'prometheus_tsdb_head_series');
}

function rssOf(pids) {
  let n = 0;
  for (const pid of pids) {
    try {
      n += procMemory(pid).rss;
    } catch {
      return NaN;
    }
  }
  return n;
}

function duBytes(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const e of readdirSync(path)) n += duBytes(join(path, e));
  return n;
}

/** The WAL directories under a thanos-ts receive data dir (one per tenant) or a Prometheus TSDB. */
function walBytes(dataDir) {
  if (existsSync(join(dataDir, 'wal'))) return duBytes(join(dataDir, 'wal'));
  let n = 0;
  for (const e of existsSync(dataDir) ? readdirSync(dataDir) : []) if (existsSync(join(dataDir, e, 'wal'))) n += duBytes(join(dataDir, e, 'wal'));
  return n;
}

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

// ---- profiles ----

/**
 * Self time per function of a .cpuprofile (V8's format: nodes with callFrame and a
 * sample list with time deltas), optionally only the first untilMs of the profile.
 */
function profileSelfTimes(file, untilMs = Infinity) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const pkgOf = new Map();
  let t = 0;
  let total = 0;
  for (let k = 0; k < prof.samples.length; k++) {
    const dt = prof.timeDeltas[k] / 1000;
    t += dt;
    if (t > untilMs) break;
    const n = byId.get(prof.samples[k]);
    const cf = n.callFrame;
    if (cf.functionName === '(idle)') continue;
    const url = cf.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\/\.pnpm\/([^/]+)\/node_modules\//, '$1 ').replace(/^.*\/packages\//, '');
    const key = cf.url === '' ? cf.functionName : `${cf.functionName || '(anonymous)'} ${url}:${cf.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    pkgOf.set(key, packageOf(cf));
    total += dt;
  }
  return { total, top: [...self].sort((a, b) => b[1] - a[1]), pkgOf };
}


function printProfile(title, file, untilMs) {
  const { total, top, pkgOf } = profileSelfTimes(file, untilMs);
  console.log(`\n${title}: ${(total / 1000).toFixed(1)} s of CPU samples (idle excluded), ${file}\n`);
  const rows = [['self ms', '%', 'function']];
  for (const [k, ms] of top.slice(0, 25)) rows.push([ms.toFixed(0), ((100 * ms) / total).toFixed(1), k]);
  table(rows);
  // By package: where the time goes at a coarser grain.
  const byPkg = new Map();
  for (const [k, ms] of top) byPkg.set(pkgOf.get(k), (byPkg.get(pkgOf.get(k)) ?? 0) + ms);
  console.log('\nby package:\n');
  const prow = [['self ms', '%', 'package']];
  for (const [k, ms] of [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, 15)) prow.push([ms.toFixed(0), ((100 * ms) / total).toFixed(1), k]);
  table(prow);
}

// ---- the bench ----

const TARGET_SPECS = {
  'thanos-ts': { name: 'thanos-ts receive', short: 'thanos-ts' },
  rf3: { name: 'thanos-ts receive RF3 (3 procs)', short: 'RF3' },
  prometheus: { name: 'Prometheus 2.42', short: 'Prometheus' },
  vm: { name: 'VictoriaMetrics', short: 'VM' },
};

export async function run() {
  if (!existsSync(BIN)) throw new Error(`THANOS_TS_BIN: ${BIN} does not exist`);
  for (const k of TARGET_KEYS) if (!TARGET_SPECS[k]) throw new Error(`RECEIVE_TARGETS: unknown target ${k} (thanos-ts, rf3, prometheus, vm)`);
  const example = selfCheck();
  const dir = tmp('receive');
  const profDir = join(dir, 'profiles');
  mkdirSync(profDir);
  const stoppers = [];
  let gen = null;
  try {
    console.log(`bin: ${BIN}`);
    console.log(`${fmt(SERIES, 0)} series (e.g. {${example.map(([k, v]) => `${k}="${v}"`).join(',')}}), ${SHARDS} shards × requests of ${BATCH} samples, ${WORKERS} generator threads`);
    console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at start (everything here shares them)`);

    gen = await startGenerator();
    // The generator's ceiling: encode + compress only.
    const dry = await gen.round({ name: 'dry', urls: ['dry'], dry: true }, { ms: DRY_S * 1000 });
    const dryRate = dry.okSamples / (dry.ms / 1000);
    const genUsPerSample = (dry.cpuS * 1e6) / dry.okSamples;
    console.log(
      `generator dry run (encode + snappy, no sending): ${fmt(dryRate)} samples/s using ${(dry.cpuS / (dry.ms / 1000)).toFixed(2)} CPUs, ` +
        `${genUsPerSample.toFixed(2)} µs CPU per sample; ${(dry.rawBytes / dry.requests / 1024).toFixed(0)} KiB per request, ${(dry.bytes / dry.requests / 1024).toFixed(0)} KiB snappy`,
    );

    // Targets.
    const targets = [];
    for (const key of TARGET_KEYS) {
      const spec = TARGET_SPECS[key];
      const t0 = performance.now();
      try {
        let t;
        if (key === 'thanos-ts') {
          const p = await startThanos(spec.name, join(dir, 'thanos-rf1'), [], { profileDir: PROFILE ? join(profDir, 'load') : undefined });
          t = { ...spec, key, urls: p.urls, pids: () => [p.pid], proc: p, metricsUrl: p.metricsUrl, kill: () => p.kill() };
        } else if (key === 'rf3') {
          const r = await startThanosRF3(join(dir, 'thanos-rf3'), { profileDir: PROFILE ? join(profDir, 'rf3') : undefined });
          t = { ...spec, key, urls: r.urls, pids: r.pids, procs: r.procs, kill: r.kill };
        } else if (key === 'prometheus') {
          const p = await startPrometheusRW(join(dir, 'prometheus'));
          t = { ...spec, key, urls: p.urls, pids: () => [p.pid], proc: p, metricsUrl: p.metricsUrl, kill: () => p.kill() };
        } else {
          const p = await startVictoriaMetrics(join(dir, 'vm'));
          t = { ...spec, key, urls: p.urls, pids: () => [p.pid], proc: p, metricsUrl: p.metricsUrl, kill: () => p.kill() };
        }
        stoppers.push(() => t.kill());
        t.rssIdle = rssOf(t.pids());
        t.startMs = performance.now() - t0;
        targets.push(t);
      } catch (err) {
        console.log(`\n${spec.name}: could not start, left out of the run: ${err.message.split('\n').slice(0, 12).join('\n  ')}\n`);
      }
    }
    if (targets.length === 0) throw new Error('no target started');

    // Warm-up: one sweep per target creates the series (outside the rounds).
    console.log('\nfirst sweep (creates the series; not in the rounds):');
    for (const t of targets) {
      const cpu0 = t.pids().map(cpuSeconds);
      const r = await gen.round({ name: t.key, urls: t.urls }, { sweeps: 1 });
      const cpu = t.pids().reduce((a, pid, k) => a + cpuSeconds(pid) - cpu0[k], 0);
      const errs = [...r.errors].map(([k, v]) => `${v}× ${k}`).join('; ');
      t.firstSweep = { ms: r.ms, ok: r.okSamples, cpu };
      console.log(`  ${t.name}: ${(r.ms / 1000).toFixed(2)} s for ${fmt(r.okSamples, 0)} accepted of ${fmt(SERIES, 0)}, target CPU ${cpu.toFixed(1)} s${errs ? `, errors: ${errs}` : ''}`);
    }

    // The load, in alternating rounds.
    const stats = new Map(targets.map((t) => [t.key, { requests: 0, okSamples: 0, bytes: 0, latencies: [], errors: new Map(), ms: 0, cpuTarget: 0, cpuGen: 0 }]));
    const rounds = [];
    for (let done = 0; done < LOAD_S * 1000 - 1; done += ROUND_S * 1000) {
      const ms = Math.min(ROUND_S * 1000, LOAD_S * 1000 - done);
      for (const t of targets) {
        const cpu0 = t.pids().map(cpuSeconds);
        const r = await gen.round({ name: t.key, urls: t.urls }, { ms });
        const s = stats.get(t.key);
        s.cpuTarget += t.pids().reduce((a, pid, k) => a + cpuSeconds(pid) - cpu0[k], 0);
        s.cpuGen += r.cpuS;
        s.requests += r.requests;
        s.okSamples += r.okSamples;
        s.bytes += r.bytes;
        s.ms += r.ms;
        for (const x of r.latencies) s.latencies.push(x);
        for (const [k, v] of r.errors) s.errors.set(k, (s.errors.get(k) ?? 0) + v);
        rounds.push({ short: t.short, ms: r.ms, rate: r.okSamples / (r.ms / 1000) });
      }
    }
    const loadAvgAfter = loadavg();

    // Memory after the load, and the series each target holds.
    for (const t of targets) {
      t.rss = rssOf(t.pids());
      t.series = await activeSeries(t.key, t.key === 'rf3' ? t : t.proc ?? t);
    }

    // Results.
    const rows = [['target', 'samples/s', 'requests', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'target CPUs', 'target CPU µs/sample', 'gen CPUs', 'RSS idle', 'RSS after', 'RSS/series', 'Δ RSS/series', 'series held']];
    const json = { bin: BIN, series: SERIES, batch: BATCH, shards: SHARDS, workers: WORKERS, seconds: LOAD_S, roundSeconds: ROUND_S, generatorDry: { samplesPerS: dryRate, cpuUsPerSample: genUsPerSample }, targets: {} };
    for (const t of targets) {
      const s = stats.get(t.key);
      const lat = [...s.latencies].sort((a, b) => a - b);
      const wallS = s.ms / 1000;
      const fig = {
        samplesPerS: s.okSamples / wallS,
        requests: s.requests,
        p50: quantile(lat, 0.5),
        p99: quantile(lat, 0.99),
        max: lat.at(-1) ?? NaN,
        errors: [...s.errors.values()].reduce((a, b) => a + b, 0),
        targetCpus: s.cpuTarget / wallS,
        targetCpuUsPerSample: (s.cpuTarget * 1e6) / s.okSamples,
        genCpus: s.cpuGen / wallS,
        rssIdle: t.rssIdle,
        rss: t.rss,
        rssPerSeries: t.rss / SERIES,
        deltaRssPerSeries: (t.rss - t.rssIdle) / SERIES,
        series: t.series,
        firstSweepMs: t.firstSweep.ms,
      };
      json.targets[t.name] = { ...fig, errorKinds: Object.fromEntries(s.errors) };
      rows.push([
        t.name,
        fmt(fig.samplesPerS),
        fig.requests,
        fig.p50.toFixed(0),
        fig.p99.toFixed(0),
        fig.max.toFixed(0),
        fig.errors,
        fig.targetCpus.toFixed(2),
        fig.targetCpuUsPerSample.toFixed(2),
        fig.genCpus.toFixed(2),
        fmtBytes(fig.rssIdle),
        fmtBytes(fig.rss),
        `${(fig.rssPerSeries / 1024).toFixed(2)} KiB`,
        `${(fig.deltaRssPerSeries / 1024).toFixed(2)} KiB`,
        fmt(fig.series, 0),
      ]);
    }
    console.log(`\n${LOAD_S} s per target in rounds of ${ROUND_S} s; load average ${loadAvgAfter.map((x) => x.toFixed(2)).join(' ')} after the rounds\n`);
    table(rows);
    for (const t of targets) {
      const s = stats.get(t.key);
      if (s.errors.size > 0) console.log(`${t.name} errors: ${[...s.errors].map(([k, v]) => `${v}× ${k}`).join('; ')}`);
    }
    const prom = json.targets[TARGET_SPECS.prometheus.name];
    if (prom) {
      console.log('\nratios vs Prometheus 2.42 (samples/s: higher is better; the rest: lower is better):\n');
      const rrows = [['target', 'samples/s', 'p99', 'CPU µs/sample', 'RSS/series', 'Δ RSS/series', 'first sweep']];
      for (const t of targets) {
        if (t.key === 'prometheus') continue;
        const f = json.targets[t.name];
        const r = (a, b) => (a / b).toFixed(2);
        rrows.push([t.name, r(f.samplesPerS, prom.samplesPerS), r(f.p99, prom.p99), r(f.targetCpuUsPerSample, prom.targetCpuUsPerSample), r(f.rssPerSeries, prom.rssPerSeries), r(f.deltaRssPerSeries, prom.deltaRssPerSeries), r(f.firstSweepMs, prom.firstSweepMs)]);
      }
      table(rrows);
    }
    console.log(`\nrounds (samples/s): ${rounds.map((r) => `${r.short} ${fmt(r.rate)}`).join(', ')}`);
    const genCpuAll = [...stats.values()].reduce((a, s) => a + s.cpuGen, 0);
    const okAll = [...stats.values()].reduce((a, s) => a + s.okSamples, 0);
    console.log(`generator: ${((genCpuAll * 1e6) / okAll).toFixed(2)} µs CPU per accepted sample over the rounds (this process, all threads, incl. HTTP)`);

    // The load's profile: stop (a) gracefully so that node writes it.
    const rf1 = targets.find((t) => t.key === 'thanos-ts');
    if (PROFILE && rf1) {
      const t0 = performance.now();
      await rf1.proc.stop(180_000);
      console.log(`\n(thanos-ts receive stopped with SIGTERM in ${((performance.now() - t0) / 1000).toFixed(1)} s: head flush included)`);
      const files = readdirSync(join(profDir, 'load')).filter((f) => f.endsWith('.cpuprofile'));
      if (files.length) printProfile('profile of thanos-ts receive (RF 1) over its whole life: start, first sweep, rounds, shutdown', join(profDir, 'load', files[0]));
    }
    const rf3 = targets.find((t) => t.key === 'rf3');
    if (PROFILE && rf3) {
      await rf3.procs[0].stop(180_000);
      const files = readdirSync(join(profDir, 'rf3')).filter((f) => f.endsWith('.cpuprofile'));
      if (files.length) printProfile('profile of thanos-ts receive RF3 #0 over its whole life', join(profDir, 'rf3', files[0]));
    }
    for (const t of targets) await t.kill();
    stoppers.length = 0;

    // Restart after a crash, on a fresh instance of each with the same load.
    json.restart = {};
    const restartKeys = TARGET_KEYS.filter((k) => k !== 'rf3');
    if (restartKeys.length) {
      console.log(`\nrestart after SIGKILL: fresh instances, ${REPLAY_SWEEPS} sweeps each (${fmt(SERIES * REPLAY_SWEEPS, 1)} samples), then kill -9 and start on the same data dir:\n`);
      const rrows = [['target', 'ready on empty dir', 'load s', 'accepted', 'WAL on disk', 'data dir', 'ready after restart', 'series after', 'replay as logged']];
      for (const key of restartKeys) {
        let p;
        try {
          if (key === 'thanos-ts') p = await startThanos('thanos-ts receive (restart)', join(dir, 'restart-thanos'));
          else if (key === 'prometheus') p = await startPrometheusRW(join(dir, 'restart-prometheus'));
          else p = await startVictoriaMetrics(join(dir, 'restart-vm'));
        } catch (err) {
          console.log(`${key}: could not start: ${err.message.split('\n').slice(0, 12).join('\n  ')}`);
          continue;
        }
        stoppers.push(() => p.kill());
        const emptyMs = p.startMs;
        const r = await gen.round({ name: `restart-${key}`, urls: p.urls }, { sweeps: REPLAY_SWEEPS, closeConnections: true });
        if (r.errors.size > 0) console.log(`${TARGET_SPECS[key].name} errors while loading: ${[...r.errors].map(([k, v]) => `${v}× ${k}`).join('; ')}`);
        await sleep(1500); // let the last writes settle (VictoriaMetrics flushes every second)
        await p.kill();
        const wal = key === 'vm' ? NaN : walBytes(p.dataDir);
        const data = duBytes(p.dataDir);
        let ms;
        if (PROFILE && key === 'thanos-ts') {
          // The restarted process under --cpu-prof, cut at ready.
          const args = [`--cpu-prof`, `--cpu-prof-dir=${join(profDir, 'restart')}`, ...p.args];
          const httpAddr = p.metricsUrl.replace('/metrics', '');
          const q = await startProc('thanos-ts receive (restart, profiled)', process.execPath, args, `${httpAddr}/-/ready`);
          ms = q.startMs;
          p = Object.assign(q, { metricsUrl: p.metricsUrl });
          stoppers.push(() => q.kill());
        } else {
          ms = await p.restart();
        }
        const series = await activeSeries(key, p);
        const logs = p.logs();
        let logged = '';
        if (key === 'prometheus') logged = [...logs.matchAll(/total_replay_duration=(\S+)/g)].at(-1)?.[1] ?? '';
        if (key === 'thanos-ts') {
          const m = [...logs.matchAll(/durationMs"?[=:](\d+)[^\n]*tenant TSDBs opened|tenant TSDBs opened[^\n]*durationMs"?[=:](\d+)/g)].at(-1);
          if (m) logged = `${m[1] ?? m[2]} ms (tenants opened)`;
        }
        json.restart[key] = { emptyReadyMs: emptyMs, loadMs: r.ms, accepted: r.okSamples, walBytes: wal, dataBytes: data, readyMs: ms, seriesAfter: series };
        rrows.push([TARGET_SPECS[key].name, `${(emptyMs / 1000).toFixed(2)} s`, (r.ms / 1000).toFixed(1), fmt(r.okSamples, 2), Number.isNaN(wal) ? '-' : fmtBytes(wal), fmtBytes(data), `${(ms / 1000).toFixed(2)} s`, fmt(series, 0), logged]);
        if (PROFILE && key === 'thanos-ts') {
          // Idle between ready and the shutdown flush, so that the cut at ready falls in it.
          await sleep(2000);
          await p.stop(180_000);
          const files = readdirSync(join(profDir, 'restart')).filter((f) => f.endsWith('.cpuprofile'));
          if (files.length) printProfile('profile of the thanos-ts receive restart, up to ready', join(profDir, 'restart', files[0]), ms);
        }
        await p.kill();
      }
      table(rrows);
      const pr = json.restart.prometheus;
      const tr = json.restart['thanos-ts'];
      if (pr && tr) console.log(`\nthanos-ts / Prometheus restart to ready: ${(tr.readyMs / pr.readyMs).toFixed(2)}×`);
    }
    console.log(`\n${JSON.stringify(json)}`);
  } finally {
    for (const s of stoppers.reverse()) await s().catch((e) => console.log(`stop: ${e.message}`));
    if (gen) await gen.stop();
    if (process.env.RECEIVE_KEEP_DIR === '1') console.log(`kept ${dir}`);
    else cleanup(dir);
  }
}

