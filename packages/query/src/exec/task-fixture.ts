// Test support for the runners' tests (excluded from the build as *-fixture.ts): a
// worker configuration, instant tasks at a fixed time, and an answer's text.

import { DedupFunc } from '@thanos-ts/tsdb';
import type { PromQLAnswer, PromQLTask } from './promql-task.js';
import type { WorkerConfig } from './worker-protocol.js';

export const WORKER_CONFIG: WorkerConfig = {
  lookbackDeltaMs: 300_000,
  timeoutMs: 120_000,
  maxSamples: 50_000_000,
  maxSelectedSamples: 200_000_000,
  defaultEvaluationIntervalMs: 60_000,
  dedupFunc: DedupFunc.PENALTY,
  selectTimeoutMs: 0,
  maxConcurrentSelects: 4,
  responseTimeoutMs: 0,
  logLevel: 'error',
  logFormat: 'logfmt',
};

/** The evaluation time of task(). */
export const T = 1_700_000_000_000;

/** An instant query at T with the API's defaults. */
export function task(query: string, extra: Partial<PromQLTask> = {}): PromQLTask {
  return {
    kind: 'instant',
    query,
    start: T,
    end: T,
    step: 0,
    lookbackDelta: 0,
    deadline: 0,
    deduplicate: true,
    replicaLabels: [],
    partialResponse: true,
    storeMatch: [],
    maxSourceResolutionMs: 0,
    limit: 0,
    ...extra,
  };
}

/** The answer's data as text. */
export async function answerText(a: PromQLAnswer): Promise<string> {
  const parts: Buffer[] = [];
  for await (const b of a.data) parts.push(Buffer.from(b));
  return Buffer.concat(parts).toString('utf8');
}
