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
import type { Hashring } from './hashring.js';
import { combineSeriesErrors, DestinationError, isConflict, ReceiveWriteError, ReplicationErrors } from './write-errors.js';
import type { Writer } from './writer.js';

export type TimeSeries = prometheus.TimeSeries.$Properties;

/** The series of one tenant in a write. */
export interface TenantSeries {
  tenant: string;
  timeseries: TimeSeries[];
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
  byTenant: Map<string, { timeseries: TimeSeries[]; ids: number[] }>;
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
    if (replica > this.opts.replicationFactor) {
      this.logger.error({ requestReplica: replica, replicationFactor: this.opts.replicationFactor }, 'write request rejected');
      throw new ReceiveWriteError('badReplica', 'request replica exceeds receiver replication factor');
    }
    const rep: Replication =
      replica > 0
        ? { replicas: [replica - 1], alreadyReplicated: true }
        : { replicas: Array.from({ length: this.opts.replicationFactor }, (_, i) => i), alreadyReplicated: false };
    await this.fanout(rep, data);
  }

  /** Closes the connections to the peers. */
  close(): void {
    for (const c of this.peers.values()) c.close();
    this.peers.clear();
  }

  private distribute(rep: Replication, data: readonly TenantSeries[]): { destinations: Destination[]; numSeries: number } {
    const ring = this.opts.hashring();
    const byKey = new Map<string, Destination>();
    let id = -1;
    for (const { tenant, timeseries } of data) {
      for (const ts of timeseries) {
        id++;
        const labels = (ts.labels ?? []) as Labels;
        for (const rn of rep.replicas) {
          let endpoint: string;
          try {
            endpoint = ring.getN(tenant, labels, rn);
          } catch (err) {
            throw new ReceiveWriteError(null, (err as Error).message, { cause: err });
          }
          const key = `${endpoint}\u0000${rn}`;
          let d = byKey.get(key);
          if (d === undefined) {
            d = { endpoint, replica: rn, byTenant: new Map() };
            byKey.set(key, d);
          }
          let t = d.byTenant.get(tenant);
          if (t === undefined) {
            t = { timeseries: [], ids: [] };
            d.byTenant.set(tenant, t);
          }
          t.timeseries.push(ts);
          t.ids.push(id);
        }
      }
    }
    return { destinations: [...byKey.values()], numSeries: id + 1 };
  }

  private fanout(rep: Replication, data: readonly TenantSeries[]): Promise<void> {
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
          for (const i of t.ids) {
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
        for (const [tenant, t] of d.byTenant) await this.opts.writer.write(tenant, t.timeseries);
      } catch (err) {
        throw new DestinationError(`forwarding request to endpoint {${d.endpoint}}: writing locally: ${(err as Error).message}`, err);
      }
      return;
    }
    if (!this.isPeerUp(d.endpoint)) {
      throw new DestinationError(`backing off forward request for endpoint ${d.endpoint}: target not available`, new Error('target not available'), true);
    }
    const req = thanos.WriteRequest.encode({
      timeseriesTenantData: [...d.byTenant].map(([tenant, t]) => ({ tenant, timeseries: t.timeseries })),
      replica: d.replica + 1,
    }).finish();
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
