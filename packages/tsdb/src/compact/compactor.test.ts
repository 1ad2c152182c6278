import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { Block, SeriesBuilder } from '../block/index.js';
import { ValueType } from '../chunkenc/index.js';
import { labelsFromStrings, labelsKey, labelsToString, type Labels } from '../labels/index.js';
import { MemTombstones, writeTombstones } from '../tombstones/index.js';
import { isValidUlid } from '../ulid/index.js';
import { compactBlocks } from './compactor.js';

afterAll(removeTempDirs);

const H = 3600_000;
const T0 = 1_700_006_400_000 - (1_700_006_400_000 % (2 * H));

type Samples = Map<string, { labels: Labels; s: Map<number, number> }>;

interface InBlock {
  dir: string;
  ulid: string;
}

/** Writes a block [mint, maxt) holding the given samples. */
async function writeBlock(parent: string, mint: number, maxt: number, data: { labels: Labels; ts: number[]; v: (t: number) => number }[]): Promise<InBlock> {
  const b = new SeriesBuilder();
  for (const d of data) for (const t of d.ts) b.append(d.labels, t, d.v(t));
  const w = (await b.writeBlock(parent, { mint, maxt }))!;
  return { dir: w.dir, ulid: w.ulid };
}

/** Every sample of a block, by series. */
async function readAll(dir: string): Promise<Samples> {
  const b = await Block.open(dir);
  try {
    const q = await b.querier(-Infinity, Infinity);
    const out: Samples = new Map();
    for await (const s of q.select({ start: -Infinity, end: Infinity }, [])) {
      const m = new Map<number, number>();
      const it = s.iterator();
      let last = -Infinity;
      while (it.next() !== ValueType.None) {
        expect(it.atT()).toBeGreaterThan(last);
        last = it.atT();
        m.set(it.atT(), it.atF());
      }
      expect(it.err()).toBeNull();
      out.set(labelsKey(s.labels), { labels: s.labels, s: m });
    }
    return out;
  } finally {
    await b.close();
  }
}

/** Union of blocks' samples; on equal timestamps the earlier block (first in the list) wins. */
function union(...sets: Samples[]): Samples {
  const out: Samples = new Map();
  for (const set of sets) {
    for (const [k, v] of set) {
      let e = out.get(k);
      if (e === undefined) out.set(k, (e = { labels: v.labels, s: new Map() }));
      for (const [t, x] of v.s) if (!e.s.has(t)) e.s.set(t, x);
    }
  }
  for (const e of out.values()) e.s = new Map([...e.s].sort((a, b) => a[0] - b[0]));
  return out;
}

function toPlain(s: Samples): Record<string, [number, number][]> {
  const out: Record<string, [number, number][]> = {};
  for (const e of [...s.values()].sort((a, b) => (labelsToString(a.labels) < labelsToString(b.labels) ? -1 : 1))) {
    out[labelsToString(e.labels)] = [...e.s].sort((a, b) => a[0] - b[0]);
  }
  return out;
}

const range = (from: number, to: number, step: number): number[] => {
  const out: number[] = [];
  for (let t = from; t < to; t += step) out.push(t);
  return out;
};

async function chunkCount(dir: string): Promise<number> {
  return JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')).stats.numChunks;
}

describe('compactBlocks', () => {
  it('merges non-overlapping blocks sample for sample, copying chunks', async () => {
    const src = await tempDir('compact-src');
    const dst = await tempDir('compact-dst');
    const blocks: InBlock[] = [];
    for (let k = 0; k < 3; k++) {
      const data = [];
      for (let i = 0; i < 40; i++) {
        // Series 0-9 only in block 0, the rest everywhere; a few NaN and stale-like values.
        if (i < 10 && k > 0) continue;
        data.push({
          labels: labelsFromStrings('__name__', `m${i % 3}`, 'i', String(i), 'job', k === 2 && i === 39 ? 'late' : 'x'),
          ts: range(T0 + k * 2 * H + i * 7, T0 + (k + 1) * 2 * H, 15_000),
          v: (t: number) => (i === 5 && t % 7 === 0 ? NaN : (t / 1000) * (i + 1) + k),
        });
      }
      blocks.push(await writeBlock(src, T0 + k * 2 * H, T0 + (k + 1) * 2 * H, data));
    }
    const meta = await compactBlocks(
      blocks.map((b) => b.dir),
      dst,
    );
    expect(meta).not.toBeNull();
    const out = await readAll(join(dst, meta!.ulid));
    const want = union(...(await Promise.all(blocks.map((b) => readAll(b.dir)))));
    expect(toPlain(out)).toEqual(toPlain(want));
    // Nothing overlaps or is deleted: every chunk is copied as stored.
    let inChunks = 0;
    for (const b of blocks) inChunks += await chunkCount(b.dir);
    expect(meta!.stats.numChunks).toBe(inChunks);
  });

  it('writes meta.json compaction fields as CompactBlockMetas does', async () => {
    const src = await tempDir('compact-src');
    const dst = await tempDir('compact-dst');
    const l = labelsFromStrings('__name__', 'up');
    const a = await writeBlock(src, T0, T0 + 2 * H, [{ labels: l, ts: [T0, T0 + 1000], v: () => 1 }]);
    const b = await writeBlock(src, T0 + 2 * H, T0 + 4 * H, [{ labels: l, ts: [T0 + 2 * H], v: () => 2 }]);
    const meta = (await compactBlocks([b.dir, a.dir], dst))!;
    const second = (await compactBlocks([join(dst, meta.ulid), (await writeBlock(src, T0 + 4 * H, T0 + 6 * H, [{ labels: l, ts: [T0 + 5 * H], v: () => 3 }])).dir], dst))!;

    const onDisk = JSON.parse(await readFile(join(dst, meta.ulid, 'meta.json'), 'utf8'));
    expect(onDisk).toEqual({
      ulid: meta.ulid,
      minTime: T0,
      maxTime: T0 + 4 * H,
      stats: { numSamples: 3, numFloatSamples: 3, numSeries: 1, numChunks: 2 },
      compaction: {
        level: 2,
        sources: [a.ulid, b.ulid].sort(),
        parents: [
          { ulid: a.ulid, minTime: T0, maxTime: T0 + 2 * H },
          { ulid: b.ulid, minTime: T0 + 2 * H, maxTime: T0 + 4 * H },
        ],
      },
      version: 1,
    });
    expect(second.compaction.level).toBe(3);
    expect(second.compaction.sources).toHaveLength(3);
    expect(second.compaction.parents!.map((p) => p.ulid)[0]).toBe(meta.ulid);
    expect(second.minTime).toBe(T0);
    expect(second.maxTime).toBe(T0 + 6 * H);
    // Only the new block dirs and no leftovers.
    const names = await readdir(dst);
    expect(names.sort()).toEqual([meta.ulid, second.ulid].sort());
  });

  it('writes a Thanos section when asked', async () => {
    const src = await tempDir('compact-src');
    const dst = await tempDir('compact-dst');
    const l = labelsFromStrings('__name__', 'up');
    const a = await writeBlock(src, T0, T0 + 2 * H, [{ labels: l, ts: [T0], v: () => 1 }]);
    const meta = (await compactBlocks([a.dir], dst, { thanos: { labels: { cluster: 'eu' } } }))!;
    expect(meta.thanos).toMatchObject({ version: 1, labels: { cluster: 'eu' }, downsample: { resolution: 0 }, source: 'compactor' });
  });

  it('merges overlapping blocks vertically: chained, duplicates kept once from the first block', async () => {
    const src = await tempDir('compact-src');
    const dst = await tempDir('compact-dst');
    const a = labelsFromStrings('__name__', 'a');
    const b = labelsFromStrings('__name__', 'b');
    const c = labelsFromStrings('__name__', 'c');
    // Block 1 [T0, T0+2h): a every 10 s (value 1), c (identical in both blocks).
    // Block 2 [T0+1h, T0+3h): a every 15 s (value 2), b only here.
    const b1 = await writeBlock(src, T0, T0 + 2 * H, [
      { labels: a, ts: range(T0, T0 + 2 * H, 10_000), v: () => 1 },
      { labels: c, ts: range(T0 + H, T0 + 2 * H, 60_000), v: (t) => t },
    ]);
    const b2 = await writeBlock(src, T0 + H, T0 + 3 * H, [
      { labels: a, ts: range(T0 + H, T0 + 3 * H, 15_000), v: () => 2 },
      { labels: b, ts: range(T0 + H, T0 + 3 * H, 30_000), v: (t) => -t },
      { labels: c, ts: range(T0 + H, T0 + 2 * H, 60_000), v: (t) => t },
    ]);
    const s1 = await readAll(b1.dir);
    const s2 = await readAll(b2.dir);
    // Given newest first: the merge still orders blocks by minTime.
    const meta = (await compactBlocks([b2.dir, b1.dir], dst))!;
    expect(meta.minTime).toBe(T0);
    expect(meta.maxTime).toBe(T0 + 3 * H);
    const out = await readAll(join(dst, meta.ulid));
    expect(toPlain(out)).toEqual(toPlain(union(s1, s2)));
    // A timestamp in both (every 30 s in the overlap) has block 1's value.
    expect(out.get(labelsKey(a))!.s.get(T0 + H + 30_000)).toBe(1);
    expect(out.get(labelsKey(a))!.s.get(T0 + H + 15_000)).toBe(2);

    // Re-encoded chunks hold at most samplesPerChunk samples; c's identical chunks are copied once.
    const blk = await Block.open(join(dst, meta.ulid));
    try {
      const cq = await blk.chunkQuerier(-Infinity, Infinity);
      for await (const s of cq.select({ start: -Infinity, end: Infinity }, [])) {
        const chunks = [...s.chunks()];
        for (const ch of chunks) expect(ch.chunk.numSamples()).toBeLessThanOrEqual(120);
        if (labelsKey(s.labels) === labelsKey(c)) expect(chunks).toHaveLength(1);
      }
    } finally {
      await blk.close();
    }
  });

  it('uses a custom vertical merge and samplesPerChunk', async () => {
    const src = await tempDir('compact-src');
    const dst = await tempDir('compact-dst');
    const a = labelsFromStrings('__name__', 'a');
    const b1 = await writeBlock(src, T0, T0 + 2 * H, [{ labels: a, ts: range(T0, T0 + H, 10_000), v: () => 1 }]);
    const b2 = await writeBlock(src, T0, T0 + 2 * H, [{ labels: a, ts: range(T0, T0 + H, 10_000), v: () => 2 }]);
    const seen: number[] = [];
    const meta = (await compactBlocks([b1.dir, b2.dir], dst, {
      samplesPerChunk: 50,
      // Last block wins.
      verticalMerge: (labels, its) => {
        seen.push(its.length);
        expect(labelsToString(labels)).toBe('{__name__="a"}');
        return its[its.length - 1];
      },
    }))!;
    // Called once per run of overlapping chunks (3 chunks of 120 samples in each block), as compactChunkIterator does.
    expect(seen).toEqual([2, 2, 2]);
    const out = await readAll(join(dst, meta.ulid));
    expect([...out.get(labelsKey(a))!.s.values()].every((v) => v === 2)).toBe(true);
    // Each merged run of 120 samples is cut into chunks of 50, 50 and 20.
    expect(meta.stats.numChunks).toBe(3 * Math.ceil(120 / 50));
  });

  it('applies tombstones: partly deleted series re-encoded, wholly deleted ones dropped', async () => {
    const src = await tempDir('compact-src');
    const dst = await tempDir('compact-dst');
    const a = labelsFromStrings('__name__', 'a');
    const b = labelsFromStrings('__name__', 'b');
    const c = labelsFromStrings('__name__', 'c');
    const blk = await writeBlock(src, T0, T0 + 2 * H, [
      { labels: a, ts: range(T0, T0 + 2 * H, 10_000), v: (t) => t },
      { labels: b, ts: range(T0, T0 + 2 * H, 10_000), v: (t) => t },
      { labels: c, ts: range(T0, T0 + 2 * H, 10_000), v: (t) => t },
    ]);
    const refs = new Map<string, number>();
    {
      const opened = await Block.open(blk.dir);
      for (const n of ['a', 'b']) {
        const p = opened.index.postings('__name__', n);
        expect(p.next()).toBe(true);
        refs.set(n, p.at());
      }
      await opened.close();
    }
    const tomb = new MemTombstones();
    // a: two holes (one inside a chunk, one spanning chunk borders); b: everything.
    tomb.addInterval(refs.get('a')!, { mint: T0 + 100_000, maxt: T0 + 200_000 }, { mint: T0 + 1000_000, maxt: T0 + 3000_000 });
    tomb.addInterval(refs.get('b')!, { mint: T0 - 1, maxt: T0 + 3 * H });
    await writeTombstones(join(blk.dir, 'tombstones'), tomb);

    const want = await readAll(blk.dir); // the block querier applies tombstones
    expect(want.has(labelsKey(b))).toBe(false);
    const meta = (await compactBlocks([blk.dir], dst))!;
    const out = await readAll(join(dst, meta.ulid));
    expect(toPlain(out)).toEqual(toPlain(want));
    expect(out.get(labelsKey(a))!.s.has(T0 + 150_000)).toBe(false);
    expect(out.get(labelsKey(a))!.s.has(T0 + 90_000)).toBe(true);
    expect(meta.stats.numSeries).toBe(2);
    // The new block has no tombstones of its own.
    expect((await Block.open(join(dst, meta.ulid)).then(async (x) => (await x.close(), x))).tombstones.total()).toBe(0);
  });

  it('returns null and writes nothing when every series is deleted', async () => {
    const src = await tempDir('compact-src');
    const dst = await tempDir('compact-dst');
    const blk = await writeBlock(src, T0, T0 + 2 * H, [{ labels: labelsFromStrings('__name__', 'a'), ts: [T0, T0 + 1], v: () => 1 }]);
    // The only series' ref, from the all-postings list.
    const opened = await Block.open(blk.dir);
    const p = opened.index.postings('', '');
    p.next();
    const ref = p.at();
    await opened.close();
    const t2 = new MemTombstones();
    t2.addInterval(ref, { mint: T0 - 10, maxt: T0 + 10 });
    await writeTombstones(join(blk.dir, 'tombstones'), t2);
    expect(await compactBlocks([blk.dir], dst)).toBeNull();
    expect(await readdir(dst)).toEqual([]);
  });

  it('the block appears whole: a failure mid-write leaves no block and no tmp dir', async () => {
    const src = await tempDir('compact-src');
    const dst = await tempDir('compact-dst');
    const data = Array.from({ length: 2000 }, (_, i) => ({
      labels: labelsFromStrings('__name__', 'm', 'i', String(i).padStart(5, '0')),
      ts: [T0 + i],
      v: () => i,
    }));
    const a = await writeBlock(src, T0, T0 + 2 * H, data);
    const b = await writeBlock(src, T0 + 2 * H, T0 + 4 * H, data.map((d) => ({ ...d, ts: [T0 + 2 * H + 5] })));
    let calls = 0;
    await expect(
      compactBlocks([a.dir, b.dir], dst, {
        onProgress: (n) => {
          calls++;
          expect(n).toBeGreaterThan(0);
          throw new Error('killed mid-write');
        },
      }),
    ).rejects.toThrow(/killed mid-write/);
    expect(calls).toBe(1);
    expect(await readdir(dst)).toEqual([]);

    const ac = new AbortController();
    ac.abort();
    await expect(compactBlocks([a.dir, b.dir], dst, { signal: ac.signal })).rejects.toThrow();
    expect(await readdir(dst)).toEqual([]);

    // And it succeeds when left alone: one ULID-named dir.
    const meta = (await compactBlocks([a.dir, b.dir], dst))!;
    expect(await readdir(dst)).toEqual([meta.ulid]);
    expect(isValidUlid(meta.ulid)).toBe(true);
    expect(meta.stats.numSeries).toBe(2000);
    expect(meta.stats.numSamples).toBe(4000);
  });

  it('rejects blocks of different resolutions and no inputs', async () => {
    await expect(compactBlocks([], '/nonexistent')).rejects.toThrow(/no input/);
  });
});
