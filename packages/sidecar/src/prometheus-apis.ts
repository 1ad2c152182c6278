// Rules, Targets, Metadata and Exemplars over a Prometheus (Thanos pkg/rules/prometheus.go,
// pkg/targets/prometheus.go, pkg/metadata/prometheus.go, pkg/exemplars/prometheus.go):
// each reads Prometheus's HTTP API and answers in the Thanos messages. Prometheus does
// not know its external labels there, so they are added as Thanos's sidecar does:
// to every rule's labels (not to the group, nor to the alerts of a rule), to the
// discovered and target labels of targets, and to the series labels of exemplars.
// Metadata carries no labels.

import { labelsFromRecord } from '@thanos-ts/tsdb';
import type { Labels } from '@thanos-ts/tsdb';
import { AlertState, parseRFC3339, RulesRequestType, TargetHealth, TargetsRequestState, withExternalLabels } from '@thanos-ts/storeapi';
import type {
  ActiveTarget,
  AlertInstance,
  ExemplarData,
  ExemplarsAPI,
  ExemplarsRequest,
  LabelSetMessage,
  MetadataAPI,
  MetricMetadata,
  MetricMetadataRequest,
  ResponseSink,
  Rule,
  RuleGroup,
  RulesAPI,
  RulesRequest,
  TargetDiscovery,
  TargetsAPI,
  TargetsRequest,
  Timestamp,
} from '@thanos-ts/storeapi';
import type { PromClient, PromExemplarData, PromMetricMeta, PromRule, PromRuleGroup, PromTargetDiscovery } from './promclient.js';

export interface PrometheusAPIsOptions {
  client: PromClient;
  /** Current external labels of the Prometheus (sorted). */
  externalLabels: () => Labels;
}

/** thanos.Rules, thanos.Targets, thanos.Metadata and thanos.Exemplars over one Prometheus. */
export class PrometheusAPIs implements RulesAPI, TargetsAPI, MetadataAPI, ExemplarsAPI {
  constructor(private readonly opts: PrometheusAPIsOptions) {}

  async rules(req: RulesRequest, sink: ResponseSink<RuleGroup>, signal: AbortSignal): Promise<void> {
    const type = req.type === RulesRequestType.ALERT ? 'alert' : req.type === RulesRequestType.RECORD ? 'record' : '';
    const data = await this.opts.client.rules(type, signal);
    for (const g of ruleGroupsFromPrometheus(data.groups ?? [], this.opts.externalLabels())) {
      const p = sink.send(g);
      if (p) await p;
    }
  }

  async targets(req: TargetsRequest, sink: ResponseSink<TargetDiscovery>, signal: AbortSignal): Promise<void> {
    const state = req.state === TargetsRequestState.ACTIVE ? 'active' : req.state === TargetsRequestState.DROPPED ? 'dropped' : '';
    const data = await this.opts.client.targets(state, signal);
    const p = sink.send(targetsFromPrometheus(data, this.opts.externalLabels()));
    if (p) await p;
  }

  async metricMetadata(req: MetricMetadataRequest, sink: ResponseSink<MetricMetadata>, signal: AbortSignal): Promise<void> {
    const data = await this.opts.client.metadata(req.metric, req.limit, signal);
    const p = sink.send(metadataFromPrometheus(data));
    if (p) await p;
  }

  async exemplars(req: ExemplarsRequest, sink: ResponseSink<ExemplarData>, signal: AbortSignal): Promise<void> {
    const data = await this.opts.client.exemplars(req.query, Number(req.start), Number(req.end), signal);
    for (const e of exemplarsFromPrometheus(data, this.opts.externalLabels())) {
      const p = sink.send(e);
      if (p) await p;
    }
  }
}

const ALERT_STATES: Record<string, AlertState> = {
  inactive: AlertState.INACTIVE,
  pending: AlertState.PENDING,
  firing: AlertState.FIRING,
};

const TARGET_HEALTH: Record<string, TargetHealth> = {
  up: TargetHealth.UP,
  down: TargetHealth.DOWN,
};

function labelSet(rec: Record<string, string> | null | undefined, ext?: Labels): LabelSetMessage {
  const ls = labelsFromRecord(rec ?? {});
  return { labels: ext && ext.length > 0 ? withExternalLabels(ls, ext) : ls };
}

function time(s: string | undefined): Timestamp | null {
  return s ? parseRFC3339(s) : null;
}

/** Prometheus's rule groups as thanos.RuleGroup, `ext` added to every rule's labels. */
export function ruleGroupsFromPrometheus(groups: readonly PromRuleGroup[], ext: Labels): RuleGroup[] {
  return groups.map((g) => ({
    name: g.name,
    file: g.file,
    rules: (g.rules ?? []).map((r) => ruleFromPrometheus(r, ext)),
    interval: g.interval ?? 0,
    evaluationDurationSeconds: g.evaluationTime ?? 0,
    lastEvaluation: time(g.lastEvaluation),
    limit: g.limit ?? 0,
  }));
}

function ruleFromPrometheus(r: PromRule, ext: Labels): Rule {
  if (r.type === 'recording') {
    return {
      recording: {
        name: r.name,
        query: r.query,
        labels: labelSet(r.labels, ext),
        health: r.health,
        lastError: r.lastError ?? '',
        evaluationDurationSeconds: r.evaluationTime ?? 0,
        lastEvaluation: time(r.lastEvaluation),
      },
    };
  }
  if (r.type !== 'alerting') throw new Error(`rule ${JSON.stringify(r.name)}: unknown type ${JSON.stringify(r.type)}`);
  return {
    alert: {
      state: ALERT_STATES[r.state ?? ''] ?? AlertState.UNKNOWN,
      name: r.name,
      query: r.query,
      durationSeconds: r.duration ?? 0,
      labels: labelSet(r.labels, ext),
      annotations: labelSet(r.annotations),
      alerts: (r.alerts ?? []).map(
        (a): AlertInstance => ({
          labels: labelSet(a.labels),
          annotations: labelSet(a.annotations),
          state: ALERT_STATES[a.state] ?? AlertState.UNKNOWN,
          activeAt: time(a.activeAt),
          value: a.value,
        }),
      ),
      health: r.health,
      lastError: r.lastError ?? '',
      evaluationDurationSeconds: r.evaluationTime ?? 0,
      lastEvaluation: time(r.lastEvaluation),
      keepFiringForSeconds: r.keepFiringFor ?? 0,
    },
  };
}

/** Prometheus's targets as thanos.TargetDiscovery, `ext` added to their labels. */
export function targetsFromPrometheus(d: PromTargetDiscovery, ext: Labels): TargetDiscovery {
  return {
    activeTargets: (d.activeTargets ?? []).map(
      (t): ActiveTarget => ({
        discoveredLabels: labelSet(t.discoveredLabels, ext),
        labels: labelSet(t.labels, ext),
        scrapePool: t.scrapePool,
        scrapeUrl: t.scrapeUrl,
        globalUrl: t.globalUrl,
        lastError: t.lastError ?? '',
        lastScrape: time(t.lastScrape),
        lastScrapeDuration: t.lastScrapeDuration ?? 0,
        health: TARGET_HEALTH[t.health] ?? TargetHealth.UNKNOWN,
      }),
    ),
    droppedTargets: (d.droppedTargets ?? []).map((t) => ({ discoveredLabels: labelSet(t.discoveredLabels, ext) })),
  };
}

/** Prometheus's metadata map as thanos.MetricMetadata. */
export function metadataFromPrometheus(m: Record<string, PromMetricMeta[]>): MetricMetadata {
  const metadata: MetricMetadata['metadata'] = {};
  for (const [name, metas] of Object.entries(m)) {
    metadata[name] = { metas: metas.map((x) => ({ type: x.type ?? '', help: x.help ?? '', unit: x.unit ?? '' })) };
  }
  return { metadata };
}

/** Prometheus's exemplars as thanos.ExemplarData, `ext` added to the series labels. */
export function exemplarsFromPrometheus(data: readonly PromExemplarData[], ext: Labels): ExemplarData[] {
  return data.map((d) => ({
    seriesLabels: labelSet(d.seriesLabels, ext),
    exemplars: (d.exemplars ?? []).map((e) => ({
      labels: labelSet(e.labels),
      value: parseGoFloat(e.value),
      // Seconds with millisecond decimals.
      ts: Math.round(Number(e.timestamp) * 1000),
    })),
  }));
}

/** A sample value as Prometheus writes it ("1.5", "NaN", "+Inf", "-Inf"). */
function parseGoFloat(s: string): number {
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  const v = Number(s);
  if (Number.isNaN(v)) throw new Error(`cannot parse exemplar value ${JSON.stringify(s)}`);
  return v;
}
