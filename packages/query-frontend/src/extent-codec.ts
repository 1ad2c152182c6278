// The value stored in the results cache for one key: the key itself (a hash collision
// must read as a miss, as Cortex checks CachedResponse.Key) and its extents, each a time
// range and the answer for it. Layout, all integers unsigned varints unless noted:
//
//   "QFE" version(1)  key:str  extents:n
//   extent:   start:f64le end:f64le  warnings:n str…  infos:n str…  series:n
//   series:   metric-json:str  floats:n  first-ts:f64le ts-delta… value:str…
//             histograms:n  first-ts:f64le ts-delta…  histogram-json:str…
//   str:      byte length, UTF-8 bytes
//
// Timestamps within a series only grow, so deltas are small varints.

import { seriesKey } from './response.js';
import type { RangeResponse, SampleStream } from './response.js';

export interface Extent {
  start: number;
  end: number;
  response: RangeResponse;
}

const MAGIC = [0x51, 0x46, 0x45, 1];

class Writer {
  buf = Buffer.allocUnsafe(4096);
  pos = 0;

  grow(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  uvarint(v: number): void {
    this.grow(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  f64(v: number): void {
    this.grow(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  str(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.uvarint(n);
    this.grow(n);
    this.buf.write(s, this.pos, 'utf8');
    this.pos += n;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  uvarint(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
  }

  f64(): number {
    if (this.pos + 8 > this.buf.length) throw new Error('truncated float');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  str(): string {
    const n = this.uvarint();
    if (this.pos + n > this.buf.length) throw new Error('truncated string');
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}

function writeTimes(w: Writer, ts: readonly number[]): void {
  w.uvarint(ts.length);
  if (ts.length === 0) return;
  w.f64(ts[0]);
  for (let i = 1; i < ts.length; i++) w.uvarint(ts[i] - ts[i - 1]);
}

function readTimes(r: Reader): number[] {
  const n = r.uvarint();
  const ts = new Array<number>(n);
  if (n === 0) return ts;
  ts[0] = r.f64();
  for (let i = 1; i < n; i++) ts[i] = ts[i - 1] + r.uvarint();
  return ts;
}

export function encodeCachedExtents(key: string, extents: readonly Extent[]): Uint8Array {
  const w = new Writer();
  w.grow(4);
  for (const b of MAGIC) w.buf[w.pos++] = b;
  w.str(key);
  w.uvarint(extents.length);
  for (const e of extents) {
    w.f64(e.start);
    w.f64(e.end);
    const r = e.response;
    w.uvarint(r.warnings.length);
    for (const s of r.warnings) w.str(s);
    w.uvarint(r.infos.length);
    for (const s of r.infos) w.str(s);
    w.uvarint(r.series.length);
    for (const s of r.series) {
      w.str(JSON.stringify(s.metric));
      writeTimes(w, s.ts);
      for (const v of s.values) w.str(v);
      writeTimes(w, s.hts);
      for (const h of s.histograms) w.str(JSON.stringify(h));
    }
  }
  return w.bytes();
}

/** The extents stored under `key`; null when the value is not ours, is damaged or belongs to another key. */
export function decodeCachedExtents(key: string, data: Uint8Array): Extent[] | null {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < 4 || MAGIC.some((b, i) => buf[i] !== b)) return null;
  const r = new Reader(buf);
  r.pos = 4;
  try {
    if (r.str() !== key) return null;
    const n = r.uvarint();
    const extents: Extent[] = [];
    for (let i = 0; i < n; i++) {
      const start = r.f64();
      const end = r.f64();
      const warnings = Array.from({ length: r.uvarint() }, () => r.str());
      const infos = Array.from({ length: r.uvarint() }, () => r.str());
      const ns = r.uvarint();
      const series: SampleStream[] = [];
      for (let j = 0; j < ns; j++) {
        const metric = JSON.parse(r.str()) as Record<string, string>;
        const ts = readTimes(r);
        const values = ts.map(() => r.str());
        const hts = readTimes(r);
        const histograms = hts.map(() => JSON.parse(r.str()) as unknown);
        series.push({ metric, key: seriesKey(metric), ts, values, hts, histograms });
      }
      extents.push({ start, end, response: { series, warnings, infos } });
    }
    return extents;
  } catch {
    return null;
  }
}
