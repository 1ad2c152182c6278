// A persisted block opened for reading (Prometheus tsdb/block.go and querier.go):
// meta.json, the index (held in memory), the chunk segment files (read by position on
// demand) and the tombstones.
//
// Time ranges: the block covers [meta.minTime, meta.maxTime); chunks and queries are
// closed intervals [mint, maxt]. A querier keeps the chunks of a series that overlap
// its range and are not entirely deleted, decodes each only when its iterator reaches
// it, and drops samples outside the range or inside a tombstone interval.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { chunkFromBytes, EncXOR, ValueType, XorChunk, XorIterator, type Chunk, type ChunkIterator } from '../chunkenc/index.js';
import {
  ChunkReader,
  chunkRefOffset,
  chunkRefSegment,
  parseChunkRecord,
  SEGMENT_HEADER_SIZE,
  type ChunkRecord,
} from '../chunks/index.js';
import { readBlockMeta, type BlockMeta } from '../block-meta/index.js';
import { CorruptionError } from '../encoding/index.js';
import { IndexReader, type ChunkMeta, type SeriesEntry } from '../index/index.js';
import { compareStrings, type Label, type Labels } from '../labels/index.js';
import type { Matcher } from '../matchers/index.js';
import { ALL_POSTINGS_KEY, expandPostings, intersect, listPostings, postingsForMatchers, type Postings } from '../postings/index.js';
import {
  mergeQueriers,
  type ChunkQuerier,
  type ChunkQueryable,
  type ChunkSeries,
  type Querier,
  type Queryable,
  type SelectHints,
  type Series,
  type SeriesChunk,
  type SeriesIterator,
} from '../storage/index.js';
import { isDeleted, readTombstones, TOMBSTONES_FILENAME, type Intervals, type TombstoneReader } from '../tombstones/index.js';
import { isValidUlid } from '../ulid/index.js';

const EMPTY_INTERVALS: Intervals = Object.freeze([]);

/** A block directory opened for queries. */
/** Bytes read from a segment at once; later chunks in range come from memory. */
const READ_WINDOW = 64 * 1024;

interface ReadWindow {
  seg: number;
  /** Segment offsets [start, end) held in buf. */
  start: number;
  end: number;
  buf: Uint8Array;
  /** Full path of the segment file, for errors. */
  file: string;
}

export class Block implements Queryable, ChunkQueryable {
  private closed = false;
  private window: ReadWindow | null = null;
  private readonly segmentSizes: number[];
  private readonly segmentFiles: string[];

  private constructor(
    /** The block directory. */
    readonly dir: string,
    readonly meta: BlockMeta,
    readonly index: IndexReader,
    readonly chunks: ChunkReader,
    readonly tombstones: TombstoneReader,
  ) {
    const segs = chunks.segments();
    this.segmentSizes = segs.map((x) => x.size);
    this.segmentFiles = segs.map((x) => join(dir, 'chunks', x.name));
  }

  /**
   * Opens the block in `dir`: reads and validates meta.json, reads the index and checks
   * its TOC, symbol table and postings offset table, lists the chunk segments and reads
   * the tombstones (a missing tombstones file means none).
   * @throws InvalidBlockMetaError, CorruptionError (naming the file and offset), or the
   *   file system error (naming the missing file)
   */
  static async open(dir: string): Promise<Block> {
    const meta = await readBlockMeta(dir);
    const indexPath = join(dir, 'index');
    const buf = await readFile(indexPath);
    const index = new IndexReader(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), indexPath);
    let chunks: ChunkReader;
    try {
      chunks = ChunkReader.open(join(dir, 'chunks'));
    } catch (err) {
      throw withBlockPath(dir, err);
    }
    try {
      const tombstones = await readTombstones(join(dir, TOMBSTONES_FILENAME));
      return new Block(dir, meta, index, chunks, tombstones);
    } catch (err) {
      chunks.close();
      throw err;
    }
  }

  get ulid(): string {
    return this.meta.ulid;
  }

  /** Inclusive. */
  get minTime(): number {
    return this.meta.minTime;
  }

  /** Exclusive. */
  get maxTime(): number {
    return this.meta.maxTime;
  }

  /** A querier over [mint, maxt] (inclusive, ms) of this block. */
  async querier(mint: number, maxt: number): Promise<Querier> {
    this.checkOpen();
    return new BlockQuerier(this, mint, maxt);
  }

  /**
   * A chunk querier over [mint, maxt]: series as their stored chunks, passed through
   * untouched (chunks overlapping the range are returned whole, not trimmed to it).
   *
   * Tombstones: a chunk entirely inside a deleted interval is left out; a chunk that is
   * partly deleted is re-encoded (XOR) with only its remaining samples, as Prometheus'
   * populateWithDelChunkSeriesIterator does; a series with nothing left is skipped.
   */
  async chunkQuerier(mint: number, maxt: number): Promise<ChunkQuerier> {
    this.checkOpen();
    return new BlockChunkQuerier(this, mint, maxt);
  }

  /** Releases the open segment files. Close the block's queriers first. */
  async close(): Promise<void> {
    this.closed = true;
    this.window = null;
    this.chunks.close();
  }

  /**
   * The chunk at ref, CRC-checked; corruption errors name the segment file by its full
   * path. `data` may be a view into a shared read window: never modified, but keeping
   * it keeps the window (64 KiB) alive; copy it to hold it long.
   */
  readChunk(ref: number): ChunkRecord {
    const seg = chunkRefSegment(ref);
    const off = chunkRefOffset(ref);
    const w = this.window;
    // fast path: the chunks of a series, and of the next series, are stored one after
    // the other, so most chunks come from the window read for a previous one.
    if (w !== null && seg === w.seg && off >= w.start && off < w.end) {
      const rec = this.fromWindow(w, off);
      if (rec !== null) return rec;
    }
    try {
      const size = this.segmentSizes[seg];
      if (size !== undefined && off >= SEGMENT_HEADER_SIZE && off < size) {
        const end = Math.min(size, off + READ_WINDOW);
        const nw: ReadWindow = { seg, start: off, end, buf: this.chunks.readRange(seg, off, end), file: this.segmentFiles[seg] };
        const rec = this.fromWindow(nw, off);
        if (rec !== null) {
          this.window = nw;
          return rec;
        }
      }
      // Outside the segments, or larger than the window: the reader says what is wrong.
      return this.chunks.chunk(ref);
    } catch (err) {
      throw withBlockPath(this.dir, err);
    }
  }

  /** The record at off if it lies wholly in the window, else null. */
  private fromWindow(w: ReadWindow, off: number): ChunkRecord | null {
    const buf = w.buf;
    let p = off - w.start;
    let len = 0;
    let mul = 1;
    for (let i = 0; ; i++) {
      if (p >= buf.length || i === 5) return null;
      const b = buf[p++];
      len += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
    }
    if (p + 1 + len + 4 > buf.length) return null;
    const rec = parseChunkRecord(buf, off - w.start, w.file, w.start);
    return { encoding: rec.encoding, data: rec.data };
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`block ${this.ulid}: closed`);
  }
}

/** Rewrites a chunk reader CorruptionError ("chunks/000001") to name the full path. */
function withBlockPath(dir: string, err: unknown): unknown {
  if (err instanceof CorruptionError && !err.file.startsWith(dir)) return new CorruptionError(join(dir, err.file), err.offset, err.reason);
  return err;
}

/** Whether [mint, maxt] lies entirely inside one of the intervals (Interval.IsSubrange). */
function isSubrange(mint: number, maxt: number, intervals: Intervals): boolean {
  for (const iv of intervals) if (iv.mint <= mint && maxt <= iv.maxt) return true;
  return false;
}

/** Whether [mint, maxt] overlaps one of the intervals. */
function overlapsIntervals(mint: number, maxt: number, intervals: Intervals): boolean {
  for (const iv of intervals) if (iv.mint <= maxt && mint <= iv.maxt) return true;
  return false;
}

/** Label lookups shared by both querier kinds. */
abstract class BlockQuerierBase {
  constructor(
    protected readonly block: Block,
    readonly mint: number,
    readonly maxt: number,
  ) {}

  /** Postings for the matchers; no matchers select every series. */
  protected postings(matchers: Matcher[]): Postings {
    const ix = this.block.index;
    return matchers.length === 0 ? ix.postings(ALL_POSTINGS_KEY.name, ALL_POSTINGS_KEY.value) : postingsForMatchers(ix, matchers);
  }

  /** The effective closed range of a select: the querier's, narrowed by the hints. */
  protected range(hints: SelectHints): [number, number] {
    return [Math.max(this.mint, hints.start ?? -Infinity), Math.min(this.maxt, hints.end ?? Infinity)];
  }

  /**
   * Walks the series selected by matchers in postings (= label) order, keeping the
   * chunks overlapping [mint, maxt] that are not entirely deleted (tsdb's
   * blockBaseSeriesSet). Yields fresh labels and chunk metas, the series' tombstones
   * and the effective range; series with no chunk left are skipped.
   */
  protected *selectEntries(
    hints: SelectHints,
    matchers: Matcher[],
  ): Generator<{ labels: Labels; chunks: ChunkMeta[]; intervals: Intervals; mint: number; maxt: number }> {
    const [mint, maxt] = this.range(hints);
    if (mint > maxt) return;
    const ix = this.block.index;
    const p = this.postings(matchers);
    const entry: SeriesEntry = { labels: [], chunks: [] };
    while (p.next()) {
      const ref = p.at();
      ix.series(ref, entry);
      const intervals = this.block.tombstones.get(ref);
      let kept: ChunkMeta[] | null = null;
      for (const c of entry.chunks) {
        if (c.maxt < mint || c.mint > maxt) continue;
        if (intervals.length > 0 && isSubrange(c.mint, c.maxt, intervals)) continue;
        (kept ??= []).push({ mint: c.mint, maxt: c.maxt, ref: c.ref });
      }
      if (kept === null) continue;
      yield { labels: entry.labels.slice(), chunks: kept, intervals, mint, maxt };
    }
    const e = p.err();
    if (e !== null) throw e;
  }

  async labelNames(matchers: Matcher[]): Promise<string[]> {
    const ix = this.block.index;
    if (matchers.length === 0) return ix.labelNames();
    const names = new Set<string>();
    const entry: SeriesEntry = { labels: [], chunks: [] };
    const p = postingsForMatchers(ix, matchers);
    while (p.next()) {
      ix.series(p.at(), entry);
      for (const l of entry.labels) names.add(l.name);
    }
    const e = p.err();
    if (e !== null) throw e;
    return [...names].sort(compareStrings);
  }

  async labelValues(name: string, matchers: Matcher[]): Promise<string[]> {
    const ix = this.block.index;
    const all = ix.labelValues(name);
    if (matchers.length === 0) return all;
    const selected = expandPostings(postingsForMatchers(ix, matchers));
    if (selected.length === 0 || all.length === 0) return [];
    if (all.length <= selected.length) {
      // Few values: keep those whose postings meet the selected series.
      return all.filter((v) => intersect(listPostings(selected), ix.postings(name, v)).next());
    }
    // Few series: read their labels.
    const values = new Set<string>();
    const entry: SeriesEntry = { labels: [], chunks: [] };
    for (const ref of selected) {
      ix.series(ref, entry);
      const l = findLabel(entry.labels, name);
      if (l !== null) values.add(l.value);
    }
    return [...values].sort(compareStrings);
  }

  async close(): Promise<void> {
    // Queriers hold no resources of their own; the block owns the files.
  }
}

function findLabel(ls: readonly Label[], name: string): Label | null {
  for (const l of ls) if (l.name === name) return l;
  return null;
}

/** Querier over one block (tsdb.blockQuerier). */
export class BlockQuerier extends BlockQuerierBase implements Querier {
  async *select(hints: SelectHints, matchers: Matcher[]): AsyncGenerator<Series> {
    for (const e of this.selectEntries(hints, matchers)) {
      yield new BlockSeries(this.block, e.labels, e.chunks, e.intervals, e.mint, e.maxt);
    }
  }
}

/** A series of a block, its samples read lazily chunk by chunk. */
export class BlockSeries implements Series {
  constructor(
    private readonly block: Block,
    readonly labels: Labels,
    /** Chunks overlapping [mint, maxt], in time order. */
    readonly chunkMetas: readonly ChunkMeta[],
    private readonly intervals: Intervals,
    private readonly mint: number,
    private readonly maxt: number,
  ) {}

  iterator(reuse?: SeriesIterator): SeriesIterator {
    if (reuse instanceof BlockSeriesIterator) {
      reuse.reset(this.block, this.chunkMetas, this.intervals, this.mint, this.maxt);
      return reuse;
    }
    return new BlockSeriesIterator(this.block, this.chunkMetas, this.intervals, this.mint, this.maxt);
  }
}

/**
 * Iterates a block series' samples within [mint, maxt], skipping deleted ones
 * (populateWithDelSeriesIterator). A chunk is read and decoded only when reached.
 * fast path: for a chunk inside the range with no tombstone over it, samples come
 * straight from the chunk iterator, unchecked.
 */
export class BlockSeriesIterator implements SeriesIterator {
  private block!: Block;
  private chks!: readonly ChunkMeta[];
  private intervals!: Intervals;
  private mint = 0;
  private maxt = 0;
  /** Index of the chunk being iterated. */
  private i = -1;
  private cit: ChunkIterator | null = null;
  private readonly xor = new XorIterator();
  /** The current chunk needs per-sample range and tombstone checks. */
  private filter = false;
  private valid = false;
  private done = false;
  private error: Error | null = null;

  constructor(block: Block, chks: readonly ChunkMeta[], intervals: Intervals, mint: number, maxt: number) {
    this.reset(block, chks, intervals, mint, maxt);
  }

  reset(block: Block, chks: readonly ChunkMeta[], intervals: Intervals, mint: number, maxt: number): void {
    this.block = block;
    this.chks = chks;
    this.intervals = intervals ?? EMPTY_INTERVALS;
    this.mint = mint;
    this.maxt = maxt;
    this.i = -1;
    this.cit = null;
    this.filter = false;
    this.valid = false;
    this.done = false;
    this.error = null;
  }

  next(): ValueType {
    if (this.done) return ValueType.None;
    for (;;) {
      const cit = this.cit;
      if (cit !== null) {
        if (!this.filter) {
          if (cit.next() !== ValueType.None) return (this.valid = true), ValueType.Float;
        } else {
          while (cit.next() !== ValueType.None) {
            const t = cit.atT();
            if (t < this.mint) continue;
            if (t > this.maxt) return this.finish();
            if (isDeleted(this.intervals, t)) continue;
            return (this.valid = true), ValueType.Float;
          }
        }
        const e = cit.err();
        if (e !== null) return this.fail(e);
      }
      if (!this.openChunk(this.i + 1)) return ValueType.None;
    }
  }

  seek(t: number): ValueType {
    if (this.done) return ValueType.None;
    if (this.valid && this.cit!.atT() >= t) return ValueType.Float;
    if (t < this.mint) t = this.mint;
    // Skip, unread, the chunks that end before t.
    if (this.cit === null || this.chks[this.i].maxt < t) {
      let j = this.i + 1;
      while (j < this.chks.length && this.chks[j].maxt < t) j++;
      if (!this.openChunk(j)) return ValueType.None;
    }
    const cit = this.cit!;
    if (cit.seek(t) !== ValueType.None) {
      const at = cit.atT();
      if (at > this.maxt) return this.finish();
      if (!this.filter || !isDeleted(this.intervals, at)) return (this.valid = true), ValueType.Float;
    } else {
      const e = cit.err();
      if (e !== null) return this.fail(e);
    }
    // Deleted, or the chunk ran out: carry on from there.
    return this.next();
  }

  atT(): number {
    return this.cit!.atT();
  }

  atF(): number {
    return this.cit!.atF();
  }

  err(): Error | null {
    return this.error;
  }

  /** Reads and starts chunk j; false (and done) when there is none left in range. */
  private openChunk(j: number): boolean {
    this.valid = false;
    if (j >= this.chks.length || this.chks[j].mint > this.maxt) {
      this.finish();
      return false;
    }
    this.i = j;
    const c = this.chks[j];
    let rec: ChunkRecord;
    try {
      rec = this.block.readChunk(c.ref);
      if (rec.encoding === EncXOR) {
        this.xor.reset(rec.data);
        this.cit = this.xor;
      } else {
        this.cit = chunkFromBytes(rec.encoding, rec.data).iterator();
      }
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      return false;
    }
    this.filter = c.mint < this.mint || c.maxt > this.maxt || (this.intervals.length > 0 && overlapsIntervals(c.mint, c.maxt, this.intervals));
    return true;
  }

  private finish(): ValueType {
    this.done = true;
    this.valid = false;
    return ValueType.None;
  }

  private fail(e: Error): ValueType {
    this.error = e instanceof CorruptionError ? (withBlockPath(this.block.dir, e) as Error) : e;
    return this.finish();
  }
}

/** Chunk querier over one block (tsdb.blockChunkQuerier). */
export class BlockChunkQuerier extends BlockQuerierBase implements ChunkQuerier {
  async *select(hints: SelectHints, matchers: Matcher[]): AsyncGenerator<ChunkSeries> {
    for (const e of this.selectEntries(hints, matchers)) {
      if (e.intervals.length > 0 && e.chunks.some((c) => overlapsIntervals(c.mint, c.maxt, e.intervals))) {
        // Partly deleted: re-encode now, so a series left with nothing is skipped.
        const chunks = this.reencode(e.chunks, e.intervals);
        if (chunks.length > 0) yield { labels: e.labels, chunks: () => chunks };
        continue;
      }
      yield new BlockChunkSeries(this.block, e.labels, e.chunks);
    }
  }

  private reencode(metas: readonly ChunkMeta[], intervals: Intervals): SeriesChunk[] {
    const out: SeriesChunk[] = [];
    const it = new XorIterator();
    for (const c of metas) {
      const rec = this.block.readChunk(c.ref);
      if (!overlapsIntervals(c.mint, c.maxt, intervals)) {
        out.push({ mint: c.mint, maxt: c.maxt, chunk: chunkFromBytes(rec.encoding, rec.data) });
        continue;
      }
      if (rec.encoding !== EncXOR) {
        // Histogram chunks cannot be decoded yet; fail rather than return deleted data.
        chunkFromBytes(rec.encoding, rec.data);
      }
      it.reset(rec.data);
      const chunk = new XorChunk();
      const app = chunk.appender();
      let mint = 0;
      let maxt = 0;
      let n = 0;
      while (it.next() !== ValueType.None) {
        const t = it.atT();
        if (isDeleted(intervals, t)) continue;
        app.append(t, it.atF());
        if (n === 0) mint = t;
        maxt = t;
        n++;
      }
      const e = it.err();
      if (e !== null) throw withBlockPath(this.block.dir, e);
      if (n === 0) continue;
      chunk.compact();
      out.push({ mint, maxt, chunk });
    }
    return out;
  }
}

/** A block series as its stored chunks, read when iterated. */
export class BlockChunkSeries implements ChunkSeries {
  constructor(
    private readonly block: Block,
    readonly labels: Labels,
    readonly chunkMetas: readonly ChunkMeta[],
  ) {}

  *chunks(): Generator<SeriesChunk> {
    for (const c of this.chunkMetas) {
      const rec = this.block.readChunk(c.ref);
      const chunk: Chunk = chunkFromBytes(rec.encoding, rec.data);
      yield { mint: c.mint, maxt: c.maxt, chunk };
    }
  }
}

/**
 * Queries a set of blocks as one (the TSDB's own merge for a local data directory):
 * series of every block overlapping the range merged by labels, samples of a series
 * found in several blocks merged by timestamp with duplicates dropped.
 */
export class BlocksQueryable implements Queryable {
  /** Blocks sorted by minTime (the order duplicates are resolved in: earlier wins). */
  readonly blocks: readonly Block[];

  constructor(blocks: readonly Block[]) {
    this.blocks = [...blocks].sort((a, b) => a.minTime - b.minTime || a.maxTime - b.maxTime);
  }

  /** Opens every block directory (named by a ULID) in a data directory. */
  static async openDir(dir: string): Promise<BlocksQueryable> {
    return new BlocksQueryable(await openBlocks(dir));
  }

  async querier(mint: number, maxt: number): Promise<Querier> {
    const overlapping = this.blocks.filter((b) => b.minTime <= maxt && b.maxTime > mint);
    return mergeQueriers(await Promise.all(overlapping.map((b) => b.querier(mint, maxt))));
  }

  async close(): Promise<void> {
    await Promise.all(this.blocks.map((b) => b.close()));
  }
}

/**
 * Opens the blocks of a data directory: every sub-directory named by a ULID (so not
 * `wal`, `chunks_head` or `*.tmp-for-creation` ones), sorted by minTime. Fails on the
 * first block that cannot be opened, closing the others.
 */
export async function openBlocks(dir: string): Promise<Block[]> {
  const names = (await readdir(dir)).filter((n) => isValidUlid(n));
  const blocks: Block[] = [];
  try {
    for (const n of names.sort()) {
      const p = join(dir, n);
      if (!(await stat(p)).isDirectory()) continue;
      blocks.push(await Block.open(p));
    }
  } catch (err) {
    await Promise.all(blocks.map((b) => b.close()));
    throw err;
  }
  return blocks.sort((a, b) => a.minTime - b.minTime);
}
