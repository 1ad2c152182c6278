// tools bucket ls / inspect / verify through the real CLI, against a filesystem bucket
// and an S3 endpoint (s3rver) holding real promtool-written blocks.

import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketFromConfig, FilesystemBucket } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { uploadBlock } from '@thanos-ts/block';
import { readBlockMeta, writeBlockMeta } from '@thanos-ts/tsdb';
import { createBlocksFromOpenMetrics, removeTempDirs, startS3Server, tempDir } from '@thanos-ts/testutil';
import type { S3Server } from '@thanos-ts/testutil';
import { runCli } from './cli.js';

const HOUR = 3600;

function openMetrics(job: string, fromSec: number, toSec: number): string {
  let om = '# TYPE http_requests_total counter\n';
  for (let t = fromSec; t < toSec; t += 30) {
    for (const code of ['200', '500']) om += `http_requests_total{job="${job}",code="${code}"} ${t * (code === '200' ? 3 : 1)} ${t}\n`;
  }
  return om + '# EOF\n';
}

/** Writes promtool blocks with Thanos labels and uploads them; returns their ULIDs. */
async function seed(bkt: Bucket, labels: Record<string, string>, fromSec: number, toSec: number): Promise<string[]> {
  const dir = await tempDir('seed');
  const ids = await createBlocksFromOpenMetrics(openMetrics(labels.cluster, fromSec, toSec), dir);
  for (const id of ids) {
    const meta = await readBlockMeta(join(dir, id));
    meta.thanos.labels = labels;
    meta.thanos.source = 'test';
    await writeBlockMeta(join(dir, id), meta);
    await uploadBlock(bkt, join(dir, id));
  }
  return ids.sort();
}

let s3: S3Server;
const targets: { name: string; config: string; bkt: Bucket; eu: string[]; us: string[] }[] = [];

beforeAll(async () => {
  const dir = await tempDir('fs-bucket');
  const fsConfig = join(dir, '..', `objstore-${Date.now()}.yml`);
  await writeFile(fsConfig, `type: FILESYSTEM\nconfig:\n  directory: ${dir}\n`);
  s3 = await startS3Server();
  const s3Config = join(await tempDir('s3cfg'), 'objstore.yml');
  await writeFile(s3Config, s3.objstoreYaml());
  // Both buckets and both clusters are seeded at the same time (promtool runs apart).
  const seeded = await Promise.all(
    ([
      ['filesystem', fsConfig, new FilesystemBucket(dir)],
      ['s3', s3Config, await bucketFromConfig(s3.objstoreYaml())],
    ] as const).map(async ([name, config, bkt]) => {
      const [eu, us] = await Promise.all([seed(bkt, { cluster: 'eu1', replica: 'a' }, 0, 4 * HOUR), seed(bkt, { cluster: 'us1', replica: 'a' }, 2 * HOUR, 4 * HOUR)]);
      return { name, config, bkt, eu, us };
    }),
  );
  targets.push(...seeded);
}, 120_000);

afterAll(async () => {
  await s3?.stop();
  await removeTempDirs();
});

describe.each(['filesystem', 's3'])('tools bucket on %s', (name) => {
  const t = (): (typeof targets)[number] => targets.find((x) => x.name === name)!;

  it('ls prints ULIDs, one per line', async () => {
    const r = await runCli(['tools', 'bucket', 'ls', '--objstore.config-file', t().config]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([...t().eu, ...t().us].sort());
  });

  it('ls -o json prints each meta.json as one JSON object per line', async () => {
    const r = await runCli(['tools', 'bucket', 'ls', '--objstore.config-file', t().config, '-o', 'json']);
    expect(r.code).toBe(0);
    const metas = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(metas.map((m) => m.ulid)).toEqual([...t().eu, ...t().us].sort());
    const eu = metas.find((m) => m.ulid === t().eu[0]);
    expect(eu.thanos.labels).toEqual({ cluster: 'eu1', replica: 'a' });
    expect(eu.version).toBe(1);
    expect(eu.thanos.files.map((f: { rel_path: string }) => f.rel_path)).toEqual(['chunks/000001', 'index', 'meta.json']);
  });

  it('ls -o table and -o wide show time range, labels, series and samples', async () => {
    const [table, wide] = await Promise.all([
      runCli(['tools', 'bucket', 'ls', '--objstore.config-file', t().config, '-o', 'table']),
      runCli(['tools', 'bucket', 'ls', '--objstore.config-file', t().config, '-o', 'wide']),
    ]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^\|\s+ULID\s+\|\s+FROM\s+\|\s+UNTIL\s+\|.*LABELS.*RESOLUTION.*#SERIES.*#SAMPLES.*COMP-LEVEL.*SOURCE/);
    const row = lines.find((l) => l.includes(t().eu[0]))!;
    expect(row).toContain('1970-01-01T00:00:00Z');
    expect(row).toContain('cluster=eu1,replica=a');
    expect(row.split('|').map((c) => c.trim())).toContain('480');
    expect(wide.stdout).toContain(`${t().us[0]} -- 1970-01-01T02:00:00Z - 1970-01-01T03:59:30Z Diff: 1h59m30s, Compaction: 1, Downsample: 0, Source: test`);
  });

  it('inspect filters by selector and sorts', async () => {
    const [r, sorted] = await Promise.all([
      runCli(['tools', 'bucket', 'inspect', '--objstore.config-file', t().config, '-l', 'cluster="us1"', '--output', 'csv']),
      runCli(['tools', 'bucket', 'inspect', '--objstore.config-file', t().config, '--sort-by', 'LABELS', '--sort-by', 'FROM', '--output', 'tsv']),
    ]);
    expect(r.code).toBe(0);
    const rows = r.stdout.trim().split('\n');
    expect(rows[0]).toBe('ULID,FROM,UNTIL,RANGE,UNTIL-DOWN,#SERIES,#SAMPLES,#CHUNKS,COMP-LEVEL,COMP-FAILED,LABELS,RESOLUTION,SOURCE');
    expect(rows.slice(1).map((l) => l.split(',')[0])).toEqual(t().us);
    const labels = sorted.stdout.trim().split('\n').slice(1).map((l) => l.split('\t')[10]);
    expect(labels).toEqual([...labels].sort());
  });

  it('verify passes on healthy blocks', async () => {
    const r = await runCli(['tools', 'bucket', 'verify', '--objstore.config-file', t().config]);
    expect(r.stderr).toContain('verify done: no problems found');
    expect(r.code).toBe(0);
  });
});

describe('tools bucket verify finds problems', () => {
  it('reports overlapping blocks and a corrupted index with a non-zero exit', async () => {
    const dir = await tempDir('verify-bad');
    const bkt = new FilesystemBucket(dir);
    const config = join(dir, '..', `verify-bad-${Date.now()}.yml`);
    await writeFile(config, `type: FILESYSTEM\nconfig:\n  directory: ${dir}\n`);
    const [[a], [b], [c]] = await Promise.all([
      seed(bkt, { cluster: 'eu1' }, 0, HOUR),
      seed(bkt, { cluster: 'eu1' }, 1800, 2 * HOUR - 60),
      seed(bkt, { cluster: 'other' }, 0, HOUR),
    ]);
    // Flip a byte inside the first series entry of block c's index (TOC field 2 = series section; entries are 16-byte aligned).
    const fh = await open(join(dir, c, 'index'), 'r+');
    const { size } = await fh.stat();
    const toc = Buffer.alloc(52);
    await fh.read(toc, 0, 52, size - 52);
    const at = Math.ceil(Number(toc.readBigUInt64BE(8)) / 16) * 16 + 2;
    const buf = Buffer.alloc(1);
    await fh.read(buf, 0, 1, at);
    buf[0] ^= 0xff;
    await fh.write(buf, 0, 1, at);
    await fh.close();
    const r = await runCli(['tools', 'bucket', 'verify', '--objstore.config-file', config, '--issues', 'index_known_issues', '--issues', 'overlapped_blocks']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`block ${b}: overlapped_blocks: overlaps ${a}`);
    expect(r.stdout).toMatch(new RegExp(`block ${c}: index_known_issues: .*index.*(checksum|CRC|crc)`));
    expect(r.stderr).toMatch(/error: verify found \d+ problem\(s\) in 2 block\(s\)/);
  });
});

describe('tools bucket user errors', () => {
  it('prints one clear line for a bad flag, a missing config and an unreadable config', async () => {
    // Four separate processes, run side by side.
    const [unknown, none, missing, bad] = await Promise.all([
      runCli(['tools', 'bucket', 'ls', '--bogus']),
      runCli(['tools', 'bucket', 'ls']),
      runCli(['tools', 'bucket', 'ls', '--objstore.config-file', '/nonexistent/objstore.yml']),
      runCli(['tools', 'bucket', 'ls', '--objstore.config', 'type: NOPE\nconfig: {}']),
    ]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trim()).toBe("error: unknown option '--bogus'");
    expect(none.code).toBe(1);
    expect(none.stderr.trim()).toBe('error: no object store configuration: set --objstore.config-file or --objstore.config');
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('/nonexistent/objstore.yml');
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).not.toContain('    at ');
  });
});

describe('tools bucket on a missing directory and on corrupted meta.json', () => {
  it('verify fails with one line naming a bucket directory that does not exist', async () => {
    const dir = join(await tempDir('verify-missing'), 'no-such-bucket');
    const r = await runCli(['tools', 'bucket', 'verify', '--objstore.config', `type: FILESYSTEM\nconfig:\n  directory: ${dir}\n`]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain('no problems found');
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('error:'))).toEqual([`error: bucket directory ${dir} does not exist`]);
  });

  it('ls and inspect list the good blocks, warn about each corrupted meta.json and exit 0', async () => {
    const dir = await tempDir('corrupt-meta');
    const bkt = new FilesystemBucket(dir);
    const config = `type: FILESYSTEM\nconfig:\n  directory: ${dir}\n`;
    const [good, bad] = await Promise.all([seed(bkt, { cluster: 'eu1' }, 0, HOUR), seed(bkt, { cluster: 'eu1' }, 3 * HOUR, 4 * HOUR)]);
    await writeFile(join(dir, bad[0], 'meta.json'), '{"ulid": "');
    const [ls, inspect] = await Promise.all([
      runCli(['tools', 'bucket', 'ls', '--objstore.config', config]),
      runCli(['tools', 'bucket', 'inspect', '--objstore.config', config, '--output', 'csv']),
    ]);
    expect(ls.code).toBe(0);
    expect(ls.stdout.trim().split('\n')).toEqual(good);
    const warn = ls.stderr.split('\n').filter((l) => l.includes('level=warn'));
    expect(warn).toHaveLength(1);
    expect(warn[0]).toContain(`block=${bad[0]}`);
    expect(warn[0]).toContain('corrupted meta.json');
    expect(warn[0]).toMatch(/err=".*meta.json: invalid JSON/);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout.trim().split('\n').slice(1).map((l) => l.split(',')[0])).toEqual(good);
    expect(inspect.stderr.split('\n').filter((l) => l.includes('level=warn') && l.includes(`block=${bad[0]}`))).toHaveLength(1);
  });
});
