// Deduplication of replica sample streams (Thanos pkg/dedup/iter.go): the penalty
// algorithm, the counter error adjustment, and the chain alternative. The query
// component runs them over StoreAPI chunks at query time, the compactor over the
// series of overlapping blocks (offline deduplication).

import { ValueType } from '../chunkenc/index.js';
import { ChainSampleIterator } from '../storage/index.js';
import type { SeriesIterator } from '../storage/index.js';

/** --deduplication.func values. */
export const DedupFunc = {
  PENALTY: 'penalty',
  CHAIN: 'chain',
} as const;
export type DedupFunc = (typeof DedupFunc)[keyof typeof DedupFunc];

/**
 * Whether the PromQL function surrounding a selection treats the series as a counter;
 * then replica switches must not look like counter resets. Thanos guesses it the same
 * way (xrate deliberately not included).
 */
export function isCounterFunc(func: string | undefined): boolean {
  return func === 'rate' || func === 'increase' || func === 'irate' || func === 'resets';
}

/** A series iterator whose current value can be corrected on a replica switch. */
export interface AdjustableIterator extends SeriesIterator {
  /**
   * Told the last float value emitted before a switch to (or past) this iterator;
   * counter implementations raise their values so the counter never goes down.
   */
  adjustAtValue(lastValue: number): void;
}

function isAdjustable(it: SeriesIterator): it is AdjustableIterator {
  return typeof (it as Partial<AdjustableIterator>).adjustAtValue === 'function';
}

/**
 * Passes samples through; nothing to adjust. DedupSeriesIterator takes plain iterators
 * as well, which is what dedupIterator uses for non-counter functions.
 */
export class NoopAdjustIterator implements AdjustableIterator {
  constructor(private readonly it: SeriesIterator) {}

  next(): ValueType {
    return this.it.next();
  }

  seek(t: number): ValueType {
    return this.it.seek(t);
  }

  atT(): number {
    return this.it.atT();
  }

  atF(): number {
    return this.it.atF();
  }

  err(): Error | null {
    return this.it.err();
  }

  adjustAtValue(): void {}
}

/**
 * A replica of a counter. Replicas scrape at different moments, so the replica switched
 * to may be slightly behind the one left (it has not seen the latest increments yet):
 *
 *   replica 1:  20    30    40    (gap)       45
 *   replica 2:     25    35    45       47
 *
 * Switching from replica 2 (47) back to replica 1 (45) would read as a counter reset
 * and make rate() spike. On a switch the value left is compared with ours: if ours is
 * lower, the difference is added to this and all later values of this replica
 * (thanos-io/thanos#2401).
 */
export class CounterErrAdjustIterator implements AdjustableIterator {
  private errAdjust = 0;

  constructor(private readonly it: SeriesIterator) {}

  next(): ValueType {
    return this.it.next();
  }

  seek(t: number): ValueType {
    return this.it.seek(t);
  }

  atT(): number {
    return this.it.atT();
  }

  atF(): number {
    return this.it.atF() + this.errAdjust;
  }

  err(): Error | null {
    return this.it.err();
  }

  adjustAtValue(lastValue: number): void {
    const v = this.atF();
    // This replica missed the true end of the counter before it was switched to.
    if (lastValue > v) this.errAdjust += lastValue - v;
  }
}

/** Thanos's int64 MinInt64 "no sample yet" marker; any value below every timestamp works. */
const NO_TIME = -Infinity;

/**
 * When nothing is known about the scrape interval yet, the replica not picked is held
 * back by this many milliseconds (scrape intervals are typically several seconds).
 */
export const INITIAL_PENALTY_MS = 5000;

/**
 * Merges two replicas of one series into one stream, sticking to one replica as long
 * as it delivers and switching only across a gap (Thanos dedupSeriesIterator).
 *
 * Each side carries a penalty. Before every step both sides are moved to the first
 * sample after lastT + penalty. The side with the earlier sample wins (ties go to A);
 * the loser's penalty becomes twice the gap just observed, so it is only looked at
 * again once the winner has been silent for about two scrape intervals:
 *
 *   t (s)  0  5  10 15 20 25 30 35 40 45 50 55 60 65 70 75 80 85 90
 *   A      a     a     a     a                             a     a
 *   B         b     b     b     b     b     b     b     b     b
 *   out    a     a     a     a              b     b     b     b
 *
 * A stops after 30 s; B's samples at 35 s and 45 s are within the 20 s penalty, so the
 * switch happens at 55 s. A is then held back by 2 × 25 s, which already skips its
 * samples at 80 s and 90 s, while B keeps delivering.
 *
 * So samples of the two replicas never interleave (which would double the sample rate
 * and add jitter), small clock skew between replicas is absorbed, and a gap in the
 * replica in use is filled from the other. More replicas nest:
 * dedup(dedup(r0, r1), r2)…; this class is itself adjustable for that.
 *
 * Seek is repeated next() on purpose: seeking the replicas directly could jump over
 * the gap a switch must see. Nothing is allocated per sample.
 */
export class DedupSeriesIterator implements AdjustableIterator {
  private aval: ValueType;
  private bval: ValueType;
  private lastT = NO_TIME;
  private penA = 0;
  private penB = 0;
  private useA = true;
  private started = false;
  /** The sides that take adjustments; plain iterators (non-counter functions) are used bare. */
  private readonly adjA: AdjustableIterator | null;
  private readonly adjB: AdjustableIterator | null;

  constructor(
    private readonly a: SeriesIterator,
    private readonly b: SeriesIterator,
  ) {
    this.adjA = isAdjustable(a) ? a : null;
    this.adjB = isAdjustable(b) ? b : null;
    this.aval = a.next();
    this.bval = b.next();
  }

  next(): ValueType {
    this.started = true;
    // fast path: nothing to adjust on a switch
    if (this.adjA === null && this.adjB === null) return this.step();
    const lastUseA = this.useA;
    // The value emitted last, when it is a float (Thanos lastFloatVal). Before the first
    // sample nothing was emitted: Thanos takes A's unread first value then, and a B
    // starting earlier gets raised by the difference for the whole query (rate() then
    // reads too low over the first window).
    let lastF = 0;
    let lastIsFloat = false;
    if (this.lastT !== NO_TIME && (this.useA ? this.aval === ValueType.Float : this.bval === ValueType.Float)) {
      lastF = this.useA ? this.a.atF() : this.b.atF();
      lastIsFloat = true;
    }
    const vt = this.step();
    if (this.useA !== lastUseA && lastIsFloat) {
      // Switched replicas: let the counters catch up with the value already emitted.
      this.adjustAtValue(lastF);
    }
    return vt;
  }

  private step(): ValueType {
    // Move both sides to at least the next timestamp plus their penalty.
    if (this.aval !== ValueType.None) this.aval = this.a.seek(this.lastT + 1 + this.penA);
    if (this.bval !== ValueType.None) this.bval = this.b.seek(this.lastT + 1 + this.penB);

    // One side exhausted: the other one goes on alone.
    if (this.aval === ValueType.None) {
      this.useA = false;
      if (this.bval !== ValueType.None) {
        this.lastT = this.b.atT();
        this.penB = 0;
      }
      return this.bval;
    }
    if (this.bval === ValueType.None) {
      this.useA = true;
      this.lastT = this.a.atT();
      this.penA = 0;
      return this.aval;
    }

    const ta = this.a.atT();
    const tb = this.b.atT();
    this.useA = ta <= tb;
    // The side not picked is held back by twice the gap just seen; with no gap known
    // yet, by the initial penalty.
    if (this.useA) {
      this.penB = this.lastT !== NO_TIME ? 2 * (ta - this.lastT) : INITIAL_PENALTY_MS;
      this.penA = 0;
      this.lastT = ta;
      return this.aval;
    }
    this.penA = this.lastT !== NO_TIME ? 2 * (tb - this.lastT) : INITIAL_PENALTY_MS;
    this.penB = 0;
    this.lastT = tb;
    return this.bval;
  }

  adjustAtValue(lastValue: number): void {
    if (this.adjA !== null && this.aval === ValueType.Float) this.adjA.adjustAtValue(lastValue);
    if (this.adjB !== null && this.bval === ValueType.Float) this.adjB.adjustAtValue(lastValue);
  }

  seek(t: number): ValueType {
    // Thanos inspects the current sample before ever calling Next; a seek on a fresh
    // iterator would then return A's first sample even when B's is earlier, and the
    // next Next would emit it again. Starting with one step avoids both.
    if (!this.started && this.next() === ValueType.None) return ValueType.None;
    for (;;) {
      const cur = this.useA ? this.aval : this.bval;
      if (cur === ValueType.None) return ValueType.None;
      if (this.atT() >= t) return cur;
      if (this.next() === ValueType.None) return ValueType.None;
    }
  }

  atT(): number {
    return this.useA ? this.a.atT() : this.b.atT();
  }

  atF(): number {
    return this.useA ? this.a.atF() : this.b.atF();
  }

  err(): Error | null {
    return this.a.err() ?? this.b.err();
  }
}

/**
 * The deduplicated stream of several replicas of one series: the penalty algorithm
 * folded pairwise, each replica wrapped for counter adjustment when `func` is a
 * counter function.
 */
export function dedupIterator(replicas: readonly SeriesIterator[], func?: string): SeriesIterator {
  if (replicas.length === 0) throw new Error('dedup: no replicas');
  if (replicas.length === 1) return replicas[0];
  const counter = isCounterFunc(func);
  const wrap = (it: SeriesIterator): SeriesIterator => (counter ? new CounterErrAdjustIterator(it) : it);
  let it: SeriesIterator = wrap(replicas[0]);
  for (let i = 1; i < replicas.length; i++) it = new DedupSeriesIterator(it, wrap(replicas[i]));
  return it;
}

/**
 * --deduplication.func=chain: the union of all replicas' samples, one per timestamp
 * (Prometheus ChainedSeriesMerge). Meant for replicas holding identical samples, such as
 * receive replicas.
 */
export function chainIterator(replicas: readonly SeriesIterator[]): SeriesIterator {
  if (replicas.length === 1) return replicas[0];
  return new ChainSampleIterator(replicas);
}
