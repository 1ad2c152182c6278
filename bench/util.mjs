// Small helpers shared by the benchmarks.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, LogBuffer, waitFor } from '@thanos-ts/testutil';

export function tmp(prefix) {
  return mkdtempSync(join(tmpdir(), `thanos-ts-bench-${prefix}-`));
}

export function cleanup(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/** Runs fn repeatedly for at least minMs (after one warm-up) and returns the best ms per run. */
export function timeIt(fn, minMs = 500) {
  fn();
  let best = Infinity;
  const end = performance.now() + minMs;
  do {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  } while (performance.now() < end);
  return best;
}

export async function timeItAsync(fn, runs = 3) {
  await fn();
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

export function fmt(n, digits = 1) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(digits)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(digits)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(digits)}k`;
  return n.toFixed(digits);
}

export function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const [i, r] of rows.entries()) {
    console.log('| ' + r.map((c, j) => String(c).padEnd(widths[j])).join(' | ') + ' |');
    if (i === 0) console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  }
}

/** A deterministic PRNG so runs compare: the tests' own. */
export { rng } from '@thanos-ts/testutil';

/**
 * A directory kept between bench runs for generated data (node_modules/.cache/thanos-ts-bench/<name>,
 * or $THANOS_TS_BENCH_CACHE/<name>); delete it to regenerate.
 */
export function cacheDir(name) {
  const root = process.env.THANOS_TS_BENCH_CACHE ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '.cache', 'thanos-ts-bench');
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Resident memory of a process from /proc/<pid>/status (Linux): current (VmRSS) and peak (VmHWM), bytes. */
export function procMemory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * A /metrics page as a Map from the series as written (`name{labels}`) to its value.
 * Enough for the flat output of prom-client and Prometheus (no timestamps, no spaces in values).
 */
export async function scrapeMetrics(url) {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const out = new Map();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

export function fmtBytes(n) {
  if (!Number.isFinite(n)) return String(n);
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

// ---- shared by the benches that run thanos-ts beside Prometheus (promql-path) ----

/** A positive number from the environment, or dflt when unset or empty. */
export function envNum(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${v}: want a positive number`);
  return n;
}

export function geomean(xs) {
  if (xs.length === 0) return NaN;
  return Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
}

/**
 * `thanos-ts <args>` (bin/thanos-ts, or opts.bin) as a child process on free loopback
 * ports, ready (/-/ready answers 200). Its output is kept (the last 64 KiB) for the error
 * when it exits early, and also handed to opts.onOutput. opts: bin, nodeArgs,
 * readyTimeoutMs (120 s), stopTimeoutMs (SIGKILL that long after SIGTERM, 10 s), onOutput.
 */
export async function startThanosTs(what, args, opts = {}) {
  const bin = opts.bin ?? fileURLToPath(new URL('../bin/thanos-ts', import.meta.url));
  const httpAddr = `127.0.0.1:${await freePort()}`;
  const grpc = `127.0.0.1:${await freePort()}`;
  const log = new LogBuffer(64 * 1024);
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), bin, ...args, `--http-address=${httpAddr}`, `--grpc-address=${grpc}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  const kill = () => proc.kill('SIGKILL');
  process.once('exit', kill);
  const onData = (d) => {
    log.append(d);
    opts.onOutput?.(d);
  };
  proc.stdout.setEncoding('utf8').on('data', onData);
  proc.stderr.setEncoding('utf8').on('data', onData);
  const exited = new Promise((r) => proc.once('exit', r));
  const died = new AbortController();
  proc.once('exit', (code, sig) => died.abort(new Error(`${what} exited (${code ?? sig})\n${log.toString()}`)));
  const stop = async () => {
    process.removeListener('exit', kill);
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(kill, opts.stopTimeoutMs ?? 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitFor(async () => (await fetch(`http://${httpAddr}/-/ready`)).status === 200, { what: `${what} ready`, timeoutMs: opts.readyTimeoutMs ?? 120_000, signal: died.signal });
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: proc.pid, url: `http://${httpAddr}`, grpc, stop, logs: () => log.toString() };
}

/** The pid of the prometheus listening on 127.0.0.1:port (testutil does not expose it), from /proc/<pid>/cmdline. */
export function pidOfPrometheus(port) {
  const flag = `--web.listen-address=127.0.0.1:${port}`;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(flag)) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no prometheus process with ${flag}`);
}

/** Clock ticks per second of /proc figures (USER_HZ): 100 on every Linux we run on. */
const CLK_TCK = 100;

/** User + system CPU seconds of a process (all its threads) from /proc/<pid>/stat; NaN once it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, fields 14 and 15 of proc(5), counted here from the state field (3).
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/**
 * CPU seconds the whole machine has spent busy and in total (all CPUs) since boot, from
 * /proc/stat: the difference of two readings, less what our own processes used, is the load
 * others put on a shared machine meanwhile.
 */
export function machineCpu() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const total = f.slice(0, 8).reduce((a, x) => a + x, 0);
  const idle = f[3] + f[4];
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}

/**
 * GET url over a keep-alive agent: status, the body's bytes and the milliseconds from
 * sending the request to the last byte of the body.
 */
export function httpGet(url, agent, timeoutMs = 300_000) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get(url, { agent }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - t0, body: Buffer.concat(parts) }));
      res.on('error', (e) => reject(new Error(`GET ${url}: response: ${e.message}`, { cause: e })));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout ${timeoutMs / 1000}s`)));
    req.on('error', (e) => reject(new Error(`GET ${url}: ${e.message}`, { cause: e })));
  });
}

function parseSampleValue(s) {
  return s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s);
}

/** Equal, or both NaN, or within `rel` of each other relative to the larger magnitude. */
export function closeFloats(a, b, rel = 1e-9) {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));
}

/**
 * null when two Prometheus HTTP API answers (parsed JSON of /api/v1/query or query_range)
 * hold the same result: same type, the same series (label sets, `dropLabels` removed from
 * `ours`, e.g. the external labels a Thanos querier adds), the same timestamps, values
 * within `rel`, and no warnings in `ours` unless opts.ignoreWarnings. Otherwise a short
 * description of the first difference. Both empty is equal unless opts.emptyIsDiff (then a
 * bench cannot tell the two sides did the same work).
 */
export function compareApiAnswers(ours, theirs, opts = {}) {
  const rel = opts.rel ?? 1e-9;
  const drop = new Set(opts.dropLabels ?? []);
  if (ours.status !== 'success') return `ours: ${ours.errorType ?? ''} ${ours.error}`;
  if (theirs.status !== 'success') return `Prometheus: ${theirs.errorType ?? ''} ${theirs.error}`;
  // A querier answers with warnings when a store failed under partial response: data is missing.
  if (!opts.ignoreWarnings && (ours.warnings?.length ?? 0) > 0) return `ours warns: ${ours.warnings.join('; ')}`;
  const a = ours.data;
  const b = theirs.data;
  if (a.resultType !== b.resultType) return `result type ${a.resultType} here, ${b.resultType} from Prometheus`;
  const point = (p, q, where) => {
    if (p[0] !== q[0] || !closeFloats(parseSampleValue(p[1]), parseSampleValue(q[1]), rel)) return `${where}: here ${p[0]} ${p[1]}, Prometheus ${q[0]} ${q[1]}`;
    return null;
  };
  if (a.resultType === 'scalar' || a.resultType === 'string') return point(a.result, b.result, a.resultType);
  const key = (m) =>
    JSON.stringify(
      Object.entries(m)
        .filter(([k]) => !drop.has(k))
        .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
    );
  if (a.result.length !== b.result.length) return `${a.result.length} series here, ${b.result.length} from Prometheus`;
  if (a.result.length === 0) return opts.emptyIsDiff ? 'both answers are empty' : null;
  const want = new Map(b.result.map((s) => [key(s.metric), s]));
  for (const s of a.result) {
    const k = key(s.metric);
    const w = want.get(k);
    if (w === undefined) return `Prometheus lacks ${k}`;
    if (a.resultType === 'vector') {
      const d = point(s.value, w.value, k);
      if (d !== null) return d;
      continue;
    }
    const pv = w.values ?? [];
    const sv = s.values ?? [];
    if (pv.length !== sv.length) return `${k}: ${sv.length} points here, ${pv.length} from Prometheus`;
    for (let i = 0; i < pv.length; i++) {
      const d = point(sv[i], pv[i], `${k} point ${i}`);
      if (d !== null) return d;
    }
    if ((s.histograms?.length ?? 0) !== (w.histograms?.length ?? 0)) return `${k}: ${s.histograms?.length ?? 0} histogram points here, ${w.histograms?.length ?? 0} from Prometheus`;
  }
  return null;
}

/** Child processes of pid, recursively (a component's worker processes count too). */
export function descendants(pid) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d), ...descendants(Number(d)));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Where a profiled function lives: a workspace package, an npm package, node itself, or V8/native. */
export function packageOf(cf) {
  if (cf.url === '') return cf.functionName.startsWith('(') ? cf.functionName : 'native (builtins, bindings)';
  if (cf.url.startsWith('node:')) return 'node internals';
  const npm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(cf.url);
  if (npm) return npm[1];
  const ws = /\/packages\/([^/]+)\//.exec(cf.url);
  return ws ? `@thanos-ts/${ws[1]}` : cf.url;
}
