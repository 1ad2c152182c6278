// Per-window aggregation shared by raw and aggregate downsampling (Thanos
// floatAggregator, aggrChunkBuilder and downsampleBatch).

import { AGGR_COUNT, AggrChunk, AggrType, XorChunk, type XorAppender } from '../chunkenc/index.js';
import type { SeriesChunk } from '../storage/index.js';
import { currentWindow } from './resolution.js';

/** A downsampled chunk with its time range, ready for BlockWriter.addSeries. */
export interface AggrChunkMeta extends SeriesChunk {
  chunk: AggrChunk;
}

const MAX_FLOAT64 = Number.MAX_VALUE;

/** Running statistics over a stream of values: per window and since the start. */
export class FloatAggregator {
  /** Samples added since the start. */
  total = 0;
  /** Samples in the current window. */
  count = 0;
  sum = 0;
  // A fresh Go floatAggregator{} has min = max = 0 until its first reset().
  min = 0;
  max = 0;
  /** Counter value since the start, with resets compensated. */
  counter = 0;
  resets = 0;
  /** The last value added. */
  last = 0;

  /** Starts a new window. */
  reset(): void {
    this.count = 0;
    this.sum = 0;
    this.min = MAX_FLOAT64;
    this.max = -MAX_FLOAT64;
  }

  add(v: number): void {
    if (this.total > 0) {
      if (v < this.last) {
        // counter reset: the new value is what accumulated since
        this.counter += v;
        this.resets++;
      } else {
        this.counter += v - this.last;
      }
    } else {
      this.counter = v;
    }
    this.last = v;
    this.sum += v;
    this.count++;
    this.total++;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }
}

/** Called at the end of every window with its (end) timestamp. */
export type WindowSink = (t: number, a: FloatAggregator) => void;

/**
 * Aggregates samples [from, to) of (ts, vs) into windows of `resolution` ms and calls
 * `add` at the end of each window (downsampleBatch). The window timestamp is the
 * window's end, but never beyond the batch's last sample, so that consecutive batches
 * (chunks) cannot overlap. Returns the last window timestamp; to > from.
 */
export function aggregateWindows(
  ts: ArrayLike<number>,
  vs: ArrayLike<number>,
  from: number,
  to: number,
  resolution: number,
  aggr: FloatAggregator,
  add: WindowSink,
): number {
  const lastT = ts[to - 1];
  // -1 as "no window yet" is Thanos' sentinel: a first sample at t <= -1 joins an
  // unreset aggregator. Unreachable for block data (negative timestamps are dropped
  // on expansion), kept so that direct callers get Thanos' numbers.
  let nextT = -1;
  for (let i = from; i < to; i++) {
    const t = ts[i];
    if (t > nextT) {
      if (nextT !== -1) add(nextT, aggr);
      aggr.reset();
      const w = currentWindow(t, resolution);
      nextT = w < lastT ? w : lastT;
    }
    aggr.add(vs[i]);
  }
  if (aggr.total > 0) add(nextT, aggr);
  return nextT;
}

/** Collects the five aggregate XOR chunks of one output chunk and its time range. */
export class AggrChunkBuilder {
  mint = Number.POSITIVE_INFINITY;
  maxt = Number.NEGATIVE_INFINITY;
  readonly chunks: (XorChunk | null)[] = [null, null, null, null, null];
  readonly apps: (XorAppender | null)[] = [null, null, null, null, null];

  /** A builder with all five aggregates present (raw downsampling), or none. */
  constructor(allPresent: boolean) {
    if (allPresent) for (let i = 0; i < AGGR_COUNT; i++) this.start(i);
  }

  /** Makes aggregate `which` present (an empty XOR chunk) and returns its appender. */
  start(which: number): XorAppender {
    const c = new XorChunk();
    const app = c.appender();
    this.chunks[which] = c;
    this.apps[which] = app;
    return app;
  }

  /** Widens the chunk's time range to include t. */
  cover(t: number): void {
    if (t < this.mint) this.mint = t;
    if (t > this.maxt) this.maxt = t;
  }

  /** Appends one window of all five aggregates (aggrChunkBuilder.add). */
  readonly addWindow: WindowSink = (t, a) => {
    this.cover(t);
    const apps = this.apps;
    apps[AggrType.SUM]!.append(t, a.sum);
    apps[AggrType.MIN]!.append(t, a.min);
    apps[AggrType.MAX]!.append(t, a.max);
    apps[AggrType.COUNT]!.append(t, a.count);
    apps[AggrType.COUNTER]!.append(t, a.counter);
  };

  /** The encoded chunk; absent aggregates are written as such. */
  encode(): AggrChunkMeta {
    return { mint: this.mint, maxt: this.maxt, chunk: AggrChunk.encode(this.chunks) };
  }
}
