// K-way merge of label-sorted series streams, as Thanos's proxy does it
// (pkg/store/proxy_merge.go): a heap over the head series of each stream; series with
// equal labels, from different streams or split over consecutive frames of one, become
// one series whose chunks are sorted by time with exact duplicates dropped. It streams:
// at most one series per input is held, plus the parts of the series being merged.

import { noop } from '@thanos-ts/runtime';
import { compareLabels, labelsToString } from '@thanos-ts/tsdb';
import type { Labels } from '@thanos-ts/tsdb';
import type { AggrChunk, SeriesResponse, StoreChunk, StoreSeries } from './proto.js';

/** Where a cursor gets its next series; frames that are not series go to `side`. */
interface Cursor {
  readonly index: number;
  cur: StoreSeries | null;
  /** Moves to the next series: at once (undefined) when it is at hand, else by the promise. */
  advance(): Promise<void> | undefined;
}

/**
 * Merges label-sorted streams of series batches into one label-sorted stream of
 * batches. Series with the same labels are merged into one (see mergeChunks). Throws
 * when an input is not sorted. A batch goes out when `max` series are ready or when the
 * merge must wait for an input: within an input's batch no promise is made per series.
 */
export function mergeSeriesBatches(streams: AsyncIterable<readonly StoreSeries[]>[], max = MERGE_BATCH): AsyncIterable<StoreSeries[]> {
  return {
    [Symbol.asyncIterator]: () => {
      const cursors = streams.map((s, i) => new BatchCursor(i, s[Symbol.asyncIterator]()));
      return runMerge(cursors, null, (s) => s, max) as AsyncGenerator<StoreSeries[]>;
    },
  };
}

/**
 * Merges StoreAPI Series responses from several stores: series (and batches, which are
 * flattened) as mergeSeriesBatches does; warnings and hints are passed through as they
 * arrive, ahead of the series that follow them. The output has one series per frame.
 */
export function mergeSeriesResponses(streams: AsyncIterable<SeriesResponse>[]): AsyncIterable<SeriesResponse> {
  return {
    [Symbol.asyncIterator]: () => {
      const side: SeriesResponse[] = [];
      const cursors = streams.map((s, i) => new ResponseCursor(i, s[Symbol.asyncIterator](), side));
      return flatten(runMerge(cursors, side, (series): SeriesResponse => ({ result: 'series', series }), MERGE_BATCH));
    },
  };
}

/** Series per merged batch at most. */
const MERGE_BATCH = 256;

async function* flatten<T>(batches: AsyncIterable<T[]>): AsyncGenerator<T> {
  // Leaving early returns the merge (for await does), which closes its inputs.
  for await (const b of batches) for (let i = 0; i < b.length; i++) yield b[i];
}

async function* runMerge<T>(
  cursors: (Cursor & { close(): Promise<void> })[],
  side: SeriesResponse[] | null,
  wrap: (s: StoreSeries) => T,
  max: number,
): AsyncGenerator<(T | SeriesResponse)[]> {
  try {
    // Fetch the first series of every stream concurrently: stores answer in parallel.
    await Promise.all(cursors.map((c) => c.advance()));
    const heap = new CursorHeap(cursors.filter((c) => c.cur !== null));
    let out: (T | SeriesResponse)[] = [];
    for (;;) {
      if (side !== null && side.length > 0) for (const f of side.splice(0)) out.push(f);
      const top = heap.top();
      if (top === null) break;
      const first = top.cur!;
      let parts: StoreSeries[] | null = null;
      // The top gives `first`, then every cursor at a series with the same labels gives
      // its part; each moves on. Series of a batch are at hand: no promise, no turn of the
      // microtask queue. What is ready goes out before waiting for an input's next batch.
      for (let c: Cursor | null = top, taken = false; c !== null; c = heap.top(), taken = true) {
        if (taken) {
          if (compareLabels(c.cur!.labels, first.labels) !== 0) break;
          (parts ??= [first]).push(c.cur!);
        }
        const p = c.advance();
        if (p !== undefined) {
          if (out.length > 0) {
            // A reader that stops at this yield never resumes the await below: the
            // advance's failure (its call cancelled as the inputs close) is then nobody's,
            // and an unhandled rejection ends the process.
            p.catch(noop);
            yield out;
            out = [];
          }
          await p;
        }
        heap.fixTop();
      }
      if (side !== null && side.length > 0) for (const f of side.splice(0)) out.push(f);
      out.push(wrap(parts === null ? first : { labels: first.labels, chunks: mergeChunks(parts) }));
      if (out.length >= max) {
        yield out;
        out = [];
      }
    }
    if (out.length > 0) yield out;
  } finally {
    // Early exit or failure: stop the inputs (for gRPC streams this cancels the calls).
    await Promise.allSettled(cursors.map((c) => c.close()));
  }
}

/**
 * A cursor over an input that delivers series in batches (a block's batch, a batch frame, or
 * one series): within a batch it advances without a promise; `next` fetches what follows.
 */
abstract class BaseCursor<F> implements Cursor {
  cur: StoreSeries | null = null;
  private prev: Labels | null = null;
  private batch: readonly StoreSeries[] | null = null;
  private batchPos = 0;

  constructor(
    readonly index: number,
    private readonly it: AsyncIterator<F>,
  ) {}

  /** Takes in what the input gave next: whether it held series (else the cursor reads on). */
  protected abstract take(item: F): boolean;

  advance(): Promise<void> | undefined {
    if (this.batch !== null && this.batchPos < this.batch.length) {
      this.set(this.batch[this.batchPos++]);
      return undefined;
    }
    this.batch = null;
    return this.next();
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }

  /** Makes `series` (not empty) the current batch. */
  protected setBatch(series: readonly StoreSeries[]): void {
    this.batch = series;
    this.batchPos = 1;
    this.set(series[0]);
  }

  protected set(s: StoreSeries | null): void {
    if (s !== null && this.prev !== null && compareLabels(this.prev, s.labels) > 0) {
      throw new Error(
        `merge series: stream ${this.index} is not sorted: ${labelsToString(s.labels)} after ${labelsToString(this.prev)}`,
      );
    }
    this.cur = s;
    if (s !== null) this.prev = s.labels;
  }

  private async next(): Promise<void> {
    for (;;) {
      const r = await this.it.next();
      if (r.done) {
        this.set(null);
        return;
      }
      if (this.take(r.value)) return;
    }
  }
}

class BatchCursor extends BaseCursor<readonly StoreSeries[]> {
  protected take(batch: readonly StoreSeries[]): boolean {
    if (batch.length === 0) return false;
    this.setBatch(batch);
    return true;
  }
}

class ResponseCursor extends BaseCursor<SeriesResponse> {
  constructor(
    index: number,
    it: AsyncIterator<SeriesResponse>,
    private readonly side: SeriesResponse[],
  ) {
    super(index, it);
  }

  protected take(f: SeriesResponse): boolean {
    if (f.series) {
      this.set(f.series);
      return true;
    }
    if (f.batch) {
      if (f.batch.series.length === 0) return false;
      this.setBatch(f.batch.series);
      return true;
    }
    if (f.warning || f.hints) this.side.push(f);
    return false;
  }
}

/** A binary min-heap of cursors ordered by their current labels, then by stream index. */
class CursorHeap {
  constructor(private readonly h: Cursor[]) {
    for (let i = (h.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  top(): Cursor | null {
    return this.h.length > 0 ? this.h[0] : null;
  }

  /** Restores the heap after the top cursor advanced (removing it when exhausted). */
  fixTop(): void {
    const h = this.h;
    if (h[0].cur === null) {
      const last = h.pop()!;
      if (h.length === 0) return;
      h[0] = last;
    }
    this.down(0);
  }

  private less(a: Cursor, b: Cursor): boolean {
    const c = compareLabels(a.cur!.labels, b.cur!.labels);
    return c < 0 || (c === 0 && a.index < b.index);
  }

  private down(i: number): void {
    const h = this.h;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      const m = r < n && this.less(h[r], h[l]) ? r : l;
      if (!this.less(h[m], h[i])) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}

/**
 * The chunks of several parts of one series, sorted by min time, then max time, then
 * content (Thanos's AggrChunk.Compare order), with exact duplicates (same time range,
 * encodings and bytes in every aggregate) dropped: replicas and overlapping blocks often
 * send the same chunk twice.
 */
export function mergeChunks(parts: readonly StoreSeries[]): AggrChunk[] {
  let n = 0;
  for (const p of parts) n += p.chunks.length;
  const all: AggrChunk[] = new Array<AggrChunk>(n);
  let k = 0;
  // Parts from time-disjoint blocks come in time order already: then nothing is sorted
  // and no chunk can be a duplicate.
  let ordered = true;
  for (const p of parts) {
    for (const c of p.chunks) {
      if (ordered && k > 0 && compareAggrChunks(all[k - 1], c) >= 0) ordered = false;
      all[k++] = c;
    }
  }
  if (ordered) return all;
  all.sort(compareAggrChunks);
  let w = 0;
  for (let i = 0; i < all.length; i++) {
    if (w > 0 && compareAggrChunks(all[w - 1], all[i]) === 0) continue;
    all[w++] = all[i];
  }
  all.length = w;
  return all;
}

/** Orders AggrChunks by min time, max time, then each aggregate's encoding and bytes. */
export function compareAggrChunks(a: AggrChunk, b: AggrChunk): number {
  if (a.minTime !== b.minTime) return a.minTime < b.minTime ? -1 : 1;
  if (a.maxTime !== b.maxTime) return a.maxTime < b.maxTime ? -1 : 1;
  return (
    compareStoreChunks(a.raw, b.raw) ||
    compareStoreChunks(a.count, b.count) ||
    compareStoreChunks(a.sum, b.sum) ||
    compareStoreChunks(a.min, b.min) ||
    compareStoreChunks(a.max, b.max) ||
    compareStoreChunks(a.counter, b.counter)
  );
}

function compareStoreChunks(a: StoreChunk | null | undefined, b: StoreChunk | null | undefined): number {
  if (a == null || b == null) return a == null ? (b == null ? 0 : -1) : 1;
  const ta = a.type ?? 0;
  const tb = b.type ?? 0;
  if (ta !== tb) return ta - tb;
  return Buffer.compare(a.data, b.data);
}
