// Rule-file errors, rendered as Prometheus's rulefmt renders them (rulefmt.Error and
// WrappedError): `5:15: group "g1", rule 1, "job:up:sum": could not parse expression: …`.
// A position is printed only where rulefmt has a YAML node to cite; an absent field is
// Go's zero node and prints as "0:0".

import { quoteGo } from '@thanos-ts/promql';
import type { YamlPos } from '../types.js';

/** A semantic error in one rule (rulefmt.Error): group, 1-based rule index, rule name. */
export class RuleError extends Error {
  override readonly name = 'RuleError';

  constructor(
    readonly group: string,
    /** 1-based index of the rule in its group. */
    readonly rule: number,
    /** The alert or record name ('' when neither is set). */
    readonly ruleName: string,
    /** What is wrong, e.g. "could not parse expression: …". */
    readonly detail: string,
    /** The node the error cites, and a second one (record and alert both set). */
    readonly pos?: YamlPos,
    readonly posAlt?: YamlPos,
    options?: ErrorOptions,
  ) {
    super(formatRuleError(group, rule, ruleName, detail, pos, posAlt), options);
  }
}

function formatRuleError(group: string, rule: number, ruleName: string, detail: string, pos?: YamlPos, posAlt?: YamlPos): string {
  let where = '';
  if (pos) where += `${pos.line}:${pos.column}: `;
  if (pos && posAlt) where += `${posAlt.line}:${posAlt.column}: `;
  return `${where}group ${quoteGo(group)}, rule ${rule}, ${quoteGo(ruleName)}: ${detail}`;
}

/** Every error found in one or more rule files; the message lists them one per line. */
export class RuleFileErrors extends Error {
  override readonly name = 'RuleFileErrors';

  constructor(readonly errors: Error[]) {
    super(errors.map((e) => e.message).join('\n'));
  }
}
