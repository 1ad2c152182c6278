export { SnappyError, snappyCompress, snappyDecompress, snappyDecodedLength, snappyMaxEncodedLength } from './snappy.js';
