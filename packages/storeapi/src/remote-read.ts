// Prometheus remote read, client side: the request body, the SAMPLES response and the
// streamed STREAMED_XOR_CHUNKS response (Prometheus storage/remote/codec.go, chunked.go).
//
// A streamed response is a sequence of frames
//   uvarint(len(msg)) | uint32 big-endian CRC-32C(msg) | msg
// each msg a prometheus.ChunkedReadResponse holding one series (a series may continue
// in the next frame). Prometheus writes the status line before it knows whether the
// query will succeed, so a truncated or garbled stream after a 200 is a failure.

import { crc32c } from '@thanos-ts/tsdb';
import type { Labels } from '@thanos-ts/tsdb';
import { prometheus } from './proto.js';
import type { StoreSeries } from './proto.js';
import { snappyCompress, snappyDecompress } from './snappy.js';

/** prometheus.ReadRequest.ResponseType. */
export const ReadResponseType = {
  SAMPLES: 0,
  STREAMED_XOR_CHUNKS: 1,
} as const;
export type ReadResponseType = (typeof ReadResponseType)[keyof typeof ReadResponseType];

/** Headers of a remote read request, as Prometheus's client sends them. */
export const REMOTE_READ_REQUEST_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Encoding': 'snappy',
  'Accept-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Read-Version': '0.1.0',
});

/** Content-Type of a streamed response (note the space after the semicolon). */
export const CHUNKED_READ_CONTENT_TYPE = 'application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse';

/** Prometheus's limit on request and SAMPLES response bodies, compressed and decoded (codec.go). */
export const DECODE_READ_LIMIT = 32 * 1024 * 1024;

/** Default frame size limit of a streamed response (Prometheus's chunked_read_limit, 5e7 bytes). */
export const DEFAULT_CHUNKED_READ_LIMIT = 50_000_000;

/** prometheus.Chunk as decoded: TSDB chunk bytes, TSDB encoding numbering (XOR = 1). */
export interface PromChunk {
  minTimeMs: number;
  maxTimeMs: number;
  type: number;
  data: Uint8Array;
}

/** prometheus.ChunkedSeries as decoded. */
export interface ChunkedSeries {
  labels: Labels;
  chunks: PromChunk[];
}

/** prometheus.ChunkedReadResponse as decoded. */
export interface ChunkedReadResponse {
  chunkedSeries: ChunkedSeries[];
  queryIndex: number;
}

/** A streamed remote read response that is malformed, corrupted, truncated or too large. */
export class RemoteReadError extends Error {
  override readonly name = 'RemoteReadError';
}

/** The body of a remote read request: the snappy-compressed ReadRequest. */
export function encodeReadRequest(req: prometheus.ReadRequest.$Properties): Uint8Array {
  return snappyCompress(prometheus.ReadRequest.encode(req).finish());
}

/** Decodes a remote read request body (for servers and fakes of Prometheus). */
export function decodeReadRequest(body: Uint8Array, limit = DECODE_READ_LIMIT): prometheus.ReadRequest {
  return prometheus.ReadRequest.decode(snappyDecompress(body, limit));
}

/** The body of a SAMPLES response: the snappy-compressed ReadResponse. */
export function encodeReadResponse(res: prometheus.ReadResponse.$Properties): Uint8Array {
  return snappyCompress(prometheus.ReadResponse.encode(res).finish());
}

/** Decodes a SAMPLES response body. */
export function decodeReadResponse(body: Uint8Array, limit = DECODE_READ_LIMIT): prometheus.ReadResponse {
  return prometheus.ReadResponse.decode(snappyDecompress(body, limit));
}

/** Whether a response Content-Type announces streamed chunks (Prometheus matches by prefix). */
export function isChunkedReadResponse(contentType: string | null | undefined): boolean {
  return (contentType ?? '').startsWith(CHUNKED_READ_CONTENT_TYPE);
}

/** One frame of a streamed response (for fakes of Prometheus and tests). */
export function encodeChunkedFrame(msg: prometheus.ChunkedReadResponse.$Properties): Uint8Array {
  const body = prometheus.ChunkedReadResponse.encode(msg).finish();
  let n = body.length;
  let hdr = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    hdr++;
  }
  const out = new Uint8Array(hdr + 4 + body.length);
  let p = 0;
  for (n = body.length; n >= 0x80; n = Math.floor(n / 128)) out[p++] = (n % 128) | 0x80;
  out[p++] = n;
  new DataView(out.buffer).setUint32(p, crc32c(body));
  out.set(body, p + 4);
  return out;
}

export interface ReadChunkedOptions {
  /** Largest frame accepted, bytes (default 5e7 as Prometheus). */
  maxFrameBytes?: number;
}

/** Frame header: uvarint length (1..10 bytes) and the 4-byte CRC. */
const MAX_HEADER = 10 + 4;
const EMPTY = new Uint8Array(0);

interface FrameHeader {
  /** Bytes of length varint + CRC. */
  hdr: number;
  /** Bytes of the message. */
  len: number;
}

/**
 * Parses a streamed remote read body into ChunkedReadResponse messages, incrementally:
 * each frame is decoded as soon as its last byte arrives. A frame inside one body chunk
 * is decoded in place (chunk bytes alias it); only frames split across body chunks are
 * copied. A bad CRC, a frame over the limit or a stream ending inside a frame throws
 * RemoteReadError.
 */
export async function* readChunkedResponse(
  body: AsyncIterable<Uint8Array>,
  opts: ReadChunkedOptions = {},
): AsyncGenerator<ChunkedReadResponse> {
  const limit = opts.maxFrameBytes ?? DEFAULT_CHUNKED_READ_LIMIT;
  let frame: Uint8Array | null = null; // a frame split across chunks, being assembled
  let fill = 0;
  let head: Uint8Array = EMPTY; // the start of a frame whose header is still incomplete
  let streamPos = 0; // stream offset of the frame being parsed, for messages
  let frameNo = 0;

  const parseHeader = (buf: Uint8Array, pos: number): FrameHeader | null => {
    let len = 0;
    let mul = 1;
    let p = pos;
    for (;;) {
      if (p >= buf.length) return null;
      const b = buf[p++];
      len += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
      if (p - pos >= 10) throw fail('malformed frame length');
    }
    if (len > limit) {
      // Prometheus: "chunkedReader: message size exceeded the limit".
      throw fail(`frame of ${len} bytes exceeds the limit of ${limit} bytes`);
    }
    const hdr = p - pos + 4;
    return pos + hdr <= buf.length ? { hdr, len } : null;
  };

  const fail = (why: string): RemoteReadError =>
    new RemoteReadError(`remote read: frame ${frameNo} at byte ${streamPos}: ${why}`);

  const decode = (buf: Uint8Array, pos: number, h: FrameHeader): ChunkedReadResponse => {
    const start = pos + h.hdr;
    const end = start + h.len;
    const want = ((buf[start - 4] << 24) | (buf[start - 3] << 16) | (buf[start - 2] << 8) | buf[start - 1]) >>> 0;
    const got = crc32c(buf, start, end);
    if (want !== got) {
      throw fail(`checksum mismatch: frame says 0x${want.toString(16).padStart(8, '0')}, data has 0x${got.toString(16).padStart(8, '0')}`);
    }
    let msg: ChunkedReadResponse;
    try {
      msg = prometheus.ChunkedReadResponse.decode(buf.subarray(start, end)) as unknown as ChunkedReadResponse;
    } catch (err) {
      throw fail(`malformed ChunkedReadResponse: ${(err as Error).message}`);
    }
    streamPos += h.hdr + h.len;
    frameNo++;
    return msg;
  };

  for await (const chunk of body) {
    let pos = 0;
    while (pos < chunk.length) {
      if (frame !== null) {
        const n = Math.min(frame.length - fill, chunk.length - pos);
        frame.set(chunk.subarray(pos, pos + n), fill);
        fill += n;
        pos += n;
        if (fill === frame.length) {
          const f = frame;
          frame = null;
          yield decode(f, 0, parseHeader(f, 0)!);
        }
        continue;
      }
      if (head.length > 0) {
        // A header split across chunks: join it with the next few bytes.
        const take = Math.min(chunk.length - pos, MAX_HEADER);
        const joined = new Uint8Array(head.length + take);
        joined.set(head);
        joined.set(chunk.subarray(pos, pos + take), head.length);
        const h = parseHeader(joined, 0);
        if (h === null) {
          head = joined;
          pos += take;
          continue;
        }
        frame = new Uint8Array(h.hdr + h.len);
        frame.set(head);
        fill = head.length;
        head = EMPTY;
        continue;
      }
      const h = parseHeader(chunk, pos);
      if (h === null) {
        head = chunk.slice(pos);
        pos = chunk.length;
      } else if (pos + h.hdr + h.len <= chunk.length) {
        // fast path: the whole frame is in this chunk; decode it in place
        const msg = decode(chunk, pos, h);
        pos += h.hdr + h.len;
        yield msg;
      } else {
        frame = new Uint8Array(h.hdr + h.len);
        frame.set(chunk.subarray(pos));
        fill = chunk.length - pos;
        pos = chunk.length;
      }
    }
  }
  if (frame !== null) throw fail(`truncated frame: stream ended after ${fill} of ${frame.length} bytes`);
  if (head.length > 0) throw fail(`truncated frame header: stream ended after ${head.length} bytes`);
}

/**
 * A remote read series as a StoreAPI series, without re-encoding: same chunk bytes, the
 * encoding renumbered (storepb = TSDB − 1). Encodings storepb cannot carry (XOR2 and
 * the start-timestamp variants) throw.
 */
export function chunkedSeriesToStoreSeries(cs: ChunkedSeries): StoreSeries {
  const chunks = new Array<StoreSeries['chunks'][number]>(cs.chunks.length);
  for (let i = 0; i < cs.chunks.length; i++) {
    const c = cs.chunks[i];
    const t = c.type ?? 0;
    if (t < 1 || t > 3) throw new RemoteReadError(`remote read: chunk encoding ${t} has no StoreAPI equivalent`);
    chunks[i] = { minTime: c.minTimeMs, maxTime: c.maxTimeMs, raw: { type: t - 1, data: c.data } };
  }
  return { labels: cs.labels, chunks };
}
