import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, rng, tempDir } from '@thanos-ts/testutil';
import { CorruptionError, crc32c } from '../encoding/index.js';
import { compareLabels, compareStrings, labelsFromStrings, type Labels } from '../labels/index.js';
import { MatchType, newMatcher } from '../matchers/index.js';
import { expandPostings, postingsForMatchers } from '../postings/index.js';
import {
  IndexReader,
  IndexWriter,
  readPostingsList,
  TOC_LEN,
  type ChunkMeta,
  type SeriesEntry,
} from './index.js';

afterAll(removeTempDirs);

interface TestSeries {
  labels: Labels;
  chunks: ChunkMeta[];
}

/** Series with varied names and values, including ones whose UTF-16 and UTF-8 orders differ. */
function makeSeries(n: number, seed: number): TestSeries[] {
  const r = rng(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
  const values = ['a', 'b', 'api', 'ü', 'é', '日本', '\u{1F600}', '\uFF5A', 'x y', 'a"b\\c', '\n', 'z'.repeat(40)];
  const seen = new Set<string>();
  const out: TestSeries[] = [];
  while (out.length < n) {
    const nv = ['__name__', pick(['up', 'http_requests_total', 'go_gc', 'métrique'])];
    for (const name of ['instance', 'job', 'le', 'zone', 'ünïcode']) {
      if (r() < 0.6) nv.push(name, name === 'instance' ? `host-${Math.floor(r() * 50)}` : pick(values));
    }
    const labels = labelsFromStrings(...nv);
    const key = JSON.stringify(labels);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ labels, chunks: [] });
  }
  out.sort((a, b) => compareLabels(a.labels, b.labels));
  // Increasing chunk refs across series; non-overlapping, increasing times within one.
  let ref = 8;
  for (const s of out) {
    let t = -5000 + Math.floor(r() * 10_000);
    const k = Math.floor(r() * 4);
    for (let i = 0; i < k; i++) {
      const mint = t + 1 + Math.floor(r() * 1000);
      const maxt = mint + Math.floor(r() * 100_000);
      s.chunks.push({ mint, maxt, ref });
      ref += 1 + Math.floor(r() * 5000);
      if (r() < 0.1) ref += 2 ** 32; // next segment
      t = maxt;
    }
  }
  return out;
}

function symbolsOf(series: TestSeries[]): string[] {
  const set = new Set<string>();
  for (const s of series) for (const l of s.labels) set.add(l.name).add(l.value);
  return [...set].sort(compareStrings);
}

function writeIndex(path: string, series: TestSeries[]): number[] {
  const w = new IndexWriter(path);
  w.addSymbols(symbolsOf(series));
  const refs = series.map((s) => w.addSeries(s.labels, s.chunks));
  w.close();
  return refs;
}

/** Everything a reader exposes, for comparing two readings. */
function readAll(ir: IndexReader): unknown {
  const all = expandPostings(ir.postings('', ''));
  const series = [...all].map((ref) => {
    const e = ir.series(ref);
    return { ref, labels: e.labels, chunks: e.chunks };
  });
  const postings: Record<string, number[]> = {};
  for (const n of ir.labelNames()) for (const v of ir.labelValues(n)) postings[`${n}=${v}`] = [...expandPostings(ir.postings(n, v))];
  return { symbols: [...ir.symbols()], names: ir.labelNames(), series, postings };
}

let dir: string;
beforeAll(async () => {
  dir = await tempDir('index-test');
});

describe('IndexWriter → IndexReader', () => {
  it('round-trips series, chunks, symbols, label values and postings', () => {
    const series = makeSeries(400, 1);
    const path = join(dir, 'roundtrip');
    const refs = writeIndex(path, series);
    const ir = IndexReader.fromFile(path, 'index');

    expect(ir.version).toBe(2);
    expect([...ir.symbols()]).toEqual(symbolsOf(series));
    expect([...expandPostings(ir.postings('', ''))]).toEqual(refs);
    // Refs ascend with label order, and the entries are 16-byte aligned.
    for (let i = 1; i < refs.length; i++) expect(refs[i]).toBeGreaterThan(refs[i - 1]);
    const reuse: SeriesEntry = { labels: [], chunks: [] };
    series.forEach((s, i) => {
      const e = ir.series(refs[i], reuse);
      expect(e.labels).toEqual(s.labels);
      expect(e.chunks).toEqual(s.chunks);
    });

    const names = [...new Set(series.flatMap((s) => s.labels.map((l) => l.name)))].sort(compareStrings);
    expect(ir.labelNames()).toEqual(names);
    for (const n of names) {
      const vals = [...new Set(series.flatMap((s) => s.labels.filter((l) => l.name === n).map((l) => l.value)))].sort(compareStrings);
      expect(ir.labelValues(n)).toEqual(vals);
      for (const v of vals) {
        const want = refs.filter((_, i) => series[i].labels.some((l) => l.name === n && l.value === v));
        expect([...expandPostings(ir.postings(n, v))]).toEqual(want);
      }
      // Several values at once: the union.
      const want = refs.filter((_, i) => series[i].labels.some((l) => l.name === n && (l.value === vals[0] || l.value === vals[vals.length - 1])));
      expect([...expandPostings(ir.postings(n, vals[vals.length - 1], 'no such value', vals[0], vals[0]))]).toEqual(want);
    }
    expect([...expandPostings(ir.postings('nope', 'x'))]).toEqual([]);
    expect(ir.labelValues('nope')).toEqual([]);

    // Matchers select what brute force selects.
    const ms = [newMatcher(MatchType.EQ, 'job', 'api'), newMatcher(MatchType.RE, 'instance', 'host-1.*'), newMatcher(MatchType.NEQ, 'zone', '日本')];
    const got = [...expandPostings(postingsForMatchers(ir, ms))];
    const want = refs.filter((_, i) => ms.every((m) => m.matches(series[i].labels.find((l) => l.name === m.name)?.value ?? '')));
    expect(got).toEqual(want);
    expect(want.length).toBeGreaterThan(0);
  });

  it('lays the file out as Prometheus does: aligned, contiguous postings, aliased TOC', () => {
    const series = makeSeries(50, 2);
    const path = join(dir, 'layout');
    const refs = writeIndex(path, series);
    const ir = IndexReader.fromFile(path);
    const toc = ir.toc;
    expect(toc.symbols).toBe(5);
    expect(toc.labelIndices).toBe(toc.postings);
    expect(toc.labelIndicesTable).toBe(toc.postingsTable);
    expect(refs[0] * 16).toBe(Math.ceil(toc.series / 16) * 16);
    // Walk the postings lists in offset-table order: each starts where the previous
    // ended (padded to 4) and the last ends at the postings offset table.
    const b = ir.bytes;
    let pos = Math.ceil(toc.postings / 4) * 4;
    const offsets: number[] = [];
    const names = ['', ...ir.labelNames()];
    for (const n of names) {
      for (const v of n === '' ? [''] : ir.labelValues(n)) {
        const l = readPostingsList(b, pos, 'index');
        offsets.push(pos);
        expect(expandPostings(ir.postings(n, v)).length).toBe(l.count);
        pos = l.start + 4 * l.count + 4;
      }
    }
    expect(pos).toBe(toc.postingsTable);
    expect(b.length - TOC_LEN).toBeGreaterThan(toc.postingsTable);
  });

  it('writes an empty index that reads back empty', () => {
    const path = join(dir, 'empty');
    const w = new IndexWriter(path);
    w.close();
    const ir = IndexReader.fromFile(path);
    expect([...ir.symbols()]).toEqual([]);
    expect(ir.labelNames()).toEqual([]);
    expect([...expandPostings(ir.postings('', ''))]).toEqual([]);
  });

  it('rejects what Prometheus rejects', () => {
    const path = join(dir, 'errors');
    const w = new IndexWriter(path);
    w.addSymbols(['a', 'b', 'c']);
    expect(() => w.addSymbol('d')).not.toThrow();
    expect(() => w.addSymbol('c')).toThrow('symbol "c" out-of-order');
    w.addSeries(labelsFromStrings('a', 'b'), [{ mint: 0, maxt: 10, ref: 100 }]);
    expect(() => w.addSymbol('e')).toThrow('invalid stage "symbols", currently at "series"');
    expect(() => w.addSeries(labelsFromStrings('a', 'b'), [])).toThrow('out-of-order series');
    expect(() => w.addSeries(labelsFromStrings('a', 'a'), [])).toThrow('out-of-order series');
    expect(() => w.addSeries(labelsFromStrings('a', 'c'), [{ mint: 0, maxt: 10, ref: 99 }])).toThrow('unsorted chunk reference: 99, previous: 100');
    expect(() => w.addSeries(labelsFromStrings('a', 'c'), [{ mint: 5, maxt: 4, ref: 100 }])).toThrow('chunk maxT 4 is less than minT 5');
    expect(() =>
      w.addSeries(labelsFromStrings('a', 'c'), [
        { mint: 0, maxt: 10, ref: 100 },
        { mint: 10, maxt: 20, ref: 200 },
      ]),
    ).toThrow('chunk minT 10 is not higher than previous chunk maxT 10');
    expect(() => w.addSeries(labelsFromStrings('a', 'zzz'), [])).toThrow('symbol entry for "zzz" does not exist');
    expect(() => w.addSeries([{ name: 'b', value: 'a' }, { name: 'a', value: 'c' }], [])).toThrow('labels not sorted');
    expect(w.addSeries(7, labelsFromStrings('a', 'c'), [{ mint: 0, maxt: 1, ref: 100 }])).toBeGreaterThan(0);
    expect(() => w.addSeries(6, labelsFromStrings('a', 'd'), [])).toThrow('series with reference greater than 6 already added');
    w.close();
    // The failed calls left nothing behind.
    const ir = IndexReader.fromFile(path);
    expect([...expandPostings(ir.postings('', ''))].map((r) => ir.series(r).labels)).toEqual([
      labelsFromStrings('a', 'b'),
      labelsFromStrings('a', 'c'),
    ]);
    expect(ir.labelValues('a')).toEqual(['b', 'c']);
  });
});

describe('corruption', () => {
  let path: string;
  let good: Uint8Array;
  let want: unknown;
  beforeAll(() => {
    path = join(dir, 'corrupt-base');
    writeIndex(path, makeSeries(20, 3));
    good = new Uint8Array(readFileSync(path));
    want = readAll(new IndexReader(good));
  });

  function corruptionOf(b: Uint8Array): CorruptionError {
    try {
      readAll(new IndexReader(b, 'index'));
    } catch (e) {
      if (e instanceof CorruptionError) return e;
      throw e;
    }
    throw new Error('no error');
  }

  it('bad magic, unknown version, v1, truncation', () => {
    const magic = good.slice();
    magic[1] ^= 0xff;
    expect(corruptionOf(magic)).toMatchObject({ file: 'index', offset: 0, reason: expect.stringContaining('invalid magic number') });
    const v9 = good.slice();
    v9[4] = 9;
    expect(corruptionOf(v9)).toMatchObject({ offset: 4, reason: 'unknown index file version 9' });
    // Version 3 is read as 2, as Prometheus ≥ 3.0 does.
    const v3 = good.slice();
    v3[4] = 3;
    expect(readAll(new IndexReader(v3))).toEqual(want);
    expect(new IndexReader(v3).version).toBe(3);
    const v1 = good.slice();
    v1[4] = 1;
    expect(corruptionOf(v1).reason).toMatch(/unsupported index format version 1/);
    expect(corruptionOf(good.subarray(0, 3)).reason).toMatch(/file too small/);
    for (const len of [good.length - 1, good.length - 60, Math.floor(good.length / 2), 60]) {
      const e = corruptionOf(good.subarray(0, len));
      expect(e.file).toBe('index');
      expect(e.offset).toBeGreaterThanOrEqual(0);
      expect(e.offset).toBeLessThan(len);
    }
  });

  it('a flipped byte in the TOC, a series entry, a postings list', () => {
    const ir = new IndexReader(good);
    const toc = good.slice();
    toc[good.length - 20] ^= 1;
    expect(corruptionOf(toc)).toMatchObject({ offset: good.length - TOC_LEN, reason: 'read TOC: invalid checksum' });

    const ref = [...expandPostings(ir.postings('', ''))][3];
    const ser = good.slice();
    ser[ref * 16 + 3] ^= 0x10;
    expect(corruptionOf(ser)).toMatchObject({ offset: ref * 16, reason: 'read series: invalid checksum' });

    const first = ir.labelNames()[0];
    const at = firstPostingsOffset(good, first);
    const post = good.slice();
    post[at + 9] ^= 0x01;
    expect(corruptionOf(post)).toMatchObject({ offset: at, reason: 'decode postings: invalid checksum' });
  });

  it('every single flipped byte is reported or harmless, never wrong data', () => {
    // Exhaustive over the whole file: a flip either surfaces as a CorruptionError or hits
    // bytes no reader looks at (alignment padding), in which case the data is unchanged.
    let reported = 0;
    let harmless = 0;
    const b = good.slice();
    for (let i = 0; i < b.length; i++) {
      b[i] ^= 0x41;
      let got: unknown;
      try {
        got = readAll(new IndexReader(b, 'index'));
      } catch (e) {
        if (!(e instanceof CorruptionError)) throw new Error(`byte ${i}: ${String(e)}`);
        expect(e.file).toBe('index');
        reported++;
      }
      if (got !== undefined) {
        expect(got, `byte ${i}`).toEqual(want);
        expect(b[i] ^ 0x41, `byte ${i} is padding`).toBe(0);
        harmless++;
      }
      b[i] ^= 0x41;
    }
    expect(reported + harmless).toBe(b.length);
    expect(harmless).toBeLessThan(b.length / 10);
  });

  it('a series ref outside the series section', () => {
    const ir = new IndexReader(good);
    expect(() => ir.series(0)).toThrow(CorruptionError);
    expect(() => ir.series(good.length)).toThrow(/outside the series section/);
  });

  it('an unsorted postings offset table with valid checksums', () => {
    // Swap two label values in the table and fix the CRC: still detected.
    const b = good.slice();
    const ir = new IndexReader(good);
    const start = ir.toc.postingsTable;
    const len = new DataView(b.buffer).getUint32(start);
    const table = Buffer.from(b.subarray(start + 4, start + 4 + len));
    const s = table.toString('latin1');
    const i = s.indexOf('host-1');
    const j = s.indexOf('host-2');
    expect(i).toBeGreaterThan(0);
    table.write('host-2', i, 'latin1');
    table.write('host-1', j, 'latin1');
    b.set(table, start + 4);
    new DataView(b.buffer).setUint32(start + 4 + len, crc32c(b, start + 4, start + 4 + len));
    expect(corruptionOf(b).reason).toMatch(/postings offset table not sorted/);
  });
});

/** Offset of the postings list of the first value of `name`, found via the reader's table. */
function firstPostingsOffset(b: Uint8Array, name: string): number {
  const ir = new IndexReader(b);
  // The first value's list follows the all-postings list directly when name is the first name.
  const allAt = Math.ceil(ir.toc.postings / 4) * 4;
  const all = readPostingsList(b, allAt, 'index');
  expect(ir.labelNames()[0]).toBe(name);
  return all.start + 4 * all.count + 4;
}
