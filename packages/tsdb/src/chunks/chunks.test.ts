import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDir, tempDir } from '@thanos-ts/testutil';
import {
  ChunkReader,
  ChunkWriter,
  chunkRef,
  chunkRefOffset,
  chunkRefSegment,
  chunkSegmentFileName,
  parseChunkRecord,
} from './index.js';
import { CorruptionError, crc32c } from '../encoding/index.js';
import { chunkFromBytes, EncXOR, ValueType, XorChunk } from '../chunkenc/index.js';
import { promtoolCreateBlocks, readChunkRecords, readIndexSeries } from '../block/test-fixture.js';

function payload(i: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let j = 0; j < len; j++) b[j] = (i * 31 + j * 7) & 0xff;
  return b;
}

describe('chunk segment files', () => {
  let work = '';
  beforeAll(async () => {
    work = await tempDir('chunks');
  });
  afterAll(() => removeTempDir(work));

  it('names segments and packs refs like Prometheus', () => {
    expect(chunkSegmentFileName(1)).toBe('000001');
    expect(chunkSegmentFileName(1234567)).toBe('1234567');
    const ref = chunkRef(3, 0xfffffff0);
    expect(ref).toBe(3 * 2 ** 32 + 0xfffffff0);
    expect(chunkRefSegment(ref)).toBe(3);
    expect(chunkRefOffset(ref)).toBe(0xfffffff0);
  });

  it('writes records with header, length, encoding and CRC, cutting segments by size', async () => {
    const dir = join(work, 'b1', 'chunks');
    const w = new ChunkWriter(dir, { segmentSize: 1000, bufferSize: 100 });
    const refs: number[] = [];
    const lens = [10, 200, 1, 300, 129, 600, 5000, 7, 7, 900, 3];
    lens.forEach((len, i) => refs.push(w.writeChunk(i === 4 ? 2 : EncXOR, payload(i, len))));
    await w.close();
    expect(refs[0]).toBe(8); // first chunk right after the header
    const files = readdirSync(dir).sort();
    expect(files).toEqual(w.segmentFiles());
    // each segment: header + records, none above 1000 bytes unless holding a single chunk
    for (const f of files) {
      const b = readFileSync(join(dir, f));
      expect([...b.subarray(0, 8)]).toEqual([0x85, 0xbd, 0x40, 0xdd, 1, 0, 0, 0]);
      const records = readChunkRecords(join(dir, f));
      if (records.length > 1) expect(b.length).toBeLessThanOrEqual(1000);
    }
    // a record byte by byte: uvarint(129) = 81 01, encoding 2, data, CRC over encoding+data
    const seg = chunkRefSegment(refs[4]);
    const b = readFileSync(join(dir, chunkSegmentFileName(seg + 1)));
    const off = chunkRefOffset(refs[4]);
    expect([b[off], b[off + 1], b[off + 2]]).toEqual([0x81, 0x01, 2]);
    const crc = crc32c(b, off + 2, off + 3 + 129);
    expect(b.readUInt32BE(off + 3 + 129)).toBe(crc);

    const r = ChunkReader.open(dir);
    expect(r.segments().map((s) => s.name)).toEqual(files);
    lens.forEach((len, i) => {
      const c = r.chunk(refs[i]);
      expect(c.encoding).toBe(i === 4 ? 2 : EncXOR);
      expect(Buffer.from(c.data).equals(Buffer.from(payload(i, len)))).toBe(true);
    });
    // segment index is 0-based while file names start at 000001
    expect(chunkRefSegment(refs[refs.length - 1])).toBe(files.length - 1);
    // a byte range parsed by the pure function, with absolute offsets
    const start = chunkRefOffset(refs[1]);
    const range = r.readRange(chunkRefSegment(refs[1]), start, start + 400);
    const rec = parseChunkRecord(range, 0, 'chunks/000001', start);
    expect(rec.data.length).toBe(200);
    expect(rec.size).toBe(2 + 1 + 200 + 4);
    const next = parseChunkRecord(range, rec.size, 'chunks/000001', start);
    expect(next.data.length).toBe(1);
    r.close();
  });

  it('reports corruption with the segment file and offset', async () => {
    const dir = join(work, 'b2', 'chunks');
    const w = new ChunkWriter(dir, { segmentSize: 100 });
    const refs = [0, 1, 2].map((i) => w.writeChunk(EncXOR, payload(i, 60)));
    await w.close();
    expect(refs.map(chunkRefSegment)).toEqual([0, 1, 2]);
    const f2 = join(dir, '000002');
    const b = readFileSync(f2);
    b[8 + 1 + 1 + 10] ^= 0x40; // flip a data bit of the chunk in segment 000002
    writeFileSync(f2, b);
    writeFileSync(join(dir, '000003'), readFileSync(join(dir, '000003')).subarray(0, 40)); // truncate
    const r = ChunkReader.open(dir);
    expect(r.chunk(refs[0]).data.length).toBe(60);
    expect(() => r.chunk(refs[1])).toThrow(CorruptionError);
    expect(() => r.chunk(refs[1])).toThrow(/^chunks\/000002: offset 8: chunk checksum mismatch/);
    expect(() => r.chunk(refs[2])).toThrow(/^chunks\/000003: offset 8: chunk of 60 bytes needs 66 bytes, only 32 available/);
    expect(() => r.chunk(chunkRef(0, 3))).toThrow(/chunks\/000001: offset 3: .*outside the segment/);
    expect(() => r.chunk(chunkRef(0, 5000))).toThrow(/outside the segment/);
    expect(() => r.chunk(chunkRef(7, 8))).toThrow(/segment index 7 out of range \(3 segments\)/);
    expect(() => r.readRange(0, 0, 1e6)).toThrow(/chunks\/000001: offset 0: range/);
    r.close();
    writeFileSync(join(dir, '000001'), new Uint8Array([0x85, 0xbd, 0x40, 0xde, 1, 0, 0, 0, 0]));
    const r2 = ChunkReader.open(dir);
    expect(() => r2.chunk(refs[0])).toThrow(/chunks\/000001: offset 0: invalid magic number 0x85bd40de/);
    r2.close();
    expect(() => parseChunkRecord(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), 0, 'x', 100)).toThrow('x: offset 100: chunk length varint longer than 5 bytes');
    expect(() => new ChunkWriter(dir)).not.toThrow();
    const again = new ChunkWriter(dir);
    expect(() => again.writeChunk(1, payload(0, 3))).toThrow(/EEXIST/); // never overwrites segments
  });

  it('writes byte-identical segments to promtool and reads promtool blocks by index ref', async () => {
    const series = Array.from({ length: 40 }, (_, s) => ({
      name: `m_${String(s).padStart(2, '0')}`,
      samples: Array.from({ length: 130 + s * 7 }, (_, i) => ({ t: 1000 + i * 15_000 + ((i * s) % 5), v: Math.round(Math.sin(i / 10 + s) * 1000) / 10 })),
    }));
    const [block] = await promtoolCreateBlocks(series, join(work, 'prom'));
    const promFile = join(block.dir, 'chunks', '000001');
    const records = readChunkRecords(promFile);
    // re-write promtool's records through our writer: the file must be identical
    const ourDir = join(work, 'ours', 'chunks');
    const w = new ChunkWriter(ourDir, { bufferSize: 1000 });
    const refs = records.map((r) => w.writeChunk(r.encoding, r.data));
    await w.close();
    expect(refs).toEqual(records.map((r) => r.offset));
    expect(readFileSync(join(ourDir, '000001')).equals(readFileSync(promFile))).toBe(true);
    // every chunk ref in promtool's index resolves and decodes to the series' samples
    const r = ChunkReader.open(join(block.dir, 'chunks'));
    let n = 0;
    for (const s of readIndexSeries(join(block.dir, 'index'))) {
      const want = series.find((x) => x.name === s.labels.__name__)!.samples;
      let i = 0;
      for (const meta of s.chunks) {
        const rec = r.chunk(meta.ref);
        const it = chunkFromBytes(rec.encoding, rec.data).iterator();
        while (it.next() === ValueType.Float) {
          expect(it.atT()).toBe(want[i].t);
          expect(it.atF()).toBe(want[i].v);
          i++;
          n++;
        }
        expect(it.err()).toBeNull();
      }
      expect(i).toBe(want.length);
    }
    expect(n).toBe(series.reduce((a, s) => a + s.samples.length, 0));
    r.close();
    // our own XOR chunks read back through the reader
    const c = new XorChunk();
    c.appender().append(5, 6);
    const d2 = join(work, 'ours2', 'chunks');
    const w2 = new ChunkWriter(d2);
    const ref = w2.writeChunk(c.encoding, c.bytes());
    await w2.close();
    const r2 = ChunkReader.open(d2);
    expect(Buffer.from(r2.chunk(ref).data).equals(Buffer.from(c.bytes()))).toBe(true);
    r2.close();
  });
});
