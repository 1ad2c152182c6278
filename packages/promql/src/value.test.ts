import { STALE_NAN, isStaleNaN } from '@thanos-ts/tsdb';
import { describe, expect, it } from 'vitest';
import { FloatPoints, HistogramPoints, newSeries, seriesLength, vectorValue } from './value.js';
import { FloatHistogram } from './histogram.js';

describe('FloatPoints', () => {
  it('grows without losing points or NaN payloads', () => {
    const p = new FloatPoints(2);
    for (let i = 0; i < 1000; i++) p.push(i * 1000, i === 500 ? STALE_NAN : i);
    expect(p.length).toBe(1000);
    expect(p.t[999]).toBe(999_000);
    expect(isStaleNaN(p.f[500])).toBe(true);
    expect(p.values().length).toBe(1000);
  });
  it('slides and resets', () => {
    const p = new FloatPoints();
    for (let i = 0; i < 5; i++) p.push(i, i * 10);
    p.dropFirst(2);
    expect([...p.timestamps()]).toEqual([2, 3, 4]);
    expect([...p.values()]).toEqual([20, 30, 40]);
    p.reset();
    expect(p.length).toBe(0);
  });
});

describe('HistogramPoints and Series', () => {
  it('hold histograms beside floats', () => {
    const s = newSeries([{ name: '__name__', value: 'x' }]);
    s.floats.push(1, 1);
    s.histograms = new HistogramPoints();
    for (let i = 0; i < 10; i++) s.histograms.push(i, new FloatHistogram());
    s.histograms.dropFirst(3);
    expect(s.histograms.t[0]).toBe(3);
    expect(seriesLength(s)).toBe(8);
  });
  it('tags values', () => {
    expect(vectorValue([])).toEqual({ type: 'vector', vector: [] });
  });
});
