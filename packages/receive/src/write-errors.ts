// How a replicated write failed, as Thanos's handler tells it (pkg/receive/handler.go:
// errorSet, writeErrors, replicationErrors). Every destination's failure is classified
// into the causes that decide the answer: a conflict (the data itself was refused: 409,
// a retry cannot help), a receiver not ready or not reachable (503, a retry may), or
// something else (500).

import { Status, StoreAPIError } from '@thanos-ts/storeapi';
import { WriteConflictError } from './writer.js';

export type WriteCause = 'conflict' | 'notReady' | 'unavailable' | 'badReplica' | 'validation';

/** Thanos's sentinel texts. */
export const CAUSE_MESSAGES: Record<WriteCause, string> = {
  conflict: 'conflict',
  notReady: 'target not ready',
  unavailable: 'target not available',
  badReplica: 'request replica exceeds receiver replication factor',
  validation: 'validation error',
};

/** A failed write with the cause that decides its status (null: an internal error). */
export class ReceiveWriteError extends Error {
  override readonly name = 'ReceiveWriteError';
  constructor(
    readonly cause0: WriteCause | null,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A failure of one destination (forwarding or local write), with what it was. */
export class DestinationError extends Error {
  override readonly name = 'DestinationError';
  constructor(
    message: string,
    /** What the destination said: a WriteConflictError, a StoreAPIError, … */
    readonly reason: unknown,
    /** Set when we did not even try (the peer is backing off). */
    readonly unavailable = false,
  ) {
    super(message, { cause: reason });
  }
}

export function isConflict(err: unknown): boolean {
  if (err instanceof DestinationError) return isConflict(err.reason);
  if (err instanceof WriteConflictError) return true;
  return err instanceof StoreAPIError && err.code === Status.ALREADY_EXISTS;
}

export function isNotReady(err: unknown): boolean {
  if (err instanceof DestinationError) return err.unavailable || isNotReady(err.reason);
  return err instanceof StoreAPIError && err.code === Status.UNAVAILABLE;
}

export function isUnavailable(err: unknown): boolean {
  if (err instanceof DestinationError) return err.unavailable || isUnavailable(err.reason);
  return err instanceof StoreAPIError && err.code === Status.UNAVAILABLE;
}

/** A deduplicated set of failure texts, printed as Thanos prints an errorSet. */
export class ErrorSet {
  readonly reasons = new Set<string>();
  readonly errs: unknown[] = [];

  add(err: unknown): void {
    this.errs.push(err);
    if (err instanceof ReplicationErrors) for (const r of err.set.reasons) this.reasons.add(r);
    else this.reasons.add((err as Error).message ?? String(err));
  }

  get size(): number {
    return this.errs.length;
  }

  message(): string {
    const rs = [...this.reasons].sort();
    return (rs.length > 1 ? `${rs.length} errors: ` : '') + rs.join('; ');
  }
}

/** The failures of one series across its replicas. */
export class ReplicationErrors {
  readonly set = new ErrorSet();
  constructor(readonly threshold: number) {}

  add(err: unknown): void {
    this.set.add(err);
  }

  /**
   * The cause that sank the series: one kind seen at least `threshold` times (a
   * conflict first), else `unavailable` when enough replicas failed for any mix of
   * reasons (a retry may succeed), else none.
   */
  cause(): WriteCause | null {
    const counts: [WriteCause, number][] = [
      ['conflict', 0],
      ['notReady', 0],
      ['unavailable', 0],
    ];
    for (const e of this.set.errs) {
      if (isConflict(e)) counts[0][1]++;
      if (isNotReady(e)) counts[1][1]++;
      if (isUnavailable(e)) counts[2][1]++;
    }
    let best = counts[0];
    for (const c of counts) if (c[1] > best[1]) best = c;
    if (best[1] >= this.threshold) return best[0];
    if (this.set.size >= this.threshold) return 'unavailable';
    return null;
  }
}

/**
 * The failed series of a request combined: the cause is the most retryable one present
 * (unavailable, then not ready, then conflict), as writeErrors.Cause prefers recoverable
 * errors so that clients retry.
 */
export function combineSeriesErrors(failed: readonly ReplicationErrors[]): ReceiveWriteError | null {
  if (failed.length === 0) return null;
  const set = new ErrorSet();
  const causes = new Set<WriteCause | null>();
  for (const f of failed) {
    set.add(f);
    causes.add(f.cause());
  }
  let cause: WriteCause | null = null;
  for (const c of ['unavailable', 'notReady', 'conflict'] as const) {
    if (causes.has(c)) {
      cause = c;
      break;
    }
  }
  return new ReceiveWriteError(cause, set.message());
}
