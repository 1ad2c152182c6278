// Metric metadata across the endpoints (Thanos pkg/metadata/proxy.go and metadata.go):
// the proxy fans thanos.Metadata out; collectMetadata merges the answers, each distinct
// (type, help, unit) once per metric. Metadata carries no labels, so there is nothing
// to deduplicate by replica.

import { CollectingSink, thanos } from '@thanos-ts/storeapi';
import type { MetadataAPI, MetricMeta, MetricMetadata, MetricMetadataRequest, MetricMetadataRequestInit, ResponseSink } from '@thanos-ts/storeapi';
import { fanOut } from './fanout.js';
import type { ApiProxyOptions } from './fanout.js';
import { jsonString } from '../api/json.js';

/** thanos.Metadata over every endpoint advertising it. */
export class MetadataProxy implements MetadataAPI {
  constructor(private readonly opts: ApiProxyOptions) {}

  metricMetadata(req: MetricMetadataRequest | MetricMetadataRequestInit, sink: ResponseSink<MetricMetadata>, signal: AbortSignal): Promise<void> {
    const abort = req.partialResponseStrategy === thanos.PartialResponseStrategy.ABORT;
    const r: MetricMetadataRequestInit = { metric: req.metric, limit: req.limit, partialResponseStrategy: req.partialResponseStrategy };
    return fanOut('MetricMetadata', this.opts.endpoints(), (e, o) => e.client.metricMetadata(r, o), sink, abort, signal, this.opts);
  }
}

export interface MetadataQuery {
  /** Only this metric ("" for all). */
  metric: string;
  /** At most this many metrics; negative: no limit. */
  limit: number;
  /** At most this many metas per metric; 0 or negative: no limit (Prometheus limit_per_metric). */
  limitPerMetric: number;
  partialResponse: boolean;
}

/** Metas by metric name, metric names sorted (as Go writes a map). */
export type MetadataMap = Map<string, MetricMeta[]>;

/** The metadata of all endpoints, merged (Thanos metadata.GRPCClient). */
export async function collectMetadata(proxy: MetadataAPI, q: MetadataQuery, signal: AbortSignal): Promise<{ metadata: MetadataMap; warnings: string[] }> {
  const sink = new CollectingSink<MetricMetadata>();
  const strategy = q.partialResponse ? thanos.PartialResponseStrategy.WARN : thanos.PartialResponseStrategy.ABORT;
  await proxy.metricMetadata({ metric: q.metric, limit: q.limit, partialResponseStrategy: strategy } as MetricMetadataRequest, sink, signal);
  const all = new Map<string, MetricMeta[]>();
  for (const m of sink.payloads) {
    for (const [name, entry] of Object.entries(m.metadata ?? {})) {
      let metas = all.get(name);
      if (!metas) all.set(name, (metas = []));
      for (const x of entry.metas ?? []) {
        const meta = { type: x.type ?? '', help: x.help ?? '', unit: x.unit ?? '' };
        if (metas.some((y) => y.type === meta.type && y.help === meta.help && y.unit === meta.unit)) continue;
        if (q.limitPerMetric > 0 && metas.length >= q.limitPerMetric) continue;
        metas.push(meta);
      }
    }
  }
  let names = [...all.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (q.limit >= 0) names = names.slice(0, q.limit);
  const out: MetadataMap = new Map();
  for (const n of names) out.set(n, all.get(n)!);
  return { metadata: out, warnings: sink.warnings };
}

/** The data of /api/v1/metadata: {"metric":[{"type":…,"help":…,"unit":…}],…}. */
export function metadataJSON(m: MetadataMap): string {
  const parts: string[] = [];
  for (const [name, metas] of m) {
    parts.push(`${jsonString(name)}:[${metas.map((x) => `{"type":${jsonString(x.type)},"help":${jsonString(x.help)},"unit":${jsonString(x.unit)}}`).join(',')}]`);
  }
  return `{${parts.join(',')}}`;
}
