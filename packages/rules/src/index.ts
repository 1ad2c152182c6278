// @thanos-ts/rules: Prometheus rules for the ruler and `tools rules-check`.
export type { Alert, AlertSender, QueryFunc, RuleFile, RuleGroupConfig, RuleNode, TemplateData, TemplateExpander, VectorSample, YamlPos } from './types.js';
export * from './notifier/index.js';
export * from './rulefmt/index.js';
export * from './manager/index.js';
export * from './template/index.js';
