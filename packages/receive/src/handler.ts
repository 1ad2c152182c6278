// POST /api/v1/receive (Thanos pkg/receive/handler.go receiveHTTP): a Prometheus remote
// write request (snappy block format around a protobuf prometheus.WriteRequest) for the
// tenant named by the tenant header, handed to the router, which places every series on
// the hashring and answers only once each reached its write quorum (with RF 1 and no
// hashring: once it is in the local WAL).
//
// Status codes as Thanos: 200 written; 400 a body that is not snappy or not a
// WriteRequest, a bad tenant or replica header; 409 some series or samples refused (out
// of order, duplicate, out of bounds, bad labels) on a quorum of replicas; 413 a body
// over the limit; 503 before the tenants on disk are open, or when the replicas that
// failed were unreachable; 500 anything else.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@thanos-ts/runtime';
import { prometheus } from '@thanos-ts/storeapi';
import { snappyDecodedLength, snappyDecompress } from '@thanos-ts/tsdb';
import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { scanWriteRequest } from './encoded-write-request.js';
import type { EncodedWriteRequest } from './encoded-write-request.js';
import { isValidTenant } from './multitsdb.js';
import { decodeWriteRequestV2, determineRemoteWriteVersion, remoteWriteV2ResponseHeaders } from './remote-write.js';
import type { RemoteWriteVersion, WriteResponseStats } from './remote-write.js';
import { findHALabels, stripReplicaLabel } from './ha-tracker.js';
import type { RingHATracker } from './ha-tracker.js';
import { WriteLimitError } from './limits.js';
import type { RequestLimiter, WriteLimiter } from './limits.js';
import type { Router } from './router.js';
import { ReceiveWriteError } from './write-errors.js';
import type { WriteCause } from './write-errors.js';

export interface HandlerOptions {
  router: Router;
  /** --receive.ha-tracker: one copy per HA pair; null when off. */
  ha: () => { tracker: RingHATracker; clusterLabel: string; replicaLabel: string } | null;
  /** --receive.limits-config: the write limiter, once opened. */
  limiter: () => WriteLimiter | null;
  /** --receive.replica-header */
  replicaHeader: string;
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

  constructor(private readonly opts: HandlerOptions) {
    const registers = [opts.registry];
    const buckets = [10, 50, 100, 500, 1000, 5000, 10000];
    this.writeTimeseries = new Histogram({ name: 'thanos_receive_write_timeseries', help: 'The number of timeseries received in the incoming write requests.', labelNames: ['code', 'tenant'], buckets, registers });
    this.writeSamples = new Histogram({ name: 'thanos_receive_write_samples', help: 'The number of sampled received in the incoming write requests.', labelNames: ['code', 'tenant'], buckets, registers });
    this.requests = new Counter({ name: 'http_requests_total', help: 'Tracks the number of HTTP requests.', labelNames: ['code', 'handler', 'method'], registers });
  }

  /** Serves one request; never throws. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let code = 200;
    try {
      const answer = await this.receive(req);
      code = answer.status;
      res.writeHead(code, answer.headers).end();
    } catch (err) {
      if (err instanceof HttpError || err instanceof WriteLimitError) {
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

  private async receive(req: IncomingMessage): Promise<{ status: number; headers?: Record<string, string> }> {
    if (req.method !== 'POST') throw new HttpError(405, 'method not allowed');
    if (!this.opts.ready()) throw new HttpError(503, 'Service Unavailable');
    const limiter = this.opts.limiter();
    if (limiter === null) return this.receiveLimited(req, null);
    // Thanos's order: wait for a turn at the write gate, then the tenant's head series.
    const gate = limiter.writeGate();
    const ac = new AbortController();
    const onClose = (): void => ac.abort(new Error('client closed the request'));
    req.once('close', onClose);
    try {
      await gate.start(ac.signal);
    } catch (err) {
      req.off('close', onClose);
      throw new HttpError(500, (err as Error).message);
    }
    try {
      return await this.receiveLimited(req, limiter);
    } finally {
      req.off('close', onClose);
      gate.done();
    }
  }

  private async receiveLimited(req: IncomingMessage, limiter: WriteLimiter | null): Promise<{ status: number; headers?: Record<string, string> }> {
    const headerTenant = req.headers[this.opts.tenantHeader.toLowerCase()];
    const tenant = (Array.isArray(headerTenant) ? headerTenant[0] : headerTenant) || this.opts.defaultTenant;
    if (!isValidTenant(tenant)) throw new HttpError(400, 'Tenant name not valid');
    limiter?.checkHeadSeries(tenant);
    const limits: RequestLimiter | null = limiter?.requestLimiter() ?? null;
    let replica = 0;
    const replicaRaw = req.headers[this.opts.replicaHeader.toLowerCase()];
    if (typeof replicaRaw === 'string' && replicaRaw !== '') {
      replica = /^\d+$/.test(replicaRaw) ? Number(replicaRaw) : NaN;
      if (!Number.isSafeInteger(replica)) throw new HttpError(400, 'could not parse replica header');
    }

    const len = Number(req.headers['content-length'] ?? -1);
    if (len > this.opts.maxBodyBytes) throw new HttpError(413, 'write request too large');
    if (len >= 0) limits?.checkSizeBytes(tenant, len);
    const compressed = await this.readBody(req);
    let buf: Uint8Array;
    try {
      if (snappyDecodedLength(compressed) > this.opts.maxBodyBytes) throw new HttpError(413, 'write request too large');
      buf = snappyDecompress(compressed, this.opts.maxBodyBytes);
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(400, `snappy decode error: ${(err as Error).message}`);
    }
    limits?.checkSizeBytes(tenant, buf.length);
    let version: RemoteWriteVersion;
    try {
      version = determineRemoteWriteVersion(req.headers);
    } catch (err) {
      throw new HttpError(400, (err as Error).message);
    }
    // Remote write 1.0 is read in place (encoded-write-request.ts) unless it carries what
    // only the generated codec handles; 2.0 and those are decoded.
    let encoded: EncodedWriteRequest | null = version === 2 ? null : scanWriteRequest(buf);
    let timeseries: prometheus.TimeSeries.$Properties[] = [];
    let v2Stats: WriteResponseStats | null = null;
    if (version === 2) {
      try {
        const t = decodeWriteRequestV2(buf);
        timeseries = t.timeseries;
        v2Stats = t.stats;
      } catch (err) {
        throw new HttpError(400, (err as Error).message);
      }
    } else if (encoded === null) {
      timeseries = decodeWriteRequest(buf);
    }
    // What a 2.0 client is told was written: exemplars and native histograms are not
    // stored by this receiver, so they are not counted (Thanos counts what it received).
    const ok = (): { status: number; headers?: Record<string, string> } =>
      v2Stats === null ? { status: 200 } : { status: 200, headers: remoteWriteV2ResponseHeaders({ samples: v2Stats.samples, histograms: 0, exemplars: 0 }) };
    const numSeries = encoded !== null ? encoded.n : timeseries.length;
    // Only metadata, or empty: nothing to store, and failing would break newer clients.
    if (numSeries === 0) return ok();

    limits?.checkSeries(tenant, numSeries);
    let samples = 0;
    if (encoded !== null) samples = encoded.numSamples;
    else for (const ts of timeseries) samples += ts.samples?.length ?? 0;
    limits?.checkSamples(tenant, samples);
    const ha = replica === 0 ? this.opts.ha() : null;
    if (ha !== null) {
      // One copy per HA pair: the cluster's elected replica is stored, without its
      // replica label so both replicas make one series; the others' writes are answered
      // 202 (accepted, dropped), as Mimir does, so they do not retry.
      const first = encoded !== null ? encoded.labels(0) : (timeseries[0].labels ?? []);
      const { cluster, replica: haReplica } = findHALabels(first, ha.clusterLabel, ha.replicaLabel);
      if (cluster !== '' && haReplica !== '') {
        if (!(await ha.tracker.check(tenant, cluster, haReplica, samples))) {
          this.observe(202, tenant, numSeries, samples);
          return { status: 202 };
        }
        // The labels change: decoded after all.
        if (encoded !== null) {
          timeseries = decodeWriteRequest(buf);
          encoded = null;
        }
        stripReplicaLabel(timeseries, ha.replicaLabel);
      }
    }
    try {
      if (encoded !== null) await this.opts.router.writeEncoded(replica, tenant, encoded);
      else await this.opts.router.write(replica, [{ tenant, timeseries }]);
    } catch (err) {
      if (!(err instanceof ReceiveWriteError)) throw err;
      const code = statusOf(err.cause0);
      if (code === 500) this.opts.logger.error({ tenant, err: err.message }, 'internal server error');
      this.observe(code, tenant, numSeries, samples);
      throw new HttpError(code, err.message);
    }
    this.observe(200, tenant, numSeries, samples);
    return ok();
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

/** A remote write 1.0 body decoded with the generated codec; 400 when malformed. */
function decodeWriteRequest(buf: Uint8Array): prometheus.TimeSeries.$Properties[] {
  try {
    return prometheus.WriteRequest.decode(buf).timeseries;
  } catch (err) {
    throw new HttpError(400, `proto: decode prometheus.WriteRequest: ${(err as Error).message}`);
  }
}

/** The HTTP status of a failed write's cause, as Thanos maps them. */
export function statusOf(cause: WriteCause | null): number {
  switch (cause) {
    case 'notReady':
    case 'unavailable':
      return 503;
    case 'conflict':
      return 409;
    case 'badReplica':
    case 'validation':
      return 400;
    default:
      return 500;
  }
}
