// Runs PromQL test scripts against the engine, as strictly as Prometheus's promqltest:
// every instant eval is also run with `@ <t>` pinned on its selectors at other times and,
// unless it asks for ordered results, a range vector or a string, as a range query around
// its time (FORMAT.md section 9). Values compare with the relative tolerance 1e-6 and the
// NaN / stale-marker rules of util/almost.

import { type Labels, compareLabels, isStaleNaN } from '@thanos-ts/tsdb';
import { inspect } from '../ast.js';
import { Engine } from '../engine/engine.js';
import { AT_MODIFIER_UNSAFE_FUNCTIONS } from '../engine/preprocess.js';
import { labelsKey, labelsString } from '../engine/label-sets.js';
import { formatFloatG } from '../go-strconv.js';
import { ALL_FEATURES, parseExpr } from '../parser.js';
import { printExpr } from '../printer.js';
import type { Matrix, Value, Vector } from '../value.js';
import { MemStorage } from './mem-storage.js';
import { nhcbSeries } from './nhcb.js';
import { type EvalCmd, type ExpectLine, type LoadCmd, isFail, isOrdered, parseScript } from './script.js';

/** The maximum number of samples a test query may load (DefaultMaxSamplesPerQuery). */
export const TEST_MAX_SAMPLES = 10000;

/** The outcome of one eval command. */
export interface EvalOutcome {
  file: string;
  /** 1-based line of the eval command. */
  line: number;
  expr: string;
  ok: boolean;
  /** Why it failed ('' when ok). */
  reason: string;
}

/** The engine settings Prometheus's test engine uses (NewTestEngine). */
export function newTestEngine(): Engine {
  return Engine.forTests({
    maxSamples: TEST_MAX_SAMPLES,
    timeout: 100_000,
    lookbackDelta: 5 * 60 * 1000,
    noStepSubqueryInterval: () => 60_000,
  });
}

const RE_QUERY_CONTEXT_FUNCS = /(start|end|range|step)\(\)/;

class Failure extends Error {}

/** Runs one script; file names the script in the outcomes. */
export async function runScript(file: string, input: string, engine: Engine = newTestEngine()): Promise<EvalOutcome[]> {
  const { commands, errors } = parseScript(input);
  const out: EvalOutcome[] = [];
  for (const e of errors) {
    if (e.evalLine > 0) out.push({ file, line: e.evalLine, expr: e.evalExpr, ok: false, reason: `${e.line + 1}: ${e.message}` });
    else out.push({ file, line: e.line + 1, expr: '', ok: false, reason: `script error: ${e.message}` });
  }
  const storage = new MemStorage();
  for (const cmd of commands) {
    switch (cmd.kind) {
      case 'clear':
        storage.clear();
        break;
      case 'load':
        try {
          load(storage, cmd);
        } catch (err) {
          out.push({ file, line: cmd.line, expr: '', ok: false, reason: `load: ${errText(err)}` });
        }
        break;
      case 'eval': {
        try {
          if (cmd.isRange) await execRangeEval(engine, storage, cmd);
          else await execInstantEval(engine, storage, cmd);
          out.push({ file, line: cmd.line, expr: cmd.expr, ok: true, reason: '' });
        } catch (err) {
          const reason = err instanceof Error ? err.message : String(err);
          out.push({ file, line: cmd.line, expr: cmd.expr, ok: false, reason });
        }
        break;
      }
    }
  }
  return out.sort((a, b) => a.line - b.line);
}

function load(storage: MemStorage, cmd: LoadCmd): void {
  for (const { labels, samples } of cmd.series.values()) {
    for (const s of samples) {
      if (s.h !== null) storage.appendHistogram(labels, s.t, s.h);
      else storage.appendFloat(labels, s.t, s.f, s.st);
    }
  }
  if (cmd.withNHCB) {
    for (const { labels, samples } of nhcbSeries(cmd)) for (const s of samples) storage.appendHistogram(labels, s.t, s.h);
  }
}

async function execRangeEval(engine: Engine, storage: MemStorage, cmd: EvalCmd): Promise<void> {
  let res;
  try {
    res = await engine.rangeQuery(storage, cmd.expr, cmd.start, cmd.end, cmd.step);
  } catch (err) {
    if (isFail(cmd)) return checkExpectedFailure(cmd, err);
    throw new Failure(`error evaluating query ${JSON.stringify(cmd.expr)} (line ${cmd.line}): ${errText(err)}`);
  }
  if (isFail(cmd)) throw new Failure(`expected error evaluating query ${JSON.stringify(cmd.expr)} (line ${cmd.line}) but got none`);
  checkAnnotations(cmd, cmd.expr, res.warnings, res.infos);
  compareResult(cmd, res.value);
}

/** The instant query and its `@` variants (atModifierTestCases). */
export function atModifierTestCases(exprStr: string, evalTime: number): Array<{ expr: string; evalTime: number }> {
  const expr = parseExpr(exprStr, ALL_FEATURES);
  const ts = evalTime;
  let unsafe = false;
  inspect(expr, (n, path) => {
    // Under a subquery that has (or was given) `@`, nothing changes.
    if (path.some((p) => p.type === 'SubqueryExpr' && p.timestamp !== null)) return;
    switch (n.type) {
      case 'VectorSelector':
        if (n.timestamp === null) n.timestamp = ts;
        break;
      case 'MatrixSelector':
        if (n.vectorSelector.timestamp === null) n.vectorSelector.timestamp = ts;
        break;
      case 'SubqueryExpr':
        if (n.timestamp === null) n.timestamp = ts;
        break;
      case 'Call':
        if (AT_MODIFIER_UNSAFE_FUNCTIONS.has(n.func.name)) unsafe = true;
        break;
      default:
        break;
    }
  });
  // The result may depend on the evaluation time even with pinned selectors.
  if (unsafe) return [];
  const text = printExpr(expr);
  const times = ts === 0 ? [-1000, -ts, 1000] : [-10 * ts, 0, Math.trunc(ts / 5), ts, 10 * ts];
  return times.map((t) => ({ expr: text, evalTime: t }));
}

async function execInstantEval(engine: Engine, storage: MemStorage, cmd: EvalCmd): Promise<void> {
  const queries = [{ expr: cmd.expr, evalTime: cmd.evalTime }, ...atModifierTestCases(cmd.expr, cmd.evalTime)];
  for (const iq of queries) await runInstantQuery(engine, storage, cmd, iq);
}

async function runInstantQuery(engine: Engine, storage: MemStorage, cmd: EvalCmd, iq: { expr: string; evalTime: number }): Promise<void> {
  let res;
  try {
    res = await engine.instantQuery(storage, iq.expr, iq.evalTime);
  } catch (err) {
    if (isFail(cmd)) return checkExpectedFailure(cmd, err);
    throw new Failure(`error evaluating query ${JSON.stringify(iq.expr)} (line ${cmd.line}): ${errText(err)}`);
  }
  if (isFail(cmd)) throw new Failure(`expected error evaluating query ${JSON.stringify(iq.expr)} (line ${cmd.line}) but got none`);
  checkAnnotations(cmd, iq.expr, res.warnings, res.infos);
  try {
    compareResult(cmd, res.value);
  } catch (err) {
    throw new Failure(`error in eval ${iq.expr} (line ${cmd.line}): ${errText(err)}`);
  }
  if (cmd.excludeFromRangeQuery) return;
  // range(), step(), start() and end() resolve differently in a range query.
  if (RE_QUERY_CONTEXT_FUNCS.test(iq.expr)) return;
  let rangeRes;
  try {
    rangeRes = await engine.rangeQuery(storage, iq.expr, iq.evalTime - 60_000, iq.evalTime + 60_000, 60_000);
  } catch (err) {
    throw new Failure(`error evaluating query ${JSON.stringify(iq.expr)} (line ${cmd.line}) in range mode: ${errText(err)}`);
  }
  if (isOrdered(cmd)) return;
  if (rangeRes.value.type !== 'matrix') throw new Failure('range query did not return a matrix');
  const mat = rangeRes.value.matrix;
  assertMatrixSorted(mat);
  const vec: Vector = [];
  for (const s of mat) {
    const fp = s.floats;
    for (let i = 0; i < fp.length; i++) {
      if (fp.t[i] === iq.evalTime) {
        vec.push({ metric: s.metric, t: fp.t[i], f: fp.f[i], h: null, dropName: false });
        break;
      }
    }
  }
  try {
    if (res.value.type === 'scalar') {
      if (vec.length === 0) throw new Failure('range mode returned no point at the evaluation time for a scalar');
      compareResult(cmd, { type: 'scalar', scalar: { t: iq.evalTime, v: vec[0].f } });
    } else {
      compareResult(cmd, { type: 'vector', vector: vec });
    }
  } catch (err) {
    throw new Failure(`error in eval ${iq.expr} (line ${cmd.line}) range mode: ${errText(err)}`);
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function matches(e: ExpectLine, s: string): boolean {
  return e.regex === null ? e.message === s : e.regex.test(s);
}

function describe(e: ExpectLine): string {
  return e.regex === null ? e.message! : e.regex.source;
}

function checkExpectedFailure(cmd: EvalCmd, err: unknown): void {
  const msg = errText(err);
  if (cmd.expectedFailMessage !== '' && cmd.expectedFailMessage !== msg) {
    throw new Failure(`expected error ${JSON.stringify(cmd.expectedFailMessage)} evaluating query ${JSON.stringify(cmd.expr)} (line ${cmd.line}), but got: ${msg}`);
  }
  if (cmd.expectedFailRegexp !== null && !cmd.expectedFailRegexp.test(msg)) {
    throw new Failure(`expected error matching pattern ${JSON.stringify(cmd.expectedFailRegexp.source)} evaluating query ${JSON.stringify(cmd.expr)} (line ${cmd.line}), but got: ${msg}`);
  }
  const fail = cmd.expects.get('fail');
  if (fail !== undefined && fail.length > 0 && !matches(fail[0], msg)) {
    throw new Failure(`expected error matching ${JSON.stringify(describe(fail[0]))} evaluating query ${JSON.stringify(cmd.expr)} (line ${cmd.line}), but got: ${msg}`);
  }
}

function validateExpected(expr: string, expected: ExpectLine[] | undefined, actual: string[], line: number, kind: string): void {
  if (expected === undefined || expected.length === 0) return;
  if (actual.length === 0) throw new Failure(`expected ${kind} annotations but none were found for query ${JSON.stringify(expr)} (line ${line})`);
  for (const e of expected) {
    if (!actual.some((a) => matches(e, a))) {
      throw new Failure(
        `expected ${kind} annotation matching ${e.regex === null ? 'message' : 'pattern'} ${JSON.stringify(describe(e))} but no matching annotation was found for query ${JSON.stringify(expr)} (line ${line}), found: [${actual.join(' ')}]`,
      );
    }
  }
  for (const a of actual) {
    if (!expected.some((e) => matches(e, a))) throw new Failure(`unexpected ${kind} annotation ${JSON.stringify(a)} found for query ${expr} (line ${line})`);
  }
}

function checkAnnotations(cmd: EvalCmd, expr: string, warnings: string[], infos: string[]): void {
  if (cmd.warn && warnings.length === 0) throw new Failure(`expected warnings evaluating query ${JSON.stringify(expr)} (line ${cmd.line}) but got none`);
  if (cmd.info && infos.length === 0) throw new Failure(`expected info annotations evaluating query ${JSON.stringify(expr)} (line ${cmd.line}) but got none`);
  validateExpected(expr, cmd.expects.get('warn'), warnings, cmd.line, 'warn');
  validateExpected(expr, cmd.expects.get('info'), infos, cmd.line, 'info');
  if (cmd.expects.has('no_warn') && warnings.length > 0) {
    throw new Failure(`unexpected warning annotations evaluating query ${JSON.stringify(expr)} (line ${cmd.line}): [${warnings.join(' ')}]`);
  }
  if (cmd.expects.has('no_info') && infos.length > 0) {
    throw new Failure(`unexpected info annotations evaluating query ${JSON.stringify(expr)} (line ${cmd.line}): [${infos.join(' ')}]`);
  }
}

const MIN_NORMAL = 2.2250738585072014e-308;
const EPSILON = 0.000001;

/** util/almost.Equal with Prometheus's test epsilon. */
export function almostEqual(a: number, b: number, epsilon = EPSILON): boolean {
  if (isStaleNaN(a) || isStaleNaN(b)) return isStaleNaN(a) && isStaleNaN(b);
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

function fmt(v: number): string {
  return formatFloatG(v);
}

function assertMatrixSorted(m: Matrix): void {
  for (let i = 0; i + 1 < m.length; i++) {
    if (compareLabels(m[i].metric, m[i + 1].metric) > 0) {
      throw new Failure(
        `matrix results should always be sorted by labels, but matrix is not sorted: series at index ${i + 1} with labels ${labelsString(m[i + 1].metric)} sorts before series at index ${i} with labels ${labelsString(m[i].metric)}`,
      );
    }
  }
}

/** Compares a query result with the eval's expectations (compareResult). */
export function compareResult(cmd: EvalCmd, result: Value): void {
  switch (result.type) {
    case 'matrix': {
      const val = result.matrix;
      if (isOrdered(cmd)) throw new Failure('expected ordered result, but query returned a matrix');
      if (cmd.expectScalar) throw new Failure('expected scalar result, but got matrix');
      assertMatrixSorted(val);
      const seen = new Set<string>();
      for (const s of val) {
        if (s.histograms !== null && s.histograms.length > 0) throw new Failure(`unexpected histogram points for ${labelsString(s.metric)}`);
        const k = labelsKey(s.metric);
        const exp = cmd.expected.get(k);
        if (exp === undefined) throw new Failure(`unexpected metric ${labelsString(s.metric)} in result, has ${formatSeries(s.floats.t, s.floats.f, s.floats.length)}`);
        seen.add(k);
        const expT: number[] = [];
        const expF: number[] = [];
        for (let i = 0; i < exp.vals.length; i++) {
          const e = exp.vals[i];
          const ts = cmd.start + i * cmd.step;
          if (ts > cmd.end) throw new Failure(`expected ${exp.vals.length} points for ${labelsString(exp.labels)}, but query time range cannot return this many points`);
          if (e.histogram !== null) throw new Failure(`expected histogram points for ${labelsString(exp.labels)}: native histograms are not supported yet`);
          if (!e.omitted) {
            expT.push(ts);
            expF.push(e.value);
          }
        }
        if (expT.length !== s.floats.length) {
          throw new Failure(`expected ${expT.length} float points and 0 histogram points for ${labelsString(exp.labels)}, but got ${formatSeries(s.floats.t, s.floats.f, s.floats.length)}`);
        }
        for (let i = 0; i < expT.length; i++) {
          const at = s.floats.t[i];
          const af = s.floats.f[i];
          if (expT[i] !== at) {
            throw new Failure(`expected float value at index ${i} for ${labelsString(exp.labels)} to have timestamp ${expT[i]}, but it had timestamp ${at} (result has ${formatSeries(s.floats.t, s.floats.f, s.floats.length)})`);
          }
          if (!almostEqual(af, expF[i])) {
            throw new Failure(`expected float value at index ${i} (t=${at}) for ${labelsString(exp.labels)} to be ${fmt(expF[i])}, but got ${fmt(af)} (result has ${formatSeries(s.floats.t, s.floats.f, s.floats.length)})`);
          }
        }
      }
      for (const [k, e] of cmd.expected) if (!seen.has(k)) throw new Failure(`expected metric ${labelsString(e.labels)} not found`);
      return;
    }
    case 'vector': {
      if (cmd.expectScalar) throw new Failure(`expected scalar result, but got vector ${vectorString(result.vector)}`);
      const seen = new Set<string>();
      const ordered = isOrdered(cmd);
      result.vector.forEach((v, pos) => {
        const k = labelsKey(v.metric);
        const exp = cmd.expected.get(k);
        if (exp === undefined) throw new Failure(`unexpected metric ${labelsString(v.metric)} in result, has value ${fmt(v.f)}`);
        if (ordered && exp.pos !== pos + 1) throw new Failure(`expected metric ${labelsString(v.metric)} with ${valsString(exp.vals)} at position ${exp.pos} but was at ${pos + 1}`);
        const e0 = exp.vals[0];
        if (e0.histogram !== null) throw new Failure(`expected histogram for ${labelsString(v.metric)} but got float value ${fmt(v.f)}`);
        if (!almostEqual(e0.value, v.f)) throw new Failure(`expected ${fmt(e0.value)} for ${labelsString(v.metric)} but got ${fmt(v.f)}`);
        seen.add(k);
      });
      for (const [k, e] of cmd.expected) if (!seen.has(k)) throw new Failure(`expected metric ${labelsString(e.labels)} with ${valsString(e.vals)} not found`);
      return;
    }
    case 'scalar': {
      if (!cmd.expectScalar) throw new Failure(`expected vector or matrix result, but got scalar ${fmt(result.scalar.v)}`);
      const e0 = cmd.expected.get('')!.vals[0];
      if (!almostEqual(e0.value, result.scalar.v)) throw new Failure(`expected scalar ${fmt(e0.value)} but got ${fmt(result.scalar.v)}`);
      return;
    }
    case 'string':
      if (cmd.expectedString !== result.string.v) throw new Failure(`expected string "${cmd.expectedString ?? ''}" but got "${result.string.v}"`);
      return;
  }
}

function formatSeries(t: Float64Array, f: Float64Array, n: number): string {
  const pts: string[] = [];
  for (let i = 0; i < n && i < 20; i++) pts.push(`${fmt(f[i])} @[${t[i]}]`);
  if (n > 20) pts.push('…');
  return `${n} float point${n === 1 ? '' : 's'} [${pts.join(' ')}]`;
}

function vectorString(v: Vector): string {
  return v.map((s) => `${labelsString(s.metric)} => ${fmt(s.f)}`).join(', ');
}

function valsString(vals: { omitted: boolean; value: number }[]): string {
  return '[' + vals.map((v) => (v.omitted ? '_' : fmt(v.value))).join(' ') + ']';
}

export type { Labels };
