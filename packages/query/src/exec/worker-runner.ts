// PromQL evaluation on a pool of worker threads (piscina), one per core by default,
// started when a query needs them and stopped after a minute without work. The
// main thread only routes: it hands a worker the task and a snapshot of the endpoints,
// and streams the answer to the client as the worker encodes it.
//
// Cancellation is cooperative first: a flag in shared memory that the engine reads at
// its checkpoints, also in the middle of synchronous evaluation. A worker that has not
// let go GRACE_MS after the deadline or the client's departure is terminated (its other
// queries fail with it) and piscina starts a fresh one: no query can hold a core or its
// memory for long. A worker over its heap limit dies alone, not the process.

import { availableParallelism, totalmem } from 'node:os';
import { Piscina } from 'piscina';
import type { Logger } from '@thanos-ts/runtime';
import { ApiError, ErrorType } from '../api/errors.js';
import type { ErrorType as ErrorTypeT } from '../api/errors.js';
import type { StoreEndpoint } from '@thanos-ts/storeapi';
import { snapshotEndpoint } from './endpoint-snapshot.js';
import type { PromQLAnswer, PromQLRunner, PromQLTask } from './promql-task.js';
import { CONTROL_CANCEL, CONTROL_SLOTS, CONTROL_TAKEN, CONTROL_THREAD, isWorkerMessage } from './worker-protocol.js';
import type { WorkerConfig, WorkerMessage, WorkerTask } from './worker-protocol.js';

/** How long a worker may go on after its query was cancelled or timed out. */
export const GRACE_MS = 2_000;

/** How long the worker threads stay up without a query. */
export const IDLE_MS = 60_000;

export interface WorkerRunnerOptions {
  config: WorkerConfig;
  /** Worker threads (default: one per core). */
  threads?: number;
  /** Queries evaluated at once by one worker (their selections overlap). */
  tasksPerThread?: number;
  /** Heap limit of each worker, MiB (default: a share of the machine's memory, at most 4 GiB). */
  maxHeapMb?: number;
  /** The endpoints to query, read per query (EndpointSet.storeEndpoints). */
  endpoints: () => readonly StoreEndpoint[];
  /** How long the threads stay up without work (default IDLE_MS). */
  idleMs?: number;
  /** The worker module (default: worker.js beside this file). */
  workerFile?: string | URL;
  logger: Logger;
}

export class WorkerPromQLRunner implements PromQLRunner {
  /** The threads while in use: started for the first query that needs them. */
  private pool: Piscina | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  /** Tasks on the pool's threads (the idle timer runs at zero). */
  private active = 0;
  private closed = false;
  readonly threads: number;
  readonly maxHeapMb: number;
  readonly idleMs: number;
  /** The running tasks' message handlers by task id. */
  private readonly routes = new Map<number, (m: WorkerMessage) => void>();
  private nextId = 1;

  constructor(private readonly opts: WorkerRunnerOptions) {
    this.threads = Math.max(1, opts.threads ?? availableParallelism());
    this.maxHeapMb = opts.maxHeapMb ?? Math.min(4096, Math.floor(totalmem() / 2 ** 20 / (this.threads + 1)));
    this.idleMs = opts.idleMs ?? IDLE_MS;
  }

  /**
   * The pool, started if it is not running. Threads cost ~30 MiB each and most queries
   * never need them (small ones are answered on the main thread), so they stop after
   * idleMs without work and start again, in ~0.35 s, when a query needs them.
   */
  private threadPool(): Piscina {
    if (this.idleTimer !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (this.pool !== null) return this.pool;
    const file = this.opts.workerFile ?? defaultWorkerFile();
    const pool = new Piscina({
      filename: typeof file === 'string' ? file : file.href,
      minThreads: this.threads,
      maxThreads: this.threads,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: Math.max(1, this.opts.tasksPerThread ?? 8),
      // Tasks await the network; piscina's synchronous Atomics wait would stall them.
      atomics: 'disabled',
      resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb },
      workerData: this.opts.config,
      execArgv: compiledExecArgv(process.execArgv),
    });
    pool.on('error', (err: unknown) => this.opts.logger.error({ err }, 'query worker failed'));
    pool.on('message', (m: unknown) => {
      if (isWorkerMessage(m)) this.routes.get(m.id)?.(m);
    });
    this.pool = pool;
    return pool;
  }

  private taskStarted(): Piscina {
    const pool = this.threadPool();
    this.active++;
    return pool;
  }

  private taskEnded(): void {
    if (--this.active > 0 || this.closed || this.pool === null) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      const pool = this.pool;
      this.pool = null;
      void pool?.destroy();
    }, this.idleMs);
    this.idleTimer.unref();
  }

  /** Whether the threads are running (for tests). */
  get running(): boolean {
    return this.pool !== null;
  }

  /**
   * Loads every worker once, so a broken worker fails at startup, not at a query; the
   * threads then stop until a query needs them.
   */
  async start(): Promise<void> {
    const pool = this.threadPool();
    await Promise.all(Array.from({ length: this.threads }, () => pool.run(undefined, { name: 'ping' })));
    if (this.active === 0 && this.pool === pool) {
      this.pool = null;
      await pool.destroy();
    }
  }

  run(task: PromQLTask, signal: AbortSignal): Promise<PromQLAnswer> {
    const id = this.nextId++;
    const control = new SharedArrayBuffer(CONTROL_SLOTS * 4);
    const ctl = new Int32Array(control);
    const w: WorkerTask = { id, task, endpoints: this.opts.endpoints().map(snapshotEndpoint), control };
    let settled = false;
    let killTimer: NodeJS.Timeout | null = null;
    let cancelled = false;

    // Past the deadline or the client's departure: ask, then after GRACE_MS, terminate.
    const stop = (why: 'canceled' | 'timeout'): void => {
      if (settled || killTimer) return;
      cancelled = why === 'canceled';
      Atomics.store(ctl, CONTROL_CANCEL, 1);
      killTimer = setTimeout(() => {
        if (settled) return;
        // 0 - 1: still queued in the pool, no thread to stop.
        const threadId = Atomics.load(ctl, CONTROL_THREAD) - 1;
        const t = this.pool?.threads.find((x) => x.threadId === threadId);
        this.opts.logger.warn({ thread: threadId, query: task.query }, 'query worker did not stop in time; terminating it');
        void t?.terminate();
      }, GRACE_MS);
    };
    const onAbort = (): void => stop('canceled');
    signal.addEventListener('abort', onAbort, { once: true });
    const deadlineTimer = task.deadline > 0 ? setTimeout(() => stop('timeout'), Math.max(0, task.deadline - Date.now())) : null;
    const finish = (): void => {
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (deadlineTimer) clearTimeout(deadlineTimer);
      if (killTimer) clearTimeout(killTimer);
      this.routes.delete(id);
    };
    if (signal.aborted) stop('canceled');

    const stream = new ChunkStream(() => {
      Atomics.add(ctl, CONTROL_TAKEN, 1);
      Atomics.notify(ctl, CONTROL_TAKEN);
    });
    return new Promise<PromQLAnswer>((resolve, reject) => {
      let headSeen = false;
      const fail = (err: ApiError): void => {
        finish();
        if (headSeen) stream.fail(err);
        else reject(err);
      };
      this.routes.set(id, (m) => {
        switch (m.t) {
          case 'head':
            headSeen = true;
            if (m.end) {
              // The whole answer: no stream to acknowledge.
              finish();
              resolve({ warnings: m.warnings, infos: m.infos, data: singleChunk(m.bytes), whole: m.bytes ?? new Uint8Array(0) });
              break;
            }
            if (m.bytes) stream.push(m.bytes);
            resolve({ warnings: m.warnings, infos: m.infos, data: stream });
            break;
          case 'data':
            stream.push(m.bytes);
            if (m.end) {
              finish();
              stream.end();
            }
            break;
          case 'error':
            fail(new ApiError(m.errorType as ErrorTypeT, m.message));
            break;
        }
      });
      const pool = this.taskStarted();
      pool.run(w).then(
        () => this.taskEnded(),
        (err: unknown) => {
          this.taskEnded();
          if (settled) return;
          fail(this.workerDied(err, killTimer !== null, cancelled));
        },
      );
    });
  }

  /** The API error for a worker that went away under a query. */
  private workerDied(err: unknown, stopped: boolean, cancelled: boolean): ApiError {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
      return new ApiError(ErrorType.EXECUTION, `query processing ran out of memory (a query worker's heap is limited to ${this.maxHeapMb} MiB)`);
    }
    if (stopped) return cancelled ? new ApiError(ErrorType.CANCELED, 'context canceled') : new ApiError(ErrorType.TIMEOUT, 'query timed out in expression evaluation');
    this.opts.logger.error({ err }, 'query worker failed');
    return new ApiError(ErrorType.INTERNAL, `query worker failed: ${(err as Error).message ?? String(err)}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    const pool = this.pool;
    this.pool = null;
    await pool?.destroy();
  }
}

/** worker.js beside this module; run from source (the tests), the compiled one in dist/. */
function defaultWorkerFile(): URL {
  const here = new URL(import.meta.url);
  return here.pathname.endsWith('.ts') ? new URL('../../dist/exec/worker.js', here) : new URL('./worker.js', here);
}

/**
 * The Node options a worker takes from the process: only the profilers'. Options such
 * as --conditions (the tests resolve sources; the worker is compiled code and must load
 * the builds) or process-wide ones a worker refuses are left out.
 */
function compiledExecArgv(argv: readonly string[]): string[] {
  return argv.filter((a) => /^--(cpu|heap)-prof/.test(a));
}

async function* singleChunk(b: Uint8Array | null | undefined): AsyncGenerator<Uint8Array> {
  if (b) yield b;
}

/** Chunks from a worker as an async iterable; each chunk taken is acknowledged. */
class ChunkStream implements AsyncIterable<Uint8Array> {
  private readonly queue: Uint8Array[] = [];
  private done = false;
  private error: ApiError | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly ack: () => void) {}

  push(b: Uint8Array): void {
    this.queue.push(b);
    this.notify();
  }

  end(): void {
    this.done = true;
    this.notify();
  }

  fail(err: ApiError): void {
    this.error = err;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const b = this.queue.shift();
      if (b !== undefined) {
        yield b;
        this.ack();
        continue;
      }
      if (this.error) throw this.error;
      if (this.done) return;
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}
