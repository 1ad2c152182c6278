#!/usr/bin/env node
// pnpm -s promql-conformance DIR... : runs PromQL test scripts (the conformance corpus
// or any folder/file of .test scripts) against the engine and prints
//   FAIL <file>:<line> <expr>: <reason>
// for every failing eval, then a final line "N passed, N failed". Exits 1 when an eval
// failed. --summary also prints the counts per tier and per EVALS.tsv tag to stderr.
//
// It runs the compiled package (dist/); when dist/ is missing or older than the
// sources, it compiles first (tsc -b), so a fresh clone works without `pnpm build`.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repo = resolve(pkg, '../..');

function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return Infinity;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    t = Math.max(t, st.isDirectory() ? newest(p) : st.mtimeMs);
  }
  return t;
}

const entry = join(pkg, 'dist/promqltest/index.js');
const tsdbDist = join(repo, 'packages/tsdb/dist');
const stale =
  !existsSync(entry) ||
  !existsSync(tsdbDist) ||
  newest(join(pkg, 'src')) > statSync(entry).mtimeMs ||
  newest(join(repo, 'packages/tsdb/src')) > newest(tsdbDist);
if (stale) {
  const tsc = join(repo, 'node_modules/.bin/tsc');
  const r = spawnSync(existsSync(tsc) ? tsc : 'tsc', ['-b', join(pkg, 'tsconfig.json')], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    process.stderr.write('promql-conformance: compiling packages/promql failed\n');
    process.exit(2);
  }
}

const args = process.argv.slice(2);
const summary = args.includes('--summary');
const dirs = args.filter((a) => !a.startsWith('--'));
if (dirs.length === 0) {
  process.stderr.write('usage: pnpm -s promql-conformance [--summary] DIR_OR_FILE...\n');
  process.exit(2);
}
for (const d of dirs) {
  if (!existsSync(d)) {
    process.stderr.write(`promql-conformance: ${d}: no such file or directory\n`);
    process.exit(2);
  }
}

const { runConformance, summarize } = await import(pathToFileURL(entry).href);
const outcomes = await runConformance(dirs);
let passed = 0;
let failed = 0;
for (const o of outcomes) {
  if (o.ok) {
    passed++;
    continue;
  }
  failed++;
  const reason = o.reason.replace(/\s*\n\s*/g, ' ');
  process.stdout.write(`FAIL ${o.file}:${o.line} ${o.expr}: ${reason}\n`);
}
if (summary) {
  const s = summarize(outcomes);
  const line = (k, t) => `  ${k.padEnd(44)} ${String(t.passed).padStart(5)} passed ${String(t.failed).padStart(5)} failed\n`;
  process.stderr.write('by tier:\n');
  for (const [k, t] of [...s.byTier].sort()) process.stderr.write(line(k, t));
  process.stderr.write('by tag:\n');
  for (const [k, t] of [...s.byTag].sort()) process.stderr.write(line(k, t));
}
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exitCode = failed > 0 ? 1 : 0;
