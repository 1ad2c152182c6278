// POST /api/v1/receive (Thanos pkg/receive/handler.go receiveHTTP), single node: a
// Prometheus remote write 1.0 request (snappy block format around a protobuf
// prometheus.WriteRequest) for the tenant named by the tenant header is written to that
// tenant's DB and answered only after the commit's WAL write.
//
// Status codes as Thanos: 200 written; 400 a body that is not snappy or not a
// WriteRequest, or a bad tenant; 409 some series or samples refused (out of order,
// duplicate, out of bounds, bad labels) while the rest were written; 413 a body over the
// limit; 503 before the tenants on disk are open; 500 anything else (the WAL write
// failed: nothing of the request was written).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@thanos-ts/runtime';
import { prometheus } from '@thanos-ts/storeapi';
import { snappyDecodedLength, snappyDecompress } from '@thanos-ts/tsdb';
import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { isValidTenant } from './multitsdb.js';
import { WriteConflictError } from './writer.js';
import type { Writer } from './writer.js';

export interface HandlerOptions {
  writer: Writer;
  /** --receive.tenant-header */
  tenantHeader: string;
  /** --receive.default-tenant-id */
  defaultTenant: string;
  /** Largest body accepted, compressed and decompressed (bytes). */
  maxBodyBytes: number;
  /** Time to read the body (ms); a slower client gets 408. */
  readTimeoutMs: number;
  ready: () => boolean;
  registry: Registry;
  logger: Logger;
}

/** A request answered with a status and a one-line text, as Go's http.Error. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class ReceiveHandler {
  private readonly writeTimeseries: Histogram<'code' | 'tenant'>;
  private readonly writeSamples: Histogram<'code' | 'tenant'>;
  private readonly requests: Counter<'code' | 'handler' | 'method'>;
  private readonly exemplarsDropped: Counter<'tenant'>;

  constructor(private readonly opts: HandlerOptions) {
    const registers = [opts.registry];
    const buckets = [10, 50, 100, 500, 1000, 5000, 10000];
    this.writeTimeseries = new Histogram({ name: 'thanos_receive_write_timeseries', help: 'The number of timeseries received in the incoming write requests.', labelNames: ['code', 'tenant'], buckets, registers });
    this.writeSamples = new Histogram({ name: 'thanos_receive_write_samples', help: 'The number of sampled received in the incoming write requests.', labelNames: ['code', 'tenant'], buckets, registers });
    this.requests = new Counter({ name: 'http_requests_total', help: 'Tracks the number of HTTP requests.', labelNames: ['code', 'handler', 'method'], registers });
    this.exemplarsDropped = new Counter({ name: 'thanos_receive_exemplars_dropped_total', help: 'thanos-ts only: exemplars and native histograms received and dropped (not stored by this receiver).', labelNames: ['tenant'], registers });
  }

  /** Serves one request; never throws. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let code = 200;
    try {
      code = await this.receive(req);
      res.writeHead(code).end();
    } catch (err) {
      if (err instanceof HttpError) {
        code = err.status;
      } else {
        code = 500;
        this.opts.logger.error({ err: (err as Error).message }, 'internal server error');
      }
      if (!res.headersSent) {
        res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', ...(code === 413 ? { Connection: 'close' } : {}) });
      }
      res.end(`${(err as Error).message}\n`);
      if (code === 413 || code === 408) req.resume();
    }
    this.requests.inc({ code: String(code), handler: 'receive', method: req.method ?? '' });
  }

  private async receive(req: IncomingMessage): Promise<number> {
    if (req.method !== 'POST') throw new HttpError(405, 'method not allowed');
    if (!this.opts.ready()) throw new HttpError(503, 'Service Unavailable');
    const headerTenant = req.headers[this.opts.tenantHeader.toLowerCase()];
    const tenant = (Array.isArray(headerTenant) ? headerTenant[0] : headerTenant) || this.opts.defaultTenant;
    if (!isValidTenant(tenant)) throw new HttpError(400, 'Tenant name not valid');

    const len = Number(req.headers['content-length'] ?? -1);
    if (len > this.opts.maxBodyBytes) throw new HttpError(413, 'write request too large');
    const compressed = await this.readBody(req);
    let buf: Uint8Array;
    try {
      if (snappyDecodedLength(compressed) > this.opts.maxBodyBytes) throw new HttpError(413, 'write request too large');
      buf = snappyDecompress(compressed, this.opts.maxBodyBytes);
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(400, `snappy decode error: ${(err as Error).message}`);
    }
    let wreq: prometheus.WriteRequest;
    try {
      wreq = prometheus.WriteRequest.decode(buf);
    } catch (err) {
      throw new HttpError(400, `proto: decode prometheus.WriteRequest: ${(err as Error).message}`);
    }
    // Only metadata, or empty: nothing to store, and failing would break newer clients.
    if (wreq.timeseries.length === 0) return 200;

    let code = 200;
    let samples = 0;
    for (const ts of wreq.timeseries) samples += ts.samples?.length ?? 0;
    try {
      const stats = await this.opts.writer.write(tenant, wreq.timeseries);
      const dropped = stats.exemplarsDropped + stats.histogramsDropped;
      if (dropped > 0) this.exemplarsDropped.inc({ tenant }, dropped);
    } catch (err) {
      code = err instanceof WriteConflictError ? 409 : 500;
      this.observe(code, tenant, wreq.timeseries.length, samples);
      if (err instanceof WriteConflictError) throw new HttpError(409, err.message);
      throw err;
    }
    this.observe(code, tenant, wreq.timeseries.length, samples);
    return code;
  }

  private observe(code: number, tenant: string, series: number, samples: number): void {
    this.writeTimeseries.observe({ code: String(code), tenant }, series);
    this.writeSamples.observe({ code: String(code), tenant }, samples);
  }

  /** The whole body, at most maxBodyBytes (413 past it), within readTimeoutMs (408 past it). */
  private readBody(req: IncomingMessage): Promise<Uint8Array> {
    const max = this.opts.maxBodyBytes;
    return new Promise<Uint8Array>((resolve, reject) => {
      const parts: Buffer[] = [];
      let n = 0;
      const timer = setTimeout(() => finish(new HttpError(408, 'read compressed request body: timeout')), this.opts.readTimeoutMs);
      const finish = (err: Error | null): void => {
        clearTimeout(timer);
        req.off('data', onData).off('end', onEnd).off('error', onError);
        if (err !== null) reject(err);
        else resolve(parts.length === 1 ? parts[0] : Buffer.concat(parts, n));
      };
      const onData = (b: Buffer): void => {
        n += b.length;
        if (n > max) finish(new HttpError(413, 'write request too large'));
        else parts.push(b);
      };
      const onEnd = (): void => finish(null);
      const onError = (err: Error): void => finish(new HttpError(500, `read compressed request body: ${err.message}`));
      req.on('data', onData).on('end', onEnd).on('error', onError);
    });
  }
}
