// Chunk segment files, as in Prometheus tsdb/chunks/chunks.go and
// tsdb/docs/format/chunks.md:
//
//   segment  magic 0x85BD40DD (4B BE) | version 1 (1B) | 3 zero bytes | record*
//   record   len uvarint (of data, <= 5 bytes) | encoding (1B) | data | CRC32C(encoding | data) (4B BE)
//
// A chunk ref (BlockChunkRef) is uint64 `segmentIndex << 32 | offset`, where
// segmentIndex is the 0-based position among the segment files (file 000001 is index
// 0) and offset is the position of the record's len varint. We keep refs as JS
// numbers, segmentIndex * 2^32 + offset: exact while segmentIndex < 2^21, i.e. for
// any block below 2^21 segments of up to 4 GiB.

import { crc32c } from '../encoding/crc32c.js';
import { CorruptionError } from '../encoding/errors.js';

export const MAGIC_CHUNKS = 0x85bd40dd;
export const CHUNKS_FORMAT_V1 = 1;
/** magic + version + 3 bytes padding. */
export const SEGMENT_HEADER_SIZE = 8;
/** The len field is a uvarint of at most 5 bytes (binary.MaxVarintLen32). */
export const MAX_CHUNK_LENGTH_FIELD_SIZE = 5;
export const CHUNK_ENCODING_SIZE = 1;
export const CHUNK_CRC_SIZE = 4;
/** Prometheus' DefaultChunkSegmentSize: 512 MiB. */
export const DEFAULT_CHUNK_SEGMENT_SIZE = 512 * 1024 * 1024;

const TWO32 = 0x1_0000_0000;

/**
 * File name of the segment with 1-based sequence number `seq` ("000001" for 1).
 * The segment with 0-based ref index i is chunkSegmentFileName(i + 1).
 */
export function chunkSegmentFileName(seq: number): string {
  return String(seq).padStart(6, '0');
}

/** Packs a 0-based segment index and a byte offset into a chunk ref. */
export function chunkRef(segment: number, offset: number): number {
  return segment * TWO32 + offset;
}

/** The 0-based segment index of a chunk ref. */
export function chunkRefSegment(ref: number): number {
  return Math.floor(ref / TWO32);
}

/** The byte offset within its segment of a chunk ref. */
export function chunkRefOffset(ref: number): number {
  return ref % TWO32;
}

/** One chunk as stored in a segment: its encoding byte and its data. */
export interface ChunkRecord {
  encoding: number;
  data: Uint8Array;
}

export interface ParsedChunkRecord extends ChunkRecord {
  /** Total record size in bytes (len varint + encoding + data + CRC). */
  size: number;
}

/**
 * Parses and CRC-checks the chunk record starting at buf[offset]. `data` is a view
 * into buf. Meant both for whole segments and for byte ranges fetched from object
 * storage: pass the absolute file offset of buf[0] as `base` so that errors name
 * the real position. Throws CorruptionError naming `file` and the offset.
 */
export function parseChunkRecord(buf: Uint8Array, offset: number, file: string, base = 0): ParsedChunkRecord {
  const encAt = checkChunkRecord(buf, offset, file, base);
  // The length varint was read and bounded by the check.
  let len = 0;
  for (let p = offset, mul = 1; p < encAt; p++, mul *= 128) len += (buf[p] & 0x7f) * mul;
  const dataEnd = encAt + CHUNK_ENCODING_SIZE + len;
  return { encoding: buf[encAt], data: buf.subarray(encAt + 1, dataEnd), size: dataEnd + CHUNK_CRC_SIZE - offset };
}

/**
 * CRC-checks the chunk record starting at buf[offset] as parseChunkRecord does, without
 * allocating: returns the position of its encoding byte. The data follows it and ends
 * CHUNK_CRC_SIZE bytes before the record does.
 */
export function checkChunkRecord(buf: Uint8Array, offset: number, file: string, base = 0): number {
  const at = base + offset;
  if (offset < 0 || offset >= buf.length) {
    throw new CorruptionError(file, at, `chunk record offset outside the ${buf.length} available bytes`);
  }
  let len = 0;
  let mul = 1;
  let p = offset;
  for (let i = 0; ; i++) {
    if (i === MAX_CHUNK_LENGTH_FIELD_SIZE) throw new CorruptionError(file, at, 'chunk length varint longer than 5 bytes');
    if (p >= buf.length) throw new CorruptionError(file, at, 'unexpected end of data in chunk length');
    const b = buf[p++];
    len += (b & 0x7f) * mul;
    if (b < 0x80) break;
    mul *= 128;
  }
  const encAt = p;
  const dataEnd = encAt + CHUNK_ENCODING_SIZE + len;
  const end = dataEnd + CHUNK_CRC_SIZE;
  if (end > buf.length) {
    throw new CorruptionError(file, at, `chunk of ${len} bytes needs ${end - offset} bytes, only ${buf.length - offset} available`);
  }
  const stored = ((buf[dataEnd] << 24) | (buf[dataEnd + 1] << 16) | (buf[dataEnd + 2] << 8) | buf[dataEnd + 3]) >>> 0;
  const computed = crc32c(buf, encAt, dataEnd);
  if (stored !== computed) {
    throw new CorruptionError(
      file,
      at,
      `chunk checksum mismatch: stored 0x${stored.toString(16).padStart(8, '0')}, computed 0x${computed.toString(16).padStart(8, '0')}`,
    );
  }
  return encAt;
}

/** Checks the 8-byte segment header at the start of buf. */
export function checkSegmentHeader(buf: Uint8Array, file: string): void {
  if (buf.length < SEGMENT_HEADER_SIZE) {
    throw new CorruptionError(file, 0, `segment of ${buf.length} bytes is shorter than its 8-byte header`);
  }
  const magic = ((buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3]) >>> 0;
  if (magic !== MAGIC_CHUNKS) throw new CorruptionError(file, 0, `invalid magic number 0x${magic.toString(16)}`);
  if (buf[4] !== CHUNKS_FORMAT_V1) throw new CorruptionError(file, 4, `invalid chunk format version ${buf[4]}`);
}
