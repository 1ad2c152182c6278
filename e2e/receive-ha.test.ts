// One copy per HA pair: two real Prometheus 2.42 replicas of one cluster (external labels
// cluster and __replica__) remote-write the same target to different receivers of a
// 3-receiver ring (replication factor 3) with --receive.ha-tracker. Every receiver holds
// one series without the replica label whose samples are exactly the elected replica's;
// killing the elected Prometheus makes the other take over after the failover timeout;
// the blocks shipped to the bucket hold that one copy too.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreClient } from '@thanos-ts/storeapi';
import { chunkFromBytes, ValueType } from '@thanos-ts/tsdb';
import { removeTempDirs, startExporter, startPrometheus, tempDir, waitFor } from '@thanos-ts/testutil';
import type { PrometheusInstance } from '@thanos-ts/testutil';
import { api } from './api.js';
import { startComponent } from './components.js';
import { receiverPorts, receiverProcess } from './receive-load.js';
import type { ReceiverProcess } from './receive-load.js';

const FAILOVER_S = 4;
const BATCH_DEADLINE_S = 0.5;
const SCRAPE_S = 1;

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await removeTempDirs();
});

async function startRing(n: number, bucketConfig: string): Promise<ReceiverProcess[]> {
  const ports = [];
  for (let i = 0; i < n; i++) ports.push(await receiverPorts());
  const hashrings = join(await tempDir('ha-ring'), 'hashrings.json');
  await writeFile(hashrings, JSON.stringify([{ hashring: 'default', endpoints: ports.map((p) => p.grpc) }]));
  const out: ReceiverProcess[] = [];
  for (let i = 0; i < n; i++) {
    const r = receiverProcess(ports[i], [
      '--tsdb.path', await tempDir(`ha-recv-${i}`),
      '--label', `receive_replica="${i}"`,
      '--receive.hashrings-file', hashrings,
      '--receive.local-endpoint', ports[i].grpc,
      '--receive.replication-factor', String(n),
      '--receive.ha-tracker',
      '--receive.ha-tracker.failover-timeout', `${FAILOVER_S}s`,
      '--objstore.config-file', bucketConfig,
    ]);
    cleanups.push(() => r.kill());
    out.push(r);
  }
  await Promise.all(out.map((r) => r.start()));
  return out;
}

/** Samples of every series named `metric` over a StoreAPI, by label set. */
async function seriesOf(grpc: string, metric: string): Promise<Map<string, number[]>> {
  const c = new StoreClient(grpc);
  try {
    const out = new Map<string, number[]>();
    for await (const f of c.series({ minTime: 0, maxTime: Date.now() + 3600_000, matchers: [{ type: 0, name: '__name__', value: metric }] })) {
      if (!f.series) continue;
      const key = f.series.labels.map((l) => `${l.name}=${l.value}`).join(',');
      const ts = out.get(key) ?? [];
      for (const ch of f.series.chunks) {
        const it = chunkFromBytes(ch.raw!.type + 1, ch.raw!.data).iterator();
        while (it.next() !== ValueType.None) ts.push(it.atT());
      }
      out.set(key, ts.sort((a, b) => a - b));
    }
    return out;
  } finally {
    c.close();
  }
}

/** Timestamps (ms) of a Prometheus's own samples of `metric` over the last 5 minutes. */
async function promTimestamps(p: PrometheusInstance, metric: string): Promise<number[]> {
  const r = await api(p.url, '/api/v1/query', { query: `${metric}[5m]` });
  const values = (r.body.data.result[0]?.values ?? []) as [number, string][];
  return values.map(([t]) => Math.round(t * 1000));
}

describe('receive HA tracker', () => {
  it('stores one copy per HA pair, fails over to the other replica after the timeout, and ships that one copy', async () => {
    let n = 0;
    const exporter = await startExporter(() => `# TYPE ha_e2e_total counter\nha_e2e_total ${++n}\n`);
    cleanups.push(() => exporter.stop());
    const bucketDir = await tempDir('ha-bucket');
    const bucketConfig = join(await tempDir('ha-objstore'), 'objstore.yml');
    await writeFile(bucketConfig, `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`);
    const ring = await startRing(3, bucketConfig);

    const proms: Record<string, PrometheusInstance> = {};
    await Promise.all(
      ['a', 'b'].map(async (replica, i) => {
        proms[replica] = await startPrometheus({
          scrapeInterval: `${SCRAPE_S}s`,
          scrapeSelf: false,
          externalLabels: { cluster: 'c1', __replica__: replica },
          config: {
            scrape_configs: [{ job_name: 'exp', static_configs: [{ targets: [exporter.target] }] }],
            remote_write: [{ url: `http://${ring[i].rw}/api/v1/receive`, queue_config: { batch_send_deadline: `${BATCH_DEADLINE_S * 1000}ms`, min_backoff: '100ms', max_backoff: '500ms' } }],
          },
        });
        cleanups.push(() => proms[replica].stop());
      }),
    );

    // Every receiver holds one series, without __replica__, once a few scrapes are in.
    await waitFor(
      async () => {
        for (const r of ring) {
          const s = await seriesOf(r.grpc, 'ha_e2e_total');
          if (s.size !== 1 || [...s.values()][0].length < 6) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'six samples on every receiver' },
    );
    const first = await seriesOf(ring[0].grpc, 'ha_e2e_total');
    const [key] = [...first.keys()];
    expect(key).toBe('__name__=ha_e2e_total,cluster=c1,instance=' + exporter.target + ',job=exp,receive_replica=0,tenant_id=default-tenant');

    // The stored samples are exactly the elected replica's (the scrapes of a and b fall
    // on different milliseconds): one copy, not two.
    const stored = [...first.values()][0];
    const own = { a: await promTimestamps(proms.a, 'ha_e2e_total'), b: await promTimestamps(proms.b, 'ha_e2e_total') };
    const elected = stored.every((t) => own.a.includes(t)) ? 'a' : 'b';
    const other = elected === 'a' ? 'b' : 'a';
    expect(stored).toEqual(own[elected].filter((t) => t >= stored[0] && t <= stored[stored.length - 1]));
    expect(stored.some((t) => own[other].includes(t))).toBe(false);
    for (const r of ring.slice(1)) {
      const s = [...(await seriesOf(r.grpc, 'ha_e2e_total')).values()][0];
      expect(s.slice(0, stored.length)).toEqual(stored);
    }

    // Kill the elected Prometheus: the other one takes over once it was silent for the
    // failover timeout.
    const killedAt = Date.now();
    await proms[elected].kill();
    await waitFor(
      async () => {
        const s = [...(await seriesOf(ring[2].grpc, 'ha_e2e_total')).values()][0];
        return s.some((t) => t > killedAt && own[elected].every((u) => u !== t));
      },
      { timeoutMs: (FAILOVER_S + 10) * 1000, intervalMs: 250, what: `replica ${other} taking over` },
    );
    const tookOverAfter = (Date.now() - killedAt) / 1000;
    // A few of the new replica's samples on receiver 0 too.
    const after = await waitFor(
      async () => {
        const s = [...(await seriesOf(ring[0].grpc, 'ha_e2e_total')).values()][0];
        return s.filter((t) => t > killedAt && own[elected].every((u) => u !== t)).length >= 2 ? s : null;
      },
      { timeoutMs: 15_000, intervalMs: 250, what: `replica ${other}'s samples on receiver 0` },
    );
    let gap = 0;
    for (let i = 1; i < after.length; i++) gap = Math.max(gap, after[i] - after[i - 1]);
    // The gap is the failover timeout plus at most one remote write batch and one scrape
    // (the killed replica's last samples reached the receivers up to one batch late).
    expect(gap / 1000).toBeGreaterThan(FAILOVER_S - SCRAPE_S - BATCH_DEADLINE_S);
    expect(gap / 1000).toBeLessThanOrEqual(FAILOVER_S + BATCH_DEADLINE_S + SCRAPE_S + 0.5);
    expect(tookOverAfter).toBeLessThan(FAILOVER_S + 5);
    const ownOther = await promTimestamps(proms[other], 'ha_e2e_total');
    const taken = after.filter((t) => t > killedAt);
    expect(taken.length).toBeGreaterThan(1);
    expect(taken.every((t) => ownOther.includes(t))).toBe(true);

    // SIGTERM flushes every head into a block and ships it: the bucket holds, per
    // receiver, the same one copy.
    await proms[other].stop();
    const held = await Promise.all(ring.map(async (r) => [...(await seriesOf(r.grpc, 'ha_e2e_total')).values()][0]));
    await Promise.all(ring.map((r) => r.stop()));
    const store = await startComponent(['store', '--objstore.config-file', bucketConfig, '--data-dir', await tempDir('ha-store')]);
    cleanups.push(() => store.stop());
    const shipped = await seriesOf(store.grpcAddress, 'ha_e2e_total');
    expect([...shipped.keys()].sort()).toEqual([0, 1, 2].map((i) => key.replace('receive_replica=0', `receive_replica=${i}`)));
    for (const [i, k] of [0, 1, 2].map((i) => [i, key.replace('receive_replica=0', `receive_replica=${i}`)] as const)) {
      expect(shipped.get(k), `receiver ${i}`).toEqual(held[i]);
    }
    console.log(`ha e2e: elected ${elected}, ${stored.length} samples before the kill, took over after ${tookOverAfter.toFixed(1)}s, widest gap ${(gap / 1000).toFixed(1)}s`);
  }, 120_000);
});
