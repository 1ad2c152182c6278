// Three receivers in one hashring, in process, over real gRPC on loopback: series are
// placed as the hashring says, replicated RF times, and the write quorum decides the
// status when receivers are down.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prometheus, snappyCompress, StoreClient } from '@thanos-ts/storeapi';
import { labelsToString } from '@thanos-ts/tsdb';
import { freePort, removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { newMultiHashring, parseHashringsConfig } from './hashring.js';
import { Receive } from './receive.js';
import { config } from './receive-fixture.js';

afterAll(() => removeTempDirs());

type Series = { labels: Record<string, string>; samples: [number, number][] };

function body(series: Series[]): Uint8Array {
  const w = prometheus.WriteRequest.encode({
    timeseries: series.map((s) => ({ labels: Object.entries(s.labels).map(([name, value]) => ({ name, value })), samples: s.samples.map(([timestamp, value]) => ({ timestamp, value })) })),
  }).finish();
  return snappyCompress(w);
}

async function post(addr: string, data: Uint8Array, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://${addr}/api/v1/receive`, { method: 'POST', body: data, headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', ...headers } });
  return { status: res.status, text: await res.text() };
}

/** Label sets of every series a receiver holds. */
async function seriesOf(r: Receive): Promise<string[]> {
  const c = new StoreClient(r.grpcAddress);
  try {
    const out: string[] = [];
    for await (const f of c.series({ minTime: 0, maxTime: 10_000_000, matchers: [{ type: 2, name: '__name__', value: '.+' }], skipChunks: true })) {
      if (f.series) out.push(labelsToString(f.series.labels.filter((l) => l.name !== 'receive')));
    }
    return out.sort();
  } finally {
    c.close();
  }
}

const series = (n: number, t: number): Series[] => Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'up', instance: `i${i}` }, samples: [[t, i]] }));

async function ring(rf: number, extra: Partial<ReturnType<typeof config>> = {}): Promise<{ nodes: Receive[]; endpoints: string[] }> {
  const endpoints = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
  const hashrings = JSON.stringify([{ hashring: 'default', endpoints }]);
  const nodes: Receive[] = [];
  for (let i = 0; i < 3; i++) {
    const r = new Receive({
      ...config(await tempDir('ring')),
      externalLabels: [{ name: 'receive', value: String(i) }],
      grpcAddress: endpoints[i],
      localEndpoint: endpoints[i],
      hashringsContent: hashrings,
      replicationFactor: rf,
      forwardTimeoutMs: 2000,
      ...extra,
    });
    nodes.push(r);
  }
  await Promise.all(nodes.map((n) => n.start()));
  return { nodes, endpoints };
}

describe('Router over a hashring of three receivers', () => {
  let rf1: { nodes: Receive[]; endpoints: string[] };
  let rf3: { nodes: Receive[]; endpoints: string[] };
  beforeAll(async () => {
    rf1 = await ring(1);
    rf3 = await ring(3);
  });
  afterAll(async () => {
    for (const n of [...rf1.nodes, ...rf3.nodes]) await n.stop().catch(() => undefined);
  });

  it('RF 1: every series lands on exactly the receiver the hashring names, whichever receiver took the write', async () => {
    expect((await post(rf1.nodes[0].remoteWriteAddress, body(series(30, 1000)))).status).toBe(200);
    const held = await Promise.all(rf1.nodes.map(seriesOf));
    const h = newMultiHashring('hashmod', 1, parseHashringsConfig(JSON.stringify([{ endpoints: rf1.endpoints }])));
    for (let i = 0; i < 30; i++) {
      const labels = [{ name: '__name__', value: 'up' }, { name: 'instance', value: `i${i}` }];
      const owner = rf1.endpoints.indexOf(h.getN('default-tenant', labels, 0));
      const key = labelsToString([...labels, { name: 'tenant_id', value: 'default-tenant' }]);
      for (let n = 0; n < 3; n++) expect(held[n].includes(key), `series i${i} on node ${n}`).toBe(n === owner);
    }
    expect(held.reduce((a, b) => a + b.length, 0)).toBe(30);
  });

  it('RF 3: every receiver holds every series; with one down the write still succeeds, with two it is a 503', async () => {
    expect((await post(rf3.nodes[1].remoteWriteAddress, body(series(10, 1000)))).status).toBe(200);
    for (const n of rf3.nodes) expect((await seriesOf(n)).length).toBe(10);

    await rf3.nodes[2].stop();
    const one = await post(rf3.nodes[0].remoteWriteAddress, body(series(10, 2000)));
    expect(one.status).toBe(200);

    await rf3.nodes[1].stop();
    const two = await post(rf3.nodes[0].remoteWriteAddress, body(series(10, 3000)));
    expect(two.status).toBe(503);
    expect(two.text).toMatch(/forwarding request to endpoint/);
  });

  it('a replica number beyond the replication factor is a 400; a conflict on every replica a 409', async () => {
    const bad = await post(rf1.nodes[0].remoteWriteAddress, body(series(1, 5000)), { 'THANOS-REPLICA': '2' });
    expect(bad).toEqual({ status: 400, text: 'request replica exceeds receiver replication factor\n' });
    expect((await post(rf1.nodes[0].remoteWriteAddress, body(series(3, 6000)))).status).toBe(200);
    const conflict = await post(rf1.nodes[1].remoteWriteAddress, body(series(3, 5500)));
    expect(conflict.status).toBe(409);
    expect(conflict.text).toMatch(/add 1 samples: out of order sample/);
  });
});

describe('HA tracker in a ring of three receivers', () => {
  let ha: { nodes: Receive[]; endpoints: string[] };
  beforeAll(async () => {
    ha = await ring(3, { haTracker: { clusterLabel: 'cluster', replicaLabel: '__replica__', failoverTimeoutMs: 1500 } });
  });
  afterAll(async () => {
    for (const n of ha.nodes) await n.stop().catch(() => undefined);
  });

  const pair = (replica: string, t: number): Uint8Array =>
    body([{ labels: { __name__: 'ha_up', cluster: 'c1', instance: 'x', __replica__: replica }, samples: [[t, t]] }]);

  it('stores the elected replica once, without its replica label; the other gets 202; it fails over after the timeout', async () => {
    expect((await post(ha.nodes[0].remoteWriteAddress, pair('a', 1000))).status).toBe(200);
    expect((await post(ha.nodes[1].remoteWriteAddress, pair('b', 1000))).status).toBe(202);
    expect((await post(ha.nodes[2].remoteWriteAddress, pair('b', 2000))).status).toBe(202);
    expect((await post(ha.nodes[2].remoteWriteAddress, pair('a', 2000))).status).toBe(200);
    for (const n of ha.nodes) expect(await seriesOf(n)).toEqual(['{__name__="ha_up", cluster="c1", instance="x", tenant_id="default-tenant"}']);

    // a goes silent: b is refused until the failover timeout has passed, then elected.
    await new Promise((r) => setTimeout(r, 1800));
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      status = (await post(ha.nodes[1].remoteWriteAddress, pair('b', 3000 + i))).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
    expect((await post(ha.nodes[0].remoteWriteAddress, pair('a', 4000))).status).toBe(202);
  });
});
