import { describe, expect, it } from 'vitest';
import { xxhash64 } from './xxhash.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

// Straightforward BigInt XXH64 from the spec, to cross-check the (hi, lo) implementation.
function refXXH64(b: Uint8Array, seed = 0n): bigint {
  const M = (1n << 64n) - 1n;
  const P1 = 11400714785074694791n, P2 = 14029467366897019727n, P3 = 1609587929392839161n;
  const P4 = 9650029242287828579n, P5 = 2870177450012600261n;
  const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M;
  const u64 = (p: number): bigint => {
    let v = 0n;
    for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[p + i]);
    return v;
  };
  const u32 = (p: number): bigint => BigInt(b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) + (BigInt(b[p + 3]) << 24n);
  const round = (acc: bigint, x: bigint): bigint => (rotl((acc + x * P2) & M, 31n) * P1) & M;
  const merge = (acc: bigint, v: bigint): bigint => (((acc ^ round(0n, v)) * P1) + P4) & M;
  let p = 0;
  let h: bigint;
  if (b.length >= 32) {
    let v1 = (seed + P1 + P2) & M, v2 = (seed + P2) & M, v3 = seed, v4 = (seed - P1) & M;
    for (; p + 32 <= b.length; p += 32) {
      v1 = round(v1, u64(p));
      v2 = round(v2, u64(p + 8));
      v3 = round(v3, u64(p + 16));
      v4 = round(v4, u64(p + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    h = merge(merge(merge(merge(h, v1), v2), v3), v4);
  } else {
    h = (seed + P5) & M;
  }
  h = (h + BigInt(b.length)) & M;
  for (; p + 8 <= b.length; p += 8) h = ((rotl(h ^ round(0n, u64(p)), 27n) * P1) + P4) & M;
  if (p + 4 <= b.length) {
    h = ((rotl(h ^ ((u32(p) * P1) & M), 23n) * P2) + P3) & M;
    p += 4;
  }
  for (; p < b.length; p++) h = (rotl(h ^ ((BigInt(b[p]) * P5) & M), 11n) * P1) & M;
  h ^= h >> 33n;
  h = (h * P2) & M;
  h ^= h >> 29n;
  h = (h * P3) & M;
  h ^= h >> 32n;
  return h;
}

// Deterministic pseudo-random bytes (xorshift32).
function randomBytes(n: number, seed: number): Uint8Array {
  let x = seed || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('xxhash64', () => {
  it('matches the published XXH64 vectors', () => {
    const vectors: [string, bigint][] = [
      ['', 0xef46db3751d8e999n],
      ['a', 0xd24ec4f1a98c6e5bn],
      ['as', 0x1c330fb2d66be179n],
      ['asd', 0x631c37ce72a97393n],
      ['asdf', 0x415872f599cea71en],
      ['abc', 0x44bc2cf5ad770999n],
      ['abcd', 0xde0327b0d25d92ccn],
      ['abcdefgh', 0x3ad351775b4634b7n],
      ['Call me Ishmael.', 0x6d04390fc9d61a90n],
      ['Some years ago--never mind how long precisely-', 0x8f26f2b986afdc52n],
      // 63 bytes: the 32-byte stripe loop plus the 8-, 4- and 1-byte tails.
      ['Call me Ishmael. Some years ago--never mind how long precisely-', 0x02a2e85470d6fd96n],
      ['0123456789abcdef', 0x5c5b90c34e376d0bn],
      ['0123456789abcdef0123456789abcdef', 0x642a94958e71e6c5n],
      ['abcdefghijklmnopqrstuvwxyz012345', 0xbf2cd639b4143b80n],
      ['abcdefghijklmnopqrstuvwxyz0123456789', 0x64f23ecf1609b766n],
    ];
    for (const [input, want] of vectors) expect(xxhash64(enc(input)), JSON.stringify(input)).toBe(want);
    expect(xxhash64(new Uint8Array([0]))).toBe(0xe934a84adb052768n);
    expect(xxhash64(new Uint8Array(0), 1n)).toBe(0xd5afba1336a3be4bn);
  });

  it('agrees with a BigInt reference on every length and several seeds', () => {
    for (let n = 0; n <= 300; n++) {
      const b = randomBytes(n, n + 7);
      expect(xxhash64(b)).toBe(refXXH64(b));
    }
    for (const seed of [1n, 0xffffffffn, 0x9e3779b185ebca87n, (1n << 64n) - 1n]) {
      for (const n of [0, 3, 4, 8, 31, 32, 33, 100]) {
        const b = randomBytes(n, n + 11);
        expect(xxhash64(b, seed)).toBe(refXXH64(b, seed));
      }
    }
  });
});
