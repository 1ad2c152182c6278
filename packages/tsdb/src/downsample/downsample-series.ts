// One series' chunks -> its downsampled chunks: the per-series body of Thanos'
// Downsample, independent of how blocks are read and written.

import {
  AggrChunk,
  CHUNK_ENC_AGGR,
  EncXOR,
  UnsupportedChunkEncodingError,
  XorChunk,
  XorIterator,
  encodingName,
} from '../chunkenc/index.js';
import type { AggrChunkMeta } from './aggregator.js';
import { downsampleAggr } from './downsample-aggr.js';
import { downsampleRaw } from './downsample-raw.js';
import { ResLevel } from './resolution.js';
import { appendSamples, SampleBuffer } from './sample-buffer.js';

/** A stored chunk of the source series: its index time range and its record. */
export interface SourceChunk {
  mint: number;
  maxt: number;
  encoding: number;
  /** Chunk data without the encoding byte; only read during the call. */
  data: Uint8Array;
}

/** Reusable memory for downsampleSeries; one per concurrent caller. */
export class DownsampleScratch {
  readonly samples = new SampleBuffer(1024);
  readonly batch = new SampleBuffer(256);
  readonly it = new XorIterator();
  readonly aggrs: AggrChunk[] = [];
}

/** Receives notices about tolerated oddities of the input (Thanos logs them as warnings). */
export type DownsampleWarn = (msg: string) => void;

/**
 * Downsamples the chunks of one series from resolution inRes (0 = raw) to outRes:
 *
 * - raw: all XOR chunks are expanded (stale markers and samples going back in time
 *   dropped) and downsampled together with downsampleRaw;
 * - downsampled: 0xFF chunks are re-aggregated with downsampleAggr; a stray non-empty
 *   XOR chunk is first turned into 5m aggregate chunks and an empty one skipped, as
 *   Thanos does for blocks damaged by an old bug.
 *
 * Chunks must be in time order and not overlap (by their index ranges).
 * @returns the output chunks, [] when nothing is left (e.g. only NaNs)
 * @throws Error for overlapping chunks or inRes >= outRes;
 *   UnsupportedChunkEncodingError for native histogram chunks
 */
export function downsampleSeries(
  chunks: readonly SourceChunk[],
  inRes: number,
  outRes: number,
  scratch: DownsampleScratch = new DownsampleScratch(),
  warn?: DownsampleWarn,
): AggrChunkMeta[] {
  if (inRes >= outRes) throw new Error(`downsample: target resolution ${outRes} not lower than existing one ${inRes}`);
  for (let i = 1; i < chunks.length; i++) {
    if (chunks[i - 1].maxt >= chunks[i].mint) {
      throw new Error(
        `found overlapping chunks: chunk ${i} [${chunks[i].mint}, ${chunks[i].maxt}] starts before chunk ${i - 1} [${chunks[i - 1].mint}, ${chunks[i - 1].maxt}] ends; chunks must be ordered by min time and not overlap`,
      );
    }
  }
  if (chunks.length === 0) return [];
  const all = scratch.samples;
  all.clear();

  if (inRes === ResLevel.L0) {
    for (const c of chunks) {
      if (c.encoding !== EncXOR) throw unsupported(c.encoding);
      scratch.it.reset(c.data);
      appendSamples(scratch.it, all);
    }
    return downsampleRaw(all.t, all.v, outRes, all.length, scratch.batch);
  }

  const aggrs = scratch.aggrs;
  aggrs.length = 0;
  let mint = 0;
  let maxt = 0;
  for (const c of chunks) {
    if (c.encoding === CHUNK_ENC_AGGR) {
      if (aggrs.length === 0) mint = c.mint;
      maxt = c.maxt;
      aggrs.push(new AggrChunk(c.data));
      continue;
    }
    if (c.encoding !== EncXOR) throw unsupported(c.encoding);
    const x = new XorChunk(c.data);
    if (x.numSamples() === 0) {
      warn?.(`expected a downsampled chunk, got an empty ${encodingName(c.encoding)} chunk [${c.mint}, ${c.maxt}]: skipped`);
      continue;
    }
    all.clear();
    appendSamples(x.iterator(scratch.it), all);
    for (const m of downsampleRaw(all.t, all.v, ResLevel.L1, all.length, scratch.batch)) {
      if (aggrs.length === 0) mint = m.mint;
      maxt = m.maxt;
      aggrs.push(m.chunk);
    }
  }
  const out = downsampleAggr(aggrs, mint, maxt, inRes, outRes, all);
  aggrs.length = 0; // drop references to the caller's buffers
  return out;
}

function unsupported(encoding: number): Error {
  const e = new UnsupportedChunkEncodingError(encoding);
  e.message = `downsample: chunk encoding ${encoding} (${encodingName(encoding)}) is not supported: native histograms cannot be downsampled here`;
  return e;
}
