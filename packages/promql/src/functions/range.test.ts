import { describe, expect, it } from 'vitest';
import { Annotations } from './annotations.js';
import {
  durationSeconds,
  funcAvgOverTime,
  funcChanges,
  funcCountOverTime,
  funcDelta,
  funcDeriv,
  funcDoubleExponentialSmoothing,
  funcFirstOverTime,
  funcIdelta,
  funcIncrease,
  funcIrate,
  funcLastOverTime,
  funcMadOverTime,
  funcMaxOverTime,
  funcMinOverTime,
  funcPredictLinear,
  funcPresentOverTime,
  funcQuantileOverTime,
  funcRate,
  funcResets,
  funcStddevOverTime,
  funcStdvarOverTime,
  funcSumOverTime,
  funcTsOfFirstOverTime,
  funcTsOfLastOverTime,
  funcTsOfMaxOverTime,
  funcTsOfMinOverTime,
  isStartTimestampReset,
} from './range.js';
import { FunctionError, type RangeCall, type RangeKernel } from './types.js';

const MIN = 60_000;
const POS = { start: 0, end: 10 };

/**
 * Runs kernel over the points (t in ms) as the window (evalTs - range, evalTs], with junk
 * around the window to check that kernels stay inside from/to.
 */
function run(
  kernel: RangeKernel,
  ts: number[],
  vs: number[],
  opts: Partial<RangeCall> & { evalTs: number; range: number },
  ann = new Annotations(),
): number | undefined {
  const { range, ...rest } = opts;
  // The evaluator passes the points of (evalTs - range, evalTs] (more for anchored/smoothed).
  if (!opts.anchored && !opts.smoothed) {
    const keep = ts.map((x) => x > opts.evalTs - range && x <= opts.evalTs);
    ts = ts.filter((_, i) => keep[i]);
    vs = vs.filter((_, i) => keep[i]);
  }
  const t = Float64Array.from([-999, ...ts, 9e15]);
  const f = Float64Array.from([1e9, ...vs, -1e9]);
  const call: RangeCall = {
    rangeStart: opts.evalTs - range,
    rangeEnd: opts.evalTs,
    args: [],
    metricName: 'm',
    pos: POS,
    anchored: false,
    smoothed: false,
    st: null,
    histCount: 0,
    histFirstT: 0,
    histLastT: 0,
    ...rest,
  };
  return kernel(t, f, 1, 1 + ts.length, call, ann);
}

/** Points every step from `start` with the given values. */
function series(step: number, values: number[], start = 0): [number[], number[]] {
  return [values.map((_, i) => start + i * step), values];
}

describe('rate, increase, delta', () => {
  it('extrapolates to the window edges when points come close enough', () => {
    // 0+10x10 every 5m; window (0, 50m] holds 5m..50m = 10..100.
    const [t, f] = series(5 * MIN, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 5 * MIN);
    const inc = run(funcIncrease, t, f, { evalTs: 50 * MIN, range: 50 * MIN });
    // increase 90 over 45m, extended by 5m on the left: 90 * (2700+300)/2700.
    expect(inc).toBe(90 * ((2700 + 300 + 0) / 2700));
    expect(run(funcRate, t, f, { evalTs: 50 * MIN, range: 50 * MIN })).toBe(90 * ((2700 + 300) / 2700 / 3000));
  });

  it('stops the left extrapolation at the counter zero point', () => {
    // 1+10x10 at 5m steps: window (-50m, 50m] holds 0..50m with values 1..101.
    const [t, f] = series(5 * MIN, [1, 11, 21, 31, 41, 51, 61, 71, 81, 91, 101]);
    const inc = run(funcIncrease, t, f, { evalTs: 50 * MIN, range: 100 * MIN });
    // The corpus expects 101 (zero point reached 30s before the first point).
    expect(inc).toBeCloseTo(101, 10);
    // delta does not treat it as a counter: half an interval (150s) on the left.
    expect(run(funcDelta, t, f, { evalTs: 50 * MIN, range: 100 * MIN })).toBeCloseTo(100 * (3000 + 150) / 3000, 10);
  });

  it('compensates counter resets', () => {
    const [t, f] = series(5 * MIN, [0, 1, 2, 3, 2, 3, 4]);
    // (0, 30m] holds 5m..30m: 1 2 3 2 3 4; reset adds 3: 4-1+3 = 6, extrapolated over 30m/25m,
    // but the zero point cuts the left extension: durationToZero = 1500*(1/6) = 250s < 300s.
    expect(run(funcIncrease, t, f, { evalTs: 30 * MIN, range: 30 * MIN })).toBe(6 * ((1500 + 250 + 0) / 1500));
    // delta sees the raw difference.
    expect(run(funcDelta, t, f, { evalTs: 30 * MIN, range: 30 * MIN })).toBe(3 * ((1500 + 300 + 0) / 1500));
  });

  it('needs two points, and returns nothing for one', () => {
    expect(run(funcRate, [10_000], [5], { evalTs: 60_000, range: 60_000 })).toBeUndefined();
    expect(run(funcRate, [], [], { evalTs: 60_000, range: 60_000 })).toBeUndefined();
  });

  it('extrapolates only half an interval when the series starts or ends inside the window', () => {
    // Points at 40s, 50s, 60s in the window (0, 120s]: 20s+ from either edge, interval 10s.
    const inc = run(funcDelta, [40_000, 50_000, 60_000], [1, 2, 3], { evalTs: 120_000, range: 120_000 });
    expect(inc).toBe(2 * ((20 + 5 + 5) / 20));
  });

  it('treats NaN like Prometheus (it propagates)', () => {
    expect(run(funcRate, [10_000, 20_000], [1, NaN], { evalTs: 20_000, range: 20_000 })).toBeNaN();
  });

  it('divides rate by the range as Go computes Duration.Seconds()', () => {
    expect(durationSeconds(300_000)).toBe(300);
    expect(durationSeconds(1_234)).toBe(1 + 234_000_000 / 1e9);
    const [t, f] = series(1_000, [0, 1, 2]);
    expect(run(funcRate, t, f, { evalTs: 2_000, range: 1_234 })).toBe(run(funcIncrease, t, f, { evalTs: 2_000, range: 1_234 })! / durationSeconds(1_234));
  });

  it('uses start timestamps when given', () => {
    // Two points whose first start timestamp lies inside the window: no left extrapolation,
    // the counter counts from 0 at its start time.
    const st = Float64Array.from([0, 15_000, 15_000, 0]);
    const v = run(funcIncrease, [20_000, 30_000], [5, 8], { evalTs: 30_000, range: 30_000, st });
    // result 3 + first value 5 = 8 over (30-15)s sampled, durationToEnd 0.
    expect(v).toBe(8);
    // A single point with a start timestamp inside the window is enough.
    const st1 = Float64Array.from([0, 15_000, 0]);
    expect(run(funcIncrease, [20_000], [5], { evalTs: 30_000, range: 30_000, st: st1 })).toBe(5 * ((5 + 0 + 0) / 5));
  });

  it('warns once about overlapping start timestamps', () => {
    const ann = new Annotations();
    const st = Float64Array.from([0, 5_000, 2_000, 3_000, 0]);
    run(funcRate, [10_000, 20_000, 30_000], [1, 2, 3], { evalTs: 30_000, range: 30_000, st }, ann);
    expect(ann.asStrings('rate(m[30s])').warnings).toEqual([
      'PromQL warning: sample has start time that overlaps with previous sample timestamp for metric "m" (1:1)',
    ]);
  });

  it('smoothed: interpolates at both edges', () => {
    // Points at 0s..40s every 10s with values 0,10,...,40; range (5s, 25s] smoothed.
    const [t, f] = series(10_000, [0, 10, 20, 30, 40]);
    expect(run(funcIncrease, t, f, { evalTs: 25_000, range: 20_000, smoothed: true })).toBe(20);
    expect(run(funcRate, t, f, { evalTs: 25_000, range: 20_000, smoothed: true })).toBe(1);
  });

  it('anchored: uses the last point before the range as the baseline', () => {
    const [t, f] = series(10_000, [0, 10, 5, 30]);
    // range (5s, 30s] anchored: baseline 0@0s, then 10, reset to 5, 30: 30 - 0 + 10 = 40.
    expect(run(funcIncrease, t, f, { evalTs: 30_000, range: 25_000, anchored: true })).toBe(40);
    expect(run(funcDelta, t, f, { evalTs: 30_000, range: 25_000, anchored: true })).toBe(30);
    // Nothing after the range start: no output.
    expect(run(funcIncrease, [0], [1], { evalTs: 30_000, range: 25_000, anchored: true })).toBeUndefined();
  });
});

describe('irate, idelta', () => {
  it('uses the last two points', () => {
    expect(run(funcIrate, [0, 10_000, 20_000], [0, 5, 25], { evalTs: 20_000, range: 60_000 })).toBe(2);
    expect(run(funcIdelta, [0, 10_000, 20_000], [0, 5, 25], { evalTs: 20_000, range: 60_000 })).toBe(20);
  });

  it('takes the last value as the increase after a reset', () => {
    expect(run(funcIrate, [0, 10_000], [50, 20], { evalTs: 20_000, range: 60_000 })).toBe(2);
    expect(run(funcIdelta, [0, 10_000], [50, 20], { evalTs: 20_000, range: 60_000 })).toBe(-30);
  });

  it('needs two points at different times', () => {
    expect(run(funcIrate, [10_000], [1], { evalTs: 20_000, range: 60_000 })).toBeUndefined();
  });
});

describe('changes, resets', () => {
  it('counts changes with NaN equal to NaN', () => {
    expect(run(funcChanges, [0, 1, 2, 3], [NaN, NaN, 1, 1], { evalTs: 3, range: 10 })).toBe(1);
    expect(run(funcChanges, [0, 1, 2], [0, NaN, 0], { evalTs: 3, range: 10 })).toBe(2);
    expect(run(funcChanges, [0], [1], { evalTs: 3, range: 10 })).toBe(0);
  });

  it('counts decreases as resets', () => {
    expect(run(funcResets, [0, 1, 2, 3, 4], [1, 2, 0, 1, 0], { evalTs: 4, range: 10 })).toBe(2);
    expect(run(funcResets, [0], [1], { evalTs: 4, range: 10 })).toBe(0);
  });

  it('counts start-timestamp resets', () => {
    expect(isStartTimestampReset(0, 10, 15, 20)).toBe(true);
    expect(isStartTimestampReset(0, 10, 5, 20)).toBe(false); // start before the previous point
    expect(isStartTimestampReset(5, 10, 10, 20)).toBe(true); // delta series
    expect(isStartTimestampReset(0, 10, 10, 20)).toBe(false); // cumulative, unknown start
    expect(isStartTimestampReset(0, 10, 20, 20)).toBe(false); // ST == T: unknown
    const st = Float64Array.from([0, 0, 0, 15, 0]);
    expect(run(funcResets, [0, 10, 20], [1, 2, 3], { evalTs: 20, range: 100, st })).toBe(1);
  });

  it('anchored: compares with the last point before the range', () => {
    expect(run(funcChanges, [0, 10, 20], [1, 2, 2], { evalTs: 20, range: 15, anchored: true })).toBe(1);
    expect(run(funcChanges, [0, 10, 20], [1, 2, 2], { evalTs: 20, range: 15 })).toBe(0);
  });
});

describe('deriv, predict_linear', () => {
  it('fits a line', () => {
    const [t, f] = series(10_000, [1, 3, 5, 7]);
    expect(run(funcDeriv, t, f, { evalTs: 30_000, range: 60_000 })).toBe(0.2);
    // Intercept at evalTs = 30s is 7; in 60s: 7 + 12 = 19.
    expect(run(funcPredictLinear, t, f, { evalTs: 30_000, range: 60_000, args: [60] })).toBeCloseTo(19, 12);
  });

  it('returns slope 0 for constant values (prometheus#7180) and NaN for constant infinities', () => {
    // TestDeriv of functions_test.go: two points of 1 in the window.
    const start = 1493712816939;
    expect(run(funcDeriv, [start, start + 30_000], [1, 1], { evalTs: start + 30_000, range: 30 * MIN })).toBe(0);
    expect(run(funcDeriv, [0, 1000], [Infinity, Infinity], { evalTs: 1000, range: 60_000 })).toBeNaN();
    expect(run(funcPredictLinear, [0, 1000], [4, 4], { evalTs: 1000, range: 60_000, args: [100] })).toBe(4);
  });

  it('needs two float points; mixed windows get an info', () => {
    const ann = new Annotations();
    expect(run(funcDeriv, [0], [1], { evalTs: 0, range: 60_000, histCount: 1, histFirstT: 1, histLastT: 1 }, ann)).toBeUndefined();
    expect(ann.asStrings('deriv(m[1m])').infos).toEqual([
      'PromQL info: ignored histograms in a range containing both floats and histograms for metric name "m" (1:1)',
    ]);
    expect(run(funcDeriv, [0], [1], { evalTs: 0, range: 60_000 }, new Annotations())).toBeUndefined();
  });
});

describe('*_over_time', () => {
  it('sums with Kahan compensation', () => {
    // Naive summation gives 0; Prometheus's kahansum gives 2.
    expect(run(funcSumOverTime, [0, 1, 2, 3], [1, 1e100, 1, -1e100], { evalTs: 3, range: 10 })).toBe(2);
    expect(run(funcSumOverTime, [0, 1], [Infinity, 1], { evalTs: 3, range: 10 })).toBe(Infinity);
    expect(run(funcSumOverTime, [0, 1], [Infinity, -Infinity], { evalTs: 3, range: 10 })).toBeNaN();
  });

  it('averages directly, switching to the incremental mean on overflow', () => {
    expect(run(funcAvgOverTime, [0, 1, 2], [1, 2, 4], { evalTs: 3, range: 10 })).toBe(7 / 3);
    expect(run(funcAvgOverTime, [0, 1, 2, 3], [1, 1e100, 1, -1e100], { evalTs: 3, range: 10 })).toBe(0.5);
    // 1.5e308 * 2 overflows: the incremental mean still gives the right answer.
    expect(run(funcAvgOverTime, [0, 1], [1.5e308, 1.5e308], { evalTs: 3, range: 10 })).toBe(1.5e308);
    expect(run(funcAvgOverTime, [0], [NaN], { evalTs: 3, range: 10 })).toBeNaN();
  });

  it('counts, presents, first and last', () => {
    expect(run(funcCountOverTime, [0, 1], [5, 6], { evalTs: 3, range: 10 })).toBe(2);
    expect(run(funcCountOverTime, [], [], { evalTs: 3, range: 10, histCount: 3 })).toBe(3);
    expect(run(funcPresentOverTime, [0], [5], { evalTs: 3, range: 10 })).toBe(1);
    expect(run(funcFirstOverTime, [0, 1], [5, 6], { evalTs: 3, range: 10 })).toBe(5);
    expect(run(funcLastOverTime, [0, 1], [5, 6], { evalTs: 3, range: 10 })).toBe(6);
  });

  it('finds min and max with NaN replaced by any number', () => {
    expect(run(funcMaxOverTime, [0, 1, 2], [NaN, 3, 1], { evalTs: 3, range: 10 })).toBe(3);
    expect(run(funcMinOverTime, [0, 1, 2], [NaN, 3, 1], { evalTs: 3, range: 10 })).toBe(1);
    expect(run(funcMaxOverTime, [0, 1], [NaN, NaN], { evalTs: 3, range: 10 })).toBeNaN();
    expect(run(funcMaxOverTime, [0, 1], [-0, 0], { evalTs: 3, range: 10 })).toBe(-0);
  });

  it('returns the timestamps of extremes, the last of equal ones', () => {
    expect(run(funcTsOfMaxOverTime, [1000, 2000, 3000], [5, 7, 7], { evalTs: 3000, range: 10_000 })).toBe(3);
    expect(run(funcTsOfMinOverTime, [1000, 2000, 3000], [5, 5, 7], { evalTs: 3000, range: 10_000 })).toBe(2);
    expect(run(funcTsOfFirstOverTime, [1000, 2000], [5, 5], { evalTs: 3000, range: 10_000, histCount: 1, histFirstT: 500, histLastT: 500 })).toBe(0.5);
    expect(run(funcTsOfLastOverTime, [1000, 2000], [5, 5], { evalTs: 3000, range: 10_000, histCount: 1, histFirstT: 2500, histLastT: 2500 })).toBe(2.5);
  });

  it('computes variance and standard deviation', () => {
    expect(run(funcStdvarOverTime, [0, 1, 2, 3], [2, 4, 4, 6], { evalTs: 3, range: 10 })).toBe(2);
    expect(run(funcStddevOverTime, [0, 1, 2, 3], [2, 4, 4, 6], { evalTs: 3, range: 10 })).toBe(Math.SQRT2);
    expect(run(funcStdvarOverTime, [0], [5], { evalTs: 3, range: 10 })).toBe(0);
  });

  it('computes quantiles with NaN sorted first', () => {
    const [t, f] = series(1, [4, 1, 3, 2]);
    expect(run(funcQuantileOverTime, t, f, { evalTs: 3, range: 10, args: [0.5] })).toBe(2.5);
    expect(run(funcQuantileOverTime, t, f, { evalTs: 3, range: 10, args: [0] })).toBe(1);
    expect(run(funcQuantileOverTime, t, f, { evalTs: 3, range: 10, args: [1] })).toBe(4);
    expect(run(funcQuantileOverTime, [0, 1, 2], [NaN, 1, 2], { evalTs: 3, range: 10, args: [0] })).toBeNaN();
    expect(run(funcQuantileOverTime, [0, 1, 2], [NaN, 1, 2], { evalTs: 3, range: 10, args: [1] })).toBe(2);
  });

  it('warns about quantiles outside [0, 1]', () => {
    const ann = new Annotations();
    expect(run(funcQuantileOverTime, [0], [1], { evalTs: 3, range: 10, args: [1.5] }, ann)).toBe(Infinity);
    expect(run(funcQuantileOverTime, [0], [1], { evalTs: 3, range: 10, args: [-1] }, ann)).toBe(-Infinity);
    expect(run(funcQuantileOverTime, [0], [1], { evalTs: 3, range: 10, args: [NaN] }, ann)).toBeNaN();
    expect(ann.asStrings('x').warnings).toEqual([
      'PromQL warning: quantile value should be between 0 and 1, got 1.5 (1:1)',
      'PromQL warning: quantile value should be between 0 and 1, got -1 (1:1)',
      'PromQL warning: quantile value should be between 0 and 1, got NaN (1:1)',
    ]);
  });

  it('computes the median absolute deviation', () => {
    const [t, f] = series(1, [1, 1, 2, 2, 4, 6, 9]);
    expect(run(funcMadOverTime, t, f, { evalTs: 6, range: 10 })).toBe(1);
    expect(run(funcMadOverTime, [0, 1], [1, NaN], { evalTs: 6, range: 10 })).toBeNaN();
  });
});

describe('double_exponential_smoothing', () => {
  it('smooths level and trend', () => {
    // A straight line stays a straight line.
    const [t, f] = series(1, [0, 10, 20, 30, 40]);
    expect(run(funcDoubleExponentialSmoothing, t, f, { evalTs: 4, range: 10, args: [0.5, 0.5] })).toBe(40);
    // By hand for 1, 3, 2 with sf = tf = 0.5: s1 = 1, b = 2;
    // i=1: x = 1.5, b stays 2 (first step), y = 0.5*(1+2) = 1.5, s = 3;
    // i=2: x = 1, b = 0.5*(3-1) + 0.5*2 = 2, y = 0.5*(3+2) = 2.5, s = 3.5.
    expect(run(funcDoubleExponentialSmoothing, [0, 1, 2], [1, 3, 2], { evalTs: 2, range: 10, args: [0.5, 0.5] })).toBe(3.5);
  });

  it('needs two points and valid factors', () => {
    expect(run(funcDoubleExponentialSmoothing, [0], [1], { evalTs: 2, range: 10, args: [0.5, 0.5] })).toBeUndefined();
    expect(() => run(funcDoubleExponentialSmoothing, [0, 1], [1, 2], { evalTs: 2, range: 10, args: [1, 0.5] })).toThrow(
      new FunctionError('invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000'),
    );
    expect(() => run(funcDoubleExponentialSmoothing, [0, 1], [1, 2], { evalTs: 2, range: 10, args: [0.5, -0.25] })).toThrow(
      'invalid trend factor. Expected: 0 < tf < 1, got: -0.250000',
    );
  });
});

describe('long windows read PointCounts', () => {
  // One series of 2,000 points with counter resets, runs of equal values and NaNs; windows
  // of 64 points and more slide over it as the evaluator's do, one call object per series.
  const n = 2000;
  const t = Float64Array.from({ length: n }, (_, i) => i * 10_000);
  let v = 0;
  const f = Float64Array.from({ length: n }, (_, i) => {
    if (i % 97 === 0) v = i % 3; // a reset
    else if (i % 5 !== 0) v += (i * 7) % 11; // every fifth point repeats the last
    return i % 41 === 0 ? NaN : v;
  });
  const callFor = (counts: boolean, st: Float64Array | null): RangeCall => ({
    rangeStart: 0,
    rangeEnd: 0,
    evalTs: 0,
    args: [],
    metricName: 'm',
    pos: POS,
    anchored: false,
    smoothed: false,
    st,
    histCount: 0,
    histFirstT: 0,
    histLastT: 0,
    counts: counts ? null : undefined,
  });

  it('gives the scans\' answers for changes, resets and rate', () => {
    const long = callFor(true, null);
    // Start timestamps of 0 say nothing, but make rate and resets scan.
    const scan = callFor(false, new Float64Array(n));
    let compared = 0;
    for (const width of [64, 65, 100, 600]) {
      for (let from = 0; from + width <= n; from += 37) {
        const to = from + width;
        for (const c of [long, scan]) {
          c.rangeStart = t[from] - 5000;
          c.rangeEnd = t[to - 1] + 5000;
          c.evalTs = c.rangeEnd;
        }
        const naiveChanges = (() => {
          let k = 0;
          for (let i = from + 1; i < to; i++) if (f[i] !== f[i - 1] && !(Number.isNaN(f[i]) && Number.isNaN(f[i - 1]))) k++;
          return k;
        })();
        expect(funcChanges(t, f, from, to, long, new Annotations())).toBe(naiveChanges);
        expect(funcResets(t, f, from, to, long, new Annotations())).toBe(funcResets(t, f, from, to, scan, new Annotations()));
        expect(funcRate(t, f, from, to, long, new Annotations())).toBe(funcRate(t, f, from, to, scan, new Annotations()));
        expect(funcIncrease(t, f, from, to, long, new Annotations())).toBe(funcIncrease(t, f, from, to, scan, new Annotations()));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(150);
    expect(long.counts).not.toBeNull();
  });
});
