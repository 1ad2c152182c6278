// The HTTP API of a Query service over FakeStores served on loopback gRPC: two replicas
// of one cluster, another cluster, and endpoints that fail or stall.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeStore, StoreServer } from '@thanos-ts/storeapi';
import type { InfoResponseInit, SeriesSink, StoreAPI, StoreSeries } from '@thanos-ts/storeapi';
import { nopLogger } from '@thanos-ts/runtime';
import { freePort } from '@thanos-ts/testutil';
import { compareLabels } from '@thanos-ts/tsdb';
import type { Labels } from '@thanos-ts/tsdb';
import { queryConfigFromFlags } from '../flags.js';
import { Query } from '../query.js';
import { samplesEvery, xorChunks } from '../testing.js';

const T0 = 1_700_000_000_000;
const MIN = 60_000;

const ls = (rec: Record<string, string>): Labels =>
  Object.entries(rec)
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/** Counter series every 15 s for 30 minutes: value = seconds since T0 × rate. */
function counterSeries(ext: Record<string, string>, instances: Record<string, number>): StoreSeries[] {
  return Object.entries(instances)
    .map(([instance, rate]) => ({
      labels: ls({ __name__: 'http_requests_total', instance, job: 'api', ...ext }),
      chunks: xorChunks(samplesEvery(T0, T0 + 30 * MIN, 15_000, (t) => ((t - T0) / 1000) * rate)),
    }))
    .sort((a, b) => compareLabels(a.labels, b.labels));
}

function info(ext: Record<string, string>): InfoResponseInit {
  return {
    ComponentType: 'sidecar',
    labelSets: [{ labels: ls(ext) as never }],
    store: { minTime: T0, maxTime: 2 ** 63, supportsWithoutReplicaLabels: false },
  };
}

/** A StoreAPI whose Series calls fail, or stall until cancelled. */
class BadStore implements StoreAPI {
  constructor(private readonly mode: 'fail' | 'stall') {}

  async series(_req: unknown, _sink: SeriesSink, signal: AbortSignal): Promise<void> {
    if (this.mode === 'fail') throw new Error('backend on fire');
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  }

  async labelNames(): Promise<{ names: string[]; warnings: string[] }> {
    if (this.mode === 'fail') throw new Error('backend on fire');
    return { names: [], warnings: [] };
  }

  async labelValues(): Promise<{ values: string[]; warnings: string[] }> {
    if (this.mode === 'fail') throw new Error('backend on fire');
    return { values: [], warnings: [] };
  }
}

const servers: StoreServer[] = [];
async function serve(store: StoreAPI, inf: InfoResponseInit): Promise<string> {
  const s = new StoreServer({ address: '127.0.0.1:0', store, info: { info: () => inf } });
  await s.start();
  servers.push(s);
  return s.address;
}

let q: Query;
let base: string;
let failing: string;
let stalling: string;
const queries: Query[] = [];

async function startQuery(flags: Record<string, unknown>): Promise<Query> {
  const qq = new Query(queryConfigFromFlags({ 'grpc-address': '127.0.0.1:0', 'http-address': '127.0.0.1:0', ...flags }, nopLogger()));
  await qq.start();
  await qq.ready();
  queries.push(qq);
  return qq;
}

beforeAll(async () => {
  const eu0 = await serve(new FakeStore({ series: counterSeries({ cluster: 'eu', replica: '0' }, { a: 1, b: 2 }) }), info({ cluster: 'eu', replica: '0' }));
  const eu1 = await serve(new FakeStore({ series: counterSeries({ cluster: 'eu', replica: '1' }, { a: 1, b: 2 }) }), info({ cluster: 'eu', replica: '1' }));
  const us0 = await serve(new FakeStore({ series: counterSeries({ cluster: 'us', replica: '0' }, { a: 4 }) }), info({ cluster: 'us', replica: '0' }));
  failing = await serve(new BadStore('fail'), info({ cluster: 'broken', replica: '0' }));
  stalling = await serve(new BadStore('stall'), info({ cluster: 'slow', replica: '0' }));
  const dead = `127.0.0.1:${await freePort()}`;
  q = await startQuery({ endpoint: [eu0, eu1, us0, failing, dead], 'query.replica-label': ['replica'], 'query.timeout': '1s' });
  base = `http://${q.httpAddress}/api/v1`;
});

afterAll(async () => {
  for (const qq of queries) await qq.stop();
  await Promise.all(servers.map((s) => s.stop(100)));
});

interface Body {
  status: string;
  data?: any;
  errorType?: string;
  error?: string;
  warnings?: string[];
  infos?: string[];
}

async function get(path: string, params: Record<string, string | string[]> = {}): Promise<{ status: number; text: string; body: Body; headers: Headers }> {
  const u = new URL(base + path);
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) u.searchParams.append(k, x);
  const r = await fetch(u);
  const text = await r.text();
  return { status: r.status, text, body: JSON.parse(text) as Body, headers: r.headers };
}

const at = (min: number): string => String((T0 + min * MIN) / 1000);

describe('query API', () => {
  it('answers instant queries byte for byte as Prometheus, deduplicating replicas', async () => {
    const r = await get('/query', { query: 'sum by (cluster) (http_requests_total{cluster=~"eu|us"}) / 1e3', time: at(10) });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.text).toBe(
      '{"status":"success","data":{"resultType":"vector","result":[' +
        '{"metric":{"cluster":"eu"},"value":[1700000600,"1.8"]},{"metric":{"cluster":"us"},"value":[1700000600,"2.4"]}]}}',
    );
    const raw = await get('/query', { query: 'http_requests_total{cluster="eu"}', time: at(10), dedup: 'false' });
    expect(raw.body.data.result.map((s: { metric: Record<string, string> }) => `${s.metric.instance}/${s.metric.replica}`)).toEqual(['a/0', 'a/1', 'b/0', 'b/1']);
    const deduped = await get('/query', { query: 'http_requests_total{cluster="eu"}', time: at(10) });
    expect(deduped.body.data.result).toEqual([
      { metric: { __name__: 'http_requests_total', cluster: 'eu', instance: 'a', job: 'api' }, value: [1700000600, '600'] },
      { metric: { __name__: 'http_requests_total', cluster: 'eu', instance: 'b', job: 'api' }, value: [1700000600, '1200'] },
    ]);
    // replicaLabels[] overrides the flag: along "instance", a and b merge and both replicas stay.
    const other = await get('/query', { query: 'count by (replica) (http_requests_total{cluster="eu"})', time: at(10), 'replicaLabels[]': 'instance' });
    expect(other.body.data.result.map((s: { metric: { replica: string }; value: [number, string] }) => [s.metric.replica, s.value[1]])).toEqual([
      ['0', '1'],
      ['1', '1'],
    ]);
    // Scalars and strings.
    expect((await get('/query', { query: '1/0', time: '1.5' })).text).toBe('{"status":"success","data":{"resultType":"scalar","result":[1.500,"+Inf"]}}');
    expect((await get('/query', { query: '"hi"', time: '2' })).text).toBe('{"status":"success","data":{"resultType":"string","result":[2,"hi"]}}');
  });

  it('answers range queries, GET and form POST alike', async () => {
    const params = { query: 'http_requests_total{cluster="us"} / 60', start: at(5), end: at(6), step: '30s' };
    const g = await get('/query_range', params);
    expect(g.text).toBe(
      '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"cluster":"us","instance":"a","job":"api"},' +
        '"values":[[1700000300,"20"],[1700000330,"22"],[1700000360,"24"]]}]}}',
    );
    const p = await fetch(`${base}/query_range`, { method: 'POST', body: new URLSearchParams(params), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(p.status).toBe(200);
    expect(await p.text()).toBe(g.text);
    // The step in seconds and the times in RFC 3339.
    const rfc = await get('/query_range', { ...params, start: new Date(T0 + 5 * MIN).toISOString(), end: new Date(T0 + 6 * MIN).toISOString(), step: '30' });
    expect(rfc.text).toBe(g.text);
    // Big answers are gzipped for clients that take it.
    const big = await get('/query_range', { ...params, start: at(0), end: at(30), step: '1' });
    expect(big.headers.get('content-encoding')).toBe('gzip');
    expect(big.body.data.result[0].values).toHaveLength(1801);
  });

  it('rejects bad input with Prometheus error types, codes and messages', async () => {
    const bad = await get('/query', { query: 'up +', time: at(1) });
    expect(bad.status).toBe(400);
    expect(bad.text).toBe('{"status":"error","errorType":"bad_data","error":"invalid parameter \\"query\\": 1:5: parse error: unexpected end of input"}');
    expect((await get('/query', { query: 'up', time: 'soon' })).body.error).toBe('invalid parameter "time": invalid time value for \'time\': cannot parse "soon" to a valid timestamp');
    expect((await get('/query_range', { query: 'up', start: at(2), end: at(1), step: '1' })).body.error).toBe('invalid parameter "end": end timestamp must not be before start time');
    expect((await get('/query_range', { query: 'up', start: at(1), end: at(2), step: '0' })).body.error).toBe(
      'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer',
    );
    expect((await get('/query_range', { query: 'up', start: '0', end: '100000', step: '1' })).body.error).toBe(
      'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
    );
    expect((await get('/query_range', { query: 'up[5m]', start: at(1), end: at(2), step: '15' })).body.error).toBe(
      'invalid parameter "query": invalid expression type "range vector" for range query, must be Scalar or instant Vector',
    );
    expect((await get('/query', { query: 'up', dedup: 'maybe' })).body.error).toBe('\'dedup\' parameter: strconv.ParseBool: parsing "maybe": invalid syntax');
    expect((await get('/query', { query: 'up', max_source_resolution: 'often' })).body.error).toBe(
      '\'max_source_resolution\' parameter: cannot parse "often" to a valid duration',
    );
    expect((await get('/query', { query: 'up', max_source_resolution: '-300' })).body.error).toBe("negative 'max_source_resolution' is not accepted. Try a positive integer");
    expect((await get('/query', { query: 'up', lookback_delta: 'x' })).body.error).toBe('error parsing lookback delta duration: cannot parse "x" to a valid duration');
    expect((await get('/query', { query: 'up', 'storeMatch[]': '{__address__=' })).body.errorType).toBe('bad_data');
    for (const v of ['0', '5m', '1h', 'auto']) expect((await get('/query', { query: '1', max_source_resolution: v })).status).toBe(200);
    const exec = await get('/query', { query: 'sum(http_requests_total) + on() group_left http_requests_total{cluster="eu"}', time: at(10) });
    expect(exec.status).toBe(422);
    expect(exec.body.errorType).toBe('execution');
    expect((await get('/series')).body).toEqual({ status: 'error', errorType: 'bad_data', error: 'no match[] parameter provided' });
    expect((await get('/series', { 'match[]': '{job=~".*"}' })).body.error).toBe('invalid parameter "match[]": match[] must contain at least one non-empty matcher');
  });

  it('turns a failing endpoint into a warning naming it, or an error without partial response', async () => {
    const all = await get('/query', { query: 'count(http_requests_total)', time: at(10) });
    expect(all.body.data.result[0].value[1]).toBe('3');
    expect(all.body.warnings).toHaveLength(1);
    expect(all.body.warnings![0]).toContain(failing);
    expect(all.headers.get('cache-control')).toBe('no-store');
    // Only endpoints whose external labels can match are asked: no warning.
    expect((await get('/query', { query: 'count(http_requests_total{cluster="eu"})', time: at(10) })).body.warnings).toBeUndefined();
    const strict = await get('/query', { query: 'count(http_requests_total{cluster=~"eu|broken"})', time: at(10), partial_response: 'false' });
    expect(strict.status).toBe(422);
    expect(strict.body.errorType).toBe('execution');
    expect(strict.body.error).toContain(failing);
  });

  it('bounds a stalling endpoint by the query timeout and the timeout parameter', async () => {
    const qq = await startQuery({ endpoint: [stalling], 'query.timeout': '1s' });
    const url = `http://${qq.httpAddress}/api/v1/query?query=up&time=${at(10)}`;
    const t0 = Date.now();
    const r = await fetch(`${url}&timeout=200ms`);
    expect(r.status).toBe(503);
    expect(await r.json()).toEqual({ status: 'error', errorType: 'timeout', error: 'query timed out in query execution' });
    expect(Date.now() - t0).toBeLessThan(2_000);
    const flag = await fetch(url);
    expect(flag.status).toBe(503);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('serves series, label names and label values', async () => {
    const s = await get('/series', { 'match[]': ['http_requests_total{cluster="eu"}', 'http_requests_total{cluster="us"}'], start: at(0), end: at(30) });
    expect(s.body.data).toEqual([
      { __name__: 'http_requests_total', cluster: 'eu', instance: 'a', job: 'api' },
      { __name__: 'http_requests_total', cluster: 'eu', instance: 'b', job: 'api' },
      { __name__: 'http_requests_total', cluster: 'us', instance: 'a', job: 'api' },
    ]);
    const raw = await get('/series', { 'match[]': 'http_requests_total{cluster="eu"}', dedup: 'false', limit: '3' });
    expect(raw.body.data).toHaveLength(3);
    expect(raw.body.warnings).toEqual(['results truncated due to limit']);
    // With dedup (the default) the replica label is left out, as Thanos does; dedup=false lists it.
    const names = await get('/labels', { 'match[]': '{cluster="eu"}' });
    expect(names.body.data).toEqual(['__name__', 'cluster', 'instance', 'job']);
    const rawNames = await get('/labels', { 'match[]': '{cluster="eu"}', dedup: 'false' });
    expect(rawNames.body.data).toEqual(['__name__', 'cluster', 'instance', 'job', 'replica']);
    expect((await get('/label/replica/values')).body.data).toEqual([]);
    expect((await get('/label/replica/values', { dedup: 'false', 'match[]': '{cluster="eu"}' })).body.data).toEqual(['0', '1']);
    const values = await get('/label/instance/values', { 'match[]': 'http_requests_total{cluster=~"eu|us"}' });
    expect(values.text).toBe('{"status":"success","data":["a","b"]}');
    const clusters = await get('/label/cluster/values');
    expect(clusters.body.data).toEqual(['eu', 'us']);
    expect(clusters.body.warnings?.[0]).toContain(failing);
  });

  it('serves status, stores, empty exemplars and metadata; 404, 405 and OPTIONS as Prometheus', async () => {
    const stores = await get('/stores');
    expect(Object.keys(stores.body.data)).toEqual(['sidecar', 'unknown-store-api']);
    expect(stores.body.data.sidecar).toHaveLength(4);
    expect(stores.body.data['unknown-store-api'][0].lastError).toMatch(/Unavailable|ECONNREFUSED/);
    expect(stores.text).toContain('"maxTime":9223372036854775807');
    expect((await get('/status/buildinfo')).body.data).toMatchObject({ version: expect.any(String), revision: expect.stringMatching(/^([0-9a-f]{40}|unknown)$/), goVersion: expect.stringMatching(/^node/) });
    const flags = (await get('/status/flags')).body.data;
    expect(flags['query.replica-label']).toBe('replica');
    expect(flags['query.timeout']).toBe('1s');
    expect((await get('/query_exemplars', { query: 'up' })).text).toBe('{"status":"success","data":[]}');
    expect((await get('/metadata')).text).toBe('{"status":"success","data":{}}');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/stores`, { method: 'POST' })).status).toBe(405);
    const opt = await fetch(`${base}/query`, { method: 'OPTIONS' });
    expect(opt.status).toBe(204);
    expect(opt.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('grows the lookback delta with the max source resolution (Thanos dynamic lookback)', () => {
    expect(q.api.lookbackDeltaFor(0)).toBe(0);
    expect(q.api.lookbackDeltaFor(60_000)).toBe(5 * MIN);
    expect(q.api.lookbackDeltaFor(5 * MIN)).toBe(5 * MIN);
    expect(q.api.lookbackDeltaFor(5 * MIN + 1)).toBe(60 * MIN);
    expect(q.api.lookbackDeltaFor(24 * 60 * MIN)).toBe(60 * MIN);
  });

  it('restricts endpoints with storeMatch[]', async () => {
    const r = await get('/query', { query: 'count(http_requests_total)', time: at(10), 'storeMatch[]': `{__address__="${failing}"}` });
    expect(r.body.data.result).toEqual([]);
    expect(r.body.warnings?.[0]).toContain(failing);
    const none = await get('/query', { query: 'count(http_requests_total)', time: at(10), 'storeMatch[]': '{__address__="nowhere:1"}' });
    expect(none.body).toEqual({ status: 'success', data: { resultType: 'vector', result: [] } });
  });

  it('serves under --web.route-prefix and bounds concurrent queries', async () => {
    const eu0 = await serve(new FakeStore({ series: counterSeries({ cluster: 'eu', replica: '0' }, { a: 1 }) }), info({ cluster: 'eu', replica: '0' }));
    const qq = await startQuery({ endpoint: [eu0], 'web.route-prefix': '/thanos', 'query.max-concurrent': '1' });
    const r = await fetch(`http://${qq.httpAddress}/thanos/api/v1/query?query=count(http_requests_total)&time=${at(10)}`);
    expect(await r.json()).toMatchObject({ data: { result: [{ value: [1700000600, '1'] }] } });
    expect((await fetch(`http://${qq.httpAddress}/api/v1/query?query=1`)).status).toBe(404);
    expect((await fetch(`http://${qq.httpAddress}/thanos/-/ready`)).status).toBe(200);
    const many = await Promise.all(Array.from({ length: 5 }, () => fetch(`http://${qq.httpAddress}/thanos/api/v1/query?query=count(http_requests_total)&time=${at(10)}`).then(async (x) => (await x.text(), x.status))));
    expect(many).toEqual([200, 200, 200, 200, 200]);
    const metrics = await (await fetch(`http://${qq.httpAddress}/thanos/metrics`)).text();
    expect(metrics).toMatch(/thanos_query_concurrent_gate_queries_max 1/);
    expect(metrics).toMatch(/http_requests_total\{code="200",handler="query",method="get"\} 6/);
  });
});
