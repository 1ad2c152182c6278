// The out-of-order part of one head series (Prometheus memSeriesOOOFields): the OOO head
// chunk being inserted into and the full ones before it, encoded as XOR chunks
// (Prometheus m-maps those to chunks_head/; we keep them in memory and rebuild them from
// the WBL on restart).
//
// Every chunk gets a head-wide sequence number when it is started (our stand-in for the
// m-map ref): an OOO compaction closes every head chunk, notes the highest sequence and
// later drops exactly the chunks up to it, so chunks started meanwhile survive.
//
// OOO chunks of a series may overlap each other (samples arrive in any order); readers
// merge them (querier.ts and ooo-compact.ts, with mergeOverlappingChunks).

import type { XorChunk } from '../chunkenc/index.js';
import { OOOChunk } from './ooo-chunk.js';

/** A finished OOO chunk. */
export interface OOOClosedChunk {
  readonly mint: number;
  readonly maxt: number;
  readonly chunk: XorChunk;
  readonly seq: number;
}

/** Default capacity of an OOO head chunk in samples (Prometheus DefaultOutOfOrderCapMax). */
export const DEFAULT_OUT_OF_ORDER_CAP_MAX = 32;
/** Highest capacity allowed (the Prometheus flag's limit). */
export const MAX_OUT_OF_ORDER_CAP_MAX = 255;

/** Hands out chunk sequence numbers, increasing for the life of a head. */
export interface OOOSeqSource {
  nextOOOChunkSeq(): number;
}

export class MemSeriesOOO {
  closed: OOOClosedChunk[] = [];
  head: OOOChunk | null = null;
  headSeq = 0;

  /**
   * memSeries.insert: inserts into the OOO head chunk, first cutting it (encoding the old
   * one) when it holds capMax samples.
   * @returns 0 when dropped as a duplicate timestamp of the head chunk, 1 inserted, 2
   *   inserted into a new chunk
   */
  insert(t: number, v: number, capMax: number, seqs: OOOSeqSource): 0 | 1 | 2 {
    let created: 1 | 2 = 1;
    if (this.head === null || this.head.numSamples() >= capMax) {
      this.cutHead(seqs);
      created = 2;
    }
    return this.head!.insert(t, v) ? created : 0;
  }

  private cutHead(seqs: OOOSeqSource): void {
    this.closeHead();
    this.head = new OOOChunk();
    this.headSeq = seqs.nextOOOChunkSeq();
  }

  /** Encodes the head chunk (if it has samples) as a closed one (mmapCurrentOOOHeadChunk). */
  closeHead(): void {
    const h = this.head;
    if (h === null) return;
    this.head = null;
    if (h.numSamples() === 0) return;
    this.closed.push({ mint: h.minTime(), maxt: h.maxTime(), chunk: h.toXor(), seq: this.headSeq });
  }

  hasChunks(): boolean {
    return this.closed.length > 0 || (this.head !== null && this.head.numSamples() > 0);
  }

  /**
   * Drops the closed chunks with seq <= maxSeq (those written to a block).
   * @returns the number of chunks dropped
   */
  truncateUpTo(maxSeq: number): number {
    const before = this.closed.length;
    this.closed = this.closed.filter((c) => c.seq > maxSeq);
    return before - this.closed.length;
  }

  /** Oldest OOO timestamp held, +Infinity when none. */
  minTime(): number {
    let m = this.head !== null ? this.head.minTime() : Infinity;
    for (const c of this.closed) if (c.mint < m) m = c.mint;
    return m;
  }

  /** Newest OOO timestamp held, -Infinity when none. */
  maxTime(): number {
    let m = this.head !== null ? this.head.maxTime() : -Infinity;
    for (const c of this.closed) if (c.maxt > m) m = c.maxt;
    return m;
  }

  numChunks(): number {
    return this.closed.length + (this.head !== null && this.head.numSamples() > 0 ? 1 : 0);
  }
}
