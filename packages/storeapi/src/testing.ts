// Test helpers for StoreAPI code: an in-memory StoreAPI and XOR chunk builders, in the
// spirit of Thanos's storepb/testutil. Used by this package's tests and by components
// that proxy or merge StoreAPI streams.

import { compareLabels, EMPTY_LABELS, XorChunk } from '@thanos-ts/tsdb';
import type { Labels } from '@thanos-ts/tsdb';
import type { InfoAPI, SeriesSink, StoreAPI, ValidatedLabelNamesRequest, ValidatedLabelValuesRequest, ValidatedSeriesRequest } from './server.js';
import { StoreChunkEncoding } from './proto.js';
import type { AggrChunk, InfoResponseInit, LabelNamesResponse, LabelValuesResponse, StoreSeries } from './proto.js';

/** An XOR chunk of `n` samples from t0 every `stepMs`, values from `value(i)`. */
export function makeXorChunk(t0: number, n: number, stepMs: number, value: (i: number) => number = (i) => i): AggrChunk {
  const c = new XorChunk();
  const app = c.appender();
  for (let i = 0; i < n; i++) app.append(t0 + i * stepMs, value(i));
  c.compact();
  return { minTime: t0, maxTime: t0 + (n - 1) * stepMs, raw: { type: StoreChunkEncoding.XOR, data: c.bytes() } };
}

export interface FakeStoreOptions {
  /** The series served, sorted by labels. */
  series: StoreSeries[];
  /** Warnings sent before the first series. */
  warnings?: string[];
  /** Called before each series is written (e.g. to slow the stream down). */
  beforeSeries?: (index: number, signal: AbortSignal) => Promise<void> | void;
  info?: InfoResponseInit;
}

/**
 * A StoreAPI over a fixed list of series: filters by matchers and time overlap,
 * honours skip_chunks and limit, and records what happened for assertions.
 */
export class FakeStore implements StoreAPI, InfoAPI {
  /** Series written by the last Series call. */
  sent = 0;
  /** Whether the last Series call saw its signal abort. */
  aborted = false;
  /** Series the sink accepted after the signal aborted (must stay 0). */
  sentAfterAbort = 0;
  /** Resolves when the last Series call returns or throws. */
  done: Promise<void> = Promise.resolve();
  lastRequest: ValidatedSeriesRequest | null = null;

  constructor(private readonly opts: FakeStoreOptions) {}

  series(req: ValidatedSeriesRequest, sink: SeriesSink, signal: AbortSignal): Promise<void> {
    this.sent = 0;
    this.aborted = false;
    this.sentAfterAbort = 0;
    this.lastRequest = req;
    signal.addEventListener('abort', () => (this.aborted = true));
    const p = this.stream(req, sink, signal);
    this.done = p.then(
      () => {},
      () => {},
    );
    return p;
  }

  private async stream(req: ValidatedSeriesRequest, sink: SeriesSink, signal: AbortSignal): Promise<void> {
    for (const w of this.opts.warnings ?? []) {
      const p = sink.warning(w);
      if (p) await p;
    }
    let i = 0;
    for (const s of this.opts.series) {
      if (!this.selects(req, s.labels)) continue;
      const chunks = req.skipChunks ? [] : s.chunks.filter((c) => c.maxTime >= req.minTime && c.minTime <= req.maxTime);
      if (!req.skipChunks && chunks.length === 0) continue;
      if (this.opts.beforeSeries) await this.opts.beforeSeries(i, signal);
      const p = sink.series({ labels: s.labels, chunks }); // throws once the call is cancelled
      if (signal.aborted) this.sentAfterAbort++; // accepted after cancellation: a bug
      this.sent++;
      if (p) await p;
      i++;
      if (req.limit > 0 && i >= req.limit) break;
    }
  }

  private selects(req: ValidatedSeriesRequest | ValidatedLabelNamesRequest, ls: Labels): boolean {
    for (const m of req.parsedMatchers) {
      let v = '';
      for (const l of ls) if (l.name === m.name) v = l.value;
      if (!m.matches(v)) return false;
    }
    return true;
  }

  async labelNames(req: ValidatedLabelNamesRequest): Promise<LabelNamesResponse> {
    const names = new Set<string>();
    for (const s of this.opts.series) if (this.selects(req, s.labels)) for (const l of s.labels) names.add(l.name);
    return { names: [...names].sort(), warnings: this.opts.warnings ?? [] };
  }

  async labelValues(req: ValidatedLabelValuesRequest): Promise<LabelValuesResponse> {
    const values = new Set<string>();
    for (const s of this.opts.series) {
      if (!this.selects(req, s.labels)) continue;
      for (const l of s.labels) if (l.name === req.label) values.add(l.value);
    }
    return { values: [...values].sort(), warnings: this.opts.warnings ?? [] };
  }

  info(): InfoResponseInit {
    return this.opts.info ?? { ComponentType: 'debug', labelSets: [{ labels: EMPTY_LABELS as never }], store: { minTime: 0, maxTime: 0 } };
  }
}

/**
 * `n` series {__name__="<metric>", i="<zero-padded i>", job="fake", ...extra} sorted by
 * labels, each with `chunksPerSeries` XOR chunks of 120 samples every 15 s from t0.
 * Chunk bytes are shared between series (they are read-only).
 */
export function makeSeries(
  n: number,
  opts: { metric?: string; chunksPerSeries?: number; t0?: number; extra?: Labels } = {},
): StoreSeries[] {
  const perSeries = opts.chunksPerSeries ?? 1;
  const t0 = opts.t0 ?? 1_700_000_000_000;
  const chunks: AggrChunk[] = [];
  for (let c = 0; c < perSeries; c++) chunks.push(makeXorChunk(t0 + c * 120 * 15_000, 120, 15_000, (i) => c * 120 + i));
  const width = String(n).length;
  const out: StoreSeries[] = [];
  for (let i = 0; i < n; i++) {
    const labels = [
      { name: '__name__', value: opts.metric ?? 'test_metric' },
      { name: 'i', value: String(i).padStart(width, '0') },
      { name: 'job', value: 'fake' },
      ...(opts.extra ?? []),
    ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    out.push({ labels, chunks });
  }
  return out.sort((a, b) => compareLabels(a.labels, b.labels));
}
