import { describe, expect, it } from 'vitest';
import { QUICKSTART_LAST_PORT_OFFSET, quickstartPorts, quickstartTopology } from './quickstart-topology.js';
import type { QuickstartOptions } from './quickstart-topology.js';

const opts: QuickstartOptions = { dataDir: '/qs', clusters: 2, replicas: 2, blockDuration: '10m', basePort: 19090, alertmanager: true };

/** The value of `--flag value` or `--flag=value` in args, every occurrence. */
function flag(args: string[], name: string): string[] {
  const out: string[] = [];
  args.forEach((a, i) => {
    if (a === name) out.push(args[i + 1]);
    else if (a.startsWith(`${name}=`)) out.push(a.slice(name.length + 1));
  });
  return out;
}

describe('quickstartTopology', () => {
  it('gives every process its own ports, all within base-port … base-port+118', () => {
    const ports = quickstartPorts(opts).map((p) => p.port);
    expect(new Set(ports).size).toBe(ports.length);
    expect(Math.min(...ports)).toBe(19090);
    expect(Math.max(...ports)).toBe(19090 + QUICKSTART_LAST_PORT_OFFSET);
    // The README's fixed addresses.
    const byWhat = Object.fromEntries(quickstartPorts(opts).map((p) => [p.what, p.port]));
    expect(byWhat['query HTTP']).toBe(19190);
    expect(byWhat['query-frontend HTTP']).toBe(19208);
    expect(byWhat['Alertmanager']).toBe(19207);
  });

  it('starts Prometheus before its sidecar, the StoreAPIs before the query, and the query before the frontend', () => {
    const t = quickstartTopology(opts);
    const stageOf = (name: string): number => t.processes.find((p) => p.name === name)!.stage;
    expect(t.processes.map((p) => p.stage)).toEqual([...t.processes.map((p) => p.stage)].sort((a, b) => a - b));
    expect(stageOf('cluster-0-replica-0-prometheus')).toBeLessThan(stageOf('cluster-0-replica-0-sidecar'));
    expect(stageOf('store')).toBeLessThan(stageOf('query'));
    expect(stageOf('receive-0')).toBe(stageOf('receive-2'));
    expect(stageOf('query')).toBeLessThan(stageOf('query-frontend'));
  });

  it('points the query at every StoreAPI server and the frontend at the query', () => {
    const t = quickstartTopology(opts);
    const query = t.processes.find((p) => p.component === 'query')!;
    const grpcOf = (p: (typeof t.processes)[number]): string[] => flag(p.args, '--grpc-address');
    const storeApis = t.processes.filter((p) => ['sidecar', 'receive', 'store', 'rule'].includes(p.component)).flatMap(grpcOf);
    expect(flag(query.args, '--endpoint').sort()).toEqual(storeApis.sort());
    expect(flag(query.args, '--query.replica-label')).toEqual(['replica', 'receive_replica']);
    const fe = t.processes.find((p) => p.component === 'query-frontend')!;
    expect(flag(fe.args, '--query-frontend.downstream-url')).toEqual([query.url]);
  });

  it('runs the receive ring with replication factor 3 and the HA tracker on, and a hashrings file naming every receiver', () => {
    const t = quickstartTopology(opts);
    const ring = t.processes.filter((p) => p.component === 'receive');
    expect(ring).toHaveLength(3);
    const file = ring[0].files.find((f) => f.path === t.hashringsFile)!;
    const endpoints = (JSON.parse(file.content) as { endpoints: string[] }[])[0].endpoints;
    for (const r of ring) {
      expect(r.args).toContain('--receive.ha-tracker');
      expect(flag(r.args, '--receive.replication-factor')).toEqual(['3']);
      expect(endpoints).toContain(flag(r.args, '--receive.local-endpoint')[0]);
    }
    const writer = t.processes.find((p) => p.name === 'remote-write-prometheus')!;
    expect(writer.scrape).toEqual({ jobs: ['prometheus', 'sidecar', 'receive', 'store', 'query', 'query-frontend', 'compact', 'rule'], remoteWrite: true });
    expect(writer.files[0].content).toContain(`url: ${ring[0].address}`);
  });

  it('compacts with vertical deduplication by replica', () => {
    const c = quickstartTopology(opts).processes.find((p) => p.component === 'compact')!;
    expect(c.args).toContain('--compact.enable-vertical-compaction');
    expect(flag(c.args, '--deduplication.replica-label')).toEqual(['replica', 'receive_replica']);
  });

  it("uses the user's objstore config instead of a FILESYSTEM bucket", () => {
    const t = quickstartTopology({ ...opts, objstoreConfigFile: '/etc/s3.yml' });
    expect(t.bucketDir).toBeUndefined();
    for (const p of t.processes) {
      for (const v of flag(p.args, '--objstore.config-file')) expect(v).toBe('/etc/s3.yml');
      expect(p.files.map((f) => f.path)).not.toContain('/qs/objstore.yml');
    }
  });

  it('leaves Alertmanager out, and the ruler without one, when it is not installed', () => {
    const t = quickstartTopology({ ...opts, alertmanager: false });
    expect(t.processes.map((p) => p.component)).not.toContain('alertmanager');
    expect(flag(t.processes.find((p) => p.component === 'rule')!.args, '--alertmanagers.url')).toEqual([]);
  });

  it('refuses more clusters × replicas than fit below base-port+100', () => {
    expect(() => quickstartTopology({ ...opts, clusters: 12, replicas: 3 })).toThrow(/need 108 ports/);
  });
});
