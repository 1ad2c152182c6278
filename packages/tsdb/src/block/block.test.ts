import { cp, mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { InvalidBlockMetaError } from '../block-meta/index.js';
import { ValueType } from '../chunkenc/index.js';
import { CorruptionError } from '../encoding/index.js';
import { labelsFromStrings, labelsToString, type Labels } from '../labels/index.js';
import { MatchType, newMatcher } from '../matchers/index.js';
import { MemTombstones, writeTombstones } from '../tombstones/index.js';
import { Block, BlocksQueryable, openBlocks, SeriesBuilder } from './index.js';
import { collect, drain, firstDifference, type InputSeries } from './test-fixture.js';

afterAll(removeTempDirs);

const T0 = 1_700_006_400_000;
const EVERYTHING = { start: -Infinity, end: Infinity };

/** Series a..e of job x/y, 600 samples at 10 s (5 chunks of 120) from T0. */
function fixture(): InputSeries[] {
  const out: InputSeries[] = [];
  for (const [name, job, extra] of [
    ['a', 'x', ''],
    ['b', 'x', 'hot'],
    ['c', 'y', ''],
    ['d', 'y', 'hot'],
    ['e', 'z', 'cold'],
  ]) {
    const labels: Labels = extra ? labelsFromStrings('__name__', name, 'job', job, 'temp', extra) : labelsFromStrings('__name__', name, 'job', job);
    const ts = Array.from({ length: 600 }, (_, i) => T0 + i * 10_000);
    out.push({ labels, ts, vs: Float64Array.from(ts, (_, i) => i * 1.5 + name.charCodeAt(0)) });
  }
  return out;
}

async function writeFixture(dir: string, series: InputSeries[]): Promise<string> {
  const b = new SeriesBuilder();
  for (const s of series) for (let i = 0; i < s.ts.length; i++) b.append(s.labels, s.ts[i], s.vs[i]);
  return (await b.writeBlock(dir))!.dir;
}

function slice(s: InputSeries, keep: (t: number) => boolean): InputSeries {
  const idx = s.ts.map((t, i) => (keep(t) ? i : -1)).filter((i) => i >= 0);
  return { labels: s.labels, ts: idx.map((i) => s.ts[i]), vs: Float64Array.from(idx, (i) => s.vs[i]) };
}

const input = fixture();
let blockDir: string;

beforeAll(async () => {
  blockDir = await writeFixture(await tempDir('block-q'), input);
});

describe('Block.querier', () => {
  it('selects by matchers, sorted by labels', async () => {
    const b = await Block.open(blockDir);
    const q = await b.querier(-Infinity, Infinity);
    const names = async (...ms: ReturnType<typeof newMatcher>[]): Promise<string[]> =>
      (await collect(q.select(EVERYTHING, ms))).map((s) => s.labels.find((l) => l.name === '__name__')!.value);
    expect(await names()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await names(newMatcher(MatchType.EQ, 'job', 'y'))).toEqual(['c', 'd']);
    expect(await names(newMatcher(MatchType.NEQ, 'job', 'y'))).toEqual(['a', 'b', 'e']);
    expect(await names(newMatcher(MatchType.RE, '__name__', 'a|c|e'), newMatcher(MatchType.NRE, 'job', 'z'))).toEqual(['a', 'c']);
    expect(await names(newMatcher(MatchType.EQ, 'temp', ''))).toEqual(['a', 'c']);
    expect(await names(newMatcher(MatchType.NEQ, 'temp', ''))).toEqual(['b', 'd', 'e']);
    expect(await names(newMatcher(MatchType.EQ, 'job', 'nope'))).toEqual([]);
    const all = await collect(q.select(EVERYTHING, []));
    expect(firstDifference(all, input)).toBeNull();
    await b.close();
  });

  it('restricts samples to [mint, maxt] inclusive, by querier range and by hints', async () => {
    const b = await Block.open(blockDir);
    const lo = T0 + 1234 * 10; // inside the first chunk, between samples
    const hi = T0 + 3_000_000; // exactly on a sample in the third chunk
    const want = input.map((s) => slice(s, (t) => t >= lo && t <= hi));
    expect(firstDifference(await collect((await b.querier(lo, hi)).select(EVERYTHING, [])), want)).toBeNull();
    expect(firstDifference(await collect((await b.querier(-Infinity, Infinity)).select({ start: lo, end: hi }, [])), want)).toBeNull();
    // Out of range entirely: nothing.
    expect(await collect((await b.querier(T0 + 10 * 3_600_000, Infinity)).select(EVERYTHING, []))).toEqual([]);
    await b.close();
  });

  it('keeps only chunks overlapping the range and reads a chunk only when reached', async () => {
    const b = await Block.open(blockDir);
    const q = await b.querier(T0 + 2_500_000, T0 + 2_600_000);
    const series = [];
    for await (const s of q.select(EVERYTHING, [newMatcher(MatchType.EQ, '__name__', 'a')])) series.push(s);
    expect(series).toHaveLength(1);
    const metas = (series[0] as unknown as { chunkMetas: { mint: number }[] }).chunkMetas;
    expect(metas.map((c) => c.mint)).toEqual([T0 + 2_400_000]);
    // Reading counts: one chunk for the whole iteration.
    let reads = 0;
    const orig = b.readChunk.bind(b);
    b.readChunk = (ref: number) => (reads++, orig(ref));
    const d = drain(series[0].iterator());
    expect(d.ts).toEqual(Array.from({ length: 11 }, (_, i) => T0 + 2_500_000 + i * 10_000));
    expect(reads).toBe(1);
    // seek skips chunks without reading them
    reads = 0;
    const all = [];
    for await (const s of (await b.querier(-Infinity, Infinity)).select(EVERYTHING, [newMatcher(MatchType.EQ, '__name__', 'a')])) all.push(s);
    const it = all[0].iterator();
    expect(it.seek(T0 + 5_000_005)).toBe(ValueType.Float);
    expect(it.atT()).toBe(T0 + 5_010_000);
    expect(reads).toBe(1);
    expect(it.seek(T0 + 6_000_000)).toBe(ValueType.None);
    expect(it.next()).toBe(ValueType.None);
    expect(it.err()).toBeNull();
    await b.close();
  });

  it('iterators are fresh on every call and can be reused', async () => {
    const b = await Block.open(blockDir);
    const all = await (async () => {
      const out = [];
      for await (const s of (await b.querier(-Infinity, Infinity)).select(EVERYTHING, [])) out.push(s);
      return out;
    })();
    const it0 = all[0].iterator();
    expect(drain(it0).ts.length).toBe(600);
    expect(drain(all[0].iterator()).ts.length).toBe(600);
    const reused = all[1].iterator(it0);
    expect(reused).toBe(it0);
    expect(firstDifference([{ labels: all[1].labels, ...drain(reused) }], [input[1]])).toBeNull();
    await b.close();
  });

  it('answers label names and values', async () => {
    const b = await Block.open(blockDir);
    const q = await b.querier(-Infinity, Infinity);
    expect(await q.labelNames([])).toEqual(['__name__', 'job', 'temp']);
    expect(await q.labelNames([newMatcher(MatchType.EQ, 'job', 'x'), newMatcher(MatchType.EQ, 'temp', '')])).toEqual(['__name__', 'job']);
    expect(await q.labelValues('temp', [])).toEqual(['cold', 'hot']);
    expect(await q.labelValues('temp', [newMatcher(MatchType.RE, 'job', 'x|y')])).toEqual(['hot']);
    expect(await q.labelValues('__name__', [newMatcher(MatchType.EQ, 'temp', 'hot')])).toEqual(['b', 'd']);
    expect(await q.labelValues('job', [newMatcher(MatchType.NEQ, 'temp', '')])).toEqual(['x', 'y', 'z']);
    expect(await q.labelValues('nope', [])).toEqual([]);
    expect(await q.labelValues('job', [newMatcher(MatchType.EQ, 'job', 'nope')])).toEqual([]);
    await b.close();
  });
});

describe('tombstones', () => {
  let dir: string;
  // Series refs are index offsets / 16; find them through the index.
  const refOf = async (b: Block, name: string): Promise<number> => {
    const p = b.index.postings('__name__', name);
    expect(p.next()).toBe(true);
    return p.at();
  };

  beforeAll(async () => {
    dir = await writeFixture(await tempDir('block-tomb'), input);
    const b = await Block.open(dir);
    const st = new MemTombstones();
    // a: a stretch across a chunk boundary; b: its whole second chunk exactly, plus two
    // single samples; c: everything.
    st.addInterval(await refOf(b, 'a'), { mint: T0 + 1_000_000, maxt: T0 + 1_500_000 });
    st.addInterval(await refOf(b, 'b'), { mint: T0 + 1_200_000, maxt: T0 + 2_390_000 }, { mint: T0, maxt: T0 }, { mint: T0 + 5_990_000, maxt: T0 + 5_990_000 });
    st.addInterval(await refOf(b, 'c'), { mint: -Number.MAX_SAFE_INTEGER, maxt: Number.MAX_SAFE_INTEGER });
    await b.close();
    await writeTombstones(join(dir, 'tombstones'), st);
  });

  const deleted = (name: string, t: number): boolean =>
    (name === 'a' && t >= T0 + 1_000_000 && t <= T0 + 1_500_000) ||
    (name === 'b' && ((t >= T0 + 1_200_000 && t <= T0 + 2_390_000) || t === T0 || t === T0 + 5_990_000)) ||
    name === 'c';
  const nameOf = (s: InputSeries): string => s.labels.find((l) => l.name === '__name__')!.value;

  it('hides deleted samples from select and seek', async () => {
    const b = await Block.open(dir);
    const want = input.filter((s) => nameOf(s) !== 'c').map((s) => slice(s, (t) => !deleted(nameOf(s), t)));
    expect(firstDifference(await collect((await b.querier(-Infinity, Infinity)).select(EVERYTHING, [])), want)).toBeNull();
    for await (const s of (await b.querier(-Infinity, Infinity)).select(EVERYTHING, [newMatcher(MatchType.EQ, '__name__', 'a')])) {
      const it = s.iterator();
      expect(it.seek(T0 + 1_000_000)).toBe(ValueType.Float);
      expect(it.atT()).toBe(T0 + 1_510_000);
    }
    await b.close();
  });

  it('chunk querier: untouched chunks pass through, cut ones are re-encoded, deleted ones dropped', async () => {
    const b = await Block.open(dir);
    const untouched = new Map<string, Uint8Array[]>();
    for await (const s of (await b.chunkQuerier(-Infinity, Infinity)).select(EVERYTHING, [])) {
      untouched.set(labelsToString(s.labels), []);
    }
    expect([...untouched.keys()].map((k) => k.match(/__name__="(\w)"/)![1])).toEqual(['a', 'b', 'd', 'e']);
    const fresh = await Block.open(blockDir); // same data, no tombstones
    const layout = async (blk: Block): Promise<Map<string, { mint: number; maxt: number; n: number; bytes: string }[]>> => {
      const m = new Map<string, { mint: number; maxt: number; n: number; bytes: string }[]>();
      for await (const s of (await blk.chunkQuerier(-Infinity, Infinity)).select(EVERYTHING, [])) {
        m.set(
          labelsToString(s.labels).match(/__name__="(\w)"/)![1],
          [...s.chunks()].map((c) => ({ mint: c.mint, maxt: c.maxt, n: c.chunk.numSamples(), bytes: Buffer.from(c.chunk.bytes()).toString('hex') })),
        );
      }
      return m;
    };
    const withTomb = await layout(b);
    const orig = await layout(fresh);
    // d and e: passed through byte for byte.
    expect(withTomb.get('d')).toEqual(orig.get('d'));
    expect(withTomb.get('e')).toEqual(orig.get('e'));
    // a: chunks 0 and 1 cut (1_000_000..1_500_000 spans 1_190_000/1_200_000), the rest untouched.
    const a = withTomb.get('a')!;
    expect(a.map((c) => [c.mint - T0, c.maxt - T0, c.n])).toEqual([
      [0, 990_000, 100],
      [1_510_000, 2_390_000, 89],
      [2_400_000, 3_590_000, 120],
      [3_600_000, 4_790_000, 120],
      [4_800_000, 5_990_000, 120],
    ]);
    expect(a.slice(2)).toEqual(orig.get('a')!.slice(2));
    // b: the second chunk is gone, the first and last lose one sample each.
    expect(withTomb.get('b')!.map((c) => [c.mint - T0, c.maxt - T0, c.n])).toEqual([
      [10_000, 1_190_000, 119],
      [2_400_000, 3_590_000, 120],
      [3_600_000, 4_790_000, 120],
      [4_800_000, 5_980_000, 119],
    ]);
    await fresh.close();
    await b.close();
  });
});

describe('BlocksQueryable', () => {
  it('merges overlapping blocks by labels and timestamps, earlier block winning duplicates', async () => {
    const dir = await tempDir('blocks-merge');
    const s1 = labelsFromStrings('__name__', 'm', 'i', '1');
    const s2 = labelsFromStrings('__name__', 'm', 'i', '2');
    const s3 = labelsFromStrings('__name__', 'm', 'i', '3');
    const one = new SeriesBuilder();
    const two = new SeriesBuilder();
    for (let k = 0; k < 300; k++) {
      one.append(s1, T0 + k * 20_000, k); // even 10 s slots
      two.append(s1, T0 + 5 * 60_000 + k * 10_000, -k); // overlaps, sharing even slots
      if (k < 10) one.append(s3, T0 + k, k);
      if (k < 10) two.append(s2, T0 + 100 + k, k);
    }
    await one.writeBlock(dir);
    await two.writeBlock(dir);
    const db = await BlocksQueryable.openDir(dir);
    expect(db.blocks).toHaveLength(2);
    const got = await collect((await db.querier(-Infinity, Infinity)).select(EVERYTHING, []));
    expect(got.map((s) => s.labels)).toEqual([s1, s2, s3]);
    const want = new Map<number, number>();
    for (let k = 299; k >= 0; k--) want.set(T0 + 5 * 60_000 + k * 10_000, -k);
    for (let k = 0; k < 300; k++) want.set(T0 + k * 20_000, k); // the first block wins
    const ts = [...want.keys()].sort((x, y) => x - y);
    expect(got[0].ts).toEqual(ts);
    expect([...got[0].vs]).toEqual(ts.map((t) => want.get(t)));
    // seek through the merge
    const q = await db.querier(-Infinity, Infinity);
    for await (const s of q.select(EVERYTHING, [newMatcher(MatchType.EQ, 'i', '1')])) {
      const it = s.iterator();
      expect(it.seek(T0 + 5 * 60_000 + 15_000)).toBe(ValueType.Float);
      expect([it.atT(), it.atF()]).toEqual([T0 + 5 * 60_000 + 20_000, 16]);
      expect(it.next()).toBe(ValueType.Float);
      expect([it.atT(), it.atF()]).toEqual([T0 + 5 * 60_000 + 30_000, -3]);
    }
    // label lookups are unions
    expect(await q.labelValues('i', [])).toEqual(['1', '2', '3']);
    expect(await q.labelNames([newMatcher(MatchType.EQ, 'i', '2')])).toEqual(['__name__', 'i']);
    await db.close();
  });

  it('opens only the blocks overlapping the range, and only ULID directories', async () => {
    const dir = await tempDir('blocks-range');
    const l = labelsFromStrings('__name__', 'm');
    for (let k = 0; k < 3; k++) {
      const b = new SeriesBuilder();
      for (let i = 0; i < 10; i++) b.append(l, T0 + k * 7_200_000 + i * 1000, k);
      await b.writeBlock(dir, { mint: T0 + k * 7_200_000, maxt: T0 + (k + 1) * 7_200_000 });
    }
    await mkdir(join(dir, 'wal'));
    await mkdir(join(dir, '01ARZ3NDEKTSV4RRFFQ69G5FAV.tmp-for-creation'));
    const db = await BlocksQueryable.openDir(dir);
    expect(db.blocks).toHaveLength(3);
    // [T0 + 2h, T0 + 2h + 5 s]: only the second block; maxTime is exclusive.
    const got = await collect((await db.querier(T0 + 7_200_000, T0 + 7_205_000)).select(EVERYTHING, []));
    expect(got[0].ts).toEqual([0, 1, 2, 3, 4, 5].map((i) => T0 + 7_200_000 + i * 1000));
    const atEdge = await collect((await db.querier(T0 + 7_199_999, T0 + 7_199_999)).select(EVERYTHING, []));
    expect(atEdge.flatMap((s) => s.ts)).toEqual([]);
    await db.close();
  });
});

describe('corrupt blocks', () => {
  async function copyBlock(name: string): Promise<string> {
    const dst = join(await tempDir(`corrupt-${name}`), 'block');
    await cp(blockDir, dst, { recursive: true });
    return dst;
  }

  async function readAll(dir: string): Promise<{ got: { labels: Labels; ts: number[]; vs: Float64Array }[]; err: unknown }> {
    const b = await Block.open(dir);
    const got: { labels: Labels; ts: number[]; vs: Float64Array }[] = [];
    try {
      for await (const s of (await b.querier(-Infinity, Infinity)).select(EVERYTHING, [])) {
        const it = s.iterator();
        const ts: number[] = [];
        const vs: number[] = [];
        while (it.next() !== ValueType.None) {
          ts.push(it.atT());
          vs.push(it.atF());
        }
        got.push({ labels: s.labels, ts, vs: Float64Array.from(vs) });
        if (it.err() !== null) return { got, err: it.err() };
      }
      return { got, err: null };
    } catch (err) {
      return { got, err };
    } finally {
      await b.close();
    }
  }

  /** Everything read before an error must be a prefix of the real data. */
  function expectPrefixOfInput(got: { labels: Labels; ts: number[]; vs: Float64Array }[]): void {
    got.forEach((g, i) => {
      expect(g.labels).toEqual(input[i].labels);
      expect(g.ts).toEqual(input[i].ts.slice(0, g.ts.length));
      expect([...g.vs]).toEqual([...input[i].vs.slice(0, g.vs.length)]);
    });
  }

  it('missing index: names the file', async () => {
    const dir = await copyBlock('noindex');
    await rm(join(dir, 'index'));
    await expect(Block.open(dir)).rejects.toThrow(join(dir, 'index'));
  });

  it('missing chunks directory: names it', async () => {
    const dir = await copyBlock('nochunks');
    await rm(join(dir, 'chunks'), { recursive: true });
    await expect(Block.open(dir)).rejects.toThrow(join(dir, 'chunks'));
  });

  it('bad meta.json: names the file and what is wrong', async () => {
    const dir = await copyBlock('badmeta');
    const meta = join(dir, 'meta.json');
    const good = await readFile(meta, 'utf8');
    await writeFile(meta, good.slice(0, 40));
    const e1 = await Block.open(dir).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(InvalidBlockMetaError);
    expect((e1 as Error).message).toContain(meta);
    expect((e1 as Error).message).toMatch(/invalid JSON/);
    await writeFile(meta, good.replace('"version": 1', '"version": 2'));
    await expect(Block.open(dir)).rejects.toThrow(`${meta}: unexpected meta file version 2`);
    await writeFile(meta, good.replace(/"ulid": "[^"]+"/, '"ulid": "nope"'));
    await expect(Block.open(dir)).rejects.toThrow(/ulid: "nope" is not a valid ULID/);
  });

  it('truncated chunk file: the iterator stops with an error naming the segment and offset', async () => {
    const dir = await copyBlock('truncchunks');
    const seg = join(dir, 'chunks', '000001');
    const size = (await readFile(seg)).length;
    await truncate(seg, Math.floor(size / 2));
    const { got, err } = await readAll(dir);
    expect(err).toBeInstanceOf(CorruptionError);
    const ce = err as CorruptionError;
    expect(ce.file).toBe(seg);
    expect(ce.offset).toBeGreaterThan(8);
    expect(ce.message).toMatch(new RegExp(`^${seg}: offset \\d+: `));
    expectPrefixOfInput(got);
    expect(got.length).toBeLessThan(input.length + 1);
  });

  it('flipped byte in a chunk: checksum error, never a wrong sample', async () => {
    const dir = await copyBlock('flipchunk');
    const seg = join(dir, 'chunks', '000001');
    const buf = await readFile(seg);
    const at = 8 + Math.floor((buf.length - 8) * 0.6);
    buf[at] ^= 0x10;
    await writeFile(seg, buf);
    const { got, err } = await readAll(dir);
    expect(err).toBeInstanceOf(CorruptionError);
    expect((err as Error).message).toMatch(new RegExp(`^${seg}: offset \\d+: chunk checksum mismatch`));
    expectPrefixOfInput(got);
  });

  it('flipped byte in the index: CorruptionError naming the index and offset', async () => {
    for (const where of [0.02, 0.5, 0.99]) {
      const dir = await copyBlock(`flipindex-${where}`);
      const path = join(dir, 'index');
      const buf = await readFile(path);
      buf[Math.floor(buf.length * where)] ^= 0x01;
      await writeFile(path, buf);
      const { got, err } = await readAll(dir).catch((e: unknown) => ({ got: [], err: e }));
      expect(err, `flip at ${where}`).toBeInstanceOf(CorruptionError);
      expect((err as Error).message).toMatch(new RegExp(`^${path}: offset \\d+: `));
      expectPrefixOfInput(got);
    }
  });

  it('corrupt tombstones: names the file', async () => {
    const dir = await copyBlock('badtomb');
    await writeFile(join(dir, 'tombstones'), Buffer.from([0x01, 0x30, 0xba, 0x30, 0x01, 0x05, 0x00, 0x00, 0x00, 0x00]));
    await expect(Block.open(dir)).rejects.toThrow(`${join(dir, 'tombstones')}: offset`);
  });

  it('openBlocks fails on the first bad block', async () => {
    const dir = await tempDir('corrupt-openblocks');
    await cp(blockDir, join(dir, '01ARZ3NDEKTSV4RRFFQ69G5FAV'), { recursive: true });
    await cp(blockDir, join(dir, '01ARZ3NDEKTSV4RRFFQ69G5FAW'), { recursive: true });
    await rm(join(dir, '01ARZ3NDEKTSV4RRFFQ69G5FAW', 'index'));
    await expect(openBlocks(dir)).rejects.toThrow(/01ARZ3NDEKTSV4RRFFQ69G5FAW\/index/);
  });
});
