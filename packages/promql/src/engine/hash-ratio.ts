// limit_ratio's deterministic sampling (engine.go HashRatioSampler): a series is kept when
// Labels.Hash() / MaxUint64 falls below the ratio. Labels.Hash is xxhash64 over
// Prometheus's default "stringlabels" encoding (each name and value preceded by its
// length: one byte below 255, else 255 and three little-endian bytes). limit_ratio is
// rare, so this uses BigInt; nothing on a hot path calls it.

import type { Labels } from '@thanos-ts/tsdb';

export const METRIC_NAME_LABEL = '__name__';

const M = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;

function rotl(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & M;
}

function round(acc: bigint, lane: bigint): bigint {
  acc = (acc + lane * P2) & M;
  acc = rotl(acc, 31n);
  return (acc * P1) & M;
}

function mergeRound(acc: bigint, val: bigint): bigint {
  acc ^= round(0n, val);
  return (acc * P1 + P4) & M;
}

function u64(b: Uint8Array, i: number): bigint {
  let v = 0n;
  for (let k = 7; k >= 0; k--) v = (v << 8n) | BigInt(b[i + k]);
  return v;
}

function u32(b: Uint8Array, i: number): bigint {
  return BigInt((b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0);
}

/** xxhash64 (seed 0) of b, as github.com/cespare/xxhash Sum64. */
export function xxhash64(b: Uint8Array): bigint {
  const n = b.length;
  let i = 0;
  let h: bigint;
  if (n >= 32) {
    let v1 = (P1 + P2) & M;
    let v2 = P2;
    let v3 = 0n;
    let v4 = (0n - P1) & M;
    for (; i + 32 <= n; i += 32) {
      v1 = round(v1, u64(b, i));
      v2 = round(v2, u64(b, i + 8));
      v3 = round(v3, u64(b, i + 16));
      v4 = round(v4, u64(b, i + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    h = mergeRound(h, v1);
    h = mergeRound(h, v2);
    h = mergeRound(h, v3);
    h = mergeRound(h, v4);
  } else {
    h = P5;
  }
  h = (h + BigInt(n)) & M;
  for (; i + 8 <= n; i += 8) {
    h ^= round(0n, u64(b, i));
    h = (rotl(h, 27n) * P1 + P4) & M;
  }
  if (i + 4 <= n) {
    h ^= (u32(b, i) * P1) & M;
    h = (rotl(h, 23n) * P2 + P3) & M;
    i += 4;
  }
  for (; i < n; i++) {
    h ^= (BigInt(b[i]) * P5) & M;
    h = (rotl(h, 11n) * P1) & M;
  }
  h ^= h >> 33n;
  h = (h * P2) & M;
  h ^= h >> 29n;
  h = (h * P3) & M;
  h ^= h >> 32n;
  return h;
}

/** The bytes of a string as Go holds them (escaped raw bytes back to single bytes). */
function goBytes(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0xdc80 && c <= 0xdcff) out.push(c - 0xdc00);
    else out.push(...new TextEncoder().encode(ch));
  }
  return out;
}

function pushSized(out: number[], bytes: number[]): void {
  const n = bytes.length;
  if (n < 255) out.push(n);
  else out.push(255, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff);
  for (const b of bytes) out.push(b);
}

/** Labels.Hash() of the stringlabels implementation. */
export function labelsHash(ls: Labels): bigint {
  const out: number[] = [];
  for (const l of ls) {
    pushSized(out, goBytes(l.name));
    pushSized(out, goBytes(l.value));
  }
  return xxhash64(Uint8Array.from(out));
}

/** The sampling offset of a series in [0, 1] (HashRatioSampler.SampleOffset). */
export function hashRatioOffset(ls: Labels): number {
  return Number(labelsHash(ls)) / 18446744073709551615;
}
