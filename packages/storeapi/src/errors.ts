// gRPC status codes at the StoreAPI edge: the server maps thrown errors to a status once,
// and the client turns a status back into one typed error that names the endpoint.

import { status as Status } from '@grpc/grpc-js';
import { InvalidArgumentError, LimitExceededError, NotFoundError, UnavailableError } from '@thanos-ts/runtime';

export { Status };

// Go's codes.Code.String() spellings, which Thanos prints in "rpc error: code = … desc = …".
const CODE_NAMES: readonly string[] = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];

/** The Go name of a gRPC status code ("Unavailable"), or `Code(N)` for unknown ones. */
export function statusCodeName(code: number): string {
  return CODE_NAMES[code] ?? `Code(${code})`;
}

/**
 * A failed StoreAPI call as seen by a client. The message reads like Thanos's:
 * `store 127.0.0.1:10901: Series: rpc error: code = Unavailable desc = connection refused`.
 */
export class StoreAPIError extends Error {
  override readonly name = 'StoreAPIError';

  constructor(
    /** The endpoint, HOST:PORT. */
    readonly address: string,
    /** The RPC method, e.g. "Series". */
    readonly method: string,
    /** The gRPC status code (Status.UNAVAILABLE, …). */
    readonly code: number,
    /** The status message the server (or the transport) gave. */
    readonly details: string,
  ) {
    super(`store ${address}: ${method}: rpc error: code = ${statusCodeName(code)} desc = ${details}`);
  }

  /** The Go-style name of the code, e.g. "Unavailable". */
  get codeName(): string {
    return statusCodeName(this.code);
  }
}

/** A status for the wire: code and message. */
export interface WireStatus {
  code: number;
  details: string;
}

/**
 * Maps an error thrown below the edge to a gRPC status. Typed errors from
 * @thanos-ts/runtime choose the code; AbortError (a cancelled call) is CANCELLED;
 * a StoreAPIError from a downstream call keeps its code; anything else is INTERNAL.
 */
export function toWireStatus(err: unknown): WireStatus {
  const e = err instanceof Error ? err : new Error(String(err));
  if (e instanceof InvalidArgumentError) return { code: Status.INVALID_ARGUMENT, details: e.message };
  if (e instanceof UnavailableError) return { code: Status.UNAVAILABLE, details: e.message };
  if (e instanceof LimitExceededError) return { code: Status.RESOURCE_EXHAUSTED, details: e.message };
  if (e instanceof NotFoundError) return { code: Status.NOT_FOUND, details: e.message };
  if (e instanceof StoreAPIError) return { code: e.code, details: e.message };
  if (e.name === 'AbortError') return { code: Status.CANCELLED, details: e.message || 'context canceled' };
  if (e.name === 'TimeoutError') return { code: Status.DEADLINE_EXCEEDED, details: e.message || 'context deadline exceeded' };
  return { code: Status.INTERNAL, details: e.message };
}
