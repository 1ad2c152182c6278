import { describe, expect, it } from 'vitest';
import type { StoreSeries } from '@thanos-ts/storeapi';
import type { Labels, Series } from '@thanos-ts/tsdb';
import { Aggr } from '../chunk-series.js';
import { expandFrom, samplesEvery, xorChunk, xorChunks } from '../testing.js';
import { dedupSeriesSet } from './series-set.js';

describe('dedupSeriesSet', () => {
  const ls = (...nv: string[]): Labels => {
    const out = [];
    for (let i = 0; i < nv.length; i += 2) out.push({ name: nv[i], value: nv[i + 1] });
    return out;
  };
  async function* from(series: StoreSeries[]): AsyncGenerator<StoreSeries> {
    yield* series;
  }
  async function collect(set: AsyncIterable<Series>): Promise<{ labels: Labels; samples: [number, number][] }[]> {
    const out = [];
    for await (const s of set) out.push({ labels: s.labels, samples: expandFrom(s.iterator(), -Infinity) });
    return out;
  }
  const opts = { mint: 0, maxt: 1e12, aggrs: [Aggr.RAW] };

  // Thanos TestDedupSeriesSet "Single dedup label".
  it('groups adjacent series with equal labels and merges their samples', async () => {
    const input: StoreSeries[] = [
      { labels: ls('a', '1', 'c', '3'), chunks: [xorChunk([[10000, 1], [20000, 2]])] },
      { labels: ls('a', '1', 'c', '3'), chunks: [xorChunk([[60000, 3], [70000, 4]])] },
      { labels: ls('a', '1', 'c', '3'), chunks: [xorChunk([[200000, 5], [210000, 6]])] },
      { labels: ls('a', '1', 'c', '3'), chunks: [xorChunk([[10000, 1], [20000, 2]])] },
      { labels: ls('a', '1', 'c', '3', 'd', '4'), chunks: [xorChunk([[10000, 1], [20000, 2]])] },
      { labels: ls('a', '1', 'c', '4'), chunks: [xorChunk([[10000, 1], [20000, 2]])] },
      { labels: ls('a', '2', 'c', '3'), chunks: [xorChunk([[10000, 1], [20000, 2]])] },
      { labels: ls('a', '2', 'c', '3'), chunks: [xorChunk([[60000, 3], [70000, 4]])] },
    ];
    expect(await collect(dedupSeriesSet(from(input), opts))).toEqual([
      { labels: ls('a', '1', 'c', '3'), samples: [[10000, 1], [20000, 2], [60000, 3], [70000, 4], [200000, 5], [210000, 6]] },
      { labels: ls('a', '1', 'c', '3', 'd', '4'), samples: [[10000, 1], [20000, 2]] },
      { labels: ls('a', '1', 'c', '4'), samples: [[10000, 1], [20000, 2]] },
      { labels: ls('a', '2', 'c', '3'), samples: [[10000, 1], [20000, 2], [60000, 3], [70000, 4]] },
    ]);
  });

  it('splits one merged series with overlapping replica chunks and deduplicates it', async () => {
    const a = samplesEvery(0, 3_600_000, 15_000, (t) => t / 1000);
    const b = samplesEvery(5_000, 3_600_000, 15_000, (t) => t / 1000 + 0.5);
    // What the proxy sends for two replicas whose replica label was removed: one series,
    // chunks of both sorted by min time.
    const chunks = [...xorChunks(a), ...xorChunks(b)].sort((x, y) => x.minTime - y.minTime);
    const [s] = await collect(dedupSeriesSet(from([{ labels: ls('a', '1'), chunks }]), opts));
    expect(s.samples).toEqual(a);
  });

  it('bounds samples to [mint, maxt] and chains in chain mode', async () => {
    const input: StoreSeries[] = [
      { labels: ls('a', '1'), chunks: [xorChunk([[10000, 1], [30000, 3], [50000, 5]])] },
      { labels: ls('a', '1'), chunks: [xorChunk([[10000, 1], [20000, 2], [30000, 3], [40000, 4]])] },
    ];
    const out = await collect(dedupSeriesSet(from(input), { mint: 15000, maxt: 45000, aggrs: [Aggr.RAW], dedupFunc: 'chain' }));
    expect(out).toEqual([{ labels: ls('a', '1'), samples: [[20000, 2], [30000, 3], [40000, 4]] }]);
  });
});
