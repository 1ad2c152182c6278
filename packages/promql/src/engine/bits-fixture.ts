// For tests that compare answers bit for bit.
import type { Value } from '../value.js';

/**
 * Every point of a vector or matrix as `labels t:bits`, so -0 is told apart from 0. NaNs
 * are all alike: V8 may or may not keep a NaN's payload through arithmetic, and no
 * answer shows it.
 */
export function pointBits(v: Value): string[] {
  const f64 = new Float64Array(1);
  const u32 = new Uint32Array(f64.buffer);
  const hex = (x: number): string => {
    if (Number.isNaN(x)) return 'NaN';
    f64[0] = x;
    return `${u32[1].toString(16)}.${u32[0].toString(16)}`;
  };
  const ls = (l: readonly { name: string; value: string }[]): string => l.map((x) => `${x.name}=${x.value}`).join(',');
  if (v.type === 'vector') return v.vector.map((s) => `${ls(s.metric)} ${s.t}:${hex(s.f)}`);
  if (v.type === 'matrix') return v.matrix.flatMap((s) => Array.from({ length: s.floats.length }, (_, i) => `${ls(s.metric)} ${s.floats.t[i]}:${hex(s.floats.f[i])}`));
  throw new Error(`unexpected ${v.type}`);
}
