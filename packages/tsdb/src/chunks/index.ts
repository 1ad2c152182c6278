export {
  MAGIC_CHUNKS,
  CHUNKS_FORMAT_V1,
  SEGMENT_HEADER_SIZE,
  MAX_CHUNK_LENGTH_FIELD_SIZE,
  DEFAULT_CHUNK_SEGMENT_SIZE,
  chunkSegmentFileName,
  chunkRef,
  chunkRefSegment,
  chunkRefOffset,
  parseChunkRecord,
  checkChunkRecord,
  CHUNK_CRC_SIZE,
  checkSegmentHeader,
} from './chunk-record.js';
export type { ChunkRecord, ParsedChunkRecord } from './chunk-record.js';
export { ChunkWriter } from './chunk-writer.js';
export type { ChunkWriterOptions } from './chunk-writer.js';
export { ChunkReader } from './chunk-reader.js';
export type { ChunkSegment } from './chunk-reader.js';
