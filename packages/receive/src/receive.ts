// The receiver component (router and ingestor in one process, as Thanos's default
// RouterIngestor mode): flags → ReceiveConfig → a Service that opens the tenants found on
// disk, loads the hashring, then accepts remote writes on --remote-write.address
// (routing and replicating them over thanos.WriteableStore to the other receivers) and
// serves every local tenant over StoreAPI on --grpc-address, with /metrics and probes on
// --http-address.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Bucket } from '@thanos-ts/objstore';
import { closeHttpServer, createRegistry, HttpServer, parseHostPort, Prober, UserError } from '@thanos-ts/runtime';
import type { GrpcClientConfig, GrpcServerTLSConfig, Logger, Service } from '@thanos-ts/runtime';
import { addWriteableStoreService, decodeWriteRequest, grpcClientTransport, nodeTLSVersion, Status, StoreServer, WriteStatusError } from '@thanos-ts/storeapi';
import type { Labels } from '@thanos-ts/tsdb';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { scanForwardRequest } from './encoded-write-request.js';
import { ReceiveHandler } from './handler.js';
import { HashringSource } from './hashring-source.js';
import { MultiTSDB } from './multitsdb.js';
import { HATracker, RingHATracker } from './ha-tracker.js';
import { addHATrackerService, HATrackerClientPool } from './ha-tracker-rpc.js';
import { WriteLimiter } from './limits.js';
import type { LimitsConfigContent } from './limits.js';
import { Router } from './router.js';
import type { TenantSeries } from './router.js';
import { registerTenantMetrics } from './tenant-metrics.js';
import { ReceiveWriteError } from './write-errors.js';
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
  /** --receive.replication-factor */
  replicationFactor: number;
  /** --receive.local-endpoint: this node's address in the hashring ('' = route only). */
  localEndpoint: string;
  /** --receive.hashrings-file / --receive.hashrings ('' = not given). */
  hashringsFile: string;
  hashringsContent: string;
  /** --receive.hashrings-algorithm */
  hashringsAlgorithm: string;
  /** --receive.hashrings-file-refresh-interval (ms). */
  hashringsRefreshMs: number;
  /** --receive.replica-header */
  replicaHeader: string;
  /** --receive-forward-timeout (ms). */
  forwardTimeoutMs: number;
  /** --receive-forward-max-backoff (ms). */
  forwardMaxBackoffMs: number;
  /** --remote-write.client-tls-*, --receive.grpc-compression: how peers are dialled. */
  remoteWriteClient: GrpcClientConfig;
  /** --remote-write.server-tls-*: TLS of the remote write server; absent: plain HTTP. */
  remoteWriteServerTLS?: GrpcServerTLSConfig;
  /** --tsdb.too-far-in-future.time-window (ms); 0 = off. */
  tooFarInFutureMs: number;
  /** --tsdb.out-of-order.time-window (ms); 0 = off. */
  outOfOrderTimeWindowMs?: number;
  /** --tsdb.out-of-order.cap-max */
  outOfOrderCapMax?: number;
  /** --receive.ha-tracker and its settings; absent = off. */
  haTracker?: { clusterLabel: string; replicaLabel: string; failoverTimeoutMs: number };
  /** --receive.limits-config(-file): absent or null source = no limits. */
  limits?: { source: LimitsConfigContent | null; reloadIntervalMs: number };
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
  readonly hashrings: HashringSource;
  readonly router: Router;
  private readonly handler: ReceiveHandler;
  private readonly grpc: StoreServer;
  private readonly rw: Server;
  private readonly logger: Logger;
  private ready = false;
  private grpcStarted = false;
  private rwStarted = false;
  private stopping = false;
  private limiter: WriteLimiter | null = null;
  private readonly haLocal: HATracker | null = null;
  private haPeers: HATrackerClientPool | null = null;
  private haRing: RingHATracker | null = null;

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
      outOfOrderTimeWindowMs: cfg.outOfOrderTimeWindowMs,
      outOfOrderCapMax: cfg.outOfOrderCapMax,
      logger: this.logger.child({ component: 'multi-tsdb' }),
    });
    const dropped = new Counter({ name: 'thanos_receive_exemplars_dropped_total', help: 'thanos-ts only: exemplars and native histograms received and dropped (not stored by this receiver).', labelNames: ['tenant'], registers: [this.registry] });
    const writer = new Writer(this.tsdbs, this.logger.child({ component: 'receive-writer' }), {
      tooFarInFutureMs: cfg.tooFarInFutureMs,
      onDropped: (tenant, n) => dropped.inc({ tenant }, n),
    });
    this.hashrings = new HashringSource({
      file: cfg.hashringsFile,
      content: cfg.hashringsContent,
      algorithm: cfg.hashringsAlgorithm,
      replicationFactor: cfg.replicationFactor,
      localEndpoint: cfg.localEndpoint,
      refreshIntervalMs: cfg.hashringsRefreshMs,
      registry: this.registry,
      logger: this.logger.child({ component: 'hashring' }),
    });
    this.hashrings.onChange((_ring, initial) => this.onHashringChange(initial));
    this.router = new Router({
      hashring: () => this.hashrings.current()!,
      replicationFactor: cfg.replicationFactor,
      localEndpoint: cfg.localEndpoint,
      writer,
      transport: grpcClientTransport(cfg.remoteWriteClient),
      forwardTimeoutMs: cfg.forwardTimeoutMs,
      maxBackoffMs: cfg.forwardMaxBackoffMs,
      registry: this.registry,
      logger: this.logger.child({ component: 'receive-router' }),
    });
    this.handler = new ReceiveHandler({
      router: this.router,
      limiter: () => this.limiter,
      ha: () => (this.haRing === null ? null : { tracker: this.haRing, clusterLabel: cfg.haTracker!.clusterLabel, replicaLabel: cfg.haTracker!.replicaLabel }),
      replicaHeader: cfg.replicaHeader,
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
    registerTenantMetrics(this.tsdbs, this.registry);
    this.http = new HttpServer({ address: cfg.httpAddress, registry: this.registry, prober: this.prober, logger: this.logger, webConfigFile: cfg.httpConfigFile });
    const serve = (req: IncomingMessage, res: ServerResponse): void => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== RECEIVE_PATH) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
        return;
      }
      void this.handler.handle(req, res);
    };
    const tls = cfg.remoteWriteServerTLS;
    this.rw = tls === undefined
      ? createServer(serve)
      : createHttpsServer(
          {
            cert: readFileSync(tls.certFile),
            key: readFileSync(tls.keyFile),
            ...(tls.clientCAFile !== '' ? { ca: readFileSync(tls.clientCAFile), requestCert: true, rejectUnauthorized: true } : {}),
            minVersion: nodeTLSVersion(tls.minVersion),
          },
          serve,
        );
    this.rw.keepAliveTimeout = 65_000;
    this.grpc = new StoreServer({ address: cfg.grpcAddress, tls: cfg.grpcServerTLS, store: this.tsdbs.proxy, info: this.tsdbs.proxy, logger: this.logger });
    addWriteableStoreService(this.grpc.server, { remoteWrite: (buf) => this.remoteWriteBytes(buf) }, this.logger);
    if (cfg.haTracker !== undefined) {
      // The elections of the clusters this receiver owns in the hashring, asked for by
      // the others over the gRPC server the ring already knows.
      this.haLocal = new HATracker({ failoverTimeoutMs: cfg.haTracker.failoverTimeoutMs, registry: this.registry });
      addHATrackerService(this.grpc.server, this.haLocal, this.logger.child({ component: 'ha-tracker' }));
    }
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
    if (this.cfg.limits !== undefined && this.cfg.limits.source !== null) {
      try {
        this.limiter = await WriteLimiter.open(this.cfg.limits.source, {
          registry: this.registry,
          headSeries: (tenant) => this.tsdbs.get(tenant)?.db.head.numSeries ?? 0,
          logger: this.logger.child({ component: 'receive-limiter' }),
          reloadIntervalMs: this.cfg.limits.reloadIntervalMs,
        });
      } catch (err) {
        throw new UserError(`creating limiter: ${(err as Error).message}`);
      }
      await this.limiter.start();
    }
    await this.http.start();
    this.prober.healthy();
    this.prober.notReady(new Error('opening the tenants\' TSDBs'));
    const t0 = Date.now();
    await this.tsdbs.open();
    this.logger.info({ tenants: this.tsdbs.tenantIds(), durationMs: Date.now() - t0 }, 'tenant TSDBs opened');
    await this.grpc.start();
    this.grpcStarted = true;
    await this.hashrings.start();
    if (this.haLocal !== null) {
      this.haPeers = new HATrackerClientPool({ grpc: this.cfg.remoteWriteClient });
      this.haRing = new RingHATracker({
        hashring: this.hashrings.current()!,
        localEndpoint: this.cfg.localEndpoint,
        local: this.haLocal,
        peers: this.haPeers,
        clusterLabel: this.cfg.haTracker!.clusterLabel,
        registry: this.registry,
        logger: this.logger.child({ component: 'ha-tracker' }),
      });
    }
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
    this.logger.info({ remoteWrite: this.remoteWriteAddress, grpc: this.grpc.address, http: this.http.address(), replicationFactor: this.cfg.replicationFactor }, 'receiver ready');
  }

  /**
   * A new hashring after the first: series move between receivers, so (except with
   * ketama, whose placements barely move) every tenant's head is cut into a block and
   * shipped before writes are taken again, as Thanos does; no sample is dropped.
   */
  private async onHashringChange(initial: boolean): Promise<void> {
    if (!initial) this.haRing?.setHashring(this.hashrings.current()!);
    if (initial || this.cfg.hashringsAlgorithm === 'ketama' || this.stopping) return;
    const msg = 'hashring has changed; server is not ready to receive requests';
    this.ready = false;
    this.prober.notReady(new Error(msg));
    this.logger.info({}, msg);
    for (const id of this.tsdbs.tenantIds()) {
      await this.tsdbs.get(id)?.db.flushHead().catch((err: unknown) => this.logger.error({ tenant: id, err: (err as Error).message }, 'flushing head after a hashring change failed'));
    }
    if (this.cfg.bucket !== null) await this.tsdbs.ship();
    if (this.stopping) return;
    this.ready = true;
    this.prober.ready();
    this.logger.info({}, 'storage started, and server is ready to receive requests');
  }

  /**
   * thanos.WriteableStore/RemoteWrite: a peer's forwarded or replicated series. The
   * request is read in place when it holds only what the fast path knows (float samples),
   * else decoded.
   */
  private async remoteWriteBytes(buf: Buffer): Promise<void> {
    const encoded = scanForwardRequest(buf);
    if (encoded === null) {
      const req = decodeWriteRequest(buf);
      const data: TenantSeries[] = (req.timeseriesTenantData ?? []).map((t) => ({ tenant: t.tenant ?? '', timeseries: (t.timeseries ?? []) as TenantSeries['timeseries'] }));
      if (data.length === 0) data.push({ tenant: req.tenant ?? '', timeseries: (req.timeseries ?? []) as TenantSeries['timeseries'] });
      return this.remoteWrite(Number(req.replica ?? 0), (rn) => this.router.write(rn, data));
    }
    return this.remoteWrite(encoded.replica, (rn) => this.router.writeEncodedTenants(rn, encoded.tenants));
  }

  /** Runs a peer's write once ready, answering with Thanos's gRPC status for its outcome. */
  private async remoteWrite(replica: number, write: (replica: number) => Promise<void>): Promise<void> {
    if (!this.ready) throw new WriteStatusError(Status.UNAVAILABLE, 'target not ready');
    try {
      await write(replica);
    } catch (err) {
      if (!(err instanceof ReceiveWriteError)) throw err;
      const code =
        err.cause0 === 'notReady' || err.cause0 === 'unavailable'
          ? Status.UNAVAILABLE
          : err.cause0 === 'conflict'
            ? Status.ALREADY_EXISTS
            : err.cause0 === 'badReplica'
              ? Status.INVALID_ARGUMENT
              : Status.INTERNAL;
      throw new WriteStatusError(code, err.message, { cause: err });
    }
  }

  /**
   * Stops taking writes, drains the StoreAPI, flushes every tenant's head into a block
   * (shipped when a bucket is set, as Thanos does on shutdown) and closes the DBs.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.ready = false;
    this.prober.notReady(new Error('shutting down'));
    this.hashrings.stop();
    // Samples of a request cut here were not acknowledged: the writer resends them.
    if (this.rwStarted) await closeHttpServer(this.rw);
    if (this.grpcStarted) await this.grpc.stop(this.cfg.grpcGracePeriodMs);
    this.router.close();
    this.haPeers?.close();
    await this.limiter?.stop();
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
