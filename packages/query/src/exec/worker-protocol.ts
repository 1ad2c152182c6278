// What the query component's main thread and its evaluation workers say to each other.
// A task travels through the pool with a MessagePort of its own; the answer streams back
// over that port in chunks the main thread acknowledges (at most WINDOW unacknowledged),
// so a slow client holds back the worker instead of filling memory.

import type { MessagePort } from 'node:worker_threads';
import type { GrpcClientConfig, LogFormat, LogLevel } from '@thanos-ts/runtime';
import type { DedupFunc } from '@thanos-ts/tsdb';
import type { EndpointSnapshot } from './endpoint-snapshot.js';
import type { AbortSignalLike } from '@thanos-ts/promql';
import type { PromQLTask } from './promql-task.js';

/** Chunks in flight between a worker and the main thread, per query. */
export const WINDOW = 4;

/** Fixed for the life of a worker (workerData). */
export interface WorkerConfig {
  lookbackDeltaMs: number;
  /** --query.timeout; Infinity for none. */
  timeoutMs: number;
  maxSamples: number;
  /** Samples one query may select from the stores (the engine reads them all before evaluating). */
  maxSelectedSamples: number;
  defaultEvaluationIntervalMs: number;
  dedupFunc: DedupFunc;
  selectTimeoutMs: number;
  maxConcurrentSelects: number;
  responseTimeoutMs: number;
  /** --grpc-client-* and --grpc-compression, as plain data: each worker dials its own clients. */
  grpcClient?: GrpcClientConfig;
  logLevel: LogLevel;
  logFormat: LogFormat;
}

/** One query for a worker. `cancel` is an Int32Array's buffer: non-zero once the client went away. */
export interface WorkerTask {
  task: PromQLTask;
  endpoints: EndpointSnapshot[];
  cancel: SharedArrayBuffer;
  port: MessagePort;
}

export type WorkerMessage =
  | { t: 'thread'; id: number }
  | { t: 'head'; warnings: string[]; infos: string[] }
  | { t: 'data'; bytes: Uint8Array }
  | { t: 'end' }
  | { t: 'error'; errorType: string; message: string };

export type MainMessage = { t: 'ack' };

/**
 * The engine's cancel signal over the shared flag and the deadline: readable in the middle of a
 * synchronous evaluation, where no message or timer can arrive.
 */
export function sharedCancelProbe(flag: Int32Array, deadline: number): AbortSignalLike & { timedOut(): boolean } {
  const timedOut = (): boolean => deadline > 0 && Date.now() >= deadline;
  return {
    get aborted() {
      return Atomics.load(flag, 0) !== 0 || timedOut();
    },
    get reason() {
      return timedOut() ? new DOMException('query timed out', 'TimeoutError') : new DOMException('client closed the connection', 'AbortError');
    },
    timedOut,
  };
}
