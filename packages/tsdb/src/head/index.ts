// The head, its appender and queriers, and the DB of a head plus blocks
// (Prometheus tsdb/head*.go and tsdb/db.go).
export { Head } from './head.js';
export { hashLabels, hashLabelBytes, utf8Equals, LABELS_HASH_INIT } from './label-hash.js';
export type {
  HeadOptions,
  HeadWal,
  WalRecord,
  WalSeries,
  WalSample,
  WalTombstone,
  ReplayStats,
  HeadCounters,
  PersistBlockOptions,
  PersistedBlock,
} from './head.js';
export type { Appender } from './appender.js';
export { OutOfBoundsError, TooOldSampleError, InvalidSampleError } from './errors.js';
export { HeadQuerier, HeadChunkQuerier, HeadSeries, HeadSeriesIterator } from './querier.js';
export { MemPostings } from './mem-postings.js';
export { rangeForTimestamp, computeChunkEndTime } from './mem-series.js';
export { mergeChunkQueriers, mergeChunkSeriesSets } from './merge-chunks.js';
export { DB } from './db.js';
export type { DBOptions } from './db.js';
export type { DBWalOptions, WalReplayResult } from './wal-adapter.js';
export type { HeadWbl, OOOReplayStats } from './head.js';
export { OUT_OF_ORDER_HINT, isOutOfOrderBlock, persistOOOBlocks } from './ooo-compact.js';
export type { OOOCompaction } from './ooo-compact.js';
export { DEFAULT_OUT_OF_ORDER_CAP_MAX } from './ooo-series.js';
export { WBL_DIR_NAME } from './wbl-adapter.js';
export type { WblReplayResult } from './wbl-adapter.js';
