import { describe, expect, it } from 'vitest';
import { CounterResetHint, FloatHistogram, HistogramError, bucketEntries, exponentialBound } from './histogram.js';

function hist(init: Partial<FloatHistogram>): FloatHistogram {
  return Object.assign(new FloatHistogram(), init);
}

describe('FloatHistogram', () => {
  it('knows exponential bucket bounds', () => {
    expect(exponentialBound(1, 0)).toBe(2);
    expect(exponentialBound(0, 0)).toBe(1);
    expect(exponentialBound(-1, 0)).toBe(0.5);
    expect(exponentialBound(2, 1)).toBe(2);
    expect(exponentialBound(1, 1)).toBeCloseTo(Math.SQRT2, 15);
    expect(exponentialBound(1, -1)).toBe(4);
    expect(exponentialBound(1024, 0)).toBe(Number.MAX_VALUE);
  });

  it('adds buckets, inserting missing ones', () => {
    const a = hist({ count: 4, sum: 4, positiveSpans: [{ offset: 0, length: 2 }], positiveBuckets: [1, 2] });
    const b = hist({ count: 2, sum: 1, positiveSpans: [{ offset: 3, length: 1 }], positiveBuckets: [5] });
    a.add(b);
    expect([a.count, a.sum]).toEqual([6, 5]);
    expect([...bucketEntries(a.positiveSpans, a.positiveBuckets)]).toEqual([
      [0, 1],
      [1, 2],
      [3, 5],
    ]);
    expect(a.positiveSpans).toEqual([
      { offset: 0, length: 2 },
      { offset: 1, length: 1 },
    ]);
  });

  it('subtracts, and reduces to the coarser schema', () => {
    const a = hist({ schema: 1, positiveSpans: [{ offset: 1, length: 4 }], positiveBuckets: [1, 2, 3, 4], negativeSpans: [{ offset: 0, length: 1 }], negativeBuckets: [1] });
    const b = hist({ schema: 0, positiveSpans: [{ offset: 1, length: 1 }], positiveBuckets: [1] });
    a.sub(b);
    expect(a.schema).toBe(0);
    // schema-1 buckets 1,2 → 1; 3,4 → 2
    expect([...bucketEntries(a.positiveSpans, a.positiveBuckets)]).toEqual([
      [1, 2],
      [2, 7],
    ]);
    expect([...bucketEntries(a.negativeSpans, a.negativeBuckets)]).toEqual([[0, 1]]);
  });

  it('widens the zero bucket to the larger threshold', () => {
    const a = hist({ zeroThreshold: 1, zeroCount: 1, positiveSpans: [{ offset: 1, length: 2 }], positiveBuckets: [2, 3] });
    const b = hist({ zeroThreshold: 2, zeroCount: 4 });
    a.add(b);
    expect(a.zeroThreshold).toBe(2);
    expect(a.zeroCount).toBe(1 + 2 + 4); // bucket (1,2] moved into the zero bucket
    expect([...bucketEntries(a.positiveSpans, a.positiveBuckets)]).toEqual([[2, 3]]);
  });

  it('combines counter reset hints', () => {
    const h = (c: CounterResetHint): FloatHistogram => hist({ counterResetHint: c });
    const a = h(CounterResetHint.CounterReset);
    expect(a.add(h(CounterResetHint.NotCounterReset))).toBe(true);
    expect(a.counterResetHint).toBe(CounterResetHint.Unknown);
    const g = h(CounterResetHint.NotCounterReset);
    g.add(h(CounterResetHint.Gauge));
    expect(g.counterResetHint).toBe(CounterResetHint.Gauge);
  });

  it('refuses to mix custom and exponential buckets', () => {
    expect(() => hist({ schema: -53 }).add(hist({ schema: 0 }))).toThrow(HistogramError);
  });

  it('copies deeply', () => {
    const a = hist({ positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [1] });
    const c = a.copy();
    c.positiveBuckets[0] = 9;
    c.positiveSpans[0].length = 2;
    expect(a.positiveBuckets).toEqual([1]);
    expect(a.positiveSpans).toEqual([{ offset: 0, length: 1 }]);
  });
});
