// @thanos-ts/tsdb: Prometheus TSDB blocks, read and written to the byte.
// One sub-directory per concern, as Prometheus' tsdb/ packages; each has its own face.
export * from './encoding/index.js';
export * from './labels/index.js';
export { goQuote, parseGoFloat, parseExpandTemplate } from './strconv/index.js';
export type { ExpandPiece } from './strconv/index.js';
export * from './matchers/index.js';
export * from './relabel/index.js';
export * from './chunkenc/index.js';
export * from './chunks/index.js';
export * from './index/index.js';
export * from './postings/index.js';
export * from './tombstones/index.js';
export * from './block-meta/index.js';
export * from './ulid/index.js';
export * from './textparse/index.js';
export * from './storage/index.js';
export * from './dedup/index.js';
export * from './block/index.js';
export * from './downsample/index.js';
export * from './compact/index.js';
export * from './snappy/index.js';
// As a namespace, like Go's package name: record.encodeSeries, record.RecordType.Samples
// (index and tombstones already export decodeSeries and encode/decodeTombstones).
export * as record from './record/index.js';
export * from './wlog/index.js';
export * from './head/index.js';
