// The store gateway component: flags → StoreConfig → a Service that syncs the bucket's
// blocks and serves them over StoreAPI (gRPC) with /metrics, probes and the blocks API
// on HTTP.

import { mkdir } from 'node:fs/promises';
import { blocksApiHandler, consistencyDelayFilter, IgnoreDeletionMarkFilter, relabelBlockFilter, timePartitionFilter } from '@thanos-ts/block';
import type { MetaFilter } from '@thanos-ts/block';
import { instrumentBucket } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { createRegistry, HttpServer, Prober, registerStatusAPI } from '@thanos-ts/runtime';
import type { GrpcServerTLSConfig, Logger, Service } from '@thanos-ts/runtime';
import { StoreServer } from '@thanos-ts/storeapi';
import type { Registry } from 'prom-client';
import { registerUI } from '@thanos-ts/ui';
import { newCache } from '@thanos-ts/cache';
import { BucketStore } from './bucket-store.js';
import { CachingBucket } from './caching-bucket.js';
import type { CachingBucketConfig } from './caching-bucket.js';
import { InMemoryIndexCache } from './index-cache.js';
import type { IndexCache, IndexCacheConfig } from './index-cache.js';
import { MemcachedIndexCache } from './memcached-index-cache.js';

export interface StoreConfig {
  bkt: Bucket;
  grpcAddress: string;
  grpcGracePeriodMs: number;
  /** --grpc-server-tls-*: TLS of the StoreAPI server; absent: plain text. */
  grpcServerTLS?: GrpcServerTLSConfig;
  httpAddress: string;
  /** --http.config: Prometheus's web config file for the HTTP server ('' = none). */
  httpConfigFile?: string;
  webRoutePrefix: string;
  /** --web.disable: no Block Viewer UI (the API stays). */
  webDisable?: boolean;
  dataDir: string;
  /** --index-cache.config: in memory, with memcached behind it when configured. */
  indexCache: IndexCacheConfig;
  /** --store.caching-bucket.config; absent: the bucket is read uncached. */
  cachingBucket?: CachingBucketConfig;
  chunkPoolBytes: number;
  seriesLimit: number;
  samplesLimit: number;
  maxConcurrency: number;
  syncIntervalMs: number;
  blockSyncConcurrency: number;
  metaFetchConcurrency: number;
  minTime: number;
  maxTime: number;
  /** --selector.relabel-config(-file) YAML; '' for none. */
  relabelConfig: string;
  consistencyDelayMs: number;
  ignoreDeletionMarksDelayMs: number;
  postingOffsetsInMemSampling: number;
  /** --store.enable-index-header-lazy-reader: headers load on first use instead of at sync. */
  lazyIndexHeaders: boolean;
  /** 0: keep index-headers loaded once read. */
  indexHeaderIdleTimeoutMs: number;
  /** 0: no cap on index-header bytes in memory. */
  indexHeaderMaxLoadedBytes: number;
  seriesBatchSize: number;
  flags?: Record<string, string>;
  logger: Logger;
}

export class Store implements Service {
  readonly prober = new Prober();
  readonly registry: Registry = createRegistry('store');
  readonly bucketStore: BucketStore;
  readonly http: HttpServer;
  private readonly grpc: StoreServer;
  private readonly logger: Logger;
  private readonly indexCache: IndexCache;
  /** The bucket as the store reads it: instrumented, then cached when configured. */
  private readonly bkt: Bucket;
  private syncTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private grpcStarted = false;
  private lastSync = 0;

  constructor(readonly cfg: StoreConfig) {
    this.logger = cfg.logger;
    const filters: MetaFilter[] = [timePartitionFilter(cfg.minTime, cfg.maxTime)];
    const rl = relabelBlockFilter(cfg.relabelConfig);
    if (rl) filters.push(rl);
    filters.push(consistencyDelayFilter(cfg.consistencyDelayMs));
    const deletionMarks = new IgnoreDeletionMarkFilter(cfg.ignoreDeletionMarksDelayMs, cfg.metaFetchConcurrency);
    filters.push(deletionMarks);
    // As Thanos: the caching bucket wraps the instrumented one, so bucket metrics count
    // only what reached the bucket.
    let bkt = instrumentBucket(cfg.bkt, this.registry);
    if (cfg.cachingBucket) {
      const cache = newCache(cfg.cachingBucket.cache, { name: 'caching-bucket', registry: this.registry, logger: this.logger.child({ component: 'caching-bucket' }) });
      bkt = new CachingBucket(bkt, cache, cfg.cachingBucket, { registry: this.registry, logger: this.logger });
    }
    this.bkt = bkt;
    const memory = new InMemoryIndexCache(cfg.indexCache, this.registry);
    const remote = cfg.indexCache.memcached;
    this.indexCache = remote
      ? new MemcachedIndexCache(memory, remote.client, {
          ttlMs: remote.ttlMs,
          enabledItems: cfg.indexCache.enabledItems,
          registry: this.registry,
          logger: this.logger.child({ component: 'index-cache' }),
        })
      : memory;
    this.bucketStore = new BucketStore({
      bkt,
      dataDir: cfg.dataDir,
      indexCache: this.indexCache,
      chunkPoolBytes: cfg.chunkPoolBytes,
      seriesLimit: cfg.seriesLimit,
      samplesLimit: cfg.samplesLimit,
      maxConcurrency: cfg.maxConcurrency,
      blockSyncConcurrency: cfg.blockSyncConcurrency,
      metaFetchConcurrency: cfg.metaFetchConcurrency,
      filters,
      minTime: cfg.minTime,
      maxTime: cfg.maxTime,
      postingOffsetsInMemSampling: cfg.postingOffsetsInMemSampling,
      lazyIndexHeaders: cfg.lazyIndexHeaders,
      indexHeaderIdleTimeoutMs: cfg.indexHeaderIdleTimeoutMs,
      indexHeaderMaxLoadedBytes: cfg.indexHeaderMaxLoadedBytes,
      seriesBatchSize: cfg.seriesBatchSize,
      logger: this.logger.child({ component: 'bucket-store' }),
      registry: this.registry,
    });
    this.http = new HttpServer({
      address: cfg.httpAddress,
      registry: this.registry,
      prober: this.prober,
      logger: this.logger,
      routePrefix: cfg.webRoutePrefix,
      webConfigFile: cfg.httpConfigFile,
    });
    this.http.route('/api/v1/blocks', blocksApiHandler(() => ({ blocks: this.bucketStore.metas(), refreshedAt: this.lastSync, err: null, deletionMarks: deletionMarks.marks })));
    registerStatusAPI(this.http, { flags: cfg.flags });
    if (!cfg.webDisable) registerUI(this.http, { component: 'store' });
    this.grpc = new StoreServer({ address: cfg.grpcAddress, tls: cfg.grpcServerTLS, store: this.bucketStore, info: this.bucketStore, logger: this.logger });
  }

  get grpcAddress(): string {
    return this.grpc.address;
  }

  get httpAddress(): string {
    return this.http.address();
  }

  async start(): Promise<void> {
    await this.http.start();
    this.prober.healthy();
    this.prober.notReady(new Error('initial sync of blocks from the bucket'));
    await mkdir(this.cfg.dataDir, { recursive: true });
    this.logger.info({ bucket: this.cfg.bkt.name(), dataDir: this.cfg.dataDir }, 'initial sync of blocks started');
    const t0 = Date.now();
    try {
      await this.bucketStore.syncBlocks();
    } catch (err) {
      throw new Error(`bucket store initial sync: ${(err as Error).message}`);
    }
    this.lastSync = Date.now();
    await this.bucketStore.cleanDataDir();
    this.logger.info({ blocks: this.bucketStore.blockCount, durationMs: Date.now() - t0 }, 'initial sync done');
    await this.grpc.start();
    this.grpcStarted = true;
    this.syncTimer = setInterval(() => void this.sync(), Math.max(this.cfg.syncIntervalMs, 100));
    if (this.cfg.indexHeaderIdleTimeoutMs > 0) {
      this.idleTimer = setInterval(() => this.bucketStore.unloadIdleHeaders(), Math.max(1000, Math.floor(this.cfg.indexHeaderIdleTimeoutMs / 2)));
      this.idleTimer.unref();
    }
    this.prober.ready();
    this.logger.info({ grpc: this.grpc.address, http: this.http.address() }, 'store gateway ready');
  }

  /** One sync pass now; failures are logged, and the blocks being served stay as they were. */
  async sync(): Promise<void> {
    try {
      await this.bucketStore.syncBlocks();
      this.lastSync = Date.now();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'syncing blocks failed; serving the blocks from the last sync');
    }
  }

  async stop(): Promise<void> {
    this.prober.notReady(new Error('shutting down'));
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.idleTimer) clearInterval(this.idleTimer);
    if (this.grpcStarted) await this.grpc.stop(this.cfg.grpcGracePeriodMs);
    this.bucketStore.close();
    await this.http.stop();
    await this.indexCache.close?.();
    // The caching bucket closes its cache and the bucket below it.
    await this.bkt.close();
  }
}
