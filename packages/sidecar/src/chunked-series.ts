// Streamed remote read series to StoreAPI series, at the byte level: a frame's
// prometheus.ChunkedReadResponse is parsed without decoding its chunks, and the
// thanos.SeriesResponse carrying the Series is written straight from those bytes (Thanos
// pkg/store/prometheus.go does the same conversion through gogo structs).
//
//   prometheus.ChunkedSeries  labels=1 (Label: name=1, value=2), chunks=2
//   prometheus.Chunk          min_time_ms=1, max_time_ms=2 (int64), type=3 (TSDB: XOR=1), data=4
//   thanos.Series             labels=1 (Label: name=1, value=2), chunks=2
//   thanos.AggrChunk          min_time=1, max_time=2 (int64), raw=3 (thanos.Chunk)
//   thanos.Chunk              type=1 (storepb: XOR=0, i.e. TSDB − 1), data=2
//
// min_time and max_time have the same field numbers and wire type on both sides, so their
// bytes (tag and varint) are copied as they came; chunk data is copied with one set().

import { uvarintSize, writeUvarint } from '@thanos-ts/tsdb';
import type { Label, Labels } from '@thanos-ts/tsdb';
import type { AggrChunk, StoreSeries } from '@thanos-ts/storeapi';

/**
 * One prometheus.ChunkedSeries of a frame: labels decoded, chunks as offsets into `buf`
 * (the frame's message), CHUNK_STRIDE numbers per chunk (see the C_* offsets).
 */
export interface RawChunkedSeries {
  labels: Labels;
  buf: Uint8Array;
  chunks: number[];
  /** Bytes the chunks take in a thanos.Series (their AggrChunk fields, tags included). */
  chunksSize: number;
}

/** Numbers per chunk in RawChunkedSeries.chunks. */
const CHUNK_STRIDE = 8;
// [start, end) of the min_time_ms field (tag and varint; empty when absent), the same for
// max_time_ms, the TSDB encoding, [start, end) of the data, the size of the AggrChunk.
const C_MIN = 0;
const C_MIN_END = 1;
const C_MAX = 2;
const C_MAX_END = 3;
const C_TYPE = 4;
const C_DATA = 5;
const C_DATA_END = 6;
const C_AGGR_SIZE = 7;

const TEXT = new TextDecoder();

/**
 * Parses a ChunkedReadResponse message (Prometheus writes one series per frame, but any
 * number is accepted). Unknown fields are skipped; malformed bytes throw.
 */
export function parseChunkedReadResponse(msg: Uint8Array): RawChunkedSeries[] {
  const out: RawChunkedSeries[] = [];
  const r = new ProtoReader(msg);
  while (r.pos < msg.length) {
    const tag = r.uvarint();
    if (tag === 0x0a) {
      const len = r.uvarint();
      out.push(parseChunkedSeries(r, r.end(len)));
    } else r.skip(tag);
  }
  return out;
}

function parseChunkedSeries(r: ProtoReader, end: number): RawChunkedSeries {
  const labels: Label[] = [];
  const chunks: number[] = [];
  let chunksSize = 0;
  while (r.pos < end) {
    const tag = r.uvarint();
    if (tag === 0x12) {
      const cend = r.end(r.uvarint(), end);
      const aggr = parseChunk(r, cend, chunks);
      chunksSize += 1 + uvarintSize(aggr) + aggr;
    } else if (tag === 0x0a) {
      const lend = r.end(r.uvarint(), end);
      let name = '';
      let value = '';
      while (r.pos < lend) {
        const t = r.uvarint();
        if (t === 0x0a) name = r.string(lend);
        else if (t === 0x12) value = r.string(lend);
        else r.skip(t, lend);
      }
      labels.push({ name, value });
    } else r.skip(tag, end);
  }
  return { labels, buf: r.buf, chunks, chunksSize };
}

/**
 * Appends the descriptor of the prometheus.Chunk from r.pos to cend and moves r past it;
 * returns the size of its AggrChunk. Reads with locals rather than through the reader:
 * this runs once per chunk, tens of thousands of times for a wide query.
 */
function parseChunk(r: ProtoReader, cend: number, out: number[]): number {
  const buf = r.buf;
  let p = r.pos;
  let min = 0;
  let minEnd = 0;
  let max = 0;
  let maxEnd = 0;
  let type = 0;
  let data = 0;
  let dataEnd = 0;
  while (p < cend) {
    const at = p;
    const t = buf[p++];
    if (t === 0x08 || t === 0x10) {
      p = skipVarint(buf, p, cend);
      if (t === 0x08) {
        min = at;
        minEnd = p;
      } else {
        max = at;
        maxEnd = p;
      }
    } else if (t === 0x18 && buf[p] < 0x80) {
      type = buf[p++];
    } else if (t === 0x22) {
      let len = buf[p++];
      if (len >= 0x80) {
        r.pos = p - 1;
        len = r.uvarint();
        p = r.pos;
      }
      data = p;
      dataEnd = p + len;
      if (dataEnd > cend) throw new Error(`chunk data of ${len} bytes overruns its Chunk`);
      p = dataEnd;
    } else {
      // slow path: multi-byte tags and types, unknown fields
      r.pos = at;
      const tag = r.uvarint();
      if (tag === 0x18) type = r.int32();
      else r.skip(tag, cend);
      p = r.pos;
    }
  }
  if (p !== cend) throw new Error('field overruns its Chunk');
  r.pos = p;
  const dataLen = dataEnd - data;
  const st = type - 1; // storepb numbering
  const raw = (st === 0 ? 0 : 1 + int32Size(st)) + 1 + uvarintSize(dataLen) + dataLen;
  const aggr = minEnd - min + (maxEnd - max) + 1 + uvarintSize(raw) + raw;
  out.push(min, minEnd, max, maxEnd, type, data, dataEnd, aggr);
  return aggr;
}

function skipVarint(buf: Uint8Array, p: number, end: number): number {
  for (let k = 0; k < 10 && p < end; k++) if (buf[p++] < 0x80) return p;
  throw new Error('malformed varint');
}

/**
 * Encodes a thanos.SeriesResponse holding one Series (field 1): `labels`, then the chunks
 * of every part in order, each as an AggrChunk with a raw chunk of the same bytes and the
 * encoding renumbered (TSDB − 1; what storepb cannot name passes through renumbered, as
 * Thanos does). The same bytes are an entry of a SeriesBatch (its field 1 too).
 */
export function encodeSeriesResponse(labels: Labels, parts: readonly RawChunkedSeries[]): Buffer {
  // Sizes first, so the message is written into one buffer of the exact size.
  let size = 0;
  const labelBytes = new Array<number>(labels.length * 2);
  for (let i = 0; i < labels.length; i++) {
    const n = Buffer.byteLength(labels[i].name);
    const v = Buffer.byteLength(labels[i].value);
    labelBytes[2 * i] = n;
    labelBytes[2 * i + 1] = v;
    const l = fieldSize(n) + fieldSize(v);
    size += 1 + uvarintSize(l) + l;
  }
  for (const p of parts) size += p.chunksSize;

  const total = 1 + uvarintSize(size) + size;
  const out = Buffer.allocUnsafe(total);
  out[0] = 0x0a;
  let pos = writeUvarint(out, 1, size);
  for (let i = 0; i < labels.length; i++) {
    const n = labelBytes[2 * i];
    const v = labelBytes[2 * i + 1];
    out[pos++] = 0x0a;
    pos = writeUvarint(out, pos, fieldSize(n) + fieldSize(v));
    if (n > 0) {
      out[pos++] = 0x0a;
      pos = writeUvarint(out, pos, n);
      pos += out.write(labels[i].name, pos, n, 'utf8');
    }
    if (v > 0) {
      out[pos++] = 0x12;
      pos = writeUvarint(out, pos, v);
      pos += out.write(labels[i].value, pos, v, 'utf8');
    }
  }
  for (const p of parts) {
    const c = p.chunks;
    const buf = p.buf;
    const ab = buf.buffer;
    const base = buf.byteOffset;
    for (let i = 0; i < c.length; i += CHUNK_STRIDE) {
      out[pos++] = 0x12;
      pos = writeUvarint(out, pos, c[i + C_AGGR_SIZE]);
      // min_time, max_time: the same tags and varints as in prometheus.Chunk.
      for (let k = c[i + C_MIN], e = c[i + C_MIN_END]; k < e; k++) out[pos++] = buf[k];
      for (let k = c[i + C_MAX], e = c[i + C_MAX_END]; k < e; k++) out[pos++] = buf[k];
      const data = c[i + C_DATA];
      const dataLen = c[i + C_DATA_END] - data;
      const type = c[i + C_TYPE] - 1;
      out[pos++] = 0x1a;
      pos = writeUvarint(out, pos, (type === 0 ? 0 : 1 + int32Size(type)) + 1 + uvarintSize(dataLen) + dataLen);
      if (type !== 0) {
        out[pos++] = 0x08;
        pos = writeInt32(out, pos, type);
      }
      out[pos++] = 0x12;
      pos = writeUvarint(out, pos, dataLen);
      // A plain view: Buffer#subarray costs more than the copy of a typical chunk.
      out.set(new Uint8Array(ab, base + data, dataLen), pos);
      pos += dataLen;
    }
  }
  if (pos !== total) throw new Error(`encode thanos.SeriesResponse: wrote ${pos} bytes, sized ${total}`);
  return out;
}

/** The same series as objects, for sinks that take no encoded series (chunk data aliases the frames). */
export function toStoreSeries(labels: Labels, parts: readonly RawChunkedSeries[]): StoreSeries {
  const chunks: AggrChunk[] = [];
  for (const p of parts) {
    const c = p.chunks;
    const buf = p.buf;
    for (let i = 0; i < c.length; i += CHUNK_STRIDE) {
      chunks.push({
        minTime: c[i + C_MIN_END] > c[i + C_MIN] ? readInt64(buf, c[i + C_MIN]) : 0,
        maxTime: c[i + C_MAX_END] > c[i + C_MAX] ? readInt64(buf, c[i + C_MAX]) : 0,
        raw: { type: c[i + C_TYPE] - 1, data: buf.subarray(c[i + C_DATA], c[i + C_DATA_END]) },
      });
    }
  }
  return { labels, chunks };
}

/** Bytes of a length-delimited field of n bytes (absent when empty). */
function fieldSize(n: number): number {
  return n === 0 ? 0 : 1 + uvarintSize(n) + n;
}

/** Protobuf int32: a negative value is sign-extended to ten bytes. */
function int32Size(v: number): number {
  return v < 0 ? 10 : uvarintSize(v);
}

function writeInt32(buf: Uint8Array, pos: number, v: number): number {
  if (v >= 0) return writeUvarint(buf, pos, v);
  // Two's complement over 64 bits: the low 32 bits, then all ones.
  let lo = v >>> 0;
  for (let k = 0; k < 4; k++) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  buf[pos++] = (lo & 0x0f) | 0xf0; // bits 28..31, then ones
  for (let k = 0; k < 4; k++) buf[pos++] = 0xff;
  buf[pos++] = 0x01;
  return pos;
}

/**
 * The int64 varint field (tag, then value) at buf[pos] as a number: exact within ±2^53,
 * negatives included (as protobufjs reads int64 with long.js off).
 */
function readInt64(buf: Uint8Array, pos: number): number {
  while (buf[pos++] >= 0x80); // the tag
  let lo = 0;
  let hi = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    const b = buf[pos++] & 0x7f;
    if (shift < 28) lo |= b << shift;
    else if (shift === 28) {
      lo |= b << 28;
      hi |= b >>> 4;
    } else hi |= b << (shift - 32);
    if (buf[pos - 1] < 0x80) break;
  }
  return (hi | 0) * 2 ** 32 + (lo >>> 0);
}

/** Bounds-checked protobuf field reader over one message. */
class ProtoReader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  uvarint(): number {
    const buf = this.buf;
    let b = buf[this.pos++];
    if (b < 0x80) return b; // fast path: tags and small lengths
    let v = b & 0x7f;
    let mul = 128;
    for (let k = 1; k < 10; k++) {
      if (this.pos >= buf.length) throw new Error('varint past the end of the message');
      b = buf[this.pos++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    throw new Error('malformed varint');
  }

  /** An int32 (enum) field: the low 32 bits of the varint, as protobuf reads them. */
  int32(): number {
    const buf = this.buf;
    let v = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= buf.length) throw new Error('varint past the end of the message');
      const b = buf[this.pos++];
      if (shift < 32) v |= (b & 0x7f) << shift;
      if (b < 0x80) return v | 0;
    }
    throw new Error('malformed varint');
  }

  /** End of a length-delimited field of len bytes starting here, checked against limit. */
  end(len: number, limit = this.buf.length): number {
    const e = this.pos + len;
    if (e > limit) throw new Error(`field of ${len} bytes overruns its message`);
    return e;
  }

  string(limit: number): string {
    const e = this.end(this.uvarint(), limit);
    const s = TEXT.decode(this.buf.subarray(this.pos, e));
    this.pos = e;
    return s;
  }

  skip(tag: number, limit = this.buf.length): void {
    switch (tag & 7) {
      case 0:
        this.uvarint();
        break;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.end(this.uvarint(), limit);
        break;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${tag & 7} of field ${Math.floor(tag / 8)}`);
    }
    if (this.pos > limit) throw new Error('field overruns its message');
  }
}
