// Label names, label values and series requests (Thanos labels tripperware): split at
// --labels.split-interval boundaries, asked in parallel, merged as unions, and with
// --labels.response-cache-config each piece that lies wholly in the past cached under
// its exact range. The union over a partition of [start, end] equals the answer for the
// whole range, since a series with samples in the range has them in some piece.

import { ApiError, badData, DownstreamError } from './errors.js';
import { formatSeconds, parseTime } from './params.js';
import { seriesKey } from './response.js';

export type LabelsOp = 'label_names' | 'label_values' | 'series';

export interface LabelsRequest {
  op: LabelsOp;
  path: string;
  /** Unix ms. */
  start: number;
  end: number;
  /** Every parameter but start/end, passed on as given. */
  rest: [string, string][];
  noCache: boolean;
}

export interface LabelsResponse {
  /** label names or values: strings; series: label sets. */
  data: (string | Record<string, string>)[];
  warnings: string[];
  infos: string[];
  noStore?: boolean;
}

export function decodeLabelsRequest(op: LabelsOp, path: string, form: URLSearchParams, now: number, defaultRangeMs: number): LabelsRequest {
  const time = (k: string, def: number): number => {
    const v = form.get(k);
    if (v === null || v === '') return def;
    try {
      return parseTime(v);
    } catch (err) {
      throw badData(`invalid parameter "${k}": ${(err as Error).message}`);
    }
  };
  const end = time('end', now);
  const start = time('start', end - defaultRangeMs);
  if (end < start) throw badData('end timestamp must not be before start time');
  const rest: [string, string][] = [];
  for (const [k, v] of form) if (k !== 'start' && k !== 'end') rest.push([k, v]);
  return { op, path, start, end, rest, noCache: false };
}

export function encodeLabelsRequest(r: LabelsRequest): URLSearchParams {
  const p = new URLSearchParams(r.rest);
  p.set('start', formatSeconds(r.start));
  p.set('end', formatSeconds(r.end));
  return p;
}

/** Pieces of a labels request cut at interval boundaries, in time order. */
export function splitLabelsRequest(r: LabelsRequest, interval: number): LabelsRequest[] {
  // A limit applies to the whole answer; pieces would each be cut on their own.
  if (interval <= 0 || r.rest.some(([k]) => k === 'limit')) return [r];
  const out: LabelsRequest[] = [];
  let start = r.start;
  while (start <= r.end) {
    const boundary = (Math.floor(start / interval) + 1) * interval;
    const end = Math.min(boundary - 1, r.end);
    out.push({ ...r, start, end });
    start = end + 1;
  }
  return out;
}

export function labelsCacheKey(tenant: string, r: LabelsRequest, interval: number): string {
  const params = r.rest.map(([k, v]) => `${k}=${v}`).join('&');
  return `fe:${tenant}:${r.path}:${params}:${interval}:${r.start}:${r.end}`;
}

export function decodeLabelsResponse(status: number, headers: Record<string, string>, body: Buffer): LabelsResponse {
  let parsed: { status?: string; data?: unknown; warnings?: string[]; infos?: string[] };
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new DownstreamError(status === 200 ? 502 : status, headers, body);
  }
  if (status !== 200 || parsed.status !== 'success') throw new DownstreamError(status === 200 ? 500 : status, headers, body);
  if (!Array.isArray(parsed.data)) throw new ApiError(502, 'internal', 'downstream answered without a data list');
  const warnings = parsed.warnings ?? [];
  const noStore = warnings.length > 0 || (headers['cache-control'] ?? '').includes('no-store');
  return { data: parsed.data as LabelsResponse['data'], warnings, infos: parsed.infos ?? [], noStore };
}

/** The union of the pieces' answers, sorted as Prometheus sorts them. */
export function mergeLabelsResponses(op: LabelsOp, resps: readonly LabelsResponse[]): LabelsResponse {
  if (resps.length === 1) return resps[0];
  const warnings = new Set<string>();
  const infos = new Set<string>();
  for (const r of resps) {
    r.warnings.forEach((w) => warnings.add(w));
    r.infos.forEach((i) => infos.add(i));
  }
  let data: LabelsResponse['data'];
  if (op === 'series') {
    const byKey = new Map<string, Record<string, string>>();
    for (const r of resps) for (const s of r.data as Record<string, string>[]) byKey.set(seriesKey(s), s);
    data = [...byKey.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, s]) => s);
  } else {
    const set = new Set<string>();
    for (const r of resps) for (const s of r.data as string[]) set.add(s);
    data = [...set].sort();
  }
  return { data, warnings: [...warnings], infos: [...infos] };
}

export function encodeLabelsResponse(r: LabelsResponse): Buffer {
  let s = '{"status":"success","data":' + JSON.stringify(r.data);
  if (r.warnings.length > 0) s += ',"warnings":' + JSON.stringify(r.warnings);
  if (r.infos.length > 0) s += ',"infos":' + JSON.stringify(r.infos);
  return Buffer.from(s + '}', 'utf8');
}

/** Cached form of a labels answer: JSON is compact enough for a list of names. */
export function encodeCachedLabels(key: string, r: LabelsResponse): Uint8Array {
  return Buffer.from(JSON.stringify({ key, data: r.data, infos: r.infos }), 'utf8');
}

export function decodeCachedLabels(key: string, v: Uint8Array): LabelsResponse | null {
  try {
    const o = JSON.parse(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8')) as { key?: string; data?: LabelsResponse['data']; infos?: string[] };
    if (o.key !== key || !Array.isArray(o.data)) return null;
    return { data: o.data, warnings: [], infos: o.infos ?? [] };
  } catch {
    return null;
  }
}
