// The range query request as Thanos's query-frontend decodes it (queryrange_codec.go):
// Prometheus's parameters plus Thanos's dedup, partial_response, max_source_resolution,
// replicaLabels[], storeMatch[], lookback_delta, engine and analyze.

import { ApiError, badData } from './errors.js';
import { formatSeconds, parseBool, parseDuration, parseTime } from './params.js';

export interface QueryRangeRequest {
  path: string;
  query: string;
  /** Unix ms. */
  start: number;
  end: number;
  /** ms, > 0. */
  step: number;
  dedup: boolean;
  partialResponse: boolean;
  /** ms; 0 = raw. */
  maxSourceResolution: number;
  autoDownsampling: boolean;
  replicaLabels: string[];
  storeMatchers: string[];
  lookbackDelta: number;
  engine: string;
  analyze: boolean;
  stats: string;
  /** Cache-Control: no-store on the request. */
  noCache: boolean;
  /** Headers forwarded downstream (--query-frontend.forward-header). */
  headers: [string, string][];
}

/** Prometheus's limit on points per series in a range query. */
const MAX_POINTS = 11_000;

/** Decodes a query_range form; invalid parameters throw ApiError 400 with Prometheus/Thanos messages. */
export function decodeQueryRange(form: URLSearchParams, path: string, defaultPartialResponse: boolean): QueryRangeRequest {
  const value = (k: string): string => form.get(k) ?? '';
  const time = (k: string): number => {
    try {
      return parseTime(value(k));
    } catch (err) {
      throw badData(`invalid parameter "${k}": ${(err as Error).message}`);
    }
  };
  const start = time('start');
  const end = time('end');
  if (end < start) throw badData('invalid parameter "end": end timestamp must not be before start time');
  let step: number;
  try {
    step = parseDuration(value('step'));
  } catch (err) {
    throw badData(`invalid parameter "step": ${(err as Error).message}`);
  }
  if (step <= 0) throw badData('zero or negative query resolution step widths are not accepted. Try a positive integer');
  if ((end - start) / step > MAX_POINTS) throw badData('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');

  const bool = (k: string, def: boolean): boolean => {
    const s = value(k);
    if (s === '') return def;
    const b = parseBool(s);
    if (b === null) throw badData(`cannot parse parameter ${k}`);
    return b;
  };
  let maxSourceResolution = 0;
  let autoDownsampling = false;
  const msr = value('max_source_resolution');
  if (msr === 'auto') {
    autoDownsampling = true;
    maxSourceResolution = Math.trunc(step / 5);
  } else if (msr !== '') {
    try {
      maxSourceResolution = parseDuration(msr);
    } catch {
      throw badData('cannot parse parameter max_source_resolution');
    }
    if (maxSourceResolution < 0) throw badData('negative max_source_resolution is not accepted. Try a positive integer');
  }
  let lookbackDelta = 0;
  if (form.has('lookback_delta')) {
    try {
      lookbackDelta = parseDuration(value('lookback_delta'));
    } catch (err) {
      throw badData(`invalid parameter "lookback_delta": ${(err as Error).message}`);
    }
  }
  return {
    path,
    query: value('query'),
    start,
    end,
    step,
    dedup: bool('dedup', true),
    partialResponse: bool('partial_response', defaultPartialResponse),
    maxSourceResolution,
    autoDownsampling,
    replicaLabels: form.getAll('replicaLabels[]'),
    storeMatchers: form.getAll('storeMatch[]'),
    lookbackDelta,
    engine: value('engine'),
    analyze: bool('analyze', false),
    stats: value('stats'),
    noCache: false,
    headers: [],
  };
}

/** The form sent downstream for a (piece of a) range query, as Thanos's EncodeRequest. */
export function encodeQueryRange(r: QueryRangeRequest): URLSearchParams {
  const p = new URLSearchParams();
  p.set('start', formatSeconds(r.start));
  p.set('end', formatSeconds(r.end));
  p.set('step', formatSeconds(r.step));
  p.set('query', r.query);
  p.set('analyze', String(r.analyze));
  p.set('engine', r.engine);
  p.set('dedup', String(r.dedup));
  p.set('partial_response', String(r.partialResponse));
  for (const l of r.replicaLabels) p.append('replicaLabels[]', l);
  p.set('stats', r.stats);
  if (r.autoDownsampling) p.set('max_source_resolution', 'auto');
  else if (r.maxSourceResolution !== 0) p.set('max_source_resolution', formatSeconds(r.maxSourceResolution));
  for (const m of r.storeMatchers) p.append('storeMatch[]', m);
  if (r.lookbackDelta > 0) p.set('lookback_delta', formatSeconds(r.lookbackDelta));
  return p;
}

export function withStartEnd(r: QueryRangeRequest, start: number, end: number): QueryRangeRequest {
  return { ...r, start, end };
}

/** Cortex limits middleware: --query-range.max-query-length. */
export function checkQueryLength(r: QueryRangeRequest, maxQueryLengthMs: number): void {
  if (maxQueryLengthMs <= 0) return;
  const len = r.end - r.start;
  if (len > maxQueryLengthMs) {
    throw new ApiError(400, 'bad_data', `the query time range exceeds the limit (query length: ${goDuration(len)}, limit: ${goDuration(maxQueryLengthMs)})`);
  }
}

/** Go's time.Duration String for whole ms ("168h0m0s", "1m30s"). */
function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
