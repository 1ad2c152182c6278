// Retries of downstream requests (Cortex retry middleware): 5xx answers and failed
// connections are tried again up to max-retries times in all, with jittered backoff
// from 200ms doubling to 2s; 4xx answers and cancellations are final.

import { Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Logger } from '@thanos-ts/runtime';
import { ApiError, DownstreamError } from './errors.js';

export function retriesHistogram(registry: Registry): Histogram<'tripperware'> {
  return new Histogram({
    name: 'cortex_query_frontend_retries',
    help: 'Number of times a request is retried.',
    buckets: [0, 1, 2, 3, 4, 5],
    labelNames: ['tripperware'],
    registers: [registry],
  });
}

function retryable(err: unknown): boolean {
  if (err instanceof DownstreamError) return Math.floor(err.status / 100) === 5;
  if (err instanceof ApiError) return err.errorType === 'unavailable';
  return false;
}

export async function withRetries<T>(
  maxRetries: number,
  fn: () => Promise<T>,
  opts: { logger: Logger; signal?: AbortSignal; observe: (tries: number) => void },
): Promise<T> {
  if (maxRetries <= 0) return fn();
  let tries = 0;
  let backoff = 200;
  let lastErr: unknown;
  try {
    for (; tries < maxRetries; tries++) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      try {
        return await fn();
      } catch (err) {
        if (!retryable(err) || opts.signal?.aborted) throw err;
        lastErr = err;
        const wait = backoff / 2 + Math.random() * (backoff / 2);
        backoff = Math.min(backoff * 2, 2000);
        opts.logger.warn({ try: tries, err, waitMs: Math.round(wait) }, 'error processing request');
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    throw lastErr;
  } finally {
    opts.observe(tries);
  }
}
