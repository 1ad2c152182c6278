export {
  Encoding,
  EncNone,
  EncXOR,
  EncHistogram,
  EncFloatHistogram,
  encodingName,
  ValueType,
  MAX_SAMPLES_PER_CHUNK,
  MAX_BYTES_PER_XOR_CHUNK,
  UnsupportedChunkEncodingError,
  ErrorIterator,
} from './chunk.js';
export type { Chunk, ChunkIterator, FloatSampleArrays, FloatSampleReader } from './chunk.js';
export { chunkFromBytes } from './chunk-from-bytes.js';
export { XorChunk, XorAppender, XorIterator, BufferedXorIterator, decodeXorInto, XorDecodeResult } from './xor.js';
export { BitReader, BitWriter } from './bstream.js';
export { STALE_NAN, NORMAL_NAN, isStaleNaN, floatFromBits, floatHiBits, floatLoBits } from './float-bits.js';
export {
  CHUNK_ENC_AGGR,
  AggrType,
  AGGR_COUNT,
  AGGR_TYPES,
  aggrTypeName,
  encodeAggrChunk,
  decodeAggrChunk,
  getAggrPart,
  aggrChunkIterator,
  AggrChunk,
} from './aggr.js';
export type { AggrPart, AggrParts, AggrPartInput } from './aggr.js';
