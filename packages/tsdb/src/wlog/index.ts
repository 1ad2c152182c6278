// The write-ahead log, byte-compatible with Prometheus 2.42 (tsdb/wlog). Records are the
// payloads of ../record.
//
// How a head uses it:
//
//   // 1. replay: last checkpoint, then the segments after it
//   try {
//     for await (const rec of readRecords(walDir)) apply(rec);      // decode with recordType()
//   } catch (err) {
//     if (!isWalCorruption(err) || err.dir !== walDir) throw err;   // damaged checkpoint: fatal
//     // every record yielded before the error is whole; cut the log there and go on
//     const r = await repair(walDir);                              // logs segment and offset
//   }
//   // 2. write: a new segment after the last one
//   const wal = await WL.open(walDir, { segmentSize, compress, sync: 'always' | 'none' | { intervalMs } });
//   await wal.log(encodeSeries(newSeries), encodeSamples(samples));  // one write per call
//   // 3. truncate, when a block is cut and series before mint are gone:
//   const { first, last } = await wal.segments();
//   const to = (await wal.nextSegment()) - 1;  // or a lower segment, as Prometheus picks 2/3 of them
//   await checkpoint(walDir, first, to, (ref) => head.hasSeries(ref), mint);
//   await wal.truncate(to + 1);
//   await deleteCheckpoints(walDir, to);
//
// Interface (shapes the head relies on):
//   class WL {
//     static open(dir, opts?: { segmentSize?, compress?, sync?, logger? }): Promise<WL>
//     log(...records: Uint8Array[]): Promise<void>     // whole records, in order
//     sync(): Promise<void>
//     nextSegment(): Promise<number>                   // index of the new active segment
//     segments(): Promise<{ first: number; last: number }>   // -1, -1 when none
//     truncate(beforeSegment: number): Promise<void>   // removes segments < beforeSegment
//     close(): Promise<void>
//     readonly dir: string
//   }
//   readRecords(dir, from?, to?): AsyncIterable<Uint8Array>     // replay order, repairs nothing
//   repair(dir): Promise<{ repaired, segment?, offset?, reason?, deletedSegments? }>
//   checkpoint(dir, from, to, keep, mint, opts?): Promise<{ dir, index, stats }>
//   lastCheckpoint(dir): Promise<{ dir, index } | null>
//
// Prometheus replays a WAL whose first segment is not 0 only if a checkpoint covers the
// segments before it: truncate only after a checkpoint.

export { WL } from './wlog.js';
export type { WLOptions, WLSyncPolicy } from './wlog.js';
export { readRecords, readSegment, WalCorruptionError, isWalCorruption } from './reader.js';
export { repair } from './repair.js';
export type { RepairResult } from './repair.js';
export { checkpoint } from './checkpoint.js';
export type { CheckpointStats, CheckpointOptions } from './checkpoint.js';
export { lastCheckpoint, listCheckpoints, deleteCheckpoints, checkpointDir } from './checkpoint-dir.js';
export type { CheckpointRef } from './checkpoint-dir.js';
export {
  listSegments,
  segmentName,
  segmentRange,
  WAL_PAGE_SIZE,
  WAL_DEFAULT_SEGMENT_SIZE,
  WAL_RECORD_HEADER_SIZE,
} from './segments.js';
export type { SegmentRef } from './segments.js';
