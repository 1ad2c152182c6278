import { Client, credentials, Server, ServerCredentials, status as Status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { newSimpleHashring } from './hashring.js';
import type { Hashring } from './hashring.js';
import { HATracker, RingHATracker } from './ha-tracker.js';
import { addHATrackerService, decodeElectRequest, HA_TRACKER_ELECT_PATH, HATrackerClient, HATrackerClientPool, HATrackerRPCError } from './ha-tracker-rpc.js';

const S = 1000;

interface Node {
  address: string;
  server: Server;
  tracker: HATracker;
  pool: HATrackerClientPool;
  ring: RingHATracker;
}

let nodes: Node[] = [];

function bind(server: Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
}

/** Three receivers on loopback gRPC servers sharing one fake clock. */
async function startCluster(failoverTimeoutMs = 30 * S, cacheTTLMs = 5 * S): Promise<{ advance: (ms: number) => void; hashring: Hashring }> {
  let t = 1_000_000;
  const now = (): number => t;
  const servers: { server: Server; tracker: HATracker; address: string }[] = [];
  for (let i = 0; i < 3; i++) {
    const server = new Server();
    const tracker = new HATracker({ failoverTimeoutMs, now });
    addHATrackerService(server, tracker);
    const port = await bind(server);
    servers.push({ server, tracker, address: `127.0.0.1:${port}` });
  }
  const hashring = newSimpleHashring(servers.map((s) => ({ address: s.address, capnprotoAddress: '', az: '' })));
  nodes = servers.map((s) => {
    const pool = new HATrackerClientPool({ timeoutMs: 2000 });
    const ring = new RingHATracker({ hashring, localEndpoint: s.address, local: s.tracker, peers: pool, cacheTTLMs });
    return { ...s, pool, ring };
  });
  return { advance: (ms) => void (t += ms), hashring };
}

afterEach(() => {
  for (const n of nodes) {
    n.pool.close();
    n.server.forceShutdown();
  }
  nodes = [];
});

const TENANT = 'team';
const CLUSTERS = ['x', 'y', 'z', 'eu-1', 'us-2', 'ap-3'];

describe('HA tracker over gRPC', () => {
  it('two replicas writing to different receivers agree on one elected replica', async () => {
    const { advance, hashring } = await startCluster();
    // Each cluster's owner somewhere in the ring, so some questions are local, most remote.
    const owners = new Set(CLUSTERS.map((c) => hashring.getN(TENANT, [{ name: 'cluster', value: c }], 0)));
    expect(owners.size).toBeGreaterThan(1);

    for (let round = 0; round < 10; round++) {
      for (const [i, cluster] of CLUSTERS.entries()) {
        // Replica a writes to one receiver, b to another; they race.
        const [acceptA, acceptB] = await Promise.all([
          nodes[i % 3].ring.check(TENANT, cluster, 'a'),
          nodes[(i + 1) % 3].ring.check(TENANT, cluster, 'b'),
        ]);
        expect(acceptA !== acceptB, `cluster ${cluster} round ${round}`).toBe(true);
      }
      advance(2 * S);
    }
    for (const cluster of CLUSTERS) {
      const elected = await Promise.all(nodes.map((n) => n.ring.decide(TENANT, cluster, 'a').then((d) => d.elected)));
      expect(new Set(elected).size).toBe(1);
      const owner = nodes.find((n) => n.address === hashring.getN(TENANT, [{ name: 'cluster', value: cluster }], 0))!;
      expect(owner.tracker.electedReplica(TENANT, cluster)).toBe(elected[0]);
      // Nobody else holds an election for it: there is one decider.
      for (const n of nodes) if (n !== owner) expect(n.tracker.electedReplica(TENANT, cluster)).toBeUndefined();
    }
  });

  it('the next owner takes over when the owner stops, and answers consistently', async () => {
    const { advance, hashring } = await startCluster();
    const cluster = 'x';
    const labels = [{ name: 'cluster', value: cluster }];
    const owner = nodes.find((n) => n.address === hashring.getN(TENANT, labels, 0))!;
    const next = nodes.find((n) => n.address === hashring.getN(TENANT, labels, 1))!;
    const rest = nodes.filter((n) => n !== owner);

    expect(await rest[0].ring.check(TENANT, cluster, 'a')).toBe(true);
    expect(await rest[1].ring.check(TENANT, cluster, 'b')).toBe(false);

    owner.pool.close();
    owner.server.forceShutdown();
    advance(6 * S); // cached answers expire

    // The first to ask after the owner died is b; the hint keeps a elected at the next owner.
    for (let i = 0; i < 5; i++) {
      const db = await rest[1].ring.decide(TENANT, cluster, 'b');
      const da = await rest[0].ring.decide(TENANT, cluster, 'a');
      expect(db).toMatchObject({ accept: false, elected: 'a' });
      expect(da).toMatchObject({ accept: true, elected: 'a' });
      advance(2 * S);
    }
    expect(next.tracker.electedReplica(TENANT, cluster)).toBe('a');

    // a stops: after the failover timeout b takes over, decided by the next owner.
    for (let i = 0; i < 14; i++) {
      expect(await rest[1].ring.check(TENANT, cluster, 'b')).toBe(false);
      advance(2 * S);
    }
    advance(3 * S);
    const d = await rest[1].ring.decide(TENANT, cluster, 'b');
    expect(d).toMatchObject({ accept: true, elected: 'b', decider: next.address });
    advance(6 * S);
    const after = await Promise.all(rest.map((n) => n.ring.decide(TENANT, cluster, 'a')));
    for (const x of after) expect(x).toMatchObject({ accept: false, elected: 'b' });
  });

  it('answers INVALID_ARGUMENT to a malformed request', async () => {
    await startCluster();
    const raw = new Client(nodes[0].address, credentials.createInsecure());
    const err = await new Promise<ServiceError | null>((resolve) =>
      raw.makeUnaryRequest(HA_TRACKER_ELECT_PATH, (b: Buffer) => b, (b: Buffer) => b, Buffer.from('{"tenant":1}'), (e) => resolve(e)),
    );
    raw.close();
    expect(err?.code).toBe(Status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/tenant must be a string/);
  });

  it('fails with UNAVAILABLE naming the peer when nobody listens', async () => {
    const server = new Server();
    const port = await bind(server);
    server.forceShutdown();
    const c = new HATrackerClient(`127.0.0.1:${port}`, { timeoutMs: 1000 });
    const err = await c.elect({ tenant: 't', cluster: 'c', replica: 'a' }).catch((e: unknown) => e);
    c.close();
    expect(err).toBeInstanceOf(HATrackerRPCError);
    expect((err as HATrackerRPCError).code).toBe(Status.UNAVAILABLE);
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
  });
});

describe('decodeElectRequest', () => {
  it('decodes a request with a hint', () => {
    const b = Buffer.from(JSON.stringify({ tenant: 't', cluster: 'c', replica: 'b', hint: { elected: 'a', ageMs: 1200 } }));
    expect(decodeElectRequest(b)).toEqual({ tenant: 't', cluster: 'c', replica: 'b', hint: { elected: 'a', ageMs: 1200 } });
  });

  it('refuses what is not an Elect request', () => {
    expect(() => decodeElectRequest(Buffer.from('nope'))).toThrow(/malformed HA tracker elect request/);
    expect(() => decodeElectRequest(Buffer.from('[]'))).toThrow(/not an object/);
    expect(() => decodeElectRequest(Buffer.from('{"tenant":"t","cluster":"","replica":"a"}'))).toThrow(/empty cluster/);
    expect(() => decodeElectRequest(Buffer.from('{"tenant":"t","cluster":"c","replica":"a","hint":{"elected":"a","ageMs":-1}}'))).toThrow(/negative/);
  });
});
