// The generatorURL of the ruler's alerts (Thanos cmd/thanos/rule.go): --alert.query-url
// followed by --alert.query-template executed with the rule's expression, query-escaped,
// as `.Expr`. The template is Go text/template; the only action a link needs, and the
// only one accepted here, is `{{.Expr}}` (spaces and trim markers allowed).

import { queryEscape } from '../go-url.js';

export { queryEscape };

export const DEFAULT_ALERT_QUERY_TEMPLATE = '/graph?g0.expr={{.Expr}}&g0.tab=1';

const ACTION = /(\s*)\{\{(-\s)?\s*\.Expr\s*(\s-)?\}\}(\s*)/g;

/**
 * Checks a --alert.query-template (Thanos validateTemplate).
 *
 * @throws Error saying what is wrong
 */
export function validateQueryTemplate(template: string): void {
  const rest = template.replace(ACTION, '');
  if (rest.includes('{{')) throw new Error(`failed to parse the template: only {{.Expr}} is supported in ${JSON.stringify(template)}`);
}

/** Thanos tableLinkForExpression: the template with `.Expr` set to the escaped expression. */
export function tableLinkForExpression(template: string, expr: string): string {
  validateQueryTemplate(template);
  const escaped = queryEscape(expr);
  return template.replace(ACTION, (_m, before: string, trimLeft: string | undefined, trimRight: string | undefined, after: string) => {
    return (trimLeft ? '' : before) + escaped + (trimRight ? '' : after);
  });
}

/** The generatorURL of an alert from a rule with expression `expr`. */
export function alertGeneratorURL(queryURL: string, template: string, expr: string): string {
  return queryURL + tableLinkForExpression(template, expr);
}
