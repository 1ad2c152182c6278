import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, rng, tempDir } from '@thanos-ts/testutil';
import { CorruptionError } from '../encoding/index.js';
import { labelsFromStrings } from '../labels/index.js';
import { expandPostings } from '../postings/index.js';
import { ChunkMetaBuffer, decodeSeries, decodeSeriesForTime, IndexReader, IndexWriter, verifySeriesEntry, type ChunkMeta, type SeriesEntry } from './index.js';
import type { Label } from '../labels/index.js';

/** Metas [from, from + n) of a buffer as objects. */
function metasOf(b: ChunkMetaBuffer, from: number, n: number): ChunkMeta[] {
  return Array.from({ length: n }, (_, i) => ({ mint: b.mint(from + i), maxt: b.maxt(from + i), ref: b.ref(from + i) }));
}

afterAll(removeTempDirs);

// Series with 0..300 chunks each; varied gaps and refs (ascending across series, as the
// writer requires) crossing segments (refs ≥ 2^32).
function makeChunks(r: () => number, n: number, next: { ref: number }): ChunkMeta[] {
  const out: ChunkMeta[] = [];
  let t = -50_000 + Math.floor(r() * 100_000);
  let ref = next.ref;
  for (let i = 0; i < n; i++) {
    const mint = t + 1 + (r() < 0.2 ? 0 : Math.floor(r() * 100_000));
    const maxt = mint + Math.floor(r() * 2_000_000);
    out.push({ mint, maxt, ref });
    ref += 1 + Math.floor(r() * 200_000);
    if (r() < 0.05) ref += 2 ** 32;
    t = maxt;
  }
  next.ref = ref;
  return out;
}

let bytes: Uint8Array;
let refs: number[];
const want: { labels: ReturnType<typeof labelsFromStrings>; chunks: ChunkMeta[] }[] = [];
const lookup = (ir: IndexReader) => (ref: number): string => ir.lookupSymbol(ref);
let ir: IndexReader;

beforeAll(async () => {
  const r = rng(7);
  const path = join(await tempDir('series-for-time'), 'index');
  const w = new IndexWriter(path);
  const names = Array.from({ length: 60 }, (_, i) => `s${String(i).padStart(3, '0')}`);
  w.addSymbols(['__name__', 'job', 'x', ...names].sort());
  refs = [];
  const next = { ref: 8 };
  for (const name of names) {
    const labels = labelsFromStrings('__name__', name, 'job', 'x');
    const chunks = makeChunks(r, name === 's000' ? 0 : Math.floor(r() * 300), next);
    want.push({ labels, chunks });
    refs.push(w.addSeries(labels, chunks));
  }
  w.close();
  bytes = new Uint8Array(readFileSync(path));
  ir = new IndexReader(bytes, 'index');
});

/** The entry of refs[i] on its own (length ‖ body ‖ CRC), as the store caches it. */
function entry(i: number): Uint8Array {
  const off = refs[i] * 16;
  return bytes.slice(off, verifySeriesEntry(bytes, off, 'index'));
}

describe('decodeSeriesForTime', () => {
  it('keeps exactly the chunk metas overlapping [mint, maxt], and the labels of series that keep one', () => {
    const r = rng(11);
    const windows: [number, number][] = [[-Infinity, Infinity], [0, 0], [1e12, 2e12], [-1e12, -1e11]];
    for (let k = 0; k < 60; k++) {
      const a = -100_000 + Math.floor(r() * 3e8);
      windows.push([a, a + Math.floor(r() * (k % 2 ? 1e6 : 1e8))]);
    }
    for (let i = 0; i < refs.length; i++) {
      const e = entry(i);
      // Windows that start or end exactly on chunk boundaries (both ends are inclusive).
      const edges: [number, number][] = [];
      const cs = want[i].chunks;
      for (let j = 0; j < cs.length; j += 7) {
        edges.push([cs[j].mint, cs[j].mint], [cs[j].maxt, cs[j].maxt], [cs[j].maxt + 1, cs[j].maxt + 1], [cs[j].mint - 10, cs[j].mint - 1]);
      }
      for (const [mint, maxt] of [...windows, ...edges]) {
        // A meta there already stays: kept metas are appended.
        const metas = new ChunkMetaBuffer(1);
        metas.push(1, 2, 3);
        const labels: Label[] = [];
        const n = decodeSeriesForTime(e, 0, 'index', lookup(ir), labels, metas, mint, maxt, refs[i] * 16);
        const chunks = want[i].chunks.filter((c) => c.maxt >= mint && c.mint <= maxt);
        expect(n).toBe(chunks.length);
        expect(metas.length).toBe(1 + n);
        expect(metasOf(metas, 0, 1)).toEqual([{ mint: 1, maxt: 2, ref: 3 }]);
        expect(metasOf(metas, 1, n)).toEqual(chunks);
        expect(labels).toEqual(n > 0 ? want[i].labels : []);
      }
    }
  });

  it('appends series after series to one buffer, which grows', () => {
    const metas = new ChunkMetaBuffer(2);
    const n1 = decodeSeriesForTime(entry(1), 0, 'index', lookup(ir), [], metas, -Infinity, Infinity);
    const n2 = decodeSeriesForTime(entry(2), 0, 'index', lookup(ir), [], metas, -Infinity, Infinity);
    expect(n1).toBe(want[1].chunks.length);
    expect(n2).toBe(want[2].chunks.length);
    expect(metasOf(metas, 0, n1)).toEqual(want[1].chunks);
    expect(metasOf(metas, n1, n2)).toEqual(want[2].chunks);
  });

  it('reports an entry cut short instead of reading past it', () => {
    const i = want.findIndex((s) => s.chunks.length > 100);
    const e = entry(i);
    // Claim the body is 10 bytes shorter: chunk metas then run past the entry's end.
    const lenBytes = e.findIndex((b) => b < 0x80) + 1;
    let len = 0;
    for (let k = lenBytes - 1; k >= 0; k--) len = len * 128 + (e[k] & 0x7f);
    expect(lenBytes).toBe(2);
    const cut = e.slice();
    const shorter = len - 10;
    cut[0] = (shorter & 0x7f) | 0x80;
    cut[1] = shorter >> 7;
    const metas = new ChunkMetaBuffer();
    expect(() => decodeSeriesForTime(cut, 0, 'index', lookup(ir), [], metas, -Infinity, Infinity)).toThrow(CorruptionError);
    expect(() => decodeSeriesForTime(e.subarray(0, 40), 0, 'index', lookup(ir), [], metas, -Infinity, Infinity)).toThrow(CorruptionError);
    // Nothing of a failed entry stays in the buffer.
    expect(metas.length).toBe(0);
  });
});

describe('verifySeriesEntry', () => {
  it('accepts every written entry and rejects a flipped bit or a truncation', () => {
    const all = [...expandPostings(ir.postings('', ''))];
    expect(all).toEqual(refs);
    for (let i = 0; i < refs.length; i++) {
      const e = entry(i);
      expect(verifySeriesEntry(e, 0, 'index')).toBe(e.length);
      const bad = e.slice();
      bad[Math.floor(e.length / 2)] ^= 0x04;
      expect(() => verifySeriesEntry(bad, 0, 'index', 4096)).toThrow(/read series: invalid checksum/);
      expect(() => verifySeriesEntry(e.subarray(0, e.length - 1), 0, 'index')).toThrow(/runs past the end of data/);
    }
  });

  it('decodeSeries with verify=false skips only the CRC', () => {
    const e = entry(5);
    const bad = e.slice();
    bad[bad.length - 1] ^= 0xff; // the CRC itself
    const out: SeriesEntry = { labels: [], chunks: [] };
    expect(() => decodeSeries(bad, 0, 'index', lookup(ir), out)).toThrow(/invalid checksum/);
    decodeSeries(bad, 0, 'index', lookup(ir), out, 0, false);
    expect(out).toEqual(want[5]);
  });
});
