// Range functions run over each series as its samples are read (RangeFunction during
// selection, engine.ts) against the same functions evaluated over a held matrix: a
// selector with `@` is never streamed, so `f(x[r] @ t)` at t is the reference for the
// streamed `f(x[r])` at step t.
import { describe, expect, it } from 'vitest';
import { rng } from '@thanos-ts/testutil';
import { STALE_NAN, labelsFromStrings } from '@thanos-ts/tsdb';
import { FUNCTION_KERNELS } from '../functions/index.js';
import { ALL_FEATURES, parseExpr } from '../parser.js';
import { MemStorage } from '../promqltest/mem-storage.js';
import { pointBits } from './bits-fixture.js';
import { STREAMED_OPS } from './aggregation.js';
import { Engine } from './engine.js';
import { TooManySamplesError } from './errors.js';

const S = 1000;

/** Counters with resets, gauges with awkward floats, gaps and stale markers. */
function storage(seed: number): MemStorage {
  const rand = rng(seed);
  const st = new MemStorage();
  const awkward = [NaN, Infinity, -Infinity, -0, 0, 1e308, -1e308, STALE_NAN];
  for (let i = 0; i < 12; i++) {
    const counter = i % 2 === 0;
    const labels = labelsFromStrings('__name__', counter ? 'x_total' : 'x', 'i', String(i));
    let t = Math.floor(rand() * 60) * S + 7;
    let c = 0;
    while (t < 3600 * S) {
      let f: number;
      if (counter) {
        c = rand() < 0.03 ? rand() * 10 : c + rand() * 100;
        f = rand() < 0.02 ? STALE_NAN : c;
      } else {
        f = rand() < 0.08 ? awkward[Math.floor(rand() * awkward.length)] : Math.round((rand() - 0.5) * 1000) / 8;
      }
      st.appendFloat(labels, t, f);
      t += rand() < 0.03 ? 400 * S : 15 * S;
    }
  }
  return st;
}

describe('range functions streamed as their series are read', () => {
  const engine = new Engine({ lookbackDelta: 300 * S, parseOptions: ALL_FEATURES });
  // every range function that takes the matrix as its only argument
  const functions = [...FUNCTION_KERNELS].filter(([name, k]) => {
    if (k.kind !== 'range') return false;
    try {
      parseExpr(`${name}(x[5m])`, ALL_FEATURES);
      return true;
    } catch {
      return false;
    }
  });

  it('answer range queries exactly as the same functions over a held matrix, step by step', async () => {
    expect(functions.map(([n]) => n)).toEqual(expect.arrayContaining(['rate', 'increase', 'changes', 'resets', 'deriv', 'irate', 'avg_over_time', 'last_over_time', 'absent_over_time', 'present_over_time']));
    for (const seed of [1, 2]) {
      const st = storage(seed);
      for (const [name] of functions) {
        for (const sel of ['x_total[1m]', 'x[5m]', '{__name__=~"x.*"}[17m] offset 3m', 'nothing[5m]']) {
          const [start, end, step] = [600 * S, 3600 * S, 300 * S];
          const streamed = await engine.rangeQuery(st, `${name}(${sel})`, start, end, step);
          const expected: string[] = [];
          const [matrix, offset] = sel.split(' offset ');
          for (let t = start; t <= end; t += step) {
            const ref = await engine.instantQuery(st, `${name}(${matrix} @ ${t / S}${offset ? ` offset ${offset}` : ''})`, t);
            expected.push(...pointBits(ref.value));
          }
          const got = pointBits(streamed.value);
          // the matrix is ordered by series, the instants by time
          expect(got.slice().sort(), `${name}(${sel}) seed ${seed}`).toEqual(expected.slice().sort());
          expect(streamed.annotations.asStrings(`${name}(${sel})`)).toEqual(
            (await engine.instantQuery(st, `${name}(${matrix} @ ${end / S}${offset ? ` offset ${offset}` : ''})`, end)).annotations.asStrings(`${name}(${sel})`),
          );
        }
      }
    }
  });

  it('count their windows and points against the bound on samples held', async () => {
    const st = storage(3);
    // an hour of one series is ~230 samples: a bound under one window fails, as in Prometheus
    await expect(engine.instantQuery(st, 'count_over_time(x_total[1h])', 3600 * S, { maxSamples: 100 })).rejects.toBeInstanceOf(TooManySamplesError);
    const ok = await engine.instantQuery(st, 'count_over_time(x_total[1h])', 3600 * S, { maxSamples: 300 });
    expect(ok.value.type === 'vector' && ok.value.vector.length).toBe(6);
    // the points of every series are held at the end: a bound under their number fails
    const whole = await engine.rangeQuery(st, 'count_over_time(x_total[1m])', 0, 3600 * S, 60 * S);
    const held = whole.value.type === 'matrix' ? whole.value.matrix.reduce((n, s) => n + s.floats.length, 0) : 0;
    expect(held).toBeGreaterThan(200);
    await expect(engine.rangeQuery(st, 'count_over_time(x_total[1m])', 0, 3600 * S, 60 * S, { maxSamples: held - 1 })).rejects.toBeInstanceOf(TooManySamplesError);
    // (with the last window, at most 5 samples of a minute, still held)
    const r = await engine.rangeQuery(st, 'count_over_time(x_total[1m])', 0, 3600 * S, 60 * S, { maxSamples: held + 5 });
    expect(r.value.type === 'matrix' && r.value.matrix.length).toBe(6);
  });

  it('keep the labelset clash check of functions that drop the name, also under an aggregation', async () => {
    const st = new MemStorage();
    st.appendFloat(labelsFromStrings('__name__', 'a', 'j', '1'), 0, 1);
    st.appendFloat(labelsFromStrings('__name__', 'b', 'j', '1'), 0, 2);
    for (const q of ['sum_over_time({j="1"}[5m])', 'sum(sum_over_time({j="1"}[5m]))', 'max by (j) (max_over_time({j="1"}[5m]))']) {
      await expect(engine.instantQuery(st, q, 60 * S), q).rejects.toThrow(/^vector cannot contain metrics with the same labelset$/);
    }
    const kept = await engine.instantQuery(st, 'last_over_time({j="1"}[5m])', 60 * S);
    expect(kept.value.type === 'vector' && kept.value.vector.length).toBe(2);
    const summed = await engine.instantQuery(st, 'sum(last_over_time({j="1"}[5m]))', 60 * S);
    expect(summed.value.type === 'vector' && summed.value.vector.map((s) => s.f)).toEqual([3]);
  });

  it('feed an aggregation around them series by series, answering exactly as over the held matrix', async () => {
    // `at` is '' (streamed) or ' @ t' (never streamed: the reference, one instant at a time)
    const calls = [
      (at: string) => `rate(x_total[5m]${at})`,
      (at: string) => `max_over_time(x[17m]${at})`,
      (at: string) => `count_over_time({__name__=~"x.*"}[1m]${at} offset 2m)`,
      (at: string) => `last_over_time(x[5m]${at})`,
      (at: string) => `stddev_over_time(x[10m]${at})`,
    ];
    for (const seed of [4, 5]) {
      const st = storage(seed);
      for (const op of STREAMED_OPS) {
        for (const by of ['', ' by (i)', ' by (odd)', ' without (i)', ' without (odd)']) {
          for (const call of calls) {
            const q = `${op}${by} (${call('')})`;
            const [start, end, step] = [600 * S, 3600 * S, 300 * S];
            const got = await engine.rangeQuery(st, q, start, end, step);
            const want: string[] = [];
            for (let t = start; t <= end; t += step) want.push(...pointBits((await engine.instantQuery(st, `${op}${by} (${call(` @ ${t / S}`)})`, t)).value));
            expect(pointBits(got.value).sort(), `${q} seed ${seed}`).toEqual(want.sort());
          }
        }
      }
    }
  });

  it('count the points fed to an aggregation against the engine limit on samples', async () => {
    const st = storage(3);
    const limited = new Engine({ lookbackDelta: 300 * S, maxSamples: 300 });
    await expect(limited.rangeQuery(st, 'sum(rate(x_total[5m]))', 0, 3600 * S, 60 * S)).rejects.toBeInstanceOf(TooManySamplesError);
    await expect(limited.rangeQuery(st, 'sum(rate(x_total[5m]) * 1)', 0, 3600 * S, 60 * S)).rejects.toBeInstanceOf(TooManySamplesError);
    const r = await engine.rangeQuery(st, 'sum(rate(x_total[5m]))', 0, 3600 * S, 60 * S);
    expect(r.value.type === 'matrix' && r.value.matrix.length).toBe(1);
  });
});
