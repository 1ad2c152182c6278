import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { nopLogger, UserError } from '@thanos-ts/runtime';
import { FakeStore, StoreServer } from '@thanos-ts/storeapi';
import type { InfoResponseInit } from '@thanos-ts/storeapi';
import { Registry } from 'prom-client';
import { EndpointSet } from '../endpointset.js';
import { queryConfigFromFlags } from '../flags.js';
import {
  DNSDiscovery,
  DNSProvider,
  DNSResolver,
  getQTypeName,
  isDynamicNode,
  joinHostPort,
  NodeDNSResolver,
  splitHostPort,
  validateDNSAddress,
} from '@thanos-ts/runtime';
import type { IPLookupResolver, SRVRecord } from '@thanos-ts/runtime';
import { groupEndpointName, grpcTarget, storeClientOptionsFor, validateGroupAddress } from './endpoint-group.js';
import { TestDNSServer } from './test-dns-server.js';

const notFound = (host: string): Error => Object.assign(new Error(`lookup ${host}: no such host`), { code: 'ENOTFOUND' });

/** A resolver over tables the test changes; names in `broken` fail with SERVFAIL. */
class FakeResolver implements IPLookupResolver {
  ips = new Map<string, string[]>();
  srvs = new Map<string, SRVRecord[]>();
  broken = new Set<string>();
  calls: string[] = [];

  async lookupIP(host: string, family?: 4 | 6): Promise<string[]> {
    this.calls.push(`ip ${host}`);
    if (this.broken.has(host)) throw Object.assign(new Error(`query ${host}: server failure`), { code: 'ESERVFAIL' });
    const ips = (this.ips.get(host) ?? []).filter((ip) => family === undefined || (family === 6) === ip.includes(':'));
    if (ips.length === 0) throw notFound(host);
    return ips;
  }

  async lookupSRV(name: string): Promise<SRVRecord[]> {
    this.calls.push(`srv ${name}`);
    if (this.broken.has(name)) throw Object.assign(new Error(`querySrv ESERVFAIL ${name}`), { code: 'ESERVFAIL' });
    const recs = this.srvs.get(name);
    if (!recs) throw Object.assign(new Error(`querySrv ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return recs;
  }

  isNotFound(err: unknown): boolean {
    return (err as { code?: string }).code === 'ENOTFOUND';
  }
}

describe('endpoint addresses', () => {
  it('splits the lookup type from the name', () => {
    expect(getQTypeName('dns+store:10901')).toEqual({ qtype: 'dns', name: 'store:10901' });
    expect(getQTypeName('dnssrv+_grpc._tcp.store.svc')).toEqual({ qtype: 'dnssrv', name: '_grpc._tcp.store.svc' });
    expect(getQTypeName('dnssrvnoa+_grpc._tcp.store.svc')).toEqual({ qtype: 'dnssrvnoa', name: '_grpc._tcp.store.svc' });
    expect(getQTypeName('store:10901')).toEqual({ qtype: '', name: 'store:10901' });
    expect(isDynamicNode('dns+store:10901')).toBe(true);
    expect(isDynamicNode('10.0.0.1:10901')).toBe(false);
  });

  it('splits and joins host and port as Go does', () => {
    expect(splitHostPort('store:10901')).toEqual({ host: 'store', port: '10901' });
    expect(splitHostPort('[::1]:10901')).toEqual({ host: '::1', port: '10901' });
    expect(splitHostPort('store')).toBeUndefined();
    expect(splitHostPort('::1')).toBeUndefined();
    expect(joinHostPort('::1', 80)).toBe('[::1]:80');
    expect(joinHostPort('10.0.0.1', '80')).toBe('10.0.0.1:80');
  });

  it('validates lookup types and ports', () => {
    expect(() => validateDNSAddress('dns+store:10901')).not.toThrow();
    expect(() => validateDNSAddress('dnssrv+_grpc._tcp.store')).not.toThrow();
    expect(() => validateDNSAddress('store:10901')).not.toThrow();
    expect(() => validateDNSAddress('dns+store')).toThrow(/missing port/);
    expect(() => validateDNSAddress('dnsx+store:1')).toThrow(/invalid lookup scheme "dnsx"/);
  });

  it('names and dials endpoint groups', () => {
    expect(groupEndpointName('dns+store:10901')).toBe('thanos:///dns+store:10901');
    expect(grpcTarget('thanos:///dns+store:10901')).toBe('dns:///store:10901');
    expect(grpcTarget('thanos:///store:10901')).toBe('dns:///store:10901');
    expect(grpcTarget('store:10901')).toBe('store:10901');
    const opts = storeClientOptionsFor('thanos:///store:10901', { maxRecvMsgSize: 5 });
    expect(opts.maxRecvMsgSize).toBe(5);
    expect(JSON.parse(String(opts.channelOptions?.['grpc.service_config']))).toEqual({ loadBalancingConfig: [{ round_robin: {} }] });
    expect(storeClientOptionsFor('store:10901', { maxRecvMsgSize: 5 })).toEqual({ maxRecvMsgSize: 5 });
    expect(() => validateGroupAddress('dnssrv+_grpc._tcp.store')).toThrow(/not supported/);
    expect(() => validateGroupAddress('store')).toThrow(/missing port/);
  });
});

describe('DNSResolver', () => {
  const fake = new FakeResolver();
  fake.ips.set('store', ['10.0.0.1', '10.0.0.2', 'fd00::1']);
  fake.ips.set('a.store.', ['10.0.1.1']);
  fake.ips.set('b.store.', ['10.0.1.2', '10.0.1.3']);
  fake.srvs.set('_grpc._tcp.store', [
    { target: 'a.store.', port: 10901 },
    { target: 'b.store.', port: 10911 },
  ]);
  fake.srvs.set('_grpc._tcp.gone', [{ target: 'nowhere.', port: 1 }]);
  const r = new DNSResolver(fake);

  it('dns+: each address with the port', async () => {
    expect(await r.resolve('store:10901', 'dns')).toEqual(['10.0.0.1:10901', '10.0.0.2:10901', '[fd00::1]:10901']);
    await expect(r.resolve('store', 'dns')).rejects.toThrow('missing port in address given for dns lookup: store');
  });

  it('dnssrv+: SRV, then the addresses of each target with its port', async () => {
    expect(await r.resolve('_grpc._tcp.store', 'dnssrv')).toEqual(['10.0.1.1:10901', '10.0.1.2:10911', '10.0.1.3:10911']);
    // An explicit port wins.
    expect(await r.resolve('_grpc._tcp.store:9000', 'dnssrv')).toEqual(['10.0.1.1:9000', '10.0.1.2:9000', '10.0.1.3:9000']);
  });

  it('dnssrvnoa+: SRV targets as they are, without the root dot', async () => {
    expect(await r.resolve('_grpc._tcp.store', 'dnssrvnoa')).toEqual(['a.store:10901', 'b.store:10911']);
  });

  it('dnsdualstack+: AAAA then A', async () => {
    expect(await r.resolve('store:10901', 'dnsdualstack')).toEqual(['[fd00::1]:10901', '10.0.0.1:10901', '10.0.0.2:10901']);
  });

  it('a name that does not exist is an empty answer; other failures throw', async () => {
    expect(await r.resolve('nothing:1', 'dns')).toEqual([]);
    expect(await r.resolve('_grpc._tcp.nothing', 'dnssrv')).toEqual([]);
    expect(await r.resolve('_grpc._tcp.gone', 'dnssrv')).toEqual([]);
    fake.broken.add('broken');
    await expect(r.resolve('broken:1', 'dns')).rejects.toThrow('lookup IP addresses "broken": query broken: server failure');
    await expect(r.resolve('x:1', 'dnsx')).rejects.toThrow('invalid lookup scheme "dnsx"');
  });

  it('keeps a scheme in front', async () => {
    expect(await r.resolve('http://store:80', 'dns')).toEqual(['http://10.0.0.1:80', 'http://10.0.0.2:80', 'http://[fd00::1]:80']);
  });
});

describe('DNSProvider', () => {
  it('follows DNS as endpoints come and go, keeping the last answer when a lookup fails', async () => {
    const fake = new FakeResolver();
    const reg = new Registry();
    const p = new DNSProvider({ resolver: fake, registry: reg, metricPrefix: 'thanos_query_endpoints_' });
    const addrs = ['dns+store:10901', 'dns+other:10901', '10.9.9.9:10901'];
    fake.ips.set('store', ['10.0.0.1']);
    fake.ips.set('other', ['10.0.0.9']);
    await p.resolve(addrs, true);
    expect(p.addresses()).toEqual(['10.0.0.1:10901', '10.0.0.9:10901', '10.9.9.9:10901']);
    expect(p.addressesForHost('dns+store:10901')).toEqual(['10.0.0.1:10901']);

    // Added.
    fake.ips.set('store', ['10.0.0.1', '10.0.0.2']);
    await p.resolve(addrs, true);
    expect(p.addressesForHost('dns+store:10901')).toEqual(['10.0.0.1:10901', '10.0.0.2:10901']);

    // A failing lookup keeps its last answer, and in that pass nothing is flushed.
    fake.broken.add('store');
    await expect(p.resolve(['dns+store:10901', '10.9.9.9:10901'], true)).rejects.toThrow(/server failure/);
    expect(p.addresses()).toEqual(['10.0.0.1:10901', '10.0.0.2:10901', '10.0.0.9:10901', '10.9.9.9:10901']);

    // Removed: one address goes, and the address no longer asked for is flushed.
    fake.broken.clear();
    fake.ips.set('store', ['10.0.0.2']);
    await p.resolve(['dns+store:10901', '10.9.9.9:10901'], true);
    expect(p.addresses()).toEqual(['10.0.0.2:10901', '10.9.9.9:10901']);

    // A name that disappears takes its endpoints with it.
    fake.ips.delete('store');
    await p.resolve(['dns+store:10901'], true);
    expect(p.addresses()).toEqual([]);

    const metrics = await reg.metrics();
    expect(metrics).toMatch(/thanos_query_endpoints_dns_lookups_total 7/);
    expect(metrics).toMatch(/thanos_query_endpoints_dns_failures_total 1/);
    expect(metrics).toMatch(/thanos_query_endpoints_dns_provider_results\{addr="dns\+store:10901"\} 0/);
  });

  it('DNSDiscovery resolves at start and every interval, telling of changes', async () => {
    const fake = new FakeResolver();
    fake.ips.set('store', ['10.0.0.1']);
    let changes = 0;
    const d = new DNSDiscovery({
      provider: new DNSProvider({ resolver: fake }),
      addresses: () => ['dns+store:1', 'plain:1'],
      intervalMs: 20,
      onChange: () => changes++,
    });
    await d.start();
    try {
      expect(d.addresses()).toEqual(['10.0.0.1:1']);
      expect(changes).toBe(1);
      expect(fake.calls).toEqual(['ip store']); // plain addresses are not looked up
      fake.ips.set('store', ['10.0.0.1', '10.0.0.3']);
      await waitUntil(() => d.addresses().length === 2);
      expect(changes).toBe(2);
      fake.broken.add('store');
      const n = fake.calls.length;
      await waitUntil(() => fake.calls.length > n + 2);
      expect(d.addresses()).toEqual(['10.0.0.1:1', '10.0.0.3:1']);
      expect(changes).toBe(2);
    } finally {
      d.stop();
    }
  });
});

describe('NodeDNSResolver against a DNS server on loopback', () => {
  const server = new TestDNSServer();
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  it('answers SRV, A and AAAA; NXDOMAIN is not found; SERVFAIL is a failure', async () => {
    server.set('_grpc._tcp.stores.test', { srv: [{ target: 'store-0.test', port: 10901 }, { target: 'store-1.test', port: 10902 }] });
    server.set('store-0.test', { a: ['127.0.0.2'] });
    server.set('store-1.test', { a: ['127.0.0.3'], aaaa: ['::1'] });
    const node = new NodeDNSResolver({ servers: [server.address], timeoutMs: 500 });
    const r = new DNSResolver(node);
    expect(await r.resolve('_grpc._tcp.stores.test', 'dnssrv')).toEqual(['127.0.0.2:10901', '127.0.0.3:10902', '[::1]:10902']);
    expect(await r.resolve('_grpc._tcp.stores.test', 'dnssrvnoa')).toEqual(['store-0.test:10901', 'store-1.test:10902']);
    expect(await r.resolve('store-1.test:9', 'dns')).toEqual(['127.0.0.3:9', '[::1]:9']);
    expect(await r.resolve('nothing.test:9', 'dns')).toEqual([]);
    expect(await r.resolve('_grpc._tcp.nothing.test', 'dnssrv')).toEqual([]);
    expect(server.queries).toContain('SRV _grpc._tcp.stores.test');

    const p = new DNSProvider({ resolver: node });
    await p.resolve(['dnssrv+_grpc._tcp.stores.test'], true);
    server.failing = true;
    await expect(p.resolve(['dnssrv+_grpc._tcp.stores.test'], true)).rejects.toThrow(/lookup SRV records "_grpc._tcp.stores.test"/);
    expect(p.addresses()).toEqual(['127.0.0.2:10901', '127.0.0.3:10902', '[::1]:10902']);
    server.failing = false;
    server.set('_grpc._tcp.stores.test', { srv: [{ target: 'store-0.test', port: 10901 }] });
    await p.resolve(['dnssrv+_grpc._tcp.stores.test'], true);
    expect(p.addresses()).toEqual(['127.0.0.2:10901']);
  });

  it('without servers, A/AAAA go through getaddrinfo (localhost, /etc/hosts)', async () => {
    const r = new DNSResolver(new NodeDNSResolver());
    const got = await r.resolve('localhost:10901', 'dns');
    expect(got.length).toBeGreaterThan(0);
    for (const a of got) expect(['127.0.0.1:10901', '[::1]:10901']).toContain(a);
  });
});

describe('EndpointSet with DNS addresses', () => {
  const servers: StoreServer[] = [];
  const sets: EndpointSet[] = [];
  afterEach(async () => {
    while (sets.length > 0) await sets.pop()!.stop();
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop(100)));
  });

  async function store(cluster: string): Promise<string> {
    const info: InfoResponseInit = {
      ComponentType: 'store',
      labelSets: [{ labels: [{ name: 'cluster', value: cluster }] as never }],
      store: { minTime: 0, maxTime: 1000 },
    };
    const fake = new FakeStore({ series: [], info });
    const s = new StoreServer({ address: '127.0.0.1:0', store: fake, info: fake });
    await s.start();
    servers.push(s);
    return s.address;
  }

  it('resolves dns+ and dnssrv+ endpoints, adding and removing them as DNS changes', async () => {
    const a = await store('a');
    const b = await store('b');
    const c = await store('c');
    const port = (addr: string): number => Number(addr.split(':')[1]);
    const fake = new FakeResolver();
    fake.ips.set('stores', ['127.0.0.1']);
    fake.ips.set('c.local.', ['127.0.0.1']);
    fake.srvs.set('_grpc._tcp.srv', [{ target: 'c.local.', port: port(c) }]);
    const set = new EndpointSet({
      endpoints: [`dns+stores:${port(a)}`, 'dnssrv+_grpc._tcp.srv'],
      infoIntervalMs: 50,
      dnsIntervalMs: 50,
      closeDelayMs: 0,
      dnsResolver: fake,
      logger: nopLogger(),
    });
    sets.push(set);
    await set.start();
    await set.waitForFirstUpdate();
    await waitUntil(() => set.storeEndpoints().length === 2);
    expect(set.storeEndpoints().map((e) => e.address)).toEqual([a, c].sort());
    expect(Object.values(set.storesView()).flat().map((s) => s.name).sort()).toEqual([a, c].sort());

    // b appears behind the SRV name; c goes.
    fake.ips.set('b.local.', ['127.0.0.1']);
    fake.srvs.set('_grpc._tcp.srv', [{ target: 'b.local.', port: port(b) }]);
    await waitUntil(() => set.endpoints().some((e) => e.address === b) && !set.endpoints().some((e) => e.address === c));
    expect(set.storeEndpoints().map((e) => e.address)).toEqual([a, b].sort());

    // DNS failing: everything stays.
    fake.broken.add('stores');
    fake.broken.add('_grpc._tcp.srv');
    const n = fake.calls.length;
    await waitUntil(() => fake.calls.length > n + 4);
    expect(set.storeEndpoints().map((e) => e.address)).toEqual([a, b].sort());

    // The name is gone: its endpoint goes.
    fake.broken.clear();
    fake.ips.delete('stores');
    await waitUntil(() => !set.endpoints().some((e) => e.address === a));
    expect(set.storeEndpoints().map((e) => e.address)).toEqual([b]);
  });

  it('resolves DNS targets of file SD', async () => {
    const a = await store('f');
    const dir = await mkdtemp(join(tmpdir(), 'dns-file-sd-'));
    const file = join(dir, 'targets.json');
    await writeFile(file, JSON.stringify([{ targets: [`dns+fsd:${a.split(':')[1]}`] }]));
    const fake = new FakeResolver();
    fake.ips.set('fsd', ['127.0.0.1']);
    const set = new EndpointSet({ sdFiles: [file], infoIntervalMs: 50, dnsIntervalMs: 50, closeDelayMs: 0, dnsResolver: fake, logger: nopLogger() });
    sets.push(set);
    try {
      await set.start();
      await waitUntil(() => set.storeEndpoints().length === 1);
      expect(set.storeEndpoints()[0].address).toBe(a);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an endpoint group is one endpoint named thanos:///<address>', async () => {
    const a = await store('g');
    const port = a.split(':')[1];
    const set = new EndpointSet({ endpointGroups: [`dns+localhost:${port}`], infoIntervalMs: 50, closeDelayMs: 0, logger: nopLogger() });
    sets.push(set);
    await set.start();
    await waitUntil(() => set.storeEndpoints().length === 1);
    expect(set.storesView()).toMatchObject({ store: [{ name: `thanos:///dns+localhost:${port}`, lastError: null, labelSets: [{ cluster: 'g' }] }] });
  });
});

describe('endpoint flags', () => {
  const cfg = (v: Record<string, unknown>): ReturnType<typeof queryConfigFromFlags> => queryConfigFromFlags(v, nopLogger());

  it('parses the DNS and group flags with Thanos defaults', () => {
    const c = cfg({ endpoint: ['dns+store:10901'], 'endpoint-group': ['dns+group:10901'], 'store.sd-dns-server': ['127.0.0.1:5353'] });
    expect(c.endpoints).toEqual(['dns+store:10901']);
    expect(c.endpointGroups).toEqual(['dns+group:10901']);
    expect(c.dnsSDIntervalMs).toBe(30_000);
    expect(c.dnsSDServers).toEqual(['127.0.0.1:5353']);
    expect(c.flags?.['store.sd-dns-resolver']).toBe('miekgdns');
    expect(cfg({ 'store.sd-dns-interval': '5s' }).dnsSDIntervalMs).toBe(5_000);
  });

  it('rejects DNS addresses among strict endpoints, as Thanos does', () => {
    expect(() => cfg({ 'endpoint-strict': ['dns+store:10901'] })).toThrow(UserError);
    expect(() => cfg({ 'endpoint-strict': ['dnssrv+_grpc._tcp.store'] })).toThrow(
      '--endpoint-strict: dnssrv+_grpc._tcp.store is a dynamically specified endpoint i.e. it uses SD and that is not permitted under strict mode.',
    );
    expect(() => cfg({ 'endpoint-group-strict': ['dns+store:10901'] })).toThrow(/not permitted under strict mode/);
    expect(() => cfg({ 'endpoint-group': ['dnssrv+_grpc._tcp.store'] })).toThrow(/--endpoint-group: .*not supported/);
    expect(cfg({ 'endpoint-strict': ['store:10901'] }).strictEndpoints).toEqual(['store:10901']);
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
