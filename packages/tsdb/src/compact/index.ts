// Compaction: merging blocks into one (Prometheus tsdb/compact.go LeveledCompactor,
// storage/merge.go's compacting chunk merge) and planning what to merge next.
export { compactBlocks, compactBlockMetas } from './compactor.js';
export type { CompactOptions, CompactLogger } from './compactor.js';
export type { VerticalMergeFunc } from './series-merge.js';
export { planCompaction, splitByRange } from './planner.js';
export type { PlanOptions } from './planner.js';
