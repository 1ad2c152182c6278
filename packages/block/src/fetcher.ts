// The meta fetcher (Thanos block.MetaFetcher): lists the blocks in a bucket and reads
// their meta.json concurrently, sorting them into usable, partial (no meta.json: an
// upload in progress or aborted) and corrupted (meta.json that does not parse).

import type { Bucket } from '@thanos-ts/objstore';
import { getBytes, isObjectNotFound } from '@thanos-ts/objstore';
import { DELETION_MARK_FILENAME, isValidUlid, META_FILENAME, parseBlockMeta, parseDeletionMark, ulidTime } from '@thanos-ts/tsdb';
import type { BlockMeta, DeletionMark } from '@thanos-ts/tsdb';
import { mapConcurrent } from '@thanos-ts/runtime';

export interface FetchResult {
  /** Usable blocks by ULID, after filters. */
  metas: Map<string, BlockMeta>;
  /** Blocks without meta.json. */
  partial: Map<string, Error>;
  /** Blocks whose meta.json could not be parsed. */
  corrupted: Map<string, Error>;
  /** Blocks removed by a filter, with the filter's name. */
  filtered: Map<string, string>;
}

/** Drops blocks from a fetch result; returns the name used in `filtered`. */
export interface MetaFilter {
  readonly name: string;
  filter(metas: Map<string, BlockMeta>, bkt: Bucket): Promise<Set<string>>;
}

export interface MetaFetcherOptions {
  concurrency?: number;
  filters?: MetaFilter[];
}

/** Lists `<ULID>/` directories at the bucket root. */
export async function listBlockIds(bkt: Bucket): Promise<string[]> {
  const ids: string[] = [];
  await bkt.iter('', (name) => {
    if (name.endsWith('/') && isValidUlid(name.slice(0, -1))) ids.push(name.slice(0, -1));
  });
  return ids.sort();
}

export class MetaFetcher {
  constructor(
    private readonly bkt: Bucket,
    private readonly opts: MetaFetcherOptions = {},
  ) {}

  async fetch(): Promise<FetchResult> {
    const ids = await listBlockIds(this.bkt);
    const res: FetchResult = { metas: new Map(), partial: new Map(), corrupted: new Map(), filtered: new Map() };
    await mapConcurrent(ids, this.opts.concurrency ?? 32, async (id) => {
      let raw: Uint8Array;
      try {
        raw = await getBytes(this.bkt, `${id}/${META_FILENAME}`);
      } catch (err) {
        if (isObjectNotFound(err)) {
          res.partial.set(id, new Error(`block ${id}: meta.json not found`));
          return;
        }
        throw err;
      }
      try {
        const meta = parseBlockMeta(raw, `${id}/${META_FILENAME}`);
        if (meta.ulid !== id) throw new Error(`meta.json ulid ${meta.ulid} does not match directory ${id}`);
        res.metas.set(id, meta);
      } catch (err) {
        res.corrupted.set(id, err as Error);
      }
    });
    for (const f of this.opts.filters ?? []) {
      for (const id of await f.filter(res.metas, this.bkt)) {
        res.metas.delete(id);
        res.filtered.set(id, f.name);
      }
    }
    return res;
  }
}

/** Keeps blocks overlapping [minTime, maxTime] (ms), as Thanos' TimePartitionMetaFilter. */
export function timePartitionFilter(minTime: number, maxTime: number): MetaFilter {
  return {
    name: 'time-excluded',
    filter: async (metas) => {
      const out = new Set<string>();
      for (const [id, m] of metas) if (m.maxTime < minTime || m.minTime > maxTime) out.add(id);
      return out;
    },
  };
}

/** Keeps blocks whose external labels satisfy `keep` (label selectors, relabel rules). */
export function labelFilter(name: string, keep: (labels: Record<string, string>, meta: BlockMeta) => boolean): MetaFilter {
  return {
    name,
    filter: async (metas) => {
      const out = new Set<string>();
      for (const [id, m] of metas) if (!keep(m.thanos.labels ?? {}, m)) out.add(id);
      return out;
    },
  };
}

/**
 * Drops blocks whose deletion mark is older than `delayMs` and remembers every mark it
 * saw (Thanos' IgnoreDeletionMarkFilter).
 */
export class IgnoreDeletionMarkFilter implements MetaFilter {
  readonly name = 'marked-for-deletion';
  readonly marks = new Map<string, DeletionMark>();

  constructor(
    private readonly delayMs: number,
    private readonly concurrency = 32,
    private readonly now: () => number = Date.now,
  ) {}

  async filter(metas: Map<string, BlockMeta>, bkt: Bucket): Promise<Set<string>> {
    const out = new Set<string>();
    // Gathered aside and swapped in at the end: readers (the blocks API) never see a
    // half-read set of marks.
    const marks = new Map<string, DeletionMark>();
    await mapConcurrent([...metas.keys()], this.concurrency, async (id) => {
      let raw: Uint8Array;
      try {
        raw = await getBytes(bkt, `${id}/${DELETION_MARK_FILENAME}`);
      } catch (err) {
        if (isObjectNotFound(err)) return;
        throw err;
      }
      const mark = parseDeletionMark(raw, `${id}/${DELETION_MARK_FILENAME}`);
      marks.set(id, mark);
      if (this.now() / 1000 - mark.deletion_time >= this.delayMs / 1000) out.add(id);
    });
    this.marks.clear();
    for (const [id, m] of marks) this.marks.set(id, m);
    return out;
  }
}

/**
 * Hides blocks younger than `delayMs` by their ULID time, so that an eventually
 * consistent bucket has shown all their files (Thanos ConsistencyDelayMetaFilter). Blocks
 * made by the compactor or a repair are exempt: they are uploaded whole before anyone
 * can see them.
 */
export function consistencyDelayFilter(delayMs: number, now: () => number = Date.now): MetaFilter {
  return {
    name: 'too-fresh',
    filter: async (metas) => {
      const out = new Set<string>();
      if (delayMs <= 0) return out;
      for (const [id, m] of metas) {
        const src = m.thanos.source ?? '';
        if (src === 'compactor' || src === 'compactor.repair' || src === 'bucket.repair') continue;
        if (now() - ulidTime(id) < delayMs) out.add(id);
      }
      return out;
    },
  };
}
