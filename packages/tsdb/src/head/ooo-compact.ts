// Writing the head's out-of-order samples as blocks (Prometheus DB.compactOOO over an
// OOOCompactionHead, 2.42):
//
//   - every OOO head chunk is closed first and the highest chunk sequence noted: what is
//     written is exactly the chunks up to it, and truncateOOO(maxSeq) drops exactly
//     those afterwards (chunks started during the write stay in the head);
//   - one block per aligned chunkRange [t, t + chunkRange) from the oldest OOO sample
//     to the newest, holding only OOO samples; such blocks may overlap in-order blocks
//     (the compactor merges them vertically) and carry the meta.json compaction hint
//     "from-out-of-order";
//   - overlapping OOO chunks of a series are merged (the older chunk wins on equal
//     timestamps, as the OOO head chunk keeps the first write) and cut at the block's
//     ends. Tombstones do not apply to OOO samples, as in Prometheus.

import { compareLabels, compareStrings, type Labels } from '../labels/index.js';
import { rm } from 'node:fs/promises';
import { XorIterator, type XorChunk } from '../chunkenc/index.js';
import { BlockWriter } from '../block/index.js';
import type { SeriesChunk } from '../storage/index.js';
import { ulid as newUlid } from '../ulid/index.js';
import { addChunkInRange, type Head, type PersistBlockOptions, type PersistedBlock } from './head.js';
import { mergeOverlappingChunks } from './merge-chunks.js';
import type { OOOClosedChunk } from './ooo-series.js';

/** The compaction hint of blocks written from out-of-order samples (BlockMeta.Compaction.SetOutOfOrder). */
export const OUT_OF_ORDER_HINT = 'from-out-of-order';

/** What persistOOOBlocks wrote, and the chunk sequence to pass to Head.truncateOOO. */
export interface OOOCompaction {
  blocks: PersistedBlock[];
  maxSeq: number;
}

/** Whether a block was written from out-of-order samples (BlockMetaCompaction.FromOutOfOrder). */
export function isOutOfOrderBlock(meta: { compaction?: { hints?: readonly string[] } }): boolean {
  return meta.compaction?.hints?.includes(OUT_OF_ORDER_HINT) ?? false;
}

/**
 * Writes the head's out-of-order samples as blocks under `parent` (opts.ulid and
 * opts.compaction are ignored: each block gets its own). On failure the blocks written
 * so far are removed. The head is not truncated: call head.truncateOOO(maxSeq) once the
 * blocks are loaded.
 *
 * `onCaptured` is called in the same tick as the chunks are closed, before anything else
 * runs: there the WBL starts its next segment, so that every sample in the chunks
 * written was logged (or queued to be logged) before that segment, and every later one
 * after it (a commit inserts and queues its WBL write in one tick).
 */
export async function persistOOOBlocks(
  head: Head,
  parent: string,
  opts: PersistBlockOptions = {},
  onCaptured?: () => Promise<unknown>,
): Promise<OOOCompaction> {
  const selected: { labels: Labels; chunks: readonly OOOClosedChunk[] }[] = [];
  let mint = Infinity;
  let maxt = -Infinity;
  for (const s of head.memSeries()) {
    const ooo = s.ooo;
    if (ooo === null) continue;
    ooo.closeHead();
    if (ooo.closed.length === 0) continue;
    // A copy: chunks cut during the write must not show up half-way.
    const chunks = ooo.closed.slice();
    for (const c of chunks) {
      if (c.mint < mint) mint = c.mint;
      if (c.maxt > maxt) maxt = c.maxt;
    }
    selected.push({ labels: s.labels, chunks });
  }
  // Everything started from now on has a higher sequence.
  const maxSeq = head.nextOOOChunkSeq();
  if (onCaptured !== undefined) await onCaptured();
  const blocks: PersistedBlock[] = [];
  if (selected.length === 0) return { blocks, maxSeq };
  selected.sort((a, b) => compareLabels(a.labels, b.labels));
  const width = head.chunkRange;
  try {
    for (let t = Math.floor(mint / width) * width; t <= maxt; t += width) {
      const b = await writeRange(selected, t, t + width, parent, opts);
      if (b !== null) blocks.push(b);
    }
  } catch (err) {
    await Promise.all(blocks.map((b) => rm(b.dir, { recursive: true, force: true })));
    throw new Error(`compact ooo head: ${(err as Error).message}`, { cause: err });
  }
  return { blocks, maxSeq };
}

async function writeRange(
  selected: readonly { labels: Labels; chunks: readonly OOOClosedChunk[] }[],
  mint: number,
  maxt: number,
  parent: string,
  opts: PersistBlockOptions,
): Promise<PersistedBlock | null> {
  const last = maxt - 1;
  const inRange = selected.filter((s) => s.chunks.some((c) => c.mint <= last && c.maxt >= mint));
  if (inRange.length === 0) return null;
  const symbols = new Set<string>();
  for (const s of inRange) for (const l of s.labels) symbols.add(l.name).add(l.value);
  const id = newUlid();
  const w = new BlockWriter(parent, {
    mint,
    maxt,
    symbols: [...symbols].sort(compareStrings),
    ulid: id,
    compaction: { level: 1, sources: [id], hints: [OUT_OF_ORDER_HINT] },
    thanos: opts.thanos,
  });
  try {
    const it = new XorIterator();
    const out: SeriesChunk[] = [];
    for (let k = 0; k < inRange.length; k++) {
      const s = inRange[k];
      // Chunks are in sequence order: the index is the precedence (older wins).
      const tagged: { c: SeriesChunk; set: number }[] = [];
      s.chunks.forEach((c, set) => {
        if (c.mint <= last && c.maxt >= mint) tagged.push({ c, set });
      });
      out.length = 0;
      // Every chunk here is XOR: the OOO chunks and what merging re-encodes.
      for (const c of mergeOverlappingChunks(tagged)) addChunkInRange(out, c.mint, c.maxt, c.chunk as XorChunk, mint, last, null, it);
      if (out.length > 0) w.addSeries(s.labels, out);
      if ((k & 0x3fff) === 0x3fff) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (w.stats().numSamples === 0) {
      await w.abort();
      return null;
    }
    const meta = await w.close();
    return { ulid: w.ulid, dir: w.dir, meta };
  } catch (err) {
    await w.abort();
    throw err;
  }
}
