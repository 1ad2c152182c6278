// Hostile queries: timestamps past 2^53 ms, subqueries far beyond the sample limit,
// timeouts and cancellation during synchronous evaluation. A regression to a step loop
// that accumulates a float, or to a loop without checkpoints, hangs the worker: every
// test has a short timeout of its own, and asserts the time taken.

import { describe, expect, it } from 'vitest';
import { FUNCTION_KERNELS } from '../functions/index.js';
import type { KernelEntry } from '../functions/types.js';
import { MemStorage } from '../promqltest/mem-storage.js';
import { Engine } from './engine.js';
import { type AbortSignalLike, QueryCanceledError, QueryTimeoutError, TooManySamplesError } from './errors.js';

const TOO_MANY = 'query processing would load too many samples into memory in query execution';
const TIMED_OUT = 'query timed out in expression evaluation';
const CANCELED = 'query was canceled in expression evaluation';
const T = { timeout: 5_000 };

const empty = new MemStorage();

/** Runs f and returns its outcome (value or error) and how long it took (ms). */
async function timed<V>(f: () => Promise<V>): Promise<{ ms: number; value?: V; err?: unknown }> {
  const t0 = performance.now();
  try {
    const value = await f();
    return { ms: performance.now() - t0, value };
  } catch (err) {
    return { ms: performance.now() - t0, err };
  }
}

describe('timestamps beyond 2^53 ms', () => {
  const engine = new Engine();

  for (const tMs of [-1e23, 1e23, -(2 ** 63), 2 ** 63, 2 ** 53 + 1, -(2 ** 60)]) {
    it(`evaluates vector(1) at ${tMs} ms`, T, async () => {
      const r = await timed(() => engine.instantQuery(empty, 'vector(1)', tMs));
      expect(r.err).toBeUndefined();
      expect(r.value!.value).toEqual({ type: 'vector', vector: [{ metric: [], t: tMs, f: 1, h: null, dropName: false }] });
      expect(r.ms).toBeLessThan(2_000);
    });
  }

  it('evaluates a range query at start = end = 1e16 s', T, async () => {
    const t = 1e16 * 1000;
    const r = await timed(() => engine.rangeQuery(empty, 'vector(1)', t, t, 1000));
    expect(r.err).toBeUndefined();
    const v = r.value!.value;
    expect(v.type).toBe('matrix');
    if (v.type !== 'matrix') return;
    expect(v.matrix).toHaveLength(1);
    expect(Array.from(v.matrix[0].floats.t.subarray(0, v.matrix[0].floats.length))).toEqual([t]);
    expect(r.ms).toBeLessThan(2_000);
  });

  it('counts the steps of a range query far past 2^53 ms', T, async () => {
    // Floats here are multiples of 256 ms: start + 10240 is exact, start + 10000 is not.
    const start = 2 ** 60;
    const r = await timed(() => engine.rangeQuery(empty, 'time()', start, start + 10_240, 1000));
    expect(r.err).toBeUndefined();
    const v = r.value!.value;
    if (v.type !== 'matrix') throw new Error(`matrix expected, got ${v.type}`);
    expect(v.matrix[0].floats.length).toBe(11);
    expect(r.ms).toBeLessThan(2_000);
  });

  it('evaluates subqueries, range functions and aggregations far past 2^53 ms', T, async () => {
    for (const q of ['count_over_time(vector(1)[5m:1m])', 'sum(rate(x[5m]))', 'max_over_time(vector(time())[10m:1m]) > 0', 'absent_over_time(x[5m])']) {
      for (const tMs of [2 ** 62, -(2 ** 62)]) {
        const r = await timed(() => engine.instantQuery(empty, q, tMs));
        expect(r.err, q).toBeUndefined();
        expect(r.ms, q).toBeLessThan(2_000);
      }
    }
  });
});

describe('the sample limit', () => {
  const engine = new Engine();

  for (const q of ['count_over_time(vector(1)[100y:1s])', 'count_over_time(vector(time())[100y:1s])', 'sum_over_time((1+vector(1))[100y:1s])']) {
    it(`fails ${q} at once`, T, async () => {
      const r = await timed(() => engine.instantQuery(empty, q, 1.7e12));
      expect(r.err).toBeInstanceOf(TooManySamplesError);
      expect((r.err as Error).message).toBe(TOO_MANY);
      expect(r.ms).toBeLessThan(2_000);
    });
  }

  it('fails range queries with more steps than maxSamples', T, async () => {
    const r = await timed(() => engine.rangeQuery(empty, 'vector(1)', 0, 1e15, 1));
    expect((r.err as Error).message).toBe(TOO_MANY);
    expect(r.ms).toBeLessThan(2_000);
  });

  // The steps fit, the points do not: the sizes are known before allocating.
  it('fails a step-invariant subquery of two series before expanding it', T, async () => {
    const e = new Engine({ maxSamples: 1_000_000 });
    const r = await timed(() => e.instantQuery(empty, 'count_over_time((vector(1) or label_replace(vector(1), "a", "b", "", ""))[1d:100ms])', 1.7e12));
    expect((r.err as Error).message).toBe(TOO_MANY);
    expect(r.ms).toBeLessThan(2_000);
    // A quarter of the steps fit (the subquery's result, plus one series' window while
    // count_over_time reads it, as Prometheus counts them).
    const ok = await e.instantQuery(empty, 'count_over_time((vector(1) or label_replace(vector(1), "a", "b", "", ""))[1d:400ms])', 1.7e12);
    expect(ok.value.type === 'vector' && ok.value.vector.map((s) => s.f)).toEqual([216_000, 216_000]);
  });

  it('fails vector(time()) whose two matrices cannot both be held', T, async () => {
    const e = new Engine({ maxSamples: 1_000_000 });
    const r = await timed(() => e.instantQuery(empty, 'count_over_time(vector(time())[1d:100ms])', 1.7e12));
    expect((r.err as Error).message).toBe(TOO_MANY);
    expect(r.ms).toBeLessThan(2_000);
    const ok = await e.instantQuery(empty, 'count_over_time(vector(time())[1d:400ms])', 1.7e12);
    expect(ok.value.type === 'vector' && ok.value.vector.map((s) => s.f)).toEqual([216_000]);
  });

  it('fails a scalar literal expanded over the steps of a subquery', T, async () => {
    const e = new Engine({ maxSamples: 1_000_000 });
    const r = await timed(() => e.instantQuery(empty, 'count_over_time((vector(1) + 1 + vector(2))[1d:50ms])', 1.7e12));
    expect(r.err).toBeInstanceOf(TooManySamplesError);
    expect(r.ms).toBeLessThan(2_000);
  });
});

describe('timeouts and cancellation during evaluation', () => {
  it('times out a huge subquery within the sample limit', T, async () => {
    const e = new Engine({ timeout: 100, maxSamples: 1e9 });
    const r = await timed(() => e.instantQuery(empty, 'count_over_time(vector(1)[1y:1s])', 1.7e12));
    expect(r.err).toBeInstanceOf(QueryTimeoutError);
    expect((r.err as Error).message).toBe(TIMED_OUT);
    expect(r.ms).toBeLessThan(300);
  });

  it('times out a step loop over time()', T, async () => {
    const e = new Engine({ timeout: 100, maxSamples: 1e9 });
    const r = await timed(() => e.instantQuery(empty, 'count_over_time(vector(time())[1y:1s])', 1.7e12));
    expect((r.err as Error).message).toBe(TIMED_OUT);
    expect(r.ms).toBeLessThan(300);
  });

  it('stops when an AbortSignalLike flips during evaluation (getter)', T, async () => {
    let reads = 0;
    const reason = new Error('client went away');
    const signal: AbortSignalLike = {
      get aborted() {
        return ++reads > 20;
      },
      reason,
    };
    const e = new Engine({ maxSamples: 1e9 });
    const r = await timed(() => e.instantQuery(empty, 'count_over_time(vector(1)[1y:1s])', 1.7e12, { signal }));
    expect(r.err).toBeInstanceOf(QueryCanceledError);
    expect((r.err as Error).message).toBe(CANCELED);
    expect((r.err as Error).cause).toBe(reason);
    expect(r.ms).toBeLessThan(300);
  });

  it('stops when a kernel flips the flag, and never adds listeners', T, async () => {
    const flag = {
      aborted: false,
      addEventListener(): never {
        throw new Error('the engine must poll, not listen');
      },
    };
    let calls = 0;
    let callsAfterAbort = 0;
    const kernels = new Map<string, KernelEntry>(FUNCTION_KERNELS);
    kernels.set('time', {
      kind: 'scalar',
      kernel: (ts) => {
        if (flag.aborted) callsAfterAbort++;
        if (++calls === 1000) flag.aborted = true;
        return ts / 1000;
      },
    });
    const e = new Engine({ maxSamples: 1e9, kernels });
    const r = await timed(() => e.instantQuery(empty, 'count_over_time(vector(time())[1y:1s])', 1.7e12, { signal: flag }));
    expect((r.err as Error).message).toBe(CANCELED);
    expect(callsAfterAbort).toBeLessThan(10);
    expect(r.ms).toBeLessThan(300);
  });

  it('checks within the series of one step', { timeout: 20_000 }, async () => {
    // 50k series, one step: the per-step check alone would come too late.
    const st = new MemStorage();
    for (let i = 0; i < 50_000; i++) st.appendFloat([{ name: '__name__', value: 'x' }, { name: 'i', value: String(i) }], 0, i);
    let reads = 0;
    let readsAtSelect = -1;
    const signal: AbortSignalLike = {
      get aborted() {
        reads++;
        return readsAtSelect >= 0 && reads > readsAtSelect + 3;
      },
    };
    const e = new Engine({ kernels: new Map<string, KernelEntry>([...FUNCTION_KERNELS, ['pi', { kind: 'scalar', kernel: () => ((readsAtSelect = reads), Math.PI) }]]) });
    const r = await timed(() => e.instantQuery(st, 'sort(label_replace(x * pi(), "j", "$1", "i", "(.*)"))', 0, { signal }));
    expect((r.err as Error).message).toBe(CANCELED);
  });
});

describe('selection budget', () => {
  const mem = new MemStorage();
  for (let s = 0; s < 10; s++) {
    const ls = [
      { name: '__name__', value: 'x' },
      { name: 'i', value: String(s) },
    ];
    for (let t = 0; t < 1000 * 15_000; t += 15_000) mem.appendFloat(ls, t, t);
  }

  it('fails a query selecting more samples than maxSelectedSamples before evaluating', T, async () => {
    const e = new Engine({ maxSelectedSamples: 5_000 });
    const r = await timed(() => e.instantQuery(mem, 'count_over_time(x[1d])', 1000 * 15_000));
    expect(r.err).toBeInstanceOf(TooManySamplesError);
    expect((r.err as Error).message).toBe(TOO_MANY);
    // Within the budget the same selection answers.
    const ok = await new Engine({ maxSelectedSamples: 10_000 }).instantQuery(mem, 'count(count_over_time(x[1d]))', 1000 * 15_000);
    expect(ok.value).toMatchObject({ type: 'vector', vector: [{ f: 10 }] });
  });
});
