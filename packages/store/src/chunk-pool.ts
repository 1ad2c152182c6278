// The chunk pool (Thanos chunkPool with bucketChunkReader.save): chunk bytes a Series call
// returns are copied out of the ranges read from the bucket into slabs taken from a pool
// shared by all calls, so the ranges (gaps included) are garbage at once and only what is
// sent stays in memory. Slabs are given back when the call has written its answer and are
// reused by later calls. --chunk-pool-size bounds the bytes handed out (slabs and the
// ranges being read), as Thanos' pool bounds its total: a call that would exceed it fails
// at once rather than wait, so no set of calls can deadlock on it.

import { LimitExceededError } from '@thanos-ts/runtime';

/** Bytes per pooled slab (Thanos' smallest chunk pool bucket). */
export const SLAB_SIZE = 64 * 1024;
/** Free slabs kept for reuse at most, so an idle gateway does not sit on its peak. */
export const MAX_IDLE_SLAB_BYTES = 32 * 1024 * 1024;

export class ChunkPool {
  private used = 0;
  private readonly free: Uint8Array[] = [];
  private readonly maxIdle: number;

  /** size: --chunk-pool-size in bytes. */
  constructor(readonly size: number) {
    this.maxIdle = Math.min(size, MAX_IDLE_SLAB_BYTES);
  }

  /** Bytes handed out now. */
  get inUse(): number {
    return this.used;
  }

  /** Bytes of free slabs kept for reuse. */
  get idleBytes(): number {
    return this.free.length * SLAB_SIZE;
  }

  /** Reserves n bytes for a transient buffer; returns the function that gives them back (call it once). */
  reserve(n: number): () => void {
    this.take(n);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.used -= n;
    };
  }

  /** A slab of SLAB_SIZE bytes, or of exactly n bytes when n is larger (those are not pooled). */
  getSlab(n: number): Uint8Array {
    const size = n <= SLAB_SIZE ? SLAB_SIZE : n;
    this.take(size);
    if (size === SLAB_SIZE) {
      const s = this.free.pop();
      if (s !== undefined) return s;
    }
    return Buffer.allocUnsafeSlow(size);
  }

  /** Gives a slab from getSlab back; standard ones are kept for reuse while few are idle. */
  putSlab(s: Uint8Array): void {
    this.used -= s.length;
    if (s.length === SLAB_SIZE && (this.free.length + 1) * SLAB_SIZE <= this.maxIdle) this.free.push(s);
  }

  private take(n: number): void {
    if (this.used + n > this.size) {
      throw new LimitExceededError(`chunk pool exhausted: ${n} bytes wanted, ${this.size - this.used} of ${this.size} free (--chunk-pool-size)`);
    }
    this.used += n;
  }
}

/**
 * The slabs of one Series call. Chunk bytes saved here stay valid until release(); the
 * slabs go back to the pool only once no load is running (an abandoned prefetch may still
 * be copying into them), and a load that starts after release fails instead of writing
 * into memory another call may own.
 */
const EMPTY = new Uint8Array(0);

export class ChunkSlabs {
  private readonly slabs: Uint8Array[] = [];
  private cur: Uint8Array | null = null;
  private at = 0;
  private loads = 0;
  private released = false;
  private returned = false;

  constructor(private readonly pool: ChunkPool) {}

  /** Bytes of slabs held. */
  get bytes(): number {
    let n = 0;
    for (const s of this.slabs) n += s.length;
    return n;
  }

  /** Marks a load as running; pair with endLoad. */
  beginLoad(): void {
    if (this.released) throw new Error('load chunks: the Series call has finished');
    this.loads++;
  }

  endLoad(): void {
    this.loads--;
    this.giveBack();
  }

  /** The slab of the last alloc or copy. */
  slab: Uint8Array = EMPTY;

  /**
   * Room for n bytes: the offset to write them at in `slab`. The bytes must be written
   * before the next call (records are copied synchronously, so calls cannot interleave).
   */
  alloc(n: number): number {
    if (this.released) throw new Error('load chunks: the Series call has finished');
    if (this.cur === null || this.cur.length - this.at < n) {
      const s = this.pool.getSlab(n);
      this.slabs.push(s);
      // A dedicated slab for a large record leaves the current one open for small ones.
      if (s.length > SLAB_SIZE && this.cur !== null) {
        this.slab = s;
        return 0;
      }
      this.cur = s;
      this.at = 0;
    }
    const off = this.at;
    this.at += n;
    this.slab = this.cur;
    return off;
  }

  /** Copies src[from, to) into a slab: the offset of the copy in `slab`. */
  copy(src: Uint8Array, from: number, to: number): number {
    const off = this.alloc(to - from);
    // A short-lived view and set() copy faster than a byte loop, even for 40 bytes.
    this.slab.set(src.subarray(from, to), off);
    return off;
  }

  /** Copies src into a slab and returns the copy. */
  save(src: Uint8Array): Uint8Array {
    const off = this.copy(src, 0, src.length);
    return this.slab.subarray(off, off + src.length);
  }

  /** Ends the call's use of its slabs; they return to the pool when no load is running. */
  release(): void {
    this.released = true;
    this.giveBack();
  }

  private giveBack(): void {
    if (!this.released || this.loads > 0 || this.returned) return;
    this.returned = true;
    for (const s of this.slabs.splice(0)) this.pool.putSlab(s);
    this.cur = null;
    this.slab = EMPTY;
  }
}
