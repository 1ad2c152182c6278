// Prometheus's number formatting for templates (template/template.go and
// prometheus/common helpers/templates): humanize with SI prefixes, humanize1024,
// humanizeDuration, humanizePercentage, humanizeTimestamp, and the float → time
// conversion behind toTime.

import { formatFloatG, quoteGo } from '@thanos-ts/promql';
import { GoError } from './exec.js';
import { formatFloatGPrec } from './go-fmt.js';
import { formatTime } from './go-time.js';
import { GoDuration, type GoValue, typeName } from './value.js';

/** strconv.ParseFloat(s, 64), failing with Go's message. */
export function parseFloatGo(s: string): number {
  const fail = (why: string): never => {
    throw new GoError(`strconv.ParseFloat: parsing ${quoteGo(s)}: ${why}`);
  };
  const m = /^([+-]?)(.*)$/s.exec(s)!;
  const sign = m[1] === '-' ? -1 : 1;
  const body = m[2].toLowerCase();
  if (body === 'inf' || body === 'infinity') return sign * Infinity;
  if (body === 'nan' && m[1] === '') return NaN;
  let v: number;
  if (/^(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:e[+-]?[0-9]+)?$/.test(body)) {
    if (body.includes('_')) fail('invalid syntax'); // underscores need a base prefix
    v = Number(body);
  } else {
    const h = /^0x([0-9a-f]*)(?:\.([0-9a-f]*))?p([+-]?[0-9]+)$/.exec(body);
    if (!h || (h[1] === '' && (h[2] ?? '') === '')) return fail('invalid syntax');
    v = Number(BigInt('0x' + (h[1] || '0') + (h[2] ?? ''))) * 2 ** (Number(h[3]) - 4 * (h[2] ?? '').length);
  }
  if (!Number.isFinite(v)) fail('value out of range');
  return sign * v;
}

/** common/helpers/templates.ConvertToFloat. */
export function convertToFloat(v: GoValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return parseFloatGo(v);
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof GoDuration && !v.ptr) return Number(v.ns) / 1e9;
  throw new GoError(`can't convert ${v === undefined || v === null ? '<nil>' : typeName(v)} to float`);
}

const g4 = (v: number): string => formatFloatGPrec(v, 4);

export function humanize(i: GoValue): string {
  let v = convertToFloat(i);
  if (v === 0 || !Number.isFinite(v)) return g4(v);
  if (Math.abs(v) >= 1) {
    let prefix = '';
    for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return g4(v) + prefix;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return g4(v) + prefix;
}

export function humanize1024(i: GoValue): string {
  let v = convertToFloat(i);
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return g4(v);
  let prefix = '';
  for (const p of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return g4(v) + prefix;
}

export function humanizeDuration(i: GoValue): string {
  let v = convertToFloat(i);
  if (!Number.isFinite(v)) return g4(v);
  if (v === 0) return g4(v) + 's';
  if (Math.abs(v) >= 1) {
    let sign = '';
    if (v < 0) {
      sign = '-';
      v = -v;
    }
    const duration = BigInt(Math.trunc(Math.min(v, 9.2e18)));
    const seconds = duration % 60n;
    const minutes = (duration / 60n) % 60n;
    const hours = (duration / 3600n) % 24n;
    const days = duration / 86400n;
    // Days to minutes show whole seconds; seconds alone get 4 significant digits.
    if (days !== 0n) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0n) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0n) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${g4(v)}s`;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${g4(v)}${prefix}s`;
}

export function humanizePercentage(i: GoValue): string {
  return g4(convertToFloat(i) * 100) + '%';
}

const MAX_INT64 = 9223372036854775807;

/**
 * template.floatToTime: seconds → nanoseconds since the epoch, truncated to milliseconds
 * (model.TimeFromUnixNano); null for NaN and ±Inf.
 */
export function floatToTimeNs(v: number): bigint | null {
  if (!Number.isFinite(v)) return null;
  const ts = v * 1e9;
  if (ts > MAX_INT64 || ts < -MAX_INT64 - 1) {
    throw new GoError(`${formatFloatG(v)} cannot be represented as a nanoseconds timestamp since it overflows int64`);
  }
  const ms = BigInt(Math.trunc(ts)) / 1_000_000n; // truncates toward zero, as Go's integer division
  return ms * 1_000_000n;
}

export function humanizeTimestamp(i: GoValue): string {
  const v = convertToFloat(i);
  const ns = floatToTimeNs(v);
  if (ns === null) return g4(v);
  return formatTime(ns);
}
