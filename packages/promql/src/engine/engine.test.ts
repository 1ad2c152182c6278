import { type Labels, type Matcher, type Querier, type Queryable, type SelectHints, type Series, STALE_NAN, labelsFromStrings } from '@thanos-ts/tsdb';
import { describe, expect, it } from 'vitest';
import { FloatHistogram } from '../histogram.js';
import { MemStorage } from '../promqltest/mem-storage.js';
import { parseScript } from '../promqltest/script.js';
import type { Value } from '../value.js';
import { Engine } from './engine.js';
import { EvalError, QueryCanceledError, QueryTimeoutError, TooManySamplesError, UnsupportedError } from './errors.js';

const M = 60_000;

/** A storage filled by the `load` blocks of a test script. */
function storage(script: string): MemStorage {
  const s = new MemStorage();
  for (const c of parseScript(script).commands) {
    if (c.kind !== 'load') continue;
    for (const { labels, samples } of c.series.values()) for (const p of samples) s.appendFloat(labels, p.t, p.f);
  }
  return s;
}

const engine = Engine.forTests();
const classic = new Engine({ enableExperimentalFunctions: true });

/** The value as `labels => value` lines (vector, scalar) or `labels => t:v …` (matrix). */
function show(v: Value): string[] {
  const ls = (l: Labels): string => '{' + l.map((x) => `${x.name}="${x.value}"`).join(',') + '}';
  switch (v.type) {
    case 'scalar':
      return [String(v.scalar.v)];
    case 'string':
      return [v.string.v];
    case 'vector':
      return v.vector.map((s) => `${ls(s.metric)} => ${s.f}`);
    case 'matrix':
      return v.matrix.map((s) => {
        const pts: string[] = [];
        for (let i = 0; i < s.floats.length; i++) pts.push(`${s.floats.t[i] / 1000}:${s.floats.f[i]}`);
        return `${ls(s.metric)} => ${pts.join(' ')}`;
      });
  }
}

async function instant(st: Queryable, q: string, tMs: number, e = engine): Promise<string[]> {
  return show((await e.instantQuery(st, q, tMs)).value);
}

async function range(st: Queryable, q: string, start: number, end: number, step: number, e = engine): Promise<string[]> {
  return show((await e.rangeQuery(st, q, start, end, step)).value);
}

describe('lookback and staleness', () => {
  const st = storage(`
load 30s
  m{a="x"} 1 _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _
  s{a="y"} 1 2 stale _ 5
`);

  it('sees a sample for exactly lookbackDelta minus one millisecond', async () => {
    expect(await instant(st, 'm', 300_000 - 1)).toEqual(['{__name__="m",a="x"} => 1']);
    expect(await instant(st, 'm', 300_000)).toEqual([]);
  });

  it('ends a series at a staleness marker and resumes at the next sample', async () => {
    expect(await range(st, 's', 0, 120_000, 30_000)).toEqual(['{__name__="s",a="y"} => 0:1 30:2 120:5']);
  });

  it('never shows staleness markers inside range selectors', async () => {
    // (0, 120s] holds 2@30s, the marker @60s and 5@120s.
    expect(await instant(st, 'count_over_time(s[2m])', 120_000)).toEqual(['{a="y"} => 2']);
  });

  it('keeps the newest sample per series for offset and @', async () => {
    expect(await instant(st, 's offset 90s', 120_000)).toEqual(['{__name__="s",a="y"} => 2']);
    expect(await instant(st, 's @ 30', 1_000_000)).toEqual(['{__name__="s",a="y"} => 2']);
    expect(await range(st, 's @ 30', 0, 60_000, 30_000)).toEqual(['{__name__="s",a="y"} => 0:2 30:2 60:2']);
  });
});

describe('range selectors', () => {
  const st = storage(`
load 1m
  c_total 0+10x10
`);

  it('are left-open: (t - range, t]', async () => {
    const r = await engine.instantQuery(st, 'c_total[2m]', 2 * M);
    expect(show(r.value)).toEqual(['{__name__="c_total"} => 60:10 120:20']);
  });

  it('feed range functions windows that slide with the steps', async () => {
    expect(await range(st, 'count_over_time(c_total[2m])', 0, 4 * M, M)).toEqual(['{} => 0:1 60:2 120:2 180:2 240:2']);
    expect(await range(st, 'last_over_time(c_total[1m] offset 1m)', 2 * M, 3 * M, M)).toEqual(['{__name__="c_total"} => 120:10 180:20']);
  });
});

describe('vector matching', () => {
  const st = storage(`
load 1m
  req{job="a", instance="1", code="200"} 10
  req{job="a", instance="1", code="500"} 1
  req{job="b", instance="2", code="200"} 20
  up{job="a", instance="1", team="x"} 1
  up{job="b", instance="2", team="y"} 0
  dup{job="a", instance="1", v="1"} 1
  dup{job="a", instance="1", v="2"} 2
`);

  it('matches one-to-one on all labels but the name', async () => {
    // up's team label takes part in the signature unless ignored.
    expect(await instant(st, 'req{code="200"} * ignoring(code) up', 0)).toEqual([]);
    expect(await instant(st, 'req{code="200"} * ignoring(code, team) up', 0)).toEqual(['{instance="1",job="a"} => 10', '{instance="2",job="b"} => 0']);
    expect(await instant(st, 'req{code="200"} * on(job, instance) up', 0)).toEqual(['{instance="1",job="a"} => 10', '{instance="2",job="b"} => 0']);
  });

  it('copies group_left labels from the one side', async () => {
    expect(await instant(st, 'req * on(job, instance) group_left(team) up', 0)).toEqual([
      '{code="200",instance="1",job="a",team="x"} => 10',
      '{code="200",instance="2",job="b",team="y"} => 0',
      '{code="500",instance="1",job="a",team="x"} => 1',
    ]);
  });

  it('fails one-to-one matches with several series per group, in Prometheus words', async () => {
    await expect(engine.instantQuery(st, 'req * on(job, instance) up', 0)).rejects.toThrow(
      'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)',
    );
    await expect(engine.instantQuery(st, 'up * on(job, instance) dup', 0)).rejects.toThrow(
      'found duplicate series for the match group {instance="1", job="a"} on the right hand-side of the operation: [{__name__="dup", instance="1", job="a", v="1"}, {__name__="dup", instance="1", job="a", v="2"}];many-to-many matching not allowed: matching labels must be unique on one side',
    );
    await expect(engine.instantQuery(st, 'dup * on(job, instance) group_right up', 0)).rejects.toThrow(
      'found duplicate series for the match group {instance="1", job="a"} on the left hand-side',
    );
  });

  it('implements and, or and unless on signatures', async () => {
    expect(await instant(st, 'req and on(job) up == 0', 0)).toEqual(['{__name__="req",code="200",instance="2",job="b"} => 20']);
    expect(await instant(st, 'req unless on(job) up == 0', 0)).toEqual([
      '{__name__="req",code="200",instance="1",job="a"} => 10',
      '{__name__="req",code="500",instance="1",job="a"} => 1',
    ]);
    expect(await instant(st, 'up or on(job) req', 0)).toEqual(['{__name__="up",instance="1",job="a",team="x"} => 1', '{__name__="up",instance="2",job="b",team="y"} => 0']);
  });

  it('filters with comparisons and returns 0/1 with bool', async () => {
    expect(await instant(st, 'up > 0', 0)).toEqual(['{__name__="up",instance="1",job="a",team="x"} => 1']);
    expect(await instant(st, 'up > bool 0', 0)).toEqual(['{instance="1",job="a",team="x"} => 1', '{instance="2",job="b",team="y"} => 0']);
    expect(await instant(st, '1 < bool 2', 0)).toEqual(['1']);
  });
});

describe('aggregations', () => {
  const st = storage(`
load 1m
  v{g="a", i="1"} 1
  v{g="a", i="2"} 2
  v{g="a", i="3"} 3
  v{g="b", i="1"} NaN
  v{g="b", i="2"} 4
  big{i="1"} 1e308
  big{i="2"} 1e308
  big{i="3"} -1e308
  k{i="1"} 1e100
  k{i="2"} 1
  k{i="3"} -1e100
`);

  it('groups by and without', async () => {
    expect(await instant(st, 'sum by (g) (v{g="a"})', 0)).toEqual(['{g="a"} => 6']);
    expect(await instant(st, 'count without (i) (v)', 0)).toEqual(['{g="a"} => 3', '{g="b"} => 2']);
    expect(await instant(st, 'group by (g) (v)', 0)).toEqual(['{g="a"} => 1', '{g="b"} => 1']);
  });

  it('treats NaN like Prometheus in min and max', async () => {
    expect(await instant(st, 'max by (g) (v)', 0)).toEqual(['{g="a"} => 3', '{g="b"} => 4']);
    expect(await instant(st, 'min by (g) (v{g="b"})', 0)).toEqual(['{g="b"} => 4']);
  });

  it('sums with Kahan compensation and averages without overflowing', async () => {
    expect(await instant(st, 'sum(k)', 0)).toEqual(['{} => 1']);
    expect(await instant(st, 'avg(big)', 0)).toEqual([`{} => ${1e308 / 3}`]);
  });

  it('computes stddev, stdvar and quantile', async () => {
    expect(await instant(st, 'stdvar(v{g="a"})', 0)).toEqual([`{} => ${2 / 3}`]);
    expect(await instant(st, 'stddev(v{g="a"})', 0)).toEqual([`{} => ${Math.sqrt(2 / 3)}`]);
    expect(await instant(st, 'quantile(0.5, v{g="a"})', 0)).toEqual(['{} => 2']);
    const r = await engine.instantQuery(st, 'quantile(2, v{g="a"})', 0);
    expect(show(r.value)).toEqual(['{} => Infinity']);
    expect(r.warnings).toEqual(['PromQL warning: quantile value should be between 0 and 1, got 2 (1:10)']);
  });

  it('orders topk and bottomk results for instant queries', async () => {
    expect(await instant(st, 'topk(2, v)', 0)).toEqual(['{__name__="v",g="b",i="2"} => 4', '{__name__="v",g="a",i="3"} => 3']);
    expect(await instant(st, 'bottomk(1, v) by (g)', 0)).toEqual(['{__name__="v",g="a",i="1"} => 1', '{__name__="v",g="b",i="2"} => 4']);
    await expect(engine.instantQuery(st, 'topk(NaN, v)', 0)).rejects.toThrow(new EvalError('Parameter value is NaN'));
  });

  it('counts values', async () => {
    expect((await instant(st, 'count_values("val", v{g="a"})', 0)).sort()).toEqual(['{val="1"} => 1', '{val="2"} => 1', '{val="3"} => 1']);
  });
});

describe('subqueries', () => {
  const st = storage(`
load 10s
  x 0+1x100
`);

  it('evaluate at absolute multiples of their step', async () => {
    // At 95s the 1m-range subquery with 20s step runs at 40s, 60s and 80s.
    expect(await instant(st, 'x[1m:20s]', 95_000)).toEqual(['{__name__="x"} => 40:4 60:6 80:8']);
    // Without a step the default resolution (1m in tests) applies.
    expect(await instant(st, 'x[3m:]', 200_000)).toEqual(['{__name__="x"} => 60:6 120:12 180:18']);
  });

  it('apply offset and @ to the whole subquery', async () => {
    expect(await instant(st, 'x[1m:20s] offset 20s', 95_000)).toEqual(['{__name__="x"} => 20:2 40:4 60:6']);
    expect(await instant(st, 'sum_over_time(x[1m:20s] @ 100)', 1_000_000)).toEqual(['{} => 24']);
  });

  it('nest', async () => {
    expect(await range(st, 'max_over_time(rate(x[20s])[1m:30s])', 120_000, 180_000, 60_000)).toEqual(['{} => 120:0.1 180:0.1']);
  });
});

describe('metric names', () => {
  const st = storage(`
load 1m
  a_total{x="1"} 1
  b_total{x="1"} 2
`);

  it('are removed at the end with delayed name removal', async () => {
    expect(await instant(st, 'label_replace(-a_total, "__name__", "n_$1", "x", "(.*)")', 0)).toEqual(['{__name__="n_1",x="1"} => -1']);
    expect(await instant(st, 'label_replace(-a_total, "__name__", "n_$1", "x", "(.*)")', 0, classic)).toEqual(['{__name__="n_1",x="1"} => -1']);
    expect(await instant(st, 'last_over_time(a_total[1m])', 0)).toEqual(['{__name__="a_total",x="1"} => 1']);
  });

  it('cannot collide in a result', async () => {
    for (const e of [engine, classic]) {
      await expect(e.instantQuery(st, 'ceil({__name__=~"a_total|b_total"})', 0)).rejects.toThrow('vector cannot contain metrics with the same labelset');
    }
    // Different timestamps of a range query may share labels.
    expect(await range(st, '-a_total or -b_total', 0, 0, M)).toEqual(['{x="1"} => 0:-1']);
  });
});

describe('query limits', () => {
  const st = storage(`
load 1m
  x{i="1"} 0+1x100
  x{i="2"} 0+1x100
`);

  it('fails queries holding too many samples', async () => {
    const e = Engine.forTests({ maxSamples: 100 });
    await expect(e.rangeQuery(st, 'x', 0, 100 * M, M)).rejects.toThrow(new TooManySamplesError('query execution'));
    await expect(e.rangeQuery(st, 'x', 0, 100 * M, M)).rejects.toThrow('query processing would load too many samples into memory in query execution');
    expect((await e.instantQuery(st, 'sum(x)', 10 * M)).value.type).toBe('vector');
  });

  it('stops canceled queries', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(engine.instantQuery(st, 'x', 0, { signal: ac.signal })).rejects.toThrow(new QueryCanceledError('query execution'));
  });

  it('times out slow queries', async () => {
    const slow: Queryable = {
      async querier(mint, maxt): Promise<Querier> {
        const q = await st.querier(mint, maxt);
        return {
          ...q,
          select: (hints: SelectHints, matchers: Matcher[]): AsyncIterable<Series> => ({
            async *[Symbol.asyncIterator]() {
              await new Promise((r) => setTimeout(r, 30));
              yield* q.select(hints, matchers);
            },
          }),
        };
      },
    };
    const e = Engine.forTests({ timeout: 10 });
    await expect(e.instantQuery(slow, 'x', 0)).rejects.toThrow(QueryTimeoutError);
  });
});

describe('selection', () => {
  it('selects every selector once, with Prometheus hints', async () => {
    const st = storage(`
load 1m
  x{job="a"} 1+1x100
`);
    const seen: SelectHints[] = [];
    const recording: Queryable = {
      async querier(mint, maxt): Promise<Querier> {
        const q = await st.querier(mint, maxt);
        return { ...q, select: (hints, matchers) => (seen.push(hints), q.select(hints, matchers)) };
      },
    };
    await engine.rangeQuery(recording, 'sum by (job) (rate(x[5m])) + x offset 1m', 60 * M, 70 * M, M);
    expect(seen).toEqual([
      { start: 55 * M + 1, end: 70 * M, step: M, range: 5 * M, func: 'rate', by: false },
      { start: 54 * M + 1, end: 69 * M, step: M, range: 0, func: '', by: false },
    ]);
    seen.length = 0;
    await engine.instantQuery(recording, 'sum by (job) (x)', 60 * M);
    expect(seen).toEqual([{ start: 55 * M + 1, end: 60 * M, step: 0, range: 0, func: 'sum', by: true, grouping: ['job'] }]);
  });

  it('fails cleanly on native histograms', async () => {
    const st = new MemStorage();
    const h = new FloatHistogram();
    h.count = 1;
    h.sum = 1;
    st.appendHistogram(labelsFromStrings('__name__', 'h'), 0, h);
    await expect(engine.instantQuery(st, 'h', 0)).rejects.toThrow(UnsupportedError);
  });

  it('keeps staleness markers bit-exact in storage', async () => {
    const st = new MemStorage();
    st.appendFloat(labelsFromStrings('__name__', 's'), 0, 1);
    st.appendFloat(labelsFromStrings('__name__', 's'), 1000, STALE_NAN);
    expect(await instant(st, 's', 500)).toEqual(['{__name__="s"} => 1']);
    expect(await instant(st, 's', 1000)).toEqual([]);
  });
});

describe('annotations', () => {
  const st = storage(`
load 1m
  requests 0+1x10
`);

  it('are rendered with the position of the sub-expression', async () => {
    const r = await engine.instantQuery(st, 'sum(rate(requests[5m]))', 5 * M);
    expect(r.infos).toEqual(['PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "requests" (1:10)']);
    const s = await engine.rangeQuery(st, 'sort(requests)', 0, M, M);
    expect(s.warnings).toEqual(['PromQL warning: sort is ineffective for range queries since results are always ordered by labels (1:1)']);
  });
});

describe('engine options', () => {
  it('rejects range queries over non-instant expressions', async () => {
    await expect(engine.rangeQuery(new MemStorage(), 'x[5m]', 0, M, M)).rejects.toThrow(
      'invalid expression type "range vector" for range query, must be Scalar or instant Vector',
    );
  });

  it('keeps experimental functions behind their flag', () => {
    expect(() => new Engine().parse('sort_by_label(x, "a")')).toThrow(/not enabled/);
    expect(new Engine({ enableExperimentalFunctions: true }).parse('sort_by_label(x, "a")').type).toBe('Call');
  });

  it('accepts a parsed expression and leaves it untouched', async () => {
    const st = storage(`
load 1m
  x 1
`);
    const e = engine.parse('x @ end() offset 1m');
    expect(await instant(st, e as never, 2 * M)).toEqual(['{__name__="x"} => 1']);
    expect(e.type === 'VectorSelector' && e.timestamp).toBe(null);
  });
});
