// tools bucket backfill: OpenMetrics in, 2h-aligned Thanos blocks out, checked with the
// real promtool and against an S3 endpoint.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketFromConfig } from '@thanos-ts/objstore';
import { downloadBlock, listBlockIds } from '@thanos-ts/block';
import { analyzeBlock, dumpBlocks, removeTempDirs, startS3Server, tempDir } from '@thanos-ts/testutil';
import type { S3Server } from '@thanos-ts/testutil';
import { runCli } from './cli.js';

let s3: S3Server;
let dir: string;
let omFile: string;
const expected = new Map<string, { t: number; v: number }[]>();

beforeAll(async () => {
  s3 = await startS3Server();
  dir = await tempDir('backfill');
  // 5 series x 7 hours at irregular intervals, starting off the 2h grid.
  let om = '# HELP temperature_celsius A gauge.\n# TYPE temperature_celsius gauge\n';
  const start = 3 * 3600 + 1234;
  for (let s = 0; s < 5; s++) {
    const key = `{__name__="temperature_celsius", room="r${s}", site="hq"}`;
    const samples: { t: number; v: number }[] = [];
    for (let t = start + s; t < start + 7 * 3600; t += 25 + (t % 7)) {
      const v = Math.round(Math.sin(t / 1000 + s) * 1000) / 100;
      samples.push({ t: t * 1000, v });
      om += `temperature_celsius{room="r${s}",site="hq"} ${v} ${t}\n`;
    }
    expected.set(key, samples);
  }
  omFile = join(dir, 'history.om');
  await writeFile(omFile, om + '# EOF\n');
}, 60_000);

afterAll(async () => {
  await s3?.stop();
  await removeTempDirs();
});

describe('tools bucket backfill', () => {
  it('writes 2h-aligned blocks that promtool reads back sample for sample', async () => {
    const cfg = join(dir, 's3.yml');
    await writeFile(cfg, s3.objstoreYaml('backfill'));
    const r = await runCli(['tools', 'bucket', 'backfill', '--objstore.config-file', cfg, '--label', 'cluster="eu1"', '--label', 'replica=a', omFile]);
    expect(r.stderr).toContain('backfill done');
    expect(r.code).toBe(0);
    const bkt = await bucketFromConfig(s3.objstoreYaml('backfill'));
    const ids = await listBlockIds(bkt);
    expect(r.stdout.trim().split('\n').sort()).toEqual(ids);
    expect(ids.length).toBe(5); // [2h,4h) [4h,6h) [6h,8h) [8h,10h) [10h,12h)
    const local = join(dir, 'download');
    await mkdir(local);
    for (const id of ids) {
      const meta = await downloadBlock(bkt, id, local);
      expect(meta.thanos.labels).toEqual({ cluster: 'eu1', replica: 'a' });
      expect(Math.floor(meta.minTime / 7200_000)).toBe(Math.floor((meta.maxTime - 1) / 7200_000));
      const a = await analyzeBlock(local, id);
      expect(a.series).toBe(5);
    }
    const dumped = await dumpBlocks(local);
    const got = new Map<string, { t: number; v: number }[]>();
    for (const s of dumped) {
      const key = '{' + s.labels.map((l) => `${l.name}="${l.value}"`).join(', ') + '}';
      got.set(key, [...(got.get(key) ?? []), ...s.samples].sort((x, y) => x.t - y.t));
    }
    expect(got).toEqual(expected);
    const verify = await runCli(['tools', 'bucket', 'verify', '--objstore.config-file', cfg]);
    expect(verify.code).toBe(0);
  });

  it('rejects a malformed file with the line number and uploads nothing', async () => {
    const bad = join(dir, 'bad.om');
    await writeFile(bad, 'up{job="a"} 1 0\nup{job="a"} 2 60\nup{job="a" 3 120\n# EOF\n');
    const bdir = await tempDir('backfill-bad-bkt');
    const cfg = join(dir, 'fs-bad.yml');
    await writeFile(cfg, `type: FILESYSTEM\nconfig:\n  directory: ${bdir}\n`);
    const r = await runCli(['tools', 'bucket', 'backfill', '--objstore.config-file', cfg, '--label', 'a=b', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^error: .*bad\.om: openmetrics: line 3: /);
    const ls = await runCli(['tools', 'bucket', 'ls', '--objstore.config-file', cfg]);
    expect(ls.stdout).toBe('');
    const noLabels = await runCli(['tools', 'bucket', 'backfill', '--objstore.config-file', cfg, omFile]);
    expect(noLabels.code).toBe(1);
    expect(noLabels.stderr).toContain('at least one external label is required');
  });
});
