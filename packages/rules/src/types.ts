// The shapes the parts of this package share: rule files as parsed (rulefmt), the
// template expander, what a rule evaluation queries, what alerts look like when they are
// sent, and the notifier the manager sends them to. Each part lives in its own folder
// (rulefmt/, template/, manager/, notifier/) and meets the others only here.

import type { Labels } from '@thanos-ts/tsdb';

// ---------------------------------------------------------------------------------------
// Rule files (Prometheus model/rulefmt, plus Thanos's partial_response_strategy).

/** Where a node sits in its YAML file (1-based), for error messages as rulefmt gives them. */
export interface YamlPos {
  line: number;
  column: number;
}

export interface RuleNode {
  /** Recording rule: the series name; '' for an alerting rule. */
  record: string;
  /** Alerting rule: the alert name; '' for a recording rule. */
  alert: string;
  expr: string;
  /** `for`, ms (0 when absent). */
  forMs: number;
  /** `keep_firing_for`, ms (0 when absent). */
  keepFiringForMs: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Position of the rule's mapping, and of its expr, in the file. */
  pos: YamlPos;
  exprPos: YamlPos;
}

export interface RuleGroupConfig {
  name: string;
  /** `interval`, ms; 0 = the global evaluation interval. */
  intervalMs: number;
  /** `query_offset`, ms; null = the global default. */
  queryOffsetMs: number | null;
  /** `limit`: most series a rule may produce (0 = none). */
  limit: number;
  /** Group `labels`, added to every rule's result (Prometheus 3.x). */
  labels: Record<string, string>;
  /** Thanos: "abort" (default) or "warn". */
  partialResponseStrategy: 'abort' | 'warn';
  rules: RuleNode[];
}

export interface RuleFile {
  /** The file's path as given. */
  path: string;
  groups: RuleGroupConfig[];
}

// ---------------------------------------------------------------------------------------
// Evaluation.

/** One float sample of an instant vector. */
export interface VectorSample {
  labels: Labels;
  value: number;
}

/**
 * Evaluates an instant query at `timeMs` (against the query component's HTTP API, or an
 * engine in tests): a vector, or a scalar as a vector of one sample with no labels.
 * Rejects with an Error whose message says why (Prometheus's API error text).
 */
export type QueryFunc = (expr: string, timeMs: number, opts?: { partialResponse?: boolean; signal?: AbortSignal }) => Promise<VectorSample[]>;

/** What templates of alerting rules see (Prometheus template data). */
export interface TemplateData {
  /** `$labels` / `.Labels`: the alert's labels. */
  labels: Record<string, string>;
  /** `$externalLabels` / `.ExternalLabels`. */
  externalLabels: Record<string, string>;
  /** `$externalURL` / `.ExternalURL`. */
  externalURL: string;
  /** `$value` / `.Value`. */
  value: number;
}

/**
 * Expands a label or annotation template (Go text/template with Prometheus's functions,
 * the `$labels`, `$externalLabels`, `$externalURL`, `$value` preamble). Async because the
 * `query` function queries. Rejects with an Error whose message is Go's
 * ("error executing template …: …"); callers keep the error text as the value, as
 * Prometheus does.
 */
export type TemplateExpander = (name: string, text: string, data: TemplateData, timeMs: number) => Promise<string>;

// ---------------------------------------------------------------------------------------
// Alerts as sent to Alertmanager (Prometheus notifier.Alert, the v2 API's PostableAlert).

export interface Alert {
  labels: Labels;
  annotations: Labels;
  /** ms since the epoch. */
  startsAt: number;
  /** ms since the epoch; for firing alerts now + 4 × max(resend delay, interval), as Prometheus sets it. */
  endsAt: number;
  generatorURL: string;
}

/** Takes alerts to deliver to every Alertmanager (queued, never blocks the caller). */
export interface AlertSender {
  send(alerts: readonly Alert[]): void;
}
