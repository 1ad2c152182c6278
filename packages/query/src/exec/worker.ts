// The evaluation worker (a piscina worker thread of the query component): PromQL queries
// run here, selection and evaluation both, so the main thread keeps answering health
// checks, metrics, gRPC and other queries however long one evaluation takes. Several
// queries share a worker: their selections wait on the network side by side.

import { threadId, workerData } from 'node:worker_threads';
import { createLogger } from '@thanos-ts/runtime';
import { Engine } from '@thanos-ts/promql';
import { ApiError, apiErrorOf } from '../api/errors.js';
import { ProxyStore } from '@thanos-ts/storeapi';
import { StoreQueryable } from '../querier.js';
import { endpointOf, StoreClientCache } from './endpoint-snapshot.js';
import { evaluatePromQL, queryableSettings } from './promql-task.js';
import { sharedCancelProbe, WINDOW } from './worker-protocol.js';
import type { MainMessage, WorkerConfig, WorkerMessage, WorkerTask } from './worker-protocol.js';

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

export default async function evaluate(w: WorkerTask): Promise<void> {
  const { task, port } = w;
  const post = (m: WorkerMessage): void => port.postMessage(m);
  post({ t: 'thread', id: threadId });
  const probe = sharedCancelProbe(new Int32Array(w.cancel), task.deadline);
  const ac = new AbortController();
  const poll = setInterval(() => {
    if (probe.aborted && !ac.signal.aborted) ac.abort(probe.reason);
  }, POLL_MS);
  let credits = WINDOW;
  let wake: (() => void) | null = null;
  port.on('message', (m: MainMessage) => {
    if (m.t !== 'ack') return;
    credits++;
    wake?.();
  });
  ac.signal.addEventListener('abort', () => wake?.(), { once: true });
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
    post({ t: 'head', warnings: ev.warnings, infos: ev.infos });
    for (const bytes of ev.data) {
      while (credits === 0 && !ac.signal.aborted) await new Promise<void>((r) => (wake = r));
      wake = null;
      if (ac.signal.aborted) throw apiErrorOf(ac.signal.reason, probe.timedOut());
      credits--;
      post({ t: 'data', bytes });
    }
    post({ t: 'end' });
  } catch (err) {
    const e = err instanceof ApiError ? err : apiErrorOf(err, probe.timedOut());
    if (e.type === 'internal' || e.type === 'execution') logger.debug({ err: e.message, query: task.query }, 'query failed');
    post({ t: 'error', errorType: e.type, message: e.message });
  } finally {
    clearInterval(poll);
    port.close();
  }
}
