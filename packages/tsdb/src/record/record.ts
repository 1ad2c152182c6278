// WAL record payloads, byte for byte as Prometheus 2.42 writes them (tsdb/record/record.go,
// tsdb/docs/format/wal.md). Every record starts with its type byte:
//
//   Series (1)      repeat: ref BE64 ‖ n uvarint ‖ n × (uvarint-len name, uvarint-len value)
//   Samples (2)     firstRef BE64 ‖ firstT BE64 ‖ for every sample, the first included:
//                   (ref − firstRef) varint ‖ (t − firstT) varint ‖ value bits BE64
//   Tombstones (3)  repeat: ref BE64 ‖ mint varint ‖ maxt varint (one interval per entry)
//   Exemplars (4)   as Samples, each entry followed by its labels as in Series
//   MmapMarkers (5) repeat: ref BE64 ‖ mmap chunk ref BE64
//   Metadata (6)    repeat: ref uvarint ‖ type byte ‖ nfields uvarint ‖ nfields × (name, value)
//   HistogramSamples (7), FloatHistogramSamples (8): as Samples, each entry a histogram.
//
// The deltas are *signed* varints although wal.md draws them as uvarints. Refs, timestamps
// and counts are JS numbers: head series refs count up from 1 and timestamps are ms, so both
// stay far below 2^53; a value beyond it fails decoding with a CorruptionError rather than
// being rounded. Sample values go through their IEEE-754 bits so NaN payloads (the stale
// marker) survive a decode/encode round trip.

import { floatFromBits, floatHiBits, floatLoBits } from '../chunkenc/float-bits.js';
import { DecodingBuffer } from '../encoding/decbuf.js';
import { EncodingBuffer, writeUvarint } from '../encoding/encbuf.js';
import type { Label, Labels } from '../labels/labels.js';
import type { Interval } from '../tombstones/tombstones.js';

/** The first byte of a WAL record (record.Type). */
export enum RecordType {
  Series = 1,
  Samples = 2,
  Tombstones = 3,
  Exemplars = 4,
  MmapMarkers = 5,
  Metadata = 6,
  HistogramSamples = 7,
  FloatHistogramSamples = 8,
  /** Empty records and type bytes this version does not know (newer Prometheus versions). */
  Unknown = 255,
}

/** Metric types as the Metadata record stores them (record.MetricType). */
export enum RecordMetricType {
  Unknown = 0,
  Counter = 1,
  Gauge = 2,
  Histogram = 3,
  GaugeHistogram = 4,
  Summary = 5,
  Info = 6,
  Stateset = 7,
}

export interface RefSeries {
  ref: number;
  labels: Labels;
}

export interface RefSample {
  ref: number;
  t: number;
  v: number;
}

/** One deleted interval of one series; a Tombstones record holds one entry per interval. */
export interface RefTombstone {
  ref: number;
  intervals: readonly Interval[];
}

export interface RefExemplar {
  ref: number;
  t: number;
  v: number;
  labels: Labels;
}

export interface RefMmapMarker {
  ref: number;
  mmapRef: number;
}

export interface RefMetadata {
  ref: number;
  /** A RecordMetricType value (a byte; unknown values are kept as read). */
  type: number;
  unit: string;
  help: string;
}

export interface HistogramSpan {
  offset: number;
  length: number;
}

/** An integer native histogram as the WAL stores it; buckets are delta-encoded counts. */
export interface WalHistogram {
  counterResetHint: number;
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  positiveSpans: HistogramSpan[];
  negativeSpans: HistogramSpan[];
  positiveBuckets: number[];
  negativeBuckets: number[];
}

/** A float native histogram; buckets are absolute counts. */
export type WalFloatHistogram = WalHistogram;

export interface RefHistogramSample {
  ref: number;
  t: number;
  h: WalHistogram;
}

export interface RefFloatHistogramSample {
  ref: number;
  t: number;
  fh: WalFloatHistogram;
}

const UNIT = 'UNIT';
const HELP = 'HELP';

/** The type of a record; Unknown for an empty record or an unknown type byte. */
export function recordType(rec: Uint8Array): RecordType {
  if (rec.length < 1) return RecordType.Unknown;
  const t = rec[0];
  return t >= RecordType.Series && t <= RecordType.FloatHistogramSamples ? (t as RecordType) : RecordType.Unknown;
}

function begin(rec: Uint8Array, want: RecordType): DecodingBuffer {
  const d = new DecodingBuffer(rec, `${RecordType[want]} record`);
  const t = rec.length > 0 ? rec[0] : -1;
  if (t !== want) throw d.corrupt(`invalid record type ${t}, want ${want}`);
  d.pos = 1;
  return d;
}

function putValue(e: EncodingBuffer, v: number): void {
  e.putBE32(floatHiBits(v));
  e.putBE32(floatLoBits(v));
}

function value(d: DecodingBuffer): number {
  const hi = d.be32();
  return floatFromBits(hi, d.be32());
}

/** Ref as BE64 (uint64 in Go). */
function putRef(e: EncodingBuffer, ref: number): void {
  e.putBE64(ref);
}

function putLabels(e: EncodingBuffer, ls: Labels): void {
  e.putUvarint(ls.length);
  for (const l of ls) {
    e.putUvarintStr(l.name);
    e.putUvarintStr(l.value);
  }
}

function labels(d: DecodingBuffer): Labels {
  const n = d.uvarint();
  const out: Label[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const name = labelString(d, i * 2);
    out[i] = { name, value: labelString(d, i * 2 + 1) };
  }
  return out;
}

/**
 * The strings last decoded at each label position: consecutive series mostly share
 * names and many values, and reusing the string spares decoding it and, for series
 * kept in memory, holding a copy per series.
 */
const recent: string[] = [];

function labelString(d: DecodingBuffer, slot: number): string {
  const b = d.uvarintBytes();
  const n = b.length;
  const prev = slot < recent.length ? recent[slot] : undefined;
  if (prev !== undefined && prev.length === n) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (prev.charCodeAt(i) !== b[i]) {
        same = false;
        break;
      }
    }
    if (same) return prev; // ASCII only: a non-ASCII string is longer in bytes
  }
  let s: string;
  let ascii = n <= 64;
  if (ascii) {
    for (let i = 0; i < n; i++) {
      if (b[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
  }
  s = ascii ? String.fromCharCode.apply(null, b as unknown as number[]) : TEXT_DECODER.decode(b);
  if (ascii && slot < 256) recent[slot] = s;
  return s;
}

const TEXT_DECODER = new TextDecoder();

export function encodeSeries(series: readonly RefSeries[]): Uint8Array {
  // Written straight into an array sized for the worst case (3 UTF-8 bytes per UTF-16
  // unit): series records are written for every new series, mostly ASCII labels.
  let bound = 1;
  for (const s of series) {
    bound += 18;
    for (const l of s.labels) bound += 20 + 3 * (l.name.length + l.value.length);
  }
  const out = new Uint8Array(bound);
  const dv = new DataView(out.buffer);
  out[0] = RecordType.Series;
  let p = 1;
  for (const s of series) {
    if (s.ref < 0 || !Number.isSafeInteger(s.ref)) throw new RangeError(`encode series: ref ${s.ref} is not a safe unsigned integer`);
    putBE64At(dv, p, s.ref);
    p = writeUvarint(out, p + 8, s.labels.length);
    for (const l of s.labels) {
      p = putString(out, p, l.name);
      p = putString(out, p, l.value);
    }
  }
  return out.slice(0, p);
}

const TEXT = new TextEncoder();

/** A uvarint-length-prefixed UTF-8 string at p; returns the end. */
function putString(out: Uint8Array, p: number, s: string): number {
  const n = s.length;
  let ascii = true;
  for (let i = 0; i < n; i++) {
    if (s.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (!ascii) {
    const b = TEXT.encode(s);
    p = writeUvarint(out, p, b.length);
    out.set(b, p);
    return p + b.length;
  }
  p = writeUvarint(out, p, n);
  for (let i = 0; i < n; i++) out[p + i] = s.charCodeAt(i);
  return p + n;
}

export function decodeSeries(rec: Uint8Array): RefSeries[] {
  const d = begin(rec, RecordType.Series);
  const out: RefSeries[] = [];
  while (d.remaining > 0) {
    const ref = d.be64();
    out.push({ ref, labels: labels(d) });
  }
  return out;
}

export function encodeSamples(samples: readonly RefSample[]): Uint8Array {
  const e = new EncodingBuffer(16 * samples.length + 17);
  e.putByte(RecordType.Samples);
  if (samples.length === 0) return e.get().slice();
  const first = samples[0];
  putRef(e, first.ref);
  e.putBE64Signed(first.t);
  for (const s of samples) {
    e.putVarint(s.ref - first.ref);
    e.putVarint(s.t - first.t);
    putValue(e, s.v);
  }
  return e.get().slice();
}

export function decodeSamples(rec: Uint8Array): RefSample[] {
  const d = begin(rec, RecordType.Samples);
  const out: RefSample[] = [];
  if (d.remaining === 0) return out;
  const baseRef = d.be64();
  const baseT = d.be64Signed();
  while (d.remaining > 0) {
    const ref = baseRef + d.varint();
    const t = baseT + d.varint();
    out.push({ ref, t, v: value(d) });
  }
  return out;
}

/**
 * encodeSamples for samples held in columns (refs[i], ts[i], vs[i] for i < n), as an
 * appender buffers them: the same bytes, without an object per sample. Values are
 * copied as their bytes, so NaN payloads (the stale marker) stay exact.
 */
export function encodeSampleColumns(refs: ArrayLike<number>, ts: ArrayLike<number>, vs: Float64Array, n: number): Uint8Array {
  // Worst case per sample: two 10-byte varints and 8 value bytes.
  const out = new Uint8Array(17 + 28 * n);
  out[0] = RecordType.Samples;
  if (n === 0) return out.subarray(0, 1);
  const firstRef = refs[0];
  const firstT = ts[0];
  const dv = new DataView(out.buffer);
  if (firstRef < 0 || !Number.isSafeInteger(firstRef)) throw new RangeError(`encode samples: ref ${firstRef} is not a safe unsigned integer`);
  if (!Number.isSafeInteger(firstT)) throw new RangeError(`encode samples: timestamp ${firstT} is not a safe integer`);
  putBE64At(dv, 1, firstRef);
  putBE64At(dv, 9, firstT);
  const vb = new Uint8Array(vs.buffer, vs.byteOffset, n * 8);
  let p = 17;
  for (let i = 0; i < n; i++) {
    p = putZigzag(out, p, refs[i] - firstRef);
    p = putZigzag(out, p, ts[i] - firstT);
    // Big-endian bits, from the platform's (little-endian) float bytes.
    const b = i * 8;
    if (LITTLE_ENDIAN) {
      out[p] = vb[b + 7];
      out[p + 1] = vb[b + 6];
      out[p + 2] = vb[b + 5];
      out[p + 3] = vb[b + 4];
      out[p + 4] = vb[b + 3];
      out[p + 5] = vb[b + 2];
      out[p + 6] = vb[b + 1];
      out[p + 7] = vb[b];
    } else {
      for (let k = 0; k < 8; k++) out[p + k] = vb[b + k];
    }
    p += 8;
  }
  return out.subarray(0, p);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A signed 64-bit integer, two's complement, big-endian (exact for safe integers). */
function putBE64At(dv: DataView, at: number, v: number): void {
  const hi = Math.floor(v / 4294967296);
  dv.setUint32(at, hi >>> 0);
  dv.setUint32(at + 4, (v - hi * 4294967296) >>> 0);
}

/** Go's binary.PutVarint (zigzag), for |v| < 2^52. */
function putZigzag(buf: Uint8Array, p: number, v: number): number {
  if (!(Math.abs(v) < 2 ** 52) || !Number.isInteger(v)) throw new RangeError(`encode samples: delta ${v} out of range`);
  let z = v >= 0 ? v * 2 : -v * 2 - 1;
  while (z >= 0x80) {
    buf[p++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  buf[p++] = z;
  return p;
}

/** Samples decoded into columns (decodeSampleColumns), reused from record to record. */
export interface SampleColumns {
  refs: Float64Array;
  ts: Float64Array;
  vs: Float64Array;
  n: number;
}

/** An empty SampleColumns to decode into. */
export function newSampleColumns(): SampleColumns {
  return { refs: new Float64Array(1024), ts: new Float64Array(1024), vs: new Float64Array(1024), n: 0 };
}

/**
 * decodeSamples into columns (WAL replay): no object per sample; `into` is grown as
 * needed and overwritten. Values are read as their bits, so NaN payloads stay exact.
 */
export function decodeSampleColumns(rec: Uint8Array, into: SampleColumns): SampleColumns {
  const d = begin(rec, RecordType.Samples);
  into.n = 0;
  if (d.remaining === 0) return into;
  const baseRef = d.be64();
  const baseT = d.be64Signed();
  // At least 10 bytes per sample.
  const max = Math.ceil(d.remaining / 10);
  if (into.refs.length < max) {
    into.refs = new Float64Array(max);
    into.ts = new Float64Array(max);
    into.vs = new Float64Array(max);
  }
  const { refs, ts, vs } = into;
  let n = 0;
  while (d.remaining > 0) {
    refs[n] = baseRef + d.varint();
    ts[n] = baseT + d.varint();
    vs[n] = value(d);
    n++;
  }
  into.n = n;
  return into;
}

/** One entry per interval, as Prometheus's encoder writes them. */
export function encodeTombstones(stones: readonly RefTombstone[]): Uint8Array {
  const e = new EncodingBuffer(24 * stones.length + 1);
  e.putByte(RecordType.Tombstones);
  for (const s of stones) {
    for (const iv of s.intervals) {
      putRef(e, s.ref);
      e.putVarint(iv.mint);
      e.putVarint(iv.maxt);
    }
  }
  return e.get().slice();
}

/** Each entry carries exactly one interval (a series deleted twice appears twice). */
export function decodeTombstones(rec: Uint8Array): RefTombstone[] {
  const d = begin(rec, RecordType.Tombstones);
  const out: RefTombstone[] = [];
  while (d.remaining > 0) {
    const ref = d.be64();
    const mint = d.varint();
    out.push({ ref, intervals: [{ mint, maxt: d.varint() }] });
  }
  return out;
}

export function encodeExemplars(exemplars: readonly RefExemplar[]): Uint8Array {
  const e = new EncodingBuffer(64 * exemplars.length + 17);
  e.putByte(RecordType.Exemplars);
  if (exemplars.length === 0) return e.get().slice();
  const first = exemplars[0];
  putRef(e, first.ref);
  e.putBE64Signed(first.t);
  for (const x of exemplars) {
    e.putVarint(x.ref - first.ref);
    e.putVarint(x.t - first.t);
    putValue(e, x.v);
    putLabels(e, x.labels);
  }
  return e.get().slice();
}

export function decodeExemplars(rec: Uint8Array): RefExemplar[] {
  const d = begin(rec, RecordType.Exemplars);
  const out: RefExemplar[] = [];
  if (d.remaining === 0) return out;
  const baseRef = d.be64();
  const baseT = d.be64Signed();
  while (d.remaining > 0) {
    const ref = baseRef + d.varint();
    const t = baseT + d.varint();
    const v = value(d);
    out.push({ ref, t, v, labels: labels(d) });
  }
  return out;
}

export function encodeMmapMarkers(markers: readonly RefMmapMarker[]): Uint8Array {
  const e = new EncodingBuffer(16 * markers.length + 1);
  e.putByte(RecordType.MmapMarkers);
  for (const m of markers) {
    putRef(e, m.ref);
    e.putBE64(m.mmapRef);
  }
  return e.get().slice();
}

export function decodeMmapMarkers(rec: Uint8Array): RefMmapMarker[] {
  const d = begin(rec, RecordType.MmapMarkers);
  const out: RefMmapMarker[] = [];
  while (d.remaining > 0) {
    const ref = d.be64();
    out.push({ ref, mmapRef: d.be64() });
  }
  return out;
}

export function encodeMetadata(metadata: readonly RefMetadata[]): Uint8Array {
  const e = new EncodingBuffer(64 * metadata.length + 1);
  e.putByte(RecordType.Metadata);
  for (const m of metadata) {
    e.putUvarint(m.ref);
    e.putByte(m.type);
    e.putUvarint(2); // two fields follow: UNIT and HELP
    e.putUvarintStr(UNIT);
    e.putUvarintStr(m.unit);
    e.putUvarintStr(HELP);
    e.putUvarintStr(m.help);
  }
  return e.get().slice();
}

/** Fields other than UNIT and HELP (from newer writers) are skipped, as Prometheus does. */
export function decodeMetadata(rec: Uint8Array): RefMetadata[] {
  const d = begin(rec, RecordType.Metadata);
  const out: RefMetadata[] = [];
  while (d.remaining > 0) {
    const ref = d.uvarint();
    const type = d.byte();
    const n = d.uvarint();
    let unit = '';
    let help = '';
    for (let i = 0; i < n; i++) {
      const name = d.uvarintStr();
      const v = d.uvarintStr();
      if (name === UNIT) unit = v;
      else if (name === HELP) help = v;
    }
    out.push({ ref, type, unit, help });
  }
  return out;
}

function putSpans(e: EncodingBuffer, spans: readonly HistogramSpan[]): void {
  e.putUvarint(spans.length);
  for (const s of spans) {
    e.putVarint(s.offset);
    e.putUvarint(s.length);
  }
}

function spans(d: DecodingBuffer): HistogramSpan[] {
  const n = d.uvarint();
  const out: HistogramSpan[] = [];
  for (let i = 0; i < n; i++) {
    const offset = d.varint();
    out.push({ offset, length: d.uvarint() });
  }
  return out;
}

function encodeHistogramRecord<T extends { ref: number; t: number }>(
  type: RecordType,
  samples: readonly T[],
  body: (e: EncodingBuffer, s: T) => void,
): Uint8Array {
  const e = new EncodingBuffer(64 * samples.length + 17);
  e.putByte(type);
  if (samples.length === 0) return e.get().slice();
  const first = samples[0];
  putRef(e, first.ref);
  e.putBE64Signed(first.t);
  for (const s of samples) {
    e.putVarint(s.ref - first.ref);
    e.putVarint(s.t - first.t);
    body(e, s);
  }
  return e.get().slice();
}

function decodeHistogramRecord<T>(rec: Uint8Array, type: RecordType, body: (d: DecodingBuffer, ref: number, t: number) => T): T[] {
  const d = begin(rec, type);
  const out: T[] = [];
  if (d.remaining === 0) return out;
  const baseRef = d.be64();
  const baseT = d.be64Signed();
  while (d.remaining > 0) {
    const ref = baseRef + d.varint();
    const t = baseT + d.varint();
    out.push(body(d, ref, t));
  }
  return out;
}

export function encodeHistogramSamples(samples: readonly RefHistogramSample[]): Uint8Array {
  return encodeHistogramRecord(RecordType.HistogramSamples, samples, (e, { h }) => {
    e.putByte(h.counterResetHint);
    e.putVarint(h.schema);
    putValue(e, h.zeroThreshold);
    e.putUvarint(h.zeroCount);
    e.putUvarint(h.count);
    putValue(e, h.sum);
    putSpans(e, h.positiveSpans);
    putSpans(e, h.negativeSpans);
    e.putUvarint(h.positiveBuckets.length);
    for (const b of h.positiveBuckets) e.putVarint(b);
    e.putUvarint(h.negativeBuckets.length);
    for (const b of h.negativeBuckets) e.putVarint(b);
  });
}

export function decodeHistogramSamples(rec: Uint8Array): RefHistogramSample[] {
  return decodeHistogramRecord(rec, RecordType.HistogramSamples, (d, ref, t) => {
    const counterResetHint = d.byte();
    const schema = d.varint();
    const zeroThreshold = value(d);
    const zeroCount = d.uvarint();
    const count = d.uvarint();
    const sum = value(d);
    const positiveSpans = spans(d);
    const negativeSpans = spans(d);
    const positiveBuckets: number[] = [];
    for (let n = d.uvarint(), i = 0; i < n; i++) positiveBuckets.push(d.varint());
    const negativeBuckets: number[] = [];
    for (let n = d.uvarint(), i = 0; i < n; i++) negativeBuckets.push(d.varint());
    const h = { counterResetHint, schema, zeroThreshold, zeroCount, count, sum, positiveSpans, negativeSpans, positiveBuckets, negativeBuckets };
    return { ref, t, h };
  });
}

export function encodeFloatHistogramSamples(samples: readonly RefFloatHistogramSample[]): Uint8Array {
  return encodeHistogramRecord(RecordType.FloatHistogramSamples, samples, (e, { fh }) => {
    e.putByte(fh.counterResetHint);
    e.putVarint(fh.schema);
    putValue(e, fh.zeroThreshold);
    putValue(e, fh.zeroCount);
    putValue(e, fh.count);
    putValue(e, fh.sum);
    putSpans(e, fh.positiveSpans);
    putSpans(e, fh.negativeSpans);
    e.putUvarint(fh.positiveBuckets.length);
    for (const b of fh.positiveBuckets) putValue(e, b);
    e.putUvarint(fh.negativeBuckets.length);
    for (const b of fh.negativeBuckets) putValue(e, b);
  });
}

export function decodeFloatHistogramSamples(rec: Uint8Array): RefFloatHistogramSample[] {
  return decodeHistogramRecord(rec, RecordType.FloatHistogramSamples, (d, ref, t) => {
    const counterResetHint = d.byte();
    const schema = d.varint();
    const zeroThreshold = value(d);
    const zeroCount = value(d);
    const count = value(d);
    const sum = value(d);
    const positiveSpans = spans(d);
    const negativeSpans = spans(d);
    const positiveBuckets: number[] = [];
    for (let n = d.uvarint(), i = 0; i < n; i++) positiveBuckets.push(value(d));
    const negativeBuckets: number[] = [];
    for (let n = d.uvarint(), i = 0; i < n; i++) negativeBuckets.push(value(d));
    const fh = { counterResetHint, schema, zeroThreshold, zeroCount, count, sum, positiveSpans, negativeSpans, positiveBuckets, negativeBuckets };
    return { ref, t, fh };
  });
}
