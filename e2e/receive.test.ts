// The receiver fed by a real Prometheus 2.42 through remote write: a `thanos-ts query`
// over its StoreAPI answers as that Prometheus does; every sample acknowledged with 200
// survives a kill -9 (WAL replay); a malformed body is a 400; the tenant header puts the
// data under another tenant_id.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { prometheus, snappyCompress, StoreClient } from '@thanos-ts/storeapi';
import { chunkFromBytes, ValueType } from '@thanos-ts/tsdb';
import { freePort, removeTempDirs, startExporter, startPrometheus, tempDir, waitFor } from '@thanos-ts/testutil';
import { api } from './api.js';
import { BIN } from './cli.js';
import { startComponent } from './components.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await removeTempDirs();
});

/** A receive process on fixed ports, so it can be killed with SIGKILL and started again. */
async function startReceive(dir: string): Promise<{ rw: string; grpc: string; http: string; start(): Promise<void>; kill(): Promise<void>; stop(): Promise<void>; logs(): string }> {
  const [rw, grpc, http] = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
  const args = ['receive', '--tsdb.path', dir, '--remote-write.address', rw, '--grpc-address', grpc, '--http-address', http, '--label', 'cluster="e2e"', '--grpc-grace-period', '1s'];
  let child: ChildProcess | null = null;
  let log = '';
  const exited = (c: ChildProcess): Promise<void> => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', () => r())));
  const r = {
    rw,
    grpc,
    http,
    logs: () => log,
    async start(): Promise<void> {
      const c = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      c.stdout!.on('data', (b: Buffer) => (log += b.toString()));
      c.stderr!.on('data', (b: Buffer) => (log += b.toString()));
      await waitFor(
        async () => {
          if (c.exitCode !== null) throw new Error(`receive exited ${c.exitCode}:\n${log}`);
          return (await fetch(`http://${http}/-/ready`)).status === 200;
        },
        { timeoutMs: 20_000, what: 'receive ready' },
      );
    },
    async kill(): Promise<void> {
      if (child === null) return;
      child.kill('SIGKILL');
      await exited(child);
    },
    async stop(): Promise<void> {
      if (child === null) return;
      child.kill('SIGTERM');
      await exited(child);
    },
  };
  await r.start();
  cleanups.push(() => r.kill());
  return r;
}

function writeBody(series: { labels: Record<string, string>; samples: [number, number][] }[]): Uint8Array {
  const w = prometheus.WriteRequest.encode({
    timeseries: series.map((s) => ({ labels: Object.entries(s.labels).map(([name, value]) => ({ name, value })), samples: s.samples.map(([timestamp, value]) => ({ timestamp, value })) })),
  }).finish();
  return snappyCompress(w);
}

async function push(rw: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://${rw}/api/v1/receive`, { method: 'POST', body, headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Write-Version': '0.1.0', ...headers } });
  return { status: res.status, text: await res.text() };
}

/** Every sample of `metric` over StoreAPI, keyed by tenant_id. */
async function samplesOf(grpc: string, metric: string): Promise<Map<string, [number, number][]>> {
  const c = new StoreClient(grpc);
  try {
    const out = new Map<string, [number, number][]>();
    for await (const f of c.series({ minTime: 0, maxTime: Date.now() + 3600_000, matchers: [{ type: 0, name: '__name__', value: metric }] })) {
      if (!f.series) continue;
      const tenant = f.series.labels.find((l) => l.name === 'tenant_id')?.value ?? '';
      const list = out.get(tenant) ?? [];
      for (const ch of f.series.chunks) {
        const it = chunkFromBytes(ch.raw!.type + 1, ch.raw!.data).iterator();
        while (it.next() !== ValueType.None) list.push([it.atT(), it.atF()]);
      }
      out.set(tenant, list);
    }
    return out;
  } finally {
    c.close();
  }
}

/** A vector result without the labels only one side has, sorted, for comparison. */
function normalize(result: { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[]): string[] {
  return result
    .map((r) => {
      const { cluster: _c, tenant_id: _t, ...m } = r.metric;
      return `${JSON.stringify(Object.entries(m).sort())} ${JSON.stringify(r.value ?? r.values)}`;
    })
    .sort();
}

describe('receive', () => {
  it('takes remote write from Prometheus, serves it to query, survives kill -9, checks bodies and tenants', async () => {
    let n = 0;
    const exporter = await startExporter(() => {
      n++;
      return `# TYPE e2e_requests_total counter\ne2e_requests_total{code="200"} ${n * 3}\ne2e_requests_total{code="500"} ${n}\n# TYPE e2e_temp gauge\ne2e_temp ${(n % 7) * 1.5}\n`;
    });
    cleanups.push(() => exporter.stop());
    const recv = await startReceive(await tempDir('receive-tsdb'));
    const [prom, query] = await Promise.all([
      startPrometheus({
        scrapeInterval: '1s',
        scrapeSelf: false,
        config: {
          scrape_configs: [{ job_name: 'exp', static_configs: [{ targets: [exporter.target] }] }],
          remote_write: [{ url: `http://${recv.rw}/api/v1/receive`, queue_config: { batch_send_deadline: '500ms', min_backoff: '100ms', max_backoff: '500ms' } }],
        },
      }),
      startComponent(['query', '--endpoint', recv.grpc, '--store.sd-dns-interval', '1s']),
    ]);
    cleanups.push(() => prom.stop());
    cleanups.push(() => query.stop());
    const qurl = `http://${query.httpAddress}`;

    // Same answers as Prometheus at a time both have, once remote write caught up.
    await waitFor(
      async () => {
        const r = await api(prom.url, '/api/v1/query', { query: 'count_over_time(e2e_temp[1m]) >= 5' });
        return r.body.data?.result?.length === 1;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: 'Prometheus has scraped 5 times' },
    );
    const t = ((Date.now() - 2000) / 1000).toFixed(3);
    for (const q of ['e2e_requests_total', 'e2e_requests_total[5s]', 'sum by (code) (e2e_requests_total)', 'max_over_time(e2e_temp[5s])', 'e2e_temp']) {
      const want = await api(prom.url, '/api/v1/query', { query: q, time: t });
      expect(want.body.data.result.length, q).toBeGreaterThan(0);
      await waitFor(
        async () => {
          const got = await api(qurl, '/api/v1/query', { query: q, time: t });
          if (process.env.RECEIVE_E2E_DEBUG) console.log(q, got.text, want.text);
          return got.body.status === 'success' && JSON.stringify(normalize(got.body.data.result)) === JSON.stringify(normalize(want.body.data.result));
        },
        { timeoutMs: 15_000, intervalMs: 500, what: `query ${q} equal to Prometheus` },
      );
    }
    const labels = await api(qurl, '/api/v1/query', { query: 'e2e_temp', time: t });
    expect(labels.body.data.result[0].metric).toMatchObject({ cluster: 'e2e', tenant_id: 'default-tenant', job: 'exp' });

    // Malformed bodies: 400 with a message, nothing written.
    const bad = await push(recv.rw, Uint8Array.of(1, 2, 3, 4, 5));
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/snappy decode error/);
    const badProto = await push(recv.rw, snappyCompress(Buffer.from('not a protobuf message at all')));
    expect(badProto.status).toBe(400);

    // Acknowledged pushes, then kill -9 at once: all of them are there after the restart.
    const base = Date.now() - 60_000;
    const acked: [number, number][] = [];
    for (let i = 0; i < 50; i++) {
      const ts = base + i * 100;
      const r = await push(recv.rw, writeBody([{ labels: { __name__: 'e2e_pushed', src: 'test' }, samples: [[ts, i]] }]));
      expect(r.status).toBe(200);
      acked.push([ts, i]);
    }
    const other = await push(recv.rw, writeBody([{ labels: { __name__: 'e2e_pushed', src: 'test' }, samples: [[base, 42]] }]), { 'THANOS-TENANT': 'team-b' });
    expect(other.status).toBe(200);
    // Out of order in the default tenant: 409 with the count.
    const ooo = await push(recv.rw, writeBody([{ labels: { __name__: 'e2e_pushed', src: 'test' }, samples: [[base, 1]] }]));
    expect(ooo).toEqual({ status: 409, text: 'forwarding request to endpoint {}: writing locally: add 1 samples: out of order sample\n' });

    await recv.kill();
    await recv.start();
    expect(recv.logs()).toMatch(/opened tenant TSDB/);
    const after = await samplesOf(recv.grpc, 'e2e_pushed');
    expect(after.get('default-tenant')).toEqual(acked);
    expect(after.get('team-b')).toEqual([[base, 42]]);

    // The tenant header's data is under its own tenant_id through query too.
    await waitFor(
      async () => {
        const r = await api(qurl, '/api/v1/query', { query: 'e2e_pushed{tenant_id="team-b"}', time: ((base + 1000) / 1000).toFixed(3) });
        return r.body.data?.result?.length === 1 && r.body.data.result[0].value[1] === '42';
      },
      { timeoutMs: 20_000, intervalMs: 500, what: 'team-b through query' },
    );
    // Prometheus keeps writing after the restart.
    const before = (await samplesOf(recv.grpc, 'e2e_temp')).get('default-tenant')!.length;
    await waitFor(async () => ((await samplesOf(recv.grpc, 'e2e_temp')).get('default-tenant')?.length ?? 0) > before + 2, { timeoutMs: 15_000, what: 'remote write resumed' });

    await recv.stop();
  }, 90_000);
});
