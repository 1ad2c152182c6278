// Request parameters as Prometheus reads them (web/api/v1/api.go): the form of a GET's
// query string or of a url-encoded POST body, times as unix seconds or RFC 3339,
// durations as seconds or Prometheus durations, Go's strconv.ParseBool.

import type { IncomingMessage } from 'node:http';
import { parsePromDuration } from '@thanos-ts/runtime';
import { goQuote, parseGoFloat } from '@thanos-ts/tsdb';

/** Go's http.Request.Form: POST body values first, then the URL's; FormValue takes the first. */
export class Form {
  constructor(private readonly params: URLSearchParams) {}

  /** The first value of `name`, '' when absent (Request.FormValue). */
  value(name: string): string {
    return this.params.get(name) ?? '';
  }

  /** Every value of `name` (Request.Form[name]). */
  values(name: string): string[] {
    return this.params.getAll(name);
  }

  has(name: string): boolean {
    return this.params.has(name);
  }
}

/** Go's default limit for url-encoded bodies (10 MB). */
const MAX_FORM_BYTES = 10 << 20;

/** Thrown when the body is not a readable form; the API answers bad_data. */
export class FormError extends Error {
  override readonly name = 'FormError';
}

/**
 * The request's form: for POST/PUT/PATCH with an application/x-www-form-urlencoded
 * body, the body's parameters followed by the query string's; else the query string's.
 */
export async function readForm(req: IncomingMessage, url: URL): Promise<Form> {
  const method = req.method ?? 'GET';
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if ((method === 'POST' || method === 'PUT' || method === 'PATCH') && type === 'application/x-www-form-urlencoded') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > MAX_FORM_BYTES) throw new FormError('http: POST too large');
      chunks.push(c);
    }
    const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    for (const [k, v] of url.searchParams) params.append(k, v);
    return new Form(params);
  }
  return new Form(url.searchParams);
}

/**
 * The API's MinTime and MaxTime (unix ms), the defaults of optional ranges: Go's
 * time.Unix(math.MinInt64/1000+62135596801, 0) and time.Unix(math.MaxInt64/1000-62135596801,
 * 999999999). Beyond 2^53, so only approximately representable: they only ever mean
 * "unbounded" and are recognised by isUnboundedStart/End.
 */
export const API_MIN_TIME = (-9223372036854775 + 62135596801) * 1000;
export const API_MAX_TIME = (9223372036854775 - 62135596801) * 1000 + 999;
const MIN_TIME_FORMATTED = '-292273086-05-16T16:47:06Z';
const MAX_TIME_FORMATTED = '292277025-08-18T07:12:54.999999999Z';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Go's math.Round: half away from zero. */
function goRound(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/**
 * Prometheus's parseTime, returning unix ms as timestamp.FromTime would: a float of
 * seconds (rounded to milliseconds), or an RFC 3339 time (fraction truncated to ms).
 */
export function parseTime(s: string): number {
  let f: number | null = null;
  try {
    f = parseGoFloat(s, 0, s.length);
  } catch {
    f = null;
  }
  if (f !== null && Number.isFinite(f)) {
    // math.Modf, then the fraction rounded to ms, made nanoseconds (int64 truncation),
    // and the time.Time read back as ms (Unix()*1000 + Nanosecond()/1e6).
    let sec = Math.trunc(f);
    const frac = goRound((f - sec) * 1000) / 1000;
    let ns = Math.trunc(frac * 1e9);
    sec += Math.floor(ns / 1e9);
    ns -= Math.floor(ns / 1e9) * 1e9;
    // Go's int64 arithmetic wraps times beyond the API's range into nonsense; we keep
    // them at its ends, where every query still finishes promptly.
    return Math.min(API_MAX_TIME, Math.max(API_MIN_TIME, sec * 1000 + Math.floor(ns / 1e6)));
  }
  const m = RFC3339.exec(s);
  if (m) {
    const [, y, mo, d, h, mi, se, fr, z, sign, oh, om] = m;
    const year = Number(y);
    const month = Number(mo);
    const day = Number(d);
    const daysIn = new Date(Date.UTC(year, month, 0)).getUTCDate();
    const ok = month >= 1 && month <= 12 && day >= 1 && day <= daysIn && Number(h) < 24 && Number(mi) < 60 && Number(se) < 60 && (z !== undefined || (Number(oh) < 24 && Number(om) < 60));
    if (ok) {
      const d0 = new Date(Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(se)));
      if (year < 100) d0.setUTCFullYear(year); // Date.UTC maps years 0..99 to 1900..1999
      const t = d0.getTime();
      const ms = fr ? Number(fr.padEnd(9, '0').slice(0, 3)) : 0;
      const offset = z !== undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
      return t + ms - offset;
    }
  }
  if (s === MIN_TIME_FORMATTED) return API_MIN_TIME;
  if (s === MAX_TIME_FORMATTED) return API_MAX_TIME;
  throw new Error(`cannot parse ${goQuote(s)} to a valid timestamp`);
}

/** Prometheus's parseTimeParam: the default when absent, else parseTime with the parameter named. */
export function parseTimeParam(form: Form, name: string, def: number): number {
  const v = form.value(name);
  if (v === '') return def;
  try {
    return parseTime(v);
  } catch (err) {
    throw new Error(`invalid time value for '${name}': ${(err as Error).message}`);
  }
}

const MAX_INT64 = 9223372036854775807;

/**
 * Prometheus's parseDuration in ms: a float of seconds (Go: converted to int64
 * nanoseconds, then read as whole ms) or a Prometheus duration ("5m", "1h30m").
 */
export function parseDuration(s: string): number {
  let f: number | null = null;
  try {
    f = s === '' ? null : parseGoFloat(s, 0, s.length);
  } catch {
    f = null;
  }
  if (f !== null) {
    const ns = f * 1e9;
    // Go converts NaN to int64 as math.MinInt64: a negative duration.
    if (Number.isNaN(ns)) return -MAX_INT64 / 1e6;
    if (ns > MAX_INT64 || ns < -MAX_INT64) throw new Error(`cannot parse ${goQuote(s)} to a valid duration. It overflows int64`);
    return Math.trunc(Math.trunc(ns) / 1e6);
  }
  try {
    return parsePromDuration(s);
  } catch {
    throw new Error(`cannot parse ${goQuote(s)} to a valid duration`);
  }
}

/** Go's strconv.ParseBool. */
export function parseBool(s: string): boolean {
  switch (s) {
    case '1':
    case 't':
    case 'T':
    case 'TRUE':
    case 'true':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'FALSE':
    case 'false':
    case 'False':
      return false;
    default:
      throw new Error(`strconv.ParseBool: parsing ${goQuote(s)}: invalid syntax`);
  }
}

/** Prometheus's parseLimitParam: 0 (no limit) when absent; non-negative. */
export function parseLimit(s: string): number {
  if (s === '') return 0;
  if (!/^[+-]?\d+$/.test(s)) throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: value out of range`);
  if (n < 0) throw new Error('limit must be non-negative');
  return n;
}
