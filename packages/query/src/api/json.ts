// The JSON of Prometheus's HTTP API v1, byte for byte (web/api/v1/json_codec.go,
// util/jsonutil/marshal.go, encoded by jsoniter's ConfigCompatibleWithStandardLibrary):
//
//   {"status":"success","data":{"resultType":"vector","result":[
//     {"metric":{"__name__":"up","job":"x"},"value":[1700000000.123,"1"]}]},
//    "warnings":["…"],"infos":["…"]}
//   {"status":"error","errorType":"bad_data","error":"…"}
//
// Sample values are strings of Go's shortest float formatting ('f', or 'e' below 1e-6
// and from 1e21 on; "NaN", "+Inf", "-Inf"); timestamps are seconds with the
// milliseconds as a three-digit fraction, left out when zero. Strings are escaped as
// jsoniter does with EscapeHTML: <, > and & as \u003c…, U+2028/2029 escaped, control
// characters other than \n \r \t as \u00XX. Query answers are written as they are walked
// (queryDataChunks), with no intermediate object per sample.

import type { FloatHistogram, Value } from '@thanos-ts/promql';
import { bucketEntries, exponentialBound, isCustomBucketsSchema } from '@thanos-ts/promql';
import type { Labels } from '@thanos-ts/tsdb';

/** Prometheus's jsonutil.MarshalFloat without the quotes. */
export function formatSampleValue(f: number): string {
  if (f !== f) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const abs = f < 0 ? -f : f;
  if (abs < 1e-6 || abs >= 1e21) {
    // Go's 'e' with shortest precision: at least two exponent digits, explicit sign.
    const e = f.toExponential();
    const i = e.indexOf('e');
    const sign = e[i + 1];
    const digits = e.slice(i + 2);
    return `${e.slice(0, i)}e${sign}${digits.length < 2 ? '0' + digits : digits}`;
  }
  // Between 1e-6 and 1e21 JS prints the same shortest digits in plain decimal notation.
  return String(f);
}

/** Prometheus's jsonutil.MarshalTimestamp: unix ms as seconds, e.g. 1700000000.5 → "1700000000.500". */
export function formatTimestamp(t: number): string {
  let neg = '';
  if (t < 0) {
    neg = '-';
    t = -t;
  }
  const sec = Math.floor(t / 1000);
  const frac = t - sec * 1000;
  if (frac === 0) return `${neg}${sec}`;
  return `${neg}${sec}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

const HEX = '0123456789abcdef';
// fast path: printable ASCII without the characters that need escaping
const PLAIN = /^[\x20\x21\x23-\x25\x27-\x3b\x3d\x3f-\x5b\x5d-\x7e]*$/;

/** A JSON string literal as jsoniter writes it with EscapeHTML (Go's encoding/json rules). */
export function jsonString(s: string): string {
  if (PLAIN.test(s)) return `"${s}"`;
  let out = '"';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | null = null;
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26) {
      esc = c === 0x22 ? '\\"' : c === 0x5c ? '\\\\' : c === 0x0a ? '\\n' : c === 0x0d ? '\\r' : c === 0x09 ? '\\t' : `\\u00${HEX[c >> 4]}${HEX[c & 15]}`;
    } else if (c === 0x2028 || c === 0x2029) {
      esc = c === 0x2028 ? '\\u2028' : '\\u2029';
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // A valid surrogate pair is one rune; a lone surrogate stands for bytes that were
      // not UTF-8, which Go writes as the replacement character.
      if (c <= 0xdbff && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          i++;
          continue;
        }
      }
      esc = '\\ufffd';
    }
    if (esc !== null) {
      out += s.slice(from, i) + esc;
      from = i + 1;
    }
  }
  return out + s.slice(from) + '"';
}

/** {"name":"value",…} in label order. */
export function labelsJSON(ls: Labels): string {
  let out = '{';
  for (let i = 0; i < ls.length; i++) {
    if (i > 0) out += ',';
    out += jsonString(ls[i].name) + ':' + jsonString(ls[i].value);
  }
  return out + '}';
}

/** One bucket of a native histogram in its API form. */
interface Bucket {
  lower: number;
  upper: number;
  lowerInclusive: boolean;
  upperInclusive: boolean;
  count: number;
}

/** The buckets of h as Prometheus's AllBucketIterator lists them: negative (highest index first), zero, positive. */
function histogramBuckets(h: FloatHistogram): Bucket[] {
  const out: Bucket[] = [];
  const custom = isCustomBucketsSchema(h.schema);
  const upperOf = (idx: number): number => {
    if (!custom) return exponentialBound(idx, h.schema);
    const cv = h.customValues ?? [];
    return idx < cv.length ? cv[idx] : Infinity;
  };
  const lowerOf = (idx: number): number => (custom ? (idx === 0 ? -Infinity : upperOf(idx - 1)) : exponentialBound(idx - 1, h.schema));
  const zt = h.zeroThreshold;
  const clamp = (b: Bucket): Bucket => {
    if (b.upper < 0 && b.upper > -zt) b.upper = -zt;
    else if (b.lower > 0 && b.lower < zt) b.lower = zt;
    return b;
  };
  const neg = [...bucketEntries(h.negativeSpans, h.negativeBuckets)];
  for (let i = neg.length - 1; i >= 0; i--) {
    const [idx, count] = neg[i];
    out.push(clamp({ lower: -upperOf(idx), upper: -lowerOf(idx), lowerInclusive: true, upperInclusive: false, count }));
  }
  if (!custom && h.zeroCount > 0) {
    out.push({ lower: -zt, upper: zt, lowerInclusive: true, upperInclusive: true, count: h.zeroCount });
  }
  for (const [idx, count] of bucketEntries(h.positiveSpans, h.positiveBuckets)) {
    out.push(clamp({ lower: lowerOf(idx), upper: upperOf(idx), lowerInclusive: false, upperInclusive: true, count }));
  }
  return out;
}

/** jsonutil.MarshalHistogram: count, sum and the non-empty buckets. */
export function histogramJSON(h: FloatHistogram): string {
  let out = `{"count":"${formatSampleValue(h.count)}","sum":"${formatSampleValue(h.sum)}"`;
  let first = true;
  for (const b of histogramBuckets(h)) {
    if (b.count === 0) continue;
    out += first ? ',"buckets":[' : ',';
    first = false;
    const boundaries = b.lowerInclusive ? (b.upperInclusive ? 3 : 1) : b.upperInclusive ? 0 : 2;
    out += `[${boundaries},"${formatSampleValue(b.lower)}","${formatSampleValue(b.upper)}","${formatSampleValue(b.count)}"]`;
  }
  if (!first) out += ']';
  return out + '}';
}

/**
 * The `data` of a query response for an engine value, as text pieces in order:
 * {"resultType":"matrix","result":[…]}. A generator, so a large answer is written as it
 * is walked (one piece per series) instead of being built whole first.
 */
export function* queryDataChunks(v: Value): Generator<string> {
  yield `{"resultType":"${v.type}","result":`;
  switch (v.type) {
    case 'scalar':
      yield `[${formatTimestamp(v.scalar.t)},"${formatSampleValue(v.scalar.v)}"]`;
      break;
    case 'string':
      yield `[${formatTimestamp(v.string.t)},${jsonString(v.string.v)}]`;
      break;
    case 'vector': {
      yield '[';
      const vec = v.vector;
      for (let i = 0; i < vec.length; i++) {
        const s = vec[i];
        const point = s.h === null ? `"value":[${formatTimestamp(s.t)},"${formatSampleValue(s.f)}"]` : `"histogram":[${formatTimestamp(s.t)},${histogramJSON(s.h)}]`;
        yield `${i > 0 ? ',' : ''}{"metric":${labelsJSON(s.metric)},${point}}`;
      }
      yield ']';
      break;
    }
    case 'matrix': {
      yield '[';
      const m = v.matrix;
      for (let i = 0; i < m.length; i++) {
        const s = m[i];
        let out = `${i > 0 ? ',' : ''}{"metric":${labelsJSON(s.metric)}`;
        const fl = s.floats;
        if (fl.length > 0) {
          out += ',"values":[';
          for (let j = 0; j < fl.length; j++) {
            if (j > 0) out += ',';
            out += `[${formatTimestamp(fl.t[j])},"${formatSampleValue(fl.f[j])}"]`;
          }
          out += ']';
        }
        const hs = s.histograms;
        if (hs !== null && hs.length > 0) {
          out += ',"histograms":[';
          for (let j = 0; j < hs.length; j++) {
            if (j > 0) out += ',';
            out += `[${formatTimestamp(hs.t[j])},${histogramJSON(hs.h[j])}]`;
          }
          out += ']';
        }
        yield out + '}';
      }
      yield ']';
      break;
    }
  }
  yield '}';
}

/** Powers of ten exact in a double (10^22 is the last). */
const P10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
/** Room for one point: ,[-9007199254740.991,"-1.7976931348623157e+308"] is 46 bytes; odd timestamps print longer. */
const POINT_ROOM = 96;
/** Below this a fixed-point candidate m·10^-k is the only one of its length that rounds to f (see sampleValue). */
const FAST_MANTISSA_LIMIT = 2 ** 51;

/**
 * JSON bytes handed out in pieces of exactly `size` (the last may be shorter). Each piece
 * is a fresh buffer: a piece given away may still sit in a socket's queue, so nothing is
 * reused once yielded; allocUnsafe of 64 KiB skips both the zero fill and Node's pool.
 */
class ChunkWriter {
  private buf: Buffer;
  /** Bytes before `start` are handed out; [start, pos) are written and pending. */
  private start = 0;
  pos = 0;
  private lastValue = NaN;
  private lastText = 'NaN';

  constructor(readonly size: number) {
    this.buf = Buffer.allocUnsafe(size + 4 * POINT_ROOM);
  }

  /** A whole piece is pending. */
  get full(): boolean {
    return this.pos - this.start >= this.size;
  }

  take(): Buffer {
    const out = this.buf.subarray(this.start, this.start + this.size);
    this.start += this.size;
    return out;
  }

  rest(): Buffer | null {
    return this.pos > this.start ? this.buf.subarray(this.start, this.pos) : null;
  }

  /** Room for n more bytes; the pending bytes move to a new buffer, what was handed out stays where it is. */
  ensure(n: number): void {
    if (this.buf.length - this.pos >= n) return;
    const pending = this.pos - this.start;
    const next = Buffer.allocUnsafe(Math.max(this.size, pending + n) + 4 * POINT_ROOM);
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = pending;
  }

  /** Any text, UTF-8. */
  text(s: string): void {
    this.ensure(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** Text known to be ASCII, with room already ensured. */
  private ascii(s: string): void {
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** [t,"v"], after a comma if `sep`, with room already ensured (POINT_ROOM). */
  point(t: number, f: number, sep = false): void {
    if (sep) this.buf[this.pos++] = 0x2c;
    this.buf[this.pos++] = 0x5b; // [
    this.timestamp(t);
    this.buf[this.pos++] = 0x2c; // ,
    this.buf[this.pos++] = 0x22; // "
    this.sampleValue(f);
    this.buf[this.pos++] = 0x22;
    this.buf[this.pos++] = 0x5d; // ]
  }

  /** formatTimestamp as bytes. */
  timestamp(t: number): void {
    if (!Number.isSafeInteger(t)) return this.ascii(formatTimestamp(t));
    const b = this.buf;
    if (t < 0) {
      b[this.pos++] = 0x2d;
      t = -t;
    }
    const sec = Math.floor(t / 1000);
    const frac = t - sec * 1000;
    this.uint(sec, 0);
    if (frac !== 0) {
      const p = this.pos;
      const d1 = Math.floor(frac / 100);
      const r = frac - d1 * 100;
      const d2 = Math.floor(r / 10);
      b[p] = 0x2e; // .
      b[p + 1] = 0x30 + d1;
      b[p + 2] = 0x30 + d2;
      b[p + 3] = 0x30 + r - d2 * 10;
      this.pos = p + 4;
    }
  }

  /**
   * formatSampleValue as bytes. Fast paths: integers below 2^53, then up to three decimal
   * places (the fewest places that parse back to f are the shortest form), then decimals of
   * up to 15 digits. For the latter, take the most places K that keep m = round(|f|·10^K) below
   * 2^51: there the candidates m·10^-K lie further apart than f's rounding interval is
   * wide, so at most one parses back to f (m/10^K is one correctly rounded division, so
   * the check is exact), and Go's shortest form is that one with its trailing zeros cut.
   * Everything else (NaN, ±Inf, ±0, exponent forms, 16–17 digits) goes through
   * formatSampleValue, remembering the last answer: a flat series repeats its value.
   */
  sampleValue(f: number): void {
    const abs = f < 0 ? -f : f;
    if (abs >= 1e-6 && abs < 1e21) {
      if (abs <= Number.MAX_SAFE_INTEGER && Math.floor(abs) === abs) {
        if (f < 0) this.buf[this.pos++] = 0x2d;
        this.uint(abs, 0);
        return;
      }
      // fast path: up to three places, the usual gauges and quantiles
      for (let k = 1; k <= 3; k++) {
        const m = Math.round(abs * P10[k]);
        if (m < FAST_MANTISSA_LIMIT && m / P10[k] === abs) {
          if (f < 0) this.buf[this.pos++] = 0x2d;
          this.uint(m, k);
          return;
        }
      }
      if (abs < FAST_MANTISSA_LIMIT) {
        let k = Math.floor(Math.log10(FAST_MANTISSA_LIMIT / abs));
        if (k > 22) k = 22;
        while (k > 0 && abs * P10[k] >= FAST_MANTISSA_LIMIT) k--;
        let m = Math.round(abs * P10[k]);
        if (m < FAST_MANTISSA_LIMIT && m / P10[k] === abs) {
          while (k > 0 && m % 10 === 0) {
            m /= 10;
            k--;
          }
          if (f < 0) this.buf[this.pos++] = 0x2d;
          this.uint(m, k);
          return;
        }
      }
    }
    if (f !== this.lastValue || f === 0) {
      this.lastValue = f;
      this.lastText = formatSampleValue(f);
    }
    this.ascii(this.lastText);
  }

  /** The digits of n (a safe integer ≥ 0) with a decimal point `places` from the right, "0." first when needed. */
  private uint(n: number, places: number): void {
    let len = 1;
    while (n >= P10[len]) len++;
    const total = places === 0 ? len : Math.max(len - places, 1) + 1 + places;
    const b = this.buf;
    let p = this.pos + total;
    this.pos = p;
    for (let i = 0; i < places; i++) {
      const q = Math.floor(n / 10);
      b[--p] = 0x30 + (n - q * 10);
      n = q;
    }
    if (places > 0) b[--p] = 0x2e;
    do {
      const q = Math.floor(n / 10);
      b[--p] = 0x30 + (n - q * 10);
      n = q;
    } while (n > 0);
  }
}

/**
 * queryDataChunks written as bytes into pieces of `size` bytes (the last may be shorter):
 * the same JSON, byte for byte, without a string per point. Points are the bulk of a
 * large answer; labels and histograms are rare enough to go through their string forms.
 */
export function* queryDataBytes(v: Value, size = 64 * 1024): Generator<Buffer> {
  const w = new ChunkWriter(size);
  w.text(`{"resultType":"${v.type}","result":`);
  switch (v.type) {
    case 'scalar':
      w.ensure(POINT_ROOM);
      w.point(v.scalar.t, v.scalar.v);
      break;
    case 'string':
      w.text(`[${formatTimestamp(v.string.t)},${jsonString(v.string.v)}]`);
      break;
    case 'vector': {
      w.text('[');
      const vec = v.vector;
      for (let i = 0; i < vec.length; i++) {
        const s = vec[i];
        w.text(`${i > 0 ? ',' : ''}{"metric":${labelsJSON(s.metric)},`);
        if (s.h === null) {
          w.text('"value":');
          w.ensure(POINT_ROOM);
          w.point(s.t, s.f);
          w.text('}');
        } else {
          w.text(`"histogram":[${formatTimestamp(s.t)},${histogramJSON(s.h)}]}`);
        }
        while (w.full) yield w.take();
      }
      w.text(']');
      break;
    }
    case 'matrix': {
      w.text('[');
      const m = v.matrix;
      for (let i = 0; i < m.length; i++) {
        const s = m[i];
        w.text(`${i > 0 ? ',' : ''}{"metric":${labelsJSON(s.metric)}`);
        const fl = s.floats;
        if (fl.length > 0) {
          w.text(',"values":[');
          const ts = fl.t;
          const fs = fl.f;
          for (let j = 0; j < fl.length; j++) {
            w.ensure(POINT_ROOM);
            w.point(ts[j], fs[j], j > 0);
            if (w.full) yield w.take();
          }
          w.text(']');
        }
        const hs = s.histograms;
        if (hs !== null && hs.length > 0) {
          w.text(',"histograms":[');
          for (let j = 0; j < hs.length; j++) {
            w.text(`${j > 0 ? ',' : ''}[${formatTimestamp(hs.t[j])},${histogramJSON(hs.h[j])}]`);
            while (w.full) yield w.take();
          }
          w.text(']');
        }
        w.text('}');
        while (w.full) yield w.take();
      }
      w.text(']');
      break;
    }
  }
  w.text('}');
  while (w.full) yield w.take();
  const rest = w.rest();
  if (rest !== null) yield rest;
}

/** queryDataChunks as one list (small answers, tests). */
export function queryDataParts(v: Value): string[] {
  return [...queryDataChunks(v)];
}

/**
 * Pieces of text regrouped into UTF-8 buffers of about `size` bytes: few, large writes
 * to the socket (or messages between threads) instead of one per series.
 */
export function* batchUtf8(pieces: Iterable<string>, size = 64 * 1024): Generator<Buffer> {
  let pending: string[] = [];
  let len = 0;
  for (const p of pieces) {
    pending.push(p);
    len += p.length;
    if (len >= size) {
      yield Buffer.from(pending.join(''), 'utf8');
      pending = [];
      len = 0;
    }
  }
  if (len > 0) yield Buffer.from(pending.join(''), 'utf8');
}

/** A JSON array of strings. */
export function stringsJSON(values: readonly string[]): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    out += jsonString(values[i]);
  }
  return out + ']';
}

/**
 * Any plain JSON value (objects, arrays, strings, finite numbers, booleans, null) with
 * jsoniter's string escaping and Go's map key order (sorted) for `sortKeys` objects.
 */
export function plainJSON(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return jsonString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(plainJSON).join(',') + ']';
  const parts: string[] = [];
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (x === undefined) continue;
    parts.push(jsonString(k) + ':' + plainJSON(x));
  }
  return '{' + parts.join(',') + '}';
}

/** Response.Warnings/Infos: omitted when empty. */
function annotationsJSON(warnings: readonly string[], infos: readonly string[]): string {
  let out = '';
  if (warnings.length > 0) out += ',"warnings":' + stringsJSON(warnings);
  if (infos.length > 0) out += ',"infos":' + stringsJSON(infos);
  return out;
}

/** The start of a success envelope; `data` follows, then successTail. */
export const SUCCESS_HEAD = '{"status":"success","data":';

/** The end of a success envelope: its annotations and the closing brace. */
export function successTail(warnings: readonly string[] = [], infos: readonly string[] = []): string {
  return annotationsJSON(warnings, infos) + '}';
}

/** A success envelope around already encoded `data` parts. */
export function successBody(dataParts: readonly string[], warnings: readonly string[] = [], infos: readonly string[] = []): string {
  return SUCCESS_HEAD + dataParts.join('') + successTail(warnings, infos);
}

/** An error envelope: {"status":"error","errorType":…,"error":…}. */
export function errorBody(errorType: string, message: string): string {
  return `{"status":"error","errorType":${jsonString(errorType)},"error":${jsonString(message)}}`;
}
