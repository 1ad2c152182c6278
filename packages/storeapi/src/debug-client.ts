// `thanos-ts tools store series|labels|label-values|info`: a StoreAPI debugging client.
// One line per series, label name or value, and a closing summary line, so the output
// reads well and greps well:
//
//   {__name__="up", instance="a:9090", job="x"} chunks=3 samples=360 bytes=512 mint=1700000000000 maxt=1700005385000
//   series=1 chunks=3 samples=360 bytes=512 took=12ms
//
// mint/maxt are the series' first and last chunk times in unix milliseconds ("-" when it
// has no chunks); samples are counted by decoding every XOR chunk.

import type { Writable } from 'node:stream';
import { InvalidArgumentError, parseTimeOrDuration, UserError } from '@thanos-ts/runtime';
import { chunkFromBytes, goQuote, ValueType } from '@thanos-ts/tsdb';
import type { ChunkIterator, Labels, Matcher } from '@thanos-ts/tsdb';
import { StoreClient } from './client.js';
import { matchersToProto } from './convert.js';
import { StoreAPIError } from './errors.js';
import { mergeSeriesResponses } from './merge.js';
import { StoreChunkEncoding } from './proto.js';
import type { AggrChunk, InfoResponse, SeriesResponse, StoreChunk, StoreSeries } from './proto.js';
import { parseSelector } from './selector.js';

/** Thanos's defaults for "no lower / upper bound" on time flags (0000-01-01 / 9999-12-31). */
export const DEFAULT_MIN_TIME = -62167219200000; // 0000-01-01T00:00:00Z
export const DEFAULT_MAX_TIME = 253402300799000; // 9999-12-31T23:59:59Z

/** The selector used when no --match is given: every series. */
export const DEFAULT_MATCH = '{__name__=~".+"}';

export interface StoreToolOptions {
  /** HOST:PORT of the StoreAPI. */
  endpoint: string;
  /** Per-call timeout in ms (default 2 minutes). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface StoreSeriesToolOptions extends StoreToolOptions {
  /** Series selectors; several are ORed (one Series call each, merged). Default: every series. */
  match?: string[];
  /** Unix ms, inclusive (default: no bound). */
  minTime?: number;
  maxTime?: number;
  /** Ask for labels only. */
  skipChunks?: boolean;
  withoutReplicaLabels?: string[];
  /** Maximum series per call; 0 = no limit. */
  limit?: number;
  /** SeriesRequest.response_batch_size (default 64, as Thanos's querier). */
  responseBatchSize?: number;
}

export interface StoreLabelsToolOptions extends StoreToolOptions {
  match?: string[];
  minTime?: number;
  maxTime?: number;
  limit?: number;
}

export interface StoreSeriesSummary {
  series: number;
  chunks: number;
  samples: number;
  bytes: number;
  warnings: number;
  chunkErrors: number;
  tookMs: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;

/**
 * Parses --min-time/--max-time values: unix milliseconds ("1700000000000"), RFC3339
 * ("2024-01-01T00:00:00Z"), or a duration relative to now ("-1h", "30m").
 */
export function parseTimeFlag(value: string, now = Date.now()): number {
  if (/^-?\d+$/.test(value)) return Number(value);
  return parseTimeOrDuration(value, now);
}

/** `tools store series`: streams the matching series, one line each, then a summary. */
export async function runStoreSeries(opts: StoreSeriesToolOptions, out: Writable): Promise<StoreSeriesSummary> {
  const selectors = parseMatchFlags(opts.match);
  const client = new StoreClient(opts.endpoint);
  const w = new LineWriter(out);
  const sum: StoreSeriesSummary = { series: 0, chunks: 0, samples: 0, bytes: 0, warnings: 0, chunkErrors: 0, tookMs: 0 };
  const start = performance.now();
  const callOpts = { timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal: opts.signal };
  const streams = selectors.map((matchers) =>
    client.series(
      {
        minTime: opts.minTime ?? DEFAULT_MIN_TIME,
        maxTime: opts.maxTime ?? DEFAULT_MAX_TIME,
        matchers: matchersToProto(matchers),
        skipChunks: opts.skipChunks ?? false,
        withoutReplicaLabels: opts.withoutReplicaLabels ?? [],
        limit: opts.limit ?? 0,
        responseBatchSize: opts.responseBatchSize ?? 64,
      },
      callOpts,
    ),
  );
  const it: AsyncIterable<SeriesResponse> = streams.length === 1 ? streams[0] : mergeSeriesResponses(streams);
  let iter: ChunkIterator | undefined;
  try {
    for await (const r of it) {
      if (r.warning) {
        sum.warnings++;
        await w.line(`warning: ${r.warning}`);
        continue;
      }
      const list = r.series ? [r.series] : r.batch ? r.batch.series : [];
      for (const s of list) {
        const line = describeSeries(s, (c) => {
          const n = countSamples(c, iter);
          iter = n.iter;
          return n;
        });
        sum.series++;
        sum.chunks += line.chunks;
        sum.samples += line.samples;
        sum.bytes += line.bytes;
        sum.chunkErrors += line.errors;
        await w.line(line.text);
      }
    }
  } catch (err) {
    throw toolError(err);
  } finally {
    client.close();
  }
  sum.tookMs = performance.now() - start;
  await w.line(
    `series=${sum.series} chunks=${sum.chunks} samples=${sum.samples} bytes=${sum.bytes} took=${formatMs(sum.tookMs)}` +
      (sum.chunkErrors > 0 ? ` chunk_errors=${sum.chunkErrors}` : ''),
  );
  await w.flush();
  return sum;
}

/** `tools store labels`: the label names of the matching series, one per line. */
export async function runStoreLabels(opts: StoreLabelsToolOptions, out: Writable): Promise<string[]> {
  const selectors = opts.match && opts.match.length > 0 ? parseMatchFlags(opts.match) : [[]];
  return runLabelCall(opts, out, 'names', selectors, (client, matchers, callOpts) =>
    client
      .labelNames(
        { start: opts.minTime ?? DEFAULT_MIN_TIME, end: opts.maxTime ?? DEFAULT_MAX_TIME, matchers: matchersToProto(matchers), limit: opts.limit ?? 0 },
        callOpts,
      )
      .then((r) => ({ items: r.names, warnings: r.warnings })),
  );
}

/** `tools store label-values --label NAME`: the values of one label, one per line. */
export async function runStoreLabelValues(opts: StoreLabelsToolOptions & { label: string }, out: Writable): Promise<string[]> {
  if (!opts.label) throw new UserError('--label: a label name is required');
  const selectors = opts.match && opts.match.length > 0 ? parseMatchFlags(opts.match) : [[]];
  return runLabelCall(opts, out, 'values', selectors, (client, matchers, callOpts) =>
    client
      .labelValues(
        {
          label: opts.label,
          start: opts.minTime ?? DEFAULT_MIN_TIME,
          end: opts.maxTime ?? DEFAULT_MAX_TIME,
          matchers: matchersToProto(matchers),
          limit: opts.limit ?? 0,
        },
        callOpts,
      )
      .then((r) => ({ items: r.values, warnings: r.warnings })),
  );
}

/** `tools store info`: what the endpoint says it is and serves. */
export async function runStoreInfo(opts: StoreToolOptions, out: Writable): Promise<InfoResponse> {
  const client = new StoreClient(opts.endpoint);
  const start = performance.now();
  let info: InfoResponse;
  try {
    info = await client.info({ timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal: opts.signal });
  } catch (err) {
    throw toolError(err);
  } finally {
    client.close();
  }
  const w = new LineWriter(out);
  for (const line of describeInfo(info)) await w.line(line);
  await w.line(`took=${formatMs(performance.now() - start)}`);
  await w.flush();
  return info;
}

/** The lines `tools store info` prints for an InfoResponse. */
export function describeInfo(info: InfoResponse): string[] {
  const lines = [`ComponentType: ${info.ComponentType || '(empty)'}`];
  if (info.labelSets.length === 0) lines.push('LabelSets: (none)');
  for (const s of info.labelSets) lines.push(`LabelSets: ${formatLabels(s.labels ?? [])}`);
  const st = info.store;
  if (st) {
    lines.push(`MinTime: ${formatTime(st.minTime)}`);
    lines.push(`MaxTime: ${formatTime(st.maxTime)}`);
    lines.push(
      `Flags: supports_sharding=${st.supportsSharding} supports_without_replica_labels=${st.supportsWithoutReplicaLabels} supports_projections=${st.supportsProjections}`,
    );
    for (const t of st.tsdbInfos) {
      lines.push(`TSDBInfo: ${formatLabels(t.labels?.labels ?? [])} min_time=${formatTime(t.minTime)} max_time=${formatTime(t.maxTime)}`);
    }
  }
  const apis: string[] = [];
  if (info.store) apis.push('store');
  if (info.rules) apis.push('rules');
  if (info.metricMetadata) apis.push('metric_metadata');
  if (info.targets) apis.push('targets');
  if (info.exemplars) apis.push('exemplars');
  if (info.query) apis.push('query');
  if (info.status) apis.push('status');
  lines.push(`APIs: ${apis.length > 0 ? apis.join(', ') : '(none)'}`);
  return lines;
}

/** Formats labels as Prometheus prints them: {a="1", b="2"}, values Go-quoted. */
export function formatLabels(ls: Labels): string {
  let s = '{';
  for (let i = 0; i < ls.length; i++) {
    if (i > 0) s += ', ';
    const name = ls[i].name;
    s += (/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) ? name : goQuote(name)) + '=' + goQuote(ls[i].value);
  }
  return s + '}';
}

export interface SeriesLine {
  text: string;
  chunks: number;
  samples: number;
  bytes: number;
  errors: number;
}

export interface SampleCount {
  samples: number;
  error: string | null;
  iter?: ChunkIterator;
}

/** The line for one series: labels, chunk/sample/byte counts and its time span. */
export function describeSeries(s: StoreSeries, count: (c: StoreChunk) => SampleCount = (c) => countSamples(c)): SeriesLine {
  let samples = 0;
  let bytes = 0;
  let errors = 0;
  let mint = Infinity;
  let maxt = -Infinity;
  let firstError: string | null = null;
  for (const c of s.chunks) {
    if (c.minTime < mint) mint = c.minTime;
    if (c.maxTime > maxt) maxt = c.maxTime;
    const main = mainChunk(c);
    for (const sub of [c.raw, c.count, c.sum, c.min, c.max, c.counter]) if (sub) bytes += sub.data.length;
    if (!main) continue;
    const n = count(main);
    samples += n.samples;
    if (n.error !== null) {
      errors++;
      firstError ??= n.error;
    }
  }
  const span = s.chunks.length > 0 ? `mint=${mint} maxt=${maxt}` : 'mint=- maxt=-';
  let text = `${formatLabels(s.labels)} chunks=${s.chunks.length} samples=${samples} bytes=${bytes} ${span}`;
  if (firstError !== null) text += ` error=${goQuote(firstError)}`;
  return { text, chunks: s.chunks.length, samples, bytes, errors };
}

/** The raw chunk, or for downsampled data the count aggregate (one sample per window). */
function mainChunk(c: AggrChunk): StoreChunk | null {
  return c.raw ?? c.count ?? c.sum ?? c.min ?? c.max ?? c.counter ?? null;
}

/**
 * Samples in a StoreAPI chunk. XOR chunks are decoded to the end (so corruption shows);
 * histogram chunks, which this build cannot decode, report the count in their header.
 */
export function countSamples(c: StoreChunk, reuse?: ChunkIterator): SampleCount {
  const type = c.type ?? StoreChunkEncoding.XOR;
  if (type !== StoreChunkEncoding.XOR) {
    const d = c.data;
    return d.length >= 2 ? { samples: (d[0] << 8) | d[1], error: null } : { samples: 0, error: 'chunk shorter than its header' };
  }
  try {
    // storepb encodings are the TSDB's minus one.
    const it = chunkFromBytes(type + 1, c.data).iterator(reuse);
    let n = 0;
    while (it.next() === ValueType.Float) n++;
    const e = it.err();
    return { samples: n, error: e ? e.message : null, iter: it };
  } catch (err) {
    return { samples: 0, error: (err as Error).message };
  }
}

async function runLabelCall(
  opts: StoreLabelsToolOptions,
  out: Writable,
  what: 'names' | 'values',
  selectors: Matcher[][],
  call: (
    client: StoreClient,
    matchers: Matcher[],
    callOpts: { timeoutMs: number; signal?: AbortSignal },
  ) => Promise<{ items: string[]; warnings: string[] }>,
): Promise<string[]> {
  const client = new StoreClient(opts.endpoint);
  const start = performance.now();
  const items = new Set<string>();
  const warnings: string[] = [];
  try {
    const results = await Promise.all(
      selectors.map((m) => call(client, m, { timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal: opts.signal })),
    );
    for (const r of results) {
      for (const x of r.items) items.add(x);
      warnings.push(...r.warnings);
    }
  } catch (err) {
    throw toolError(err);
  } finally {
    client.close();
  }
  // Byte order, as Prometheus sorts (sets from several calls need re-sorting).
  const sorted = [...items].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const w = new LineWriter(out);
  for (const x of warnings) await w.line(`warning: ${x}`);
  for (const x of sorted) await w.line(x);
  await w.line(`${what}=${sorted.length} took=${formatMs(performance.now() - start)}`);
  await w.flush();
  return sorted;
}

function parseMatchFlags(match: string[] | undefined): Matcher[][] {
  const list = match && match.length > 0 ? match : [DEFAULT_MATCH];
  return list.map((m) => {
    try {
      return parseSelector(m);
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw new UserError(`--match ${JSON.stringify(m)}: ${err.message}`);
      throw err;
    }
  });
}

function toolError(err: unknown): Error {
  if (err instanceof StoreAPIError) return new UserError(err.message);
  return err as Error;
}

function formatMs(ms: number): string {
  return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)}ms`;
}

/**
 * RFC3339 with milliseconds plus the raw value; raw only outside JavaScript's date range,
 * where ±2^63 (decoded from Go's math.MaxInt64 / MinInt64) print as Go would.
 */
function formatTime(ms: number): string {
  if (Math.abs(ms) <= 8.64e15) return `${new Date(ms).toISOString()} (${ms})`;
  if (ms >= 9223372036854775807) return '9223372036854775807 (max int64)';
  if (ms <= -9223372036854775808) return '-9223372036854775808 (min int64)';
  return String(ms);
}

/** Buffers lines and writes them in blocks, waiting when the stream asks it to. */
class LineWriter {
  private buf = '';

  constructor(private readonly out: Writable) {}

  async line(s: string): Promise<void> {
    this.buf += s + '\n';
    if (this.buf.length >= 1 << 16) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buf === '') return;
    const chunk = this.buf;
    this.buf = '';
    if (!this.out.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error): void => {
          this.out.off('drain', onDrain);
          this.out.off('error', done);
          this.out.off('close', onDrain);
          if (err) reject(err);
          else resolve();
        };
        const onDrain = (): void => done();
        this.out.once('drain', onDrain);
        this.out.once('close', onDrain);
        this.out.once('error', done);
      });
    }
  }
}
