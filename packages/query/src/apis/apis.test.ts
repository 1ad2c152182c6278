import { describe, expect, it } from 'vitest';
import { AlertState, CollectingSink, RulesRequestType, Status, StoreAPIError, TargetHealth, TargetsRequestState, thanos } from '@thanos-ts/storeapi';
import type { ApiFrame, ExemplarData, Rule, RuleGroup, TargetDiscovery } from '@thanos-ts/storeapi';
import { parseMetricSelector } from '@thanos-ts/promql';
import type { Labels } from '@thanos-ts/tsdb';
import { alertsJSON, collectRules, ruleGroupsJSON, RulesProxy } from './rules.js';
import { collectTargets, targetsJSON, TargetsProxy } from './targets.js';
import { collectMetadata, metadataJSON, MetadataProxy } from './metadata.js';
import { collectExemplars, exemplarsJSON, ExemplarsProxy } from './exemplars.js';
import type { ApiEndpoint } from './fanout.js';

const ls = (rec: Record<string, string>): Labels => Object.entries(rec).map(([name, value]) => ({ name, value })).sort((a, b) => (a.name < b.name ? -1 : 1));
const ts = (s: number) => ({ seconds: s, nanos: 0 });

async function* frames<T>(xs: T[], warnings: string[] = [], fail?: string): AsyncGenerator<ApiFrame<T>> {
  for (const w of warnings) yield { payload: null, warning: w };
  for (const x of xs) yield { payload: x, warning: null };
  if (fail) throw new StoreAPIError('x', 'Call', Status.UNAVAILABLE, fail);
}

/** An endpoint answering fixed payloads per API (or failing). */
function endpoint(address: string, ext: Record<string, string>, answers: { rules?: RuleGroup[]; targets?: TargetDiscovery[]; metadata?: any[]; exemplars?: ExemplarData[]; fail?: string; type?: string }, queries: string[] = []): ApiEndpoint {
  const fail = answers.fail ? new StoreAPIError(address, 'Call', Status.UNAVAILABLE, answers.fail) : null;
  const run = <T>(xs: T[] | undefined) => ({ [Symbol.asyncIterator]: () => (fail ? (async function* () { throw fail; })() : frames(xs ?? [])) }) as AsyncIterable<ApiFrame<T>>;
  return {
    address,
    labelSets: () => [ls(ext)],
    componentType: () => answers.type ?? 'sidecar',
    client: {
      rules: () => run(answers.rules),
      targets: () => run(answers.targets),
      metricMetadata: () => run(answers.metadata),
      exemplars: (req: { query?: string | null }) => {
        queries.push(req.query ?? '');
        return run(answers.exemplars);
      },
    } as unknown as ApiEndpoint['client'],
  };
}

function alertRule(replica: string, state: AlertState, evalAt: number): Rule {
  return {
    alert: {
      state,
      name: 'Hot',
      query: 't > 20',
      durationSeconds: 0,
      labels: { labels: ls({ cluster: 'c', replica, severity: 'page' }) },
      annotations: { labels: [] },
      alerts: state === AlertState.FIRING ? [{ labels: { labels: ls({ alertname: 'Hot' }) }, annotations: { labels: [] }, state, activeAt: ts(evalAt), value: '2.1e+01' }] : [],
      health: 'ok',
      lastError: '',
      evaluationDurationSeconds: 0.5,
      lastEvaluation: ts(evalAt),
      keepFiringForSeconds: 0,
    },
  };
}

function recRule(replica: string, evalAt: number): Rule {
  return { recording: { name: 'r:sum', query: 'sum(x)', labels: { labels: ls({ cluster: 'c', replica }) }, health: 'ok', lastError: '', evaluationDurationSeconds: 0, lastEvaluation: ts(evalAt) } };
}

const group = (rules: Rule[], name = 'g'): RuleGroup => ({ name, file: 'f.yml', rules, interval: 1, evaluationDurationSeconds: 0, lastEvaluation: ts(100), limit: 0 });
const signal = new AbortController().signal;

describe('rules across endpoints', () => {
  const eps = [
    endpoint('a:1', { cluster: 'c', replica: '0' }, { rules: [group([recRule('0', 100), alertRule('0', AlertState.PENDING, 101)])] }),
    endpoint('b:1', { cluster: 'c', replica: '1' }, { rules: [group([recRule('1', 105), alertRule('1', AlertState.FIRING, 99)]), group([recRule('1', 1)], 'other')] }),
    endpoint('c:1', { cluster: 'd', replica: '0' }, { fail: 'connection refused' }),
  ];
  const proxy = new RulesProxy({ endpoints: () => eps });
  const base = { type: RulesRequestType.ALL, partialResponse: true, matcherSets: [], ruleNames: [], ruleGroups: [], files: [], replicaLabels: ['replica'] };

  it('merges groups, keeps each rule once preferring firing, then the latest evaluation, and warns about a failing endpoint', async () => {
    const { groups, warnings } = await collectRules(proxy, base, signal);
    expect(warnings).toEqual(['store c:1: Call: rpc error: code = Unavailable desc = connection refused']);
    expect(groups.map((g) => g.name)).toEqual(['g', 'other']);
    const [rec, alert] = groups[0].rules;
    expect(rec.recording!.lastEvaluation).toEqual(ts(105));
    expect(rec.recording!.labels!.labels).toEqual(ls({ cluster: 'c' }));
    expect(alert.alert!.state).toBe(AlertState.FIRING);
    expect(alertsJSON(groups)).toBe('{"alerts":[{"labels":{"alertname":"Hot"},"annotations":{},"state":"firing","activeAt":"1970-01-01T00:01:39Z","value":"2.1e+01"}]}');
    expect(ruleGroupsJSON([groups[1]])).toBe(
      '{"groups":[{"name":"other","file":"f.yml","rules":[{"name":"r:sum","query":"sum(x)","labels":{"cluster":"c"},"health":"ok","evaluationTime":0,"lastEvaluation":"1970-01-01T00:00:01Z","type":"recording"}],"interval":1,"limit":0,"evaluationTime":0,"lastEvaluation":"1970-01-01T00:01:40Z"}]}',
    );
  });

  it('keeps every replica without replica labels, and filters by name, group, file and match[]', async () => {
    expect((await collectRules(proxy, { ...base, replicaLabels: [] }, signal)).groups[0].rules).toHaveLength(4);
    expect((await collectRules(proxy, { ...base, ruleNames: ['Hot'] }, signal)).groups.map((g) => g.rules.length)).toEqual([1]);
    expect((await collectRules(proxy, { ...base, ruleGroups: ['other'] }, signal)).groups.map((g) => g.name)).toEqual(['other']);
    expect((await collectRules(proxy, { ...base, files: ['nope.yml'] }, signal)).groups).toEqual([]);
    const bySeverity = await collectRules(proxy, { ...base, matcherSets: [parseMetricSelector('{severity="page"}')] }, signal);
    expect(bySeverity.groups.map((g) => g.rules.map((r) => r.alert?.name))).toEqual([['Hot']]);
  });

  it('fails without partial response', async () => {
    await expect(collectRules(proxy, { ...base, partialResponse: false }, signal)).rejects.toThrow(/c:1.*connection refused/);
  });
});

describe('targets across endpoints', () => {
  const target = (replica: string, health: TargetHealth, scrapedAt: number) => ({
    discoveredLabels: { labels: ls({ __address__: 'h:1', cluster: 'c', replica }) },
    labels: { labels: ls({ instance: 'h:1', job: 'j', cluster: 'c', replica }) },
    scrapePool: 'j',
    scrapeUrl: 'http://h:1/metrics',
    globalUrl: 'http://h:1/metrics',
    lastError: '',
    lastScrape: ts(scrapedAt),
    lastScrapeDuration: 0.002,
    health,
  });
  const eps = [
    endpoint('a:1', { replica: '0' }, { targets: [{ activeTargets: [target('0', TargetHealth.UP, 10)], droppedTargets: [{ discoveredLabels: { labels: ls({ __address__: 'x', replica: '0' }) } }] }] }),
    endpoint('b:1', { replica: '1' }, { targets: [{ activeTargets: [target('1', TargetHealth.UP, 12)], droppedTargets: [{ discoveredLabels: { labels: ls({ __address__: 'x', replica: '1' }) } }] }] }),
  ];
  it('keeps each target once, the latest scrape among equal health', async () => {
    const { targets } = await collectTargets(new TargetsProxy({ endpoints: () => eps }), { state: TargetsRequestState.ANY, partialResponse: true, replicaLabels: ['replica'] }, signal);
    expect(targets.activeTargets).toHaveLength(1);
    expect(targets.activeTargets[0].lastScrape).toEqual(ts(12));
    expect(targetsJSON(targets)).toBe(
      '{"activeTargets":[{"discoveredLabels":{"__address__":"h:1","cluster":"c"},"labels":{"cluster":"c","instance":"h:1","job":"j"},"scrapePool":"j","scrapeUrl":"http://h:1/metrics","globalUrl":"http://h:1/metrics","lastError":"","lastScrape":"1970-01-01T00:00:12Z","lastScrapeDuration":0.002,"health":"up"}],"droppedTargets":[{"discoveredLabels":{"__address__":"x"}}]}',
    );
    const raw = await collectTargets(new TargetsProxy({ endpoints: () => eps }), { state: TargetsRequestState.ANY, partialResponse: true, replicaLabels: [] }, signal);
    expect(raw.targets.activeTargets).toHaveLength(2);
    expect(raw.targets.droppedTargets).toHaveLength(2);
  });
});

describe('metadata across endpoints', () => {
  it('merges metas per metric once, with limit and limit_per_metric', async () => {
    const m = (metas: Record<string, [string, string][]>) => ({ metadata: Object.fromEntries(Object.entries(metas).map(([k, v]) => [k, { metas: v.map(([type, help]) => ({ type, help, unit: '' })) }])) });
    const eps = [
      endpoint('a:1', {}, { metadata: [m({ up: [['gauge', 'Up.']], b_total: [['counter', 'B.']] })] }),
      endpoint('b:1', {}, { metadata: [m({ up: [['gauge', 'Up.'], ['gauge', 'Other help.']] })] }),
    ];
    const proxy = new MetadataProxy({ endpoints: () => eps });
    const all = await collectMetadata(proxy, { metric: '', limit: -1, limitPerMetric: 0, partialResponse: true }, signal);
    expect(metadataJSON(all.metadata)).toBe('{"b_total":[{"type":"counter","help":"B.","unit":""}],"up":[{"type":"gauge","help":"Up.","unit":""},{"type":"gauge","help":"Other help.","unit":""}]}');
    expect([...(await collectMetadata(proxy, { metric: '', limit: 1, limitPerMetric: 0, partialResponse: true }, signal)).metadata.keys()]).toEqual(['b_total']);
    expect((await collectMetadata(proxy, { metric: '', limit: -1, limitPerMetric: 1, partialResponse: true }, signal)).metadata.get('up')).toHaveLength(1);
  });
});

describe('exemplars across endpoints', () => {
  const data = (replica: string, tsMs: number): ExemplarData => ({
    seriesLabels: { labels: ls({ __name__: 'req_total', cluster: 'c', replica }) },
    exemplars: [{ labels: { labels: ls({ trace_id: 'abc' }) }, value: 1.5, ts: 1000 }, { labels: { labels: ls({ trace_id: 'x' + replica }) }, value: 2, ts: tsMs }],
  });
  it('asks each endpoint only selectors it can match, without external label matchers, and merges replicas', async () => {
    const qa: string[] = [];
    const qb: string[] = [];
    const eps = [
      endpoint('a:1', { cluster: 'c', replica: '0' }, { exemplars: [data('0', 2000)] }, qa),
      endpoint('b:1', { cluster: 'c', replica: '1' }, { exemplars: [data('1', 3000)] }, qb),
      endpoint('q:1', { cluster: 'q' }, { exemplars: [], type: 'query' }),
    ];
    const proxy = new ExemplarsProxy({ endpoints: () => eps });
    const { data: out } = await collectExemplars(proxy, { query: 'rate(req_total{cluster="c"}[1m])', start: 0, end: 10_000, partialResponse: true, replicaLabels: ['replica'] }, signal);
    expect(qa).toEqual(['{__name__="req_total"}']);
    expect(exemplarsJSON(out)).toBe(
      '[{"seriesLabels":{"__name__":"req_total","cluster":"c"},"exemplars":[{"labels":{"trace_id":"abc"},"value":"1.5","timestamp":1},{"labels":{"trace_id":"x0"},"value":"2","timestamp":2},{"labels":{"trace_id":"x1"},"value":"2","timestamp":3}]}]',
    );
    const sink = new CollectingSink<ExemplarData>();
    await proxy.exemplars({ query: 'req_total{cluster="nowhere"}', partialResponseStrategy: thanos.PartialResponseStrategy.WARN }, sink, signal);
    expect(sink.payloads).toEqual([]);
    await expect(proxy.exemplars({ query: 'req_total{' }, sink, signal)).rejects.toThrow();
  });
});
