import { describe, expect, it } from 'vitest';
import type { Expr, VectorSelector } from '../ast.js';
import { inspect } from '../ast.js';
import { ALL_FEATURES, parseExpr } from '../parser.js';
import { cloneExpr, findMinMaxTime, forEachSelector, preprocessExpr, selectorTimeRange, setOffsetForAtModifier } from './preprocess.js';

const M = 60_000;

/** The tree with step-invariant wrappers shown as `SI(…)`. */
function shape(e: Expr): string {
  switch (e.type) {
    case 'StepInvariantExpr':
      return `SI(${shape(e.expr)})`;
    case 'BinaryExpr':
      return `${shape(e.lhs)} ${e.op} ${shape(e.rhs)}`;
    case 'Call':
      return `${e.func.name}(${e.args.map(shape).join(', ')})`;
    case 'AggregateExpr':
      return `${e.op}(${shape(e.expr)})`;
    case 'SubqueryExpr':
      return `${shape(e.expr)}[sq]`;
    case 'MatrixSelector':
      return `${shape(e.vectorSelector)}[m]`;
    case 'VectorSelector':
      return e.name + (e.timestamp !== null ? `@${e.timestamp}` : '');
    case 'NumberLiteral':
      return String(e.val);
    case 'ParenExpr':
      return `(${shape(e.expr)})`;
    default:
      return e.type;
  }
}

function pre(q: string, start = 0, end = 0, step = 0): Expr {
  return preprocessExpr(parseExpr(q, ALL_FEATURES), start, end, step);
}

function selectors(e: Expr): VectorSelector[] {
  const out: VectorSelector[] = [];
  inspect(e, (n) => {
    if (n.type === 'VectorSelector') out.push(n);
  });
  return out;
}

describe('preprocessExpr', () => {
  it('wraps the highest step-invariant sub-trees', () => {
    expect(shape(pre('a @ 10 + b'))).toBe('SI(a@10000) + b');
    expect(shape(pre('sum(rate(a[5m] @ 100)) * b'))).toBe('SI(sum(rate(a@100000[m]))) * b');
    expect(shape(pre('1 + 2'))).toBe('SI(1 + 2)');
    expect(shape(pre('a @ 1 + b @ 2'))).toBe('SI(a@1000 + b@2000)');
  });

  it('keeps time-dependent functions out, except timestamp() of pinned selectors', () => {
    expect(shape(pre('time() + a @ 1'))).toBe('time() + SI(a@1000)');
    expect(shape(pre('timestamp(a @ 1)'))).toBe('SI(timestamp(a@1000))');
    expect(shape(pre('timestamp(abs(a @ 1))'))).toBe('timestamp(SI(abs(a@1000)))');
  });

  it('wraps the inside of subqueries that are invariant, never the subquery', () => {
    // Without @ on the subquery itself, the subquery varies with the step.
    expect(shape(pre('max_over_time((a @ 5)[5m:1m])'))).toBe('max_over_time(SI((a@5000))[sq])');
    expect(shape(pre('max_over_time(a[5m:1m] @ 5)'))).toBe('SI(max_over_time(a[sq]))');
  });

  it('resolves @ start() / @ end() and folds start(), end(), range(), step()', () => {
    const e = pre('a @ start() + b @ end() + step() + range()', 60_000, 120_000, 15_000);
    expect(shape(e)).toBe('SI(a@60000 + b@120000 + 15 + 60)');
  });

  it('computes duration expressions for the query', () => {
    const e = pre('rate(a[step() * 4])', 0, 60_000, 15_000);
    const ms = (e as { args: Expr[] }).args[0];
    expect(ms.type === 'MatrixSelector' && ms.range).toBe(60_000);
  });
});

describe('setOffsetForAtModifier', () => {
  it('turns @ into an offset relative to the evaluation start, subqueries included', () => {
    const e = pre('a @ 100 offset 1m + max_over_time((b @ 50)[5m:1m] @ 200)', 1000_000, 1000_000, 0);
    setOffsetForAtModifier(1000_000, e);
    const [a, b] = selectors(e);
    expect(a.offset).toBe(1000_000 - 100_000 + M);
    // Inside a subquery pinned at 200s, b's offset is relative to the subquery's time.
    expect(b.offset).toBe(200_000 - 50_000);
  });
});

describe('selector time ranges', () => {
  it('cover lookback, ranges, offsets, @ and enclosing subqueries', () => {
    const stmt = { start: 10 * M, end: 20 * M, interval: M, lookbackDelta: 5 * M };
    const e = parseExpr('a + rate(b[2m] offset 1m) + max_over_time(c[10m:1m] offset 3m) + d @ 30', ALL_FEATURES);
    const ranges: Array<[string, number, number]> = [];
    forEachSelector(e, (vs, path, r) => {
      const { start, end } = selectorTimeRange(stmt, vs, path, r);
      ranges.push([vs.name, start, end]);
    });
    expect(ranges).toEqual([
      ['a', 5 * M + 1, 20 * M],
      ['b', 7 * M + 1, 19 * M],
      ['c', -8 * M + 1, 17 * M],
      ['d', 30_000 - 5 * M + 1, 30_000],
    ]);
    expect(findMinMaxTime(stmt, e)).toEqual({ mint: -8 * M + 1, maxt: 20 * M });
    expect(findMinMaxTime(stmt, parseExpr('1 + 1', ALL_FEATURES))).toEqual({ mint: 0, maxt: 0 });
  });
});

describe('cloneExpr', () => {
  it('copies every node the evaluator mutates', () => {
    const e = parseExpr('sum by (b, a) (x @ end()) + max_over_time(y[5m:])', ALL_FEATURES);
    const c = cloneExpr(e);
    const p = preprocessExpr(c, 0, 60_000, 0);
    setOffsetForAtModifier(0, p);
    expect(selectors(e).map((v) => [v.timestamp, v.offset])).toEqual([
      [null, 0],
      [null, 0],
    ]);
    expect(e.type === 'BinaryExpr' && e.lhs.type === 'AggregateExpr' && e.lhs.grouping).toEqual(['b', 'a']);
  });
});
