import { mkdir, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, rng, tempDir } from '@thanos-ts/testutil';
import { crc32c } from '../encoding/crc32c.js';
import { labelsFromStrings } from '../labels/labels.js';
import {
  decodeMetadata,
  decodeSamples,
  decodeSeries,
  decodeTombstones,
  encodeMetadata,
  encodeMmapMarkers,
  encodeSamples,
  encodeSeries,
  encodeTombstones,
  RecordType,
  recordType,
} from '../record/record.js';
import {
  checkpoint,
  deleteCheckpoints,
  isWalCorruption,
  lastCheckpoint,
  listSegments,
  readRecords,
  repair,
  segmentName,
  WAL_PAGE_SIZE,
  WalCorruptionError,
  WL,
} from './index.js';

afterAll(removeTempDirs);

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const r of it) out.push(r.slice());
  return out;
}

/** Records and the error that ended the read, if any. */
async function collectUntilError(it: AsyncIterable<Uint8Array>): Promise<{ recs: Uint8Array[]; err: unknown }> {
  const recs: Uint8Array[] = [];
  try {
    for await (const r of it) recs.push(r.slice());
    return { recs, err: null };
  } catch (err) {
    return { recs, err };
  }
}

function randomRecord(r: () => number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = Math.floor(r() * 256);
  return b;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('WL', () => {
  it('writes a small record as one full fragment and pads the page on close', async () => {
    const dir = await tempDir('wal');
    const w = await WL.open(dir);
    expect(await w.segments()).toEqual({ first: 0, last: 0 });
    const rec = Uint8Array.of(1, 2, 3);
    await w.log(rec);
    // Flushed, not padded: the file ends with the record.
    expect((await stat(segmentName(dir, 0))).size).toBe(10);
    await w.close();
    const b = await readFile(segmentName(dir, 0));
    expect(b.length).toBe(WAL_PAGE_SIZE);
    const crc = crc32c(rec).toString(16).padStart(8, '0');
    expect(hex(b.subarray(0, 10))).toBe('01' + '0003' + crc + '010203');
    expect(b.subarray(10).every((x) => x === 0)).toBe(true);
    expect(await collect(readRecords(dir))).toEqual([rec]);
  });

  it('fragments records across pages (bigger than a page, bigger than 32 KiB) and keeps them whole', async () => {
    const dir = await tempDir('wal');
    const r = rng(7);
    const sizes = [0, 1, 100, WAL_PAGE_SIZE - 7, WAL_PAGE_SIZE - 14, WAL_PAGE_SIZE, 3 * WAL_PAGE_SIZE + 123, 5, 70_000, 1];
    const recs = sizes.map((n) => randomRecord(r, n));
    const w = await WL.open(dir);
    await w.log(...recs.slice(0, 4));
    for (const rec of recs.slice(4)) await w.log(rec);
    await w.close();
    expect(await collect(readRecords(dir))).toEqual(recs);
    // The 100 KiB record starts with a first fragment filling the rest of its page.
    const b = await readFile(segmentName(dir, 0));
    const types = new Set<number>();
    for (let p = 0; p < b.length; p += WAL_PAGE_SIZE) types.add(b[p] & 7);
    expect(types).toContain(3); // a page opening with a middle fragment
    expect(types).toContain(4); // ... and one with a last fragment
  });

  it('never splits a record across segments; reopening starts a new segment', async () => {
    const dir = await tempDir('wal');
    const r = rng(8);
    const w = await WL.open(dir, { segmentSize: 2 * WAL_PAGE_SIZE });
    const recs: Uint8Array[] = [];
    for (let i = 0; i < 20; i++) recs.push(randomRecord(r, 1000 + Math.floor(r() * 30_000)));
    for (const rec of recs) await w.log(rec);
    await w.close();
    const segs = await listSegments(dir);
    expect(segs.length).toBeGreaterThan(5);
    let n = 0;
    for (const s of segs) {
      // every segment reads on its own: no record starts in one and ends in the next
      const inSeg = await collect(readRecords(dir, s.index, s.index));
      n += inSeg.length;
      expect((await stat(segmentName(dir, s.index))).size).toBeLessThanOrEqual(2 * WAL_PAGE_SIZE);
    }
    expect(n).toBe(recs.length);
    expect(await collect(readRecords(dir))).toEqual(recs);

    const w2 = await WL.open(dir, { segmentSize: 2 * WAL_PAGE_SIZE });
    expect(w2.activeSegment).toBe(segs[segs.length - 1].index + 1);
    await w2.log(Uint8Array.of(9));
    await w2.close();
    expect((await collect(readRecords(dir))).at(-1)).toEqual(Uint8Array.of(9));
  });

  it('nextSegment, segments and truncate', async () => {
    const dir = await tempDir('wal');
    const w = await WL.open(dir);
    await w.log(Uint8Array.of(1));
    expect(await w.nextSegment()).toBe(1);
    await w.log(Uint8Array.of(2));
    expect(await w.nextSegment()).toBe(2);
    await w.log(Uint8Array.of(3));
    expect(await w.segments()).toEqual({ first: 0, last: 2 });
    await w.truncate(2);
    expect(await w.segments()).toEqual({ first: 2, last: 2 });
    await w.close();
    expect(await collect(readRecords(dir))).toEqual([Uint8Array.of(3)]);
    await expect(w.log(Uint8Array.of(4))).rejects.toThrow(/closed/);
  });

  it('compresses records with snappy when that makes them smaller, flagging the fragments', async () => {
    const dir = await tempDir('wal');
    const w = await WL.open(dir, { compress: true });
    const big = new Uint8Array(100_000).fill(7);
    const small = Uint8Array.of(5, 6);
    await w.log(big, small);
    await w.close();
    const b = await readFile(segmentName(dir, 0));
    expect(b[0]).toBe(0x08 | 1); // compressed full record
    expect(b.length).toBe(WAL_PAGE_SIZE);
    expect(await collect(readRecords(dir))).toEqual([big, small]);
  });

  it("sync 'always' shares fsyncs between concurrent writers and keeps their order", async () => {
    const dir = await tempDir('wal');
    const w = await WL.open(dir, { sync: 'always' });
    const recs = Array.from({ length: 50 }, (_, i) => Uint8Array.of(i));
    await Promise.all(recs.map((r) => w.log(r)));
    await w.close();
    expect(await collect(readRecords(dir))).toEqual(recs);
  });
});

describe('corruption and repair', () => {
  it('a missing directory reads as empty and needs no repair', async () => {
    const dir = join(await tempDir('wal'), 'absent');
    expect(await collect(readRecords(dir))).toEqual([]);
    expect(await repair(dir)).toEqual({ repaired: false });
  });

  async function writeLog(dir: string, n: number, size: number, segmentSize?: number): Promise<Uint8Array[]> {
    const r = rng(n);
    const recs = Array.from({ length: n }, () => randomRecord(r, size));
    const w = await WL.open(dir, { segmentSize });
    for (const rec of recs) await w.log(rec);
    await w.close();
    return recs;
  }

  it('a segment cut mid-record: readRecords yields the whole records, then a WalCorruptionError; repair cuts there', async () => {
    const dir = await tempDir('wal');
    const w = await WL.open(dir);
    const r = rng(3);
    const recs = Array.from({ length: 5 }, () => randomRecord(r, 20_000));
    for (const rec of recs) await w.log(rec);
    await w.sync();
    // Simulate a crash: no close (no padding), then lose the end of the last record.
    const size = (await stat(segmentName(dir, 0))).size;
    await w.close();
    await truncate(segmentName(dir, 0), size - 5000);

    const { recs: got, err } = await collectUntilError(readRecords(dir));
    expect(got).toEqual(recs.slice(0, 4));
    expect(isWalCorruption(err)).toBe(true);
    expect((err as WalCorruptionError).segment).toBe(0);

    const res = await repair(dir);
    expect(res.repaired).toBe(true);
    expect(res.segment).toBe(0);
    expect(res.offset).toBe((err as WalCorruptionError).offset);
    expect((await stat(segmentName(dir, 0))).size % WAL_PAGE_SIZE).toBe(0);
    expect(await collect(readRecords(dir))).toEqual(recs.slice(0, 4));
    expect((await repair(dir)).repaired).toBe(false);
  });

  it('a torn record whose first fragments are complete (file ends on a fragment boundary) is cut off too', async () => {
    const dir = await tempDir('wal');
    const recs = await writeLog(dir, 3, 40_000);
    // Cut right after the first fragment of the third record: the page holding it ends.
    const b = await readFile(segmentName(dir, 0));
    let p = 0;
    let fragments = 0;
    let cutAt = -1;
    while (p < b.length) {
      const typ = b[p] & 7;
      if (typ === 0) {
        p = (Math.floor(p / WAL_PAGE_SIZE) + 1) * WAL_PAGE_SIZE;
        continue;
      }
      const len = b.readUInt16BE(p + 1);
      if (typ === 2 && ++fragments === 3) {
        cutAt = p + 7 + len;
        break;
      }
      p += 7 + len;
    }
    expect(cutAt).toBeGreaterThan(0);
    await truncate(segmentName(dir, 0), cutAt);
    const { recs: got, err } = await collectUntilError(readRecords(dir));
    expect(got).toEqual(recs.slice(0, 2));
    expect((err as Error).message).toMatch(/last record is torn/);
    await repair(dir);
    expect(await collect(readRecords(dir))).toEqual(recs.slice(0, 2));
  });

  it('a bad CRC in an early segment drops that record and every later segment', async () => {
    const dir = await tempDir('wal');
    const recs = await writeLog(dir, 12, 20_000, 2 * WAL_PAGE_SIZE);
    const segs = await listSegments(dir);
    expect(segs.length).toBeGreaterThan(3);
    const inSeg0 = await collect(readRecords(dir, 0, 0));
    const inSeg1 = await collect(readRecords(dir, 1, 1));
    // Flip a byte inside the first record of segment 1.
    const path = segmentName(dir, 1);
    const b = await readFile(path);
    b[100] ^= 0xff;
    await writeFile(path, b);

    const { recs: got, err } = await collectUntilError(readRecords(dir));
    expect(got).toEqual(inSeg0);
    expect((err as Error).message).toMatch(/segment .*00000001 at 0: unexpected checksum/);
    const res = await repair(dir);
    expect(res).toMatchObject({ repaired: true, segment: 1, offset: 0 });
    expect(res.deletedSegments).toEqual(segs.slice(2).map((s) => s.index));
    expect((await listSegments(dir)).map((s) => s.index)).toEqual([0, 1]);
    expect(await collect(readRecords(dir))).toEqual(inSeg0);
    expect(inSeg1.length).toBeGreaterThan(0);
    expect(recs.slice(0, inSeg0.length)).toEqual(inSeg0);
    // And the log accepts new records afterwards.
    const w = await WL.open(dir, { segmentSize: 2 * WAL_PAGE_SIZE });
    await w.log(Uint8Array.of(42));
    await w.close();
    expect(await collect(readRecords(dir))).toEqual([...inSeg0, Uint8Array.of(42)]);
  });

  it('non-zero garbage in page padding is a corruption at the garbage', async () => {
    const dir = await tempDir('wal');
    const recs = await writeLog(dir, 2, 100);
    const path = segmentName(dir, 0);
    const b = await readFile(path);
    b[5000] = 1;
    await writeFile(path, b);
    const { recs: got, err } = await collectUntilError(readRecords(dir));
    expect(got).toEqual(recs);
    expect(err).toBeInstanceOf(WalCorruptionError);
    expect((err as WalCorruptionError).offset).toBe(5000);
  });
});

describe('checkpoint', () => {
  it('keeps live series, samples at or after mint, tombstones reaching mint and the latest metadata; replay reads it first', async () => {
    const dir = await tempDir('wal');
    const w = await WL.open(dir);
    const a = labelsFromStrings('__name__', 'a');
    const b = labelsFromStrings('__name__', 'b');
    await w.log(encodeSeries([{ ref: 1, labels: a }, { ref: 2, labels: b }]));
    await w.log(encodeSamples([{ ref: 1, t: 100, v: 1 }, { ref: 2, t: 100, v: 2 }, { ref: 1, t: 200, v: 3 }]));
    await w.log(encodeMetadata([{ ref: 1, type: 1, unit: '', help: 'old' }, { ref: 2, type: 2, unit: '', help: 'b' }]));
    await w.log(encodeMmapMarkers([{ ref: 1, mmapRef: 8 }]));
    await w.nextSegment();
    await w.log(encodeTombstones([{ ref: 1, intervals: [{ mint: 0, maxt: 50 }, { mint: 150, maxt: 250 }] }]));
    await w.log(encodeMetadata([{ ref: 1, type: 1, unit: 's', help: 'new' }]));
    await w.log(encodeSamples([{ ref: 1, t: 90, v: 4 }]));
    await w.nextSegment();
    await w.log(encodeSamples([{ ref: 1, t: 300, v: 5 }]));

    const keep = (ref: number): boolean => ref === 1;
    const cp = await checkpoint(dir, 0, 1, keep, 150);
    expect(cp.dir).toBe(join(dir, 'checkpoint.00000001'));
    expect(cp.stats).toMatchObject({ totalSeries: 2, droppedSeries: 1, totalSamples: 4, droppedSamples: 3, droppedTombstones: 1 });
    expect(await lastCheckpoint(dir)).toEqual({ dir: cp.dir, index: 1 });
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    const cpRecs = await collect(readRecords(cp.dir, 0));
    expect(cpRecs.map(recordType)).toEqual([RecordType.Series, RecordType.Samples, RecordType.Tombstones, RecordType.Metadata]);
    expect(decodeSeries(cpRecs[0])).toEqual([{ ref: 1, labels: a }]);
    expect(decodeSamples(cpRecs[1])).toEqual([{ ref: 1, t: 200, v: 3 }]);
    expect(decodeTombstones(cpRecs[2])).toEqual([{ ref: 1, intervals: [{ mint: 150, maxt: 250 }] }]);
    expect(decodeMetadata(cpRecs[3])).toEqual([{ ref: 1, type: 1, unit: 's', help: 'new' }]);

    await w.truncate(2);
    await deleteCheckpoints(dir, 1);
    // Replay: the checkpoint, then segment 2 (segments up to 1 are gone or skipped).
    const replay = await collect(readRecords(dir));
    expect(replay.length).toBe(5);
    expect(decodeSamples(replay[4])).toEqual([{ ref: 1, t: 300, v: 5 }]);

    // A second checkpoint folds in the first.
    await w.nextSegment();
    const cp2 = await checkpoint(dir, 2, 2, keep, 250);
    await deleteCheckpoints(dir, 2);
    expect((await readdir(dir)).filter((n) => n.startsWith('checkpoint.'))).toEqual(['checkpoint.00000002']);
    const cp2Recs = await collect(readRecords(cp2.dir, 0));
    // The tombstone [150, 250] still reaches mint 250; the sample at 200 does not.
    expect(cp2Recs.map(recordType)).toEqual([RecordType.Series, RecordType.Tombstones, RecordType.Samples, RecordType.Metadata]);
    expect(decodeSamples(cp2Recs[2])).toEqual([{ ref: 1, t: 300, v: 5 }]);
    await expect(checkpoint(dir, 5, 6, keep, 0)).rejects.toThrow(/unexpected gap/);
    await w.close();
  });

  it('ignores a leftover .tmp checkpoint', async () => {
    const dir = await tempDir('wal');
    await mkdir(join(dir, 'checkpoint.00000004.tmp'));
    expect(await lastCheckpoint(dir)).toBeNull();
  });
});
