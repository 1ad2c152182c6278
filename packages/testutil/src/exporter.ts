import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Exporter {
  /** http://127.0.0.1:PORT */
  url: string;
  /** host:port, for a scrape config's static target. */
  target: string;
  port: number;
  /** How many times /metrics was served. */
  scrapes(): number;
  stop(): Promise<void>;
}

export interface ExporterOptions {
  /**
   * Content-Type of /metrics (default: the Prometheus text format 0.0.4). Use
   * OPENMETRICS_CONTENT_TYPE for OpenMetrics, e.g. to expose exemplars.
   */
  contentType?: string;
}

/** The OpenMetrics 1.0 content type Prometheus parses exemplars from. */
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/**
 * Serves `metrics` (a string, or a function called on every scrape) at /metrics in the
 * Prometheus text format 0.0.4 (or as opts.contentType says), on a free port of 127.0.0.1.
 */
export async function startExporter(metrics: string | (() => string), opts: ExporterOptions = {}): Promise<Exporter> {
  let count = 0;
  const server = createServer((req, res) => {
    if (req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found\n');
      return;
    }
    let body: string;
    try {
      body = typeof metrics === 'function' ? metrics() : metrics;
    } catch (e) {
      res.writeHead(500).end(`${(e as Error).message}\n`);
      return;
    }
    count++;
    res.writeHead(200, { 'Content-Type': opts.contentType ?? 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    target: `127.0.0.1:${port}`,
    port,
    scrapes: () => count,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
