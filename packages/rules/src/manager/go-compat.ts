// Small pieces of Go behaviour the rule manager must reproduce byte for byte: time
// formatting as encoding/json writes a time.Time (RFC3339Nano), strconv's 'e' float
// format for alert values, url.QueryEscape for generator URLs, and the slice-labels
// Labels.Hash (xxhash64) that spreads group evaluations over their interval.

import type { Labels } from '@thanos-ts/tsdb';
import { xxhash64 } from '@thanos-ts/runtime';

export { xxhash64 };

/** Go's zero time.Time as encoding/json writes it: what a never-evaluated rule shows. */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** Seconds of Go's zero time since the Unix epoch (what a protobuf Timestamp of it holds). */
export const GO_ZERO_TIME_UNIX_SECONDS = -62135596800;

/** Formats ms since the epoch as time.Time.Format(RFC3339Nano) in UTC; null is Go's zero time. */
export function formatGoTime(ms: number | null): string {
  if (ms === null) return GO_ZERO_TIME;
  const iso = new Date(ms).toISOString(); // 2024-01-02T03:04:05.678Z
  const base = iso.slice(0, 19);
  // RFC3339Nano drops trailing zeros of the fraction, and the dot when nothing is left.
  const frac = iso.slice(20, 23).replace(/0+$/, '');
  return frac === '' ? `${base}Z` : `${base}.${frac}Z`;
}

/** strconv.FormatFloat(v, 'e', -1, 64): shortest digits, exponent of at least two digits. */
export function formatFloatE(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = Object.is(v, -0) ? '-0e+0' : v.toExponential();
  const i = s.indexOf('e');
  const mant = s.slice(0, i);
  const sign = s[i + 1];
  const exp = s.slice(i + 2);
  return `${mant}e${sign}${exp.length < 2 ? '0' + exp : exp}`;
}

/** labels.Labels.Hash() as Thanos builds it (slicelabels): name 0xff value 0xff … */
export function labelsHash(ls: Labels): bigint {
  const enc = new TextEncoder();
  const parts: number[] = [];
  for (const l of ls) {
    parts.push(...enc.encode(l.name), 0xff, ...enc.encode(l.value), 0xff);
  }
  return xxhash64(Uint8Array.from(parts));
}
