// The downstream query (--query-frontend.downstream-url): one keep-alive agent shared by
// every request, whole answers read for the paths the frontend works on, and a
// streaming pass-through for every other path.

import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { ApiError } from './errors.js';

export interface DownstreamAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface DownstreamOptions {
  url: string;
  /** Idle connections kept per host (Thanos: max_idle_conns_per_host). */
  maxIdleConnsPerHost?: number;
  /** Most connections per host (max_conns_per_host; 0 = no limit). */
  maxConnsPerHost?: number;
  idleConnTimeoutMs?: number;
  responseHeaderTimeoutMs?: number;
}

/** Hop-by-hop headers a proxy does not pass on (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

export class Downstream {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;

  constructor(private readonly opts: DownstreamOptions) {
    this.base = new URL(opts.url);
    this.mod = this.base.protocol === 'https:' ? https : http;
    const agentOpts: http.AgentOptions = {
      keepAlive: true,
      maxFreeSockets: opts.maxIdleConnsPerHost ?? 100,
      maxSockets: opts.maxConnsPerHost && opts.maxConnsPerHost > 0 ? opts.maxConnsPerHost : Infinity,
      timeout: opts.idleConnTimeoutMs ?? 90_000,
    };
    this.agent = this.base.protocol === 'https:' ? new https.Agent(agentOpts) : new http.Agent(agentOpts);
  }

  /** The downstream URL of a frontend path: the base URL's path prefixed. */
  private target(path: string, search = ''): URL {
    const u = new URL(this.base.toString());
    u.pathname = this.base.pathname.replace(/\/+$/, '') + path;
    u.search = search;
    return u;
  }

  /**
   * POSTs a form and reads the whole answer. A connection failure is ApiError 502-class
   * unavailable, which the retry middleware retries like a 5xx.
   */
  async post(path: string, form: URLSearchParams, headers: [string, string][], signal?: AbortSignal): Promise<DownstreamAnswer> {
    const body = Buffer.from(form.toString());
    const h: http.OutgoingHttpHeaders = { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length, 'accept-encoding': 'identity' };
    for (const [k, v] of headers) h[k] = v;
    return this.request('POST', this.target(path), h, body, signal);
  }

  /** A GET of path?search, read whole. */
  async get(path: string, search: string, headers: [string, string][], signal?: AbortSignal): Promise<DownstreamAnswer> {
    const h: http.OutgoingHttpHeaders = { 'accept-encoding': 'identity' };
    for (const [k, v] of headers) h[k] = v;
    return this.request('GET', this.target(path, search), h, null, signal);
  }

  private request(method: string, url: URL, headers: http.OutgoingHttpHeaders, body: Buffer | null, signal?: AbortSignal): Promise<DownstreamAnswer> {
    return new Promise((resolve, reject) => {
      const req = this.mod.request(url, { method, headers, agent: this.agent, signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: flatHeaders(res), body: Buffer.concat(chunks) }));
        res.on('error', (err) => reject(unavailable(url, err)));
      });
      if (this.opts.responseHeaderTimeoutMs) {
        req.setTimeout(this.opts.responseHeaderTimeoutMs, () => req.destroy(new Error('timeout awaiting response headers')));
      }
      req.on('error', (err) => reject(signal?.aborted ? err : unavailable(url, err)));
      req.end(body ?? undefined);
    });
  }

  /** Passes a request through unchanged and streams the answer back. */
  async proxy(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const target = this.target(url.pathname, url.search);
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;
    await new Promise<void>((resolve) => {
      const out = this.mod.request(target, { method: req.method, headers, agent: this.agent }, (up) => {
        const h: http.OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(up.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) h[k] = v;
        res.writeHead(up.statusCode ?? 502, h);
        pipeline(up, res).then(resolve, () => resolve());
      });
      out.on('error', (err) => {
        if (!res.headersSent) {
          const e = unavailable(target, err);
          res.writeHead(e.status, { 'content-type': 'application/json' });
          res.end(e.body());
        } else res.destroy();
        resolve();
      });
      res.on('close', () => {
        if (!res.writableFinished) out.destroy();
      });
      pipeline(req, out).catch(() => undefined);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function flatHeaders(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function unavailable(url: URL, err: Error): ApiError {
  return new ApiError(502, 'unavailable', `downstream ${url.host}: ${err.message}`, { cause: err });
}
