export type { TOC, ChunkMeta, SeriesEntry, SymbolTable } from './format.js';
export {
  MAGIC_INDEX,
  FORMAT_V2,
  HEADER_LEN,
  TOC_LEN,
  SERIES_ALIGN,
  readHeader,
  readTOC,
  readSection,
  readSymbolTable,
  symbolAt,
  readPostingsOffsetTable,
  readPostingsList,
  decodeSeries,
  decodeSeriesForTime,
  ChunkMetaBuffer,
  verifySeriesEntry,
} from './format.js';
export { IndexWriter } from './writer.js';
export { IndexReader } from './reader.js';
