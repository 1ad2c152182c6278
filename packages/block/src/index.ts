export { uploadBlock, INDEX_FILENAME, CHUNKS_DIRNAME } from './upload.js';
export type { UploadOptions, HashFunc } from './upload.js';
export { downloadBlock } from './download.js';
export { markForDeletion, deleteBlock } from './delete.js';
export { MetaFetcher, listBlockIds, timePartitionFilter, labelFilter, IgnoreDeletionMarkFilter } from './fetcher.js';
export type { FetchResult, MetaFilter, MetaFetcherOptions } from './fetcher.js';
export { Shipper, readShipperMeta, writeShipperMeta, SHIPPER_META_FILENAME } from './shipper.js';
export type { ShipperMeta, ShipperOptions } from './shipper.js';
