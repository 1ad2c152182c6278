// Merging chunk series from several chunk queriers (Prometheus storage/merge.go
// NewMergeChunkSeriesSet with NewCompactingChunkSeriesMerger): series merged by
// labels; for one series, chunks from all sets in mint order, passed through when they
// do not overlap, and overlapping runs merged sample by sample (on equal timestamps the
// earlier set wins) and re-encoded as XOR chunks of at most 120 samples.

import { ValueType, XorChunk, type ChunkIterator } from '../chunkenc/index.js';
import { compareLabels, compareStrings, type Labels } from '../labels/index.js';
import type { Matcher } from '../matchers/index.js';
import type { ChunkQuerier, ChunkSeries, SelectHints, SeriesChunk } from '../storage/index.js';
import { SAMPLES_PER_CHUNK } from './mem-series.js';

/** One ChunkQuerier over several: select merges by labels, label lookups return the sorted union. */
export function mergeChunkQueriers(queriers: readonly ChunkQuerier[]): ChunkQuerier {
  if (queriers.length === 1) return queriers[0];
  return {
    select: (hints: SelectHints, matchers: Matcher[]): AsyncIterable<ChunkSeries> => mergeChunkSeriesSets(queriers.map((q) => q.select(hints, matchers))),
    labelNames: async (matchers: Matcher[]): Promise<string[]> => union(await Promise.all(queriers.map((q) => q.labelNames(matchers)))),
    labelValues: async (name: string, matchers: Matcher[]): Promise<string[]> => union(await Promise.all(queriers.map((q) => q.labelValues(name, matchers)))),
    close: async (): Promise<void> => {
      await Promise.all(queriers.map((q) => q.close()));
    },
  };
}

function union(lists: readonly string[][]): string[] {
  const s = new Set<string>();
  for (const l of lists) for (const v of l) s.add(v);
  return [...s].sort(compareStrings);
}

/** Merges chunk series sets each sorted by labels; reads every input at most one series ahead. */
export async function* mergeChunkSeriesSets(sets: readonly AsyncIterable<ChunkSeries>[]): AsyncGenerator<ChunkSeries> {
  if (sets.length === 1) {
    yield* sets[0];
    return;
  }
  const its = sets.map((s) => s[Symbol.asyncIterator]());
  const heads: (ChunkSeries | null)[] = new Array<ChunkSeries | null>(its.length).fill(null);
  const pull = async (i: number): Promise<void> => {
    const r = await its[i].next();
    heads[i] = r.done ? null : r.value;
  };
  try {
    await Promise.all(its.map((_, i) => pull(i)));
    for (;;) {
      let min: Labels | null = null;
      for (const h of heads) if (h !== null && (min === null || compareLabels(h.labels, min) < 0)) min = h.labels;
      if (min === null) return;
      const group: ChunkSeries[] = [];
      const advance: number[] = [];
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (h !== null && compareLabels(h.labels, min) === 0) {
          group.push(h);
          advance.push(i);
        }
      }
      yield group.length === 1 ? group[0] : mergeChunkSeries(min, group);
      await Promise.all(advance.map(pull));
    }
  } finally {
    await Promise.all(its.map((it) => it.return?.()));
  }
}

/** One series from the same series in several sets (in set order, earlier wins on equal timestamps). */
function mergeChunkSeries(labels: Labels, group: readonly ChunkSeries[]): ChunkSeries {
  const tagged: { c: SeriesChunk; set: number }[] = [];
  group.forEach((g, set) => {
    for (const c of g.chunks()) tagged.push({ c, set });
  });
  const out = mergeOverlappingChunks(tagged);
  return { labels, chunks: () => out };
}

/**
 * Chunks that may overlap, each tagged with a precedence (`set`, lower wins on equal
 * timestamps), as chunks in time order that do not overlap: chunks overlapping no other
 * are passed through, overlapping runs merged sample by sample (duplicate timestamps
 * dropped) and re-encoded as XOR chunks of at most 120 samples. Sorts `tagged`.
 */
export function mergeOverlappingChunks(tagged: { c: SeriesChunk; set: number }[]): SeriesChunk[] {
  tagged.sort((a, b) => a.c.mint - b.c.mint || a.c.maxt - b.c.maxt || a.set - b.set);
  const out: SeriesChunk[] = [];
  let i = 0;
  while (i < tagged.length) {
    // A run of chunks overlapping in time.
    let j = i + 1;
    let maxt = tagged[i].c.maxt;
    while (j < tagged.length && tagged[j].c.mint <= maxt) {
      maxt = Math.max(maxt, tagged[j].c.maxt);
      j++;
    }
    if (j === i + 1) out.push(tagged[i].c);
    else mergeRun(tagged.slice(i, j), out);
    i = j;
  }
  return out;
}

function mergeRun(run: { c: SeriesChunk; set: number }[], out: SeriesChunk[]): void {
  const its: { it: ChunkIterator; set: number; ok: boolean }[] = run.map((r) => {
    const it = r.c.chunk.iterator();
    return { it, set: r.set, ok: it.next() !== ValueType.None };
  });
  let chunk: XorChunk | null = null;
  let app: ReturnType<XorChunk['appender']> | null = null;
  let n = 0;
  let mint = 0;
  let lastT = 0;
  const flush = (): void => {
    if (chunk !== null && n > 0) {
      chunk.compact();
      out.push({ mint, maxt: lastT, chunk });
    }
    chunk = null;
    n = 0;
  };
  for (;;) {
    let best = -1;
    for (let k = 0; k < its.length; k++) {
      const x = its[k];
      if (!x.ok) continue;
      if (best < 0) {
        best = k;
        continue;
      }
      const b = its[best];
      const d = x.it.atT() - b.it.atT();
      if (d < 0 || (d === 0 && x.set < b.set)) best = k;
    }
    if (best < 0) break;
    const t = its[best].it.atT();
    const v = its[best].it.atF();
    if (chunk === null || n >= SAMPLES_PER_CHUNK) {
      flush();
      chunk = new XorChunk();
      app = chunk.appender();
      mint = t;
    }
    app!.append(t, v);
    n++;
    lastT = t;
    // Advance every iterator sitting on t (duplicates dropped).
    for (const x of its) {
      if (x.ok && x.it.atT() === t) x.ok = x.it.next() !== ValueType.None;
    }
  }
  for (const x of its) {
    const e = x.it.err();
    if (e !== null) throw e;
  }
  flush();
}
