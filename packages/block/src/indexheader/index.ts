// Thanos index-header: build it from a block's index in the bucket, and read it.
export { writeIndexHeader } from './write-index-header.js';
export type { WriteIndexHeaderOptions, WriteIndexHeaderResult } from './write-index-header.js';
export { IndexHeaderReader } from './index-header-reader.js';
export type { IndexHeaderReaderOptions } from './index-header-reader.js';
export {
  INDEX_HEADER_FILENAME,
  MAGIC_INDEX_HEADER,
  BINARY_FORMAT_V1,
  DEFAULT_POSTING_OFFSETS_IN_MEM_SAMPLING,
} from './format.js';
export type { PostingsRange } from './format.js';
