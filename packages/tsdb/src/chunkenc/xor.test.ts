import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDir, rng, tempDir } from '@thanos-ts/testutil';
import {
  chunkFromBytes,
  EncXOR,
  floatFromBits,
  floatHiBits,
  floatLoBits,
  isStaleNaN,
  NORMAL_NAN,
  STALE_NAN,
  UnsupportedChunkEncodingError,
  ValueType,
  XorChunk,
  XorIterator,
  BitWriter,
  decodeXorInto,
  XorDecodeResult,
  BufferedXorIterator,
} from './index.js';
import type { ChunkIterator, FloatSampleArrays } from './index.js';
import { isCorruption } from '../encoding/index.js';
import { promtoolCreateBlocks, readChunkRecords, readIndexSeries, type FixtureSample, type FixtureSeries } from '../block/test-fixture.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bitsOf = (v: number): string =>
  floatHiBits(v).toString(16).padStart(8, '0') + floatLoBits(v).toString(16).padStart(8, '0');

/** Timestamps plus value bits kept in typed arrays, so NaN payloads are never touched by JS arrays. */
interface Samples {
  t: Float64Array;
  hi: Uint32Array;
  lo: Uint32Array;
}

function samplesOf(list: readonly FixtureSample[]): Samples {
  const s = { t: new Float64Array(list.length), hi: new Uint32Array(list.length), lo: new Uint32Array(list.length) };
  list.forEach((x, i) => {
    s.t[i] = x.t;
    s.hi[i] = floatHiBits(x.v);
    s.lo[i] = floatLoBits(x.v);
  });
  return s;
}

function encode(s: Samples, from = 0, to = s.t.length): XorChunk {
  const c = new XorChunk();
  const app = c.appender();
  for (let i = from; i < to; i++) app.append(s.t[i], floatFromBits(s.hi[i], s.lo[i]));
  return c;
}

/** Decodes a chunk and checks it yields exactly samples [from, to) of s, bit for bit. */
function expectDecodes(bytes: Uint8Array, s: Samples, from: number, to: number, it = new XorIterator()): void {
  it.reset(bytes);
  let i = from;
  while (it.next() === ValueType.Float) {
    if (i >= to) throw new Error(`extra sample at ${i}`);
    const v = it.atF();
    if (it.atT() !== s.t[i] || floatHiBits(v) !== s.hi[i] || floatLoBits(v) !== s.lo[i]) {
      throw new Error(`sample ${i}: got (${it.atT()}, ${bitsOf(v)}), want (${s.t[i]}, ${bitsOf(floatFromBits(s.hi[i], s.lo[i]))})`);
    }
    i++;
  }
  expect(it.err()).toBeNull();
  expect(i).toBe(to);
}

describe('XOR chunk encoding', () => {
  it('matches the hand-derived worked example, which promtool reproduces', () => {
    const c = new XorChunk();
    const app = c.appender();
    app.append(1000, 1.0);
    expect(hex(c.bytes())).toBe('0001d00f3ff0000000000000');
    app.append(2000, 1.0);
    expect(hex(c.bytes())).toBe('0002d00f3ff0000000000000e80700');
    app.append(3000, 2.0);
    expect(hex(c.bytes())).toBe('0003d00f3ff0000000000000e8073097ffc0');
    app.append(4010, 2.0);
    expect(hex(c.bytes())).toBe('0004d00f3ff0000000000000e8073097ffe00280');
    expect(c.numSamples()).toBe(4);
    expect(c.encoding).toBe(EncXOR);
  });

  it('round-trips StaleNaN, NormalNaN, -0 and a signalling NaN payload bit-exactly', () => {
    const sNaN = floatFromBits(0x7ff00000, 0xdeadbeef);
    const list = [
      { t: 0, v: 1 },
      { t: 15_000, v: STALE_NAN },
      { t: 30_000, v: STALE_NAN },
      { t: 45_000, v: NORMAL_NAN },
      { t: 60_000, v: -0 },
      { t: 75_000, v: sNaN },
      { t: 90_000, v: STALE_NAN },
      { t: 105_000, v: NaN },
    ];
    const s = samplesOf(list);
    expect(s.hi[1]).toBe(0x7ff00000);
    expect(s.lo[1]).toBe(2);
    const c = encode(s);
    expectDecodes(c.bytes(), s, 0, s.t.length);
    const it = c.iterator();
    let stale = 0;
    while (it.next() !== ValueType.None) if (isStaleNaN(it.atF())) stale++;
    expect(stale).toBe(3);
    expect(isStaleNaN(NaN)).toBe(false);
    expect(isStaleNaN(NORMAL_NAN)).toBe(false);
    expect(isStaleNaN(STALE_NAN)).toBe(true);
  });

  it('round-trips random series through encode/decode (property test)', () => {
    const rand = rng(7);
    const it = new XorIterator();
    for (let round = 0; round < 300; round++) {
      const n = 1 + Math.floor(rand() * 300);
      const list: FixtureSample[] = [];
      let t = Math.floor((rand() - 0.5) * 2 ** 50);
      let delta = Math.floor(rand() * 100_000);
      let v = rand() * 1000;
      const mode = round % 5;
      for (let i = 0; i < n; i++) {
        const r = rand();
        if (r < 0.5) delta += 0;
        else if (r < 0.7) delta += Math.floor((rand() - 0.5) * 20_000);
        else if (r < 0.8) delta += Math.floor((rand() - 0.5) * 200_000);
        else if (r < 0.9) delta += Math.floor((rand() - 0.5) * 2_000_000);
        else delta += Math.floor((rand() - 0.5) * 2 ** 40);
        if (delta < 0) delta = -delta;
        t += i === 0 ? 0 : delta;
        if (mode === 0) v = rand() < 0.3 ? v : v + (rand() - 0.5);
        else if (mode === 1) v = floatFromBits(Math.floor(rand() * 2 ** 32), Math.floor(rand() * 2 ** 32)); // any bits, NaN payloads included
        else if (mode === 2) v = rand() < 0.5 ? Math.round(rand() * 10) : v;
        else if (mode === 3) v = [STALE_NAN, Infinity, -Infinity, 0, -0, 5e-324, Number.MAX_VALUE][Math.floor(rand() * 7)];
        else v = v * (1 + (rand() - 0.5) * 1e-12);
        list.push({ t, v });
      }
      // keep value bits out of plain arrays (they may quieten signalling NaNs)
      const s = { t: new Float64Array(n), hi: new Uint32Array(n), lo: new Uint32Array(n) };
      for (let i = 0; i < n; i++) {
        s.t[i] = list[i].t;
        s.hi[i] = floatHiBits(list[i].v);
        s.lo[i] = floatLoBits(list[i].v);
      }
      const c = encode(s);
      expect(c.numSamples()).toBe(n);
      expectDecodes(c.bytes(), s, 0, n, it);
    }
  });

  it('supports a reused iterator across chunks and Prometheus seek semantics', () => {
    const s = samplesOf(Array.from({ length: 50 }, (_, i) => ({ t: 1000 + i * 10, v: i })));
    const a = encode(s, 0, 25);
    const b = encode(s, 25, 50);
    const it = a.iterator();
    expect(it.seek(1005)).toBe(ValueType.Float);
    expect(it.atT()).toBe(1010);
    expect(it.seek(1000)).toBe(ValueType.Float); // already past: stays
    expect(it.atT()).toBe(1010);
    expect(it.seek(1240)).toBe(ValueType.Float);
    expect(it.atF()).toBe(24);
    expect(it.seek(1241)).toBe(ValueType.None);
    const it2 = b.iterator(it);
    expect(it2).toBe(it);
    expect(it2.next()).toBe(ValueType.Float);
    expect(it2.atT()).toBe(1250);
    expect(it2.seek(-5)).toBe(ValueType.Float);
    expect(it2.atT()).toBe(1250);
    const fresh = b.iterator();
    expect(fresh.seek(0)).toBe(ValueType.Float);
    expect(fresh.atT()).toBe(1250);
  });

  it('reports truncation through err() and never yields a wrong sample', () => {
    const rand = rng(3);
    const list: FixtureSample[] = [];
    let t = -50_000;
    for (let i = 0; i < 120; i++) {
      t += 15_000 + Math.floor((rand() - 0.5) * (i % 10 === 0 ? 4_000_000 : 200));
      list.push({ t, v: i % 7 === 0 ? rand() * 1e6 : Math.floor(i / 3) });
    }
    const s = samplesOf(list);
    const full = encode(s).bytes().slice();
    const it = new XorIterator();
    for (let cut = 0; cut < full.length; cut++) {
      it.reset(full.subarray(0, cut));
      let i = 0;
      while (it.next() === ValueType.Float) {
        expect(it.atT()).toBe(s.t[i]);
        expect(floatHiBits(it.atF())).toBe(s.hi[i]);
        expect(floatLoBits(it.atF())).toBe(s.lo[i]);
        i++;
      }
      expect(i).toBeLessThan(120);
      const e = it.err();
      expect(e).not.toBeNull();
      expect(isCorruption(e)).toBe(true);
      expect(it.next()).toBe(ValueType.None);
      expect(it.seek(0)).toBe(ValueType.None);
    }
    // a leading/significant-bits header that cannot be valid is rejected
    const w = new BitWriter();
    w.writeBits(2, 16); // two samples
    w.writeBits(0, 8); // t0 = 0
    w.writeBits64(0x3ff00000, 0, 64); // v0 = 1.0
    w.writeBits(1, 8); // t1 - t0 = 1
    w.writeBits(0b11, 2); // new leading/trailing
    w.writeBits(31, 5); // leading 31
    w.writeBits(40, 6); // 40 significant bits: 31 + 40 > 64
    w.writeBits(0xffffffff, 32);
    w.writeBits(0xff, 8);
    const it2 = new XorIterator(w.bytes());
    expect(it2.next()).toBe(ValueType.Float);
    expect(it2.next()).toBe(ValueType.None);
    expect(String(it2.err())).toMatch(/invalid xor header: 31 leading zeros and 40 significant bits/);
    expect(() => XorChunk.fromBytes(new Uint8Array(1))).toThrow(/shorter than its 2-byte header/);
    const short = new XorIterator(new Uint8Array(1));
    expect(short.next()).toBe(ValueType.None);
    expect(short.err()).not.toBeNull();
  });

  it('continues appending to a chunk created from bytes', () => {
    const s = samplesOf(Array.from({ length: 60 }, (_, i) => ({ t: i * 15_000 + (i % 4), v: Math.sin(i) })));
    for (const split of [1, 2, 3, 30, 59]) {
      const first = encode(s, 0, split).bytes().slice();
      const c = XorChunk.fromBytes(first);
      const app = c.appender();
      for (let i = split; i < 60; i++) app.append(s.t[i], floatFromBits(s.hi[i], s.lo[i]));
      expect(c.numSamples()).toBe(60);
      expectDecodes(c.bytes(), s, 0, 60);
      if (split >= 2) expect(hex(c.bytes())).toBe(hex(encode(s).bytes())); // state fully recovered
    }
    // the original bytes are not modified
    const orig = encode(s, 0, 10).bytes().slice();
    const copy = orig.slice();
    XorChunk.fromBytes(orig).appender().append(1e9, 1);
    expect(hex(orig)).toBe(hex(copy));
  });

  it('enforces the uint16 sample count and safe-integer timestamps', () => {
    const c = new XorChunk();
    const app = c.appender();
    for (let i = 0; i < 0xffff; i++) app.append(i, 1);
    expect(c.numSamples()).toBe(0xffff);
    expect(() => app.append(0x10000, 1)).toThrow(RangeError);
    expect(() => new XorChunk().appender().append(2 ** 53, 1)).toThrow(RangeError);
    c.compact();
    expect(c.numSamples()).toBe(0xffff);
  });

  it('chunkFromBytes accepts XOR and rejects other encodings clearly', () => {
    const c = chunkFromBytes(EncXOR, encode(samplesOf([{ t: 1, v: 2 }])).bytes());
    expect(c.numSamples()).toBe(1);
    for (const enc of [0, 2, 3, 4, 0xff]) {
      expect(() => chunkFromBytes(enc, new Uint8Array(4))).toThrow(UnsupportedChunkEncodingError);
    }
    expect(() => chunkFromBytes(2, new Uint8Array(4))).toThrow('unsupported chunk encoding 2 (histogram)');
  });
});

// Golden test: the chunks promtool writes for the same samples must be byte-identical.
describe('XOR chunk vs promtool (Prometheus 2.42)', () => {
  let work = '';
  beforeAll(async () => {
    work = await tempDir('xor-golden');
  });
  afterAll(() => removeTempDir(work));

  function goldenSeries(): FixtureSeries[] {
    const rand = rng(11);
    const series: FixtureSeries[] = [];
    // a_00: constant gauge at a regular 15s interval (dod 0, value unchanged), several chunks
    series.push({ name: 'a_00', samples: Array.from({ length: 300 }, (_, i) => ({ t: 1_000_000 + i * 15_000, v: 42 })) });
    // a_01: every dod bucket and its boundaries
    const dods = [
      0, 1, -1, 8192, -8191, -8192, 8193, 8191, -8190, 65536, -65535, 65537, -65536, 524288, -524287, 524289, -524288,
      3_000_000, -3_000_000, 0, 0, 12, -12, 0,
    ];
    {
      let t = 0;
      let d = 4_000_000;
      const samples: FixtureSample[] = [{ t, v: 1 }];
      t += d;
      samples.push({ t, v: 1 });
      for (const dod of dods) {
        d += dod;
        t += d;
        samples.push({ t, v: samples.length % 3 });
      }
      series.push({ name: 'a_01', samples });
    }
    // a_02: slowly varying gauge with jitter (reused leading/trailing windows)
    {
      let v = 100;
      const samples: FixtureSample[] = [];
      for (let i = 0; i < 400; i++) {
        v += (rand() - 0.5) * 0.25;
        samples.push({ t: 2_000_000 + i * 15_000 + Math.floor((rand() - 0.5) * 50), v: Math.round(v * 1000) / 1000 });
      }
      series.push({ name: 'a_02', samples });
    }
    // a_03: special values and XOR extremes: last-bit changes (leading clamp to 31),
    // sign + lowest bit (64 significant bits, written as 0), NaN, ±Inf, -0, extremes.
    {
      const vals = [
        1, 1.0000000000000002, 1, -1.0000000000000002, 1, NaN, NaN, 1, Infinity, -Infinity, Infinity, 0, -0, 0, 5e-324,
        Number.MAX_VALUE, -Number.MAX_VALUE, 1e-7, 123456789.123, 0.1, 0.2, 0.30000000000000004, 2 ** 52, 2 ** 53 + 2,
      ];
      const samples = vals.map((v, i) => ({ t: 5_000 + i * 1000, v: Number.isNaN(v) ? NORMAL_NAN : v }));
      series.push({ name: 'a_03', samples });
    }
    // a_04: negative timestamps (the first block must start on a block-range multiple for promtool)
    {
      const samples: FixtureSample[] = [];
      for (let i = 0; i < 150; i++) samples.push({ t: -1_749_600_000 + i * 10_001 + (i % 3), v: i * 0.5 - 20 });
      series.push({ name: 'a_04', samples });
    }
    // a_05: fully random values at an irregular interval
    {
      const samples: FixtureSample[] = [];
      let t = 10_000_000;
      for (let i = 0; i < 250; i++) {
        t += 1 + Math.floor(rand() * 60_000);
        samples.push({ t, v: (rand() - 0.5) * 10 ** Math.floor(rand() * 30 - 15) });
      }
      series.push({ name: 'a_05', samples });
    }
    return series;
  }

  it('encodes byte-identical chunks and decodes promtool chunks to the input samples', async () => {
    const series = goldenSeries();
    const blocks = await promtoolCreateBlocks(series, join(work, 'data'), { maxBlockDuration: '486h' });
    expect(blocks.length).toBeGreaterThan(1);
    const byName = new Map(series.map((s) => [s.name, samplesOf(s.samples)]));
    const seen = new Map<string, number>(); // samples consumed per series
    const it = new XorIterator();
    let chunksCompared = 0;
    for (const block of blocks) {
      const records = new Map(readChunkRecords(join(block.dir, 'chunks', '000001')).map((r) => [r.offset, r]));
      for (const entry of readIndexSeries(join(block.dir, 'index'))) {
        const name = entry.labels.__name__;
        const s = byName.get(name);
        if (!s) throw new Error(`unexpected series ${name}`);
        for (const meta of entry.chunks) {
          expect(Math.floor(meta.ref / 2 ** 32)).toBe(0);
          const rec = records.get(meta.ref % 2 ** 32);
          if (!rec) throw new Error(`no chunk record at ${meta.ref}`);
          expect(rec.encoding).toBe(EncXOR);
          const from = seen.get(name) ?? 0;
          const n = (rec.data[0] << 8) | rec.data[1];
          // promtool's chunk decodes to exactly the next n input samples
          expectDecodes(rec.data, s, from, from + n, it);
          expectBulkDecodes(rec.data, -Infinity, Infinity);
          expect(s.t[from]).toBe(meta.mint);
          expect(s.t[from + n - 1]).toBe(meta.maxt);
          // and our encoder produces the same bytes for them
          const ours = encode(s, from, from + n).bytes();
          if (hex(ours) !== hex(rec.data)) {
            throw new Error(`${name} samples [${from}, ${from + n}): bytes differ\n ours ${hex(ours)}\n prom ${hex(rec.data)}`);
          }
          seen.set(name, from + n);
          chunksCompared++;
        }
      }
    }
    for (const [name, s] of byName) expect(seen.get(name), name).toBe(s.t.length);
    expect(chunksCompared).toBeGreaterThanOrEqual(series.length + 4);
  });
});

/** Growable arrays starting tiny, so that reserve() is exercised. */
class Sink implements FloatSampleArrays {
  t = new Float64Array(1);
  f = new Float64Array(1);
  n = 0;
  reserved = 0;
  reserve(extra: number): void {
    this.reserved += extra;
    if (this.n + extra <= this.t.length) return;
    const t = new Float64Array((this.n + extra) * 2);
    const f = new Float64Array((this.n + extra) * 2);
    t.set(this.t);
    f.set(this.f);
    this.t = t;
    this.f = f;
  }
}

/** What XorIterator yields for the bulk decoder's contract: samples in [mint, maxt], stopping after maxt. */
function iteratorReference(bytes: Uint8Array, mint: number, maxt: number, it = new XorIterator()): { t: number[]; hi: number[]; lo: number[]; past: boolean; err: Error | null } {
  it.reset(bytes);
  const r = { t: [] as number[], hi: [] as number[], lo: [] as number[], past: false, err: null as Error | null };
  while (it.next() === ValueType.Float) {
    const t = it.atT();
    if (t < mint) continue;
    if (t > maxt) {
      r.past = true;
      return r;
    }
    r.t.push(t);
    r.hi.push(floatHiBits(it.atF()));
    r.lo.push(floatLoBits(it.atF()));
  }
  r.err = it.err();
  return r;
}

/** Checks decodeXorInto against XorIterator bit for bit, appending after existing samples; returns its result. */
function expectBulkDecodes(bytes: Uint8Array, mint: number, maxt: number, it?: XorIterator): XorDecodeResult {
  const want = iteratorReference(bytes, mint, maxt, it);
  const out = new Sink();
  out.reserve(3);
  out.n = 3; // appends after what is there
  out.t.fill(-1, 0, 3);
  const res = decodeXorInto(bytes, mint, maxt, out);
  if (want.err !== null) {
    expect(res).toBe(XorDecodeResult.Unhandled);
    return res;
  }
  expect(res).toBe(want.past ? XorDecodeResult.PastMaxt : XorDecodeResult.Done);
  expect(out.n - 3).toBe(want.t.length);
  expect(Array.from(out.t.subarray(0, 3))).toEqual([-1, -1, -1]);
  const fb = new Uint32Array(out.f.buffer);
  const hi = HI_WORD;
  for (let i = 0; i < want.t.length; i++) {
    const j = i + 3;
    if (out.t[j] !== want.t[i] || fb[2 * j + hi] !== want.hi[i] || fb[2 * j + 1 - hi] !== want.lo[i]) {
      throw new Error(`[${mint}, ${maxt}] sample ${i}: got (${out.t[j]}, ${fb[2 * j + hi].toString(16)}:${fb[2 * j + 1 - hi].toString(16)}), want (${want.t[i]}, ${want.hi[i].toString(16)}:${want.lo[i].toString(16)})`);
    }
  }
  return res;
}

/** Index of the high word of a float64 in a Uint32Array view (1 on little-endian). */
const HI_WORD = new Uint32Array(new Float64Array([1]).buffer)[1] === 0x3ff00000 ? 1 : 0;

/** Delta-of-deltas at and around the edges of the XOR buckets. */
const DOD_EDGES = [0, 1, -1, -8191, 8192, -8192, 8193, -65535, 65536, -65536, 65537, -524287, 524288, -524288, 524289, 2 ** 31, -(2 ** 31), 2 ** 40];

function valueAt(mode: number, i: number, prev: number, rand: () => number): number {
  switch (mode) {
    case 0:
      return 42; // constant
    case 1:
      return prev + Math.floor(rand() * 100); // counter
    case 2:
      return [STALE_NAN, NORMAL_NAN, NaN, Infinity, -Infinity, 0, -0, 5e-324, -Number.MAX_VALUE][Math.floor(rand() * 9)];
    case 3:
      return floatFromBits(Math.floor(rand() * 2 ** 32), Math.floor(rand() * 2 ** 32)); // any bits
    case 4:
      return rand() < 0.8 ? prev : rand() * 1e9; // gauge with repeats
    case 5:
      return i % 2 === 0 ? STALE_NAN : i; // alternating stale markers
    default:
      return prev * (1 + (rand() - 0.5) * 1e-12); // tiny changes: few significant bits
  }
}

describe('decodeXorInto', () => {
  it('decodes random chunks exactly as XorIterator, for mint/maxt at every edge', () => {
    const rand = rng(11);
    const it = new XorIterator();
    const results = new Set<number>();
    for (let round = 0; round < 200; round++) {
      const n = [1, 2, 3, 120, 121][round % 5] + (round >= 100 ? Math.floor(rand() * 200) : 0);
      const mode = Math.floor(round / 5) % 7;
      const list: FixtureSample[] = [];
      let t = Math.floor((rand() - 0.5) * 2 ** 49);
      let delta = 1 + Math.floor(rand() * 30_000);
      let v = rand() * 1000;
      for (let i = 0; i < n; i++) {
        if (i >= 2) {
          const r = rand();
          const dod = r < 0.6 ? 0 : r < 0.9 ? DOD_EDGES[Math.floor(rand() * DOD_EDGES.length)] : Math.floor((rand() - 0.5) * 2_000_000);
          if (delta + dod >= 0) delta += dod;
        }
        if (i > 0) t += delta;
        v = valueAt(mode, i, v, rand);
        list.push({ t, v });
      }
      const s = samplesOf(list);
      const bytes = encode(s).bytes().slice();
      const first = s.t[0];
      const last = s.t[n - 1];
      results.add(expectBulkDecodes(bytes, -Infinity, Infinity, it));
      results.add(expectBulkDecodes(bytes, first, last, it));
      // every sample's edges as mint, and as maxt, for a few chunks; some random pairs for all
      const edges: number[] = [];
      const picks = round < 20 ? n : 3;
      for (let k = 0; k < picks; k++) {
        const ts = s.t[round < 20 ? k : Math.floor(rand() * n)];
        edges.push(ts - 1, ts, ts + 1);
      }
      for (const e of edges) {
        results.add(expectBulkDecodes(bytes, e, Infinity, it));
        results.add(expectBulkDecodes(bytes, -Infinity, e, it));
        results.add(expectBulkDecodes(bytes, e, edges[Math.floor(rand() * edges.length)], it));
      }
    }
    expect([...results].sort()).toEqual([XorDecodeResult.Done, XorDecodeResult.PastMaxt]);
  });

  it('hands truncated and invalid chunks back to the iterator', () => {
    const rand = rng(5);
    const list: FixtureSample[] = [];
    let t = 1_700_000_000_000;
    for (let i = 0; i < 120; i++) {
      t += 15_000 + Math.floor((rand() - 0.5) * (i % 10 === 0 ? 4e9 : 200));
      list.push({ t, v: i % 7 === 0 ? rand() * 1e6 : Math.floor(i / 3) });
    }
    const full = encode(samplesOf(list)).bytes().slice();
    for (let cut = 0; cut < full.length; cut++) {
      expect(expectBulkDecodes(full.subarray(0, cut), -Infinity, Infinity)).toBe(XorDecodeResult.Unhandled);
    }
    // truncation after maxt is never reached
    expect(expectBulkDecodes(full.subarray(0, full.length - 1), -Infinity, list[100].t)).toBe(XorDecodeResult.PastMaxt);
    // 31 leading zeros and 40 significant bits do not fit in 64
    const w = new BitWriter();
    w.writeBits(2, 16);
    w.writeBits(0, 8);
    w.writeBits64(0x3ff00000, 0, 64);
    w.writeBits(1, 8);
    w.writeBits(0b11, 2);
    w.writeBits(31, 5);
    w.writeBits(40, 6);
    w.writeBits(0xffffffff, 32);
    w.writeBits(0xff, 8);
    expect(expectBulkDecodes(w.bytes(), -Infinity, Infinity)).toBe(XorDecodeResult.Unhandled);
  });

  it('leaves timestamps beyond ±2^52 and negative first deltas to the iterator', () => {
    const out = new Sink();
    const bulk = (list: FixtureSample[]): XorDecodeResult => decodeXorInto(encode(samplesOf(list)).bytes(), -Infinity, Infinity, out);
    expect(bulk([{ t: -(2 ** 52), v: 1 }, { t: -(2 ** 52) + 5, v: 2 }])).toBe(XorDecodeResult.Done);
    expect(bulk([{ t: 2 ** 52 - 1, v: 1 }])).toBe(XorDecodeResult.Done);
    expect(bulk([{ t: 2 ** 52, v: 1 }])).toBe(XorDecodeResult.Unhandled);
    expect(bulk([{ t: 1000, v: 1 }, { t: 999, v: 2 }])).toBe(XorDecodeResult.Unhandled);
    expect(Array.from(out.t.subarray(0, out.n))).toEqual([-(2 ** 52), -(2 ** 52) + 5, 2 ** 52 - 1]);
    // the iterator reads them
    expectDecodes(encode(samplesOf([{ t: 2 ** 52, v: 1 }])).bytes(), samplesOf([{ t: 2 ** 52, v: 1 }]), 0, 1);
  });

  it('reserves room for each chunk before decoding it', () => {
    const out = new Sink();
    const bytes = encode(samplesOf(Array.from({ length: 120 }, (_, i) => ({ t: i * 15_000, v: i })))).bytes();
    expect(decodeXorInto(bytes, 0, 1e9, out)).toBe(XorDecodeResult.Done);
    expect(decodeXorInto(bytes, 0, 1e9, out)).toBe(XorDecodeResult.Done);
    expect(out.reserved).toBe(240);
    expect(out.n).toBe(240);
    expect(decodeXorInto(new XorChunk().bytes(), 0, 1e9, out)).toBe(XorDecodeResult.Done);
    expect(out.n).toBe(240);
  });
});

describe('BufferedXorIterator', () => {
  /** Runs the same random next()/seek() calls on both iterators and compares every answer. */
  function expectSameWalk(bytes: Uint8Array, want: XorIterator, got: BufferedXorIterator, rand: () => number, t0: number, t1: number): void {
    want.reset(bytes);
    got.reset(bytes);
    const state = (it: ChunkIterator, vt: ValueType): string => (vt === ValueType.None ? `none ${String(it.err())}` : `${it.atT()} ${floatHiBits(it.atF())}.${floatLoBits(it.atF())}`);
    for (let step = 0; step < 400; step++) {
      let a: string;
      let b: string;
      if (rand() < 0.7) {
        a = state(want, want.next());
        b = state(got, got.next());
      } else {
        const t = Math.floor(t0 - 10 + rand() * (t1 - t0 + 20));
        a = `seek ${t} ${state(want, want.seek(t))}`;
        b = `seek ${t} ${state(got, got.seek(t))}`;
      }
      expect(b).toBe(a);
    }
  }

  it('walks chunks exactly as XorIterator, truncated ones included, reused across chunks', () => {
    const rand = rng(9);
    const want = new XorIterator();
    const got = new BufferedXorIterator();
    for (let round = 0; round < 60; round++) {
      const n = [1, 2, 120, 250][round % 4];
      const list: FixtureSample[] = [];
      let t = 1_600_000_000_000 + Math.floor(rand() * 1e9);
      for (let i = 0; i < n; i++) {
        t += 1 + Math.floor(rand() * (i % 17 === 0 ? 5e6 : 30_000));
        list.push({ t, v: valueAt(round % 7, i, i, rand) });
      }
      const bytes = encode(samplesOf(list)).bytes().slice();
      expectSameWalk(bytes, want, got, rand, list[0].t, t);
      expectSameWalk(bytes.subarray(0, Math.floor(rand() * bytes.length)), want, got, rand, list[0].t, t);
    }
    expectSameWalk(new Uint8Array(1), want, got, rand, 0, 10);
    expectSameWalk(new XorChunk().bytes(), want, got, rand, 0, 10);
    // beyond ±2^52 the chunk is read by an XorIterator
    expectSameWalk(encode(samplesOf([{ t: 2 ** 52, v: 1 }, { t: 2 ** 52 + 7, v: 2 }])).bytes(), want, got, rand, 2 ** 52, 2 ** 52 + 7);
  });
});
