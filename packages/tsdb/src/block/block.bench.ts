// Block write/read throughput and size (run: npx vitest bench --run packages/tsdb/src/block).
//
//  - bytes per sample of the chunks/ of a block we write vs one `promtool tsdb
//    create-blocks-from openmetrics` writes from the same input (1k series x 2h @ 15 s);
//  - write: SeriesBuilder.append + writeBlock of 10k series x 2h @ 15 s (4.8M samples);
//  - read: Block.querier select of every series + full iteration of that block.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { bench, describe } from 'vitest';
import { createBlocksFromOpenMetrics, tempDir } from '@thanos-ts/testutil';
import { ValueType } from '../chunkenc/index.js';
import { labelsFromStrings, type Labels } from '../labels/index.js';
import { Block, DEFAULT_BLOCK_DURATION, SeriesBuilder } from './index.js';
import { rng, toOpenMetrics, type InputSeries } from './test-fixture.js';

const T0 = 1_700_006_400_000;
const SAMPLES = 480; // 2h at 15 s

/** node-exporter-like data: counters with integer steps and gauges with two decimals, scrape jitter of a few ms. */
function makeData(n: number): { labels: Labels[]; ts: Float64Array; vs: Float64Array } {
  const r = rng(1);
  const labels: Labels[] = [];
  const ts = new Float64Array(n * SAMPLES);
  const vs = new Float64Array(n * SAMPLES);
  for (let i = 0; i < n; i++) {
    const counter = i % 2 === 0;
    labels.push(labelsFromStrings('__name__', counter ? 'node_cpu_seconds_total' : 'node_memory_free_bytes', 'instance', `host-${i % 500}:9100`, 'job', 'node', 'id', String(i)));
    let v = counter ? Math.floor(r() * 1e6) : Math.round(r() * 1e9) / 100;
    const offset = Math.floor(r() * 15_000);
    for (let k = 0; k < SAMPLES; k++) {
      ts[i * SAMPLES + k] = T0 + offset + k * 15_000 + Math.floor(r() * 4);
      v = counter ? v + Math.floor(r() * 300) : Math.round((v + (r() - 0.5) * 1e4) * 100) / 100;
      vs[i * SAMPLES + k] = v;
    }
  }
  return { labels, ts, vs };
}

async function dirSize(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir)) n += (await stat(join(dir, f))).size;
  return n;
}

function build(d: { labels: Labels[]; ts: Float64Array; vs: Float64Array }, opts?: ConstructorParameters<typeof SeriesBuilder>[0]): SeriesBuilder {
  const b = new SeriesBuilder(opts);
  for (let i = 0; i < d.labels.length; i++) {
    const ref = b.getOrCreate(d.labels[i]);
    for (let k = 0; k < SAMPLES; k++) b.appendRef(ref, d.ts[i * SAMPLES + k], d.vs[i * SAMPLES + k]);
  }
  return b;
}

// Size comparison, printed once.
{
  const small = makeData(1000);
  const input: InputSeries[] = small.labels.map((labels, i) => ({
    labels,
    ts: Array.from(small.ts.subarray(i * SAMPLES, (i + 1) * SAMPLES)),
    vs: small.vs.slice(i * SAMPLES, (i + 1) * SAMPLES),
  }));
  const promDir = await tempDir('bench-promtool');
  const [promUlid] = await createBlocksFromOpenMetrics(toOpenMetrics(input), promDir);
  const ourDir = await tempDir('bench-ours');
  // promtool's head chunk range is twice its block duration.
  const ours = (await build(small, { chunkRange: 2 * DEFAULT_BLOCK_DURATION }).writeBlock(ourDir))!;
  const p = await dirSize(join(promDir, promUlid, 'chunks'));
  const o = await dirSize(join(ours.dir, 'chunks'));
  const samples = 1000 * SAMPLES;
  console.log(
    `chunks/ bytes per sample (1k series x 2h @ 15 s): ours ${(o / samples).toFixed(4)} (${o} B), promtool ${(p / samples).toFixed(4)} (${p} B), ` +
      `difference ${p - o} B; index ours ${(await stat(join(ours.dir, 'index'))).size} B, promtool ${(await stat(join(promDir, promUlid, 'index'))).size} B`,
  );
}

const data = makeData(10_000);
const readDir = await tempDir('bench-read');
const readBlock = (await build(data).writeBlock(readDir))!;
const block = await Block.open(readBlock.dir);

describe('10k series x 2h @ 15 s (4.8M samples)', () => {
  bench(
    'write: append + writeBlock',
    async () => {
      const dir = await tempDir('bench-write');
      await build(data).writeBlock(dir);
    },
    { iterations: 3, warmupIterations: 1 },
  );

  bench(
    'append only (SeriesBuilder)',
    () => {
      build(data);
    },
    { iterations: 3, warmupIterations: 1 },
  );

  bench(
    'read: select all + iterate',
    async () => {
      const q = await block.querier(-Infinity, Infinity);
      let n = 0;
      let sum = 0;
      let it;
      for await (const s of q.select({ start: -Infinity, end: Infinity }, [])) {
        it = s.iterator(it);
        while (it.next() !== ValueType.None) {
          n++;
          sum += it.atF();
        }
      }
      if (n !== 10_000 * SAMPLES || Number.isNaN(sum)) throw new Error(`read ${n} samples`);
    },
    { iterations: 5, warmupIterations: 1 },
  );
});
