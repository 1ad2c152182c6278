// PromQL range queries over 10k steps, our engine beside a real Prometheus (2.42) serving
// the same blocks. Series and query shapes follow Prometheus's promql/bench_test.go
// (BenchmarkRangeQuery): a_X and b_X counters and a classic histogram h_X_bucket (le 0..9
// and +Inf) with X = one, ten, hundred label combinations (l="0".."99").
//
// The data is written once as OpenMetrics, turned into a block by promtool, and read by
// both sides from the same directory. Prometheus 2.42 has left-closed range selectors
// where our engine (3.x semantics) has left-open ones, so samples sit 3 s past the 10 s
// grid and query steps 5 s past it: no window edge ever falls on a sample. Counters start
// far from zero (2.x and 3.x extrapolate rate() towards zero in a different order).
//
// Each query runs once untimed and both answers are compared (series, points, values within
// 1e-9 relative) so the two sides cannot silently do different work; then best of 3 per
// side. Prometheus's time is HTTP + JSON encoding (until the last byte of the body); ours is
// shown without and with a JSON encoding of the result in the API's shape, and the ratio
// uses the latter.
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BlocksQueryable } from '@thanos-ts/tsdb';
import { promtool, startPrometheus } from '@thanos-ts/testutil';
import { cleanup, fmt, table, tmp } from './util.mjs';

// The root package.json may not list @thanos-ts/promql yet: fall back to the built package.
const { Engine } = await import('@thanos-ts/promql').catch(() => import(new URL('../packages/promql/dist/index.js', import.meta.url).href));

const STEPS = 10_000;
const STEP_S = 10;
/** Data before the first step: the widest look-back of any shape (10m subquery + 1m rate). */
const HEAD_S = 12 * 60;
const SIZES = { one: 1, ten: 10, hundred: 100 };
const BUCKETS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '+Inf'];
const RUNS = 3;
/** PROMQL_BENCH=text runs only the queries containing text (e.g. histogram_quantile). */
const ONLY = process.env.PROMQL_BENCH ?? '';

const SHAPES = [
  'rate(a_X[1m])',
  'sum by (l) (rate(a_X[1m]))',
  'histogram_quantile(0.9, sum by (le) (rate(h_X_bucket[5m])))',
  'histogram_quantile(0.9, rate(h_X_bucket[5m]))',
  'topk(5, a_X)',
  'a_X - b_X',
  '-a_X',
  'a_X * on(l) group_left b_X',
  'sum_over_time(rate(a_X[1m])[10m:1m])',
  'count_values("value", round(rate(a_X[1m]) * 10))',
  'label_replace(a_X, "l2", "$1", "l", "(.*)")',
];

export async function run() {
  const dir = tmp('promql');
  const data = join(dir, 'data');
  let prom;
  let blocks;
  try {
    // One promtool block: the data lies inside one 54h-aligned window (promtool's largest
    // block size here), and Prometheus runs with 2h block ranges so it never compacts it.
    const window = 54 * 3600;
    const first = Math.floor((Date.now() / 1000 - 30 * 3600) / window) * window + 600;
    const qStart = first + HEAD_S + 5; // 5 s past the 10 s grid; samples are 3 s past it
    const qEnd = qStart + (STEPS - 1) * STEP_S;
    const nSamples = Math.floor((qEnd - first) / STEP_S) + 1;

    let t = performance.now();
    const om = join(dir, 'in.om');
    const { series, samples } = writeOpenMetrics(om, first, nSamples);
    const genMs = performance.now() - t;
    t = performance.now();
    const r = await promtool(['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', '--max-block-duration=54h', om, data], { timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`promtool: ${r.stderr || r.stdout}`);
    const promtoolMs = performance.now() - t;
    cleanup(om);
    prom = await startPrometheus({ dataDir: data, scrapeSelf: false, blockDuration: '2h', extraArgs: ['--storage.tsdb.retention.time=100y'] });
    blocks = await BlocksQueryable.openDir(data);
    console.log(
      `${series} series × ${fmt(nSamples, 2)} samples at ${STEP_S}s (${fmt(samples)} samples; OpenMetrics ${(genMs / 1000).toFixed(1)} s, promtool ${(promtoolMs / 1000).toFixed(1)} s, ${blocks.blocks.length} block(s)); range queries of ${STEPS} steps of ${STEP_S}s, best of ${RUNS}\n`,
    );

    const engine = new Engine();
    const rows = [['query', 'series', 'ours ms (eval)', 'ours ms (eval + JSON)', 'Prometheus ms (HTTP + JSON)', 'ratio (ours eval + JSON / Prometheus)']];
    const mismatches = [];
    for (const shape of SHAPES) {
      for (const x of Object.keys(SIZES)) {
        const q = shape.replaceAll('X', x);
        if (!q.includes(ONLY)) continue;
        const url = `${prom.url}/api/v1/query_range?query=${encodeURIComponent(q)}&start=${qStart}&end=${qEnd}&step=${STEP_S}`;
        const ourQuery = () => engine.rangeQuery(blocks, q, qStart * 1000, qEnd * 1000, STEP_S * 1000);

        // Untimed run of each side (warm-up), compared.
        const theirs = JSON.parse(Buffer.from(await fetchBody(url)).toString('utf8'));
        if (theirs.status !== 'success') throw new Error(`${q}: Prometheus: ${theirs.error}`);
        const ours = await ourQuery();
        const diff = compare(ours.value.matrix, theirs.data.result);
        if (diff !== null) mismatches.push(`${q}: ${diff}`);

        let evalMs = Infinity;
        let totalMs = Infinity;
        for (let i = 0; i < RUNS; i++) {
          const t0 = performance.now();
          const res = await ourQuery();
          const t1 = performance.now();
          encodeMatrix(res.value.matrix);
          const t2 = performance.now();
          evalMs = Math.min(evalMs, t1 - t0);
          totalMs = Math.min(totalMs, t2 - t0);
        }
        let promMs = Infinity;
        for (let i = 0; i < RUNS; i++) {
          const t0 = performance.now();
          await fetchBody(url);
          promMs = Math.min(promMs, performance.now() - t0);
        }
        rows.push([diff === null ? q : `${q} (differs!)`, String(ours.value.matrix.length), evalMs.toFixed(1), totalMs.toFixed(1), promMs.toFixed(1), (totalMs / promMs).toFixed(2)]);
      }
    }
    table(rows);
    if (mismatches.length > 0) {
      console.log(`\n${mismatches.length} queries answered differently (their timings compare different work):`);
      for (const m of mismatches) console.log(`  ${m}`);
    } else {
      console.log(`\nall ${rows.length - 1} queries answered identically (series, points, values within 1e-9 relative)`);
    }
  } finally {
    await prom?.stop();
    await blocks?.close();
    cleanup(dir);
  }
}

/**
 * The OpenMetrics input, series after series: counters a_X and b_X (increments 1..7 per
 * sample), and h_X_bucket whose bucket le=j grows by j+1 per sample (+Inf by 11), each
 * from its own offset. As in Prometheus's setup the offsets have distinct fractions
 * (idx/2048: exact in binary, so no series ever ties with another, which would leave
 * topk's choice to the implementation). Samples at first + 10k + 3 s.
 */
function writeOpenMetrics(file, first, nSamples) {
  const metrics = [];
  for (const [x, n] of Object.entries(SIZES)) {
    const ls = (i) => (n === 1 ? '' : `l="${i}"`);
    for (let i = 0; i < n; i++) metrics.push({ name: `a_${x}`, labels: ls(i), inc: 1 + (i % 7) });
    for (let i = 0; i < n; i++) metrics.push({ name: `b_${x}`, labels: ls(i), inc: 1 + ((i + 3) % 7) });
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < BUCKETS.length; j++) {
        const l = ls(i);
        metrics.push({ name: `h_${x}_bucket`, labels: `${l}${l ? ',' : ''}le="${BUCKETS[j]}"`, inc: j + 1 });
      }
    }
  }
  const stamps = [];
  for (let k = 0; k < nSamples; k++) stamps.push(` ${first + k * STEP_S + 3}\n`);
  const fd = openSync(file, 'w');
  try {
    let buf = '';
    let name = '';
    for (const [idx, m] of metrics.entries()) {
      // Metric families must be contiguous; a TYPE line starts each.
      if (m.name !== name) {
        name = m.name;
        buf += `# TYPE ${name} unknown\n`;
      }
      const prefix = `${m.name}{${m.labels}} `;
      const base = 1_000_000 + idx * 1000;
      // The decimals of idx/2048 < 1, appended to the integer part: quicker than formatting
      // the float, and the same exact value.
      const frac = idx === 0 ? '' : String(idx / 2048).slice(1);
      for (let k = 0; k < nSamples; k++) {
        buf += prefix + (base + k * m.inc) + frac + stamps[k];
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
  return { series: metrics.length, samples: metrics.length * nSamples };
}

/** The response body's bytes (Prometheus answers errors as JSON too). */
async function fetchBody(url) {
  const res = await fetch(url);
  return res.arrayBuffer();
}

/**
 * Our matrix as the bytes of Prometheus's API JSON (what /api/v1/query_range would send),
 * built in 64 KiB pieces as a server writes them to its socket.
 */
function encodeMatrix(matrix) {
  const chunks = [];
  let out = '{"status":"success","data":{"resultType":"matrix","result":[';
  for (let si = 0; si < matrix.length; si++) {
    const s = matrix[si];
    const metric = {};
    for (const l of s.metric) metric[l.name] = l.value;
    out += `${si > 0 ? ',' : ''}{"metric":${JSON.stringify(metric)},"values":[`;
    const { t, f, length } = s.floats;
    for (let i = 0; i < length; i++) {
      out += (i > 0 ? ',[' : '[') + t[i] / 1000 + ',"' + formatValue(f[i]) + '"]';
      if (out.length > 65536) {
        chunks.push(Buffer.from(out, 'utf8'));
        out = '';
      }
    }
    out += ']}';
  }
  chunks.push(Buffer.from(out + ']}}', 'utf8'));
  return Buffer.concat(chunks);
}

function formatValue(f) {
  return f === Infinity ? '+Inf' : f === -Infinity ? '-Inf' : String(f);
}

function parseValue(s) {
  return s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s);
}

function close(a, b) {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

/** null when our matrix and Prometheus's result hold the same series, points and values. */
function compare(matrix, result) {
  const key = (m) => JSON.stringify(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  if (matrix.length !== result.length) return `${matrix.length} series here, ${result.length} from Prometheus`;
  const theirs = new Map(result.map((s) => [key(s.metric), s.values]));
  let points = 0;
  for (const s of matrix) {
    const k = key(Object.fromEntries(s.metric.map((l) => [l.name, l.value])));
    const pv = theirs.get(k);
    if (pv === undefined) return `Prometheus lacks ${k}`;
    if (pv.length !== s.floats.length) return `${k}: ${s.floats.length} points here, ${pv.length} from Prometheus`;
    for (let i = 0; i < pv.length; i++) {
      const t = s.floats.t[i] / 1000;
      const f = s.floats.f[i];
      if (pv[i][0] !== t || !close(parseValue(pv[i][1]), f)) return `${k} at point ${i}: here ${t} ${f}, Prometheus ${pv[i][0]} ${pv[i][1]}`;
    }
    points += pv.length;
  }
  return points === 0 ? 'both answers are empty' : null;
}
