// End to end: a raw block written with BlockWriter is downsampled to 5m, the 5m block to
// 1h; both outputs are read back with Block / parseChunkRecord and compared with a
// straightforward reference computation over the raw samples.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promtool, removeTempDirs, rng, tempDir } from '@thanos-ts/testutil';
import { Block, BlockWriter } from '../block/index.js';
import { readBlockMeta, SourceType, ZERO_TIME, type BlockMeta } from '../block-meta/index.js';
import {
  aggrChunkIterator,
  AggrType,
  CHUNK_ENC_AGGR,
  NORMAL_NAN,
  STALE_NAN,
  ValueType,
  XorChunk,
  XorIterator,
} from '../chunkenc/index.js';
import { parseChunkRecord, SEGMENT_HEADER_SIZE } from '../chunks/index.js';
import { compareLabels, compareStrings, labelsFromStrings, labelsToString, type Labels } from '../labels/index.js';
import { ALL_POSTINGS_KEY } from '../postings/index.js';
import type { SeriesChunk } from '../storage/index.js';
import { ulid } from '../ulid/index.js';
import { ApplyCounterResetsIterator } from './counter-resets-iterator.js';
import { downsampleBlock, type DownsampledBlock } from './downsample-block.js';
import { currentWindow, ResLevel } from './resolution.js';

afterAll(removeTempDirs);

const H = 3_600_000;
// Hour-aligned start plus an odd offset, so that windows are not trivially aligned.
const BASE = 1_699_999_200_000;
const MINT = BASE;
const MAXT = BASE + 30 * H;

/** Raw input; values are quarter-integers so that any summation order is exact. */
interface RawSeries {
  labels: Labels;
  t: Float64Array;
  v: Float64Array;
}

function series(labels: Labels, n: number, gen: (i: number, put: (t: number, v: number) => void) => void): RawSeries {
  const t: number[] = [];
  const v = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    gen(i, (ts, val) => {
      t.push(ts);
      v[k++] = val;
    });
  }
  return { labels, t: Float64Array.from(t), v: v.slice(0, k) };
}

function makeRaw(): RawSeries[] {
  const r = rng(7);
  const out: RawSeries[] = [];
  // A counter scraped every 15s with resets and a 2h gap.
  let c = 1000;
  out.push(
    series(labelsFromStrings('__name__', 'ds_counter', 'kind', 'resets'), 7200, (i, put) => {
      const t = BASE + 7_123 + i * 15_000;
      if (t >= BASE + 10 * H && t < BASE + 12 * H) return; // gap
      c = i % 997 === 0 && i > 0 ? Math.floor(r() * 50) : c + Math.floor(r() * 40);
      put(t, c);
    }),
  );
  // A gauge with NaNs and stale markers (both dropped), negative values.
  out.push(
    series(labelsFromStrings('__name__', 'ds_gauge', 'kind', 'nan'), 7000, (i, put) => {
      const t = BASE + 1 + i * 15_000 + (i % 7);
      const x = r();
      put(t, x < 0.03 ? NORMAL_NAN : x < 0.05 ? STALE_NAN : Math.round((r() - 0.5) * 4000) / 4);
    }),
  );
  // Sparse: one sample every 10 minutes.
  out.push(series(labelsFromStrings('__name__', 'ds_gauge', 'kind', 'sparse'), 180, (i, put) => put(BASE + 299_999 + i * 600_000, i * 2.5)));
  // Nothing but stale markers: no output series.
  out.push(series(labelsFromStrings('__name__', 'ds_only_stale'), 50, (i, put) => put(BASE + i * 60_000, STALE_NAN)));
  // A single sample, on the last millisecond of a 5m window.
  out.push(series(labelsFromStrings('__name__', 'ds_single'), 1, (_, put) => put(BASE + 5 * H + 299_999, 42)));
  // Enough small series to pass the event-loop yield.
  for (let s = 0; s < 300; s++) {
    out.push(
      series(labelsFromStrings('__name__', 'ds_many', 'i', String(s).padStart(3, '0')), 40, (i, put) => put(BASE + s * 1000 + i * 1_800_000, s + i)),
    );
  }
  return out.sort((a, b) => compareLabels(a.labels, b.labels));
}

/** Writes a raw Thanos block (120-sample XOR chunks) with a non-trivial compaction. */
async function writeRawBlock(parent: string, raw: readonly RawSeries[]): Promise<string> {
  const symbols = new Set<string>();
  for (const s of raw) for (const l of s.labels) symbols.add(l.name).add(l.value);
  const sources = [ulid(), ulid(), ulid()].sort();
  const w = new BlockWriter(parent, {
    mint: MINT,
    maxt: MAXT,
    symbols: [...symbols].sort(compareStrings),
    compaction: { level: 3, sources, parents: sources.map((u, i) => ({ ulid: u, minTime: MINT + i * 10 * H, maxTime: MINT + (i + 1) * 10 * H })) },
    thanos: {
      version: 1,
      labels: { cluster: 'eu-1', replica: 'a' },
      downsample: { resolution: 0 },
      source: SourceType.Compactor,
      index_stats: { series_max_size: 1234, chunk_max_size: 567 },
      upload_time: '2024-01-02T03:04:05Z',
      files: [{ rel_path: 'index', size_bytes: 1 }],
    },
  });
  for (const s of raw) {
    const chunks: SeriesChunk[] = [];
    for (let i = 0; i < s.t.length; i += 120) {
      const c = new XorChunk();
      const app = c.appender();
      const end = Math.min(i + 120, s.t.length);
      for (let k = i; k < end; k++) app.append(s.t[k], s.v[k]);
      chunks.push({ mint: s.t[i], maxt: s.t[end - 1], chunk: c });
    }
    w.addSeries(s.labels, chunks);
  }
  await w.close();
  return w.dir;
}

interface WindowRef {
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** The reference: per window of res ms, count/sum/min/max over the non-NaN raw samples. */
function referenceWindows(s: RawSeries, res: number): Map<number, WindowRef> {
  const m = new Map<number, WindowRef>();
  for (let i = 0; i < s.t.length; i++) {
    const v = s.v[i];
    if (Number.isNaN(v)) continue;
    const w = currentWindow(s.t[i], res);
    const x = m.get(w);
    if (x === undefined) m.set(w, { count: 1, sum: v, min: v, max: v });
    else {
      x.count++;
      x.sum += v;
      x.min = Math.min(x.min, v);
      x.max = Math.max(x.max, v);
    }
  }
  return m;
}

/** The reference counter: reset-compensated running total at each non-NaN raw sample. */
function referenceCounter(s: RawSeries): { t: number[]; c: number[] } {
  const t: number[] = [];
  const c: number[] = [];
  let last = 0;
  let total = 0;
  for (let i = 0; i < s.t.length; i++) {
    const v = s.v[i];
    if (Number.isNaN(v)) continue;
    if (t.length === 0) total = v;
    else total += v >= last ? v - last : v;
    last = v;
    t.push(s.t[i]);
    c.push(total);
  }
  return { t, c };
}

/** Counter value at time x: that of the last raw sample at or before x. */
function counterAt(ref: { t: number[]; c: number[] }, x: number): number {
  let lo = 0;
  let hi = ref.t.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (ref.t[m] <= x) lo = m + 1;
    else hi = m;
  }
  return ref.c[lo - 1];
}

function drain(it: XorIterator | null): [number, number][] {
  expect(it).not.toBeNull();
  const out: [number, number][] = [];
  while (it!.next() !== ValueType.None) out.push([it!.atT(), it!.atF()]);
  expect(it!.err()).toBeNull();
  return out;
}

/** Every record of every segment, CRC-checked by parseChunkRecord. */
async function allChunkRecords(dir: string): Promise<{ encoding: number; size: number }[]> {
  const out: { encoding: number; size: number }[] = [];
  for (const name of (await readdir(join(dir, 'chunks'))).sort()) {
    const buf = new Uint8Array(await readFile(join(dir, 'chunks', name)));
    for (let off = SEGMENT_HEADER_SIZE; off < buf.length; ) {
      const rec = parseChunkRecord(buf, off, name);
      out.push({ encoding: rec.encoding, size: rec.size });
      off += rec.size;
    }
  }
  return out;
}

/**
 * Reads a downsampled block back and checks every series against the reference: all
 * chunks are 0xFF; chunk ranges match their windows; count/sum/min/max per window;
 * the counter, re-expanded through ApplyCounterResetsIterator, at every timestamp.
 */
async function verify(out: DownsampledBlock, raw: readonly RawSeries[], res: number): Promise<{ series: number; chunks: number; windows: number }> {
  const block = await Block.open(out.dir);
  const byKey = new Map(raw.map((s) => [labelsToString(s.labels), s]));
  let nSeries = 0;
  let nChunks = 0;
  let nWindows = 0;
  let nCounterChecked = 0;
  try {
    const p = block.index.postings(ALL_POSTINGS_KEY.name, ALL_POSTINGS_KEY.value);
    while (p.next()) {
      const e = block.index.series(p.at());
      const s = byKey.get(labelsToString(e.labels))!;
      expect(s, labelsToString(e.labels)).toBeDefined();
      nSeries++;
      const rawTs = new Set(s.t);
      const got = new Map<number, WindowRef>();
      const counterIters: XorIterator[] = [];
      let prevMaxt = -Infinity;
      for (const cm of e.chunks) {
        nChunks++;
        const rec = block.readChunk(cm.ref);
        expect(rec.encoding).toBe(CHUNK_ENC_AGGR);
        const data = rec.data.slice();
        const count = drain(aggrChunkIterator(data, AggrType.COUNT));
        const sum = drain(aggrChunkIterator(data, AggrType.SUM));
        const min = drain(aggrChunkIterator(data, AggrType.MIN));
        const max = drain(aggrChunkIterator(data, AggrType.MAX));
        const counter = drain(aggrChunkIterator(data, AggrType.COUNTER));
        nWindows += count.length;
        // Index range = the window timestamps; chunks ordered, disjoint, inside the block.
        expect(cm.mint).toBe(count[0][0]);
        expect(cm.maxt).toBe(count[count.length - 1][0]);
        expect(cm.mint).toBeGreaterThan(prevMaxt);
        expect(cm.mint).toBeGreaterThanOrEqual(MINT);
        expect(cm.maxt).toBeLessThan(MAXT);
        prevMaxt = cm.maxt;
        for (const a of [sum, min, max]) expect(a.map((x) => x[0])).toEqual(count.map((x) => x[0]));
        for (let i = 0; i < count.length; i++) {
          const t = count[i][0];
          const w = currentWindow(t, res);
          // A window is stamped with its end, or with the chunk's last sample when earlier.
          if (t !== w) {
            expect(i).toBe(count.length - 1);
            expect(rawTs.has(t)).toBe(true);
          }
          const x = got.get(w);
          if (x === undefined) got.set(w, { count: count[i][1], sum: sum[i][1], min: min[i][1], max: max[i][1] });
          else {
            // a window split by a chunk boundary (1h over 5m chunk groups)
            x.count += count[i][1];
            x.sum += sum[i][1];
            x.min = Math.min(x.min, min[i][1]);
            x.max = Math.max(x.max, max[i][1]);
          }
        }
        // Counter chunk: first raw sample, one sample per window, last raw value repeated.
        expect(counter).toHaveLength(count.length + 2);
        expect(rawTs.has(counter[0][0])).toBe(true);
        expect(counter.slice(1, -1).map((x) => x[0])).toEqual(count.map((x) => x[0]));
        expect(counter[counter.length - 1][0]).toBe(counter[counter.length - 2][0]);
        counterIters.push(aggrChunkIterator(data, AggrType.COUNTER)!);
      }
      expect(Object.fromEntries(got)).toEqual(Object.fromEntries(referenceWindows(s, res)));

      // The counter aggregate is meaningful for non-negative series (counters); with
      // negative values a within-chunk "reset" can lower it and read as a reset later.
      const it = new ApplyCounterResetsIterator(counterIters);
      if (s.v.every((v) => Number.isNaN(v) || v >= 0)) {
        const ref = referenceCounter(s);
        let n = 0;
        while (it.next() !== ValueType.None) {
          if (n === 0) expect([it.atT(), it.atF()]).toEqual([ref.t[0], ref.c[0]]);
          expect(it.atF()).toBe(counterAt(ref, it.atT()));
          n++;
        }
        expect(n).toBeGreaterThanOrEqual(got.size);
        nCounterChecked++;
      } else {
        while (it.next() !== ValueType.None);
      }
      expect(it.err()).toBeNull();
      expect(it.lastV).toBe(s.v[lastNonNaN(s)]);
    }
    expect(p.err()).toBeNull();
  } finally {
    await block.close();
  }
  // all but the gauge with negative values
  expect(nCounterChecked).toBe(nSeries - 1);
  return { series: nSeries, chunks: nChunks, windows: nWindows };
}

function lastNonNaN(s: RawSeries): number {
  for (let i = s.t.length - 1; i >= 0; i--) if (!Number.isNaN(s.v[i])) return i;
  return -1;
}

function expectDownsampledMeta(meta: BlockMeta, src: BlockMeta, out: DownsampledBlock, res: number): void {
  expect(meta.ulid).toBe(out.ulid);
  expect(meta.ulid).not.toBe(src.ulid);
  expect([meta.minTime, meta.maxTime]).toEqual([src.minTime, src.maxTime]);
  expect(meta.compaction).toEqual(src.compaction);
  expect(meta.version).toBe(1);
  expect(meta.thanos).toEqual({
    version: 1,
    labels: { cluster: 'eu-1', replica: 'a' },
    downsample: { resolution: res },
    source: 'compactor',
    index_stats: {},
    upload_time: ZERO_TIME,
  });
  expect(meta).toEqual(out.meta);
}

describe('downsampleBlock', () => {
  const raw = makeRaw();
  let parent: string;
  let rawDir: string;
  let rawMeta: BlockMeta;
  let five: DownsampledBlock;
  let hour: DownsampledBlock;
  const warnings: string[] = [];

  beforeAll(async () => {
    parent = await tempDir('downsample');
    rawDir = await writeRawBlock(join(parent, 'raw'), raw);
    rawMeta = await readBlockMeta(rawDir);
    five = (await downsampleBlock(rawDir, join(parent, 'out'), ResLevel.L1, { warn: (m) => warnings.push(m) }))!;
    const src = await Block.open(five.dir);
    try {
      hour = (await downsampleBlock(src, join(parent, 'out'), ResLevel.L2))!;
    } finally {
      await src.close();
    }
  });

  it('raw -> 5m: a block of 0xFF chunks whose aggregates equal the reference', async () => {
    const meta = await readBlockMeta(five.dir);
    expectDownsampledMeta(meta, rawMeta, five, ResLevel.L1);
    const got = await verify(five, raw, ResLevel.L1);
    // ds_only_stale has no data left; everything else is there.
    expect(got.series).toBe(raw.length - 1);
    expect(warnings).toEqual([expect.stringMatching(/series \{__name__="ds_only_stale"\}: no data left after downsampling: skipped/)]);
    expect(meta.stats).toEqual({ numSeries: got.series, numChunks: got.chunks, numSamples: got.windows });
    // A 30h counter at 15s (minus the gap) at 5m: ~336 windows in 3 chunks of < 140.
    expect(got.chunks).toBeGreaterThan(got.series);
    const records = await allChunkRecords(five.dir);
    expect(records).toHaveLength(got.chunks);
    for (const r of records) expect(r.encoding).toBe(0xff);
    expect(await readdir(five.dir)).toEqual(['chunks', 'index', 'meta.json', 'tombstones']);
  });

  it('5m -> 1h: re-aggregated along chunk boundaries, still equal to the reference', async () => {
    const meta = await readBlockMeta(hour.dir);
    expectDownsampledMeta(meta, { ...rawMeta, ulid: five.ulid }, hour, ResLevel.L2);
    const got = await verify(hour, raw, ResLevel.L2);
    expect(got.series).toBe(raw.length - 1);
    expect(meta.stats).toEqual({ numSeries: got.series, numChunks: got.chunks, numSamples: got.windows });
    for (const r of await allChunkRecords(hour.dir)) expect(r.encoding).toBe(0xff);
  });

  it('is readable through ChunkReader, which checks each record CRC over 0xFF and the data', async () => {
    const b = await Block.open(five.dir);
    try {
      const p = b.index.postings('__name__', 'ds_counter');
      expect(p.next()).toBe(true);
      const e = b.index.series(p.at());
      expect(e.chunks.length).toBeGreaterThan(1);
      for (const c of e.chunks) expect(b.chunks.chunk(c.ref).encoding).toBe(0xff);
    } finally {
      await b.close();
    }
  });

  it('refuses a target resolution not lower than the source one, leaving nothing behind', async () => {
    const dir = await tempDir('downsample-refuse');
    await expect(downsampleBlock(five.dir, dir, ResLevel.L1)).rejects.toThrow(/target resolution 300000 not lower than existing one 300000/);
    await expect(downsampleBlock(rawDir, dir, 0)).rejects.toThrow(/resolution 0 must be a positive integer/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes the partial block when aborted', async () => {
    const dir = await tempDir('downsample-abort');
    const ac = new AbortController();
    ac.abort(new Error('stop now'));
    await expect(downsampleBlock(rawDir, dir, ResLevel.L1, { signal: ac.signal })).rejects.toThrow(/stop now/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('returns null for a block without data, or writes an empty block with keepEmpty', async () => {
    const src = await tempDir('downsample-empty-src');
    const w = new BlockWriter(src, {
      mint: MINT,
      maxt: MAXT,
      symbols: ['__name__', 'x'],
      thanos: { labels: null, downsample: { resolution: 0 }, source: 'sidecar', index_stats: {}, upload_time: ZERO_TIME },
    });
    const c = new XorChunk();
    c.appender().append(MINT, STALE_NAN);
    w.addSeries(labelsFromStrings('__name__', 'x'), [{ mint: MINT, maxt: MINT, chunk: c }]);
    await w.close();
    const dir = await tempDir('downsample-empty');
    expect(await downsampleBlock(w.dir, dir, ResLevel.L1)).toBeNull();
    expect(await readdir(dir)).toEqual([]);
    const kept = await downsampleBlock(w.dir, dir, ResLevel.L1, { keepEmpty: true, ulid: '01HZZZZZZZZZZZZZZZZZZZZZZZ' });
    expect(kept!.ulid).toBe('01HZZZZZZZZZZZZZZZZZZZZZZZ');
    expect(kept!.meta.stats).toEqual({});
    // Thanos (and our reader) read a null labels map as an empty one.
    expect(kept!.meta.thanos.labels).toEqual({});
  });

  it('runs promtool tsdb analyze on the 5m block (outcome recorded, not asserted)', async () => {
    // Prometheus 2.42 knows nothing of encoding 0xFF. Observed: `analyze` (index only)
    // exits 0 with the block's series/label statistics; `analyze --extended` reads the
    // chunks and exits 1 with: invalid chunk encoding "<unknown>". We only check that
    // promtool ran and that our block is intact afterwards.
    const dir = join(parent, 'out');
    const plain = await promtool(['tsdb', 'analyze', dir, five.ulid]);
    const extended = await promtool(['tsdb', 'analyze', '--extended', dir, five.ulid]);
    for (const r of [plain, extended]) {
      expect(typeof r.code).toBe('number');
      if (process.env.THANOS_TS_SHOW_PROMTOOL === '1') console.log(r.code, r.stdout, r.stderr);
    }
    expect((await verify(five, raw, ResLevel.L1)).series).toBe(raw.length - 1);
  });
});
