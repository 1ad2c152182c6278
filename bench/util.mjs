// Small helpers shared by the benchmarks.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
