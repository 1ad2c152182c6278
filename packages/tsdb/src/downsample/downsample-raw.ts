// Raw samples -> aggregate chunks (Thanos DownsampleRaw, downsampleRawLoop,
// downsampleFloatBatch).

import { AggrType } from '../chunkenc/index.js';
import { AggrChunkBuilder, aggregateWindows, FloatAggregator, type AggrChunkMeta } from './aggregator.js';
import { currentWindow, RAW_RESOLUTION_ESTIMATE, targetChunkCount } from './resolution.js';
import { SampleBuffer } from './sample-buffer.js';

/**
 * Downsamples the raw float samples of one series (timestamps ascending, stale markers
 * already removed; other NaNs are dropped here) to aggregate chunks of `resolution` ms
 * windows, exactly as Thanos' DownsampleRaw: the series is cut into about
 * length/targetChunkCount batches, each extended to the end of the window its last
 * sample falls in, and every batch becomes one chunk with count, sum, min, max and
 * counter XOR sub-chunks (read them with `chunk.xorChunk(AggrType.X)`).
 *
 * `scratch` holds the NaN-filtered batch; pass one to reuse its memory.
 */
export function downsampleRaw(
  ts: ArrayLike<number>,
  vs: ArrayLike<number>,
  resolution: number,
  length: number = ts.length,
  scratch: SampleBuffer = new SampleBuffer(),
): AggrChunkMeta[] {
  checkResolution(resolution);
  if (length === 0) return [];
  // The heuristic assumes one raw sample a minute: often denser in practice, but good
  // enough to produce well-sized chunks.
  const numChunks = targetChunkCount(ts[0], ts[length - 1], RAW_RESOLUTION_ESTIMATE, resolution, length);
  const out: AggrChunkMeta[] = [];
  downsampleRawLoop(ts, vs, length, resolution, numChunks, out, scratch);
  return out;
}

/**
 * Cuts samples [0, length) into batches aiming at numChunks chunks and appends one
 * aggregate chunk per non-empty batch to out. Exported for tests (Thanos tests drive
 * this with an explicit chunk count).
 */
export function downsampleRawLoop(
  ts: ArrayLike<number>,
  vs: ArrayLike<number>,
  length: number,
  resolution: number,
  numChunks: number,
  out: AggrChunkMeta[],
  scratch: SampleBuffer = new SampleBuffer(),
): void {
  const batchSize = Math.trunc(length / numChunks) + 1;
  let i = 0;
  while (i < length) {
    let j = Math.min(i + batchSize, length);
    // The batch may end inside a window: take the rest of that window too, so that
    // every window lies wholly in one chunk.
    const w = currentWindow(ts[j - 1], resolution);
    while (j < length && ts[j] <= w) j++;
    scratch.clear();
    for (let k = i; k < j; k++) {
      const v = vs[k];
      if (v !== v) continue; // NaN, including stale markers
      scratch.push(ts[k], v);
    }
    i = j;
    if (scratch.length === 0) continue;
    out.push(downsampleFloatBatch(scratch.t, scratch.v, scratch.length, resolution));
  }
}

/**
 * One aggregate chunk from a batch of samples. The counter sub-chunk additionally
 * starts with the first raw sample and ends with the last raw value repeated at the
 * last window's timestamp, so that ApplyCounterResetsIterator can detect resets
 * across chunk boundaries. The chunk's time range spans the window timestamps only.
 */
function downsampleFloatBatch(ts: Float64Array, vs: Float64Array, n: number, resolution: number): AggrChunkMeta {
  const b = new AggrChunkBuilder(true);
  const counter = b.apps[AggrType.COUNTER]!;
  counter.append(ts[0], vs[0]);
  const lastT = aggregateWindows(ts, vs, 0, n, resolution, new FloatAggregator(), b.addWindow);
  counter.append(lastT, vs[n - 1]);
  return b.encode();
}

export function checkResolution(resolution: number): void {
  if (!(Number.isSafeInteger(resolution) && resolution > 0)) {
    throw new RangeError(`downsample: resolution ${resolution} must be a positive integer (ms)`);
  }
}
