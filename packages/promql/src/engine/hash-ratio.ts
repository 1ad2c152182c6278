// limit_ratio's deterministic sampling (engine.go HashRatioSampler): a series is kept when
// Labels.Hash() / MaxUint64 falls below the ratio. Labels.Hash is xxhash64 over
// Prometheus's default "stringlabels" encoding (each name and value preceded by its
// length: one byte below 255, else 255 and three little-endian bytes). limit_ratio is
// rare, so the bigint form of the hash serves; nothing on a hot path calls it.

import { xxhash64 } from '@thanos-ts/runtime';
import type { Labels } from '@thanos-ts/tsdb';

export const METRIC_NAME_LABEL = '__name__';


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
