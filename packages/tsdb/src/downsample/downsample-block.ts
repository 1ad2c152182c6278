// Downsampling a whole block (Thanos downsample.Downsample with its
// streamedBlockWriter): series are read, downsampled and written one at a time, so
// memory holds one series' samples plus what BlockWriter keeps for the index.

import { Block, BlockWriter } from '../block/index.js';
import { SourceType, THANOS_VERSION_1, ZERO_TIME, type BlockMeta, type ThanosMeta } from '../block-meta/index.js';
import type { SeriesEntry } from '../index/index.js';
import { labelsToString } from '../labels/index.js';
import { ALL_POSTINGS_KEY } from '../postings/index.js';
import type { AggrChunkMeta } from './aggregator.js';
import { DownsampleScratch, downsampleSeries, type DownsampleWarn, type SourceChunk } from './downsample-series.js';
import { checkResolution } from './downsample-raw.js';

export interface DownsampleBlockOptions {
  /** ULID of the new block; a fresh one by default. */
  ulid?: string;
  /** Maximum chunk segment file size (default 512 MiB). */
  chunkSegmentSize?: number;
  /**
   * Write the block even when no series has data left (Thanos does); by default
   * nothing is written and null is returned.
   */
  keepEmpty?: boolean;
  /** Stops the work (the partial block is removed) when aborted. */
  signal?: AbortSignal;
  /** Notices about tolerated input oddities (skipped empty chunks, tombstones ignored). */
  warn?: DownsampleWarn;
}

export interface DownsampledBlock {
  ulid: string;
  /** The new block's directory, `<outDir>/<ulid>`. */
  dir: string;
  /** Its meta.json. */
  meta: BlockMeta;
}

/** Series processed between yields to the event loop. */
const YIELD_EVERY = 256;

/**
 * Downsamples the block `src` (an open Block, or its directory) to `resolution` ms and
 * writes the result as a new block under outDir: raw (resolution 0) blocks to 5m or
 * 1h, 5m blocks to 1h. Every chunk of the new block is a 0xFF aggregate chunk.
 *
 * meta.json: new ULID, the source's minTime/maxTime and compaction, thanos.labels,
 * rewrites and extensions copied; thanos.downsample.resolution set, source
 * "compactor", index_stats/files/segment_files left for the uploader to fill,
 * upload_time unset. Tombstones of the source are not applied (as in Thanos, where
 * deletions are applied by rewriting before).
 *
 * @returns the new block, or null when no series had data (unless keepEmpty)
 * @throws Error when the source resolution is not lower than `resolution`, for
 *   overlapping chunks or native histograms (naming the series); nothing is left in
 *   outDir on failure
 */
export async function downsampleBlock(
  src: Block | string,
  outDir: string,
  resolution: number,
  opts: DownsampleBlockOptions = {},
): Promise<DownsampledBlock | null> {
  checkResolution(resolution);
  const block = typeof src === 'string' ? await Block.open(src) : src;
  try {
    return await downsampleOpenBlock(block, outDir, resolution, opts);
  } finally {
    if (typeof src === 'string') await block.close();
  }
}

async function downsampleOpenBlock(block: Block, outDir: string, resolution: number, opts: DownsampleBlockOptions): Promise<DownsampledBlock | null> {
  const src = block.meta;
  const inRes = src.thanos.downsample.resolution;
  const fail = (msg: string, cause?: unknown): Error => new Error(`downsample block ${src.ulid}: ${msg}`, cause === undefined ? undefined : { cause });
  if (inRes >= resolution) throw fail(`target resolution ${resolution} not lower than existing one ${inRes}`);
  if (block.tombstones.total() > 0) opts.warn?.(`block ${src.ulid}: ${block.tombstones.total()} tombstone intervals ignored`);
  opts.signal?.throwIfAborted();

  const thanos: ThanosMeta = {
    version: THANOS_VERSION_1,
    labels: src.thanos.labels === null ? null : { ...src.thanos.labels },
    downsample: { resolution },
    source: SourceType.Compactor,
    index_stats: {},
    upload_time: ZERO_TIME,
  };
  if (src.thanos.rewrites !== undefined) thanos.rewrites = structuredClone(src.thanos.rewrites);
  if (src.thanos.extensions !== undefined) thanos.extensions = structuredClone(src.thanos.extensions);

  const w = new BlockWriter(outDir, {
    mint: src.minTime,
    maxt: src.maxTime,
    // Every symbol of the source, as Thanos' streamedBlockWriter copies them; the
    // output's series are a subset of the input's.
    symbols: block.index.symbols(),
    ulid: opts.ulid,
    compaction: structuredClone(src.compaction),
    thanos,
    chunkSegmentSize: opts.chunkSegmentSize,
  });
  try {
    const scratch = new DownsampleScratch();
    const entry: SeriesEntry = { labels: [], chunks: [] };
    const chunks: SourceChunk[] = [];
    const p = block.index.postings(ALL_POSTINGS_KEY.name, ALL_POSTINGS_KEY.value);
    let n = 0;
    while (p.next()) {
      if (++n % YIELD_EVERY === 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        opts.signal?.throwIfAborted();
      }
      block.index.series(p.at(), entry);
      chunks.length = 0;
      for (const c of entry.chunks) {
        // data may be a view into the block's shared read window: fine, windows are
        // never modified, only replaced.
        const rec = block.readChunk(c.ref);
        chunks.push({ mint: c.mint, maxt: c.maxt, encoding: rec.encoding, data: rec.data });
      }
      let out: AggrChunkMeta[];
      try {
        out = downsampleSeries(chunks, inRes, resolution, scratch, opts.warn);
      } catch (err) {
        throw fail(`series ${labelsToString(entry.labels)}: ${(err as Error).message}`, err);
      }
      if (out.length === 0) {
        opts.warn?.(`series ${labelsToString(entry.labels)}: no data left after downsampling: skipped`);
        continue;
      }
      // a copy: the writer keeps the labels to check the order of the next series
      w.addSeries(entry.labels.slice(), out);
    }
    const e = p.err();
    if (e !== null) throw fail(`iterate postings: ${e.message}`, e);
    chunks.length = 0;

    if (w.stats().numSeries === 0 && !opts.keepEmpty) {
      await w.abort();
      return null;
    }
    const written = await w.close();
    return { ulid: w.ulid, dir: w.dir, meta: { ...written, thanos } };
  } catch (err) {
    await w.abort();
    throw err;
  }
}
