// Splitting a range query at interval boundaries (Thanos split_by_interval.go): each
// piece ends on the last step before a boundary and the next starts one step later, so
// pieces never share a step and each piece lies within one interval, which is what the
// results cache keys on.

import type { QueryRangeRequest } from './request.js';

/** Cortex step_align: start and end rounded down to a multiple of step. */
export function alignToStep(r: QueryRangeRequest): QueryRangeRequest {
  return { ...r, start: Math.floor(r.start / r.step) * r.step, end: Math.floor(r.end / r.step) * r.step };
}

/** The last time before the next interval boundary after t that is a whole number of steps from t. */
export function nextIntervalBoundary(t: number, step: number, interval: number): number {
  const startOfNext = (Math.floor(t / interval) + 1) * interval;
  let target = startOfNext - ((startOfNext - t) % step);
  if (target === startOfNext) target -= step;
  return target;
}

/** The pieces of a range query, in time order. */
export function splitQuery(r: QueryRangeRequest, interval: number): QueryRangeRequest[] {
  if (interval <= 0 || r.start === r.end) return [r];
  const out: QueryRangeRequest[] = [];
  for (let start = r.start; start < r.end; start = nextIntervalBoundary(start, r.step, interval) + r.step) {
    let end = nextIntervalBoundary(start, r.step, interval);
    if (end + r.step >= r.end) end = r.end;
    out.push({ ...r, start, end });
  }
  return out;
}
