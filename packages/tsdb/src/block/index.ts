export { BlockWriter, TMP_FOR_CREATION_SUFFIX } from './writer.js';
export type { BlockWriterOptions, BlockWriterStats, WrittenBlockMeta } from './writer.js';
export { SeriesBuilder, DEFAULT_BLOCK_DURATION } from './head-builder.js';
export type { SeriesBuilderOptions, SeriesBuilderStats, WriteBlockOptions, WriteBlocksOptions, WrittenBlock } from './head-builder.js';
export {
  Block,
  BlockQuerier,
  BlockChunkQuerier,
  BlockSeries,
  BlockSeriesIterator,
  BlockChunkSeries,
  BlocksQueryable,
  openBlocks,
} from './block.js';
