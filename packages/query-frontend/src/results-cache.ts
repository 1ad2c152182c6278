// The results cache for range query pieces (Cortex results_cache.go). Each piece lies
// within one split interval; its key names that interval, and the stored value holds
// extents: time ranges already answered. A request takes what the extents cover and
// asks downstream only for the gaps; the merged extents are written back, cut at
// now - max-freshness (rounded down to the step) so the still-changing recent part is
// never stored.

import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import { mapConcurrent } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import type { Cache } from '@thanos-ts/cache';
import { decodeCachedExtents, encodeCachedExtents } from './extent-codec.js';
import type { Extent } from './extent-codec.js';
import { hashKey, queryRangeCacheKey, shouldCache } from './cache-key.js';
import type { QueryRangeRequest } from './request.js';
import { extractRange, mergeResponses } from './response.js';
import type { RangeResponse } from './response.js';

export type RangeHandler = (r: QueryRangeRequest) => Promise<RangeResponse>;

/** Extents shorter than this are not used for longer requests (Cortex minCacheExtent). */
const MIN_CACHE_EXTENT_MS = 5 * 60_000;

export interface ResultsCacheOptions {
  cache: Cache;
  /** Stored items' time to live (0: the backend's default). */
  ttlMs: number;
  splitIntervalMs: number;
  maxFreshnessMs: number;
  parallelism: number;
  registry: Registry;
  tripperware: string;
  logger: Logger;
  now?: () => number;
}

interface CacheMetrics {
  fetched: Counter<'name' | 'tripperware'>;
  hits: Counter<'name' | 'tripperware'>;
}

const metricsByRegistry = new WeakMap<Registry, CacheMetrics>();

/** The results cache counters, named as Cortex's instrumented cache names them. */
export function resultsCacheMetrics(registry: Registry): CacheMetrics {
  let m = metricsByRegistry.get(registry);
  if (!m) {
    m = {
      fetched: new Counter({ name: 'cortex_cache_fetched_keys_total', help: 'Total count of keys requested from cache.', labelNames: ['name', 'tripperware'], registers: [registry] }),
      hits: new Counter({ name: 'cortex_cache_hits_total', help: 'Total count of keys found in cache.', labelNames: ['name', 'tripperware'], registers: [registry] }),
    };
    metricsByRegistry.set(registry, m);
  }
  return m;
}

/** Whether the query's answer for a past range can change later, so it must not be cached. */
function queryCachable(query: string): boolean {
  // A negative offset reads the future of each step (Cortex isOffsetCachable); an @
  // modifier may pin a time past the end (isAtModifierCachable). Both are rare in
  // dashboards, so they are simply not cached.
  return !query.includes('@') && !/offset\s*-/.test(query);
}

export class ResultsCache {
  private readonly metrics: CacheMetrics;
  private readonly labels: { name: string; tripperware: string };
  private readonly now: () => number;

  constructor(
    private readonly opts: ResultsCacheOptions,
    private readonly next: RangeHandler,
  ) {
    this.metrics = resultsCacheMetrics(opts.registry);
    this.labels = { name: opts.cache.name, tripperware: opts.tripperware };
    this.metrics.fetched.inc(this.labels, 0);
    this.metrics.hits.inc(this.labels, 0);
    this.now = opts.now ?? Date.now;
  }

  async do(r: QueryRangeRequest, tenant: string): Promise<RangeResponse> {
    if (!shouldCache(r) || !queryCachable(r.query)) return this.next(r);
    const maxCacheTime = this.now() - this.opts.maxFreshnessMs;
    if (r.start > maxCacheTime) return this.next(r);
    const key = queryRangeCacheKey(tenant, r, this.opts.splitIntervalMs);
    const cached = await this.get(key);
    let response: RangeResponse;
    let extents: Extent[];
    if (cached) [response, extents] = await this.handleHit(r, cached);
    else {
      response = await this.next(r);
      extents = response.noStore ? [] : [{ start: r.start, end: r.end, response }];
    }
    if (extents.length > 0) this.put(key, this.filterRecent(r, extents));
    return response;
  }

  private async handleHit(r: QueryRangeRequest, extents: Extent[]): Promise<[RangeResponse, Extent[]]> {
    const { requests, pieces } = this.partition(r, extents);
    // Wholly cached: nothing new to write back.
    if (requests.length === 0) return [mergeResponses(sorted(pieces)), []];
    const fetched = await mapConcurrent(requests, this.opts.parallelism, (q) => this.next(q));
    const all = extents.slice();
    requests.forEach((q, i) => {
      pieces.push({ start: q.start, response: fetched[i] });
      if (!fetched[i].noStore) all.push({ start: q.start, end: q.end, response: fetched[i] });
    });
    return [mergeResponses(sorted(pieces)), mergeExtents(all, r.step)];
  }

  /** The cached parts of r and the requests for what they leave out (Cortex partition). */
  private partition(r: QueryRangeRequest, extents: readonly Extent[]): { requests: QueryRangeRequest[]; pieces: { start: number; response: RangeResponse }[] } {
    const requests: QueryRangeRequest[] = [];
    const pieces: { start: number; response: RangeResponse }[] = [];
    let start = r.start;
    for (const e of extents) {
      if (e.end < start || e.start > r.end) continue;
      // Do not stitch tiny extents into a long request (Cortex: avoids many small gaps).
      if (r.start !== r.end && r.end - r.start > MIN_CACHE_EXTENT_MS && e.end - e.start < MIN_CACHE_EXTENT_MS) continue;
      if (start < e.start) requests.push({ ...r, start, end: e.start });
      pieces.push({ start: Math.max(start, e.start), response: extractRange(e.response, start, r.end) });
      start = Math.max(start, e.end);
    }
    if (start < r.end) requests.push({ ...r, start, end: r.end });
    if (r.start === r.end && pieces.length === 0) requests.push(r);
    return { requests, pieces };
  }

  /** Cuts extents at now - max-freshness, rounded down to the step (Cortex filterRecentExtents). */
  private filterRecent(r: QueryRangeRequest, extents: Extent[]): Extent[] {
    const maxCacheTime = Math.floor((this.now() - this.opts.maxFreshnessMs) / r.step) * r.step;
    const out: Extent[] = [];
    for (const e of extents) {
      if (e.end <= maxCacheTime) out.push(e);
      else if (e.start <= maxCacheTime) out.push({ start: e.start, end: maxCacheTime, response: extractRange(e.response, e.start, maxCacheTime) });
    }
    return out;
  }

  private async get(key: string): Promise<Extent[] | null> {
    const h = hashKey(key);
    this.metrics.fetched.inc(this.labels);
    let found: Map<string, Uint8Array>;
    try {
      found = await this.opts.cache.fetch([h]);
    } catch (err) {
      this.opts.logger.warn({ err }, 'results cache fetch failed; asking downstream');
      return null;
    }
    const v = found.get(h);
    if (!v) return null;
    const extents = decodeCachedExtents(key, v);
    if (extents) this.metrics.hits.inc(this.labels);
    return extents;
  }

  private put(key: string, extents: Extent[]): void {
    if (extents.length === 0) return;
    try {
      this.opts.cache.store(new Map([[hashKey(key), encodeCachedExtents(key, extents)]]), this.opts.ttlMs);
    } catch (err) {
      this.opts.logger.warn({ err }, 'results cache store failed');
    }
  }
}

function sorted(pieces: { start: number; response: RangeResponse }[]): RangeResponse[] {
  return pieces.sort((a, b) => a.start - b.start).map((p) => p.response);
}

/** Joins extents that touch or overlap (within one step) into one each (Cortex handleHit). */
export function mergeExtents(extents: Extent[], step: number): Extent[] {
  if (extents.length === 0) return extents;
  const es = extents.slice().sort((a, b) => (a.start === b.start ? b.end - a.end : a.start - b.start));
  const out: Extent[] = [];
  let acc = { ...es[0] };
  for (let i = 1; i < es.length; i++) {
    const e = es[i];
    if (acc.end + step < e.start) {
      out.push(acc);
      acc = { ...e };
      continue;
    }
    if (acc.end >= e.end) continue;
    acc = { start: acc.start, end: e.end, response: mergeResponses([acc.response, e.response]) };
  }
  out.push(acc);
  return out;
}
