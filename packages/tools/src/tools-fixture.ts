// Test helpers for the bucket tools' tests: small blocks written with the tsdb
// SeriesBuilder and uploaded to a bucket (as compact's fixture does), the bucket's
// object listing, and a block's samples (or a downsampled block's aggregates) read
// back with the tsdb Block reader.
//
// This file is not excluded from the tools build (its tsconfig excludes *.test.ts
// only), so it imports nothing but the package's own dependencies: callers pass the
// temporary directories they got from @thanos-ts/testutil.

import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { downloadBlock, uploadBlock } from '@thanos-ts/block';
import type { Bucket } from '@thanos-ts/objstore';
import {
  aggrChunkIterator,
  AggrType,
  ALL_POSTINGS_KEY,
  Block,
  CHUNK_ENC_AGGR,
  labelsFromRecord,
  labelsToString,
  SeriesBuilder,
  SourceType,
  THANOS_VERSION_1,
  ulid,
  ValueType,
  ZERO_TIME,
} from '@thanos-ts/tsdb';
import type { BlockMeta } from '@thanos-ts/tsdb';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** The series putBlock writes unless told otherwise. */
export const DEFAULT_SERIES: readonly Record<string, string>[] = [
  { __name__: 'up', job: 'api', instance: 'i0' },
  { __name__: 'up', job: 'api', instance: 'i1' },
  { __name__: 'up', job: 'db', instance: 'i2' },
];

export interface PutBlockOptions {
  series?: readonly Record<string, string>[];
  stepMs?: number;
  /** thanos.downsample.resolution written in meta.json (the samples stay raw). */
  resolution?: number;
  source?: string;
  /** External labels. */
  labels?: Record<string, string>;
  /** ULID time; now by default. */
  ulidTime?: number;
}

/** The value putBlock writes for series number s at time t: a counter, distinct per series. */
export function sampleValue(s: number, t: number): number {
  return Math.floor(t / MINUTE) + s * 1000;
}

/** Writes a block of samples every stepMs over [mint, maxt) under workDir and uploads it. */
export async function putBlock(bkt: Bucket, workDir: string, mint: number, maxt: number, o: PutBlockOptions = {}): Promise<BlockMeta> {
  const b = new SeriesBuilder();
  const step = o.stepMs ?? MINUTE;
  const series = o.series ?? DEFAULT_SERIES;
  series.forEach((rec, s) => {
    const ls = labelsFromRecord(rec);
    for (let t = mint; t < maxt; t += step) b.append(ls, t, sampleValue(s, t));
  });
  const w = await b.writeBlock(await mkdtemp(join(workDir, 'block-')), {
    mint,
    maxt,
    ulid: ulid(o.ulidTime ?? Date.now()),
    thanos: {
      version: THANOS_VERSION_1,
      labels: o.labels ?? { cluster: 'eu1' },
      downsample: { resolution: o.resolution ?? 0 },
      source: o.source ?? SourceType.Sidecar,
      index_stats: {},
      upload_time: ZERO_TIME,
    },
  });
  if (!w) throw new Error('tools fixture: empty block');
  return uploadBlock(bkt, w.dir);
}

/** Every object name in the bucket, sorted. */
export async function bucketObjects(bkt: Bucket, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  await bkt.iter(prefix, (n) => void out.push(n), { recursive: true });
  return out.sort();
}

/** A block's float samples by series (labels as `{a="b"}`), read with the tsdb Block reader. */
export async function readBlockSamples(dir: string): Promise<Map<string, [number, number][]>> {
  const b = await Block.open(dir);
  try {
    const q = await b.querier(-Infinity, Infinity);
    const out = new Map<string, [number, number][]>();
    for await (const s of q.select({ start: -Infinity, end: Infinity }, [])) {
      const samples: [number, number][] = [];
      const it = s.iterator();
      while (it.next() !== ValueType.None) samples.push([it.atT(), it.atF()]);
      const err = it.err();
      if (err) throw err;
      out.set(labelsToString(s.labels), samples);
    }
    await q.close();
    return out;
  } finally {
    await b.close();
  }
}

/** Downloads a block from the bucket under workDir; returns its directory. */
export async function downloadTo(bkt: Bucket, id: string, workDir: string): Promise<string> {
  const dir = await mkdtemp(join(workDir, 'dl-'));
  await downloadBlock(bkt, id, dir);
  return join(dir, id);
}

/** Per series of a downsampled block: the COUNT and SUM aggregates added up, and the window timestamps. */
export interface SeriesAggregates {
  count: number;
  sum: number;
  windows: number[];
}

/** Reads the aggregate (0xFF) chunks of a downsampled block; throws on any other encoding. */
export async function readBlockAggregates(dir: string): Promise<Map<string, SeriesAggregates>> {
  const b = await Block.open(dir);
  try {
    const out = new Map<string, SeriesAggregates>();
    const p = b.index.postings(ALL_POSTINGS_KEY.name, ALL_POSTINGS_KEY.value);
    while (p.next()) {
      const e = b.index.series(p.at());
      const agg: SeriesAggregates = { count: 0, sum: 0, windows: [] };
      for (const c of e.chunks) {
        const rec = b.readChunk(c.ref);
        if (rec.encoding !== CHUNK_ENC_AGGR) throw new Error(`series ${labelsToString(e.labels)}: chunk encoding ${rec.encoding}, want aggregate`);
        const data = rec.data.slice();
        const count = aggrChunkIterator(data, AggrType.COUNT);
        const sum = aggrChunkIterator(data, AggrType.SUM);
        if (!count || !sum) throw new Error(`series ${labelsToString(e.labels)}: aggregate chunk without count or sum`);
        while (count.next() !== ValueType.None) {
          agg.count += count.atF();
          agg.windows.push(count.atT());
        }
        while (sum.next() !== ValueType.None) agg.sum += sum.atF();
        const err = count.err() ?? sum.err();
        if (err) throw err;
      }
      out.set(labelsToString(e.labels), agg);
    }
    const err = p.err();
    if (err) throw err;
    return out;
  } finally {
    await b.close();
  }
}
