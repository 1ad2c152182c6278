import { STALE_NAN } from '@thanos-ts/tsdb';
import { describe, expect, it } from 'vitest';
import { almostEqual, atModifierTestCases, runScript } from './runner.js';
import { parseScript } from './script.js';

describe('parseScript', () => {
  it('reads load, clear and eval commands with their bodies', () => {
    const { commands, errors } = parseScript(`
# a comment
load 1m
  m{a="1"} 1+1x2 _ stale
  m{a="1"} 5

eval instant at 1m m
  expect no_warn
  expect info regex: might not
  m{a="1"} 5
  # a comment ends the body

eval range from 0 to 2m step 1m m
  m{a="1"} 5 _ _

eval instant at 0 1 + 1
  2

eval instant at 0 "s"
  expect string "s"

clear
`);
    expect(errors).toEqual([]);
    expect(commands.map((c) => c.kind)).toEqual(['load', 'eval', 'eval', 'eval', 'eval', 'clear']);
    const load = commands[0];
    if (load.kind !== 'load') throw new Error('not a load');
    // The later line for the same series wins.
    expect([...load.series.values()].map((s) => s.samples.map((p) => [p.t, p.f]))).toEqual([[[0, 5]]]);
    const ev = commands[1];
    if (ev.kind !== 'eval') throw new Error('not an eval');
    expect(ev.evalTime).toBe(60_000);
    expect([...ev.expects.keys()]).toEqual(['no_warn', 'info']);
    expect([...ev.expected.values()].map((e) => e.pos)).toEqual([1]);
    const sc = commands[3];
    if (sc.kind !== 'eval') throw new Error('not an eval');
    expect(sc.expectScalar).toBe(true);
    const str = commands[4];
    if (str.kind !== 'eval') throw new Error('not an eval');
    expect(str.expectedString).toBe('s');
    expect(str.excludeFromRangeQuery).toBe(true);
  });

  it('reports a bad eval without losing the others', () => {
    const { commands, errors } = parseScript(`
eval instant at 0 sum(
  {} 1

eval instant at 0 1
  1
`);
    expect(errors.map((e) => [e.evalLine, e.evalExpr])).toEqual([[2, 'sum(']]);
    expect(commands.length).toBe(1);
  });
});

describe('almostEqual', () => {
  it('follows util/almost', () => {
    expect(almostEqual(1, 1 + 1e-7)).toBe(true);
    expect(almostEqual(1, 1 + 1e-5)).toBe(false);
    expect(almostEqual(NaN, NaN)).toBe(true);
    expect(almostEqual(STALE_NAN, NaN)).toBe(false);
    expect(almostEqual(STALE_NAN, STALE_NAN)).toBe(true);
    expect(almostEqual(0, 1e-300)).toBe(false);
    expect(almostEqual(-0, 0)).toBe(true);
    expect(almostEqual(Infinity, Infinity)).toBe(true);
  });
});

describe('atModifierTestCases', () => {
  it('pins `@ t` on selectors and subqueries outside subqueries that have one', () => {
    expect(atModifierTestCases('sum(rate(x[5m])) + y', 100_000)).toEqual(
      [-1_000_000, 0, 20_000, 100_000, 1_000_000].map((t) => ({ expr: 'sum(rate(x[5m] @ 100.000)) + y @ 100.000', evalTime: t })),
    );
    expect(atModifierTestCases('max_over_time(x[1m:10s])', 0)[0]).toEqual({ expr: 'max_over_time(x[1m:10s] @ 0.000)', evalTime: -1000 });
  });

  it('skips expressions whose value depends on the evaluation time', () => {
    expect(atModifierTestCases('timestamp(x)', 1000)).toEqual([]);
    expect(atModifierTestCases('hour()', 1000)).toEqual([]);
  });
});

describe('runScript', () => {
  const script = `
load 1m
  m{a="1"} 0+1x10
  m{a="2"} 10-1x10

eval instant at 5m m
  m{a="1"} 5
  m{a="2"} 5

eval instant at 5m m
  m{a="1"} 5

eval instant at 5m sort_desc(m + on(a) group_left m)
  expect ordered
  {a="1"} 10
  {a="2"} 10

eval range from 0 to 2m step 1m m{a="1"}
  m{a="1"} 0 1 2

eval range from 0 to 2m step 1m m{a="1"}
  m{a="1"} 0 1 2 3

eval instant at 0 timestamp(m)
  expect fail

eval instant at 1m m > 100 or vector(1)
  {} 1

eval instant at 5m topk(1, m{a="2"})
  expect ordered
  m{a="1"} 5
`;

  it('passes and fails evals like upstream, with reasons', async () => {
    const out = await runScript('t.test', script);
    expect(out.map((o) => [o.line, o.ok])).toEqual([
      [6, true],
      [10, false],
      [13, true],
      [18, true],
      [21, false],
      [24, false],
      [27, true],
      [30, false],
    ]);
    expect(out[1].reason).toMatch(/unexpected metric \{__name__="m", a="2"\} in result/);
    expect(out[4].reason).toMatch(/query time range cannot return this many points/);
    expect(out[5].reason).toMatch(/expected error evaluating query "timestamp\(m\)" \(line 24\) but got none/);
    expect(out[7].reason).toMatch(/unexpected metric \{__name__="m", a="2"\}/);
  });

  it('re-runs instant evals with @ and as range queries', async () => {
    // Right at the pinned time the value is 5, but the range re-run around 5m sees the
    // step at 5m only; a wrong lookback would fail the @-pinned runs at other times.
    const out = await runScript(
      't.test',
      `
load 1m
  g 1 _ _ _ _ _ _ _ _ _ 2

eval instant at 10m g
  g 2

eval instant at 4m g
  g 1

eval instant at 5m g
`,
    );
    expect(out.map((o) => o.ok)).toEqual([true, true, true]);
  });

  it('loads start timestamps from @st lines', async () => {
    const out = await runScript(
      't.test',
      `
load 1m
  c@st _ -30s 0 -1mx1
  c    _ 10   20 5 5

eval range from 1m to 4m step 1m start_timestamp(c)
  {} 30 120 120 180

eval instant at 4m resets(c[4m])
  {} 2
`,
    );
    expect(out.map((o) => [o.ok, o.reason])).toEqual([
      [true, ''],
      [true, ''],
    ]);
  });
});
