// The sidecar service: flags → SidecarConfig → start()/stop(). It waits for Prometheus
// and its external labels (refusing to run without them, as Thanos does), serves
// StoreAPI and Info over gRPC, and, with a bucket, ships finished blocks.

import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { instrumentBucket } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { Shipper } from '@thanos-ts/block';
import { createRegistry, HttpServer, Prober, parsePromDuration, UserError } from '@thanos-ts/runtime';
import type { GrpcServerTLSConfig, Logger } from '@thanos-ts/runtime';
import { labelsEqual, labelsToRecord, labelsToString } from '@thanos-ts/tsdb';
import type { Labels } from '@thanos-ts/tsdb';
import { ComponentType, labelsToProto, StoreServer } from '@thanos-ts/storeapi';
import type { InfoResponseInit } from '@thanos-ts/storeapi';
import { Gauge } from 'prom-client';
import { PromClient } from './promclient.js';
import { PrometheusStore } from './prometheus-store.js';
import { PrometheusAPIs } from './prometheus-apis.js';

export interface SidecarConfig {
  prometheusUrl: string;
  readyTimeoutMs: number;
  tsdbPath: string;
  grpcAddress: string;
  /** --grpc-server-tls-*: TLS of the StoreAPI server; absent: plain text. */
  grpcServerTLS?: GrpcServerTLSConfig;
  httpAddress: string;
  /** --http.config: Prometheus's web config file for the HTTP server ('' = none). */
  httpConfigFile?: string;
  /** Without a bucket nothing is uploaded. */
  bucket: Bucket | null;
  uploadCompacted: boolean;
  shipperMetaFileName?: string;
  /** How often the shipper scans the TSDB dir besides reacting to new block dirs. */
  shipperSyncIntervalMs?: number;
  /** How often external labels and the lowest timestamp are refreshed. */
  refreshIntervalMs?: number;
  logger: Logger;
}

/** "No end", as Thanos's math.MaxInt64: storeapi saturates 2^63 to MaxInt64 on the wire. */
const MAX_TIME = 2 ** 63;

export class Sidecar {
  readonly prober = new Prober();
  readonly registry = createRegistry('sidecar');
  private readonly http: HttpServer;
  private readonly client: PromClient;
  private readonly grpc: StoreServer;
  private shipper: Shipper | null = null;
  private extLabels: Labels = [];
  private minTime = -(2 ** 63);
  private readonly timers: NodeJS.Timeout[] = [];
  private watcher: FSWatcher | null = null;
  private readonly abort = new AbortController();
  private syncing: Promise<void> | null = null;
  private readonly upGauge: Gauge;
  private grpcStarted = false;

  constructor(private readonly cfg: SidecarConfig) {
    this.client = new PromClient(cfg.prometheusUrl);
    this.http = new HttpServer({ address: cfg.httpAddress, registry: this.registry, prober: this.prober, logger: cfg.logger, webConfigFile: cfg.httpConfigFile });
    const store = new PrometheusStore({ client: this.client, externalLabels: () => this.extLabels, minTime: () => this.minTime });
    const apis = new PrometheusAPIs({ client: this.client, externalLabels: () => this.extLabels });
    this.grpc = new StoreServer({
      address: cfg.grpcAddress,
      tls: cfg.grpcServerTLS,
      store,
      info: { info: () => this.info() },
      rules: apis,
      targets: apis,
      metadata: apis,
      exemplars: apis,
      logger: cfg.logger,
    });
    this.upGauge = new Gauge({
      name: 'thanos_sidecar_prometheus_up',
      help: 'Boolean indicator whether the sidecar can reach its Prometheus peer.',
      registers: [this.registry],
    });
  }

  get grpcAddress(): string {
    return this.grpc.address;
  }

  get httpAddress(): string {
    return this.http.address();
  }

  info(): InfoResponseInit {
    const labels = labelsToProto(this.extLabels);
    return {
      labelSets: [{ labels }],
      ComponentType: ComponentType.SIDECAR,
      store: {
        minTime: this.minTime,
        maxTime: MAX_TIME,
        supportsSharding: false,
        supportsWithoutReplicaLabels: true,
        tsdbInfos: [{ labels: { labels }, minTime: this.minTime, maxTime: MAX_TIME }],
      },
      // Served from Prometheus's HTTP API (see prometheus-apis.ts), as Thanos's sidecar does.
      rules: {},
      targets: {},
      metricMetadata: {},
      exemplars: { minTime: -MAX_TIME, maxTime: MAX_TIME },
    };
  }

  async start(): Promise<void> {
    const log = this.cfg.logger;
    await this.http.start();
    this.prober.healthy();
    this.prober.notReady(new Error('waiting for Prometheus and its external labels'));

    await this.waitForExternalLabels();
    if (this.extLabels.length === 0) {
      throw new UserError(
        'no external labels configured on Prometheus server, uniquely identifying external labels must be configured; see https://thanos.io/tip/thanos/storage.md#external-labels for details.',
      );
    }
    log.info({ external_labels: labelsToString(this.extLabels) }, 'successfully loaded prometheus external labels');

    if (this.cfg.bucket) {
      await this.validateBlockDurations();
      this.shipper = new Shipper({
        dir: this.cfg.tsdbPath,
        bucket: instrumentBucket(this.cfg.bucket, this.registry),
        logger: log,
        labels: () => labelsToRecord(this.extLabels),
        source: 'sidecar',
        uploadCompacted: this.cfg.uploadCompacted,
        metaFileName: this.cfg.shipperMetaFileName,
        registry: this.registry,
      });
    } else {
      log.info({}, 'no supported bucket was configured, uploads will be disabled');
    }

    await this.grpc.start();
    this.grpcStarted = true;
    this.prober.ready();

    const refresh = setInterval(() => void this.refresh(), this.cfg.refreshIntervalMs ?? 30_000);
    this.timers.push(refresh);
    if (this.shipper) {
      this.timers.push(setInterval(() => void this.sync(), this.cfg.shipperSyncIntervalMs ?? 30_000));
      // New block directories appear by rename: react at once instead of waiting.
      try {
        let pending: NodeJS.Timeout | null = null;
        this.watcher = watch(this.cfg.tsdbPath, () => {
          if (pending) return;
          pending = setTimeout(() => {
            pending = null;
            void this.sync();
          }, 1_000);
        });
        this.watcher.on('error', (err) => log.warn({ err }, 'watching the TSDB directory failed; relying on periodic syncs'));
      } catch (err) {
        log.warn({ err, path: this.cfg.tsdbPath }, 'cannot watch the TSDB directory; relying on periodic syncs');
      }
      void this.sync();
    }
  }

  /** Runs one shipper sync (the shipper serialises concurrent calls). */
  sync(): Promise<void> {
    if (!this.shipper) return Promise.resolve();
    this.syncing = this.shipper.sync().then(
      (n) => {
        if (n > 0) this.cfg.logger.debug({ uploaded: n }, 'shipper sync done');
      },
      (err: unknown) => this.cfg.logger.warn({ err }, 'shipper sync failed, will retry'),
    );
    return this.syncing;
  }

  private async waitForExternalLabels(): Promise<void> {
    const deadline = Date.now() + this.cfg.readyTimeoutMs;
    let lastErr: unknown = null;
    for (;;) {
      if (this.abort.signal.aborted) throw new Error('sidecar stopped while waiting for Prometheus');
      try {
        this.extLabels = await this.client.externalLabels();
        this.upGauge.set(1);
        await this.updateMinTime();
        return;
      } catch (err) {
        lastErr = err;
        this.upGauge.set(0);
        this.cfg.logger.warn({ err, url: this.client.url }, 'failed to fetch initial external labels. Is Prometheus running? Retrying');
      }
      if (Date.now() >= deadline) {
        throw new UserError(`aborting as no external labels found after waiting ${this.cfg.readyTimeoutMs / 1000}s: ${(lastErr as Error)?.message}`);
      }
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }

  private async updateMinTime(): Promise<void> {
    try {
      this.minTime = await this.client.lowestTimestamp();
    } catch (err) {
      this.cfg.logger.warn({ err }, 'failed to fetch the lowest timestamp of Prometheus');
    }
  }

  /** Thanos refuses to upload when Prometheus compacts blocks itself: the bucket would get overlaps. */
  private async validateBlockDurations(): Promise<void> {
    let flags: Record<string, string>;
    try {
      flags = await this.client.flags();
    } catch (err) {
      this.cfg.logger.warn({ err }, 'failed to check Prometheus flags; not validating block durations');
      return;
    }
    const minD = flags['storage.tsdb.min-block-duration'];
    const maxD = flags['storage.tsdb.max-block-duration'];
    if (!minD || !maxD || this.cfg.uploadCompacted) return;
    if (parsePromDuration(minD) !== parsePromDuration(maxD)) {
      throw new UserError(
        `found that TSDB Max time is ${maxD} and Min time is ${minD}. Compaction needs to be disabled (storage.tsdb.min-block-duration = storage.tsdb.max-block-duration)`,
      );
    }
  }

  private async refresh(): Promise<void> {
    try {
      const ext = await this.client.externalLabels();
      this.upGauge.set(1);
      if (!labelsEqual(ext, this.extLabels)) {
        this.cfg.logger.warn({ from: labelsToString(this.extLabels), to: labelsToString(ext) }, 'external labels of Prometheus changed');
        if (ext.length > 0) this.extLabels = ext;
      }
      await this.updateMinTime();
    } catch (err) {
      this.upGauge.set(0);
      this.cfg.logger.warn({ err }, 'heartbeat failed: cannot reach Prometheus');
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    for (const t of this.timers) clearInterval(t);
    this.watcher?.close();
    this.prober.notReady(new Error('shutting down'));
    await this.syncing;
    if (this.grpcStarted) await this.grpc.stop();
    this.client.close();
    await this.http.stop();
    await this.cfg.bucket?.close();
  }
}
