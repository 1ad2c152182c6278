// Test fixture: a real Alertmanager (Debian prometheus-alertmanager) whose only receiver
// is a webhook served by the test, so a test sees the notifications Alertmanager sends.
// Candidate for @thanos-ts/testutil (startAlertmanager) once the ruler's e2e tests need it.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findBinary, freePort, LogBuffer, tempDir, waitFor } from '@thanos-ts/testutil';

/** One alert of a webhook notification (Alertmanager's webhook payload). */
export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

export interface Webhook {
  url: string;
  /** Every alert of every notification received so far. */
  alerts: WebhookAlert[];
  close(): Promise<void>;
}

/** An HTTP server collecting webhook notifications. */
export async function startWebhook(): Promise<Webhook> {
  const alerts: WebhookAlert[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      try {
        alerts.push(...(JSON.parse(body) as { alerts: WebhookAlert[] }).alerts);
      } catch {
        // not a notification
      }
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    alerts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface AlertmanagerInstance {
  /** http://127.0.0.1:PORT (plus the route prefix, if any). */
  url: string;
  /** 127.0.0.1:PORT */
  address: string;
  logs(): string;
  stop(): Promise<void>;
}

/** Starts prometheus-alertmanager notifying `webhookURL` at once (group_wait 0s) and waits until ready. */
export async function startAlertmanager(webhookURL: string, opts: { routePrefix?: string } = {}): Promise<AlertmanagerInstance> {
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
      '  group_wait: 0s',
      '  group_interval: 1s',
      '  repeat_interval: 1h',
      'receivers:',
      '  - name: hook',
      '    webhook_configs:',
      `      - url: ${JSON.stringify(webhookURL)}`,
      '        send_resolved: true',
      '',
    ].join('\n'),
  );
  const prefix = opts.routePrefix ?? '';
  const args = [`--config.file=${configFile}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='];
  if (prefix !== '') args.push(`--web.route-prefix=${prefix}`);
  const log = new LogBuffer();
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.setEncoding('utf8').on('data', (d: string) => log.append(d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => log.append(d));
  const kill = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', kill);
  const url = `http://127.0.0.1:${port}${prefix}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitFor(async () => (await fetch(`${url}/-/ready`)).ok, { what: 'alertmanager ready', timeoutMs: 30_000 });
  } catch (err) {
    kill();
    throw new Error(`${(err as Error).message}\nalertmanager logs:\n${log.toString()}`);
  }
  return {
    url,
    address: `127.0.0.1:${port}`,
    logs: () => log.toString(),
    async stop() {
      process.removeListener('exit', kill);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
