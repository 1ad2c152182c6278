// Helpers for this package's tests: samples from iterators and as XOR chunks.

import { StoreChunkEncoding } from '@thanos-ts/storeapi';
import type { AggrChunk } from '@thanos-ts/storeapi';
import { ValueType, XorChunk } from '@thanos-ts/tsdb';
import type { SeriesIterator } from '@thanos-ts/tsdb';

/** A [t, v] sample. */
export type Sample = readonly [number, number];

/** All samples from the iterator's current position on (next() first). */
export function expand(it: SeriesIterator): [number, number][] {
  const out: [number, number][] = [];
  while (it.next() !== ValueType.None) out.push([it.atT(), it.atF()]);
  const err = it.err();
  if (err) throw err;
  return out;
}

/** All samples from `t` on, starting with seek(t) as the PromQL engine does. */
export function expandFrom(it: SeriesIterator, t: number): [number, number][] {
  const out: [number, number][] = [];
  for (let vt = it.seek(t); vt !== ValueType.None; vt = it.next()) out.push([it.atT(), it.atF()]);
  const err = it.err();
  if (err) throw err;
  return out;
}

/** The samples as one raw XOR AggrChunk. */
export function xorChunk(samples: readonly Sample[]): AggrChunk {
  const c = new XorChunk();
  const app = c.appender();
  for (const [t, v] of samples) app.append(t, v);
  c.compact();
  return { minTime: samples[0][0], maxTime: samples[samples.length - 1][0], raw: { type: StoreChunkEncoding.XOR, data: c.bytes() } };
}

/** The samples cut into raw XOR chunks of at most `perChunk` samples. */
export function xorChunks(samples: readonly Sample[], perChunk = 120): AggrChunk[] {
  const out: AggrChunk[] = [];
  for (let i = 0; i < samples.length; i += perChunk) out.push(xorChunk(samples.slice(i, i + perChunk)));
  return out;
}

/** Samples every `stepMs` from t0 to t1 (inclusive) with values from `value(t)`. */
export function samplesEvery(t0: number, t1: number, stepMs: number, value: (t: number) => number): Sample[] {
  const out: Sample[] = [];
  for (let t = t0; t <= t1; t += stepMs) out.push([t, value(t)]);
  return out;
}
