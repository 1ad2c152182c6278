// Thanos downsampling (pkg/compact/downsample): raw blocks to 5m and 1h aggregate
// chunks (encoding 0xFF, see chunkenc/aggr.ts), 5m to 1h.
export { ResLevel, DownsampleRange, currentWindow, targetChunkCount } from './resolution.js';
export type { AggrChunkMeta } from './aggregator.js';
export { downsampleRaw } from './downsample-raw.js';
export { downsampleAggr } from './downsample-aggr.js';
export { ApplyCounterResetsIterator } from './counter-resets-iterator.js';
export { downsampleSeries, DownsampleScratch } from './downsample-series.js';
export type { SourceChunk, DownsampleWarn } from './downsample-series.js';
export { downsampleBlock } from './downsample-block.js';
export type { DownsampleBlockOptions, DownsampledBlock } from './downsample-block.js';
