import { describe, expect, it } from 'vitest';
import { AlertState, TargetHealth } from '@thanos-ts/storeapi';
import { exemplarsFromPrometheus, metadataFromPrometheus, ruleGroupsFromPrometheus, targetsFromPrometheus } from './prometheus-apis.js';

const ext = [
  { name: 'cluster', value: 'eu' },
  { name: 'replica', value: 'a' },
];

describe('Prometheus API answers as Thanos messages', () => {
  it('adds external labels to each rule, not to its alerts', () => {
    const [g] = ruleGroupsFromPrometheus(
      [
        {
          name: 'g',
          file: '/r.yml',
          interval: 15,
          limit: 0,
          evaluationTime: 0.0012,
          lastEvaluation: '2024-01-02T05:04:05.123456789+02:00',
          rules: [
            { type: 'recording', name: 'r', query: 'sum(x)', health: 'ok', evaluationTime: 0.1, lastEvaluation: '0001-01-01T00:00:00Z' },
            {
              type: 'alerting',
              name: 'A',
              query: 'x > 1',
              duration: 60,
              keepFiringFor: 0,
              labels: { severity: 'page', cluster: 'mine' },
              annotations: { summary: 's' },
              state: 'firing',
              health: 'ok',
              alerts: [{ labels: { alertname: 'A' }, annotations: {}, state: 'firing', activeAt: '2024-01-02T03:04:05Z', value: '2e+00' }],
            },
          ],
        },
      ],
      ext,
    );
    expect(g.lastEvaluation).toEqual({ seconds: Date.UTC(2024, 0, 2, 3, 4, 5) / 1000, nanos: 123456789 });
    expect(g.rules[0].recording!.labels!.labels).toEqual(ext);
    const a = g.rules[1].alert!;
    expect(a.state).toBe(AlertState.FIRING);
    // External labels win over the rule's own, as Thanos's ExtendSortedLabels.
    expect(a.labels!.labels).toEqual([{ name: 'cluster', value: 'eu' }, { name: 'replica', value: 'a' }, { name: 'severity', value: 'page' }]);
    expect(a.alerts[0].labels!.labels).toEqual([{ name: 'alertname', value: 'A' }]);
  });

  it('adds external labels to targets and exemplar series; metadata as is', () => {
    const t = targetsFromPrometheus(
      {
        activeTargets: [
          { discoveredLabels: { __address__: 'h:1' }, labels: { job: 'j' }, scrapePool: 'j', scrapeUrl: 'u', globalUrl: 'g', lastError: '', lastScrape: '2024-01-02T03:04:05Z', lastScrapeDuration: 0.01, health: 'up' },
        ],
        droppedTargets: [{ discoveredLabels: { __address__: 'd:1' } }],
      },
      ext,
    );
    expect(t.activeTargets[0].health).toBe(TargetHealth.UP);
    expect(t.activeTargets[0].labels!.labels.map((l) => l.name)).toEqual(['cluster', 'job', 'replica']);
    expect(t.droppedTargets[0].discoveredLabels!.labels.map((l) => l.name)).toEqual(['__address__', 'cluster', 'replica']);
    const [e] = exemplarsFromPrometheus([{ seriesLabels: { __name__: 'x' }, exemplars: [{ labels: { trace_id: 't' }, value: '+Inf', timestamp: 1700000000.123 }] }], ext);
    expect(e.seriesLabels!.labels.map((l) => l.name)).toEqual(['__name__', 'cluster', 'replica']);
    expect(e.exemplars[0]).toEqual({ labels: { labels: [{ name: 'trace_id', value: 't' }] }, value: Infinity, ts: 1700000000123 });
    expect(metadataFromPrometheus({ up: [{ type: 'gauge', help: 'h', unit: '' }] })).toEqual({ metadata: { up: { metas: [{ type: 'gauge', help: 'h', unit: '' }] } } });
  });
});
