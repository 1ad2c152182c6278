// Checks the kernels against Prometheus's own expectations: every eval (instant or range)
// of the conformance corpus whose expression is a function call over plain selectors (e.g.
// `rate(x[5m])`, `histogram_quantile(0.9, x_bucket)`, `label_replace(x, …)`) is evaluated by
// a tiny evaluator below that does only what the kernels need (selection, lookback,
// delayed name removal), and compared with the expected samples, failures and annotations.
// Expressions beyond that (aggregations, binary operators, offsets, subqueries, native
// histograms) are the evaluator's business and skipped here.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { METRIC_NAME, compareLabels, isStaleNaN, labelsKey, labelsToString } from '@thanos-ts/tsdb';
import type { Labels } from '@thanos-ts/tsdb';
import type { Expr } from '../ast.js';
import { parseDurationMs } from '../go-strconv.js';
import { parseExpr } from '../parser.js';
import { parseSeriesDesc } from '../series-desc.js';
import type { Sample, Vector } from '../value.js';
import { Annotations, FUNCTION_KERNELS, FunctionError, checkCounterName, setLabel, type RangeCall } from './index.js';

const CORPUS = process.env.PROMQL_CONFORMANCE_DIR ?? fileURLToPath(new URL('../../../../../shared/conformance/promql', import.meta.url));
const FILES = [
  'tier1/functions.test',
  'tier1/aggregators.test',
  'tier1/operators.test',
  'tier1/at_modifier.test',
  'tier1/staleness.test',
  'tier1/collision.test',
  'tier1/literals.test',
  'tier1/subquery.test',
  'tier2/histograms.test',
  'tier2/extended_vectors.test',
  'tier2/start_timestamps.test',
];
const LOOKBACK = 5 * 60 * 1000;
const MIN_CHECKED: Record<string, number> = {
  'tier1/functions.test': 230,
  'tier2/histograms.test': 70,
  'tier2/extended_vectors.test': 95,
  'tier2/start_timestamps.test': 12,
};

class Unsupported extends Error {}

interface StoredSeries {
  labels: Labels;
  t: number[];
  f: number[];
  hist: boolean[];
  /** Stale markers kept apart: plain JS arrays may not preserve the NaN payload. */
  stale: boolean[];
  /** Start timestamps (0 = none). */
  st: number[];
}

type Result = { kind: 'vector'; vec: Vector } | { kind: 'scalar'; v: number } | { kind: 'string'; s: string };

const HIST_MARK = {} as never; // stands in for a native histogram sample

class MiniEval {
  series = new Map<string, StoredSeries>();
  /** Label sets of the native histograms load_with_nhcb would build (not built here). */
  nhcb: Labels[] = [];

  loadNHCB(line: string): void {
    const { labels } = parseSeriesDesc(line);
    const name = labels.find((l) => l.name === METRIC_NAME)?.value ?? '';
    const m = /^(.*)_(bucket|count|sum)$/.exec(name);
    if (m !== null) this.nhcb.push(setLabel(setLabel(labels, 'le', ''), METRIC_NAME, m[1]));
  }

  /** `offsets`: the start-timestamp offsets of an `@st` line before this one, per position. */
  load(step: number, line: string, offsets: Array<number | null> | null = null): void {
    const desc = parseSeriesDesc(line);
    const key = labelsKey(desc.labels);
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels: desc.labels, t: [], f: [], hist: [], stale: [], st: [] };
      this.series.set(key, s);
    }
    desc.values.forEach((v, i) => {
      if (v.omitted) return;
      const ts = i * step;
      const at = s.t.indexOf(ts);
      if (at >= 0) {
        s.t.splice(at, 1);
        s.f.splice(at, 1);
        s.hist.splice(at, 1);
        s.stale.splice(at, 1);
        s.st.splice(at, 1);
      }
      let k = s.t.length;
      while (k > 0 && s.t[k - 1] > ts) k--;
      s.t.splice(k, 0, ts);
      s.f.splice(k, 0, v.value);
      s.hist.splice(k, 0, v.histogram !== null);
      s.stale.splice(k, 0, v.histogram === null && isStaleNaN(v.value));
      const off = offsets?.[i] ?? null;
      s.st.splice(k, 0, off === null ? 0 : ts + off);
    });
  }

  /** The series a selector picks; `extended`: anchored/smoothed allowed (range functions). */
  private select(e: Expr, extended = false): StoredSeries[] {
    if (e.type !== 'VectorSelector') throw new Unsupported();
    if (((e.anchored || e.smoothed) && !extended) || e.originalOffset !== 0 || e.originalOffsetExpr !== null || e.timestamp !== null || e.startOrEnd !== null) throw new Unsupported();
    const out: StoredSeries[] = [];
    const matches = (ls: Labels): boolean => e.matchers.every((m) => m.matches(ls.find((l) => l.name === m.name)?.value ?? ''));
    if (this.nhcb.some(matches)) throw new Unsupported(); // would select native histograms
    for (const s of this.series.values()) {
      if (e.matchers.every((m) => m.matches(s.labels.find((l) => l.name === m.name)?.value ?? ''))) out.push(s);
    }
    return out;
  }

  eval(e: Expr, ts: number, query: string, ann: Annotations): Result {
    switch (e.type) {
      case 'NumberLiteral':
        return { kind: 'scalar', v: e.val };
      case 'StringLiteral':
        return { kind: 'string', s: e.val };
      case 'ParenExpr':
        return this.eval(e.expr, ts, query, ann);
      case 'VectorSelector': {
        const vec: Vector = [];
        for (const s of this.select(e)) {
          let i = s.t.length - 1;
          while (i >= 0 && s.t[i] > ts) i--;
          if (i < 0 || s.t[i] <= ts - LOOKBACK || s.stale[i]) continue;
          vec.push({ metric: s.labels, t: ts, f: s.f[i], h: s.hist[i] ? HIST_MARK : null, dropName: false });
        }
        return { kind: 'vector', vec };
      }
      case 'Call':
        return this.call(e, ts, query, ann);
      default:
        throw new Unsupported();
    }
  }

  private call(e: Extract<Expr, { type: 'Call' }>, ts: number, query: string, ann: Annotations): Result {
    const name = e.func.name;
    const entry = FUNCTION_KERNELS.get(name);
    // absent_over_time's output is built by the evaluator from the kernel's per-series 1s.
    if (entry === undefined || name === 'absent_over_time') throw new Unsupported();
    const argPos = e.args.map((a) => ({ start: a.start, end: a.end }));
    switch (entry.kind) {
      case 'scalar':
        return { kind: 'scalar', v: entry.kernel(ts) };
      case 'range': {
        const ms = e.args.find((a) => a.type === 'MatrixSelector');
        if (ms === undefined || ms.type !== 'MatrixSelector' || ms.rangeExpr !== null) throw new Unsupported();
        const vs = ms.vectorSelector;
        // Which functions accept the modifiers is checked by the evaluator.
        if ((vs.anchored && !['resets', 'changes', 'rate', 'increase', 'delta'].includes(name)) || (vs.smoothed && !['rate', 'increase', 'delta'].includes(name))) {
          throw new Unsupported();
        }
        const args: number[] = [];
        for (const a of e.args) {
          if (a === ms) continue;
          const r = this.eval(a, ts, query, ann);
          if (r.kind !== 'scalar') throw new Unsupported();
          args.push(r.v);
        }
        const rangeStart = ts - ms.range;
        // anchored/smoothed windows reach one lookback delta further (engine.go rangeEval).
        const mint = vs.anchored || vs.smoothed ? rangeStart - LOOKBACK : rangeStart;
        const maxt = vs.smoothed ? ts + LOOKBACK : ts;
        const vec: Vector = [];
        for (const s of this.select(vs, true)) {
          const t: number[] = [];
          const f: number[] = [];
          const st: number[] = [];
          let histCount = 0;
          let histFirstT = 0;
          let histLastT = 0;
          for (let i = 0; i < s.t.length; i++) {
            if (s.t[i] <= mint || s.t[i] > maxt) continue;
            if (s.hist[i]) {
              if (histCount === 0) histFirstT = s.t[i];
              histLastT = s.t[i];
              histCount++;
            } else if (!s.stale[i]) {
              t.push(s.t[i]);
              f.push(s.f[i]);
              st.push(s.st[i]);
            }
          }
          if (t.length + histCount === 0) continue;
          if (histCount > 0 && entry.histogramAware) throw new Unsupported();
          const metricName = s.labels.find((l) => l.name === METRIC_NAME)?.value ?? '';
          // Padding around the window checks that kernels honour from/to.
          const T = Float64Array.from([-1, ...t, 1e15]);
          const F = Float64Array.from([12345, ...f, 54321]);
          const call: RangeCall = {
            rangeStart,
            rangeEnd: ts,
            evalTs: ts,
            args,
            metricName,
            pos: argPos[0],
            anchored: vs.anchored,
            smoothed: vs.smoothed,
            // The engine tracks start timestamps for these functions only.
            st: ['rate', 'increase', 'irate', 'resets'].includes(name) ? Float64Array.from([0, ...st, 0]) : null,
            histCount,
            histFirstT,
            histLastT,
          };
          const v = entry.kernel(T, F, 1, 1 + t.length, call, ann);
          if (name === 'rate' || name === 'increase') checkCounterName(metricName, v !== undefined, argPos[0], ann);
          if (v === undefined) continue;
          vec.push({ metric: s.labels, t: ts, f: v, h: null, dropName: name !== 'last_over_time' && name !== 'first_over_time' });
        }
        return { kind: 'vector', vec };
      }
      case 'instant': {
        const args: number[] = [];
        let input: Vector;
        if (e.args.length === 0) {
          input = [{ metric: [], t: ts, f: ts / 1000, h: null, dropName: false }];
        } else {
          const r = this.eval(e.args[0], ts, query, ann);
          if (r.kind !== 'vector') throw new Unsupported();
          input = r.vec;
          for (const a of e.args.slice(1)) {
            const s = this.eval(a, ts, query, ann);
            if (s.kind !== 'scalar') throw new Unsupported();
            args.push(s.v);
          }
        }
        const vec: Vector = [];
        for (const s of input) {
          if (s.h !== null) continue;
          const v = entry.kernel(s.f, args);
          if (v !== undefined) vec.push({ ...s, f: v, dropName: true });
        }
        return { kind: 'vector', vec };
      }
      case 'vector': {
        const scalars: number[] = [];
        const strings: string[] = [];
        let input: Vector | null = null;
        for (const a of e.args) {
          const r = this.eval(a, ts, query, ann);
          if (r.kind === 'scalar') scalars.push(r.v);
          else if (r.kind === 'string') strings.push(r.s);
          else input = r.vec;
        }
        if (input === null || input.some((x) => x.h !== null)) throw new Unsupported();
        return { kind: 'vector', vec: entry.kernel(input, { evalTs: ts, scalars, strings, argPos }, ann) };
      }
    }
  }
}

/** FORMAT.md 8.1. */
function floatsEqual(a: number, b: number): boolean {
  if (isStaleNaN(a) || isStaleNaN(b)) return isStaleNaN(a) && isStaleNaN(b);
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const minNormal = 2.2250738585072014e-308;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < minNormal) return diff < 1e-6 * minNormal;
  return diff / Math.min(absSum, Number.MAX_VALUE) < 1e-6;
}

/** A scalar result line: decimal, hexadecimal, Inf or NaN. */
function parseScalar(s: string): number {
  if (/^[+-]?inf$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(s)) return NaN;
  if (/^[+-]?0x/i.test(s)) return (s.startsWith('-') ? -1 : 1) * parseInt(s.replace(/^[+-]?0x/i, ''), 16);
  return Number(s);
}

interface Eval {
  file: string;
  line: number;
  /** Instant evals: start = end. */
  start: number;
  end: number;
  step: number;
  range: boolean;
  expr: string;
  body: string[];
}

const DURATION = String.raw`(?:0|(?:\d+(?:ms|s|m|h|d|w|y))+)`;
const OFFSET_ITEM = new RegExp(String.raw`^([+-]?${DURATION})(?:([+-])(${DURATION}))?(?:x(\d+))?$`);

function signedDuration(s: string): number {
  const neg = s.startsWith('-');
  const abs = parseDurationMs(s.replace(/^[+-]/, ''));
  return neg ? -abs : abs;
}

/** The offset sequence of an `@st` line (FORMAT.md 3.1); null = no start timestamp. */
function parseOffsets(seq: string): Array<number | null> {
  const out: Array<number | null> = [];
  for (const item of seq.trim().split(/\s+/)) {
    if (item === '_') {
      out.push(null);
      continue;
    }
    const blank = /^_x(\d+)$/.exec(item);
    if (blank !== null) {
      for (let k = 0; k < Number(blank[1]); k++) out.push(null);
      continue;
    }
    const m = OFFSET_ITEM.exec(item);
    if (m === null) throw new Error(`bad @st item ${item}`);
    let v = signedDuration(m[1]);
    const inc = m[3] === undefined ? 0 : (m[2] === '-' ? -1 : 1) * parseDurationMs(m[3]);
    const times = m[4] === undefined ? 0 : Number(m[4]);
    out.push(v);
    for (let k = 0; k < times; k++) out.push((v += inc));
  }
  return out;
}

/** Runs the file's load/clear commands and collects its evals with their data. */
function* walk(file: string): Generator<{ ev: Eval; mini: MiniEval }> {
  const lines = readFileSync(`${CORPUS}/${file}`, 'utf8').split('\n');
  let mini = new MiniEval();
  let i = 0;
  while (i < lines.length) {
    const l = lines[i].trim();
    i++;
    if (l === '' || l.startsWith('#')) continue;
    if (l === 'clear') {
      mini = new MiniEval();
      continue;
    }
    const body: string[] = [];
    while (i < lines.length) {
      const b = lines[i].trim();
      if (b === '' || b.startsWith('#')) break;
      body.push(b);
      i++;
    }
    const load = /^load(?:_with_nhcb)?\s+(\S+)$/.exec(l);
    if (load !== null) {
      const step = parseDurationMs(load[1]);
      let offsets: Array<number | null> | null = null;
      for (const b of body) {
        const st = /^(\S+?)@st\s+(.*)$/.exec(b);
        if (st !== null) {
          offsets = parseOffsets(st[2]);
          continue;
        }
        mini.load(step, b, offsets);
        offsets = null;
      }
      if (l.startsWith('load_with_nhcb')) for (const b of body) mini.loadNHCB(b);
      continue;
    }
    const ev = /^eval(?:_(fail))?\s+instant\s+at\s+(\S+)\s+(.+)$/.exec(l);
    if (ev !== null) {
      if (ev[1] === 'fail') body.unshift('expect fail');
      const at = parseDurationMs(ev[2]);
      yield { ev: { file, line: i, start: at, end: at, step: 1, range: false, expr: ev[3], body }, mini };
      continue;
    }
    const rv = /^eval(?:_(fail))?\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+)$/.exec(l);
    if (rv !== null) {
      if (rv[1] === 'fail') body.unshift('expect fail');
      const [start, end, step] = [rv[2], rv[3], rv[4]].map(parseDurationMs);
      yield { ev: { file, line: i, start, end, step, range: true, expr: rv[5], body }, mini };
    }
  }
}

/** One evaluation with delayed name removal and the duplicate-labelset check applied. */
function evalAt(mini: MiniEval, expr: Expr, query: string, ts: number, ann: Annotations): Result {
  const result = mini.eval(expr, ts, query, ann);
  if (result.kind === 'vector') {
    const seen = new Set<string>();
    result.vec = result.vec.map((s) => (s.dropName ? { ...s, metric: setLabel(s.metric, METRIC_NAME, '') } : s));
    for (const s of result.vec) {
      const k = labelsKey(s.metric);
      if (seen.has(k)) throw new FunctionError('vector cannot contain metrics with the same labelset');
      seen.add(k);
    }
  }
  return result;
}

function checkAnnotations(ev: Eval, ann: Annotations): string | null {
  const { warnings, infos } = ann.asStrings(ev.expr);
  for (const kind of ['warn', 'info'] as const) {
    const got = kind === 'warn' ? warnings : infos;
    const lines = ev.body.filter((b) => b === `expect ${kind}` || b.startsWith(`expect ${kind} `));
    if (ev.body.includes(`expect no_${kind}`) && got.length > 0) return `unexpected ${kind}: ${got.join('; ')}`;
    if (lines.length === 0) continue;
    const matchers = lines.map((b) => {
      const m = /^expect \w+\s+(msg|regex):\s*(.*)$/.exec(b);
      if (m === null) return (_: string) => true;
      return m[1] === 'msg' ? (s: string) => s === m[2].trim() : (s: string) => new RegExp(m[2].trim()).test(s);
    });
    for (const g of got) if (!matchers.some((mt) => mt(g))) return `${kind} ${JSON.stringify(g)} not expected`;
    for (let k = 0; k < matchers.length; k++) if (!got.some((g) => matchers[k](g))) return `missing ${lines[k]} (got ${got.join('; ')})`;
  }
  return null;
}

/** Checks one eval; returns null when it passes, 'skip' when unsupported, else the reason. */
function check(ev: Eval, mini: MiniEval): string | null | 'skip' {
  const ann = new Annotations();
  const results: Array<{ ts: number; result: Result }> = [];
  let error: string | null = null;
  const expectFail = ev.body.find((b) => b.startsWith('expect fail'));
  try {
    const expr = parseExpr(ev.expr);
    for (let ts = ev.start; ts <= ev.end; ts += ev.step) results.push({ ts, result: evalAt(mini, expr, ev.expr, ts, ann) });
  } catch (e) {
    if (e instanceof Unsupported) return 'skip';
    if (!(e instanceof FunctionError)) throw e;
    error = e.message;
  }
  if (expectFail !== undefined) {
    if (error === null) return 'expected failure';
    const m = /^expect fail\s+msg:\s*(.*)$/.exec(expectFail);
    if (m !== null && m[1].trim() !== error) return `error ${JSON.stringify(error)} != ${JSON.stringify(m[1].trim())}`;
    return null;
  }
  if (error !== null) return `unexpected error ${error}`;
  const annErr = checkAnnotations(ev, ann);
  if (annErr !== null) return annErr;

  const expected = ev.body.filter((b) => !b.startsWith('expect'));
  if (ev.range) return checkMatrix(ev, results, expected);
  const result = results[0].result;
  if (result.kind === 'scalar') {
    if (expected.length !== 1 || !floatsEqual(result.v, parseScalar(expected[0]))) return `scalar ${result.v} != ${expected.join()}`;
    return null;
  }
  if (result.kind !== 'vector') return 'skip';
  const vec = result.vec;
  if (vec.length !== expected.length) {
    return `got ${vec.length} samples, want ${expected.length}: ${vec.map((s) => labelsToString(s.metric) + ' ' + s.f).join(', ')}`;
  }
  const ordered = ev.body.includes('expect ordered');
  for (let k = 0; k < expected.length; k++) {
    const desc = parseSeriesDesc(expected[k]);
    const want = desc.values[0];
    const got = ordered ? vec[k] : vec.find((s) => compareLabels(s.metric, desc.labels) === 0);
    if (got === undefined || compareLabels(got.metric, desc.labels) !== 0) return `missing ${expected[k]}`;
    if (want.histogram !== null) return 'skip';
    if (!floatsEqual(got.f, want.value)) return `${labelsToString(desc.labels)}: got ${got.f}, want ${want.value}`;
  }
  return null;
}

/** A range eval: per series, the points at each step against the expected sequence. */
function checkMatrix(ev: Eval, results: Array<{ ts: number; result: Result }>, expected: string[]): string | null | 'skip' {
  const series = new Map<string, { metric: Labels; points: Map<number, number> }>();
  for (const { ts, result } of results) {
    const vec: Vector =
      result.kind === 'scalar' ? [{ metric: [], t: ts, f: result.v, h: null, dropName: false }] : result.kind === 'vector' ? result.vec : [];
    if (result.kind === 'string') return 'skip';
    for (const s of vec) {
      const k = labelsKey(s.metric);
      let e = series.get(k);
      if (e === undefined) series.set(k, (e = { metric: s.metric, points: new Map() }));
      e.points.set(ts, s.f);
    }
  }
  if (series.size !== expected.length) return `got ${series.size} series, want ${expected.length}: ${[...series.values()].map((e) => labelsToString(e.metric)).join(', ')}`;
  for (const line of expected) {
    const desc = parseSeriesDesc(line);
    const got = series.get(labelsKey(desc.labels));
    if (got === undefined) return `missing ${line}`;
    let count = 0;
    for (let k = 0; k < desc.values.length; k++) {
      const want = desc.values[k];
      const ts = ev.start + k * ev.step;
      if (want.omitted) {
        if (got.points.has(ts)) return `${labelsToString(desc.labels)} has a point at ${ts}`;
        continue;
      }
      if (want.histogram !== null) return 'skip';
      count++;
      const v = got.points.get(ts);
      if (v === undefined) return `${labelsToString(desc.labels)} has no point at ${ts}`;
      if (!floatsEqual(v, want.value)) return `${labelsToString(desc.labels)} at ${ts}: got ${v}, want ${want.value}`;
    }
    if (count !== got.points.size) return `${labelsToString(desc.labels)}: ${got.points.size} points, want ${count}`;
  }
  return null;
}

describe('kernels against the conformance corpus', () => {
  it('finds the corpus', () => {
    expect(existsSync(CORPUS), `conformance corpus missing at ${CORPUS}`).toBe(true);
  });

  for (const file of FILES) {
    it(`passes the function evals of ${file}`, () => {
      const failures: string[] = [];
      let passed = 0;
      let skipped = 0;
      for (const { ev, mini } of walk(file)) {
        const r = check(ev, mini);
        if (r === 'skip') {
          skipped++;
          continue;
        }
        if (r === null) passed++;
        else failures.push(`${ev.file}:${ev.line} ${ev.expr}: ${r}`);
      }
      if (process.env.KERNELS_VERBOSE) console.log(file, passed, skipped);
      expect(failures).toEqual([]);
      // Guards against the mini evaluator silently skipping what it used to check.
      expect(passed).toBeGreaterThanOrEqual(MIN_CHECKED[file] ?? 0);
    });
  }
});
