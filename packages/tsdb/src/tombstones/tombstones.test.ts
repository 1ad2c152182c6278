import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDir, startPrometheus, tempDir, type PrometheusInstance } from '@thanos-ts/testutil';
import {
  addInterval,
  decodeTombstones,
  encodeTombstones,
  isDeleted,
  MemTombstones,
  readTombstones,
  TOMBSTONES_FILENAME,
  writeTombstones,
} from './index.js';
import type { Interval, TombstoneReader } from './index.js';
import { CorruptionError, crc32c } from '../encoding/index.js';
import { promtoolCreateBlocks, readIndexSeries } from '../block/test-fixture.js';

const iv = (mint: number, maxt: number): Interval => ({ mint, maxt });

function fileWithEntries(entries: number[]): Uint8Array {
  const body = [1, ...entries];
  const b = new Uint8Array(4 + body.length + 4);
  b.set([0x01, 0x30, 0xba, 0x30], 0);
  b.set(body, 4);
  const crc = crc32c(b, 5, 4 + body.length);
  new DataView(b.buffer).setUint32(4 + body.length, crc);
  return b;
}

describe('intervals', () => {
  it('merges overlapping and adjacent intervals like tombstones.Intervals.Add', () => {
    let ivs: Interval[] = [];
    ivs = addInterval(ivs, iv(10, 20));
    ivs = addInterval(ivs, iv(30, 40));
    expect(ivs).toEqual([iv(10, 20), iv(30, 40)]);
    expect(addInterval(ivs, iv(21, 29))).toEqual([iv(10, 40)]); // adjacent on both sides
    expect(addInterval(ivs, iv(0, 5))).toEqual([iv(0, 5), iv(10, 20), iv(30, 40)]);
    expect(addInterval(ivs, iv(50, 60))).toEqual([iv(10, 20), iv(30, 40), iv(50, 60)]);
    expect(addInterval(ivs, iv(22, 28))).toEqual([iv(10, 20), iv(22, 28), iv(30, 40)]);
    expect(addInterval(ivs, iv(15, 35))).toEqual([iv(10, 40)]);
    expect(addInterval(ivs, iv(0, 100))).toEqual([iv(0, 100)]);
    expect(addInterval(ivs, iv(12, 13))).toEqual([iv(10, 20), iv(30, 40)]);
    expect(ivs).toEqual([iv(10, 20), iv(30, 40)]); // input untouched
  });

  it('isDeleted checks closed intervals, linear and binary search alike', () => {
    const few = [iv(10, 20), iv(30, 30)];
    expect([9, 10, 15, 20, 21, 29, 30, 31].map((t) => isDeleted(few, t))).toEqual([false, true, true, true, false, false, true, false]);
    expect(isDeleted([], 5)).toBe(false);
    const many = Array.from({ length: 50 }, (_, i) => iv(i * 100, i * 100 + 9));
    for (let t = -5; t < 5100; t++) {
      expect(isDeleted(many, t)).toBe(t >= 0 && t < 5000 && t % 100 <= 9);
    }
  });
});

describe('tombstones file', () => {
  let work = '';
  beforeAll(async () => {
    work = await tempDir('tombstones');
  });
  afterAll(() => removeTempDir(work));

  it('encodes the Prometheus layout, CRC over entries only', () => {
    const ts = new MemTombstones();
    ts.addInterval(1, iv(0, 10));
    const b = encodeTombstones(ts);
    const crc = crc32c(new Uint8Array([0x01, 0x00, 0x14]));
    expect([...b]).toEqual([0x01, 0x30, 0xba, 0x30, 0x01, 0x01, 0x00, 0x14, crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff]);
    expect([...encodeTombstones(new MemTombstones())]).toEqual([...fileWithEntries([])]);
  });

  it('round-trips and merges intervals per series', async () => {
    const ts = new MemTombstones();
    ts.addInterval(7, iv(100, 200), iv(-50, -10));
    ts.addInterval(3, iv(5, 5));
    ts.addInterval(7, iv(201, 300)); // adjacent: merges
    ts.addInterval(2 ** 40, iv(-(2 ** 52), 2 ** 52), iv(Number.MIN_SAFE_INTEGER, Number.MIN_SAFE_INTEGER + 1));
    const path = join(work, 'rt', TOMBSTONES_FILENAME);
    await import('node:fs/promises').then((fs) => fs.mkdir(join(work, 'rt')));
    await writeTombstones(path, ts);
    const got = await readTombstones(path);
    expect([...got.entries()]).toEqual([
      [3, [iv(5, 5)]],
      [7, [iv(-50, -10), iv(100, 300)]],
      [2 ** 40, [iv(Number.MIN_SAFE_INTEGER, Number.MIN_SAFE_INTEGER + 1), iv(-(2 ** 52), 2 ** 52)]],
    ]);
    expect(got.total()).toBe(5);
    expect(got.get(99)).toEqual([]);
    expect(Buffer.from(encodeTombstones(got)).equals(readFileSync(path))).toBe(true);
    expect(readdirSync(join(work, 'rt'))).toEqual([TOMBSTONES_FILENAME]); // no temporary file left
  });

  it('treats a missing file as no tombstones', async () => {
    const t = await readTombstones(join(work, 'nope', TOMBSTONES_FILENAME));
    expect(t.total()).toBe(0);
  });

  it('saturates ±2^63 bounds of open-ended deletions', () => {
    const minInt64 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]; // zigzag(-2^63)
    const maxInt64 = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]; // zigzag(2^63-1)
    const t = decodeTombstones(fileWithEntries([0x05, ...minInt64, ...maxInt64]));
    expect(t.get(5)).toEqual([iv(-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)]);
  });

  it('reports corruption with the file name and offset', () => {
    const good = fileWithEntries([0x01, 0x00, 0x14]);
    const badCrc = good.slice();
    badCrc[6] ^= 1;
    expect(() => decodeTombstones(badCrc, 'blk/tombstones')).toThrow(/^blk\/tombstones: offset 8: checksum mismatch/);
    const badMagic = good.slice();
    badMagic[0] = 0;
    expect(() => decodeTombstones(badMagic, 'x')).toThrow('x: offset 0: invalid magic number 0x30ba30');
    const badVersion = fileWithEntries([0x01]);
    badVersion[4] = 2;
    new DataView(badVersion.buffer).setUint32(6, crc32c(badVersion, 5, 6));
    expect(() => decodeTombstones(badVersion, 'x')).toThrow('x: offset 4: invalid tombstone format version 2');
    expect(() => decodeTombstones(fileWithEntries([0x01, 0x00]), 'x')).toThrow(CorruptionError);
    expect(() => decodeTombstones(fileWithEntries([0x01, 0x00]), 'x')).toThrow('x: offset 7: unexpected end of data in tombstone entry');
    expect(() => decodeTombstones(new Uint8Array(6), 'x')).toThrow('x: offset 0: tombstones file of 6 bytes is shorter');
  });
});

// Interop: a real Prometheus deletes series in a promtool-built block; we read its file.
describe('tombstones written by Prometheus 2.42', () => {
  let work = '';
  let prom: PrometheusInstance | undefined;
  beforeAll(async () => {
    work = await tempDir('tombstones-prom');
  });
  afterAll(async () => {
    await prom?.stop();
    await removeTempDir(work);
  });

  it('reads the exact series refs and intervals of admin-API deletions', async () => {
    const data = join(work, 'data');
    const samples = Array.from({ length: 41 }, (_, i) => ({ t: i * 15_000, v: i }));
    const [block] = await promtoolCreateBlocks(
      ['x', 'y', 'z'].map((a) => ({ name: 'up', labels: { a }, samples })),
      data,
    );
    const refOf = new Map(readIndexSeries(join(block.dir, 'index')).map((s) => [s.labels.a, s.ref]));
    expect(new Set(refOf.values()).size).toBe(3);
    const tombstonesPath = join(block.dir, TOMBSTONES_FILENAME);
    const before = existsSync(tombstonesPath) ? statSync(tombstonesPath).size : 0;

    // No scrape jobs, so the data dir holds only the block; a retention long enough for
    // samples from 1970.
    prom = await startPrometheus({
      dataDir: data,
      scrapeSelf: false,
      scrapeInterval: '15s',
      extraArgs: ['--storage.tsdb.retention.time=100y'],
    });
    const del = async (match: string, start: number, end: number): Promise<void> => {
      const q = new URLSearchParams({ 'match[]': match, start: String(start), end: String(end) });
      const res = await fetch(`${prom!.url}/api/v1/admin/tsdb/delete_series?${q}`, { method: 'POST' });
      expect(res.status, await res.text()).toBe(204);
    };
    await del('up{a="y"}', 60, 120);
    await del('up{a="y"}', 300, 330);
    await del('up{a="y"}', 120, 200); // overlaps the first: Prometheus merges
    await del('up{a="z"}', 30, 30);

    let got: TombstoneReader | undefined;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (existsSync(tombstonesPath) && statSync(tombstonesPath).size > before) {
        got = await readTombstones(tombstonesPath);
        if (got.total() === 3) break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await prom.stop();
    expect(got, `no tombstones appeared in ${tombstonesPath}\n${prom.logs()}`).toBeDefined();
    got = await readTombstones(tombstonesPath); // final state after shutdown
    expect([...got.entries()]).toEqual(
      [
        [refOf.get('y')!, [iv(60_000, 200_000), iv(300_000, 330_000)]],
        [refOf.get('z')!, [iv(30_000, 30_000)]],
      ].sort((a, b) => (a[0] as number) - (b[0] as number)),
    );
    expect(got.get(refOf.get('x')!)).toEqual([]);
    expect(isDeleted(got.get(refOf.get('y')!), 150_000)).toBe(true);
    expect(isDeleted(got.get(refOf.get('y')!), 250_000)).toBe(false);
  });
});
