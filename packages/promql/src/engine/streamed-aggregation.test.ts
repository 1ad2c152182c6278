// Aggregations fed series by series as they are selected (StepAggregation) against
// rangeEvalAgg over the whole input matrix, the selector's series in selection order (as
// Prometheus's): both must answer bit for bit the same.
import { describe, expect, it } from 'vitest';
import { rng } from '@thanos-ts/testutil';
import { STALE_NAN, compareLabels, labelsFromStrings } from '@thanos-ts/tsdb';
import type { AggregateExpr } from '../ast.js';
import { Annotations } from '../functions/annotations.js';
import { parseExpr } from '../parser.js';
import { MemStorage } from '../promqltest/mem-storage.js';
import { FloatPoints, matrixValue, type Value } from '../value.js';
import { type AggregationContext, FParams, STREAMED_OPS, rangeEvalAgg } from './aggregation.js';
import { pointBits } from './bits-fixture.js';
import { Engine } from './engine.js';
import { TooManySamplesError } from './errors.js';

const S = 1000;

/** Series x{g, i} with gaps, stale markers and every awkward float. */
function storage(seed: number): MemStorage {
  const rand = rng(seed);
  const st = new MemStorage();
  const awkward = [NaN, Infinity, -Infinity, -0, 0, 1e308, -1e308, 5e-324, STALE_NAN];
  for (let i = 0; i < 40; i++) {
    const labels = labelsFromStrings('__name__', 'x', 'g', `g${i % 5}`, 'i', String(i), ...(i % 7 === 0 ? ['odd', 'y'] : []));
    let t = Math.floor(rand() * 60) * S;
    const big = rand() < 0.2;
    while (t < 3600 * S) {
      const r = rand();
      const f = r < 0.08 ? awkward[Math.floor(rand() * awkward.length)] : big ? (rand() - 0.5) * 1.7e308 : Math.round((rand() - 0.5) * 1000) / 8;
      st.appendFloat(labels, t, f);
      // mostly every 15 s, sometimes a gap longer than the lookback
      t += rand() < 0.02 ? 400 * S : 15 * S;
    }
  }
  return st;
}

function context(start: number, end: number, step: number): AggregationContext {
  return {
    startTs: start,
    endTs: end,
    interval: step,
    numSteps: Math.floor((end - start) / step) + 1,
    annos: new Annotations(),
    enableDelayedNameRemoval: false,
    checkDone() {},
    tick() {},
    checkSamples() {},
    newSeries: (metric, cap) => ({ metric, floats: new FloatPoints(cap), histograms: null, dropName: false }),
  };
}

describe('aggregations streamed as series arrive', () => {
  const engine = new Engine({ lookbackDelta: 300 * S });

  it('answer exactly as over the whole input matrix, for every streamed operator, grouping and step', async () => {
    for (const seed of [1, 2, 3]) {
      const st = storage(seed);
      for (const op of STREAMED_OPS) {
        for (const by of ['', ' by (g)', ' by (odd)', ' by (g, i)', ' without (i)', ' without (g, odd)', ' without (__name__)']) {
          const q = `${op}${by} (x)`;
          const e = parseExpr(q) as AggregateExpr;
          for (const [start, end, step] of [
            [0, 3600 * S, 60 * S],
            [7 * S, 3000 * S, 7 * S],
            [1800 * S, 1800 * S, 1],
          ]) {
            const streamed = await engine.rangeQuery(st, q, start, end, step);
            // The selection, sorted by labels as the storage returns it.
            const input = (await engine.rangeQuery(st, 'x', start, end, step)).value;
            if (input.type !== 'matrix') throw new Error('x: not a matrix');
            const whole = rangeEvalAgg(context(start, end, step), e, [...e.grouping].sort(), input.matrix, FParams.none());
            whole.sort((a, b) => compareLabels(a.metric, b.metric));
            expect(pointBits(streamed.value), `${q} seed ${seed} step ${step}`).toEqual(pointBits(matrixValue(whole)));
          }
        }
      }
    }
  });

  it('order the groups of an instant answer as the unstreamed aggregation does', async () => {
    const st = storage(6);
    for (const op of STREAMED_OPS) {
      for (const by of [' by (g)', ' without (i)', ' without (g, odd)']) {
        for (const t of [900, 2000, 3500]) {
          // a selector with `@` is never streamed
          const got = await engine.instantQuery(st, `${op}${by} (x)`, t * S);
          const want = await engine.instantQuery(st, `${op}${by} (x @ ${t})`, t * S);
          expect(pointBits(got.value), `${op}${by} at ${t}`).toEqual(pointBits(want.value));
        }
      }
    }
  });

  it('answer instant queries as range queries of one step', async () => {
    const st = storage(5);
    for (const op of STREAMED_OPS) {
      const inst = await engine.instantQuery(st, `${op} by (g) (x)`, 2000 * S);
      const rng1 = await engine.rangeQuery(st, `${op} by (g) (x)`, 2000 * S, 2000 * S, 1);
      if (inst.value.type !== 'vector' || rng1.value.type !== 'matrix') throw new Error('unexpected value types');
      expect(inst.value.vector.map((s) => `${s.t} ${s.f}`)).toEqual(rng1.value.matrix.map((s) => `${s.floats.t[0]} ${s.floats.f[0]}`));
      expect(inst.value.vector.length).toBe(5);
    }
  });

  it('count their input against the engine limit on samples, but not against a lower per-query bound', async () => {
    const st = storage(4);
    const limited = new Engine({ lookbackDelta: 300 * S, maxSamples: 500 });
    await expect(limited.rangeQuery(st, 'sum(x)', 0, 3600 * S, 60 * S)).rejects.toBeInstanceOf(TooManySamplesError);
    await expect(limited.rangeQuery(st, 'sum(x * 1)', 0, 3600 * S, 60 * S)).rejects.toBeInstanceOf(TooManySamplesError);
    // a per-query bound on what the query holds: the streamed input is never held
    const r = await engine.rangeQuery(st, 'sum(x)', 0, 3600 * S, 60 * S, { maxSamples: 500 });
    expect(pointBits(r.value)).toEqual(pointBits((await engine.rangeQuery(st, 'sum(x * 1)', 0, 3600 * S, 60 * S)).value));
    await expect(engine.rangeQuery(st, 'sum(x * 1)', 0, 3600 * S, 60 * S, { maxSamples: 500 })).rejects.toBeInstanceOf(TooManySamplesError);
  });

  it('count the state of every group at every step against the bound on samples held', async () => {
    const st = storage(4);
    // 40 groups × 3,601 steps = 144k slots: over a bound of 100k, though one group is far under it
    await expect(engine.rangeQuery(st, 'sum by (i) (x)', 0, 3600 * S, S, { maxSamples: 100_000 })).rejects.toBeInstanceOf(TooManySamplesError);
    const one = await engine.rangeQuery(st, 'sum (x)', 0, 3600 * S, S, { maxSamples: 100_000 });
    expect(one.value.type === 'matrix' && one.value.matrix.length).toBe(1);
    const all = await engine.rangeQuery(st, 'sum by (i) (x)', 0, 3600 * S, S, { maxSamples: 200_000 });
    expect(all.value.type === 'matrix' && all.value.matrix.length).toBe(40);
  });
});
