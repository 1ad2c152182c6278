// API error types and their HTTP status codes (Prometheus web/api/v1 getDefaultErrorCode),
// and the mapping of engine errors onto them (returnAPIError). Errors below the API are
// typed; this is the one place they become Prometheus error types.

import { ErrorWithAnnotations, QueryCanceledError, QueryTimeoutError, StorageError } from '@thanos-ts/promql';

/** Prometheus's errorType strings. */
export const ErrorType = {
  TIMEOUT: 'timeout',
  CANCELED: 'canceled',
  EXECUTION: 'execution',
  BAD_DATA: 'bad_data',
  INTERNAL: 'internal',
  UNAVAILABLE: 'unavailable',
  NOT_FOUND: 'not_found',
  NOT_ACCEPTABLE: 'not_acceptable',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** Non-standard code (from nginx) for a client that went away while we worked. */
export const STATUS_CLIENT_CLOSED = 499;

/** The HTTP status for an error type. */
export function statusCodeOf(t: ErrorType): number {
  switch (t) {
    case ErrorType.BAD_DATA:
      return 400;
    case ErrorType.EXECUTION:
      return 422;
    case ErrorType.CANCELED:
      return STATUS_CLIENT_CLOSED;
    case ErrorType.TIMEOUT:
      return 503;
    case ErrorType.NOT_FOUND:
      return 404;
    case ErrorType.NOT_ACCEPTABLE:
      return 406;
    default:
      return 500;
  }
}

/** An error answered as {"status":"error","errorType":…,"error":…}. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly type: ErrorType,
    message: string,
  ) {
    super(message);
  }
}

/** bad_data for a malformed parameter: `invalid parameter "time": …` (invalidParamError). */
export function invalidParam(err: unknown, param: string): ApiError {
  return new ApiError(ErrorType.BAD_DATA, `invalid parameter "${param}": ${(err as Error).message ?? String(err)}`);
}

export function badData(err: unknown): ApiError {
  return new ApiError(ErrorType.BAD_DATA, err instanceof Error ? err.message : String(err));
}

/**
 * The API error for a failed query or storage call (returnAPIError). `timedOut` tells
 * that the request's own deadline (the timeout parameter, --query.timeout) fired: the
 * engine only sees an aborted signal, which it reports as canceled.
 */
export function apiErrorOf(err: unknown, timedOut = false): ApiError {
  if (err instanceof ApiError) return err;
  // The engine attaches the annotations gathered so far; the error is what counts.
  if (err instanceof ErrorWithAnnotations) err = err.err;
  const e = err instanceof Error ? err : new Error(String(err));
  if (e instanceof QueryTimeoutError) return new ApiError(ErrorType.TIMEOUT, e.message);
  if (timedOut) {
    const where = e instanceof QueryCanceledError ? e.where : 'query execution';
    return new ApiError(ErrorType.TIMEOUT, new QueryTimeoutError(where).message);
  }
  if (e instanceof QueryCanceledError) return new ApiError(ErrorType.CANCELED, e.message);
  if (e instanceof StorageError) return new ApiError(ErrorType.INTERNAL, e.message);
  if (e.name === 'AbortError') return new ApiError(ErrorType.CANCELED, 'context canceled');
  return new ApiError(ErrorType.EXECUTION, e.message);
}
