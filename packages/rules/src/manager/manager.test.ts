import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { labelsToString, type DB } from '@thanos-ts/tsdb';
import { Registry } from 'prom-client';
import type { RuleFile } from '../types.js';
import { FakeClock } from './clock.js';
import { RuleManager, RuleLoadError } from './manager.js';
import { forStateFromQueryable } from './restore.js';
import { AlertState } from './alerting-rule.js';
import { apiAlertsData, apiRuleGroups, protoRuleGroups } from './api.js';
import { engineQuery, groupConfig, load, metricValue, openDB, rawSeries, RecordingSender, ruleNode, simpleExpand } from './manager-fixture.js';

const M = 60_000;
const T0 = 1_700_000_000_000;

function alertFile(forMs: number, intervalMs = M, extra: Partial<Parameters<typeof groupConfig>[0]> = {}): RuleFile {
  return {
    path: 'alerts.yml',
    groups: [
      groupConfig({
        name: 'g',
        intervalMs,
        rules: [
          ruleNode({ record: 'job:up', expr: 'max by (job) (up)' }),
          ruleNode({ alert: 'Down', expr: 'job:up == 0', forMs, labels: { severity: 'page' }, annotations: { summary: '{{ $labels.job }} down' } }),
        ],
        ...extra,
      }),
    ],
  };
}

describe('RuleManager', () => {
  let db: DB;
  let close: () => Promise<void>;
  let clock: FakeClock;
  let sender: RecordingSender;
  let registry: Registry;
  const managers: RuleManager[] = [];
  beforeEach(async () => {
    ({ db, close } = await openDB());
    clock = new FakeClock(T0);
    sender = new RecordingSender();
    registry = new Registry();
    // up{job="api"} is 0 throughout, every 15s for 70m (the head then takes appends from T0 on).
    await load(db, { __name__: 'up', job: 'api' }, T0 - 10 * M, 15_000, new Array(4 * 70).fill(0));
  });
  afterEach(async () => {
    for (const m of managers.splice(0)) await m.stop();
    await close();
  });

  function manager(files: RuleFile[], o: Partial<ConstructorParameters<typeof RuleManager>[0]> = {}): RuleManager {
    const m = new RuleManager({
      files,
      query: engineQuery(db),
      appendable: db,
      notify: sender,
      expand: simpleExpand,
      externalURL: 'http://ruler:10902',
      registry,
      clock,
      forStateSource: forStateFromQueryable(db),
      ...o,
    });
    managers.push(m);
    return m;
  }

  it('evaluates on slots, fires after for, and sends the alert', async () => {
    const m = manager([alertFile(2 * M)]);
    await m.start();
    const g = m.group('alerts.yml', 'g')!;
    const first = g.evalTimestamp(T0) + M;
    await clock.advance(first - T0);
    expect(g.lastEvalTimestamp).toBe(first);
    const rule = g.alertingRules()[0];
    await clock.advance(M); // second eval; then 'for' state restored (nothing found)
    expect(rule.restored).toBe(true);
    expect(rule.lastError).toBeNull();
    expect(g.rules[0].lastError).toBeNull();
    expect(rule.state()).toBe(AlertState.Pending);
    expect(sender.all).toEqual([]);
    await clock.advance(M); // pending since first: 2m → firing
    expect(rule.state()).toBe(AlertState.Firing);
    expect(sender.all).toHaveLength(1);
    const a = sender.all[0];
    expect(labelsToString(a.labels)).toBe('{alertname="Down", job="api", severity="page"}');
    expect(a.annotations).toEqual([{ name: 'summary', value: 'api down' }]);
    expect(a.startsAt).toBe(first + 2 * M);
    expect(a.endsAt).toBe(first + 2 * M + 4 * M);
    expect(a.generatorURL).toBe('http://ruler:10902/graph?g0.expr=job%3Aup+%3D%3D+0&g0.tab=1');
    await clock.advance(M); // within resend delay: not resent
    expect(sender.all).toHaveLength(1);
    await clock.advance(M);
    expect(sender.all).toHaveLength(2);
    const alerts = await rawSeries(db, 'ALERTS');
    // Nothing is written before the restore, and by then the alert already fires: no pending series.
    expect([...alerts.keys()]).toEqual(['{__name__="ALERTS", alertname="Down", alertstate="firing", job="api", severity="page"}']);
    expect(alerts.get('{__name__="ALERTS", alertname="Down", alertstate="firing", job="api", severity="page"}')![0]).toEqual([first + 2 * M, 1]);
    const fs = (await rawSeries(db, 'ALERTS_FOR_STATE')).get('{__name__="ALERTS_FOR_STATE", alertname="Down", job="api", severity="page"}')!;
    expect(fs[0]).toEqual([first + 2 * M, Math.floor(first / 1000)]);
    const l = { rule_group: 'alerts.yml;g', strategy: 'abort' };
    expect(await metricValue(registry, 'prometheus_rule_group_iterations_total', l)).toBe(5);
    expect(await metricValue(registry, 'prometheus_rule_evaluations_total', l)).toBe(10);
    expect(await metricValue(registry, 'prometheus_rule_group_last_evaluation_timestamp_seconds', l)).toBe((first + 4 * M) / 1000);

    const api = apiRuleGroups(m.ruleGroups());
    expect(api.groups[0]).toMatchObject({ name: 'g', file: 'alerts.yml', interval: 60, limit: 0, lastEvaluation: new Date(first + 4 * M).toISOString().replace('.000Z', 'Z') });
    expect(api.groups[0].rules[0]).toMatchObject({ name: 'job:up', query: 'max by (job) (up)', health: 'ok', type: 'recording', labels: {} });
    expect(api.groups[0].rules[1]).toMatchObject({
      state: 'firing',
      name: 'Down',
      duration: 120,
      keepFiringFor: 0,
      labels: { severity: 'page' },
      annotations: { summary: '{{ $labels.job }} down' },
      type: 'alerting',
      alerts: [{ labels: { alertname: 'Down', job: 'api', severity: 'page' }, state: 'firing', value: '0e+00', annotations: { summary: 'api down' } }],
    });
    expect(apiRuleGroups(m.ruleGroups(), { type: 'record' }).groups[0].rules).toHaveLength(1);
    expect(apiAlertsData(m.alertingRules()).alerts).toHaveLength(1);
    const proto = protoRuleGroups(m.ruleGroups(), [{ name: 'replica', value: 'a' }]);
    expect(proto[0].PartialResponseStrategy).toBe(1);
    expect(proto[0].rules[1].alert?.state).toBe(3);
    expect(proto[0].rules[1].alert?.labels.labels).toEqual([
      { name: 'replica', value: 'a' },
      { name: 'severity', value: 'page' },
    ]);
  });

  it('counts missed iterations when an evaluation overruns', async () => {
    const q = engineQuery(db);
    let slow = false;
    const m = manager([alertFile(0)], {
      query: async (e, t, o) => {
        if (slow) {
          slow = false;
          clock.skew(3 * M + 1000);
        }
        return q(e, t, o);
      },
    });
    await m.start();
    const g = m.group('alerts.yml', 'g')!;
    const first = g.evalTimestamp(T0) + M;
    await clock.advance(first - T0 + M);
    slow = true;
    await clock.advance(M); // this eval takes 3m: slots first+3m, +4m are missed
    await clock.advance(M);
    // Overran from first+2m to first+5m+1s: first+3m and +4m missed, first+5m evaluated late, then first+6m.
    expect(g.lastEvalTimestamp).toBe(first + 6 * M);
    expect(await metricValue(registry, 'prometheus_rule_group_iterations_missed_total', { rule_group: 'alerts.yml;g' })).toBe(2);
  });

  it('restores for state: pending resumes its clock, firing stays firing', async () => {
    const m1 = manager([alertFile(30 * M)]);
    await m1.start();
    const g1 = m1.group('alerts.yml', 'g')!;
    const first = g1.evalTimestamp(T0) + M;
    await clock.advance(first - T0 + 10 * M); // pending for 10m
    expect(g1.alertingRules()[0].state()).toBe(AlertState.Pending);
    await m1.stop();
    managers.splice(0);

    // Down for 5m, then a new ruler on the same data.
    await clock.advance(5 * M);
    const m2 = manager([alertFile(30 * M)]);
    await m2.start();
    const g2 = m2.group('alerts.yml', 'g')!;
    const restart = clock.now();
    await clock.advance(3 * M); // two evaluations, then restore
    const [a] = g2.alertingRules()[0].activeAlerts();
    // activeAt moved forward by the downtime: from the last written sample to the restore.
    const downAt = Math.trunc((first + 10 * M) / 1000) * 1000;
    expect(a.activeAt).toBeGreaterThan(Math.floor(first / 1000) * 1000);
    // Restored after the second evaluation of the new ruler.
    const restoredAt = g2.evalTimestamp(restart) + 2 * M;
    expect(a.activeAt).toBe(Math.floor(first / 1000) * 1000 + (restoredAt - downAt));
    expect(a.state).toBe(AlertState.Pending);
  });

  it('brings a firing alert back firing with no pending in between', async () => {
    const m1 = manager([alertFile(12 * M)]);
    await m1.start();
    const g1 = m1.group('alerts.yml', 'g')!;
    await clock.advance(g1.evalTimestamp(T0) + M - T0 + 15 * M);
    expect(g1.alertingRules()[0].state()).toBe(AlertState.Firing);
    await m1.stop();
    managers.splice(0);
    registry = new Registry();
    await clock.advance(2 * M);
    const restartAt = clock.now();
    const m2 = manager([alertFile(12 * M)]);
    await m2.start();
    await clock.advance(4 * M);
    const r2 = m2.group('alerts.yml', 'g')!.alertingRules()[0];
    expect(r2.state()).toBe(AlertState.Firing);
    const pending = (await rawSeries(db, 'ALERTS')).get('{__name__="ALERTS", alertname="Down", alertstate="pending", job="api", severity="page"}')!;
    expect(pending.filter(([t, v]) => t > restartAt && v !== 'stale')).toEqual([]);
  });

  it('reloads: unchanged groups keep running, changed ones keep alert state, removed ones go stale', async () => {
    const m = manager([alertFile(5 * M)]);
    await m.start();
    const g = m.group('alerts.yml', 'g')!;
    await clock.advance(g.evalTimestamp(T0) + M - T0 + 2 * M);
    await m.update([alertFile(5 * M)]);
    expect(m.group('alerts.yml', 'g')).toBe(g);

    const before = g.alertingRules()[0].activeAlerts()[0].activeAt;
    await m.update([alertFile(5 * M, 2 * M)]);
    const g2 = m.group('alerts.yml', 'g')!;
    expect(g2).not.toBe(g);
    expect(g2.alertingRules()[0].activeAlerts()[0].activeAt).toBe(before);

    await expect(m.update([{ path: 'bad.yml', groups: [groupConfig({ name: 'x', rules: [ruleNode({ record: 'x', expr: 'sum(' })] })] }])).rejects.toBeInstanceOf(RuleLoadError);
    expect(m.group('alerts.yml', 'g')).toBe(g2);

    await clock.advance(1000);
    const removedAt = clock.now();
    await m.update([]);
    expect(m.ruleGroups()).toEqual([]);
    await clock.advance(4 * M + 1);
    const rec = (await rawSeries(db, 'job:up')).get('{__name__="job:up", job="api"}')!;
    expect(rec[rec.length - 1]).toEqual([removedAt, 'stale']);
    expect(await metricValue(registry, 'prometheus_rule_group_rules', { rule_group: 'alerts.yml;g' })).toBeUndefined();
  });
});
