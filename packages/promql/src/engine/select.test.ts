import { describe, expect, it } from 'vitest';
import { rng } from '@thanos-ts/testutil';
import { NORMAL_NAN, STALE_NAN, ValueType, isStaleNaN, labelsFromStrings } from '@thanos-ts/tsdb';
import type { FloatSampleArrays, FloatSampleReader, Labels, Querier, Series, SeriesIterator } from '@thanos-ts/tsdb';
import type { VectorSelector } from '../ast.js';
import { parseExpr } from '../parser.js';
import { PointsArena } from './arena.js';
import { QueryCanceledError } from './errors.js';
import { selectSeries } from './select.js';
import type { SelectedSeries } from './select.js';

/** Samples in typed arrays, so NaN payloads (the stale marker) are kept bit for bit. */
interface Samples {
  t: Float64Array;
  f: Float64Array;
}

/** Prometheus iterator semantics over arrays. */
class ArrayIterator implements SeriesIterator {
  private i = -1;
  constructor(private readonly s: Samples) {}
  next(): ValueType {
    if (this.i < this.s.t.length) this.i++;
    return this.i < this.s.t.length ? ValueType.Float : ValueType.None;
  }
  seek(t: number): ValueType {
    if (this.i < 0) this.i = 0;
    while (this.i < this.s.t.length && this.s.t[this.i] < t) this.i++;
    return this.i < this.s.t.length ? ValueType.Float : ValueType.None;
  }
  atT(): number {
    return this.s.t[this.i];
  }
  atF(): number {
    return this.s.f[this.i];
  }
  err(): Error | null {
    return null;
  }
}

/** A series read through its iterator only. */
class IteratorSeries implements Series {
  readonly labels: Labels;
  constructor(
    name: string,
    readonly samples: Samples,
  ) {
    this.labels = labelsFromStrings('__name__', name);
  }
  iterator(): SeriesIterator {
    return new ArrayIterator(this.samples);
  }
}

/**
 * The same series, also read in bulk in pieces of 120 samples, as chunks are; `refuse`
 * appends a piece and then refuses, as a series finding a chunk it cannot decode does.
 */
class BulkSeries extends IteratorSeries implements FloatSampleReader {
  reads = 0;
  constructor(
    name: string,
    samples: Samples,
    private readonly refuse = false,
  ) {
    super(name, samples);
  }
  readFloats(mint: number, maxt: number, out: FloatSampleArrays): boolean {
    this.reads++;
    const { t, f } = this.samples;
    const start = out.n;
    for (let from = 0; from < t.length; from += 120) {
      const to = Math.min(t.length, from + 120);
      out.reserve(to - from);
      for (let i = from; i < to; i++) {
        if (t[i] < mint) continue;
        if (t[i] > maxt) return true;
        out.t[out.n] = t[i];
        out.f[out.n] = f[i];
        out.n++;
      }
      if (this.refuse) {
        out.n = start;
        return false;
      }
    }
    return true;
  }
}

function querierOf(series: Series[]): Querier {
  return {
    async *select() {
      yield* series;
    },
    labelNames: async () => [],
    labelValues: async () => [],
    close: async () => {},
  };
}

const selector = parseExpr('x') as VectorSelector;

async function select(series: Series[], mint: number, maxt: number, dropStale: boolean, checkDone = (): void => {}): Promise<SelectedSeries[]> {
  return selectSeries(querierOf(series), { start: mint, end: maxt }, selector, dropStale, checkDone, new PointsArena());
}

/** Points as text with the value bits, so stale markers and other NaNs are told apart. */
function dump(series: SelectedSeries[]): string[] {
  return series.map((s) => {
    const bits = new Uint32Array(s.points.f.buffer, s.points.f.byteOffset, s.points.length * 2);
    const pts: string[] = [];
    for (let i = 0; i < s.points.length; i++) pts.push(`${s.points.t[i]}:${bits[2 * i + 1].toString(16)}.${bits[2 * i].toString(16)}`);
    return `${s.metric[0].value} ${s.st === null ? '' : 'st '}${pts.join(' ')}`;
  });
}

function randomSamples(rand: () => number, n: number): Samples {
  const s = { t: new Float64Array(n), f: new Float64Array(n) };
  let t = 1_700_000_000_000;
  for (let i = 0; i < n; i++) {
    t += 1 + Math.floor(rand() * 30_000);
    s.t[i] = t;
    const r = rand();
    s.f[i] = r < 0.1 ? STALE_NAN : r < 0.15 ? NORMAL_NAN : r < 0.2 ? -0 : r < 0.25 ? Infinity : i;
  }
  return s;
}

describe('selectSeries', () => {
  it('evaluates a selector on a step grid: at each step the newest sample within the lookback, stale markers ending it, bulk and iterator reads alike', async () => {
    const rand = rng(5);
    const samples = randomSamples(rand, 3000);
    const t0 = samples.t[0];
    for (const grid of [
      { start: t0 + 100_000, interval: 60_000, count: 200, offset: 0, lookback: 300_000 },
      { start: t0, interval: 1, count: 1, offset: -30_000, lookback: 300_000 },
      { start: t0 + 5_000_000, interval: 15_000, count: 500, offset: 300_000, lookback: 20_000 },
      // steps finer than the samples: a sample serves several steps
      { start: t0 + 1_000_000, interval: 1_000, count: 3000, offset: 0, lookback: 300_000 },
      // past the last sample, then past its lookback
      { start: samples.t[2990], interval: 10_000, count: 100, offset: 0, lookback: 120_000 },
    ]) {
      const want: string[] = [];
      for (let k = 0; k < grid.count; k++) {
        const ts = grid.start + k * grid.interval;
        const ref = ts - grid.offset;
        let c = -1;
        for (let i = 0; i < samples.t.length && samples.t[i] <= ref; i++) c = i;
        if (c < 0 || samples.t[c] <= ref - grid.lookback || isStaleNaN(samples.f[c])) continue;
        want.push(`${ts}:${Object.is(samples.f[c], -0) ? '-0' : samples.f[c]}`);
      }
      expect(want.length).toBeGreaterThan(0);
      for (const s of [new BulkSeries('b', samples), new IteratorSeries('i', samples)]) {
        const [got] = await selectSeries(querierOf([s]), { start: -Infinity, end: Infinity }, selector, false, () => {}, new PointsArena(), () => {}, { kind: "steps", grid, sink: null });
        const pts: string[] = [];
        for (let i = 0; i < got.points.length; i++) pts.push(`${got.points.t[i]}:${Object.is(got.points.f[i], -0) ? '-0' : got.points.f[i]}`);
        expect(pts).toEqual(want);
        // held at their size, not at a bound made up front
        expect(got.points.t.length).toBe(Math.max(1, got.points.length));
      }
    }
  });

  it('reads series in bulk exactly as through their iterators, stale markers dropped for ranges', async () => {
    const rand = rng(21);
    const samples = Array.from({ length: 8 }, (_, i) => randomSamples(rand, [0, 1, 119, 120, 121, 1000, 5000, 3000][i]));
    const bulk = samples.map((s, i) => new BulkSeries(`s${i}`, s));
    const plain = samples.map((s, i) => new IteratorSeries(`s${i}`, s));
    const all = samples.flatMap((s) => Array.from(s.t));
    const edges = [-Infinity, Infinity, ...Array.from({ length: 20 }, () => all[Math.floor(rand() * all.length)] + Math.floor(rand() * 3) - 1)];
    for (const dropStale of [false, true]) {
      for (let k = 0; k < 40; k++) {
        const a = edges[Math.floor(rand() * edges.length)];
        const b = edges[Math.floor(rand() * edges.length)];
        const want = dump(await select(plain, a, b, dropStale));
        expect(dump(await select(bulk, a, b, dropStale))).toEqual(want);
      }
      // the stale markers are there for instant selectors, and only for them
      const stale = (await select(bulk, -Infinity, Infinity, dropStale)).reduce((n, s) => n + s.points.length, 0);
      const total = all.length;
      if (dropStale) expect(stale).toBeLessThan(total * 0.95);
      else expect(stale).toBe(total);
    }
    expect(bulk.every((s) => s.reads > 0)).toBe(true);
  });

  it('falls back to the iterator when a series cannot read in bulk', async () => {
    const rand = rng(4);
    const samples = randomSamples(rand, 500);
    const refusing = new BulkSeries('r', samples, true);
    const got = dump(await select([refusing, new BulkSeries('b', samples)], samples.t[10], samples.t[400], true));
    expect(refusing.reads).toBe(1);
    expect(got).toEqual(dump(await select([new IteratorSeries('r', samples), new IteratorSeries('b', samples)], samples.t[10], samples.t[400], true)));
    expect(got[0].split(' ').length).toBeGreaterThan(300);
  });

  it('checks for cancellation while reading a long series in bulk', async () => {
    const n = 300_000;
    const samples = { t: new Float64Array(n).map((_, i) => i * 1000), f: new Float64Array(n) };
    let checks = 0;
    const got = await select([new BulkSeries('long', samples)], 0, Infinity, true, () => checks++);
    expect(got[0].points.length).toBe(n);
    expect(checks).toBeGreaterThanOrEqual(1 + Math.floor(n / 65536)); // once per series, then per 64Ki samples
    let calls = 0;
    const cancel = (): void => {
      if (++calls > 2) throw new QueryCanceledError('query execution');
    };
    await expect(select([new BulkSeries('long', samples)], 0, Infinity, true, cancel)).rejects.toBeInstanceOf(QueryCanceledError);
  });
});
