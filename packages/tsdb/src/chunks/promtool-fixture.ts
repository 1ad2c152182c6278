// Test support for interop tests against the real Prometheus binaries: write
// OpenMetrics input, build blocks with `promtool tsdb create-blocks-from openmetrics`,
// parse the resulting files with small independent readers, and run a `prometheus`
// server. Not exported from the package face; a candidate for packages/testutil.
//
// The parsers here are deliberately minimal and separate from the production readers
// so that golden tests do not check the code against itself.

import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Fails (never skips) when a required binary is not on PATH. */
export function requireBinary(name: string): void {
  const r = spawnSync(name, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`required binary "${name}" is not runnable (install Prometheus 2.42+ so that ${name} is on PATH): ${r.error?.message ?? r.stderr}`);
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `thanos-ts-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A sample as it will be parsed by Prometheus: ms timestamp, float value. */
export interface FixtureSample {
  t: number;
  v: number;
}

export interface FixtureSeries {
  name: string;
  labels?: Record<string, string>;
  samples: FixtureSample[];
}

/**
 * Formats a ms timestamp as OpenMetrics seconds such that Prometheus' parser, which
 * computes int64(seconds * 1000) (truncating), gets exactly tMs back.
 */
export function omTimestamp(tMs: number): string {
  const parsed = (s: string): number => Math.trunc(Number(s) * 1000);
  let s = String(tMs / 1000);
  if (parsed(s) !== tMs) s = String((tMs + (tMs < 0 ? -0.5 : 0.5)) / 1000);
  if (parsed(s) !== tMs) throw new Error(`cannot express ${tMs} ms as an OpenMetrics timestamp`);
  return s;
}

function omValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

/** OpenMetrics text (gauges, explicit timestamps, `# EOF`) for the given series. */
export function openMetricsText(series: readonly FixtureSeries[]): string {
  const out: string[] = [];
  for (const s of series) {
    out.push(`# TYPE ${s.name} gauge`);
    const lbls = Object.entries(s.labels ?? {})
      .map(([k, v]) => `${k}="${v}"`)
      .join(',');
    const metric = lbls ? `${s.name}{${lbls}}` : s.name;
    for (const smp of s.samples) out.push(`${metric} ${omValue(smp.v)} ${omTimestamp(smp.t)}`);
  }
  out.push('# EOF', '');
  return out.join('\n');
}

export interface FixtureBlock {
  dir: string;
  meta: { ulid: string; minTime: number; maxTime: number; [k: string]: unknown };
  metaText: string;
}

/**
 * Runs `promtool tsdb create-blocks-from openmetrics` on the series into outDir and
 * returns the blocks it created, sorted by minTime.
 */
export function promtoolCreateBlocks(
  series: readonly FixtureSeries[],
  outDir: string,
  opts: { maxBlockDuration?: string } = {},
): FixtureBlock[] {
  requireBinary('promtool');
  const input = `${outDir}.om`;
  writeFileSync(input, openMetricsText(series));
  const args = ['tsdb', 'create-blocks-from', '--quiet'];
  // Hidden flag; blocks then span the largest 2h*3^k range <= the duration.
  if (opts.maxBlockDuration) args.push(`--max-block-duration=${opts.maxBlockDuration}`);
  args.push('openmetrics', input, outDir);
  const r = spawnSync('promtool', args, { encoding: 'utf8' });
  rmSync(input, { force: true });
  if (r.error || r.status !== 0) throw new Error(`promtool create-blocks-from failed: ${r.error?.message ?? ''} ${r.stderr}`);
  const blocks: FixtureBlock[] = [];
  for (const name of readdirSync(outDir)) {
    const metaPath = join(outDir, name, 'meta.json');
    if (!existsSync(metaPath)) continue;
    const metaText = readFileSync(metaPath, 'utf8');
    blocks.push({ dir: join(outDir, name), meta: JSON.parse(metaText), metaText });
  }
  return blocks.sort((a, b) => a.meta.minTime - b.meta.minTime);
}

function uvarintAt(b: Uint8Array, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const x = b[pos++];
    v += (x & 0x7f) * mul;
    if (x < 0x80) return [v, pos];
    mul *= 128;
  }
}

function varintAt(b: Uint8Array, pos: number): [number, number] {
  const [u, p] = uvarintAt(b, pos);
  return [u % 2 === 0 ? u / 2 : -(u + 1) / 2, p];
}

export interface FixtureChunkRecord {
  offset: number;
  encoding: number;
  data: Uint8Array;
}

/** All chunk records of one segment file, in file order (no CRC check). */
export function readChunkRecords(file: string): FixtureChunkRecord[] {
  const b = new Uint8Array(readFileSync(file));
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (view.getUint32(0) !== 0x85bd40dd) throw new Error(`${file}: bad magic`);
  const out: FixtureChunkRecord[] = [];
  let pos = 8;
  while (pos < b.length) {
    const offset = pos;
    const [len, p] = uvarintAt(b, pos);
    const encoding = b[p];
    out.push({ offset, encoding, data: b.slice(p + 1, p + 1 + len) });
    pos = p + 1 + len + 4;
  }
  return out;
}

export interface FixtureIndexSeries {
  /** Series ref: the entry's byte offset / 16. */
  ref: number;
  labels: Record<string, string>;
  chunks: { mint: number; maxt: number; ref: number }[];
}

/** The series entries of an index file (format v2), with labels and chunk metas. */
export function readIndexSeries(file: string): FixtureIndexSeries[] {
  const b = new Uint8Array(readFileSync(file));
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const toc = b.length - 52;
  const off = (i: number): number => Number(view.getBigUint64(toc + i * 8));
  const [symbolsOff, seriesOff, labelIndicesOff, , postingsOff] = [0, 1, 2, 3, 4].map(off);
  const symbols: string[] = [];
  const dec = new TextDecoder();
  const nsym = view.getUint32(symbolsOff + 4);
  let pos = symbolsOff + 8;
  for (let i = 0; i < nsym; i++) {
    const [len, p] = uvarintAt(b, pos);
    symbols.push(dec.decode(b.subarray(p, p + len)));
    pos = p + len;
  }
  const end = labelIndicesOff > seriesOff ? labelIndicesOff : postingsOff;
  const out: FixtureIndexSeries[] = [];
  pos = seriesOff;
  for (;;) {
    pos = Math.ceil(pos / 16) * 16;
    if (pos >= end) break;
    const ref = pos / 16;
    const [len, bodyStart] = uvarintAt(b, pos);
    if (len === 0) break;
    let p = bodyStart;
    let n: number;
    [n, p] = uvarintAt(b, p);
    const labels: Record<string, string> = {};
    for (let i = 0; i < n; i++) {
      let k: number;
      let v: number;
      [k, p] = uvarintAt(b, p);
      [v, p] = uvarintAt(b, p);
      labels[symbols[k]] = symbols[v];
    }
    let nc: number;
    [nc, p] = uvarintAt(b, p);
    const chunks: FixtureIndexSeries['chunks'] = [];
    let prevMaxt = 0;
    let prevRef = 0;
    for (let i = 0; i < nc; i++) {
      let mint: number;
      let d: number;
      let r: number;
      if (i === 0) {
        [mint, p] = varintAt(b, p);
        [d, p] = uvarintAt(b, p);
        [r, p] = uvarintAt(b, p);
      } else {
        [mint, p] = uvarintAt(b, p);
        mint += prevMaxt;
        [d, p] = uvarintAt(b, p);
        [r, p] = varintAt(b, p);
        r += prevRef;
      }
      const maxt = mint + d;
      chunks.push({ mint, maxt, ref: r });
      prevMaxt = maxt;
      prevRef = r;
    }
    out.push({ ref, labels, chunks });
    pos = bodyStart + len + 4;
  }
  return out;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningPrometheus {
  url: string;
  proc: ChildProcess;
  /** Kills the process (SIGKILL after a grace period) and waits for it to exit. */
  stop(): Promise<void>;
  logs(): string;
}

/** Starts `prometheus` with the admin API on a free 127.0.0.1 port and waits until ready. */
export async function startPrometheus(dataDir: string, workDir: string): Promise<RunningPrometheus> {
  requireBinary('prometheus');
  const configFile = join(workDir, 'prometheus.yml');
  writeFileSync(configFile, 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-admin-api',
      '--storage.tsdb.retention.time=100y',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  proc.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`prometheus exited early:\n${log}`);
    try {
      const res = await fetch(`${url}/-/ready`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, proc, stop, logs: () => log };
}
