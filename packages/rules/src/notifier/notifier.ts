// The ruler's notifier: the rule manager hands alerts to send(), which only queues them;
// one loop takes batches off the queue and sends each to every Alertmanager before taking
// the next (Thanos runs the same loop in cmd/thanos/rule.go). stop() keeps sending what
// is queued until a deadline, then abandons the rest.

import type { Logger } from '@thanos-ts/runtime';
import { nopLogger } from '@thanos-ts/runtime';
import type { Labels, RelabelConfig } from '@thanos-ts/tsdb';
import type { Registry } from 'prom-client';
import type { Alert, AlertSender } from '../types.js';
import { AlertmanagerClient } from './client.js';
import type { AlertmanagerConfig } from './config.js';
import { AlertQueue } from './queue.js';
import { AlertmanagerSender } from './sender.js';

export interface AlertNotifierOptions {
  /** One entry per Alertmanager cluster (parseAlertmanagersConfig or alertmanagerConfigFromURL). */
  alertmanagers: readonly AlertmanagerConfig[];
  /** The ruler's --label external labels, added to every alert. */
  externalLabels?: Labels;
  /** --alert.label-drop. */
  labelDrop?: readonly string[];
  /** --alert.relabel-config. */
  relabelConfigs?: readonly RelabelConfig[];
  /** Default 10000, as Thanos's ruler. */
  queueCapacity?: number;
  /** Default 100, as Thanos's ruler. */
  maxBatchSize?: number;
  registry?: Registry;
  logger?: Logger;
}

/** How long stop() keeps sending queued alerts by default. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 5_000;

export class AlertNotifier implements AlertSender {
  readonly queue: AlertQueue;
  private readonly clients: AlertmanagerClient[];
  private readonly sender: AlertmanagerSender;
  private readonly logger: Logger;
  private readonly stopping = new AbortController();
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;

  constructor(opts: AlertNotifierOptions) {
    this.logger = opts.logger ?? nopLogger();
    this.queue = new AlertQueue({
      capacity: opts.queueCapacity,
      maxBatchSize: opts.maxBatchSize,
      externalLabels: opts.externalLabels,
      excludeLabels: opts.labelDrop,
      relabelConfigs: opts.relabelConfigs,
      registry: opts.registry,
      logger: this.logger,
    });
    this.clients = opts.alertmanagers.map((cfg) => new AlertmanagerClient(cfg, this.logger));
    this.sender = new AlertmanagerSender(this.clients, this.logger, opts.registry);
    if (this.clients.length === 0) this.logger.warn('no alertmanager configured');
  }

  /** Queues alerts for all Alertmanagers; never blocks. */
  send(alerts: readonly Alert[]): void {
    this.queue.push(alerts);
  }

  /** The Alertmanager endpoints known now (base URLs, path prefix included). */
  alertmanagers(): string[] {
    return this.clients.flatMap((c) => c.endpoints().map((u) => u.href));
  }

  /** Loads TLS files, reads file SD, and starts the send loop. */
  async start(): Promise<void> {
    if (this.loop) throw new Error('alert notifier: already started');
    await Promise.all(this.clients.map((c) => c.start()));
    this.loop = this.run();
  }

  /**
   * Stops taking new batches once the queue is empty, or at `drainTimeoutMs` at the
   * latest, when requests in flight are aborted and what is left in the queue is dropped.
   */
  async stop(drainTimeoutMs = DEFAULT_DRAIN_TIMEOUT_MS): Promise<void> {
    this.stopping.abort();
    if (this.loop) {
      const timer = setTimeout(() => this.abort.abort(), drainTimeoutMs);
      await this.loop;
      clearTimeout(timer);
    }
    const left = this.queue.length;
    if (left > 0) this.logger.warn({ numDropped: left }, 'alert notifier stopped with alerts still queued');
    for (const c of this.clients) c.stop();
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      await this.queue.waitForAlerts(this.stopping.signal);
      const batch = this.queue.pop();
      if (batch.length === 0) {
        if (this.stopping.signal.aborted) return;
        continue;
      }
      try {
        await this.sender.send(batch, this.abort.signal);
      } catch (err) {
        // send() reports per endpoint and does not throw; this is a bug, not an outage.
        this.logger.error({ err }, 'sending alerts failed unexpectedly');
      }
    }
  }
}
