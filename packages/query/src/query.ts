// The query service: flags → QueryConfig → start()/stop(). It runs the endpoint set,
// serves the proxy as StoreAPI (and Info) over gRPC so query components can be stacked,
// and serves the Prometheus HTTP API v1 (PromQL over the endpoints, deduplicated),
// /metrics, /-/healthy and /-/ready over HTTP; ready once the endpoint set has asked
// every endpoint for Info once.

import { createRegistry, HttpServer, NodeDNSResolver, Prober } from '@thanos-ts/runtime';
import type { GrpcClientConfig, GrpcServerTLSConfig, LogFormat, Logger, LogLevel, Service } from '@thanos-ts/runtime';
import { ComponentType, grpcClientTransport, labelsToProto, StoreServer } from '@thanos-ts/storeapi';
import type { InfoResponseInit } from '@thanos-ts/storeapi';
import { DedupFunc } from '@thanos-ts/tsdb';
import type { Labels } from '@thanos-ts/tsdb';
import { DEFAULT_LOOKBACK_DELTA, Engine } from '@thanos-ts/promql';
import type { Registry } from 'prom-client';
import { registerUI } from '@thanos-ts/ui';
import { QueryAPI } from './api/query-api.js';
import { InlineFirstRunner, LocalPromQLRunner } from './exec/local-runner.js';
import type { PromQLRunner } from './exec/promql-task.js';
import { WorkerPromQLRunner } from './exec/worker-runner.js';
import { EndpointSet, marshalStoresView } from './endpointset.js';
import { ProxyStore } from '@thanos-ts/storeapi';
import { StoreQueryable } from './querier.js';
import { RulesProxy } from './apis/rules.js';
import { TargetsProxy } from './apis/targets.js';
import { MetadataProxy } from './apis/metadata.js';
import { ExemplarsProxy } from './apis/exemplars.js';
import type { ApiEndpoint } from './apis/fanout.js';
import type { StoreQueryableOptions } from './querier.js';

export interface QueryConfig {
  grpcAddress: string;
  /** How long stop() lets running gRPC calls finish (ms). */
  grpcGracePeriodMs: number;
  /** --grpc-server-tls-*: TLS of the StoreAPI server; absent: plain text. */
  grpcServerTLS?: GrpcServerTLSConfig;
  /** --grpc-client-* and --grpc-compression: how endpoints are dialled; absent: plain text. */
  grpcClient?: GrpcClientConfig;
  httpAddress: string;
  /** --http.config: Prometheus's web config file for the HTTP server ('' = none). */
  httpConfigFile?: string;
  /** --web.route-prefix (defaults to --web.external-prefix), without a trailing slash. */
  webRoutePrefix: string;
  webExternalPrefix: string;
  /** --endpoint and --store. */
  endpoints: string[];
  /** --endpoint-strict. */
  strictEndpoints: string[];
  /** --endpoint-group and --endpoint-group-strict. */
  endpointGroups?: string[];
  strictEndpointGroups?: string[];
  /** --store.sd-dns-interval (ms, default 30s). */
  dnsSDIntervalMs?: number;
  /** Hidden --store.sd-dns-server (ours, for tests): DNS servers instead of the system's. */
  dnsSDServers?: string[];
  /** --endpoint.sd-files and --store.sd-files. */
  sdFiles: string[];
  sdIntervalMs: number;
  unhealthyTimeoutMs: number;
  /** --store.response-timeout (0: none). */
  responseTimeoutMs: number;
  infoTimeoutMs: number;
  infoIntervalMs: number;
  replicaLabels: string[];
  dedupFunc: DedupFunc;
  /** Default of the partial_response parameter. */
  partialResponse: boolean;
  queryTimeoutMs: number;
  /** For the PromQL API: queries evaluated at once. */
  maxConcurrent: number;
  /** --query.max-samples: samples one query may hold in memory. */
  maxSamples: number;
  /** --query.workers: evaluation threads (0: the main thread). */
  workers: number;
  /** Log settings the evaluation workers log with (default: info, logfmt). */
  workerLog?: { level: LogLevel; format: LogFormat };
  maxConcurrentSelect: number;
  /** For the PromQL engine; 0: its default (5m). */
  lookbackDeltaMs: number;
  /** For the PromQL engine: default subquery step. */
  defaultEvaluationIntervalMs: number;
  /** max_source_resolution defaults to step / 5 when set. */
  autoDownsampling: boolean;
  /** --selector-label. */
  selectorLabels: Labels;
  /** Every flag's value as Thanos prints it, for /api/v1/status/flags. */
  flags?: Record<string, string>;
  logger: Logger;
}

/**
 * The engine reads a query's samples whole before evaluating (Prometheus streams them),
 * so a query may select this many times --query.max-samples, 16 bytes each: the bound on
 * a query's memory that the sample limit is in Prometheus.
 */
const SELECTED_SAMPLES_PER_MAX_SAMPLES = 4;

/** The query component without its PromQL HTTP API. */
export class Query implements Service {
  readonly prober = new Prober();
  readonly registry: Registry = createRegistry('query');
  readonly endpoints: EndpointSet;
  readonly proxy: ProxyStore;
  /** The HTTP server: /metrics, /-/healthy, /-/ready and the API. */
  readonly http: HttpServer;
  /** The PromQL engine behind the API. */
  readonly engine: Engine;
  readonly api: QueryAPI;
  /** Where PromQL is evaluated: small queries here and the rest on worker threads, or all here with --query.workers=0. */
  readonly runner: PromQLRunner;
  private readonly grpc: StoreServer;
  private readonly logger: Logger;
  private grpcStarted = false;
  private readyWait: Promise<void> | null = null;

  constructor(readonly cfg: QueryConfig) {
    this.logger = cfg.logger;
    // Read once here, so a missing CA or key fails the start as in Thanos.
    const transport = grpcClientTransport(cfg.grpcClient);
    this.endpoints = new EndpointSet({
      clientOptions: { transport },
      endpoints: cfg.endpoints,
      strictEndpoints: cfg.strictEndpoints,
      sdFiles: cfg.sdFiles,
      sdIntervalMs: cfg.sdIntervalMs,
      endpointGroups: cfg.endpointGroups,
      strictEndpointGroups: cfg.strictEndpointGroups,
      dnsIntervalMs: cfg.dnsSDIntervalMs,
      dnsResolver: new NodeDNSResolver({ servers: cfg.dnsSDServers }),
      infoIntervalMs: cfg.infoIntervalMs,
      infoTimeoutMs: cfg.infoTimeoutMs,
      unhealthyTimeoutMs: cfg.unhealthyTimeoutMs,
      closeDelayMs: cfg.queryTimeoutMs,
      logger: this.logger.child({ component: 'endpointset' }),
      registry: this.registry,
    });
    this.proxy = new ProxyStore({
      endpoints: () => this.endpoints.storeEndpoints(),
      selectorLabels: cfg.selectorLabels,
      responseTimeoutMs: cfg.responseTimeoutMs,
      logger: this.logger.child({ component: 'proxy' }),
    });
    this.http = new HttpServer({
      address: cfg.httpAddress,
      registry: this.registry,
      prober: this.prober,
      logger: this.logger,
      routePrefix: cfg.webRoutePrefix,
      webConfigFile: cfg.httpConfigFile,
    });
    // Rules, Targets, Metadata and Exemplars: fanned out to the endpoints advertising
    // them, served over gRPC (so queries stack) and behind the HTTP API.
    const advertising = (api: 'rules' | 'targets' | 'metricMetadata' | 'exemplars') => (): ApiEndpoint[] =>
      this.endpoints.endpoints().filter((r) => this.endpoints.isQueryable(r) && r.info?.[api]);
    const apiOpts = { responseTimeoutMs: cfg.responseTimeoutMs, logger: this.logger.child({ component: 'proxy' }) };
    const apis = {
      rules: new RulesProxy({ endpoints: advertising('rules'), ...apiOpts }),
      targets: new TargetsProxy({ endpoints: advertising('targets'), ...apiOpts }),
      metadata: new MetadataProxy({ endpoints: advertising('metricMetadata'), ...apiOpts }),
      exemplars: new ExemplarsProxy({ endpoints: advertising('exemplars'), selectorLabels: cfg.selectorLabels, ...apiOpts }),
    };
    this.grpc = new StoreServer({
      address: cfg.grpcAddress,
      tls: cfg.grpcServerTLS,
      store: this.proxy,
      info: { info: () => this.info() },
      ...apis,
      logger: this.logger,
    });
    const lookbackDeltaMs = cfg.lookbackDeltaMs > 0 ? cfg.lookbackDeltaMs : DEFAULT_LOOKBACK_DELTA;
    const timeoutMs = cfg.queryTimeoutMs > 0 ? cfg.queryTimeoutMs : Infinity;
    this.engine = new Engine({
      lookbackDelta: lookbackDeltaMs,
      timeout: timeoutMs,
      maxSamples: cfg.maxSamples,
      maxSelectedSamples: SELECTED_SAMPLES_PER_MAX_SAMPLES * cfg.maxSamples,
      noStepSubqueryInterval: () => cfg.defaultEvaluationIntervalMs,
    });
    this.runner =
      cfg.workers <= 0
        ? new LocalPromQLRunner(this.engine, (o) => this.queryable(o))
        : new InlineFirstRunner(this.engine, (o) => this.queryable(o), new WorkerPromQLRunner({
            threads: cfg.workers,
            tasksPerThread: Math.ceil(Math.max(1, cfg.maxConcurrent) / cfg.workers),
            endpoints: () => this.endpoints.storeEndpoints(),
            config: {
              lookbackDeltaMs,
              timeoutMs,
              maxSamples: cfg.maxSamples,
              maxSelectedSamples: SELECTED_SAMPLES_PER_MAX_SAMPLES * cfg.maxSamples,
              defaultEvaluationIntervalMs: cfg.defaultEvaluationIntervalMs,
              dedupFunc: cfg.dedupFunc,
              selectTimeoutMs: cfg.queryTimeoutMs,
              maxConcurrentSelects: cfg.maxConcurrentSelect,
              responseTimeoutMs: cfg.responseTimeoutMs,
              grpcClient: cfg.grpcClient,
              logLevel: cfg.workerLog?.level ?? 'info',
              logFormat: cfg.workerLog?.format ?? 'logfmt',
            },
            logger: this.logger.child({ component: 'query-workers' }),
          }));
    this.api = new QueryAPI({
      engine: this.engine,
      runner: this.runner,
      queryable: (o) => this.queryable(o),
      storesJSON: () => marshalStoresView(this.endpoints.storesView()),
      replicaLabels: cfg.replicaLabels,
      partialResponse: cfg.partialResponse,
      autoDownsampling: cfg.autoDownsampling,
      queryTimeoutMs: cfg.queryTimeoutMs,
      lookbackDeltaMs: cfg.lookbackDeltaMs,
      maxConcurrent: cfg.maxConcurrent,
      flags: cfg.flags,
      apis,
      routePrefix: cfg.webRoutePrefix,
      registry: this.registry,
      logger: this.logger.child({ component: 'api' }),
    });
    this.api.register(this.http);
    registerUI(this.http, { component: 'query' });
  }

  get grpcAddress(): string {
    return this.grpc.address;
  }

  get httpAddress(): string {
    return this.http.address();
  }

  /**
   * Info of this query component: its proxy's label sets and range. The StoreAPI part is
   * left out until ready, so a query above it does not take an empty answer for data.
   */
  info(): InfoResponseInit {
    const info: InfoResponseInit = {
      ...this.proxy.info(),
      rules: {},
      targets: {},
      metricMetadata: {},
      exemplars: { minTime: -(2 ** 63), maxTime: 2 ** 63 },
    };
    if (this.prober.notReadyReason() !== null) {
      return { ComponentType: ComponentType.QUERY, labelSets: info.labelSets };
    }
    return info;
  }

  async start(): Promise<void> {
    await this.http.start();
    this.prober.healthy();
    this.prober.notReady(new Error('waiting for the first pass over the endpoints'));
    if (this.cfg.replicaLabels.length > 0) this.logger.info({ replicaLabels: this.cfg.replicaLabels }, 'deduplicating along replica labels');
    if (this.cfg.selectorLabels.length > 0) this.logger.info({ selectorLabels: labelsToProto(this.cfg.selectorLabels) }, 'selector labels');
    await this.runner.start();
    await this.endpoints.start();
    await this.grpc.start();
    this.grpcStarted = true;
    this.readyWait = this.endpoints.waitForFirstUpdate().then(() => {
      this.prober.ready();
      this.logger.info({ endpoints: this.endpoints.storeEndpoints().length }, 'first pass over the endpoints done; ready');
    });
  }

  /** Resolves once ready (after start()). */
  async ready(): Promise<void> {
    await this.readyWait;
  }

  async stop(): Promise<void> {
    this.prober.notReady(new Error('shutting down'));
    if (this.grpcStarted) await this.grpc.stop(this.cfg.grpcGracePeriodMs);
    await this.endpoints.stop();
    await this.http.stop();
    await this.runner.close();
  }

  /**
   * A Queryable over all endpoints with this component's defaults (replica labels,
   * dedup function, partial response, timeouts); per-request parameters override them.
   */
  queryable(overrides: Partial<Omit<StoreQueryableOptions, 'proxy'>> = {}): StoreQueryable {
    return new StoreQueryable({
      proxy: this.proxy,
      deduplicate: true,
      replicaLabels: this.cfg.replicaLabels,
      dedupFunc: this.cfg.dedupFunc,
      partialResponse: this.cfg.partialResponse,
      selectTimeoutMs: this.cfg.queryTimeoutMs,
      maxConcurrentSelects: this.cfg.maxConcurrentSelect,
      logger: this.logger,
      ...overrides,
    });
  }
}
