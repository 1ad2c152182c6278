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

/**
 * Splits a streamed remote read body into its frames' messages, incrementally, checking
 * each CRC: push() a body chunk, then call next() until it returns null; end() when the
 * body ends. A frame inside one chunk is returned in place (a view of the chunk, so its
 * bytes fields alias the chunk); only frames split across chunks are copied. A bad CRC,
 * a frame over the limit or a body ending inside a frame throws RemoteReadError.
 */
export class ChunkedFrameReader {
  private readonly limit: number;
  private chunk: Uint8Array = EMPTY;
  private pos = 0;
  /** A frame split across chunks being assembled (header and message), else null. */
  private frame: Uint8Array | null = null;
  private fill = 0;
  private frameHdr = 0;
  /** The start of a frame whose header is still incomplete. */
  private head: Uint8Array = EMPTY;
  /** Stream offset and number of the next frame. */
  private streamPos = 0;
  private frameNo = 0;
  /** Number and stream offset of the frame returned last, for corrupt(). */
  private lastNo = 0;
  private lastPos = 0;

  constructor(opts: ReadChunkedOptions = {}) {
    this.limit = opts.maxFrameBytes ?? DEFAULT_CHUNKED_READ_LIMIT;
  }

  /** Frames returned so far. */
  get frames(): number {
    return this.frameNo;
  }

  /** Body bytes consumed by the frames returned so far. */
  get bytes(): number {
    return this.streamPos;
  }

  /** Hands over the next body chunk; the previous one must have been read to its end (next() returned null). */
  push(chunk: Uint8Array): void {
    if (this.pos < this.chunk.length) throw new Error('ChunkedFrameReader: push before next() returned null');
    this.chunk = chunk;
    this.pos = 0;
  }

  /** The message of the next whole frame, or null when more of the body is needed. */
  next(): Uint8Array | null {
    const chunk = this.chunk;
    while (this.pos < chunk.length) {
      const pos = this.pos;
      if (this.frame !== null) {
        const frame = this.frame;
        const n = Math.min(frame.length - this.fill, chunk.length - pos);
        frame.set(chunk.subarray(pos, pos + n), this.fill);
        this.fill += n;
        this.pos += n;
        if (this.fill < frame.length) continue;
        this.frame = null;
        return this.check(frame, this.frameHdr, frame.length);
      }
      if (this.head.length > 0) {
        // A header split across chunks: join it with the next few bytes.
        const take = Math.min(chunk.length - pos, MAX_HEADER);
        const joined = new Uint8Array(this.head.length + take);
        joined.set(this.head);
        joined.set(chunk.subarray(pos, pos + take), this.head.length);
        const len = this.parseHeader(joined, 0);
        if (len < 0) {
          this.head = joined;
          this.pos += take;
          continue;
        }
        this.startFrame(len, this.head);
        this.head = EMPTY;
        continue;
      }
      const len = this.parseHeader(chunk, pos);
      if (len < 0) {
        this.head = chunk.slice(pos);
        this.pos = chunk.length;
      } else if (pos + this.frameHdr + len <= chunk.length) {
        // fast path: the whole frame is in this chunk
        this.pos = pos + this.frameHdr + len;
        return this.check(chunk, pos + this.frameHdr, this.pos);
      } else {
        this.startFrame(len, chunk.subarray(pos));
        this.pos = chunk.length;
      }
    }
    return null;
  }

  /** Throws when the body ended inside a frame. */
  end(): void {
    if (this.frame !== null) throw this.fail(`truncated frame: stream ended after ${this.fill} of ${this.frame.length} bytes`);
    if (this.head.length > 0) throw this.fail(`truncated frame header: stream ended after ${this.head.length} bytes`);
  }

  /** An error about the frame returned last (say, its message does not decode). */
  corrupt(why: string): RemoteReadError {
    return new RemoteReadError(`remote read: frame ${this.lastNo} at byte ${this.lastPos}: ${why}`);
  }

  private fail(why: string): RemoteReadError {
    return new RemoteReadError(`remote read: frame ${this.frameNo} at byte ${this.streamPos}: ${why}`);
  }

  /** Message length of the header at buf[pos] (setting frameHdr), or -1 when incomplete. */
  private parseHeader(buf: Uint8Array, pos: number): number {
    let len = 0;
    let mul = 1;
    let p = pos;
    for (;;) {
      if (p >= buf.length) return -1;
      const b = buf[p++];
      len += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
      if (p - pos >= 10) throw this.fail('malformed frame length');
    }
    if (len > this.limit) {
      // Prometheus: "chunkedReader: message size exceeded the limit".
      throw this.fail(`frame of ${len} bytes exceeds the limit of ${this.limit} bytes`);
    }
    this.frameHdr = p - pos + 4;
    return pos + this.frameHdr <= buf.length ? len : -1;
  }

  private startFrame(len: number, first: Uint8Array): void {
    // A Buffer, as the body chunks of node:http are: messages read the same either way.
    this.frame = Buffer.allocUnsafe(this.frameHdr + len);
    this.frame.set(first);
    this.fill = first.length;
  }

  /** Checks the CRC before buf[start, end) and returns the message. */
  private check(buf: Uint8Array, start: number, end: number): Uint8Array {
    const want = ((buf[start - 4] << 24) | (buf[start - 3] << 16) | (buf[start - 2] << 8) | buf[start - 1]) >>> 0;
    const got = crc32c(buf, start, end);
    if (want !== got) {
      throw this.fail(`checksum mismatch: frame says 0x${want.toString(16).padStart(8, '0')}, data has 0x${got.toString(16).padStart(8, '0')}`);
    }
    this.lastNo = this.frameNo++;
    this.lastPos = this.streamPos;
    this.streamPos += this.frameHdr + end - start;
    return buf.subarray(start, end);
  }
}

/**
 * Parses a streamed remote read body into ChunkedReadResponse messages, incrementally
 * (see ChunkedFrameReader; chunk bytes alias the body where a frame was not split).
 */
export async function* readChunkedResponse(
  body: AsyncIterable<Uint8Array>,
  opts: ReadChunkedOptions = {},
): AsyncGenerator<ChunkedReadResponse> {
  const r = new ChunkedFrameReader(opts);
  for await (const chunk of body) {
    r.push(chunk);
    for (let msg = r.next(); msg !== null; msg = r.next()) {
      let res: ChunkedReadResponse;
      try {
        res = prometheus.ChunkedReadResponse.decode(msg) as unknown as ChunkedReadResponse;
      } catch (err) {
        throw r.corrupt(`malformed ChunkedReadResponse: ${(err as Error).message}`);
      }
      yield res;
    }
  }
  r.end();
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
