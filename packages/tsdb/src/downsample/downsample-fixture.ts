// Test helpers for downsampling: building raw and aggregate chunks from sample lists,
// reading aggregate chunks back, and Thanos' test vectors (testdata/).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AGGR_TYPES,
  aggrChunkIterator,
  aggrTypeName,
  CHUNK_ENC_AGGR,
  EncXOR,
  floatFromBits,
  NORMAL_NAN,
  STALE_NAN,
  ValueType,
  XorChunk,
  type AggrType,
} from '../chunkenc/index.js';
import type { SourceChunk } from './downsample-series.js';
import { encodeAggrChunk } from '../chunkenc/index.js';

/**
 * A sample value as the test vectors spell it: a number, "stale" (StaleNaN), "nan"
 * (NormalNaN) or "bits:<uint64>" (math.Float64frombits). NaN payloads never pass
 * through a JS array: they are made when appended.
 */
export type Val = number | string;
export type Smp = [number, Val];

export function val(v: Val): number {
  if (typeof v === 'number') return v;
  if (v === 'stale') return STALE_NAN;
  if (v === 'nan') return NORMAL_NAN;
  if (v.startsWith('bits:')) {
    const b = BigInt(v.slice(5));
    return floatFromBits(Number(b >> 32n), Number(b & 0xffffffffn));
  }
  throw new Error(`bad test value ${v}`);
}

export function xorOf(samples: readonly Smp[]): XorChunk {
  const c = new XorChunk();
  const app = c.appender();
  for (const [t, v] of samples) app.append(t, val(v));
  return c;
}

/** A raw XOR source chunk; its range is that of its samples, as a head would store it. */
export function rawChunk(samples: readonly Smp[]): SourceChunk {
  return { mint: samples[0][0], maxt: samples[samples.length - 1][0], encoding: EncXOR, data: xorOf(samples).bytes().slice() };
}

export type AggrSamples = Partial<Record<'count' | 'sum' | 'min' | 'max' | 'counter', Smp[]>>;

/**
 * An aggregate source chunk with all five aggregates present (empty XOR chunks for those
 * not given), its range spanning every sample, as Thanos' encodeTestAggrSeries builds.
 */
export function aggrChunk(a: AggrSamples): SourceChunk {
  let mint = Infinity;
  let maxt = -Infinity;
  const parts = AGGR_TYPES.map((t) => {
    const s = a[aggrTypeName(t) as keyof AggrSamples] ?? [];
    for (const [ts] of s) {
      mint = Math.min(mint, ts);
      maxt = Math.max(maxt, ts);
    }
    return xorOf(s);
  });
  return { mint, maxt, encoding: CHUNK_ENC_AGGR, data: encodeAggrChunk(parts) };
}

/** The samples of every present aggregate of aggregate chunk data, by aggregate name. */
export function readAggr(data: Uint8Array): Record<string, [number, number][]> {
  const out: Record<string, [number, number][]> = {};
  for (const t of AGGR_TYPES) {
    const s = aggrSamples(data, t);
    if (s !== null) out[aggrTypeName(t)] = s;
  }
  return out;
}

export function aggrSamples(data: Uint8Array, t: AggrType): [number, number][] | null {
  const it = aggrChunkIterator(data, t);
  if (it === null) return null;
  const s: [number, number][] = [];
  while (it.next() !== ValueType.None) s.push([it.atT(), it.atF()]);
  const e = it.err();
  if (e !== null) throw e;
  return s;
}

/** Numbers for comparison with toEqual (test vectors have plain numbers). */
export function nums(s: readonly Smp[]): [number, number][] {
  return s.map(([t, v]) => [t, val(v)]);
}

export interface ThanosVectors {
  /** realisticChkDataWithStaleMarker: two raw chunks, one stale marker. */
  rawWithStaleMarker: Smp[][];
  /** realisticChkDataWithCounterResetRes5m: its 5m aggregates. */
  res5m: Required<AggrSamples>;
  /** realisticChkDataWithCounterResetsAfterCounterSeriesIterating. */
  counterIterated: Smp[];
  /** The raw series of TestDownsampleAndReadResultingData (many NaNs). */
  readResultingData: Smp[];
}

/** Test vectors extracted from Thanos pkg/compact/downsample/downsample_test.go. */
export function thanosVectors(): ThanosVectors {
  const dir = new URL('.', import.meta.url).pathname;
  return JSON.parse(readFileSync(join(dir, 'testdata', 'thanos-downsample-test.json'), 'utf8')) as ThanosVectors;
}
