// A range function over a matrix, series by series (the loop of evalRangeCall): at every
// step, the series' samples in the step's window go to the function's kernel. The
// evaluator runs it over selected series; the selection may run it over each series as
// it is read (engine.ts), so that the matrix itself is never held.

import type { Labels } from '@thanos-ts/tsdb';
import type { PositionRange } from '../ast.js';
import { checkCounterName } from '../functions/index.js';
import type { RangeCall, RangeKernel } from '../functions/types.js';
import { FloatPoints, type Series } from '../value.js';
import { TooManySamplesError } from './errors.js';
import type { QueryState } from './evaluator.js';
import { dropMetricName, labelValue } from './label-sets.js';
import { upperBound } from './select.js';

/** Where the samples a range function holds (its window, its points) are counted. */
export interface SampleCount {
  currentSamples: number;
}

/** The windows of a range function's matrix argument. */
export interface RangeWindows {
  /** Offset to subtract from the step time (includes the `@` adjustment). */
  offset: number;
  range: number;
  /** `@` timestamp: the window is computed once, at the first step. */
  fixed: boolean;
  /** `anchored`: windows reach one lookback delta further back. */
  anchored: boolean;
  /** `smoothed`: windows reach one lookback delta further back and ahead. */
  smoothed: boolean;
}

/** The steps of an evaluation: numSteps of them from start, interval apart. */
export interface EvalSteps {
  start: number;
  interval: number;
  numSteps: number;
}

export class RangeFunction {
  /** Whether the function drops the metric name (all but last_over_time and first_over_time). */
  readonly dropName: boolean;
  private readonly counterCheck: boolean;
  private readonly call: RangeCall;
  private readonly args: number[];
  private readonly stepCap: number;
  /** How far windows reach beyond (rangeStart, rangeEnd]. */
  private readonly extraBack: number;
  private readonly extraAhead: number;
  /** Window samples counted for the series in progress. */
  private held = 0;
  private readonly reused: FloatPoints | null;

  constructor(
    private readonly q: QueryState,
    /** The query's state itself while evaluating; a count of the selection's own while selecting. */
    private readonly count: SampleCount,
    name: string,
    private readonly kernel: RangeKernel,
    private readonly steps: EvalSteps,
    private readonly src: RangeWindows,
    /** The other (scalar) arguments, one value per step. */
    private readonly argVals: Float64Array[],
    private readonly readST: boolean,
    firstArgPos: PositionRange,
    /** Make every series' points in one buffer, valid until the next series (for a consumer that copies what it keeps). */
    reuse = false,
  ) {
    this.reused = reuse ? new FloatPoints(0) : null;
    const lookback = q.cfg.lookbackDelta;
    this.extraBack = src.anchored || src.smoothed ? lookback : 0;
    this.extraAhead = src.smoothed ? lookback : 0;
    this.args = new Array<number>(argVals.length).fill(0);
    this.call = {
      rangeStart: 0,
      rangeEnd: 0,
      evalTs: 0,
      args: this.args,
      metricName: '',
      pos: firstArgPos,
      anchored: src.anchored,
      smoothed: src.smoothed,
      st: null,
      histCount: 0,
      histFirstT: 0,
      histLastT: 0,
      counts: null,
    };
    this.dropName = name !== 'last_over_time' && name !== 'first_over_time';
    this.counterCheck = name === 'rate' || name === 'increase';
    this.stepCap = Math.min(steps.numSteps, 4096);
  }

  /**
   * The function's points for one series' samples t/f[0, n) (st: their start timestamps),
   * or null when no step has a value. The arrays are read during the call only.
   */
  series(metric: Labels, seriesDropName: boolean, st: Float64Array | null, t: Float64Array, f: Float64Array, n: number): Series | null {
    const q = this.q;
    const count = this.count;
    const maxSamples = q.cfg.maxSamples;
    const { src, call, args, argVals } = this;
    count.currentSamples -= this.held;
    this.held = 0;
    const dropName = this.dropName || seriesDropName;
    const out = !q.cfg.enableDelayedNameRemoval && dropName ? dropMetricName(metric) : metric;
    call.metricName = labelValue(metric, '__name__');
    call.st = this.readST ? st : null;
    call.counts = null;
    let ss: Series | null = null;
    let lo = -1;
    let hi = -1;
    const numSteps = this.steps.numSteps;
    for (let step = 0; step < numSteps; step++) {
      // Steps are counted, never accumulated (Evaluator.stepTs).
      const ts = this.steps.start + step * this.steps.interval;
      for (let j = 0; j < argVals.length; j++) args[j] = argVals[j][step];
      // With `@`, the window is the same at every step: computed once.
      if (step === 0 || !src.fixed) {
        const maxt = ts - src.offset;
        const mint = maxt - src.range;
        const from = mint - this.extraBack;
        const to = maxt + this.extraAhead;
        if (lo < 0) {
          lo = upperBound(t, 0, n, from);
          hi = upperBound(t, lo, n, to);
        } else {
          while (lo < n && t[lo] <= from) lo++;
          if (hi < lo) hi = lo;
          while (hi < n && t[hi] <= to) hi++;
        }
        call.rangeStart = mint;
        call.rangeEnd = maxt;
        count.currentSamples += hi - lo - this.held;
        this.held = hi - lo;
        if (count.currentSamples > maxSamples) throw new TooManySamplesError();
      }
      if (hi <= lo) {
        q.checkDoneSometimes();
        continue;
      }
      // A kernel's work grows with its window.
      q.checkDoneSometimes(1 + hi - lo);
      call.evalTs = ts;
      const v = this.kernel(t, f, lo, hi, call, q.annos);
      if (v === undefined) continue;
      if (ss === null) {
        ss = this.newSeries(out);
        ss.dropName = dropName;
      }
      ss.floats.push(ts, v);
      // Prometheus checks once the series is complete, with its last window held;
      // failing as soon as the part built so far cannot fit even without a window gives
      // the same answer sooner.
      if ((ss.floats.length & 1023) === 0 && count.currentSamples + ss.floats.length - this.held > maxSamples) throw new TooManySamplesError();
    }
    if (ss !== null) {
      if (count.currentSamples + ss.floats.length > maxSamples) throw new TooManySamplesError();
      // Points in the reused buffer are gone with the next series: not held.
      if (this.reused === null) count.currentSamples += ss.floats.length;
    }
    if (this.counterCheck) checkCounterName(call.metricName, ss !== null, call.pos, q.annos);
    return ss;
  }

  private newSeries(metric: Labels): Series {
    const r = this.reused;
    if (r === null) return this.q.newSeries(metric, this.stepCap, this.steps.numSteps);
    r.reset();
    return { metric, floats: r, histograms: null, dropName: false };
  }

  /** Releases the last series' window: called once every series is done. */
  done(): void {
    this.count.currentSamples -= this.held;
    this.held = 0;
  }
}
