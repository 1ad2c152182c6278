// From StoreAPI chunks to sample iterators (Thanos pkg/query/iter.go and the query side
// of pkg/compact/downsample): which chunk of an AggrChunk to read for the function
// around the selection, and iterators over a series' chunk list that decode lazily,
// one chunk at a time, reusing their decoders. Series of XOR chunks also read their
// samples in bulk, straight into the PromQL engine's arrays.

import { thanos, StoreChunkEncoding } from '@thanos-ts/storeapi';
import type { AggrChunk, StoreChunk } from '@thanos-ts/storeapi';
import { ApplyCounterResetsIterator, BufferedXorIterator, decodeXorInto, ErrorIterator, UnsupportedChunkEncodingError, ValueType, XorDecodeResult } from '@thanos-ts/tsdb';
import type { FloatSampleArrays, FloatSampleReader, Labels, Series, SeriesIterator } from '@thanos-ts/tsdb';

/** thanos.Aggr: which aggregate of a downsampled chunk to read. */
export const Aggr = thanos.Aggr;
export type Aggr = thanos.Aggr;

/**
 * The aggregates a selection needs, inferred from the function around it as Thanos does
 * (aggrsFromFunc): min_over_time reads MIN, rate reads COUNTER, and so on; by default
 * COUNT and SUM, from which averages are computed. Raw chunks serve every function.
 */
export function aggrsFromFunc(func: string | undefined): Aggr[] {
  const f = func ?? '';
  if (f === 'min' || f.startsWith('min_')) return [Aggr.MIN];
  if (f === 'max' || f.startsWith('max_')) return [Aggr.MAX];
  if (f === 'count' || f.startsWith('count_')) return [Aggr.COUNT];
  // sum itself wants the samples: only sum_* functions read the SUM aggregate.
  if (f.startsWith('sum_')) return [Aggr.SUM];
  if (f === 'increase' || f === 'rate' || f === 'irate' || f === 'resets' || f === 'xincrease' || f === 'xrate') return [Aggr.COUNTER];
  return [Aggr.COUNT, Aggr.SUM];
}

/** PromQL functions that need at least two samples inside their range. */
const FUNCS_NEEDING_TWO_SAMPLES = new Set([
  'rate',
  'irate',
  'increase',
  'delta',
  'idelta',
  'deriv',
  'predict_linear',
  'holt_winters',
  'double_exponential_smoothing',
]);

/**
 * The coarsest resolution a selection may read (ms): the requested one, but for
 * functions needing two samples per range at most half the range, so a rate over 5m
 * never reads 5m-resolution data (Thanos maxResolutionFromSelectHints).
 */
export function maxResolutionForSelect(maxSourceResolutionMs: number, rangeMs: number | undefined, func: string | undefined): number {
  if (rangeMs !== undefined && rangeMs > 0 && func !== undefined && FUNCS_NEEDING_TWO_SAMPLES.has(func)) {
    return Math.min(maxSourceResolutionMs, Math.floor(rangeMs / 2));
  }
  return maxSourceResolutionMs;
}

/**
 * Decodes one StoreAPI chunk, reusing `reuse` when it is an XOR decoder. Each chunk is
 * decoded whole in one loop when first read; the samples are then taken one by one.
 */
function chunkIterator(c: StoreChunk, reuse: SeriesIterator | null): SeriesIterator {
  const type = c.type ?? StoreChunkEncoding.XOR;
  if (type !== StoreChunkEncoding.XOR) {
    // storepb encodings are the TSDB chunkenc values minus one.
    return new ErrorIterator(new UnsupportedChunkEncodingError(type + 1));
  }
  if (reuse instanceof BufferedXorIterator) {
    reuse.reset(c.data);
    return reuse;
  }
  return new BufferedXorIterator(c.data);
}

/** Opens the sample iterator of one AggrChunk; `reuse` is the previous chunk's. */
export type ChunkOpener = (c: AggrChunk, reuse: SeriesIterator | null) => SeriesIterator;

/** The one chunk of an AggrChunk a selection reads. */
type ChunkPicker = (c: AggrChunk) => StoreChunk | null | undefined;

// An aggregate, or the raw chunk when the aggregate is absent (raw blocks).
const pickRaw: ChunkPicker = (c) => c.raw;
const pickCount: ChunkPicker = (c) => c.count ?? c.raw;
const pickSum: ChunkPicker = (c) => c.sum ?? c.raw;
const pickMin: ChunkPicker = (c) => c.min ?? c.raw;
const pickMax: ChunkPicker = (c) => c.max ?? c.raw;
const pickCounter: ChunkPicker = (c) => c.counter ?? c.raw;

function opener(pick: ChunkPicker): ChunkOpener {
  return (c, reuse) => {
    const chk = pick(c);
    return chk ? chunkIterator(chk, reuse) : new ErrorIterator(new Error('no valid chunk found'));
  };
}

const openRaw: ChunkOpener = opener(pickRaw);
const openCount: ChunkOpener = opener(pickCount);
const openSum: ChunkOpener = opener(pickSum);
const openMin: ChunkOpener = opener(pickMin);
const openMax: ChunkOpener = opener(pickMax);
const openCounter: ChunkOpener = opener(pickCounter);

/** Raw chunks as they are, downsampled ones as sum / count per window. */
const openAverage: ChunkOpener = (c, reuse) => {
  if (c.raw) return chunkIterator(c.raw, reuse);
  if (!c.sum || !c.count) return new ErrorIterator(new Error('no valid chunk found'));
  return new AverageIterator(chunkIterator(c.count, null), chunkIterator(c.sum, null));
};

/**
 * Sum and count aggregates as their quotient (Thanos downsample.AverageChunkIterator).
 * Both must have samples at the same timestamps.
 */
export class AverageIterator implements SeriesIterator {
  private t = 0;
  private v = 0;
  private started = false;
  private error: Error | null = null;

  constructor(
    private readonly count: SeriesIterator,
    private readonly sum: SeriesIterator,
  ) {}

  next(): ValueType {
    if (this.error !== null) return ValueType.None;
    this.started = true;
    const ct = this.count.next();
    const st = this.sum.next();
    if ((ct === ValueType.None) !== (st === ValueType.None)) return this.fail('sum and count iterator not aligned');
    if (ct === ValueType.None) {
      this.error = this.count.err() ?? this.sum.err();
      return ValueType.None;
    }
    if (this.count.atT() !== this.sum.atT()) return this.fail('sum and count timestamps not aligned');
    this.t = this.count.atT();
    this.v = this.sum.atF() / this.count.atF();
    return ValueType.Float;
  }

  seek(t: number): ValueType {
    if (this.error !== null) return ValueType.None;
    if (this.started && this.t >= t) return ValueType.Float;
    for (;;) {
      if (this.next() === ValueType.None) return ValueType.None;
      if (this.t >= t) return ValueType.Float;
    }
  }

  atT(): number {
    return this.t;
  }

  atF(): number {
    return this.v;
  }

  err(): Error | null {
    return this.error;
  }

  private fail(msg: string): ValueType {
    this.error = new Error(msg);
    return ValueType.None;
  }
}

/**
 * The samples of a series' chunks in time order (Thanos chunkSeriesIterator), within
 * [mint, maxt] (the bounded iterator folded in: stores return whole chunks, which may
 * reach beyond the range asked for). Chunks are sorted by min time but may overlap
 * (replicas of a block, the head and a block): a sample not after the last one emitted
 * is skipped, so time only moves forward. Chunks are decoded when reached, each by the
 * previous chunk's decoder; chunks ending before a seek target are skipped undecoded.
 */
export class ChunkSeriesIterator implements SeriesIterator {
  private i = -1;
  private cur: SeriesIterator | null = null;
  private t = -Infinity;
  private v = 0;
  private done = false;
  private error: Error | null = null;

  constructor(
    private readonly chunks: readonly AggrChunk[],
    private readonly open: ChunkOpener = openRaw,
    private readonly mint = -Infinity,
    private readonly maxt = Infinity,
  ) {}

  next(): ValueType {
    if (this.done) return ValueType.None;
    for (;;) {
      const cur = this.cur;
      if (cur !== null) {
        while (cur.next() !== ValueType.None) {
          const t = cur.atT();
          if (t > this.t && t >= this.mint) {
            // Once past the range there is no going back.
            if (t > this.maxt) {
              this.done = true;
              return ValueType.None;
            }
            this.t = t;
            this.v = cur.atF();
            return ValueType.Float;
          }
        }
        const e = cur.err();
        if (e !== null) return this.fail(e);
      }
      if (!this.openChunk(this.i + 1, this.mint)) return ValueType.None;
    }
  }

  seek(t: number): ValueType {
    if (this.done) return ValueType.None;
    if (this.cur !== null && this.t >= t) return ValueType.Float;
    if (t > this.maxt) return ValueType.None;
    // Skip chunks that end before t without decoding them.
    if (this.cur === null || this.chunks[this.i].maxTime < t) {
      if (!this.openChunk(this.i + 1, t)) return ValueType.None;
    }
    for (;;) {
      if (this.next() === ValueType.None) return ValueType.None;
      if (this.t >= t) return ValueType.Float;
    }
  }

  atT(): number {
    return this.t;
  }

  atF(): number {
    return this.v;
  }

  err(): Error | null {
    return this.error;
  }

  /** Opens the first chunk from `from` on that ends at or after `minEnd`; false when none is left. */
  private openChunk(from: number, minEnd: number): boolean {
    let i = from;
    while (i < this.chunks.length && this.chunks[i].maxTime < minEnd) i++;
    if (i >= this.chunks.length || this.chunks[i].minTime > this.maxt) {
      this.done = true;
      this.i = this.chunks.length;
      return false;
    }
    this.i = i;
    this.cur = this.open(this.chunks[i], this.cur);
    return true;
  }

  private fail(e: Error): ValueType {
    this.error = e;
    this.done = true;
    return ValueType.None;
  }
}

/**
 * Samples restricted to [mint, maxt] (Thanos dedup.NewBoundedSeriesIterator): stores
 * return whole chunks, which may reach beyond the range asked for.
 */
export class BoundedIterator implements SeriesIterator {
  constructor(
    private readonly it: SeriesIterator,
    private readonly mint: number,
    private readonly maxt: number,
  ) {}

  next(): ValueType {
    let vt = this.it.next();
    if (vt === ValueType.None) return vt;
    if (this.it.atT() < this.mint) {
      vt = this.it.seek(this.mint);
      if (vt === ValueType.None) return vt;
    }
    // Once past the range there is no going back.
    return this.it.atT() <= this.maxt ? vt : ValueType.None;
  }

  seek(t: number): ValueType {
    if (t > this.maxt) return ValueType.None;
    const vt = this.it.seek(t < this.mint ? this.mint : t);
    if (vt === ValueType.None) return vt;
    return this.it.atT() <= this.maxt ? vt : ValueType.None;
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
}

/**
 * The sample iterator of a series' chunks for a selection wanting `aggrs`, bounded to
 * [mint, maxt] (Thanos chunkSeries.Iterator). Raw chunks are read as they are for every
 * function. For COUNTER, counter resets are folded in (tsdb's ApplyCounterResetsIterator) when at
 * least one chunk is a downsampled counter aggregate; for raw-only series that step is
 * skipped, which keeps rate() & co. bit-identical to Prometheus and resets() correct
 * (Thanos applies it to raw chunks too: thanos-io/thanos#3644).
 */
export function chunksIterator(chunks: readonly AggrChunk[], aggrs: readonly Aggr[], mint: number, maxt: number): SeriesIterator {
  let open: ChunkOpener;
  if (aggrs.length === 1) {
    switch (aggrs[0]) {
      case Aggr.COUNT:
        open = openCount;
        break;
      case Aggr.SUM:
        open = openSum;
        break;
      case Aggr.MIN:
        open = openMin;
        break;
      case Aggr.MAX:
        open = openMax;
        break;
      case Aggr.COUNTER:
        if (chunks.some((c) => c.counter)) {
          return new BoundedIterator(new ApplyCounterResetsIterator(chunks.map((c) => openCounter(c, null))), mint, maxt);
        }
        open = openRaw;
        break;
      case Aggr.RAW:
        open = openRaw;
        break;
      default:
        return new ErrorIterator(new Error(`unexpected result aggregate type ${aggrs.join(',')}`));
    }
  } else if (aggrs.length === 2 && aggrs.includes(Aggr.COUNT) && aggrs.includes(Aggr.SUM)) {
    open = openAverage;
  } else {
    return new ErrorIterator(new Error(`unexpected result aggregate type ${aggrs.join(',')}`));
  }
  return new ChunkSeriesIterator(chunks, open, mint, maxt);
}

/**
 * The chunk each AggrChunk is read from in bulk, as chunksIterator reads them, or null
 * when only the iterators can: averages of downsampled chunks (sum / count), counter
 * aggregates (counter resets folded in), unexpected aggregates.
 */
function bulkPicker(chunks: readonly AggrChunk[], aggrs: readonly Aggr[]): ChunkPicker | null {
  // Averages read raw chunks as they are; a downsampled one makes the read fall back.
  if (aggrs.length === 2 && aggrs.includes(Aggr.COUNT) && aggrs.includes(Aggr.SUM)) return pickRaw;
  if (aggrs.length !== 1) return null;
  switch (aggrs[0]) {
    case Aggr.RAW:
      return pickRaw;
    case Aggr.COUNT:
      return pickCount;
    case Aggr.SUM:
      return pickSum;
    case Aggr.MIN:
      return pickMin;
    case Aggr.MAX:
      return pickMax;
    case Aggr.COUNTER:
      return chunks.some((c) => c.counter) ? null : pickRaw;
    default:
      return null;
  }
}

/**
 * What ChunkSeriesIterator bounded to [smint, smaxt] yields from seek(mint) up to maxt,
 * decoded chunk by chunk with decodeXorInto into `out`: the same chunks skipped and
 * opened, the same overlap rule (a sample not after the last one taken is dropped; as
 * timestamps are integers, that is a lower bound of last + 1), the same stop at the
 * first sample after maxt. Every chunk picked must be XOR (the caller checks). False,
 * with `out` as it was, when a chunk needs the iterator.
 */
function readXorChunks(
  chunks: readonly AggrChunk[],
  pick: ChunkPicker,
  smint: number,
  smaxt: number,
  mint: number,
  maxt: number,
  out: FloatSampleArrays,
): boolean {
  if (mint > smaxt) return true;
  const lo = Math.max(smint, mint);
  const hi = Math.min(smaxt, maxt);
  const start = out.n;
  let last = -Infinity;
  // The seek skips the chunks ending before its target; later chunks are skipped when they end before smint.
  let minEnd = mint;
  for (let i = 0; ; i++) {
    while (i < chunks.length && chunks[i].maxTime < minEnd) i++;
    if (i >= chunks.length || chunks[i].minTime > smaxt) return true;
    const before = out.n;
    const res = decodeXorInto((pick(chunks[i]) as StoreChunk).data, Math.max(lo, last + 1), hi, out);
    if (res === XorDecodeResult.Unhandled) {
      out.n = start;
      return false;
    }
    if (out.n > before) last = out.t[out.n - 1];
    if (res === XorDecodeResult.PastMaxt) return true;
    minEnd = smint;
  }
}

/**
 * A series from StoreAPI chunks (Thanos chunkSeries); samples decoded on iteration, or
 * in bulk when all its chunks to read are XOR.
 */
export class StoreChunkSeries implements Series, FloatSampleReader {
  constructor(
    readonly labels: Labels,
    readonly chunks: readonly AggrChunk[],
    private readonly mint: number,
    private readonly maxt: number,
    private readonly aggrs: readonly Aggr[],
  ) {}

  iterator(): SeriesIterator {
    return chunksIterator(this.chunks, this.aggrs, this.mint, this.maxt);
  }

  readFloats(mint: number, maxt: number, out: FloatSampleArrays): boolean {
    const pick = bulkPicker(this.chunks, this.aggrs);
    if (pick === null) return false;
    for (const c of this.chunks) {
      const chk = pick(c);
      if (!chk || (chk.type ?? StoreChunkEncoding.XOR) !== StoreChunkEncoding.XOR) return false;
    }
    return readXorChunks(this.chunks, pick, this.mint, this.maxt, mint, maxt, out);
  }
}
