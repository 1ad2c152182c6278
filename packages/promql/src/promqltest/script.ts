// The PromQL test-script language (Prometheus promql/promqltest/test.go; described in
// ../shared/conformance/promql/FORMAT.md): `load`, `clear` and `eval` commands with their
// bodies, parsed into commands the runner executes.

import type { Labels } from '@thanos-ts/tsdb';
import { translateRE2 } from '@thanos-ts/tsdb';
import { labelsKey } from '../engine/label-sets.js';
import { parseDurationMs, parseFloatGo, parseIntGo0, unquoteGo } from '../go-strconv.js';
import { ParseErrors } from '../parse-error.js';
import { ALL_FEATURES, parseExpr } from '../parser.js';
import { type SequenceValue, parseSeriesDesc } from '../series-desc.js';

const PAT_SPACE = /[\t ]+/;
const PAT_LOAD = /^load(?:_(with_nhcb))?\s+(.+?)$/;
const PAT_EVAL_INSTANT = /^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$/;
const PAT_EVAL_RANGE = /^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$/;
const PAT_EXPECT = /^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$/;
const PAT_EXPECT_RANGE = /^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$/;
const RANGE_VECTOR_PREFIX = 'expect range vector';
const EXPECT_STRING_PREFIX = 'expect string';

/** A script error at a 0-based line, rendered 1-based like Prometheus. */
export class ScriptError extends Error {
  /** For a failed eval command: its 1-based line and expression. */
  evalLine = 0;
  evalExpr = '';

  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'ScriptError';
  }
}

export interface ClearCmd {
  readonly kind: 'clear';
  readonly line: number;
}

export interface LoadSample {
  t: number;
  f: number;
  h: import('../histogram.js').FloatHistogram | null;
  /** Start timestamp (ms) from an `@st` line, 0 when unknown. */
  st: number;
}

export interface LoadCmd {
  readonly kind: 'load';
  readonly line: number;
  readonly gapMs: number;
  readonly withNHCB: boolean;
  /** Series by label key; a label set written twice keeps the later line. */
  readonly series: Map<string, { labels: Labels; samples: LoadSample[] }>;
}

/** An `expect warn|info|fail … msg:/regex:` line. */
export interface ExpectLine {
  message: string | null;
  regex: RegExp | null;
}

export type ExpectType = 'ordered' | 'fail' | 'warn' | 'no_warn' | 'info' | 'no_info';

export interface ExpectedSeries {
  /** 1-based position among the body lines (ordered results compare it). */
  pos: number;
  labels: Labels;
  vals: SequenceValue[];
}

export interface EvalCmd {
  readonly kind: 'eval';
  /** 1-based line of the eval command. */
  readonly line: number;
  readonly expr: string;
  readonly isRange: boolean;
  start: number;
  end: number;
  step: number;
  /** Evaluation time of an instant eval. */
  evalTime: number;
  fail: boolean;
  warn: boolean;
  info: boolean;
  ordered: boolean;
  expectedFailMessage: string;
  expectedFailRegexp: RegExp | null;
  expects: Map<ExpectType, ExpectLine[]>;
  expectScalar: boolean;
  /** Expected series by label key; for a scalar, key '' holds the value. */
  expected: Map<string, ExpectedSeries>;
  expectedString: string | null;
  excludeFromRangeQuery: boolean;
}

export type Command = ClearCmd | LoadCmd | EvalCmd;

export function isOrdered(c: EvalCmd): boolean {
  return c.ordered || (c.expects.get('ordered')?.length ?? 0) > 0;
}

export function isFail(c: EvalCmd): boolean {
  return c.fail || (c.expects.get('fail')?.length ?? 0) > 0;
}

/** Trimmed lines, comments turned into empty lines (getLines). */
export function scriptLines(input: string): string[] {
  return input.split('\n').map((l) => {
    const t = l.trim();
    return t.startsWith('#') ? '' : t;
  });
}

/**
 * Parses a whole script. Errors that upstream reports for the whole file are collected
 * per command instead: a bad eval yields an EvalCmd-shaped error entry so the runner can
 * report it and go on with the others.
 */
export function parseScript(input: string): { commands: Command[]; errors: ScriptError[] } {
  const lines = scriptLines(input);
  const commands: Command[] = [];
  const errors: ScriptError[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l === '') continue;
    const c = l.split(PAT_SPACE, 1)[0].toLowerCase();
    const cmdLine = i;
    try {
      if (c === 'clear') {
        commands.push({ kind: 'clear', line: i + 1 });
      } else if (c.startsWith('load')) {
        const r = parseLoad(lines, i);
        i = r.i;
        commands.push(r.cmd);
      } else if (c.startsWith('eval')) {
        const r = parseEval(lines, i);
        i = r.i;
        commands.push(r.cmd);
      } else {
        throw new ScriptError(i, `invalid command "${l}"`);
      }
    } catch (err) {
      if (!(err instanceof ScriptError)) throw err;
      if (c.startsWith('eval')) {
        const m = PAT_EVAL_INSTANT.exec(l) ?? PAT_EVAL_RANGE.exec(l);
        err.evalLine = cmdLine + 1;
        err.evalExpr = m === null ? l : (m[3] !== undefined && PAT_EVAL_INSTANT.test(l) ? m[3] : m[5]);
      }
      errors.push(err);
      // Skip the rest of this block.
      while (i + 1 < lines.length && lines[i + 1] !== '') i++;
    }
  }
  return { commands, errors };
}

function parseDuration(s: string, what: string, line: number): number {
  try {
    return parseDurationMs(s);
  } catch (err) {
    throw new ScriptError(line, `invalid ${what} ${JSON.stringify(s)}: ${(err as Error).message}`);
  }
}

function seriesDesc(text: string, line: number): { labels: Labels; vals: SequenceValue[] } {
  try {
    const d = parseSeriesDesc(text);
    return { labels: d.labels, vals: d.values };
  } catch (err) {
    if (err instanceof ParseErrors) throw new ScriptError(line, err.message);
    throw err;
  }
}

/** An `@st` line: a series descriptor glued to `@st`, then start-timestamp offsets. */
function isSTLine(l: string): boolean {
  const sp = l.search(/[ \t]/);
  return sp >= 0 && l.slice(0, sp).endsWith('@st');
}

/** A signed duration at the start of s (no `x`: that starts a repeat count): [ms, rest]. */
function durationPrefix(s: string): [number, string] {
  let i = 0;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    i++;
  }
  const digits = i;
  while (i < s.length && s[i] >= '0' && s[i] <= '9') i++;
  if (i === digits) throw new Error(`expected digits in duration ${JSON.stringify(s)}`);
  while (i < s.length && /[a-wyzA-Z]/.test(s[i])) i++;
  const ms = parseDurationMs(s.slice(digits, i));
  return [neg ? -ms : ms, s.slice(i)];
}

/** One item of an `@st` sequence (parseSTItem): offsets in ms, null for `_`. */
function stItem(item: string): (number | null)[] {
  if (item === '_') return [null];
  if (item.startsWith('_x')) {
    const n = Number(item.slice(2));
    if (!Number.isInteger(n) || n <= 0) throw new Error('invalid repeat count');
    return new Array<null>(n).fill(null);
  }
  const [base, rest] = durationPrefix(item);
  if (rest === '') return [base];
  if (rest[0] === 'x') {
    const n = Number(rest.slice(1));
    if (!Number.isInteger(n) || n < 0) throw new Error('invalid repeat count');
    return new Array<number>(n + 1).fill(base);
  }
  if (rest[0] !== '+' && rest[0] !== '-') throw new Error(`unexpected character ${JSON.stringify(rest[0])} after duration`);
  let [delta, rest2] = durationPrefix(rest.slice(1));
  if (rest[0] === '-') delta = -delta;
  if (rest2[0] !== 'x') throw new Error("expected 'x<count>' after step duration");
  const n = Number(rest2.slice(1));
  if (!Number.isInteger(n) || n < 0) throw new Error('invalid repeat count');
  const out: number[] = [];
  for (let k = 0, off = base; k <= n; k++, off += delta) out.push(off);
  return out;
}

/** An `@st` line: the series and its start-timestamp offsets (parseSTLine). */
function parseSTLine(l: string, line: number): { labels: Labels; offsets: (number | null)[] } {
  const sp = l.search(/[ \t]/);
  const metric = l.slice(0, sp).slice(0, -'@st'.length);
  const { labels } = seriesDesc(metric + ' _', line);
  const offsets: (number | null)[] = [];
  try {
    for (const item of l.slice(sp + 1).trim().split(/\s+/)) offsets.push(...stItem(item));
  } catch (err) {
    throw new ScriptError(line, `invalid @st sequence: ${(err as Error).message}`);
  }
  return { labels, offsets };
}

function parseLoad(lines: string[], i: number): { i: number; cmd: LoadCmd } {
  const m = PAT_LOAD.exec(lines[i]);
  if (m === null) throw new ScriptError(i, 'invalid load command. (load[_with_nhcb] <step:duration>)');
  const gapMs = parseDuration(m[2], 'step definition', i);
  const cmd: LoadCmd = { kind: 'load', line: i + 1, gapMs, withNHCB: m[1] === 'with_nhcb', series: new Map() };
  let pendingST: { labels: Labels; offsets: (number | null)[] } | null = null;
  let pendingSTLine = 0;
  while (i + 1 < lines.length) {
    i++;
    const def = lines[i];
    if (def === '') {
      i--;
      break;
    }
    if (isSTLine(def)) {
      if (pendingST !== null) throw new ScriptError(pendingSTLine, '@st line has no following sample line');
      pendingST = parseSTLine(def, i);
      pendingSTLine = i;
      continue;
    }
    const { labels, vals } = seriesDesc(def, i);
    if (pendingST !== null) {
      if (labelsKey(pendingST.labels) !== labelsKey(labels)) throw new ScriptError(pendingSTLine, '@st metric does not match the following sample line metric');
      if (pendingST.offsets.length !== vals.length) {
        throw new ScriptError(pendingSTLine, `@st line has ${pendingST.offsets.length} values but sample line has ${vals.length}`);
      }
    }
    const samples: LoadSample[] = [];
    let t = 0;
    for (let k = 0; k < vals.length; k++) {
      const v = vals[k];
      const off = pendingST?.offsets[k] ?? null;
      if (!v.omitted) samples.push({ t, f: v.value, h: v.histogram, st: off === null ? 0 : t + off });
      t += gapMs;
    }
    pendingST = null;
    cmd.series.set(labelsKey(labels), { labels, samples });
  }
  if (pendingST !== null) throw new ScriptError(pendingSTLine, '@st line has no following sample line');
  return { i, cmd };
}

/** strconv.ParseInt(s, 0, 64) then ParseFloat (parseNumber); null when neither parses. */
function parseNumber(s: string): number | null {
  const n = parseIntGo0(s);
  if (n !== null) return n;
  try {
    return parseFloatGo(s);
  } catch {
    return null;
  }
}

/** Compiles a Go (RE2) regex for unanchored matching (regexp.MatchString). */
export function compileSearchRegex(pattern: string): RegExp {
  try {
    return translateRE2(`.*(?:${pattern}).*`);
  } catch {
    return new RegExp(pattern);
  }
}

function parseEval(lines: string[], i: number): { i: number; cmd: EvalCmd } {
  const inst = PAT_EVAL_INSTANT.exec(lines[i]);
  const rng = PAT_EVAL_RANGE.exec(lines[i]);
  if (inst === null && rng === null) {
    throw new ScriptError(
      i,
      "invalid evaluation command. Must be either 'eval[_fail|_warn|_ordered] instant [at <offset:duration>] <query>' or 'eval[_fail|_warn] range from <from> to <to> step <step> <query>'",
    );
  }
  const isInstant = inst !== null;
  const mod = isInstant ? inst[1] : rng![1];
  const expr = isInstant ? inst[3] : rng![5];
  try {
    parseExpr(expr, ALL_FEATURES);
  } catch (err) {
    if (err instanceof ParseErrors) throw new ScriptError(i, err.message);
    throw err;
  }
  const lineNo = i + 1;
  const formatErr = (msg: string): ScriptError => new ScriptError(i, `error in eval ${expr} (line ${lineNo}): ${msg}`);
  const cmd: EvalCmd = {
    kind: 'eval',
    line: lineNo,
    expr,
    isRange: !isInstant,
    start: 0,
    end: 0,
    step: 0,
    evalTime: 0,
    fail: mod === 'fail',
    warn: mod === 'warn',
    info: mod === 'info',
    ordered: mod === 'ordered',
    expectedFailMessage: '',
    expectedFailRegexp: null,
    expects: new Map(),
    expectScalar: false,
    expected: new Map(),
    expectedString: null,
    excludeFromRangeQuery: false,
  };
  if (isInstant) {
    const at = inst[2] ?? '';
    let t: number;
    try {
      t = parseDurationMs(at);
    } catch (err) {
      throw formatErr(`invalid timestamp definition ${JSON.stringify(at)}: ${(err as Error).message}`);
    }
    cmd.start = t;
    cmd.evalTime = t;
  } else {
    const [from, to, step] = [rng![2], rng![3], rng![4]];
    const r = parseRangeDurations(from, to, step, formatErr);
    cmd.start = r.from;
    cmd.end = r.to;
    cmd.step = r.step;
  }

  let expectRangeVector = false;
  for (let j = 1; i + 1 < lines.length; j++) {
    i++;
    const def = lines[i];
    if (def === '') {
      i--;
      break;
    }
    if (cmd.fail && def.startsWith('expected_fail_message')) {
      cmd.expectedFailMessage = def.slice('expected_fail_message'.length).trim();
      break;
    }
    if (cmd.fail && def.startsWith('expected_fail_regexp')) {
      const pattern = def.slice('expected_fail_regexp'.length).trim();
      cmd.expectedFailRegexp = compileSearchRegex(pattern);
      break;
    }
    if (def.startsWith(RANGE_VECTOR_PREFIX)) {
      const m = PAT_EXPECT_RANGE.exec(def);
      if (m === null) throw formatErr(`invalid range vector definition ${JSON.stringify(def)}`);
      const r = parseRangeDurations(m[1], m[2], m[3], formatErr);
      expectRangeVector = true;
      cmd.start = r.from;
      cmd.end = r.to;
      cmd.step = r.step;
      cmd.evalTime = r.to;
      cmd.excludeFromRangeQuery = true;
      continue;
    }
    if (def.startsWith(EXPECT_STRING_PREFIX)) {
      const s = def === EXPECT_STRING_PREFIX ? '' : def.slice(EXPECT_STRING_PREFIX.length + 1);
      if (s === '') throw formatErr('expected string literal not valid - a quoted string literal is required');
      try {
        cmd.expectedString = unquoteGo(s);
      } catch {
        throw formatErr('expected string literal not valid - check that the string is correctly quoted');
      }
      cmd.excludeFromRangeQuery = true;
      continue;
    }
    if (def.split(' ')[0] === 'expect') {
      const m = PAT_EXPECT.exec(def.trim());
      if (m === null) throw formatErr('invalid expect statement, must match `expect <type> <match_type>: <string>` format');
      const type = m[1] as ExpectType;
      const e: ExpectLine = { message: null, regex: null };
      if (m[2] === 'msg') e.message = m[3].trim();
      else if (m[2] === 'regex') e.regex = compileSearchRegex(m[3].trim());
      else e.regex = /^/; // a bare expect line matches anything
      const list = cmd.expects.get(type) ?? [];
      list.push(e);
      cmd.expects.set(type, list);
      j--;
      const count = (t: ExpectType): number => cmd.expects.get(t)?.length ?? 0;
      if (count('info') > 0 && count('no_info') > 0) throw formatErr('invalid expect lines, info and no_info cannot be used together');
      if (count('warn') > 0 && count('no_warn') > 0) throw formatErr('invalid expect lines, warn and no_warn cannot be used together');
      if (count('fail') > 1) throw formatErr('invalid expect lines, multiple expect fail lines are not allowed');
      continue;
    }
    const num = parseNumber(def);
    if (num !== null) {
      cmd.expectScalar = true;
      cmd.expected.set('', { pos: 0, labels: [], vals: [{ omitted: false, value: num, histogram: null, counterResetHintSet: false }] });
      break;
    }
    const { labels, vals } = seriesDesc(def, i);
    if (vals.length > 1 && isInstant && !expectRangeVector) {
      throw formatErr(
        "expecting multiple values in instant evaluation not allowed. consider using 'expect range vector' directive to enable a range vector result for an instant query",
      );
    }
    cmd.expectScalar = false;
    cmd.expected.set(labelsKey(labels), { pos: j, labels, vals });
  }
  return { i, cmd };
}

function parseRangeDurations(from: string, to: string, step: string, formatErr: (m: string) => ScriptError): { from: number; to: number; step: number } {
  let f: number;
  let t: number;
  let s: number;
  try {
    f = parseDurationMs(from);
  } catch (err) {
    throw formatErr(`invalid start timestamp definition ${JSON.stringify(from)}: ${(err as Error).message}`);
  }
  try {
    t = parseDurationMs(to);
  } catch (err) {
    throw formatErr(`invalid end timestamp definition ${JSON.stringify(to)}: ${(err as Error).message}`);
  }
  if (t < f) throw formatErr(`invalid test definition, end timestamp (${to}) is before start timestamp (${from})`);
  try {
    s = parseDurationMs(step);
  } catch (err) {
    throw formatErr(`invalid step definition ${JSON.stringify(step)}: ${(err as Error).message}`);
  }
  return { from: f, to: t, step: s };
}
