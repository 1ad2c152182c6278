// Query is more than series: two real Prometheus replicas (Debian's 2.42, external labels
// cluster and replica, exemplar storage on) evaluating one rule file (a recording rule
// and an alert that fires) and scraping one OpenMetrics exporter with exemplars, each
// behind our sidecar, and our query over both deduplicating by `replica`. The query's
// rules, alerts, targets, metadata and exemplars APIs answer what one Prometheus
// answers, with the external labels added as Thanos's sidecar adds them and the replica
// label gone.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENMETRICS_CONTENT_TYPE, removeTempDirs, startExporter, startPrometheus, tempDir, waitFor } from '@thanos-ts/testutil';
import type { Exporter, PrometheusInstance } from '@thanos-ts/testutil';
import { api } from './api.js';
import { startComponent } from './components.js';
import type { Component } from './components.js';

const REPLICAS = ['r0', 'r1'];
// Exemplars with a fixed timestamp, so every scrape offers the same ones and the
// answers do not change between the two calls compared.
const EXEMPLAR_TS = (Math.floor(Date.now() / 1000) - 60).toFixed(3);

function exposition(): string {
  return [
    '# TYPE demo_requests counter',
    '# HELP demo_requests Requests served.',
    `demo_requests_total{path="/a"} 17 # {trace_id="abc123"} 1.5 ${EXEMPLAR_TS}`,
    `demo_requests_total{path="/b"} 4 # {trace_id="def456"} 0.25 ${EXEMPLAR_TS}`,
    '# TYPE demo_temperature_celsius gauge',
    '# UNIT demo_temperature_celsius celsius',
    '# HELP demo_temperature_celsius Room temperature.',
    'demo_temperature_celsius 21.5',
    '# EOF',
    '',
  ].join('\n');
}

const RULES = `groups:
  - name: demo
    interval: 1s
    rules:
      - record: path:demo_requests:sum
        expr: sum by (path) (demo_requests_total)
      - alert: DemoTooWarm
        expr: demo_temperature_celsius > 20
        for: 0s
        labels:
          severity: page
        annotations:
          summary: "it is {{ $value }} degrees"
`;

let exporter: Exporter;
const proms: PrometheusInstance[] = [];
const sidecars: Component[] = [];
let query: Component;
let q: string;
let prom: string;

beforeAll(async () => {
  exporter = await startExporter(exposition, { contentType: OPENMETRICS_CONTENT_TYPE });
  const rulesFile = join(await tempDir('apis-rules'), 'demo.rules.yml');
  await writeFile(rulesFile, RULES);
  proms.push(
    ...(await Promise.all(
      REPLICAS.map((replica) =>
        startPrometheus({
          externalLabels: { cluster: 'c1', replica },
          scrapeSelf: false,
          extraArgs: ['--enable-feature=exemplar-storage'],
          config: {
            rule_files: [rulesFile],
            scrape_configs: [{ job_name: 'demo', static_configs: [{ targets: [exporter.target] }] }],
          },
        }),
      ),
    )),
  );
  prom = proms[0].url;
  sidecars.push(...(await Promise.all(proms.map((p) => startComponent(['sidecar', '--prometheus.url', p.url, '--tsdb.path', p.dataDir])))));
  query = await startComponent(['query', ...sidecars.flatMap((s) => ['--endpoint', s.grpcAddress]), '--query.replica-label', 'replica']);
  q = `http://${query.httpAddress}`;
  // Every Prometheus has scraped, evaluated its rules and stored the exemplars.
  await waitFor(
    async () => {
      for (const p of proms) {
        const alerts = await api(p.url, '/api/v1/alerts');
        if (alerts.body.data?.alerts?.[0]?.state !== 'firing') return false;
        const ex = await api(p.url, '/api/v1/query_exemplars', { query: 'demo_requests_total' });
        if ((ex.body.data ?? []).length < 2) return false;
        const md = await api(p.url, '/api/v1/metadata');
        if (Object.keys(md.body.data ?? {}).length === 0) return false;
      }
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 250, what: 'rules evaluated, alert firing and exemplars stored' },
  );
}, 60_000);

afterAll(async () => {
  await query?.stop();
  await Promise.all(sidecars.map((s) => s.stop()));
  await Promise.all(proms.map((p) => p.stop()));
  await exporter?.stop();
  await removeTempDirs();
});

type Rec = Record<string, string>;
const sorted = (r: Rec): Rec => Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));
const ext = (r: Rec): Rec => sorted({ ...r, cluster: 'c1' });
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe('rules, alerts, targets, metadata and exemplars through the query', () => {
  it('serves rules as Prometheus does, external labels on each rule, replicas once', async () => {
    const ours = await api(q, '/api/v1/rules');
    const theirs = await api(prom, '/api/v1/rules');
    expect(ours.status).toBe(200);
    expect(ours.body.warnings).toBeUndefined();
    const shape = (groups: any[], withExt: boolean) =>
      groups.map((g) => ({
        name: g.name,
        file: g.file,
        interval: g.interval,
        limit: g.limit,
        rules: g.rules.map((r: any) => ({
          type: r.type,
          name: r.name,
          query: r.query,
          labels: withExt ? ext(r.labels ?? {}) : r.labels,
          health: r.health,
          ...(r.type === 'alerting'
            ? { state: r.state, duration: r.duration, annotations: r.annotations, alerts: r.alerts.map((a: any) => ({ labels: a.labels, annotations: a.annotations, state: a.state, value: a.value })) }
            : {}),
        })),
      }));
    expect(shape(ours.body.data.groups, false)).toEqual(shape(theirs.body.data.groups, true));
    // Prometheus's keys in Prometheus's order; times as Go writes them in UTC.
    const g = ours.body.data.groups[0];
    expect(Object.keys(g)).toEqual(['name', 'file', 'rules', 'interval', 'limit', 'evaluationTime', 'lastEvaluation']);
    expect(g.lastEvaluation).toMatch(RFC3339);
    const alerting = g.rules.find((r: any) => r.type === 'alerting');
    expect(Object.keys(alerting)).toEqual(Object.keys(theirs.body.data.groups[0].rules.find((r: any) => r.type === 'alerting')));
    expect(Object.keys(alerting.alerts[0])).toEqual(['labels', 'annotations', 'state', 'activeAt', 'value']);
    expect(alerting.labels).toEqual({ cluster: 'c1', severity: 'page' });

    // Without dedup each replica's rules are there, with their replica label.
    const raw = await api(q, '/api/v1/rules', { dedup: 'false' });
    expect(raw.body.data.groups).toHaveLength(1);
    expect(raw.body.data.groups[0].rules.map((r: any) => `${r.name}/${r.labels.replica}`).sort()).toEqual([
      'DemoTooWarm/r0',
      'DemoTooWarm/r1',
      'path:demo_requests:sum/r0',
      'path:demo_requests:sum/r1',
    ]);

    // Filters: type, rule_name[], rule_group[], file[].
    const alertsOnly = await api(q, '/api/v1/rules', { type: 'alert' });
    expect(alertsOnly.body.data.groups[0].rules.map((r: any) => r.name)).toEqual(['DemoTooWarm']);
    const byName = await api(q, '/api/v1/rules', { 'rule_name[]': 'path:demo_requests:sum' });
    expect(byName.body.data.groups[0].rules.map((r: any) => r.type)).toEqual(['recording']);
    expect((await api(q, '/api/v1/rules', { 'rule_group[]': 'nope' })).body.data.groups).toEqual([]);
    expect((await api(q, '/api/v1/rules', { 'file[]': g.file })).body.data.groups).toHaveLength(1);
    const bad = await api(q, '/api/v1/rules', { type: 'sometimes' });
    expect(bad.status).toBe(400);
    expect(bad.body.errorType).toBe('bad_data');
  });

  it('serves the firing alert once', async () => {
    const ours = await api(q, '/api/v1/alerts');
    const theirs = await api(prom, '/api/v1/alerts');
    const strip = (as: any[]) => as.map(({ labels, annotations, state, value }) => ({ labels, annotations, state, value }));
    expect(strip(ours.body.data.alerts)).toEqual(strip(theirs.body.data.alerts));
    expect(ours.body.data.alerts).toHaveLength(1);
    expect(ours.body.data.alerts[0].activeAt).toMatch(RFC3339);
  });

  it('serves targets with external labels, replicas once', async () => {
    const ours = await api(q, '/api/v1/targets');
    const theirs = await api(prom, '/api/v1/targets');
    const strip = (ts: any[], withExt: boolean) =>
      ts.map((t) => ({
        discoveredLabels: withExt ? ext(t.discoveredLabels) : t.discoveredLabels,
        labels: withExt ? ext(t.labels) : t.labels,
        scrapePool: t.scrapePool,
        scrapeUrl: t.scrapeUrl,
        globalUrl: t.globalUrl,
        health: t.health,
      }));
    expect(strip(ours.body.data.activeTargets, false)).toEqual(strip(theirs.body.data.activeTargets, true));
    expect(ours.body.data.droppedTargets).toEqual([]);
    expect(Object.keys(ours.body.data.activeTargets[0])).toEqual([
      'discoveredLabels',
      'labels',
      'scrapePool',
      'scrapeUrl',
      'globalUrl',
      'lastError',
      'lastScrape',
      'lastScrapeDuration',
      'health',
    ]);
    expect((await api(q, '/api/v1/targets', { dedup: 'false' })).body.data.activeTargets).toHaveLength(2);
    expect((await api(q, '/api/v1/targets', { state: 'dropped' })).body.data).toEqual({ activeTargets: [], droppedTargets: [] });
    expect((await api(q, '/api/v1/targets', { state: 'bogus' })).status).toBe(400);
  });

  it('serves metric metadata as Prometheus does', async () => {
    const norm = (m: Record<string, any[]>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, [...v].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1))]));
    const ours = await api(q, '/api/v1/metadata');
    const theirs = await api(prom, '/api/v1/metadata');
    expect(norm(ours.body.data)).toEqual(norm(theirs.body.data));
    expect(Object.keys(ours.body.data)).toEqual(Object.keys(ours.body.data).sort());
    const one = await api(q, '/api/v1/metadata', { metric: 'demo_temperature_celsius' });
    expect(one.body.data).toEqual((await api(prom, '/api/v1/metadata', { metric: 'demo_temperature_celsius' })).body.data);
    expect(Object.keys((await api(q, '/api/v1/metadata', { limit: '1' })).body.data)).toHaveLength(1);
  });

  it('serves exemplars with external labels on the series, replicas once', async () => {
    const ours = await api(q, '/api/v1/query_exemplars', { query: 'demo_requests_total' });
    const theirs = await api(prom, '/api/v1/query_exemplars', { query: 'demo_requests_total' });
    const withExt = (theirs.body.data as any[])
      .map((d) => ({ seriesLabels: ext(d.seriesLabels), exemplars: d.exemplars }))
      .sort((a, b) => (JSON.stringify(a.seriesLabels) < JSON.stringify(b.seriesLabels) ? -1 : 1));
    expect(ours.body.data).toEqual(withExt);
    expect(ours.body.data).toHaveLength(2);
    expect(ours.body.data[0].exemplars[0]).toEqual({ labels: { trace_id: 'abc123' }, value: '1.5', timestamp: Number(EXEMPLAR_TS) });
    // A selector on an external label picks the endpoints, not series Prometheus knows.
    const byCluster = await api(q, '/api/v1/query_exemplars', { query: 'demo_requests_total{cluster="c1",path="/b"}' });
    expect(byCluster.body.data.map((d: any) => d.seriesLabels.path)).toEqual(['/b']);
    expect((await api(q, '/api/v1/query_exemplars', { query: 'demo_requests_total{cluster="c2"}' })).body.data).toEqual([]);
  });

  it('leaves replica labels out of label names and values with dedup, and serves runtimeinfo', async () => {
    expect((await api(q, '/api/v1/labels')).body.data).not.toContain('replica');
    expect((await api(q, '/api/v1/labels', { dedup: 'false' })).body.data).toContain('replica');
    expect((await api(q, '/api/v1/label/replica/values')).body.data).toEqual([]);
    expect((await api(q, '/api/v1/label/replica/values', { dedup: 'false' })).body.data).toEqual(['r0', 'r1']);
    const rt = await api(q, '/api/v1/status/runtimeinfo');
    expect(rt.body.data.startTime).toMatch(RFC3339);
    expect(rt.body.data.CWD).toEqual(expect.any(String));
  });
});
