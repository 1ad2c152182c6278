// Transport security end to end: a real Prometheus 2.42 behind our sidecar, whose
// StoreAPI speaks only TLS and wants a client certificate from the test's CA; our query
// dials it with a client certificate and snappy compression, and serves its own HTTP
// over TLS with basic auth (--http.config). A second query without a client certificate
// cannot reach the sidecar and says why in /api/v1/stores. Every certificate is made by
// the test (openssl).

import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCerts, removeTempDirs, startPrometheus, tempDir, waitFor } from '@thanos-ts/testutil';
import type { PrometheusInstance, TestCerts } from '@thanos-ts/testutil';
import { api } from './api.js';
import type { ApiBody } from './api.js';
import { startComponent } from './components.js';
import type { Component } from './components.js';

const USER = 'grafana';
const PASSWORD = 'correct horse battery staple';
// bcrypt (cost 10) of PASSWORD, as htpasswd -B or Prometheus's docs make them.
const PASSWORD_HASH = '$2b$10$.qb1ETGcf96reoxV1frXKOFy8dUkkO.r/tX6nbyJcmsUwfVBZLdhG';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A GET over HTTPS trusting only the test CA, optionally with basic auth (curl -u). */
function httpsGet(url: string, ca: string, auth?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      { ca: readFileSync(ca), agent: false, headers: auth ? { Authorization: 'Basic ' + Buffer.from(auth).toString('base64') } : {} },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

let certs: TestCerts;
let prom: PrometheusInstance;
let sidecar: Component;
let query: Component;
let stranger: Component;
let q: string;

beforeAll(async () => {
  certs = makeTestCerts(await tempDir('tls-certs'));
  const webConfig = join(certs.dir, 'web.yml');
  await writeFile(
    webConfig,
    [
      'tls_server_config:',
      `  cert_file: ${certs.serverCert}`,
      `  key_file: ${certs.serverKey}`,
      'basic_auth_users:',
      `  ${USER}: ${PASSWORD_HASH}`,
    ].join('\n'),
  );
  prom = await startPrometheus({ externalLabels: { cluster: 'secure' } });
  sidecar = await startComponent([
    'sidecar',
    '--prometheus.url', prom.url,
    '--tsdb.path', prom.dataDir,
    '--grpc-server-tls-cert', certs.serverCert,
    '--grpc-server-tls-key', certs.serverKey,
    '--grpc-server-tls-client-ca', certs.caCert,
  ]);
  // The two queries start side by side.
  const secureQuery = startComponent(
    [
      'query',
      '--endpoint', sidecar.grpcAddress,
      '--grpc-client-tls-secure',
      '--grpc-client-tls-ca', certs.caCert,
      '--grpc-client-tls-cert', certs.clientCert,
      '--grpc-client-tls-key', certs.clientKey,
      '--grpc-client-server-name', 'localhost',
      '--grpc-compression', 'snappy',
      '--http.config', webConfig,
      '--query.workers', '1',
    ],
    { waitReady: false },
  );
  [query, stranger] = await Promise.all([
    secureQuery,
    startComponent(['query', '--endpoint', sidecar.grpcAddress, '--grpc-client-tls-secure', '--grpc-client-tls-ca', certs.caCert, '--query.workers', '0']),
  ]);
  q = `https://localhost:${query.httpAddress.split(':').pop()}`;
  await waitFor(async () => (await httpsGet(`${q}/-/ready`, certs.caCert, `${USER}:${PASSWORD}`)).status === 200, {
    timeoutMs: 30_000,
    what: 'query ready over HTTPS',
  });
}, 120_000);

afterAll(async () => {
  await Promise.all([query?.stop(), stranger?.stop()]);
  await sidecar?.stop();
  await prom?.stop();
  await removeTempDirs();
});

/** The query's API over HTTPS with the right credentials. */
async function secureApi(path: string, params: Record<string, string>): Promise<ApiBody> {
  const r = await httpsGet(`${q}${path}?${new URLSearchParams(params)}`, certs.caCert, `${USER}:${PASSWORD}`);
  expect(r.status, r.text).toBe(200);
  return JSON.parse(r.text) as ApiBody;
}

describe('gRPC over TLS with client certificates and snappy', () => {
  it('the query answers PromQL from the sidecar as Prometheus does', async () => {
    // A moment every sample of which Prometheus has: both sides evaluate the same data.
    await waitFor(async () => Number((await api(prom.url, '/api/v1/query', { query: 'count_over_time(up[1m])' })).body.data?.result?.[0]?.value?.[1] ?? 0) >= 8, {
      what: 'eight scrapes',
    });
    // Well behind the last scrape, so no sample before it can still be on its way.
    const t = String(Date.now() / 1000 - 5);
    // cluster is an external label: only the query's series carry it.
    const expr = 'sum by (job, instance, cluster) (max_over_time(prometheus_http_requests_total[1m])) + up';
    await waitFor(async () => ((await secureApi('/api/v1/query', { query: 'up', time: t })).data?.result ?? []).length > 0, { what: 'the query to reach the sidecar' });
    const ours = await secureApi('/api/v1/query', { query: expr, time: t });
    const theirs = (await api(prom.url, '/api/v1/query', { query: expr, time: t })).body;
    expect(ours.status).toBe('success');
    const norm = (b: ApiBody): unknown =>
      (b.data?.result ?? [])
        .map((s: { metric: Record<string, string>; value: [number, string] }) => {
          const { cluster: _c, ...metric } = s.metric;
          return { metric, value: s.value };
        })
        .sort((a: { metric: object }, b: { metric: object }) => JSON.stringify(a.metric).localeCompare(JSON.stringify(b.metric)));
    expect(norm(ours)).toEqual(norm(theirs));
    expect((ours.data?.result ?? []).length).toBeGreaterThan(0);
    // The external label travelled through the TLS StoreAPI.
    expect(ours.data?.result?.[0]?.metric?.cluster).toBe('secure');
  });

  it('a query without a client certificate does not reach the sidecar, and /api/v1/stores says so', async () => {
    let entry: { name: string; lastError: string | null } | undefined;
    await waitFor(
      async () => {
        const body = (await api(`http://${stranger.httpAddress}`, '/api/v1/stores')).body;
        const all = Object.values((body.data ?? {}) as Record<string, { name: string; lastError: string | null }[]>).flat();
        entry = all.find((e) => e.name === sidecar.grpcAddress);
        return entry !== undefined && entry.lastError !== null;
      },
      { timeoutMs: 20_000, what: 'the failed endpoint in /api/v1/stores' },
    );
    expect(entry!.lastError).toMatch(/./);
    const r = await api(`http://${stranger.httpAddress}`, '/api/v1/query', { query: 'up' });
    expect(r.body.data?.result ?? []).toEqual([]);
  });
});

describe('HTTP over TLS with basic auth (--http.config)', () => {
  it('answers 200 with the right credentials', async () => {
    const r = await httpsGet(`${q}/api/v1/labels`, certs.caCert, `${USER}:${PASSWORD}`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text).status).toBe('success');
  });

  it('answers 401 with WWW-Authenticate: Basic otherwise, health endpoints included', async () => {
    for (const auth of [`${USER}:wrong`, `nobody:${PASSWORD}`, undefined]) {
      for (const path of ['/api/v1/query?query=up', '/-/healthy', '/metrics']) {
        const r = await httpsGet(`${q}${path}`, certs.caCert, auth);
        expect(r.status, `${path} as ${auth}`).toBe(401);
        expect(r.headers['www-authenticate']).toBe('Basic');
      }
    }
  });

  it('does not speak plain HTTP', async () => {
    await expect(fetch(`http://${query.httpAddress}/-/healthy`)).rejects.toThrow();
  });
});
