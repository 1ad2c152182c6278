import { spawn } from 'node:child_process';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDump, type DumpedSeries } from './dump.js';
import { findBinary } from './process.js';
import { removeTempDir, tempDir } from './temp-dir.js';

export interface PromtoolResult {
  stdout: string;
  stderr: string;
  /** Exit code; -1 if killed by a signal. */
  code: number;
}

export interface PromtoolOptions {
  cwd?: string;
  /** Written to promtool's stdin. */
  input?: string;
  /** Kill promtool after this long (default 60 s). */
  timeoutMs?: number;
}

const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** Runs the real `promtool` (Debian 2.42) and collects its output; never throws on a non-zero exit. */
export function promtool(args: string[], opts: PromtoolOptions = {}): Promise<PromtoolResult> {
  const bin = findBinary('promtool');
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 60_000 });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.once('error', reject);
    child.once('close', (code) =>
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code: code ?? -1 }),
    );
    // promtool may exit without reading its input (e.g. `tsdb dump`): EPIPE is no error then.
    child.stdin.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') reject(e);
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs promtool and throws (with its output) unless it exits 0. */
async function promtoolOk(args: string[], opts?: PromtoolOptions): Promise<PromtoolResult> {
  const r = await promtool(args, opts);
  if (r.code !== 0) {
    throw new Error(`promtool ${args.join(' ')}: exit code ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  }
  return r;
}

async function blockDirs(dir: string): Promise<Set<string>> {
  try {
    return new Set((await readdir(dir)).filter((n) => ULID_RE.test(n)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw e;
  }
}

export interface CreateBlocksOptions {
  /** promtool's hidden --max-block-duration (e.g. "24h"); anything under 2h is ignored. */
  maxBlockDuration?: string;
}

/**
 * Backfills OpenMetrics `text` into `outDir` with `promtool tsdb create-blocks-from
 * openmetrics` and returns the ULIDs of the blocks it created, sorted.
 */
export async function createBlocksFromOpenMetrics(
  text: string,
  outDir: string,
  opts: CreateBlocksOptions = {},
): Promise<string[]> {
  const before = await blockDirs(outDir);
  const tmp = await tempDir('om-input');
  try {
    const file = join(tmp, 'input.om');
    await writeFile(file, text);
    const args = ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet'];
    if (opts.maxBlockDuration) args.push(`--max-block-duration=${opts.maxBlockDuration}`);
    await promtoolOk([...args, file, outDir]);
  } finally {
    await removeTempDir(tmp);
  }
  return [...(await blockDirs(outDir))].filter((u) => !before.has(u)).sort();
}

export interface DumpOptions {
  /** Inclusive bounds in ms. */
  minTime?: number;
  maxTime?: number;
  /** Series selector, default all series. */
  match?: string;
}

/**
 * `promtool tsdb dump <dir>` parsed: every float series of the blocks in the database
 * directory `dir`, sorted by labels. promtool 2.42 refuses a directory without `wal/`
 * (which block writers do not create), so an empty one is created first; promtool
 * itself adds an empty `chunks_head/`.
 */
export async function dumpBlocks(dir: string, opts: DumpOptions = {}): Promise<DumpedSeries[]> {
  if (!(await stat(dir)).isDirectory()) throw new Error(`dump blocks: ${dir} is not a directory`);
  await mkdir(join(dir, 'wal'), { recursive: true });
  const args = ['tsdb', 'dump'];
  if (opts.minTime !== undefined) args.push(`--min-time=${opts.minTime}`);
  if (opts.maxTime !== undefined) args.push(`--max-time=${opts.maxTime}`);
  if (opts.match !== undefined) args.push(`--match=${opts.match}`);
  const r = await promtoolOk([...args, dir]);
  return parseDump(r.stdout);
}

export interface BlockAnalysis {
  blockId: string;
  /** As promtool prints it, e.g. "1h59m59.999s". */
  duration: string;
  series: number;
  labelNames: number;
  postings: number;
  postingEntries: number;
  /** The full report. */
  raw: string;
}

/** `promtool tsdb analyze <dir> <ulid>`, with the summary lines parsed. */
export async function analyzeBlock(dir: string, ulid: string): Promise<BlockAnalysis> {
  await mkdir(join(dir, 'wal'), { recursive: true });
  const { stdout } = await promtoolOk(['tsdb', 'analyze', dir, ulid]);
  const field = (name: string): string => {
    const m = new RegExp(`^${name.replace(/[()]/g, '\\$&')}: (.*)$`, 'm').exec(stdout);
    if (!m) throw new Error(`promtool tsdb analyze: no "${name}" in output:\n${stdout}`);
    return m[1];
  };
  return {
    blockId: field('Block ID'),
    duration: field('Duration'),
    series: Number(field('Series')),
    labelNames: Number(field('Label names')),
    postings: Number(field('Postings (unique label pairs)')),
    postingEntries: Number(field('Postings entries (total label pairs)')),
    raw: stdout,
  };
}

export interface ListedBlock {
  ulid: string;
  minTime: number;
  maxTime: number;
  numSamples: number;
  numChunks: number;
  numSeries: number;
}

/** `promtool tsdb list <dir>` parsed (times in ms, as printed without -r). */
export async function listBlocks(dir: string): Promise<ListedBlock[]> {
  await mkdir(join(dir, 'wal'), { recursive: true });
  const { stdout } = await promtoolOk(['tsdb', 'list', dir]);
  const out: ListedBlock[] = [];
  for (const line of stdout.split('\n').slice(1)) {
    // ULID MIN MAX DURATION SAMPLES CHUNKS SERIES SIZE
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !ULID_RE.test(f[0])) continue;
    out.push({
      ulid: f[0],
      minTime: Number(f[1]),
      maxTime: Number(f[2]),
      numSamples: Number(f[4]),
      numChunks: Number(f[5]),
      numSeries: Number(f[6]),
    });
  }
  return out;
}
