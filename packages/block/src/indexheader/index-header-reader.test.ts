import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '@thanos-ts/objstore';
import {
  compareStrings,
  crc32c,
  EncodingBuffer,
  IndexReader,
  isCorruption,
  labelsFromRecord,
  readPostingsList,
  SeriesBuilder,
  type IndexReader as IndexReaderType,
} from '@thanos-ts/tsdb';
import { createBlocksFromOpenMetrics, removeTempDirs, rng, tempDir } from '@thanos-ts/testutil';
import { IndexHeaderReader, writeIndexHeader, type PostingsRange } from './index.js';

// Label values chosen so that UTF-8 byte order differs from JS (UTF-16) order:
// U+FFFD sorts before U+1F600 in UTF-8 but after its surrogates in UTF-16.
const PREFIXES = ['', 'a b', 'é', 'z', 'Ω', '\uFFFD', '\u{1F600}', 'q"\\'];
const NUM_SERIES = 400;

function testSeries(): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  const bVals = Array.from({ length: 100 }, (_, i) => `${PREFIXES[i % PREFIXES.length]}${i}`);
  for (let i = 0; i < NUM_SERIES; i++) {
    const rec: Record<string, string> = {
      __name__: `m${i % 3}`,
      id: `s${i}`,
      a: `v${String(i % 150).padStart(3, '0')}`, // 150 values > 3 × 32
      b: bVals[i % 100],
      d: `d${i % 33}`, // sampling + 1
      e: `e${i % 32}`, // exactly the sampling
      f: `f${i % 97}`,
      zz: `z${i % 200}`, // the last name: its last list is the last in the index
    };
    if (i % 50 === 0) rec.c = 'only';
    out.push(rec);
  }
  return out;
}

function omText(series: Record<string, string>[]): string {
  const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const byName = [...series].sort((x, y) => compareStrings(x.__name__, y.__name__));
  let om = '';
  for (const s of byName) {
    const ls = Object.keys(s)
      .filter((k) => k !== '__name__')
      .map((k) => `${k}="${esc(s[k])}"`)
      .join(',');
    om += `${s.__name__}{${ls}} 1 0\n`;
  }
  return om + '# EOF\n';
}

interface TestBlock {
  what: string;
  id: string;
  indexBytes: Uint8Array;
  ir: IndexReaderType;
  headerFile: string;
}

const blocks: TestBlock[] = [];
let bktDir: string;
let bkt: FilesystemBucket;
let dataDir: string;

async function addBlock(what: string, blockDir: string, id: string): Promise<void> {
  const indexBytes = new Uint8Array(await readFile(join(blockDir, id, 'index')));
  await bkt.upload(`${id}/index`, indexBytes);
  const headerFile = join(dataDir, id, 'index-header');
  await writeIndexHeader(bkt, id, headerFile);
  blocks.push({ what, id, indexBytes, ir: new IndexReader(indexBytes, `${id}/index`), headerFile });
}

beforeAll(async () => {
  bktDir = await tempDir('ih-bkt');
  bkt = new FilesystemBucket(bktDir);
  dataDir = await tempDir('ih-data');
  const series = testSeries();

  const promDir = await tempDir('ih-promtool');
  const ids = await createBlocksFromOpenMetrics(omText(series), promDir);
  expect(ids).toHaveLength(1);
  await addBlock('promtool', promDir, ids[0]);

  const ourDir = await tempDir('ih-ours');
  const sb = new SeriesBuilder();
  for (const s of series) sb.append(labelsFromRecord(s), 0, 1);
  const written = await sb.writeBlock(ourDir);
  await addBlock('BlockWriter', ourDir, written!.ulid);
});
afterAll(removeTempDirs);

/** Reads the postings list at range from the index, checking the range is exactly the list. */
function listAt(indexBytes: Uint8Array, r: PostingsRange): number[] {
  const bytes = indexBytes.subarray(r.start, r.end);
  const { start, count } = readPostingsList(bytes, 0, 'index', r.start);
  expect(r.end - r.start).toBe(12 + 4 * count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: count }, (_, i) => view.getUint32(start + 4 * i));
}

function postingsOf(ir: IndexReaderType, name: string, value: string): number[] {
  const p = ir.postings(name, value);
  const out: number[] = [];
  while (p.next()) out.push(p.at());
  expect(p.err()).toBeNull();
  return out;
}

/** A value strictly between v and the next larger value (no value contains NUL). */
const after = (v: string): string => `${v}\u0000`;

describe('IndexHeaderReader against IndexReader', () => {
  it('builds blocks that exercise the sampling and the last-list rule', () => {
    const [prom, ours] = blocks;
    // promtool 2.42 still writes the label offset table between the last postings list
    // and the postings offset table; our writer (as Prometheus >= 3.7) does not.
    expect(prom.ir.toc.labelIndicesTable).toBeLessThan(prom.ir.toc.postingsTable);
    expect(ours.ir.toc.labelIndicesTable).toBe(ours.ir.toc.postingsTable);
    for (const b of blocks) {
      expect(b.ir.labelValues('a')).toHaveLength(150);
      expect(b.ir.labelValues('id')).toHaveLength(NUM_SERIES);
      expect(b.ir.labelNames().at(-1)).toBe('zz');
    }
  });

  for (const sampling of [1, 2, 3, 7, 32, 1000]) {
    it(`answers as the index does (sampling ${sampling})`, async () => {
      for (const b of blocks) {
        const hr = await IndexHeaderReader.open(b.headerFile, { postingOffsetsInMemSampling: sampling });
        const { ir } = b;
        expect(hr.indexVersion).toBe(2);
        expect(hr.labelNames()).toEqual(ir.labelNames());
        expect(hr.labelNames()).not.toContain('');

        for (let i = 0; i < ir.symbolCount; i++) expect(hr.lookupSymbol(i)).toBe(ir.lookupSymbol(i));
        expect(() => hr.lookupSymbol(ir.symbolCount)).toThrow(RangeError);
        expect(() => hr.lookupSymbol(-1)).toThrow(RangeError);

        for (const name of ['', ...ir.labelNames()]) {
          const values = name === '' ? [''] : ir.labelValues(name);
          expect(hr.labelValues(name), `${b.what} ${name}`).toEqual(values);
          expect(hr.labelValues(name, (v) => v.length % 2 === 0)).toEqual(values.filter((v) => v.length % 2 === 0));

          // All at once, in order: every range is exactly the list the index holds.
          const ranges = hr.postingsRanges(name, values);
          for (let i = 0; i < values.length; i++) {
            expect(ranges[i], `${b.what} ${name}=${values[i]}`).not.toBeNull();
            expect(listAt(b.indexBytes, ranges[i]!)).toEqual(postingsOf(ir, name, values[i]));
          }
          // One at a time, and with unknown values before, between and after.
          for (let i = 0; i < values.length; i++) {
            expect(hr.postingsRanges(name, [values[i]])).toEqual([ranges[i]]);
            expect(hr.postingsRanges(name, [after(values[i])])).toEqual([null]);
          }
          const unknown = ['', '\u0000', after(values[values.length - 1]), '\u{10FFFF}'].filter((v) => !values.includes(v));
          expect(hr.postingsRanges(name, unknown)).toEqual(unknown.map(() => null));

          // Mixed, shuffled, with duplicates and unknowns.
          const rand = rng(sampling * 1000 + values.length);
          const mixed = [...values, ...values.slice(0, 5), ...values.map(after), ...unknown].sort(() => rand() - 0.5);
          const expected = mixed.map((v) => {
            const i = values.indexOf(v);
            return i < 0 ? null : ranges[i];
          });
          expect(hr.postingsRanges(name, mixed)).toEqual(expected);
          expect(hr.postingsRanges(name, [...values].reverse())).toEqual([...ranges].reverse());

          // Matching: all, every third, none.
          expect(hr.postingsRangesMatching(name, () => true)).toEqual(values.map((value, i) => ({ value, range: ranges[i] })));
          const third = (v: string): boolean => values.indexOf(v) % 3 === 1;
          expect(hr.postingsRangesMatching(name, third)).toEqual(
            values.flatMap((value, i) => (third(value) ? [{ value, range: ranges[i] }] : [])),
          );
          expect(hr.postingsRangesMatching(name, () => false)).toEqual([]);
        }

        expect(hr.labelValues('nope')).toEqual([]);
        expect(hr.postingsRanges('nope', ['x', 'y'])).toEqual([null, null]);
        expect(hr.postingsRangesMatching('nope', () => true)).toEqual([]);
        expect(hr.postingsRanges('a', [])).toEqual([]);
        hr.close();
      }
    });
  }

  it('ends the last postings list exactly, not at lastPostingEnd', async () => {
    for (const b of blocks) {
      const hr = await IndexHeaderReader.open(b.headerFile);
      const values = b.ir.labelValues('zz');
      const [r] = hr.postingsRanges('zz', [values[values.length - 1]]);
      expect(r!.end).toBe(b.ir.toc.labelIndicesTable);
      expect(hr.lastPostingEnd).toBe(b.ir.toc.postingsTable);
      expect(listAt(b.indexBytes, r!)).toEqual(postingsOf(b.ir, 'zz', values[values.length - 1]));
    }
  });

  it('holds far less than the index and reports it', async () => {
    for (const b of blocks) {
      const hr = await IndexHeaderReader.open(b.headerFile);
      const fileSize = (await readFile(b.headerFile)).length;
      expect(hr.byteSize).toBeGreaterThan(fileSize);
      // The file, the sampled tables and a fixed 1024-entry symbol cache.
      expect(hr.byteSize).toBeLessThan(fileSize + 32 * 1024);
      hr.close();
      expect(hr.byteSize).toBe(0);
      expect(() => hr.labelNames()).toThrow(/closed/);
    }
  });

  it('rejects a bad sampling option', async () => {
    await expect(IndexHeaderReader.open(blocks[0].headerFile, { postingOffsetsInMemSampling: 0 })).rejects.toThrow(RangeError);
  });
});

describe('IndexHeaderReader corruption', () => {
  async function corruptCopy(name: string, edit: (b: Buffer) => Buffer): Promise<string> {
    const file = join(await tempDir('ih-corrupt'), name);
    await writeFile(file, edit(await readFile(blocks[0].headerFile)));
    return file;
  }

  async function expectCorrupt(file: string, re: RegExp): Promise<void> {
    const err = await IndexHeaderReader.open(file).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isCorruption(err), String(err)).toBe(true);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(re);
  }

  it('rejects a truncated file', async () => {
    await expectCorrupt(await corruptCopy('short', (b) => b.subarray(0, 10)), /too small/);
    await expectCorrupt(await corruptCopy('half', (b) => b.subarray(0, b.length >> 1)), /checksum/);
    await expectCorrupt(await corruptCopy('empty', () => Buffer.alloc(0)), /too small/);
  });

  it('rejects a flipped byte in the TOC, the symbols or the postings offset table', async () => {
    const flip = (at: (b: Buffer) => number) => (b: Buffer) => {
      const c = Buffer.from(b);
      c[at(c)] ^= 0x10;
      return c;
    };
    await expectCorrupt(await corruptCopy('toc', flip((b) => b.length - 12)), /TOC: invalid checksum/);
    await expectCorrupt(await corruptCopy('toc-crc', flip((b) => b.length - 1)), /TOC: invalid checksum/);
    await expectCorrupt(await corruptCopy('symbols', flip(() => 30)), /read symbols: invalid checksum/);
    // Inside the postings offset table: just before the 52-byte index TOC and 20-byte TOC.
    await expectCorrupt(await corruptCopy('table', flip((b) => b.length - 20 - 52 - 10)), /postings offset table: invalid checksum/);
    await expectCorrupt(await corruptCopy('index-toc', flip((b) => b.length - 20 - 20)), /read TOC: invalid checksum/);
  });

  it('rejects a bad magic, version or index version', async () => {
    await expectCorrupt(await corruptCopy('magic', (b) => Buffer.concat([Buffer.from([0xba, 0xaa, 0xd7, 0x00]), b.subarray(4)])), /magic/);
    await expectCorrupt(await corruptCopy('version', (b) => Buffer.concat([b.subarray(0, 4), Buffer.from([2]), b.subarray(5)])), /version 2/);
    await expectCorrupt(await corruptCopy('index-version', (b) => Buffer.concat([b.subarray(0, 5), Buffer.from([3]), b.subarray(6)])), /index version 3/);
  });
});

describe('IndexHeaderReader on a v1 index', () => {
  // A hand-made index in format v1 (Prometheus < 2.13): symbol references are byte
  // offsets, and the postings offset table is in write order, not sorted.
  const entries: [string, string, number[]][] = [
    ['', '', [1, 2, 3, 4, 5]],
    ['job', 'z', [1, 5]],
    ['a', '\u{1F600}', [2]],
    ['job', 'api', [3]],
    ['a', '\uFFFD', [4, 5]],
    ['zz', 'x', [1, 2, 3, 4, 5]],
    ['a', 'é', [1, 3]],
    ['job', 'b', [2, 4]],
  ];

  function v1Index(): { bytes: Uint8Array; symbolOffsets: Map<string, number>; lastList: [number, number] } {
    const e = new EncodingBuffer();
    const crc = (from: number): void => e.putBE32(crc32c(e.get(), from, e.length));
    const section = (body: () => void): number => {
      const at = e.length;
      e.putBE32(0);
      body();
      e.setBE32(at, e.length - at - 4);
      crc(at + 4);
      return at;
    };
    e.putBE32(0xbaaad700);
    e.putByte(1);
    const syms = [...new Set(entries.flatMap(([n, v]) => [n, v]))].filter((s) => s !== '').sort(compareStrings);
    const symbolOffsets = new Map<string, number>();
    const symbolsAt = section(() => {
      e.putBE32(syms.length);
      for (const s of syms) {
        symbolOffsets.set(s, e.length);
        e.putUvarintStr(s);
      }
    });
    e.padTo(16);
    const seriesAt = e.length;
    const postingsAt = e.length;
    const offsets: number[] = [];
    for (const [, , refs] of entries) {
      offsets.push(
        section(() => {
          e.putBE32(refs.length);
          for (const r of refs) e.putBE32(r);
        }),
      );
    }
    const lastList: [number, number] = [offsets[offsets.length - 1], e.length];
    const labelOffsetTableAt = section(() => e.putBE32(0));
    const postingsTableAt = section(() => {
      e.putBE32(entries.length);
      entries.forEach(([n, v], i) => {
        e.putUvarint(2);
        e.putUvarintStr(n);
        e.putUvarintStr(v);
        e.putUvarint(offsets[i]);
      });
    });
    const tocAt = e.length;
    for (const v of [symbolsAt, seriesAt, postingsAt, labelOffsetTableAt, postingsAt, postingsTableAt]) e.putBE64(v);
    crc(tocAt);
    return { bytes: e.get().slice(), symbolOffsets, lastList };
  }

  it('reads symbols by offset and the unsorted postings offset table', async () => {
    const { bytes, symbolOffsets, lastList } = v1Index();
    const id = '01HV1V1V1V1V1V1V1V1V1V1V1V';
    await bkt.upload(`${id}/index`, bytes);
    const file = join(dataDir, id, 'index-header');
    await writeIndexHeader(bkt, id, file);
    for (const sampling of [1, 32]) {
      const hr = await IndexHeaderReader.open(file, { postingOffsetsInMemSampling: sampling });
      expect(hr.indexVersion).toBe(1);
      for (const [s, off] of symbolOffsets) expect(hr.lookupSymbol(off)).toBe(s);
      expect(() => hr.lookupSymbol(3)).toThrow(RangeError);
      expect(() => hr.lookupSymbol(bytes.length)).toThrow(RangeError);

      expect(hr.labelNames()).toEqual(['a', 'job', 'zz']);
      expect(hr.labelValues('a')).toEqual(['é', '\uFFFD', '\u{1F600}']);
      expect(hr.labelValues('job')).toEqual(['api', 'b', 'z']);
      expect(hr.labelValues('job', (v) => v !== 'b')).toEqual(['api', 'z']);
      for (const [n, v, refs] of entries) {
        const [r] = hr.postingsRanges(n, [v]);
        expect(listAt(bytes, r!)).toEqual(refs);
      }
      // The last list written ends at the label offset table.
      const [last] = hr.postingsRanges('job', ['b']);
      expect([last!.start, last!.end]).toEqual(lastList);

      const job = hr.postingsRanges('job', ['z', 'nope', 'api', 'b', '']);
      expect(job.map((r) => (r ? listAt(bytes, r) : null))).toEqual([[1, 5], null, [3], [2, 4], null]);
      expect(hr.postingsRangesMatching('a', (v) => v !== 'é').map(({ value, range }) => [value, listAt(bytes, range)])).toEqual([
        ['\uFFFD', [4, 5]],
        ['\u{1F600}', [2]],
      ]);
      hr.close();
    }
  });
});
