import { afterEach, describe, expect, it } from 'vitest';
import { buildInfo } from './build-info.js';
import { HttpServer } from './http-server.js';
import { nopLogger } from './logger.js';
import { createRegistry } from './metrics.js';
import { Prober } from './prober.js';
import { registerStatusAPI, runtimeInfo, sortedFlags } from './status-api.js';

const servers: HttpServer[] = [];

async function serve(flags?: Record<string, string>, routePrefix = ''): Promise<string> {
  const http = new HttpServer({ address: '127.0.0.1:0', registry: createRegistry('test'), prober: new Prober(), logger: nopLogger(), routePrefix });
  registerStatusAPI(http, { flags });
  await http.start();
  servers.push(http);
  return `http://${http.address()}${http.routePrefix}`;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

describe('registerStatusAPI', () => {
  it('serves the build information in the Prometheus envelope', async () => {
    const base = await serve();
    const r = await fetch(`${base}/api/v1/status/buildinfo`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    const body = (await r.json()) as { status: string; data: Record<string, string> };
    expect(body.status).toBe('success');
    expect(body.data).toEqual({ ...buildInfo() });
    expect(Object.keys(body.data)).toEqual(['version', 'revision', 'branch', 'buildUser', 'buildDate', 'goVersion']);
  });

  it('serves the flags sorted by name, escaped as Go writes JSON', async () => {
    const base = await serve({ 'http-address': '0.0.0.0:10902', 'objstore.config': '<REDACTED>', 'data-dir': './data', wait: 'true' });
    const text = await (await fetch(`${base}/api/v1/status/flags`)).text();
    expect(text).toBe('{"status":"success","data":{"data-dir":"./data","http-address":"0.0.0.0:10902","objstore.config":"\\u003cREDACTED\\u003e","wait":"true"}}');
    expect((JSON.parse(text) as { data: Record<string, string> }).data['objstore.config']).toBe('<REDACTED>');
  });

  it('serves no flags as an empty object', async () => {
    const base = await serve();
    expect(await (await fetch(`${base}/api/v1/status/flags`)).text()).toBe('{"status":"success","data":{}}');
  });

  it('serves runtime figures of this process', async () => {
    const base = await serve();
    const { data } = (await (await fetch(`${base}/api/v1/status/runtimeinfo`)).json()) as { data: Record<string, unknown> };
    expect(data.CWD).toBe(process.cwd());
    expect(Date.parse(data.startTime as string)).toBeLessThanOrEqual(Date.parse(data.serverTime as string));
    expect(data.GOMAXPROCS).toBeGreaterThan(0);
    expect(data.goroutineCount).toBeGreaterThan(0);
    expect(data.GOMEMLIMIT).toBeGreaterThan(0);
  });

  it('follows the route prefix, answers OPTIONS and refuses other methods', async () => {
    const base = await serve({}, '/thanos/');
    expect(base).toMatch(/\/thanos$/);
    expect((await fetch(`${base}/api/v1/status/flags`)).status).toBe(200);
    expect((await fetch(base.replace(/\/thanos$/, '') + '/api/v1/status/flags')).status).toBe(404);
    expect((await fetch(`${base}/api/v1/status/nope`)).status).toBe(404);
    const opt = await fetch(`${base}/api/v1/status/flags`, { method: 'OPTIONS' });
    expect(opt.status).toBe(204);
    expect(opt.headers.get('access-control-allow-methods')).toContain('GET');
    const post = await fetch(`${base}/api/v1/status/flags`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, OPTIONS');
  });
});

describe('runtimeInfo', () => {
  it('writes times as Go writes a time.Time: RFC 3339 without trailing zeros', () => {
    expect(runtimeInfo(Date.UTC(2024, 0, 2, 3, 4, 5, 120)).serverTime).toBe('2024-01-02T03:04:05.12Z');
    expect(runtimeInfo(Date.UTC(2024, 0, 2, 3, 4, 10)).serverTime).toBe('2024-01-02T03:04:10Z');
    expect(runtimeInfo(Date.UTC(2024, 0, 2, 3, 4, 5, 7)).serverTime).toBe('2024-01-02T03:04:05.007Z');
  });
});

describe('sortedFlags', () => {
  it('orders names bytewise, as Go sorts map keys', () => {
    expect(Object.keys(sortedFlags({ b: '1', 'a.z': '2', A: '3', a: '4' }))).toEqual(['A', 'a', 'a.z', 'b']);
  });
});
