// Snappy block format (github.com/google/snappy format_description.txt), the
// compression of Prometheus remote read/write HTTP bodies. Not the framed/stream format.
//
// A block is uvarint(decoded length) followed by elements, each starting with a tag byte
// whose low two bits give its kind:
//   00 literal: length−1 in the upper six bits if < 60, else 60..63 = the length−1
//      follows in 1..4 little-endian bytes; then the literal bytes
//   01 copy, 1-byte offset: length 4..11 in bits 2..4, offset bits 8..10 in bits 5..7,
//      offset bits 0..7 in the next byte
//   10 copy, 2-byte offset: length−1 (1..64) in the upper six bits, LE16 offset
//   11 copy, 4-byte offset: as 10 with a LE32 offset
// A copy repeats `length` bytes starting `offset` bytes back in the output; it may
// overlap what it is producing (offset < length repeats a pattern).

import { readUvarint } from '../encoding/decbuf.js';
import { writeUvarint } from '../encoding/encbuf.js';

/** A snappy block that is malformed or exceeds the caller's size limit. */
export class SnappyError extends Error {
  override readonly name = 'SnappyError';
}

/** The decoded length a snappy block announces in its preamble. */
export function snappyDecodedLength(src: Uint8Array): number {
  return preamble(src)[0];
}

function preamble(src: Uint8Array): [number, number] {
  const r = readUvarint(src, 0);
  if (r[1] < 0) throw corrupt('bad length preamble');
  if (r[0] > 0xffffffff) throw new SnappyError('snappy: decoded block is too large');
  return r;
}

/**
 * Decodes a snappy block. `maxDecodedLength` bounds the allocation a hostile preamble
 * could cause (Prometheus limits remote read/write bodies to 32 MiB decoded).
 */
export function snappyDecompress(src: Uint8Array, maxDecodedLength = Number.MAX_SAFE_INTEGER): Uint8Array {
  const [n, start] = preamble(src);
  if (n > maxDecodedLength) throw new SnappyError(`snappy: decoded length ${n} exceeds the limit of ${maxDecodedLength} bytes`);
  const dst = new Uint8Array(n);
  let d = 0;
  let s = start;
  const end = src.length;
  while (s < end) {
    const tag = src[s];
    let length: number;
    let offset: number;
    switch (tag & 3) {
      case 0: {
        length = tag >>> 2;
        if (length < 60) {
          s += 1;
        } else {
          const extra = length - 59; // 1..4 bytes of length
          if (s + 1 + extra > end) throw corrupt('literal length overruns input');
          length = 0;
          for (let i = extra; i >= 1; i--) length = length * 256 + src[s + i];
          s += 1 + extra;
        }
        length += 1;
        if (length > end - s) throw corrupt('literal overruns input');
        if (length > n - d) throw corrupt('literal overruns output');
        dst.set(src.subarray(s, s + length), d);
        d += length;
        s += length;
        continue;
      }
      case 1:
        if (s + 2 > end) throw corrupt('copy overruns input');
        length = 4 + ((tag >>> 2) & 7);
        offset = ((tag & 0xe0) << 3) | src[s + 1];
        s += 2;
        break;
      case 2:
        if (s + 3 > end) throw corrupt('copy overruns input');
        length = 1 + (tag >>> 2);
        offset = src[s + 1] | (src[s + 2] << 8);
        s += 3;
        break;
      default:
        if (s + 5 > end) throw corrupt('copy overruns input');
        length = 1 + (tag >>> 2);
        offset = (src[s + 1] | (src[s + 2] << 8) | (src[s + 3] << 16)) + src[s + 4] * 0x1000000;
        s += 5;
    }
    if (offset === 0 || offset > d) throw corrupt(`copy offset ${offset} out of range at output byte ${d}`);
    if (length > n - d) throw corrupt('copy overruns output');
    if (offset >= length) {
      dst.copyWithin(d, d - offset, d - offset + length);
      d += length;
    } else {
      // Overlapping: the copy reads bytes it has just written.
      for (let i = 0; i < length; i++, d++) dst[d] = dst[d - offset];
    }
  }
  if (d !== n) throw corrupt(`decoded ${d} bytes, preamble says ${n}`);
  return dst;
}

function corrupt(why: string): SnappyError {
  return new SnappyError(`snappy: corrupt input: ${why}`);
}

/** Upper bound of the encoded size of n bytes (snappy's MaxEncodedLen). */
export function snappyMaxEncodedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

// The encoder works on independent 64 KiB blocks like Go's snappy.Encode, finding
// matches through a hash table of 4-byte sequences.
const BLOCK = 1 << 16;
const TABLE_BITS = 14;
const INPUT_MARGIN = 16 - 1;
const MIN_NON_LITERAL_BLOCK = 1 + 1 + INPUT_MARGIN;
let table = new Uint16Array(1 << TABLE_BITS);

/** Encodes src as one snappy block. Deterministic; decodable by any snappy implementation. */
export function snappyCompress(src: Uint8Array): Uint8Array {
  const dst = new Uint8Array(snappyMaxEncodedLength(src.length));
  let d = writeUvarint(dst, 0, src.length);
  for (let p = 0; p < src.length; p += BLOCK) {
    const end = Math.min(p + BLOCK, src.length);
    d = end - p < MIN_NON_LITERAL_BLOCK ? emitLiteral(dst, d, src, p, end) : encodeBlock(dst, d, src, p, end);
  }
  return dst.slice(0, d);
}

function load32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

function hash(u: number, shift: number): number {
  return Math.imul(u, 0x1e35a7bd) >>> shift;
}

/** Encodes src[base, end) (at most 64 KiB) at dst[d]; returns the new d. */
function encodeBlock(dst: Uint8Array, d: number, src: Uint8Array, base: number, end: number): number {
  const n = end - base;
  let tableSize = 1 << 8;
  while (tableSize < 1 << TABLE_BITS && tableSize < n) tableSize <<= 1;
  const shift = 32 - Math.log2(tableSize);
  if (table.length < tableSize) table = new Uint16Array(tableSize);
  table.fill(0, 0, tableSize);

  // Positions in the table are relative to base; matches never reach across blocks.
  const sLimit = n - INPUT_MARGIN;
  let nextEmit = 0;
  let s = 1;
  let nextHash = hash(load32(src, base + s), shift);
  for (;;) {
    // Look for a 4-byte match, skipping faster through incompressible data.
    let skip = 32;
    let nextS = s;
    let candidate = 0;
    for (;;) {
      s = nextS;
      const bytesBetweenHashLookups = skip >>> 5;
      nextS = s + bytesBetweenHashLookups;
      skip += bytesBetweenHashLookups;
      if (nextS > sLimit) return emitLiteral(dst, d, src, base + nextEmit, end);
      candidate = table[nextHash];
      table[nextHash] = s;
      nextHash = hash(load32(src, base + nextS), shift);
      if (load32(src, base + s) === load32(src, base + candidate)) break;
    }
    d = emitLiteral(dst, d, src, base + nextEmit, base + s);
    // Emit copies for as long as the data keeps matching.
    for (;;) {
      const matchStart = s;
      s += 4;
      let c = candidate + 4;
      while (s < n && src[base + s] === src[base + c]) {
        s++;
        c++;
      }
      d = emitCopy(dst, d, matchStart - candidate, s - matchStart);
      nextEmit = s;
      if (s >= sLimit) return emitLiteral(dst, d, src, base + nextEmit, end);
      // Index the position just before s and check s itself for an immediate match.
      table[hash(load32(src, base + s - 1), shift)] = s - 1;
      const h = hash(load32(src, base + s), shift);
      candidate = table[h];
      table[h] = s;
      if (load32(src, base + s) !== load32(src, base + candidate)) {
        nextHash = hash(load32(src, base + s + 1), shift);
        s++;
        break;
      }
    }
  }
}

function emitLiteral(dst: Uint8Array, d: number, src: Uint8Array, from: number, to: number): number {
  const len = to - from;
  if (len === 0) return d;
  const n = len - 1;
  if (n < 60) {
    dst[d++] = n << 2;
  } else if (n < 1 << 8) {
    dst[d++] = 60 << 2;
    dst[d++] = n;
  } else if (n < 1 << 16) {
    dst[d++] = 61 << 2;
    dst[d++] = n & 0xff;
    dst[d++] = n >>> 8;
  } else {
    // Blocks are at most 64 KiB, so three length bytes always suffice.
    dst[d++] = 62 << 2;
    dst[d++] = n & 0xff;
    dst[d++] = (n >>> 8) & 0xff;
    dst[d++] = n >>> 16;
  }
  dst.set(src.subarray(from, to), d);
  return d + len;
}

function emitCopy(dst: Uint8Array, d: number, offset: number, length: number): number {
  // Long matches: 64-byte copies with a 2-byte offset, keeping at least 4 for the tail.
  while (length >= 68) {
    dst[d++] = (63 << 2) | 2;
    dst[d++] = offset & 0xff;
    dst[d++] = offset >>> 8;
    length -= 64;
  }
  if (length > 64) {
    dst[d++] = (59 << 2) | 2;
    dst[d++] = offset & 0xff;
    dst[d++] = offset >>> 8;
    length -= 60;
  }
  if (length >= 12 || offset >= 2048) {
    dst[d++] = ((length - 1) << 2) | 2;
    dst[d++] = offset & 0xff;
    dst[d++] = offset >>> 8;
    return d;
  }
  dst[d++] = ((offset >>> 8) << 5) | ((length - 4) << 2) | 1;
  dst[d++] = offset & 0xff;
  return d;
}
