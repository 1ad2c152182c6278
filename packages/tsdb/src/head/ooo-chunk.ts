// The out-of-order head chunk (Prometheus tsdb/ooo_head.go OOOChunk): samples kept
// uncompressed and sorted by time, so that inserts in any order are cheap; a timestamp
// already held is refused (the first write wins). Once full (OutOfOrderCapMax samples)
// it is encoded as an XOR chunk and a new one is started.

import { XorChunk } from '../chunkenc/index.js';

export class OOOChunk {
  private readonly ts: number[] = [];
  private readonly vs: number[] = [];

  /**
   * Inserts (t, v) in time order.
   * @returns false when a sample at t is already held (the sample is dropped)
   */
  insert(t: number, v: number): boolean {
    const ts = this.ts;
    const n = ts.length;
    // fast path: out-of-order samples mostly arrive in order among themselves
    if (n === 0 || t > ts[n - 1]) {
      ts.push(t);
      this.vs.push(v);
      return true;
    }
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ts[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    if (ts[lo] === t) return false;
    ts.splice(lo, 0, t);
    this.vs.splice(lo, 0, v);
    return true;
  }

  numSamples(): number {
    return this.ts.length;
  }

  /** Oldest timestamp held; +Infinity when empty. */
  minTime(): number {
    return this.ts.length > 0 ? this.ts[0] : Infinity;
  }

  /** Newest timestamp held; -Infinity when empty. */
  maxTime(): number {
    const n = this.ts.length;
    return n > 0 ? this.ts[n - 1] : -Infinity;
  }

  atT(i: number): number {
    return this.ts[i];
  }

  atF(i: number): number {
    return this.vs[i];
  }

  /** The samples in [mint, maxt] as a new XOR chunk (OOOChunk.ToXORBetweenTimestamps). */
  toXor(mint = -Infinity, maxt = Infinity): XorChunk {
    const c = new XorChunk();
    const app = c.appender();
    const ts = this.ts;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i];
      if (t < mint) continue;
      if (t > maxt) break;
      app.append(t, this.vs[i]);
    }
    c.compact();
    return c;
  }
}
