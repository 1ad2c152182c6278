import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket, getBytes, isObjectNotFound, type Bucket } from '@thanos-ts/objstore';
import { crc32c, isCorruption, labelsFromRecord, readTOC, SeriesBuilder, type TOC } from '@thanos-ts/tsdb';
import { createBlocksFromOpenMetrics, removeTempDirs, tempDir, wrapMethods } from '@thanos-ts/testutil';
import { IndexHeaderReader, writeIndexHeader } from './index.js';

let bkt: FilesystemBucket;
let dataDir: string;
/** Block IDs in the bucket: one from promtool, one from our BlockWriter. */
let promId: string;
let ourId: string;

beforeAll(async () => {
  bkt = new FilesystemBucket(await tempDir('ihw-bkt'));
  dataDir = await tempDir('ihw-data');

  // promtool: a few series with many values per name.
  const promDir = await tempDir('ihw-promtool');
  let om = '';
  for (let i = 0; i < 300; i++) om += `up{job="j${i % 7}",instance="host-${i}:9090",zone="é${i % 40}"} ${i} 0\n`;
  [promId] = await createBlocksFromOpenMetrics(om + '# EOF\n', promDir);
  await bkt.upload(`${promId}/index`, await readFile(join(promDir, promId, 'index')));

  // Ours: 3000 series over few values, 20 samples each: series and postings dominate.
  const ourDir = await tempDir('ihw-ours');
  const sb = new SeriesBuilder();
  for (let i = 0; i < 3000; i++) {
    const ls = labelsFromRecord({
      __name__: `metric_${i % 3}`,
      job: `job${i % 5}`,
      instance: `i${Math.floor(i / 30)}`,
      le: String(i % 30),
      shard: String(i % 2),
    });
    for (let t = 0; t < 20; t++) sb.append(ls, t * 15000, i + t);
  }
  const w = await sb.writeBlock(ourDir);
  ourId = w!.ulid;
  await bkt.upload(`${ourId}/index`, await readFile(join(ourDir, ourId, 'index')));
});
afterAll(removeTempDirs);

function be64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v));
  return b;
}

/** The index-header as binary_reader.go's WriteBinary lays it out, assembled independently. */
function expectedHeader(index: Uint8Array, toc: TOC): Buffer {
  const head = Buffer.concat([Buffer.from([0xba, 0xaa, 0xd7, 0x92, 1, index[4]]), be64(toc.postingsTable)]);
  const symbols = index.subarray(toc.symbols, toc.series);
  const table = index.subarray(toc.postingsTable);
  const tocBody = Buffer.concat([be64(14), be64(14 + symbols.length)]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32c(tocBody));
  return Buffer.concat([head, symbols, table, tocBody, crc]);
}

describe('writeIndexHeader', () => {
  it('writes the Thanos BinaryFormatV1 layout byte for byte', async () => {
    for (const id of [promId, ourId]) {
      const index = await getBytes(bkt, `${id}/index`);
      const toc = readTOC(index, 'index');
      const file = join(dataDir, id, 'index-header');
      const res = await writeIndexHeader(bkt, id, file);
      const got = await readFile(file);
      expect(res.bytes).toBe(got.length);

      // Field by field, as the format says.
      expect(got.readUInt32BE(0)).toBe(0xbaaad792);
      expect(got[4]).toBe(1);
      expect(got[5]).toBe(2);
      expect(Number(got.readBigUInt64BE(6))).toBe(toc.postingsTable);
      const tocAt = got.length - 20;
      const symbolsAt = Number(got.readBigUInt64BE(tocAt));
      const tableAt = Number(got.readBigUInt64BE(tocAt + 8));
      expect(symbolsAt).toBe(14);
      expect(tableAt).toBe(14 + toc.series - toc.symbols);
      expect(got.readUInt32BE(tocAt + 16)).toBe(crc32c(got, tocAt, tocAt + 16));
      expect(got.subarray(symbolsAt, tableAt)).toEqual(Buffer.from(index.subarray(toc.symbols, toc.series)));
      expect(got.subarray(tableAt, tocAt)).toEqual(Buffer.from(index.subarray(toc.postingsTable)));
      // And the whole file.
      expect(got.equals(expectedHeader(index, toc))).toBe(true);
      expect(await readdir(join(dataDir, id))).toEqual(['index-header']);
    }
  });

  it('makes only ranged reads, fetching far less than the index', async () => {
    const { size } = await bkt.attributes(`${ourId}/index`);
    const calls: string[] = [];
    let requested = 0;
    const counting = wrapMethods<Bucket>(bkt, {
      get: (name) => {
        calls.push(`get ${name}`);
        return bkt.get(name);
      },
      getRange: (name, offset, length) => {
        calls.push(`getRange ${name}`);
        expect(length).toBeGreaterThan(0);
        requested += Math.min(length!, size - offset);
        return bkt.getRange(name, offset, length);
      },
      // The bucket's fast path for small ranges is a ranged read too.
      getRangeBytes: (name, offset, length) => {
        calls.push(`getRange ${name}`);
        expect(length).toBeGreaterThan(0);
        requested += Math.min(length, size - offset);
        return bkt.getRangeBytes!(name, offset, length);
      },
      readRange: undefined,
      attributes: (name) => {
        calls.push(`attributes ${name}`);
        return bkt.attributes(name);
      },
    });
    const file = join(await tempDir('ihw-count'), ourId, 'index-header');
    const res = await writeIndexHeader(counting, ourId, file);
    expect(calls.filter((c) => !c.startsWith('getRange')).sort()).toEqual([`attributes ${ourId}/index`]);
    // index header, TOC, symbols, postings offset table.
    expect(calls).toHaveLength(5);
    expect(res.fetchedBytes).toBe(requested);
    expect(res.fetchedBytes).toBeLessThan(size / 10);
    expect(res.bytes).toBeLessThan(res.fetchedBytes);

    // The reader answers from the header alone.
    const hr = await IndexHeaderReader.open(file);
    expect(hr.labelNames()).toEqual(['__name__', 'instance', 'job', 'le', 'shard']);
    hr.close();
  });

  it('copies streams that arrive in tiny chunks', async () => {
    const trickle = wrapMethods<Bucket>(bkt, {
      getRange: async (name, offset, length) => {
        const all = Buffer.concat(await (await bkt.getRange(name, offset, length)).toArray());
        const parts: Buffer[] = [];
        for (let i = 0, n = 1; i < all.length; i += n, n = (n % 5) + 1) parts.push(all.subarray(i, i + n));
        return Readable.from(parts);
      },
      // Without the bucket's fast paths, every range goes through the trickle.
      getRangeBytes: undefined,
      readRange: undefined,
    });
    const file = join(await tempDir('ihw-trickle'), 'index-header');
    await writeIndexHeader(trickle, promId, file);
    expect((await readFile(file)).equals(await readFile(join(dataDir, promId, 'index-header')))).toBe(true);
  });

  it('replaces an existing file atomically', async () => {
    const dir = await tempDir('ihw-replace');
    const file = join(dir, 'index-header');
    await writeIndexHeader(bkt, promId, file);
    await writeIndexHeader(bkt, ourId, file);
    expect((await readFile(file)).equals(await readFile(join(dataDir, ourId, 'index-header')))).toBe(true);
    expect(await readdir(dir)).toEqual(['index-header']);
  });

  it('stops on abort and leaves nothing behind', async () => {
    const dir = await tempDir('ihw-abort');
    const ac = new AbortController();
    const slow = wrapMethods<Bucket>(bkt, {
      getRange: async (name, offset, length) => {
        if (length! > 100) ac.abort();
        return bkt.getRange(name, offset, length);
      },
      getRangeBytes: undefined,
      readRange: undefined,
    });
    await expect(writeIndexHeader(slow, promId, join(dir, 'index-header'), { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('writeIndexHeader rejects', () => {
  async function expectBuildError(id: string, index: Uint8Array | null, re: RegExp, corruption = true): Promise<void> {
    if (index) await bkt.upload(`${id}/index`, index);
    const dir = await tempDir('ihw-bad');
    const err = await writeIndexHeader(bkt, id, join(dir, id, 'index-header')).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(new RegExp(`^build index-header: block ${id}: `));
    expect(err!.message).toMatch(re);
    expect(isCorruption(err)).toBe(corruption);
    expect(await readdir(join(dir, id)).catch(() => [])).toEqual([]);
  }

  async function edited(edit: (b: Buffer, toc: TOC) => void): Promise<Buffer> {
    const b = Buffer.from(await getBytes(bkt, `${promId}/index`));
    edit(b, readTOC(b, 'index'));
    return b;
  }

  it('an index of version 3 or garbage', async () => {
    await expectBuildError('01HBADVERSION3000000000000', await edited((b) => (b[4] = 3)), /unsupported index version 3/);
    await expectBuildError('01HBADVERSION0000000000000', await edited((b) => (b[4] = 0)), /unsupported index version 0/);
    await expectBuildError('01HBADMAGIC000000000000000', await edited((b) => (b[0] = 0)), /invalid magic number/);
    const garbage = Buffer.alloc(4096, 0x5a);
    await expectBuildError('01HGARBAGE0000000000000000', garbage, /invalid magic number/);
    garbage.writeUInt32BE(0xbaaad700, 0);
    garbage[4] = 2;
    await expectBuildError('01HGARBAGE1000000000000000', garbage, /read TOC: invalid checksum/);
    await expectBuildError('01HTINY0000000000000000000', Buffer.alloc(20), /index too small/);
  });

  it('damaged sections it copies', async () => {
    await expectBuildError('01HBADSYMBOLS0000000000000', await edited((b, toc) => (b[toc.symbols + 12] ^= 1)), /symbols: invalid checksum/);
    await expectBuildError('01HBADTABLE000000000000000', await edited((b, toc) => (b[toc.postingsTable + 12] ^= 1)), /postings offset table: invalid checksum/);
    await expectBuildError(
      '01HBADTABLELEN000000000000',
      await edited((b, toc) => b.writeUInt32BE(b.length, toc.postingsTable)),
      /postings offset table: section of \d+ bytes runs past/,
    );
  });

  it('a missing index', async () => {
    const id = '01HMISSING0000000000000000';
    const err = await writeIndexHeader(bkt, id, join(await tempDir('ihw-missing'), 'index-header')).catch((e: unknown) => e as Error);
    expect(isObjectNotFound(err)).toBe(true);
    expect((err as Error).message).toMatch(new RegExp(`^build index-header: block ${id}: `));
  });
});
