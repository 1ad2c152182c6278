// The rule manager: rule groups, their evaluation, alert state and restore, the API views.
export { RuleManager, RuleLoadError } from './manager.js';
export type { RuleManagerOptions } from './manager.js';
export { Group, groupKey } from './group.js';
export type { Appendable, GroupOptions, PartialResponseStrategy, Rule } from './group.js';
export { AlertingRule, AlertState, alertStateString, ALERT_METRIC_NAME, ALERT_FOR_STATE_METRIC_NAME, ERR_DUPLICATE_ALERT_LABEL_SET, RESOLVED_RETENTION_MS } from './alerting-rule.js';
export type { ActiveAlert } from './alerting-rule.js';
export { RecordingRule, ERR_DUPLICATE_RECORDING_LABEL_SET } from './recording-rule.js';
export type { RuleHealth, RuleSample } from './rule.js';
export { forStateFromQueryable, forStateFromQuery } from './restore.js';
export type { ForStateSample, ForStateSource } from './restore.js';
export { RuleMetrics } from './metrics.js';
export { systemClock, FakeClock } from './clock.js';
export type { Clock } from './clock.js';
export { apiAlerts, apiAlertsData, apiRuleGroups, protoActiveAlerts, protoAlerts, protoRuleGroups, protoTimestamp, partialResponseStrategyNumber } from './api.js';
export type {
  ApiAlert,
  ApiAlertingRule,
  ApiRecordingRule,
  ApiRuleGroup,
  RulesFilter,
  ProtoAlertInstance,
  ProtoAlertingRule,
  ProtoRecordingRule,
  ProtoRule,
  ProtoRuleGroup,
  ProtoTimestamp,
} from './api.js';
export { formatGoTime, formatFloatE } from './go-compat.js';
