import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, nopLogger as makeNopLogger } from '@thanos-ts/runtime';
import { newCache } from '@thanos-ts/cache';
import type { Registry } from 'prom-client';
import { QueryFrontend } from './frontend.js';
import { queryFrontendConfigFromFlags } from './flags.js';

const DAY = 86_400_000;
const nopLogger = makeNopLogger();
const T0 = 20_000 * DAY; // a day boundary

interface Seen {
  path: string;
  form: URLSearchParams;
}

/** A downstream query over loopback answering from a formula, so any range has a known answer. */
class FakeQuery {
  server: Server;
  seen: Seen[] = [];
  failures = new Map<string, number>();

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        const form = new URLSearchParams(Buffer.concat(chunks).toString());
        for (const [k, v] of url.searchParams) form.append(k, v);
        this.seen.push({ path: url.pathname, form });
        const q = form.get('query') ?? '';
        const left = this.failures.get(q) ?? 0;
        if (left > 0) {
          this.failures.set(q, left - 1);
          res.writeHead(503, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ status: 'error', errorType: 'unavailable', error: 'try later' }));
          return;
        }
        if (url.pathname === '/api/v1/query_range') {
          if (q === 'bad(') {
            res.writeHead(400, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: '1:5: parse error: unclosed left parenthesis' }));
            return;
          }
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(rangeAnswer(q, Number(form.get('start')) * 1000, Number(form.get('end')) * 1000, Number(form.get('step')) * 1000, form.get('dedup') === 'false')));
          return;
        }
        if (url.pathname === '/api/v1/labels') {
          const day = Math.floor((Number(form.get('start')) * 1000) / DAY);
          const endDay = Math.floor((Number(form.get('end')) * 1000) / DAY);
          const names = ['__name__', 'job'];
          for (let d = day; d <= endDay; d++) names.push(`day${d - 20_000}`);
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ status: 'success', data: names }));
          return;
        }
        if (url.pathname === '/api/v1/query') {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: { q }, value: [1, '1'] }] } }));
          return;
        }
        res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Passed': 'yes' });
        res.end(`passed ${req.method} ${url.pathname}${url.search}`);
      });
    });
  }

  url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  ranges(): [number, number][] {
    return this.seen.filter((s) => s.path === '/api/v1/query_range').map((s) => [Number(s.form.get('start')) * 1000, Number(s.form.get('end')) * 1000]);
  }
}

function rangeAnswer(q: string, start: number, end: number, step: number, raw: boolean): unknown {
  const jobs = raw ? ['a', 'a2', 'b'] : ['a', 'b'];
  const result = jobs.map((job) => {
    const values: [number, string][] = [];
    for (let t = start; t <= end; t += step) values.push([t / 1000, String(((t / 1000) % 97) + (job === 'b' ? 0.5 : 0))]);
    return { metric: { __name__: 'up', job, q }, values };
  });
  return { status: 'success', data: { resultType: 'matrix', result } };
}

const fake = new FakeQuery();
let registry: Registry;
const frontends: QueryFrontend[] = [];

beforeAll(async () => {
  await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', r));
});
afterAll(async () => {
  fake.server.closeAllConnections();
  await new Promise((r) => fake.server.close(r));
});
afterEach(async () => {
  await Promise.all(frontends.splice(0).map((f) => f.stop()));
  fake.seen = [];
});

async function start(flags: Record<string, unknown>, now = (): number => T0 + 10 * DAY, withCache = true): Promise<QueryFrontend> {
  registry = createRegistry('query-frontend');
  const cfg = queryFrontendConfigFromFlags({ 'http-address': '127.0.0.1:0', 'query-frontend.downstream-url': fake.url(), ...flags }, nopLogger);
  const caches = withCache ? { queryRange: newCache({ type: 'IN-MEMORY', config: { max_size: '64MB' } }, { name: 'fifocache', registry, logger: nopLogger }), labels: newCache({ type: 'IN-MEMORY', config: { max_size: '8MB' } }, { name: 'fifocache', registry, logger: nopLogger }) } : undefined;
  const f = new QueryFrontend({ ...cfg, labels: { ...cfg.labels } }, { logger: nopLogger, registry, caches, now });
  await f.start();
  frontends.push(f);
  return f;
}

async function get(f: QueryFrontend, path: string, params: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const r = await fetch(`http://${f.address()}${path}?${new URLSearchParams(params)}`, { headers });
  return { status: r.status, body: await r.text(), headers: r.headers };
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await registry.getSingleMetric(name)!.get();
  return m.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

const range = { query: 'up', start: String((T0 + 3_600_000) / 1000), end: String((T0 + 3 * DAY + 7_200_000) / 1000), step: '60' };

describe('query-frontend range queries', () => {
  it('splits by day, asks the pieces and answers exactly what the query answers whole', async () => {
    const f = await start({}, undefined, false);
    const got = await get(f, '/api/v1/query_range', range);
    expect(got.status).toBe(200);
    const direct = rangeAnswer('up', T0 + 3_600_000, T0 + 3 * DAY + 7_200_000, 60_000, false);
    expect(JSON.parse(got.body)).toEqual(direct);
    expect(fake.ranges()).toEqual([
      [T0 + 3_600_000, T0 + DAY - 60_000],
      [T0 + DAY, T0 + 2 * DAY - 60_000],
      [T0 + 2 * DAY, T0 + 3 * DAY - 60_000],
      [T0 + 3 * DAY, T0 + 3 * DAY + 7_200_000],
    ]);
    expect(await metric('thanos_query_frontend_queries_total', { op: 'query_range' })).toBe(1);
    expect(await metric('thanos_frontend_split_queries_total')).toBe(4);
  });

  it('answers a repeated dashboard query from the cache', async () => {
    const f = await start({});
    const first = await get(f, '/api/v1/query_range', range);
    const asked = fake.ranges().length;
    const second = await get(f, '/api/v1/query_range', range);
    expect(second.body).toBe(first.body);
    expect(fake.ranges().length).toBe(asked);
    expect(await metric('cortex_cache_hits_total', { tripperware: 'query_range' })).toBe(4);
    expect(await metric('cortex_cache_fetched_keys_total', { tripperware: 'query_range' })).toBe(8);
    // A wider range asks only for what the extents leave out.
    fake.seen = [];
    const wider = { ...range, end: String((T0 + 3 * DAY + 10_800_000) / 1000) };
    const w = await get(f, '/api/v1/query_range', wider);
    expect(JSON.parse(w.body)).toEqual(rangeAnswer('up', T0 + 3_600_000, T0 + 3 * DAY + 10_800_000, 60_000, false));
    expect(fake.ranges()).toEqual([[T0 + 3 * DAY + 7_200_000, T0 + 3 * DAY + 10_800_000]]);
  });

  it('never caches the part newer than max freshness', async () => {
    const now = T0 + 3 * DAY + 7_200_000 + 30_000;
    const f = await start({}, () => now);
    await get(f, '/api/v1/query_range', range);
    fake.seen = [];
    const again = await get(f, '/api/v1/query_range', range);
    expect(JSON.parse(again.body)).toEqual(rangeAnswer('up', T0 + 3_600_000, T0 + 3 * DAY + 7_200_000, 60_000, false));
    // Only the last piece's recent minute or so is asked again.
    const asked = fake.ranges();
    expect(asked).toHaveLength(1);
    expect(asked[0][0]).toBeGreaterThanOrEqual(now - 60_000 - 60_000);
    expect(asked[0][1]).toBe(T0 + 3 * DAY + 7_200_000);
  });

  it('keeps answers that differ apart: dedup=false is not cached, partial_response has its own key', async () => {
    const f = await start({});
    const dedupOff = { ...range, dedup: 'false' };
    const a = await get(f, '/api/v1/query_range', dedupOff);
    await get(f, '/api/v1/query_range', range);
    const b = await get(f, '/api/v1/query_range', dedupOff);
    expect(JSON.parse(a.body).data.result).toHaveLength(3);
    expect(b.body).toBe(a.body);
    fake.seen = [];
    await get(f, '/api/v1/query_range', { ...range, partial_response: 'false' });
    expect(fake.ranges()).toHaveLength(4);
    expect(fake.seen.every((s) => s.form.get('partial_response') === 'false')).toBe(true);
  });

  it('retries 5xx answers and passes the last one through when retries run out', async () => {
    const f = await start({ 'query-range.max-retries-per-request': '3' }, undefined, false);
    fake.failures.set('flaky', 2);
    const ok = await get(f, '/api/v1/query_range', { ...range, query: 'flaky', end: String((T0 + 7_200_000) / 1000) });
    expect(ok.status).toBe(200);
    expect(await metric('cortex_query_frontend_retries', {})).toBeGreaterThan(0);
    fake.failures.set('down', 10);
    const bad = await get(f, '/api/v1/query_range', { ...range, query: 'down', end: String((T0 + 7_200_000) / 1000) });
    expect(bad.status).toBe(503);
    expect(JSON.parse(bad.body)).toEqual({ status: 'error', errorType: 'unavailable', error: 'try later' });
    expect(fake.failures.get('down')).toBe(7);
  });

  it('passes 4xx answers through unchanged and answers bad parameters as Prometheus does', async () => {
    const f = await start({}, undefined, false);
    const bad = await get(f, '/api/v1/query_range', { ...range, query: 'bad(' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toEqual({ status: 'error', errorType: 'bad_data', error: '1:5: parse error: unclosed left parenthesis' });
    const p = await get(f, '/api/v1/query_range', { ...range, step: '0' });
    expect(p.status).toBe(400);
    expect(JSON.parse(p.body)).toEqual({ status: 'error', errorType: 'bad_data', error: 'zero or negative query resolution step widths are not accepted. Try a positive integer' });
  });

  it('refuses ranges over --query-range.max-query-length', async () => {
    const f = await start({ 'query-range.max-query-length': '48h' }, undefined, false);
    const r = await get(f, '/api/v1/query_range', range);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error).toBe('the query time range exceeds the limit (query length: 73h0m0s, limit: 48h0m0s)');
  });

  it('gzips answers when asked and enabled', async () => {
    const f = await start({ 'query-frontend.compress-responses': true }, undefined, false);
    const r = await fetch(`http://${f.address()}/api/v1/query_range?${new URLSearchParams(range)}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(r.headers.get('content-encoding')).toBe('gzip');
    // fetch decodes gzip itself; the body is the plain answer.
    expect(JSON.parse(await r.text()).status).toBe('success');
    const raw = await new Promise<Buffer>((resolve) => {
      void import('node:http').then(({ get: hget }) =>
        hget(`http://${f.address()}/api/v1/query_range?${new URLSearchParams(range)}`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
          const c: Buffer[] = [];
          res.on('data', (d: Buffer) => c.push(d));
          res.on('end', () => resolve(Buffer.concat(c)));
        }),
      );
    });
    expect(JSON.parse(gunzipSync(raw).toString()).status).toBe('success');
  });
});

describe('query-frontend other paths', () => {
  it('splits label names by day, merges and caches past days', async () => {
    const f = await start({});
    const params = { start: String((T0 + 3_600_000) / 1000), end: String((T0 + 2 * DAY + 60_000) / 1000) };
    const r = await get(f, '/api/v1/labels', params);
    expect(JSON.parse(r.body)).toEqual({ status: 'success', data: ['__name__', 'day0', 'day1', 'day2', 'job'] });
    expect(fake.seen.filter((s) => s.path === '/api/v1/labels')).toHaveLength(3);
    fake.seen = [];
    const again = await get(f, '/api/v1/labels', params);
    expect(again.body).toBe(r.body);
    expect(fake.seen).toHaveLength(0);
    expect(await metric('cortex_cache_hits_total', { tripperware: 'labels' })).toBe(3);
  });

  it('retries instant queries and passes other paths through', async () => {
    const f = await start({}, undefined, false);
    fake.failures.set('inst', 1);
    const r = await get(f, '/api/v1/query', { query: 'inst', time: '1' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).data.result[0].metric).toEqual({ q: 'inst' });
    const p = await get(f, '/api/v1/status/buildinfo', { a: 'b' });
    expect(p.body).toBe('passed GET /api/v1/status/buildinfo?a=b');
    expect(p.headers.get('x-passed')).toBe('yes');
    expect(p.headers.get('access-control-allow-origin')).toBe('*');
    const ready = await fetch(`http://${f.address()}/-/ready`);
    expect(ready.status).toBe(200);
  });

  it('answers 502 in the Prometheus error shape when the query is unreachable', async () => {
    registry = createRegistry('query-frontend');
    const cfg = queryFrontendConfigFromFlags({ 'http-address': '127.0.0.1:0', 'query-frontend.downstream-url': 'http://127.0.0.1:1', 'query-range.max-retries-per-request': '1' }, nopLogger);
    const f = new QueryFrontend(cfg, { logger: nopLogger, registry });
    await f.start();
    frontends.push(f);
    const r = await get(f, '/api/v1/query_range', { ...range, end: String((T0 + 7_200_000) / 1000) });
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body)).toMatchObject({ status: 'error', errorType: 'unavailable' });
  });
});
