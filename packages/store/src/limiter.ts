// Per-request limits (Thanos pkg/store/limiter.go): a limiter counts what a Series call
// reserves and fails it with RESOURCE_EXHAUSTED once a limit is crossed, before the data
// is fetched, so a heavy query is refused instead of exhausting the gateway's memory.

import { LimitExceededError } from '@thanos-ts/runtime';
import type { Counter } from 'prom-client';

/** Samples per chunk assumed by the sample limit, as Thanos' MaxSamplesPerChunk. */
export const MAX_SAMPLES_PER_CHUNK = 120;

export class Limiter {
  private reserved = 0;

  /** limit 0 means no limit; `what` names the limit in errors ("series", "chunks", "bytes"). */
  constructor(
    private readonly limit: number,
    private readonly what: string,
    private readonly failed?: Counter<'reason'>,
  ) {}

  reserve(n: number): void {
    if (this.limit === 0) return;
    this.reserved += n;
    if (this.reserved > this.limit) {
      this.failed?.inc({ reason: this.what });
      throw new LimitExceededError(`exceeded ${this.what} limit: limit ${this.limit} violated (got ${this.reserved})`);
    }
  }
}

/**
 * A budget of bytes shared by all requests (--chunk-pool-size): chunk data fetched for a
 * batch is reserved until the batch is sent. A request that would take the pool over its
 * size fails at once rather than waiting, so no set of requests can deadlock on it.
 */
export class BytesPool {
  private used = 0;

  constructor(readonly size: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Reserves n bytes; returns the function that gives them back (call it once). */
  reserve(n: number): () => void {
    if (this.used + n > this.size) {
      throw new LimitExceededError(`chunk pool exhausted: ${n} bytes wanted, ${this.size - this.used} of ${this.size} free (--chunk-pool-size)`);
    }
    this.used += n;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.used -= n;
    };
  }
}
