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
import { EncodingBuffer } from '../encoding/encbuf.js';
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
    const name = d.uvarintStr();
    out[i] = { name, value: d.uvarintStr() };
  }
  return out;
}

export function encodeSeries(series: readonly RefSeries[]): Uint8Array {
  const e = new EncodingBuffer(64 * series.length + 16);
  e.putByte(RecordType.Series);
  for (const s of series) {
    putRef(e, s.ref);
    putLabels(e, s.labels);
  }
  return e.get().slice();
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
