// Runs a folder of PromQL test scripts (the conformance corpus: tier1/, tier2/ and
// EVALS.tsv, which tags each eval with the features it needs; `-` = plain float PromQL)
// and summarises the outcomes per tier and per tag.

import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { Engine } from '../engine/engine.js';
import { type EvalOutcome, newTestEngine, runScript } from './runner.js';

/** An eval's classification from EVALS.tsv. */
export interface EvalTag {
  tier: string;
  /** Comma list of tier-2 features, '-' for plain float PromQL. */
  features: string;
}

export interface ConformanceOutcome extends EvalOutcome {
  /** From EVALS.tsv; null when the eval is not listed. */
  tag: EvalTag | null;
}

/** The .test files under dir (or dir itself when it is a file), sorted. */
export function findTestFiles(dir: string): string[] {
  if (statSync(dir).isFile()) return [dir];
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTestFiles(p));
    else if (name.endsWith('.test')) out.push(p);
  }
  return out;
}

/** EVALS.tsv in dir or one of its parents, or null. */
export function findEvalsTsv(dir: string): string | null {
  let d = resolve(dir);
  if (existsSync(d) && statSync(d).isFile()) d = dirname(d);
  for (;;) {
    const p = join(d, 'EVALS.tsv');
    if (existsSync(p)) return p;
    const up = dirname(d);
    if (up === d) return null;
    d = up;
  }
}

/** Tags by `<file basename>:<line>`. */
export function readEvalTags(tsvPath: string): Map<string, EvalTag> {
  const out = new Map<string, EvalTag>();
  for (const row of readFileSync(tsvPath, 'utf8').split('\n')) {
    if (row === '' || row.startsWith('#') || row.startsWith('tier\t')) continue;
    const cols = row.split('\t');
    if (cols.length < 8) continue;
    out.set(`${cols[1]}:${cols[2]}`, { tier: cols[0], features: cols[6] });
  }
  return out;
}

/** Runs every script under the given folders or files. */
export async function runConformance(paths: readonly string[], engine: Engine = newTestEngine()): Promise<ConformanceOutcome[]> {
  const out: ConformanceOutcome[] = [];
  for (const p of paths) {
    const root = resolve(p);
    const tsv = findEvalsTsv(root);
    const tags = tsv !== null ? readEvalTags(tsv) : new Map<string, EvalTag>();
    const base = statSync(root).isFile() ? dirname(root) : root;
    for (const file of findTestFiles(root)) {
      const name = relative(base, file) || basename(file);
      const outcomes = await runScript(name, readFileSync(file, 'utf8'), engine);
      for (const o of outcomes) out.push({ ...o, tag: tags.get(`${basename(file)}:${o.line}`) ?? null });
    }
  }
  return out;
}

/** Pass/fail counts of a group of evals. */
export interface Tally {
  passed: number;
  failed: number;
}

/** Counts per tier (tier1/tier2/untagged) and per tag ('-' or each feature). */
export function summarize(outcomes: readonly ConformanceOutcome[]): { byTier: Map<string, Tally>; byTag: Map<string, Tally>; plain: Tally } {
  const byTier = new Map<string, Tally>();
  const byTag = new Map<string, Tally>();
  const plain: Tally = { passed: 0, failed: 0 };
  const bump = (m: Map<string, Tally>, k: string, ok: boolean): void => {
    let t = m.get(k);
    if (t === undefined) {
      t = { passed: 0, failed: 0 };
      m.set(k, t);
    }
    if (ok) t.passed++;
    else t.failed++;
  };
  for (const o of outcomes) {
    const tier = o.tag?.tier ?? 'untagged';
    const features = o.tag?.features ?? '?';
    bump(byTier, `${tier} ${features === '-' ? 'plain' : 'features'}`, o.ok);
    for (const f of features.split(',')) bump(byTag, f, o.ok);
    if (features === '-') {
      if (o.ok) plain.passed++;
      else plain.failed++;
    }
  }
  return { byTier, byTag, plain };
}
