import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { prometheus, snappyDecompress } from '@thanos-ts/storeapi';
import { startPrometheus, waitFor } from '@thanos-ts/testutil';
import type { PrometheusInstance } from '@thanos-ts/testutil';
import { InvalidSampleError, labelsFromRecord, OutOfOrderSampleError, STALE_NAN } from '@thanos-ts/tsdb';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_REMOTE_WRITE_QUEUE_CONFIG, parseRemoteWriteConfig, RemoteWriteAppendable, withoutRestoreIgnoredLabels } from './remote-write.js';
import type { RemoteWriteConfig } from './remote-write.js';

describe('parseRemoteWriteConfig', () => {
  it("fills in Prometheus's defaults and names an unnamed queue by its config hash", () => {
    const [c] = parseRemoteWriteConfig('remote_write:\n- url: http://receive:19291/api/v1/receive\n');
    expect(c.url).toBe('http://receive:19291/api/v1/receive');
    expect(c.name).toMatch(/^[0-9a-f]{6}$/);
    expect(c.remoteTimeoutMs).toBe(30_000);
    expect(c.queueConfig).toEqual(DEFAULT_REMOTE_WRITE_QUEUE_CONFIG);
    expect(c.queueConfig).toMatchObject({ capacity: 10_000, maxSamplesPerSend: 2000, batchSendDeadlineMs: 5000, minBackoffMs: 30, maxBackoffMs: 5000, retryOnHTTP429: false });
    expect(c.basicAuth).toBeNull();
    expect(c.authorization).toBeNull();
    expect(c.protobufMessage).toBe('prometheus.WriteRequest');
    expect(parseRemoteWriteConfig('')).toEqual([]);
    expect(parseRemoteWriteConfig('remote_write: []')).toEqual([]);
  });

  it('reads every supported field', () => {
    const [a, b] = parseRemoteWriteConfig(`
remote_write:
- url: https://u:secret@rw.example:443/push
  name: primary
  remote_timeout: 10s
  headers: { X-Scope-OrgID: tenant-a }
  basic_auth: { username: alice, password_file: /etc/pw }
  tls_config: { ca_file: /ca.pem, cert_file: /c.pem, key_file: /k.pem, server_name: rw, insecure_skip_verify: true, min_version: TLS12 }
  queue_config: { capacity: 100, max_shards: 4, min_shards: 2, max_samples_per_send: 10, batch_send_deadline: 1s, min_backoff: 10ms, max_backoff: 1s, retry_on_http_429: true }
  metadata_config: { send: true, send_interval: 1m, max_samples_per_send: 500 }
  write_relabel_configs:
  - source_labels: [__name__]
    regex: 'secret_.*'
    action: drop
  protobuf_message: prometheus.WriteRequest
  follow_redirects: true
  enable_http2: false
- url: http://other/push
  bearer_token: tok
`);
    expect(a.name).toBe('primary');
    expect(a.remoteTimeoutMs).toBe(10_000);
    expect(a.headers).toEqual({ 'X-Scope-OrgID': 'tenant-a' });
    expect(a.basicAuth).toEqual({ username: 'alice', usernameFile: '', password: '', passwordFile: '/etc/pw' });
    expect(a.tlsConfig).toMatchObject({ caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem', serverName: 'rw', insecureSkipVerify: true, minVersion: 'TLSv1.2' });
    expect(a.queueConfig).toEqual({ capacity: 100, maxShards: 4, minShards: 2, maxSamplesPerSend: 10, batchSendDeadlineMs: 1000, minBackoffMs: 10, maxBackoffMs: 1000, retryOnHTTP429: true, sampleAgeLimitMs: 0 });
    expect(a.writeRelabelConfigs).toHaveLength(1);
    expect(b.authorization).toEqual({ type: 'Bearer', credentials: 'tok', credentialsFile: '' });
  });

  it('refuses what Prometheus refuses, and remote write 2.0', () => {
    const bad = (entry: string): string => {
      try {
        parseRemoteWriteConfig(`remote_write:\n- ${entry}\n`);
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error';
    };
    expect(bad('name: x')).toMatch(/url for remote_write is empty/);
    expect(bad('url: http://a\n  urll: http://b')).toMatch(/field urll not found in type config.RemoteWriteConfig/);
    expect(bad('url: http://a\n  queue_config: { max_samples: 1 }')).toMatch(/field max_samples not found in type config.QueueConfig/);
    expect(bad('url: http://a\n  metadata_config: { sendd: true }')).toMatch(/field sendd not found in type config.MetadataConfig/);
    expect(bad('url: http://a\n  basic_auth: { user: x }')).toMatch(/field user not found in type config.BasicAuth/);
    expect(bad('url: http://a\n  protobuf_message: io.prometheus.write.v2.Request')).toMatch(/remote write 2\.0.*not supported/);
    expect(bad('url: http://a\n  protobuf_message: foo')).toMatch(/invalid protobuf_message value/);
    expect(bad('url: http://a\n  headers: { Authorization: x }')).toMatch(/authorization header must be changed via the basic_auth/);
    expect(bad('url: http://a\n  headers: { Content-Type: x }')).toMatch(/Content-Type is a reserved header/);
    expect(bad('url: http://a\n  bearer_token: t\n  basic_auth: { username: u }')).toMatch(/at most one of basic_auth, oauth2, bearer_token & bearer_token_file/);
    expect(bad('url: http://a\n  bearer_token: t\n  bearer_token_file: f')).toMatch(/at most one of bearer_token & bearer_token_file/);
    expect(bad('url: http://a\n  authorization: { type: Basic, credentials: c }')).toMatch(/use "basic_auth" instead/);
    expect(bad('url: http://a\n  queue_config: { min_shards: 5, max_shards: 2 }')).toMatch(/min_shards must not be greater than max_shards/);
    expect(bad('url: http://a\n  queue_config: { min_backoff: 2s, max_backoff: 1s }')).toMatch(/max_backoff must not be less than min_backoff/);
    expect(bad('url: http://a\n  queue_config: { capacity: -1 }')).toMatch(/capacity must be positive/);
    expect(bad('url: http://a\n  remote_timeout: 10x')).toMatch(/remote_timeout/);
    expect(bad('url: http://a\n  write_relabel_configs: [null]')).toMatch(/empty or null relabeling rule/);
    expect(bad('url: http://a\n  write_relabel_configs: [{ action: nope }]')).toMatch(/nope/);
    expect(bad('url: http://a\n  tls_config: { cert_file: c }')).toMatch(/key or key_file must be configured/);
    expect(bad('url: http://a\n  sigv4: { region: eu }')).toMatch(/sigv4: not supported/);
    expect(bad('url: ftp://a')).toMatch(/unsupported scheme "ftp"/);
    expect(() => parseRemoteWriteConfig('remote_write:\n- { url: http://a, name: x }\n- { url: http://b, name: x }')).toThrow(/found multiple remote write configs with job name "x"/);
    expect(() => parseRemoteWriteConfig('remote_write:\n- { url: http://a }\n- { url: http://a }')).toThrow(/duplicate remote write configs are not allowed/);
    expect(() => parseRemoteWriteConfig('global: {}\nremote_write: []')).toThrow(/field global not found/);
    expect(() => parseRemoteWriteConfig('remote_write: [')).toThrow(/parse remote write config/);
  });
});

/** A remote-write receiver that answers from a script and records what it got. */
interface Received {
  headers: IncomingHttpHeaders;
  series: { labels: Record<string, string>; samples: [number, number][] }[];
}

async function startReceiver(answer: (n: number) => number | [number, Record<string, string>]): Promise<{ url: string; got: Received[]; attempts: () => number; close: () => Promise<void> }> {
  const got: Received[] = [];
  let attempts = 0;
  const srv: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const a = answer(attempts++);
      const [code, headers] = typeof a === 'number' ? [a, {}] : a;
      if (code === 0) return void req.socket.destroy(); // a network error
      if (code === 200) {
        const wr = prometheus.WriteRequest.decode(snappyDecompress(Buffer.concat(chunks)));
        got.push({
          headers: req.headers,
          series: wr.timeseries.map((ts) => ({ labels: Object.fromEntries(ts.labels.map((l) => [l.name, l.value])), samples: ts.samples.map((s) => [Number(s.timestamp), s.value] as [number, number]) })),
        });
      }
      res.writeHead(code, headers).end(code === 200 ? '' : `status ${code}\nsecond line`);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/api/v1/write`,
    got,
    attempts: () => attempts,
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

function config(url: string, queue: Record<string, unknown> = {}): RemoteWriteConfig {
  const q = { batch_send_deadline: '50ms', min_backoff: '20ms', max_backoff: '100ms', ...queue };
  return parseRemoteWriteConfig(`remote_write:\n- url: ${url}\n  name: test\n  queue_config: ${JSON.stringify(q)}\n`)[0];
}

async function metricValue(reg: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await reg.getMetricsAsJSON()).find((x) => x.name === name);
  const v = (m?.values as { value: number; labels: Record<string, string | number> }[] | undefined)?.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

const ls = (r: Record<string, string>): ReturnType<typeof labelsFromRecord> => labelsFromRecord(r);

describe('RemoteWriteAppendable against a test receiver', () => {
  it('sends committed samples with the remote write headers and basic auth, and retries a 500', async () => {
    const rcv = await startReceiver((n) => (n === 0 ? 500 : 200));
    const reg = new Registry();
    const cfg = parseRemoteWriteConfig(`remote_write:\n- url: ${rcv.url}\n  name: test\n  headers: { X-Scope-OrgID: team-a }\n  basic_auth: { username: alice, password: s3cret }\n  queue_config: { batch_send_deadline: 50ms, min_backoff: 20ms }\n`);
    const rw = new RemoteWriteAppendable({ configs: cfg, externalLabels: ls({ replica: 'r1' }), registry: reg });
    await rw.start();
    try {
      const app = rw.appender();
      const ref = app.append(0, ls({ __name__: 'job:up:sum', job: 'a' }), 1000, 1);
      expect(app.append(ref, ls({ __name__: 'job:up:sum', job: 'a' }), 2000, 2)).toBe(ref);
      app.append(0, ls({ __name__: 'job:up:sum', job: 'b', replica: 'own' }), 1000, 3);
      await app.commit();
      await waitFor(() => rcv.got.length === 1, { timeoutMs: 5000 });
      expect(rcv.attempts()).toBe(2);
      const [req] = rcv.got;
      expect(req.headers['content-encoding']).toBe('snappy');
      expect(req.headers['content-type']).toBe('application/x-protobuf');
      expect(req.headers['x-prometheus-remote-write-version']).toBe('0.1.0');
      expect(req.headers['user-agent']).toMatch(/^Prometheus\//);
      expect(req.headers['x-scope-orgid']).toBe('team-a');
      expect(req.headers.authorization).toBe(`Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
      // External labels are added, but a series' own label wins (processExternalLabels).
      expect(req.series).toEqual([
        { labels: { __name__: 'job:up:sum', job: 'a', replica: 'r1' }, samples: [[1000, 1], [2000, 2]] },
        { labels: { __name__: 'job:up:sum', job: 'b', replica: 'own' }, samples: [[1000, 3]] },
      ]);
      const q = { remote_name: 'test', url: rcv.url };
      expect(await metricValue(reg, 'prometheus_remote_storage_samples_retried_total', q)).toBe(3);
      expect(await metricValue(reg, 'prometheus_remote_storage_samples_total', q)).toBe(6); // counted per attempt, as Prometheus
      expect(await metricValue(reg, 'prometheus_remote_storage_samples_failed_total', q)).toBe(0);
      await waitFor(async () => (await metricValue(reg, 'prometheus_remote_storage_samples_pending', q)) === 0, { timeoutMs: 2000 });
    } finally {
      await rw.stop();
      await rcv.close();
    }
  });

  it('drops a batch answered 400 (counted as failed) and goes on with the next', async () => {
    const rcv = await startReceiver((n) => (n === 0 ? 400 : 200));
    const reg = new Registry();
    const rw = new RemoteWriteAppendable({ configs: [config(rcv.url)], registry: reg });
    await rw.start();
    try {
      const app = rw.appender();
      app.append(0, ls({ __name__: 'a' }), 1000, 1);
      await app.commit();
      await waitFor(() => rcv.attempts() === 1, { timeoutMs: 5000 });
      app.append(0, ls({ __name__: 'a' }), 2000, 2);
      await app.commit();
      await waitFor(() => rcv.got.length === 1, { timeoutMs: 5000 });
      expect(rcv.attempts()).toBe(2);
      expect(rcv.got[0].series[0].samples).toEqual([[2000, 2]]);
      const q = { remote_name: 'test' };
      expect(await metricValue(reg, 'prometheus_remote_storage_samples_failed_total', q)).toBe(1);
      expect(await metricValue(reg, 'prometheus_remote_storage_samples_retried_total', q)).toBe(0);
    } finally {
      await rw.stop();
      await rcv.close();
    }
  });

  it('retries after a network error', async () => {
    const rcv = await startReceiver((n) => (n < 2 ? 0 : 200));
    const reg = new Registry();
    const rw = new RemoteWriteAppendable({ configs: [config(rcv.url)], registry: reg });
    await rw.start();
    try {
      const app = rw.appender();
      app.append(0, ls({ __name__: 'a' }), 1000, 1);
      await app.commit();
      await waitFor(() => rcv.got.length === 1, { timeoutMs: 5000 });
      expect(await metricValue(reg, 'prometheus_remote_storage_samples_retried_total')).toBe(2);
    } finally {
      await rw.stop();
      await rcv.close();
    }
  });

  it('retries a 429 only with retry_on_http_429, honouring Retry-After', async () => {
    for (const retry of [false, true]) {
      const rcv = await startReceiver((n) => (n === 0 ? [429, { 'Retry-After': '1' }] : 200));
      const reg = new Registry();
      const rw = new RemoteWriteAppendable({ configs: [config(rcv.url, { retry_on_http_429: retry })], registry: reg });
      await rw.start();
      try {
        const app = rw.appender();
        app.append(0, ls({ __name__: 'a' }), 1000, 1);
        const t0 = Date.now();
        await app.commit();
        if (retry) {
          await waitFor(() => rcv.got.length === 1, { timeoutMs: 5000 });
          expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
          expect(await metricValue(reg, 'prometheus_remote_storage_samples_retried_total')).toBe(1);
        } else {
          await waitFor(async () => (await metricValue(reg, 'prometheus_remote_storage_samples_failed_total')) === 1, { timeoutMs: 5000 });
          expect(rcv.attempts()).toBe(1);
        }
      } finally {
        await rw.stop();
        await rcv.close();
      }
    }
  });

  it('keeps the samples of a series in order across many small batches, with several shards', async () => {
    const rcv = await startReceiver((n) => (n % 3 === 1 ? 503 : 200));
    const reg = new Registry();
    const rw = new RemoteWriteAppendable({ configs: [config(rcv.url, { max_samples_per_send: 3, min_shards: 4, max_shards: 4 })], registry: reg });
    await rw.start();
    try {
      for (let i = 0; i < 20; i++) {
        const app = rw.appender();
        for (const s of ['a', 'b', 'c', 'd', 'e']) app.append(0, ls({ __name__: 'm', s }), i * 1000, i);
        await app.commit();
      }
      await waitFor(() => rcv.got.reduce((n, r) => n + r.series.reduce((m, s) => m + s.samples.length, 0), 0) === 100, { timeoutMs: 10_000 });
      const perSeries = new Map<string, number[]>();
      for (const r of rcv.got) {
        for (const s of r.series) {
          const key = s.labels.s;
          perSeries.set(key, [...(perSeries.get(key) ?? []), ...s.samples.map(([t]) => t)]);
        }
      }
      expect(perSeries.size).toBe(5);
      for (const ts of perSeries.values()) expect(ts).toEqual(Array.from({ length: 20 }, (_, i) => i * 1000));
    } finally {
      await rw.stop();
      await rcv.close();
    }
  });

  it('refuses out-of-order and empty series like the agent DB, and forgets rolled-back samples', async () => {
    const rcv = await startReceiver(() => 200);
    const rw = new RemoteWriteAppendable({ configs: [config(rcv.url)], registry: new Registry() });
    await rw.start();
    try {
      const app = rw.appender();
      app.append(0, ls({ __name__: 'a' }), 5000, 1);
      await app.commit();
      expect(() => app.append(0, ls({ __name__: 'a' }), 4000, 1)).toThrow(OutOfOrderSampleError);
      expect(() => app.append(0, [], 4000, 1)).toThrow(InvalidSampleError);
      expect(() => app.append(0, ls({ a: '' }), 4000, 1)).toThrow(InvalidSampleError);
      app.append(0, ls({ __name__: 'rolled_back' }), 6000, 1);
      await app.rollback();
      app.append(0, ls({ __name__: 'a' }), 5000, 1); // same timestamp is fine, as in the agent
      await app.commit();
      await rw.stop();
      const names = rcv.got.flatMap((r) => r.series.map((s) => s.labels.__name__));
      expect(names).not.toContain('rolled_back');
      await expect(rw.appender().commit()).rejects.toThrow(/stopped/);
    } finally {
      await rw.stop();
      await rcv.close();
    }
  });

  it('applies write_relabel_configs per queue and counts what they drop', async () => {
    const rcv = await startReceiver(() => 200);
    const reg = new Registry();
    const cfg = parseRemoteWriteConfig(`remote_write:\n- url: ${rcv.url}\n  name: test\n  queue_config: { batch_send_deadline: 50ms }\n  write_relabel_configs:\n  - { source_labels: [__name__], regex: 'secret_.*', action: drop }\n  - { target_label: via, replacement: ruler }\n`);
    const rw = new RemoteWriteAppendable({ configs: cfg, registry: reg });
    await rw.start();
    try {
      const app = rw.appender();
      app.append(0, ls({ __name__: 'secret_x' }), 1000, 1);
      app.append(0, ls({ __name__: 'public_x' }), 1000, 2);
      await app.commit();
      await waitFor(() => rcv.got.length === 1, { timeoutMs: 5000 });
      expect(rcv.got[0].series).toEqual([{ labels: { __name__: 'public_x', via: 'ruler' }, samples: [[1000, 2]] }]);
      expect(await metricValue(reg, 'prometheus_remote_storage_samples_dropped_total', { reason: 'dropped_series' })).toBe(1);
    } finally {
      await rw.stop();
      await rcv.close();
    }
  });

  it('flushes on stop(), and gives up at the flush deadline when the receiver keeps failing', async () => {
    const ok = await startReceiver(() => 200);
    const rw = new RemoteWriteAppendable({ configs: [config(ok.url, { batch_send_deadline: '1h' })], registry: new Registry() });
    await rw.start();
    const app = rw.appender();
    app.append(0, ls({ __name__: 'a' }), 1000, 1);
    await app.commit();
    await new Promise((r) => setTimeout(r, 100));
    expect(ok.got).toHaveLength(0); // waiting for a full batch or the deadline
    await rw.stop();
    expect(ok.got).toHaveLength(1);
    await ok.close();

    const failing = await startReceiver(() => 500);
    const reg = new Registry();
    const rw2 = new RemoteWriteAppendable({ configs: [config(failing.url)], registry: reg, flushDeadlineMs: 300 });
    await rw2.start();
    const app2 = rw2.appender();
    app2.append(0, ls({ __name__: 'a' }), 1000, 1);
    app2.append(0, ls({ __name__: 'b' }), 1000, 1);
    await app2.commit();
    const t0 = Date.now();
    await rw2.stop();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await metricValue(reg, 'prometheus_remote_storage_samples_dropped_total', { reason: 'shutdown' })).toBe(2);
    expect(await metricValue(reg, 'prometheus_remote_storage_samples_pending')).toBe(0);
    await failing.close();
  });

  it('drops (and counts) samples beyond the queue capacity instead of blocking the rules', async () => {
    const rcv = await startReceiver(() => 200);
    const reg = new Registry();
    const cfg = config(rcv.url, { capacity: 3, max_samples_per_send: 100, batch_send_deadline: '1h' });
    const rw = new RemoteWriteAppendable({ configs: [cfg], registry: reg });
    await rw.start();
    const app = rw.appender();
    for (let i = 0; i < 5; i++) app.append(0, ls({ __name__: 'a' }), i * 1000, i);
    await app.commit();
    expect(await metricValue(reg, 'prometheus_remote_storage_samples_dropped_total', { reason: 'queue_full' })).toBe(2);
    expect(await metricValue(reg, 'prometheus_remote_storage_samples_pending')).toBe(3);
    await rw.stop();
    expect(rcv.got[0].series[0].samples).toEqual([[0, 0], [1000, 1], [2000, 2]]);
    await rcv.close();
  });
});

describe('withoutRestoreIgnoredLabels', () => {
  it('drops the ignored labels from the restored series', async () => {
    const src = withoutRestoreIgnoredLabels(async () => [{ labels: ls({ alertname: 'A', replica: 'r1' }), t: 1, v: 2 }], ['replica']);
    expect(await src([], 0, 1)).toEqual([{ labels: ls({ alertname: 'A' }), t: 1, v: 2 }]);
  });
});

describe('RemoteWriteAppendable against Prometheus 2.42', () => {
  let prom: PrometheusInstance;
  beforeAll(async () => {
    prom = await startPrometheus({ scrapeSelf: false, extraArgs: ['--web.enable-remote-write-receiver'] });
  }, 60_000);
  afterAll(async () => {
    await prom?.stop();
  });

  async function query(q: string, t: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(q)}&time=${t / 1000}`);
    const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== 'success') throw new Error(JSON.stringify(body));
    return body.data.result;
  }

  it('lands recording results and ALERTS_FOR_STATE in Prometheus, in order, and stale markers end the series', async () => {
    const reg = new Registry();
    const cfg = config(`${prom.url}/api/v1/write`, { max_samples_per_send: 2 });
    const rw = new RemoteWriteAppendable({ configs: [cfg], externalLabels: ls({ ruler: 'r1' }), registry: reg });
    await rw.start();
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    try {
      for (let i = 0; i < 10; i++) {
        const app = rw.appender();
        app.append(0, ls({ __name__: 'job:requests:rate5m', job: 'api' }), t0 + i * 1000, i * 1.5);
        app.append(0, ls({ __name__: 'ALERTS_FOR_STATE', alertname: 'HighLoad', job: 'api' }), t0 + i * 1000, t0 / 1000);
        await app.commit();
      }
      const stale = rw.appender();
      stale.append(0, ls({ __name__: 'job:requests:rate5m', job: 'api' }), t0 + 10_000, STALE_NAN);
      await stale.commit();
      const at = t0 + 9000;
      await waitFor(async () => (await query('count_over_time(job:requests:rate5m[1m])', at)).length === 1 && (await query('count_over_time(job:requests:rate5m[1m])', at))[0].value[1] === '10', {
        timeoutMs: 10_000,
        what: 'all 10 samples in Prometheus',
      });
      expect(await query('job:requests:rate5m', at)).toEqual([{ metric: { __name__: 'job:requests:rate5m', job: 'api', ruler: 'r1' }, value: [at / 1000, '13.5'] }]);
      expect(await query('ALERTS_FOR_STATE', at)).toEqual([{ metric: { __name__: 'ALERTS_FOR_STATE', alertname: 'HighLoad', job: 'api', ruler: 'r1' }, value: [at / 1000, String(t0 / 1000)] }]);
      // The stale marker survived encoding: the series is gone right after it.
      await waitFor(async () => (await query('job:requests:rate5m', t0 + 10_500)).length === 0, { timeoutMs: 5000, what: 'series stale in Prometheus' });
      expect(await metricValue(reg, 'prometheus_remote_storage_samples_failed_total')).toBe(0);
    } finally {
      await rw.stop();
    }
  }, 30_000);
});
