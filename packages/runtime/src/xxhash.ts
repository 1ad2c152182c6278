// xxHash64 (XXH64 as specified in xxHash's doc/xxhash_spec.md), as Go's
// github.com/cespare/xxhash computes it: the hash Thanos and Prometheus use for hashrings,
// memcached server selection and label hashes. The hot path (xxh64) keeps 64-bit values as
// two uint32 halves so hashing allocates nothing; xxhash64 returns a bigint for callers
// off the hot path.


const P1_HI = 0x9e3779b1, P1_LO = 0x85ebca87;
const P2_HI = 0xc2b2ae3d, P2_LO = 0x27d4eb4f;
const P3_HI = 0x165667b1, P3_LO = 0x9e3779f9;
const P4_HI = 0x85ebca77, P4_LO = 0xc2b2ae63;
const P5_HI = 0x27d4eb2f, P5_LO = 0x165667c5;
// 2^64 - P1, for v4 = seed - P1.
const NEG_P1_HI = 0x61c8864e, NEG_P1_LO = 0x7a143579;

// The hash's result: R[0] the high 32 bits, R[1] the low; read it right after the call.
const R = new Uint32Array(2);
export const XXH64_RESULT: Readonly<Uint32Array> = R;

// The 64-bit state of xxh64 as (hi, lo) uint32 pairs in one typed array: the four lane
// accumulators, the hash and a temporary. The helpers below take only slot indexes,
// offsets and constants and keep every 32-bit half in the array or in locals: a uint32
// above 2^30 passed to a call that is not inlined, or returned from one, is boxed into a
// heap number, and that had made hashing a series allocate ~1 KB and take microseconds.
const S = new Uint32Array(12);
const V1 = 0, V2 = 2, V3 = 4, V4 = 6, H = 8, T = 10;

/** S[i] *= (bh, bl) mod 2^64. */
function mulS(i: number, bh: number, bl: number): void {
  const ah = S[i], al = S[i + 1];
  // High half of al*bl from 16-bit limbs (every partial product is exact in a double),
  // plus the cross terms that only reach the high half; stores wrap mod 2^32.
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
  const cross = ((a0 * b0) >>> 16) + a0 * b1 + a1 * b0;
  S[i] = a1 * b1 + Math.floor(cross / 65536) + Math.imul(ah, bl) + Math.imul(al, bh);
  S[i + 1] = Math.imul(al, bl);
}

/** S[i] += (bh, bl) mod 2^64. */
function addS(i: number, bh: number, bl: number): void {
  const l = S[i + 1] + bl;
  S[i + 1] = l;
  S[i] = S[i] + bh + (l > 0xffffffff ? 1 : 0);
}

/** S[i] += S[j] mod 2^64. */
function addSS(i: number, j: number): void {
  const l = S[i + 1] + S[j + 1];
  S[i + 1] = l;
  S[i] = S[i] + S[j] + (l > 0xffffffff ? 1 : 0);
}

/** S[i] = rotl(S[i], r) for 0 < r < 32. */
function rotlS(i: number, r: number): void {
  const h = S[i], l = S[i + 1];
  S[i] = (h << r) | (l >>> (32 - r));
  S[i + 1] = (l << r) | (h >>> (32 - r));
}

/** S[i] ^= S[j]. */
function xorSS(i: number, j: number): void {
  S[i] ^= S[j];
  S[i + 1] ^= S[j + 1];
}

/** S[i] = the little-endian uint64 at b[p]. */
function load64(i: number, b: Uint8Array, p: number): void {
  S[i + 1] = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
  S[i] = b[p + 4] | (b[p + 5] << 8) | (b[p + 6] << 16) | (b[p + 7] << 24);
}

/** S[T] = round(0, S[T]) = rotl(S[T] * P2, 31) * P1. */
function roundT(): void {
  mulS(T, P2_HI, P2_LO);
  rotlS(T, 31);
  mulS(T, P1_HI, P1_LO);
}

/** Lane accumulator S[i] = round(S[i], uint64 at b[p]) = rotl(S[i] + input * P2, 31) * P1. */
function roundLane(i: number, b: Uint8Array, p: number): void {
  load64(T, b, p);
  mulS(T, P2_HI, P2_LO);
  addSS(i, T);
  rotlS(i, 31);
  mulS(i, P1_HI, P1_LO);
}

/** S[H] = (S[H] ^ round(0, S[v])) * P1 + P4. */
function mergeLane(v: number): void {
  S[T] = S[v];
  S[T + 1] = S[v + 1];
  roundT();
  xorSS(H, T);
  mulS(H, P1_HI, P1_LO);
  addS(H, P4_HI, P4_LO);
}

/** S[H] += rotl(S[v], r). */
function addRotated(v: number, r: number): void {
  S[T] = S[v];
  S[T + 1] = S[v + 1];
  rotlS(T, r);
  addSS(H, T);
}

/** XXH64 of b[p, p+len) into XXH64_RESULT (high 32 bits, low 32 bits): read it right after the call. */
export function xxh64(b: Uint8Array, p: number, len: number, seedHi: number, seedLo: number): void {
  const end = p + len;
  if (len >= 32) {
    S[V1] = S[V2] = S[V3] = S[V4] = seedHi;
    S[V1 + 1] = S[V2 + 1] = S[V3 + 1] = S[V4 + 1] = seedLo;
    addS(V1, P1_HI, P1_LO);
    addS(V1, P2_HI, P2_LO);
    addS(V2, P2_HI, P2_LO);
    addS(V4, NEG_P1_HI, NEG_P1_LO);
    const limit = end - 32;
    do {
      roundLane(V1, b, p);
      roundLane(V2, b, p + 8);
      roundLane(V3, b, p + 16);
      roundLane(V4, b, p + 24);
      p += 32;
    } while (p <= limit);
    S[H] = S[V1];
    S[H + 1] = S[V1 + 1];
    rotlS(H, 1);
    addRotated(V2, 7);
    addRotated(V3, 12);
    addRotated(V4, 18);
    mergeLane(V1);
    mergeLane(V2);
    mergeLane(V3);
    mergeLane(V4);
  } else {
    S[H] = seedHi;
    S[H + 1] = seedLo;
    addS(H, P5_HI, P5_LO);
  }
  // Inputs here are far below 2^32 bytes, so the length fits the low half.
  addS(H, 0, len);
  while (p + 8 <= end) {
    load64(T, b, p);
    roundT();
    xorSS(H, T);
    rotlS(H, 27);
    mulS(H, P1_HI, P1_LO);
    addS(H, P4_HI, P4_LO);
    p += 8;
  }
  if (p + 4 <= end) {
    S[T] = 0;
    S[T + 1] = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
    mulS(T, P1_HI, P1_LO);
    xorSS(H, T);
    rotlS(H, 23);
    mulS(H, P2_HI, P2_LO);
    addS(H, P3_HI, P3_LO);
    p += 4;
  }
  while (p < end) {
    S[T] = 0;
    S[T + 1] = b[p];
    mulS(T, P5_HI, P5_LO);
    xorSS(H, T);
    rotlS(H, 11);
    mulS(H, P1_HI, P1_LO);
    p++;
  }
  // Avalanche.
  S[H + 1] ^= S[H] >>> 1; // h ^= h >> 33
  mulS(H, P2_HI, P2_LO);
  const hh = S[H], hl = S[H + 1];
  S[H + 1] = hl ^ ((hl >>> 29) | (hh << 3)); // h ^= h >> 29
  S[H] = hh ^ (hh >>> 29);
  mulS(H, P3_HI, P3_LO);
  R[0] = S[H];
  R[1] = S[H + 1] ^ S[H]; // h ^= h >> 32
}

const U64_MASK = (1n << 64n) - 1n;

/** XXH64 of `data` with the given seed, as Go's cespare/xxhash (seed 0) computes it. */
export function xxhash64(data: Uint8Array, seed = 0n): bigint {
  const s = BigInt.asUintN(64, seed);
  xxh64(data, 0, data.length, Number(s >> 32n), Number(s & 0xffffffffn));
  return ((BigInt(R[0]) << 32n) | BigInt(R[1])) & U64_MASK;
}

