// Rules across the endpoints (Thanos pkg/rules/proxy.go and rules.go): the proxy fans
// thanos.Rules out; collectRules applies the match[], rule_name[], rule_group[] and
// file[] filters, merges groups of the same file and name, and deduplicates the rules
// of HA replicas: replica labels are dropped from every rule's labels, and rules that
// are then the same (type, name, labels, query and, for alerts, `for`) are kept once,
// preferring the most critical alert state, then the latest evaluation.
//
// Thanos re-sorts the rules of a group by type and name; here each group keeps the order
// its rules first arrived in (Prometheus's rule file order), which is what a Prometheus
// user sees without a querier in front.

import { labelsEqual } from '@thanos-ts/tsdb';
import type { Labels, Matcher } from '@thanos-ts/tsdb';
import { AlertState, CollectingSink, formatRFC3339, thanos } from '@thanos-ts/storeapi';
import type {
  AlertingRule,
  AlertInstance,
  RecordingRule,
  ResponseSink,
  Rule,
  RuleGroup,
  RulesAPI,
  RulesRequest,
  RulesRequestInit,
  RulesRequestType,
  Timestamp,
} from '@thanos-ts/storeapi';
import { fanOut, withoutReplicaLabels } from './fanout.js';
import type { ApiProxyOptions } from './fanout.js';
import { jsonString, labelsJSON } from '../api/json.js';

/** thanos.Rules over every endpoint advertising it. */
export class RulesProxy implements RulesAPI {
  constructor(private readonly opts: ApiProxyOptions) {}

  rules(req: RulesRequest | RulesRequestInit, sink: ResponseSink<RuleGroup>, signal: AbortSignal): Promise<void> {
    const abort = req.partialResponseStrategy === thanos.PartialResponseStrategy.ABORT;
    const r: RulesRequestInit = {
      type: req.type,
      partialResponseStrategy: req.partialResponseStrategy,
      matcherString: req.matcherString,
      ruleName: req.ruleName,
      ruleGroup: req.ruleGroup,
      file: req.file,
    };
    return fanOut('Rules', this.opts.endpoints(), (e, o) => e.client.rules(r, o), sink, abort, signal, this.opts);
  }
}

export interface RulesQuery {
  type: RulesRequestType;
  partialResponse: boolean;
  /** match[]: a rule is kept when one set matches its (non-templated) labels. */
  matcherSets: readonly (readonly Matcher[])[];
  ruleNames: readonly string[];
  ruleGroups: readonly string[];
  files: readonly string[];
  /** Dropped from rule labels before deduplicating; empty: no deduplication. */
  replicaLabels: readonly string[];
}

/** The rule groups of all endpoints, filtered, merged and deduplicated (Thanos rules.GRPCClient). */
export async function collectRules(proxy: RulesAPI, q: RulesQuery, signal: AbortSignal): Promise<{ groups: RuleGroup[]; warnings: string[] }> {
  const sink = new CollectingSink<RuleGroup>();
  await proxy.rules(
    {
      type: q.type,
      partialResponseStrategy: q.partialResponse ? thanos.PartialResponseStrategy.WARN : thanos.PartialResponseStrategy.ABORT,
      ruleName: [...q.ruleNames],
      ruleGroup: [...q.ruleGroups],
      file: [...q.files],
    } as RulesRequest,
    sink,
    signal,
  );
  let groups = sink.payloads.map(copyGroup);
  groups = filterRules(groups, q);
  groups = mergeGroups(groups);
  const replicas = new Set(q.replicaLabels);
  for (const g of groups) g.rules = dedupRules(g.rules, replicas);
  return { groups, warnings: sink.warnings };
}

/** A shallow copy we may change (decoded messages read defaults from their prototypes). */
function copyGroup(g: RuleGroup): RuleGroup {
  return {
    name: g.name,
    file: g.file,
    rules: [...(g.rules ?? [])],
    interval: g.interval ?? 0,
    evaluationDurationSeconds: g.evaluationDurationSeconds ?? 0,
    lastEvaluation: g.lastEvaluation ?? null,
    limit: Number(g.limit ?? 0),
  };
}

function ruleOf(r: Rule): AlertingRule | RecordingRule | null {
  return r.alert ?? r.recording ?? null;
}

function ruleLabels(r: Rule) {
  return ruleOf(r)?.labels?.labels ?? [];
}

/** Label values with a template action ({{ … }}) are not matched against (Thanos `matches`). */
function matchesAnySet(sets: readonly (readonly Matcher[])[], r: Rule): boolean {
  const ls = ruleLabels(r).filter((l) => !l.value.includes('{{'));
  const get = (name: string): string => ls.find((l) => l.name === name)?.value ?? '';
  return sets.some((ms) => ms.every((m) => m.matches(get(m.name))));
}

function filterRules(groups: RuleGroup[], q: RulesQuery): RuleGroup[] {
  const names = new Set(q.ruleNames);
  const groupNames = new Set(q.ruleGroups);
  const files = new Set(q.files);
  const byLabels = q.matcherSets.length > 0;
  if (!byLabels && names.size === 0 && groupNames.size === 0 && files.size === 0) return groups;
  const out: RuleGroup[] = [];
  for (const g of groups) {
    if (groupNames.size > 0 && !groupNames.has(g.name)) continue;
    if (files.size > 0 && !files.has(g.file)) continue;
    let rules = g.rules;
    if (names.size > 0) rules = rules.filter((r) => names.has(ruleOf(r)?.name ?? ''));
    if (byLabels) rules = rules.filter((r) => matchesAnySet(q.matcherSets, r));
    if (rules.length > 0) out.push({ ...g, rules });
  }
  return out;
}

/** Groups of the same file and name as one, sorted by file, then name (Prometheus's group key order). */
function mergeGroups(groups: RuleGroup[]): RuleGroup[] {
  const byKey = new Map<string, RuleGroup>();
  for (const g of groups) {
    const key = `${g.file};${g.name}`;
    const have = byKey.get(key);
    if (have) have.rules.push(...g.rules);
    else byKey.set(key, g);
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => g);
}

function timeOf(t: Timestamp | null | undefined): number {
  return t ? Number(t.seconds ?? 0) * 1e9 + (t.nanos ?? 0) : -Infinity;
}

/** Whether two rules (replica labels already dropped) are the same rule of different replicas. */
function sameRule(a: Rule, b: Rule): boolean {
  const x = ruleOf(a);
  const y = ruleOf(b);
  if (!x || !y || !!a.alert !== !!b.alert) return false;
  if (x.name !== y.name || x.query !== y.query || !labelsEqual(x.labels?.labels ?? [], y.labels?.labels ?? [])) return false;
  return !a.alert || (a.alert.durationSeconds ?? 0) === (b.alert!.durationSeconds ?? 0);
}

/** Whether replica b's copy of a rule is to be shown instead of a's (Thanos Alert/RecordingRule Compare). */
function better(a: Rule, b: Rule): boolean {
  if (a.alert && b.alert) {
    const sa = a.alert.state ?? AlertState.UNKNOWN;
    const sb = b.alert.state ?? AlertState.UNKNOWN;
    if (sa !== sb) return sb > sa;
  }
  return timeOf(ruleOf(b)?.lastEvaluation) > timeOf(ruleOf(a)?.lastEvaluation);
}

/** Rules with the replica labels dropped, each rule once (Thanos dedupRules), in first-seen order. */
export function dedupRules(rules: readonly Rule[], replicaLabels: ReadonlySet<string>): Rule[] {
  const out: Rule[] = [];
  // Candidates by name: replicas of one rule share it.
  const byName = new Map<string, number[]>();
  for (const r0 of rules) {
    const r = withRuleLabels(r0, replicaLabels);
    const name = ruleOf(r)?.name ?? '';
    const idx = byName.get(name) ?? [];
    const i = replicaLabels.size > 0 ? idx.find((j) => sameRule(out[j], r)) : undefined;
    if (i === undefined) {
      idx.push(out.length);
      byName.set(name, idx);
      out.push(r);
    } else if (better(out[i], r)) {
      out[i] = r;
    }
  }
  return out;
}

function withRuleLabels(r: Rule, replicaLabels: ReadonlySet<string>): Rule {
  const x = ruleOf(r);
  if (!x || replicaLabels.size === 0) return r;
  const ls = x.labels?.labels ?? [];
  const stripped = withoutReplicaLabels(ls, replicaLabels);
  if (stripped === ls) return r;
  return r.alert ? { alert: { ...copyAlert(r.alert), labels: { labels: stripped } } } : { recording: { ...copyRecording(r.recording!), labels: { labels: stripped } } };
}

function copyAlert(a: AlertingRule): AlertingRule {
  return {
    state: a.state,
    name: a.name,
    query: a.query,
    durationSeconds: a.durationSeconds,
    labels: a.labels,
    annotations: a.annotations,
    alerts: a.alerts,
    health: a.health,
    lastError: a.lastError,
    evaluationDurationSeconds: a.evaluationDurationSeconds,
    lastEvaluation: a.lastEvaluation,
    keepFiringForSeconds: a.keepFiringForSeconds,
  };
}

function copyRecording(r: RecordingRule): RecordingRule {
  return {
    name: r.name,
    query: r.query,
    labels: r.labels,
    health: r.health,
    lastError: r.lastError,
    evaluationDurationSeconds: r.evaluationDurationSeconds,
    lastEvaluation: r.lastEvaluation,
  };
}

// ---------------------------------------------------------------------------
// Prometheus's JSON (web/api/v1/api.go RuleDiscovery, AlertingRule, RecordingRule, Alert)
// ---------------------------------------------------------------------------

const STATE_NAMES: Record<number, string> = {
  [AlertState.UNKNOWN]: 'unknown',
  [AlertState.INACTIVE]: 'inactive',
  [AlertState.PENDING]: 'pending',
  [AlertState.FIRING]: 'firing',
};

/** A float64 field as Go's encoding/json writes it (JS's shortest form is the same). */
function num(f: number | undefined | null): string {
  const v = Number(f ?? 0);
  return Number.isFinite(v) ? JSON.stringify(v) : '0';
}

function setJSON(s: { labels?: Labels | null } | null | undefined): string {
  return labelsJSON(s?.labels ?? []);
}

/** One active alert: {"labels":…,"annotations":…,"state":…,"activeAt":…,"value":…}. */
export function alertJSON(a: AlertInstance): string {
  let out = `{"labels":${setJSON(a.labels)},"annotations":${setJSON(a.annotations)},"state":${jsonString(STATE_NAMES[a.state ?? 0] ?? 'unknown')}`;
  if (a.activeAt) out += `,"activeAt":${jsonString(formatRFC3339(a.activeAt))}`;
  return out + `,"value":${jsonString(a.value ?? '')}}`;
}

function ruleJSON(r: Rule): string {
  if (r.alert) {
    const a = r.alert;
    let out =
      `{"state":${jsonString(STATE_NAMES[a.state ?? 0] ?? 'unknown')},"name":${jsonString(a.name ?? '')},"query":${jsonString(a.query ?? '')}` +
      `,"duration":${num(a.durationSeconds)},"keepFiringFor":${num(a.keepFiringForSeconds)},"labels":${setJSON(a.labels)},"annotations":${setJSON(a.annotations)}` +
      `,"alerts":[${(a.alerts ?? []).map(alertJSON).join(',')}],"health":${jsonString(a.health ?? '')}`;
    if (a.lastError) out += `,"lastError":${jsonString(a.lastError)}`;
    return out + `,"evaluationTime":${num(a.evaluationDurationSeconds)},"lastEvaluation":${jsonString(formatRFC3339(a.lastEvaluation))},"type":"alerting"}`;
  }
  const x = r.recording!;
  let out = `{"name":${jsonString(x.name ?? '')},"query":${jsonString(x.query ?? '')},"labels":${setJSON(x.labels)},"health":${jsonString(x.health ?? '')}`;
  if (x.lastError) out += `,"lastError":${jsonString(x.lastError)}`;
  return out + `,"evaluationTime":${num(x.evaluationDurationSeconds)},"lastEvaluation":${jsonString(formatRFC3339(x.lastEvaluation))},"type":"recording"}`;
}

/** The data of /api/v1/rules: {"groups":[…]}. */
export function ruleGroupsJSON(groups: readonly RuleGroup[]): string {
  const gs = groups.map(
    (g) =>
      `{"name":${jsonString(g.name ?? '')},"file":${jsonString(g.file ?? '')},"rules":[${g.rules.filter((r) => ruleOf(r) !== null).map(ruleJSON).join(',')}]` +
      `,"interval":${num(g.interval)},"limit":${Number(g.limit ?? 0)},"evaluationTime":${num(g.evaluationDurationSeconds)},"lastEvaluation":${jsonString(formatRFC3339(g.lastEvaluation))}}`,
  );
  return `{"groups":[${gs.join(',')}]}`;
}

/** The data of /api/v1/alerts: the alerts of every alerting rule, {"alerts":[…]}. */
export function alertsJSON(groups: readonly RuleGroup[]): string {
  const out: string[] = [];
  for (const g of groups) for (const r of g.rules) if (r.alert) for (const a of r.alert.alerts ?? []) out.push(alertJSON(a));
  return `{"alerts":[${out.join(',')}]}`;
}
