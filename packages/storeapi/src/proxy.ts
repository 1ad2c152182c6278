// The StoreAPI proxy (Thanos pkg/store/proxy.go, proxy_merge.go): one StoreAPI over
// many stores. A request goes only to the stores whose announced label sets and time
// range can hold matching data; their Series streams are read concurrently and merged
// into one label-sorted stream, equal label sets into one series. A failing store
// becomes a warning naming it (partial response) or fails the whole call.
//
// The query component proxies remote endpoints (StoreClient over gRPC); receive proxies
// its per-tenant TSDBStores in-process (localEndpoint). Both are StoreEndpoints.

import { InvalidArgumentError, UnavailableError, nopLogger, formatGoDuration, mapConcurrent } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { compareLabels, compareStrings, labelsKey, mergeLabels, withoutLabels } from '@thanos-ts/tsdb';
import type { Labels, Matcher } from '@thanos-ts/tsdb';
import type { StoreCallOptions } from './client.js';
import { labelsToProto, matchersToProto } from './convert.js';
import { Status, StoreAPIError } from './errors.js';
import { mergeSeriesResponses } from './merge.js';
import { ComponentType, thanos } from './proto.js';
import type {
  InfoResponseInit,
  LabelNamesRequestInit,
  LabelNamesResponse,
  LabelValuesRequestInit,
  LabelValuesResponse,
  SeriesRequestInit,
  SeriesResponse,
  StoreSeries,
} from './proto.js';
import type {
  InfoAPI,
  SeriesSink,
  StoreAPI,
  ValidatedLabelNamesRequest,
  ValidatedLabelValuesRequest,
  ValidatedSeriesRequest,
} from './server.js';
import { labelSetsMatch, matchesExternalLabels, storeMatchersMatchAddress, timeRangesOverlap } from './store-matching.js';

/** thanos.PartialResponseStrategy. */
export const PartialResponseStrategy = thanos.PartialResponseStrategy;
export type PartialResponseStrategy = thanos.PartialResponseStrategy;

/** Go's math.MinInt64 / math.MaxInt64 as the protobuf codec hands them to us (±2^63). */
export const MIN_TIME = -(2 ** 63);
export const MAX_TIME = 2 ** 63;

/** The calls the proxy makes on an endpoint (StoreClient has them; localEndpoint gives them to an in-process StoreAPI). */
export interface StoreEndpointClient {
  series(req: SeriesRequestInit, opts?: StoreCallOptions): AsyncIterable<SeriesResponse>;
  labelNames(req: LabelNamesRequestInit, opts?: StoreCallOptions): Promise<LabelNamesResponse>;
  labelValues(req: LabelValuesRequestInit, opts?: StoreCallOptions): Promise<LabelValuesResponse>;
}

/** An endpoint serving StoreAPI, with what its last Info call said (Thanos store.Client). */
export interface StoreEndpoint {
  /** HOST:PORT, or a name for an in-process store; warnings and storeMatch[] use it. */
  readonly address: string;
  readonly client: StoreEndpointClient;
  /** External label sets; the endpoint's series carry one of them. */
  labelSets(): readonly Labels[];
  /** Inclusive time range of its data (ms); ±2^63 when unbounded. */
  timeRange(): { minTime: number; maxTime: number };
  /** Whether it removes without_replica_labels itself and keeps the stream sorted. */
  supportsWithoutReplicaLabels(): boolean;
  /** Per-TSDB label sets and ranges, passed on in our own Info. */
  tsdbInfos(): thanos.info.TSDBInfo.$Properties[];
  /**
   * Whether its last health check failed (it is then only asked when partial responses
   * are allowed, see the query's EndpointSetOptions.queryUnhealthy). Absent: never down.
   */
  down?(): boolean;
}

const NO_FRAMES: AsyncIterable<SeriesResponse> = { [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true, value: undefined }) }) };

/** The frames up to the limit-th series (the merge yields one series per frame). */
async function* limitSeries(frames: AsyncIterable<SeriesResponse>, limit: number): AsyncGenerator<SeriesResponse> {
  let n = 0;
  for await (const f of frames) {
    if (f.series && ++n > limit) break;
    yield f;
  }
}

/** Series per response frame asked of stores (Thanos DefaultResponseBatchSize). */
export const SERIES_RESPONSE_BATCH_SIZE = 64;

/** A Series request as the proxy takes it (from gRPC or from the querier in-process). */
export interface ProxySeriesRequest {
  minTime: number;
  maxTime: number;
  matchers: readonly Matcher[];
  maxResolutionWindow?: number;
  aggregates?: readonly number[];
  partialResponseStrategy?: PartialResponseStrategy;
  skipChunks?: boolean;
  queryHints?: thanos.QueryHints.$Properties | null;
  shardInfo?: thanos.ShardInfo.$Properties | null;
  /** Labels to drop from every series (replica labels), output sorted without them. */
  withoutReplicaLabels?: readonly string[];
  /** At most this many series (0: no limit). */
  limit?: number;
  /** storeMatch[]: only endpoints whose address one group of __address__ matchers accepts. */
  storeMatchers?: readonly (readonly Matcher[])[];
}

export interface ProxyLabelsRequest {
  /** Inclusive range (ms); both 0 means all time. */
  start: number;
  end: number;
  matchers: readonly Matcher[];
  partialResponseStrategy?: PartialResponseStrategy;
  withoutReplicaLabels?: readonly string[];
  limit?: number;
  storeMatchers?: readonly (readonly Matcher[])[];
}

export interface ProxyStoreOptions {
  /** The endpoints to proxy, read at every request (EndpointSet.storeEndpoints, a tenant list). */
  endpoints: () => readonly StoreEndpoint[];
  /** --selector-label: labels announced for all data behind this proxy. */
  selectorLabels?: Labels;
  /**
   * --store.response-timeout: an endpoint sending nothing for this long (ms) is given up
   * on, as if it had failed (0: wait forever). For label calls it bounds the whole call.
   */
  responseTimeoutMs?: number;
  /** At most this many label calls in flight per request (default 20). */
  maxConcurrentLabelCalls?: number;
  /** The ComponentType our Info announces (default "query"; receive says "receive"). */
  component?: string;
  logger?: Logger;
}

/** "No StoreAPIs available" (Thanos ErrorNoStoresAvailable): nothing to ask and partial response off. */
export const NO_STORES_AVAILABLE = 'No StoreAPIs available';

/**
 * One StoreAPI over many (Thanos ProxyStore): behind the query component (served over
 * gRPC too, so query components can be stacked) and behind receive (over its tenants).
 * Stateless: endpoints are read per request.
 */
export class ProxyStore implements StoreAPI, InfoAPI {
  private readonly logger: Logger;
  private readonly selectorLabels: Labels;
  private readonly responseTimeoutMs: number;
  private readonly maxLabelCalls: number;

  constructor(private readonly opts: ProxyStoreOptions) {
    this.logger = opts.logger ?? nopLogger();
    this.selectorLabels = opts.selectorLabels ?? [];
    this.responseTimeoutMs = opts.responseTimeoutMs ?? 0;
    this.maxLabelCalls = opts.maxConcurrentLabelCalls ?? 20;
  }

  // -------------------------------------------------------------------------
  // StoreAPI over gRPC
  // -------------------------------------------------------------------------

  async series(req: ValidatedSeriesRequest, sink: SeriesSink, signal: AbortSignal): Promise<void> {
    const stream = this.seriesStream(
      {
        minTime: req.minTime,
        maxTime: req.maxTime,
        matchers: req.parsedMatchers,
        maxResolutionWindow: req.maxResolutionWindow,
        aggregates: req.aggregates,
        partialResponseStrategy: strategyOf(req.partialResponseDisabled, req.partialResponseStrategy),
        skipChunks: req.skipChunks,
        queryHints: req.queryHints,
        shardInfo: req.shardInfo,
        withoutReplicaLabels: req.withoutReplicaLabels,
        limit: req.limit,
      },
      signal,
    );
    for await (const f of stream) {
      const p = f.series ? sink.series(f.series) : f.warning ? sink.warning(f.warning) : f.hints ? sink.hints(f.hints) : undefined;
      if (p) await p;
    }
  }

  labelNames(req: ValidatedLabelNamesRequest, signal: AbortSignal): Promise<LabelNamesResponse> {
    return this.labelNamesOf(
      {
        start: req.start,
        end: req.end,
        matchers: req.parsedMatchers,
        partialResponseStrategy: strategyOf(req.partialResponseDisabled, req.partialResponseStrategy),
        withoutReplicaLabels: req.withoutReplicaLabels,
        limit: req.limit,
      },
      signal,
    );
  }

  labelValues(req: ValidatedLabelValuesRequest, signal: AbortSignal): Promise<LabelValuesResponse> {
    return this.labelValuesOf(
      req.label,
      {
        start: req.start,
        end: req.end,
        matchers: req.parsedMatchers,
        partialResponseStrategy: strategyOf(req.partialResponseDisabled, req.partialResponseStrategy),
        withoutReplicaLabels: req.withoutReplicaLabels,
        limit: req.limit,
      },
      signal,
    );
  }

  /** Info of the proxy as a whole: its component type, the union of label sets, the overall time range. */
  info(): InfoResponseInit {
    const { minTime, maxTime } = this.timeRange();
    return {
      ComponentType: this.opts.component ?? ComponentType.QUERY,
      labelSets: this.labelSets().map((ls) => ({ labels: labelsToProto(ls) })),
      store: {
        minTime,
        maxTime,
        supportsSharding: false,
        supportsWithoutReplicaLabels: true,
        tsdbInfos: this.opts.endpoints().flatMap((e) => e.tsdbInfos()),
      },
    };
  }

  /** Distinct label sets of all endpoints, each extended (and overridden) by the selector labels. */
  labelSets(): Labels[] {
    const seen = new Map<string, Labels>();
    for (const e of this.opts.endpoints()) {
      for (const ls of e.labelSets()) {
        const merged = mergeLabels(ls, this.selectorLabels, true);
        seen.set(labelsKey(merged), merged);
      }
    }
    const out = [...seen.values()].sort(compareLabels);
    // Always announce the subset the selector labels stand for.
    if (out.length === 0 && this.selectorLabels.length > 0) out.push(this.selectorLabels);
    return out;
  }

  /** The span of all endpoints' ranges; unbounded when there are none. */
  timeRange(): { minTime: number; maxTime: number } {
    const eps = this.opts.endpoints();
    if (eps.length === 0) return { minTime: MIN_TIME, maxTime: MAX_TIME };
    let minTime = Infinity;
    let maxTime = -Infinity;
    for (const e of eps) {
      const r = e.timeRange();
      if (r.minTime < minTime) minTime = r.minTime;
      if (r.maxTime > maxTime) maxTime = r.maxTime;
    }
    return { minTime, maxTime };
  }

  // -------------------------------------------------------------------------
  // The fan-out
  // -------------------------------------------------------------------------

  /**
   * The endpoints that may hold data for the request: time ranges overlap, external
   * labels can match, and the address passes storeMatch[].
   */
  matchingEndpoints(
    minTime: number,
    maxTime: number,
    matchers: readonly Matcher[],
    storeMatchers: readonly (readonly Matcher[])[] = [],
    abortOnError = false,
  ): StoreEndpoint[] {
    const out: StoreEndpoint[] = [];
    for (const e of this.opts.endpoints()) {
      // Without partial responses a known-down endpoint would fail every query, even
      // when its HA twin has the data; Thanos does not ask it either.
      if (abortOnError && e.down?.()) {
        this.logger.debug({ store: e.address }, 'store filtered out: unhealthy and partial response disabled');
        continue;
      }
      const r = e.timeRange();
      if (!timeRangesOverlap(minTime, maxTime, r.minTime, r.maxTime)) {
        this.logger.debug({ store: e.address, minTime, maxTime, storeMinTime: r.minTime, storeMaxTime: r.maxTime }, 'store filtered out: does not have data within this time period');
        continue;
      }
      if (!storeMatchersMatchAddress(storeMatchers, e.address)) continue;
      if (!labelSetsMatch(matchers, e.labelSets())) {
        this.logger.debug({ store: e.address }, 'store filtered out: external labels does not match request label matchers');
        continue;
      }
      out.push(e);
    }
    return out;
  }

  /**
   * Series from all matching endpoints as one label-sorted stream of frames: series
   * (equal label sets merged, chunks sorted by time, exact duplicates dropped) and
   * warnings. The endpoints are called concurrently; reading stops, and the calls are
   * cancelled, when the consumer stops or `signal` aborts.
   */
  seriesStream(req: ProxySeriesRequest, signal?: AbortSignal): AsyncIterable<SeriesResponse> {
    // The endpoints are chosen when iteration starts (errors then reject the first
    // step), and the merge's own iterator is handed out: no generator re-yielding every
    // frame in between.
    return { [Symbol.asyncIterator]: () => this.seriesFrames(req, signal)[Symbol.asyncIterator]() };
  }

  private seriesFrames(req: ProxySeriesRequest, signal?: AbortSignal): AsyncIterable<SeriesResponse> {
    const abortOnError = req.partialResponseStrategy === PartialResponseStrategy.ABORT;
    const { match, matchers } = matchesExternalLabels(req.matchers, this.selectorLabels);
    if (!match) return NO_FRAMES;
    if (matchers.length === 0) throw new InvalidArgumentError('no matchers specified (excluding selector labels)');
    if (this.opts.endpoints().length === 0 && abortOnError) throw new UnavailableError(NO_STORES_AVAILABLE);
    const stores = this.matchingEndpoints(req.minTime, req.maxTime, matchers, req.storeMatchers, abortOnError);
    if (stores.length === 0) {
      this.logger.debug({ matchers: matchers.map(String) }, 'No StoreAPIs matched for this query');
      return NO_FRAMES;
    }
    const without = req.withoutReplicaLabels ?? [];
    const base: SeriesRequestInit = {
      minTime: req.minTime,
      maxTime: req.maxTime,
      matchers: matchersToProto(matchers),
      maxResolutionWindow: req.maxResolutionWindow ?? 0,
      aggregates: (req.aggregates ?? []) as thanos.Aggr[],
      partialResponseStrategy: req.partialResponseStrategy ?? PartialResponseStrategy.WARN,
      skipChunks: req.skipChunks ?? false,
      queryHints: req.queryHints ?? null,
      shardInfo: req.shardInfo ?? null,
      limit: req.limit ?? 0,
      // Thanos's querier asks for 64 series per frame (store.DefaultResponseBatchSize):
      // per-message gRPC overhead dominates otherwise. Stores that predate it ignore it.
      responseBatchSize: SERIES_RESPONSE_BATCH_SIZE,
    };
    const streams = stores.map((st) => {
      const native = without.length === 0 || st.supportsWithoutReplicaLabels();
      const storeReq: SeriesRequestInit = native ? { ...base, withoutReplicaLabels: without as string[] } : base;
      return this.storeSeries(st, storeReq, native ? null : new Set(without), abortOnError, signal);
    });
    const merged = mergeSeriesResponses(streams);
    const limit = req.limit ?? 0;
    return limit > 0 ? limitSeries(merged, limit) : merged;
  }

  /**
   * One endpoint's Series frames. Errors become a warning frame naming the endpoint, or
   * are thrown with abortOnError (as are the endpoint's own warnings then). With
   * `strip`, the endpoint cannot drop the replica labels itself: its whole answer is
   * read, the labels removed and the series re-sorted here (Thanos eagerRespSet).
   */
  private async *storeSeries(
    st: StoreEndpoint,
    req: SeriesRequestInit,
    strip: Set<string> | null,
    abortOnError: boolean,
    parent?: AbortSignal,
  ): AsyncGenerator<SeriesResponse> {
    const ac = new AbortController();
    const onParentAbort = (): void => ac.abort(parent!.reason);
    parent?.addEventListener('abort', onParentAbort);
    const timeoutMs = this.responseTimeoutMs;
    let timer: NodeJS.Timeout | null = null;
    let timedOut = false;
    // The timeout covers waiting for the endpoint only, not our consumer.
    const arm = (): void => {
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          timedOut = true;
          ac.abort(new DOMException('store response timeout', 'TimeoutError'));
        }, timeoutMs);
      }
    };
    const disarm = (): void => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    };
    const it = st.client.series(req, { signal: ac.signal })[Symbol.asyncIterator]();
    let finished = false;
    try {
      const buffered: SeriesResponse[] | null = strip ? [] : null;
      for (;;) {
        arm();
        let r: IteratorResult<SeriesResponse>;
        try {
          r = await it.next();
        } finally {
          disarm();
        }
        if (r.done) break;
        const f = r.value;
        if (f.warning && abortOnError) throw new StoreAPIError(st.address, 'Series', Status.ABORTED, f.warning);
        if (buffered) buffered.push(...stripFrame(f, strip!));
        else yield f;
      }
      finished = true;
      if (buffered) yield* sortFrames(buffered);
    } catch (err) {
      if (parent?.aborted) throw parent.reason;
      const e = timedOut
        ? new StoreAPIError(st.address, 'Series', Status.DEADLINE_EXCEEDED, `failed to receive any data in ${formatGoDuration(timeoutMs)}`)
        : asStoreError(st.address, 'Series', err);
      this.logger.warn({ store: st.address, err: e }, 'series request to store failed');
      if (abortOnError) throw e;
      yield { result: 'warning', warning: e.message };
    } finally {
      disarm();
      parent?.removeEventListener('abort', onParentAbort);
      if (!finished) await it.return?.();
    }
  }

  /** Label names of all matching endpoints: sorted, unique. */
  async labelNamesOf(req: ProxyLabelsRequest, signal?: AbortSignal): Promise<LabelNamesResponse> {
    const without = new Set(req.withoutReplicaLabels ?? []);
    return this.labelsFanOut(req, signal, 'LabelNames', async (st, base, opts) => {
      const native = without.size === 0 || st.supportsWithoutReplicaLabels();
      const r = await st.client.labelNames({ ...base, withoutReplicaLabels: native ? [...without] : [] }, opts);
      return { values: native ? r.names : r.names.filter((n) => !without.has(n)), warnings: r.warnings };
    }).then(({ values, warnings }) => ({ names: values, warnings }));
  }

  /** Values of a label across all matching endpoints: sorted, unique. */
  async labelValuesOf(label: string, req: ProxyLabelsRequest, signal?: AbortSignal): Promise<LabelValuesResponse> {
    if (label === '') throw new InvalidArgumentError('label name parameter cannot be empty');
    const without = new Set(req.withoutReplicaLabels ?? []);
    return this.labelsFanOut(req, signal, 'LabelValues', async (st, base, opts) => {
      const native = without.size === 0 || st.supportsWithoutReplicaLabels();
      // A replica label has no values once replicas are merged.
      if (!native && without.has(label)) return { values: [], warnings: [] };
      const r = await st.client.labelValues({ ...base, label, withoutReplicaLabels: native ? [...without] : [] }, opts);
      return { values: r.values, warnings: r.warnings };
    });
  }

  private async labelsFanOut(
    req: ProxyLabelsRequest,
    signal: AbortSignal | undefined,
    method: string,
    call: (
      st: StoreEndpoint,
      base: LabelNamesRequestInit,
      opts: StoreCallOptions,
    ) => Promise<{ values: string[]; warnings: string[] }>,
  ): Promise<{ values: string[]; warnings: string[] }> {
    const abortOnError = req.partialResponseStrategy === PartialResponseStrategy.ABORT;
    const { match, matchers } = matchesExternalLabels(req.matchers, this.selectorLabels);
    if (!match) return { values: [], warnings: [] };
    const allTime = req.start === 0 && req.end === 0;
    const stores = this.matchingEndpoints(allTime ? MIN_TIME : req.start, allTime ? MAX_TIME : req.end, matchers, req.storeMatchers, abortOnError);
    if (stores.length === 0) return { values: [], warnings: [] };
    const base: LabelNamesRequestInit = {
      start: req.start,
      end: req.end,
      matchers: matchersToProto(matchers),
      partialResponseStrategy: req.partialResponseStrategy ?? PartialResponseStrategy.WARN,
      limit: req.limit ?? 0,
    };
    const warnings: string[] = [];
    const lists = await mapConcurrent(stores, this.maxLabelCalls, async (st) => {
      try {
        const r = await call(st, base, { signal, timeoutMs: this.responseTimeoutMs || undefined });
        warnings.push(...r.warnings);
        return r.values;
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        const e = asStoreError(st.address, method, err);
        this.logger.warn({ store: st.address, err: e }, `${method} request to store failed`);
        if (abortOnError) throw e;
        warnings.push(e.message);
        return [];
      }
    });
    let values = mergeSortedUnique(lists);
    if (req.limit && req.limit > 0 && values.length > req.limit) values = values.slice(0, req.limit);
    return { values, warnings };
  }
}

function strategyOf(disabled: boolean, strategy: PartialResponseStrategy): PartialResponseStrategy {
  return disabled ? PartialResponseStrategy.ABORT : strategy;
}

/** Any failure of a call to an endpoint as a StoreAPIError naming it. */
function asStoreError(address: string, method: string, err: unknown): StoreAPIError {
  if (err instanceof StoreAPIError) return err;
  const e = err as Error;
  const code = e?.name === 'TimeoutError' ? Status.DEADLINE_EXCEEDED : Status.UNKNOWN;
  return new StoreAPIError(address, method, code, e?.message ?? String(err));
}

/** A frame with the labels in `strip` removed from its series (batches flattened). */
function stripFrame(f: SeriesResponse, strip: Set<string>): SeriesResponse[] {
  if (f.series) return [{ result: 'series', series: stripSeries(f.series, strip) }];
  if (f.batch) return f.batch.series.map((s) => ({ result: 'series', series: stripSeries(s, strip) }));
  return [f];
}

function stripSeries(s: StoreSeries, strip: Set<string>): StoreSeries {
  for (const l of s.labels) {
    if (strip.has(l.name)) return { labels: withoutLabels(s.labels, strip), chunks: s.chunks };
  }
  return s;
}

/** Non-series frames first, then series sorted by their (new) labels, stable. */
function sortFrames(frames: SeriesResponse[]): SeriesResponse[] {
  const other = frames.filter((f) => !f.series);
  const series = frames.filter((f) => f.series).sort((a, b) => compareLabels(a.series!.labels, b.series!.labels));
  return other.concat(series);
}

/** Union of sorted string lists, sorted (UTF-8 byte order) and unique. */
export function mergeSortedUnique(lists: readonly (readonly string[])[]): string[] {
  const nonEmpty = lists.filter((l) => l.length > 0);
  if (nonEmpty.length === 0) return [];
  if (nonEmpty.length === 1) {
    const l = nonEmpty[0];
    // fast path: one sorted, unique answer
    let ok = true;
    for (let i = 1; i < l.length && ok; i++) ok = compareStrings(l[i - 1], l[i]) < 0;
    if (ok) return l.slice();
  }
  const set = new Set<string>();
  for (const l of nonEmpty) for (const v of l) set.add(v);
  return [...set].sort(compareStrings);
}
