// A rule group (Prometheus rules/group.go): its rules evaluated in order at the group's
// interval, at times slotted by a hash of the group so groups spread over the interval;
// each rule's results written with an appender of its own (so later rules see earlier
// ones through the query path once committed), stale markers for series a rule stopped
// producing, and the `for` state of alerts restored after the first evaluations.

import { performance } from 'node:perf_hooks';
import {
  DuplicateSampleForTimestampError,
  OutOfOrderSampleError,
  STALE_NAN,
  TooOldSampleError,
  isStaleNaN,
  labelsKey,
  labelsFromStrings,
  type Appender,
  type Labels,
} from '@thanos-ts/tsdb';
import type { Logger } from '@thanos-ts/runtime';
import type { QueryFunc, TemplateExpander } from '../types.js';
import type { Clock } from './clock.js';
import { labelsHash } from './go-compat.js';
import { AlertingRule, type ActiveAlert } from './alerting-rule.js';
import type { RecordingRule } from './recording-rule.js';
import type { RuleMetrics } from './metrics.js';
import type { ForStateSource } from './restore.js';

export type Rule = RecordingRule | AlertingRule;

export type PartialResponseStrategy = 'abort' | 'warn';

/** Where samples go: our DB or Head (`appender()` with append/commit/rollback). */
export interface Appendable {
  appender(): Appender;
}

/** What a group needs from its manager. */
export interface GroupContext {
  query: QueryFunc;
  appendable: Appendable;
  expand: TemplateExpander;
  /** Takes the alerts due for sending after each alerting rule's evaluation. */
  notify: (rule: AlertingRule, alerts: ActiveAlert[]) => void;
  forStateSource: ForStateSource | null;
  resendDelayMs: number;
  forOutageToleranceMs: number;
  forGracePeriodMs: number;
  defaultQueryOffsetMs: number;
  clock: Clock;
  metrics: RuleMetrics;
  logger: Logger;
}

export interface GroupOptions {
  name: string;
  file: string;
  intervalMs: number;
  limit: number;
  /** null: the manager's default. */
  queryOffsetMs: number | null;
  strategy: PartialResponseStrategy;
  rules: Rule[];
  /** Restore the `for` state of alerts after the first two evaluations. */
  shouldRestore: boolean;
}

/** GroupKey: group names need only be unique within a file. */
export function groupKey(file: string, name: string): string {
  return `${file};${name}`;
}

export class Group {
  readonly name: string;
  readonly file: string;
  readonly intervalMs: number;
  readonly limit: number;
  readonly queryOffsetMsOption: number | null;
  readonly strategy: PartialResponseStrategy;
  readonly rules: Rule[];
  /** Duration of the last evaluation, ms. */
  evaluationTimeMs = 0;
  /** Wall-clock start of the last evaluation, ms; null before the first. */
  lastEvaluation: number | null = null;
  /** The slot of the last evaluation, ms. */
  lastEvalTimestamp: number | null = null;

  /** Per rule: the series it wrote at its last evaluation, by labels key. */
  seriesInPreviousEval: Array<Map<string, Labels>>;
  /** Series of rules gone in a reload, to mark stale at the next evaluation. */
  staleSeries: Labels[] = [];
  private shouldRestore: boolean;
  private readonly metricLabels: { rule_group: string; strategy: string };
  private readonly logger: Logger;

  private stopped = false;
  private timer: unknown = null;
  private running: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private abort = new AbortController();

  constructor(
    o: GroupOptions,
    private readonly ctx: GroupContext,
  ) {
    this.name = o.name;
    this.file = o.file;
    this.intervalMs = o.intervalMs;
    this.limit = o.limit;
    this.queryOffsetMsOption = o.queryOffsetMs;
    this.strategy = o.strategy;
    this.rules = o.rules;
    this.shouldRestore = o.shouldRestore;
    this.seriesInPreviousEval = o.rules.map(() => new Map());
    this.metricLabels = { rule_group: groupKey(o.file, o.name), strategy: o.strategy };
    this.logger = ctx.logger.child({ file: o.file, group: o.name });
    ctx.metrics.initGroup(this.metricLabels, o.rules.length, o.intervalMs);
  }

  get key(): string {
    return groupKey(this.file, this.name);
  }

  queryOffsetMs(): number {
    return this.queryOffsetMsOption ?? this.ctx.defaultQueryOffsetMs;
  }

  /**
   * The latest slot at or before `now` (EvalTimestamp): slots are the interval's
   * multiples shifted by hash(name, file) mod interval, computed in ns as Prometheus does
   * and truncated to ms as its sample timestamps are.
   */
  evalTimestamp(nowMs: number): number {
    const intervalNs = BigInt(Math.round(this.intervalMs * 1e6));
    const offsetNs = labelsHash(labelsFromStrings('name', this.name, 'file', this.file)) % intervalNs;
    const adjNow = BigInt(Math.round(nowMs)) * 1_000_000n - offsetNs;
    const base = adjNow - (((adjNow % intervalNs) + intervalNs) % intervalNs);
    const next = base + offsetNs;
    // Floor division to ms (timestamp.FromTime).
    const ms = next >= 0n ? next / 1_000_000n : -((-next + 999_999n) / 1_000_000n);
    return Number(ms);
  }

  /** Starts the evaluation loop (Group.run). */
  start(): void {
    if (this.running !== null) return;
    this.running = this.run();
  }

  /** Stops the loop and waits for a running evaluation to finish (its queries are aborted). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.timer !== null) this.ctx.clock.clearTimeout(this.timer);
    this.timer = null;
    this.wake?.();
    await this.running;
  }

  private sleepUntil(t: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve(false);
      this.wake = () => resolve(false);
      this.timer = this.ctx.clock.setTimeout(() => {
        this.timer = null;
        this.wake = null;
        resolve(!this.stopped);
      }, t - this.ctx.clock.now());
    });
  }

  private async run(): Promise<void> {
    const clock = this.ctx.clock;
    let evalTs = this.evalTimestamp(clock.now()) + this.intervalMs;
    if (!(await this.sleepUntil(evalTs))) return;
    await this.iterate(evalTs);
    // The next slot, counting the ones skipped while an evaluation overran.
    const nextSlot = async (): Promise<boolean> => {
      if (!(await this.sleepUntil(evalTs + this.intervalMs))) return false;
      const missed = Math.floor((clock.now() - evalTs) / this.intervalMs) - 1;
      if (missed > 0) {
        this.ctx.metrics.iterationsMissed.inc(this.metricLabels, missed);
        this.ctx.metrics.iterationsScheduled.inc(this.metricLabels, missed);
      }
      evalTs += (Math.max(missed, 0) + 1) * this.intervalMs;
      return true;
    };
    if (this.shouldRestore) {
      // Restore after a second evaluation: at the first, recording rules the alerts
      // depend on may not have produced their series yet.
      if (!(await nextSlot())) return;
      await this.iterate(evalTs);
      await this.restoreForState(clock.now());
    }
    while (await nextSlot()) await this.iterate(evalTs);
  }

  /** One scheduled iteration (DefaultEvalIterationFunc). */
  async iterate(ts: number): Promise<void> {
    const m = this.ctx.metrics;
    m.iterationsScheduled.inc(this.metricLabels);
    const start = this.ctx.clock.now();
    const t0 = performance.now();
    await this.eval(ts);
    const dur = performance.now() - t0;
    m.iterationDuration.observe({ strategy: this.strategy }, dur / 1000);
    let sum = 0;
    for (const r of this.rules) sum += r.evaluationDurationMs;
    m.groupLastRuleDurationSum.set(this.metricLabels, sum / 1000);
    m.groupLastDuration.set(this.metricLabels, dur / 1000);
    this.evaluationTimeMs = dur;
    m.groupLastEvalTime.set(this.metricLabels, start / 1000);
    this.lastEvaluation = start;
    this.lastEvalTimestamp = ts;
  }

  /** Evaluates every rule once at slot ts, in order (Group.Eval). */
  async eval(ts: number): Promise<void> {
    let samplesTotal = 0;
    for (let i = 0; i < this.rules.length; i++) {
      if (this.stopped) return;
      samplesTotal += await this.evalRule(i, ts);
    }
    this.ctx.metrics.groupSamples.set(this.metricLabels, samplesTotal);
    await this.cleanupStaleSeries(ts);
  }

  private async evalRule(i: number, ts: number): Promise<number> {
    const rule = this.rules[i];
    const ctx = this.ctx;
    const logger = this.logger.child({ name: rule.name, index: i });
    const offset = this.queryOffsetMs();
    const started = ctx.clock.now();
    const t0 = performance.now();
    const fail = (err: Error): void => {
      rule.health = 'err';
      rule.lastError = err;
      ctx.metrics.evalFailures.inc(this.metricLabels);
    };
    ctx.metrics.evalTotal.inc(this.metricLabels);
    try {
      const opts = { partialResponse: this.strategy === 'warn', signal: this.abort.signal };
      let vector;
      try {
        vector =
          rule.kind === 'alerting'
            ? await rule.eval(ts, offset, ctx.query, this.limit, ctx.expand, opts)
            : await rule.eval(ts, offset, ctx.query, this.limit, opts);
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        fail(err);
        // Aborted queries are our own doing on shutdown: not worth a warning.
        if (!this.abort.signal.aborted) logger.warn({ rule: rule.definition(), err: err.message }, 'Evaluating rule failed');
        return 0;
      }
      rule.health = 'ok';
      rule.lastError = null;
      if (rule.kind === 'alerting') ctx.notify(rule, rule.alertsToSend(ts, ctx.resendDelayMs, this.intervalMs));

      const app = ctx.appendable.appender();
      const returned = new Map<string, Labels>();
      let numOutOfOrder = 0;
      let numTooOld = 0;
      let numDuplicates = 0;
      for (const s of vector) {
        try {
          app.append(0, s.labels, s.t, s.v);
          returned.set(labelsKey(s.labels), s.labels);
        } catch (e) {
          const err = e as Error;
          rule.health = 'err';
          rule.lastError = err;
          if (err instanceof OutOfOrderSampleError) numOutOfOrder++;
          else if (err instanceof TooOldSampleError) numTooOld++;
          else if (err instanceof DuplicateSampleForTimestampError) numDuplicates++;
          else logger.warn({ err: err.message }, 'Rule evaluation result discarded');
        }
      }
      if (numOutOfOrder > 0) logger.warn({ num_dropped: numOutOfOrder }, 'Error on ingesting out-of-order result from rule evaluation');
      if (numTooOld > 0) logger.warn({ num_dropped: numTooOld }, 'Error on ingesting too old result from rule evaluation');
      if (numDuplicates > 0) logger.warn({ num_dropped: numDuplicates }, 'Error on ingesting results from rule evaluation with different value but same timestamp');

      for (const [key, lset] of this.seriesInPreviousEval[i]) {
        if (returned.has(key)) continue;
        // Series no longer produced: mark it stale.
        this.appendStale(app, lset, ts - offset, logger, 'Adding stale sample failed');
      }
      try {
        await app.commit();
        this.seriesInPreviousEval[i] = returned;
      } catch (e) {
        const err = e as Error;
        fail(err);
        logger.warn({ err: err.message }, 'Rule sample appending failed');
      }
      return vector.length;
    } finally {
      const dur = performance.now() - t0;
      ctx.metrics.evalDuration.observe({ strategy: this.strategy }, dur / 1000);
      rule.evaluationDurationMs = dur;
      rule.evaluationTimestamp = started;
    }
  }

  private appendStale(app: Appender, lset: Labels, t: number, logger: Logger, msg: string): void {
    try {
      app.append(0, lset, t, STALE_NAN);
    } catch (e) {
      // Expected when another rule now writes the series.
      if (e instanceof OutOfOrderSampleError || e instanceof TooOldSampleError || e instanceof DuplicateSampleForTimestampError) return;
      logger.warn({ sample: lset, err: (e as Error).message }, msg);
    }
  }

  /** Marks stale the series of rules removed by a reload (cleanupStaleSeries). */
  async cleanupStaleSeries(ts: number): Promise<void> {
    if (this.staleSeries.length === 0) return;
    const app = this.ctx.appendable.appender();
    const t = ts - this.queryOffsetMs();
    for (const s of this.staleSeries) this.appendStale(app, s, t, this.logger, 'Adding stale sample for previous configuration failed');
    try {
      await app.commit();
      this.staleSeries = [];
    } catch (e) {
      this.logger.warn({ err: (e as Error).message }, 'Stale sample appending for previous configuration failed');
    }
  }

  /** Every series the group's rules wrote last, for marking stale when the group goes. */
  takeSeriesInPreviousEval(): Labels[] {
    const out = [...this.staleSeries];
    for (const m of this.seriesInPreviousEval) for (const ls of m.values()) out.push(ls);
    this.seriesInPreviousEval = this.rules.map(() => new Map());
    this.staleSeries = [];
    return out;
  }

  /**
   * Restores the `for` state of alerts from their last ALERTS_FOR_STATE samples
   * (RestoreForState): an alert pending when the ruler went down resumes its clock,
   * shifted by the downtime; one already past `for` keeps its activeAt and so fires at
   * once; one that would fire within the grace period gets the grace period.
   */
  async restoreForState(ts: number): Promise<void> {
    const t0 = performance.now();
    const source = this.ctx.forStateSource;
    const grace = this.ctx.forGracePeriodMs;
    try {
      for (const rule of this.rules) {
        if (rule.kind !== 'alerting') continue;
        const hold = rule.holdDurationMs;
        // With `for` under the grace period, waiting the full `for` is cheaper than restoring.
        if (source === null || hold < grace) {
          rule.restored = true;
          continue;
        }
        let series;
        try {
          series = await source(rule.forStateMatchers(), ts - this.ctx.forOutageToleranceMs, ts);
        } catch (err) {
          // No retry: mark restored and let the alerts fire after `for`.
          this.logger.error({ alertname: rule.name, stage: 'Select', err: (err as Error).message }, "Failed to restore 'for' state");
          rule.restored = true;
          continue;
        }
        const byLabels = new Map<string, { t: number; v: number }>();
        for (const s of series) byLabels.set(labelsKey(s.labels), s);
        if (byLabels.size === 0) {
          rule.restored = true;
          continue;
        }
        for (const a of rule.active.values()) {
          const s = byLabels.get(labelsKey(a.labels));
          if (s === undefined || isStaleNaN(s.v)) continue;
          const downAt = Math.trunc(s.t / 1000) * 1000;
          let restoredActiveAt = Math.trunc(s.v) * 1000;
          const remaining = hold - (downAt - restoredActiveAt);
          if (remaining <= 0) {
            // It was firing: it fires again at the next evaluation if still active.
          } else if (remaining < grace) {
            restoredActiveAt = ts + grace - hold;
          } else {
            // Do not count the downtime as time pending.
            restoredActiveAt += ts - downAt;
          }
          a.activeAt = restoredActiveAt;
          this.logger.debug({ alertname: rule.name, restored_time: new Date(restoredActiveAt).toISOString(), labels: a.labels }, "'for' state restored");
        }
        rule.restored = true;
      }
    } finally {
      this.shouldRestore = false;
      this.ctx.metrics.groupLastRestoreDuration.set(this.metricLabels, (performance.now() - t0) / 1000);
    }
  }

  /** Same definition (Group.Equals): a reload keeps such a group running untouched. */
  equals(o: Group): boolean {
    if (this.name !== o.name || this.file !== o.file || this.intervalMs !== o.intervalMs || this.limit !== o.limit) return false;
    if (this.queryOffsetMsOption !== o.queryOffsetMsOption || this.strategy !== o.strategy) return false;
    if (this.rules.length !== o.rules.length) return false;
    return this.rules.every((r, i) => r.definition() === o.rules[i].definition());
  }

  /**
   * Takes over the alert and staleness state of the group this one replaces (CopyState):
   * rules match by name and labels, duplicates in order; series of rules without a match
   * are marked stale at the next evaluation.
   */
  copyState(from: Group): void {
    this.evaluationTimeMs = from.evaluationTimeMs;
    this.lastEvaluation = from.lastEvaluation;
    const ruleMap = new Map<string, number[]>();
    from.rules.forEach((r, fi) => {
      const k = r.nameAndLabels();
      ruleMap.set(k, [...(ruleMap.get(k) ?? []), fi]);
    });
    this.rules.forEach((rule, i) => {
      const k = rule.nameAndLabels();
      const idx = ruleMap.get(k);
      if (idx === undefined || idx.length === 0) return;
      const fi = idx[0];
      ruleMap.set(k, idx.slice(1));
      this.seriesInPreviousEval[i] = from.seriesInPreviousEval[fi];
      const fr = from.rules[fi];
      if (rule.kind === 'alerting' && fr.kind === 'alerting') for (const [key, a] of fr.active) rule.active.set(key, a);
    });
    this.staleSeries = [...from.staleSeries];
    from.rules.forEach((r, fi) => {
      const left = ruleMap.get(r.nameAndLabels());
      if (left !== undefined && left.length !== 0) for (const ls of from.seriesInPreviousEval[fi].values()) this.staleSeries.push(ls);
    });
  }

  /** Alerting rules of the group. */
  alertingRules(): AlertingRule[] {
    return this.rules.filter((r): r is AlertingRule => r instanceof AlertingRule);
  }

  deleteMetrics(): void {
    this.ctx.metrics.deleteGroup(this.metricLabels);
  }
}
