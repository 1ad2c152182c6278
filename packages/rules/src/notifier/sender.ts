// Sends alert batches to every Alertmanager endpoint at once (Thanos alert.Sender). A
// batch counts as delivered when at least one endpoint took it, since Alertmanagers
// gossip among themselves; only when all fail are its alerts counted as dropped. There
// are no retries, as in Thanos and Prometheus: the rule manager sends every active alert
// again after --resend-delay, which is what makes a missed batch good.

import type { Logger } from '@thanos-ts/runtime';
import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Alert } from '../types.js';
import type { AlertmanagerAPIVersion } from './config.js';
import type { AlertmanagerClient } from './client.js';
import { encodeAlerts } from './payload.js';

export interface SendResult {
  /** Endpoints that accepted the batch. */
  succeeded: number;
  /** Endpoints tried. */
  attempted: number;
}

export class AlertmanagerSender {
  private readonly sent: Counter<'alertmanager'>;
  private readonly errors: Counter<'alertmanager'>;
  private readonly dropped: Counter;
  private readonly latency: Histogram<'alertmanager'>;

  constructor(
    private readonly clients: readonly AlertmanagerClient[],
    private readonly logger: Logger,
    registry?: Registry,
  ) {
    const registers = registry ? [registry] : [];
    this.sent = new Counter({ name: 'thanos_alert_sender_alerts_sent_total', help: 'Total number of alerts sent by alertmanager.', labelNames: ['alertmanager'], registers });
    this.errors = new Counter({ name: 'thanos_alert_sender_errors_total', help: 'Total number of errors while sending alerts to alertmanager.', labelNames: ['alertmanager'], registers });
    this.dropped = new Counter({ name: 'thanos_alert_sender_alerts_dropped_total', help: 'Total number of alerts dropped in case of all sends to alertmanagers failed.', registers });
    this.latency = new Histogram({ name: 'thanos_alert_sender_latency_seconds', help: 'Latency for sending alert notifications (not including dropped notifications).', labelNames: ['alertmanager'], registers });
  }

  /** Sends one batch to all endpoints; resolves when every attempt has finished. */
  async send(alerts: readonly Alert[], signal?: AbortSignal): Promise<SendResult> {
    if (alerts.length === 0) return { succeeded: 0, attempted: 0 };
    const payloads = new Map<AlertmanagerAPIVersion, string>();
    const attempts: Promise<boolean>[] = [];
    for (const client of this.clients) {
      let body = payloads.get(client.apiVersion);
      if (body === undefined) {
        body = encodeAlerts(alerts, client.apiVersion);
        payloads.set(client.apiVersion, body);
      }
      for (const base of client.endpoints()) attempts.push(this.sendOne(client, base, body, alerts.length, signal));
    }
    const succeeded = (await Promise.all(attempts)).filter(Boolean).length;
    if (succeeded === 0) {
      this.dropped.inc(alerts.length);
      this.logger.warn({ numAlerts: alerts.length }, 'failed to send alerts to all alertmanagers');
    }
    return { succeeded, attempted: attempts.length };
  }

  private async sendOne(client: AlertmanagerClient, base: URL, body: string, n: number, signal?: AbortSignal): Promise<boolean> {
    const host = base.host;
    const start = performance.now();
    try {
      await client.postAlerts(client.alertsURL(base), body, signal);
    } catch (err) {
      this.logger.warn({ alertmanager: host, numAlerts: n, err }, 'sending alerts failed');
      this.errors.inc({ alertmanager: host });
      return false;
    }
    this.latency.observe({ alertmanager: host }, (performance.now() - start) / 1000);
    this.sent.inc({ alertmanager: host }, n);
    return true;
  }
}
