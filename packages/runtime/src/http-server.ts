// The HTTP server every component runs on --http-address: /metrics, /-/healthy,
// /-/ready, plus the component's own routes. Plain node:http keeps it small.

import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';
import type { Prober } from './prober.js';
import { parseHostPort } from './address.js';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export interface HttpServerOptions {
  address: string;
  registry: Registry;
  prober: Prober;
  logger: Logger;
  /** Path prefix under which everything is served (Thanos --web.route-prefix). */
  routePrefix?: string;
}

export class HttpServer {
  private readonly server: Server;
  private readonly routes: { prefix: string; exact: boolean; handler: RouteHandler }[] = [];
  private readonly prefix: string;

  constructor(private readonly opts: HttpServerOptions) {
    this.prefix = (opts.routePrefix ?? '').replace(/\/+$/, '');
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 65_000;
  }

  /** Registers a handler for an exact path, or for every path under it when it ends with '/'. */
  route(path: string, handler: RouteHandler): void {
    const exact = !path.endsWith('/');
    this.routes.push({ prefix: this.prefix + path, exact, handler });
  }

  async start(): Promise<void> {
    const { host, port } = parseHostPort(this.opts.address, 'http-address');
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.opts.logger.info({ address: this.address() }, 'listening for requests and metrics');
  }

  /** The bound address as host:port (useful with port 0). */
  address(): string {
    const a = this.server.address() as AddressInfo | null;
    if (!a) return this.opts.address;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `${host}:${a.port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      setTimeout(() => this.server.closeAllConnections(), 5_000).unref();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    try {
      if (path === this.prefix + '/metrics') {
        const body = await this.opts.registry.metrics();
        res.writeHead(200, { 'Content-Type': this.opts.registry.contentType });
        res.end(body);
        return;
      }
      if (path === this.prefix + '/-/healthy') {
        const ok = this.opts.prober.isHealthyNow();
        res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(ok ? 'OK' : 'NOT OK');
        return;
      }
      if (path === this.prefix + '/-/ready') {
        const reason = this.opts.prober.notReadyReason();
        res.writeHead(reason ? 503 : 200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(reason ? `NOT OK: ${reason.message}` : 'OK');
        return;
      }
      for (const r of this.routes) {
        if (r.exact ? path === r.prefix : path.startsWith(r.prefix)) {
          await r.handler(req, res, url);
          return;
        }
      }
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('404 page not found\n');
    } catch (err) {
      this.opts.logger.error({ err, path }, 'http handler failed');
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`internal error: ${(err as Error).message}\n`);
    }
  }
}
