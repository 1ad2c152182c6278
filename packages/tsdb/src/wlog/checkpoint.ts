// Checkpoints (Prometheus wlog.Checkpoint): the records of segments [from, to], plus the
// previous checkpoint's, compacted into `checkpoint.<to>` — a write log of its own, so
// replay reads it like the WAL. Kept: series for which keep(ref) holds, samples, histogram
// samples, exemplars and tombstones at or after mint, and the latest metadata of kept
// series; mmap markers and unknown records are dropped, as Prometheus drops them.
//
// It is written to `checkpoint.<to>.tmp` and renamed into place once complete and synced,
// so a crash leaves the old checkpoint or the new one, never a part. The caller then
// truncates the WAL before to+1 and deletes older checkpoints (deleteCheckpoints), as the
// head does after a checkpoint.

import { rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '@thanos-ts/runtime';
import { syncDir } from '@thanos-ts/runtime';
import {
  decodeExemplars,
  decodeFloatHistogramSamples,
  decodeHistogramSamples,
  decodeMetadata,
  decodeSamples,
  decodeSeries,
  decodeTombstones,
  encodeExemplars,
  encodeFloatHistogramSamples,
  encodeHistogramSamples,
  encodeMetadata,
  encodeSamples,
  encodeSeries,
  encodeTombstones,
  RecordType,
  recordType,
} from '../record/record.js';
import type { RefMetadata } from '../record/record.js';
import { checkpointDir, lastCheckpoint } from './checkpoint-dir.js';
import { listSegments } from './segments.js';
import { readSegment } from './reader.js';
import { WL } from './wlog.js';

export interface CheckpointStats {
  droppedSeries: number;
  droppedSamples: number;
  droppedTombstones: number;
  droppedExemplars: number;
  droppedMetadata: number;
  totalSeries: number;
  totalSamples: number;
  totalTombstones: number;
  totalExemplars: number;
  totalMetadata: number;
}

export interface CheckpointOptions {
  /** Snappy-compress the checkpoint's records (use the WAL's setting). */
  compress?: boolean;
  logger?: Logger;
}

/** Records are handed to the checkpoint's log in batches of about this many bytes. */
const FLUSH_BYTES = 1024 * 1024;

/**
 * Writes `checkpoint.<to>` in the WAL directory dir from the last checkpoint (if any) and
 * segments [from, to]. Segments before the last checkpoint are skipped.
 * @throws Error `unexpected gap to last checkpoint` when from is past the segment after it
 * @throws WalCorruptionError when a record in range is damaged (no checkpoint is written:
 *   the head could not know which series were lost)
 */
export async function checkpoint(
  dir: string,
  from: number,
  to: number,
  keep: (ref: number) => boolean,
  mint: number,
  opts: CheckpointOptions = {},
): Promise<{ dir: string; index: number; stats: CheckpointStats }> {
  opts.logger?.info({ from, to, mint }, 'wal: creating checkpoint');
  const stats: CheckpointStats = {
    droppedSeries: 0,
    droppedSamples: 0,
    droppedTombstones: 0,
    droppedExemplars: 0,
    droppedMetadata: 0,
    totalSeries: 0,
    totalSamples: 0,
    totalTombstones: 0,
    totalExemplars: 0,
    totalMetadata: 0,
  };

  const sources: { dir: string; index: number }[] = [];
  const prev = await lastCheckpoint(dir);
  if (prev !== null) {
    if (from > prev.index + 1) throw new Error(`checkpoint: unexpected gap to last checkpoint: expected ${prev.index + 1}, requested ${from}`);
    from = prev.index + 1;
    for (const s of await listSegments(prev.dir)) sources.push({ dir: prev.dir, index: s.index });
  }
  for (const s of await listSegments(dir)) {
    if (s.index >= from && s.index <= to) sources.push({ dir, index: s.index });
  }

  const cpdir = checkpointDir(dir, to);
  const tmp = `${cpdir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  const cp = await WL.open(tmp, { compress: opts.compress ?? false });
  let done = false;
  try {
    let batch: Uint8Array[] = [];
    let batchBytes = 0;
    const add = async (rec: Uint8Array): Promise<void> => {
      batch.push(rec);
      batchBytes += rec.length;
      if (batchBytes > FLUSH_BYTES) {
        await cp.log(...batch);
        batch = [];
        batchBytes = 0;
      }
    };
    const latestMetadata = new Map<number, RefMetadata>();

    for (const src of sources) {
      for await (const rec of readSegment(src.dir, src.index)) {
        switch (recordType(rec)) {
          case RecordType.Series: {
            const series = decodeSeries(rec);
            const kept = series.filter((s) => keep(s.ref));
            stats.totalSeries += series.length;
            stats.droppedSeries += series.length - kept.length;
            if (kept.length > 0) await add(encodeSeries(kept));
            break;
          }
          case RecordType.Samples: {
            const samples = decodeSamples(rec);
            const kept = samples.filter((s) => s.t >= mint);
            stats.totalSamples += samples.length;
            stats.droppedSamples += samples.length - kept.length;
            if (kept.length > 0) await add(encodeSamples(kept));
            break;
          }
          case RecordType.HistogramSamples: {
            const samples = decodeHistogramSamples(rec);
            const kept = samples.filter((s) => s.t >= mint);
            stats.totalSamples += samples.length;
            stats.droppedSamples += samples.length - kept.length;
            if (kept.length > 0) await add(encodeHistogramSamples(kept));
            break;
          }
          case RecordType.FloatHistogramSamples: {
            const samples = decodeFloatHistogramSamples(rec);
            const kept = samples.filter((s) => s.t >= mint);
            stats.totalSamples += samples.length;
            stats.droppedSamples += samples.length - kept.length;
            if (kept.length > 0) await add(encodeFloatHistogramSamples(kept));
            break;
          }
          case RecordType.Tombstones: {
            const stones = decodeTombstones(rec);
            const kept = stones.filter((s) => s.intervals.some((iv) => iv.maxt >= mint));
            stats.totalTombstones += stones.length;
            stats.droppedTombstones += stones.length - kept.length;
            if (kept.length > 0) await add(encodeTombstones(kept));
            break;
          }
          case RecordType.Exemplars: {
            const exemplars = decodeExemplars(rec);
            const kept = exemplars.filter((e) => e.t >= mint);
            stats.totalExemplars += exemplars.length;
            stats.droppedExemplars += exemplars.length - kept.length;
            if (kept.length > 0) await add(encodeExemplars(kept));
            break;
          }
          case RecordType.Metadata: {
            const metadata = decodeMetadata(rec);
            let kept = 0;
            for (const m of metadata) {
              if (!keep(m.ref)) continue;
              if (!latestMetadata.has(m.ref)) kept++;
              latestMetadata.set(m.ref, m);
            }
            stats.totalMetadata += metadata.length;
            stats.droppedMetadata += metadata.length - kept;
            break;
          }
          default:
            // Mmap markers, and record types from newer Prometheus versions.
            break;
        }
      }
    }
    if (batch.length > 0) await cp.log(...batch);
    if (latestMetadata.size > 0) await cp.log(encodeMetadata([...latestMetadata.values()]));
    await cp.close();
    await syncDir(tmp);
    // Replace any checkpoint.<to> left by an earlier attempt, as fileutil.Replace does.
    if (await exists(cpdir)) await rm(cpdir, { recursive: true, force: true });
    await rename(tmp, cpdir);
    await syncDir(dirname(cpdir));
    done = true;
  } finally {
    if (!done) {
      await cp.close().catch(() => {});
      await rm(tmp, { recursive: true, force: true });
    }
  }
  return { dir: cpdir, index: to, stats };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
