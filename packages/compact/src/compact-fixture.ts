// Test helpers: small blocks written with the tsdb SeriesBuilder and uploaded to a
// bucket with external labels, and a compactor config for tests.

import { Writable } from 'node:stream';
import type { Bucket } from '@thanos-ts/objstore';
import { createLogger } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { labelsFromRecord, SeriesBuilder, SourceType, THANOS_VERSION_1, ulid, ZERO_TIME } from '@thanos-ts/tsdb';
import type { BlockMeta } from '@thanos-ts/tsdb';
import { tempDir } from '@thanos-ts/testutil';
import type { CompactConfig } from './compact.js';
import { DEFAULT_COMPACTION_RANGES, uploadBlock } from '@thanos-ts/block';

export const HOUR = 3_600_000;
export const T0 = Date.UTC(2024, 0, 1);

export interface PutBlockOptions {
  series?: number;
  stepMs?: number;
  /** Offset of sample timestamps from the step grid (replicas scrape at other times). */
  phaseMs?: number;
  resolution?: number;
  source?: string;
  /** ULID time; now by default. */
  ulidTime?: number;
}

/** Writes a block of `series` counters over [mint, maxt) and uploads it with the labels. */
export async function putBlock(bkt: Bucket, ext: Record<string, string>, mint: number, maxt: number, o: PutBlockOptions = {}): Promise<BlockMeta> {
  const b = new SeriesBuilder();
  const step = o.stepMs ?? 60_000;
  for (let s = 0; s < (o.series ?? 3); s++) {
    const ls = labelsFromRecord({ __name__: 'demo_total', instance: `i${s}` });
    for (let t = mint + (o.phaseMs ?? 0); t < maxt; t += step) b.append(ls, t, (t - T0) / 1000 + s);
  }
  const dir = await tempDir('cf-block');
  const id = ulid(o.ulidTime ?? Date.now());
  const w = await b.writeBlock(dir, {
    mint,
    maxt,
    ulid: id,
    thanos: { version: THANOS_VERSION_1, labels: ext, downsample: { resolution: o.resolution ?? 0 }, source: o.source ?? SourceType.Sidecar, index_stats: {}, upload_time: ZERO_TIME },
  });
  if (!w) throw new Error('fixture: empty block');
  return uploadBlock(bkt, w.dir);
}

/** A logger whose lines (JSON) are kept in `lines`. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ format: 'json', level: 'debug', destination }), lines };
}

export async function testConfig(bkt: Bucket, logger: Logger, over: Partial<CompactConfig> = {}): Promise<CompactConfig> {
  return {
    bkt,
    logger,
    httpAddress: '127.0.0.1:0',
    webRoutePrefix: '',
    dataDir: await tempDir('cf-data'),
    wait: false,
    waitIntervalMs: 1000,
    retention: { raw: 0, fiveMinutes: 0, oneHour: 0 },
    downsamplingDisabled: true,
    consistencyDelayMs: 0,
    deleteDelayMs: 0,
    cleanupIntervalMs: 0,
    compactConcurrency: 1,
    downsampleConcurrency: 1,
    metaFetchConcurrency: 4,
    verticalCompaction: false,
    replicaLabels: [],
    dedupFunc: '',
    relabelFilter: null,
    minTime: -8.64e15,
    maxTime: 8.64e15,
    maxIndexSizeBytes: 64 * 1024 ** 3,
    hashFunc: '',
    haltOnError: true,
    ranges: DEFAULT_COMPACTION_RANGES,
    ...over,
  };
}
