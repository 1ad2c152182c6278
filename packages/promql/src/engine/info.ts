// info(v, {label selector}) (promql/info.go): enriches each series of v with the data
// labels of the info series (target_info by default) that share its identifying labels
// (instance, job).
//
// Prometheus selects the info series while evaluating, with regex matchers built from the
// identifying label values found in v. Our evaluation is synchronous, so the preparation
// pass selects the candidates ahead (name and data-label matchers only, over the same time
// range), and evaluation keeps those whose identifying labels take one of v's values,
// which is what the regex matchers select.

import { type Labels, MatchType, type Matcher, isStaleNaN, newMatcher } from '@thanos-ts/tsdb';
import type { Call, Expr, VectorSelector } from '../ast.js';
import type { Matrix, Series } from '../value.js';
import { EvalError } from './errors.js';
import { labelValue, labelsString, setLabel } from './label-sets.js';
import { keyOf } from './node-helper.js';
import { infoTimestampAndOffset } from './preprocess.js';
import { type SelectedSeries, upperBound } from './select.js';

const METRIC_NAME = '__name__';
const TARGET_INFO = 'target_info';
/** The labels that identify the target an info series describes (hard-coded upstream too). */
const IDENTIFYING_LABELS = ['instance', 'job'];

/** The __name__ matchers that select info series (effectiveInfoNameMatchers). */
function effectiveNameMatchers(matchers: Matcher[]): Matcher[] {
  if (matchers.some((m) => m.type === MatchType.EQ || m.type === MatchType.RE)) return matchers;
  if (matchers.length > 0) return [newMatcher(MatchType.RE, METRIC_NAME, '.+_info'), ...matchers];
  return [newMatcher(MatchType.EQ, METRIC_NAME, TARGET_INFO)];
}

function labelSelectorMatchers(call: Call): Matcher[] | null {
  if (call.args.length < 2) return null;
  const sel = call.args[1];
  if (sel.type !== 'VectorSelector') throw new EvalError('info(): expected label selectors as second argument');
  return sel.matchers;
}

function infoNameMatchers(call: Call): Matcher[] {
  const ms = labelSelectorMatchers(call);
  if (ms === null) return [newMatcher(MatchType.EQ, METRIC_NAME, TARGET_INFO)];
  return ms.filter((m) => m.name === METRIC_NAME);
}

/**
 * A selector for the candidate info series of an info() call, for the preparation pass:
 * the data-label matchers, the effective name matchers, and the `@`/offset of the first
 * argument (which govern the time the info series are read at).
 */
export function infoCandidateSelector(call: Call): VectorSelector {
  const data = (labelSelectorMatchers(call) ?? []).filter((m) => m.name !== METRIC_NAME);
  const { timestamp, offset } = infoTimestampAndOffset(call.args[0]);
  return {
    type: 'VectorSelector',
    valueType: 'vector',
    name: '',
    matchers: [...data, ...effectiveNameMatchers(infoNameMatchers(call))],
    originalOffset: offset,
    originalOffsetExpr: null,
    offset,
    timestamp,
    startOrEnd: null,
    anchored: false,
    smoothed: false,
    bypassEmptyMatcherCheck: true,
    skipHistogramBuckets: false,
    start: call.start,
    end: call.end,
  };
}

/** What info() needs from the evaluator. */
export interface InfoContext {
  readonly startTs: number;
  readonly endTs: number;
  readonly interval: number;
  readonly numSteps: number;
  readonly lookbackDelta: number;
  evalMatrix(e: Expr): Matrix;
  /** The prepared candidates of infoCandidateSelector(call). */
  candidates(call: Call): SelectedSeries[];
  newSeries(metric: Labels, cap: number, max?: number): Series;
  checkDone(): void;
  /** Counts work (default one unit): checks for timeout and cancellation now and then. */
  tick(work?: number): void;
  addSamples(n: number): void;
}

/** Evaluates info(v, selector) (evalInfo). */
export function evalInfo(ctx: InfoContext, call: Call): Matrix {
  const { timestamp, offset } = infoTimestampAndOffset(call.args[0]);
  const mat = ctx.evalMatrix(call.args[0]);

  // Data labels by name; __name__ matchers pick the info metrics.
  const dataLabelMatchers = new Map<string, Matcher[]>();
  for (const m of labelSelectorMatchers(call) ?? []) {
    const l = dataLabelMatchers.get(m.name);
    if (l === undefined) dataLabelMatchers.set(m.name, [m]);
    else l.push(m);
  }
  // Info series themselves are not enriched.
  const nameMatchers = effectiveNameMatchers(infoNameMatchers(call));
  const ignore = new Set<string>();
  for (const s of mat) {
    ctx.tick();
    const name = labelValue(s.metric, METRIC_NAME);
    if (nameMatchers.every((m) => m.matches(name))) ignore.add(keyOf(s.metric));
  }

  // The identifying label values of the series to enrich.
  const idValues = new Map<string, Set<string>>();
  for (const s of mat) {
    ctx.tick();
    if (ignore.has(keyOf(s.metric))) continue;
    for (const l of IDENTIFYING_LABELS) {
      const v = labelValue(s.metric, l);
      if (v === '') continue;
      let set = idValues.get(l);
      if (set === undefined) {
        set = new Set();
        idValues.set(l, set);
      }
      set.add(v);
    }
  }
  dataLabelMatchers.delete(METRIC_NAME);

  let infoMat: Matrix = [];
  if (idValues.size > 0) {
    const series = ctx.candidates(call).filter((s) => {
      ctx.tick();
      for (const [l, vals] of idValues) if (!vals.has(labelValue(s.metric, l))) return false;
      return true;
    });
    infoMat = infoSeriesValues(ctx, series, offset, timestamp);
  }
  return combineWithInfoSeries(ctx, mat, infoMat, ignore, dataLabelMatchers);
}

/**
 * The info series at every step, the value being the timestamp of the sample found
 * (evalSeries with recordOrigT): the newer of two conflicting info series wins.
 */
function infoSeriesValues(ctx: InfoContext, series: SelectedSeries[], offset: number, at: number | null): Matrix {
  const out: Matrix = [];
  for (const s of series) {
    const t = s.points.t;
    const f = s.points.f;
    const n = s.points.length;
    let ss: Series | null = null;
    for (let step = 0; step < ctx.numSteps; step++) {
      ctx.tick();
      const ts = ctx.startTs + step * ctx.interval;
      const ref = (at ?? ts) - offset;
      const k = upperBound(t, 0, n, ref) - 1;
      if (k < 0 || t[k] <= ref - ctx.lookbackDelta || isStaleNaN(f[k])) continue;
      if (ss === null) ss = ctx.newSeries(s.metric, Math.min(ctx.numSteps, 64), ctx.numSteps);
      ss.floats.push(ts, t[k]);
      ctx.addSamples(1);
    }
    if (ss !== null) out.push(ss);
  }
  return out;
}

/** The signature of a series for one info metric: the name and the identifying labels. */
function signature(name: string, ls: Labels): string {
  let s = METRIC_NAME + '\u0000' + name;
  for (const l of IDENTIFYING_LABELS) {
    const v = labelValue(ls, l);
    if (v !== '') s += '\u0000' + l + '\u0000' + v;
  }
  return s;
}

function combineWithInfoSeries(ctx: InfoContext, mat: Matrix, infoMat: Matrix, ignore: Set<string>, dataLabelMatchers: Map<string, Matcher[]>): Matrix {
  const infoNames = [...new Set(infoMat.map((s) => labelValue(s.metric, METRIC_NAME)))];
  const baseSigs = mat.map((s) => infoNames.map((n) => signature(n, s.metric)));
  const infoSigs = infoMat.map((s) => signature(labelValue(s.metric, METRIC_NAME), s.metric));
  const allMatchersMatchEmpty = [...dataLabelMatchers.values()].every((ms) => ms.every((m) => m.matches('')));

  const baseCur = new Int32Array(mat.length);
  const infoCur = new Int32Array(infoMat.length);
  // lastStep: two points of one output series at one step are an error.
  const out = new Map<string, { s: Series; lastStep: number }>();
  const right = new Map<string, { metric: Labels; origT: number }>();

  for (let step = 0; step < ctx.numSteps; step++) {
    const ts = ctx.startTs + step * ctx.interval;
    ctx.checkDone();
    right.clear();
    for (let i = 0; i < infoMat.length; i++) {
      ctx.tick();
      const fp = infoMat[i].floats;
      if (infoCur[i] >= fp.length || fp.t[infoCur[i]] !== ts) continue;
      const origT = fp.f[infoCur[i]++];
      const sig = infoSigs[i];
      const existing = right.get(sig);
      if (existing === undefined || existing.origT < origT) right.set(sig, { metric: infoMat[i].metric, origT });
      else if (existing.origT === origT) {
        throw new EvalError(
          `found duplicate series for info metric: existing ${labelsString(existing.metric)} @ ${existing.origT}, new ${labelsString(infoMat[i].metric)} @ ${origT}`,
        );
      }
    }
    for (let bi = 0; bi < mat.length; bi++) {
      ctx.tick();
      const bs = mat[bi];
      const fp = bs.floats;
      if (baseCur[bi] >= fp.length || fp.t[baseCur[bi]] !== ts) continue;
      const f = fp.f[baseCur[bi]++];
      let metric = bs.metric;
      if (!ignore.has(keyOf(bs.metric))) {
        // Data labels of every matching info metric (conflicting values are an error).
        let infoLabels: Labels = [];
        let seen = 0;
        for (let ni = 0; ni < infoNames.length; ni++) {
          const is = right.get(baseSigs[bi][ni]);
          if (is === undefined) continue;
          for (const l of is.metric) {
            if (l.name === METRIC_NAME) continue;
            if (dataLabelMatchers.size > 0 && !dataLabelMatchers.has(l.name)) continue;
            const v = labelValue(infoLabels, l.name);
            if (v !== '' && v !== l.value) throw new EvalError(`conflicting label: ${l.name}`);
            if (bs.metric.some((b) => b.name === l.name)) continue;
            infoLabels = setLabel(infoLabels, l.name, l.value);
          }
          seen++;
        }
        // Without a matching info series, a data-label matcher that needs a value drops the series.
        if (seen === 0 && !allMatchersMatchEmpty) continue;
        for (const l of infoLabels) metric = setLabel(metric, l.name, l.value);
      }
      const k = keyOf(metric);
      let entry = out.get(k);
      if (entry === undefined) {
        const s = ctx.newSeries(metric, Math.min(ctx.numSteps, 64), ctx.numSteps);
        s.dropName = bs.dropName;
        entry = { s, lastStep: -1 };
        out.set(k, entry);
      }
      if (entry.lastStep === step) throw new EvalError('vector cannot contain metrics with the same labelset');
      entry.lastStep = step;
      entry.s.floats.push(ts, f);
      ctx.addSamples(1);
    }
  }
  return [...out.values()].map((e) => e.s);
}

