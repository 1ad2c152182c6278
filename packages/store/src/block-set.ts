// Blocks grouped by external labels (Thanos bucketBlockSet): each set answers which of
// its blocks cover a time range at the coarsest resolution a request allows, filling the
// gaps of that resolution with finer blocks.

import { matchExternalLabels } from '@thanos-ts/storeapi';
import type { Labels, Matcher } from '@thanos-ts/tsdb';
import type { BucketBlock } from './bucket-block.js';

export class BlockSet {
  /** Resolutions present, descending (e.g. 3600000, 300000, 0). */
  private resolutions: number[] = [];
  /** Blocks per resolution (same index as resolutions), sorted by min time. */
  private blocks: BucketBlock[][] = [];

  constructor(readonly labels: Labels) {}

  get size(): number {
    let n = 0;
    for (const bs of this.blocks) n += bs.length;
    return n;
  }

  all(): BucketBlock[] {
    return this.blocks.flat();
  }

  add(b: BucketBlock): void {
    let i = this.resolutions.indexOf(b.resolution);
    if (i < 0) {
      this.resolutions.push(b.resolution);
      this.resolutions.sort((x, y) => y - x);
      i = this.resolutions.indexOf(b.resolution);
      this.blocks.splice(i, 0, []);
    }
    // Insert in (min time, ULID) order: a sync adds blocks one by one, and sorting the
    // whole list each time would make the first sync of a large bucket quadratic.
    const bs = this.blocks[i];
    let lo = 0;
    let hi = bs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = bs[mid];
      if (m.meta.minTime < b.meta.minTime || (m.meta.minTime === b.meta.minTime && m.id < b.id)) lo = mid + 1;
      else hi = mid;
    }
    bs.splice(lo, 0, b);
  }

  remove(id: string): void {
    for (let i = 0; i < this.blocks.length; i++) {
      const j = this.blocks[i].findIndex((b) => b.id === id);
      if (j < 0) continue;
      this.blocks[i].splice(j, 1);
      if (this.blocks[i].length === 0) {
        this.blocks.splice(i, 1);
        this.resolutions.splice(i, 1);
      }
      return;
    }
  }

  /** The time range covered, [min, max) as block metas give it; null when empty. */
  timeRange(): [number, number] | null {
    let min = Infinity;
    let max = -Infinity;
    for (const bs of this.blocks) {
      for (const b of bs) {
        if (b.meta.minTime < min) min = b.meta.minTime;
        if (b.meta.maxTime > max) max = b.meta.maxTime;
      }
    }
    return min === Infinity ? null : [min, max];
  }

  /**
   * Blocks for [mint, maxt] (ms, inclusive) at the coarsest resolution ≤ maxResolution,
   * recursively filling gaps with finer resolutions (block ranges are half-open).
   */
  getFor(mint: number, maxt: number, maxResolution: number): BucketBlock[] {
    const out: BucketBlock[] = [];
    this.fill(mint, maxt, maxResolution, out);
    return out;
  }

  private fill(mint: number, maxt: number, maxResolution: number, out: BucketBlock[]): void {
    if (mint > maxt) return;
    let i = 0;
    while (i < this.resolutions.length && this.resolutions[i] > maxResolution) i++;
    if (i >= this.resolutions.length) return;
    const finer = i + 1 < this.resolutions.length ? this.resolutions[i + 1] : -1;
    let start = mint;
    for (const b of this.blocks[i]) {
      if (b.meta.maxTime <= mint) continue;
      if (b.meta.minTime > maxt) break;
      if (finer >= 0) this.fill(start, b.meta.minTime - 1, finer, out);
      out.push(b);
      start = b.meta.maxTime;
    }
    if (finer >= 0) this.fill(start, maxt, finer, out);
  }

  /**
   * Checks matchers on this set's labels: null when one rules the set out, else the
   * matchers left for the blocks' own series (Thanos labelMatchers).
   */
  labelMatchers(matchers: readonly Matcher[]): Matcher[] | null {
    return matchExternalLabels(matchers, this.labels);
  }
}
