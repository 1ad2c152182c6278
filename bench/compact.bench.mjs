// Compaction: 12 consecutive 2h blocks of N series (default 100k, env
// BENCH_COMPACT_SERIES; blocks: BENCH_COMPACT_BLOCKS) merged into one, by our
// compactBlocks (in a child process, so its peak RSS is its own) and by a real
// Prometheus 2.42 on a copy of the same blocks. A/B in one run, ratios printed.
//
// Prometheus compacts on its own schedule (first run about a minute after start) and
// only along its block ranges: with --storage.tsdb.min-block-duration=2h and
// max=24h its ranges are [2h, 6h, 18h], so it would merge the 2h blocks three at a time.
// To have it merge exactly the same 12 blocks into one we start it with min=8h,
// max=24h (ranges [8h, 24h]), the 12 blocks filling one UTC day, plus one small block on
// the next day (Prometheus never compacts the newest block). Its time is its own
// prometheus_tsdb_compaction_duration_seconds (the write of the new block; its inputs
// are already open), ours is the wall time of compactBlocks including opening the inputs.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlockWriter, compactBlocks, compareLabels, compareStrings, XorChunk } from '@thanos-ts/tsdb';
import { findBinary, freePort } from '@thanos-ts/testutil';
import { cacheDir, cleanup, fmtBytes, procMemory, rng, scrapeMetrics, table, tmp } from './util.mjs';

const H = 3600_000;
const DAY = 24 * H;
const STEP = 60_000; // one 120-sample chunk per series per 2h block
const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

// Child mode: `node compact.bench.mjs --child OUT IN...` compacts and prints figures.
if (process.argv[2] === '--child' && process.argv[1] === fileURLToPath(import.meta.url)) {
  const [out, ...inputs] = process.argv.slice(3);
  const t0 = performance.now();
  const meta = await compactBlocks(inputs, out);
  const ms = performance.now() - t0;
  const { peak } = procMemory(process.pid);
  process.stdout.write(JSON.stringify({ ms, peak, ulid: meta.ulid, series: meta.stats.numSeries, chunks: meta.stats.numChunks }) + '\n');
  process.exit(0);
}

export async function run() {
  const series = Number(process.env.BENCH_COMPACT_SERIES ?? 100_000);
  const nBlocks = Number(process.env.BENCH_COMPACT_BLOCKS ?? 12);
  const day0 = Math.floor(1_700_000_000_000 / DAY) * DAY;
  const input = cacheDir(`compact-${nBlocks}x${series}`);
  let t = performance.now();
  const dirs = await ensureBlocks(input, day0, nBlocks, series);
  const genMs = performance.now() - t;
  console.log(`input: ${nBlocks} blocks × ${fmtInt(series)} series, 2h each, one chunk of 120 samples per series and block (${(genMs / 1000).toFixed(1)} s to prepare; cached in ${input})`);

  const work = tmp('compact');
  try {
    // Ours, in a child process.
    const ourOut = join(work, 'ours');
    execFileSync('mkdir', ['-p', ourOut]);
    const res = JSON.parse(
      execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', ourOut, ...dirs], { encoding: 'utf8', maxBuffer: 1 << 20 }).trim(),
    );

    // Prometheus, on hard links of the same blocks plus a fresh one on the next day.
    let prom = null;
    let why = '';
    try {
      prom = await prometheusCompact(input, dirs, work, day0 + nBlocks * 2 * H);
    } catch (err) {
      why = err.message;
    }
    const rows = [['', 'wall time', 'peak RSS (VmHWM)', 'series', 'chunks']];
    rows.push(['thanos-ts compactBlocks', `${(res.ms / 1000).toFixed(2)} s`, fmtBytes(res.peak), fmtInt(res.series), fmtInt(res.chunks)]);
    if (prom) {
      rows.push(['prometheus 2.42 compaction', `${prom.seconds.toFixed(2)} s`, `${fmtBytes(prom.peak)} (before: ${fmtBytes(prom.peakBefore)})`, fmtInt(prom.series), fmtInt(prom.chunks)]);
      rows.push(['ratio ours/prometheus', `${(res.ms / 1000 / prom.seconds).toFixed(2)}×`, `${(res.peak / prom.peak).toFixed(2)}×`, '', '']);
    }
    table(rows);
    if (!prom) console.log(`prometheus side not run: ${why}`);
  } finally {
    cleanup(work);
  }
}

function fmtInt(n) {
  return Number(n).toLocaleString('en-US');
}

/** Writes (once, cached) nBlocks consecutive 2h blocks from day0; returns their dirs in time order. */
async function ensureBlocks(dir, day0, nBlocks, nSeries) {
  const done = join(dir, 'DONE');
  if (existsSync(done)) return readFileSync(done, 'utf8').trim().split('\n');
  for (const n of readdirSync(dir)) rmSync(join(dir, n), { recursive: true, force: true });
  const labels = [];
  for (let i = 0; i < nSeries; i++) {
    labels.push([
      { name: '__name__', value: i % 4 === 0 ? 'node_network_receive_bytes_total' : 'node_cpu_seconds_total' },
      { name: 'instance', value: `host-${i % 1000}:9100` },
      { name: 'job', value: 'node' },
      { name: 'series', value: String(i) },
    ]);
  }
  labels.sort(compareLabels);
  const symbols = new Set();
  for (const ls of labels) for (const l of ls) symbols.add(l.name).add(l.value);
  const sortedSymbols = [...symbols].sort(compareStrings);
  const r = rng(42);
  const dirs = [];
  for (let b = 0; b < nBlocks; b++) {
    const mint = day0 + b * 2 * H;
    // 64 chunk variants per block: counters with random increments, as node_exporter's.
    const variants = [];
    for (let k = 0; k < 64; k++) {
      const c = new XorChunk();
      const app = c.appender();
      let v = Math.floor(r() * 1e6);
      for (let j = 0; j < 120; j++) {
        v += Math.floor(r() * 5000);
        app.append(mint + j * STEP + k * 100, v);
      }
      c.compact();
      variants.push({ mint: mint + k * 100, maxt: mint + 119 * STEP + k * 100, chunk: c });
    }
    const w = new BlockWriter(dir, { mint, maxt: mint + 2 * H, symbols: sortedSymbols });
    for (let i = 0; i < labels.length; i++) w.addSeries(labels[i], [variants[i % 64]]);
    await w.close();
    dirs.push(w.dir);
  }
  writeFileSync(done, dirs.join('\n') + '\n');
  return dirs;
}

/** A tiny block on the next day, so the day's 12 are not the newest. */
async function freshBlock(parent, mint) {
  const c = new XorChunk();
  c.appender().append(mint, 1);
  const w = new BlockWriter(parent, { mint, maxt: mint + 2 * H, symbols: ['__name__', 'fresh'] });
  w.addSeries([{ name: '__name__', value: 'fresh' }], [{ mint, maxt: mint, chunk: c }]);
  await w.close();
}

async function prometheusCompact(inputRoot, dirs, work, nextDay) {
  const bin = findBinary('prometheus');
  const data = join(work, 'prometheus');
  execFileSync('mkdir', ['-p', data]);
  // Hard links: Prometheus deletes its inputs after compacting, never rewrites them in place.
  for (const d of dirs) execFileSync('cp', ['-al', d, data]);
  await freshBlock(data, nextDay);
  const before = new Set(readdirSync(data).filter((n) => ULID_RE.test(n)));
  const cfg = join(work, 'prometheus.yml');
  writeFileSync(cfg, 'global:\n  scrape_interval: 1m\n');
  const port = await freePort();
  const child = spawn(
    bin,
    [
      `--config.file=${cfg}`,
      `--storage.tsdb.path=${data}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.min-block-duration=8h',
      '--storage.tsdb.max-block-duration=24h',
      '--storage.tsdb.retention.time=3650d',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.on('data', (d) => (log = (log + d).slice(-20000)));
  try {
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 240_000;
    let ready = false;
    while (Date.now() < deadline && !ready) {
      try {
        ready = (await fetch(`${url}/-/ready`)).status === 200;
      } catch {
        // not listening yet
      }
      if (!ready) await sleep(200);
    }
    if (!ready) throw new Error(`prometheus not ready: ${log.slice(-2000)}`);
    const peakBefore = procMemory(child.pid).peak;
    process.stdout.write('waiting for prometheus to compact (its first compaction runs about a minute after start)…\n');
    for (;;) {
      if (Date.now() > deadline) throw new Error(`prometheus did not compact in time: ${log.slice(-2000)}`);
      const m = await scrapeMetrics(`${url}/metrics`);
      const count = m.get('prometheus_tsdb_compaction_duration_seconds_count') ?? 0;
      const merged = readdirSync(data).filter((n) => ULID_RE.test(n) && !before.has(n));
      if (count >= 1 && merged.length > 0) {
        const meta = JSON.parse(readFileSync(join(data, merged[0], 'meta.json'), 'utf8'));
        return {
          seconds: m.get('prometheus_tsdb_compaction_duration_seconds_sum'),
          peak: procMemory(child.pid).peak,
          peakBefore,
          series: meta.stats.numSeries,
          chunks: meta.stats.numChunks,
          parents: meta.compaction.parents.length,
        };
      }
      await sleep(500);
    }
  } finally {
    child.kill('SIGKILL');
  }
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
