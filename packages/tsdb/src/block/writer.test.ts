import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { encodePromBlockMeta, readBlockMeta, SourceType, ZERO_TIME, type ThanosMeta } from '../block-meta/index.js';
import { XorChunk } from '../chunkenc/index.js';
import { compareStrings, labelsFromStrings, type Labels } from '../labels/index.js';
import type { SeriesChunk } from '../storage/index.js';
import { ulid } from '../ulid/index.js';
import { Block, BlockWriter, TMP_FOR_CREATION_SUFFIX } from './index.js';
import { collect } from './test-fixture.js';

afterAll(removeTempDirs);

function chunk(samples: [number, number][]): SeriesChunk {
  const c = new XorChunk();
  const app = c.appender();
  for (const [t, v] of samples) app.append(t, v);
  return { mint: samples[0][0], maxt: samples[samples.length - 1][0], chunk: c };
}

const A = labelsFromStrings('__name__', 'up', 'job', 'a');
const B = labelsFromStrings('__name__', 'up', 'job', 'b');
const C = labelsFromStrings('__name__', 'up', 'job', 'c');
const SYMBOLS = ['__name__', 'a', 'b', 'c', 'job', 'up'].sort(compareStrings);

function newWriter(parent: string, opts: Partial<ConstructorParameters<typeof BlockWriter>[1]> = {}): BlockWriter {
  return new BlockWriter(parent, { mint: 1000, maxt: 10_000, symbols: SYMBOLS, ...opts });
}

async function entries(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

describe('BlockWriter', () => {
  it('writes a Prometheus block: tmp dir while writing, renamed on close, with stats', async () => {
    const parent = await tempDir('bw-basic');
    const w = newWriter(parent);
    expect(await entries(parent)).toEqual([`${w.ulid}${TMP_FOR_CREATION_SUFFIX}`]);
    w.addSeries(A, [chunk([[1000, 1], [2000, 2]]), chunk([[3000, 3]])]);
    w.addSeries(B, [chunk([[1500, 5]])]);
    w.addSeries(C, []); // skipped: no chunks
    expect(w.stats()).toEqual({ numSeries: 2, numChunks: 3, numSamples: 4, numFloatSamples: 4, numHistogramSamples: 0 });
    const meta = await w.close();
    expect(await entries(parent)).toEqual([w.ulid]);
    expect(await entries(w.dir)).toEqual(['chunks', 'index', 'meta.json', 'tombstones']);
    expect(meta).toEqual({
      ulid: w.ulid,
      minTime: 1000,
      maxTime: 10_000,
      stats: { numSamples: 4, numFloatSamples: 4, numSeries: 2, numChunks: 3 },
      compaction: { level: 1, sources: [w.ulid] },
      version: 1,
    });
    // Exactly Prometheus' meta.json: no thanos section, no trailing newline.
    expect(await readFile(join(w.dir, 'meta.json'), 'utf8')).toBe(encodePromBlockMeta(meta));
    const { thanos: _, ...readProm } = await readBlockMeta(w.dir);
    expect(readProm).toEqual(meta);
    // An empty tombstones file: magic, version, CRC32C of no entries.
    expect([...(await readFile(join(w.dir, 'tombstones')))]).toEqual([0x01, 0x30, 0xba, 0x30, 0x01, 0, 0, 0, 0]);

    const b = await Block.open(w.dir);
    const got = await collect((await b.querier(0, 20_000)).select({ start: 0, end: 20_000 }, []));
    expect(got.map((s) => [s.labels, s.ts, [...s.vs]])).toEqual([
      [A, [1000, 2000, 3000], [1, 2, 3]],
      [B, [1500], [5]],
    ]);
    await b.close();
  });

  it('writes the thanos section when given one, and the compaction given', async () => {
    const parent = await tempDir('bw-thanos');
    const thanos: ThanosMeta = {
      version: 1,
      labels: { cluster: 'eu', replica: 'r1' },
      downsample: { resolution: 0 },
      source: SourceType.BucketUpload,
      index_stats: {},
      upload_time: ZERO_TIME,
    };
    const src = ulid();
    const w = newWriter(parent, { thanos, compaction: { level: 2, sources: [src] } });
    w.addSeries(A, [chunk([[1000, 1]])]);
    const meta = await w.close();
    expect(meta.thanos).toEqual(thanos);
    const read = await readBlockMeta(w.dir);
    expect(read.thanos.labels).toEqual({ cluster: 'eu', replica: 'r1' });
    expect(read.thanos.source).toBe('bucket.upload');
    expect(read.compaction).toEqual({ level: 2, sources: [src] });
  });

  it('rejects bad series before writing anything and stays usable', async () => {
    const parent = await tempDir('bw-errors');
    const w = newWriter(parent);
    w.addSeries(B, [chunk([[1000, 1]])]);
    const bad: [Labels, SeriesChunk[], RegExp][] = [
      [A, [chunk([[1000, 1]])], /out-of-order series/],
      [B, [chunk([[1000, 1]])], /out-of-order series/],
      [labelsFromStrings('__name__', 'up', 'job', 'zzz'), [chunk([[1000, 1]])], /label value "zzz" is not in the symbol table/],
      [labelsFromStrings('__name__', 'up', 'nope', 'c'), [chunk([[1000, 1]])], /label name "nope" is not in the symbol table/],
      [C, [chunk([[2000, 1], [3000, 2]]), chunk([[3000, 3]])], /chunks out of order/],
      [C, [chunk([[5000, 1]]), chunk([[2000, 3]])], /chunks out of order/],
      [C, [chunk([[500, 1]])], /outside the block range \[1000, 10000\)/],
      [C, [chunk([[10_000, 1]])], /outside the block range/],
      [[], [chunk([[1000, 1]])], /empty label set/],
    ];
    for (const [ls, chunks, re] of bad) expect(() => w.addSeries(ls, chunks), re.source).toThrow(re);
    w.addSeries(C, [chunk([[2000, 1]])]);
    await w.close();
    const b = await Block.open(w.dir);
    expect((await collect((await b.querier(0, 20_000)).select({ start: 0, end: 20_000 }, []))).map((s) => s.labels)).toEqual([B, C]);
    await b.close();
  });

  it('abort() removes the tmp dir and nothing is renamed', async () => {
    const parent = await tempDir('bw-abort');
    const w = newWriter(parent);
    w.addSeries(A, [chunk([[1000, 1]])]);
    await w.abort();
    await w.abort();
    expect(await entries(parent)).toEqual([]);
    await expect(w.close()).rejects.toThrow(/already closed/);
  });

  it('rejects unsorted symbols and a bad range up front, leaving nothing behind', async () => {
    const parent = await tempDir('bw-symbols');
    expect(() => newWriter(parent, { symbols: ['b', 'a'] })).toThrow(/symbol "a" out-of-order/);
    expect(() => newWriter(parent, { mint: 5, maxt: 5 })).toThrow(/invalid time range/);
    expect(await entries(parent)).toEqual([]);
  });

  it('a failing close removes the tmp dir and leaves an existing target alone', async () => {
    const parent = await tempDir('bw-close-fail');
    const id = ulid();
    await mkdir(join(parent, id, 'x'), { recursive: true });
    await writeFile(join(parent, id, 'x', 'keep'), 'keep');
    const w = newWriter(parent, { ulid: id });
    w.addSeries(A, [chunk([[1000, 1]])]);
    await expect(w.close()).rejects.toThrow(new RegExp(`write block ${id}: close: .*(ENOTEMPTY|EEXIST)`));
    expect(await entries(parent)).toEqual([id]);
    expect(await entries(join(parent, id))).toEqual(['x']);
    expect(existsSync(w.tmpDir)).toBe(false);
  });

  it('replaces a leftover tmp dir of the same ULID', async () => {
    const parent = await tempDir('bw-leftover');
    const id = ulid();
    await mkdir(join(parent, id + TMP_FOR_CREATION_SUFFIX, 'chunks'), { recursive: true });
    await writeFile(join(parent, id + TMP_FOR_CREATION_SUFFIX, 'chunks', '000001'), 'junk');
    const w = newWriter(parent, { ulid: id });
    w.addSeries(A, [chunk([[1000, 1]])]);
    await w.close();
    const b = await Block.open(join(parent, id));
    expect(b.chunks.segments().map((s) => s.name)).toEqual(['000001']);
    await b.close();
  });
});
