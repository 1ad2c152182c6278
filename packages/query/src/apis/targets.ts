// Scrape targets across the endpoints (Thanos pkg/targets/proxy.go and targets.go): the
// proxy fans thanos.Targets out; collectTargets merges the answers and deduplicates HA
// replicas. Replica labels are dropped from the discovered and target labels; active
// targets that are then the same (scrape URL, pool, discovered labels, labels) are kept
// once, preferring Thanos's order of health (down, up, unknown), then the latest
// scrape; dropped targets are kept once per discovered label set. Both lists come out
// sorted that way, as in Thanos.

import { compareLabels } from '@thanos-ts/tsdb';
import { CollectingSink, formatRFC3339, TargetHealth, thanos } from '@thanos-ts/storeapi';
import type { ActiveTarget, DroppedTarget, ResponseSink, TargetDiscovery, TargetsAPI, TargetsRequest, TargetsRequestInit, TargetsRequestState, Timestamp } from '@thanos-ts/storeapi';
import { fanOut, withoutReplicaLabels } from './fanout.js';
import type { ApiProxyOptions } from './fanout.js';
import { jsonString, labelsJSON } from '../api/json.js';

/** thanos.Targets over every endpoint advertising it. */
export class TargetsProxy implements TargetsAPI {
  constructor(private readonly opts: ApiProxyOptions) {}

  targets(req: TargetsRequest | TargetsRequestInit, sink: ResponseSink<TargetDiscovery>, signal: AbortSignal): Promise<void> {
    const abort = req.partialResponseStrategy === thanos.PartialResponseStrategy.ABORT;
    const r: TargetsRequestInit = { state: req.state, partialResponseStrategy: req.partialResponseStrategy };
    return fanOut('Targets', this.opts.endpoints(), (e, o) => e.client.targets(r, o), sink, abort, signal, this.opts);
  }
}

/** The targets of all endpoints in `state`, merged and deduplicated (Thanos targets.GRPCClient). */
export async function collectTargets(
  proxy: TargetsAPI,
  q: { state: TargetsRequestState; partialResponse: boolean; replicaLabels: readonly string[] },
  signal: AbortSignal,
): Promise<{ targets: TargetDiscovery; warnings: string[] }> {
  const sink = new CollectingSink<TargetDiscovery>();
  const strategy = q.partialResponse ? thanos.PartialResponseStrategy.WARN : thanos.PartialResponseStrategy.ABORT;
  await proxy.targets({ state: q.state, partialResponseStrategy: strategy } as TargetsRequest, sink, signal);
  const replicas = new Set(q.replicaLabels);
  const active: ActiveTarget[] = [];
  const dropped: DroppedTarget[] = [];
  for (const d of sink.payloads) {
    for (const t of d.activeTargets ?? []) {
      active.push({
        discoveredLabels: { labels: withoutReplicaLabels(t.discoveredLabels?.labels ?? [], replicas) },
        labels: { labels: withoutReplicaLabels(t.labels?.labels ?? [], replicas) },
        scrapePool: t.scrapePool ?? '',
        scrapeUrl: t.scrapeUrl ?? '',
        globalUrl: t.globalUrl ?? '',
        lastError: t.lastError ?? '',
        lastScrape: t.lastScrape ?? null,
        lastScrapeDuration: t.lastScrapeDuration ?? 0,
        health: t.health ?? TargetHealth.DOWN,
      });
    }
    for (const t of d.droppedTargets ?? []) dropped.push({ discoveredLabels: { labels: withoutReplicaLabels(t.discoveredLabels?.labels ?? [], replicas) } });
  }
  return { targets: { activeTargets: dedupActive(active), droppedTargets: dedupDropped(dropped) }, warnings: sink.warnings };
}

function compareStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareActive(a: ActiveTarget, b: ActiveTarget): number {
  return (
    compareStr(a.scrapeUrl, b.scrapeUrl) ||
    compareStr(a.scrapePool, b.scrapePool) ||
    compareLabels(a.discoveredLabels?.labels ?? [], b.discoveredLabels?.labels ?? []) ||
    compareLabels(a.labels?.labels ?? [], b.labels?.labels ?? [])
  );
}

function timeOf(t: Timestamp | null | undefined): number {
  return t ? Number(t.seconds ?? 0) * 1e9 + (t.nanos ?? 0) : -Infinity;
}

/** Thanos ActiveTarget.CompareState: < 0 when a is to be shown rather than b. */
function compareState(a: ActiveTarget, b: ActiveTarget): number {
  if (a.health !== b.health) return a.health - b.health;
  return timeOf(b.lastScrape) - timeOf(a.lastScrape);
}

function dedupActive(ts: ActiveTarget[]): ActiveTarget[] {
  ts.sort((a, b) => compareActive(a, b) || compareState(a, b));
  // Sorted by state too: the first of equal targets is the one to keep.
  return ts.filter((t, i) => i === 0 || compareActive(ts[i - 1], t) !== 0);
}

function dedupDropped(ts: DroppedTarget[]): DroppedTarget[] {
  const key = (t: DroppedTarget) => t.discoveredLabels?.labels ?? [];
  ts.sort((a, b) => compareLabels(key(a), key(b)));
  return ts.filter((t, i) => i === 0 || compareLabels(key(ts[i - 1]), key(t)) !== 0);
}

const HEALTH_NAMES: Record<number, string> = {
  [TargetHealth.DOWN]: 'down',
  [TargetHealth.UP]: 'up',
  [TargetHealth.UNKNOWN]: 'unknown',
};

/**
 * The data of /api/v1/targets in Prometheus's field order. Prometheus 2.x also sends
 * scrapeInterval and scrapeTimeout, which thanos.ActiveTarget does not carry.
 */
export function targetsJSON(d: TargetDiscovery): string {
  const active = d.activeTargets.map(
    (t) =>
      `{"discoveredLabels":${labelsJSON(t.discoveredLabels?.labels ?? [])},"labels":${labelsJSON(t.labels?.labels ?? [])}` +
      `,"scrapePool":${jsonString(t.scrapePool)},"scrapeUrl":${jsonString(t.scrapeUrl)},"globalUrl":${jsonString(t.globalUrl)}` +
      `,"lastError":${jsonString(t.lastError)},"lastScrape":${jsonString(formatRFC3339(t.lastScrape))}` +
      `,"lastScrapeDuration":${Number.isFinite(t.lastScrapeDuration) ? JSON.stringify(t.lastScrapeDuration) : '0'},"health":${jsonString(HEALTH_NAMES[t.health] ?? 'unknown')}}`,
  );
  const dropped = d.droppedTargets.map((t) => `{"discoveredLabels":${labelsJSON(t.discoveredLabels?.labels ?? [])}}`);
  return `{"activeTargets":[${active.join(',')}],"droppedTargets":[${dropped.join(',')}]}`;
}
