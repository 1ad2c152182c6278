// The whole query path beside Prometheus (issue 15): Prometheus's own PromQL range-query
// benchmark (promql/bench_test.go, BenchmarkRangeQuery, described in
// ../shared/reference/promql-bench.md) through
//   - a real Prometheus 2.42 with the benchmark's block in its data directory,
//   - `thanos-ts store` over a FILESYSTEM bucket holding that block + `thanos-ts query`,
//   - `thanos-ts sidecar` in front of a second Prometheus with the same block + `thanos-ts query`,
// all measured from this process over HTTP (request sent to last byte of the body).
//
// Data: 1,443 series a_X, b_X, h_X{le} (X = one, ten, hundred) with a sample every 10 s for
// 18,640 steps from t = 0, value s + i/1443 (i: the series' position in creation order), and
// 51 short `sparse{l}` series, exactly as the reference describes; written once by our
// SeriesBuilder as one block (chunks cut as Prometheus's head cuts them) into
// node_modules/.cache/thanos-ts-bench/promql-path-v1 (delete it to regenerate) and hardlinked
// into both Prometheus data dirs; the bucket gets it through uploadBlock with the external
// label cluster="promql-path" (the second Prometheus has the same external label, which the
// sidecar needs). The querier adds that label to every series; it is dropped before answers
// are compared.
//
// Cases: every (expression, step count) of the reference's 43 templates (152 range cases) and
// every distinct expression once as an instant query (76), less the ones Prometheus 2.42
// cannot parse (`smoothed`, double_exponential_smoothing, limitk, limit_ratio: 31 range and
// 15 instant cases, listed as skipped). A range case of n steps runs from
// (18640 - n)·10 s to 186400 s with a 10 s step, an instant case at 186400 s, both shifted
// 5 s earlier: Prometheus 2.42 has left-closed range and lookback windows, our engine (3.x
// semantics) left-open ones, so no window may start on a sample for the answers to agree.
//
// Procedure: a first round runs every case once through every target, untimed, and compares
// each path's answer with Prometheus's (series, timestamps, values within 1e-9 relative:
// Prometheus 2.42 sums naively, our engine with compensation). Then ROUNDS timed rounds over
// all cases, each case through the three targets back to back (A/B interleaved, the order
// rotating per case and round so that no target always goes first); per case the median per
// target (a case slower than PROMQL_PATH_SLOW_MS, 2 s, through any target in the untimed
// round is timed in the first round only: the budget is ~10 minutes on 2 cores), the ratio
// path/Prometheus, per path the geomean of the ratios over the cases whose
// answers were equal, and the ten worst cases. Each target has its own keep-alive connection.
// The machine is shared: the CPU the machine spent outside our processes during the run is
// printed with the figures.
//
// Env: PROMQL_PATH_CASES=regex (cases whose name matches, e.g. 'a_one|instant'),
// PROMQL_PATH_ROUNDS (timed rounds, default 3), PROMQL_PATH_QUICK=1 (only instant and
// 1-step cases, one round unless ROUNDS says otherwise), PROMQL_PATH_PATHS=store,sidecar
// (which paths), PROMQL_PATH_SLOW_MS (see above), THANOS_TS_BIN (another build's bin/thanos-ts, for before/after).
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { uploadBlock } from '@thanos-ts/block';
import { FilesystemBucket } from '@thanos-ts/objstore';
import { removeTempDirs, startPrometheus } from '@thanos-ts/testutil';
import { SeriesBuilder } from '@thanos-ts/tsdb';
import {
  cacheDir,
  cleanup,
  compareApiAnswers,
  cpuSeconds,
  envNum,
  fmt,
  geomean,
  httpGet,
  machineCpu,
  median,
  pidOfPrometheus,
  startThanosTs,
  table,
  tmp,
} from './util.mjs';

const BIN = process.env.THANOS_TS_BIN || fileURLToPath(new URL('../bin/thanos-ts', import.meta.url));
const QUICK = process.env.PROMQL_PATH_QUICK === '1' || process.env.PROMQL_PATH_QUICK === 'true';
const ROUNDS = envNum('PROMQL_PATH_ROUNDS', QUICK ? 1 : 3);
const CASES_RE = process.env.PROMQL_PATH_CASES ? new RegExp(process.env.PROMQL_PATH_CASES) : null;
const PATHS = (process.env.PROMQL_PATH_PATHS ?? 'store,sidecar').split(',').map((s) => s.trim()).filter(Boolean);
for (const p of PATHS) if (p !== 'store' && p !== 'sidecar') throw new Error(`PROMQL_PATH_PATHS: unknown path ${p} (want store, sidecar)`);

const CACHE_VERSION = 'promql-path-v1';
const INTERVAL_S = 10;
/** 8,640 steps (one day) plus 10,000. */
const NUM_STEPS = 18_640;
const REGULAR = 1443;
const SPARSE_BLOCK = Math.floor(NUM_STEPS / 50);
/** The reference's end of every query: one step after the last sample. */
const END_S = NUM_STEPS * INTERVAL_S;
/** Every evaluation time moves this much so that no window edge falls on a sample (see the header). */
const SHIFT_S = -5;
const EXTERNAL = { cluster: 'promql-path' };
const BUCKETS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '+Inf'];
/** Expressions Prometheus 2.42 cannot parse (3.x syntax and experimental functions). */
const NOT_IN_242 = /smoothed|double_exponential_smoothing|limitk|limit_ratio/;
const REQUEST_TIMEOUT_MS = 300_000;
/** A case whose untimed answer took longer than this through any target is timed in one round only. */
const SLOW_MS = envNum('PROMQL_PATH_SLOW_MS', 2000);

/** The reference's templates: X is `one` and `hundred`; steps default to 1 and 1000. */
const TEMPLATES = [
  ['a_X'],
  ['rate(a_X[1m])'],
  ['rate(a_X[1m])', [10000]],
  ['rate(sparse[1m])', [10000]],
  ['rate(a_X[1m] smoothed)'],
  ['rate(a_X[1m] smoothed)', [10000]],
  ['rate(sparse[1m] smoothed)', [10000]],
  ['double_exponential_smoothing(a_X[1d], 0.3, 0.3)'],
  ['changes(a_X[1d])'],
  ['rate(a_X[1d])'],
  ['absent_over_time(a_X[1d])'],
  ['-a_X'],
  ['a_X - b_X'],
  ['a_X - b_X', [10000]],
  ["a_X and b_X{l=~'.*[0-4]$'}"],
  ["a_X or b_X{l=~'.*[0-4]$'}"],
  ["a_X unless b_X{l=~'.*[0-4]$'}"],
  ["a_X and b_X{l='notfound'}"],
  ['abs(a_X)'],
  ["label_replace(a_X, 'l2', '$1', 'l', '(.*)')"],
  ["label_join(a_X, 'l2', '-', 'l', 'l')"],
  ['sum(a_X)'],
  ['avg(a_X)'],
  ['sum without (l)(h_X)'],
  ['sum without (le)(h_X)'],
  ['sum by (l)(h_X)'],
  ['sum by (le)(h_X)'],
  ["count_values('value', h_X)", [100]],
  ['topk(1, a_X)'],
  ['topk(5, a_X)'],
  ['limitk(1, a_X)'],
  ['limitk(5, a_X)'],
  ['limit_ratio(0.1, a_X)'],
  ['limit_ratio(0.5, a_X)'],
  ['limit_ratio(-0.5, a_X)'],
  ['rate(a_X[1m]) + rate(b_X[1m])'],
  ['sum without (l)(rate(a_X[1m]))'],
  ['sum without (l)(rate(a_X[1m])) / sum without (l)(rate(b_X[1m]))'],
  ['histogram_quantile(0.9, rate(h_X[5m]))'],
  ['a_X + on(l) group_right a_one'],
  ['count({__name__!=""})', [1]],
  ['count({__name__!="",l=""})', [1]],
  ['timestamp(a_X)'],
];

/** Every case of the reference: { name, expr, steps (0: instant), skip }. */
function allCases() {
  const range = [];
  const exprs = [];
  for (const [tpl, steps = [1, 1000]] of TEMPLATES) {
    const expanded = tpl.includes('X') ? ['one', 'hundred'].map((x) => tpl.replaceAll('X', x)) : [tpl];
    for (const expr of expanded) {
      for (const n of steps) range.push({ expr, steps: n });
      if (!exprs.includes(expr)) exprs.push(expr);
    }
  }
  const instant = exprs.map((expr) => ({ expr, steps: 0 }));
  return [...range, ...instant].map((c) => ({ ...c, name: c.steps === 0 ? `${c.expr} instant` : `${c.expr} ${c.steps} steps`, skip: NOT_IN_242.test(c.expr) }));
}

function queryPath(c) {
  const q = encodeURIComponent(c.expr);
  if (c.steps === 0) return `/api/v1/query?query=${q}&time=${END_S + SHIFT_S}`;
  const start = (NUM_STEPS - c.steps) * INTERVAL_S + SHIFT_S;
  return `/api/v1/query_range?query=${q}&start=${start}&end=${END_S + SHIFT_S}&step=${INTERVAL_S}`;
}

export async function run() {
  const runT0 = performance.now();
  const cases = allCases();
  const selected = cases.filter((c) => !c.skip && (!QUICK || c.steps <= 1) && (CASES_RE === null || CASES_RE.test(c.name)));
  const skipped = cases.filter((c) => c.skip && (CASES_RE === null || CASES_RE.test(c.name)));
  if (selected.length === 0) throw new Error('promql-path: no case selected (PROMQL_PATH_CASES, PROMQL_PATH_QUICK)');

  const cache = cacheDir(CACHE_VERSION);
  const gen = await ensureBlock(cache);
  const blockDir = join(cache, 'blocks', gen.ulid);
  const dir = tmp('promql-path');
  const stoppers = [];
  try {
    // The same block in two Prometheus data dirs (hardlinks) and in the bucket.
    let t = performance.now();
    const promDirs = { ref: join(dir, 'prom-ref'), sidecar: join(dir, 'prom-sidecar') };
    for (const d of Object.values(promDirs)) linkBlock(blockDir, join(d, gen.ulid));
    const bucketDir = join(dir, 'bucket');
    mkdirSync(bucketDir);
    if (PATHS.includes('store')) {
      const bkt = new FilesystemBucket(bucketDir);
      await uploadBlock(bkt, blockDir, {
        mutateMeta: (m) => {
          m.thanos.labels = { ...EXTERNAL };
          m.thanos.source = 'sidecar';
        },
      });
      await bkt.close();
    }
    // Three chains started at once (the store builds its index-header meanwhile); allSettled
    // so that whatever started is stopped when another chain fails.
    const promOpts = { scrapeSelf: false, blockDuration: '2h', extraArgs: ['--storage.tsdb.retention.time=100y'], readyTimeoutMs: 120_000 };
    const pids = {};
    const targets = [{ key: 'prom', name: 'Prometheus', url: '' }];
    const startRef = async () => {
      const prom = await startPrometheus({ ...promOpts, dataDir: promDirs.ref });
      stoppers.push(() => prom.stop());
      pids['Prometheus (queried)'] = pidOfPrometheus(prom.port);
      targets[0].url = prom.url;
    };
    const startStorePath = async () => {
      const objstore = join(dir, 'objstore.yml');
      writeFileSync(objstore, `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`);
      const store = await startThanosTsChecked('store', ['store', `--objstore.config-file=${objstore}`, `--data-dir=${join(dir, 'store-data')}`]);
      stoppers.push(() => store.stop());
      const query = await startThanosTsChecked('query (store)', ['query', '--endpoint', store.grpc]);
      stoppers.push(() => query.stop());
      Object.assign(pids, { store: store.pid, 'query (over the store)': query.pid });
      return { key: 'store', name: 'store+query', url: query.url };
    };
    const startSidecarPath = async () => {
      const prom = await startPrometheus({ ...promOpts, dataDir: promDirs.sidecar, externalLabels: EXTERNAL });
      stoppers.push(() => prom.stop());
      pids['Prometheus (behind the sidecar)'] = pidOfPrometheus(prom.port);
      const sidecar = await startThanosTsChecked('sidecar', ['sidecar', `--prometheus.url=${prom.url}`, `--tsdb.path=${promDirs.sidecar}`]);
      stoppers.push(() => sidecar.stop());
      const query = await startThanosTsChecked('query (sidecar)', ['query', '--endpoint', sidecar.grpc]);
      stoppers.push(() => query.stop());
      Object.assign(pids, { sidecar: sidecar.pid, 'query (over the sidecar)': query.pid });
      return { key: 'sidecar', name: 'sidecar+query', url: query.url };
    };
    const started = await Promise.allSettled([startRef(), PATHS.includes('store') ? startStorePath() : null, PATHS.includes('sidecar') ? startSidecarPath() : null]);
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    for (const r of started.slice(1)) if (r.value) targets.push(r.value);
    // Until each querier has its endpoint: the whole of a_one through every target.
    for (const tg of targets) await waitForSeries(tg, 'a_one', 1);
    const setupMs = performance.now() - t;

    const load0 = loadavg();
    console.log(
      `bin: ${BIN}\n${gen.series} series (${REGULAR} + ${gen.series - REGULAR} sparse), ${fmt(gen.samples, 2)} samples at ${INTERVAL_S} s, one block ${gen.ulid} ` +
        `(${gen.ms === null ? 'from the cache' : `generated in ${(gen.ms / 1000).toFixed(1)} s`}); setup ${(setupMs / 1000).toFixed(1)} s\n` +
        `${selected.length} cases (${selected.filter((c) => c.steps > 0).length} range, ${selected.filter((c) => c.steps === 0).length} instant), ${skipped.length} skipped (not in Prometheus 2.42); ` +
        `targets: ${targets.map((tg) => tg.name).join(', ')}; 1 untimed round (answers compared) + ${ROUNDS} timed round(s), median per case${QUICK ? '; QUICK' : ''}\n` +
        `machine: ${cpus().length} CPUs, load average ${load0.map((x) => x.toFixed(1)).join(' ')} before the cases (shared with others)\n`,
    );

    // The rounds. CPU of every process and of the machine, to say what else ran meanwhile.
    const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
    const self0 = process.cpuUsage();
    const m0 = machineCpu();
    const casesT0 = performance.now();
    const agents = new Map(targets.map((tg) => [tg.key, new http.Agent({ keepAlive: true, maxSockets: 1 })]));
    const results = selected.map((c) => ({ c, ms: Object.fromEntries(targets.map((tg) => [tg.key, []])), first: {}, diff: {}, error: {}, series: NaN, slow: false }));
    const roundMs = [];
    /** Request time per target and round, summed over the cases: where each round went. */
    const roundTargetMs = [];
    for (let round = 0; round <= ROUNDS; round++) {
      const rt0 = performance.now();
      const perTarget = Object.fromEntries(targets.map((tg) => [tg.key, 0]));
      for (const [ci, r] of results.entries()) {
        // A slow case is timed once: seconds-long answers vary less than the budget allows to repeat them.
        if (round > 1 && r.slow) continue;
        const answers = {};
        for (let k = 0; k < targets.length; k++) {
          const tg = targets[(ci + round + k) % targets.length];
          if (r.error[tg.key]) continue;
          let res;
          try {
            res = await httpGet(tg.url + queryPath(r.c), agents.get(tg.key), REQUEST_TIMEOUT_MS);
          } catch (err) {
            r.error[tg.key] = err.message;
            continue;
          }
          perTarget[tg.key] += res.ms;
          if (round === 0) {
            r.first[tg.key] = res.ms;
            if (res.ms > SLOW_MS) r.slow = true;
            const body = parseBody(res);
            if (body.status !== 'success') r.error[tg.key] = `HTTP ${res.status}: ${body.errorType ?? ''} ${body.error ?? ''}`.trim();
            answers[tg.key] = body;
          } else if (res.status !== 200) {
            r.error[tg.key] = `HTTP ${res.status} in round ${round}`;
          } else {
            r.ms[tg.key].push(res.ms);
          }
        }
        if (round === 0) {
          const prom = answers.prom;
          r.series = prom?.status === 'success' ? (Array.isArray(prom.data.result) ? prom.data.result.length : 1) : NaN;
          for (const tg of targets.slice(1)) {
            if (!prom || !answers[tg.key]) continue;
            r.diff[tg.key] = compareApiAnswers(answers[tg.key], prom, { dropLabels: Object.keys(EXTERNAL) });
          }
        }
      }
      roundMs.push(performance.now() - rt0);
      roundTargetMs.push(perTarget);
      console.log(
        `round ${round}${round === 0 ? ' (untimed, answers compared)' : ''}: ${(roundMs[round] / 1000).toFixed(1)} s ` +
          `(requests: ${targets.map((tg) => `${tg.name} ${(perTarget[tg.key] / 1000).toFixed(1)} s`).join(', ')}), load average ${loadavg()[0].toFixed(1)}`,
      );
    }
    for (const a of agents.values()) a.destroy();
    const casesMs = performance.now() - casesT0;
    const m1 = machineCpu();
    const self1 = process.cpuUsage(self0);
    const cpuUsed = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid) - cpu0[k]]));
    cpuUsed['this bench process'] = (self1.user + self1.system) / 1e6;
    const load1 = loadavg();

    // Per case.
    const paths = targets.slice(1);
    const rows = [['case', 'series', 'Prometheus ms', ...paths.flatMap((p) => [`${p.name} ms`, `${p.name} ×`]), 'answers']];
    const perCase = [];
    for (const r of results) {
      const med = Object.fromEntries(targets.map((tg) => [tg.key, r.ms[tg.key].length > 0 ? median(r.ms[tg.key]) : NaN]));
      r.med = med;
      r.ratio = {};
      for (const p of paths) r.ratio[p.key] = r.error.prom || r.error[p.key] ? NaN : med[p.key] / med.prom;
      const notes = paths
        .map((p) => {
          if (r.error[p.key]) return `${p.key}: error`;
          if (r.error.prom) return 'Prometheus: error';
          return r.diff[p.key] === null ? null : `${p.key}: differs`;
        })
        .filter((x) => x !== null);
      rows.push([
        r.c.name,
        Number.isNaN(r.series) ? '' : String(r.series),
        fmtMs(med.prom),
        ...paths.flatMap((p) => [fmtMs(med[p.key]), Number.isNaN(r.ratio[p.key]) ? '' : r.ratio[p.key].toFixed(2)]),
        (notes.length === 0 ? 'equal' : notes.join(', ')) + (r.slow && ROUNDS > 1 ? ' (timed once)' : ''),
      ]);
      perCase.push({
        case: r.c.name,
        series: r.series,
        ms: Object.fromEntries(Object.entries(med).map(([k, v]) => [k, round1(v)])),
        firstMs: Object.fromEntries(Object.entries(r.first).map(([k, v]) => [k, round1(v)])),
        runs: r.ms.prom.length,
        equal: Object.fromEntries(paths.map((p) => [p.key, r.diff[p.key] === null && !r.error[p.key]])) });
    }
    table(rows);

    // Per path.
    const summary = {};
    console.log();
    const srows = [['path', 'cases timed', 'answers equal', 'geomean × Prometheus (equal answers)', 'geomean × (all timed)', 'median ×', 'cases above 2×', 'worst ×']];
    for (const p of paths) {
      const timed = results.filter((r) => Number.isFinite(r.ratio[p.key]));
      const equal = timed.filter((r) => r.diff[p.key] === null);
      const ratios = equal.map((r) => r.ratio[p.key]);
      const worst = [...equal].sort((a, b) => b.ratio[p.key] - a.ratio[p.key]).slice(0, 10);
      summary[p.key] = {
        timed: timed.length,
        equal: equal.length,
        geomean: round3(geomean(ratios)),
        geomeanAll: round3(geomean(timed.map((r) => r.ratio[p.key]))),
        median: round3(ratios.length ? median(ratios) : NaN),
        above2: ratios.filter((x) => x > 2).length,
        worst: worst.map((r) => ({ case: r.c.name, ratio: round3(r.ratio[p.key]), ms: round1(r.med[p.key]), promMs: round1(r.med.prom) })),
      };
      const s = summary[p.key];
      srows.push([p.name, String(s.timed), `${s.equal}/${results.length}`, s.geomean.toFixed(2), s.geomeanAll.toFixed(2), s.median.toFixed(2), String(s.above2), worst.length ? worst[0].ratio[p.key].toFixed(2) : '']);
    }
    table(srows);
    for (const p of paths) {
      console.log(`\nten worst cases through ${p.name}:\n`);
      table([['case', `${p.name} ms`, 'Prometheus ms', '×'], ...summary[p.key].worst.map((w) => [w.case, fmtMs(w.ms), fmtMs(w.promMs), w.ratio.toFixed(2)])]);
    }

    // What went wrong.
    const problems = [];
    for (const r of results) {
      for (const tg of targets) if (r.error[tg.key]) problems.push(`${r.c.name}: ${tg.name}: ${r.error[tg.key]}`);
      for (const p of paths) if (r.diff[p.key] != null) problems.push(`${r.c.name}: ${p.name} differs from Prometheus: ${r.diff[p.key]}`);
    }
    if (problems.length > 0) {
      console.log(`\n${problems.length} errors or differing answers (those cases are out of the geomeans):`);
      for (const m of problems) console.log(`  ${m.length > 400 ? m.slice(0, 400) + '…' : m}`);
    } else {
      console.log(`\nevery answer equal to Prometheus's (series, timestamps, values within 1e-9 relative; label ${Object.keys(EXTERNAL).join(', ')} dropped)`);
    }
    if (skipped.length > 0) console.log(`\n${skipped.length} cases skipped, not in Prometheus 2.42's PromQL: ${[...new Set(skipped.map((c) => c.expr))].join('; ')}`);

    // The load: our processes' CPU against the machine's.
    const machineBusy = m1.busy - m0.busy;
    const oursCpu = Object.values(cpuUsed).reduce((a, x) => a + (Number.isFinite(x) ? x : 0), 0);
    const othersCores = Math.max(0, machineBusy - oursCpu) / (casesMs / 1000);
    console.log(`\nCPU seconds during the ${ROUNDS + 1} rounds (${(casesMs / 1000).toFixed(1)} s wall):\n`);
    table([
      ['process', 'CPU s'],
      ...Object.entries(cpuUsed).map(([k, v]) => [k, v.toFixed(1)]),
      ['all our processes', oursCpu.toFixed(1)],
      ['machine busy (/proc/stat)', machineBusy.toFixed(1)],
      ['others (machine busy − ours), in cores on average', `${othersCores.toFixed(2)} of ${cpus().length}`],
    ]);
    const runS = (performance.now() - runT0) / 1000;
    console.log(`\nload average ${load0.map((x) => x.toFixed(1)).join(' ')} before the cases, ${load1.map((x) => x.toFixed(1)).join(' ')} after; run ${runS.toFixed(0)} s`);

    const json = {
      bench: 'promql-path',
      bin: BIN,
      rounds: ROUNDS,
      quick: QUICK,
      casesRe: CASES_RE?.source ?? null,
      cases: results.length,
      skipped: skipped.length,
      series: gen.series,
      samples: gen.samples,
      paths: summary,
      perCase,
      roundSeconds: roundMs.map((x) => round1(x / 1000)),
      roundRequestSeconds: roundTargetMs.map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round1(v / 1000)]))),
      slowMs: SLOW_MS,
      runSeconds: round1(runS),
      load: { cpus: cpus().length, loadavgBefore: load0.map(round1), loadavgAfter: load1.map(round1), cpuSeconds: Object.fromEntries(Object.entries(cpuUsed).map(([k, v]) => [k, round1(v)])), machineBusySeconds: round1(machineBusy), othersCores: round3(othersCores) },
      problems: problems.length,
    };
    console.log(`\n${JSON.stringify(json)}`);
  } finally {
    for (const s of stoppers.reverse()) await s().catch((e) => console.log(`stop: ${e.message}`));
    cleanup(dir);
    await removeTempDirs();
  }
}

// ---- data ----

/**
 * The benchmark's block under <cache>/blocks, written unless a previous run left it (its
 * done.json says so). Series in the reference's creation order; every series is appended
 * whole, which SeriesBuilder allows (time order within each series is all it needs).
 */
async function ensureBlock(cache) {
  const doneFile = join(cache, 'done.json');
  if (existsSync(doneFile)) {
    const done = JSON.parse(readFileSync(doneFile, 'utf8'));
    if (existsSync(join(cache, 'blocks', done.ulid, 'meta.json'))) return { ...done, ms: null };
  }
  rmSync(join(cache, 'blocks'), { recursive: true, force: true });
  mkdirSync(join(cache, 'blocks'), { recursive: true });
  const t0 = performance.now();
  const b = new SeriesBuilder();
  let samples = 0;
  let i = 0;
  const regular = (name, extra = []) => {
    const labels = [{ name: '__name__', value: name }, ...extra];
    const ref = b.getOrCreate(labels);
    const frac = i / REGULAR;
    for (let s = 0; s < NUM_STEPS; s++) b.appendRef(ref, s * INTERVAL_S * 1000, s + frac);
    samples += NUM_STEPS;
    i++;
  };
  for (const [x, n] of [
    ['one', 1],
    ['ten', 10],
    ['hundred', 100],
  ]) {
    for (let l = 0; l < n; l++) {
      const ll = n === 1 ? [] : [{ name: 'l', value: String(l) }];
      regular(`a_${x}`, ll);
      regular(`b_${x}`, ll);
      for (const le of BUCKETS) regular(`h_${x}`, [...ll, { name: 'le', value: le }]);
    }
  }
  if (i !== REGULAR) throw new Error(`promql-path: ${i} regular series, the reference has ${REGULAR}`);
  let sparse = 0;
  for (let s = 0; s < NUM_STEPS; s++) {
    const l = Math.floor(s / SPARSE_BLOCK);
    sparse = Math.max(sparse, l + 1);
    b.append([{ name: '__name__', value: 'sparse' }, { name: 'l', value: String(l) }], s * INTERVAL_S * 1000, s / REGULAR);
    samples++;
  }
  const w = await b.writeBlock(join(cache, 'blocks'));
  if (w === null) throw new Error('promql-path: the series builder wrote no block');
  const done = { ulid: w.ulid, series: REGULAR + sparse, samples };
  writeFileSync(doneFile, JSON.stringify(done));
  return { ...done, ms: performance.now() - t0 };
}

/** The block's files hardlinked into dst (meta.json copied: Prometheus may rewrite it). */
function linkBlock(src, dst) {
  mkdirSync(join(dst, 'chunks'), { recursive: true });
  linkSync(join(src, 'index'), join(dst, 'index'));
  if (existsSync(join(src, 'tombstones'))) linkSync(join(src, 'tombstones'), join(dst, 'tombstones'));
  for (const f of readdirSync(join(src, 'chunks'))) linkSync(join(src, 'chunks', f), join(dst, 'chunks', f));
  writeFileSync(join(dst, 'meta.json'), readFileSync(join(src, 'meta.json')));
}

// ---- processes and requests ----

async function startThanosTsChecked(what, args) {
  if (!existsSync(BIN)) throw new Error(`THANOS_TS_BIN: ${BIN} does not exist`);
  return startThanosTs(what, args, { bin: BIN });
}

/** Polls an instant query until it returns `want` series (a querier's endpoints arrive a little after it is ready). */
async function waitForSeries(tg, expr, want) {
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${tg.url}/api/v1/query?query=${encodeURIComponent(expr)}&time=${END_S + SHIFT_S}`);
      const body = await res.json();
      if (body.status === 'success' && body.data.result.length === want) return;
      last = body.status === 'success' ? `${body.data.result.length} series` : body.error;
    } catch (err) {
      last = err.message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${tg.name}: ${expr} did not return ${want} series within 60 s (last: ${last})`);
}

function parseBody(res) {
  try {
    return JSON.parse(res.body.toString('utf8'));
  } catch {
    return { status: 'error', errorType: 'bad_json', error: `HTTP ${res.status}: ${res.body.subarray(0, 200).toString('utf8')}` };
  }
}

function fmtMs(ms) {
  if (!Number.isFinite(ms)) return '';
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}

function round1(x) {
  return Math.round(x * 10) / 10;
}

function round3(x) {
  return Math.round(x * 1000) / 1000;
}
