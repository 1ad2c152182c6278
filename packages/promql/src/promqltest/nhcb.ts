// `load_with_nhcb`: classic histogram series (`<base>_bucket{le=…}`, `<base>_count`,
// `<base>_sum`) of a load block are also stored as native histograms with custom buckets
// under `<base>` (promqltest's appendCustomHistogram with util/convertnhcb). The
// histograms keep one bucket per boundary (empty ones included); comparisons compact both
// sides, as upstream's runner does.

import { type Labels, METRIC_NAME, getLabel } from '@thanos-ts/tsdb';
import { deleteLabels, labelsKey, setLabel } from '../engine/label-sets.js';
import { parseFloatGo } from '../go-strconv.js';
import { CUSTOM_BUCKETS_SCHEMA, FloatHistogram } from '../histogram.js';
import type { LoadCmd } from './script.js';

/** convertnhcb.TempHistogram: cumulative buckets, count and sum of one timestamp. */
class TempHistogram {
  buckets: Array<{ le: number; count: number }> = [];
  count = 0;
  sum = 0;
  hasCount = false;
  err: string | null = null;

  setBucketCount(le: number, count: number): void {
    if (this.err !== null) return;
    if (count < 0) {
      this.err = `bucket count must be non-negative: le=${le}, count=${count}`;
      return;
    }
    const b = this.buckets;
    if (b.length === 0 || b[b.length - 1].le < le) {
      if (b.length > 0 && count < b[b.length - 1].count) {
        this.err = `count is not cumulative: ${count} < ${b[b.length - 1].count}`;
        return;
      }
      b.push({ le, count });
      return;
    }
    let i = 0;
    while (i < b.length && b[i].le < le) i++;
    if (b[i].le === le) return;
    if (i > 0 && count < b[i - 1].count) {
      this.err = `count is not cumulative: ${count} < ${b[i - 1].count}`;
      return;
    }
    if (count > b[i].count) {
      this.err = `count is not cumulative: ${count} > ${b[i].count}`;
      return;
    }
    b.splice(i, 0, { le, count });
  }

  setCount(count: number): void {
    if (this.err !== null) return;
    if (count < 0) {
      this.err = `count must be non-negative: count=${count}`;
      return;
    }
    this.count = count;
    this.hasCount = true;
  }

  /** The native histogram (Convert); throws for inconsistent input. */
  convert(): FloatHistogram {
    if (this.err !== null) throw new Error(this.err);
    const b = this.buckets.slice();
    let count = this.count;
    if (!this.hasCount && b.length > 0) count = b[b.length - 1].count;
    if (b.length === 0 || b[b.length - 1].le !== Infinity) b.push({ le: Infinity, count });
    if (count !== b[b.length - 1].count) throw new Error(`count mismatch: count=${count} != le=${b[b.length - 1].le} count=${b[b.length - 1].count}`);
    const h = new FloatHistogram();
    h.schema = CUSTOM_BUCKETS_SCHEMA;
    h.count = count;
    h.sum = this.sum;
    h.positiveSpans = [{ offset: 0, length: b.length }];
    let prev = 0;
    h.positiveBuckets = b.map((x) => {
      const d = x.count - prev;
      prev = x.count;
      return d;
    });
    h.customValues = b.slice(0, -1).map((x) => x.le);
    return h;
  }
}

/** The NHCB series a load_with_nhcb block adds: labels and time-ordered histograms. */
export function nhcbSeries(cmd: LoadCmd): Array<{ labels: Labels; samples: Array<{ t: number; h: FloatHistogram }> }> {
  const groups = new Map<string, { labels: Labels; byTs: Map<number, TempHistogram> }>();
  const group = (m: Labels, base: string): Map<number, TempHistogram> => {
    const labels = deleteLabels(setLabel(m, METRIC_NAME, base), ['le']);
    const k = labelsKey(labels);
    let g = groups.get(k);
    if (g === undefined) {
      g = { labels, byTs: new Map() };
      groups.set(k, g);
    }
    return g.byTs;
  };
  const at = (byTs: Map<number, TempHistogram>, t: number): TempHistogram => {
    let h = byTs.get(t);
    if (h === undefined) {
      h = new TempHistogram();
      byTs.set(t, h);
    }
    return h;
  };
  for (const { labels, samples } of cmd.series.values()) {
    const name = getLabel(labels, METRIC_NAME);
    if (name.endsWith('_bucket')) {
      let le: number;
      try {
        le = parseFloatGo(getLabel(labels, 'le'));
      } catch {
        continue;
      }
      if (Number.isNaN(le)) continue;
      const byTs = group(labels, name.slice(0, -'_bucket'.length));
      for (const s of samples) if (s.h === null) at(byTs, s.t).setBucketCount(le, s.f);
    } else if (name.endsWith('_count')) {
      const byTs = group(labels, name.slice(0, -'_count'.length));
      for (const s of samples) if (s.h === null) at(byTs, s.t).setCount(s.f);
    } else if (name.endsWith('_sum')) {
      const byTs = group(labels, name.slice(0, -'_sum'.length));
      for (const s of samples) if (s.h === null) at(byTs, s.t).sum = s.f;
    }
  }
  return [...groups.values()].map((g) => ({
    labels: g.labels,
    samples: [...g.byTs.entries()].sort((a, b) => a[0] - b[0]).map(([t, th]) => ({ t, h: th.convert() })),
  }));
}
