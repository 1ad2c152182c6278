// query-frontend in front of a real query over a store gateway serving three days of
// blocks (clusters eu and us, each with a replica label): answers through the frontend
// equal answers straight from the query for a fixed query list and a dashboard of range
// queries (several steps and ranges, dedup on and off), a second pass comes from the
// results cache (in-memory, and a real memcached), and a query restarted while requests
// go through is retried without a failed answer (20 tries: a restart on a busy machine
// takes longer than Thanos's default 5 tries of backoff, about 5 s).

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '@thanos-ts/objstore';
import { uploadBlock } from '@thanos-ts/block';
import { createBlocksFromOpenMetrics, removeTempDirs, startMemcached, tempDir } from '@thanos-ts/testutil';
import type { MemcachedInstance } from '@thanos-ts/testutil';
import { startComponent } from './components.js';
import type { Component } from './components.js';
import { api } from './api.js';
import { DAY, EU, HOUR, openMetrics, T0, US } from './store-data.js';

let store: Component;
let query: Component;
let inMemory: Component;
let memcachedFrontend: Component;
let memcached: MemcachedInstance;

const url = (c: Component): string => `http://${c.httpAddress}`;

beforeAll(async () => {
  const dir = await tempDir('query-frontend-e2e');
  const bucket = join(dir, 'bucket');
  await mkdir(bucket);
  const objstore = join(dir, 'fs.yml');
  await writeFile(objstore, `type: FILESYSTEM\nconfig:\n  directory: ${bucket}\n`);
  const bkt = new FilesystemBucket(bucket);
  // promtool's day-long blocks: a handful of blocks for the store to open, not 2h ones.
  const fill = async (spec: typeof EU, labels: Record<string, string>): Promise<void> => {
    const local = await tempDir(`query-frontend-e2e-${spec.name}`);
    for (const id of await createBlocksFromOpenMetrics(openMetrics([spec], false), local, { maxBlockDuration: '24h' })) {
      await uploadBlock(bkt, join(local, id), {
        mutateMeta: (m) => {
          m.thanos.labels = labels;
          m.thanos.source = 'bucket.upload';
        },
      });
    }
  };
  const t0 = Date.now();
  const [mc] = await Promise.all([startMemcached({ maxItemSize: '8m' }), fill(EU, { cluster: 'eu', replica: '0' }), fill(US, { cluster: 'us', replica: '1' })]);
  const t1 = Date.now();
  memcached = mc;
  store = await startComponent(['store', '--objstore.config-file', objstore, '--data-dir', join(dir, 'store')]);
  query = await startComponent(['query', '--endpoint', store.grpcAddress, '--endpoint.info-timeout', '1s', '--query.replica-label', 'replica', '--grpc-grace-period', '0s']);
  const common = ['query-frontend', '--query-frontend.downstream-url', url(query), '--query-range.max-retries-per-request', '20', '--labels.split-interval', '24h'];
  [inMemory, memcachedFrontend] = await Promise.all([
    startComponent([...common, '--query-range.response-cache-config', 'type: IN-MEMORY\nconfig:\n  max_size: 256MB\n', '--labels.response-cache-config', 'type: in-memory\nconfig:\n  max_size: 16MB\n'], { grpc: false }),
    startComponent([...common, '--query-range.response-cache-config', `type: MEMCACHED\nconfig:\n  addresses: ["${memcached.address}"]\n  max_item_size: 8MiB\n  expiration: 1h\n`], { grpc: false }),
  ]);
  console.log(`query-frontend e2e: data ${t1 - t0} ms, components ${Date.now() - t1} ms`);
}, 60_000);

afterAll(async () => {
  await Promise.all([inMemory, memcachedFrontend, query, store].filter(Boolean).map((c) => c.stop()));
  await memcached?.stop();
  await removeTempDirs();
});

/** The fixed query list (as the query e2e test's, with windows fitting 60 s samples). */
const QUERIES = [
  'rate(demo_requests_total[5m])',
  'sum by (cluster, path) (rate(demo_requests_total[5m]))',
  'increase(demo_requests_total{path="/a"}[10m])',
  'histogram_quantile(0.5, sum by (cluster, le) (rate(demo_request_duration_seconds_bucket[5m])))',
  'histogram_quantile(0.9, rate(demo_request_duration_seconds_bucket[5m]))',
  'topk(2, rate(demo_requests_total[5m]))',
  'avg by (room) (demo_temperature_celsius) * 2',
  'count(up)',
];

/** A dashboard: range queries over whole or partial days at Grafana-like steps. */
const DASHBOARD: { query: string; start: number; end: number; step: number; dedup?: boolean }[] = [
  { query: 'sum(rate(demo_requests_total[5m]))', start: T0, end: T0 + 3 * DAY, step: 300 },
  { query: 'sum by (code) (rate(demo_requests_total[5m]))', start: T0 + 6 * HOUR, end: T0 + 2 * DAY + 6 * HOUR, step: 120 },
  { query: 'max_over_time(demo_temperature_celsius[1h])', start: T0 + HOUR, end: T0 + 3 * DAY - HOUR, step: 900 },
  { query: 'up', start: T0 + 20 * HOUR, end: T0 + 52 * HOUR, step: 60, dedup: false },
  { query: 'up', start: T0 + 20 * HOUR, end: T0 + 52 * HOUR, step: 60 },
  { query: 'sum(demo_request_duration_seconds_count) by (cluster)', start: T0, end: T0 + 3 * DAY, step: 3600 },
  { query: 'avg_over_time(sum(rate(demo_requests_total[5m]))[1h:5m])', start: T0 + 2 * HOUR, end: T0 + 2 * DAY + 2 * HOUR, step: 600 },
];

type Params = Record<string, string>;

function rangeParams(q: (typeof DASHBOARD)[number]): Params {
  return { query: q.query, start: String(q.start / 1000), end: String(q.end / 1000), step: String(q.step), ...(q.dedup === false ? { dedup: 'false' } : {}) };
}

function allRanges(): Params[] {
  const out = DASHBOARD.map(rangeParams);
  for (const query of QUERIES) out.push({ query, start: String((T0 + 12 * HOUR) / 1000), end: String((T0 + 60 * HOUR) / 1000), step: '600' });
  return out;
}

/** The series of an answer, keyed by labels, so answers compare whatever their order. */
function bySeries(body: { data?: { result: { metric: Record<string, string> }[] } }): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const s of body.data!.result) m.set(JSON.stringify(Object.entries(s.metric).sort()), s);
  return m;
}

/** Answers straight from the query, asked once per parameter set (the data does not change). */
const directAnswers = new Map<string, ReturnType<typeof api>>();

async function expectSame(frontend: Component, params: Params, fresh = false): Promise<void> {
  const what = `${params.query} [${params.start}, ${params.end}] step ${params.step}${params.dedup ? ' dedup=' + params.dedup : ''}`;
  const key = JSON.stringify(params);
  if (fresh || !directAnswers.has(key)) directAnswers.set(key, api(url(query), '/api/v1/query_range', params));
  const [direct, through] = await Promise.all([directAnswers.get(key)!, api(url(frontend), '/api/v1/query_range', params)]);
  expect(direct.status, `${what}: ${direct.text.slice(0, 300)}`).toBe(200);
  expect(through.status, `${what}: ${through.text.slice(0, 300)}`).toBe(200);
  expect(direct.body.data.result.length, `${what} has data`).toBeGreaterThan(0);
  expect(bySeries(through.body), what).toEqual(bySeries(direct.body));
  expect(through.body.warnings, what).toEqual(direct.body.warnings);
}

async function metric(c: Component, name: string, match: string): Promise<number> {
  const text = await (await fetch(`${url(c)}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if ((line.startsWith(name + '{') || line.startsWith(name + ' ')) && line.includes(match)) sum += Number(line.split(' ').pop());
  return sum;
}

describe.each([
  ['an in-memory', () => inMemory],
  ['a memcached', () => memcachedFrontend],
])('query-frontend with %s results cache', (_name, frontend) => {
  it('answers every range query as the query does, then again from the cache', async () => {
    const f = frontend();
    for (const p of allRanges()) await expectSame(f, p);
    const hitsBefore = await metric(f, 'cortex_cache_hits_total', 'tripperware="query_range"');
    const splitsBefore = await metric(f, 'thanos_frontend_split_queries_total', '');
    for (const p of allRanges()) await expectSame(f, p);
    const hits = (await metric(f, 'cortex_cache_hits_total', 'tripperware="query_range"')) - hitsBefore;
    // Every piece of every cacheable query is a hit the second time (dedup=false is never cached).
    const cacheable = allRanges().filter((p) => p.dedup !== 'false');
    expect(hits).toBeGreaterThanOrEqual(cacheable.length);
    expect(hits).toBeLessThanOrEqual((await metric(f, 'thanos_frontend_split_queries_total', '')) - splitsBefore);
  }, 60_000);
});

describe('query-frontend', () => {
  it('passes the rest of the API through and splits label requests', async () => {
    const params = { start: String(T0 / 1000), end: String((T0 + 3 * DAY) / 1000) };
    const [direct, through] = await Promise.all([api(url(query), '/api/v1/labels', params), api(url(inMemory), '/api/v1/labels', params)]);
    expect(through.body).toEqual(direct.body);
    const values = { ...params, 'match[]': 'demo_requests_total' };
    const [dv, tv] = await Promise.all([api(url(query), '/api/v1/label/path/values', values), api(url(inMemory), '/api/v1/label/path/values', values)]);
    expect(tv.body).toEqual(dv.body);
    const [ds, ts] = await Promise.all([api(url(query), '/api/v1/series', { ...params, 'match[]': 'up' }), api(url(inMemory), '/api/v1/series', { ...params, 'match[]': 'up' })]);
    expect(ts.body.data).toEqual(expect.arrayContaining(ds.body.data));
    expect(ts.body.data).toHaveLength(ds.body.data.length);
    const [db, tb] = await Promise.all([api(url(query), '/api/v1/status/buildinfo'), api(url(inMemory), '/api/v1/status/buildinfo')]);
    expect(tb.text).toBe(db.text);
    const bad = await api(url(inMemory), '/api/v1/query_range', { query: 'rate(up[5m]', start: '0', end: '60', step: '15' });
    const badDirect = await api(url(query), '/api/v1/query_range', { query: 'rate(up[5m]', start: '0', end: '60', step: '15' });
    expect(bad.status).toBe(badDirect.status);
    expect(bad.body).toEqual(badDirect.body);
  });

  it('retries requests while the query restarts', async () => {
    // Light queries, so the query's stop and start are not slowed by its own work.
    const ranges = [0, 1, 2].map((d): Params => ({ query: 'count by (cluster) (up)', start: String((T0 + d * DAY) / 1000), end: String((T0 + (d + 1) * DAY) / 1000), step: '900' }));
    const failures: string[] = [];
    let sent = 0;
    let stop = false;
    // Cache-Control: no-store keeps every request going to the query.
    const loop = (async () => {
      while (!stop) {
        const p = ranges[sent++ % ranges.length];
        const u = new URL(`${url(inMemory)}/api/v1/query_range`);
        for (const [k, v] of Object.entries(p)) u.searchParams.set(k, v);
        const r = await fetch(u, { headers: { 'Cache-Control': 'no-store' } });
        if (r.status !== 200) failures.push(`${r.status} ${await r.text()}`);
        else await r.arrayBuffer();
      }
    })();
    const retriesBefore = await metric(inMemory, 'cortex_query_frontend_retries_sum', '');
    const t0 = Date.now();
    await query.restart();
    console.log(`query-frontend e2e: query restarted in ${Date.now() - t0} ms, ${sent} requests sent`);
    stop = true;
    await loop;
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(1);
    expect(await metric(inMemory, 'cortex_query_frontend_retries_sum', '')).toBeGreaterThan(retriesBefore);
    for (const p of ranges.slice(0, 3)) await expectSame(inMemory, p, true);
  }, 60_000);
});
