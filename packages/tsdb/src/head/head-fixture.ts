// Helpers shared by the head tests.
import { ValueType, floatHiBits, floatLoBits } from '../chunkenc/index.js';
import { labelsToString, type Labels } from '../labels/index.js';
import type { Matcher } from '../matchers/index.js';
import type { ChunkQuerier, Queryable } from '../storage/index.js';

export interface Dumped {
  labels: string;
  samples: [number, number][];
}

/** Every selected series with its samples, as strings and pairs (NaN kept as NaN). */
export async function selectAll(q: Queryable, mint: number, maxt: number, matchers: Matcher[]): Promise<Dumped[]> {
  const querier = await q.querier(mint, maxt);
  const out: Dumped[] = [];
  for await (const s of querier.select({ start: mint, end: maxt }, matchers)) {
    const it = s.iterator();
    const samples: [number, number][] = [];
    while (it.next() !== ValueType.None) samples.push([it.atT(), it.atF()]);
    if (it.err() !== null) throw it.err();
    out.push({ labels: labelsToString(s.labels), samples });
  }
  await querier.close();
  return out;
}

/** Same through a chunk querier: every chunk decoded, checked against its mint/maxt. */
export async function selectChunks(q: ChunkQuerier, mint: number, maxt: number, matchers: Matcher[]): Promise<Dumped[]> {
  const out: Dumped[] = [];
  for await (const s of q.select({ start: mint, end: maxt }, matchers)) {
    const samples: [number, number][] = [];
    for (const c of s.chunks()) {
      const it = c.chunk.iterator();
      let first = true;
      let last = 0;
      while (it.next() !== ValueType.None) {
        if (first && it.atT() !== c.mint) throw new Error(`chunk mint ${c.mint} but first sample ${it.atT()}`);
        first = false;
        last = it.atT();
        samples.push([it.atT(), it.atF()]);
      }
      if (last !== c.maxt) throw new Error(`chunk maxt ${c.maxt} but last sample ${last}`);
    }
    out.push({ labels: labelsToString(s.labels), samples });
  }
  return out;
}

export function bitsEqual(a: number, b: number): boolean {
  return floatHiBits(a) === floatHiBits(b) && floatLoBits(a) === floatLoBits(b);
}

export function key(ls: Labels): string {
  return labelsToString(ls);
}
