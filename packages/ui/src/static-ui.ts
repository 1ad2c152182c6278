// Serves the bundled single-page app (dist-web/, written by scripts/bundle.mjs) on a
// component's HTTP server, as Thanos's pkg/ui does with its embedded React build:
// index.html for the app's page paths, hashed assets under static/, / redirected to the
// component's first page. Every URL the app uses is relative and every page is one path
// segment deep, so the app works under any --web.route-prefix (and behind a proxy that
// strips a prefix) without the prefix being written into index.html.

import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { HttpServer } from '@thanos-ts/runtime';
import { COMPONENT_PAGES } from './pages.js';
import type { UIComponent } from './ui-component.js';

/** What bundle.mjs writes into index.html where the serving component's name goes. */
export const COMPONENT_PLACEHOLDER = '__THANOS_COMPONENT__';

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** Assets carry a content hash in their name, so a browser may keep them for good. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** index.html names the current assets: always revalidated. */
const NO_CACHE = 'no-cache';

interface Asset {
  body: Buffer;
  gzipped: Buffer | null;
  contentType: string;
}

export interface StaticUIOptions {
  component: UIComponent;
  /** The bundle's directory (index.html and static/). */
  dir: string;
}

/** Registers the UI's routes; call it after the component's own routes. */
export function registerStaticUI(http: HttpServer, opts: StaticUIOptions): void {
  const pages = COMPONENT_PAGES[opts.component];
  // Read on first use: a component whose UI nobody opens pays nothing at start; a bundle
  // missing then is looked for again on the next request.
  let loaded: Bundle | null = null;
  const bundle = (): Bundle => {
    if (!loaded?.index) loaded = loadBundle(opts.dir, opts.component);
    return loaded;
  };

  const servePage: (req: IncomingMessage, res: ServerResponse) => void = (req, res) => {
    if (!allowMethod(req, res)) return;
    const { index, error } = bundle();
    if (!index) {
      sendText(res, 503, `web UI not built (${error}): run node packages/ui/scripts/bundle.mjs\n`);
      return;
    }
    send(req, res, index, NO_CACHE);
  };
  for (const p of pages) http.route(`/${p}`, servePage);

  http.route('/static/', (req, res, url) => {
    if (!allowMethod(req, res)) return;
    // Assets are flat: the name is what follows the last "/static/"; anything with
    // another slash in it (or not in the bundle's listing) is not ours.
    const name = url.pathname.slice(url.pathname.lastIndexOf('/static/') + '/static/'.length);
    const asset = name.includes('/') ? undefined : bundle().assets.get(name);
    if (!asset) {
      sendText(res, 404, '404 page not found\n');
      return;
    }
    send(req, res, asset, IMMUTABLE);
  });

  // The prefix itself without its slash ("/thanos"): on to its first page.
  http.route('', (_req, res, url) => redirect(res, `${url.pathname.slice(url.pathname.lastIndexOf('/') + 1)}/${pages[0]}`));

  // The root and whatever the component and the pages above did not take: the root
  // (prefix + "/") goes to the first page, "<page>/" to its page; the rest is not found.
  const root = http.routePrefix + '/';
  http.route('/', (_req, res, url) => {
    const path = url.pathname;
    if (path === root) {
      redirect(res, pages[0]);
      return;
    }
    const page = /^\/([^/]+)\/$/.exec(path.slice(http.routePrefix.length))?.[1];
    if (page !== undefined && pages.includes(page)) {
      redirect(res, `../${page}`);
      return;
    }
    sendText(res, 404, '404 page not found\n');
  });
}

interface Bundle {
  index: Asset | null;
  assets: Map<string, Asset>;
  error: string;
}

function loadBundle(dir: string, component: UIComponent): Bundle {
  const assets = new Map<string, Asset>();
  let index: Asset | null = null;
  let error = '';
  try {
    const html = readFileSync(join(dir, 'index.html'), 'utf8').replaceAll(COMPONENT_PLACEHOLDER, component);
    index = asset(Buffer.from(html, 'utf8'), '.html');
    for (const name of readdirSync(join(dir, 'static'))) {
      assets.set(name, asset(readFileSync(join(dir, 'static', name)), extname(name)));
    }
  } catch (err) {
    error = `read ${dir}: ${(err as Error).message}`;
    index = null;
  }
  return { index, assets, error };
}

function asset(body: Buffer, ext: string): Asset {
  const contentType = CONTENT_TYPES[ext] ?? 'application/octet-stream';
  // Compressed once, when read: the script bundle shrinks to a third.
  const compressible = /^text\/|json|svg/.test(contentType) && body.length >= 1024;
  return { body, gzipped: compressible ? gzipSync(body) : null, contentType };
}

function allowMethod(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return true;
  res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8', Allow: 'GET, HEAD' }).end('Method Not Allowed\n');
  return false;
}

function send(req: IncomingMessage, res: ServerResponse, a: Asset, cacheControl: string): void {
  const gz = a.gzipped !== null && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gz ? a.gzipped! : a.body;
  const headers: Record<string, string> = {
    'Content-Type': a.contentType,
    'Content-Length': String(body.length),
    'Cache-Control': cacheControl,
    'X-Content-Type-Options': 'nosniff',
  };
  if (a.gzipped) headers.Vary = 'Accept-Encoding';
  if (gz) headers['Content-Encoding'] = 'gzip';
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' }).end(text);
}

/** A relative Location, resolved by the browser against the request URL: prefix-agnostic. */
function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { Location: location, 'Cache-Control': NO_CACHE }).end();
}
