// The query component with real peers: two clusters × two real Prometheus replicas
// (external labels cluster, replica), each with our sidecar, and one `thanos-ts query`
// over all four (plus endpoints that do not exist). Results through the query, with
// deduplication, must equal those of one Prometheus replica per cluster; an outage of
// one replica is covered by its twin; promtool gets the same answers from both.
//
// Determinism: both replicas of a cluster scrape the same exporter, whose samples carry
// explicit timestamps on a 2 s grid and values that are functions of those timestamps,
// so the replicas store identical samples although they scrape at different moments.
// Queries are evaluated at odd seconds, so no sample sits on the boundary of a range
// selector (Prometheus 2.42's closed ranges and the engine's left-open ones agree), and
// a few seconds in the past, when every replica has ingested every sample up to then.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, promtool, removeTempDirs, startExporter, startPrometheus, waitFor } from '@thanos-ts/testutil';
import type { Exporter, PrometheusInstance } from '@thanos-ts/testutil';
import { startComponent } from './components.js';
import type { Component } from './components.js';
import { api } from './api.js';
import type { ApiBody } from './api.js';

const GRID = 2000;
const CLUSTERS = [0, 1];
const REPLICAS = [0, 1];

/** Counter series: (path, code) → increment per grid step (× cluster + 1). */
const COUNTERS: [string, string, number][] = [
  ['/a', '200', 7],
  ['/a', '500', 1],
  ['/b', '200', 3],
  ['/c', '200', 5],
];
/** Cumulative classic histogram buckets: le → increment per grid step (× cluster + 1). */
const BUCKETS: [string, number][] = [
  ['0.1', 1],
  ['0.25', 3],
  ['0.5', 6],
  ['1', 8],
  ['+Inf', 10],
];

/** The exporter's value of counter `k` at grid timestamp ts for cluster c. */
const counterAt = (ts: number, k: number, c: number): number => (ts / GRID) * k * (c + 1);

function exposition(c: number): string {
  const ts = Math.floor(Date.now() / GRID) * GRID;
  const n = ts / GRID;
  const f = c + 1;
  const lines = ['# TYPE demo_requests_total counter'];
  for (const [path, code, k] of COUNTERS) lines.push(`demo_requests_total{code="${code}",path="${path}"} ${counterAt(ts, k, c)} ${ts}`);
  lines.push('# TYPE demo_request_duration_seconds histogram');
  for (const [le, k] of BUCKETS) lines.push(`demo_request_duration_seconds_bucket{le="${le}"} ${n * k * f} ${ts}`);
  lines.push(`demo_request_duration_seconds_sum ${n * 4.5 * f} ${ts}`);
  lines.push(`demo_request_duration_seconds_count ${n * 10 * f} ${ts}`);
  lines.push('# TYPE demo_temperature_celsius gauge');
  for (const room of ['kitchen', 'office']) lines.push(`demo_temperature_celsius{room="${room}"} ${20 + (n % 7) * 0.5 + c + (room === 'office' ? 1.25 : 0)} ${ts}`);
  return lines.join('\n') + '\n';
}

const exporters: Exporter[] = [];
const proms: PrometheusInstance[][] = [];
const sidecars: Component[][] = [];
let query: Component;
let queryUrl: string;
let deadEndpoint: string;
let bothStarted = 0;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  const t0 = Date.now();
  for (const c of CLUSTERS) exporters.push(await startExporter(() => exposition(c)));
  const ports = await Promise.all(CLUSTERS.map(() => Promise.all(REPLICAS.map(() => freePort()))));
  const started = await Promise.all(
    CLUSTERS.flatMap((c) =>
      REPLICAS.map((r) =>
        startPrometheus({
          port: ports[c][r],
          scrapeSelf: false,
          scrapeInterval: '1s',
          externalLabels: { cluster: `cluster-${c}`, replica: String(r) },
          config: {
            scrape_configs: [
              { job_name: 'exporter', static_configs: [{ targets: [exporters[c].target] }] },
              // Both replicas of a cluster scrape the same targets: the exporter and both Prometheus.
              { job_name: 'prometheus', static_configs: [{ targets: ports[c].map((p) => `127.0.0.1:${p}`) }] },
            ],
          },
        }),
      ),
    ),
  );
  bothStarted = Date.now();
  for (const c of CLUSTERS) proms.push(REPLICAS.map((r) => started[c * REPLICAS.length + r]));
  const scs = await Promise.all(
    CLUSTERS.flatMap((c) => REPLICAS.map((r) => startComponent(['sidecar', '--prometheus.url', proms[c][r].url, '--tsdb.path', proms[c][r].dataDir]))),
  );
  for (const c of CLUSTERS) sidecars.push(REPLICAS.map((r) => scs[c * REPLICAS.length + r]));
  deadEndpoint = `127.0.0.1:${await freePort()}`;
  query = await startComponent([
    'query',
    ...scs.flatMap((s) => ['--endpoint', s.grpcAddress]),
    '--store',
    deadEndpoint,
    '--endpoint',
    'no-such-host.invalid:10901',
    '--query.replica-label',
    'replica',
  ]);
  queryUrl = `http://${query.httpAddress}`;
  console.log(`query e2e: stack up in ${Date.now() - t0} ms`);
}, 90_000);

afterAll(async () => {
  await query?.stop();
  await Promise.all(sidecars.flat().map((s) => s.stop()));
  await Promise.all(proms.flat().map((p) => p.stop()));
  await Promise.all(exporters.map((e) => e.stop()));
  await removeTempDirs();
});


/** A selector builder: `m('up')` → `up{cluster="cluster-0"}` for the query, `up{}` for a Prometheus. */
type Sel = (metric: string, extra?: string) => string;
const clusterSel =
  (c: number): Sel =>
  (metric, extra) =>
    `${metric}{cluster="cluster-${c}"${extra ? ',' + extra : ''}}`;
const promSel: Sel = (metric, extra) => `${metric}{${extra ?? ''}}`;

/** The fixed query list. */
const QUERIES: [string, (m: Sel) => string][] = [
  ['rate', (m) => `rate(${m('demo_requests_total')}[6s])`],
  ['sum by path', (m) => `sum by (path) (rate(${m('demo_requests_total')}[6s]))`],
  ['increase', (m) => `increase(${m('demo_requests_total', 'path="/a"')}[10s])`],
  ['histogram_quantile p50', (m) => `histogram_quantile(0.5, sum by (le) (rate(${m('demo_request_duration_seconds_bucket')}[6s])))`],
  ['histogram_quantile p90', (m) => `histogram_quantile(0.9, rate(${m('demo_request_duration_seconds_bucket')}[6s]))`],
  ['topk', (m) => `topk(2, rate(${m('demo_requests_total')}[6s]))`],
  ['gauge', (m) => `avg by (room) (${m('demo_temperature_celsius')}) * 2`],
  ['count up', (m) => `count(${m('up')})`],
];

/** An evaluation time (ms): whole odd seconds, `agoMs` in the past. */
function evalTime(agoMs = 4000): number {
  let t = Math.floor((Date.now() - agoMs) / 1000) * 1000;
  if ((t / 1000) % 2 === 0) t -= 1000;
  return t;
}

/** A result with the cluster label dropped from every series (it is an external label, not in Prometheus's TSDB). */
function withoutCluster(data: { resultType: string; result: { metric: Record<string, string> }[] }): unknown {
  if (data.resultType !== 'vector' && data.resultType !== 'matrix') return data;
  return {
    resultType: data.resultType,
    result: data.result.map((s) => {
      expect(s.metric).not.toHaveProperty('replica');
      const { cluster: _c, ...metric } = s.metric;
      return { ...s, metric };
    }),
  };
}

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe('query over two clusters of real Prometheus replicas with sidecars', () => {
  it('waits for a common window of data', async () => {
    // Range queries below read 10 s + a 6 s window from 5 s ago; Prometheus's first
    // scrape comes about 5 s after its start (the scrape manager's first reload).
    const wait = bothStarted + 27_000 - Date.now();
    if (wait > 0) await sleep(wait);
    await waitFor(async () => (await api(queryUrl, '/api/v1/query', { query: 'count(up == 1)' })).body.data?.result[0]?.value[1] === '6', {
      timeoutMs: 20_000,
      what: 'every target up in every replica',
    });
  }, 60_000);

  it('answers the fixed query list with dedup exactly as one Prometheus replica per cluster', async () => {
    const t = evalTime();
    // Compared with replica 0, or with replica 1 should replica 0 have missed a scrape
    // (the deduplicated series then follows the replica that has all samples).
    const sameAsOneReplica = async (c: number, path: string, q: (m: Sel) => string, params: Record<string, string>, what: string): Promise<void> => {
      const ours = await api(queryUrl, path, { query: q(clusterSel(c)), ...params });
      expect(ours.status, `${what}: ${ours.text}`).toBe(200);
      expect(ours.body.warnings, what).toBeUndefined();
      const got = withoutCluster(ours.body.data);
      let theirs: ApiBody | null = null;
      for (const r of REPLICAS) {
        theirs = (await api(proms[c][r].url, path, { query: q(promSel), ...params })).body;
        expect(theirs.status).toBe('success');
        expect(theirs.data.result.length, `${what} has data`).toBeGreaterThan(0);
        if (JSON.stringify(got) === JSON.stringify(theirs.data)) return;
      }
      expect(got, what).toEqual(theirs!.data);
    };
    for (const c of CLUSTERS) {
      for (const [name, q] of QUERIES) {
        await sameAsOneReplica(c, '/api/v1/query', q, { time: String(t / 1000) }, `instant ${name}, cluster-${c}`);
        const range = { start: String((t - 10_000) / 1000), end: String(t / 1000), step: '2' };
        await sameAsOneReplica(c, '/api/v1/query_range', q, range, `range ${name}, cluster-${c}`);
      }
    }
    // Aggregating across clusters: one sum per cluster, each that cluster's Prometheus's sum.
    const sums = await api(queryUrl, '/api/v1/query', { query: 'sum by (cluster) (rate(demo_requests_total[6s]))', time: String(t / 1000) });
    expect(sums.body.data.result.map((s: { metric: { cluster: string } }) => s.metric.cluster)).toEqual(['cluster-0', 'cluster-1']);
    for (const c of CLUSTERS) {
      const theirs = await api(proms[c][0].url, '/api/v1/query', { query: 'sum(rate(demo_requests_total[6s]))', time: String(t / 1000) });
      expect(sums.body.data.result[c].value).toEqual(theirs.body.data.result[0].value);
    }
  }, 60_000);

  it('has no doubled series with dedup, and both replicas with dedup=false', async () => {
    const t = String(evalTime() / 1000);
    expect((await api(queryUrl, '/api/v1/query', { query: 'count(up)', time: t })).body.data.result[0].value[1]).toBe('6');
    expect((await api(queryUrl, '/api/v1/query', { query: 'count(up)', time: t, dedup: 'false' })).body.data.result[0].value[1]).toBe('12');
    const raw = await api(queryUrl, '/api/v1/query', { query: 'demo_requests_total{cluster="cluster-0",path="/a"}', time: t, dedup: 'false' });
    expect(raw.body.data.result.map((s: { metric: Record<string, string> }) => `${s.metric.code}/${s.metric.replica}`)).toEqual(['200/0', '200/1', '500/0', '500/1']);
    // Both replicas hold the same samples.
    expect(raw.body.data.result[0].value).toEqual(raw.body.data.result[1].value);

    // Metadata calls: series without replica labels, label values as one replica has them.
    for (const c of CLUSTERS) {
      const series = await api(queryUrl, '/api/v1/series', { 'match[]': clusterSel(c)('demo_requests_total'), start: String(Number(t) - 10), end: t });
      const theirs = await api(proms[c][0].url, '/api/v1/series', { 'match[]': 'demo_requests_total', start: String(Number(t) - 10), end: t });
      expect(series.body.data.map((m: Record<string, string>) => ({ ...m, cluster: undefined }))).toEqual(theirs.body.data.map((m: Record<string, string>) => ({ ...m, cluster: undefined })));
      const values = await api(queryUrl, '/api/v1/label/path/values', { 'match[]': clusterSel(c)('demo_requests_total') });
      const theirValues = await api(proms[c][0].url, '/api/v1/label/path/values', { 'match[]': 'demo_requests_total' });
      expect(values.body.data).toEqual(theirValues.body.data);
    }
    expect((await api(queryUrl, '/api/v1/label/cluster/values')).body.data).toEqual(['cluster-0', 'cluster-1']);
    // All time when start and end are left out (promtool sends Prometheus's MinTime/MaxTime).
    expect((await api(queryUrl, '/api/v1/series', { 'match[]': 'up{cluster="cluster-1"}' })).body.data).toHaveLength(3);
    const allTime = await promtool(['query', 'series', '--match', 'up{cluster="cluster-1"}', queryUrl]);
    expect(allTime.stdout.split('\n').filter(Boolean), allTime.stderr).toHaveLength(3);
    // Under deduplication the replica label is left out, as Thanos does; dedup=false lists it.
    const names = await api(queryUrl, '/api/v1/labels', { 'match[]': 'demo_requests_total' });
    expect(names.body.data).toEqual(['__name__', 'cluster', 'code', 'instance', 'job', 'path']);
    const rawNames = await api(queryUrl, '/api/v1/labels', { 'match[]': 'demo_requests_total', dedup: 'false' });
    expect(rawNames.body.data).toEqual(['__name__', 'cluster', 'code', 'instance', 'job', 'path', 'replica']);
    // promtool query labels against the query leaves replica out too.
    const viaPromtool = await promtool(['query', 'labels', queryUrl, 'replica']);
    expect(viaPromtool.stdout.trim(), viaPromtool.stderr).toBe('');
  }, 30_000);

  it('answers promtool query instant|range|series|labels as a Prometheus does', async () => {
    const t = evalTime();
    const instant = (m: Sel): string => `sum by (path) (rate(${m('demo_requests_total')}[6s]))`;
    const rangeQ = (m: Sel): string => `histogram_quantile(0.5, sum by (le) (rate(${m('demo_request_duration_seconds_bucket')}[6s])))`;
    const prom = proms[0][0].url;
    // Each pair: our query's arguments, and a Prometheus's for a URL (replica 1 is asked too
    // should replica 0 have missed a scrape).
    const pairs: [string[], (url: string) => string[]][] = [
      [
        ['query', 'instant', '--time', String(t / 1000), queryUrl, instant(clusterSel(0))],
        (url) => ['query', 'instant', '--time', String(t / 1000), url, instant(promSel)],
      ],
      [
        ['query', 'range', '--start', String((t - 10_000) / 1000), '--end', String(t / 1000), '--step', '2s', queryUrl, rangeQ(clusterSel(0))],
        (url) => ['query', 'range', '--start', String((t - 10_000) / 1000), '--end', String(t / 1000), '--step', '2s', url, rangeQ(promSel)],
      ],
      [['query', 'labels', queryUrl, 'path'], (url) => ['query', 'labels', url, 'path']],
    ];
    for (const [oursArgs, theirsArgs] of pairs) {
      const ours = await promtool(oursArgs);
      expect(ours.code, ours.stderr).toBe(0);
      expect(ours.stdout.trim().length).toBeGreaterThan(0);
      let theirs = await promtool(theirsArgs(prom));
      if (theirs.stdout !== ours.stdout) theirs = await promtool(theirsArgs(proms[0][1].url));
      expect(theirs.code, theirs.stderr).toBe(0);
      expect(ours.stdout, oursArgs.join(' ')).toBe(theirs.stdout);
    }
    // Series carry the cluster label (an external label) through the query only.
    const win = ['--start', String((t - 10_000) / 1000), '--end', String(t / 1000)];
    const ours = await promtool(['query', 'series', '--match', clusterSel(0)('demo_requests_total'), ...win, queryUrl]);
    const theirs = await promtool(['query', 'series', '--match', 'demo_requests_total', ...win, prom]);
    expect(ours.code, ours.stderr).toBe(0);
    expect(ours.stdout.replaceAll('cluster="cluster-0", ', '')).toBe(theirs.stdout);
    expect(theirs.stdout.split('\n').filter(Boolean)).toHaveLength(COUNTERS.length);
  }, 60_000);

  it('rejects bad queries as Prometheus does and shows unknown endpoints unhealthy', async () => {
    for (const q of ['up +', 'sum(rate(up[5m])', 'foo{', '1 +* 2']) {
      const ours = await api(queryUrl, '/api/v1/query', { query: q });
      const theirs = await api(proms[0][0].url, '/api/v1/query', { query: q });
      expect(ours.status, q).toBe(400);
      expect(ours.body.errorType).toBe('bad_data');
      expect(ours.text, q).toBe(theirs.text);
    }
    // Prometheus 3 (whose parser we follow) has no position for an empty query; 2.42 said 1:1.
    expect((await api(queryUrl, '/api/v1/query', { query: '' })).body.error).toBe('invalid parameter "query": unknown position: parse error: no expression found in input');
    const stores = await api(queryUrl, '/api/v1/stores');
    expect(stores.body.data.sidecar.map((s: { name: string }) => s.name).sort()).toEqual(sidecars.flat().map((s) => s.grpcAddress).sort());
    const unknown = stores.body.data['unknown-store-api'] as { name: string; lastError: string | null }[];
    expect(unknown.map((u) => u.name).sort()).toEqual([deadEndpoint, 'no-such-host.invalid:10901'].sort());
    for (const u of unknown) expect(u.lastError).toBeTruthy();
    expect((await fetch(`${queryUrl}/-/healthy`)).status).toBe(200);
  });

  it('measures the fixed query list through the query and straight from one Prometheus', async () => {
    const t = evalTime();
    const rows: string[] = [];
    let oursTotal = 0;
    let theirsTotal = 0;
    for (const [name, q] of QUERIES) {
      const time = async (base: string, query: string): Promise<number> => {
        const ms: number[] = [];
        for (let i = 0; i < 5; i++) {
          const s = performance.now();
          const r = await api(base, '/api/v1/query_range', { query, start: String((t - 10_000) / 1000), end: String(t / 1000), step: '2' });
          ms.push(performance.now() - s);
          expect(r.status).toBe(200);
        }
        return median(ms);
      };
      const ours = await time(queryUrl, q(clusterSel(0)));
      const theirs = await time(proms[0][0].url, q(promSel));
      oursTotal += ours;
      theirsTotal += theirs;
      rows.push(`  ${name.padEnd(24)} ${ours.toFixed(1).padStart(7)} ms   ${theirs.toFixed(1).padStart(7)} ms`);
    }
    console.log(
      ['query e2e latency (median of 5 range queries, 10 s at 2 s step)', '  query                     via query   straight to Prometheus', ...rows, `  ${'total'.padEnd(24)} ${oursTotal.toFixed(1).padStart(7)} ms   ${theirsTotal.toFixed(1).padStart(7)} ms`].join('\n'),
    );
  }, 60_000);

  it('covers an outage of one replica: warnings only where needed, no gap after the restart', async () => {
    const victim = proms[0][0];
    const victimSidecar = sidecars[0][0].grpcAddress;
    const killedAt = Date.now();
    await victim.kill();
    await sleep(3000);

    // During the outage: cluster-0 answers from the twin, with a warning naming the sidecar.
    const during = await api(queryUrl, '/api/v1/query', { query: 'count(demo_requests_total{cluster="cluster-0"})' });
    expect(during.status).toBe(200);
    expect(during.body.data.result[0].value[1]).toBe(String(COUNTERS.length));
    expect(during.body.warnings?.join('\n')).toContain(victimSidecar);
    // cluster-1 does not need the dead replica: no warning.
    const other = await api(queryUrl, '/api/v1/query', { query: 'count(demo_requests_total{cluster="cluster-1"})' });
    expect(other.body.data.result[0].value[1]).toBe(String(COUNTERS.length));
    expect(other.body.warnings).toBeUndefined();
    // Without partial responses the query fails, naming the endpoint.
    const strict = await api(queryUrl, '/api/v1/query', { query: 'count(demo_requests_total{cluster="cluster-0"})', partial_response: 'false' });
    expect(strict.status).toBe(422);
    expect(strict.body.error).toContain(victimSidecar);

    await sleep(killedAt + 10_000 - Date.now());
    await victim.restart();
    const restartedAt = Date.now();
    // The restarted replica scrapes again after its scrape manager's first reload (~5 s).
    await waitFor(
      async () => {
        const r = await api(queryUrl, '/api/v1/query', { query: 'timestamp(demo_requests_total{cluster="cluster-0",replica="0",path="/a",code="200"})', dedup: 'false', lookback_delta: '2s' });
        return Number(r.body.data?.result[0]?.value[1] ?? 0) * 1000 > restartedAt;
      },
      { timeoutMs: 30_000, what: 'the restarted replica to scrape again' },
    );
    await sleep(5000);

    const end = evalTime();
    const from = killedAt - 6000;
    const window = `${Math.ceil((end - from) / 1000)}s`;
    const [, , k] = COUNTERS[0];
    const raw = async (params: Record<string, string>, sel: string): Promise<[number, number][]> => {
      const r = await api(queryUrl, '/api/v1/query', { query: `demo_requests_total{cluster="cluster-0",path="/a",code="200"${sel}}[${window}]`, time: String(end / 1000), ...params });
      expect(r.body.data.result).toHaveLength(1);
      return r.body.data.result[0].values.map(([ts, v]: [number, string]) => [Math.round(ts * 1000), Number(v)]);
    };
    const maxGap = (s: [number, number][]): number => s.reduce((g, [ts], i) => (i === 0 ? 0 : Math.max(g, ts - s[i - 1][0])), 0);

    const alone = await raw({ dedup: 'false' }, ',replica="0"');
    expect(maxGap(alone)).toBeGreaterThanOrEqual(10_000);
    const merged = await raw({}, '');
    // Deduplicated: samples on both sides of the outage, no hole longer than the penalty
    // algorithm's switch-over (3 grid steps, one more for a missed scrape), every value
    // the exporter's (no step).
    expect(merged[0][0]).toBeLessThan(killedAt - 2000);
    expect(merged[merged.length - 1][0]).toBeGreaterThan(end - 4000);
    expect(maxGap(merged)).toBeLessThanOrEqual(4 * GRID);
    for (const [ts, v] of merged) {
      expect(ts % GRID).toBe(0);
      expect(v).toBe(counterAt(ts, k, 0));
    }
    // A range query with a lookback shorter than the outage: a point at every step.
    const steps = await api(queryUrl, '/api/v1/query_range', {
      query: 'demo_requests_total{cluster="cluster-0",path="/a",code="200"}',
      start: String((killedAt - 4000) / 1000),
      end: String(end / 1000),
      step: '1',
      lookback_delta: '7s',
    });
    const values = steps.body.data.result[0].values as [number, string][];
    expect(values).toHaveLength(Math.floor((end - (killedAt - 4000)) / 1000) + 1);
    for (let i = 1; i < values.length; i++) expect(Number(values[i][1])).toBeGreaterThanOrEqual(Number(values[i - 1][1]));
    const aloneSteps = await api(queryUrl, '/api/v1/query_range', {
      query: 'demo_requests_total{cluster="cluster-0",replica="0",path="/a",code="200"}',
      start: String((killedAt - 4000) / 1000),
      end: String(end / 1000),
      step: '1',
      lookback_delta: '7s',
      dedup: 'false',
    });
    expect(aloneSteps.body.data.result[0].values.length).toBeLessThan(values.length);
  }, 90_000);
});
