// The evaluation worker (a piscina worker thread of the query component): PromQL queries
// run here, selection and evaluation both, so the main thread keeps answering health
// checks, metrics, gRPC and other queries however long one evaluation takes. Several
// queries share a worker: their selections wait on the network side by side.

import { parentPort, threadId, workerData } from 'node:worker_threads';
import { createLogger } from '@thanos-ts/runtime';
import { Engine } from '@thanos-ts/promql';
import { ApiError, apiErrorOf } from '../api/errors.js';
import { ProxyStore } from '@thanos-ts/storeapi';
import { StoreQueryable } from '../querier.js';
import { endpointOf, StoreClientCache } from './endpoint-snapshot.js';
import { evaluatePromQL, queryableSettings } from './promql-task.js';
import { CONTROL_TAKEN, CONTROL_THREAD, ownedBytes, sharedCancelProbe, WINDOW } from './worker-protocol.js';
import type { WorkerConfig, WorkerMessage, WorkerTask } from './worker-protocol.js';

const cfg = workerData as WorkerConfig;
const logger = createLogger({ level: cfg.logLevel, format: cfg.logFormat }).child({ component: 'query-worker', thread: threadId });
const engine = new Engine({
  lookbackDelta: cfg.lookbackDeltaMs,
  timeout: cfg.timeoutMs,
  maxSamples: cfg.maxSamples,
  maxSelectedSamples: cfg.maxSelectedSamples,
  noStepSubqueryInterval: () => cfg.defaultEvaluationIntervalMs,
});
const clients = new StoreClientCache({ grpc: cfg.grpcClient });

/** How often the asynchronous parts (selects, waiting for acks) look at the cancel flag. */
const POLL_MS = 20;

/** Answers once this worker has loaded: the pool is warmed with one per thread. */
export function ping(): number {
  return threadId;
}

type Unsent<M> = M extends unknown ? Omit<M, 'id'> : never;

export default async function evaluate(w: WorkerTask): Promise<void> {
  const { task, id } = w;
  const post = (m: Unsent<WorkerMessage>, transfer: ArrayBuffer[] = []): void => parentPort!.postMessage({ ...m, id }, transfer);
  const control = new Int32Array(w.control);
  Atomics.store(control, CONTROL_THREAD, threadId + 1);
  const probe = sharedCancelProbe(control, task.deadline);
  const ac = new AbortController();
  const poll = setInterval(() => {
    if (probe.aborted && !ac.signal.aborted) ac.abort(probe.reason);
  }, POLL_MS);
  try {
    const endpoints = w.endpoints.map((s) => endpointOf(s, clients));
    const proxy = new ProxyStore({ endpoints: () => endpoints, responseTimeoutMs: cfg.responseTimeoutMs, logger });
    const queryable = new StoreQueryable({
      proxy,
      dedupFunc: cfg.dedupFunc,
      selectTimeoutMs: cfg.selectTimeoutMs,
      maxConcurrentSelects: cfg.maxConcurrentSelects,
      logger,
      ...queryableSettings(task),
      signal: ac.signal,
    });
    const ev = await evaluatePromQL(engine, queryable, task, probe, probe.timedOut);
    // One chunk ahead, so that the last one says so; the first goes with the head.
    const chunks = ev.data[Symbol.iterator]();
    let cur = chunks.next();
    let sent = 0;
    for (;;) {
      const bytes = cur.done ? null : ownedBytes(cur.value);
      const next = cur.done ? cur : chunks.next();
      const end = next.done === true;
      if (bytes) {
        await windowOpen(control, sent, ac.signal);
        if (ac.signal.aborted) throw apiErrorOf(ac.signal.reason, probe.timedOut());
      }
      const transfer = bytes ? [bytes.buffer as ArrayBuffer] : [];
      if (sent === 0) post({ t: 'head', warnings: ev.warnings, infos: ev.infos, bytes, end }, transfer);
      else post({ t: 'data', bytes: bytes!, end }, transfer);
      sent++;
      if (end) break;
      cur = next;
    }
  } catch (err) {
    const e = err instanceof ApiError ? err : apiErrorOf(err, probe.timedOut());
    if (e.type === 'internal' || e.type === 'execution') logger.debug({ err: e.message, query: task.query }, 'query failed');
    post({ t: 'error', errorType: e.type, message: e.message });
  } finally {
    clearInterval(poll);
  }
}

/** Until fewer than WINDOW of the `sent` chunks are untaken, or the query is aborted. */
async function windowOpen(control: Int32Array, sent: number, signal: AbortSignal): Promise<void> {
  for (;;) {
    const taken = Atomics.load(control, CONTROL_TAKEN);
    if (sent - taken < WINDOW || signal.aborted) return;
    // Timed, so that an abort is seen without a notify.
    const r = waitAsync(control, CONTROL_TAKEN, taken, POLL_MS);
    if (r.async) await r.value;
  }
}

/** Atomics.waitAsync (Node 16+; the ES2023 lib we compile against does not declare it). */
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, timeoutMs: number): { async: boolean; value: unknown } }).waitAsync;
