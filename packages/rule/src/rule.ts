// `thanos-ts rule` (Thanos cmd/thanos/rule.go): Prometheus rule files evaluated through
// the query components, recording results and ALERTS/ALERTS_FOR_STATE written to a local
// TSDB (head + WAL under --data-dir) that is served over StoreAPI and shipped to the
// bucket with `source: ruler`; alerts go to Alertmanager. HTTP: Prometheus's
// /api/v1/rules and /api/v1/alerts, POST /-/reload (SIGHUP too); gRPC: Store, Info and
// thanos.Rules, so query lists this ruler's groups beside every Prometheus's.

import { Shipper } from '@thanos-ts/block';
import type { Bucket } from '@thanos-ts/objstore';
import { createRegistry, HttpServer, Prober, registerStatusAPI } from '@thanos-ts/runtime';
import type { Logger, Service } from '@thanos-ts/runtime';
import { AlertNotifier, alertGeneratorURL, apiAlertsData, apiRuleGroups, forStateFromQuery, forStateFromQueryable, glob, loadRuleFiles, newTemplateExpander, protoRuleGroups, RuleManager } from '@thanos-ts/rules';
import type { NotifierConfig, RuleFile } from '@thanos-ts/rules';
import { ComponentType, RulesRequestType, StoreServer, TSDBStore } from '@thanos-ts/storeapi';
import type { InfoResponseInit, ResponseSink, RuleGroup, RulesAPI, RulesRequest } from '@thanos-ts/storeapi';
import { DB, labelsToRecord, ZERO_TIME } from '@thanos-ts/tsdb';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { RuleFlagsConfig } from './flags.js';
import { httpQueryFunc, parseQueryConfig, QueryEndpoints } from './query-client.js';
import { RemoteWriteAppendable, withoutRestoreIgnoredLabels } from './remote-write.js';
import type { QueryConfig } from './query-client.js';
import { registerUI } from '@thanos-ts/ui';

export interface RuleConfig extends RuleFlagsConfig {
  notifier: NotifierConfig;
  /** Ships blocks to it when set. */
  bucket: Bucket | null;
  /** Every flag's value as a string, for /api/v1/status/flags. */
  flags?: Record<string, string>;
  logger: Logger;
}

export class Rule implements Service, RulesAPI {
  readonly prober = new Prober();
  readonly registry: Registry = createRegistry('rule');
  readonly http: HttpServer;
  private db: DB | null = null;
  /** Stateless mode (--remote-write.config): results go out by remote write, no DB. */
  private remoteWrite: RemoteWriteAppendable | null = null;
  private grpc: StoreServer | null = null;
  private manager: RuleManager | null = null;
  private shipper: Shipper | null = null;
  private shipTimer: NodeJS.Timeout | null = null;
  private readonly notifier: AlertNotifier;
  private readonly queriers: QueryEndpoints;
  private readonly queryConfig: QueryConfig | null;
  private readonly logger: Logger;
  private readonly reloads: Counter;
  private readonly reloadFailures: Counter;
  private readonly lastReloadOk: Gauge;
  private readonly lastReloadTime: Gauge;
  private reloading: Promise<void> = Promise.resolve();
  private readonly onHup = (): void => void this.reload().catch(() => undefined);

  constructor(readonly cfg: RuleConfig) {
    this.logger = cfg.logger;
    const registers = [this.registry];
    this.reloads = new Counter({ name: 'thanos_rule_config_reloads_total', help: 'Total number of rule configuration reloads.', registers });
    this.reloadFailures = new Counter({ name: 'thanos_rule_config_reload_failures_total', help: 'Total number of failed rule configuration reloads.', registers });
    this.lastReloadOk = new Gauge({ name: 'thanos_rule_config_last_reload_successful', help: 'Whether the last configuration reload attempt was successful.', registers });
    this.lastReloadTime = new Gauge({ name: 'thanos_rule_config_last_reload_success_timestamp_seconds', help: 'Timestamp of the last successful configuration reload.', registers });
    this.queryConfig = cfg.queryConfigYAML !== '' ? parseQueryConfig(cfg.queryConfigYAML) : null;
    this.queriers = new QueryEndpoints({
      addresses: this.queryConfig?.addresses ?? cfg.queryAddresses,
      sdFiles: this.queryConfig?.sdFiles ?? cfg.querySDFiles,
      sdIntervalMs: cfg.querySDIntervalMs,
      dnsIntervalMs: cfg.queryDNSIntervalMs,
      logger: this.logger.child({ component: 'query-discovery' }),
    });
    this.notifier = new AlertNotifier({
      alertmanagers: cfg.notifier.alertmanagers,
      externalLabels: cfg.externalLabels,
      labelDrop: cfg.notifier.labelDrop,
      relabelConfigs: cfg.notifier.relabelConfigs,
      registry: this.registry,
      logger: this.logger.child({ component: 'alertmanager' }),
    });
    this.http = new HttpServer({ address: cfg.httpAddress, registry: this.registry, prober: this.prober, logger: this.logger, routePrefix: cfg.routePrefix, webConfigFile: cfg.httpConfigFile });
    this.http.route('/api/v1/rules', (req, res) => this.serveRules(req, res));
    this.http.route('/api/v1/alerts', (req, res) => this.serveAlerts(req, res));
    this.http.route('/-/reload', (req, res) => this.serveReload(req, res));
    registerStatusAPI(this.http, { flags: cfg.flags });
    registerUI(this.http, { component: 'rule' });
  }

  get grpcAddress(): string {
    return this.grpc?.address ?? this.cfg.grpcAddress;
  }

  get httpAddress(): string {
    return this.http.address();
  }

  async start(): Promise<void> {
    await this.http.start();
    this.prober.healthy();
    this.prober.notReady(new Error('starting'));
    const cfg = this.cfg;
    const files = await this.loadFiles();
    const dir = cfg.dataDir;
    const labels = labelsToRecord(cfg.externalLabels);
    if (cfg.remoteWrite !== null) await this.startStateless();
    else await this.openDB(dir, labels);
    await this.queriers.start();
    await this.notifier.start();
    const query = httpQueryFunc(() => this.queriers.urls(), { method: cfg.queryHttpMethod, onlyPrometheusParams: cfg.queryOnlyPrometheusParams, authorization: this.queryConfig?.authorization });
    const alertURL = cfg.notifier.alertQueryURL;
    const appendable = this.remoteWrite ?? this.db!;
    this.manager = new RuleManager({
      files,
      query,
      appendable,
      notify: this.notifier,
      expand: newTemplateExpander({ query, externalURL: alertURL }),
      externalLabels: labels,
      externalURL: alertURL,
      evalIntervalMs: cfg.evalIntervalMs,
      resendDelayMs: cfg.resendDelayMs,
      forOutageToleranceMs: cfg.forOutageToleranceMs,
      forGracePeriodMs: cfg.forGracePeriodMs,
      queryOffsetMs: cfg.queryOffsetMs,
      // Stateless: ALERTS_FOR_STATE comes back through query, with the external labels
      // remote write added; --restore-ignored-label names those to leave out.
      forStateSource:
        this.db !== null
          ? forStateFromQueryable(this.db)
          : withoutRestoreIgnoredLabels(forStateFromQuery(query, cfg.queryDefaultStepMs), cfg.restoreIgnoredLabels),
      generatorURL: (expr) => alertGeneratorURL(alertURL, cfg.notifier.alertQueryTemplate, expr),
      registry: this.registry,
      logger: this.logger.child({ component: 'rules' }),
    });
    await this.manager.start();
    this.lastReloadOk.set(1);
    this.lastReloadTime.set(Date.now() / 1000);
    // Thanos serves StoreAPI only with a local TSDB; the Rules service always.
    const store = this.db !== null ? new TSDBStore({ db: this.db, externalLabels: cfg.externalLabels, component: ComponentType.RULE, logger: this.logger }) : null;
    this.grpc = new StoreServer({
      address: cfg.grpcAddress,
      tls: cfg.grpcServerTLS,
      store: store ?? undefined,
      info: { info: (): InfoResponseInit => (store !== null ? { ...store.info(), rules: {} } : { ComponentType: ComponentType.RULE, labelSets: [], rules: {} }) },
      rules: this,
      logger: this.logger,
    });
    await this.grpc.start();
    process.on('SIGHUP', this.onHup);
    this.prober.ready();
    this.logger.info({ groups: this.manager.ruleGroups().length, stateless: this.remoteWrite !== null, grpc: this.grpc.address, http: this.http.address() }, 'ruler ready');
  }

  private async startStateless(): Promise<void> {
    if (this.cfg.bucket !== null) this.logger.warn({}, 'stateless mode (--remote-write.config): nothing is written locally, so nothing is shipped to the bucket');
    this.remoteWrite = new RemoteWriteAppendable({ configs: this.cfg.remoteWrite!, externalLabels: this.cfg.externalLabels, registry: this.registry, logger: this.logger.child({ component: 'remote-write' }) });
    await this.remoteWrite.start();
  }

  private async openDB(dir: string, labels: Record<string, string>): Promise<void> {
    const cfg = this.cfg;
    if (cfg.bucket !== null) {
      this.shipper = new Shipper({ dir, bucket: cfg.bucket, logger: this.logger.child({ component: 'shipper' }), labels: () => labels, source: 'ruler', uploadCompacted: cfg.uploadCompacted, registry: this.registry });
    }
    const shipper = this.shipper;
    this.db = await DB.open(dir, {
      blockDuration: cfg.blockDurationMs,
      retention: cfg.retentionMs,
      wal: { compress: cfg.walCompression },
      logger: this.logger.child({ component: 'tsdb' }),
      thanos: { labels, downsample: { resolution: 0 }, source: 'ruler', index_stats: {}, upload_time: ZERO_TIME },
      onCompactionError: (err) => this.logger.error({ err: err.message }, 'compaction failed'),
      onBlocksWritten: () => void this.ship(),
      // Retention deletes only what reached the bucket.
      blocksToDelete: shipper === null ? undefined : (candidates) => shipper.deletable(candidates),
    });
    if (shipper !== null) {
      this.shipTimer = setInterval(() => void this.ship(), 30_000);
      this.shipTimer.unref();
    }
  }

  /** thanos.Rules: the groups, with the external labels on every rule, as Thanos's ruler answers. */
  async rules(req: RulesRequest, sink: ResponseSink<RuleGroup>, _signal: AbortSignal): Promise<void> {
    if (this.manager === null) return;
    const type = req.type === RulesRequestType.ALERT ? 'alert' : req.type === RulesRequestType.RECORD ? 'record' : undefined;
    for (const g of protoRuleGroups(this.manager.ruleGroups(), this.cfg.externalLabels, type)) {
      const p = sink.send(g as unknown as RuleGroup);
      if (p) await p;
    }
  }

  /** Re-reads the rule files; one that fails keeps the rules in force. */
  reload(): Promise<void> {
    const run = this.reloading.then(async () => {
      this.reloads.inc();
      try {
        const files = await this.loadFiles();
        await this.manager!.update(files);
      } catch (err) {
        this.reloadFailures.inc();
        this.lastReloadOk.set(0);
        this.logger.error({ err: (err as Error).message }, 'reloading rules failed; the old rules stay');
        throw err;
      }
      this.lastReloadOk.set(1);
      this.lastReloadTime.set(Date.now() / 1000);
      this.logger.info({ groups: this.manager!.ruleGroups().length }, 'rules reloaded');
    });
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async loadFiles(): Promise<RuleFile[]> {
    const paths: string[] = [];
    for (const pattern of this.cfg.ruleFiles) {
      for (const p of await glob(pattern)) if (!paths.includes(p)) paths.push(p);
    }
    return loadRuleFiles(paths);
  }

  private async ship(): Promise<void> {
    try {
      await this.shipper?.sync();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'shipping blocks failed');
    }
  }

  private serveRules(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    const type = u.searchParams.get('type') ?? '';
    if (type !== '' && type !== 'alert' && type !== 'record') {
      json(res, 400, { status: 'error', errorType: 'bad_data', error: `unsupported type "${type}"` });
      return;
    }
    const data = apiRuleGroups(this.manager?.ruleGroups() ?? [], {
      type: type === '' ? undefined : (type as 'alert' | 'record'),
      ruleName: u.searchParams.getAll('rule_name[]'),
      ruleGroup: u.searchParams.getAll('rule_group[]'),
      file: u.searchParams.getAll('file[]'),
      excludeAlerts: u.searchParams.get('exclude_alerts') === 'true',
    });
    json(res, 200, { status: 'success', data });
  }

  private serveAlerts(_req: IncomingMessage, res: ServerResponse): void {
    json(res, 200, { status: 'success', data: apiAlertsData(this.manager?.alertingRules() ?? []) });
  }

  private serveReload(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST' && req.method !== 'PUT') {
      res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Only POST or PUT requests allowed\n');
      return;
    }
    this.reload().then(
      () => res.writeHead(200).end(),
      (err: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`failed to reload config: ${(err as Error).message}\n`),
    );
  }

  async stop(): Promise<void> {
    this.prober.notReady(new Error('shutting down'));
    process.off('SIGHUP', this.onHup);
    await this.manager?.stop();
    // The last evaluation's samples go out before the process does.
    await this.remoteWrite?.stop();
    await this.grpc?.stop(this.cfg.grpcGracePeriodMs);
    await this.notifier.stop();
    this.queriers.stop();
    if (this.shipTimer !== null) clearInterval(this.shipTimer);
    await this.ship();
    await this.db?.close();
    await this.http.stop();
    await this.cfg.bucket?.close();
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}
