// Differential test: the same blocks served by a real Prometheus (the Debian 2.42 binary,
// via its HTTP API) and read by our engine must give the same answers to several hundred
// generated range queries.
//
// Prometheus 2.42 predates 3.x semantics our engine follows; the data and queries avoid
// the documented differences:
// - range selectors are left-closed in 2.x, left-open in 3.x: sample timestamps end in
//   7 ms, query times and subquery steps are whole seconds, subquery ranges are not
//   multiples of their steps;
// - 3.x extrapolates rate() towards zero after the threshold check, 2.x before: counters
//   stay far from zero (resets halve them), so the zero point is never the nearer edge;
// - atan2 keeps the metric name in 2.x: not generated; holt_winters is gone in 3.x.

import { BlocksQueryable, SeriesBuilder, STALE_NAN, labelsFromStrings } from '@thanos-ts/tsdb';
import { type PrometheusInstance, removeTempDir, rng, startPrometheus, tempDir } from '@thanos-ts/testutil';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from './engine.js';

const H = 3600_000;
const T0 = Math.floor((Date.now() - 8 * H) / H) * H;

function queries(): string[] {
  const sels = ['http_requests_total', 'cpu_seconds_total{mode="user"}', 'temperature', 'queue_size{job!="j1"}', '{__name__=~"temp.*|queue.*"}'];
  const counters = ['http_requests_total', 'cpu_seconds_total{mode="user"}'];
  const q: string[] = [];
  for (const s of sels) {
    q.push(s, `-${s}`, `${s} offset 10m`, `${s} offset -10m`, `timestamp(${s})`);
    for (const f of ['delta', 'idelta', 'deriv', 'changes', 'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time', 'stddev_over_time', 'stdvar_over_time', 'last_over_time', 'present_over_time']) {
      for (const r of ['1m', '5m', '17m']) q.push(`${f}(${s}[${r}])`);
    }
    q.push(`quantile_over_time(0.3, ${s}[10m])`, `predict_linear(${s}[10m], 600)`, `absent_over_time(${s}[1m])`);
    for (const a of ['sum', 'avg', 'min', 'max', 'count', 'stddev', 'stdvar', 'group']) q.push(`${a}(${s})`, `${a} by (job) (${s})`, `${a} without (instance) (deriv(${s}[5m]))`);
    q.push(`topk(3, ${s})`, `bottomk by (job) (2, ${s})`, `quantile(0.9, ${s})`, `quantile by (mode) (0.25, ${s})`, `count_values("v", round(${s}))`);
    for (const op of ['+', '-', '*', '/', '%', '^', '==', '!=', '>', '<', '>=', '<=']) {
      q.push(`${s} ${op} 3`, `2 ${op} ${s}`, `${s} ${op} ignoring(mode, id) group_left ${s}`, `${s} ${op} bool 50`);
    }
    for (const op of ['and', 'or', 'unless']) q.push(`${s} ${op} temperature > 40`, `${s} ${op} on(job) queue_size > 0`);
    for (const fn of ['abs', 'ceil', 'floor', 'exp', 'sqrt', 'ln', 'log2', 'log10', 'sgn', 'round', 'sin', 'cos', 'deg', 'rad', 'hour', 'minute', 'day_of_week', 'month', 'year', 'days_in_month']) {
      q.push(`${fn}(${s})`);
    }
    q.push(
      `clamp(${s}, 10, 50)`,
      `clamp_min(${s}, 20)`,
      `clamp_max(${s}, 20)`,
      `round(${s}, 5)`,
      `label_replace(${s}, "x", "$1-$2", "instance", "i(.)(.*)")`,
      `label_join(${s}, "x", ",", "job", "mode")`,
      `sort(${s})`,
      `absent(${s})`,
      `max_over_time(deriv(${s}[5m])[30m1s:2m])`,
      `avg_over_time(${s}[1h1s:5m] offset 3m)`,
      `sum_over_time(deriv(${s}[3m])[20m1s:])`,
      `scalar(sum(${s})) * ${s}`,
      `vector(scalar(count(${s})))`,
      `time() - timestamp(${s})`,
    );
  }
  for (const s of counters) {
    for (const f of ['rate', 'increase', 'irate', 'resets']) for (const r of ['1m', '5m', '17m']) q.push(`${f}(${s}[${r}])`);
    q.push(`sum by (job) (rate(${s}[5m]))`, `rate(${s}[5m1s:1m])`, `max_over_time(rate(${s}[5m])[30m1s:2m])`);
    q.push(`histogram_quantile(0.9, sum by (le) (label_replace(rate(${s}[5m]), "le", "$1", "instance", "i(.)")))`);
  }
  return q;
}

/** Prometheus's JSON value as a number. */
function num(s: string): number {
  return s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s);
}

function close(a: number, b: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

describe('engine vs Prometheus 2.42', () => {
  let dataDir = '';
  let blocks: BlocksQueryable;
  let prom: PrometheusInstance;

  beforeAll(async () => {
    dataDir = await tempDir('promql-differential');
    const b = new SeriesBuilder();
    const rand = rng(42);
    const names = ['http_requests_total', 'cpu_seconds_total', 'temperature', 'queue_size'];
    for (let s = 0; s < 24; s++) {
      const name = names[s % 4];
      const ls = labelsFromStrings('__name__', name, 'instance', `i${s % 6}`, 'job', `j${s % 3}`, 'mode', s % 2 ? 'user' : 'sys', 'id', String(s));
      let v = name.endsWith('_total') ? 10_000 + rand() * 1000 : rand() * 100;
      for (let t = T0 + 7 + 10 * Math.floor(rand() * 100); t < T0 + 6 * H; t += 15_000 + 10 * (Math.floor(rand() * 20) - 10)) {
        if (rand() < 0.01) continue;
        if (name.endsWith('_total')) v = rand() < 0.003 ? v / 2 : v + rand() * 10;
        else v += (rand() - 0.5) * 5;
        const f = s === 7 && t > T0 + 2 * H && t < T0 + 2 * H + 30_000 ? STALE_NAN : Math.round(v * 1000) / 1000;
        b.append(ls, t, f);
      }
    }
    await b.writeBlocks(dataDir, 2 * H);
    blocks = await BlocksQueryable.openDir(dataDir);
    prom = await startPrometheus({ dataDir, scrapeSelf: false, scrapeInterval: '1m', extraArgs: ['--storage.tsdb.retention.time=30d'] });
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await blocks?.close();
    await removeTempDir(dataDir);
  });

  it('answers generated range queries as Prometheus does', { timeout: 180_000 }, async () => {
    const engine = new Engine();
    const start = T0 + 2 * H;
    const end = T0 + 5 * H;
    const step = 7 * 60_000;
    const diffs: string[] = [];
    const qs = queries();
    let nonEmpty = 0;
    for (const q of qs) {
      const url = `${prom.url}/api/v1/query_range?query=${encodeURIComponent(q)}&start=${start / 1000}&end=${end / 1000}&step=${step / 1000}`;
      const pr = (await (await fetch(url)).json()) as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; values: [number, string][] }> } };
      let ours;
      try {
        ours = await engine.rangeQuery(blocks, q, start, end, step);
      } catch (err) {
        if (pr.status !== 'success') continue;
        diffs.push(`${q}: we fail (${(err as Error).message}), Prometheus does not`);
        continue;
      }
      if (pr.status !== 'success') {
        diffs.push(`${q}: Prometheus fails (${pr.error}), we do not`);
        continue;
      }
      if (ours.value.type !== 'matrix') throw new Error('range query without matrix');
      const key = (m: Record<string, string>): string => JSON.stringify(Object.entries(m).sort());
      const theirs = new Map(pr.data.result.map((s) => [key(s.metric), s.values]));
      const mine = new Map(
        ours.value.matrix.map((s) => {
          const pts: [number, number][] = [];
          for (let i = 0; i < s.floats.length; i++) pts.push([s.floats.t[i] / 1000, s.floats.f[i]]);
          return [key(Object.fromEntries(s.metric.map((l) => [l.name, l.value]))), pts] as const;
        }),
      );
      if (mine.size > 0) nonEmpty++;
      if (theirs.size !== mine.size) {
        diffs.push(`${q}: ${theirs.size} series from Prometheus, ${mine.size} from us`);
        continue;
      }
      check: for (const [k, pv] of theirs) {
        const ov = mine.get(k);
        if (ov === undefined) {
          diffs.push(`${q}: we lack ${k}`);
          break;
        }
        if (ov.length !== pv.length) {
          diffs.push(`${q}: ${k} has ${pv.length} points in Prometheus, ${ov.length} here`);
          break;
        }
        for (let i = 0; i < pv.length; i++) {
          if (pv[i][0] !== ov[i][0] || !close(num(pv[i][1]), ov[i][1])) {
            diffs.push(`${q}: ${k} at ${pv[i][0]}: Prometheus ${pv[i][1]}, we ${ov[i][0]}:${ov[i][1]}`);
            break check;
          }
        }
      }
    }
    console.log(`differential: ${qs.length} queries (${nonEmpty} with data), ${diffs.length} differences`);
    expect(diffs).toEqual([]);
    expect(qs.length).toBeGreaterThan(300);
    expect(nonEmpty).toBeGreaterThan(qs.length * 0.8);
  });
});
