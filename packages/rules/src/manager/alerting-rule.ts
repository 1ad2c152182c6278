// An alerting rule and the state of its alerts (Prometheus rules/alerting.go): every
// series of the expression's result is an alert, pending until it has been active for
// `for`, then firing; firing alerts that vanish stay firing for `keep_firing_for`, then
// are resolved and kept 15 minutes so the resolution is resent.

import { METRIC_NAME, labelsKey, labelsToRecord, type Label, type Labels } from '@thanos-ts/tsdb';
import type { Logger } from '@thanos-ts/runtime';
import type { QueryFunc, TemplateData, TemplateExpander } from '../types.js';
import { BaseRule, buildLabels, type RuleSample } from './rule.js';
import type { RuleEvalOptions } from './recording-rule.js';

export const ALERT_METRIC_NAME = 'ALERTS';
export const ALERT_FOR_STATE_METRIC_NAME = 'ALERTS_FOR_STATE';
export const ALERT_NAME_LABEL = 'alertname';
export const ALERT_STATE_LABEL = 'alertstate';

export const ERR_DUPLICATE_ALERT_LABEL_SET = 'vector contains metrics with the same labelset after applying alert labels';

/** How long a resolved alert is kept (and resent) after it resolved. */
export const RESOLVED_RETENTION_MS = 15 * 60 * 1000;

/** rules.AlertState; the numbers are those of thanos.AlertState too. */
export const AlertState = { Unknown: 0, Inactive: 1, Pending: 2, Firing: 3 } as const;
export type AlertState = (typeof AlertState)[keyof typeof AlertState];

export function alertStateString(s: AlertState): 'unknown' | 'inactive' | 'pending' | 'firing' {
  return (['unknown', 'inactive', 'pending', 'firing'] as const)[s];
}

/** One alert of a rule (rules.Alert). Times are ms since the epoch; null is Go's zero time. */
export interface ActiveAlert {
  state: AlertState;
  labels: Labels;
  annotations: Labels;
  /** The value of the expression at the last evaluation. */
  value: number;
  activeAt: number;
  firedAt: number | null;
  resolvedAt: number | null;
  lastSentAt: number | null;
  validUntil: number | null;
  keepFiringSince: number | null;
}

/** Alert.needsSending. */
export function needsSending(a: ActiveAlert, ts: number, resendDelayMs: number): boolean {
  if (a.state === AlertState.Pending) return false;
  // Resolved since the last send: send the resolution.
  if (a.resolvedAt !== null && (a.lastSentAt === null || a.resolvedAt > a.lastSentAt)) return true;
  return a.lastSentAt === null || a.lastSentAt + resendDelayMs < ts;
}

export interface AlertingRuleOptions {
  name: string;
  expr: string;
  forMs: number;
  keepFiringForMs: number;
  labels: Labels;
  annotations: Labels;
  externalLabels: Record<string, string>;
  externalURL: string;
  /** False until the `for` state has been restored; ALERTS samples are written only after. */
  restored: boolean;
  logger: Logger;
}

export class AlertingRule extends BaseRule {
  readonly kind = 'alerting' as const;
  readonly holdDurationMs: number;
  readonly keepFiringForMs: number;
  readonly annotations: Labels;
  restored: boolean;
  /** Active (pending, firing, or recently resolved) alerts by label-set key. */
  readonly active = new Map<string, ActiveAlert>();
  private readonly externalLabels: Record<string, string>;
  private readonly externalURL: string;
  private readonly logger: Logger;

  constructor(o: AlertingRuleOptions) {
    super(o.name, o.expr, o.labels);
    this.holdDurationMs = o.forMs;
    this.keepFiringForMs = o.keepFiringForMs;
    this.annotations = o.annotations;
    this.externalLabels = o.externalLabels;
    this.externalURL = o.externalURL;
    this.restored = o.restored;
    this.logger = o.logger;
  }

  /**
   * Queries at ts - queryOffset, updates the alerts and returns the ALERTS and
   * ALERTS_FOR_STATE samples to write (none until restored).
   * @throws the query's error; on duplicate alert label sets; over the limit (which also
   *   drops every alert, as Prometheus does)
   */
  async eval(ts: number, queryOffsetMs: number, query: QueryFunc, limit: number, expand: TemplateExpander, opts: RuleEvalOptions): Promise<RuleSample[]> {
    const res = await query(this.query, ts - queryOffsetMs, { partialResponse: opts.partialResponse, signal: opts.signal });
    const fresh = new Map<string, ActiveAlert>();
    for (const smpl of res) {
      const data: TemplateData = { labels: labelsToRecord(smpl.labels), externalLabels: this.externalLabels, externalURL: this.externalURL, value: smpl.value };
      const lb = new Map<string, string>();
      for (const l of smpl.labels) if (l.name !== METRIC_NAME) lb.set(l.name, l.value);
      for (const l of this.labels) lb.set(l.name, await this.expand(expand, l.value, data, ts));
      lb.set(ALERT_NAME_LABEL, this.name);
      const annotations: Label[] = [];
      for (const a of this.annotations) annotations.push({ name: a.name, value: await this.expand(expand, a.value, data, ts) });
      const labels = buildLabels(lb);
      const key = labelsKey(labels);
      if (fresh.has(key)) throw new Error(ERR_DUPLICATE_ALERT_LABEL_SET);
      fresh.set(key, {
        state: AlertState.Pending,
        labels,
        annotations,
        value: smpl.value,
        activeAt: ts,
        firedAt: null,
        resolvedAt: null,
        lastSentAt: null,
        validUntil: null,
        keepFiringSince: null,
      });
    }

    for (const [key, a] of fresh) {
      const cur = this.active.get(key);
      if (cur !== undefined && cur.state !== AlertState.Inactive) {
        cur.value = a.value;
        cur.annotations = a.annotations;
        continue;
      }
      this.active.set(key, a);
    }

    const out: RuleSample[] = [];
    const t = ts - queryOffsetMs;
    let numActivePending = 0;
    for (const [key, a] of this.active) {
      if (!fresh.has(key)) {
        let keepFiring = false;
        if (a.state === AlertState.Firing && this.keepFiringForMs > 0) {
          if (a.keepFiringSince === null) a.keepFiringSince = ts;
          if (ts - a.keepFiringSince < this.keepFiringForMs) keepFiring = true;
        }
        // Pending alerts go at once; resolved ones after the retention, so the resolution
        // keeps being sent in case Alertmanager missed it.
        if (a.state === AlertState.Pending || (a.resolvedAt !== null && ts - a.resolvedAt > RESOLVED_RETENTION_MS)) this.active.delete(key);
        if (a.state !== AlertState.Inactive && !keepFiring) {
          a.state = AlertState.Inactive;
          a.resolvedAt = ts;
        }
        if (!keepFiring) continue;
      } else {
        a.keepFiringSince = null;
      }
      numActivePending++;
      if (a.state === AlertState.Pending && ts - a.activeAt >= this.holdDurationMs) {
        a.state = AlertState.Firing;
        a.firedAt = ts;
      }
      // A `for` raised by a reload sends a firing alert back to pending.
      if (a.state === AlertState.Firing && ts - a.activeAt < this.holdDurationMs) {
        a.state = AlertState.Pending;
        a.firedAt = null;
        a.lastSentAt = null;
        a.keepFiringSince = null;
      }
      if (this.restored) {
        out.push({ labels: this.seriesLabels(a, ALERT_METRIC_NAME, true), t, v: 1 });
        out.push({ labels: this.seriesLabels(a, ALERT_FOR_STATE_METRIC_NAME, false), t, v: Math.floor(a.activeAt / 1000) });
      }
    }

    if (limit > 0 && numActivePending > limit) {
      this.active.clear();
      throw new Error(`exceeded limit of ${limit} with ${numActivePending} alerts`);
    }
    return out;
  }

  private async expand(expand: TemplateExpander, text: string, data: TemplateData, ts: number): Promise<string> {
    // fast path: text without actions expands to itself
    if (!text.includes('{{')) return text;
    try {
      return await expand(`__alert_${this.name}`, text, data, ts);
    } catch (err) {
      this.logger.warn({ alert: this.name, err: (err as Error).message, data }, 'Expanding alert template failed');
      return `<error expanding template: ${(err as Error).message}>`;
    }
  }

  /** Labels of the ALERTS / ALERTS_FOR_STATE series: rule labels, overlaid by the alert's. */
  private seriesLabels(a: ActiveAlert | null, metric: string, withState: boolean): Labels {
    const m = new Map<string, string>();
    for (const l of this.labels) m.set(l.name, l.value);
    if (a !== null) for (const l of a.labels) m.set(l.name, l.value);
    m.set(METRIC_NAME, metric);
    m.set(ALERT_NAME_LABEL, this.name);
    if (withState && a !== null) m.set(ALERT_STATE_LABEL, alertStateString(a.state));
    return buildLabels(m);
  }

  /**
   * Equality matchers selecting every ALERTS_FOR_STATE series of this rule; labels whose
   * values are templates are left out, their stored values differ per alert.
   */
  forStateMatchers(): Label[] {
    return this.seriesLabels(null, ALERT_FOR_STATE_METRIC_NAME, false).filter((l) => !l.value.includes('{{'));
  }

  /** The rule's state: the highest of its alerts', unknown before the first evaluation. */
  state(): AlertState {
    if (this.evaluationTimestamp === null) return AlertState.Unknown;
    let s: AlertState = AlertState.Inactive;
    for (const a of this.active.values()) if (a.state > s) s = a.state;
    return s;
  }

  /** Alerts not resolved, as copies (ActiveAlerts). */
  activeAlerts(): ActiveAlert[] {
    const out: ActiveAlert[] = [];
    for (const a of this.active.values()) if (a.resolvedAt === null) out.push({ ...a });
    return out;
  }

  /**
   * Marks the alerts due for (re)sending as sent and returns copies of them
   * (sendAlerts): validUntil leaves room for two missed evaluations or sends.
   */
  alertsToSend(ts: number, resendDelayMs: number, intervalMs: number): ActiveAlert[] {
    const out: ActiveAlert[] = [];
    for (const a of this.active.values()) {
      if (!needsSending(a, ts, resendDelayMs)) continue;
      a.lastSentAt = ts;
      a.validUntil = ts + 4 * Math.max(intervalMs, resendDelayMs);
      out.push({ ...a });
    }
    return out;
  }

  definition(): string {
    return JSON.stringify({
      alert: this.name,
      expr: this.query,
      for: this.holdDurationMs,
      keepFiringFor: this.keepFiringForMs,
      labels: this.labels,
      annotations: this.annotations,
    });
  }
}
