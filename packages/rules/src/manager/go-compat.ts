// Small pieces of Go behaviour the rule manager must reproduce byte for byte: time
// formatting as encoding/json writes a time.Time (RFC3339Nano), strconv's 'e' float
// format for alert values, url.QueryEscape for generator URLs, and the slice-labels
// Labels.Hash (xxhash64) that spreads group evaluations over their interval.

import type { Labels } from '@thanos-ts/tsdb';

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

const M64 = (1n << 64n) - 1n;
const P1 = 11400714785074694791n;
const P2 = 14029467366897019727n;
const P3 = 1609587929392839161n;
const P4 = 9650029242287828579n;
const P5 = 2870177450012600261n;

function rotl(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & M64;
}

function round(acc: bigint, input: bigint): bigint {
  acc = (acc + input * P2) & M64;
  return (rotl(acc, 31n) * P1) & M64;
}

function mergeRound(acc: bigint, val: bigint): bigint {
  acc ^= round(0n, val);
  return (acc * P1 + P4) & M64;
}

function u64(b: Uint8Array, p: number): bigint {
  const dv = new DataView(b.buffer, b.byteOffset + p, 8);
  return dv.getBigUint64(0, true);
}

function u32(b: Uint8Array, p: number): bigint {
  const dv = new DataView(b.buffer, b.byteOffset + p, 4);
  return BigInt(dv.getUint32(0, true));
}

/**
 * XXH64 with seed 0 (cespare/xxhash Sum64). BigInt arithmetic: it runs once per group
 * load, never on a hot path.
 */
export function xxhash64(b: Uint8Array): bigint {
  const n = b.length;
  let p = 0;
  let h: bigint;
  if (n >= 32) {
    let v1 = (P1 + P2) & M64;
    let v2 = P2;
    let v3 = 0n;
    let v4 = (-P1) & M64;
    for (; p + 32 <= n; p += 32) {
      v1 = round(v1, u64(b, p));
      v2 = round(v2, u64(b, p + 8));
      v3 = round(v3, u64(b, p + 16));
      v4 = round(v4, u64(b, p + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M64;
    h = mergeRound(h, v1);
    h = mergeRound(h, v2);
    h = mergeRound(h, v3);
    h = mergeRound(h, v4);
  } else {
    h = P5;
  }
  h = (h + BigInt(n)) & M64;
  for (; p + 8 <= n; p += 8) {
    h ^= round(0n, u64(b, p));
    h = (rotl(h, 27n) * P1 + P4) & M64;
  }
  if (p + 4 <= n) {
    h ^= (u32(b, p) * P1) & M64;
    h = (rotl(h, 23n) * P2 + P3) & M64;
    p += 4;
  }
  for (; p < n; p++) {
    h ^= (BigInt(b[p]) * P5) & M64;
    h = (rotl(h, 11n) * P1) & M64;
  }
  h ^= h >> 33n;
  h = (h * P2) & M64;
  h ^= h >> 29n;
  h = (h * P3) & M64;
  h ^= h >> 32n;
  return h;
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
