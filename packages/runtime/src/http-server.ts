// The HTTP server every component runs on --http-address: /metrics, /-/healthy,
// /-/ready, plus the component's own routes. Plain node:http keeps it small. With
// --http.config (Prometheus's web config file) it serves HTTPS and asks for basic auth,
// on every path, health probes included, as Prometheus and Thanos do.

import { unwatchFile, watchFile } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { checkWebClientCert, loadWebConfig, WebConfigGuard, webTLSServerOptions } from './web-config.js';
import type { WebTLSConfig } from './web-config.js';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';
import type { Prober } from './prober.js';
import { parseHostPort } from './address.js';
import { UserError } from './errors.js';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export interface HttpServerOptions {
  address: string;
  registry: Registry;
  prober: Prober;
  logger: Logger;
  /** Path prefix under which everything is served (Thanos --web.route-prefix). */
  routePrefix?: string;
  /** --http.config: Prometheus's web config file (TLS, basic auth, headers); '' = none. */
  webConfigFile?: string;
}

/** How often the TLS settings of --http.config are looked at for changes. */
const WEB_TLS_RELOAD_INTERVAL_MS = 10_000;

/**
 * Stops an HTTP(S) server: no new connections, idle ones closed at once, and those still
 * busy cut after `graceMs` — a client that keeps a kept-alive connection busy (a remote
 * writer retrying) would otherwise hold the close forever.
 */
export function closeHttpServer(server: Server | HttpsServer, graceMs = 5_000): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), graceMs).unref();
  });
}

export class HttpServer {
  private server: Server | HttpsServer;
  private readonly routes: { prefix: string; exact: boolean; handler: RouteHandler }[] = [];
  private readonly prefix: string;
  private guard: WebConfigGuard | null = null;
  private webTLS: WebTLSConfig | undefined;
  private unwatch: (() => void) | null = null;

  constructor(private readonly opts: HttpServerOptions) {
    this.prefix = (opts.routePrefix ?? '').replace(/\/+$/, '');
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 65_000;
  }

  /** --web.route-prefix without a trailing slash: '' when everything is served at the root. */
  get routePrefix(): string {
    return this.prefix;
  }

  /** Whether the server speaks HTTPS (known after start()). */
  get tls(): boolean {
    return this.webTLS !== undefined;
  }

  /** Registers a handler for an exact path, or for every path under it when it ends with '/'. */
  route(path: string, handler: RouteHandler): void {
    const exact = !path.endsWith('/');
    this.routes.push({ prefix: this.prefix + path, exact, handler });
  }

  async start(): Promise<void> {
    const { host, port } = parseHostPort(this.opts.address, 'http-address');
    if (this.opts.webConfigFile) this.setUpWebConfig(this.opts.webConfigFile);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.opts.logger.info({ address: this.address(), tls: this.tls, auth: this.guard !== null }, 'listening for requests and metrics');
  }

  /**
   * Reads --http.config as Thanos does before listening (exporter-toolkit Validate: a bad
   * file stops the start) and switches to HTTPS when it configures TLS.
   */
  private setUpWebConfig(path: string): void {
    let cfg;
    try {
      cfg = loadWebConfig(path);
    } catch (err) {
      throw new UserError(`http.config: ${(err as Error).message}`);
    }
    const logger = this.opts.logger;
    this.guard = new WebConfigGuard(path, (err) => logger.error({ err }, 'Unable to parse configuration'));
    this.webTLS = cfg.tls;
    if (!cfg.tls) return;
    const server = createHttpsServer(webTLSServerOptions(cfg.tls), (req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 65_000;
    // Client certificate policies Node's handshake does not enforce (web-config.ts).
    server.on('secureConnection', (socket: TLSSocket) => {
      const why = this.webTLS ? checkWebClientCert(this.webTLS, socket) : null;
      if (why) {
        logger.debug({ reason: why }, 'rejected a TLS client');
        socket.destroy();
      }
    });
    server.on('tlsClientError', (err) => logger.debug({ err }, 'TLS handshake failed'));
    // New connections get the file's TLS settings as they are now (exporter-toolkit reads
    // them on every handshake).
    const reload = (): void => {
      try {
        const next = loadWebConfig(path).tls;
        if (!next) throw new Error('TLS can not be turned off without a restart');
        server.setSecureContext(webTLSServerOptions(next));
        this.webTLS = next;
      } catch (err) {
        logger.error({ err }, 'reload the TLS settings of --http.config; keeping the previous ones');
      }
    };
    const files = [path];
    watchFile(path, { interval: WEB_TLS_RELOAD_INTERVAL_MS, persistent: false }, reload);
    this.unwatch = () => files.forEach((f) => unwatchFile(f, reload));
    this.server = server;
  }

  /** The bound address as host:port (useful with port 0). */
  address(): string {
    const a = this.server.address() as AddressInfo | null;
    if (!a) return this.opts.address;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `${host}:${a.port}`;
  }

  async stop(): Promise<void> {
    this.unwatch?.();
    this.unwatch = null;
    if (!this.server.listening) return;
    await closeHttpServer(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      // The request target is a path: never read as a scheme-relative URL ("//host/…").
      url = new URL(`http://localhost${req.url?.startsWith('/') ? req.url : '/'}`);
    } catch {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('400 Bad Request\n');
      return;
    }
    const path = url.pathname;
    try {
      if (this.guard && !(await this.guard.admit(req, res))) return;
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
