import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { labelsFromRecord, labelsToString, type DB } from '@thanos-ts/tsdb';
import { nopLogger } from '@thanos-ts/runtime';
import { AlertingRule, AlertState, ERR_DUPLICATE_ALERT_LABEL_SET, needsSending, type ActiveAlert } from './alerting-rule.js';
import { engineQuery, load, openDB, simpleExpand } from './manager-fixture.js';

const M = 60_000;
const opts = { partialResponse: false };

function rule(o: Partial<ConstructorParameters<typeof AlertingRule>[0]> = {}): AlertingRule {
  return new AlertingRule({
    name: 'HTTPRequestRateLow',
    expr: 'http_requests{group="canary", job="app-server"} < 100',
    forMs: M,
    keepFiringForMs: 0,
    labels: labelsFromRecord({ severity: '{{"c"}}ritical' }),
    annotations: [],
    externalLabels: {},
    externalURL: '',
    restored: true,
    logger: nopLogger(),
    ...o,
  });
}

describe('AlertingRule', () => {
  let db: DB;
  let close: () => Promise<void>;
  beforeEach(async () => {
    ({ db, close } = await openDB());
    // Prometheus rules/manager_test.go TestAlertingRule's data.
    await load(db, { __name__: 'http_requests', job: 'app-server', instance: '0', group: 'canary', severity: 'overwrite-me' }, 0, 5 * M, [75, 85, 95, 105, 105, 95, 85]);
    await load(db, { __name__: 'http_requests', job: 'app-server', instance: '1', group: 'canary', severity: 'overwrite-me' }, 0, 5 * M, [80, 90, 100, 110, 120, 130, 140]);
  });
  afterEach(async () => close());

  it('goes pending, firing and away as Prometheus TestAlertingRule expects', async () => {
    const r = rule();
    const q = engineQuery(db);
    const alerts = (state: string, inst: string): string =>
      labelsToString(labelsFromRecord({ __name__: 'ALERTS', alertname: 'HTTPRequestRateLow', alertstate: state, group: 'canary', instance: inst, job: 'app-server', severity: 'critical' }));
    const cases: Array<[number, string[]]> = [
      [0, [alerts('pending', '0'), alerts('pending', '1')]],
      [5, [alerts('firing', '0'), alerts('firing', '1')]],
      [10, [alerts('firing', '0')]],
      [15, []],
      [20, []],
      [25, [alerts('pending', '0')]],
      [30, [alerts('firing', '0')]],
    ];
    for (const [min, want] of cases) {
      const out = await r.eval(min * M, 0, q, 0, simpleExpand, opts);
      const got = out.filter((s) => s.labels.some((l) => l.name === '__name__' && l.value === 'ALERTS'));
      expect(got.map((s) => labelsToString(s.labels)).sort(), `t=${min}m`).toEqual(want.sort());
      for (const s of got) expect(s).toMatchObject({ t: min * M, v: 1 });
      for (const a of r.activeAlerts()) expect(a.labels.some((l) => l.name === '__name__')).toBe(false);
    }
  });

  it('writes ALERTS_FOR_STATE with activeAt in seconds, and nothing before restore', async () => {
    const r = rule({ restored: false });
    const q = engineQuery(db);
    expect(await r.eval(0, 0, q, 0, simpleExpand, opts)).toEqual([]);
    r.restored = true;
    const out = await r.eval(5 * M, 0, q, 0, simpleExpand, opts);
    const fs = out.filter((s) => s.labels.some((l) => l.value === 'ALERTS_FOR_STATE'));
    expect(fs).toHaveLength(2);
    for (const s of fs) {
      expect(s.v).toBe(0); // active since the first evaluation at t=0
      expect(s.labels.some((l) => l.name === 'alertstate')).toBe(false);
    }
  });

  it('keeps firing for keep_firing_for, then resolves and is dropped after 15m', async () => {
    const r = rule({ expr: 'http_requests{instance="0"} < 100', forMs: 0, keepFiringForMs: 10 * M, labels: [] });
    const q = engineQuery(db);
    expect(r.state()).toBe(AlertState.Unknown);
    r.evaluationTimestamp = 0; // the group sets it
    await r.eval(10 * M, 0, q, 0, simpleExpand, opts); // 95: firing at once (for 0)
    expect(r.state()).toBe(AlertState.Firing);
    await r.eval(15 * M, 0, q, 0, simpleExpand, opts); // 105: condition gone, keeps firing
    let [a] = [...r.active.values()];
    expect(a.state).toBe(AlertState.Firing);
    expect(a.keepFiringSince).toBe(15 * M);
    await r.eval(20 * M, 0, q, 0, simpleExpand, opts); // 5m < 10m: still firing
    expect(a.state).toBe(AlertState.Firing);
    const out = await r.eval(25 * M + 1, 0, engineQuery(db), 0, simpleExpand, { partialResponse: false });
    // 95 again at 25m: firing continues, keepFiringSince reset
    expect(out.length).toBe(2);
    expect(a.keepFiringSince).toBeNull();

    const r2 = rule({ expr: 'http_requests{instance="0"} < 100', forMs: 0, keepFiringForMs: 5 * M, labels: [] });
    await r2.eval(10 * M, 0, q, 0, simpleExpand, opts);
    await r2.eval(15 * M, 0, q, 0, simpleExpand, opts);
    await r2.eval(20 * M, 0, q, 0, simpleExpand, opts); // 5m elapsed: resolved
    [a] = [...r2.active.values()];
    expect(a.state).toBe(AlertState.Inactive);
    expect(a.resolvedAt).toBe(20 * M);
    expect(r2.activeAlerts()).toEqual([]);
    // Kept for resending the resolution, dropped once older than 15m.
    await r2.eval(35 * M, 0, async () => [], 0, simpleExpand, opts);
    expect(r2.active.size).toBe(1);
    await r2.eval(35 * M + 1, 0, async () => [], 0, simpleExpand, opts);
    expect(r2.active.size).toBe(0);
  });

  it('rejects label sets that collide after applying alert labels', async () => {
    const r = rule({ expr: 'http_requests', labels: labelsFromRecord({ instance: 'x' }) });
    await expect(r.eval(0, 0, engineQuery(db), 0, simpleExpand, opts)).rejects.toThrow(ERR_DUPLICATE_ALERT_LABEL_SET);
  });

  it('enforces the limit and drops the alerts', async () => {
    const r = rule({ expr: 'http_requests < 100' });
    await expect(r.eval(0, 0, engineQuery(db), 1, simpleExpand, opts)).rejects.toThrow('exceeded limit of 1 with 2 alerts');
    expect(r.active.size).toBe(0);
  });

  it('templates labels and annotations; a failing template leaves the error text', async () => {
    const failing = async (): Promise<string> => {
      throw new Error('template: __alert_X:1: boom');
    };
    const r = rule({
      expr: 'http_requests{instance="0"}',
      labels: labelsFromRecord({ sev: 'page-{{ $labels.job }}' }),
      annotations: labelsFromRecord({ summary: 'value {{ $value }}', plain: 'no template' }),
    });
    await r.eval(0, 0, engineQuery(db), 0, simpleExpand, opts);
    const [a] = r.activeAlerts();
    expect(labelsToString(a.labels)).toBe('{alertname="HTTPRequestRateLow", group="canary", instance="0", job="app-server", sev="page-app-server", severity="overwrite-me"}');
    expect(a.annotations).toEqual([
      { name: 'plain', value: 'no template' },
      { name: 'summary', value: 'value 75' },
    ]);
    const r2 = rule({ expr: 'http_requests{instance="0"}', labels: [], annotations: labelsFromRecord({ s: '{{ x }}' }) });
    await r2.eval(0, 0, engineQuery(db), 0, failing, opts);
    expect(r2.activeAlerts()[0].annotations[0].value).toBe('<error expanding template: template: __alert_X:1: boom>');
  });

  it('sends firing and resolved alerts when due, with validUntil', () => {
    const r = rule();
    const a: ActiveAlert = { state: AlertState.Firing, labels: [], annotations: [], value: 1, activeAt: 0, firedAt: 0, resolvedAt: null, lastSentAt: null, validUntil: null, keepFiringSince: null };
    r.active.set('x', a);
    expect(r.alertsToSend(0, M, 15_000)).toHaveLength(1);
    expect(a.validUntil).toBe(4 * M);
    expect(r.alertsToSend(30_000, M, 15_000)).toHaveLength(0); // within resend delay
    expect(r.alertsToSend(M + 1, M, 15_000)).toHaveLength(1);
    a.state = AlertState.Inactive;
    a.resolvedAt = M + 2;
    expect(needsSending(a, M + 3, M)).toBe(true); // resolved since last send
    a.state = AlertState.Pending;
    expect(needsSending(a, 10 * M, M)).toBe(false);
  });
});
