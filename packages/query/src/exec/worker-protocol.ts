// What the query component's main thread and its evaluation workers say to each other.
// A task travels through the pool with a control buffer in shared memory; the answer
// streams back in chunks over the worker's parentPort (piscina's 'message' event), tagged
// with the task's id. The main thread counts the chunks it took in the control buffer,
// and a worker sends at most WINDOW chunks ahead of that count, so a slow client holds
// back the worker instead of filling memory.
//
// No MessageChannel per query, and few messages: a transferred port cost about a
// millisecond per query (creating, transferring, first post, closing), and every message
// wakes the other thread. A small answer is one message: the first chunk travels with the
// head, and the last chunk says it is the last. Chunks go as exactly-sized buffers,
// transferred: a structured clone copies a view's whole backing buffer, 64 KiB for a
// 100-byte answer.

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

/** Int32 slots of a task's control buffer. */
export const CONTROL_CANCEL = 0;
/** The worker's thread id + 1, stored as it takes the task (0: not taken yet). */
export const CONTROL_THREAD = 1;
/** Chunks the main thread has taken (it notifies waiters on this slot). */
export const CONTROL_TAKEN = 2;
export const CONTROL_SLOTS = 3;

/** One query for a worker. `control` is an Int32Array's buffer of CONTROL_SLOTS. */
export interface WorkerTask {
  /** Tags the task's messages; unique within the main thread. */
  id: number;
  task: PromQLTask;
  endpoints: EndpointSnapshot[];
  control: SharedArrayBuffer;
}

/** `bytes` is null only when the answer has no chunk; `end`: no message follows. */
export type WorkerMessage =
  | { id: number; t: 'head'; warnings: string[]; infos: string[]; bytes: Uint8Array | null; end: boolean }
  | { id: number; t: 'data'; bytes: Uint8Array; end: boolean }
  | { id: number; t: 'error'; errorType: string; message: string };

/** Piscina's 'message' events are anything a worker posts; ours have these. */
export function isWorkerMessage(m: unknown): m is WorkerMessage {
  return typeof m === 'object' && m !== null && typeof (m as { id?: unknown }).id === 'number' && typeof (m as { t?: unknown }).t === 'string';
}

/**
 * The engine's cancel signal over the shared flag and the deadline: readable in the middle of a
 * synchronous evaluation, where no message or timer can arrive.
 */
export function sharedCancelProbe(control: Int32Array, deadline: number): AbortSignalLike & { timedOut(): boolean } {
  const timedOut = (): boolean => deadline > 0 && Date.now() >= deadline;
  return {
    get aborted() {
      return Atomics.load(control, CONTROL_CANCEL) !== 0 || timedOut();
    },
    get reason() {
      return timedOut() ? new DOMException('query timed out', 'TimeoutError') : new DOMException('client closed the connection', 'AbortError');
    },
    timedOut,
  };
}

/**
 * A copy of `b` in a buffer of its size, fit to be transferred. Always a copy: the encoder
 * may still write into the rest of the buffer that `b` views.
 */
export function ownedBytes(b: Uint8Array): Uint8Array {
  const c = new Uint8Array(b.byteLength);
  c.set(b);
  return c;
}
