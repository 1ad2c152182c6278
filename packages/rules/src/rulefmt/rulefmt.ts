// Prometheus rule files (model/rulefmt): Parse and ParseFile, with Thanos's group field
// `partial_response_strategy`. A file is valid when it yields no errors; the groups are
// returned even with validation errors (as rulefmt.Parse returns them), so tools can
// count rules, but nothing should run a file that has errors.

import { readFile } from 'node:fs/promises';
import type { RuleFile, RuleGroupConfig, RuleNode } from '../types.js';
import { decodeRuleGroups } from './decode.js';
import type { RawGroup, RawRule } from './decode.js';
import { RuleFileErrors } from './errors.js';
import { validateGroups } from './validate.js';
import type { ValidateOptions } from './validate.js';

export type RuleParseOptions = ValidateOptions;

export interface ParsedRules {
  /** null when the YAML could not be decoded into groups. */
  groups: RuleGroupConfig[] | null;
  /** Everything wrong, in rulefmt's order and words; empty for a valid file. */
  errors: Error[];
}

/** rulefmt.Parse: decodes and validates rule-file content. */
export function parseRules(content: string | Uint8Array, opts: RuleParseOptions = {}): ParsedRules {
  const { decoded, errors } = decodeRuleGroups(content);
  if (!decoded) return { groups: null, errors: errors.map((m) => new Error(m)) };
  return { groups: decoded.groups.map(toGroupConfig), errors: validateGroups(decoded.groups, decoded.groupPos, opts) };
}

export interface ParsedRuleFile {
  file: RuleFile | null;
  /** Each error's message starts with the file's path, as rulefmt.ParseFile prefixes it. */
  errors: Error[];
}

/** rulefmt.ParseFile: reads, decodes and validates one rule file. */
export async function parseRuleFile(path: string, opts: RuleParseOptions = {}): Promise<ParsedRuleFile> {
  let content: Buffer;
  try {
    content = await readFile(path);
  } catch (err) {
    return { file: null, errors: [new Error(`${path}: ${goFileError(err, path)}`, { cause: err })] };
  }
  const { groups, errors } = parseRules(content, opts);
  return {
    file: groups ? { path, groups } : null,
    errors: errors.map((e) => new Error(`${path}: ${e.message}`, { cause: e })),
  };
}

/** Parses rule files for evaluation: all of them, or a RuleFileErrors with every error of every file. */
export async function loadRuleFiles(paths: readonly string[], opts: RuleParseOptions = {}): Promise<RuleFile[]> {
  const files: RuleFile[] = [];
  const errors: Error[] = [];
  for (const p of paths) {
    const r = await parseRuleFile(p, opts);
    errors.push(...r.errors);
    if (r.file) files.push(r.file);
  }
  if (errors.length > 0) throw new RuleFileErrors(errors);
  return files;
}

/** How many rules a file holds (promtool's "N rules found"). */
export function countRules(file: Pick<RuleFile, 'groups'>): number {
  return file.groups.reduce((n, g) => n + g.rules.length, 0);
}

function toGroupConfig(g: RawGroup): RuleGroupConfig {
  return {
    name: g.name,
    intervalMs: g.intervalMs,
    queryOffsetMs: g.queryOffsetMs,
    limit: g.limit,
    labels: Object.fromEntries(g.labels),
    partialResponseStrategy: g.partialResponseStrategy,
    rules: g.rules.map(toRuleNode),
  };
}

function toRuleNode(r: RawRule): RuleNode {
  return {
    record: r.record.value,
    alert: r.alert.value,
    expr: r.expr.value,
    forMs: r.forMs,
    keepFiringForMs: r.keepFiringForMs,
    labels: Object.fromEntries(r.labels),
    annotations: Object.fromEntries(r.annotations),
    pos: r.pos,
    exprPos: r.expr.pos ?? { line: 0, column: 0 },
  };
}

/** Go's os.ReadFile error text ("open x: no such file or directory") for a Node fs error. */
function goFileError(err: unknown, path: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return `open ${path}: no such file or directory`;
    case 'EACCES':
      return `open ${path}: permission denied`;
    case 'EISDIR':
      return `read ${path}: is a directory`;
    default:
      return (err as Error).message;
  }
}
