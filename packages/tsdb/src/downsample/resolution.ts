// Downsampling resolutions and the window/chunk-count arithmetic of Thanos
// pkg/compact/downsample/downsample.go. Timestamps and resolutions are ms as JS
// numbers: every value involved is a safe integer, so `%` and the truncating
// divisions below are exact (|t| < 2^53).

/** Thanos' resolution levels in ms (downsample.ResLevel0/1/2). */
export const ResLevel = {
  /** Raw data. */
  L0: 0,
  /** 5 minutes. */
  L1: 300_000,
  /** 1 hour. */
  L2: 3_600_000,
} as const;
export type ResLevel = (typeof ResLevel)[keyof typeof ResLevel];

/**
 * Minimum block span (maxTime - minTime, ms) before the compactor downsamples a block
 * to the level (downsample.ResLevel1DownsampleRange / ResLevel2DownsampleRange).
 */
export const DownsampleRange = {
  /** Raw blocks spanning at least 40h become 5m blocks. */
  L1: 40 * 60 * 60 * 1000,
  /** 5m blocks spanning at least 10d become 1h blocks. */
  L2: 10 * 24 * 60 * 60 * 1000,
} as const;

/** Raw data is assumed to be scraped every minute when sizing output chunks. */
export const RAW_RESOLUTION_ESTIMATE = 60 * 1000;

/** Samples per output chunk the chunk-count heuristic aims to stay below. */
export const TARGET_SAMPLES_PER_CHUNK = 140;

/**
 * The end timestamp (inclusive) of the window of size r that t falls into:
 * t - t%r + r - 1. Block ranges are [from, to), hence the -1. `%` truncates toward
 * zero in JS as in Go, so negative t behaves as in Thanos.
 */
export function currentWindow(t: number, r: number): number {
  return t - (t % r) + r - 1;
}

/** How fully [mint, maxt] is covered by count samples every step ms, capped at 1. */
function rangeFullness(mint: number, maxt: number, step: number, count: number): number {
  const f = count / ((maxt - mint) / step);
  return f > 1 ? 1 : f; // NaN (0/0) stays NaN, as in Go
}

/**
 * How many chunks to split a series into so that each holds fewer than ~140 samples
 * on average, from its time range, input sample count and the two resolutions
 * (targetChunkCount).
 */
export function targetChunkCount(mint: number, maxt: number, inRes: number, outRes: number, count: number): number {
  const maxSamples = Math.trunc((maxt - mint) / outRes); // Go int64 division
  const exp = maxSamples * rangeFullness(mint, maxt, inRes, count);
  // Go's int(float64): truncation; NaN never occurs here with count > 0 or maxt > mint
  const expSamples = (Number.isFinite(exp) ? Math.trunc(exp) : 0) + 1;
  let x = 1;
  while (Math.trunc(expSamples / x) > TARGET_SAMPLES_PER_CHUNK) x++;
  return x;
}
