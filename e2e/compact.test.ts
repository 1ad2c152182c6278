// The compactor with real processes: a FILESYSTEM bucket with five days of one cluster
// scraped by two replicas and a second cluster (`tools bucket backfill`), compacted
// once with offline deduplication; a stream with overlapping blocks halted (metric and
// log line) while the others are compacted; `tools bucket rewrite` removing a series
// (checked with promtool tsdb dump). Not covered here yet: store + query answers over
// the compacted bucket, 1h downsampling, retention and kill -9 (see the report).

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilesystemBucket } from '@thanos-ts/objstore';
import { downloadBlock, MetaFetcher } from '@thanos-ts/block';
import type { BlockMeta } from '@thanos-ts/tsdb';
import { dumpBlocks, removeTempDirs, tempDir, waitFor } from '@thanos-ts/testutil';
import { runCli } from './cli.js';
import { startComponent } from './components.js';

const DAY = 86_400_000;
const T0S = 1_704_067_200; // 2024-01-01T00:00:00Z

let dir: string;

afterAll(removeTempDirs);

async function omFile(name: string, days: number, phase: number): Promise<string> {
  const lines: string[] = [];
  for (const job of ['a', 'b']) for (let t = T0S; t < T0S + days * 86_400; t += 60) lines.push(`demo_total{job="${job}"} ${t - T0S} ${t + phase}`);
  for (let t = T0S; t < T0S + days * 86_400; t += 60) lines.push(`other_total{job="a"} 1 ${t + phase}`);
  const f = join(dir, name);
  await writeFile(f, lines.join('\n') + '\n# EOF\n');
  return f;
}

async function bucketConfig(name: string): Promise<{ cfg: string; bkt: FilesystemBucket }> {
  const bdir = join(dir, name);
  const cfg = join(dir, `${name}.yml`);
  await writeFile(cfg, `type: FILESYSTEM\nconfig:\n  directory: ${bdir}\n`);
  return { cfg, bkt: new FilesystemBucket(bdir) };
}

async function metas(bkt: FilesystemBucket): Promise<BlockMeta[]> {
  return [...(await new MetaFetcher(bkt).fetch()).metas.values()].sort((a, b) => a.minTime - b.minTime);
}

const sum = (ms: BlockMeta[]): number => ms.reduce((a, m) => a + (m.stats.numSamples ?? 0), 0);

beforeAll(async () => {
  dir = await tempDir('e2e-compact');
});

describe('compact', () => {
  it('compacts to 2d blocks, deduplicates the replicas of a cluster and downsamples', async () => {
    const { cfg, bkt } = await bucketConfig('b1');
    const r1 = await omFile('r1.om', 5, 0);
    const r2 = await omFile('r2.om', 5, 7);
    for (const [file, labels] of [
      [r1, ['cluster=eu', 'replica=r1']],
      [r2, ['cluster=eu', 'replica=r2']],
      [r1, ['cluster=us', 'replica=r1']],
    ] as const) {
      const r = await runCli(['tools', 'bucket', 'backfill', '--objstore.config-file', cfg, ...labels.flatMap((l) => ['--label', l]), file]);
      expect(r.code, r.stderr).toBe(0);
    }
    const before = await metas(bkt);
    const euBefore = sum(before.filter((m) => m.thanos.labels?.cluster === 'eu'));

    const r = await runCli(
      ['compact', '--wait=false', '--objstore.config-file', cfg, '--data-dir', join(dir, 'data1'), '--http-address', '127.0.0.1:0', '--consistency-delay', '0s', '--delete-delay', '0s', '--deduplication.replica-label', 'replica', '--deduplication.func', 'penalty'],
      { timeoutMs: 90_000 },
    );
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr).toContain('msg="compacted group"');

    const after = await metas(bkt);
    const raw = after.filter((m) => m.thanos.downsample.resolution === 0);
    // Compacted blocks carry the stream's labels without the replica label (as Thanos).
    expect(new Set(raw.filter((m) => m.compaction.level > 1).map((m) => JSON.stringify(m.thanos.labels)))).toEqual(new Set([JSON.stringify({ cluster: 'eu' }), JSON.stringify({ cluster: 'us' })]));
    expect(Math.max(...raw.map((m) => m.maxTime - m.minTime))).toBeGreaterThanOrEqual(2 * DAY - 60_000);
    expect(Math.max(...raw.map((m) => m.compaction.level))).toBeGreaterThanOrEqual(4);
    // Offline dedup: about one replica's samples.
    const euAfter = sum(raw.filter((m) => m.thanos.labels?.cluster === 'eu'));
    expect(euAfter / euBefore).toBeGreaterThan(0.45);
    expect(euAfter / euBefore).toBeLessThan(0.55);
    // 2d raw blocks have 5m copies.
    expect(after.some((m) => m.thanos.downsample.resolution === 300_000)).toBe(true);
    for (const m of after) expect(m.thanos.source === 'compactor' || m.compaction.level === 1).toBe(true);
  }, 120_000);

  it('halts only a stream with overlapping blocks, visible in /metrics and one log line', async () => {
    const { cfg, bkt } = await bucketConfig('b2');
    const f = await omFile('h.om', 1, 0);
    for (const args of [
      ['--label', 'cluster=eu'],
      ['--label', 'cluster=us'],
      ['--label', 'cluster=us', '--block-duration', '3h'],
    ]) {
      const r = await runCli(['tools', 'bucket', 'backfill', '--objstore.config-file', cfg, ...args, f]);
      expect(r.code, r.stderr).toBe(0);
    }
    const c = await startComponent(['compact', '--wait', '--wait-interval', '1s', '--objstore.config-file', cfg, '--data-dir', join(dir, 'data2'), '--consistency-delay', '0s', '--delete-delay', '0s'], { grpc: false });
    try {
      await waitFor(async () => {
        const body = await (await fetch(`http://${c.httpAddress}/metrics`)).text();
        return /^thanos_compact_halted 1$/m.test(body) && /^thanos_compact_iterations_total/m.test(body);
      }, { timeoutMs: 60_000 });
      const lines = c.logs().split('\n').filter((l) => l.includes('level=error'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('overlapping blocks in stream 0@{cluster=\\"us\\"}');
      expect(lines[0]).toContain('--compact.enable-vertical-compaction');
      // eu was compacted all the same.
      await waitFor(async () => (await metas(bkt)).some((m) => m.thanos.labels?.cluster === 'eu' && m.compaction.level > 1), { timeoutMs: 30_000 });
      const blocks = (await (await fetch(`http://${c.httpAddress}/api/v1/blocks`)).json()) as { status: string; data: { blocks: unknown[] } };
      expect(blocks.status).toBe('success');
      expect(blocks.data.blocks.length).toBeGreaterThan(0);
    } finally {
      expect(await c.stop()).toBe(0);
    }
    // verify --repair merges the overlap; then nothing overlaps.
    const rep = await runCli(['tools', 'bucket', 'verify', '--objstore.config-file', cfg, '-i', 'overlapped_blocks', '--repair']);
    expect(rep.code, rep.stderr.slice(-2000)).toBe(0);
    expect(rep.stdout).toContain('repaired overlapped_blocks');
  }, 120_000);

  it('rewrite removes the named series and nothing else', async () => {
    const { cfg, bkt } = await bucketConfig('b3');
    const f = await omFile('w.om', 0.25, 0);
    const r = await runCli(['tools', 'bucket', 'backfill', '--objstore.config-file', cfg, '--label', 'cluster=eu', f]);
    expect(r.code, r.stderr).toBe(0);
    const [m] = await metas(bkt);
    const d1 = await tempDir('e2e-rw1');
    await downloadBlock(bkt, m.ulid, d1);
    const before = await dumpBlocks(d1);
    const rw = await runCli(['tools', 'bucket', 'rewrite', '--objstore.config-file', cfg, '--id', m.ulid, '--rewrite.to-delete-config', '- matchers: \'{__name__="other_total"}\'', '--tmp.dir', join(dir, 'rw')]);
    expect(rw.code, rw.stderr).toBe(0);
    const now = (await metas(bkt)).filter((x) => x.ulid !== m.ulid && x.minTime === m.minTime);
    expect(now).toHaveLength(1);
    expect(now[0].thanos.source).toBe('bucket.rewrite');
    expect(await bkt.exists(`${m.ulid}/deletion-mark.json`)).toBe(true);
    const d2 = await tempDir('e2e-rw2');
    await downloadBlock(bkt, now[0].ulid, d2);
    const after = await dumpBlocks(d2);
    const key = (s: { labels: unknown }): string => JSON.stringify(s.labels);
    expect(after.map(key)).toEqual(before.filter((s) => !key(s).includes('other_total')).map(key));
    expect(after).toEqual(before.filter((s) => !key(s).includes('other_total')));
  }, 60_000);
});
