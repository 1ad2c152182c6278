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
