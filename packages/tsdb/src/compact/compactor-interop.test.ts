// Blocks written by compactBlocks, read by the real promtool (Prometheus 2.42): they pass
// `promtool tsdb analyze`, and `promtool tsdb dump` of the result equals the dump of the
// inputs (promtool's querier merges overlapping inputs as Prometheus does).
import { cp, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeBlock, createBlocksFromOpenMetrics, dumpBlocks, removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { compactBlocks } from './compactor.js';

afterAll(removeTempDirs);

const H = 3600;
// Seconds: OpenMetrics timestamps. Aligned to 2h.
const T0 = 1_700_006_400 - (1_700_006_400 % (2 * H));

function openMetrics(from: number, to: number, step: number, seed: number, series = 30): string {
  const lines = ['# TYPE node_cpu_seconds_total counter', '# TYPE temp gauge'];
  for (let i = 0; i < series; i++) {
    let v = i * 1000;
    for (let t = from + (i % 7); t < to; t += step) {
      v += ((t * 31 + i * 17 + seed) % 97) / 4;
      lines.push(`node_cpu_seconds_total{cpu="${i}",mode="idle"} ${v} ${t}`);
    }
  }
  for (let t = from; t < to; t += step * 4) lines.push(`temp{room="a b",x="é"} ${((t + seed) % 13) - 6.5} ${t}`);
  lines.push('# EOF');
  return lines.join('\n') + '\n';
}

async function check(inputDir: string): Promise<void> {
  const ulids = (await readdir(inputDir)).filter((n) => /^[0-9A-Z]{26}$/.test(n));
  expect(ulids.length).toBeGreaterThan(1);
  const out = await tempDir('compact-interop-out');
  const meta = (await compactBlocks(
    ulids.map((u) => join(inputDir, u)),
    out,
  ))!;
  const analysis = await analyzeBlock(out, meta.ulid);
  expect(analysis.blockId).toBe(meta.ulid);
  expect(analysis.series).toBe(meta.stats.numSeries);
  expect(await dumpBlocks(out)).toEqual(await dumpBlocks(inputDir));
}

describe('compactBlocks beside promtool', () => {
  it('non-overlapping promtool blocks: analyze passes, dump equals the inputs dump', async () => {
    const dir = await tempDir('compact-interop-in');
    await createBlocksFromOpenMetrics(openMetrics(T0, T0 + 6 * H, 15, 1), dir);
    await check(dir);
  }, 60_000);

  it('overlapping promtool blocks (vertical): dump equals the merged inputs dump', async () => {
    const dir = await tempDir('compact-interop-in');
    // Two backfills over the same hours: different timestamps (offset 5 s) and values.
    await createBlocksFromOpenMetrics(openMetrics(T0, T0 + 4 * H, 30, 1), dir);
    const second = await tempDir('compact-interop-in2');
    await createBlocksFromOpenMetrics(openMetrics(T0 + H + 5, T0 + 5 * H, 30, 2), second);
    for (const u of await readdir(second)) if (/^[0-9A-Z]{26}$/.test(u)) await cp(join(second, u), join(dir, u), { recursive: true });
    await mkdir(join(dir, 'wal'), { recursive: true });
    await check(dir);
  }, 60_000);
});
