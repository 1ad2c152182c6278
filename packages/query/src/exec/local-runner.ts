// PromQL evaluation on the calling thread: all of it with --query.workers=0 (and in the
// API's unit tests), or first of all for small queries (InlineFirstRunner). The same
// evaluation as a worker's, without the isolation.

import { TooManySamplesError } from '@thanos-ts/promql';
import type { Engine } from '@thanos-ts/promql';
import type { StoreQueryable, StoreQueryableOptions } from '../querier.js';
import { evaluatePromQL, queryableSettings } from './promql-task.js';
import type { EvaluationBounds, PromQLAnswer, PromQLRunner, PromQLTask } from './promql-task.js';

type QueryableFactory = (overrides: Partial<Omit<StoreQueryableOptions, 'proxy'>>) => StoreQueryable;

export class LocalPromQLRunner implements PromQLRunner {
  constructor(
    private readonly engine: Engine,
    private readonly queryable: QueryableFactory,
  ) {}

  async run(task: PromQLTask, signal: AbortSignal): Promise<PromQLAnswer> {
    const ev = await evaluateHere(this.engine, this.queryable, task, signal);
    return { warnings: ev.warnings, infos: ev.infos, data: fromChunks(ev.data) };
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {}
}

/** How small a query must stay to be evaluated on the main thread. */
export interface InlineBounds {
  /** Samples selected from the stores. */
  maxSelectedSamples: number;
  /** Samples held at once during evaluation (bounds the answer too). */
  maxSamples: number;
  /** Milliseconds of synchronous evaluation: the longest the event loop is held. */
  maxEvalMs: number;
  /** Queries on the main thread at once (the rest go to the workers). */
  maxConcurrent: number;
  /** Longest query text parsed here: parsing a megabyte of PromQL takes a while. */
  maxQueryLength: number;
}

export const DEFAULT_INLINE_BOUNDS: InlineBounds = {
  maxSelectedSamples: 2_000_000,
  maxSamples: 500_000,
  maxEvalMs: 30,
  maxConcurrent: 4,
  maxQueryLength: 4096,
};

/**
 * Small queries on the main thread, the rest on the worker threads. Handing a query to
 * a worker and its answer back costs about 1.5 ms of CPU (issue 15), more than a small
 * query itself. A query leaves the main thread as soon as it is not small: it selects or
 * holds more samples than the bounds, or its evaluation runs longer than maxEvalMs. A
 * worker then runs it from the start, isolated as before; the main thread is held for
 * at most maxEvalMs and bounded memory.
 */
export class InlineFirstRunner implements PromQLRunner {
  private inline = 0;
  /** Queries answered here and queries handed on after starting here (for tests and metrics). */
  readonly counts = { inline: 0, offloaded: 0 };

  constructor(
    private readonly engine: Engine,
    private readonly queryable: QueryableFactory,
    private readonly workers: PromQLRunner,
    private readonly bounds: InlineBounds = DEFAULT_INLINE_BOUNDS,
  ) {}

  async run(task: PromQLTask, signal: AbortSignal): Promise<PromQLAnswer> {
    if (this.inline < this.bounds.maxConcurrent && task.query.length <= this.bounds.maxQueryLength) {
      this.inline++;
      let answer: PromQLAnswer | null;
      try {
        answer = await this.tryHere(task, signal);
      } finally {
        this.inline--;
      }
      if (answer !== null) {
        this.counts.inline++;
        return answer;
      }
      this.counts.offloaded++;
    }
    return this.workers.run(task, signal);
  }

  /** The answer, or null when the query outgrew the bounds. */
  private async tryHere(task: PromQLTask, signal: AbortSignal): Promise<PromQLAnswer | null> {
    let evalStart = 0;
    let outgrown = false;
    const bounds: EvaluationBounds = {
      maxSamples: this.bounds.maxSamples,
      maxSelectedSamples: this.bounds.maxSelectedSamples,
      onSelected: () => {
        evalStart = performance.now();
      },
      keep: (err) => outgrown || err instanceof TooManySamplesError,
    };
    const overTime = (): boolean => {
      if (evalStart > 0 && performance.now() - evalStart > this.bounds.maxEvalMs) outgrown = true;
      return outgrown;
    };
    try {
      const answer = await evaluateHere(this.engine, this.queryable, task, signal, bounds, overTime);
      // The answer is encoded here too: bounded by maxSamples, and timed with the rest.
      // Walked synchronously: an async iterator here cost four promises per chunk.
      const chunks: Uint8Array[] = [];
      for (const c of answer.data) chunks.push(c);
      return { warnings: answer.warnings, infos: answer.infos, data: fromChunks(chunks), whole: chunks.length === 1 ? chunks[0] : undefined };
    } catch (err) {
      if (outgrown || err instanceof TooManySamplesError) return null;
      throw err;
    }
  }

  start(): Promise<void> {
    return this.workers.start();
  }

  close(): Promise<void> {
    return this.workers.close();
  }
}

/** An evaluation's annotations and its `data` member, encoded as it is walked. */
interface Evaluated {
  warnings: string[];
  infos: string[];
  data: Iterable<Uint8Array>;
}

/**
 * One evaluation on this thread. `stop` ends it like a cancellation (the inline runner's
 * time bound); the engine polls it at its checkpoints, also during synchronous evaluation.
 */
async function evaluateHere(
  engine: Engine,
  queryableFor: QueryableFactory,
  task: PromQLTask,
  signal: AbortSignal,
  bounds: EvaluationBounds = {},
  stop: () => boolean = () => false,
): Promise<Evaluated> {
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
      return ac.signal.aborted || timedOut() || stop();
    },
    get reason() {
      return ac.signal.reason;
    },
  };
  try {
    const queryable = queryableFor({ ...queryableSettings(task), signal: ac.signal });
    const ev = await evaluatePromQL(engine, queryable, task, probe, timedOut, bounds);
    return { warnings: ev.warnings, infos: ev.infos, data: ev.data };
  } finally {
    if (timer) clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

async function* fromChunks<T>(it: Iterable<T>): AsyncGenerator<T> {
  yield* it;
}
