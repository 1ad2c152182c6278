// Errors the frontend answers itself, in the Prometheus API's JSON shape. Answers from
// the downstream query are passed through unchanged instead (status and body).

/** Prometheus API error types (web/api/v1 errorType). */
export type ApiErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal' | 'unavailable';

/** An error with the HTTP status and Prometheus errorType it is answered with. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly errorType: ApiErrorType,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  body(): Buffer {
    return Buffer.from(JSON.stringify({ status: 'error', errorType: this.errorType, error: this.message }));
  }
}

export function badData(message: string): ApiError {
  return new ApiError(400, 'bad_data', message);
}

/**
 * An answer of the downstream query that is not a success: kept whole so it reaches the
 * client as the query sent it. 5xx answers are retried (Cortex retry middleware).
 */
export class DownstreamError extends Error {
  override readonly name = 'DownstreamError';
  constructor(
    readonly status: number,
    readonly headers: Record<string, string>,
    readonly payload: Buffer,
  ) {
    super(`downstream answered ${status}: ${payload.subarray(0, 512).toString('utf8')}`);
  }
}
