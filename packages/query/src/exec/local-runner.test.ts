// The inline-first runner with real worker threads behind it (the compiled worker from
// dist/): small queries are answered on this thread, queries that outgrow the bounds are
// handed to a worker and answered the same, and errors are not retried.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '@thanos-ts/promql';
import { nopLogger } from '@thanos-ts/runtime';
import { ProxyStore } from '@thanos-ts/storeapi';
import { ApiError } from '../api/errors.js';
import { StoreQueryable } from '../querier.js';
import { DEFAULT_INLINE_BOUNDS, InlineFirstRunner } from './local-runner.js';
import { answerText as text, T, task, WORKER_CONFIG } from './task-fixture.js';
import { WorkerPromQLRunner } from './worker-runner.js';

describe('InlineFirstRunner', () => {
  let workers: WorkerPromQLRunner;
  const engine = new Engine({ lookbackDelta: 300_000 });
  const proxy = new ProxyStore({ endpoints: () => [] });
  const queryable = (o: object): StoreQueryable => new StoreQueryable({ proxy, ...o });
  beforeAll(async () => {
    workers = new WorkerPromQLRunner({ config: WORKER_CONFIG, threads: 1, endpoints: () => [], logger: nopLogger() });
    await workers.start();
  });
  afterAll(async () => {
    await workers.close();
  });

  it('answers a small query on this thread, whole', async () => {
    const r = new InlineFirstRunner(engine, queryable, workers);
    const a = await r.run(task('vector(1) + 1'), new AbortController().signal);
    expect(r.counts).toEqual({ inline: 1, offloaded: 0 });
    expect(JSON.parse(Buffer.from(a.whole!).toString())).toEqual({ resultType: 'vector', result: [{ metric: {}, value: [T / 1000, '2'] }] });
    expect(await text(a)).toBe(Buffer.from(a.whole!).toString());
  });

  it('hands a query holding more samples than its bounds to a worker, which answers it', async () => {
    const r = new InlineFirstRunner(engine, queryable, workers, { ...DEFAULT_INLINE_BOUNDS, maxSamples: 1000 });
    const a = await r.run(task('count_over_time(vector(1)[1h:1s])'), new AbortController().signal);
    expect(r.counts).toEqual({ inline: 0, offloaded: 1 });
    expect(JSON.parse(await text(a))).toEqual({ resultType: 'vector', result: [{ metric: {}, value: [T / 1000, '3600'] }] });
  });

  it('hands a query evaluating longer than its bounds to a worker', async () => {
    const r = new InlineFirstRunner(engine, queryable, workers, { ...DEFAULT_INLINE_BOUNDS, maxEvalMs: 1 });
    const a = await r.run(task('count_over_time((vector(1) * 2)[2d:1s])'), new AbortController().signal);
    expect(r.counts).toEqual({ inline: 0, offloaded: 1 });
    expect(JSON.parse(await text(a))).toEqual({ resultType: 'vector', result: [{ metric: {}, value: [T / 1000, '172800'] }] });
  });

  it('answers errors itself, without a second try', async () => {
    const r = new InlineFirstRunner(engine, queryable, workers);
    const err = await r.run(task('sum(', {}), new AbortController().signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).type).toBe('bad_data');
    const timedOut = await r.run(task('count_over_time((vector(1) * 2)[300d:1s])', { deadline: Date.now() - 1 }), new AbortController().signal).catch((e: unknown) => e);
    expect((timedOut as ApiError).type).toBe('timeout');
    expect(r.counts).toEqual({ inline: 0, offloaded: 0 });
  });

  it('leaves long query texts to the workers (parsing them takes a while)', async () => {
    const r = new InlineFirstRunner(engine, queryable, workers, { ...DEFAULT_INLINE_BOUNDS, maxQueryLength: 20 });
    const a = await r.run(task('vector(1) + vector(1) + vector(1)'), new AbortController().signal);
    expect(JSON.parse(await text(a)).result[0].value[1]).toBe('3');
    expect(r.counts).toEqual({ inline: 0, offloaded: 0 });
  });

  it('leaves queries past maxConcurrent to the workers', async () => {
    const r = new InlineFirstRunner(engine, queryable, workers, { ...DEFAULT_INLINE_BOUNDS, maxConcurrent: 0 });
    const a = await r.run(task('vector(3)'), new AbortController().signal);
    expect(JSON.parse(await text(a)).result[0].value[1]).toBe('3');
    expect(r.counts).toEqual({ inline: 0, offloaded: 0 });
  });
});
