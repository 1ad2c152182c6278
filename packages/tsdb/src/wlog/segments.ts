// Segment files of a write log directory: `00000000`, `00000001`, … (%08d; any all-digit
// name is read, as Prometheus's strconv.Atoi does), numbered without gaps.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Records are laid out in 32 KiB pages; a fragment never crosses a page. */
export const WAL_PAGE_SIZE = 32 * 1024;
/** Prometheus's default segment size, 128 MiB; any multiple of the page size is valid. */
export const WAL_DEFAULT_SEGMENT_SIZE = 128 * 1024 * 1024;
/** type(1) ‖ length(2, BE) ‖ CRC32C(4, BE) of the fragment's data. */
export const WAL_RECORD_HEADER_SIZE = 7;

export interface SegmentRef {
  name: string;
  index: number;
}

/** Path of segment i in dir. */
export function segmentName(dir: string, i: number): string {
  return join(dir, String(i).padStart(8, '0'));
}

/**
 * The segments in dir, ascending.
 * @throws Error `segments are not sequential` when an index is missing between two others
 */
export async function listSegments(dir: string): Promise<SegmentRef[]> {
  const refs: SegmentRef[] = [];
  for (const name of await readdir(dir)) {
    if (!/^\d+$/.test(name)) continue;
    refs.push({ name, index: Number(name) });
  }
  refs.sort((a, b) => a.index - b.index);
  for (let i = 0; i + 1 < refs.length; i++) {
    if (refs[i].index + 1 !== refs[i + 1].index) {
      throw new Error(`list segments: ${dir}: segments are not sequential (${refs[i].name} then ${refs[i + 1].name})`);
    }
  }
  return refs;
}

/** The first and last segment index in dir; both -1 when there is none (wlog.Segments). */
export async function segmentRange(dir: string): Promise<{ first: number; last: number }> {
  const refs = await listSegments(dir);
  if (refs.length === 0) return { first: -1, last: -1 };
  return { first: refs[0].index, last: refs[refs.length - 1].index };
}
