// @thanos-ts/compact: the compactor component. What it runs on a bucket (planning,
// grouping, compaction, downsampling, retention, cleanup, markers) is @thanos-ts/block's,
// shared with the bucket tools.
export { Compactor } from './compact.js';
export type { CompactConfig, IterationResult } from './compact.js';
export { COMPACT_FLAGS, compactConfigFromFlags } from './flags.js';
