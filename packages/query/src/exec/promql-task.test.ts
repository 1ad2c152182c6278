import { describe, expect, it } from 'vitest';
import { FloatPoints } from '@thanos-ts/promql';
import type { Value } from '@thanos-ts/promql';
import { chunkSizeFor, MAX_CHUNK } from './promql-task.js';

describe('chunkSizeFor', () => {
  it('gives a small answer a small chunk and a large one the largest', () => {
    const one: Value = { type: 'vector', vector: [{ metric: [{ name: '__name__', value: 'up' }], t: 0, f: 1, h: null, dropName: false }] };
    expect(chunkSizeFor(one)).toBe(4 * 1024);
    expect(chunkSizeFor({ type: 'scalar', scalar: { t: 0, v: 1 } })).toBe(4 * 1024);
    const floats = new FloatPoints(10_000);
    floats.length = 10_000;
    expect(chunkSizeFor({ type: 'matrix', matrix: [{ metric: [], floats, histograms: null, dropName: false }] })).toBe(MAX_CHUNK);
    const many: Value = { type: 'vector', vector: Array.from({ length: 100 }, () => one.vector[0]) };
    const size = chunkSizeFor(many);
    expect(size).toBeGreaterThan(4 * 1024);
    expect(size).toBeLessThan(MAX_CHUNK);
  });
});
