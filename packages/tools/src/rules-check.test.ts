import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@thanos-ts/runtime';
import { promtool } from '@thanos-ts/testutil';
import { describe, expect, it } from 'vitest';
import { checkDuplicates, rulesCheck } from './rules-check.js';
import type { RulesCheckResult } from './rules-check.js';

const DIR = fileURLToPath(new URL('./testdata/rules/', import.meta.url));
// Files promtool can judge; testdata/rules/thanos/ holds Thanos-only syntax.
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

async function check(patterns: string[]): Promise<{ result: RulesCheckResult; log: string[] }> {
  const log: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      log.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      cb();
    },
  });
  const result = await rulesCheck({ patterns, logger: createLogger({ destination }) });
  // The logfmt stream writes asynchronously.
  await new Promise((r) => setImmediate(r));
  return { result, log };
}

/** promtool's error lines for one file: its stderr without the FAILED header. */
function promtoolErrors(stderr: string): string {
  return stderr.replace(/^ {2}FAILED:\n/, '').trimEnd();
}

describe('tools rules-check beside promtool check rules (2.42)', () => {
  it.each(FILES)('%s: same verdict and exit code', async (name) => {
    const file = join(DIR, name);
    const [{ result }, theirs] = await Promise.all([check([file]), promtool(['check', 'rules', file])]);
    expect(result.ok ? 0 : 1).toBe(theirs.code);
    const [f] = result.files;
    expect(f.errors.length > 0).toBe(theirs.code !== 0);
    expect(f.lint.length > 0).toBe(theirs.stderr.includes('lint error'));
    if (theirs.code === 0 && f.lint.length === 0) expect(theirs.stdout).toContain(`SUCCESS: ${f.rules} rules found`);
  });

  // Files whose messages do not depend on Go's map order or libyaml's wording.
  it.each(['bad-promql.yaml', 'bad-duration.yaml', 'record-and-alert.yaml', 'empty-group-name.yaml', 'recording-with-for.yaml', 'unknown-field.yaml'])(
    '%s: the same error text as promtool',
    async (name) => {
      const file = join(DIR, name);
      const [{ result }, theirs] = await Promise.all([check([file]), promtool(['check', 'rules', file])]);
      expect(result.files[0].errors.join('\n')).toBe(promtoolErrors(theirs.stderr));
    },
  );

  it.each(['bad-labels.yaml', 'bad-template.yaml'])('%s: the same errors as promtool, in any order', async (name) => {
    const file = join(DIR, name);
    const [{ result }, theirs] = await Promise.all([check([file]), promtool(['check', 'rules', file])]);
    expect([...result.files[0].errors].sort()).toEqual(promtoolErrors(theirs.stderr).split('\n').sort());
  });

  it('duplicate rules: promtool lint text, plus the group and rule of each repeat; the check passes', async () => {
    const file = join(DIR, 'duplicate-rules.yaml');
    const [{ result, log }, theirs] = await Promise.all([check([file]), promtool(['check', 'rules', file])]);
    expect(result.ok).toBe(true);
    const [lint, ...repeats] = result.files[0].lint;
    expect(lint).toBe(`${file}: ${promtoolErrors(theirs.stderr)}`);
    expect(repeats).toEqual([
      `${file}: group "api", rule 4, "Down": duplicate rule: same name and labels as group "api", rule 3`,
      `${file}: group "api", rule 2, "job:up:sum": duplicate rule: same name and labels as group "api", rule 1`,
    ]);
    expect(log.some((l) => l.includes('level=warn') && l.includes(`filename=${file}`) && l.includes('result=FAILED'))).toBe(true);
  });

  it('all files by one glob: the same failing files and exit code as promtool on the list', async () => {
    const { result, log } = await check([join(DIR, '*.yaml')]);
    const theirs = await promtool(['check', 'rules', ...FILES.map((f) => join(DIR, f))]);
    expect(result.ok ? 0 : 1).toBe(theirs.code);
    expect(result.files.map((f) => f.path)).toEqual(FILES.map((f) => join(DIR, f)));
    const failing = result.files.filter((f) => f.errors.length > 0).map((f) => f.path.slice(DIR.length));
    const perFile = await Promise.all(FILES.map(async (f) => ((await promtool(['check', 'rules', join(DIR, f)])).code !== 0 ? f : null)));
    expect(failing).toEqual(perFile.filter((f) => f !== null));
    // Thanos's lines: a verdict per file, with the file's name and, on success, the rule count.
    expect(log.filter((l) => l.includes('result=SUCCESS')).length).toBe(2);
    expect(log).toContainEqual(expect.stringMatching(new RegExp(`level=info filename=${join(DIR, 'good.yaml')} result=SUCCESS rulesfound=3$`)));
    expect(log).toContainEqual(expect.stringMatching(/level=error error=".*bad-promql\.yaml: 5:15: group \\"api\\", rule 1, \\"job:requests:rate5m\\": could not parse expression/));
  });

  it("accepts Thanos's partial_response_strategy (an unknown field to promtool) and rejects bad values", async () => {
    const warn = join(DIR, 'thanos/partial-response-warn.yaml');
    const { result } = await check([warn]);
    expect(result.ok).toBe(true);
    expect(result.files[0].rules).toBe(2);
    expect((await promtool(['check', 'rules', warn])).stderr).toContain('field partial_response_strategy not found in type rulefmt.RuleGroup');

    const bad = join(DIR, 'thanos/partial-response-bad.yaml');
    const r = await check([bad]);
    expect(r.result.ok).toBe(false);
    expect(r.result.files[0].errors).toEqual([`${bad}: failed to unmarshal "sometimes" as 'partial_response_strategy'. Possible values are ABORT,WARN`]);
  });

  it('fails a pattern that matches nothing, as Thanos does', async () => {
    const { result, log } = await check([join(DIR, '*.yamlaaa'), join(DIR, 'good.yaml')]);
    expect(result.ok).toBe(false);
    expect(result.unmatched).toEqual([join(DIR, '*.yamlaaa')]);
    expect(result.files.map((f) => f.errors.length)).toEqual([0]);
    expect(log).toContainEqual(expect.stringContaining('result=FAILED error="matching file not found"'));
  });
});

describe('checkDuplicates', () => {
  const rule = (name: string, labels: Record<string, string> = {}, alert = false) => ({
    record: alert ? '' : name,
    alert: alert ? name : '',
    expr: 'up',
    forMs: 0,
    keepFiringForMs: 0,
    labels,
    annotations: {},
    pos: { line: 0, column: 0 },
    exprPos: { line: 0, column: 0 },
  });
  const group = (name: string, rules: ReturnType<typeof rule>[]) => ({ name, intervalMs: 0, queryOffsetMs: null, limit: 0, labels: {}, partialResponseStrategy: 'abort' as const, rules });

  it('finds same name and labels across groups, sorted by name then labels', () => {
    const dups = checkDuplicates([
      group('a', [rule('x', { b: '1', a: '2' }), rule('y'), rule('x', { a: '2' })]),
      group('b', [rule('x', { a: '2', b: '1' }), rule('y', {}, true), rule('x', { a: '2' })]),
    ]);
    expect(dups.map((d) => [d.metric, d.labels, d.rules])).toEqual([
      ['x', [['a', '2']], [{ group: 'a', rule: 3 }, { group: 'b', rule: 3 }]],
      ['x', [['a', '2'], ['b', '1']], [{ group: 'a', rule: 1 }, { group: 'b', rule: 1 }]],
      ['y', [], [{ group: 'a', rule: 2 }, { group: 'b', rule: 2 }]],
    ]);
  });
});
