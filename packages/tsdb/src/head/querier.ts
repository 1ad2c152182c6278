// Queriers over the head (Prometheus tsdb/head_read.go with querier.go's
// blockQuerier/blockChunkQuerier), with the same semantics as the block queriers:
// series sorted by labels, only those with a chunk overlapping the range, samples
// outside the range or deleted by a tombstone left out; label lookups over every
// series of the head when it overlaps the range (with matchers: over the selected
// series).
//
// A series' chunks are captured when it is yielded. The open chunk keeps growing
// after that, in place: an iterator reads only the samples it held then (their bits
// are never rewritten), and the chunk querier hands out a copy.
//
// Out-of-order samples (Prometheus reads them through a separate OOORangeHead querier
// merged with the head's): a series with OOO chunks in range is read as its in-order
// chunks (tombstones applied) and its OOO chunks (the head one as a snapshot; tombstones
// do not apply, as in Prometheus) merged into chunks in time order that do not overlap,
// each timestamp once: the in-order sample wins over an OOO one, an older OOO chunk over
// a newer one.

import { ValueType, XorChunk, XorIterator } from '../chunkenc/index.js';
import { compareStrings, type Labels } from '../labels/index.js';
import type { Matcher } from '../matchers/index.js';
import { expandPostings, intersect, listPostings } from '../postings/index.js';
import type { ChunkQuerier, ChunkSeries, Querier, SelectHints, Series, SeriesChunk, SeriesIterator } from '../storage/index.js';
import { isDeleted, type Intervals } from '../tombstones/index.js';
import type { Head } from './head.js';
import type { MemSeries } from './mem-series.js';
import { mergeOverlappingChunks } from './merge-chunks.js';

const EMPTY_INTERVALS: Intervals = Object.freeze([]);

/** A chunk captured for reading: its bytes and how many samples to read from them. */
interface ChunkRef {
  bytes: Uint8Array;
  mint: number;
  maxt: number;
  count: number;
  /** The series' open chunk: its buffer is still being written to. */
  open: boolean;
}

abstract class HeadQuerierBase {
  constructor(
    protected readonly head: Head,
    readonly mint: number,
    readonly maxt: number,
  ) {}

  protected range(hints: SelectHints): [number, number] {
    return [Math.max(this.mint, hints.start ?? -Infinity), Math.min(this.maxt, hints.end ?? Infinity)];
  }

  /** Whether the querier's range misses the head, in-order and OOO (headIndexReader's early return). */
  private outside(): boolean {
    const h = this.head;
    const inOrder = h.isEmpty() || this.maxt < h.minTime || this.mint > h.maxTime;
    return inOrder && (this.maxt < h.minOOOTime || this.mint > h.maxOOOTime);
  }

  /** The selected series with chunks in [mint, maxt], in label order. */
  protected *selectSeries(hints: SelectHints, matchers: Matcher[]): Generator<SelectedSeries> {
    const [mint, maxt] = this.range(hints);
    if (mint > maxt || this.outside()) return;
    const series = this.head.sortedSeries(this.head.selectPostings(matchers));
    for (const s of series) {
      const chunks = captureChunks(s, mint, maxt);
      const ooo = captureOOOChunks(s, mint, maxt);
      if (chunks === null && ooo === null) continue;
      yield { s, chunks: chunks ?? [], ooo, mint, maxt };
    }
  }

  async labelNames(matchers: Matcher[]): Promise<string[]> {
    if (this.outside()) return [];
    const ix = this.head.postings;
    if (matchers.length === 0) return ix.labelNames();
    const names = new Set<string>();
    const p = this.head.selectPostings(matchers);
    while (p.next()) {
      const ls = this.head.seriesLabels(p.at());
      if (ls !== undefined) for (const l of ls) names.add(l.name);
    }
    return [...names].sort(compareStrings);
  }

  async labelValues(name: string, matchers: Matcher[]): Promise<string[]> {
    if (this.outside()) return [];
    const ix = this.head.postings;
    const all = ix.labelValues(name);
    if (matchers.length === 0 || all.length === 0) return all;
    const selected = expandPostings(this.head.selectPostings(matchers));
    if (selected.length === 0) return [];
    if (all.length <= selected.length) {
      return all.filter((v) => intersect(listPostings(selected), ix.postings(name, v)).next());
    }
    const values = new Set<string>();
    for (const ref of selected) {
      const ls = this.head.seriesLabels(ref);
      if (ls === undefined) continue;
      for (const l of ls) if (l.name === name) values.add(l.value);
    }
    return [...values].sort(compareStrings);
  }

  async close(): Promise<void> {
    // nothing held
  }
}

/**
 * The chunks of s overlapping [mint, maxt] that a tombstone does not cover entirely,
 * or null when none.
 */
function captureChunks(s: MemSeries, mint: number, maxt: number): ChunkRef[] | null {
  let out: ChunkRef[] | null = null;
  const stones = s.tombstones;
  for (const c of s.closed) {
    if (c.maxt < mint || c.mint > maxt) continue;
    if (stones !== null && coveredBy(c.mint, c.maxt, stones)) continue;
    (out ??= []).push({ bytes: c.chunk.bytes(), mint: c.mint, maxt: c.maxt, count: c.chunk.numSamples(), open: false });
  }
  if (s.head !== null && s.headCount > 0 && s.headMaxt >= mint && s.headMint <= maxt && !(stones !== null && coveredBy(s.headMint, s.headMaxt, stones))) {
    (out ??= []).push({ bytes: s.head.bytes(), mint: s.headMint, maxt: s.headMaxt, count: s.headCount, open: true });
  }
  return out;
}

interface SelectedSeries {
  s: MemSeries;
  chunks: ChunkRef[];
  /** OOO chunks overlapping the range, oldest chunk first; null when none. */
  ooo: SeriesChunk[] | null;
  mint: number;
  maxt: number;
}

/** The OOO chunks of s overlapping [mint, maxt] (the head chunk as a snapshot), or null when none. */
function captureOOOChunks(s: MemSeries, mint: number, maxt: number): SeriesChunk[] | null {
  const ooo = s.ooo;
  if (ooo === null) return null;
  let out: SeriesChunk[] | null = null;
  for (const c of ooo.closed) {
    if (c.maxt < mint || c.mint > maxt) continue;
    (out ??= []).push({ mint: c.mint, maxt: c.maxt, chunk: c.chunk });
  }
  const h = ooo.head;
  if (h !== null && h.numSamples() > 0 && h.maxTime() >= mint && h.minTime() <= maxt) {
    (out ??= []).push({ mint: h.minTime(), maxt: h.maxTime(), chunk: h.toXor() });
  }
  return out;
}

/** The captured in-order chunks as chunk-querier chunks: open chunk copied, tombstones applied. */
function inOrderSeriesChunks(e: SelectedSeries, it: XorIterator): SeriesChunk[] {
  const stones = e.s.tombstones;
  const out: SeriesChunk[] = [];
  for (const c of e.chunks) {
    if (stones !== null && stones.some((iv) => iv.mint <= c.maxt && c.mint <= iv.maxt)) {
      const re = reencodeWithout(c, stones, it);
      if (re !== null) out.push(re);
      continue;
    }
    // The open chunk is copied: its header and last byte change with later appends.
    out.push({ mint: c.mint, maxt: c.maxt, chunk: new XorChunk(c.open ? copyOpenChunk(c) : c.bytes) });
  }
  return out;
}

/** In-order and OOO chunks merged: in time order, not overlapping, each timestamp once. */
function mergedSeriesChunks(e: SelectedSeries, it: XorIterator): SeriesChunk[] {
  const tagged: { c: SeriesChunk; set: number }[] = [];
  for (const c of inOrderSeriesChunks(e, it)) tagged.push({ c, set: 0 });
  e.ooo?.forEach((c, i) => tagged.push({ c, set: i + 1 }));
  return mergeOverlappingChunks(tagged);
}

function coveredBy(mint: number, maxt: number, ivs: Intervals): boolean {
  for (const iv of ivs) if (iv.mint <= mint && maxt <= iv.maxt) return true;
  return false;
}

/** Querier over the head. */
export class HeadQuerier extends HeadQuerierBase implements Querier {
  async *select(hints: SelectHints, matchers: Matcher[]): AsyncGenerator<Series> {
    let it: XorIterator | null = null;
    for (const e of this.selectSeries(hints, matchers)) {
      if (e.ooo === null) {
        yield new HeadSeries(e.s.labels, e.chunks, e.s.tombstones ?? EMPTY_INTERVALS, e.mint, e.maxt);
        continue;
      }
      // Tombstones are applied to the in-order chunks before merging.
      const merged = mergedSeriesChunks(e, (it ??= new XorIterator()));
      if (merged.length === 0) continue;
      const refs: ChunkRef[] = merged.map((c) => ({ bytes: c.chunk.bytes(), mint: c.mint, maxt: c.maxt, count: c.chunk.numSamples(), open: false }));
      yield new HeadSeries(e.s.labels, refs, EMPTY_INTERVALS, e.mint, e.maxt);
    }
  }
}

/** A head series as captured by a select. */
export class HeadSeries implements Series {
  constructor(
    readonly labels: Labels,
    private readonly chunks: readonly ChunkRef[],
    private readonly intervals: Intervals,
    private readonly mint: number,
    private readonly maxt: number,
  ) {}

  iterator(reuse?: SeriesIterator): SeriesIterator {
    if (reuse instanceof HeadSeriesIterator) {
      reuse.reset(this.chunks, this.intervals, this.mint, this.maxt);
      return reuse;
    }
    return new HeadSeriesIterator(this.chunks, this.intervals, this.mint, this.maxt);
  }
}

/** Iterates captured chunks, at most `count` samples of each, within [mint, maxt], skipping deleted samples. */
export class HeadSeriesIterator implements SeriesIterator {
  private chunks: readonly ChunkRef[] = [];
  private intervals: Intervals = EMPTY_INTERVALS;
  private mint = 0;
  private maxt = 0;
  private i = -1;
  private left = 0;
  private readonly xor = new XorIterator();
  private open = false;
  private valid = false;
  private done = false;
  private error: Error | null = null;

  constructor(chunks: readonly ChunkRef[], intervals: Intervals, mint: number, maxt: number) {
    this.reset(chunks, intervals, mint, maxt);
  }

  reset(chunks: readonly ChunkRef[], intervals: Intervals, mint: number, maxt: number): void {
    this.chunks = chunks;
    this.intervals = intervals;
    this.mint = mint;
    this.maxt = maxt;
    this.i = -1;
    this.left = 0;
    this.open = false;
    this.valid = false;
    this.done = false;
    this.error = null;
  }

  next(): ValueType {
    if (this.done) return ValueType.None;
    for (;;) {
      if (this.open) {
        while (this.left > 0) {
          this.left--;
          if (this.xor.next() === ValueType.None) {
            const e = this.xor.err();
            return e !== null ? this.fail(e) : this.finish();
          }
          const t = this.xor.atT();
          if (t < this.mint) continue;
          if (t > this.maxt) return this.finish();
          if (this.intervals.length > 0 && isDeleted(this.intervals, t)) continue;
          this.valid = true;
          return ValueType.Float;
        }
      }
      if (!this.openChunk(this.i + 1)) return ValueType.None;
    }
  }

  seek(t: number): ValueType {
    if (this.done) return ValueType.None;
    if (this.valid && this.xor.atT() >= t) return ValueType.Float;
    if (!this.open || this.chunks[this.i].maxt < t) {
      let j = this.i + 1;
      while (j < this.chunks.length && this.chunks[j].maxt < t) j++;
      if (!this.openChunk(j)) return ValueType.None;
    }
    for (;;) {
      const r = this.next();
      if (r === ValueType.None || this.xor.atT() >= t) return r;
    }
  }

  atT(): number {
    return this.xor.atT();
  }

  atF(): number {
    return this.xor.atF();
  }

  err(): Error | null {
    return this.error;
  }

  private openChunk(j: number): boolean {
    this.valid = false;
    if (j >= this.chunks.length || this.chunks[j].mint > this.maxt) {
      this.finish();
      return false;
    }
    this.i = j;
    const c = this.chunks[j];
    this.xor.reset(c.bytes);
    this.left = c.count;
    this.open = true;
    return true;
  }

  private finish(): ValueType {
    this.done = true;
    this.valid = false;
    return ValueType.None;
  }

  private fail(e: Error): ValueType {
    this.error = e;
    return this.finish();
  }
}

/** Chunk querier over the head: whole chunks overlapping the range, as a block's. */
export class HeadChunkQuerier extends HeadQuerierBase implements ChunkQuerier {
  async *select(hints: SelectHints, matchers: Matcher[]): AsyncGenerator<ChunkSeries> {
    const it = new XorIterator();
    for (const e of this.selectSeries(hints, matchers)) {
      const out = e.ooo === null ? inOrderSeriesChunks(e, it) : mergedSeriesChunks(e, it);
      if (out.length === 0) continue;
      yield { labels: e.s.labels, chunks: () => out };
    }
  }
}

/** A copy of captured open-chunk bytes, its header set to the samples captured. */
function copyOpenChunk(c: ChunkRef): Uint8Array {
  const b = c.bytes.slice();
  b[0] = c.count >>> 8;
  b[1] = c.count & 0xff;
  return b;
}

function reencodeWithout(c: ChunkRef, stones: Intervals, it: XorIterator): SeriesChunk | null {
  it.reset(c.bytes);
  const out = new XorChunk();
  const app = out.appender();
  let mint = 0;
  let maxt = 0;
  let n = 0;
  for (let k = 0; k < c.count && it.next() !== ValueType.None; k++) {
    const t = it.atT();
    if (isDeleted(stones, t)) continue;
    app.append(t, it.atF());
    if (n === 0) mint = t;
    maxt = t;
    n++;
  }
  const e = it.err();
  if (e !== null) throw e;
  if (n === 0) return null;
  out.compact();
  return { mint, maxt, chunk: out };
}
