// Gap-based range partitioning (Thanos gapBasedPartitioner): byte ranges wanted from one
// object are merged into fewer, larger ranged reads when the gap between them is small,
// trading a little over-read for far fewer round trips to the bucket.

/** Default largest gap bridged by one read, as Thanos' PartitionerMaxGapSize. */
export const MAX_GAP_BYTES = 512 * 1024;

/** A merged read [start, end) and the indices of the ranges it covers. */
export interface Part {
  start: number;
  end: number;
  /** First and one-past-last index into the (sorted) input ranges. */
  from: number;
  to: number;
}

/**
 * Partitions ranges sorted by start into reads: a range joins the current read when it
 * starts at most `maxGap` bytes after the read's end and the read stays within `maxRead`
 * bytes (a range longer than that is a read of its own). `starts`/`ends` are parallel.
 */
export function partitionRanges(starts: ArrayLike<number>, ends: ArrayLike<number>, maxGap = MAX_GAP_BYTES, maxRead = Infinity): Part[] {
  const parts: Part[] = [];
  const n = starts.length;
  let i = 0;
  while (i < n) {
    const p: Part = { start: starts[i], end: ends[i], from: i, to: i + 1 };
    i++;
    while (i < n && starts[i] <= p.end + maxGap && Math.max(ends[i], p.end) - p.start <= maxRead) {
      if (ends[i] > p.end) p.end = ends[i];
      i++;
    }
    p.to = i;
    parts.push(p);
  }
  return parts;
}
