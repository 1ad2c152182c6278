// The notifier against a real Alertmanager (Debian prometheus-alertmanager 0.25) whose
// webhook receiver is served by the test, and against small HTTP servers that record
// requests or fail on purpose.

import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, startAlertmanager, startWebhook, tempDir, waitFor } from '@thanos-ts/testutil';
import { labelsFromRecord } from '@thanos-ts/tsdb';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../types.js';
import type { AlertmanagerInstance, Webhook } from '@thanos-ts/testutil';
import { alertmanagerConfigFromURL, parseAlertmanagersConfig } from './config.js';
import { AlertNotifier } from './notifier.js';

function firing(name: string, extra: Record<string, string> = {}): Alert {
  const now = Date.now();
  return {
    labels: labelsFromRecord({ alertname: name, ...extra }),
    annotations: labelsFromRecord({ summary: `${name} is firing`, value: '42' }),
    startsAt: now - 60_000,
    endsAt: now + 5 * 60_000,
    generatorURL: 'http://query:9090/graph?g0.expr=up',
  };
}

async function value(reg: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = reg.getSingleMetric(name);
  if (!m) return 0;
  const v = (await m.get()).values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val) && !('le' in x.labels));
  return v?.value ?? 0;
}

interface Recorder {
  address: string;
  requests: { path: string; headers: IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

/** An HTTP server that records requests and answers `status` (or never, for null). */
async function startRecorder(status: number | null): Promise<Recorder> {
  const requests: Recorder['requests'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', headers: req.headers, body });
      if (status !== null) res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return {
    address: `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('AlertNotifier with a real Alertmanager', () => {
  let hook: Webhook;
  let am: AlertmanagerInstance;
  let prefixed: AlertmanagerInstance;

  beforeAll(async () => {
    hook = await startWebhook();
    [am, prefixed] = await Promise.all([startAlertmanager(hook.url), startAlertmanager(hook.url, { routePrefix: '/am' })]);
  });
  afterAll(async () => {
    await Promise.all([am?.stop(), prefixed?.stop()]);
    await hook?.close();
  });

  function received(name: string): Webhook['alerts'] {
    return hook.alerts.filter((a) => a.labels.alertname === name);
  }

  it('delivers alerts with their labels, annotations and the external labels', async () => {
    const reg = new Registry();
    const n = new AlertNotifier({
      alertmanagers: parseAlertmanagersConfig(`alertmanagers:\n- static_configs: ["${am.address}"]\n`),
      externalLabels: labelsFromRecord({ cluster: 'eu-1', replica: 'r0' }),
      labelDrop: ['replica'],
      registry: reg,
    });
    await n.start();
    try {
      n.send([firing('Delivered', { severity: 'page' })]);
      const [got] = await waitFor(() => received('Delivered').length > 0 && received('Delivered'), { what: 'webhook notification', timeoutMs: 15_000 });
      expect(got.status).toBe('firing');
      expect(got.labels).toEqual({ alertname: 'Delivered', severity: 'page', cluster: 'eu-1' });
      expect(got.annotations).toEqual({ summary: 'Delivered is firing', value: '42' });
      expect(got.generatorURL).toBe('http://query:9090/graph?g0.expr=up');
      expect(await value(reg, 'thanos_alert_sender_alerts_sent_total', { alertmanager: am.address })).toBe(1);
      expect(await value(reg, 'thanos_alert_sender_errors_total')).toBe(0);

      // Resolved: endsAt in the past.
      n.send([{ ...firing('Delivered', { severity: 'page' }), endsAt: Date.now() - 1000 }]);
      await waitFor(() => received('Delivered').some((a) => a.status === 'resolved'), { what: 'resolved notification', timeoutMs: 15_000 });
    } finally {
      await n.stop();
    }
  });

  it('delivers when one of two Alertmanagers is down, counting the error', async () => {
    const reg = new Registry();
    const down = `127.0.0.1:${await freePort()}`;
    const n = new AlertNotifier({
      alertmanagers: parseAlertmanagersConfig(`alertmanagers:\n- static_configs: ["${down}", "${am.address}"]\n  timeout: 2s\n`),
      registry: reg,
    });
    await n.start();
    try {
      n.send([firing('OneDown')]);
      await waitFor(() => received('OneDown').length > 0, { what: 'webhook notification', timeoutMs: 15_000 });
      await waitFor(async () => (await value(reg, 'thanos_alert_sender_errors_total', { alertmanager: down })) === 1, { what: 'error counted' });
      expect(await value(reg, 'thanos_alert_sender_alerts_sent_total', { alertmanager: am.address })).toBe(1);
      expect(await value(reg, 'thanos_alert_sender_alerts_dropped_total')).toBe(0);
    } finally {
      await n.stop();
    }
  });

  it('sends with api_version v1 and to a path prefix', async () => {
    const n = new AlertNotifier({
      alertmanagers: parseAlertmanagersConfig(`
alertmanagers:
- static_configs: ["${am.address}"]
  api_version: v1
- static_configs: ["${prefixed.address}"]
  path_prefix: /am
`),
    });
    await n.start();
    try {
      n.send([firing('Versions')]);
      // Both Alertmanagers notify the same webhook.
      await waitFor(() => received('Versions').length >= 2, { what: 'two notifications', timeoutMs: 15_000 });
    } finally {
      await n.stop();
    }
  });

  it('picks up Alertmanagers from a file SD file written later', async () => {
    const reg = new Registry();
    const dir = await tempDir('notifier-file-sd');
    const n = new AlertNotifier({
      alertmanagers: parseAlertmanagersConfig(`alertmanagers:\n- file_sd_configs: [{files: ["${dir}/*.yml"], refresh_interval: 1h}]\n`),
      registry: reg,
    });
    await n.start();
    try {
      expect(n.alertmanagers()).toEqual([]);
      n.send([firing('BeforeSD')]);
      await waitFor(async () => (await value(reg, 'thanos_alert_sender_alerts_dropped_total')) === 1, { what: 'alert dropped without Alertmanagers' });

      await writeFile(join(dir, 'tmp'), `- targets: ["${am.address}"]\n  labels: {env: test}\n`);
      await rename(join(dir, 'tmp'), join(dir, 'am.yml'));
      await waitFor(() => n.alertmanagers().length === 1, { what: 'file SD update', timeoutMs: 10_000 });
      expect(n.alertmanagers()).toEqual([`http://${am.address}/`]);
      n.send([firing('AfterSD')]);
      await waitFor(() => received('AfterSD').length > 0, { what: 'webhook notification', timeoutMs: 15_000 });
    } finally {
      await n.stop();
    }
  });
});

describe('AlertNotifier requests', () => {
  it('sends basic auth and the path prefix of --alertmanagers.url, in batches', async () => {
    const rec = await startRecorder(200);
    const n = new AlertNotifier({ alertmanagers: [alertmanagerConfigFromURL(`http://alice:s3cret@${rec.address}/prefix/`, 5000)], maxBatchSize: 2 });
    await n.start();
    try {
      n.send([firing('A'), firing('B'), firing('C')]);
      await waitFor(() => rec.requests.length === 2, { what: 'two batches' });
      expect(rec.requests[0].path).toBe('/prefix/api/v2/alerts');
      expect(rec.requests[0].headers.authorization).toBe(`Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
      expect(rec.requests[0].headers['content-type']).toBe('application/json');
      expect((JSON.parse(rec.requests[0].body) as unknown[]).length).toBe(2);
      expect((JSON.parse(rec.requests[1].body) as unknown[]).length).toBe(1);
    } finally {
      await n.stop();
      await rec.close();
    }
  });

  it('reads bearer_token_file at each request', async () => {
    const rec = await startRecorder(200);
    const dir = await tempDir('notifier-token');
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'tok-1\n');
    const n = new AlertNotifier({ alertmanagers: parseAlertmanagersConfig(`alertmanagers:\n- static_configs: ["${rec.address}"]\n  http_config: {bearer_token_file: "${tokenFile}"}\n`) });
    await n.start();
    try {
      n.send([firing('A')]);
      await waitFor(() => rec.requests.length === 1);
      await writeFile(tokenFile, 'tok-2');
      n.send([firing('B')]);
      await waitFor(() => rec.requests.length === 2);
      expect(rec.requests.map((r) => r.headers.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2']);
    } finally {
      await n.stop();
      await rec.close();
    }
  });

  it('gives up on an Alertmanager after the timeout and drops when none accepted', async () => {
    const reg = new Registry();
    const hang = await startRecorder(null);
    const fail = await startRecorder(500);
    const n = new AlertNotifier({ alertmanagers: parseAlertmanagersConfig(`alertmanagers:\n- static_configs: ["${hang.address}", "${fail.address}"]\n  timeout: 300ms\n`), registry: reg });
    await n.start();
    try {
      const t0 = Date.now();
      n.send([firing('A'), firing('B')]);
      await waitFor(async () => (await value(reg, 'thanos_alert_sender_alerts_dropped_total')) === 2, { what: 'alerts dropped' });
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(await value(reg, 'thanos_alert_sender_errors_total', { alertmanager: hang.address })).toBe(1);
      expect(await value(reg, 'thanos_alert_sender_errors_total', { alertmanager: fail.address })).toBe(1);
      expect(await value(reg, 'thanos_alert_sender_alerts_sent_total')).toBe(0);
    } finally {
      await n.stop();
      await hang.close();
      await fail.close();
    }
  });

  it('drops the oldest alerts when the queue overflows while a send is in flight', async () => {
    const reg = new Registry();
    const hang = await startRecorder(null);
    const n = new AlertNotifier({ alertmanagers: parseAlertmanagersConfig(`alertmanagers:\n- static_configs: ["${hang.address}"]\n  timeout: 10s\n`), queueCapacity: 3, maxBatchSize: 1, registry: reg });
    await n.start();
    try {
      n.send([firing('first')]);
      await waitFor(() => hang.requests.length === 1, { what: 'first request in flight' });
      n.send(['a', 'b', 'c', 'd', 'e'].map((x) => firing(x)));
      expect(await value(reg, 'thanos_alert_queue_alerts_dropped_total')).toBe(2);
      expect(await value(reg, 'thanos_alert_queue_length')).toBe(3);
      expect(n.queue.pop().map((a) => a.labels.find((l) => l.name === 'alertname')!.value)).toEqual(['c']);
    } finally {
      await n.stop(100);
      await hang.close();
    }
  });

  it('stop() sends what is still queued', async () => {
    const rec = await startRecorder(200);
    const n = new AlertNotifier({ alertmanagers: [alertmanagerConfigFromURL(`http://${rec.address}`, 5000)], maxBatchSize: 1 });
    await n.start();
    n.send(['a', 'b', 'c', 'd'].map((x) => firing(x)));
    await n.stop(5000);
    expect(rec.requests).toHaveLength(4);
    await rec.close();
  });
});
