// 64-bit integers as two uint32 halves, for the few places in the XOR format where
// a value can exceed 2^53 on the wire (uvarint of a negative delta as uint64, the
// 64-bit delta-of-delta escape). Results are handed back through PARTS to avoid
// allocating a pair per call. Timestamps themselves are JS numbers: every timestamp we
// accept or produce is a safe integer (|t| < 2^53 ms, about 285,000 years).

import type { BitReader, BitWriter } from './bstream.js';

const TWO32 = 0x1_0000_0000;

/** Scratch output: PARTS[0] = high word, PARTS[1] = low word (both unsigned). */
export const PARTS = new Uint32Array(2);

/** Splits a safe integer into its 64-bit two's complement halves (into PARTS). */
export function splitInt64(v: number): void {
  PARTS[0] = Math.floor(v / TWO32); // exact: division by a power of two; ToUint32 wraps negatives
  PARTS[1] = v >>> 0;
}

/** The signed value of hi:lo, or NaN if it is not a safe integer. */
export function joinInt64(hi: number, lo: number): number {
  const h = hi | 0;
  if (h >= 0x200000 || h < -0x200000) return NaN;
  const v = h * TWO32 + (lo >>> 0);
  return Number.isSafeInteger(v) ? v : NaN;
}

/** Writes the uint64 hi:lo as a Go uvarint, byte by byte (alignment not required). */
export function writeUvarint64(w: BitWriter, hi: number, lo: number): void {
  hi >>>= 0;
  lo >>>= 0;
  while (hi !== 0 || lo >= 0x80) {
    w.writeBits((lo & 0x7f) | 0x80, 8);
    lo = ((lo >>> 7) | ((hi & 0x7f) << 25)) >>> 0;
    hi >>>= 7;
  }
  w.writeBits(lo, 8);
}

/** Writes a safe integer as a Go (zigzag) varint. */
export function writeVarint64(w: BitWriter, v: number): void {
  splitInt64(v);
  let hi = PARTS[0];
  let lo = PARTS[1];
  // zigzag: (v << 1) ^ (v >> 63)
  const sign = hi >>> 31 === 1 ? 0xffffffff : 0;
  hi = ((hi << 1) | (lo >>> 31)) ^ sign;
  lo = (lo << 1) ^ sign;
  writeUvarint64(w, hi, lo);
}

/**
 * Reads a Go uvarint (up to 10 bytes) into PARTS. Returns false on truncation or a
 * varint that overflows 64 bits.
 */
export function readUvarint64(r: BitReader): boolean {
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < 10; i++) {
    const b = r.readBits(8);
    if (b < 0) return false;
    const v = b & 0x7f;
    const shift = 7 * i;
    if (i === 9 && b > 1) return false; // overflows 64 bits
    if (shift < 32) {
      lo |= v << shift;
      if (shift > 25) hi |= v >>> (32 - shift);
    } else {
      hi |= v << (shift - 32);
    }
    if (b < 0x80) {
      PARTS[0] = hi;
      PARTS[1] = lo;
      return true;
    }
  }
  return false;
}

/** Reads a Go zigzag varint; returns the value, or NaN if truncated or not a safe integer. */
export function readVarint64(r: BitReader): number {
  if (!readUvarint64(r)) return NaN;
  const hi = PARTS[0];
  const lo = PARTS[1];
  // un-zigzag: (u >>> 1) ^ -(u & 1)
  const sign = lo & 1 ? 0xffffffff : 0;
  return joinInt64((hi >>> 1) ^ sign, ((lo >>> 1) | (hi << 31)) ^ sign);
}
