// The ruler in process against a stand-in query API (a loopback HTTP server answering
// /api/v1/query with a fixed vector): recording results land in its TSDB and are served
// over StoreAPI, the APIs show its groups, and a reload with a broken file keeps the
// rules in force.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nopLogger } from '@thanos-ts/runtime';
import { StoreClient } from '@thanos-ts/storeapi';
import { chunkFromBytes, ValueType } from '@thanos-ts/tsdb';
import { removeTempDirs, tempDir, waitFor } from '@thanos-ts/testutil';
import { Rule } from './rule.js';
import type { RuleConfig } from './rule.js';
import { parseRemoteWriteConfig } from './remote-write.js';
import { prometheus, snappyDecompress } from '@thanos-ts/storeapi';

afterAll(() => removeTempDirs());

const GOOD = `groups:
  - name: demo
    interval: 1s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: Down
        expr: up == 0
        labels: { severity: page }
`;

function config(dir: string, ruleFile: string, queryPort: number): RuleConfig {
  return {
    grpcAddress: '127.0.0.1:0',
    grpcGracePeriodMs: 1000,
    httpAddress: '127.0.0.1:0',
    httpConfigFile: '',
    externalLabels: [{ name: 'ruler', value: 'r1' }],
    blockDurationMs: 2 * 3600_000,
    retentionMs: 0,
    walCompression: true,
    dataDir: join(dir, 'data'),
    ruleFiles: [ruleFile],
    resendDelayMs: 60_000,
    evalIntervalMs: 60_000,
    queryOffsetMs: 0,
    forOutageToleranceMs: 3600_000,
    forGracePeriodMs: 600_000,
    queryAddresses: [`127.0.0.1:${queryPort}`],
    querySDFiles: [],
    querySDIntervalMs: 300_000,
    queryDNSIntervalMs: 30_000,
    queryHttpMethod: 'POST',
    queryOnlyPrometheusParams: false,
    queryConfigYAML: '',
    routePrefix: '',
    uploadCompacted: false,
    remoteWrite: null,
    restoreIgnoredLabels: [],
    queryDefaultStepMs: 1000,
    notifier: { alertmanagers: [], labelDrop: [], relabelConfigs: [], alertQueryURL: '', alertQueryTemplate: '/graph?g0.expr={{.Expr}}&g0.tab=1' },
    bucket: null,
    logger: nopLogger(),
  };
}

describe('Rule', () => {
  it('records through the query API, serves the results and its groups, and keeps its rules on a bad reload', async () => {
    const queries: string[] = [];
    const api = createServer((req, res) => {
      let body = '';
      req.on('data', (b: Buffer) => (body += b.toString()));
      req.on('end', () => {
        const p = new URLSearchParams(body);
        queries.push(`${p.get('query')} dedup=${p.get('dedup')}`);
        const t = Number(p.get('time'));
        const result = p.get('query') === 'sum by (job) (up)' ? [{ metric: { job: 'node' }, value: [t, '3'] }] : [];
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
      });
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    const dir = await tempDir('rule');
    const ruleFile = join(dir, 'rules.yml');
    await writeFile(ruleFile, GOOD);
    const rule = new Rule(config(dir, ruleFile, (api.address() as AddressInfo).port));
    await rule.start();
    try {
      // Two evaluations, one second apart: two samples of the recorded series.
      const c = new StoreClient(rule.grpcAddress);
      const samples = async (): Promise<[number, number][]> => {
        const out: [number, number][] = [];
        for await (const f of c.series({ minTime: 0, maxTime: Date.now() + 60_000, matchers: [{ type: 0, name: '__name__', value: 'job:up:sum' }] })) {
          if (!f.series) continue;
          expect(f.series.labels).toEqual([{ name: '__name__', value: 'job:up:sum' }, { name: 'job', value: 'node' }, { name: 'ruler', value: 'r1' }]);
          for (const ch of f.series.chunks) {
            const it = chunkFromBytes(ch.raw!.type + 1, ch.raw!.data).iterator();
            while (it.next() !== ValueType.None) out.push([it.atT(), it.atF()]);
          }
        }
        return out;
      };
      await waitFor(async () => (await samples()).length >= 2, { timeoutMs: 10_000, what: 'two evaluations recorded' });
      const s = await samples();
      expect(s[1][0] - s[0][0]).toBe(1000);
      expect(s.every(([, v]) => v === 3)).toBe(true);
      expect(queries).toContain('sum by (job) (up) dedup=true');
      const info = await c.info();
      expect(info.ComponentType).toBe('rule');
      c.close();

      const rules = (await (await fetch(`http://${rule.httpAddress}/api/v1/rules`)).json()) as { status: string; data: { groups: { name: string; file: string; rules: { type: string; name: string; health: string }[] }[] } };
      expect(rules.status).toBe('success');
      expect(rules.data.groups.map((g) => [g.name, g.file, g.rules.map((r) => `${r.type}:${r.name}:${r.health}`)])).toEqual([['demo', ruleFile, ['recording:job:up:sum:ok', 'alerting:Down:ok']]]);
      const alerts = (await (await fetch(`http://${rule.httpAddress}/api/v1/alerts`)).json()) as { data: { alerts: unknown[] } };
      expect(alerts.data.alerts).toEqual([]);

      // A broken file: the reload fails, the old group stays and keeps evaluating.
      await writeFile(ruleFile, GOOD.replace('sum by (job) (up)', 'sum by (job) (up'));
      const bad = await fetch(`http://${rule.httpAddress}/-/reload`, { method: 'POST' });
      expect(bad.status).toBe(500);
      expect(await bad.text()).toMatch(/^failed to reload config: .*could not parse expression/);
      const metrics = await (await fetch(`http://${rule.httpAddress}/metrics`)).text();
      expect(metrics).toMatch(/^thanos_rule_config_last_reload_successful 0$/m);
      const after = (await (await fetch(`http://${rule.httpAddress}/api/v1/rules`)).json()) as { data: { groups: { rules: unknown[] }[] } };
      expect(after.data.groups[0].rules).toHaveLength(2);
      expect((await fetch(`http://${rule.httpAddress}/-/reload`)).status).toBe(405);
      await writeFile(ruleFile, GOOD.replace('- alert: Down', '- alert: Gone'));
      expect((await fetch(`http://${rule.httpAddress}/-/reload`, { method: 'POST' })).status).toBe(200);
      const renamed = (await (await fetch(`http://${rule.httpAddress}/api/v1/rules?type=alert`)).json()) as { data: { groups: { rules: { name: string }[] }[] } };
      expect(renamed.data.groups[0].rules.map((r) => r.name)).toEqual(['Gone']);
    } finally {
      await rule.stop();
      api.close();
    }
  });

  it('in stateless mode (--remote-write.config) sends what it records by remote write and keeps no TSDB', async () => {
    const api = createServer((req, res) => {
      let body = '';
      req.on('data', (b: Buffer) => (body += b.toString()));
      req.on('end', () => {
        const t = Number(new URLSearchParams(body).get('time'));
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: { job: 'node' }, value: [t, '3'] }] } }));
      });
    });
    const written: string[] = [];
    const rw = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (b: Buffer) => parts.push(b));
      req.on('end', () => {
        const w = prometheus.WriteRequest.decode(snappyDecompress(Buffer.concat(parts)));
        for (const ts of w.timeseries) written.push((ts.labels ?? []).map((l) => `${l.name}=${l.value}`).join(',') + ` x${ts.samples?.length ?? 0}`);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => rw.listen(0, '127.0.0.1', r));
    const dir = await tempDir('rule-stateless');
    const ruleFile = join(dir, 'rules.yml');
    await writeFile(ruleFile, GOOD);
    const yaml = `remote_write:\n  - url: http://127.0.0.1:${(rw.address() as AddressInfo).port}/api/v1/write\n    queue_config: { batch_send_deadline: 100ms }\n`;
    const rule = new Rule({ ...config(dir, ruleFile, (api.address() as AddressInfo).port), remoteWrite: parseRemoteWriteConfig(yaml) });
    await rule.start();
    try {
      await waitFor(async () => written.some((w) => w.startsWith('__name__=job:up:sum,job=node,ruler=r1 ')), { timeoutMs: 10_000, what: 'recorded samples by remote write' });
      const info = await new StoreClient(rule.grpcAddress).info();
      expect(info.ComponentType).toBe('rule');
      expect(info.store).toBeFalsy();
    } finally {
      await rule.stop();
      api.close();
      rw.close();
    }
    expect(existsSync(join(dir, 'data', 'wal'))).toBe(false);
  });
});
