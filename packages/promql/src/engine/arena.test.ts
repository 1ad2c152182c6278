import { describe, expect, it } from 'vitest';
import { PointsArena } from './arena.js';

describe('PointsArena', () => {
  it('keeps the points of many series apart across slabs of growing size', () => {
    const arena = new PointsArena();
    // Enough single-point and growing series to fill several slabs, the first ones small.
    const all = Array.from({ length: 3000 }, (_, i) => {
      const p = arena.points(1, i % 7 === 0 ? Infinity : 1 + (i % 5));
      const n = i % 7 === 0 ? 40 : 1 + (i % 5);
      for (let k = 0; k < n; k++) p.push(i * 1000 + k, i + k / 100);
      return { p, n, i };
    });
    for (const { p, n, i } of all) {
      expect(p.length).toBe(n);
      for (let k = 0; k < n; k++) {
        expect(p.t[k]).toBe(i * 1000 + k);
        expect(p.f[k]).toBe(i + k / 100);
      }
    }
  });

  it('copies a range at its exact size, larger than a first slab too', () => {
    const arena = new PointsArena();
    const t = Float64Array.from({ length: 1000 }, (_, i) => i);
    const f = Float64Array.from({ length: 1000 }, (_, i) => -i);
    const small = arena.copy(t, f, 2, 5);
    const big = arena.copy(t, f, 100, 900);
    expect([...small.t.subarray(0, small.length)]).toEqual([2, 3, 4]);
    expect(big.length).toBe(800);
    expect(big.t[0]).toBe(100);
    expect(big.f[799]).toBe(-899);
    expect(small.f[2]).toBe(-4);
  });
});
