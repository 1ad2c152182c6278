// The snappy block codec lives in @thanos-ts/tsdb (the WAL needs it for compressed
// records, and tsdb sits below storeapi); re-exported here for existing importers.
export { SnappyError, snappyCompress, snappyDecompress, snappyDecodedLength, snappyMaxEncodedLength } from '@thanos-ts/tsdb';
