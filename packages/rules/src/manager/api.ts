// What /api/v1/rules and /api/v1/alerts return (Prometheus web/api/v1/api.go `rules`,
// `alerts`), as plain objects ready for JSON.stringify, and the same groups as the
// thanos.Rules gRPC service sends them (Thanos pkg/rules/manager.go toProto). The
// protobuf shapes are declared here structurally, matching @thanos-ts/storeapi's
// RuleGroup types, so this package needs no gRPC dependency.

import type { Labels, Matcher } from '@thanos-ts/tsdb';
import { alertStateString, type ActiveAlert, type AlertingRule } from './alerting-rule.js';
import type { Group, PartialResponseStrategy, Rule } from './group.js';
import { formatFloatE, formatGoTime, GO_ZERO_TIME_UNIX_SECONDS } from './go-compat.js';

// ---------------------------------------------------------------------------------------
// Prometheus JSON.

export interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  activeAt?: string;
  keepFiringSince?: string;
  value: string;
}

export interface ApiAlertingRule {
  state: string;
  name: string;
  query: string;
  duration: number;
  keepFiringFor: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  alerts: ApiAlert[];
  health: string;
  lastError?: string;
  evaluationTime: number;
  lastEvaluation: string;
  type: 'alerting';
}

export interface ApiRecordingRule {
  name: string;
  query: string;
  labels: Record<string, string>;
  health: string;
  lastError?: string;
  evaluationTime: number;
  lastEvaluation: string;
  type: 'recording';
}

export interface ApiRuleGroup {
  name: string;
  file: string;
  rules: Array<ApiAlertingRule | ApiRecordingRule>;
  interval: number;
  limit: number;
  evaluationTime: number;
  lastEvaluation: string;
}

/** The /api/v1/rules query parameters Prometheus honours (pagination aside). */
export interface RulesFilter {
  /** `type`: only alerting or only recording rules. */
  type?: 'alert' | 'record';
  /** `rule_name[]`. */
  ruleName?: readonly string[];
  /** `rule_group[]`. */
  ruleGroup?: readonly string[];
  /** `file[]`. */
  file?: readonly string[];
  /** `exclude_alerts`. */
  excludeAlerts?: boolean;
  /** `match[]`, parsed: a rule matches when its labels match every matcher of any set. */
  matcherSets?: ReadonlyArray<readonly Matcher[]>;
}

/** labels.Labels as JSON: an object in label order. */
function labelsObject(ls: Labels): Record<string, string> {
  const o: Record<string, string> = {};
  for (const l of ls) o[l.name] = l.value;
  return o;
}

/** rulesAlertsToAPIAlerts. */
export function apiAlerts(alerts: readonly ActiveAlert[]): ApiAlert[] {
  return alerts.map((a) => {
    const o: ApiAlert = {
      labels: labelsObject(a.labels),
      annotations: labelsObject(a.annotations),
      state: alertStateString(a.state),
      activeAt: formatGoTime(a.activeAt),
      value: formatFloatE(a.value),
    };
    if (a.keepFiringSince !== null) o.keepFiringSince = formatGoTime(a.keepFiringSince);
    return o;
  });
}

function matchesSets(sets: ReadonlyArray<readonly Matcher[]> | undefined, ls: Labels): boolean {
  if (sets === undefined || sets.length === 0) return true;
  const get = (n: string): string => ls.find((l) => l.name === n)?.value ?? '';
  return sets.some((ms) => ms.every((m) => m.matches(get(m.name))));
}

function apiRule(r: Rule, excludeAlerts: boolean): ApiAlertingRule | ApiRecordingRule {
  const common = {
    name: r.name,
    query: r.query,
    labels: labelsObject(r.labels),
    health: r.health,
    ...(r.lastError !== null ? { lastError: r.lastError.message } : {}),
    evaluationTime: r.evaluationDurationMs / 1000,
    lastEvaluation: formatGoTime(r.evaluationTimestamp),
  };
  if (r.kind === 'recording') {
    return { name: common.name, query: common.query, labels: common.labels, health: common.health, ...(r.lastError !== null ? { lastError: r.lastError.message } : {}), evaluationTime: common.evaluationTime, lastEvaluation: common.lastEvaluation, type: 'recording' };
  }
  return {
    state: alertStateString(r.state()),
    name: r.name,
    query: r.query,
    duration: r.holdDurationMs / 1000,
    keepFiringFor: r.keepFiringForMs / 1000,
    labels: common.labels,
    annotations: labelsObject(r.annotations),
    alerts: excludeAlerts ? [] : apiAlerts(r.activeAlerts()),
    health: r.health,
    ...(r.lastError !== null ? { lastError: r.lastError.message } : {}),
    evaluationTime: common.evaluationTime,
    lastEvaluation: common.lastEvaluation,
    type: 'alerting',
  };
}

/**
 * The `data` of /api/v1/rules: `{groups: [...]}`; groups whose rules were all filtered
 * out are left out, as Prometheus does.
 */
export function apiRuleGroups(groups: readonly Group[], f: RulesFilter = {}): { groups: ApiRuleGroup[] } {
  const out: ApiRuleGroup[] = [];
  const names = f.ruleName && f.ruleName.length > 0 ? new Set(f.ruleName) : null;
  const gnames = f.ruleGroup && f.ruleGroup.length > 0 ? new Set(f.ruleGroup) : null;
  const files = f.file && f.file.length > 0 ? new Set(f.file) : null;
  for (const g of groups) {
    if (gnames !== null && !gnames.has(g.name)) continue;
    if (files !== null && !files.has(g.file)) continue;
    const rules: Array<ApiAlertingRule | ApiRecordingRule> = [];
    for (const r of g.rules) {
      if (!matchesSets(f.matcherSets, r.labels)) continue;
      if (names !== null && !names.has(r.name)) continue;
      if (f.type === 'alert' && r.kind !== 'alerting') continue;
      if (f.type === 'record' && r.kind !== 'recording') continue;
      rules.push(apiRule(r, f.excludeAlerts ?? false));
    }
    if (rules.length === 0) continue;
    out.push({
      name: g.name,
      file: g.file,
      rules,
      interval: g.intervalMs / 1000,
      limit: g.limit,
      evaluationTime: g.evaluationTimeMs / 1000,
      lastEvaluation: formatGoTime(g.lastEvaluation),
    });
  }
  return { groups: out };
}

/** The `data` of /api/v1/alerts: every active alert of every alerting rule. */
export function apiAlertsData(rules: readonly AlertingRule[]): { alerts: ApiAlert[] } {
  return { alerts: rules.flatMap((r) => apiAlerts(r.activeAlerts())) };
}

// ---------------------------------------------------------------------------------------
// thanos.Rules protobuf messages (proto/thanos/rules.proto).

export interface ProtoTimestamp {
  seconds: number;
  nanos: number;
}

export interface ProtoAlertInstance {
  labels: { labels: Labels };
  annotations: { labels: Labels };
  state: number;
  activeAt: ProtoTimestamp | null;
  value: string;
  PartialResponseStrategy: number;
}

export interface ProtoAlertingRule {
  state: number;
  name: string;
  query: string;
  durationSeconds: number;
  labels: { labels: Labels };
  annotations: { labels: Labels };
  alerts: ProtoAlertInstance[];
  health: string;
  lastError: string;
  evaluationDurationSeconds: number;
  lastEvaluation: ProtoTimestamp;
  keepFiringForSeconds: number;
}

export interface ProtoRecordingRule {
  name: string;
  query: string;
  labels: { labels: Labels };
  health: string;
  lastError: string;
  evaluationDurationSeconds: number;
  lastEvaluation: ProtoTimestamp;
}

export interface ProtoRule {
  recording?: ProtoRecordingRule;
  alert?: ProtoAlertingRule;
}

export interface ProtoRuleGroup {
  name: string;
  file: string;
  rules: ProtoRule[];
  interval: number;
  evaluationDurationSeconds: number;
  lastEvaluation: ProtoTimestamp;
  limit: number;
  PartialResponseStrategy: number;
}

/** thanos.PartialResponseStrategy numbers. */
export function partialResponseStrategyNumber(s: PartialResponseStrategy): number {
  return s === 'warn' ? 0 : 1;
}

/** A Go time as gogoproto stdtime sends it; Go's zero time for null. */
export function protoTimestamp(ms: number | null): ProtoTimestamp {
  if (ms === null) return { seconds: GO_ZERO_TIME_UNIX_SECONDS, nanos: 0 };
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** ActiveAlertsToProto. */
export function protoActiveAlerts(strategy: PartialResponseStrategy, rule: AlertingRule): ProtoAlertInstance[] {
  const s = partialResponseStrategyNumber(strategy);
  return rule.activeAlerts().map((a) => ({
    labels: { labels: a.labels },
    annotations: { labels: a.annotations },
    state: a.state,
    activeAt: protoTimestamp(a.activeAt),
    value: formatFloatE(a.value),
    PartialResponseStrategy: s,
  }));
}

/** Labels with the external labels set over them (labelpb.ExtendSortedLabels: external wins). */
function extendLabels(ls: Labels, ext: Labels): Labels {
  if (ext.length === 0) return ls;
  const m = new Map<string, string>();
  for (const l of ls) m.set(l.name, l.value);
  for (const l of ext) m.set(l.name, l.value);
  return [...m].map(([name, value]) => ({ name, value })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The groups as thanos.Rules sends them (Manager.Rules): `type` filters the rules
 * (groups stay, possibly empty, as Thanos does) and every rule's labels are extended with
 * the external labels (enrichRulesWithExtLabels).
 */
export function protoRuleGroups(groups: readonly Group[], externalLabels: Labels, type?: 'alert' | 'record'): ProtoRuleGroup[] {
  return groups.map((g) => {
    const rules: ProtoRule[] = [];
    for (const r of g.rules) {
      if (type === 'alert' && r.kind !== 'alerting') continue;
      if (type === 'record' && r.kind !== 'recording') continue;
      const labels = { labels: extendLabels(r.labels, externalLabels) };
      const lastError = r.lastError?.message ?? '';
      if (r.kind === 'recording') {
        rules.push({
          recording: {
            name: r.name,
            query: r.query,
            labels,
            health: r.health,
            lastError,
            evaluationDurationSeconds: r.evaluationDurationMs / 1000,
            lastEvaluation: protoTimestamp(r.evaluationTimestamp),
          },
        });
        continue;
      }
      rules.push({
        alert: {
          state: r.state(),
          name: r.name,
          query: r.query,
          durationSeconds: r.holdDurationMs / 1000,
          labels,
          annotations: { labels: r.annotations },
          alerts: protoActiveAlerts(g.strategy, r),
          health: r.health,
          lastError,
          evaluationDurationSeconds: r.evaluationDurationMs / 1000,
          lastEvaluation: protoTimestamp(r.evaluationTimestamp),
          keepFiringForSeconds: r.keepFiringForMs / 1000,
        },
      });
    }
    return {
      name: g.name,
      file: g.file,
      rules,
      interval: g.intervalMs / 1000,
      evaluationDurationSeconds: g.evaluationTimeMs / 1000,
      lastEvaluation: protoTimestamp(g.lastEvaluation),
      limit: g.limit,
      PartialResponseStrategy: partialResponseStrategyNumber(g.strategy),
    };
  });
}

/** Manager.Active: every active alert with its group's strategy (Thanos ruler's /api/v1/alerts). */
export function protoAlerts(groups: readonly Group[]): ProtoAlertInstance[] {
  return groups.flatMap((g) => g.alertingRules().flatMap((r) => protoActiveAlerts(g.strategy, r)));
}


