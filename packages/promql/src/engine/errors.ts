// Errors of query evaluation (promql/engine.go). Callers branch on the class (the API
// maps them to error types: timeout, canceled, execution, bad_data); the messages are
// Prometheus's, byte for byte, since users and tests compare them.

import type { Annotations } from '../functions/annotations.js';

/** Where an engine error happened, as Prometheus names it ("query execution", …). */
export const QUERY_EXECUTION = 'query execution';
export const EXPRESSION_EVALUATION = 'expression evaluation';

/** The query ran longer than the engine's timeout (ErrQueryTimeout). */
export class QueryTimeoutError extends Error {
  override readonly name = 'QueryTimeoutError';
  constructor(readonly where: string) {
    super(`query timed out in ${where}`);
  }
}

/**
 * What the engine reads to learn that a query was canceled: an AbortSignal, or any object
 * whose `aborted` flag can flip while evaluation runs synchronously (a worker thread's
 * getter over a SharedArrayBuffer: a real AbortSignal cannot be aborted from outside
 * while the worker's event loop is blocked). The engine only polls `aborted` at its
 * checkpoints; it never adds listeners.
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  /** Kept as the cause of the QueryCanceledError. */
  readonly reason?: unknown;
}

/** The caller aborted the query (ErrQueryCanceled). */
export class QueryCanceledError extends Error {
  override readonly name = 'QueryCanceledError';
  constructor(
    readonly where: string,
    reason?: unknown,
  ) {
    super(`query was canceled in ${where}`, reason === undefined ? undefined : { cause: reason });
  }
}

/** The query would hold more samples in memory than allowed (ErrTooManySamples). */
export class TooManySamplesError extends Error {
  override readonly name = 'TooManySamplesError';
  constructor(readonly where: string = QUERY_EXECUTION) {
    super(`query processing would load too many samples into memory in ${where}`);
  }
}

/** The storage failed while the engine read series (ErrStorage). */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/**
 * Any other failure of evaluation: "vector cannot contain metrics with the same labelset",
 * many-to-many matching, bad parameters, … The message is exactly Prometheus's.
 */
export class EvalError extends Error {
  override readonly name = 'EvalError';
}

/** A feature the engine does not evaluate yet (e.g. native histograms). */
export class UnsupportedError extends EvalError {}

/** An error carrying the annotations gathered before it (errWithWarnings). */
export class ErrorWithAnnotations extends Error {
  constructor(
    readonly err: Error,
    readonly annotations: Annotations,
  ) {
    super(err.message);
    this.name = err.name;
  }
}
