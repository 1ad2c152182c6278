// Aggregate chunks -> coarser aggregate chunks (Thanos downsampleAggr,
// downsampleAggrLoop, downsampleFloatAggrBatch, genericAggregate).

import { AggrType, XorIterator, type AggrChunk } from '../chunkenc/index.js';
import { AggrChunkBuilder, aggregateWindows, FloatAggregator, type AggrChunkMeta } from './aggregator.js';
import { ApplyCounterResetsIterator } from './counter-resets-iterator.js';
import { checkResolution } from './downsample-raw.js';
import { targetChunkCount } from './resolution.js';
import { appendSamples, SampleBuffer } from './sample-buffer.js';

/**
 * Downsamples the aggregate chunks of one series (time-ordered, covering [mint, maxt],
 * at resolution inRes) to outRes, exactly as Thanos' downsampleAggr: chunks are only
 * merged along their boundaries (a chunk's first and last counter values are true raw
 * values that must survive every level), in groups sized for ~140 output samples.
 * count re-aggregates as the sum of counts; sum, min and max as such; counter is
 * re-expanded through ApplyCounterResetsIterator and aggregated again, keeping the
 * first and last raw values.
 * @throws UnsupportedChunkEncodingError for histogram sub-chunks, CorruptionError for
 *   malformed chunks
 */
export function downsampleAggr(
  chunks: readonly AggrChunk[],
  mint: number,
  maxt: number,
  inRes: number,
  outRes: number,
  scratch: SampleBuffer = new SampleBuffer(),
): AggrChunkMeta[] {
  checkResolution(outRes);
  let numSamples = 0;
  for (const c of chunks) numSamples += c.numSamples();
  const numChunks = targetChunkCount(mint, maxt, inRes, outRes, numSamples);
  return downsampleAggrLoop(chunks, outRes, numChunks, scratch);
}

/**
 * Groups `chunks` into floor(len/numChunks)-sized runs (the last one may be shorter)
 * and downsamples each run into one chunk. Exported for tests.
 */
export function downsampleAggrLoop(
  chunks: readonly AggrChunk[],
  resolution: number,
  numChunks: number,
  scratch: SampleBuffer = new SampleBuffer(),
): AggrChunkMeta[] {
  const out: AggrChunkMeta[] = [];
  const batchSize = Math.trunc(chunks.length / numChunks);
  for (let i = 0; i < chunks.length; ) {
    const j = Math.min(i + batchSize, chunks.length);
    const c = downsampleAggrBatch(chunks.slice(i, j), resolution, scratch);
    if (!Number.isFinite(c.mint) || !Number.isFinite(c.maxt)) {
      // Includes a batch size of 0 (more target chunks than input chunks); Thanos
      // fails the same way.
      throw new Error(`downsample: invalid range for downsampled aggregate chunk: mint=${c.mint} maxt=${c.maxt}`);
    }
    out.push(c);
    i = j;
  }
  return out;
}

const GENERIC: readonly { type: AggrType; pick: (a: FloatAggregator) => number }[] = [
  // Counts of the finer level are summed to the count of the coarser one.
  { type: AggrType.COUNT, pick: (a) => a.sum },
  { type: AggrType.SUM, pick: (a) => a.sum },
  { type: AggrType.MIN, pick: (a) => a.min },
  { type: AggrType.MAX, pick: (a) => a.max },
];

function downsampleAggrBatch(chunks: readonly AggrChunk[], resolution: number, buf: SampleBuffer): AggrChunkMeta {
  const b = new AggrChunkBuilder(false);
  const it = new XorIterator();
  for (const { type, pick } of GENERIC) {
    buf.clear();
    for (const c of chunks) {
      const x = c.xorChunk(type);
      if (x !== null) appendSamples(x.iterator(it), buf);
    }
    // Thanos widens the chunk range to [0, 0] here when an aggregate has no samples
    // (genericAggregate returns 0, 0); we leave such aggregates out of the range, or a
    // chunk could claim to start at 0, outside its block.
    if (buf.length === 0) continue;
    const app = b.start(type);
    aggregateWindows(buf.t, buf.v, 0, buf.length, resolution, new FloatAggregator(), (t, a) => {
      b.cover(t);
      app.append(t, pick(a));
    });
  }

  const iters: XorIterator[] = [];
  for (const c of chunks) {
    const x = c.xorChunk(AggrType.COUNTER);
    if (x !== null) iters.push(x.iterator());
  }
  const counters = new ApplyCounterResetsIterator(iters);
  buf.clear();
  appendSamples(counters, buf);
  if (buf.length === 0) return b.encode(); // counter stays absent
  const app = b.start(AggrType.COUNTER);
  // First and last raw values retained, as in raw downsampling.
  app.append(buf.t[0], buf.v[0]);
  const lastT = aggregateWindows(buf.t, buf.v, 0, buf.length, resolution, new FloatAggregator(), (t, a) => {
    b.cover(t);
    app.append(t, a.counter);
  });
  app.append(lastT, counters.lastV);
  return b.encode();
}
