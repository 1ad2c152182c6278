// The compactor's calls into the tsdb library's block compaction, behind one function
// type so tests (and the bucket tools) can run groups against small fakes.

import { compactBlocks, seriesMergeFuncFor } from '@thanos-ts/tsdb';
import type { BlockMeta, CompactOptions, VerticalMergeFunc } from '@thanos-ts/tsdb';

export type { VerticalMergeFunc };

export type LocalCompactOptions = Pick<CompactOptions, 'verticalMerge' | 'signal' | 'thanos' | 'logger'>;

/**
 * Merges the blocks in `inputDirs` into one new block under `destDir/<ULID>`; returns
 * its meta (compaction level, sources and parents set), or null when the result holds
 * no series.
 */
export type LocalCompactFn = (inputDirs: string[], destDir: string, opts: LocalCompactOptions) => Promise<BlockMeta | null>;

/** The tsdb library's block compaction (Prometheus LeveledCompactor.Compact). */
export const tsdbCompact: LocalCompactFn = (inputDirs, destDir, opts) => compactBlocks(inputDirs, destDir, opts);

/**
 * The vertical merge for --deduplication.func: "penalty" is the query's penalty
 * dedup applied offline (for Prometheus HA pairs); "" the one-to-one chain merge
 * (identical samples deduplicated, as receive replicas hold).
 */
export function verticalMergeFor(dedupFunc: string): VerticalMergeFunc {
  return seriesMergeFuncFor(dedupFunc);
}
