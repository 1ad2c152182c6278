// GET /api/v1/blocks as Thanos' blocks API (pkg/api/blocks/v1.go) answers it: the
// blocks a component has loaded, in the Prometheus API envelope. The store gateway and
// the compactor serve it. Each meta also carries the deletion and no-compact marks its
// block had at the last sync (as `deletionMark` / `noCompactMark`, absent when there is
// none): the filters of that sync read them already, so a request reads no bucket.

import type { RouteHandler } from '@thanos-ts/runtime';
import type { BlockMeta, DeletionMark, NoCompactMark } from '@thanos-ts/tsdb';

export interface BlocksApiState {
  blocks: BlockMeta[];
  /** When the list was last refreshed (unix ms; 0: never). */
  refreshedAt: number;
  /** Why the last refresh failed, or null. */
  err: string | null;
  /** --bucket-web-label. */
  label?: string;
  /** deletion-mark.json by block, as the last sync found them (IgnoreDeletionMarkFilter.marks). */
  deletionMarks?: ReadonlyMap<string, DeletionMark>;
  /** no-compact-mark.json by block, as the last sync found them (GatherNoCompactMarkFilter.marks). */
  noCompactMarks?: ReadonlyMap<string, NoCompactMark>;
}

/** A block's meta as the API lists it: meta.json, and its marks when it has any. */
type BlocksApiMeta = BlockMeta & { deletionMark?: DeletionMark; noCompactMark?: NoCompactMark };

/** A route handler for /api/v1/blocks serving whatever `state()` returns at request time. */
export function blocksApiHandler(state: () => BlocksApiState): RouteHandler {
  return (_req, res) => {
    const s = state();
    const body = JSON.stringify({
      status: 'success',
      data: { blocks: withMarks(s), label: s.label ?? '', refreshedAt: new Date(s.refreshedAt).toISOString(), err: s.err },
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  };
}

function withMarks(s: BlocksApiState): BlocksApiMeta[] {
  // fast path: no marks known, the metas go out as they are
  if (!s.deletionMarks?.size && !s.noCompactMarks?.size) return s.blocks;
  return s.blocks.map((b) => {
    const deletionMark = s.deletionMarks?.get(b.ulid);
    const noCompactMark = s.noCompactMarks?.get(b.ulid);
    return deletionMark || noCompactMark ? { ...b, deletionMark, noCompactMark } : b;
  });
}
