// SeriesBuilder: a small in-memory "head" that turns samples into blocks, for backfill,
// rule evaluation results and tests. Samples are XOR-encoded as they arrive, with the
// chunk cutting of Prometheus' head (memSeries.appendPreprocessor in
// tsdb/head_append.go), so that the same input gives the same chunks as
// `promtool tsdb create-blocks-from` and the same bytes per sample:
//
//   - a chunk never crosses a multiple of `chunkRange` (nextAt = end of the aligned
//     range holding the chunk's first sample), so no chunk spans two blocks;
//   - after samplesPerChunk/4 (30) samples, the end of the chunk is predicted so that
//     the rest of the range splits into chunks of about samplesPerChunk (120) samples:
//     regular scrapes give exactly 120 samples per chunk;
//   - a chunk is cut at 2 * samplesPerChunk samples at the latest;
//   - optionally (Prometheus >= 2.50) before an append to a chunk of more than
//     maxChunkBytes - 19 bytes.
//
// Only encoded chunks are kept: finished ones packed into shared slabs, plus one open
// chunk per series. Nothing is allocated per sample.

import { floatHiBits, floatLoBits, XorChunk, type XorAppender } from '../chunkenc/index.js';
import type { BlockMetaCompaction, ThanosMeta } from '../block-meta/index.js';
import { compareLabels, compareStrings, labelsKey, labelsToString, validateLabels, type Labels } from '../labels/index.js';
import { DuplicateSampleForTimestampError, OutOfOrderSampleError, type SeriesChunk } from '../storage/index.js';
import { BlockWriter, type WrittenBlockMeta } from './writer.js';

/** Prometheus' default (minimum) block duration and head chunk range: 2h in ms. */
export const DEFAULT_BLOCK_DURATION = 2 * 60 * 60 * 1000;

export interface SeriesBuilderOptions {
  /**
   * Chunks are cut at multiples of this many ms (Prometheus' head chunk range), so no
   * chunk spans two blocks of this size or of any multiple of it. Default 2h.
   * (`promtool tsdb create-blocks-from` uses twice its block duration.)
   */
  chunkRange?: number;
  /** Target samples per chunk (Prometheus' samplesPerChunk). Default 120. */
  samplesPerChunk?: number;
  /**
   * Cut a chunk before appending to one larger than maxChunkBytes - 19 bytes
   * (Prometheus >= 2.50 uses 1024). Default 0: no size limit, as Prometheus 2.42.
   */
  maxChunkBytes?: number;
}

/** What a SeriesBuilder holds. */
export interface SeriesBuilderStats {
  numSeries: number;
  numSamples: number;
  numChunks: number;
  /** Smallest and largest sample timestamps; +Infinity and -Infinity when empty. */
  minTime: number;
  maxTime: number;
}

export interface WriteBlockOptions {
  /** Block start (ms, inclusive). Default: the first sample. */
  mint?: number;
  /** Block end (ms, exclusive). Default: the last sample + 1. */
  maxt?: number;
  /** The meta.json `thanos` section; without it the block is a plain Prometheus one. */
  thanos?: ThanosMeta;
  ulid?: string;
  compaction?: BlockMetaCompaction;
}

export interface WriteBlocksOptions {
  thanos?: ThanosMeta;
}

/** A block written by a SeriesBuilder. */
export interface WrittenBlock {
  ulid: string;
  /** `<parent>/<ULID>` */
  dir: string;
  meta: WrittenBlockMeta;
}

/** Bytes XOR may add per sample at worst (68 bits of dod + 77 of value), rounded up. */
const MAX_BYTES_PER_SAMPLE = 19;
const SLAB_SIZE = 1 << 20;

/** Append-only storage of finished chunk bytes in 1 MiB slabs. */
class ChunkArena {
  readonly slabs: Uint8Array[] = [];
  private cur: Uint8Array = new Uint8Array(0);
  private pos = 0;
  /** Offset of the last add() in its slab. */
  lastOffset = 0;

  /** Copies b in and returns its slab index (offset in lastOffset). */
  add(b: Uint8Array): number {
    if (b.length > this.cur.length - this.pos) {
      this.cur = new Uint8Array(Math.max(SLAB_SIZE, b.length));
      this.slabs.push(this.cur);
      this.pos = 0;
    }
    this.cur.set(b, this.pos);
    this.lastOffset = this.pos;
    this.pos += b.length;
    return this.slabs.length - 1;
  }

  view(slab: number, off: number, len: number): Uint8Array {
    return this.slabs[slab].subarray(off, off + len);
  }
}

/** Fields per finished chunk in MemSeries.done. */
const DONE_MINT = 0;
const DONE_MAXT = 1;
const DONE_SLAB = 2;
const DONE_OFF = 3;
const DONE_LEN = 4;
const DONE_STRIDE = 5;

class MemSeries {
  /** Finished chunks, DONE_STRIDE numbers each. */
  readonly done: number[] = [];
  head: XorChunk | null = null;
  app: XorAppender | null = null;
  headMint = 0;
  headSamples = 0;
  nextAt = 0;
  lastT = -Infinity;
  lastV = 0;

  constructor(readonly labels: Labels) {}
}

/**
 * Accumulates samples of any number of series, in any series order (per series in
 * increasing time), as compressed chunks, and writes them out as blocks.
 *
 * To backfill data larger than memory, feed one block range at a time: append the
 * samples of [t, t + range), writeBlock(parent, { mint: t, maxt: t + range }) (or
 * writeBlocks), reset(), and go on with the next range.
 */
export class SeriesBuilder {
  readonly chunkRange: number;
  readonly samplesPerChunk: number;
  readonly maxChunkBytes: number;
  /** Appends into chunks below this many samples need no size check. */
  private readonly sizeCheckFrom: number;

  private series: MemSeries[] = [];
  private byKey = new Map<string, number>();
  private arena = new ChunkArena();
  private sorted: Uint32Array | null = null;
  private numSamples = 0;
  private numDone = 0;
  private minTime = Infinity;
  private maxTime = -Infinity;

  constructor(opts: SeriesBuilderOptions = {}) {
    this.chunkRange = opts.chunkRange ?? DEFAULT_BLOCK_DURATION;
    this.samplesPerChunk = opts.samplesPerChunk ?? 120;
    this.maxChunkBytes = opts.maxChunkBytes ?? 0;
    if (!Number.isSafeInteger(this.chunkRange) || this.chunkRange <= 0) throw new RangeError(`series builder: invalid chunk range ${this.chunkRange}`);
    if (!Number.isInteger(this.samplesPerChunk) || this.samplesPerChunk < 4 || this.samplesPerChunk > 0x7fff) {
      throw new RangeError(`series builder: samples per chunk ${this.samplesPerChunk} outside [4, 32767]`);
    }
    if (this.maxChunkBytes !== 0 && !(this.maxChunkBytes >= 64)) throw new RangeError(`series builder: max chunk bytes ${this.maxChunkBytes} below 64`);
    // A chunk of n samples has at most 2 + 18 + (n - 1) * 19 bytes.
    this.sizeCheckFrom = this.maxChunkBytes === 0 ? Infinity : Math.floor((this.maxChunkBytes - MAX_BYTES_PER_SAMPLE - 20) / MAX_BYTES_PER_SAMPLE) + 1;
  }

  /**
   * The ref of the series with these labels, created if new. Labels must be sorted by
   * name with unique names and non-empty values. Use the ref with appendRef() to skip
   * the label lookup on every sample.
   */
  getOrCreate(labels: Labels): number {
    const key = labelsKey(labels);
    let ref = this.byKey.get(key);
    if (ref === undefined) {
      if (labels.length === 0) throw new Error('series builder: empty label set');
      const invalid = validateLabels(labels);
      if (invalid !== null) throw new Error(`series builder: invalid label set ${labelsToString(labels)}: ${invalid}`);
      for (const l of labels) {
        if (l.value === '') throw new Error(`series builder: invalid label set ${labelsToString(labels)}: label ${JSON.stringify(l.name)} has an empty value`);
      }
      ref = this.series.length;
      this.series.push(new MemSeries(Object.freeze(labels.map((l) => ({ name: l.name, value: l.value })))));
      this.byKey.set(key, ref);
      this.sorted = null;
    }
    return ref;
  }

  /**
   * Appends a sample. See appendRef for the errors.
   * @returns the series ref
   */
  append(labels: Labels, t: number, v: number): number {
    const ref = this.getOrCreate(labels);
    this.appendRef(ref, t, v);
    return ref;
  }

  /**
   * Appends a sample to the series `ref` (from getOrCreate).
   * @throws OutOfOrderSampleError when t is before the series' last sample
   * @throws DuplicateSampleForTimestampError when t equals it with a different value
   *   (the same value is silently dropped, as Prometheus does)
   */
  appendRef(ref: number, t: number, v: number): void {
    const s = this.series[ref];
    if (s === undefined) throw new RangeError(`series builder: unknown series ref ${ref}`);
    if (!Number.isSafeInteger(t)) throw new RangeError(`series builder: timestamp ${t} is not a safe integer`);
    if (t <= s.lastT) {
      if (t < s.lastT) throw new OutOfOrderSampleError(t, s.lastT, labelsToString(s.labels));
      if (floatHiBits(v) === floatHiBits(s.lastV) && floatLoBits(v) === floatLoBits(s.lastV)) return;
      throw new DuplicateSampleForTimestampError(t, labelsToString(s.labels));
    }
    if (s.head === null) {
      this.cut(s, t);
    } else {
      const n = s.headSamples;
      if (n >= this.sizeCheckFrom && s.head.bytes().length > this.maxChunkBytes - MAX_BYTES_PER_SAMPLE) {
        this.cut(s, t);
      } else {
        if (n === this.samplesPerChunk >> 2) s.nextAt = computeChunkEndTime(s.headMint, s.lastT, s.nextAt);
        if (t >= s.nextAt || n >= this.samplesPerChunk * 2) this.cut(s, t);
      }
    }
    s.app!.append(t, v);
    s.headSamples++;
    s.lastT = t;
    s.lastV = v;
    this.numSamples++;
    if (t < this.minTime) this.minTime = t;
    if (t > this.maxTime) this.maxTime = t;
  }

  /** Finishes the open chunk of s (if any) and opens one starting at t. */
  private cut(s: MemSeries, t: number): void {
    if (s.head !== null && s.headSamples > 0) {
      const b = s.head.bytes();
      const slab = this.arena.add(b);
      s.done.push(s.headMint, s.lastT, slab, this.arena.lastOffset, b.length);
      this.numDone++;
    }
    s.head = new XorChunk();
    s.app = s.head.appender();
    s.headMint = t;
    s.headSamples = 0;
    s.nextAt = rangeEnd(t, this.chunkRange);
  }

  stats(): SeriesBuilderStats {
    let open = 0;
    for (const s of this.series) if (s.headSamples > 0) open++;
    return { numSeries: this.series.length, numSamples: this.numSamples, numChunks: this.numDone + open, minTime: this.minTime, maxTime: this.maxTime };
  }

  /** Drops every series and sample. */
  reset(): void {
    this.series = [];
    this.byKey = new Map();
    this.arena = new ChunkArena();
    this.sorted = null;
    this.numSamples = 0;
    this.numDone = 0;
    this.minTime = Infinity;
    this.maxTime = -Infinity;
  }

  /**
   * Writes every sample held into one block under `parent` (the builder keeps its
   * data; call reset() to drop it). With `mint`/`maxt`, the block has that range and
   * every sample must lie in it.
   * @returns the block, or null when there are no samples (no block is written)
   */
  async writeBlock(parent: string, opts: WriteBlockOptions = {}): Promise<WrittenBlock | null> {
    if (this.numSamples === 0) return null;
    const lo = opts.mint ?? this.minTime;
    const hi = opts.maxt ?? this.maxTime + 1;
    if (this.minTime < lo || this.maxTime >= hi) {
      throw new RangeError(`series builder: samples in [${this.minTime}, ${this.maxTime}] do not fit in the block range [${lo}, ${hi})`);
    }
    return this.writeRange(parent, lo, hi, true, opts);
  }

  /**
   * Splits what is held into blocks of aligned ranges [k * blockRange, (k + 1) *
   * blockRange) and writes one block per range that has samples, in time order. Each
   * block's meta range is that of its data (first sample, last sample + 1), as promtool
   * writes them. blockRange should be a multiple of chunkRange, or chunks may straddle
   * two ranges (an error).
   */
  async writeBlocks(parent: string, blockRange: number, opts: WriteBlocksOptions = {}): Promise<WrittenBlock[]> {
    if (!Number.isSafeInteger(blockRange) || blockRange <= 0) throw new RangeError(`series builder: invalid block range ${blockRange}`);
    const starts = new Set<number>();
    for (const s of this.series) {
      const d = s.done;
      for (let i = 0; i < d.length; i += DONE_STRIDE) starts.add(this.rangeStart(d[i + DONE_MINT], d[i + DONE_MAXT], blockRange, s));
      if (s.headSamples > 0) starts.add(this.rangeStart(s.headMint, s.lastT, blockRange, s));
    }
    const out: WrittenBlock[] = [];
    for (const start of [...starts].sort((a, b) => a - b)) {
      const b = await this.writeRange(parent, start, start + blockRange, false, { thanos: opts.thanos });
      if (b !== null) out.push(b);
    }
    return out;
  }

  private rangeStart(mint: number, maxt: number, blockRange: number, s: MemSeries): number {
    const start = Math.floor(mint / blockRange) * blockRange;
    if (maxt >= start + blockRange) {
      throw new Error(
        `series builder: chunk [${mint}, ${maxt}] of ${labelsToString(s.labels)} spans two ${blockRange} ms blocks; use a chunk range that divides the block range`,
      );
    }
    return start;
  }

  /** Series indices sorted by labels. */
  private order(): Uint32Array {
    if (this.sorted === null) {
      const series = this.series;
      const idx = Array.from({ length: series.length }, (_, i) => i).sort((a, b) => compareLabels(series[a].labels, series[b].labels));
      this.sorted = Uint32Array.from(idx);
    }
    return this.sorted;
  }

  /**
   * Writes the chunks inside [lo, hi) into one block. With `exactRange` the block's
   * range is [lo, hi), else the range of the data written.
   */
  private async writeRange(parent: string, lo: number, hi: number, exactRange: boolean, opts: WriteBlockOptions): Promise<WrittenBlock | null> {
    const order = this.order();
    const series = this.series;
    const symbols = new Set<string>();
    let dmin = Infinity;
    let dmax = -Infinity;
    for (let k = 0; k < order.length; k++) {
      const s = series[order[k]];
      let has = false;
      const d = s.done;
      for (let i = 0; i < d.length; i += DONE_STRIDE) {
        const mint = d[i + DONE_MINT];
        const maxt = d[i + DONE_MAXT];
        if (maxt < lo || mint >= hi) continue;
        if (mint < lo || maxt >= hi) throw straddles(s, mint, maxt, lo, hi);
        has = true;
        if (mint < dmin) dmin = mint;
        if (maxt > dmax) dmax = maxt;
      }
      if (s.headSamples > 0 && s.lastT >= lo && s.headMint < hi) {
        if (s.headMint < lo || s.lastT >= hi) throw straddles(s, s.headMint, s.lastT, lo, hi);
        has = true;
        if (s.headMint < dmin) dmin = s.headMint;
        if (s.lastT > dmax) dmax = s.lastT;
      }
      if (has) for (const l of s.labels) symbols.add(l.name).add(l.value);
    }
    if (dmin === Infinity) return null;

    const w = new BlockWriter(parent, {
      mint: exactRange ? lo : dmin,
      maxt: exactRange ? hi : dmax + 1,
      symbols: [...symbols].sort(compareStrings),
      ulid: opts.ulid,
      compaction: opts.compaction,
      thanos: opts.thanos,
    });
    try {
      const chunks: SeriesChunk[] = [];
      for (let k = 0; k < order.length; k++) {
        const s = series[order[k]];
        chunks.length = 0;
        const d = s.done;
        for (let i = 0; i < d.length; i += DONE_STRIDE) {
          const mint = d[i + DONE_MINT];
          if (mint < lo || mint >= hi) continue;
          const bytes = this.arena.view(d[i + DONE_SLAB], d[i + DONE_OFF], d[i + DONE_LEN]);
          chunks.push({ mint, maxt: d[i + DONE_MAXT], chunk: new XorChunk(bytes) });
        }
        if (s.headSamples > 0 && s.headMint >= lo && s.headMint < hi) chunks.push({ mint: s.headMint, maxt: s.lastT, chunk: s.head! });
        if (chunks.length > 0) w.addSeries(s.labels, chunks);
        // Let other work run during long writes (a ruler or receiver shares the loop).
        if ((k & 0x3fff) === 0x3fff) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const meta = await w.close();
      return { ulid: w.ulid, dir: w.dir, meta };
    } catch (err) {
      await w.abort();
      throw err;
    }
  }
}

function straddles(s: MemSeries, mint: number, maxt: number, lo: number, hi: number): Error {
  return new Error(`series builder: chunk [${mint}, ${maxt}] of ${labelsToString(s.labels)} straddles the block range [${lo}, ${hi})`);
}

/**
 * End of the chunk range holding t (Prometheus' rangeForTimestamp). Floor division,
 * where Go truncates: the same for t >= 0, and still aligned for negative t.
 */
function rangeEnd(t: number, width: number): number {
  return Math.floor(t / width) * width + width;
}

/**
 * Predicts the end of a chunk that started at `start` and reached `cur` after a
 * quarter of its target samples, so that [start, max) splits into equal chunks
 * (Prometheus' computeChunkEndTime, integer arithmetic as in 2.42).
 */
function computeChunkEndTime(start: number, cur: number, max: number): number {
  const n = Math.trunc((max - start) / ((cur - start + 1) * 4));
  if (n <= 1) return max;
  return start + Math.trunc((max - start) / n);
}
