// PromQL evaluation on the calling thread (--query.workers=0, and the API's unit tests):
// the same evaluation as a worker's, without the isolation.

import type { Engine } from '@thanos-ts/promql';
import type { StoreQueryable, StoreQueryableOptions } from '../querier.js';
import { evaluatePromQL, queryableSettings } from './promql-task.js';
import type { PromQLAnswer, PromQLRunner, PromQLTask } from './promql-task.js';

export class LocalPromQLRunner implements PromQLRunner {
  constructor(
    private readonly engine: Engine,
    private readonly queryable: (overrides: Partial<Omit<StoreQueryableOptions, 'proxy'>>) => StoreQueryable,
  ) {}

  async run(task: PromQLTask, signal: AbortSignal): Promise<PromQLAnswer> {
    const ac = new AbortController();
    const timedOut = (): boolean => task.deadline > 0 && Date.now() >= task.deadline;
    const timer =
      task.deadline > 0 ? setTimeout(() => ac.abort(new DOMException('query timed out', 'TimeoutError')), Math.max(0, task.deadline - Date.now())) : null;
    const onAbort = (): void => ac.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    // Timers cannot fire during synchronous evaluation; the engine reads the clock itself.
    const probe = {
      get aborted() {
        return ac.signal.aborted || timedOut();
      },
      get reason() {
        return ac.signal.reason;
      },
    };
    try {
      const queryable = this.queryable({ ...queryableSettings(task), signal: ac.signal });
      const ev = await evaluatePromQL(this.engine, queryable, task, probe, timedOut);
      return { warnings: ev.warnings, infos: ev.infos, data: toAsync(ev.data) };
    } finally {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {}
}

async function* toAsync<T>(it: Iterable<T>): AsyncGenerator<T> {
  yield* it;
}
