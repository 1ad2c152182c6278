import { ValueType, isStaleNaN } from '../chunkenc/index.js';
import type { ChunkIterator } from '../chunkenc/index.js';

/**
 * A growable list of float samples in two parallel typed arrays, reused across series
 * so that expanding chunks allocates nothing per sample. Values stay in a
 * Float64Array, which keeps NaN payloads intact.
 */
export class SampleBuffer {
  t: Float64Array;
  v: Float64Array;
  length = 0;

  constructor(capacity = 256) {
    this.t = new Float64Array(capacity);
    this.v = new Float64Array(capacity);
  }

  clear(): void {
    this.length = 0;
  }

  push(t: number, v: number): void {
    if (this.length === this.t.length) this.grow();
    this.t[this.length] = t;
    this.v[this.length] = v;
    this.length++;
  }

  private grow(): void {
    const cap = this.t.length * 2 || 256;
    const t = new Float64Array(cap);
    const v = new Float64Array(cap);
    t.set(this.t);
    v.set(this.v);
    this.t = t;
    this.v = v;
  }
}

/**
 * Appends the float samples of `it` to buf, dropping stale markers and samples that go
 * back in time (expandXorChunkIterator). As in Thanos the time check starts at 0 for
 * every call, so samples with negative timestamps are dropped too; equal timestamps
 * are kept (counter chunks repeat their last one).
 * @throws the iterator's error
 */
export function appendSamples(it: ChunkIterator, buf: SampleBuffer): void {
  let lastT = 0;
  while (it.next() !== ValueType.None) {
    const v = it.atF();
    if (isStaleNaN(v)) continue;
    const t = it.atT();
    if (t >= lastT) {
      buf.push(t, v);
      lastT = t;
    }
  }
  const e = it.err();
  if (e !== null) throw e;
}
