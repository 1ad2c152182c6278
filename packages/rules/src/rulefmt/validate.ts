// The checks of Prometheus's rulefmt (RuleGroups.Validate, RuleNode.Validate,
// testTemplateParsing) in its order, with its messages. Names are checked with the legacy
// (pre-UTF-8) scheme of Prometheus 2.x, which promtool 2.42 and Thanos's ruler apply.

import { NO_FEATURES, parseExpr, quoteGo } from '@thanos-ts/promql';
import type { ParseOptions } from '@thanos-ts/promql';
import { checkAlertTemplate } from '../template/index.js';
import type { YamlPos } from '../types.js';
import type { RawGroup, RawRule } from './decode.js';
import { RuleError } from './errors.js';

export interface ValidateOptions {
  /** PromQL syntax switches; Prometheus's defaults (no experimental syntax) if absent. */
  promql?: ParseOptions;
}

const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const METRIC_NAME_LABEL = '__name__';

/** model.LabelName.IsValid under the legacy scheme. */
export function isValidLabelName(name: string): boolean {
  return LABEL_NAME_RE.test(name);
}

/** model.IsValidMetricName under the legacy scheme. */
export function isValidMetricName(name: string): boolean {
  return METRIC_NAME_RE.test(name);
}

/** model.LabelValue.IsValid: valid UTF-8 (in JS: no lone surrogates). */
function isValidLabelValue(v: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(v);
}

/** RuleGroups.Validate: group names, then every rule; groupPos are the raw group nodes' positions. */
export function validateGroups(groups: RawGroup[], groupPos: YamlPos[], opts: ValidateOptions = {}): Error[] {
  const errs: Error[] = [];
  const seen = new Set<string>();
  groups.forEach((g, j) => {
    const p = groupPos[j] ?? { line: 0, column: 0 };
    if (g.name === '') errs.push(new Error(`${p.line}:${p.column}: Groupname must not be empty`));
    if (seen.has(g.name)) errs.push(new Error(`${p.line}:${p.column}: groupname: "${g.name}" is repeated in the same file`));
    seen.add(g.name);
    // Group labels (Prometheus 3.x) are checked without a position, as Prometheus does.
    for (const [k, v] of g.labels) {
      if (!isValidLabelName(k) || k === METRIC_NAME_LABEL) errs.push(new Error(`invalid label name: ${k}`));
      if (!isValidLabelValue(v)) errs.push(new Error(`invalid label value: ${v}`));
    }
    g.rules.forEach((r, i) => {
      const name = r.alert.value !== '' ? r.alert.value : r.record.value;
      for (const e of validateRule(r, opts)) {
        errs.push(new RuleError(g.name, i + 1, name, e.detail, e.pos, e.posAlt, e.cause !== undefined ? { cause: e.cause } : undefined));
      }
    });
  });
  return errs;
}

interface RuleProblem {
  detail: string;
  pos?: YamlPos;
  posAlt?: YamlPos;
  cause?: unknown;
}

const ZERO: YamlPos = { line: 0, column: 0 };

/** RuleNode.Validate: what is wrong with one rule, in Prometheus's order. */
export function validateRule(r: RawRule, opts: ValidateOptions = {}): RuleProblem[] {
  const out: RuleProblem[] = [];
  const recordPos = r.record.pos ?? ZERO;
  const record = r.record.value;
  const alert = r.alert.value;
  if (record !== '' && alert !== '') {
    out.push({ detail: "only one of 'record' and 'alert' must be set", pos: recordPos, posAlt: r.alert.pos ?? ZERO });
  }
  if (record === '' && alert === '') out.push({ detail: "one of 'record' or 'alert' must be set", pos: recordPos });

  if (r.expr.value === '') {
    out.push({ detail: "field 'expr' must be set in rule", pos: r.expr.pos ?? ZERO });
  } else {
    try {
      parseExpr(r.expr.value, opts.promql ?? NO_FEATURES);
    } catch (err) {
      out.push({ detail: `could not parse expression: ${(err as Error).message}`, pos: r.expr.pos ?? ZERO, cause: err });
    }
  }

  if (record !== '') {
    if (r.annotations.size > 0) out.push({ detail: "invalid field 'annotations' in recording rule", pos: recordPos });
    if (r.forMs !== 0) out.push({ detail: "invalid field 'for' in recording rule", pos: recordPos });
    if (r.keepFiringForMs !== 0) out.push({ detail: "invalid field 'keep_firing_for' in recording rule", pos: recordPos });
    if (!isValidMetricName(record)) out.push({ detail: `invalid recording rule name: ${record}`, pos: recordPos });
  }

  for (const [k, v] of r.labels) {
    if (!isValidLabelName(k) || k === METRIC_NAME_LABEL) out.push({ detail: `invalid label name: ${k}` });
    if (!isValidLabelValue(v)) out.push({ detail: `invalid label value: ${v}` });
  }
  for (const k of r.annotations.keys()) {
    if (!isValidLabelName(k)) out.push({ detail: `invalid annotation name: ${k}` });
  }
  out.push(...templateProblems(r));
  return out;
}

/** testTemplateParsing: the labels and annotations of an alerting rule must parse as templates. */
function templateProblems(r: RawRule): RuleProblem[] {
  if (r.alert.value === '') return [];
  const out: RuleProblem[] = [];
  const check = (kind: string, key: string, text: string): void => {
    const err = checkAlertTemplate(r.alert.value, text);
    if (err) out.push({ detail: `${kind} ${quoteGo(key)}: ${err.message}`, cause: err });
  };
  for (const [k, v] of r.labels) check('label', k, v);
  for (const [k, v] of r.annotations) check('annotation', k, v);
  return out;
}
