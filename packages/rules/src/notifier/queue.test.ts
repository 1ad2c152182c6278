import { labelsFromRecord, labelsToRecord } from '@thanos-ts/tsdb';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../types.js';
import { parseAlertRelabelConfigs } from './flags.js';
import { AlertQueue } from './queue.js';

function alert(name: string, extra: Record<string, string> = {}): Alert {
  return { labels: labelsFromRecord({ alertname: name, ...extra }), annotations: [], startsAt: 1, endsAt: 2, generatorURL: '' };
}

async function metric(reg: Registry, name: string): Promise<number> {
  const m = await reg.getSingleMetric(name)!.get();
  return m.values[0]?.value ?? NaN;
}

describe('AlertQueue', () => {
  it('hands out batches of at most maxBatchSize, oldest first', async () => {
    const reg = new Registry();
    const q = new AlertQueue({ capacity: 10, maxBatchSize: 3, registry: reg });
    q.push(['a', 'b', 'c', 'd', 'e'].map((n) => alert(n)));
    expect(q.pop().map((a) => labelsToRecord(a.labels).alertname)).toEqual(['a', 'b', 'c']);
    expect(q.pop().map((a) => labelsToRecord(a.labels).alertname)).toEqual(['d', 'e']);
    expect(q.pop()).toEqual([]);
    expect(await metric(reg, 'thanos_alert_queue_alerts_pushed_total')).toBe(5);
    expect(await metric(reg, 'thanos_alert_queue_alerts_popped_total')).toBe(5);
    expect(await metric(reg, 'thanos_alert_queue_capacity')).toBe(10);
    expect(await metric(reg, 'thanos_alert_queue_length')).toBe(0);
  });

  it('drops the oldest alerts when full and counts them', async () => {
    const reg = new Registry();
    const q = new AlertQueue({ capacity: 4, maxBatchSize: 10, registry: reg });
    q.push(['a', 'b', 'c'].map((n) => alert(n)));
    q.push(['d', 'e', 'f'].map((n) => alert(n)));
    expect(await metric(reg, 'thanos_alert_queue_length')).toBe(4);
    expect(await metric(reg, 'thanos_alert_queue_alerts_dropped_total')).toBe(2);
    // A push larger than the queue keeps only its newest alerts.
    q.push(['g', 'h', 'i', 'j', 'k', 'l'].map((n) => alert(n)));
    expect(await metric(reg, 'thanos_alert_queue_alerts_dropped_total')).toBe(2 + 2 + 4);
    expect(q.pop().map((a) => labelsToRecord(a.labels).alertname)).toEqual(['i', 'j', 'k', 'l']);
  });

  it('drops excluded labels, sets external labels over the alert’s own, then relabels', () => {
    const q = new AlertQueue({
      externalLabels: labelsFromRecord({ cluster: 'eu', replica: 'r0' }),
      excludeLabels: ['replica', 'pod'],
      relabelConfigs: parseAlertRelabelConfigs(`
- source_labels: [severity]
  regex: debug
  action: drop
- target_label: team
  replacement: sre
`),
    });
    const orig = alert('A', { cluster: 'us', pod: 'p-1', severity: 'page' });
    q.push([orig, alert('B', { severity: 'debug' })]);
    const out = q.pop();
    expect(out).toHaveLength(1);
    expect(labelsToRecord(out[0].labels)).toEqual({ alertname: 'A', cluster: 'eu', severity: 'page', team: 'sre' });
    expect(labelsToRecord(orig.labels).pod).toBe('p-1'); // the caller's alert is untouched
  });

  it('wakes a waiting consumer on push, and on abort', async () => {
    const q = new AlertQueue();
    const waiting = q.waitForAlerts();
    q.push([alert('A')]);
    await waiting;
    expect(q.length).toBe(1);
    q.pop();
    const ac = new AbortController();
    const aborted = q.waitForAlerts(ac.signal);
    ac.abort();
    await aborted;
    expect(q.length).toBe(0);
  });
});
