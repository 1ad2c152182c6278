// Rule evaluation: one group of 200 recording rules over 10k series, evaluated by
// `thanos-ts rule` (through `thanos-ts query` and a `thanos-ts sidecar` in front of a
// Prometheus) and by a real Prometheus 2.42 evaluating the same rules over the same
// samples, in one run. The figure is each side's prometheus_rule_group_last_duration_seconds
// for every evaluation in the run (median, p90, ratio ours/Prometheus), with the CPU each
// side's processes used per evaluation and the time per rule shape from /api/v1/rules.
//
// Why the sidecar path. Rules are evaluated against "now", so the data must reach now and
// keep growing; Thanos rulers typically read recent data through sidecars. So one
// synthetic exporter (in this process) serves 10k series with explicit timestamps on a
// 15 s grid, values a function of the grid step, and two Prometheus scrape it every 5 s
// (honor_labels: the exporter stands for 100 targets): P_ref evaluates the rules itself,
// P_side sits behind our sidecar. Both start on the same backfilled history (written once
// as OpenMetrics, turned into blocks by promtool, copied to both data dirs) of
// RULE_HISTORY_MINUTES (75: every rule window, ≤ 1h, lies in data) before T_live, and hold
// identical samples from T_live on: both sides compute over the same data, which the
// samples-per-evaluation check confirms.
//
// Series: 100 targets {job (10 jobs × 10 instances), instance}, each with
//   http_requests_total{handler (5), code (4)}                         20 counters
//   http_request_duration_seconds_bucket{handler (5), le (8)}, _sum, _count  50
//   cpu_seconds_total{mode (4)}, memory_bytes{area (2)}, queue_depth{queue (10)},
//   goroutines, errors_total{kind (13)}                                30
// = 100 series per target, 10,000 in all: metric names of 100 to 4,000 series.
//
// Rules: 20 shapes (rate/irate/increase sums, ratios, histogram_quantile, avg/max/count
// by, max/avg/quantile_over_time, comparisons, a plain selector; windows 1m to 1h) over
// all jobs, and 18 of them again for each of the 10 jobs ({job="…"}): 200 recording rules
// in one group, interval RULE_INTERVAL (15 s), evaluated in order by both.
//
// Interleaving. Groups are slotted at hash(name, file) mod interval (the same xxhash in
// Prometheus and in our rules package), so the bench picks our group's name such that our
// slot falls RULE_GAP (0.15) of an interval after Prometheus's: Prometheus evaluates, then
// ours, never at once, in every interval. Both start with an empty group list; after a
// RULE_BASELINE_SECONDS (10) window measuring each process's idle CPU (scrapes, health
// checks, this bench's /metrics polling every 500 ms), the rules are written and both
// reloaded; after each side's first (warm-up) evaluation, RULE_SECONDS (150) are
// measured. CPU per evaluation is (CPU used in the window − idle rate × window) /
// evaluations, per process: our ruler, query (with its worker threads), sidecar and P_side
// (the remote reads it serves); Prometheus's P_ref. On a shared machine the CPU figures
// are steadier than the durations, which stretch with the load average.
//
// RULE_PROFILE=1 runs ruler, query and sidecar under `node --cpu-prof` and prints the top
// self-time functions of each main thread within the measured window, and of the worker
// threads (query's PromQL pool) over their whole lives. THANOS_TS_BIN runs another
// build; RULE_NODE_FLAGS adds node flags to the thanos-ts processes; RULE_KEEP_DIR=1 keeps
// the temp dir (logs, profiles).
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labelsFromStrings } from '@thanos-ts/tsdb';
import { promtool, removeTempDirs, startExporter, startPrometheus, waitFor } from '@thanos-ts/testutil';
import { cleanup, cpuSeconds, descendants, envNum, median, packageOf, pidOfPrometheus, startThanosTs, table, tmp } from './util.mjs';

// The slot hash is internal to @thanos-ts/rules: read it from the build.
const { labelsHash } = await import(new URL('../packages/rules/dist/manager/go-compat.js', import.meta.url).href);

const BIN = process.env.THANOS_TS_BIN || fileURLToPath(new URL('../bin/thanos-ts', import.meta.url));
const INTERVAL_S = envNum('RULE_INTERVAL', 15);
const RUN_S = envNum('RULE_SECONDS', 150);
const BASELINE_S = envNum('RULE_BASELINE_SECONDS', 10);
const HISTORY_MS = envNum('RULE_HISTORY_MINUTES', 75) * 60_000;
const GAP = envNum('RULE_GAP', 0.15);
const SETUP_MARGIN_S = envNum('RULE_SETUP_MARGIN', 45);
const PROFILE = process.env.RULE_PROFILE === '1';
const NODE_FLAGS = (process.env.RULE_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);

const GRID_MS = 15_000;
const SCRAPE_INTERVAL = '5s';
const POLL_MS = 500;
const PROM_GROUP = 'bench';

// ---- series ----

const JOBS = ['api', 'checkout', 'payments', 'catalog', 'search', 'users', 'inventory', 'shipping', 'notifications', 'recommendations'];
const TARGETS = 100;
const HANDLERS = ['/api/v1/items', '/api/v1/orders', '/api/v1/users', '/healthz', '/login'];
const CODES = ['200', '302', '404', '500'];
const LES = ['0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '+Inf'];
const LE_SHARE = [0.05, 0.15, 0.35, 0.6, 0.8, 0.92, 0.98, 1];
const MODES = ['idle', 'iowait', 'system', 'user'];
const AREAS = ['heap', 'nonheap'];
const QUEUES = Array.from({ length: 10 }, (_, q) => `q${q}`);
const KINDS = ['auth', 'conflict', 'db', 'decode', 'dns', 'internal', 'limit', 'network', 'not_found', 'parse', 'permission', 'timeout', 'validation'];

/** A 32-bit hash of a grid index and a series number: the noise of the values. */
function mix(n, i) {
  let x = Math.imul(n ^ Math.imul(i + 1, 0x9e3779b1), 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * Every series as name, labels (sorted, job and instance included) and value at grid
 * index n, grouped by name (OpenMetrics needs each name's lines together). Counters grow by
 * pseudo-random steps; bucket counts are cumulative shares of a handler's request total.
 */
function seriesList() {
  const out = [];
  const target = (t) => `instance="10.0.${t >> 4}.${t & 15}:9100",job="${JOBS[t % JOBS.length]}"`;
  let id = 0;
  const counter = (k, i) => (n) => n * k + (mix(n, i) % k);
  const totals = []; // per target × handler
  for (let t = 0; t < TARGETS; t++) {
    for (const [h, handler] of HANDLERS.entries()) {
      for (const [c, code] of CODES.entries()) out.push({ name: 'http_requests_total', labels: `code="${code}",handler="${handler}",${target(t)}`, value: counter(3 + ((t + h * 7 + c * 3) % 40), id++) });
      totals[t * HANDLERS.length + h] = counter(10 + ((t * 3 + h) % 50), id++);
    }
  }
  for (let t = 0; t < TARGETS; t++) {
    for (const [h, handler] of HANDLERS.entries()) {
      const tot = totals[t * HANDLERS.length + h];
      for (const [j, le] of LES.entries()) out.push({ name: 'http_request_duration_seconds_bucket', labels: `handler="${handler}",${target(t)},le="${le}"`, value: (n) => Math.floor(tot(n) * LE_SHARE[j]) });
    }
  }
  for (let t = 0; t < TARGETS; t++) {
    for (const [h, handler] of HANDLERS.entries()) {
      const tot = totals[t * HANDLERS.length + h];
      out.push({ name: 'http_request_duration_seconds_sum', labels: `handler="${handler}",${target(t)}`, value: (n) => Math.round(tot(n) * 0.137 * 1000) / 1000 });
    }
  }
  for (let t = 0; t < TARGETS; t++) {
    for (const handler of HANDLERS) out.push({ name: 'http_request_duration_seconds_count', labels: `handler="${handler}",${target(t)}`, value: totals[t * HANDLERS.length + HANDLERS.indexOf(handler)] });
  }
  for (let t = 0; t < TARGETS; t++) for (const [m, mode] of MODES.entries()) out.push({ name: 'cpu_seconds_total', labels: `${target(t)},mode="${mode}"`, value: counter(m === 0 ? 12 : 3 + m, id++) });
  for (let t = 0; t < TARGETS; t++) {
    for (const area of AREAS) {
      const i = id++;
      out.push({ name: 'memory_bytes', labels: `area="${area}",${target(t)}`, value: (n) => 100e6 + (mix(n, i) % 50e6) });
    }
  }
  for (let t = 0; t < TARGETS; t++) {
    for (const queue of QUEUES) {
      const i = id++;
      out.push({ name: 'queue_depth', labels: `${target(t)},queue="${queue}"`, value: (n) => mix(n, i) % 100 });
    }
  }
  for (let t = 0; t < TARGETS; t++) {
    const i = id++;
    out.push({ name: 'goroutines', labels: target(t), value: (n) => 100 + (mix(n, i) % 400) });
  }
  for (let t = 0; t < TARGETS; t++) for (const kind of KINDS) out.push({ name: 'errors_total', labels: `${target(t)},kind="${kind}"`, value: counter(2 + (t % 5), id++) });
  return out;
}

/** The exposition at the current grid step (explicit timestamps), empty before T_live; one body per step. */
function exposer(series, tLive) {
  let cached = { ts: -1, body: '' };
  return () => {
    const ts = Math.floor(Date.now() / GRID_MS) * GRID_MS;
    if (ts < tLive) return '';
    if (cached.ts === ts) return cached.body;
    const n = ts / GRID_MS;
    const parts = [];
    for (const s of series) parts.push(`${s.name}{${s.labels}} ${s.value(n)} ${ts}\n`);
    cached = { ts, body: parts.join('') };
    return cached.body;
  };
}

/** The history before T_live as OpenMetrics (timestamps in seconds); returns the sample count. */
function writeHistory(file, series, tLive) {
  const n1 = tLive / GRID_MS;
  const n0 = n1 - Math.ceil(HISTORY_MS / GRID_MS);
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
      const prefix = `${s.name}{${s.labels}} `;
      for (let n = n0; n < n1; n++) {
        buf += `${prefix}${s.value(n)} ${(n * GRID_MS) / 1000}\n`;
        count++;
      }
      if (buf.length > 1 << 20) {
        writeSync(fd, buf);
        buf = '';
      }
    }
    writeSync(fd, buf + '# EOF\n');
  } finally {
    closeSync(fd);
  }
  return count;
}

// ---- rules ----

/** [record suffix, expression with S(extra) for a selector's matchers, per job?] */
const SHAPES = [
  ['http_requests:rate5m', (S) => `sum by (job, code) (rate(http_requests_total${S()}[5m]))`, true],
  ['http_requests:rate1m_by_handler', (S) => `sum by (job, handler) (rate(http_requests_total${S()}[1m]))`, true],
  ['http_errors:ratio_rate5m', (S) => `sum by (job) (rate(http_requests_total${S('code=~"5.."')}[5m])) / sum by (job) (rate(http_requests_total${S()}[5m]))`, true],
  ['http_requests:irate1m', (S) => `sum by (job) (irate(http_requests_total${S()}[1m]))`, true],
  ['http_request_duration:p99_5m', (S) => `histogram_quantile(0.99, sum by (job, le) (rate(http_request_duration_seconds_bucket${S()}[5m])))`, true],
  ['http_request_duration:p50_5m_by_handler', (S) => `histogram_quantile(0.5, sum by (handler, le) (rate(http_request_duration_seconds_bucket${S()}[5m])))`, true],
  ['http_request_duration:mean5m', (S) => `sum by (job) (rate(http_request_duration_seconds_sum${S()}[5m])) / sum by (job) (rate(http_request_duration_seconds_count${S()}[5m]))`, true],
  ['instance:cpu_busy:rate5m', (S) => `avg by (instance) (rate(cpu_seconds_total${S('mode!="idle"')}[5m]))`, true],
  ['cpu_idle:ratio_rate5m', (S) => `sum by (job) (rate(cpu_seconds_total${S('mode="idle"')}[5m])) / sum by (job) (rate(cpu_seconds_total${S()}[5m]))`, true],
  ['memory_bytes:avg', (S) => `avg by (job, area) (memory_bytes${S()})`, true],
  ['instance:memory_bytes:sum', (S) => `sum by (instance) (memory_bytes${S()})`, true],
  ['queue_depth:max_over_time15m', (S) => `max_over_time(queue_depth${S()}[15m])`, true],
  ['queue_depth:max', (S) => `max by (job, queue) (queue_depth${S()})`, true],
  ['queue_depth:p90_over_time10m', (S) => `quantile_over_time(0.9, queue_depth${S()}[10m])`, true],
  ['goroutines:avg_over_time1h', (S) => `avg_over_time(goroutines${S()}[1h])`, false],
  ['goroutines_high:count', (S) => `count by (job) (goroutines${S()} > 300)`, true],
  ['errors:increase1h', (S) => `sum by (job, kind) (increase(errors_total${S()}[1h]))`, true],
  ['instance:errors:rate5m', (S) => `sum by (instance) (rate(errors_total${S()}[5m]))`, true],
  ['memory_bytes_heap', (S) => `memory_bytes${S('area="heap"')}`, false],
  ['goroutines:count', (S) => `count by (job) (goroutines${S()})`, true],
];

/** [{record, expr, shape}] : the 20 shapes over all jobs, then the per-job ones for each job. */
function ruleList() {
  const sel = (job) => (extra) => `{${[job ? `job="${job}"` : '', extra ?? ''].filter(Boolean).join(',')}}`;
  const out = SHAPES.map(([name, expr]) => ({ record: `bench:${name}`, expr: expr(sel(null)), shape: name }));
  for (const job of JOBS) for (const [name, expr, perJob] of SHAPES) if (perJob) out.push({ record: `bench_${job}:${name}`, expr: expr(sel(job)), shape: name });
  return out;
}

function ruleFile(group, rules) {
  const lines = ['groups:', `  - name: ${group}`, `    interval: ${INTERVAL_S}s`, '    rules:'];
  for (const r of rules) lines.push(`      - record: ${r.record}`, `        expr: ${JSON.stringify(r.expr)}`);
  return lines.join('\n') + '\n';
}

/** A group's slot within the interval, ms (Prometheus's Group.hash() mod interval). */
function slotMs(name, file) {
  const ns = labelsHash(labelsFromStrings('name', name, 'file', file)) % BigInt(INTERVAL_S * 1e9);
  return Number(ns) / 1e6;
}

/** Our group's name: the first `bench-<k>` whose slot is GAP of an interval after Prometheus's. */
function pickOurGroup(promFile, ourFile) {
  const iv = INTERVAL_S * 1000;
  const want = (slotMs(PROM_GROUP, promFile) + GAP * iv) % iv;
  for (let k = 0; k < 100_000; k++) {
    const name = `bench-${k}`;
    const d = Math.abs(slotMs(name, ourFile) - want);
    if (Math.min(d, iv - d) < Math.min(250, iv * 0.01)) return name;
  }
  throw new Error('no group name puts our slot where wanted');
}

// ---- processes ----

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startComponent(what, args, { profileDir, logFile } = {}) {
  const nodeArgs = [...NODE_FLAGS, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
  const spawnedAt = performance.now();
  const c = await startThanosTs(what, args, {
    bin: BIN,
    nodeArgs,
    readyTimeoutMs: 60_000,
    stopTimeoutMs: 30_000,
    onOutput: logFile ? (d) => writeFileSync(logFile, d, { flag: 'a' }) : undefined,
  });
  return { ...c, what, spawnedAt, profileDir };
}

/** User + system CPU seconds of a process and its descendants (a query's workers count too). */
function treeCpuSeconds(pid) {
  let s = 0;
  for (const p of [pid, ...descendants(pid)]) {
    const c = cpuSeconds(p);
    if (!Number.isNaN(c)) s += c;
  }
  return s;
}

/** The group's last evaluation as its /metrics page says: start (s), duration (s), samples. */
async function groupState(metricsUrl, ruleGroup) {
  const res = await fetch(metricsUrl);
  const text = await res.text();
  const want = `rule_group="${ruleGroup}"`;
  const st = { ts: NaN, dur: NaN, samples: NaN, missed: NaN };
  for (const line of text.split('\n')) {
    if (!line.startsWith('prometheus_rule_group_') || !line.includes(want)) continue;
    const name = line.slice(0, line.indexOf('{'));
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (name === 'prometheus_rule_group_last_evaluation_timestamp_seconds') st.ts = v;
    else if (name === 'prometheus_rule_group_last_duration_seconds') st.dur = v;
    else if (name === 'prometheus_rule_group_last_evaluation_samples') st.samples = v;
    else if (name === 'prometheus_rule_group_iterations_missed_total') st.missed = v;
  }
  return st;
}

/** Per rule (by record name): evaluation time (s) and health from /api/v1/rules. */
async function ruleTimes(url, group) {
  const body = await (await fetch(`${url}/api/v1/rules?type=record`)).json();
  const g = (body.data?.groups ?? []).find((x) => x.name === group);
  const out = new Map();
  for (const r of g?.rules ?? []) out.set(r.name, { s: r.evaluationTime, health: r.health, error: r.lastError });
  return out;
}

function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

// ---- profiles ----

/** Self time per function of .cpuprofile files (summed), each within [fromMs, untilMs] of its start. */
function profileSelfTimes(files, fromMs, untilMs) {
  const self = new Map();
  const pkgOf = new Map();
  let total = 0;
  for (const file of files) {
    const prof = JSON.parse(readFileSync(file, 'utf8'));
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    let t = 0;
    for (let k = 0; k < prof.samples.length; k++) {
      const dt = prof.timeDeltas[k] / 1000;
      t += dt;
      if (t < fromMs) continue;
      if (t > untilMs) break;
      const cf = byId.get(prof.samples[k]).callFrame;
      if (cf.functionName === '(idle)') continue;
      const url = cf.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\/\.pnpm\/([^/]+)\/node_modules\//, '$1 ').replace(/^.*\/packages\//, '');
      const key = cf.url === '' ? cf.functionName : `${cf.functionName || '(anonymous)'} ${url}:${cf.lineNumber + 1}`;
      self.set(key, (self.get(key) ?? 0) + dt);
      pkgOf.set(key, packageOf(cf));
      total += dt;
    }
  }
  return { total, top: [...self].sort((a, b) => b[1] - a[1]), pkgOf };
}


function printProfile(title, files, fromMs, untilMs, evals) {
  const { total, top, pkgOf } = profileSelfTimes(files, fromMs, untilMs);
  const per = Number.isFinite(untilMs) ? ` in the window (${(total / evals).toFixed(0)} ms per evaluation)` : '';
  console.log(`\n${title}: ${(total / 1000).toFixed(1)} s of samples${per}, idle excluded\n`);
  const rows = [['self ms', '%', 'function']];
  for (const [k, ms] of top.slice(0, 20)) rows.push([ms.toFixed(0), ((100 * ms) / total).toFixed(1), k]);
  table(rows);
  const byPkg = new Map();
  for (const [k, ms] of top) byPkg.set(pkgOf.get(k), (byPkg.get(pkgOf.get(k)) ?? 0) + ms);
  console.log('\nby package:\n');
  const prow = [['self ms', '%', 'package']];
  for (const [k, ms] of [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, 10)) prow.push([ms.toFixed(0), ((100 * ms) / total).toFixed(1), k]);
  table(prow);
}

// ---- the bench ----

export async function run() {
  if (!existsSync(BIN)) throw new Error(`THANOS_TS_BIN: ${BIN} does not exist`);
  const dir = tmp('rule');
  const stoppers = [];
  try {
    const setupT0 = Date.now();
    const tLive = Math.ceil((setupT0 + SETUP_MARGIN_S * 1000) / GRID_MS) * GRID_MS;
    const series = seriesList();
    const exporter = await startExporter(exposer(series, tLive));
    stoppers.push(() => exporter.stop());

    // History → blocks, copied to both data dirs.
    let t = performance.now();
    const om = join(dir, 'history.om');
    const samples = writeHistory(om, series, tLive);
    const genMs = performance.now() - t;
    t = performance.now();
    const refData = join(dir, 'prometheus-ref');
    const sideData = join(dir, 'prometheus-side');
    mkdirSync(refData);
    const r = await promtool(['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', om, refData], { timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`promtool create-blocks-from openmetrics: ${r.stderr || r.stdout}`);
    cpSync(refData, sideData, { recursive: true });
    const promtoolMs = performance.now() - t;
    cleanup(om);

    // Rule files: empty until the baseline is measured.
    const promRules = join(dir, 'prometheus-rules.yml');
    const ourRules = join(dir, 'thanos-rules.yml');
    writeFileSync(promRules, 'groups: []\n');
    writeFileSync(ourRules, 'groups: []\n');
    const ourGroup = pickOurGroup(promRules, ourRules);
    const rules = ruleList();

    const cfg = {
      global: { scrape_interval: SCRAPE_INTERVAL, evaluation_interval: `${INTERVAL_S}s` },
      rule_files: [promRules],
      scrape_configs: [{ job_name: 'exporter', honor_labels: true, static_configs: [{ targets: [exporter.target] }] }],
    };
    const startProm = (dataDir, extra) => startPrometheus({ dataDir, config: extra ? cfg : { ...cfg, rule_files: [] }, scrapeSelf: false, blockDuration: '2h', externalLabels: { cluster: 'bench' }, readyTimeoutMs: 120_000 });
    const [ref, side] = await Promise.all([startProm(refData, true), startProm(sideData, false)]);
    stoppers.push(() => ref.stop(), () => side.stop());
    const promReadyAt = Date.now();
    if (promReadyAt > tLive) throw new Error(`setup: Prometheus ready ${((promReadyAt - tLive) / 1000).toFixed(1)} s after T_live; raise RULE_SETUP_MARGIN (now ${SETUP_MARGIN_S})`);

    // thanos-ts: sidecar → query → rule.
    const profDir = join(dir, 'profiles');
    const prof = (name) => (PROFILE ? join(profDir, name) : undefined);
    const sidecar = await startComponent('sidecar', ['sidecar', `--prometheus.url=${side.url}`, `--tsdb.path=${sideData}`], { profileDir: prof('sidecar'), logFile: join(dir, 'sidecar.log') });
    stoppers.push(() => sidecar.stop());
    const query = await startComponent('query', ['query', `--endpoint=${sidecar.grpc}`], { profileDir: prof('query'), logFile: join(dir, 'query.log') });
    stoppers.push(() => query.stop());
    await waitFor(
      async () => {
        const body = await (await fetch(`${query.url}/api/v1/stores`)).json();
        const all = Object.values(body.data ?? {}).flat();
        return all.length >= 1 && all.every((s) => s.lastError === null || s.lastError === undefined);
      },
      { what: 'query to see the sidecar', timeoutMs: 30_000 },
    );
    const ruler = await startComponent(
      'rule',
      ['rule', `--query=${query.url}`, `--rule-file=${ourRules}`, `--eval-interval=${INTERVAL_S}s`, '--label=ruler="bench"', `--data-dir=${join(dir, 'ruler-data')}`],
      { profileDir: prof('rule'), logFile: join(dir, 'rule.log') },
    );
    stoppers.push(() => ruler.stop());

    // Live data in both: a grid step past T_live, scraped.
    const liveFrom = tLive + GRID_MS + 6000;
    if (Date.now() < liveFrom) await sleep(liveFrom - Date.now());

    const procs = {
      'thanos-ts rule': ruler.pid,
      'thanos-ts query': query.pid,
      'thanos-ts sidecar': sidecar.pid,
      'Prometheus behind sidecar': pidOfPrometheus(side.port),
      Prometheus: pidOfPrometheus(ref.port),
    };
    const ours = ['thanos-ts rule', 'thanos-ts query', 'thanos-ts sidecar', 'Prometheus behind sidecar'];
    const cpuNow = () => Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, treeCpuSeconds(pid)]));

    console.log(`bin: ${BIN}`);
    console.log(
      `${series.length} series × ${samples / series.length} samples of history (OpenMetrics ${(genMs / 1000).toFixed(1)} s, promtool ${(promtoolMs / 1000).toFixed(1)} s) before T_live ${new Date(tLive).toISOString()}, ` +
        `then scraped every ${SCRAPE_INTERVAL} on a ${GRID_MS / 1000} s grid by both Prometheus; setup ${((Date.now() - setupT0) / 1000).toFixed(0)} s`,
    );
    console.log(`${rules.length} recording rules in one group, interval ${INTERVAL_S}s; ours: ${ourGroup} in ${ourRules}, slot ${slotMs(ourGroup, ourRules).toFixed(0)} ms; Prometheus: ${PROM_GROUP}, slot ${slotMs(PROM_GROUP, promRules).toFixed(0)} ms`);
    console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} before the baseline (other work shares them)`);

    // Idle CPU rates, no rules loaded, under the same /metrics polling as the window (a
    // prom-client /metrics page is not free), so that subtracting them leaves the rules.
    const base0 = cpuNow();
    const baseT0 = performance.now();
    while (performance.now() - baseT0 < BASELINE_S * 1000) {
      await groupState(`${ref.url}/metrics`, 'none');
      await groupState(`${ruler.url}/metrics`, 'none');
      await sleep(POLL_MS);
    }
    const base1 = cpuNow();
    const baseS = (performance.now() - baseT0) / 1000;
    const idleRate = Object.fromEntries(Object.keys(procs).map((k) => [k, (base1[k] - base0[k]) / baseS]));

    // The rules, then each side's first evaluation as warm-up.
    writeFileSync(promRules, ruleFile(PROM_GROUP, rules));
    writeFileSync(ourRules, ruleFile(ourGroup, rules));
    for (const [what, url] of [
      ['Prometheus', ref.url],
      ['thanos-ts rule', ruler.url],
    ]) {
      const res = await fetch(`${url}/-/reload`, { method: 'POST' });
      if (res.status !== 200) throw new Error(`${what} /-/reload: HTTP ${res.status}: ${await res.text()}`);
    }
    const sides = [
      { name: 'Prometheus 2.42', short: 'Prometheus', metrics: `${ref.url}/metrics`, api: ref.url, group: PROM_GROUP, key: `${promRules};${PROM_GROUP}` },
      { name: 'thanos-ts rule', short: 'thanos-ts', metrics: `${ruler.url}/metrics`, api: ruler.url, group: ourGroup, key: `${ourRules};${ourGroup}` },
    ];
    const warmT0 = Date.now();
    for (const s of sides) {
      await waitFor(async () => (await groupState(s.metrics, s.key)).ts > 0, { what: `${s.name}: first evaluation`, timeoutMs: (INTERVAL_S * 4 + 60) * 1000, intervalMs: POLL_MS });
      const st = await groupState(s.metrics, s.key);
      s.warm = st;
      s.lastTs = st.ts;
      s.missed0 = st.missed;
    }
    console.log(`first evaluations (warm-up, not counted): Prometheus ${(sides[0].warm.dur * 1000).toFixed(0)} ms, thanos-ts ${(sides[1].warm.dur * 1000).toFixed(0)} ms (${((Date.now() - warmT0) / 1000).toFixed(0)} s after the reload)`);

    // The measured window: whole intervals, polled.
    for (const s of sides) {
      s.evals = [];
      s.perRule = new Map();
      s.unhealthy = new Map();
      s.lastTs = (await groupState(s.metrics, s.key)).ts;
    }
    const cpu0 = cpuNow();
    const w0 = performance.now();
    const wallT0 = Date.now();
    const windowMs = Math.round(RUN_S / INTERVAL_S) * INTERVAL_S * 1000;
    const loadSamples = [];
    while (performance.now() - w0 < windowMs) {
      for (const s of sides) {
        // Both set the duration, then the timestamp, at the end of an iteration: a new
        // timestamp comes with its duration.
        const st = await groupState(s.metrics, s.key);
        if (!(st.ts > s.lastTs)) continue;
        s.lastTs = st.ts;
        s.evals.push({ ts: st.ts, dur: st.dur, samples: st.samples });
        for (const [name, v] of await ruleTimes(s.api, s.group)) {
          let l = s.perRule.get(name);
          if (!l) s.perRule.set(name, (l = []));
          l.push(v.s);
          if (v.health !== 'ok') s.unhealthy.set(name, v.error);
        }
      }
      loadSamples.push(loadavg()[0]);
      await sleep(POLL_MS);
    }
    const cpu1 = cpuNow();
    const windowS = (performance.now() - w0) / 1000;
    const wallT1 = Date.now();
    for (const s of sides) s.missed = (await groupState(s.metrics, s.key)).missed - s.missed0;

    // Results.
    const json = { bin: BIN, series: series.length, rules: rules.length, intervalS: INTERVAL_S, windowS, historyMinutes: HISTORY_MS / 60_000, loadAvg: median(loadSamples), sides: {} };
    const rows = [['side', 'evaluations', 'median ms', 'p90 ms', 'min ms', 'max ms', 'samples/eval', 'missed iterations']];
    for (const s of sides) {
      const d = s.evals.map((e) => e.dur * 1000);
      const fig = { evaluations: d.length, medianMs: median(d), p90Ms: quantile(d, 0.9), minMs: Math.min(...d), maxMs: Math.max(...d), samplesPerEval: median(s.evals.map((e) => e.samples)), missed: s.missed, durationsMs: d.map((x) => Math.round(x)) };
      json.sides[s.short] = fig;
      rows.push([s.name, fig.evaluations, fig.medianMs.toFixed(0), fig.p90Ms.toFixed(0), fig.minMs.toFixed(0), fig.maxMs.toFixed(0), fig.samplesPerEval, fig.missed]);
    }
    console.log(`\nprometheus_rule_group_last_duration_seconds over ${windowS.toFixed(0)} s (${RUN_S / INTERVAL_S} intervals); load average (1 min) median ${median(loadSamples).toFixed(2)} during it\n`);
    table(rows);
    const [P, T] = [json.sides.Prometheus, json.sides['thanos-ts']];
    json.ratio = { median: T.medianMs / P.medianMs, p90: T.p90Ms / P.p90Ms };
    // The slots as observed (an evaluation starts a few ms after its slot): the interleaving.
    const iv = INTERVAL_S * 1000;
    console.log(`\nobserved start within the interval: ${sides.map((s) => `${s.short} ${s.evals.map((e) => Math.round((e.ts * 1000) % iv)).slice(0, 4).join(', ')} ms`).join('; ')}`);
    console.log(`\nthanos-ts / Prometheus: median ${json.ratio.median.toFixed(1)}×, p90 ${json.ratio.p90.toFixed(1)}×`);
    if (P.samplesPerEval !== T.samplesPerEval) console.log(`samples per evaluation differ: Prometheus ${P.samplesPerEval}, thanos-ts ${T.samplesPerEval}`);
    for (const s of sides) {
      if (s.unhealthy.size === 0) continue;
      console.log(`${s.name}: ${s.unhealthy.size} rules not ok, e.g. ${[...s.unhealthy].slice(0, 3).map(([k, e]) => `${k}: ${e}`).join('; ')}`);
    }

    // CPU per evaluation.
    const evalsOf = (k) => (ours.includes(k) ? T.evaluations : P.evaluations);
    const crows = [['process', 'CPU s in window', 'idle CPU s/s (baseline)', 'CPU ms per evaluation (minus idle)']];
    json.cpuMsPerEval = {};
    let oursMs = 0;
    for (const k of Object.keys(procs)) {
      const used = cpu1[k] - cpu0[k];
      const ms = ((used - idleRate[k] * windowS) * 1000) / Math.max(1, evalsOf(k));
      json.cpuMsPerEval[k] = ms;
      if (ours.includes(k)) oursMs += ms;
      crows.push([k, used.toFixed(1), idleRate[k].toFixed(3), ms.toFixed(0)]);
    }
    console.log(`\nCPU (utime + stime from /proc, with child processes), baseline ${BASELINE_S} s without rules:\n`);
    table(crows);
    json.cpuMsPerEval.oursTotal = oursMs;
    console.log(`\nCPU per evaluation: thanos-ts stack ${oursMs.toFixed(0)} ms vs Prometheus ${json.cpuMsPerEval.Prometheus.toFixed(0)} ms (${(oursMs / json.cpuMsPerEval.Prometheus).toFixed(1)}×)`);

    // Per rule shape: median evaluation time, the all-jobs rule and the per-job ones summed.
    console.log('\nper rule shape (median of /api/v1/rules evaluationTime over the window, ms):\n');
    const srows = [['shape', 'Prometheus all', 'thanos-ts all', 'ratio', 'Prometheus 10 jobs', 'thanos-ts 10 jobs', 'ratio']];
    json.shapes = {};
    for (const [shape, , perJob] of SHAPES) {
      const med = (s, record) => median(s.perRule.get(record) ?? [NaN]) * 1000;
      const all = sides.map((s) => med(s, `bench:${shape}`));
      const jobs = sides.map((s) => (perJob ? JOBS.reduce((a, j) => a + med(s, `bench_${j}:${shape}`), 0) : NaN));
      json.shapes[shape] = { all, jobs };
      const f = (x) => (Number.isNaN(x) ? '-' : x.toFixed(1));
      srows.push([shape, f(all[0]), f(all[1]), (all[1] / all[0]).toFixed(1), f(jobs[0]), f(jobs[1]), perJob ? (jobs[1] / jobs[0]).toFixed(1) : '-']);
    }
    table(srows);

    if (PROFILE) {
      for (const c of [ruler, query, sidecar]) await c.stop();
      console.log('\nprofiles (V8 sample intervals, which include time a busy thread waited for a CPU: read them as shares):');
      for (const c of [ruler, query, sidecar]) {
        // One file per thread, CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main one.
        const files = existsSync(c.profileDir) ? readdirSync(c.profileDir).filter((f) => f.endsWith('.cpuprofile')).sort() : [];
        const main = files.filter((f) => f.split('.')[4] === '0');
        const workers = files.filter((f) => f.split('.')[4] !== '0');
        // The main thread's profile starts at about the spawn: cut it to the measured window.
        const from = w0 - c.spawnedAt;
        for (const f of main) printProfile(`thanos-ts ${c.what}, main thread`, [join(c.profileDir, f)], from, from + windowS * 1000, T.evaluations);
        // Worker threads start later and at unknown times: whole lives, summed.
        if (workers.length) printProfile(`thanos-ts ${c.what}, ${workers.length} worker threads (whole lives)`, workers.map((f) => join(c.profileDir, f)), 0, Infinity, T.evaluations);
      }
    }
    json.window = { start: new Date(wallT0).toISOString(), end: new Date(wallT1).toISOString() };
    console.log(`\n${JSON.stringify(json)}`);
  } finally {
    for (const s of stoppers.reverse()) await s().catch((e) => console.log(`stop: ${e.message}`));
    await removeTempDirs();
    if (process.env.RULE_KEEP_DIR === '1') console.log(`kept ${dir}`);
    else cleanup(dir);
  }
}
