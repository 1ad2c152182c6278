// The worker pool with real worker threads (the compiled worker from dist/, as `pnpm
// test` builds first): answers stream back, the main thread stays free while a worker
// computes, deadlines and cancellations end queries (by termination if need be).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nopLogger } from '@thanos-ts/runtime';
import { ApiError } from '../api/errors.js';
import type { PromQLAnswer } from './promql-task.js';
import { answerText as text, T, task, WORKER_CONFIG as CONFIG } from './task-fixture.js';
import { WorkerPromQLRunner } from './worker-runner.js';

/** The longest the main thread's timers were held up while `p` ran. */
async function maxLag<T>(p: Promise<T>): Promise<{ value: T | ApiError; lagMs: number }> {
  let last = performance.now();
  let lag = 0;
  const t = setInterval(() => {
    const now = performance.now();
    lag = Math.max(lag, now - last - 10);
    last = now;
  }, 10);
  try {
    const value = await p.catch((e: ApiError) => e);
    return { value, lagMs: lag };
  } finally {
    clearInterval(t);
  }
}

// A query that keeps a worker busy for seconds: 26M points through a subquery.
const SLOW = 'quantile_over_time(0.5, (vector(1) * 2)[300d:1s])';

describe('WorkerPromQLRunner', () => {
  let runner: WorkerPromQLRunner;
  beforeAll(async () => {
    runner = new WorkerPromQLRunner({ config: CONFIG, threads: 2, tasksPerThread: 4, endpoints: () => [], logger: nopLogger() });
    await runner.start();
  });
  afterAll(async () => {
    await runner.close();
  });

  it('evaluates in a worker and streams the answer back in order', async () => {
    const a = await runner.run(task('vector(1) + 1'), new AbortController().signal);
    expect(a.warnings).toEqual([]);
    expect(await text(a)).toBe('{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"2"]}]}');
    // A range answer larger than one chunk arrives whole.
    const r = await runner.run(task('time()', { kind: 'range', start: T, end: T + 10_999_000, step: 1000 }), new AbortController().signal);
    const body = JSON.parse(await text(r)) as { result: { values: [number, string][] }[] };
    expect(body.result[0].values).toHaveLength(11_000);
    expect(body.result[0].values[10_999]).toEqual([1700010999, '1700010999']);
  });

  it('holds a worker back while the reader is slow, and loses no chunk', async () => {
    // About 40 chunks of 64 KiB against a window of 4; two at once on a pool of two threads.
    const q = task('time()', { kind: 'range', start: T, end: T + 79_999_000, step: 1000 });
    const [a, b] = await Promise.all([runner.run(q, new AbortController().signal), runner.run(q, new AbortController().signal)]);
    const slowly = async (x: PromQLAnswer): Promise<string> => {
      const parts: Buffer[] = [];
      for await (const c of x.data) {
        parts.push(Buffer.from(c));
        if (parts.length % 8 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      expect(parts.length).toBeGreaterThan(8);
      return Buffer.concat(parts).toString('utf8');
    };
    const [ta, tb] = await Promise.all([slowly(a), slowly(b)]);
    expect(ta).toBe(tb);
    const values = (JSON.parse(ta) as { result: { values: [number, string][] }[] }).result[0].values;
    expect(values).toHaveLength(80_000);
    expect(values[79_999]).toEqual([1700079999, '1700079999']);
  });

  it('answers with Prometheus error types', async () => {
    const err = await runner.run(task('rate(vector(1)[5m])'), new AbortController().signal).catch((e: ApiError) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).type).toBe('bad_data');
  });

  it('keeps the main thread free while a worker computes, and stops a query at its deadline', async () => {
    const t0 = Date.now();
    const { value, lagMs } = await maxLag(runner.run(task(SLOW, { deadline: Date.now() + 300 }), new AbortController().signal));
    expect(value).toBeInstanceOf(ApiError);
    expect((value as ApiError).type).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(300 + 2_500);
    expect(lagMs).toBeLessThan(200);
  });

  it('cancels a query whose client went away, and then serves the next', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new DOMException('client closed the connection', 'AbortError')), 300);
    const t0 = Date.now();
    const err = await runner.run(task(SLOW), ac.signal).catch((e: ApiError) => e);
    expect((err as ApiError).type).toBe('canceled');
    expect(Date.now() - t0).toBeLessThan(300 + 2_500);
    const a = await runner.run(task('vector(3)'), new AbortController().signal);
    expect(await text(a)).toContain('"3"');
  });
});

describe('WorkerPromQLRunner threads', () => {
  it('load at startup, stop, start again for a query and stop after idleMs without work', async () => {
    const runner = new WorkerPromQLRunner({ config: CONFIG, threads: 1, endpoints: () => [], logger: nopLogger(), idleMs: 300 });
    try {
      await runner.start();
      expect(runner.running).toBe(false);
      const a = await runner.run(task('vector(2)'), new AbortController().signal);
      expect(runner.running).toBe(true);
      expect(await text(a)).toContain('"2"');
      // still up while queries come
      await new Promise((r) => setTimeout(r, 100));
      expect(await text(await runner.run(task('vector(4)'), new AbortController().signal))).toContain('"4"');
      expect(runner.running).toBe(true);
      await new Promise((r) => setTimeout(r, 600));
      expect(runner.running).toBe(false);
      expect(await text(await runner.run(task('vector(5)'), new AbortController().signal))).toContain('"5"');
    } finally {
      await runner.close();
    }
    expect(runner.running).toBe(false);
  });

  it('fail at startup when the worker module cannot load', async () => {
    const runner = new WorkerPromQLRunner({ config: CONFIG, threads: 1, endpoints: () => [], logger: nopLogger(), workerFile: new URL('file:///nonexistent/worker.js') });
    await expect(runner.start()).rejects.toThrow();
    await runner.close();
  });
});
