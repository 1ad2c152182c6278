// Point buffers for one query. A query builds thousands of series, most of them small
// (instant queries: one point each); giving each its own pair of Float64Arrays costs an
// ArrayBuffer allocation (zeroing, GC bookkeeping) apiece. Small buffers are therefore
// carved out of shared slabs; large ones are allocated directly, at their final size
// when it is known. Series grow by doubling, up to the bound the caller gives (a series
// of a range evaluation never has more points than there are steps left).
//
// Slabs start small and double up to SLAB: a query of one series (the common instant
// query) should not zero two 256 KiB slabs it uses 8 bytes of.

import { FloatPoints } from '../value.js';

const SLAB = 1 << 15;
const SMALL = SLAB >> 4;
const FIRST_SLAB = 1 << 8;

export class PointsArena {
  private t = new Float64Array(0);
  private f = new Float64Array(0);
  private used = 0;
  /** Points in the next slab. */
  private nextSlab = FIRST_SLAB;

  /** Points the buffers for cap points (no tuple: this runs for every series of a query). */
  take(p: FloatPoints, cap: number): void {
    if (cap > SMALL) {
      p.t = new Float64Array(cap);
      p.f = new Float64Array(cap);
      return;
    }
    if (this.used + cap > this.t.length) {
      let size = this.nextSlab;
      while (size < cap) size *= 2;
      this.nextSlab = Math.min(SLAB, size * 2);
      this.t = new Float64Array(size);
      this.f = new Float64Array(size);
      this.used = 0;
    }
    const from = this.used;
    this.used += cap;
    p.t = this.t.subarray(from, from + cap);
    p.f = this.f.subarray(from, from + cap);
  }

  /** Empty points with room for cap, never growing beyond max (unless pushed past it). */
  points(cap: number, max = Infinity): FloatPoints {
    return new ArenaPoints(this, Math.max(1, Math.min(cap, max)), max);
  }

  /** A copy of t[from..to), f[from..to) at its exact size. */
  copy(t: Float64Array, f: Float64Array, from: number, to: number): FloatPoints {
    const p = new ArenaPoints(this, Math.max(1, to - from), to - from);
    if (from === 0 && to === t.length) {
      p.t.set(t);
      p.f.set(f);
    } else {
      p.t.set(t.subarray(from, to));
      p.f.set(f.subarray(from, to));
    }
    p.length = to - from;
    return p;
  }
}

/** FloatPoints whose buffers come from a PointsArena. */
class ArenaPoints extends FloatPoints {
  constructor(
    private readonly arena: PointsArena,
    cap: number,
    private readonly max: number,
  ) {
    super(0);
    arena.take(this, cap);
  }

  override grow(n: number): void {
    if (n <= this.t.length) return;
    const cap = Math.max(n, Math.min(this.t.length * 2, this.max));
    const { t, f, length } = this;
    this.arena.take(this, cap);
    this.t.set(length === t.length ? t : t.subarray(0, length));
    this.f.set(length === f.length ? f : f.subarray(0, length));
  }
}
