import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { newSimpleHashring } from './hashring.js';
import type { Hashring } from './hashring.js';
import { findHALabels, HATracker, RingHATracker, stripReplicaLabel } from './ha-tracker.js';
import type { ElectRequest, HADecision, HATrackerPeers } from './ha-tracker.js';

const S = 1000;

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

async function metric(reg: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await reg.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

describe('HATracker', () => {
  it('elects the first replica and rejects the other until the failover timeout has passed', () => {
    const c = clock();
    const t = new HATracker({ failoverTimeoutMs: 30 * S, now: c.now });
    expect(t.decide('t', 'c', 'a')).toEqual({ accept: true, elected: 'a', lastSeenAgeMs: 0 });
    c.advance(10 * S);
    expect(t.decide('t', 'c', 'b')).toEqual({ accept: false, elected: 'a', lastSeenAgeMs: 10 * S });
    c.advance(20 * S); // exactly the timeout: not yet
    expect(t.decide('t', 'c', 'b').accept).toBe(false);
    c.advance(1);
    expect(t.decide('t', 'c', 'b')).toEqual({ accept: true, elected: 'b', lastSeenAgeMs: 0 });
    expect(t.decide('t', 'c', 'a')).toEqual({ accept: false, elected: 'b', lastSeenAgeMs: 0 });
  });

  it('keeps the elected replica while it keeps writing', () => {
    const c = clock();
    const t = new HATracker({ failoverTimeoutMs: 30 * S, now: c.now });
    t.decide('t', 'c', 'a');
    for (let i = 0; i < 10; i++) {
      c.advance(20 * S);
      expect(t.decide('t', 'c', 'a').accept).toBe(true);
      expect(t.decide('t', 'c', 'b').accept).toBe(false);
    }
    expect(t.electedReplica('t', 'c')).toBe('a');
  });

  it('elects per tenant and cluster', () => {
    const t = new HATracker({ now: clock().now });
    expect(t.decide('t1', 'c', 'a').accept).toBe(true);
    expect(t.decide('t2', 'c', 'b').accept).toBe(true);
    expect(t.decide('t1', 'd', 'b').accept).toBe(true);
    expect(t.decide('t1', 'c', 'b').accept).toBe(false);
    expect(t.size).toBe(3);
  });

  it('forgets elections silent for expireAfterMs', () => {
    const c = clock();
    const t = new HATracker({ failoverTimeoutMs: 30 * S, expireAfterMs: 60 * S, now: c.now });
    t.decide('t', 'old', 'a');
    c.advance(40 * S);
    t.decide('t', 'new', 'a');
    c.advance(25 * S); // 'old' silent 65s: swept at most once per failover timeout, not yet
    t.decide('t', 'new', 'a');
    expect(t.size).toBe(2);
    c.advance(6 * S); // 71s since the first sweep's window opened
    t.decide('t', 'new', 'a');
    expect(t.electedReplica('t', 'old')).toBeUndefined();
    expect(t.electedReplica('t', 'new')).toBe('a');
    expect(t.size).toBe(1);
  });

  it('counts failovers and exposes the elected replicas per tenant', async () => {
    const c = clock();
    const reg = new Registry();
    const t = new HATracker({ failoverTimeoutMs: 30 * S, now: c.now, registry: reg });
    t.decide('t', 'c1', 'a');
    t.decide('t', 'c2', 'a');
    t.decide('u', 'c1', 'a');
    c.advance(31 * S);
    t.decide('t', 'c1', 'b');
    expect(await metric(reg, 'thanos_receive_ha_tracker_elected_replica_changes_total', { tenant: 't', cluster: 'c1' })).toBe(1);
    expect(await metric(reg, 'thanos_receive_ha_tracker_elected_replicas', { tenant: 't' })).toBe(2);
    expect(await metric(reg, 'thanos_receive_ha_tracker_elected_replicas', { tenant: 'u' })).toBe(1);
  });

  it('adopts a hint more recent than what it knows', () => {
    const c = clock();
    const t = new HATracker({ failoverTimeoutMs: 30 * S, now: c.now });
    // A decider without state told "a was elected and heard of 5s ago" keeps a.
    expect(t.decide('t', 'c', 'b', c.now(), { elected: 'a', ageMs: 5 * S })).toEqual({ accept: false, elected: 'a', lastSeenAgeMs: 5 * S });
    // ... until a has been silent for the timeout, counted from when the caller heard of it.
    c.advance(25 * S + 1);
    expect(t.decide('t', 'c', 'b').accept).toBe(true);
    // An older hint does not override what the decider knows.
    c.advance(S);
    expect(t.decide('t', 'c', 'a', c.now(), { elected: 'a', ageMs: 2 * S }).accept).toBe(false);
    // A newer one does (another decider elected a in the meantime).
    expect(t.decide('t', 'c', 'a', c.now(), { elected: 'a', ageMs: 0 }).accept).toBe(true);
  });

  it('ignores a stale hint', () => {
    const c = clock();
    const t = new HATracker({ failoverTimeoutMs: 30 * S, now: c.now });
    expect(t.decide('t', 'c', 'b', c.now(), { elected: 'a', ageMs: 31 * S }).accept).toBe(true);
  });
});

describe('findHALabels and stripReplicaLabel', () => {
  it('finds the cluster and replica labels', () => {
    const labels = [
      { name: '__name__', value: 'up' },
      { name: '__replica__', value: 'b' },
      { name: 'cluster', value: 'x' },
    ];
    expect(findHALabels(labels, 'cluster', '__replica__')).toEqual({ cluster: 'x', replica: 'b' });
    expect(findHALabels([{ name: 'cluster', value: 'x' }], 'cluster', '__replica__')).toEqual({ cluster: 'x', replica: '' });
    expect(findHALabels(null, 'cluster', '__replica__')).toEqual({ cluster: '', replica: '' });
  });

  it('removes the replica label from every series that has it', () => {
    const series = [
      { labels: [{ name: '__name__', value: 'up' }, { name: '__replica__', value: 'a' }, { name: 'cluster', value: 'x' }] },
      { labels: [{ name: '__name__', value: 'up' }, { name: 'job', value: 'j' }] },
      { labels: null },
      { labels: [{ name: '__replica__', value: 'a' }, { name: '__replica__', value: 'a' }, { name: 'z', value: '1' }] },
    ];
    expect(stripReplicaLabel(series, '__replica__')).toBe(2);
    expect(series[0].labels).toEqual([{ name: '__name__', value: 'up' }, { name: 'cluster', value: 'x' }]);
    expect(series[1].labels).toEqual([{ name: '__name__', value: 'up' }, { name: 'job', value: 'j' }]);
    expect(series[3].labels).toEqual([{ name: 'z', value: '1' }]);
  });
});

/** Peers served by in-process trackers; a peer listed in `down` fails. */
class FakePeers implements HATrackerPeers {
  readonly calls: { address: string; req: ElectRequest }[] = [];
  readonly down = new Set<string>();

  constructor(private readonly trackers: Map<string, HATracker>) {}

  async elect(address: string, req: ElectRequest): Promise<HADecision> {
    this.calls.push({ address, req });
    await Promise.resolve();
    if (this.down.has(address)) throw new Error(`connect ${address}: refused`);
    const t = this.trackers.get(address)!;
    return t.decide(req.tenant, req.cluster, req.replica, t.now(), req.hint);
  }
}

const ADDRS = ['r0:10901', 'r1:10901', 'r2:10901'];

function ring(): Hashring {
  return newSimpleHashring(ADDRS.map((address) => ({ address, capnprotoAddress: '', az: '' })));
}

function setup(failoverTimeoutMs = 30 * S, cacheTTLMs = 5 * S) {
  const c = clock();
  const trackers = new Map(ADDRS.map((a) => [a, new HATracker({ failoverTimeoutMs, now: c.now })]));
  const peers = new FakePeers(trackers);
  const registries = new Map(ADDRS.map((a) => [a, new Registry()]));
  const nodes = new Map(
    ADDRS.map((a) => [
      a,
      new RingHATracker({ hashring: ring(), localEndpoint: a, local: trackers.get(a)!, peers, cacheTTLMs, registry: registries.get(a) }),
    ]),
  );
  return { c, trackers, peers, nodes, registries };
}

describe('RingHATracker', () => {
  const tenant = 'team';
  const cluster = 'x';
  const owner = ring().getN(tenant, [{ name: 'cluster', value: cluster }], 0);
  const next = ring().getN(tenant, [{ name: 'cluster', value: cluster }], 1);
  const other = ADDRS.find((a) => a !== owner && a !== next)!;

  it('lets the owner decide and caches its answer for the TTL', async () => {
    const { c, trackers, peers, nodes } = setup();
    const d = await nodes.get(other)!.decide(tenant, cluster, 'a');
    expect(d).toMatchObject({ accept: true, elected: 'a', decider: owner, cached: false });
    expect(trackers.get(owner)!.electedReplica(tenant, cluster)).toBe('a');
    expect(trackers.get(other)!.size).toBe(0);

    // b, writing to the next owner, is rejected by the owner.
    expect(await nodes.get(next)!.check(tenant, cluster, 'b')).toBe(false);
    const calls = peers.calls.length;
    c.advance(4 * S);
    expect(await nodes.get(other)!.decide(tenant, cluster, 'a')).toMatchObject({ accept: true, cached: true });
    expect(await nodes.get(other)!.decide(tenant, cluster, 'b')).toMatchObject({ accept: false, elected: 'a', cached: true });
    expect(peers.calls.length).toBe(calls);
    c.advance(2 * S); // past the TTL: asked again
    expect(await nodes.get(other)!.check(tenant, cluster, 'a')).toBe(true);
    expect(peers.calls.length).toBe(calls + 1);
  });

  it('decides locally when it is the owner, without a call', async () => {
    const { peers, nodes, trackers } = setup();
    expect(await nodes.get(owner)!.decide(tenant, cluster, 'a')).toMatchObject({ accept: true, decider: owner });
    expect(peers.calls).toHaveLength(0);
    expect(trackers.get(owner)!.electedReplica(tenant, cluster)).toBe('a');
  });

  it('keeps the owner seeing the elected replica through cached accepts', async () => {
    const { c, nodes } = setup(30 * S, 5 * S);
    // a writes only to `other` (accepted from the cache most of the time), b only to `next`.
    for (let i = 0; i < 40; i++) {
      expect(await nodes.get(other)!.check(tenant, cluster, 'a')).toBe(true);
      expect(await nodes.get(next)!.check(tenant, cluster, 'b')).toBe(false);
      c.advance(2 * S);
    }
  });

  it('fails over once the elected replica is silent, even with a cached reject', async () => {
    const { c, nodes } = setup(30 * S, 5 * S);
    await nodes.get(other)!.check(tenant, cluster, 'a');
    c.advance(S);
    expect(await nodes.get(next)!.check(tenant, cluster, 'b')).toBe(false);
    // a stops. b keeps writing to `next`; within the timeout it stays rejected.
    for (let i = 0; i < 29; i++) {
      c.advance(S);
      expect(await nodes.get(next)!.check(tenant, cluster, 'b')).toBe(false);
    }
    c.advance(S + 1);
    expect(await nodes.get(next)!.decide(tenant, cluster, 'b')).toMatchObject({ accept: true, elected: 'b', decider: owner });
    // a comes back: rejected everywhere once caches agree.
    c.advance(5 * S);
    expect(await nodes.get(other)!.check(tenant, cluster, 'a')).toBe(false);
  });

  it('asks the next owner when the owner is down, and it keeps the elected replica', async () => {
    const { c, peers, nodes, trackers, registries } = setup();
    await nodes.get(other)!.check(tenant, cluster, 'a');
    peers.down.add(owner);
    c.advance(6 * S);
    // b is first to ask after the owner went away; the hint from the cache keeps a.
    expect(await nodes.get(other)!.decide(tenant, cluster, 'b')).toMatchObject({ accept: false, elected: 'a', decider: next });
    expect(await nodes.get(next)!.decide(tenant, cluster, 'a')).toMatchObject({ accept: true, elected: 'a', decider: next });
    expect(trackers.get(next)!.electedReplica(tenant, cluster)).toBe('a');
    expect(await metric(registries.get(other)!, 'thanos_receive_ha_tracker_owner_request_failures_total')).toBe(1);
  });

  it('decides alone when no owner answers, and counts it', async () => {
    const { c, peers } = setup();
    peers.down.add(owner);
    peers.down.add(next);
    const reg = new Registry();
    const local = new HATracker({ now: c.now });
    // A receiver outside the ring asks at most two owners, then decides alone.
    const lone = new RingHATracker({ hashring: ring(), localEndpoint: 'elsewhere:10901', local, peers, maxOwners: 2, registry: reg });
    expect(await lone.decide(tenant, cluster, 'b')).toMatchObject({ accept: true, elected: 'b', decider: 'elsewhere:10901' });
    expect(peers.calls.map((x) => x.address)).toEqual([owner, next]);
    expect(local.electedReplica(tenant, cluster)).toBe('b');
    expect(await metric(reg, 'thanos_receive_ha_tracker_local_fallback_decisions_total', { tenant })).toBe(1);
  });

  it('reaches itself as the next owner when the owners before it are down', async () => {
    const { c, peers, nodes, trackers } = setup();
    peers.down.add(owner);
    peers.down.add(next);
    expect(await nodes.get(other)!.decide(tenant, cluster, 'a')).toMatchObject({ accept: true, decider: other });
    expect(trackers.get(other)!.electedReplica(tenant, cluster)).toBe('a');
    // The owner comes back without state; what `other` decided goes to it as the hint.
    peers.down.clear();
    c.advance(6 * S);
    expect(await nodes.get(other)!.decide(tenant, cluster, 'b')).toMatchObject({ accept: false, elected: 'a', decider: owner });
  });

  it('skips a failed peer for the backoff instead of waiting on it again', async () => {
    const c = clock();
    const trackers = new Map(ADDRS.map((a) => [a, new HATracker({ now: c.now })]));
    const peers = new FakePeers(trackers);
    const node = new RingHATracker({ hashring: ring(), localEndpoint: other, local: trackers.get(other)!, peers, cacheTTLMs: 5 * S, peerBackoffMs: 20 * S });
    const toOwner = (): number => peers.calls.filter((x) => x.address === owner).length;
    peers.down.add(owner);
    expect(await node.decide(tenant, cluster, 'a')).toMatchObject({ decider: next });
    expect(toOwner()).toBe(1);
    c.advance(6 * S); // the cached answer expired, the owner is still backed off
    expect(await node.decide(tenant, cluster, 'b')).toMatchObject({ accept: false, decider: next, cached: false });
    expect(toOwner()).toBe(1);
    peers.down.delete(owner);
    c.advance(15 * S);
    await node.decide(tenant, cluster, 'b');
    expect(toOwner()).toBe(2);
  });

  it('asks once for concurrent checks of the same replica', async () => {
    const { peers, nodes } = setup();
    const results = await Promise.all(Array.from({ length: 10 }, () => nodes.get(other)!.check(tenant, cluster, 'a')));
    expect(results.every(Boolean)).toBe(true);
    expect(peers.calls).toHaveLength(1);
  });

  it('counts rejected samples', async () => {
    const { nodes, registries } = setup();
    await nodes.get(other)!.check(tenant, cluster, 'a', 10);
    expect(await nodes.get(other)!.check(tenant, cluster, 'b', 25)).toBe(false);
    expect(await metric(registries.get(other)!, 'thanos_receive_ha_tracker_rejected_samples_total', { tenant })).toBe(25);
  });

  it('accepts requests without both HA labels without asking', async () => {
    const { peers, nodes } = setup();
    expect(await nodes.get(other)!.check(tenant, '', 'a')).toBe(true);
    expect(await nodes.get(other)!.check(tenant, cluster, '')).toBe(true);
    expect(peers.calls).toHaveLength(0);
  });

  it('carries the election to the new owner after a hashring change', async () => {
    const c = clock();
    const all = [...ADDRS, 'r3:10901'];
    const trackers = new Map(all.map((a) => [a, new HATracker({ now: c.now })]));
    const peers = new FakePeers(trackers);
    const ring4 = newSimpleHashring(all.map((address) => ({ address, capnprotoAddress: '', az: '' })));
    // A cluster whose owner moves when r3 joins, and a receiver that is neither owner.
    const moved = ['x', 'y', 'z', 'w', 'v', 'u'].find(
      (k) => ring().getN(tenant, [{ name: 'cluster', value: k }], 0) !== ring4.getN(tenant, [{ name: 'cluster', value: k }], 0),
    )!;
    const oldOwner = ring().getN(tenant, [{ name: 'cluster', value: moved }], 0);
    const newOwner = ring4.getN(tenant, [{ name: 'cluster', value: moved }], 0);
    const asker = ADDRS.find((a) => a !== oldOwner && a !== newOwner)!;
    const node = new RingHATracker({ hashring: ring(), localEndpoint: asker, local: trackers.get(asker)!, peers });
    expect(await node.check(tenant, moved, 'a')).toBe(true);
    c.advance(S);
    node.setHashring(ring4);
    // Not answered from the cache, and b, asking first, does not win at the new owner.
    expect(await node.decide(tenant, moved, 'b')).toMatchObject({ accept: false, elected: 'a', decider: newOwner, cached: false });
    expect(trackers.get(newOwner)!.electedReplica(tenant, moved)).toBe('a');
  });

  it('refuses a cache TTL not below the failover timeout', () => {
    const t = new HATracker({ failoverTimeoutMs: 1000 });
    expect(() => new RingHATracker({ hashring: ring(), localEndpoint: ADDRS[0], local: t, peers: new FakePeers(new Map()), cacheTTLMs: 1000 })).toThrow(
      /cache TTL/,
    );
  });
});
