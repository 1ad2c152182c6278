// The HA tracker between receivers: `/thanosts.HATracker/Elect`, a unary gRPC method on
// the receiver's gRPC server. Internal to thanos-ts receivers, so no .proto: request and
// response are JSON documents in the message bytes.
//
//   request  {"tenant": "t", "cluster": "c", "replica": "r", "hint"?: {"elected": "a", "ageMs": 1200}}
//   response {"accept": true, "elected": "r", "lastSeenAgeMs": 0}

import { Client, status as Status } from '@grpc/grpc-js';
import type { ChannelOptions, sendUnaryData, Server, ServerUnaryCall, ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import { InvalidArgumentError, nopLogger } from '@thanos-ts/runtime';
import type { GrpcClientConfig, Logger } from '@thanos-ts/runtime';
import { grpcClientTransport, toWireStatus } from '@thanos-ts/storeapi';
import type { GrpcClientTransport } from '@thanos-ts/storeapi';
import type { ElectionHint, ElectRequest, HADecision, HATracker, HATrackerPeers } from './ha-tracker.js';

export const HA_TRACKER_ELECT_PATH = '/thanosts.HATracker/Elect';
export const DEFAULT_HA_TRACKER_CALL_TIMEOUT_MS = 2000;
// Elect messages are a few hundred bytes; anything much larger is not ours.
const MAX_MESSAGE_BYTES = 64 * 1024;

const passthrough = (b: Buffer): Buffer => b;

export const HA_TRACKER_SERVICE: ServiceDefinition = {
  Elect: {
    path: HA_TRACKER_ELECT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: passthrough,
    requestDeserialize: passthrough,
    responseSerialize: passthrough,
    responseDeserialize: passthrough,
    originalName: 'elect',
  },
};

/** Mounts thanosts.HATracker on a receiver's gRPC server; `tracker` decides with its own clock. */
export function addHATrackerService(server: Pick<Server, 'addService'>, tracker: HATracker, logger: Logger = nopLogger()): void {
  server.addService(HA_TRACKER_SERVICE, {
    Elect: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
      try {
        const req = decodeElectRequest(call.request);
        const d = tracker.decide(req.tenant, req.cluster, req.replica, tracker.now(), req.hint);
        cb(null, encodeJSON(d));
      } catch (err) {
        const st = toWireStatus(err);
        if (st.code === Status.INTERNAL) logger.error({ err }, 'ha tracker: elect failed');
        else logger.debug({ code: st.code, details: st.details }, 'ha tracker: elect refused');
        cb({ code: st.code, details: st.details });
      }
    },
  });
}

function encodeJSON(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v), 'utf8');
}

function parseJSON(b: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(b.toString('utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`malformed ${what}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidArgumentError(`malformed ${what}: not an object`);
  return v as Record<string, unknown>;
}

function field<T extends 'string' | 'boolean' | 'number'>(
  o: Record<string, unknown>,
  name: string,
  type: T,
  what: string,
): T extends 'string' ? string : T extends 'boolean' ? boolean : number {
  const v = o[name];
  if (typeof v !== type || (type === 'number' && !Number.isFinite(v))) {
    throw new InvalidArgumentError(`malformed ${what}: ${name} must be a ${type}`);
  }
  return v as T extends 'string' ? string : T extends 'boolean' ? boolean : number;
}

/** Decodes and validates an Elect request; throws InvalidArgumentError. */
export function decodeElectRequest(b: Buffer): ElectRequest {
  const what = 'HA tracker elect request';
  const o = parseJSON(b, what);
  const req: ElectRequest = {
    tenant: field(o, 'tenant', 'string', what),
    cluster: field(o, 'cluster', 'string', what),
    replica: field(o, 'replica', 'string', what),
  };
  if (req.cluster === '' || req.replica === '') throw new InvalidArgumentError(`malformed ${what}: empty cluster or replica`);
  if (o.hint !== undefined && o.hint !== null) {
    if (typeof o.hint !== 'object' || Array.isArray(o.hint)) throw new InvalidArgumentError(`malformed ${what}: hint must be an object`);
    const h = o.hint as Record<string, unknown>;
    const hint: ElectionHint = { elected: field(h, 'elected', 'string', what), ageMs: field(h, 'ageMs', 'number', what) };
    if (hint.ageMs < 0) throw new InvalidArgumentError(`malformed ${what}: negative hint age`);
    req.hint = hint;
  }
  return req;
}

function decodeDecision(b: Buffer): HADecision {
  const what = 'HA tracker elect response';
  const o = parseJSON(b, what);
  return {
    accept: field(o, 'accept', 'boolean', what),
    elected: field(o, 'elected', 'string', what),
    lastSeenAgeMs: Math.max(0, field(o, 'lastSeenAgeMs', 'number', what)),
  };
}

/** An Elect call failed: names the peer and carries the gRPC status. */
export class HATrackerRPCError extends Error {
  override readonly name = 'HATrackerRPCError';

  constructor(
    readonly address: string,
    readonly code: number,
    details: string,
    options?: ErrorOptions,
  ) {
    super(`ha tracker elect ${address}: ${Status[code] ?? code}: ${details}`, options);
  }
}

export interface HATrackerClientOptions {
  /** Deadline of each call (default 2s). */
  timeoutMs?: number;
  /** TLS and compression towards peers (--grpc-client-*), as for forwarding. */
  grpc?: GrpcClientConfig;
  /** Credentials built once, shared with other clients; wins over `grpc`. */
  transport?: GrpcClientTransport;
  channelOptions?: ChannelOptions;
}

/** One channel to one peer receiver. */
export class HATrackerClient {
  private readonly client: Client;
  private readonly timeoutMs: number;

  constructor(
    readonly address: string,
    opts: HATrackerClientOptions = {},
  ) {
    const transport = opts.transport ?? grpcClientTransport(opts.grpc);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_HA_TRACKER_CALL_TIMEOUT_MS;
    this.client = new Client(address, transport.credentials, {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      ...transport.channelOptions,
      ...opts.channelOptions,
    });
  }

  /** Asks the peer to decide; rejects with HATrackerRPCError. */
  elect(req: ElectRequest): Promise<HADecision> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        HA_TRACKER_ELECT_PATH,
        encodeJSON,
        passthrough,
        req,
        { deadline: Date.now() + this.timeoutMs },
        (err: ServiceError | null, res?: Buffer) => {
          if (err) {
            reject(new HATrackerRPCError(this.address, err.code ?? Status.UNKNOWN, err.details || err.message, { cause: err }));
            return;
          }
          try {
            resolve(decodeDecision(res as Buffer));
          } catch (e) {
            reject(new HATrackerRPCError(this.address, Status.INTERNAL, (e as Error).message, { cause: e }));
          }
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

/** The peers of a receiver: one client per address, created on first use and reused. */
export class HATrackerClientPool implements HATrackerPeers {
  private readonly clients = new Map<string, HATrackerClient>();
  private readonly opts: HATrackerClientOptions;

  constructor(opts: HATrackerClientOptions = {}) {
    // Credentials are read once for all peers.
    this.opts = { ...opts, transport: opts.transport ?? grpcClientTransport(opts.grpc) };
  }

  elect(address: string, req: ElectRequest): Promise<HADecision> {
    let c = this.clients.get(address);
    if (c === undefined) this.clients.set(address, (c = new HATrackerClient(address, this.opts)));
    return c.elect(req);
  }

  retain(addresses: ReadonlySet<string>): void {
    for (const [address, c] of this.clients) {
      if (!addresses.has(address)) {
        c.close();
        this.clients.delete(address);
      }
    }
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
