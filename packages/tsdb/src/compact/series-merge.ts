// One series' chunks from several blocks turned into the chunks of the compacted block
// (Prometheus' compactChunkIterator in storage/merge.go, with the tombstone handling of
// tsdb/querier.go's populateWithDelChunkSeriesIterator):
//
//   - chunks are swept in (mint, maxt) order into clusters of chunks overlapping in time;
//   - a cluster of one chunk that no tombstone or range bound touches is copied as it is
//     stored (no decoding), as is a cluster of byte-identical copies of one chunk;
//   - a chunk alone but partly deleted or outside the output range is re-encoded with
//     the samples left; one left with none is dropped;
//   - a cluster of several chunks is merged sample by sample with the vertical merge
//     function over one iterator per block (in block order) and re-encoded as XOR
//     chunks of at most samplesPerChunk samples.

import type { Block } from '../block/index.js';
import { BlockSeriesIterator } from '../block/index.js';
import { AggrChunk, CHUNK_ENC_AGGR, EncXOR, encodingName, ValueType, XorChunk, type Chunk, type ChunkIterator, type XorAppender } from '../chunkenc/index.js';
import type { ChunkMeta } from '../index/index.js';
import { labelsToString, type Labels } from '../labels/index.js';
import type { SeriesChunk, SeriesIterator } from '../storage/index.js';
import type { Intervals } from '../tombstones/index.js';

/**
 * Merges one series' samples found in several blocks (time-sorted iterators, one per
 * block, ordered by block minTime) into one iterator.
 */
export type VerticalMergeFunc = (labels: Labels, iterators: SeriesIterator[]) => SeriesIterator;

/** A chunk of one input block's series. */
export interface SourceChunk {
  /** Index of the block in the compaction's (minTime-sorted) input order. */
  block: number;
  meta: ChunkMeta;
  /** The series' tombstones in that block. */
  intervals: Intervals;
}

/** The part of an input block the merge reads. */
export interface SourceBlock {
  block: Block;
}

/** A stored chunk copied through: its bytes, not decoded. */
class StoredChunk implements Chunk {
  constructor(
    readonly encoding: number,
    private readonly data: Uint8Array,
  ) {}

  bytes(): Uint8Array {
    return this.data;
  }

  numSamples(): number {
    // Every chunkenc encoding starts with a uint16 BE sample count.
    return this.data.length < 2 ? 0 : (this.data[0] << 8) | this.data[1];
  }

  iterator(): ChunkIterator {
    throw new Error(`chunk of encoding ${encodingName(this.encoding)} is copied, not iterated`);
  }
}

function storedChunk(encoding: number, data: Uint8Array): Chunk {
  if (encoding === EncXOR) return new XorChunk(data);
  if (encoding === CHUNK_ENC_AGGR) return new AggrChunk(data);
  return new StoredChunk(encoding, data);
}

/** Scratch reused from series to series. */
export class SeriesMerger {
  private readonly order: SourceChunk[] = [];
  private readonly out: SeriesChunk[] = [];

  /**
   * @param blocks the input blocks, in block order
   * @param mint, maxt the output block's samples range, both inclusive
   */
  constructor(
    private readonly blocks: readonly Block[],
    private readonly mint: number,
    private readonly maxt: number,
    private readonly merge: VerticalMergeFunc,
    private readonly samplesPerChunk: number,
  ) {}

  /**
   * The output chunks of a series given its chunks from every block holding it (any
   * order). The returned array is reused by the next call.
   * @throws Error for non-float chunks that would need decoding (histograms, Thanos
   *   aggregates) and for read errors, naming the series
   */
  chunks(labels: Labels, src: SourceChunk[]): SeriesChunk[] {
    const out = this.out;
    out.length = 0;
    const order = this.order;
    order.length = 0;
    for (const s of src) order.push(s);
    // fast path: the chunks of one block, already in order, are the usual case.
    if (!isSorted(order)) order.sort((a, b) => a.meta.mint - b.meta.mint || a.meta.maxt - b.meta.maxt || a.block - b.block);

    let i = 0;
    while (i < order.length) {
      let j = i + 1;
      let clusterMaxt = order[i].meta.maxt;
      while (j < order.length && order[j].meta.mint <= clusterMaxt) {
        if (order[j].meta.maxt > clusterMaxt) clusterMaxt = order[j].meta.maxt;
        j++;
      }
      this.cluster(labels, order, i, j);
      i = j;
    }
    return out;
  }

  private cluster(labels: Labels, order: SourceChunk[], from: number, to: number): void {
    const first = order[from];
    if (!this.touched(first)) {
      const rec = this.read(labels, first);
      let same = true;
      for (let k = from + 1; k < to && same; k++) {
        const c = order[k];
        same = c.meta.mint === first.meta.mint && c.meta.maxt === first.meta.maxt && !this.touched(c) && sameRecord(rec, this.read(labels, c));
      }
      if (same) {
        this.out.push({ mint: first.meta.mint, maxt: first.meta.maxt, chunk: storedChunk(rec.encoding, rec.data) });
        return;
      }
    }
    // Decode: one iterator per run of chunks of a block that do not overlap each other.
    const its: SeriesIterator[] = [];
    for (let b = 0; b < this.blocks.length; b++) {
      let run: ChunkMeta[] = [];
      let intervals: Intervals = [];
      for (let k = from; k < to; k++) {
        const c = order[k];
        if (c.block !== b) continue;
        this.checkFloat(labels, c);
        if (run.length > 0 && c.meta.mint <= run[run.length - 1].maxt) {
          its.push(new BlockSeriesIterator(this.blocks[b], run, intervals, this.mint, this.maxt));
          run = [];
        }
        run.push(c.meta);
        intervals = c.intervals;
      }
      if (run.length > 0) its.push(new BlockSeriesIterator(this.blocks[b], run, intervals, this.mint, this.maxt));
    }
    const it = its.length === 1 ? its[0] : this.merge(labels, its);
    this.encode(labels, it);
  }

  /** Whether a tombstone or the output range cuts into the chunk. */
  private touched(c: SourceChunk): boolean {
    const m = c.meta;
    if (m.mint < this.mint || m.maxt > this.maxt) return true;
    for (const iv of c.intervals) if (iv.mint <= m.maxt && m.mint <= iv.maxt) return true;
    return false;
  }

  private read(labels: Labels, c: SourceChunk): { encoding: number; data: Uint8Array } {
    try {
      return this.blocks[c.block].readChunk(c.meta.ref);
    } catch (err) {
      throw new Error(`series ${labelsToString(labels)}: ${(err as Error).message}`, { cause: err });
    }
  }

  private checkFloat(labels: Labels, c: SourceChunk): void {
    const rec = this.read(labels, c);
    if (rec.encoding !== EncXOR) {
      throw new Error(
        `series ${labelsToString(labels)}: chunk [${c.meta.mint}, ${c.meta.maxt}] of encoding ${encodingName(rec.encoding)} ` +
          `overlaps another or is partly deleted; only float (XOR) chunks can be merged`,
      );
    }
  }

  /** Re-encodes the samples of `it` as XOR chunks of at most samplesPerChunk samples. */
  private encode(labels: Labels, it: SeriesIterator): void {
    let chunk: XorChunk | null = null;
    let app: XorAppender | null = null;
    let n = 0;
    let mint = 0;
    let maxt = 0;
    while (it.next() !== ValueType.None) {
      const t = it.atT();
      if (chunk === null || n >= this.samplesPerChunk) {
        if (chunk !== null) this.push(chunk, mint, maxt);
        chunk = new XorChunk();
        app = chunk.appender();
        n = 0;
        mint = t;
      }
      app!.append(t, it.atF());
      maxt = t;
      n++;
    }
    const e = it.err();
    if (e !== null) throw new Error(`series ${labelsToString(labels)}: ${e.message}`, { cause: e });
    if (chunk !== null) this.push(chunk, mint, maxt);
  }

  private push(chunk: XorChunk, mint: number, maxt: number): void {
    chunk.compact();
    this.out.push({ mint, maxt, chunk });
  }
}

function isSorted(cs: readonly SourceChunk[]): boolean {
  for (let i = 1; i < cs.length; i++) {
    const a = cs[i - 1].meta;
    const b = cs[i].meta;
    if (b.mint < a.mint || (b.mint === a.mint && b.maxt < a.maxt)) return false;
    if (b.mint === a.mint && b.maxt === a.maxt && cs[i].block < cs[i - 1].block) return false;
  }
  return true;
}

function sameRecord(a: { encoding: number; data: Uint8Array }, b: { encoding: number; data: Uint8Array }): boolean {
  if (a.encoding !== b.encoding || a.data.length !== b.data.length) return false;
  const x = a.data;
  const y = b.data;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
