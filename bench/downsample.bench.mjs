// Downsampling throughput: one 2-day raw block (N series, env BENCH_DOWNSAMPLE_SERIES,
// default 1000, one sample every 15 s: 11,520 samples per series; half counters, half
// gauges) downsampled to 5m by our downsampleBlock, as the compactor does it (open,
// read every chunk, write the aggregate chunks and the index). Printed as raw samples
// read per second, best of three runs. There is no Prometheus counterpart (downsampling
// is Thanos's); `thanos tools bucket downsample` is not installed here to compare with.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { downsampleBlock, labelsFromRecord, SeriesBuilder, ulid } from '@thanos-ts/tsdb';
import { cacheDir, cleanup, fmtBytes, procMemory, table, tmp } from './util.mjs';

const H = 3600_000;
const DAY = 24 * H;
const STEP = 15_000;
const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export async function run() {
  const series = Number(process.env.BENCH_DOWNSAMPLE_SERIES ?? 1000);
  const mint = Math.floor(1_700_000_000_000 / DAY) * DAY;
  const maxt = mint + 2 * DAY;
  const input = cacheDir(`downsample-2d-${series}`);
  let t = performance.now();
  const src = await ensureBlock(input, mint, maxt, series);
  const samples = series * ((maxt - mint) / STEP);
  console.log(`input: one 2-day raw block, ${series} series × ${(maxt - mint) / STEP} samples (15 s) = ${(samples / 1e6).toFixed(1)}M samples (${((performance.now() - t) / 1000).toFixed(1)} s to prepare; cached in ${input})`);

  const runs = [];
  for (let i = 0; i < 3; i++) {
    const out = tmp('downsample');
    try {
      t = performance.now();
      const res = await downsampleBlock(src, out, 300_000);
      const ms = performance.now() - t;
      runs.push({ ms, chunks: res?.meta.stats.numChunks ?? 0, series: res?.meta.stats.numSeries ?? 0 });
    } finally {
      cleanup(out);
    }
  }
  const best = runs.reduce((a, b) => (b.ms < a.ms ? b : a));
  const { peak } = procMemory(process.pid);
  table([
    ['step', 'wall (best of 3)', 'raw samples/s', 'series out', 'aggregate chunks out', 'peak RSS (this process)'],
    ['raw → 5m', `${(best.ms / 1000).toFixed(2)} s`, `${(samples / (best.ms / 1000) / 1e6).toFixed(2)}M`, String(best.series), String(best.chunks), fmtBytes(peak)],
  ]);
}

/** Writes the input block once (cached between runs); returns its directory. */
async function ensureBlock(dir, mint, maxt, series) {
  const have = existsSync(dir) ? readdirSync(dir).filter((d) => ULID_RE.test(d)) : [];
  if (have.length === 1) return join(dir, have[0]);
  cleanup(dir);
  mkdirSync(dir, { recursive: true });
  const b = new SeriesBuilder();
  for (let s = 0; s < series; s++) {
    const counter = s % 2 === 0;
    const ls = labelsFromRecord({ __name__: counter ? 'bench_requests_total' : 'bench_temperature', instance: `i${s % 50}`, series: String(s) });
    let v = 0;
    for (let ts = mint; ts < maxt; ts += STEP) {
      // Counters grow by a varying amount and reset twice; gauges wander.
      if (counter) v = (ts - mint) % DAY === 0 && ts !== mint ? 0 : v + ((ts / STEP + s) % 7);
      else v = 20 + Math.sin(ts / 3.6e6 + s) * 5;
      b.append(ls, ts, v);
    }
  }
  const w = await b.writeBlock(dir, { mint, maxt, ulid: ulid(mint) });
  if (!w) throw new Error('downsample bench: empty block');
  return w.dir;
}
