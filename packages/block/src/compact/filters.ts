// Meta filters the compactor adds to the fetcher's (Thanos block.ReplicaLabelRemover,
// block.DeduplicateFilter, compact.GatherNoCompactionMarkFilter and
// downsample.GatherNoDownsampleMarkFilter).

import type { MetaFilter } from '../fetcher.js';
import type { Bucket } from '@thanos-ts/objstore';
import { getBytes, isObjectNotFound } from '@thanos-ts/objstore';
import { mapConcurrent } from '@thanos-ts/runtime';
import { NO_COMPACT_MARK_FILENAME, NO_DOWNSAMPLE_MARK_FILENAME, parseNoCompactMark, parseNoDownsampleMark } from '@thanos-ts/tsdb';
import type { BlockMeta, NoCompactMark, NoDownsampleMark } from '@thanos-ts/tsdb';

/**
 * Drops the replica labels from every block's external labels (in the fetched metas
 * only, never in the bucket), so the replicas of one cluster fall into one group and
 * are merged by vertical compaction (offline deduplication).
 */
export function replicaLabelRemover(replicaLabels: readonly string[]): MetaFilter {
  return {
    name: 'replica-label-remover',
    filter: async (metas) => {
      if (replicaLabels.length === 0) return new Set();
      for (const m of metas.values()) {
        if (m.thanos.labels === null) continue;
        const ls = { ...m.thanos.labels };
        for (const l of replicaLabels) delete ls[l];
        m.thanos.labels = ls;
      }
      return new Set();
    },
  };
}

/**
 * Finds blocks whose data another block of the same resolution already holds: every
 * one of its compaction sources is among the other's (Thanos DeduplicateFilter). This
 * happens when a compactor died after uploading a compacted block and before marking
 * its inputs, or when two compactors ran on one stream. Duplicates are filtered out
 * and remembered; the syncer marks them for deletion.
 */
export class DeduplicateFilter implements MetaFilter {
  readonly name = 'duplicate';
  readonly duplicates = new Set<string>();

  async filter(metas: Map<string, BlockMeta>): Promise<Set<string>> {
    this.duplicates.clear();
    for (const id of findDuplicates([...metas.values()])) this.duplicates.add(id);
    return new Set(this.duplicates);
  }
}

/**
 * The blocks whose sources are all covered by another block of the same resolution:
 * a strict superset, or the same set held by a block with a smaller ULID (the first
 * one uploaded stays).
 */
export function findDuplicates(metas: readonly BlockMeta[]): string[] {
  const out: string[] = [];
  const byRes = new Map<number, BlockMeta[]>();
  for (const m of metas) {
    const r = m.thanos.downsample.resolution;
    const list = byRes.get(r) ?? [];
    list.push(m);
    byRes.set(r, list);
  }
  for (const list of byRes.values()) {
    const sources = new Map(list.map((m) => [m.ulid, new Set(m.compaction.sources ?? [m.ulid])]));
    // Which blocks hold each source, so only blocks sharing a source are compared.
    const holders = new Map<string, BlockMeta[]>();
    for (const m of list) for (const s of sources.get(m.ulid)!) holders.set(s, [...(holders.get(s) ?? []), m]);
    for (const m of list) {
      const mine = sources.get(m.ulid)!;
      const first = [...mine][0];
      if (first === undefined) continue;
      const covered = (holders.get(first) ?? []).some((o) => {
        if (o.ulid === m.ulid) return false;
        const theirs = sources.get(o.ulid)!;
        if (theirs.size < mine.size) return false;
        for (const s of mine) if (!theirs.has(s)) return false;
        return theirs.size > mine.size || o.ulid < m.ulid;
      });
      if (covered) out.push(m.ulid);
    }
  }
  return out.sort();
}

/** Reads the no-compact marks of fetched blocks without filtering them out. */
export class GatherNoCompactMarkFilter implements MetaFilter {
  readonly name = 'no-compact-mark';
  readonly marks = new Map<string, NoCompactMark>();

  constructor(private readonly concurrency = 32) {}

  async filter(metas: Map<string, BlockMeta>, bkt: Bucket): Promise<Set<string>> {
    const marks = await gatherMarks(bkt, [...metas.keys()], NO_COMPACT_MARK_FILENAME, parseNoCompactMark, this.concurrency);
    this.marks.clear();
    for (const [id, m] of marks) this.marks.set(id, m);
    return new Set();
  }
}

/** Reads the no-downsample marks of fetched blocks without filtering them out. */
export class GatherNoDownsampleMarkFilter implements MetaFilter {
  readonly name = 'no-downsample-mark';
  readonly marks = new Map<string, NoDownsampleMark>();

  constructor(private readonly concurrency = 32) {}

  async filter(metas: Map<string, BlockMeta>, bkt: Bucket): Promise<Set<string>> {
    const marks = await gatherMarks(bkt, [...metas.keys()], NO_DOWNSAMPLE_MARK_FILENAME, parseNoDownsampleMark, this.concurrency);
    this.marks.clear();
    for (const [id, m] of marks) this.marks.set(id, m);
    return new Set();
  }
}

async function gatherMarks<T>(bkt: Bucket, ids: string[], file: string, parse: (raw: Uint8Array, name: string) => T, concurrency: number): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  await mapConcurrent(ids, concurrency, async (id) => {
    let raw: Uint8Array;
    try {
      raw = await getBytes(bkt, `${id}/${file}`);
    } catch (err) {
      if (isObjectNotFound(err)) return;
      throw err;
    }
    out.set(id, parse(raw, `${id}/${file}`));
  });
  return out;
}
