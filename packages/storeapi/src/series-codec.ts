// thanos.SeriesResponse decoded by hand: the query reads one per series (or batch) of
// every select, and protobufjs's generic decoder builds class instances, deletes zero
// fields (which turns objects into dictionaries) and reads strings through a reader
// object. Here every message becomes a plain object of one shape, chunk bytes are views
// of the frame (no copy, as protobufjs on a Buffer), and ASCII strings, nearly all
// label names and values, are built without a decoder call.
//
// Field numbers: store.proto SeriesResponse {series=1, warning=2, hints=3, batch=4};
// types.proto SeriesBatch {series=1}, Series {labels=1, chunks=2}, Label {name=1,
// value=2}, AggrChunk {min_time=1, max_time=2, raw=3, count=4, sum=5, min=6, max=7,
// counter=8}, Chunk {type=1, data=2, hash=3}; google.protobuf.Any {type_url=1, value=2}.

import type { AggrChunk, AnyMessage, SeriesResponse, StoreChunk, StoreSeries } from './proto.js';
import type { Label } from '@thanos-ts/tsdb';
import { uvarintSize, writeUvarint } from '@thanos-ts/tsdb';

/** A malformed message: the frame is not a thanos.SeriesResponse. */
export class SeriesDecodeError extends Error {
  constructor(what: string, at: number) {
    super(`decode thanos.SeriesResponse: ${what} at byte ${at}`);
    this.name = 'SeriesDecodeError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const EMPTY: Uint8Array = new Uint8Array(0);

/** Decodes one SeriesResponse message (the whole of `b`). */
export function decodeSeriesResponse(b: Uint8Array): SeriesResponse {
  const r = new Reader(b);
  const out: SeriesResponse = {};
  while (r.pos < b.length) {
    const tag = r.varint32();
    switch (tag) {
      case (1 << 3) | 2: {
        const end = r.lengthEnd();
        out.series = readSeries(r, end);
        out.result = 'series';
        break;
      }
      case (2 << 3) | 2:
        out.warning = r.string(r.lengthEnd());
        out.result = 'warning';
        break;
      case (3 << 3) | 2:
        out.hints = readAny(r, r.lengthEnd());
        out.result = 'hints';
        break;
      case (4 << 3) | 2: {
        const end = r.lengthEnd();
        const series: StoreSeries[] = out.batch?.series ?? [];
        while (r.pos < end) {
          const t = r.varint32();
          if (t === ((1 << 3) | 2)) series.push(readSeries(r, r.lengthEnd()));
          else r.skip(t, end);
        }
        r.expectAt(end);
        out.batch = { series };
        out.result = 'batch';
        break;
      }
      default:
        r.skip(tag, b.length);
    }
  }
  return out;
}

function readSeries(r: Reader, end: number): StoreSeries {
  const labels: Label[] = [];
  const chunks: AggrChunk[] = [];
  while (r.pos < end) {
    const tag = r.varint32();
    if (tag === ((1 << 3) | 2)) labels.push(readLabel(r, r.lengthEnd()));
    else if (tag === ((2 << 3) | 2)) chunks.push(readAggrChunk(r, r.lengthEnd()));
    else r.skip(tag, end);
  }
  r.expectAt(end);
  return { labels, chunks };
}

function readLabel(r: Reader, end: number): Label {
  let name = '';
  let value = '';
  while (r.pos < end) {
    const tag = r.varint32();
    if (tag === ((1 << 3) | 2)) name = r.string(r.lengthEnd());
    else if (tag === ((2 << 3) | 2)) value = r.string(r.lengthEnd());
    else r.skip(tag, end);
  }
  r.expectAt(end);
  return { name, value };
}

function readAggrChunk(r: Reader, end: number): AggrChunk {
  const c: AggrChunk = { minTime: 0, maxTime: 0, raw: null, count: null, sum: null, min: null, max: null, counter: null };
  while (r.pos < end) {
    const tag = r.varint32();
    switch (tag) {
      case (1 << 3) | 0:
        c.minTime = r.int64();
        break;
      case (2 << 3) | 0:
        c.maxTime = r.int64();
        break;
      case (3 << 3) | 2:
        c.raw = readChunk(r, r.lengthEnd());
        break;
      case (4 << 3) | 2:
        c.count = readChunk(r, r.lengthEnd());
        break;
      case (5 << 3) | 2:
        c.sum = readChunk(r, r.lengthEnd());
        break;
      case (6 << 3) | 2:
        c.min = readChunk(r, r.lengthEnd());
        break;
      case (7 << 3) | 2:
        c.max = readChunk(r, r.lengthEnd());
        break;
      case (8 << 3) | 2:
        c.counter = readChunk(r, r.lengthEnd());
        break;
      default:
        r.skip(tag, end);
    }
  }
  r.expectAt(end);
  return c;
}

function readChunk(r: Reader, end: number): StoreChunk {
  let type = 0;
  let data = EMPTY;
  let hash = 0;
  while (r.pos < end) {
    const tag = r.varint32();
    if (tag === ((1 << 3) | 0)) type = r.int64();
    else if (tag === ((2 << 3) | 2)) data = r.bytes(r.lengthEnd());
    else if (tag === ((3 << 3) | 0)) hash = r.uint64();
    else r.skip(tag, end);
  }
  r.expectAt(end);
  return { type, data, hash };
}

function readAny(r: Reader, end: number): AnyMessage {
  let typeUrl = '';
  let value = EMPTY;
  while (r.pos < end) {
    const tag = r.varint32();
    if (tag === ((1 << 3) | 2)) typeUrl = r.string(r.lengthEnd());
    else if (tag === ((2 << 3) | 2)) value = r.bytes(r.lengthEnd());
    else r.skip(tag, end);
  }
  r.expectAt(end);
  return { type_url: typeUrl, value };
}

class Reader {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}

  /** A varint that must fit 32 bits (tags, lengths). */
  varint32(): number {
    const b = this.b;
    let x = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= b.length) throw new SeriesDecodeError('truncated varint', this.pos);
      const c = b[this.pos++];
      x |= (c & 0x7f) << shift;
      if (c < 0x80) {
        if (shift === 28 && c > 0x0f) break;
        return x >>> 0;
      }
    }
    throw new SeriesDecodeError('varint over 32 bits', this.pos - 1);
  }

  /** int64 as a number (two's complement; exact within ±2^53, as protobufjs without Long). */
  int64(): number {
    const [lo, hi] = this.varint64();
    return hi >= 0x80000000 ? -((~hi >>> 0) * 4294967296 + ((~lo >>> 0) + 1)) : hi * 4294967296 + lo;
  }

  uint64(): number {
    const [lo, hi] = this.varint64();
    return hi * 4294967296 + lo;
  }

  private varint64(): [number, number] {
    const b = this.b;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= b.length) throw new SeriesDecodeError('truncated varint', this.pos);
      const c = b[this.pos++];
      if (shift < 28) lo |= (c & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (c & 0x0f) << 28;
        hi |= (c & 0x7f) >>> 4;
      } else hi |= (c & 0x7f) << (shift - 32);
      if (c < 0x80) return [lo >>> 0, hi >>> 0];
      shift += 7;
    }
    throw new SeriesDecodeError('varint over 10 bytes', this.pos);
  }

  /** Reads a length prefix; returns where the field ends. */
  lengthEnd(): number {
    const at = this.pos;
    const n = this.varint32();
    const end = this.pos + n;
    if (end > this.b.length) throw new SeriesDecodeError(`length ${n} past the end`, at);
    return end;
  }

  expectAt(end: number): void {
    if (this.pos !== end) throw new SeriesDecodeError('field overruns its message', this.pos);
  }

  bytes(end: number): Uint8Array {
    const v = this.b.subarray(this.pos, end);
    this.pos = end;
    return v;
  }

  string(end: number): string {
    const b = this.b;
    const start = this.pos;
    this.pos = end;
    const n = end - start;
    if (n === 0) return '';
    if (n <= INTERN_MAX) return interned(b, start, end);
    return utf8String(b, start, end);
  }

  skip(tag: number, limit: number): void {
    const at = this.pos;
    switch (tag & 7) {
      case 0:
        this.varint64();
        break;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.lengthEnd();
        break;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new SeriesDecodeError(`wire type ${tag & 7} of field ${tag >>> 3}`, at);
    }
    if (tag >>> 3 === 0) throw new SeriesDecodeError('field number 0', at);
    if (this.pos > limit) throw new SeriesDecodeError('field overruns its message', at);
  }
}

function utf8String(b: Uint8Array, start: number, end: number): string {
  try {
    return utf8.decode(b.subarray(start, end));
  } catch {
    throw new SeriesDecodeError('invalid UTF-8 in a string', start);
  }
}

// Short strings are interned: a query's series repeat the same label names and most
// values, and one string object per distinct text saves the allocations and lets later
// comparisons and map lookups (label keys, grouping) hit on identity and a cached hash.
const INTERN_MAX = 48;
const INTERN_SLOTS = 4096;
const internBytes: (Uint8Array | undefined)[] = new Array(INTERN_SLOTS);
const internStrings: string[] = new Array(INTERN_SLOTS);

function interned(b: Uint8Array, start: number, end: number): string {
  // FNV-1a over the bytes; ASCII checked on the way.
  let h = 0x811c9dc5;
  let ascii = true;
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c >= 0x80) ascii = false;
    h = Math.imul(h ^ c, 0x01000193);
  }
  const slot = (h >>> 0) & (INTERN_SLOTS - 1);
  const have = internBytes[slot];
  const n = end - start;
  if (have !== undefined && have.length === n) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (have[i] !== b[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return internStrings[slot];
  }
  let s: string;
  if (ascii) {
    s = '';
    for (let i = start; i < end; i++) s += String.fromCharCode(b[i]);
  } else {
    s = utf8String(b, start, end);
  }
  internBytes[slot] = b.slice(start, end);
  internStrings[slot] = s;
  return s;
}

// ---- encoding ----
//
// The other way: a store answers every select with SeriesResponse messages, and
// protobufjs's generic encoder allocates an operation object per field written (about
// twenty-five per series). Here a message is measured, then written into one buffer.
// As protobufjs (proto3), scalars that are zero, empty strings and empty bytes are left
// out, and message fields are written when present.

/** SeriesResponse{series} (field 1). */
export function encodeSeriesResponse(s: StoreSeries): Buffer {
  measured = 0;
  const n = seriesSize(s);
  const out = Buffer.allocUnsafe(1 + uvarintSize(n) + n);
  const w = new Writer(out);
  w.tagLen(1, n);
  w.series(s, n);
  return out;
}

/** SeriesResponse{batch: SeriesBatch{series}} (field 4); encoded SeriesResponse{series} entries are copied as they are. */
export function encodeSeriesBatchResponse(batch: readonly (StoreSeries | Uint8Array)[]): Buffer {
  let inner = 0;
  measured = 0;
  const sizes = new Float64Array(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const s = batch[i];
    if (s instanceof Uint8Array) {
      inner += s.length;
    } else {
      sizes[i] = seriesSize(s);
      inner += 1 + uvarintSize(sizes[i]) + sizes[i];
    }
  }
  const out = Buffer.allocUnsafe(1 + uvarintSize(inner) + inner);
  const w = new Writer(out);
  w.tagLen(4, inner);
  for (let i = 0; i < batch.length; i++) {
    const s = batch[i];
    if (s instanceof Uint8Array) {
      out.set(s, w.pos);
      w.pos += s.length;
    } else {
      // SeriesBatch.series is field 1 too: the same bytes as SeriesResponse{series}.
      w.tagLen(1, sizes[i]);
      w.series(s, sizes[i]);
    }
  }
  return out;
}

/** Bytes of an int64 varint: negatives take ten (two's complement). */
function int64Len(v: number): number {
  return v < 0 ? 10 : uvarintSize(v);
}

/** UTF-8 bytes of s; ASCII (nearly every label) is counted without a call. */
function utf8Len(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

function fieldLen(contentLen: number): number {
  return 1 + uvarintSize(contentLen) + contentLen;
}

/** A string field's bytes (none when empty). */
function stringLen(v: string): number {
  return v === '' ? 0 : fieldLen(utf8Len(v));
}

function chunkSize(c: StoreChunk): number {
  let n = 0;
  if (c.type) n += 1 + int64Len(c.type);
  if (c.data != null && c.data.length > 0) n += fieldLen(c.data.length);
  if (c.hash) n += 1 + uvarintSize(c.hash);
  return n;
}

function aggrChunkSize(c: AggrChunk): number {
  let n = 0;
  if (c.minTime) n += 1 + int64Len(c.minTime);
  if (c.maxTime) n += 1 + int64Len(c.maxTime);
  if (c.raw != null) n += fieldLen(chunkSize(c.raw));
  if (c.count != null) n += fieldLen(chunkSize(c.count));
  if (c.sum != null) n += fieldLen(chunkSize(c.sum));
  if (c.min != null) n += fieldLen(chunkSize(c.min));
  if (c.max != null) n += fieldLen(chunkSize(c.max));
  if (c.counter != null) n += fieldLen(chunkSize(c.counter));
  return n;
}

/**
 * Sizes of the AggrChunks measured by seriesSize since the encoder started (`measured` of
 * them), which the Writer takes in the same order instead of measuring each chunk again.
 * Encoding is synchronous, so one scratch serves every call.
 */
let chunkSizes = new Int32Array(4096);
let measured = 0;

function seriesSize(s: StoreSeries): number {
  let n = 0;
  for (const l of s.labels) n += fieldLen(stringLen(l.name) + stringLen(l.value));
  const chunks = s.chunks;
  if (measured + chunks.length > chunkSizes.length) {
    const grown = new Int32Array(2 * (measured + chunks.length));
    grown.set(chunkSizes.subarray(0, measured));
    chunkSizes = grown;
  }
  for (let i = 0; i < chunks.length; i++) {
    const m = aggrChunkSize(chunks[i]);
    chunkSizes[measured++] = m;
    n += fieldLen(m);
  }
  return n;
}

class Writer {
  pos = 0;
  /** The next of chunkSizes to write. */
  private nextChunk = 0;
  constructor(private readonly b: Buffer) {}

  uvarint(v: number): void {
    this.pos = writeUvarint(this.b, this.pos, v);
  }

  int64(v: number): void {
    if (v >= 0) {
      this.uvarint(v);
      return;
    }
    // Two's complement over 64 bits, as ten varint bytes.
    let hi = Math.floor(v / 4294967296);
    let lo = v - hi * 4294967296;
    hi >>>= 0;
    const b = this.b;
    for (let i = 0; i < 4; i++) {
      b[this.pos++] = (lo & 0x7f) | 0x80;
      lo = Math.floor(lo / 128);
    }
    // bits 28–34: four of lo, three of hi
    b[this.pos++] = (lo & 0x0f) | ((hi & 0x07) << 4) | 0x80;
    hi >>>= 3;
    for (let i = 0; i < 4; i++) {
      b[this.pos++] = (hi & 0x7f) | 0x80;
      hi >>>= 7;
    }
    b[this.pos++] = hi & 0x01;
  }

  tagLen(field: number, len: number): void {
    this.b[this.pos++] = (field << 3) | 2;
    this.uvarint(len);
  }

  string(field: number, s: string): void {
    if (s === '') return;
    const n = utf8Len(s);
    this.tagLen(field, n);
    const b = this.b;
    if (n === s.length) {
      for (let i = 0; i < n; i++) b[this.pos + i] = s.charCodeAt(i);
    } else {
      b.write(s, this.pos, n, 'utf8');
    }
    this.pos += n;
  }

  chunk(field: number, c: StoreChunk): void {
    this.tagLen(field, chunkSize(c));
    if (c.type) {
      this.b[this.pos++] = (1 << 3) | 0;
      this.int64(c.type);
    }
    if (c.data != null && c.data.length > 0) {
      this.tagLen(2, c.data.length);
      this.b.set(c.data, this.pos);
      this.pos += c.data.length;
    }
    if (c.hash) {
      this.b[this.pos++] = (3 << 3) | 0;
      this.uvarint(c.hash);
    }
  }

  series(s: StoreSeries, size: number): void {
    const end = this.pos + size;
    for (const l of s.labels) {
      this.tagLen(1, stringLen(l.name) + stringLen(l.value));
      this.string(1, l.name);
      this.string(2, l.value);
    }
    for (const c of s.chunks) {
      this.tagLen(2, chunkSizes[this.nextChunk++]);
      if (c.minTime) {
        this.b[this.pos++] = (1 << 3) | 0;
        this.int64(c.minTime);
      }
      if (c.maxTime) {
        this.b[this.pos++] = (2 << 3) | 0;
        this.int64(c.maxTime);
      }
      if (c.raw != null) this.chunk(3, c.raw);
      if (c.count != null) this.chunk(4, c.count);
      if (c.sum != null) this.chunk(5, c.sum);
      if (c.min != null) this.chunk(6, c.min);
      if (c.max != null) this.chunk(7, c.max);
      if (c.counter != null) this.chunk(8, c.counter);
    }
    if (this.pos !== end) throw new Error(`internal error: encoded series is ${this.pos - end + size} bytes, measured ${size}`);
  }
}
