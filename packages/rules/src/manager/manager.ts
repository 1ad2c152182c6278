// The rule manager (Prometheus rules/manager.go under Thanos pkg/rules): loads the groups
// of parsed rule files, runs each group's evaluation loop, hands due alerts to the
// notifier, and on reload keeps unchanged groups running and carries the alert state of
// changed ones over.

import { compareStrings, type Label, type Labels } from '@thanos-ts/tsdb';
import { nopLogger, type Logger } from '@thanos-ts/runtime';
import type { Registry } from 'prom-client';
import type { Alert, AlertSender, QueryFunc, RuleFile, TemplateExpander } from '../types.js';
import { systemClock, type Clock } from './clock.js';
import { DEFAULT_ALERT_QUERY_TEMPLATE, tableLinkForExpression } from '../notifier/generator-url.js';
import { AlertingRule, type ActiveAlert } from './alerting-rule.js';
import { RecordingRule } from './recording-rule.js';
import { Group, groupKey, type Appendable, type GroupContext, type Rule } from './group.js';
import { RuleMetrics } from './metrics.js';
import { fromMaps } from './rule.js';
import { forStateFromQuery, type ForStateSource } from './restore.js';

export interface RuleManagerOptions {
  files: RuleFile[];
  query: QueryFunc;
  appendable: Appendable;
  notify: AlertSender;
  expand: TemplateExpander;
  /** Given to templates as $externalLabels; Thanos adds them to alerts in its alert queue (the notifier), not here. */
  externalLabels?: Record<string, string>;
  /** --alert.query-url: templates' $externalURL and the base of generatorURL. */
  externalURL?: string;
  /** The interval of groups without their own (--eval-interval). Default 1m. */
  evalIntervalMs?: number;
  /** Default 1m. */
  resendDelayMs?: number;
  /** Default 1h. */
  forOutageToleranceMs?: number;
  /** Default 10m. */
  forGracePeriodMs?: number;
  /** Query offset of groups without their own. Default 0. */
  queryOffsetMs?: number;
  /**
   * Where restarts find ALERTS_FOR_STATE (forStateFromQueryable(db) with a local TSDB,
   * forStateFromQuery(query) in stateless mode). Default: the query function.
   */
  forStateSource?: ForStateSource;
  /** The link put in alerts' generatorURL for an expression. Default: externalURL + Prometheus's graph link. */
  generatorURL?: (expr: string) => string;
  registry?: Registry;
  logger?: Logger;
  clock?: Clock;
}

/** The error update() rejects with when a file cannot be loaded; the old groups stay. */
export class RuleLoadError extends Error {}

export class RuleManager {
  private groups = new Map<string, Group>();
  private restored = false;
  private started = false;
  private stopped = false;
  private readonly ctx: GroupContext;
  private readonly evalIntervalMs: number;
  private readonly externalLabels: Record<string, string>;
  private readonly externalURL: string;
  private readonly generatorURL: (expr: string) => string;
  private readonly staleTimers = new Set<unknown>();
  private readonly logger: Logger;
  private updating: Promise<void> = Promise.resolve();
  private readonly initialFiles: RuleFile[];

  constructor(o: RuleManagerOptions) {
    this.logger = o.logger ?? nopLogger();
    this.evalIntervalMs = o.evalIntervalMs ?? 60_000;
    this.externalLabels = o.externalLabels ?? {};
    this.externalURL = o.externalURL ?? '';
    this.generatorURL = o.generatorURL ?? ((expr) => this.externalURL + tableLinkForExpression(DEFAULT_ALERT_QUERY_TEMPLATE, expr));
    const notify = o.notify;
    this.ctx = {
      query: o.query,
      appendable: o.appendable,
      expand: o.expand,
      notify: (rule, alerts) => {
        const out = this.toNotifierAlerts(rule, alerts);
        if (out.length > 0) notify.send(out);
      },
      forStateSource: o.forStateSource ?? forStateFromQuery(o.query),
      resendDelayMs: o.resendDelayMs ?? 60_000,
      forOutageToleranceMs: o.forOutageToleranceMs ?? 60 * 60_000,
      forGracePeriodMs: o.forGracePeriodMs ?? 10 * 60_000,
      defaultQueryOffsetMs: o.queryOffsetMs ?? 0,
      clock: o.clock ?? systemClock,
      metrics: new RuleMetrics(o.registry),
      logger: this.logger,
    };
    this.initialFiles = o.files;
  }

  /** Loads the initial files and starts every group's loop (Manager.Run). */
  async start(): Promise<void> {
    await this.update(this.initialFiles);
    this.started = true;
    this.logger.info('Starting rule manager...');
    for (const g of this.groups.values()) g.start();
  }

  /** Stops every group, waiting for running evaluations (Manager.Stop). */
  async stop(): Promise<void> {
    await this.updating;
    this.stopped = true;
    this.logger.info('Stopping rule manager...');
    for (const t of this.staleTimers) this.ctx.clock.clearTimeout(t);
    this.staleTimers.clear();
    await Promise.all([...this.groups.values()].map((g) => g.stop()));
    this.logger.info('Rule manager stopped');
  }

  /**
   * Replaces the rule files (Manager.Update). Unchanged groups keep running; changed ones
   * restart with the old alert state; removed ones stop, and their series are marked
   * stale two intervals later unless another group wrote them meanwhile.
   * @throws RuleLoadError when a rule does not load (the previous rules stay)
   */
  update(files: RuleFile[]): Promise<void> {
    const p = this.updating.then(() => this.doUpdate(files));
    this.updating = p.catch(() => undefined);
    return p;
  }

  private async doUpdate(files: RuleFile[]): Promise<void> {
    if (this.stopped) return;
    const next = this.loadGroups(files);
    this.restored = true;
    const old = this.groups;
    const result = new Map<string, Group>();
    const starts: Array<Promise<void>> = [];
    for (const [key, ng] of next) {
      const og = old.get(key);
      old.delete(key);
      if (og !== undefined && og.equals(ng)) {
        result.set(key, og);
        continue;
      }
      result.set(key, ng);
      starts.push(
        (async () => {
          if (og !== undefined) {
            await og.stop();
            ng.copyState(og);
          }
          if (this.started) ng.start();
        })(),
      );
    }
    for (const og of old.values()) starts.push(this.retire(og));
    await Promise.all(starts);
    this.groups = result;
  }

  /** Stops a removed group; its series go stale after two intervals (time for a renamed rule to take them over). */
  private async retire(g: Group): Promise<void> {
    await g.stop();
    g.deleteMetrics();
    const stale = g.takeSeriesInPreviousEval();
    if (stale.length === 0 || this.stopped) return;
    const now = this.ctx.clock.now();
    const timer = this.ctx.clock.setTimeout(() => {
      this.staleTimers.delete(timer);
      g.staleSeries = stale;
      void g.cleanupStaleSeries(now);
    }, 2 * g.intervalMs);
    this.staleTimers.add(timer);
  }

  private loadGroups(files: RuleFile[]): Map<string, Group> {
    const shouldRestore = !this.restored;
    const groups = new Map<string, Group>();
    for (const f of files) {
      for (const rg of f.groups) {
        const rules: Rule[] = [];
        try {
          for (const r of rg.rules) {
            const labels = fromMaps(rg.labels, r.labels);
            if (r.alert !== '') {
              rules.push(
                new AlertingRule({
                  name: r.alert,
                  expr: r.expr,
                  forMs: r.forMs,
                  keepFiringForMs: r.keepFiringForMs,
                  labels,
                  annotations: annotationLabels(r.annotations),
                  externalLabels: this.externalLabels,
                  externalURL: this.externalURL,
                  restored: !shouldRestore,
                  logger: this.logger.child({ alert: r.alert }),
                }),
              );
            } else {
              rules.push(new RecordingRule(r.record, r.expr, labels));
            }
          }
        } catch (err) {
          this.logger.error({ err: (err as Error).message }, 'loading groups failed');
          throw new RuleLoadError(`error loading rules, previous rule set restored: ${f.path}: ${(err as Error).message}`, { cause: err });
        }
        const g = new Group(
          {
            name: rg.name,
            file: f.path,
            intervalMs: rg.intervalMs > 0 ? rg.intervalMs : this.evalIntervalMs,
            limit: rg.limit,
            queryOffsetMs: rg.queryOffsetMs,
            strategy: rg.partialResponseStrategy,
            rules,
            shouldRestore,
          },
          this.ctx,
        );
        groups.set(groupKey(f.path, rg.name), g);
      }
    }
    return groups;
  }

  private toNotifierAlerts(rule: AlertingRule, alerts: ActiveAlert[]): Alert[] {
    const out: Alert[] = [];
    for (const a of alerts) {
      if (a.state === 0 || a.state === 2) continue; // only firing and resolved alerts are sent
      out.push({
        labels: a.labels,
        annotations: a.annotations,
        startsAt: a.firedAt ?? a.activeAt,
        endsAt: a.resolvedAt ?? a.validUntil ?? a.activeAt,
        generatorURL: this.generatorURL(rule.query),
      });
    }
    return out;
  }

  /** The groups sorted by file, then name (Manager.RuleGroups). */
  ruleGroups(): Group[] {
    return [...this.groups.values()].sort((a, b) => compareStrings(a.file, b.file) || compareStrings(a.name, b.name));
  }

  /** Every alerting rule, in group then rule order. */
  alertingRules(): AlertingRule[] {
    return this.ruleGroups().flatMap((g) => g.alertingRules());
  }

  /** The group with this file and name (tests, debugging). */
  group(file: string, name: string): Group | undefined {
    return this.groups.get(groupKey(file, name));
  }
}

/** Annotations as labels.FromMap makes them: sorted, empty values kept. */
function annotationLabels(rec: Record<string, string>): Labels {
  const out: Label[] = Object.keys(rec).map((name) => ({ name, value: rec[name] }));
  return out.sort((a, b) => compareStrings(a.name, b.name));
}


