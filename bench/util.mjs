// Small helpers shared by the benchmarks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tmp(prefix) {
  return mkdtempSync(join(tmpdir(), `thanos-ts-bench-${prefix}-`));
}

export function cleanup(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/** Runs fn repeatedly for at least minMs (after one warm-up) and returns the best ms per run. */
export function timeIt(fn, minMs = 500) {
  fn();
  let best = Infinity;
  const end = performance.now() + minMs;
  do {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  } while (performance.now() < end);
  return best;
}

export async function timeItAsync(fn, runs = 3) {
  await fn();
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

export function fmt(n, digits = 1) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(digits)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(digits)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(digits)}k`;
  return n.toFixed(digits);
}

export function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const [i, r] of rows.entries()) {
    console.log('| ' + r.map((c, j) => String(c).padEnd(widths[j])).join(' | ') + ' |');
    if (i === 0) console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  }
}

/** A deterministic PRNG (mulberry32) so runs compare. */
export function rng(seed = 42) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
