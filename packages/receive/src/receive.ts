// The receiver component, single node (router and ingestor in one process): flags →
// ReceiveConfig → a Service that opens the tenants found on disk, then accepts remote
// writes on --remote-write.address and serves every tenant over StoreAPI on
// --grpc-address, with /metrics and probes on --http-address.

import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bucket } from '@thanos-ts/objstore';
import { createRegistry, HttpServer, parseHostPort, Prober } from '@thanos-ts/runtime';
import type { GrpcServerTLSConfig, Logger, Service } from '@thanos-ts/runtime';
import { StoreServer } from '@thanos-ts/storeapi';
import type { Labels } from '@thanos-ts/tsdb';
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { ReceiveHandler } from './handler.js';
import { MultiTSDB } from './multitsdb.js';
import { Writer } from './writer.js';

export interface ReceiveConfig {
  grpcAddress: string;
  grpcGracePeriodMs: number;
  grpcServerTLS?: GrpcServerTLSConfig;
  httpAddress: string;
  httpConfigFile?: string;
  remoteWriteAddress: string;
  dataDir: string;
  externalLabels: Labels;
  /** Local block retention (ms); 0 keeps all. */
  retentionMs: number;
  blockDurationMs: number;
  walCompression: boolean;
  tenantHeader: string;
  defaultTenant: string;
  tenantLabelName: string;
  maxRequestBytes: number;
  requestReadTimeoutMs: number;
  shipIntervalMs: number;
  /** Ships blocks to it when set. */
  bucket: Bucket | null;
  logger: Logger;
}

/** The remote write path Thanos serves. */
export const RECEIVE_PATH = '/api/v1/receive';

export class Receive implements Service {
  readonly prober = new Prober();
  readonly registry: Registry = createRegistry('receive');
  readonly tsdbs: MultiTSDB;
  readonly http: HttpServer;
  private readonly handler: ReceiveHandler;
  private readonly grpc: StoreServer;
  private readonly rw: Server;
  private readonly logger: Logger;
  private ready = false;
  private grpcStarted = false;
  private rwStarted = false;

  constructor(readonly cfg: ReceiveConfig) {
    this.logger = cfg.logger;
    this.tsdbs = new MultiTSDB({
      dataDir: cfg.dataDir,
      externalLabels: cfg.externalLabels,
      tenantLabelName: cfg.tenantLabelName,
      blockDuration: cfg.blockDurationMs,
      retention: cfg.retentionMs,
      // Sync 'none', as Prometheus and Thanos: a commit's records are written to the
      // segment file (the OS has them) before the commit resolves and the write is
      // answered, so a crash of the process loses no acknowledged sample.
      wal: { compress: cfg.walCompression },
      bucket: cfg.bucket,
      shipIntervalMs: cfg.shipIntervalMs,
      logger: this.logger.child({ component: 'multi-tsdb' }),
    });
    this.handler = new ReceiveHandler({
      writer: new Writer(this.tsdbs, this.logger.child({ component: 'receive-writer' })),
      tenantHeader: cfg.tenantHeader,
      defaultTenant: cfg.defaultTenant,
      maxBodyBytes: cfg.maxRequestBytes,
      readTimeoutMs: cfg.requestReadTimeoutMs,
      ready: () => this.ready,
      registry: this.registry,
      logger: this.logger.child({ component: 'receive-handler' }),
    });
    const tsdbs = this.tsdbs;
    new Gauge({
      name: 'thanos_receive_multi_db_tenants',
      help: 'thanos-ts: number of tenant TSDBs open.',
      registers: [this.registry],
      collect(): void {
        this.set(tsdbs.tenantIds().length);
      },
    });
    new Gauge({
      name: 'prometheus_tsdb_head_series',
      help: 'Total number of series in the heads of all tenants.',
      registers: [this.registry],
      collect(): void {
        let n = 0;
        for (const id of tsdbs.tenantIds()) n += tsdbs.get(id)?.db.head.numSeries ?? 0;
        this.set(n);
      },
    });
    this.http = new HttpServer({ address: cfg.httpAddress, registry: this.registry, prober: this.prober, logger: this.logger, webConfigFile: cfg.httpConfigFile });
    this.rw = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== RECEIVE_PATH) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
        return;
      }
      void this.handler.handle(req, res);
    });
    this.rw.keepAliveTimeout = 65_000;
    this.grpc = new StoreServer({ address: cfg.grpcAddress, tls: cfg.grpcServerTLS, store: this.tsdbs.proxy, info: this.tsdbs.proxy, logger: this.logger });
  }

  get grpcAddress(): string {
    return this.grpc.address;
  }

  get httpAddress(): string {
    return this.http.address();
  }

  /** HOST:PORT the remote write server listens on. */
  get remoteWriteAddress(): string {
    const a = this.rw.address() as AddressInfo | null;
    if (a === null) return this.cfg.remoteWriteAddress;
    const host = a.address === '0.0.0.0' || a.address === '::' ? '127.0.0.1' : a.address;
    return `${host.includes(':') ? `[${host}]` : host}:${a.port}`;
  }

  async start(): Promise<void> {
    await this.http.start();
    this.prober.healthy();
    this.prober.notReady(new Error('opening the tenants\' TSDBs'));
    const t0 = Date.now();
    await this.tsdbs.open();
    this.logger.info({ tenants: this.tsdbs.tenantIds(), durationMs: Date.now() - t0 }, 'tenant TSDBs opened');
    await this.grpc.start();
    this.grpcStarted = true;
    const { host, port } = parseHostPort(this.cfg.remoteWriteAddress, 'remote-write.address');
    await new Promise<void>((resolve, reject) => {
      this.rw.once('error', reject);
      this.rw.listen(port, host, () => {
        this.rw.off('error', reject);
        resolve();
      });
    });
    this.rwStarted = true;
    this.ready = true;
    this.prober.ready();
    this.logger.info({ remoteWrite: this.remoteWriteAddress, grpc: this.grpc.address, http: this.http.address() }, 'receiver ready');
  }

  /**
   * Stops taking writes, drains the StoreAPI, flushes every tenant's head into a block
   * (shipped when a bucket is set, as Thanos does on shutdown) and closes the DBs.
   */
  async stop(): Promise<void> {
    this.ready = false;
    this.prober.notReady(new Error('shutting down'));
    if (this.rwStarted) {
      await new Promise<void>((resolve) => {
        this.rw.close(() => resolve());
        this.rw.closeIdleConnections();
      });
    }
    if (this.grpcStarted) await this.grpc.stop(this.cfg.grpcGracePeriodMs);
    for (const id of this.tsdbs.tenantIds()) {
      try {
        const b = await this.tsdbs.get(id)!.db.flushHead();
        if (b !== null) this.logger.info({ tenant: id }, 'flushed head into a block');
      } catch (err) {
        this.logger.error({ tenant: id, err: (err as Error).message }, 'flushing head on shutdown failed; the WAL keeps the samples');
      }
    }
    await this.tsdbs.close();
    await this.http.stop();
    await this.cfg.bucket?.close();
  }
}
