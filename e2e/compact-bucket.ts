// Helpers for the compactor e2e test: small blocks written with the tsdb SeriesBuilder
// and uploaded with external labels, and an inventory of a bucket that checks the
// compactor's crash-safety promises (a block with meta.json has all its files; every
// source block's data is held by some whole block).

import type { Bucket } from '@thanos-ts/objstore';
import { getBytes } from '@thanos-ts/objstore';
import { uploadBlock } from '@thanos-ts/block';
import { labelsFromRecord, parseBlockMeta, SeriesBuilder, SourceType, THANOS_VERSION_1, ulid, ZERO_TIME } from '@thanos-ts/tsdb';
import type { BlockMeta } from '@thanos-ts/tsdb';
import { tempDir } from '@thanos-ts/testutil';

/** Writes a block of two gauges sampled every minute over [mint, maxt) and uploads it. */
export async function putBlock(bkt: Bucket, labels: Record<string, string>, mint: number, maxt: number, resolution = 0): Promise<BlockMeta> {
  const b = new SeriesBuilder();
  for (let s = 0; s < 2; s++) {
    const ls = labelsFromRecord({ __name__: 'g', instance: `i${s}` });
    for (let t = mint; t < maxt; t += 60_000) b.append(ls, t, s + (t % 7));
  }
  const dir = await tempDir('e2e-compact-block');
  const w = await b.writeBlock(dir, {
    mint,
    maxt,
    ulid: ulid(Date.now()),
    thanos: { version: THANOS_VERSION_1, labels, downsample: { resolution }, source: SourceType.Sidecar, index_stats: {}, upload_time: ZERO_TIME },
  });
  if (!w) throw new Error('putBlock: empty block');
  return uploadBlock(bkt, w.dir);
}

export interface Inventory {
  /** Blocks with meta.json, by ULID. */
  metas: Map<string, BlockMeta>;
  /** Directories without meta.json and without a deletion mark: uploads under way or aborted. */
  partialUploads: string[];
  /** Directories without meta.json but with a deletion mark: deletions under way or aborted. */
  partialDeletes: string[];
  /** Blocks with a deletion mark (meta.json still there). */
  marked: string[];
  /** Broken promises: a block visible without one of its files. */
  problems: string[];
}

/** The bucket's block directories and their files (one listing, no reads). */
export async function listing(bkt: Bucket): Promise<Map<string, Set<string>>> {
  const files = new Map<string, Set<string>>();
  await bkt.iter(
    '',
    (name) => {
      const i = name.indexOf('/');
      if (i < 0) return;
      const id = name.slice(0, i);
      let s = files.get(id);
      if (!s) files.set(id, (s = new Set()));
      s.add(name.slice(i + 1));
    },
    { recursive: true },
  );
  for (const id of [...files.keys()]) if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(id)) files.delete(id);
  return files;
}

/** Partial uploads and partial deletes in a listing (see Inventory). */
export function partials(files: Map<string, Set<string>>): { partialUploads: string[]; partialDeletes: string[] } {
  const out = { partialUploads: [] as string[], partialDeletes: [] as string[] };
  for (const [id, fs] of files) if (!fs.has('meta.json')) (fs.has('deletion-mark.json') ? out.partialDeletes : out.partialUploads).push(id);
  return out;
}

/** Lists every object of the bucket and checks every block with meta.json is whole. */
export async function inventory(bkt: Bucket): Promise<Inventory> {
  const files = await listing(bkt);
  const inv: Inventory = { metas: new Map(), partialUploads: [], partialDeletes: [], marked: [], problems: [] };
  for (const [id, fs] of files) {
    if (!fs.has('meta.json')) {
      (fs.has('deletion-mark.json') ? inv.partialDeletes : inv.partialUploads).push(id);
      continue;
    }
    let meta: BlockMeta;
    try {
      meta = parseBlockMeta(Buffer.from(await getBytes(bkt, `${id}/meta.json`)).toString('utf8'));
    } catch (err) {
      // Deleted between the listing and the read: meta.json goes first, so that is fine.
      if (/not.?found|NoSuchKey|ENOENT/i.test((err as Error).message)) continue;
      throw err;
    }
    if (fs.has('deletion-mark.json')) inv.marked.push(id);
    if (!fs.has('index')) inv.problems.push(`${id}: meta.json without index`);
    if (![...fs].some((f) => f.startsWith('chunks/'))) inv.problems.push(`${id}: meta.json without chunks`);
    for (const f of meta.thanos.files ?? []) if (f.rel_path !== 'meta.json' && !fs.has(f.rel_path)) inv.problems.push(`${id}: meta.json lists ${f.rel_path}, which is missing`);
    inv.metas.set(id, meta);
  }
  return inv;
}

/** Source blocks (raw resolution) whose data no whole raw block holds any more. */
export function lostSources(inv: Inventory, sources: Iterable<string>): string[] {
  const held = new Set<string>();
  for (const m of inv.metas.values()) if (m.thanos.downsample.resolution === 0) for (const s of m.compaction.sources ?? [m.ulid]) held.add(s);
  return [...sources].filter((s) => !held.has(s));
}

export const sampleSum = (ms: Iterable<BlockMeta>): number => {
  let n = 0;
  for (const m of ms) n += m.stats.numSamples ?? 0;
  return n;
};
