// `thanos-ts query` finding its endpoints by DNS, as Thanos does: `dns+localhost:PORT`
// through the system's resolver, an endpoint group, and `dnssrv+` names answered by a
// DNS server of ours on loopback (the query's lookups are pointed at it with the hidden
// --store.sd-dns-server flag). The endpoints are two `thanos-ts store` gateways over an
// empty filesystem bucket; /api/v1/stores shows what the query found.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir, waitFor } from '@thanos-ts/testutil';
import { TestDNSServer } from '../packages/query/src/discovery/test-dns-server.js';
import { api } from './api.js';
import { startComponent } from './components.js';
import type { Component } from './components.js';

interface StoreStatus {
  name: string;
  lastError: string | null;
}

const running: Component[] = [];
let storeA: Component;
let storeB: Component;
const dns = new TestDNSServer();
const portOf = (c: Component): string => c.grpcAddress.split(':')[1];

async function start(args: string[]): Promise<Component> {
  const c = await startComponent(args);
  running.push(c);
  return c;
}

/** The /api/v1/stores data of a query: component type → endpoints. */
async function stores(q: Component): Promise<Record<string, StoreStatus[]>> {
  const r = await api(`http://${q.httpAddress}`, '/api/v1/stores');
  expect(r.status).toBe(200);
  return (r.body.data ?? {}) as Record<string, StoreStatus[]>;
}

/** Names of the endpoints listed as healthy stores. */
async function healthyStores(q: Component): Promise<string[]> {
  return ((await stores(q)).store ?? [])
    .filter((s) => s.lastError === null)
    .map((s) => s.name)
    .sort();
}

async function until(what: string, cond: () => Promise<boolean>): Promise<void> {
  await waitFor(cond, { timeoutMs: 20_000, what });
}

beforeAll(async () => {
  const dir = await tempDir('query-dns');
  const cfg = join(dir, 'objstore.yml');
  await writeFile(cfg, `type: FILESYSTEM\nconfig:\n  directory: ${join(dir, 'bucket')}\n`);
  [storeA, storeB] = await Promise.all([
    start(['store', '--objstore.config-file', cfg, '--data-dir', join(dir, 'store-a')]),
    start(['store', '--objstore.config-file', cfg, '--data-dir', join(dir, 'store-b')]),
    dns.start(),
  ]);
});

afterAll(async () => {
  await Promise.all(running.map((c) => c.stop()));
  await dns.stop();
  await removeTempDirs();
});

describe('query endpoints by DNS', () => {
  it('dns+localhost:PORT and an endpoint group are found through the system resolver', async () => {
    const q = await start([
      'query',
      '--endpoint',
      `dns+localhost:${portOf(storeA)}`,
      '--endpoint-group',
      `localhost:${portOf(storeB)}`,
      '--endpoint.info-timeout',
      '1s',
    ]);
    const a = `127.0.0.1:${portOf(storeA)}`;
    const group = `thanos:///localhost:${portOf(storeB)}`;
    await until('dns+localhost endpoint and group healthy', async () => {
      const h = await healthyStores(q);
      return h.includes(a) && h.includes(group);
    });
    // localhost may also resolve to ::1, where nothing listens: listed, with its error.
    const names = Object.values(await stores(q))
      .flat()
      .map((s) => s.name);
    for (const n of names) expect([a, `[::1]:${portOf(storeA)}`, group]).toContain(n);
    expect(q.logs()).not.toMatch(/level=error/);
  });

  it('dnssrv+ names follow the SRV records, keeping the last answer while DNS fails', async () => {
    dns.set('_grpc._tcp.stores.test', { srv: [{ target: 'store-b.test', port: Number(portOf(storeB)) }] });
    dns.set('store-a.test', { a: ['127.0.0.1'] });
    dns.set('store-b.test', { a: ['127.0.0.1'] });
    const q = await start([
      'query',
      '--endpoint',
      'dnssrv+_grpc._tcp.stores.test',
      '--store.sd-dns-server',
      dns.address,
      '--store.sd-dns-interval',
      '500ms',
      '--endpoint.info-timeout',
      '1s',
    ]);
    const a = `127.0.0.1:${portOf(storeA)}`;
    const b = `127.0.0.1:${portOf(storeB)}`;
    await until('SRV target b', async () => (await healthyStores(q)).join() === b);

    // A second target appears.
    dns.set('_grpc._tcp.stores.test', {
      srv: [
        { target: 'store-a.test', port: Number(portOf(storeA)) },
        { target: 'store-b.test', port: Number(portOf(storeB)) },
      ],
    });
    await until('SRV targets a and b', async () => (await healthyStores(q)).join() === [a, b].sort().join());

    // DNS fails: the last answer stays, and the failure is logged.
    dns.failing = true;
    await until('lookup failure logged', async () => /failed to resolve addresses for endpoints/.test(q.logs()));
    const failedAt = dns.queries.length;
    await until('more failed lookups', async () => dns.queries.length > failedAt + 2);
    expect(await healthyStores(q)).toEqual([a, b].sort());

    // Back, with b gone.
    dns.failing = false;
    dns.set('_grpc._tcp.stores.test', { srv: [{ target: 'store-a.test', port: Number(portOf(storeA)) }] });
    await until('only a', async () => Object.values(await stores(q)).flat().map((s) => s.name).join() === a);

    // The name disappears (NXDOMAIN): so do its endpoints.
    dns.delete('_grpc._tcp.stores.test');
    await until('none', async () => Object.values(await stores(q)).flat().length === 0);
  });

  it('refuses dns+ among strict endpoints, as Thanos does', async () => {
    const q = await startComponent(['query', '--endpoint-strict', `dns+localhost:${portOf(storeA)}`], { waitReady: false });
    running.push(q);
    expect(await q.exited()).not.toBe(0);
    expect(q.logs()).toMatch(/is a dynamically specified endpoint i\.e\. it uses SD and that is not permitted under strict mode/);
  });
});
