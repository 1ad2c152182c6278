import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemBucket, getBytes } from '@thanos-ts/objstore';
import { createLogger } from '@thanos-ts/runtime';
import { crc32c, labelsFromRecord, NoCompactReason, SeriesBuilder, SourceType, THANOS_VERSION_1, ulid, ZERO_TIME } from '@thanos-ts/tsdb';
import type { BlockMeta } from '@thanos-ts/tsdb';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { uploadBlock } from '../upload.js';
import { groupBlocks, HaltError } from './group.js';
import type { GroupOptions } from './group.js';
import { findOutOfOrderChunks } from './index-health.js';
import { DEFAULT_COMPACTION_RANGES } from './planner.js';
import { tsdbCompact } from './tsdb-compactor.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);
/** Sample step whose uvarint (0xD1 0xDF 0x04) is easy to find in an index: the gap between chunks. */
const STEP = 77_777;

afterAll(removeTempDirs);

/** A 2h block of one series in chunks of 30 samples; with `outOfOrder`, its second chunk starts where the first ends. */
async function writeBlock(mint: number, outOfOrder: boolean): Promise<string> {
  const b = new SeriesBuilder({ samplesPerChunk: 30 });
  const ls = labelsFromRecord({ __name__: 'demo', job: 'a' });
  for (let t = mint; t < mint + 2 * HOUR; t += STEP) b.append(ls, t, t / 1000);
  const dir = await tempDir('group-test-block');
  const w = await b.writeBlock(dir, {
    mint,
    maxt: mint + 2 * HOUR,
    ulid: ulid(Date.now()),
    thanos: { version: THANOS_VERSION_1, labels: { cluster: 'eu' }, downsample: { resolution: 0 }, source: SourceType.Sidecar, index_stats: {}, upload_time: ZERO_TIME },
  });
  if (!w) throw new Error('empty block');
  if (outOfOrder) await breakChunkOrder(join(w.dir, 'index'));
  return w.dir;
}

/**
 * Rewrites the first chunk gap of the (only) series entry from STEP to 0 with an
 * uvarint of the same length (0x80 0x80 0x00), so chunk 2 starts at chunk 1's maxTime —
 * an overlap the index writer refuses to write — and fixes the entry's CRC.
 */
async function breakChunkOrder(indexFile: string): Promise<void> {
  const buf = await readFile(indexFile);
  // The series section's offset from the TOC; entries start 16-byte aligned.
  const series = Math.ceil(Number(buf.readBigUInt64BE(buf.length - 52 + 8)) / 16) * 16;
  const len = buf[series];
  expect(len).toBeLessThan(0x80);
  const start = series + 1;
  const end = start + len;
  const at = buf.subarray(start, end).indexOf(Buffer.from([0xd1, 0xdf, 0x04]));
  expect(at).toBeGreaterThan(0);
  buf.set([0x80, 0x80, 0x00], start + at);
  buf.writeUInt32BE(crc32c(buf, start, end) >>> 0, end);
  await writeFile(indexFile, buf);
}

async function setup(): Promise<{ bkt: FilesystemBucket; metas: BlockMeta[]; opts: GroupOptions }> {
  const bkt = new FilesystemBucket(await tempDir('group-test-bucket'));
  const metas: BlockMeta[] = [];
  // Four 2h blocks filling [T0, T0+8h) and one after (the newest block is never planned):
  // one compaction at the 8h range; the first block is broken.
  for (let i = 0; i < 5; i++) metas.push(await uploadBlock(bkt, await writeBlock(T0 + i * 2 * HOUR, i === 0)));
  const opts: GroupOptions = {
    bkt,
    logger: createLogger({ level: 'error' }),
    dir: await tempDir('group-test-work'),
    ranges: DEFAULT_COMPACTION_RANGES,
    verticalCompaction: false,
    compact: tsdbCompact,
    maxIndexSizeBytes: 0,
    noCompact: new Set(),
  };
  return { bkt, metas, opts };
}

describe('out-of-order chunks', () => {
  it('are found by the index check, and only in the broken block', async () => {
    const bad = await writeBlock(T0, true);
    const good = await writeBlock(T0, false);
    const ooo = findOutOfOrderChunks(bad);
    expect(ooo?.count).toBe(1);
    expect(ooo?.first).toContain('series {__name__="demo", job="a"}');
    expect(findOutOfOrderChunks(good)).toBeNull();
  });

  it('mark the block no-compact (block-index-out-of-order-chunk) instead of failing the group, and the next plan leaves it out', async () => {
    const { bkt, metas, opts } = await setup();
    const [g] = groupBlocks(metas);
    const r = await g.compact(opts);
    expect(r).toEqual({ planned: [], newBlock: null, markedNoCompact: [metas[0].ulid] });
    const mark = JSON.parse(Buffer.from(await getBytes(bkt, `${metas[0].ulid}/no-compact-mark.json`)).toString()) as Record<string, unknown>;
    expect(mark.id).toBe(metas[0].ulid);
    expect(mark.version).toBe(1);
    expect(mark.reason).toBe(NoCompactReason.OutOfOrderChunks);
    expect(mark.details).toContain('out-of-order chunk');
    // Nothing else changed: no new block, no deletion marks.
    for (const m of metas) expect(await bkt.exists(`${m.ulid}/deletion-mark.json`)).toBe(false);

    // Next pass (the syncer now reports the mark): the broken block is not planned again.
    const [g2] = groupBlocks(metas);
    const r2 = await g2.compact({ ...opts, noCompact: new Set([metas[0].ulid]) });
    expect(r2.planned).not.toContain(metas[0].ulid);
    expect(r2.markedNoCompact).toBeUndefined();
  });

  it('halt the stream with --compact.skip-block-with-out-of-order-chunks=false (Thanos default)', async () => {
    const { bkt, metas, opts } = await setup();
    const [g] = groupBlocks(metas);
    await expect(g.compact({ ...opts, skipOutOfOrderChunks: false })).rejects.toThrow(HaltError);
    expect(await bkt.exists(`${metas[0].ulid}/no-compact-mark.json`)).toBe(false);
  });
});
