// `thanos-ts tools rules-check --rules=GLOB`: Thanos's `tools rules-check` (cmd/thanos/
// tools.go checkRulesFiles) with promtool's verdicts. The log lines are Thanos's
// (`msg=checking pattern=…`, `msg=checking filename=…`, `result=SUCCESS rulesfound=N`,
// `result=FAILED` then one `error=…` per error); the file's name is on every result line.
// Which files fail, and why, is `promtool check rules` 2.42's: rulefmt's validation, plus
// its duplicate-rules lint, which promtool reports as FAILED but which does not fail the
// check (exit code 0, as without --lint-fatal).

import { countRules, glob, parseRuleFile } from '@thanos-ts/rules';
import type { RuleGroupConfig, RuleParseOptions } from '@thanos-ts/rules';
import type { Logger } from '@thanos-ts/runtime';
import { normalize } from 'node:path';

export interface RulesCheckOptions {
  /** Rule-file globs (filepath.Glob syntax), checked in order. */
  patterns: readonly string[];
  logger: Logger;
  parse?: RuleParseOptions;
}

export interface RulesCheckFile {
  path: string;
  /** Rules found; 0 when the file has errors or lint findings (promtool prints no count then). */
  rules: number;
  /** Errors that fail the check, each naming the file (and group and rule where known). */
  errors: string[];
  /** Lint findings (duplicate rules): reported, but the file still passes. */
  lint: string[];
}

export interface RulesCheckResult {
  /** False when any pattern matched nothing or any file has errors (exit code 1). */
  ok: boolean;
  files: RulesCheckFile[];
  /** Patterns that matched no file. */
  unmatched: string[];
}

/** Checks every file the patterns match, logging each verdict as Thanos does. */
export async function rulesCheck(opts: RulesCheckOptions): Promise<RulesCheckResult> {
  const { logger } = opts;
  const files: RulesCheckFile[] = [];
  const unmatched: string[] = [];
  for (const pattern of opts.patterns) {
    logger.info({ pattern }, 'checking');
    let matches: string[] = [];
    try {
      matches = await glob(pattern);
    } catch {
      // A malformed pattern is reported as Thanos reports it: as no match.
    }
    if (matches.length === 0) {
      logger.error({ pattern, result: 'FAILED', error: 'matching file not found' });
      unmatched.push(pattern);
      continue;
    }
    for (const path of matches) {
      const filename = normalize(path);
      logger.info({ filename }, 'checking');
      const f = await checkFile(path, opts.parse);
      files.push(f);
      if (f.errors.length > 0) {
        logger.error({ filename, result: 'FAILED' });
        for (const error of f.errors) logger.error({ error });
      } else if (f.lint.length > 0) {
        logger.warn({ filename, result: 'FAILED', lint: true });
        for (const error of f.lint) logger.warn({ error });
      } else {
        logger.info({ filename, result: 'SUCCESS', rulesfound: f.rules });
      }
    }
  }
  return { ok: unmatched.length === 0 && files.every((f) => f.errors.length === 0), files, unmatched };
}

/** One file, as promtool's checkRules: rulefmt errors, else the duplicate-rules lint. */
export async function checkFile(path: string, parse?: RuleParseOptions): Promise<RulesCheckFile> {
  const r = await parseRuleFile(path, parse);
  if (r.errors.length > 0 || !r.file) return { path, rules: 0, errors: r.errors.map((e) => e.message), lint: [] };
  const dups = checkDuplicates(r.file.groups);
  if (dups.length > 0) return { path, rules: 0, errors: [], lint: [`${path}: ${formatDuplicates(dups)}`, ...dups.flatMap((d) => duplicateLines(path, d))] };
  return { path, rules: countRules(r.file), errors: [], lint: [] };
}

/** Where a rule sits: group name and 1-based index, as rulefmt names rules. */
export interface RuleRef {
  group: string;
  rule: number;
}

/** Rules sharing a name and labels within one file (promtool's checkDuplicates). */
export interface DuplicateRule {
  metric: string;
  /** Sorted by name. */
  labels: [string, string][];
  /** Every rule with this name and labels, in file order. */
  rules: RuleRef[];
}

/** promtool's duplicate-rules lint: alerts or records with the same name and labels, across the file's groups. */
export function checkDuplicates(groups: readonly RuleGroupConfig[]): DuplicateRule[] {
  const byKey = new Map<string, DuplicateRule>();
  for (const g of groups) {
    g.rules.forEach((r, i) => {
      const metric = r.alert !== '' ? r.alert : r.record;
      const labels = Object.entries(r.labels).sort(([a], [b]) => compareStrings(a, b));
      const key = JSON.stringify([metric, labels]);
      let d = byKey.get(key);
      if (!d) byKey.set(key, (d = { metric, labels, rules: [] }));
      d.rules.push({ group: g.name, rule: i + 1 });
    });
  }
  return [...byKey.values()].filter((d) => d.rules.length > 1).sort(compareDuplicates);
}

/** promtool's message for the lint, without its "lint error" sentinel's wrapping. */
export function formatDuplicates(dups: readonly DuplicateRule[]): string {
  let msg = `lint error ${dups.length} duplicate rule(s) found.\n`;
  for (const d of dups) {
    msg += `Metric: ${d.metric}\nLabel(s):\n`;
    for (const [n, v] of d.labels) msg += `\t${n}: ${v}\n`;
  }
  return msg + 'Might cause inconsistency while recording expressions';
}

/** Our addition to promtool's lint: which group and rule repeat which. */
function duplicateLines(path: string, d: DuplicateRule): string[] {
  const [first, ...rest] = d.rules;
  return rest.map(
    (r) => `${path}: group ${JSON.stringify(r.group)}, rule ${r.rule}, ${JSON.stringify(d.metric)}: duplicate rule: same name and labels as group ${JSON.stringify(first.group)}, rule ${first.rule}`,
  );
}

function compareDuplicates(a: DuplicateRule, b: DuplicateRule): number {
  const c = compareStrings(a.metric, b.metric);
  if (c !== 0) return c;
  // labels.Compare: pairwise by name then value, then the shorter set first.
  const n = Math.min(a.labels.length, b.labels.length);
  for (let i = 0; i < n; i++) {
    const byName = compareStrings(a.labels[i][0], b.labels[i][0]);
    if (byName !== 0) return byName;
    const byValue = compareStrings(a.labels[i][1], b.labels[i][1]);
    if (byValue !== 0) return byValue;
  }
  return a.labels.length - b.labels.length;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
