// Results cache keys (Thanos thanosCacheKeyGenerator). The key holds everything that
// changes an answer: query, step, split interval and which interval, the downsampling
// level allowed, shard, lookback delta, engine, partial response, replica labels and
// analyze (Thanos #4252, #7831: answers that differ must never share a key). dedup=false
// and storeMatch[] answers are not cached at all (shouldCache).

import type { QueryRangeRequest } from './request.js';

/** Downsampling resolutions, highest first (ResLevel2, ResLevel1, ResLevel0). */
const RESOLUTIONS = [3_600_000, 300_000, 0];

export function queryRangeCacheKey(tenant: string, r: QueryRangeRequest, splitInterval: number): string {
  const currentInterval = Math.floor(r.start / splitInterval);
  let level = 0;
  while (level < RESOLUTIONS.length && RESOLUTIONS[level] > r.maxSourceResolution) level++;
  const replicaLabels = r.replicaLabels.slice().sort().join(',');
  const key = `fe:${tenant}:${r.query}:${r.step}:${splitInterval}:${currentInterval}:${level}:-:${r.lookbackDelta}:${r.engine}:${r.partialResponse}:${replicaLabels}:${r.analyze}`;
  // Without --query-range.align-range-with-step, steps of requests may sit at another
  // offset from the step grid; their points never line up, so they must not share extents.
  const phase = r.start % r.step;
  return phase === 0 ? key : `${key}:${phase}`;
}

/** Whether an answer may be cached at all (Thanos shouldCache). */
export function shouldCache(r: QueryRangeRequest): boolean {
  return !r.noCache && r.dedup && r.storeMatchers.length === 0;
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;

/** The key as stored (Cortex HashKey): FNV-1a 64 of the key, hex, so memcached accepts it. */
export function hashKey(key: string): string {
  let h = FNV_OFFSET;
  for (const b of Buffer.from(key, 'utf8')) {
    h ^= BigInt(b);
    h = (h * FNV_PRIME) & MASK64;
  }
  return h.toString(16).padStart(16, '0');
}
