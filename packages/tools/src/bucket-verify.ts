// `tools bucket verify`: checks every block against the issues Thanos knows
// (index_known_issues, overlapped_blocks, duplicated_compaction) and reports each
// problem with the block and what is wrong. Unlike Thanos, a failed check makes the
// command exit non-zero, so it can gate a pipeline; so does a FILESYSTEM bucket whose
// directory does not exist, which would otherwise list as an empty, healthy bucket.

import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bucket } from '@thanos-ts/objstore';
import { downloadBlock, IgnoreDeletionMarkFilter, markForDeletion, MetaFetcher, uploadBlock, findDuplicates, groupBlocks, selectOverlappingMetas, tsdbCompact, verticalMergeFor } from '@thanos-ts/block';
import {
  ChunkReader,
  compareLabels,
  chunkFromBytes,
  IndexReader,
  isValidUlid,
  labelsToString,
  postingsForMatchers,
  newMatcher,
  MatchType,
  validateLabels,
  SourceType,
  ValueType,
} from '@thanos-ts/tsdb';
import type { BlockMeta, Label } from '@thanos-ts/tsdb';
import { UserError } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';

export const VERIFY_ISSUES = ['index_known_issues', 'overlapped_blocks', 'duplicated_compaction'] as const;
export const DEFAULT_VERIFY_ISSUES = ['index_known_issues', 'overlapped_blocks'];

export interface VerifyOptions {
  issues: string[];
  ids?: string[];
  logger: Logger;
}

export interface VerifyProblem {
  block: string;
  issue: string;
  problem: string;
}

const RESOLUTIONS = new Set([0, 300_000, 3_600_000]);

export async function bucketVerify(bkt: Bucket, opts: VerifyOptions): Promise<VerifyProblem[]> {
  for (const i of opts.issues) {
    if (!(VERIFY_ISSUES as readonly string[]).includes(i)) throw new UserError(`--issues: unknown issue "${i}" (want ${VERIFY_ISSUES.join(', ')})`);
  }
  for (const id of opts.ids ?? []) if (!isValidUlid(id)) throw new UserError(`--id: invalid ULID "${id}"`);
  await checkBucketDirectory(bkt);
  const problems: VerifyProblem[] = [];
  const res = await new MetaFetcher(bkt, { filters: [new IgnoreDeletionMarkFilter(0)] }).fetch();
  for (const [id, err] of res.corrupted) problems.push({ block: id, issue: 'meta', problem: err.message });
  const wanted = (m: BlockMeta): boolean => !opts.ids?.length || opts.ids.includes(m.ulid);
  const metas = [...res.metas.values()].sort((a, b) => a.minTime - b.minTime || (a.ulid < b.ulid ? -1 : 1));
  opts.logger.info({ blocks: metas.length, partial: res.partial.size, issues: opts.issues }, 'verifying blocks');

  for (const m of metas.filter(wanted)) for (const p of checkMeta(m)) problems.push({ block: m.ulid, issue: 'meta', problem: p });

  if (opts.issues.includes('index_known_issues')) {
    const todo = metas.filter(wanted);
    let done = 0;
    for (const m of todo) {
      for (const p of await verifyBlockData(bkt, m)) problems.push({ block: m.ulid, issue: 'index_known_issues', problem: p });
      done++;
      opts.logger.info({ block: m.ulid, done, total: todo.length }, 'verified block index and chunks');
    }
  }
  if (opts.issues.includes('overlapped_blocks')) {
    for (const o of overlaps(metas)) if (wanted(o.a) || wanted(o.b)) problems.push(o.problem);
  }
  if (opts.issues.includes('duplicated_compaction')) {
    for (const p of duplicatedCompaction(metas)) problems.push(p);
  }
  return problems;
}

/**
 * Fails when the bucket is a FILESYSTEM bucket whose directory is missing or not a
 * directory. The Bucket interface lists a missing directory as empty (as Thanos's
 * filesystem Iter does), so a typo in `directory:` would verify as "no problems"; the
 * directory is known only from the bucket's name, `fs: <absolute directory>` (also
 * through a PrefixedBucket). S3 reports a missing bucket by itself on the first list.
 */
async function checkBucketDirectory(bkt: Bucket): Promise<void> {
  const name = bkt.name();
  if (!name.startsWith('fs: ')) return;
  const dir = name.slice('fs: '.length);
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `bucket directory ${dir} does not exist` : `bucket directory ${dir}: ${(err as Error).message}`);
  }
  if (!isDir) throw new UserError(`bucket directory ${dir} is not a directory`);
}

function checkMeta(m: BlockMeta): string[] {
  const out: string[] = [];
  if (m.version !== 1) out.push(`meta.json version ${m.version}, want 1`);
  if (m.minTime >= m.maxTime) out.push(`minTime ${m.minTime} is not before maxTime ${m.maxTime}`);
  if (!RESOLUTIONS.has(m.thanos.downsample.resolution)) out.push(`unknown downsample resolution ${m.thanos.downsample.resolution}`);
  if (!m.thanos.labels || Object.keys(m.thanos.labels).length === 0) out.push('no external labels (thanos.labels)');
  if (m.compaction.level < 1) out.push(`compaction level ${m.compaction.level}, want >= 1`);
  return out;
}

/** Downloads the block and checks its index (CRCs, order, chunk refs) and chunks against meta.json. */
async function verifyBlockData(bkt: Bucket, m: BlockMeta): Promise<string[]> {
  const tmp = await mkdtemp(join(tmpdir(), 'thanos-ts-verify-'));
  const out: string[] = [];
  try {
    try {
      await downloadBlock(bkt, m.ulid, tmp);
    } catch (err) {
      return [(err as Error).message];
    }
    const dir = join(tmp, m.ulid);
    let ir: IndexReader;
    try {
      ir = IndexReader.fromFile(join(dir, 'index'), `${m.ulid}/index`);
    } catch (err) {
      return [(err as Error).message];
    }
    let cr: ChunkReader | null = null;
    try {
      cr = ChunkReader.open(join(dir, 'chunks'));
    } catch (err) {
      out.push((err as Error).message);
    }
    try {
      const all = postingsForMatchers(ir, [newMatcher(MatchType.EQ, '', '')]);
      let prev: Label[] | null = null;
      let series = 0;
      let chunks = 0;
      let samples = 0;
      while (all.next()) {
        const ref = all.at();
        const s = ir.series(ref);
        const labels = s.labels.map((l) => ({ ...l }));
        const name = labelsToString(labels);
        const bad = validateLabels(labels);
        if (bad) out.push(`series ${name}: ${bad}`);
        if (prev && compareLabels(prev, labels) >= 0) out.push(`series ${name} is not after ${labelsToString(prev)}: index not sorted`);
        prev = labels;
        series++;
        let lastMaxt = -Infinity;
        for (const c of s.chunks) {
          chunks++;
          if (c.mint > c.maxt) out.push(`series ${name}: chunk ${c.ref} has minTime ${c.mint} > maxTime ${c.maxt}`);
          if (c.mint <= lastMaxt) out.push(`series ${name}: chunk ${c.ref} overlaps the previous chunk`);
          if (c.mint < m.minTime || c.maxt >= m.maxTime) {
            out.push(`series ${name}: chunk ${c.ref} [${c.mint}, ${c.maxt}] outside block range [${m.minTime}, ${m.maxTime})`);
          }
          lastMaxt = c.maxt;
          if (!cr) continue;
          try {
            const rec = cr.chunk(c.ref);
            samples += checkChunk(rec.encoding, rec.data, c.mint, c.maxt, name, c.ref, out);
          } catch (err) {
            out.push(`series ${name}: chunk ${c.ref}: ${(err as Error).message}`);
          }
        }
        if (out.length > 100) {
          out.push('too many problems, stopping this block');
          break;
        }
      }
      if (all.err()) out.push(all.err()!.message);
      if (m.stats.numSeries !== undefined && m.stats.numSeries !== series) out.push(`meta.json counts ${m.stats.numSeries} series, index has ${series}`);
      if (m.stats.numChunks !== undefined && m.stats.numChunks !== chunks) out.push(`meta.json counts ${m.stats.numChunks} chunks, index has ${chunks}`);
      if (cr && m.thanos.downsample.resolution === 0 && m.stats.numSamples !== undefined && m.stats.numSamples !== samples) {
        out.push(`meta.json counts ${m.stats.numSamples} samples, chunks hold ${samples}`);
      }
    } catch (err) {
      out.push((err as Error).message);
    }
    cr?.close();
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return out;
}

/** Decodes a raw chunk and checks its first and last timestamps against the index. Returns its sample count. */
function checkChunk(encoding: number, data: Uint8Array, mint: number, maxt: number, name: string, ref: number, out: string[]): number {
  if (encoding === 0xff) return 0; // downsampled aggregate chunk: checked by its own reader
  const it = chunkFromBytes(encoding, data).iterator();
  let n = 0;
  let first = NaN;
  let last = NaN;
  while (it.next() !== ValueType.None) {
    if (n === 0) first = it.atT();
    else if (it.atT() <= last) out.push(`series ${name}: chunk ${ref}: timestamps not increasing at ${it.atT()}`);
    last = it.atT();
    n++;
  }
  if (it.err()) out.push(`series ${name}: chunk ${ref}: ${it.err()!.message}`);
  else if (n > 0 && (first !== mint || last !== maxt)) {
    out.push(`series ${name}: chunk ${ref}: samples span [${first}, ${last}] but index says [${mint}, ${maxt}]`);
  }
  return n;
}

function groupKey(m: BlockMeta): string {
  const labels = m.thanos.labels ?? {};
  return `${m.thanos.downsample.resolution}@${JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]))}`;
}

function overlaps(metas: BlockMeta[]): { a: BlockMeta; b: BlockMeta; problem: VerifyProblem }[] {
  const groups = new Map<string, BlockMeta[]>();
  for (const m of metas) {
    const k = groupKey(m);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(m);
  }
  const out: { a: BlockMeta; b: BlockMeta; problem: VerifyProblem }[] = [];
  for (const [, g] of groups) {
    g.sort((a, b) => a.minTime - b.minTime);
    for (let i = 0; i < g.length; i++) {
      for (let j = i + 1; j < g.length && g[j].minTime < g[i].maxTime; j++) {
        const a = g[i];
        const b = g[j];
        out.push({
          a,
          b,
          problem: {
            block: b.ulid,
            issue: 'overlapped_blocks',
            problem: `overlaps ${a.ulid}: [${b.minTime}, ${b.maxTime}) and [${a.minTime}, ${a.maxTime}) share labels {${labelString(a)}} and resolution ${a.thanos.downsample.resolution}`,
          },
        });
      }
    }
  }
  return out;
}

function labelString(m: BlockMeta): string {
  const l = m.thanos.labels ?? {};
  return Object.keys(l)
    .sort()
    .map((k) => `${k}=${JSON.stringify(l[k])}`)
    .join(', ');
}

function duplicatedCompaction(metas: BlockMeta[]): VerifyProblem[] {
  const seen = new Map<string, string>();
  const out: VerifyProblem[] = [];
  for (const m of metas) {
    const key = groupKey(m) + '|' + [...(m.compaction.sources ?? [m.ulid])].sort().join(',');
    const other = seen.get(key);
    if (other) out.push({ block: m.ulid, issue: 'duplicated_compaction', problem: `same sources as ${other}` });
    else seen.set(key, m.ulid);
  }
  return out;
}

export interface RepairOptions {
  issues: string[];
  ids?: string[];
  /** Where overlapping blocks are downloaded and merged. */
  tmpDir: string;
  logger: Logger;
  /** Vertical merge for overlaps: "" one-to-one (default) or "penalty". */
  dedupFunc?: string;
}

export interface RepairAction {
  issue: string;
  /** Blocks marked for deletion. */
  marked: string[];
  /** The block written in their place, if any. */
  created: string | null;
}

/**
 * `verify --repair`: overlapping blocks of one stream are merged into one block by
 * vertical compaction (source "bucket.repair"), uploaded whole, and only then the
 * overlapping ones are marked for deletion; blocks whose data another block of the
 * same resolution holds entirely (duplicated compaction) are marked for deletion. The
 * compactor (or `tools bucket cleanup`) deletes marked blocks after --delete-delay.
 */
export async function bucketRepair(bkt: Bucket, opts: RepairOptions): Promise<RepairAction[]> {
  await checkBucketDirectory(bkt);
  const actions: RepairAction[] = [];
  const wanted = (m: BlockMeta): boolean => !opts.ids?.length || opts.ids.includes(m.ulid);
  const active = async (): Promise<BlockMeta[]> => {
    const marks = new IgnoreDeletionMarkFilter(0);
    const res = await new MetaFetcher(bkt, { filters: [marks] }).fetch();
    return [...res.metas.values()].filter((m) => !marks.marks.has(m.ulid));
  };
  if (opts.issues.includes('duplicated_compaction')) {
    for (const id of findDuplicates(await active())) {
      if (opts.ids?.length && !opts.ids.includes(id)) continue;
      await markForDeletion(bkt, id, 'duplicated compaction: its data is in another block (tools bucket verify --repair)');
      opts.logger.info({ block: id }, 'repair: marked duplicated block for deletion');
      actions.push({ issue: 'duplicated_compaction', marked: [id], created: null });
    }
  }
  if (opts.issues.includes('overlapped_blocks')) {
    const merge = verticalMergeFor(opts.dedupFunc ?? '');
    for (const g of groupBlocks(await active())) {
      let metas = g.metas;
      for (;;) {
        const over = selectOverlappingMetas(metas);
        if (over.length === 0 || !over.some(wanted)) break;
        const work = join(opts.tmpDir, `repair-${over[0].ulid}`);
        await rm(work, { recursive: true, force: true });
        await mkdir(work, { recursive: true });
        try {
          const dirs: string[] = [];
          for (const m of over) {
            await downloadBlock(bkt, m.ulid, work);
            dirs.push(join(work, m.ulid));
          }
          const thanos = { labels: { ...(over[0].thanos.labels ?? {}) }, downsample: { resolution: g.resolution }, source: SourceType.BucketRepair };
          const out = await tsdbCompact(dirs, work, { verticalMerge: merge, thanos });
          if (out) {
            await uploadBlock(bkt, join(work, out.ulid), {
              mutateMeta: (meta) => {
                meta.thanos.labels = thanos.labels;
                meta.thanos.source = SourceType.BucketRepair;
              },
            });
          }
          for (const m of over) await markForDeletion(bkt, m.ulid, out ? `overlap repaired into block ${out.ulid}` : 'overlap repaired: no data left');
          opts.logger.info({ stream: g.name, blocks: over.map((m) => m.ulid), created: out?.ulid ?? null }, 'repair: merged overlapping blocks');
          actions.push({ issue: 'overlapped_blocks', marked: over.map((m) => m.ulid), created: out?.ulid ?? null });
          const gone = new Set(over.map((m) => m.ulid));
          metas = metas.filter((m) => !gone.has(m.ulid));
          if (out) metas = [...metas, { ...out, thanos: { ...out.thanos, labels: thanos.labels } }].sort((a, b) => a.minTime - b.minTime);
        } finally {
          await rm(work, { recursive: true, force: true });
        }
      }
    }
  }
  return actions;
}
