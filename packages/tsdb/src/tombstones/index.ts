export {
  TOMBSTONES_FILENAME,
  MAGIC_TOMBSTONE,
  TOMBSTONE_FORMAT_V1,
  isDeleted,
  addInterval,
  MemTombstones,
  decodeTombstones,
  readTombstones,
  encodeTombstones,
  writeTombstones,
} from './tombstones.js';
export type { Interval, Intervals, TombstoneReader } from './tombstones.js';
