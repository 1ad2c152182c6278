// Rule files: parse and validate as Prometheus's rulefmt (with Thanos's
// partial_response_strategy), and expand rule-file globs as Go's filepath.Glob.
export { parseRules, parseRuleFile, loadRuleFiles, countRules } from './rulefmt.js';
export type { ParsedRules, ParsedRuleFile, RuleParseOptions } from './rulefmt.js';
export { RuleError, RuleFileErrors } from './errors.js';
export { isValidLabelName, isValidMetricName } from './validate.js';
export { glob, BadPatternError } from './glob.js';
