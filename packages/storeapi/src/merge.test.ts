import { describe, expect, it } from 'vitest';
import { rng } from '@thanos-ts/testutil';
import { compareLabels, labelsKey, labelsToString } from '@thanos-ts/tsdb';
import type { Label, Labels } from '@thanos-ts/tsdb';
import { compareAggrChunks, mergeChunks, mergeSeriesBatches, mergeSeriesResponses } from './merge.js';
import type { AggrChunk, SeriesResponse, StoreSeries } from './proto.js';

async function* gen<T>(items: T[], rand?: () => number): AsyncGenerator<T> {
  for (const x of items) {
    // Yield to the event loop now and then, as a network stream would.
    if (rand && rand() < 0.1) await new Promise((r) => setImmediate(r));
    yield x;
  }
}

/** The items in batches of 1 to 5 (random with rand, else 2), as a block's series come. */
async function* batched<T>(items: T[], rand?: () => number): AsyncGenerator<T[]> {
  for (let i = 0; i < items.length; ) {
    const n = rand ? 1 + Math.floor(rand() * 5) : 2;
    if (rand && rand() < 0.1) await new Promise((r) => setImmediate(r));
    yield items.slice(i, i + n);
    i += n;
  }
}

/** The series of merged batches, with the batches' sizes. */
async function collectBatches(it: AsyncIterable<StoreSeries[]>): Promise<StoreSeries[] & { sizes?: number[] }> {
  const out: StoreSeries[] & { sizes?: number[] } = [];
  out.sizes = [];
  for await (const b of it) {
    out.sizes.push(b.length);
    out.push(...b);
  }
  return out;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function chunk(min: number, max: number, ...bytes: number[]): AggrChunk {
  return { minTime: min, maxTime: max, raw: { type: 0, data: Uint8Array.from(bytes) } };
}

const L = (...nv: string[]): Label[] => {
  const out: Label[] = [];
  for (let i = 0; i < nv.length; i += 2) out.push({ name: nv[i], value: nv[i + 1] });
  return out;
};

describe('mergeSeriesBatches', () => {
  it('merges sorted streams and equal series across them', async () => {
    const a: StoreSeries[] = [
      { labels: L('a', '1'), chunks: [chunk(0, 10, 1)] },
      { labels: L('a', '3'), chunks: [chunk(20, 30, 3), chunk(40, 50, 4)] },
    ];
    const b: StoreSeries[] = [
      { labels: L('a', '2'), chunks: [chunk(0, 10, 2)] },
      { labels: L('a', '3'), chunks: [chunk(0, 10, 9), chunk(20, 30, 3)] }, // (20,30,3) duplicates a's
    ];
    const c: StoreSeries[] = [];
    const out = await collectBatches(mergeSeriesBatches([batched(a), batched(b), batched(c)]));
    expect(out.map((s) => labelsToString(s.labels))).toEqual(['{a="1"}', '{a="2"}', '{a="3"}']);
    expect(out[2].chunks.map((x) => [x.minTime, x.raw!.data[0]])).toEqual([
      [0, 9],
      [20, 3],
      [40, 4],
    ]);
  });

  it('hands out what is ready in one batch, waiting only between input batches', async () => {
    const mk = (p: string, n: number): StoreSeries[] => Array.from({ length: n }, (_, i) => ({ labels: L('a', `${p}${String(i).padStart(3, '0')}`), chunks: [] }));
    async function* fifties(items: StoreSeries[]): AsyncGenerator<StoreSeries[]> {
      for (let i = 0; i < items.length; i += 50) yield items.slice(i, i + 50);
    }
    const out = await collectBatches(mergeSeriesBatches([fifties(mk('x', 200)), fifties(mk('y', 100))], 64));
    expect(out.map((s) => s.labels[0].value)).toEqual([...mk('x', 200), ...mk('y', 100)].map((s) => s.labels[0].value));
    // Batches end where an input needs its next batch (every 50 series) or at 64.
    expect(out.sizes).toEqual([49, 50, 50, 50, 50, 50, 1]);
  });

  it('concatenates parts already in time order and sorts the others', () => {
    const ordered = mergeChunks([
      { labels: L('a', '1'), chunks: [chunk(0, 10, 1), chunk(11, 20, 2)] },
      { labels: L('a', '1'), chunks: [chunk(21, 30, 3)] },
      { labels: L('a', '1'), chunks: [chunk(31, 40, 4)] },
    ]);
    expect(ordered.map((x) => x.raw!.data[0])).toEqual([1, 2, 3, 4]);
    const reversed = mergeChunks([
      { labels: L('a', '1'), chunks: [chunk(21, 30, 3)] },
      { labels: L('a', '1'), chunks: [chunk(0, 10, 1), chunk(21, 30, 3)] },
    ]);
    expect(reversed.map((x) => x.raw!.data[0])).toEqual([1, 3]);
  });

  it('keeps chunks with the same time range but different bytes', async () => {
    const out = mergeChunks([
      { labels: L('a', '1'), chunks: [chunk(0, 10, 2), chunk(0, 10, 1)] },
      { labels: L('a', '1'), chunks: [chunk(0, 10, 1), chunk(0, 9, 7)] },
    ]);
    expect(out.map((x) => [x.maxTime, x.raw!.data[0]])).toEqual([
      [9, 7],
      [10, 1],
      [10, 2],
    ]);
  });

  it('rejects an unsorted input stream', async () => {
    const bad = [
      { labels: L('a', '2'), chunks: [] },
      { labels: L('a', '1'), chunks: [] },
    ];
    await expect(collectBatches(mergeSeriesBatches([batched(bad)]))).rejects.toThrow(/stream 0 is not sorted: \{a="1"\} after \{a="2"\}/);
  });

  it('matches a collect-and-group reference on random inputs', async () => {
    for (let seed = 1; seed <= 60; seed++) {
      const rand = rng(seed);
      const k = 1 + Math.floor(rand() * 6);
      const universe: Labels[] = [];
      const nLabels = 1 + Math.floor(rand() * 40);
      for (let i = 0; i < nLabels; i++) {
        const ls = L('__name__', `m${Math.floor(rand() * 3)}`, 'i', String(Math.floor(rand() * 50)));
        if (rand() < 0.3) ls.push({ name: 'z', value: rand() < 0.5 ? 'x' : 'ü' });
        universe.push(ls);
      }
      // A pool of chunks shared between streams, so exact duplicates occur.
      const pool: AggrChunk[] = [];
      for (let i = 0; i < 12; i++) {
        const min = Math.floor(rand() * 5) * 100;
        const c = chunk(min, min + 50 + Math.floor(rand() * 2) * 49, Math.floor(rand() * 3));
        if (!pool.some((p) => compareAggrChunks(p, c) === 0)) pool.push(c);
      }
      const streams: StoreSeries[][] = [];
      for (let s = 0; s < k; s++) {
        const items: StoreSeries[] = [];
        for (const ls of universe) {
          if (rand() < 0.5) continue;
          const nParts = rand() < 0.15 ? 2 : 1; // a series split over two frames
          for (let p = 0; p < nParts; p++) {
            // Distinct chunks within one part (a single store sends no duplicates).
            const picked = new Set<number>();
            const nc = Math.floor(rand() * 4);
            for (let c = 0; c < nc; c++) picked.add(Math.floor(rand() * pool.length));
            const chunks = [...picked].map((i) => pool[i]).sort(compareAggrChunks);
            items.push({ labels: ls, chunks });
          }
        }
        items.sort((x, y) => compareLabels(x.labels, y.labels));
        streams.push(items);
      }

      // Reference: group everything by label set, sort, dedupe.
      const groups = new Map<string, { labels: Labels; chunks: AggrChunk[] }>();
      for (const st of streams) {
        for (const s of st) {
          const key = labelsKey(s.labels);
          const g = groups.get(key) ?? { labels: s.labels, chunks: [] };
          g.chunks.push(...s.chunks);
          groups.set(key, g);
        }
      }
      const want = [...groups.values()]
        .sort((x, y) => compareLabels(x.labels, y.labels))
        .map((g) => {
          const sorted = [...g.chunks].sort(compareAggrChunks);
          const dedup = sorted.filter((c, i) => i === 0 || compareAggrChunks(sorted[i - 1], c) !== 0);
          return { labels: labelsToString(g.labels), chunks: dedup.map((c) => `${c.minTime}-${c.maxTime}:${c.raw!.data[0]}`) };
        });

      const got = (await collectBatches(mergeSeriesBatches(streams.map((s) => batched(s, rand)), 7))).map((s) => ({
        labels: labelsToString(s.labels),
        chunks: s.chunks.map((c) => `${c.minTime}-${c.maxTime}:${c.raw!.data[0]}`),
      }));
      expect(got, `seed ${seed}`).toEqual(want);
    }
  });

  it('streams: yields the first series before the inputs end, and closes inputs on early exit', async () => {
    let closed = 0;
    let produced = 0;
    const infinite = (prefix: string): AsyncIterable<StoreSeries[]> => ({
      [Symbol.asyncIterator]: () => {
        let i = 0;
        return {
          next: async () => {
            produced++;
            return { done: false, value: [{ labels: L('a', `${prefix}${String(i++).padStart(8, '0')}`), chunks: [] }] };
          },
          return: async () => {
            closed++;
            return { done: true, value: undefined };
          },
        };
      },
    });
    let n = 0;
    outer: for await (const b of mergeSeriesBatches([infinite('x'), infinite('y')])) {
      for (const s of b) {
        expect(s.labels[0].value.startsWith('x')).toBe(true);
        if (++n === 1000) break outer;
      }
    }
    expect(closed).toBe(2);
    expect(produced).toBeLessThan(1010);
  });
});

describe('mergeSeriesResponses', () => {
  it('flattens batches, merges series and passes warnings and hints through', async () => {
    const a: SeriesResponse[] = [
      { warning: 'store a: partial' },
      { batch: { series: [{ labels: L('a', '1'), chunks: [chunk(0, 1, 1)] }, { labels: L('a', '3'), chunks: [] }] } },
      { hints: { type_url: 'type.googleapis.com/hintspb.SeriesResponseHints', value: new Uint8Array() } },
    ];
    const b: SeriesResponse[] = [{ series: { labels: L('a', '1'), chunks: [chunk(0, 1, 1), chunk(2, 3, 1)] } }, { series: { labels: L('a', '2'), chunks: [] } }];
    const out = await collect(mergeSeriesResponses([gen(a), gen(b)]));
    const kinds = out.map((r) => (r.series ? `series ${labelsToString(r.series.labels)} ${r.series.chunks.length}` : r.warning ? 'warning' : 'hints'));
    expect(kinds).toEqual(['warning', 'series {a="1"} 2', 'series {a="2"} 0', 'hints', 'series {a="3"} 0']);
  });

  it('closes every input when the reader stops early (a limit, a cancelled query)', async () => {
    let closed = 0;
    let frames = 0;
    const endless = (prefix: string): AsyncIterable<SeriesResponse> => ({
      [Symbol.asyncIterator]: () => {
        let i = 0;
        return {
          next: async () => {
            frames++;
            const series = Array.from({ length: 64 }, () => ({ labels: L('a', `${prefix}${String(i++).padStart(8, '0')}`), chunks: [] }));
            return { done: false, value: { batch: { series } } };
          },
          return: async () => {
            closed++;
            return { done: true, value: undefined };
          },
        };
      },
    });
    let n = 0;
    for await (const f of mergeSeriesResponses([endless('x'), endless('y')])) {
      expect(f.series!.labels[0].value.startsWith('x')).toBe(true);
      if (++n === 500) break;
    }
    expect(closed).toBe(2);
    // The merge reads ahead at most a frame per input beyond what it handed out.
    expect(frames).toBeLessThanOrEqual(Math.ceil(500 / 64) + 2);
  });

  it('leaves no read unhandled when the reader stops while an input is being waited for', async () => {
    // The merge hands out what it has before it waits for an input's next frame. A reader
    // that stops then (a limit; another selector of the query failed) closes the inputs,
    // which cancels that read: its rejection must not reach the process (it ended the
    // querier with "querier closed").
    const input: AsyncIterable<SeriesResponse> = {
      [Symbol.asyncIterator]: () => {
        let sent = false;
        let cancel: ((err: Error) => void) | null = null;
        return {
          next: () => {
            if (sent) return new Promise<IteratorResult<SeriesResponse>>((_, reject) => (cancel = reject));
            sent = true;
            return Promise.resolve({ done: false, value: { batch: { series: [{ labels: L('a', '1'), chunks: [] }, { labels: L('a', '2'), chunks: [] }] } } });
          },
          return: async () => {
            cancel?.(new DOMException('querier closed', 'AbortError'));
            return { done: true, value: undefined };
          },
        };
      },
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      for await (const f of mergeSeriesResponses([input])) {
        expect(f.series!.labels).toEqual(L('a', '1'));
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('propagates an input failure', async () => {
    async function* failing(): AsyncGenerator<SeriesResponse> {
      yield { series: { labels: L('a', '1'), chunks: [] } };
      throw new Error('store b: Series: rpc error: code = Unavailable desc = down');
    }
    await expect(collect(mergeSeriesResponses([gen([{ series: { labels: L('a', '0'), chunks: [] } }]), failing()]))).rejects.toThrow(/Unavailable/);
  });
});
