// The router (Thanos pkg/receive/handler.go forward/fanoutForward): the series of a write
// are placed on the hashring, replica by replica, grouped per destination, and written
// there in one request each: locally through the Writer, remotely over
// thanos.WriteableStore/RemoteWrite. The write succeeds when every series reached the
// write quorum (RF/2+1; 1 for RF 2, as Thanos); it returns as soon as every series has
// an outcome, letting slower replicas finish in the background.

import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Logger } from '@thanos-ts/runtime';
import { StoreAPIError, StoreClient, thanos } from '@thanos-ts/storeapi';
import type { GrpcClientTransport, prometheus } from '@thanos-ts/storeapi';
import type { Labels } from '@thanos-ts/tsdb';
import { uvarintSize, writeUvarint } from '@thanos-ts/tsdb';
import type { EncodedWriteRequest } from './encoded-write-request.js';
import { hashRawLabels } from './hashring.js';
import type { Hashring } from './hashring.js';
import { combineSeriesErrors, DestinationError, isConflict, ReceiveWriteError, ReplicationErrors } from './write-errors.js';
import type { Writer } from './writer.js';

export type TimeSeries = prometheus.TimeSeries.$Properties;

/** The series of one tenant in a write. */
export interface TenantSeries {
  tenant: string;
  timeseries: TimeSeries[];
}

/** The series of one tenant still encoded (the fast path of a remote write). */
export interface EncodedTenantSeries {
  tenant: string;
  encoded: EncodedWriteRequest;
}

export interface RouterOptions {
  /** The current hashring (it changes when the hashrings file does). */
  hashring: () => Hashring;
  replicationFactor: number;
  /** --receive.local-endpoint: series placed on it are written locally. */
  localEndpoint: string;
  /** The local write path; null for a router only. */
  writer: Writer | null;
  /** gRPC client transport towards the other receivers (--remote-write.client-tls-*). */
  transport: GrpcClientTransport;
  /** Timeout of each forward request (ms). */
  forwardTimeoutMs: number;
  /** Longest a peer that answered Unavailable is skipped (ms). */
  maxBackoffMs: number;
  registry: Registry;
  logger: Logger;
}

/** Replica numbers to write: all of them for a new request, the one named for a replicated one. */
interface Replication {
  replicas: number[];
  alreadyReplicated: boolean;
}

/** Where a group of series goes: an endpoint and the replica it holds there. */
interface Destination {
  endpoint: string;
  replica: number;
  byTenant: Map<string, DestinationSeries>;
}

/**
 * A tenant's series at one destination: decoded ones, or indexes into an encoded request.
 * Series `ids[k]` is number base + ids[k] across the whole write, for the quorum count:
 * for decoded series base is 0, for encoded ones ids index `encoded` and base is the
 * number of its first series.
 */
interface DestinationSeries {
  timeseries: TimeSeries[];
  encoded: EncodedWriteRequest | null;
  base: number;
  ids: number[];
}

/** A peer skipped after failures, until `nextAllowed`. */
interface RetryState {
  attempt: number;
  nextAllowed: number;
}

export class Router {
  private readonly peers = new Map<string, StoreClient>();
  private readonly peerStates = new Map<string, RetryState>();
  private readonly forwardRequests: Counter<'result'>;
  private readonly replications: Counter<'result'>;
  private readonly logger: Logger;

  constructor(private readonly opts: RouterOptions) {
    this.logger = opts.logger;
    const registers = [opts.registry];
    this.forwardRequests = new Counter({ name: 'thanos_receive_forward_requests_total', help: 'The number of forward requests.', labelNames: ['result'], registers });
    this.replications = new Counter({ name: 'thanos_receive_replications_total', help: 'The number of replication operations done by the receiver. The success of replication is fulfilled when a quorum is met.', labelNames: ['result'], registers });
  }

  /** Write quorum for the replication factor (Thanos writeQuorum). */
  get writeQuorum(): number {
    const rf = this.opts.replicationFactor;
    return rf === 2 ? 1 : Math.floor(rf / 2) + 1;
  }

  /**
   * Writes a request: `replica` 0 for a new one (every replica is written), else the
   * 1-based replica number a peer asked for.
   * @throws ReceiveWriteError with the cause that decides the status
   */
  async write(replica: number, data: readonly TenantSeries[]): Promise<void> {
    await this.fanout(this.replication(replica), data);
  }

  /**
   * write() for a tenant's series still encoded: written locally without decoding the
   * series the head holds, forwarded as the bytes they came in.
   * @throws ReceiveWriteError with the cause that decides the status
   */
  async writeEncoded(replica: number, tenant: string, encoded: EncodedWriteRequest): Promise<void> {
    await this.writeEncodedTenants(replica, [{ tenant, encoded }]);
  }

  /**
   * writeEncoded() for several tenants (a peer's thanos.WriteRequest); each tenant at
   * most once.
   * @throws ReceiveWriteError with the cause that decides the status
   */
  async writeEncodedTenants(replica: number, data: readonly EncodedTenantSeries[]): Promise<void> {
    await this.fanout(this.replication(replica), data);
  }

  /** The replicas a request writes: all of them for a new one, else the one a peer asked for. */
  private replication(replica: number): Replication {
    if (replica > this.opts.replicationFactor) {
      this.logger.error({ requestReplica: replica, replicationFactor: this.opts.replicationFactor }, 'write request rejected');
      throw new ReceiveWriteError('badReplica', 'request replica exceeds receiver replication factor');
    }
    return replica > 0
      ? { replicas: [replica - 1], alreadyReplicated: true }
      : { replicas: Array.from({ length: this.opts.replicationFactor }, (_, i) => i), alreadyReplicated: false };
  }

  /** Closes the connections to the peers. */
  close(): void {
    for (const c of this.peers.values()) c.close();
    this.peers.clear();
  }

  private distribute(rep: Replication, data: readonly (TenantSeries | EncodedTenantSeries)[]): { destinations: Destination[]; numSeries: number } {
    const ring = this.opts.hashring();
    // With one address in the ring, where a series goes does not depend on its labels:
    // encoded series then need no hashing to be placed.
    const labelsMatter = distinctAddresses(ring) > 1;
    // Destinations by endpoint, then replica; the addresses are the ring's own strings.
    const byEndpoint = new Map<string, Destination[]>();
    const destinations: Destination[] = [];
    const destination = (endpoint: string, rn: number): Destination => {
      let ds = byEndpoint.get(endpoint);
      if (ds === undefined) byEndpoint.set(endpoint, (ds = []));
      let d = ds[rn];
      if (d === undefined) {
        d = ds[rn] = { endpoint, replica: rn, byTenant: new Map() };
        destinations.push(d);
      }
      return d;
    };
    const tenantAt = (d: Destination, tenant: string, encoded: EncodedWriteRequest | null, base: number): DestinationSeries => {
      let t = d.byTenant.get(tenant);
      if (t === undefined) {
        t = { timeseries: [], encoded, base, ids: [] };
        d.byTenant.set(tenant, t);
      } else if (t.encoded !== encoded) {
        throw new Error(`tenant ${tenant} twice in one encoded write`);
      }
      return t;
    };
    const placeError = (err: unknown): ReceiveWriteError => new ReceiveWriteError(null, (err as Error).message, { cause: err });
    let id = -1;
    for (const ts of data) {
      const tenant = ts.tenant;
      if ('encoded' in ts) {
        const enc = ts.encoded;
        const base = id + 1;
        id += enc.n;
        if (!labelsMatter) {
          for (const rn of rep.replicas) {
            let endpoint: string;
            try {
              endpoint = ring.getN(tenant, NO_LABELS, rn);
            } catch (err) {
              throw placeError(err);
            }
            const t = tenantAt(destination(endpoint, rn), tenant, enc, base);
            for (let i = 0; i < enc.n; i++) t.ids.push(i);
          }
          continue;
        }
        // This tenant's series at each destination, by endpoint then replica.
        const local = new Map<string, DestinationSeries[]>();
        const hash = ROUTING_HASH;
        for (let i = 0; i < enc.n; i++) {
          hashRawLabels(tenant, enc.buf, enc.ranges, enc.labelRanges(i), hash);
          for (const rn of rep.replicas) {
            let endpoint: string;
            try {
              endpoint = ring.getNByHash(tenant, hash[0], hash[1], rn);
            } catch (err) {
              throw placeError(err);
            }
            let slots = local.get(endpoint);
            if (slots === undefined) local.set(endpoint, (slots = []));
            let t = slots[rn];
            if (t === undefined) t = slots[rn] = tenantAt(destination(endpoint, rn), tenant, enc, base);
            t.ids.push(i);
          }
        }
        continue;
      }
      for (const series of ts.timeseries) {
        id++;
        const labels = (series.labels ?? []) as Labels;
        for (const rn of rep.replicas) {
          let endpoint: string;
          try {
            endpoint = ring.getN(tenant, labels, rn);
          } catch (err) {
            throw placeError(err);
          }
          const t = tenantAt(destination(endpoint, rn), tenant, null, 0);
          t.timeseries.push(series);
          t.ids.push(id);
        }
      }
    }
    return { destinations, numSeries: id + 1 };
  }

  private fanout(rep: Replication, data: readonly (TenantSeries | EncodedTenantSeries)[]): Promise<void> {
    const { destinations, numSeries } = this.distribute(rep, data);
    if (numSeries === 0) return Promise.resolve();
    const successThreshold = rep.alreadyReplicated ? 1 : this.writeQuorum;
    const failureThreshold = rep.replicas.length - successThreshold + 1;
    const successes = new Int32Array(numSeries);
    const failures = new Int32Array(numSeries);
    const conflicts = new Int32Array(numSeries);
    const seriesErrs: (ReplicationErrors | null)[] = new Array(numSeries).fill(null);
    let pending = destinations.length;

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const failed: ReplicationErrors[] = [];
        for (let i = 0; i < numSeries; i++) if (failures[i] >= failureThreshold && seriesErrs[i] !== null) failed.push(seriesErrs[i]!);
        const err = combineSeriesErrors(failed);
        if (err === null) resolve();
        else reject(err);
      };
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        reject(new ReceiveWriteError(null, 'context deadline exceeded'));
      }, this.opts.forwardTimeoutMs);
      const canReturnEarly = (): boolean => {
        for (let i = 0; i < numSeries; i++) if (successes[i] < successThreshold && conflicts[i] < failureThreshold) return false;
        return true;
      };
      const onResponse = (d: Destination, err: DestinationError | null): void => {
        pending--;
        if (settled) {
          if (err !== null) this.logger.debug({ endpoint: d.endpoint, err: err.message }, 'request failed, but not needed to achieve quorum');
          return;
        }
        const conflict = err !== null && isConflict(err);
        for (const t of d.byTenant.values()) {
          for (const k of t.ids) {
            const i = t.base + k;
            if (err === null) {
              successes[i]++;
            } else {
              (seriesErrs[i] ??= new ReplicationErrors(successThreshold)).add(err);
              failures[i]++;
              if (conflict) conflicts[i]++;
            }
          }
        }
        if (pending === 0 || canReturnEarly()) finish();
      };
      for (const d of destinations) {
        this.send(d, rep.alreadyReplicated).then(
          () => onResponse(d, null),
          (err: DestinationError) => onResponse(d, err),
        );
      }
    });
  }

  /** Writes one destination's series; rejects with a DestinationError. */
  private async send(d: Destination, alreadyReplicated: boolean): Promise<void> {
    // '' matches '' as in Thanos: the single node hashring of a receiver without
    // --receive.local-endpoint places everything on it.
    if (d.endpoint === this.opts.localEndpoint && this.opts.writer !== null) {
      try {
        for (const [tenant, t] of d.byTenant) {
          if (t.encoded !== null) await this.opts.writer.writeEncoded(tenant, t.encoded, t.ids.length === t.encoded.n ? null : t.ids);
          else await this.opts.writer.write(tenant, t.timeseries);
        }
      } catch (err) {
        throw new DestinationError(`forwarding request to endpoint {${d.endpoint}}: writing locally: ${(err as Error).message}`, err);
      }
      return;
    }
    if (!this.isPeerUp(d.endpoint)) {
      throw new DestinationError(`backing off forward request for endpoint ${d.endpoint}: target not available`, new Error('target not available'), true);
    }
    const req = encodeForward(d);
    const t0 = performance.now();
    try {
      await this.peer(d.endpoint).remoteWrite(req, { timeoutMs: this.opts.forwardTimeoutMs });
    } catch (err) {
      const e = err as Error & { code?: number };
      // As Go's gRPC prints a status, without our client's "store ADDR: METHOD:" prefix.
      const text = err instanceof StoreAPIError ? `rpc error: code = ${err.codeName} desc = ${err.details}` : e.message;
      if (e.code !== 6 /* AlreadyExists */) {
        this.forwardRequests.inc({ result: 'error' });
        if (!alreadyReplicated) this.replications.inc({ result: 'error' });
      }
      if (e.code === 14 /* Unavailable */) this.markPeerUnavailable(d.endpoint);
      throw new DestinationError(`forwarding request to endpoint {${d.endpoint}}: ${text}`, err);
    }
    this.logger.debug({ endpoint: d.endpoint, ms: performance.now() - t0 }, 'forwarded');
    this.forwardRequests.inc({ result: 'success' });
    if (!alreadyReplicated) this.replications.inc({ result: 'success' });
    this.peerStates.delete(d.endpoint);
  }

  private peer(endpoint: string): StoreClient {
    let c = this.peers.get(endpoint);
    if (c === undefined) {
      c = new StoreClient(endpoint, { transport: this.opts.transport });
      this.peers.set(endpoint, c);
    }
    return c;
  }

  private isPeerUp(endpoint: string): boolean {
    const st = this.peerStates.get(endpoint);
    return st === undefined || Date.now() >= st.nextAllowed;
  }

  /** Exponential backoff from 100 ms up to maxBackoffMs, as Thanos's peer group. */
  private markPeerUnavailable(endpoint: string): void {
    const st = this.peerStates.get(endpoint) ?? { attempt: -1, nextAllowed: 0 };
    st.attempt++;
    st.nextAllowed = Date.now() + Math.min(this.opts.maxBackoffMs, 100 * 2 ** st.attempt);
    this.peerStates.set(endpoint, st);
  }
}

/** Passed to the hashring when labels do not matter. */
const NO_LABELS: Labels = Object.freeze([]) as Labels;

/** hashRawLabels' output for the series being placed (one write is placed at a time, synchronously). */
const ROUTING_HASH = new Uint32Array(2);

function distinctAddresses(ring: Hashring): number {
  const nodes = ring.nodes();
  let n = 0;
  for (let i = 0; i < nodes.length; i++) if (i === 0 || nodes[i].address !== nodes[0].address) n = n === 0 ? 1 : 2;
  return n;
}

/**
 * The thanos.WriteRequest forwarded to a destination. Encoded series are passed on as
 * the bytes they came in (a TimeSeries of prometheus.WriteRequest is the same message as
 * thanos's prometheus_copy.TimeSeries), inside a hand-written envelope:
 *   4: TimeSeriesTenantTuple {1: TimeSeries..., 2: tenant}   3: replica
 */
function encodeForward(d: Destination): Uint8Array {
  let anyEncoded = false;
  for (const t of d.byTenant.values()) if (t.encoded !== null) anyEncoded = true;
  if (!anyEncoded) {
    return thanos.WriteRequest.encode({
      timeseriesTenantData: [...d.byTenant].map(([tenant, t]) => ({ tenant, timeseries: t.timeseries })),
      replica: d.replica + 1,
    }).finish();
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  const push = (b: Uint8Array): void => {
    parts.push(b);
    total += b.length;
  };
  for (const [tenant, t] of d.byTenant) {
    const tuple: Uint8Array[] = [];
    let len = 0;
    if (t.encoded !== null) {
      for (const i of t.ids) {
        const f = t.encoded.seriesField(i);
        tuple.push(f);
        len += f.length;
      }
    } else {
      for (const series of t.timeseries) {
        const f = thanos.TimeSeriesTenantTuple.encode({ timeseries: [series] }).finish();
        tuple.push(f);
        len += f.length;
      }
    }
    const tb = Buffer.from(tenant, 'utf8');
    if (tb.length > 0) {
      tuple.push(Uint8Array.of(0x12), uvarint(tb.length), tb);
      len += 1 + uvarintSize(tb.length) + tb.length;
    }
    push(Uint8Array.of(0x22));
    push(uvarint(len));
    for (const b of tuple) push(b);
  }
  push(Uint8Array.of(0x18));
  push(uvarint(d.replica + 1));
  return Buffer.concat(parts, total);
}

function uvarint(x: number): Uint8Array {
  const out = new Uint8Array(uvarintSize(x));
  writeUvarint(out, 0, x);
  return out;
}
