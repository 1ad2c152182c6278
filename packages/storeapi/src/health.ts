// The standard gRPC health service (grpc.health.v1.Health Check and Watch), which Thanos
// registers on its gRPC servers and load balancers probe. Its two messages are tiny, so
// they are coded by hand here rather than generated:
//   HealthCheckRequest  { string service = 1; }
//   HealthCheckResponse { ServingStatus status = 1; }  UNKNOWN=0 SERVING=1 NOT_SERVING=2 SERVICE_UNKNOWN=3

import { Status } from './errors.js';
import { DecodingBuffer } from '@thanos-ts/tsdb';
import type { GrpcServer, ServerCall } from './h2-server.js';

export const ServingStatus = {
  UNKNOWN: 0,
  SERVING: 1,
  NOT_SERVING: 2,
  /** Watch only: the service is not known (yet). */
  SERVICE_UNKNOWN: 3,
} as const;
export type ServingStatus = (typeof ServingStatus)[keyof typeof ServingStatus];

/** Serving status per service name; "" is the server as a whole. */
export class HealthStatus {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<(st: ServingStatus) => void>>();

  set(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const fn of this.watchers.get(service) ?? []) fn(status);
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Calls `fn` with every change of the service's status; returns the unsubscribe. */
  watch(service: string, fn: (st: ServingStatus) => void): () => void {
    let set = this.watchers.get(service);
    if (!set) this.watchers.set(service, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.watchers.delete(service);
    };
  }
}

/** Adds grpc.health.v1.Health Check and Watch to the server, answering from `health`. */
export function addHealthService(server: GrpcServer, health: HealthStatus): void {
  server.addMethod('/grpc.health.v1.Health/Check', (call) => {
    const service = requestedService(call);
    if (service === null) return;
    const st = health.get(service);
    if (st === undefined) {
      call.sendStatus(Status.NOT_FOUND, `unknown service ${JSON.stringify(service)}`);
      return;
    }
    call.sendUnary(encodeHealthCheckResponse(st));
  });
  // As grpc-go's health server: the current status (SERVICE_UNKNOWN for an unknown
  // service), then each change, until the client goes away.
  server.addMethod('/grpc.health.v1.Health/Watch', (call) => {
    const service = requestedService(call);
    if (service === null) return;
    call.write(encodeHealthCheckResponse(health.get(service) ?? ServingStatus.SERVICE_UNKNOWN));
    const unwatch = health.watch(service, (st) => call.write(encodeHealthCheckResponse(st)));
    call.on('cancelled', unwatch);
  });
}

/** The service a Check or Watch asks about; null after answering a malformed request. */
function requestedService(call: ServerCall): string | null {
  try {
    return decodeHealthCheckRequest(call.request);
  } catch (err) {
    call.sendStatus(Status.INVALID_ARGUMENT, `malformed HealthCheckRequest: ${(err as Error).message}`);
    return null;
  }
}

export function decodeHealthCheckRequest(buf: Uint8Array): string {
  const d = new DecodingBuffer(buf, 'HealthCheckRequest', 0);
  let service = '';
  while (d.remaining > 0) {
    const tag = d.uvarint();
    if (tag === 0x0a) service = d.uvarintStr();
    else if ((tag & 7) === 0) d.uvarint();
    else if ((tag & 7) === 2) d.bytes(d.uvarint());
    else if ((tag & 7) === 1) d.skip(8);
    else if ((tag & 7) === 5) d.skip(4);
    else throw new Error(`unexpected wire type ${tag & 7}`);
  }
  return service;
}

export function encodeHealthCheckResponse(st: ServingStatus): Buffer {
  return st === 0 ? Buffer.alloc(0) : Buffer.from([0x08, st]);
}
