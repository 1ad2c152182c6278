import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, HttpServer, nopLogger, Prober } from '@thanos-ts/runtime';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { registerStaticUI } from './static-ui.js';
import type { UIComponent } from './ui-component.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A raw request: the path goes out as written (fetch would resolve "..", a client need not). */
function get(address: string, path: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

let bundleDir: string;
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});\n`;
const servers: HttpServer[] = [];

async function serve(component: UIComponent, routePrefix = '', dir = bundleDir, own?: (http: HttpServer) => void): Promise<string> {
  const http = new HttpServer({ address: '127.0.0.1:0', registry: createRegistry('test'), prober: new Prober(), logger: nopLogger(), routePrefix });
  own?.(http);
  registerStaticUI(http, { component, dir });
  await http.start();
  servers.push(http);
  return http.address();
}

beforeAll(async () => {
  bundleDir = await tempDir('ui-bundle');
  await mkdir(join(bundleDir, 'static'));
  await writeFile(join(bundleDir, 'index.html'), '<!doctype html><html data-component="__THANOS_COMPONENT__"><script src="static/app-ABC123.js"></script></html>');
  await writeFile(join(bundleDir, 'static', 'app-ABC123.js'), SCRIPT);
  await writeFile(join(bundleDir, 'static', 'app-ABC123.css'), 'body{margin:0}');
  // A file beside the bundle that must never be reachable.
  await writeFile(join(bundleDir, 'secret.txt'), 'secret');
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

afterAll(async () => {
  await removeTempDirs();
});

describe('registerStaticUI', () => {
  it('serves index.html on the page paths, with the component written in and no caching', async () => {
    const addr = await serve('query');
    for (const page of ['/graph', '/stores', '/rules', '/alerts', '/status', '/flags']) {
      const r = await get(addr, page + '?g0.expr=up');
      expect(r.status, page).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.headers['cache-control']).toBe('no-cache');
      expect(r.body.toString()).toContain('data-component="query"');
    }
    // A page of another component is not the query's.
    expect((await get(addr, '/blocks')).status).toBe(404);
  });

  it('serves each component its own pages', async () => {
    const addr = await serve('store');
    expect((await get(addr, '/blocks')).body.toString()).toContain('data-component="store"');
    expect((await get(addr, '/graph')).status).toBe(404);
    const root = await get(addr, '/');
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe('blocks');
  });

  it('serves hashed assets with their content type, immutable, gzipped when asked', async () => {
    const addr = await serve('query');
    const js = await get(addr, '/static/app-ABC123.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.body.toString()).toBe(SCRIPT);
    const css = await get(addr, '/static/app-ABC123.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const gz = await get(addr, '/static/app-ABC123.js', { headers: { 'Accept-Encoding': 'gzip, deflate' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toBe('Accept-Encoding');
    expect(Number(gz.headers['content-length'])).toBe(gz.body.length);
    expect(gunzipSync(gz.body).toString()).toBe(SCRIPT);
    const head = await get(addr, '/static/app-ABC123.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(SCRIPT.length));
    expect(head.body.length).toBe(0);
  });

  it('answers 404 for unknown assets and paths, and refuses path traversal', async () => {
    const addr = await serve('query');
    for (const path of [
      '/static/app-NOPE.js',
      '/static/',
      '/static/sub/app-ABC123.js',
      '/static/../secret.txt',
      '/static/%2e%2e/secret.txt',
      '/static/..%2fsecret.txt',
      '/static/%2e%2e%2fsecret.txt',
      '/static/..%5csecret.txt',
      '/static/../index.html',
      '/secret.txt',
      '/index.html',
      '/api/v1/status/flags',
      '/graphs',
    ]) {
      const r = await get(addr, path);
      expect(r.status, path).toBe(404);
      expect(r.body.toString()).not.toContain('secret');
    }
  });

  it('redirects the root to the first page, relative to where it was asked', async () => {
    const addr = await serve('query');
    expect((await get(addr, '/')).headers.location).toBe('graph');
    // A page with a trailing slash goes to the page itself.
    expect((await get(addr, '/stores/')).headers.location).toBe('../stores');
    expect((await get(addr, '/rule')).status).toBe(404);
    // Only the exact root goes to the first page: any other path ending in "/" is not found.
    for (const path of ['/rule/', '/nope/', '/graph/x/', '/a/b/', '/api/v1/']) {
      expect((await get(addr, path)).status, path).toBe(404);
    }
  });

  it('redirects only the exact root under --web.route-prefix', async () => {
    const addr = await serve('query', '/thanos');
    expect((await get(addr, '/thanos/')).headers.location).toBe('graph');
    expect((await get(addr, '/thanos/stores/')).headers.location).toBe('../stores');
    for (const path of ['/', '/stores/', '/thanos/nope/', '/thanos/thanos/', '/thanos/stores/x/', '/other/thanos/']) {
      expect((await get(addr, path)).status, path).toBe(404);
    }
  });

  it('serves everything under --web.route-prefix and nothing outside it', async () => {
    const addr = await serve('query', '/thanos/');
    expect((await get(addr, '/thanos/graph')).status).toBe(200);
    expect((await get(addr, '/thanos/static/app-ABC123.js')).status).toBe(200);
    expect((await get(addr, '/graph')).status).toBe(404);
    expect((await get(addr, '/static/app-ABC123.js')).status).toBe(404);
    const slash = await get(addr, '/thanos/');
    expect(slash.status).toBe(302);
    expect(new URL(slash.headers.location!, `http://${addr}/thanos/`).pathname).toBe('/thanos/graph');
    const bare = await get(addr, '/thanos');
    expect(bare.status).toBe(302);
    expect(new URL(bare.headers.location!, `http://${addr}/thanos`).pathname).toBe('/thanos/graph');
  });

  it('leaves the component its own routes, registered before', async () => {
    const addr = await serve('store', '', bundleDir, (http) =>
      http.route('/api/v1/blocks', (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"success"}');
      }),
    );
    const r = await get(addr, '/api/v1/blocks');
    expect(r.headers['content-type']).toBe('application/json');
    expect((await get(addr, '/-/ready')).status).not.toBe(404);
  });

  it('refuses methods other than GET and HEAD', async () => {
    const addr = await serve('query');
    const r = await get(addr, '/graph', { method: 'POST' });
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, HEAD');
  });

  it('says how to build the UI when the bundle is missing', async () => {
    const addr = await serve('query', '', join(bundleDir, 'no-such-dir'));
    const r = await get(addr, '/graph');
    expect(r.status).toBe(503);
    expect(r.body.toString()).toContain('scripts/bundle.mjs');
  });
});

describe('scripts/bundle.mjs', () => {
  it('writes minified, hashed assets and an index.html naming them', async () => {
    const out = join(await tempDir('ui-dist-web'), 'dist-web');
    // @ts-expect-error: a plain ES module script without types
    const { bundle } = (await import('../scripts/bundle.mjs')) as { bundle: (dir: string) => Promise<string[]> };
    const names = await bundle(out);
    expect(names.some((n) => /^app-[A-Z0-9]{8}\.js$/.test(n))).toBe(true);
    expect(names.some((n) => /^app-[A-Z0-9]{8}\.css$/.test(n))).toBe(true);
    const html = await readFile(join(out, 'index.html'), 'utf8');
    for (const n of names) expect(html).toContain(`static/${n}`);
    expect(html).toContain('__THANOS_COMPONENT__');
    // Minified: no indentation, and the page works from any prefix (no absolute paths).
    const js = await readFile(join(out, 'static', names.find((n) => n.endsWith('.js'))!), 'utf8');
    expect(js.split('\n').length).toBeLessThan(50);
    expect(html).not.toMatch(/(src|href)="\//);

    const http = new HttpServer({ address: '127.0.0.1:0', registry: createRegistry('test'), prober: new Prober(), logger: nopLogger(), routePrefix: '/p' });
    registerStaticUI(http, { component: 'compact', dir: out });
    await http.start();
    servers.push(http);
    for (const n of names) expect((await get(http.address(), `/p/static/${n}`)).status).toBe(200);
  }, 60_000);
});
