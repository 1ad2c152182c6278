// Exemplars across the endpoints (Thanos pkg/exemplars/proxy.go and exemplars.go). The
// proxy cannot pass the PromQL query on as it is: Prometheus's exemplar API knows
// nothing of external labels. So each endpoint gets the query's selectors that its
// external label sets can match, with the matchers on external label names removed
// (kept for queriers, which route by them themselves), joined by "+": the same series,
// the same exemplars. collectExemplars then drops the replica labels from the series
// labels, merges series that are then equal, deduplicates their exemplars and sorts.

import { parseExpr, extractSelectors } from '@thanos-ts/promql';
import { InvalidArgumentError } from '@thanos-ts/runtime';
import { compareLabels, labelsKey } from '@thanos-ts/tsdb';
import type { Labels, Matcher } from '@thanos-ts/tsdb';
import { CollectingSink, ComponentType, thanos } from '@thanos-ts/storeapi';
import type { Exemplar, ExemplarData, ExemplarsAPI, ExemplarsRequest, ExemplarsRequestInit, ResponseSink } from '@thanos-ts/storeapi';
import { labelSetsMatch, matchesExternalLabels } from '@thanos-ts/storeapi';
import { fanOut, withoutReplicaLabels } from './fanout.js';
import type { ApiEndpoint, ApiProxyOptions } from './fanout.js';
import { formatSampleValue, formatTimestamp, labelsJSON } from '../api/json.js';

export interface ExemplarsProxyOptions extends ApiProxyOptions {
  /** --selector-label: labels announced for all data behind this proxy. */
  selectorLabels?: Labels;
}

/** thanos.Exemplars over every endpoint advertising it. */
export class ExemplarsProxy implements ExemplarsAPI {
  constructor(private readonly opts: ExemplarsProxyOptions) {}

  async exemplars(req: ExemplarsRequest | ExemplarsRequestInit, sink: ResponseSink<ExemplarData>, signal: AbortSignal): Promise<void> {
    let selectors: Matcher[][];
    try {
      selectors = extractSelectors(parseExpr(req.query ?? ''));
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
    const sel = this.opts.selectorLabels ?? [];
    const kept: Matcher[][] = [];
    for (const ms of selectors) {
      const { match, matchers } = matchesExternalLabels(ms, sel);
      if (match) kept.push(matchers);
    }
    if (kept.length === 0 && selectors.length > 0) return;
    if (kept.length === 0 || kept.some((ms) => ms.length === 0)) throw new InvalidArgumentError('no matchers specified (excluding external labels)');
    const abort = req.partialResponseStrategy === thanos.PartialResponseStrategy.ABORT;
    const targets: { e: ApiEndpoint; query: string }[] = [];
    for (const e of this.opts.endpoints()) {
      const query = queryFor(e, kept);
      if (query !== null) targets.push({ e, query });
    }
    const queries = new Map(targets.map((t) => [t.e, t.query]));
    await fanOut(
      'Exemplars',
      targets.map((t) => t.e),
      (e, o) => e.client.exemplars({ query: queries.get(e)!, start: req.start, end: req.end, partialResponseStrategy: req.partialResponseStrategy }, o),
      sink,
      abort,
      signal,
      this.opts,
    );
  }
}

/** The selectors an endpoint may have data for, as one query; null when none. */
function queryFor(e: ApiEndpoint, selectors: readonly Matcher[][]): string | null {
  const sets = e.labelSets();
  const keepExternal = e.componentType() === ComponentType.QUERY;
  const parts: string[] = [];
  for (const ms of selectors) {
    if (!labelSetsMatch(ms, sets)) continue;
    const rest = keepExternal ? ms : ms.filter((m) => !sets.some((ls) => ls.some((l) => l.name === m.name)));
    parts.push(`{${rest.map((m) => m.toString()).join(', ')}}`);
  }
  return parts.length === 0 ? null : parts.join('+');
}

/** The exemplars of all endpoints, replicas merged (Thanos exemplars.GRPCClient). */
export async function collectExemplars(
  proxy: ExemplarsAPI,
  q: { query: string; start: number; end: number; partialResponse: boolean; replicaLabels: readonly string[] },
  signal: AbortSignal,
): Promise<{ data: ExemplarData[]; warnings: string[] }> {
  const sink = new CollectingSink<ExemplarData>();
  const strategy = q.partialResponse ? thanos.PartialResponseStrategy.WARN : thanos.PartialResponseStrategy.ABORT;
  await proxy.exemplars({ query: q.query, start: q.start, end: q.end, partialResponseStrategy: strategy } as ExemplarsRequest, sink, signal);
  return { data: dedupExemplarData(sink.payloads, new Set(q.replicaLabels)), warnings: sink.warnings };
}

/** Series without replica labels, each once with the union of its exemplars; sorted by series labels. */
export function dedupExemplarData(data: readonly ExemplarData[], replicaLabels: ReadonlySet<string>): ExemplarData[] {
  const bySeries = new Map<string, { labels: Labels; exemplars: Exemplar[] }>();
  for (const d of data) {
    if (!d.exemplars || d.exemplars.length === 0) continue;
    const labels = withoutReplicaLabels(d.seriesLabels?.labels ?? [], replicaLabels);
    const k = labelsKey(labels);
    const have = bySeries.get(k);
    if (have) have.exemplars.push(...d.exemplars);
    else bySeries.set(k, { labels, exemplars: [...d.exemplars] });
  }
  const out: ExemplarData[] = [];
  for (const { labels, exemplars } of bySeries.values()) out.push({ seriesLabels: { labels }, exemplars: dedupExemplars(exemplars) });
  return out.sort((a, b) => compareLabels(a.seriesLabels!.labels, b.seriesLabels!.labels));
}

function compareExemplars(a: Exemplar, b: Exemplar): number {
  const ta = Number(a.ts ?? 0);
  const tb = Number(b.ts ?? 0);
  if (ta !== tb) return ta < tb ? -1 : 1;
  const d = compareLabels(a.labels?.labels ?? [], b.labels?.labels ?? []);
  if (d !== 0) return d;
  const va = a.value ?? 0;
  const vb = b.value ?? 0;
  return va < vb ? -1 : va > vb ? 1 : 0;
}

/** Sorted by time, labels and value; equal exemplars once (Thanos dedupExemplars). */
function dedupExemplars(es: Exemplar[]): Exemplar[] {
  es.sort(compareExemplars);
  return es.filter((e, i) => i === 0 || compareExemplars(es[i - 1], e) !== 0);
}

/** The data of /api/v1/query_exemplars, as Prometheus's json_codec writes it. */
export function exemplarsJSON(data: readonly ExemplarData[]): string {
  const series = data.map((d) => {
    const es = d.exemplars.map((e) => `{"labels":${labelsJSON(e.labels?.labels ?? [])},"value":"${formatSampleValue(e.value ?? 0)}","timestamp":${formatTimestamp(Number(e.ts ?? 0))}}`);
    return `{"seriesLabels":${labelsJSON(d.seriesLabels?.labels ?? [])},"exemplars":[${es.join(',')}]}`;
  });
  return `[${series.join(',')}]`;
}
