// Parses every expression and every series line of the PromQL conformance corpus
// (../shared/conformance/promql from the repository root: Prometheus 3.14's own test
// scripts). Upstream's runner parses each eval expression when it loads a file, so every
// one must parse, unless the eval expects exactly the parse error we produce.

import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseExpr } from './parser.js';
import { ParseErrors } from './parse-error.js';
import { printExpr } from './printer.js';
import { parseSeriesDesc } from './series-desc.js';

const CORPUS = process.env.PROMQL_CONFORMANCE_DIR ?? fileURLToPath(new URL('../../../../shared/conformance/promql', import.meta.url));

// The eval command patterns of Prometheus's promqltest.
const EVAL_INSTANT = /^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$/;
const EVAL_RANGE = /^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$/;
const SCALAR_LINE = /^[-+]?(?:[0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?|0x[0-9a-f]+|inf|nan)$/i;

interface Eval {
  file: string;
  line: number;
  expr: string;
  failMsg: string | null;
  failRegexp: string | null;
}

interface Corpus {
  evals: Eval[];
  series: Array<{ file: string; line: number; text: string }>;
}

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (name.endsWith('.test')) out.push(p);
  }
  return out;
}

/** Splits test scripts into eval commands and series lines (FORMAT.md sections 1-7). */
function readCorpus(dir: string): Corpus {
  const corpus: Corpus = { evals: [], series: [] };
  for (const path of testFiles(dir)) {
    const file = path.slice(dir.length + 1);
    const lines = readFileSync(path, 'utf8').split('\n');
    let mode: 'none' | 'load' | 'eval' = 'none';
    let cur: Eval | null = null;
    lines.forEach((raw, i) => {
      let l = raw.trim();
      if (l.startsWith('#')) l = '';
      if (l === '') {
        mode = 'none';
        return;
      }
      if (mode === 'eval' && cur !== null) {
        if (l.startsWith('expect ')) {
          const m = /^expect\s+fail(?:\s+(msg|regex):\s*(.*))?$/.exec(l);
          if (m !== null) {
            if (m[1] === 'msg') cur.failMsg = m[2].trim();
            else if (m[1] === 'regex') cur.failRegexp = m[2].trim();
            else cur.failRegexp ??= '';
          }
          return;
        }
        if (l.startsWith('expected_fail_message ')) {
          cur.failMsg = l.slice('expected_fail_message '.length).trim();
          return;
        }
        if (l.startsWith('expected_fail_regexp ')) {
          cur.failRegexp = l.slice('expected_fail_regexp '.length).trim();
          return;
        }
        if (SCALAR_LINE.test(l)) {
          mode = 'none';
          return;
        }
      }
      if (mode === 'load' || mode === 'eval') {
        // `@st` lines give start timestamps, not a series (FORMAT.md 3.1).
        if (!/^\S*@st\s/.test(l)) corpus.series.push({ file, line: i + 1, text: l });
        return;
      }
      if (l === 'clear') return;
      if (l.startsWith('load')) {
        mode = 'load';
        return;
      }
      const inst = EVAL_INSTANT.exec(l);
      const rng = EVAL_RANGE.exec(l);
      if (inst === null && rng === null) throw new Error(`${file}:${i + 1}: not a command: ${l}`);
      mode = 'eval';
      const prefix = inst !== null ? inst[1] : rng![1];
      cur = {
        file,
        line: i + 1,
        expr: inst !== null ? inst[3] : rng![5],
        failMsg: null,
        failRegexp: prefix === 'fail' ? '' : null,
      };
      corpus.evals.push(cur);
    });
  }
  return corpus;
}

describe('PromQL conformance corpus', () => {
  it('is present', () => {
    expect(
      existsSync(CORPUS),
      `the PromQL conformance corpus is missing: expected it at ${CORPUS} (../shared/conformance/promql beside the repository)`,
    ).toBe(true);
  });

  it('parses every eval expression, and prints each back to an equivalent text', () => {
    expect(existsSync(CORPUS), `PromQL conformance corpus missing at ${CORPUS}`).toBe(true);
    const { evals } = readCorpus(CORPUS);
    const failures: string[] = [];
    let parsed = 0;
    let expectedParseErrors = 0;
    for (const ev of evals) {
      try {
        const e = parseExpr(ev.expr);
        parsed++;
        const printed = printExpr(e);
        const again = printExpr(parseExpr(printed));
        if (again !== printed) failures.push(`${ev.file}:${ev.line} ${ev.expr}: prints as ${printed}, which prints as ${again}`);
      } catch (err) {
        if (!(err instanceof ParseErrors)) throw err;
        const msg = err.message;
        const bare = err.first.err;
        const matches =
          (ev.failMsg !== null && (ev.failMsg === msg || ev.failMsg === bare)) ||
          (ev.failRegexp !== null && ev.failRegexp !== '' && new RegExp(ev.failRegexp).test(msg));
        if (matches) expectedParseErrors++;
        else failures.push(`${ev.file}:${ev.line} ${ev.expr}: ${msg}`);
      }
    }
    console.log(`promql corpus: ${evals.length} evals, ${parsed} parse, ${expectedParseErrors} fail to parse as expected`);
    expect(failures).toEqual([]);
    expect(evals.length).toBeGreaterThan(0);

    // EVALS.tsv lists the same evals, expression for expression.
    const tsv = join(CORPUS, 'EVALS.tsv');
    if (existsSync(tsv)) {
      const rows = readFileSync(tsv, 'utf8')
        .split('\n')
        .filter((r) => r !== '' && !r.startsWith('#') && !r.startsWith('tier\t'));
      expect(rows.length).toBe(evals.length);
      const listed = new Set(rows.map((r) => r.split('\t').slice(7).join('\t')));
      const missing = evals.filter((e) => !listed.has(e.expr)).map((e) => `${e.file}:${e.line}`);
      expect(missing).toEqual([]);
    }
  });

  it('parses every series line of load blocks and expected results', () => {
    expect(existsSync(CORPUS), `PromQL conformance corpus missing at ${CORPUS}`).toBe(true);
    const { series } = readCorpus(CORPUS);
    const failures: string[] = [];
    let points = 0;
    for (const s of series) {
      try {
        points += parseSeriesDesc(s.text).values.length;
      } catch (err) {
        failures.push(`${s.file}:${s.line} ${s.text}: ${(err as Error).message}`);
      }
    }
    console.log(`promql corpus: ${series.length} series lines parse into ${points} points`);
    expect(failures).toEqual([]);
    expect(series.length).toBeGreaterThan(0);
  });
});
