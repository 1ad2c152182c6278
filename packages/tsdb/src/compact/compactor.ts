// Compaction of blocks into one (Prometheus' LeveledCompactor.Compact → write →
// DefaultBlockPopulator.PopulateBlock in tsdb/compact.go):
//
//   open every input (index in memory, chunks read by position, tombstones)
//   symbols     = the sorted union of the inputs' symbol tables, written up front
//   series      = a k-way merge of the inputs' series in label order (all-postings order
//                 of each index), one series at a time; its chunks from every block that
//                 holds it go through SeriesMerger (copied, re-encoded or merged)
//   meta.json   = CompactBlockMetas: level max+1, sources' union, parents, time union
//
// The new block is written by BlockWriter into <dest>/<ULID>.tmp-for-creation and
// renamed into place only when complete; on any failure (or abort) the tmp directory
// is removed. Memory holds the inputs' indexes, the writer's postings, and the chunks
// of the series at hand.

import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Block, BlockWriter } from '../block/index.js';
import { readBlockMeta, SourceType, THANOS_VERSION_1, ZERO_TIME, type BlockDesc, type BlockMeta, type BlockMetaCompaction, type ThanosMeta } from '../block-meta/index.js';
import { MAX_SAMPLES_PER_CHUNK } from '../chunkenc/index.js';
import type { SeriesEntry } from '../index/index.js';
import { compareLabels, compareStrings, type Labels } from '../labels/index.js';
import { ALL_POSTINGS_KEY, type Postings } from '../postings/index.js';
import { chainedSeriesMerge } from '../dedup/index.js';
import type { Intervals } from '../tombstones/index.js';
import { ulid as newUlid } from '../ulid/index.js';
import { SeriesMerger, type SourceChunk, type VerticalMergeFunc } from './series-merge.js';

/** The least a logger needs to have (pino's and our runtime's loggers have it). */
export interface CompactLogger {
  info(obj: Record<string, unknown>, msg?: string): void;
}

export interface CompactOptions {
  /** Merges a series' overlapping samples from several blocks. Default: chainedSeriesMerge (dedup/). */
  verticalMerge?: VerticalMergeFunc;
  /** Chunks re-encoded (merged or partly deleted) get at most this many samples each (default 120, as Prometheus). */
  samplesPerChunk?: number;
  /** Called with the number of series written so far, at most once a second; a throw aborts the compaction. */
  onProgress?: (seriesDone: number) => void;
  /** Stops the compaction (the partial block is removed) when aborted. */
  signal?: AbortSignal;
  logger?: CompactLogger;
  /**
   * Write a Thanos section into meta.json: these fields over defaults taken from the
   * first input (labels, downsample resolution), source "compactor", version 1,
   * empty index_stats and zero upload_time. Without it meta.json is exactly what
   * Prometheus writes (no `thanos` key).
   */
  thanos?: Partial<ThanosMeta>;
  /** ULID of the new block; a fresh one by default. */
  ulid?: string;
  /** Maximum chunk segment file size (default 512 MiB, as Prometheus). */
  chunkSegmentSize?: number;
}

/** Series written between yields to the event loop (for abort signals and timers). */
const YIELD_EVERY = 512;
const PROGRESS_INTERVAL_MS = 1000;


/**
 * Merges the blocks in inputDirs (each a block directory) into one new block under
 * destDir/<new ULID>/, streaming series by series. Applies each input's tombstones.
 * Overlapping inputs are merged vertically; chunks nothing overlaps or deletes are
 * copied without re-encoding.
 *
 * meta.json: compaction.level = max(input levels) + 1, compaction.sources = sorted
 * union of the inputs' sources, compaction.parents = the inputs (minTime order),
 * minTime/maxTime = union of the inputs' ranges, stats as written.
 *
 * @returns the new block's meta.json, or null when no series is left (nothing is
 *   written; Prometheus then marks the inputs deletable, which is the caller's call)
 * @throws Error naming the block or series on unreadable inputs, mixed downsample
 *   resolutions, chunks that cannot be merged (non-float), or abort; destDir then holds
 *   no new block
 */
export async function compactBlocks(inputDirs: readonly string[], destDir: string, opts: CompactOptions = {}): Promise<BlockMeta | null> {
  if (inputDirs.length === 0) throw new Error('compact: no input blocks');
  const samplesPerChunk = opts.samplesPerChunk ?? MAX_SAMPLES_PER_CHUNK;
  if (!Number.isInteger(samplesPerChunk) || samplesPerChunk < 1 || samplesPerChunk > 0xffff) {
    throw new RangeError(`compact: samplesPerChunk ${samplesPerChunk} outside [1, 65535]`);
  }
  opts.signal?.throwIfAborted();
  const opened: Block[] = [];
  try {
    for (const d of inputDirs) {
      try {
        opened.push(await Block.open(d));
      } catch (err) {
        throw new Error(`compact: open block ${d}: ${(err as Error).message}`, { cause: err });
      }
    }
    // Stable by minTime: the order overlapping samples are resolved in.
    const blocks = opened.map((b, i) => ({ b, i })).sort((x, y) => x.b.minTime - y.b.minTime || x.i - y.i).map((x) => x.b);
    return await compactOpen(blocks, destDir, opts, samplesPerChunk);
  } finally {
    await Promise.all(opened.map((b) => b.close()));
  }
}

/** Prometheus' CompactBlockMetas, without the ULID and stats. */
export function compactBlockMetas(metas: readonly BlockMeta[]): { minTime: number; maxTime: number; compaction: BlockMetaCompaction } {
  let mint = metas[0].minTime;
  let maxt = metas[0].maxTime;
  let level = 0;
  const sources = new Set<string>();
  const parents: BlockDesc[] = [];
  for (const m of metas) {
    if (m.minTime < mint) mint = m.minTime;
    if (m.maxTime > maxt) maxt = m.maxTime;
    if (m.compaction.level > level) level = m.compaction.level;
    for (const s of m.compaction.sources ?? []) sources.add(s);
    parents.push({ ulid: m.ulid, minTime: m.minTime, maxTime: m.maxTime });
  }
  // ULIDs are Crockford base32 of fixed length: string order is ULID order.
  return { minTime: mint, maxTime: maxt, compaction: { level: level + 1, sources: [...sources].sort(), parents } };
}

async function compactOpen(blocks: Block[], destDir: string, opts: CompactOptions, samplesPerChunk: number): Promise<BlockMeta | null> {
  const started = performance.now();
  const metas = blocks.map((b) => b.meta);
  const res = metas[0].thanos.downsample.resolution;
  for (const m of metas) {
    if (m.thanos.downsample.resolution !== res) {
      throw new Error(`compact: blocks of different resolutions: ${metas[0].ulid} (${res}) and ${m.ulid} (${m.thanos.downsample.resolution})`);
    }
  }
  const { minTime, maxTime, compaction } = compactBlockMetas(metas);
  let thanos: ThanosMeta | undefined;
  if (opts.thanos !== undefined) {
    thanos = {
      version: THANOS_VERSION_1,
      labels: metas[0].thanos.labels,
      downsample: { resolution: res },
      source: SourceType.Compactor,
      index_stats: {},
      upload_time: ZERO_TIME,
      ...opts.thanos,
    };
  }
  const overlapping = metas.some((m, i) => i > 0 && m.minTime < Math.max(...metas.slice(0, i).map((p) => p.maxTime)));
  const ulid = opts.ulid ?? newUlid();
  opts.logger?.info({ ulid, count: blocks.length, mint: minTime, maxt: maxTime, overlapping, sources: metas.map((m) => m.ulid) }, 'compact blocks started');

  const w = new BlockWriter(destDir, {
    mint: minTime,
    maxt: maxTime,
    ulid,
    symbols: mergeSymbols(blocks),
    compaction,
    thanos,
    chunkSegmentSize: opts.chunkSegmentSize,
  });
  try {
    const cursors = blocks.map((b, i) => new SeriesCursor(b, i));
    // Blocks are half-open [minTime, maxTime): a sample at maxTime is not the block's.
    const merger = new SeriesMerger(blocks, minTime, maxTime - 1, opts.verticalMerge ?? chainedSeriesMerge, samplesPerChunk);
    const group: SeriesCursor[] = [];
    const src: SourceChunk[] = [];
    let done = 0;
    let lastProgress = -Infinity;
    for (;;) {
      // Linear scan: a compaction has a handful of inputs.
      group.length = 0;
      let min: Labels | null = null;
      for (const c of cursors) {
        if (c.labels === null) continue;
        const cmp = min === null ? -1 : compareLabels(c.labels, min);
        if (cmp < 0) {
          min = c.labels;
          group.length = 0;
          group.push(c);
        } else if (cmp === 0) {
          group.push(c);
        }
      }
      if (min === null) break;
      src.length = 0;
      for (const c of group) c.appendChunks(src);
      const chunks = merger.chunks(min, src);
      // A series whose chunks were all deleted is left out (PopulateBlock does the same).
      if (chunks.length > 0) w.addSeries(min, chunks);
      for (const c of group) c.next();

      if (++done % YIELD_EVERY === 0) {
        await yieldToLoop();
        opts.signal?.throwIfAborted();
        const now = performance.now();
        if (opts.onProgress !== undefined && now - lastProgress >= PROGRESS_INTERVAL_MS) {
          lastProgress = now;
          opts.onProgress(w.stats().numSeries);
        }
      }
    }
    opts.signal?.throwIfAborted();
    const stats = w.stats();
    if (stats.numSamples === 0) {
      await w.abort();
      opts.logger?.info({ count: blocks.length, sources: metas.map((m) => m.ulid), duration_ms: Math.round(performance.now() - started) }, 'compact blocks resulted in empty block');
      return null;
    }
    await w.close();
  } catch (err) {
    await w.abort();
    throw new Error(`compact blocks into ${ulid}: ${(err as Error).message}`, { cause: err });
  }
  const meta = await readBlockMeta(w.dir);
  opts.logger?.info(
    { ulid, mint: minTime, maxt: maxTime, series: meta.stats.numSeries ?? 0, duration_ms: Math.round(performance.now() - started) },
    'compact blocks',
  );
  return meta;
}

/**
 * Walks one block's series in label order (its all-postings list), keeping those with
 * at least one chunk not entirely deleted.
 */
class SeriesCursor {
  labels: Labels | null = null;
  private chunks: SourceChunk[] = [];
  private readonly p: Postings;
  private readonly entry: SeriesEntry = { labels: [], chunks: [] };

  constructor(
    private readonly block: Block,
    private readonly index: number,
  ) {
    this.p = block.index.postings(ALL_POSTINGS_KEY.name, ALL_POSTINGS_KEY.value);
    this.next();
  }

  next(): void {
    const ix = this.block.index;
    const e = this.entry;
    while (this.p.next()) {
      const ref = this.p.at();
      ix.series(ref, e);
      const intervals: Intervals = this.block.tombstones.get(ref);
      const kept: SourceChunk[] = [];
      for (const c of e.chunks) {
        if (intervals.length > 0 && coveredBy(c.mint, c.maxt, intervals)) continue;
        kept.push({ block: this.index, meta: { mint: c.mint, maxt: c.maxt, ref: c.ref }, intervals });
      }
      if (kept.length === 0) continue;
      this.labels = e.labels.slice();
      this.chunks = kept;
      return;
    }
    const err = this.p.err();
    if (err !== null) throw new Error(`block ${this.block.ulid}: postings: ${err.message}`, { cause: err });
    this.labels = null;
    this.chunks = [];
  }

  appendChunks(out: SourceChunk[]): void {
    for (const c of this.chunks) out.push(c);
  }
}

function coveredBy(mint: number, maxt: number, intervals: Intervals): boolean {
  for (const iv of intervals) if (iv.mint <= mint && maxt <= iv.maxt) return true;
  return false;
}

/** The sorted, de-duplicated union of the blocks' symbol tables (NewMergedStringIter). */
function* mergeSymbols(blocks: readonly Block[]): Generator<string> {
  const its = blocks.map((b) => b.index.symbols());
  const heads: (string | null)[] = its.map((it) => {
    const r = it.next();
    return r.done ? null : r.value;
  });
  let last: string | null = null;
  for (;;) {
    let min = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h !== null && (min < 0 || compareStrings(h, heads[min]!) < 0)) min = i;
    }
    if (min < 0) return;
    const s = heads[min]!;
    if (s !== last) yield s;
    last = s;
    const r = its[min].next();
    heads[min] = r.done ? null : r.value;
  }
}

