// GET /api/v1/blocks as Thanos' blocks API (pkg/api/blocks/v1.go) answers it: the
// blocks a component has loaded, in the Prometheus API envelope. The store gateway and
// the compactor serve it.

import type { RouteHandler } from '@thanos-ts/runtime';
import type { BlockMeta } from '@thanos-ts/tsdb';

export interface BlocksApiState {
  blocks: BlockMeta[];
  /** When the list was last refreshed (unix ms; 0: never). */
  refreshedAt: number;
  /** Why the last refresh failed, or null. */
  err: string | null;
  /** --bucket-web-label. */
  label?: string;
}

/** A route handler for /api/v1/blocks serving whatever `state()` returns at request time. */
export function blocksApiHandler(state: () => BlocksApiState): RouteHandler {
  return (_req, res) => {
    const s = state();
    const body = JSON.stringify({
      status: 'success',
      data: { blocks: s.blocks, label: s.label ?? '', refreshedAt: new Date(s.refreshedAt).toISOString(), err: s.err },
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  };
}
