// Tombstones file of a block (Prometheus tsdb/tombstones/tombstones.go):
//
//   magic 0x0130BA30 (4B BE) | version 1 (1B)
//   (seriesRef uvarint64, mint varint64, maxt varint64)*   one triple per interval
//   CRC32C (4B BE) over the triples only (not magic, not version)
//
// (tsdb/docs/format/tombstones.md still describes an older layout with a trailing
// offset; the code above is what Prometheus writes and reads.)
//
// Intervals are closed [mint, maxt] in ms. Timestamps are JS numbers; Prometheus may
// store ±2^63-ish bounds for open-ended deletions (e.g. in the head), which we
// saturate to ±Number.MAX_SAFE_INTEGER: no sample timestamp lies beyond that, so
// what is deleted does not change.

import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '@thanos-ts/runtime';
import { crc32c } from '../encoding/crc32c.js';
import { EncodingBuffer } from '../encoding/encbuf.js';
import { CorruptionError } from '../encoding/errors.js';

export const TOMBSTONES_FILENAME = 'tombstones';
export const MAGIC_TOMBSTONE = 0x0130ba30;
export const TOMBSTONE_FORMAT_V1 = 1;

/** A closed time range [mint, maxt] in ms. */
export interface Interval {
  mint: number;
  maxt: number;
}

/** Sorted, non-overlapping, non-adjacent intervals. */
export type Intervals = readonly Interval[];

const EMPTY: Intervals = Object.freeze([]);

/**
 * Reports whether t falls in one of the sorted intervals. Linear for the usual handful
 * of intervals, binary search beyond that; no allocation.
 */
export function isDeleted(intervals: Intervals, t: number): boolean {
  const n = intervals.length;
  if (n === 0) return false;
  if (n <= 8) {
    for (let i = 0; i < n; i++) {
      const iv = intervals[i];
      if (t < iv.mint) return false;
      if (t <= iv.maxt) return true;
    }
    return false;
  }
  let lo = 0;
  let hi = n; // first interval with maxt >= t
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (intervals[mid].maxt < t) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && intervals[lo].mint <= t;
}

/**
 * Adds an interval to sorted intervals (tombstones.Intervals.Add): overlapping and
 * adjacent (1 ms apart) intervals merge. Returns a new array; the input is unchanged.
 */
export function addInterval(intervals: Intervals, n: Interval): Interval[] {
  const out: Interval[] = [];
  let cur: Interval = { mint: n.mint, maxt: n.maxt };
  let placed = false;
  for (const iv of intervals) {
    if (placed || iv.maxt < cur.mint - 1) {
      out.push({ mint: iv.mint, maxt: iv.maxt });
    } else if (iv.mint > cur.maxt + 1) {
      out.push(cur, { mint: iv.mint, maxt: iv.maxt });
      placed = true;
    } else {
      cur = { mint: Math.min(iv.mint, cur.mint), maxt: Math.max(iv.maxt, cur.maxt) };
    }
  }
  if (!placed) out.push(cur);
  return out;
}

/** Read access to tombstones by series ref. */
export interface TombstoneReader {
  /** Deleted intervals of a series (sorted, merged); empty when none. */
  get(ref: number): Intervals;
  /** All series with tombstones, in ascending series ref order. */
  entries(): IterableIterator<[number, Intervals]>;
  /** Total number of intervals. */
  total(): number;
}

/** In-memory tombstones (tombstones.MemTombstones). */
export class MemTombstones implements TombstoneReader {
  private readonly byRef = new Map<number, Interval[]>();

  get(ref: number): Intervals {
    return this.byRef.get(ref) ?? EMPTY;
  }

  addInterval(ref: number, ...ivs: Interval[]): void {
    let cur: Intervals = this.byRef.get(ref) ?? EMPTY;
    for (const iv of ivs) cur = addInterval(cur, iv);
    this.byRef.set(ref, cur as Interval[]);
  }

  *entries(): IterableIterator<[number, Intervals]> {
    const refs = [...this.byRef.keys()].sort((a, b) => a - b);
    for (const ref of refs) yield [ref, this.byRef.get(ref)!];
  }

  total(): number {
    let n = 0;
    for (const ivs of this.byRef.values()) n += ivs.length;
    return n;
  }

  get size(): number {
    return this.byRef.size;
  }
}

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * Decodes a tombstones file's bytes. `file` names the file in errors.
 * @throws CorruptionError on bad magic, version, checksum or truncated entries
 */
export function decodeTombstones(buf: Uint8Array, file = TOMBSTONES_FILENAME): MemTombstones {
  if (buf.length < 5 + 4) {
    throw new CorruptionError(file, 0, `tombstones file of ${buf.length} bytes is shorter than header and checksum`);
  }
  const magic = ((buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3]) >>> 0;
  if (magic !== MAGIC_TOMBSTONE) throw new CorruptionError(file, 0, `invalid magic number 0x${magic.toString(16)}`);
  const end = buf.length - 4;
  const stored = ((buf[end] << 24) | (buf[end + 1] << 16) | (buf[end + 2] << 8) | buf[end + 3]) >>> 0;
  const computed = crc32c(buf, 5, end);
  if (stored !== computed) {
    throw new CorruptionError(file, end, `checksum mismatch: stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)}`);
  }
  if (buf[4] !== TOMBSTONE_FORMAT_V1) throw new CorruptionError(file, 4, `invalid tombstone format version ${buf[4]}`);

  const stones = new MemTombstones();
  let pos = 5;
  // Reads a Go uvarint64 exactly into two 32-bit halves.
  let hi = 0;
  let lo = 0;
  const uvarint64 = (): void => {
    hi = 0;
    lo = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw new CorruptionError(file, pos, 'unexpected end of data in tombstone entry');
      const b = buf[pos++];
      const v = b & 0x7f;
      const shift = 7 * i;
      if (shift < 32) {
        lo |= v << shift;
        if (shift > 25) hi |= v >>> (32 - shift);
      } else {
        hi |= v << (shift - 32);
      }
      if (b < 0x80) {
        if (i === 9 && b > 1) break;
        hi >>>= 0;
        lo >>>= 0;
        return;
      }
    }
    throw new CorruptionError(file, pos, 'varint overflows 64 bits');
  };
  // Zigzag-decodes the last uvarint64 and saturates it to ±MAX_SAFE_INTEGER.
  const varint64 = (): number => {
    uvarint64();
    const sign = lo & 1 ? 0xffffffff : 0;
    const h = ((hi >>> 1) ^ sign) | 0;
    const l = (((lo >>> 1) | (hi << 31)) ^ sign) >>> 0;
    if (h >= 0x200000) return MAX;
    if (h < -0x200000) return -MAX;
    return Math.max(-MAX, Math.min(MAX, h * 0x1_0000_0000 + l));
  };
  while (pos < end) {
    const entryAt = pos;
    uvarint64();
    if (hi >= 0x200000) throw new CorruptionError(file, entryAt, 'series ref exceeds 2^53');
    const ref = hi * 0x1_0000_0000 + lo;
    const mint = varint64();
    const maxt = varint64();
    stones.addInterval(ref, { mint, maxt });
  }
  return stones;
}

/**
 * Reads a block's tombstones file. A missing file means no tombstones.
 * @param path path of the `tombstones` file
 */
export async function readTombstones(path: string): Promise<TombstoneReader> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new MemTombstones();
    throw err;
  }
  return decodeTombstones(buf, path);
}

/** Encodes tombstones in Prometheus' file format, entries in ascending series ref order. */
export function encodeTombstones(tr: TombstoneReader): Uint8Array {
  const e = new EncodingBuffer(64);
  e.putBE32(MAGIC_TOMBSTONE);
  e.putByte(TOMBSTONE_FORMAT_V1);
  for (const [ref, ivs] of tr.entries()) {
    for (const iv of ivs) {
      e.putUvarint(ref);
      putVarintSafe(e, iv.mint);
      putVarintSafe(e, iv.maxt);
    }
  }
  const b = e.get();
  e.putBE32(crc32c(b, 5, b.length));
  return e.get().slice();
}

/** Writes a safe integer as a Go zigzag varint; the zigzag form may exceed 2^53, so use 32-bit halves. */
function putVarintSafe(e: EncodingBuffer, v: number): void {
  if (!Number.isSafeInteger(v)) throw new RangeError(`tombstone time ${v} is not a safe integer`);
  const a = v < 0 ? -v : v;
  // z = 2a for v >= 0, 2a - 1 for v < 0
  let hi = Math.floor(a / 0x8000_0000);
  let lo = (a % 0x8000_0000) * 2;
  if (v < 0) {
    if (lo === 0) {
      hi -= 1;
      lo = 0xffff_ffff;
    } else {
      lo -= 1;
    }
  }
  while (hi > 0 || lo >= 0x80) {
    e.putByte((lo & 0x7f) | 0x80);
    lo = ((lo >>> 7) | ((hi & 0x7f) << 25)) >>> 0;
    hi >>>= 7;
  }
  e.putByte(lo);
}

/** Writes a tombstones file atomically (tmp file, fsync, rename), like tombstones.WriteFile. */
export async function writeTombstones(path: string, tr: TombstoneReader): Promise<void> {
  await writeFileAtomic(path, encodeTombstones(tr));
}
