// The rule manager's metrics, named as Prometheus's rules.Metrics. Thanos runs one
// Prometheus manager per partial response strategy with a registerer wrapped in
// strategy="abort"|"warn", so every series carries that label here too.

import { Counter, Gauge, Registry, Summary } from 'prom-client';

type GroupLabels = 'rule_group' | 'strategy';

export class RuleMetrics {
  readonly evalDuration: Summary<'strategy'>;
  readonly iterationDuration: Summary<'strategy'>;
  readonly iterationsMissed: Counter<GroupLabels>;
  readonly iterationsScheduled: Counter<GroupLabels>;
  readonly evalTotal: Counter<GroupLabels>;
  readonly evalFailures: Counter<GroupLabels>;
  readonly groupInterval: Gauge<GroupLabels>;
  readonly groupLastEvalTime: Gauge<GroupLabels>;
  readonly groupLastDuration: Gauge<GroupLabels>;
  readonly groupLastRuleDurationSum: Gauge<GroupLabels>;
  readonly groupLastRestoreDuration: Gauge<GroupLabels>;
  readonly groupRules: Gauge<GroupLabels>;
  readonly groupSamples: Gauge<GroupLabels>;

  /** Metrics already in the registry (a manager built again on it) are reused. */
  constructor(registry: Registry = new Registry()) {
    const registers = [registry];
    const reuse = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
    const labelNames = ['rule_group', 'strategy'] as const;
    this.evalDuration = reuse('prometheus_rule_evaluation_duration_seconds', () => new Summary({
      name: 'prometheus_rule_evaluation_duration_seconds',
      help: 'The duration for a rule to execute.',
      percentiles: [0.5, 0.9, 0.99],
      labelNames: ['strategy'] as const,
      registers,
    }));
    this.iterationDuration = reuse('prometheus_rule_group_duration_seconds', () => new Summary({
      name: 'prometheus_rule_group_duration_seconds',
      help: 'The duration of rule group evaluations.',
      percentiles: [0.01, 0.05, 0.5, 0.9, 0.99],
      labelNames: ['strategy'] as const,
      registers,
    }));
    const counter = (name: string, help: string): Counter<GroupLabels> => reuse(name, () => new Counter({ name, help, labelNames, registers }));
    const gauge = (name: string, help: string): Gauge<GroupLabels> => reuse(name, () => new Gauge({ name, help, labelNames, registers }));
    this.iterationsMissed = counter('prometheus_rule_group_iterations_missed_total', 'The total number of rule group evaluations missed due to slow rule group evaluation.');
    this.iterationsScheduled = counter('prometheus_rule_group_iterations_total', 'The total number of scheduled rule group evaluations, whether executed or missed.');
    this.evalTotal = counter('prometheus_rule_evaluations_total', 'The total number of rule evaluations.');
    this.evalFailures = counter('prometheus_rule_evaluation_failures_total', 'The total number of rule evaluation failures.');
    this.groupInterval = gauge('prometheus_rule_group_interval_seconds', 'The interval of a rule group.');
    this.groupLastEvalTime = gauge('prometheus_rule_group_last_evaluation_timestamp_seconds', 'The timestamp of the last rule group evaluation in seconds.');
    this.groupLastDuration = gauge('prometheus_rule_group_last_duration_seconds', 'The duration of the last rule group evaluation.');
    this.groupLastRuleDurationSum = gauge(
      'prometheus_rule_group_last_rule_duration_sum_seconds',
      'The sum of time in seconds it took to evaluate each rule in the group regardless of concurrency. This should be higher than the group duration if rules are evaluated concurrently.',
    );
    this.groupLastRestoreDuration = gauge('prometheus_rule_group_last_restore_duration_seconds', 'The duration of the last alert rules alerts restoration using the `ALERTS_FOR_STATE` series.');
    this.groupRules = gauge('prometheus_rule_group_rules', 'The number of rules.');
    this.groupSamples = gauge('prometheus_rule_group_last_evaluation_samples', 'The number of samples returned during the last rule group evaluation.');
  }

  /** Creates a group's series at zero, as NewGroup does, so they exist before the first eval. */
  initGroup(l: { rule_group: string; strategy: string }, rules: number, intervalMs: number): void {
    this.iterationsMissed.inc(l, 0);
    this.iterationsScheduled.inc(l, 0);
    this.evalTotal.inc(l, 0);
    this.evalFailures.inc(l, 0);
    this.groupLastEvalTime.set(l, 0);
    this.groupLastDuration.set(l, 0);
    this.groupLastRuleDurationSum.set(l, 0);
    this.groupSamples.set(l, 0);
    this.groupRules.set(l, rules);
    this.groupInterval.set(l, intervalMs / 1000);
  }

  /** Drops a removed group's series (Manager.Update's DeleteLabelValues). */
  deleteGroup(l: { rule_group: string; strategy: string }): void {
    for (const m of [this.iterationsMissed, this.iterationsScheduled, this.evalTotal, this.evalFailures]) m.remove(l);
    for (const m of [this.groupInterval, this.groupLastEvalTime, this.groupLastDuration, this.groupLastRuleDurationSum, this.groupLastRestoreDuration, this.groupRules, this.groupSamples]) m.remove(l);
  }
}
