// Memory of compactBlocks is bounded by one series (plus the inputs' indexes and the
// writer's postings), not by the samples: the peak heap growth while compacting 12
// overlapping blocks (every series merged sample by sample and re-encoded) is measured
// for 2k and 20k series, and what the extra 18k series add must stay far below what
// holding their chunks would take.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDir, removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { BlockWriter } from '../block/index.js';
import { XorChunk } from '../chunkenc/index.js';
import { compareLabels, compareStrings, type Labels } from '../labels/index.js';
import { compactBlocks } from './compactor.js';

afterAll(removeTempDirs);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const H = 3600_000;
const T0 = 1_700_006_400_000 - (1_700_006_400_000 % (2 * H));
const PAIRS = 6; // 12 blocks: blocks k and k + 6 cover the same 2h

/** Writes 12 blocks of n series; returns their dirs and the total chunk bytes. */
async function writeInputs(parent: string, n: number): Promise<{ dirs: string[]; chunkBytes: number }> {
  const labels: Labels[] = [];
  for (let i = 0; i < n; i++) labels.push([{ name: '__name__', value: 'm' }, { name: 'i', value: String(i) }, { name: 'job', value: `j${i % 10}` }]);
  labels.sort(compareLabels);
  const symbols = new Set<string>();
  for (const ls of labels) for (const l of ls) symbols.add(l.name).add(l.value);
  const sorted = [...symbols].sort(compareStrings);
  const dirs: string[] = [];
  let chunkBytes = 0;
  for (let b = 0; b < 2 * PAIRS; b++) {
    const mint = T0 + (b % PAIRS) * 2 * H;
    const off = b < PAIRS ? 0 : 30_000; // the second of a pair interleaves with the first
    const variants = [];
    for (let k = 0; k < 16; k++) {
      const c = new XorChunk();
      const app = c.appender();
      let v = k * 1000;
      for (let j = 0; j < 120; j++) app.append(mint + off + j * 60_000, (v += ((j * 7919 + k * 31 + b) % 1000) / 8));
      c.compact();
      variants.push({ mint: mint + off, maxt: mint + off + 119 * 60_000, chunk: c });
    }
    const w = new BlockWriter(parent, { mint, maxt: mint + 2 * H, symbols: sorted });
    for (let i = 0; i < n; i++) {
      const v = variants[i % 16];
      w.addSeries(labels[i], [v]);
      chunkBytes += v.chunk.bytes().length;
    }
    await w.close();
    dirs.push(w.dir);
  }
  return { dirs, chunkBytes };
}

/** Peak live heap (heapUsed after a full GC, sampled every 25 ms) above the pre-compaction baseline. */
async function peakHeapGrowth(n: number): Promise<{ growth: number; chunkBytes: number; samples: number }> {
  const src = await tempDir('compact-mem-src');
  const dst = await tempDir('compact-mem-dst');
  try {
    const { dirs, chunkBytes } = await writeInputs(src, n);
    gc();
    const base = process.memoryUsage().heapUsed;
    let peak = base;
    // Live heap: collected before each sample, so garbage not yet collected is not counted.
    const timer = setInterval(() => {
      gc();
      const h = process.memoryUsage().heapUsed;
      if (h > peak) peak = h;
    }, 25);
    const meta = await compactBlocks(dirs, dst);
    clearInterval(timer);
    return { growth: peak - base, chunkBytes, samples: meta!.stats.numSamples! };
  } finally {
    await removeTempDir(src);
    await removeTempDir(dst);
  }
}

describe('compactBlocks memory', () => {
  it('peak heap does not scale with the samples compacted', async () => {
    const small = await peakHeapGrowth(2_000);
    const large = await peakHeapGrowth(20_000);
    expect(large.samples).toBe(20_000 * PAIRS * 240);
    const extra = large.growth - small.growth;
    const extraChunkBytes = large.chunkBytes - small.chunkBytes;
    console.log(
      `peak heap growth: 2k series ${(small.growth / 2 ** 20).toFixed(1)} MiB, 20k series ${(large.growth / 2 ** 20).toFixed(1)} MiB; ` +
        `the extra 18k series: ${(extra / 2 ** 20).toFixed(1)} MiB (${Math.round(extra / 18_000)} B/series) against ` +
        `${(extraChunkBytes / 2 ** 20).toFixed(1)} MiB of their input chunks, ${(((large.samples - small.samples) * 16) / 2 ** 20).toFixed(0)} MiB as decoded samples`,
    );
    // Holding the extra series' chunks would take extraChunkBytes (~50 MiB); their
    // index entries and postings in the writer take a few hundred bytes per series.
    expect(extra).toBeLessThan(extraChunkBytes / 4);
    expect(extra / 18_000).toBeLessThan(1024);
  }, 180_000);
});
