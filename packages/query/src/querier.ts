// The Queryable the PromQL engine reads through (Thanos pkg/query/querier.go): selects
// become Series fan-outs through the proxy, chunks are decoded lazily into sample
// iterators, replicas are deduplicated, and failing endpoints become warnings.

import { nopLogger } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import type { StoreSeries, thanos } from '@thanos-ts/storeapi';
import { DedupFunc, sortedByMinTime } from '@thanos-ts/tsdb';
import type { Matcher, Querier, Queryable, SelectHints, Series } from '@thanos-ts/tsdb';
import { aggrsFromFunc, maxResolutionForSelect, StoreChunkSeries } from './chunk-series.js';
import type { Aggr } from './chunk-series.js';
import { dedupSeriesSet } from './dedup/series-set.js';
import { Gate } from '@thanos-ts/runtime';
import { PartialResponseStrategy } from '@thanos-ts/storeapi';
import type { ProxyLabelsRequest, ProxySeriesRequest } from '@thanos-ts/storeapi';
import type { SeriesResponse, LabelNamesResponse, LabelValuesResponse } from '@thanos-ts/storeapi';

/** What the querier needs from the proxy (ProxyStore has it). */
export interface SeriesProxy {
  seriesStream(req: ProxySeriesRequest, signal?: AbortSignal): AsyncIterable<SeriesResponse>;
  labelNamesOf(req: ProxyLabelsRequest, signal?: AbortSignal): Promise<LabelNamesResponse>;
  labelValuesOf(label: string, req: ProxyLabelsRequest, signal?: AbortSignal): Promise<LabelValuesResponse>;
}

export interface StoreQueryableOptions {
  proxy: SeriesProxy;
  /** dedup: merge replicas along replicaLabels (only with at least one replica label). */
  deduplicate?: boolean;
  /** --query.replica-label, or the replicaLabels[] of the request. */
  replicaLabels?: readonly string[];
  /** --deduplication.func: penalty (default) or chain. */
  dedupFunc?: DedupFunc;
  /** Allow partial responses: failing endpoints become warnings (default true, as --query.partial-response). */
  partialResponse?: boolean;
  /** max_source_resolution in ms: the coarsest downsampling resolution to read (0: raw only). */
  maxSourceResolutionMs?: number;
  /** Ask stores for labels only (series API). */
  skipChunks?: boolean;
  /** storeMatch[]: restrict to endpoints whose __address__ matches one group. */
  storeMatchers?: readonly (readonly Matcher[])[];
  /** Bounds every select (Thanos: --query.timeout); 0 for none. */
  selectTimeoutMs?: number;
  /** --query.max-concurrent-select: selects streaming at once per querier (default 4). */
  maxConcurrentSelects?: number;
  /** Aborts every call of the queriers (the HTTP request went away). */
  signal?: AbortSignal;
  logger?: Logger;
}

/**
 * A tsdb Queryable over StoreAPI endpoints. Options are per query in Thanos (dedup,
 * partial_response, max_source_resolution, replicaLabels[], storeMatch[] are HTTP
 * parameters), so the API creates one per request; it is cheap.
 */
export class StoreQueryable implements Queryable {
  /**
   * Distinct warnings of every querier opened from here, in order of arrival: the
   * PromQL engine opens and closes its querier itself, so the API reads them here.
   */
  readonly warnings: string[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly opts: StoreQueryableOptions) {}

  async querier(mint: number, maxt: number): Promise<StoreQuerier> {
    return new StoreQuerier(this.opts, mint, maxt, (w) => {
      if (this.seen.has(w)) return;
      this.seen.add(w);
      this.warnings.push(w);
    });
  }
}

/**
 * Selects series over [mint, maxt] from the proxy. Warnings (partial responses,
 * endpoints' own warnings) collect in `warnings` as the selects stream; read them
 * after consuming the series.
 */
export class StoreQuerier implements Querier {
  /** Distinct warnings of all calls so far, in order of arrival. */
  readonly warnings: string[] = [];
  private readonly seen = new Set<string>();
  private readonly gate: Gate;
  private readonly controller = new AbortController();
  private readonly logger: Logger;

  constructor(
    private readonly opts: StoreQueryableOptions,
    readonly mint: number,
    readonly maxt: number,
    private readonly onWarning: (w: string) => void = () => {},
  ) {
    this.gate = new Gate(opts.maxConcurrentSelects && opts.maxConcurrentSelects > 0 ? opts.maxConcurrentSelects : 4);
    this.logger = opts.logger ?? nopLogger();
  }

  private get dedupEnabled(): boolean {
    return (this.opts.deduplicate ?? true) && (this.opts.replicaLabels?.length ?? 0) > 0;
  }

  private get strategy(): PartialResponseStrategy {
    return (this.opts.partialResponse ?? true) ? PartialResponseStrategy.WARN : PartialResponseStrategy.ABORT;
  }

  private addWarning(w: string): void {
    if (this.seen.has(w)) return;
    this.seen.add(w);
    this.warnings.push(w);
    this.onWarning(w);
  }

  /** The Series request for a select, with Thanos's hints, aggregates and resolution. */
  seriesRequest(hints: SelectHints, matchers: readonly Matcher[]): ProxySeriesRequest {
    const aggrs = aggrsFromFunc(hints.func);
    const queryHints: thanos.QueryHints.$Properties = {};
    if (hints.step) queryHints.stepMillis = hints.step;
    if (hints.func) queryHints.func = { name: hints.func };
    if (hints.range) queryHints.range = { millis: hints.range };
    if (hints.grouping && hints.grouping.length > 0) queryHints.grouping = { by: hints.by ?? false, labels: hints.grouping.slice() };
    return {
      minTime: hints.start,
      maxTime: hints.end,
      matchers,
      maxResolutionWindow: maxResolutionForSelect(this.opts.maxSourceResolutionMs ?? 0, hints.range, hints.func),
      aggregates: aggrs,
      partialResponseStrategy: this.strategy,
      skipChunks: this.opts.skipChunks ?? false,
      queryHints: Object.keys(queryHints).length > 0 ? queryHints : null,
      withoutReplicaLabels: this.dedupEnabled ? this.opts.replicaLabels : [],
      storeMatchers: this.opts.storeMatchers,
    };
  }

  select(hints: SelectHints, matchers: Matcher[]): AsyncIterable<Series> {
    return { [Symbol.asyncIterator]: () => this.selectSeries(hints, matchers) };
  }

  private async *selectSeries(hints: SelectHints, matchers: Matcher[]): AsyncGenerator<Series> {
    const req = this.seriesRequest(hints, matchers);
    const aggrs = req.aggregates as Aggr[];
    const signal = this.selectSignal();
    await this.gate.acquire(signal);
    this.streaming++;
    try {
      const frames = this.opts.proxy.seriesStream(req, signal);
      if (!this.dedupEnabled) {
        // The frames read here, not through storeSeries: a generator less per series.
        for await (const f of frames) {
          if (f.series) yield new StoreChunkSeries(f.series.labels, sortedByMinTime(f.series.chunks), this.mint, this.maxt, aggrs);
          else if (f.batch) for (const s of f.batch.series) yield new StoreChunkSeries(s.labels, sortedByMinTime(s.chunks), this.mint, this.maxt, aggrs);
          else if (f.warning) this.addWarning(f.warning);
        }
        return;
      }
      yield* dedupSeriesSet(this.storeSeries(frames), {
        mint: this.mint,
        maxt: this.maxt,
        aggrs,
        func: hints.func,
        dedupFunc: this.opts.dedupFunc ?? DedupFunc.PENALTY,
      });
    } finally {
      this.streaming--;
      this.gate.release();
    }
  }

  /** Selects that have not finished (close() cancels them). */
  private streaming = 0;

  /** Series of the proxy's frames; warnings go to `warnings`. */
  private async *storeSeries(frames: AsyncIterable<SeriesResponse>): AsyncGenerator<StoreSeries> {
    for await (const f of frames) {
      if (f.series) yield f.series;
      else if (f.batch) yield* f.batch.series;
      else if (f.warning) this.addWarning(f.warning);
    }
  }

  // One per querier: its selects start together, and a timer and combined signal per
  // select cost more than a small query's evaluation. The request's signal and the
  // timeout abort the querier's own controller: AbortSignal.any costs several times more
  // than a listener (it tracks its sources through weak references).
  private linked = false;
  private unlink: (() => void)[] = [];

  private selectSignal(): AbortSignal {
    if (!this.linked) this.link();
    return this.controller.signal;
  }

  private link(): void {
    this.linked = true;
    const c = this.controller;
    const outer = this.opts.signal;
    if (outer !== undefined) {
      if (outer.aborted) {
        c.abort(outer.reason);
        return;
      }
      const onAbort = (): void => c.abort(outer.reason);
      outer.addEventListener('abort', onAbort, { once: true });
      this.unlink.push(() => outer.removeEventListener('abort', onAbort));
    }
    const ms = this.opts.selectTimeoutMs ?? 0;
    if (ms > 0) {
      // AbortSignal.timeout's reason, so the error reads the same.
      const timer = setTimeout(() => c.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
      timer.unref();
      this.unlink.push(() => clearTimeout(timer));
    }
  }

  private labelsRequest(matchers: readonly Matcher[]): ProxyLabelsRequest {
    return {
      start: this.mint,
      end: this.maxt,
      matchers,
      partialResponseStrategy: this.strategy,
      withoutReplicaLabels: this.dedupEnabled ? this.opts.replicaLabels : [],
      storeMatchers: this.opts.storeMatchers,
    };
  }

  async labelNames(matchers: Matcher[]): Promise<string[]> {
    const r = await this.opts.proxy.labelNamesOf(this.labelsRequest(matchers), this.selectSignal());
    for (const w of r.warnings) this.addWarning(w);
    return r.names;
  }

  async labelValues(name: string, matchers: Matcher[]): Promise<string[]> {
    const r = await this.opts.proxy.labelValuesOf(name, this.labelsRequest(matchers), this.selectSignal());
    for (const w of r.warnings) this.addWarning(w);
    return r.values;
  }

  /** Cancels whatever is still streaming. */
  async close(): Promise<void> {
    if (this.streaming > 0 && !this.controller.signal.aborted) this.controller.abort(new DOMException('querier closed', 'AbortError'));
    for (const f of this.unlink.splice(0)) f();
    this.logger.debug({ mint: this.mint, maxt: this.maxt }, 'querier closed');
  }
}
