// A real Alertmanager (Debian prometheus-alertmanager) whose only receiver is a webhook
// served by the test, so a test sees exactly the notifications Alertmanager sends.

import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './net.js';
import { findBinary, killNow, LogBuffer, spawnTracked, terminate, waitExit } from './process.js';
import { tempDir } from './temp-dir.js';
import { errorMessage, waitFor } from './wait-for.js';

/** One alert of a webhook notification (Alertmanager's webhook payload, version 4). */
export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint?: string;
}

/** One webhook request as Alertmanager sent it, with when it arrived. */
export interface WebhookNotification {
  /** Date.now() when the request body had arrived. */
  receivedAt: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  alerts: WebhookAlert[];
}

export interface Webhook {
  /** http://127.0.0.1:PORT/hook */
  url: string;
  /** Every alert of every notification received so far, in arrival order. */
  alerts: WebhookAlert[];
  /** Every notification received so far, in arrival order. */
  notifications: WebhookNotification[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 collecting Alertmanager webhook notifications. */
export async function startWebhook(): Promise<Webhook> {
  const alerts: WebhookAlert[] = [];
  const notifications: WebhookNotification[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      try {
        const n = JSON.parse(body) as Omit<WebhookNotification, 'receivedAt'>;
        notifications.push({ ...n, receivedAt: Date.now() });
        alerts.push(...n.alerts);
      } catch {
        // Not a notification: ignored, the test only looks at Alertmanager's.
      }
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    alerts,
    notifications,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface AlertmanagerOptions {
  /** --web.route-prefix (default none). */
  routePrefix?: string;
  /** route.group_wait (default "0s": notify as soon as an alert arrives). */
  groupWait?: string;
  /** route.group_interval (default "1s"). */
  groupInterval?: string;
  /** route.repeat_interval (default "1h"). */
  repeatInterval?: string;
  /** How long to wait for /-/ready (default 30 s). */
  readyTimeoutMs?: number;
}

export interface AlertmanagerInstance {
  /** http://127.0.0.1:PORT (plus the route prefix, if any). */
  url: string;
  /** 127.0.0.1:PORT */
  address: string;
  configFile: string;
  /** The last 256 KiB of stdout and stderr. */
  logs(): string;
  /** SIGTERM, then SIGKILL if still running after 10 s. */
  stop(): Promise<void>;
}

/**
 * Starts prometheus-alertmanager (clustering off) with one route grouping by every label
 * (`group_by: ["..."]`, so each alert is its own group) to a webhook receiver at
 * `webhookURL` that also gets resolved notifications, and waits until /-/ready answers.
 */
export async function startAlertmanager(webhookURL: string, opts: AlertmanagerOptions = {}): Promise<AlertmanagerInstance> {
  const bin = findBinary('prometheus-alertmanager');
  const port = await freePort();
  const dir = await tempDir('alertmanager');
  const configFile = join(dir, 'alertmanager.yml');
  await writeFile(
    configFile,
    [
      'route:',
      '  receiver: hook',
      '  group_by: ["..."]',
      `  group_wait: ${opts.groupWait ?? '0s'}`,
      `  group_interval: ${opts.groupInterval ?? '1s'}`,
      `  repeat_interval: ${opts.repeatInterval ?? '1h'}`,
      'receivers:',
      '  - name: hook',
      '    webhook_configs:',
      `      - url: ${JSON.stringify(webhookURL)}`,
      '        send_resolved: true',
      '',
    ].join('\n'),
  );
  const prefix = opts.routePrefix ?? '';
  const args = [
    `--config.file=${configFile}`,
    `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
  ];
  if (prefix !== '') args.push(`--web.route-prefix=${prefix}`);
  const log = new LogBuffer();
  const child: ChildProcess = spawnTracked(bin, args, log);
  const url = `http://127.0.0.1:${port}${prefix}`;
  const died = new AbortController();
  void waitExit(child).then(() => died.abort(new Error(`alertmanager exited (${child.exitCode ?? child.signalCode})`)));
  try {
    await waitFor(
      async () => {
        const res = await fetch(`${url}/-/ready`);
        await res.arrayBuffer();
        return res.ok;
      },
      { what: `alertmanager ready at ${url}`, timeoutMs: opts.readyTimeoutMs ?? 30_000, intervalMs: 100, signal: died.signal },
    );
  } catch (e) {
    await killNow(child);
    throw new Error(`start alertmanager: ${errorMessage(e)}\n--- alertmanager logs ---\n${log.toString()}`);
  }
  return {
    url,
    address: `127.0.0.1:${port}`,
    configFile,
    logs: () => log.toString(),
    stop: () => terminate(child, 10_000),
  };
}
