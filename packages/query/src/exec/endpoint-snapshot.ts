// The endpoints as a worker thread sees them: what the main thread's endpoint set knows
// of each (label sets, time range, health), copied per query, with the worker's own
// gRPC clients behind them (channels cannot cross threads).

import { grpcClientTransport, StoreClient } from '@thanos-ts/storeapi';
import type { StoreClientOptions, thanos } from '@thanos-ts/storeapi';
import type { Labels } from '@thanos-ts/tsdb';
import type { StoreEndpoint } from '@thanos-ts/storeapi';
import { grpcTarget, storeClientOptionsFor } from '../discovery/endpoint-group.js';

/** One endpoint's state, plain data. */
export interface EndpointSnapshot {
  address: string;
  labelSets: Labels[];
  minTime: number;
  maxTime: number;
  supportsWithoutReplicaLabels: boolean;
  down: boolean;
}

export function snapshotEndpoint(e: StoreEndpoint): EndpointSnapshot {
  const { minTime, maxTime } = e.timeRange();
  return {
    address: e.address,
    labelSets: e.labelSets().map((ls) => ls.map((l) => ({ name: l.name, value: l.value }))),
    minTime,
    maxTime,
    supportsWithoutReplicaLabels: e.supportsWithoutReplicaLabels(),
    down: e.down?.() ?? false,
  };
}

/** StoreClients by address, closed when unused for `idleMs`. */
export class StoreClientCache {
  private readonly clients = new Map<string, { client: StoreClient; used: number }>();
  private readonly timer: NodeJS.Timeout;

  private readonly opts: StoreClientOptions;

  /** @param opts TLS and compression as plain data (opts.grpc), read into credentials once here. */
  constructor(opts: StoreClientOptions = {}, idleMs = 10 * 60_000) {
    this.opts = opts.transport || !opts.grpc ? opts : { ...opts, transport: grpcClientTransport(opts.grpc) };
    this.timer = setInterval(() => this.closeIdle(Date.now() - idleMs), Math.min(idleMs, 60_000));
    this.timer.unref();
  }

  get(address: string): StoreClient {
    let c = this.clients.get(address);
    if (!c) {
      c = { client: new StoreClient(grpcTarget(address), storeClientOptionsFor(address, this.opts)), used: 0 };
      this.clients.set(address, c);
    }
    c.used = Date.now();
    return c.client;
  }

  private closeIdle(before: number): void {
    for (const [addr, c] of this.clients) {
      if (c.used < before) {
        c.client.close();
        this.clients.delete(addr);
      }
    }
  }

  close(): void {
    clearInterval(this.timer);
    for (const c of this.clients.values()) c.client.close();
    this.clients.clear();
  }
}

/** A StoreEndpoint over a snapshot and a cached client. */
export function endpointOf(s: EndpointSnapshot, clients: StoreClientCache): StoreEndpoint {
  return {
    address: s.address,
    client: clients.get(s.address),
    labelSets: () => s.labelSets,
    timeRange: () => ({ minTime: s.minTime, maxTime: s.maxTime }),
    supportsWithoutReplicaLabels: () => s.supportsWithoutReplicaLabels,
    tsdbInfos: (): thanos.info.TSDBInfo.$Properties[] => [],
    down: () => s.down,
  };
}
