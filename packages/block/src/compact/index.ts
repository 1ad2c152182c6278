// Compaction of blocks in a bucket (Thanos pkg/compact): syncing metas, grouping blocks
// by stream, planning, compacting a group with tsdb's compactor, downsampling,
// retention, cleanup and markers. The compactor component runs it all; the bucket tools
// run single steps.
export { DEFAULT_COMPACTION_RANGES, planCompaction, selectOverlappingMetas } from './planner.js';
export { Group, groupBlocks, groupKey, HaltError } from './group.js';
export type { GroupOptions, GroupCompactResult } from './group.js';
export { BucketCompactor } from './bucket-compactor.js';
export type { BucketCompactorOptions, CompactPassResult } from './bucket-compactor.js';
export { Syncer } from './syncer.js';
export type { SyncerOptions } from './syncer.js';
export { DeduplicateFilter, findDuplicates, replicaLabelRemover, GatherNoCompactMarkFilter, GatherNoDownsampleMarkFilter } from './filters.js';
export { downsampleBucket, downsampleTodo } from './downsample.js';
export type { DownsampleBucketOptions, DownsampleTodo } from './downsample.js';
export { applyRetention, retentionTodo } from './retention.js';
export type { RetentionByResolution } from './retention.js';
export { cleanBucket } from './clean.js';
export type { CleanOptions, CleanResult } from './clean.js';
export { markForNoCompact, markForNoDownsample } from './marks.js';
export { CompactMetrics, resolutionLabel } from './metrics.js';
export { tsdbCompact, verticalMergeFor } from './tsdb-compactor.js';
export type { LocalCompactFn, LocalCompactOptions, VerticalMergeFunc } from './tsdb-compactor.js';
