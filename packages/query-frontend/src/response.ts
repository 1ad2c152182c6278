// The query_range answer (Prometheus API `matrix`) held as the frontend needs it: one
// entry per series with its samples in time order; float values are kept as the exact
// strings the query wrote, so merged answers equal direct ones byte for byte.
// Native histogram points are kept as their JSON objects.

import { DownstreamError } from './errors.js';

export interface SampleStream {
  /** The `metric` object as the query sent it. */
  metric: Record<string, string>;
  /** Sorted label pairs joined, the merge key. */
  key: string;
  /** Float points: unix ms and the value as written. */
  ts: number[];
  values: string[];
  /** Native histogram points: unix ms and the histogram object. */
  hts: number[];
  histograms: unknown[];
}

export interface RangeResponse {
  series: SampleStream[];
  warnings: string[];
  infos: string[];
  /** The query answered Cache-Control: no-store: do not cache it. */
  noStore?: boolean;
}

export function emptyResponse(): RangeResponse {
  return { series: [], warnings: [], infos: [] };
}

/**
 * The merge key of a label set: sorted name/value pairs, each part ended by a control
 * byte below any printable one, so comparing keys orders label sets as labels.Compare.
 */
export function seriesKey(metric: Record<string, string>): string {
  const names = Object.keys(metric).sort();
  let k = '';
  for (const n of names) k += n + '\x00' + metric[n] + '\x01';
  return k;
}

function toMs(t: unknown): number {
  return Math.round(Number(t) * 1000);
}

/** Decodes a successful query_range answer; anything else becomes a DownstreamError. */
export function decodeRangeResponse(status: number, headers: Record<string, string>, body: Buffer): RangeResponse {
  let parsed: { status?: string; data?: { resultType?: string; result?: unknown[] }; warnings?: string[]; infos?: string[] };
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new DownstreamError(status === 200 ? 502 : status, headers, body);
  }
  if (status !== 200 || parsed.status !== 'success' || parsed.data?.resultType !== 'matrix') throw new DownstreamError(status === 200 ? 500 : status, headers, body);
  const series: SampleStream[] = [];
  for (const raw of parsed.data.result ?? []) {
    const r = raw as { metric?: Record<string, string>; values?: [number, string][]; histograms?: [number, unknown][] };
    const metric = r.metric ?? {};
    const s: SampleStream = { metric, key: seriesKey(metric), ts: [], values: [], hts: [], histograms: [] };
    for (const [t, v] of r.values ?? []) {
      s.ts.push(toMs(t));
      s.values.push(v);
    }
    for (const [t, h] of r.histograms ?? []) {
      s.hts.push(toMs(t));
      s.histograms.push(h);
    }
    series.push(s);
  }
  // A partial answer (warnings) or one the query marks no-store must not be served again later.
  const noStore = (parsed.warnings ?? []).length > 0 || (headers['cache-control'] ?? '').includes('no-store');
  return { series, warnings: parsed.warnings ?? [], infos: parsed.infos ?? [], noStore };
}

/** Prometheus's label-set order (labels.Compare): pair by pair, name then value. */
function compareMetrics(a: SampleStream, b: SampleStream): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * Merges answers for adjacent or overlapping ranges (given in time order) by series,
 * concatenating points; a point at or before a series' last one is dropped, so pieces
 * that touch at a boundary do not repeat it (Cortex matrixMerge).
 */
export function mergeResponses(resps: readonly RangeResponse[]): RangeResponse {
  if (resps.length === 1) return resps[0];
  const byKey = new Map<string, SampleStream>();
  const warnings = new Set<string>();
  const infos = new Set<string>();
  for (const r of resps) {
    for (const w of r.warnings) warnings.add(w);
    for (const i of r.infos) infos.add(i);
    for (const s of r.series) {
      const acc = byKey.get(s.key);
      if (!acc) {
        byKey.set(s.key, { ...s, ts: s.ts.slice(), values: s.values.slice(), hts: s.hts.slice(), histograms: s.histograms.slice() });
        continue;
      }
      appendAfter(acc.ts, acc.values, s.ts, s.values);
      appendAfter(acc.hts, acc.histograms, s.hts, s.histograms);
    }
  }
  const series = [...byKey.values()].sort(compareMetrics);
  return { series, warnings: [...warnings], infos: [...infos] };
}

function appendAfter<T>(ts: number[], vs: T[], nts: readonly number[], nvs: readonly T[]): void {
  const last = ts.length > 0 ? ts[ts.length - 1] : -Infinity;
  let i = 0;
  // fast path: the usual case of a later piece starting after the last point
  while (i < nts.length && nts[i] <= last) i++;
  for (; i < nts.length; i++) {
    ts.push(nts[i]);
    vs.push(nvs[i]);
  }
}

/** The points of `r` within [start, end] (Cortex Extract). Series left empty are dropped. */
export function extractRange(r: RangeResponse, start: number, end: number): RangeResponse {
  const series: SampleStream[] = [];
  for (const s of r.series) {
    const [a, b] = window(s.ts, start, end);
    const [ha, hb] = window(s.hts, start, end);
    if (a === b && ha === hb) continue;
    series.push({ metric: s.metric, key: s.key, ts: s.ts.slice(a, b), values: s.values.slice(a, b), hts: s.hts.slice(ha, hb), histograms: s.histograms.slice(ha, hb) });
  }
  return { series, warnings: r.warnings, infos: r.infos };
}

function window(ts: readonly number[], start: number, end: number): [number, number] {
  let a = 0;
  while (a < ts.length && ts[a] < start) a++;
  let b = a;
  while (b < ts.length && ts[b] <= end) b++;
  return [a, b];
}

/**
 * A sample value as a JSON string. Values are floats as Prometheus formats them
 * ("1.5", "NaN", "+Inf", "1e-07"), which need no escaping: fast path without JSON.stringify.
 */
function quoteValue(v: string): string {
  return v.indexOf('"') < 0 && v.indexOf('\\') < 0 ? '"' + v + '"' : JSON.stringify(v);
}

/** The answer as the Prometheus API writes it, series sorted by labels. */
export function encodeRangeResponse(r: RangeResponse): Buffer {
  const parts: string[] = ['{"status":"success","data":{"resultType":"matrix","result":['];
  r.series.forEach((s, i) => {
    if (i > 0) parts.push(',');
    parts.push('{"metric":', JSON.stringify(s.metric));
    if (s.ts.length > 0) {
      let v = ',"values":[';
      for (let j = 0; j < s.ts.length; j++) {
        if (j > 0) v += ',';
        v += '[' + String(s.ts[j] / 1000) + ',' + quoteValue(s.values[j]) + ']';
      }
      parts.push(v, ']');
    }
    if (s.hts.length > 0) {
      parts.push(',"histograms":[');
      for (let j = 0; j < s.hts.length; j++) {
        if (j > 0) parts.push(',');
        parts.push('[', String(s.hts[j] / 1000), ',', JSON.stringify(s.histograms[j]), ']');
      }
      parts.push(']');
    }
    parts.push('}');
  });
  parts.push(']}');
  if (r.warnings.length > 0) parts.push(',"warnings":', JSON.stringify(r.warnings));
  if (r.infos.length > 0) parts.push(',"infos":', JSON.stringify(r.infos));
  parts.push('}');
  return Buffer.from(parts.join(''), 'utf8');
}
