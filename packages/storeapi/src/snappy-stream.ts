// Snappy framing format (github.com/google/snappy framing_format.txt), the "stream"
// format of golang/snappy's Reader and Writer, which Thanos's gRPC "snappy" compressor
// (pkg/extgrpc/snappy) writes around every message. A stream is a sequence of chunks:
//
//   type (1 byte) | length of what follows (3 bytes LE) | data
//
//   0xff      stream identifier: "sNaPpY"; must come first, may repeat
//   0x00      compressed data: masked CRC-32C of the uncompressed data (4 bytes LE),
//             then one snappy block decoding to at most 65536 bytes
//   0x01      uncompressed data: masked CRC-32C (4 bytes LE), then at most 65536 bytes
//   0xfe      padding, skipped
//   0x80-0xfd reserved skippable, skipped
//   0x02-0x7f reserved unskippable: the stream is corrupt
//
// The masked CRC is ((crc >>> 15) | (crc << 17)) + 0xa282ead8 (mod 2^32).

import { crc32c } from '@thanos-ts/tsdb';
import { SnappyError, snappyCompress, snappyDecodedLength, snappyDecompress } from './snappy.js';

const CHUNK_COMPRESSED = 0x00;
const CHUNK_UNCOMPRESSED = 0x01;
const CHUNK_PADDING = 0xfe;
const CHUNK_STREAM_IDENTIFIER = 0xff;
/** The stream identifier chunk, header included. */
const MAGIC_CHUNK = Uint8Array.of(0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59); // "sNaPpY"
/** Largest uncompressed payload of one chunk. */
const MAX_BLOCK_SIZE = 65536;
const CHECKSUM_SIZE = 4;
const HEADER_SIZE = 4;
/** Below this size golang/snappy's Writer does not try to compress a chunk. */
const MIN_NON_LITERAL_BLOCK_SIZE = 1 + 1 + 15;

/** The CRC-32C of data, masked as the framing format stores it. */
export function snappyMaskedCRC(data: Uint8Array, start = 0, end = data.length): number {
  const c = crc32c(data, start, end);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/**
 * Encodes src as a framed snappy stream as golang/snappy's Writer does: the stream
 * identifier, then one chunk per 64 KiB of input, compressed unless that saves less
 * than an eighth.
 */
export function snappyStreamEncode(src: Uint8Array): Buffer {
  const parts: Uint8Array[] = [MAGIC_CHUNK];
  let total = MAGIC_CHUNK.length;
  for (let p = 0; p < src.length; p += MAX_BLOCK_SIZE) {
    const raw = src.subarray(p, Math.min(p + MAX_BLOCK_SIZE, src.length));
    let type = CHUNK_UNCOMPRESSED;
    let body = raw;
    if (raw.length >= MIN_NON_LITERAL_BLOCK_SIZE) {
      const enc = snappyCompress(raw);
      if (enc.length < raw.length - (raw.length >>> 3)) {
        type = CHUNK_COMPRESSED;
        body = enc;
      }
    }
    const header = new Uint8Array(HEADER_SIZE + CHECKSUM_SIZE);
    const len = CHECKSUM_SIZE + body.length;
    header[0] = type;
    header[1] = len & 0xff;
    header[2] = (len >>> 8) & 0xff;
    header[3] = len >>> 16;
    const crc = snappyMaskedCRC(raw);
    header[4] = crc & 0xff;
    header[5] = (crc >>> 8) & 0xff;
    header[6] = (crc >>> 16) & 0xff;
    header[7] = crc >>> 24;
    parts.push(header, body);
    total += header.length + body.length;
  }
  return Buffer.concat(parts, total);
}

/**
 * Decodes a framed snappy stream. An empty input is an empty stream. Throws SnappyError
 * when the stream is corrupt, a checksum does not match, or the output would exceed
 * maxDecodedLength bytes (SnappyLimitError).
 */
export function snappyStreamDecode(src: Uint8Array, maxDecodedLength = Number.MAX_SAFE_INTEGER): Buffer {
  const out: Uint8Array[] = [];
  let total = 0;
  let readHeader = false;
  let p = 0;
  while (p < src.length) {
    if (p + HEADER_SIZE > src.length) throw corrupt('truncated chunk header');
    const type = src[p];
    const len = src[p + 1] | (src[p + 2] << 8) | (src[p + 3] << 16);
    const start = p + HEADER_SIZE;
    const end = start + len;
    if (end > src.length) throw corrupt('chunk overruns input');
    p = end;
    if (!readHeader && type !== CHUNK_STREAM_IDENTIFIER) throw corrupt('missing stream identifier');
    switch (type) {
      case CHUNK_STREAM_IDENTIFIER:
        if (len !== MAGIC_CHUNK.length - HEADER_SIZE) throw corrupt('bad stream identifier length');
        for (let i = 0; i < len; i++) {
          if (src[start + i] !== MAGIC_CHUNK[HEADER_SIZE + i]) throw corrupt('bad stream identifier');
        }
        readHeader = true;
        continue;
      case CHUNK_COMPRESSED:
      case CHUNK_UNCOMPRESSED: {
        if (len < CHECKSUM_SIZE) throw corrupt('chunk too short for its checksum');
        const want = (src[start] | (src[start + 1] << 8) | (src[start + 2] << 16) | (src[start + 3] << 24)) >>> 0;
        const body = src.subarray(start + CHECKSUM_SIZE, end);
        let data: Uint8Array;
        if (type === CHUNK_COMPRESSED) {
          const n = snappyDecodedLength(body);
          if (n > MAX_BLOCK_SIZE) throw corrupt(`chunk decodes to ${n} bytes, more than ${MAX_BLOCK_SIZE}`);
          checkLimit(total + n, maxDecodedLength);
          data = snappyDecompress(body, MAX_BLOCK_SIZE);
        } else {
          if (body.length > MAX_BLOCK_SIZE) throw corrupt(`uncompressed chunk of ${body.length} bytes, more than ${MAX_BLOCK_SIZE}`);
          checkLimit(total + body.length, maxDecodedLength);
          data = body;
        }
        if (snappyMaskedCRC(data) !== want) throw corrupt('checksum mismatch');
        out.push(data);
        total += data.length;
        continue;
      }
      default:
        // Padding and reserved skippable chunks (0x80-0xfe) carry nothing for us.
        if (type === CHUNK_PADDING || type >= 0x80) continue;
        throw corrupt(`reserved unskippable chunk type 0x${type.toString(16).padStart(2, '0')}`);
    }
  }
  return Buffer.concat(out, total);
}

/** The decoded stream would exceed the caller's limit. */
export class SnappyLimitError extends SnappyError {
  constructor(readonly limit: number) {
    super(`snappy: decoded stream exceeds the limit of ${limit} bytes`);
  }
}

function checkLimit(n: number, limit: number): void {
  if (n > limit) throw new SnappyLimitError(limit);
}

function corrupt(why: string): SnappyError {
  return new SnappyError(`snappy: corrupt stream: ${why}`);
}
