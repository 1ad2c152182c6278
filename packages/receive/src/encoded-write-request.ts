// A Prometheus remote-write 1.0 request (prometheus.WriteRequest) read in place: the
// fast path of ingestion. Decoding with the generated codec makes a TimeSeries object,
// label objects and label strings per series per request, only to drop them once the
// head has found the series; here the request stays bytes. One pass over it records,
// per series, where its TimeSeries message is and the head's hash of its labels
// (computed from the UTF-8 bytes, see hashLabelBytes), and collects the samples into
// typed arrays. The writer then finds known series by hash and a byte comparison, so
// only a new series gets decoded labels, and forwarding can pass a series' bytes on.
//
// Layout read (proto/prometheus/remote.proto, types.proto):
//   WriteRequest  1: TimeSeries (repeated)   3: MetricMetadata (skipped)
//   TimeSeries    1: Label {1: name, 2: value}   2: Sample {1: value double, 2: timestamp int64}
//                 3: Exemplar   4: Histogram
// Anything this reader does not expect (exemplars, native histograms, a wire type other
// than the field's, a repeated field inside a Label or Sample, a truncated field, labels
// that are not valid UTF-8) makes it give up: the caller decodes with the generated
// codec, which stores what it stores and words the errors of malformed requests.

import { hashLabelBytes, LABELS_HASH_INIT, utf8Equals } from '@thanos-ts/tsdb';
import type { Label, Labels } from '@thanos-ts/tsdb';

/** The series of a WriteRequest as offsets into its bytes, with their samples in typed arrays. */
export class EncodedWriteRequest {
  /** Number of series. */
  n = 0;
  /** The TimeSeries message of series i (its body, without tag and length): buf[start[i], end[i]). */
  start: Int32Array;
  end: Int32Array;
  /** The head's label hash (hashLabels) of series i. */
  hash: Uint32Array;
  /** Samples of series i: ts/vs[firstSample[i], firstSample[i + 1]). */
  firstSample: Int32Array;
  /** Sample timestamps (ms; int64 read exactly up to 2^53) and values, in request order. */
  ts: Float64Array;
  vs: Float64Array;
  numSamples = 0;

  constructor(
    readonly buf: Uint8Array,
    seriesCap = 64,
    samplesCap = 64,
  ) {
    this.start = new Int32Array(seriesCap);
    this.end = new Int32Array(seriesCap);
    this.hash = new Uint32Array(seriesCap);
    this.firstSample = new Int32Array(seriesCap + 1);
    this.ts = new Float64Array(samplesCap);
    this.vs = new Float64Array(samplesCap);
  }

  /** Samples of series i. */
  samplesOf(i: number): number {
    return this.firstSample[i + 1] - this.firstSample[i];
  }

  /**
   * Whether the labels of series i are `ls`, compared as UTF-8 bytes; allocates nothing.
   * Labels are compared in request order, as the head stores them (sorted).
   */
  labelsEqual(i: number, ls: Labels): boolean {
    const buf = this.buf;
    const end = this.end[i];
    let p = this.start[i];
    let k = 0;
    while (p < end) {
      const tag = buf[p++]; // every tag this reader accepted is one byte
      const len = readLen(buf, p);
      p = lenEnd;
      const fieldEnd = p + len;
      if (tag === 0x0a) {
        if (k >= ls.length) return false;
        label(buf, p, fieldEnd);
        const l = ls[k++];
        if (!utf8Equals(buf, nameStart, nameEnd, l.name) || !utf8Equals(buf, valueStart, valueEnd, l.value)) return false;
      }
      p = fieldEnd;
    }
    return k === ls.length;
  }

  /** The labels of series i, decoded (strings copied out of the request bytes). */
  labels(i: number): Label[] {
    const buf = this.buf;
    const end = this.end[i];
    const out: Label[] = [];
    let p = this.start[i];
    while (p < end) {
      const tag = buf[p++];
      const len = readLen(buf, p);
      p = lenEnd;
      const fieldEnd = p + len;
      if (tag === 0x0a) {
        label(buf, p, fieldEnd);
        out.push({ name: utf8(buf, nameStart, nameEnd), value: utf8(buf, valueStart, valueEnd) });
      }
      p = fieldEnd;
    }
    return out;
  }

  /**
   * The byte ranges of series i's labels in `buf`, into `ranges`: [nameStart, nameEnd,
   * valueStart, valueEnd) per label, in request order. Returns the number of labels.
   * For hashing labels where they are (hashRawLabels), without decoding them.
   */
  labelRanges(i: number): number {
    const buf = this.buf;
    const end = this.end[i];
    let p = this.start[i];
    let k = 0;
    while (p < end) {
      const tag = buf[p++];
      const len = readLen(buf, p);
      p = lenEnd;
      const fieldEnd = p + len;
      if (tag === 0x0a) {
        label(buf, p, fieldEnd);
        const r = k * 4;
        if (r + 4 > this.ranges.length) {
          const grown = new Int32Array(this.ranges.length * 2);
          grown.set(this.ranges);
          this.ranges = grown;
        }
        const out = this.ranges;
        out[r] = nameStart;
        out[r + 1] = nameEnd;
        out[r + 2] = valueStart;
        out[r + 3] = valueEnd;
        k++;
      }
      p = fieldEnd;
    }
    return k;
  }

  /** Output of labelRanges (reused; grows). */
  ranges = new Int32Array(64);

  /** The TimeSeries field of series i as it appears in the request (tag, length, body), for forwarding. */
  seriesField(i: number): Uint8Array {
    const s = this.start[i];
    // The tag and the length varint come just before the body.
    let h = s - 1;
    while (h > 0 && this.buf[h - 1] >= 0x80) h--;
    return this.buf.subarray(h - 1, this.end[i]);
  }

  /** Makes room for one more series. */
  pushSeries(start: number, end: number, hash: number, firstSample: number): void {
    const n = this.n;
    if (n === this.start.length) {
      this.start = grownI32(this.start, n * 2);
      this.end = grownI32(this.end, n * 2);
      const h = new Uint32Array(n * 2);
      h.set(this.hash);
      this.hash = h;
      this.firstSample = grownI32(this.firstSample, n * 2 + 1);
    }
    this.start[n] = start;
    this.end[n] = end;
    this.hash[n] = hash;
    this.firstSample[n] = firstSample;
    this.n = n + 1;
  }

  pushSample(t: number, v: number): void {
    const k = this.numSamples;
    if (k === this.ts.length) {
      const ts = new Float64Array(k * 2);
      ts.set(this.ts);
      this.ts = ts;
      const vs = new Float64Array(k * 2);
      vs.set(this.vs);
      this.vs = vs;
    }
    this.ts[k] = t;
    this.vs[k] = v;
    this.numSamples = k + 1;
  }
}

function grownI32(a: Int32Array, n: number): Int32Array {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

// Scratch outputs of the readers below (one request is read at a time, synchronously),
// so that reading a varint or a label returns several numbers without allocating.
let lenEnd = 0;
let nameStart = 0;
let nameEnd = 0;
let valueStart = 0;
let valueEnd = 0;

/** A length varint at p (already checked by scan); sets lenEnd. */
function readLen(buf: Uint8Array, p: number): number {
  let b = buf[p++];
  let x = b & 0x7f;
  let shift = 7;
  while (b >= 0x80) {
    b = buf[p++];
    x += (b & 0x7f) * 2 ** shift;
    shift += 7;
  }
  lenEnd = p;
  return x;
}

/** The name and value ranges of a Label body buf[p, end) already checked by scan. */
function label(buf: Uint8Array, p: number, end: number): void {
  nameStart = nameEnd = valueStart = valueEnd = 0;
  while (p < end) {
    const tag = buf[p++];
    const len = readLen(buf, p);
    p = lenEnd;
    if (tag === 0x0a) {
      nameStart = p;
      nameEnd = p + len;
    } else {
      valueStart = p;
      valueEnd = p + len;
    }
    p += len;
  }
}

const textDecoder = new TextDecoder('utf-8');
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

function utf8(buf: Uint8Array, start: number, end: number): string {
  if (end - start < 32) {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (buf[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
  }
  return textDecoder.decode(buf.subarray(start, end));
}

function validUtf8(buf: Uint8Array, start: number, end: number): boolean {
  try {
    strictDecoder.decode(buf.subarray(start, end));
    return true;
  } catch {
    return false;
  }
}

/** A checked varint at p below end, as a uint32 at most 2^31 (a length); -1 when bad. Sets lenEnd. */
function checkedLen(buf: Uint8Array, p: number, end: number): number {
  let x = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (p >= end) return -1;
    const b = buf[p++];
    x += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      lenEnd = p;
      return x > 0x7fffffff ? -1 : x;
    }
  }
  return -1;
}

/**
 * Reads a WriteRequest in place; null when it holds anything this fast path leaves to
 * the generated codec (see the header), malformed bytes included.
 */
export function scanWriteRequest(buf: Uint8Array): EncodedWriteRequest | null {
  const est = estimate(buf.length);
  const req = new EncodedWriteRequest(buf, est, est);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const size = buf.length;
  let p = 0;
  while (p < size) {
    const tag = buf[p++];
    if (tag === 0x0a) {
      const len = checkedLen(buf, p, size);
      if (len < 0 || lenEnd + len > size) return null;
      p = lenEnd;
      if (!scanSeries(req, dv, p, p + len)) return null;
      p += len;
    } else if (tag === 0x1a) {
      // metadata: not stored
      const len = checkedLen(buf, p, size);
      if (len < 0 || lenEnd + len > size) return null;
      p = lenEnd + len;
    } else {
      return null;
    }
  }
  req.firstSample[req.n] = req.numSamples;
  return req;
}

/** One tenant's series of a thanos.WriteRequest, read in place. */
export interface EncodedTenantWrite {
  tenant: string;
  encoded: EncodedWriteRequest;
}

/** A thanos.WriteRequest (a peer's forward or replica) read in place. */
export interface EncodedForwardRequest {
  /** 1-based replica number; 0 for a request not replicated yet. */
  replica: number;
  /** The tenants' series in request order; one entry per tenant. */
  tenants: EncodedTenantWrite[];
}

/**
 * Reads a thanos.WriteRequest in place (proto/thanos/store.proto):
 *   WriteRequest           1: TimeSeries (legacy)   2: tenant (legacy)   3: replica int64
 *                          4: TimeSeriesTenantTuple (repeated)
 *   TimeSeriesTenantTuple  1: TimeSeries (repeated)   2: tenant
 * TimeSeries (prometheus_copy) is the message scanWriteRequest reads. As the generated
 * codec's reading of it: the tuples when there are any, else the legacy series of the
 * legacy tenant. Null when the request holds anything the fast path leaves to the
 * codec (see the header), and when a tenant has more than one tuple (rare: routers send
 * one per tenant; the generic path merges them).
 */
export function scanForwardRequest(buf: Uint8Array): EncodedForwardRequest | null {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const size = buf.length;
  let legacy: EncodedWriteRequest | null = null;
  let legacyTenant = '';
  let replica = 0;
  const tenants: EncodedTenantWrite[] = [];
  let p = 0;
  while (p < size) {
    const tag = buf[p++];
    if (tag === 0x18) {
      p = readInt64(buf, p, size);
      if (p < 0) return null;
      replica = int64Value;
      continue;
    }
    const len = checkedLen(buf, p, size);
    if (len < 0 || lenEnd + len > size) return null;
    p = lenEnd;
    const end = p + len;
    if (tag === 0x22) {
      const t = scanTenantTuple(buf, dv, p, end);
      if (t === null) return null;
      for (const o of tenants) if (o.tenant === t.tenant) return null;
      tenants.push(t);
    } else if (tag === 0x0a) {
      legacy ??= new EncodedWriteRequest(buf, estimate(size), estimate(size));
      if (!scanSeries(legacy, dv, p, end)) return null;
    } else if (tag === 0x12) {
      const s = strictUtf8(buf, p, end);
      if (s === null) return null;
      legacyTenant = s;
    } else {
      return null;
    }
    p = end;
  }
  if (tenants.length === 0) {
    const encoded = legacy ?? new EncodedWriteRequest(buf, 1, 1);
    encoded.firstSample[encoded.n] = encoded.numSamples;
    tenants.push({ tenant: legacyTenant, encoded });
  }
  return { replica, tenants };
}

/** A TimeSeriesTenantTuple body buf[start, end): the tenant first, then its series. */
function scanTenantTuple(buf: Uint8Array, dv: DataView, start: number, end: number): EncodedTenantWrite | null {
  let tenant = '';
  let p = start;
  while (p < end) {
    const tag = buf[p++];
    const len = checkedLen(buf, p, end);
    if (len < 0 || lenEnd + len > end) return null;
    p = lenEnd;
    if (tag === 0x12) {
      const s = strictUtf8(buf, p, p + len);
      if (s === null) return null;
      tenant = s;
    } else if (tag !== 0x0a) {
      return null;
    }
    p += len;
  }
  const est = estimate(end - start);
  const encoded = new EncodedWriteRequest(buf, est, est);
  p = start;
  while (p < end) {
    const tag = buf[p++];
    const len = readLen(buf, p);
    p = lenEnd;
    if (tag === 0x0a && !scanSeries(encoded, dv, p, p + len)) return null;
    p += len;
  }
  encoded.firstSample[encoded.n] = encoded.numSamples;
  return { tenant, encoded };
}

/** Series (and samples) to make room for in a message of `size` bytes: the usual is many series of one sample. */
function estimate(size: number): number {
  return Math.min(Math.max(16, size >>> 7), 1 << 16);
}

/** buf[start, end) as a string, or null when it is not valid UTF-8. */
function strictUtf8(buf: Uint8Array, start: number, end: number): string | null {
  let or = 0;
  for (let i = start; i < end; i++) or |= buf[i];
  if (or < 0x80) return utf8(buf, start, end);
  return validUtf8(buf, start, end) ? textDecoder.decode(buf.subarray(start, end)) : null;
}

function scanSeries(req: EncodedWriteRequest, dv: DataView, start: number, end: number): boolean {
  const buf = req.buf;
  const first = req.numSamples;
  let h = LABELS_HASH_INIT;
  let p = start;
  while (p < end) {
    const tag = buf[p++];
    const len = checkedLen(buf, p, end);
    if (len < 0 || lenEnd + len > end) return false;
    p = lenEnd;
    const fieldEnd = p + len;
    if (tag === 0x0a) {
      if (!scanLabel(buf, p, fieldEnd)) return false;
      h = hashLabelBytes(h, buf, nameStart, nameEnd, valueStart, valueEnd);
    } else if (tag === 0x12) {
      // Sample: value (fixed64) and timestamp (varint), each at most once.
      let v = 0;
      let t = 0;
      let seen = 0;
      while (p < fieldEnd) {
        const st = buf[p++];
        if (st === 0x09 && (seen & 1) === 0) {
          if (p + 8 > fieldEnd) return false;
          v = dv.getFloat64(p, true);
          p += 8;
          seen |= 1;
        } else if (st === 0x10 && (seen & 2) === 0) {
          p = readInt64(buf, p, fieldEnd);
          if (p < 0) return false;
          t = int64Value;
          seen |= 2;
        } else {
          return false;
        }
      }
      req.pushSample(t, v);
    } else {
      // exemplars, histograms, unknown fields: the generated codec's business
      return false;
    }
    p = fieldEnd;
  }
  req.pushSeries(start, end, h >>> 0, first);
  return true;
}

/** Checks a Label body (name and value at most once each, valid UTF-8); sets the ranges. */
function scanLabel(buf: Uint8Array, p: number, end: number): boolean {
  nameStart = nameEnd = valueStart = valueEnd = 0;
  let seen = 0;
  while (p < end) {
    const tag = buf[p++];
    const len = checkedLen(buf, p, end);
    if (len < 0 || lenEnd + len > end) return false;
    p = lenEnd;
    if (tag === 0x0a && (seen & 1) === 0) {
      nameStart = p;
      nameEnd = p + len;
      seen |= 1;
    } else if (tag === 0x12 && (seen & 2) === 0) {
      valueStart = p;
      valueEnd = p + len;
      seen |= 2;
    } else {
      return false;
    }
    p += len;
  }
  const ns = nameStart;
  const ne = nameEnd;
  const vs = valueStart;
  const ve = valueEnd;
  let or = 0;
  for (let i = ns; i < ne; i++) or |= buf[i];
  for (let i = vs; i < ve; i++) or |= buf[i];
  if (or >= 0x80 && (!validUtf8(buf, ns, ne) || !validUtf8(buf, vs, ve))) return false;
  nameStart = ns;
  nameEnd = ne;
  valueStart = vs;
  valueEnd = ve;
  return true;
}

let int64Value = 0;

/** An int64 varint at p (two's complement in 10 bytes when negative); sets int64Value, returns the end or -1. */
function readInt64(buf: Uint8Array, p: number, end: number): number {
  let lo = 0;
  let hi = 0;
  let shift = 0;
  for (let i = 0; i < 10; i++) {
    if (p >= end) return -1;
    const b = buf[p++];
    if (shift < 28) lo |= (b & 0x7f) << shift;
    else if (shift === 28) {
      lo |= (b & 0x0f) << 28;
      hi |= (b & 0x7f) >>> 4;
    } else hi |= (b & 0x7f) << (shift - 32);
    shift += 7;
    if (b < 0x80) {
      int64Value = (hi | 0) * 4294967296 + (lo >>> 0);
      return p;
    }
  }
  return -1;
}
