// Thanos index-header, BinaryFormatV1 (pkg/block/indexheader/binary_reader.go): the
// parts of a block's index a store gateway keeps on local disk, so that it can answer
// label and postings lookups without downloading the index.
//
//   0   magic 0xBAAAD792 <4b> ‖ version 1 <1b> ‖ index version <1b>
//   6   lastPostingEnd <8b>        the index's TOC.postings_offset_table
//   14  symbols                    raw copy of index[TOC.symbols, TOC.series): the symbol
//                                  table section (len ‖ #symbols ‖ symbols ‖ CRC) and the
//                                  padding up to the series
//   ..  postings offset table      raw copy of index[TOC.postings_offset_table, EOF): the
//                                  section (len ‖ #entries ‖ entries ‖ CRC), any padding,
//                                  and the index's own 52-byte TOC
//   end TOC                        symbols offset <8b> ‖ postings offset table offset <8b> ‖
//                                  CRC32C of those 16 bytes <4b>
//
// Integers are big-endian. Offsets inside the copied postings offset table (and, for v1
// indexes, symbol references) still point into the original index file.

/** Name of the file inside `<data-dir>/<ULID>/` (Thanos block.IndexHeaderFilename). */
export const INDEX_HEADER_FILENAME = 'index-header';

/** First 4 bytes of an index-header file. */
export const MAGIC_INDEX_HEADER = 0xbaaad792;

/** The only index-header format there is. */
export const BINARY_FORMAT_V1 = 1;

/** magic ‖ version ‖ index version ‖ lastPostingEnd */
export const INDEX_HEADER_HEADER_LEN = 4 + 1 + 1 + 8;

/** symbols offset ‖ postings offset table offset ‖ CRC32C */
export const INDEX_HEADER_TOC_LEN = 8 + 8 + 4;

/** Thanos' default `--store.index-header-posting-offsets-in-mem-sampling`. */
export const DEFAULT_POSTING_OFFSETS_IN_MEM_SAMPLING = 32;

/**
 * A byte range [start, end) in the original index file: one complete postings list
 * section, from its 4-byte length through its CRC32C.
 */
export interface PostingsRange {
  start: number;
  end: number;
}

/** Index file versions an index-header can be built from (Thanos accepts no other). */
export const INDEX_VERSION_V1 = 1;
export const INDEX_VERSION_V2 = 2;
