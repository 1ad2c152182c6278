import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, startExporter, startPrometheus, waitFor } from './index.js';

afterAll(removeTempDirs);

interface Vector {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function query(url: string, q: string): Promise<Vector['data']['result']> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await res.json()) as Vector;
  if (body.status !== 'success') throw new Error(`query ${q}: ${JSON.stringify(body)}`);
  return body.data.result;
}

describe('startPrometheus', () => {
  it('starts, scrapes itself and an exporter, and restarts on the same port and data', async () => {
    const exporter = await startExporter(() => '# TYPE thing gauge\nthing{kind="test"} 42\n');
    const prom = await startPrometheus({
      externalLabels: { cluster: 'test', replica: 'a' },
      blockDuration: '2h',
      config: { scrape_configs: [{ job_name: 'exporter', static_configs: [{ targets: [exporter.target] }] }] },
    });
    try {
      expect(prom.url).toBe(`http://127.0.0.1:${prom.port}`);
      const up = await waitFor(async () => (await query(prom.url, 'up')).length === 2 && query(prom.url, 'up'), {
        what: 'both targets up',
      });
      expect(up.map((r) => [r.metric.job, r.value[1]]).sort()).toEqual([
        ['exporter', '1'],
        ['prometheus', '1'],
      ]);
      const thing = await query(prom.url, 'thing');
      expect(thing[0].metric).toEqual({ __name__: 'thing', kind: 'test', job: 'exporter', instance: exporter.target });
      expect(thing[0].value[1]).toBe('42');
      expect(exporter.scrapes()).toBeGreaterThan(0);

      const flags = (await (await fetch(`${prom.url}/api/v1/status/flags`)).json()) as { data: Record<string, string> };
      expect(flags.data['storage.tsdb.min-block-duration']).toBe('2h');
      expect(flags.data['storage.tsdb.max-block-duration']).toBe('2h');
      expect(flags.data['web.enable-admin-api']).toBe('true');
      expect(flags.data['storage.tsdb.path']).toBe(prom.dataDir);
      const cfg = (await (await fetch(`${prom.url}/api/v1/status/config`)).json()) as { data: { yaml: string } };
      expect(cfg.data.yaml).toContain('cluster: test');

      await prom.restart();
      // Samples from before the restart come back from the WAL.
      const before = await query(prom.url, 'count_over_time(thing[1h])');
      expect(Number(before[0].value[1])).toBeGreaterThan(0);
      await waitFor(async () => (await query(prom.url, 'up == 1')).length === 2, { what: 'targets up after restart' });
      expect(prom.logs()).toContain('Server is ready to receive web requests.');

      await prom.kill();
      await expect(fetch(`${prom.url}/-/ready`)).rejects.toThrow();
    } finally {
      await prom.stop();
      await exporter.stop();
    }
  });

  it('fails fast with the logs when prometheus cannot start', async () => {
    await expect(startPrometheus({ config: 'global: [not a map\n' })).rejects.toThrow(/prometheus exited[\s\S]*prometheus logs/);
  });
});
