import { describe, expect, it } from 'vitest';
import { DurationError, resolveDurationExprs } from './durations.js';
import { goPow } from './go-math.js';
import { parseExpr } from './parser.js';
import { printExpr } from './printer.js';

describe('duration expressions', () => {
  const ctx = { stepMs: 10_000, rangeMs: 60_000 };
  it('computes ranges, steps and offsets in milliseconds', () => {
    const m = parseExpr('foo[24m+((1.5*2m)+2m)]');
    resolveDurationExprs(m, ctx);
    expect(m).toMatchObject({ range: 1_740_000 });
    expect(printExpr(m)).toBe('foo[24m + ((1.5 * 2m) + 2m)]'); // the expression is kept for printing

    const s = parseExpr('sum_over_time(x[29s+1s:20*500ms] offset -(20*2s))');
    resolveDurationExprs(s, ctx);
    expect(s).toMatchObject({ args: [{ range: 30_000, step: 10_000, originalOffset: -40_000 }] });

    const st = parseExpr('x[step()+1ms] offset min_of(range(), 8s)');
    resolveDurationExprs(st, ctx);
    expect(st).toMatchObject({ range: 10_001, vectorSelector: { originalOffset: 8000 } });
    const mod = parseExpr('x[1h30m % 1h]');
    resolveDurationExprs(mod, ctx);
    expect(mod).toMatchObject({ range: 1_800_000 });
  });

  it('rejects what Prometheus rejects', () => {
    expect(() => resolveDurationExprs(parseExpr('x[step()]'), { stepMs: 0, rangeMs: 0 })).toThrow(
      new DurationError('2:8: duration must be greater than 0'),
    );
    expect(() => resolveDurationExprs(parseExpr('x[1m/(step()-step())]'), ctx)).toThrow('division by zero');
    expect(() => resolveDurationExprs(parseExpr('x[2^2000]'), ctx)).toThrow('duration is NaN or infinite');
  });

  it("uses Go's Pow special cases", () => {
    expect(goPow(1, NaN)).toBe(1);
    expect(goPow(-1, Infinity)).toBe(1);
    expect(goPow(2, 10)).toBe(1024);
  });
});
