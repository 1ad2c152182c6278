// The standard gRPC health service (grpc.health.v1.Health/Check), which Thanos registers
// on its gRPC servers and load balancers probe. Its two messages are tiny, so they are
// coded by hand here rather than generated:
//   HealthCheckRequest  { string service = 1; }
//   HealthCheckResponse { ServingStatus status = 1; }  UNKNOWN=0 SERVING=1 NOT_SERVING=2

import { status as Status } from '@grpc/grpc-js';
import type { sendUnaryData, Server, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { DecodingBuffer } from '@thanos-ts/tsdb';

export const ServingStatus = {
  UNKNOWN: 0,
  SERVING: 1,
  NOT_SERVING: 2,
} as const;
export type ServingStatus = (typeof ServingStatus)[keyof typeof ServingStatus];

/** Serving status per service name; "" is the server as a whole. */
export class HealthStatus {
  private readonly statuses = new Map<string, ServingStatus>();

  set(service: string, status: ServingStatus): void {
    this.statuses.set(service, status);
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }
}

const passthrough = (b: Buffer): Buffer => b;

/** Adds grpc.health.v1.Health/Check to the server, answering from `health`. */
export function addHealthService(server: Server, health: HealthStatus): void {
  server.addService(
    {
      Check: {
        path: '/grpc.health.v1.Health/Check',
        requestStream: false,
        responseStream: false,
        requestSerialize: passthrough,
        requestDeserialize: passthrough,
        responseSerialize: passthrough,
        responseDeserialize: passthrough,
        originalName: 'check',
      },
    },
    {
      Check: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
        let service: string;
        try {
          service = decodeHealthCheckRequest(call.request);
        } catch (err) {
          cb({ code: Status.INVALID_ARGUMENT, details: `malformed HealthCheckRequest: ${(err as Error).message}` });
          return;
        }
        const st = health.get(service);
        if (st === undefined) {
          cb({ code: Status.NOT_FOUND, details: `unknown service ${JSON.stringify(service)}` });
          return;
        }
        cb(null, encodeHealthCheckResponse(st));
      },
    } as UntypedServiceImplementation,
  );
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
