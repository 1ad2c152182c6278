// The Prometheus HTTP API v1 of the query component (Prometheus web/api/v1/api.go with
// Thanos's additions from pkg/api/query/v1.go): PromQL queries, series, label names and
// values, status, and Thanos's /api/v1/stores. Parameters, error types, messages and
// status codes are Prometheus's; the Thanos parameters dedup, partial_response,
// max_source_resolution, replicaLabels[] and storeMatch[] choose how the StoreAPI
// endpoints are read for each request.

import { createGzip, gzip, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { drainedOrClosed } from './drain.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { buildInfo, nopLogger, runtimeInfo, sortedFlags } from '@thanos-ts/runtime';
import type { HttpServer, Logger } from '@thanos-ts/runtime';
import { parseMetricSelector } from '@thanos-ts/promql';
import type { Engine } from '@thanos-ts/promql';
import { compareLabels, compareStrings, goQuote, labelsEqual } from '@thanos-ts/tsdb';
import type { Labels, Matcher } from '@thanos-ts/tsdb';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { Gate, mapConcurrent } from '@thanos-ts/runtime';
import type { StoreQueryable, StoreQueryableOptions } from '../querier.js';
import type { PromQLRunner, PromQLTask } from '../exec/promql-task.js';
import { ApiError, apiErrorOf, badData, ErrorType, invalidParam, statusCodeOf } from './errors.js';
import { batchUtf8, errorBody, labelsJSON, plainJSON, stringsJSON, SUCCESS_HEAD, successTail } from './json.js';

const SUCCESS_HEAD_BYTES = Buffer.from(SUCCESS_HEAD, 'utf8');
import { API_MAX_TIME, API_MIN_TIME, Form, FormError, parseBool, parseDuration, parseLimit, parseTime, parseTimeParam, readForm } from './params.js';
import { matchesAnySet, planSeriesSelects } from './series-union.js';
import { capWarnings } from './warnings.js';
import { RulesRequestType, TargetsRequestState } from '@thanos-ts/storeapi';
import type { ExemplarsAPI, MetadataAPI, RulesAPI, TargetsAPI } from '@thanos-ts/storeapi';
import { alertsJSON, collectRules, ruleGroupsJSON } from '../apis/rules.js';
import { collectTargets, targetsJSON } from '../apis/targets.js';
import { collectMetadata, metadataJSON } from '../apis/metadata.js';
import { collectExemplars, exemplarsJSON } from '../apis/exemplars.js';

const gzipAsync = promisify(gzip);
/** Bodies up to this size are gzipped on the event loop (level 1: well under a millisecond). */
const SYNC_GZIP_MAX = 64 * 1024;

/** Downsampling resolutions (Thanos downsample.ResLevel0/1/2), ms. */
const RES_LEVELS = [0, 5 * 60_000, 60 * 60_000] as const;

/** Range queries: at most this many points per series (Prometheus's safety limit). */
const MAX_POINTS = 11_000;

export interface QueryAPIOptions {
  /** Parses queries for their errors before they are queued. */
  engine: Engine;
  /** Evaluates PromQL (in worker threads, or in-process). */
  runner: PromQLRunner;
  /** A Queryable over the endpoints with the component's defaults, overridden per request. */
  queryable: (overrides: Partial<Omit<StoreQueryableOptions, 'proxy'>>) => StoreQueryable;
  /** The /api/v1/stores data, as JSON (EndpointSet.storesView through marshalStoresView). */
  storesJSON: () => string;
  /** --query.replica-label: the default of replicaLabels[]. */
  replicaLabels: readonly string[];
  /** --query.partial-response: the default of partial_response. */
  partialResponse: boolean;
  /** --query.auto-downsampling: max_source_resolution defaults to step / 5. */
  autoDownsampling?: boolean;
  /** --query.timeout (ms): the longest a query may run; 0 for no limit. */
  queryTimeoutMs: number;
  /** --query.lookback-delta (ms; 0: the engine's default, 5m). */
  lookbackDeltaMs?: number;
  /** --query.max-concurrent: queries evaluated at once. */
  maxConcurrent: number;
  /** Step of range queries without one (Thanos --query.default-step, 1s). */
  defaultStepMs?: number;
  /** /api/v1/status/flags. */
  flags?: Record<string, string>;
  /**
   * The Rules, Targets, Metadata and Exemplars proxies behind /rules, /alerts, /targets,
   * /metadata and /query_exemplars; without them those answer empty.
   */
  apis?: { rules: RulesAPI; targets: TargetsAPI; metadata: MetadataAPI; exemplars: ExemplarsAPI };
  /** Path prefix the server adds to every route (--web.route-prefix). */
  routePrefix?: string;
  registry?: Registry;
  logger?: Logger;
  /** Clock (unix ms), for tests. */
  now?: () => number;
}

/** A successful API answer: encoded data (whole, or streamed) and its annotations. */
interface ApiResult {
  data: string[] | AsyncIterable<Uint8Array>;
  /** `data` whole, when it is all there already (see PromQLAnswer.whole). */
  whole?: Uint8Array;
  warnings?: string[];
  infos?: string[];
  /** Called once the answer has been written or given up. */
  release?: () => void;
}

interface RequestContext {
  form: Form;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** The path parameter of /label/<name>/values, still percent-encoded. */
  name?: string;
}

type Handler = (ctx: RequestContext) => Promise<ApiResult>;

interface Route {
  handler: Handler;
  /** Methods served besides OPTIONS. */
  post: boolean;
  name: string;
}

// Thanos's CORS headers: any origin may call the API.
const CORS_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Headers': 'Accept, Accept-Encoding, Authorization, Content-Type, Origin',
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Date',
};

/** The per-request settings of the StoreAPI reads (Thanos queryableCreate's arguments). */
interface StoreParams {
  deduplicate: boolean;
  replicaLabels: readonly string[];
  partialResponse: boolean;
  storeMatchers: Matcher[][];
}

export class QueryAPI {
  private readonly routes = new Map<string, Route>();
  private readonly gate: Gate;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly prefix: string;
  private readonly metrics: {
    requests: Counter<'code' | 'handler' | 'method'>;
    duration: Histogram<'code' | 'handler' | 'method'>;
    rangeSpan: Histogram;
  } | null;

  constructor(private readonly opts: QueryAPIOptions) {
    this.gate = new Gate(Math.max(1, opts.maxConcurrent));
    this.logger = opts.logger ?? nopLogger();
    this.now = opts.now ?? Date.now;
    this.prefix = (opts.routePrefix ?? '').replace(/\/+$/, '') + '/api/v1';
    this.metrics = opts.registry ? this.registerMetrics(opts.registry) : null;

    const add = (path: string, name: string, post: boolean, handler: Handler): void => {
      this.routes.set(path, { handler, post, name });
    };
    add('/query', 'query', true, (c) => this.query(c));
    add('/query_range', 'query_range', true, (c) => this.queryRange(c));
    add('/query_exemplars', 'exemplars', true, (c) => this.queryExemplars(c));
    add('/series', 'series', true, (c) => this.series(c));
    add('/labels', 'label_names', true, (c) => this.labelNames(c));
    add('/label/values', 'label_values', false, (c) => this.labelValues(c));
    add('/metadata', 'metadata', false, (c) => this.metadata(c));
    add('/alerts', 'alerts', false, (c) => this.rules(c, true));
    add('/rules', 'rules', false, (c) => this.rules(c, false));
    add('/targets', 'targets', false, (c) => this.targets(c));
    add('/status/buildinfo', 'status_build', false, async () => ({ data: [this.buildInfoJSON()] }));
    add('/status/runtimeinfo', 'status_runtime', false, async () => ({ data: [this.runtimeInfoJSON()] }));
    add('/status/flags', 'status_flags', false, async () => ({ data: [this.flagsJSON()] }));
    add('/stores', 'stores', false, async () => ({ data: [this.opts.storesJSON()] }));
  }

  /** Serves the API under /api/v1 of the server. */
  register(http: HttpServer): void {
    http.route('/api/v1/', (req, res, url) => this.handle(req, res, url));
  }

  /** Handles a request whose path starts with <route prefix>/api/v1/. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const started = performance.now();
    let path = url.pathname.startsWith(this.prefix) ? url.pathname.slice(this.prefix.length) : url.pathname;
    let name: string | undefined;
    const lv = /^\/label\/([^/]*)\/values$/.exec(path);
    if (lv) {
      path = '/label/values';
      name = lv[1];
    }
    const route = this.routes.get(path);
    const method = req.method ?? 'GET';
    for (const [k, v] of Object.entries(CORS_HEADERS)) res.setHeader(k, v);
    if (!route) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    if (method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    if (method !== 'GET' && !(route.post && method === 'POST')) {
      res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8', Allow: route.post ? 'GET, OPTIONS, POST' : 'GET, OPTIONS' }).end('Method Not Allowed\n');
      return;
    }

    const ac = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) ac.abort(new DOMException('client closed the connection', 'AbortError'));
    });
    let code = 200;
    let result: ApiResult | undefined;
    try {
      let form: Form;
      try {
        form = await readForm(req, url);
      } catch (err) {
        throw err instanceof FormError ? new ApiError(ErrorType.BAD_DATA, `error parsing form values: ${err.message}`) : err;
      }
      result = await route.handler({ form, signal: ac.signal, name });
      const warnings = result.warnings ?? [];
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      // Answers missing data must not be cached (Thanos: any non-PromQL warning).
      if (warnings.some((w) => !w.startsWith('PromQL '))) headers['Cache-Control'] = 'no-store';
      const tail = successTail(warnings, result.infos ?? []);
      if (Array.isArray(result.data)) {
        await this.send(req, res, 200, headers, SUCCESS_HEAD + result.data.join('') + tail);
      } else if (result.whole) {
        await this.send(req, res, 200, headers, Buffer.concat([SUCCESS_HEAD_BYTES, result.whole, Buffer.from(tail, 'utf8')]));
      } else {
        await this.stream(req, res, headers, result.data, tail);
      }
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : apiErrorOf(err);
      code = statusCodeOf(apiErr.type);
      if (code >= 500) this.logger.warn({ path, err: apiErr }, 'api request failed');
      else this.logger.debug({ path, err: apiErr }, 'api request failed');
      if (!res.headersSent && !res.destroyed) {
        await this.send(req, res, code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }, errorBody(apiErr.type, apiErr.message));
      }
    } finally {
      result?.release?.();
      if (this.metrics) {
        const labels = { code: String(code), handler: route.name, method: method.toLowerCase() };
        this.metrics.requests.inc(labels);
        this.metrics.duration.observe(labels, (performance.now() - started) / 1000);
      }
    }
  }

  /** Writes the body, gzipped when the client takes it and it is big enough to be worth it (gzhttp's 1 KiB). */
  private async send(req: IncomingMessage, res: ServerResponse, code: number, headers: Record<string, string>, body: string | Uint8Array): Promise<void> {
    const accept = String(req.headers['accept-encoding'] ?? '');
    if (body.length >= 1024 && /\bgzip\b/.test(accept)) {
      const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      // A small body is compressed in place (tens of µs); the thread pool's round trip
      // would cost more, and wakes a thread.
      const zipped = raw.byteLength <= SYNC_GZIP_MAX ? gzipSync(raw, { level: 1 }) : await gzipAsync(raw, { level: 1 });
      if (res.destroyed) return;
      res.writeHead(code, { ...headers, 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding', 'Content-Length': String(zipped.length) });
      res.end(zipped);
      return;
    }
    res.writeHead(code, { ...headers, 'Content-Length': String(typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength) });
    res.end(body);
  }

  /**
   * Writes a success envelope whose data is streamed, gzipped when the client takes it,
   * waiting for the socket to drain so a slow client holds the producer back. A failure
   * after the head went out can only cut the connection.
   */
  private async stream(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>, data: AsyncIterable<Uint8Array>, tail: string): Promise<void> {
    const gz = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    res.writeHead(200, gz ? { ...headers, 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' } : headers);
    let out: Writable = res;
    if (gz) {
      const z = createGzip({ level: 1 });
      z.pipe(res);
      out = z;
    }
    const write = async (b: Uint8Array | string): Promise<void> => {
      if (res.destroyed) throw new DOMException('client closed the connection', 'AbortError');
      if (!out.write(b)) await drainedOrClosed(out, res);
    };
    try {
      await write(SUCCESS_HEAD);
      for await (const b of data) await write(b);
      await write(tail);
      out.end();
    } catch (err) {
      this.logger.debug({ err }, 'streaming the answer failed');
      res.destroy();
    }
  }

  // ---------------------------------------------------------------------------
  // PromQL
  // ---------------------------------------------------------------------------

  private async query(ctx: RequestContext): Promise<ApiResult> {
    const { form } = ctx;
    const limit = this.limitParam(form);
    let ts: number;
    try {
      ts = parseTimeParam(form, 'time', this.now());
    } catch (err) {
      throw invalidParam(err, 'time');
    }
    const deadline = this.deadlineParam(form);
    const lookbackFromReq = this.lookbackDeltaParam(form);
    const store = this.storeParams(form);
    const msr = this.maxSourceResolutionParam(form, 0);
    const text = form.value('query');
    const lookbackDelta = lookbackFromReq > 0 ? lookbackFromReq : this.lookbackDeltaFor(msr);
    return this.runPromQL(ctx, { kind: 'instant', query: text, start: ts, end: ts, step: 0, lookbackDelta, deadline, ...this.taskStoreParams(form, store), maxSourceResolutionMs: msr, limit });
  }

  private async queryRange(ctx: RequestContext): Promise<ApiResult> {
    const { form } = ctx;
    const limit = this.limitParam(form);
    let start: number;
    let end: number;
    try {
      start = parseTime(form.value('start'));
    } catch (err) {
      throw invalidParam(err, 'start');
    }
    try {
      end = parseTime(form.value('end'));
    } catch (err) {
      throw invalidParam(err, 'end');
    }
    if (end < start) throw invalidParam(new Error('end timestamp must not be before start time'), 'end');
    let step: number;
    const stepParam = form.value('step');
    if (stepParam === '') {
      // Thanos: without a step, max(range / 250, --query.default-step), whole seconds.
      step = Math.max(Math.floor((end - start) / 1000 / 250), Math.floor((this.opts.defaultStepMs ?? 1000) / 1000)) * 1000;
    } else {
      try {
        step = parseDuration(stepParam);
      } catch (err) {
        throw invalidParam(err, 'step');
      }
    }
    if (step <= 0) throw invalidParam(new Error('zero or negative query resolution step widths are not accepted. Try a positive integer'), 'step');
    if (Math.trunc((end - start) / step) > MAX_POINTS) {
      throw new ApiError(ErrorType.BAD_DATA, 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
    }
    const deadline = this.deadlineParam(form);
    const lookbackFromReq = this.lookbackDeltaParam(form);
    const store = this.storeParams(form);
    // Without max_source_resolution, fit at least 5 samples into a step.
    const msr = this.maxSourceResolutionParam(form, Math.floor(step / 5));
    const text = form.value('query');
    this.metrics?.rangeSpan.observe((end - start) / 1000);
    const lookbackDelta = lookbackFromReq > 0 ? lookbackFromReq : this.lookbackDeltaFor(msr);
    return this.runPromQL(ctx, { kind: 'range', query: text, start, end, step, lookbackDelta, deadline, ...this.taskStoreParams(form, store), maxSourceResolutionMs: msr, limit });
  }

  /** Runs a query under the concurrency gate; the runner enforces its deadline. */
  private async runPromQL(ctx: RequestContext, task: PromQLTask): Promise<ApiResult> {
    // A timer and a combined signal only for a query that has to wait for its turn.
    if (ctx.signal.aborted || !this.gate.tryAcquire()) {
      const waitFor = task.deadline > 0 ? AbortSignal.any([ctx.signal, AbortSignal.timeout(Math.max(0, task.deadline - this.now()))]) : ctx.signal;
      try {
        await this.gate.acquire(waitFor);
      } catch (err) {
        throw apiErrorOf(err, task.deadline > 0 && this.now() >= task.deadline);
      }
    }
    try {
      const answer = await this.opts.runner.run(task, ctx.signal);
      // The query holds its place in the gate until its answer has been written.
      return { ...answer, release: () => this.gate.release() };
    } catch (err) {
      this.gate.release();
      throw err;
    }
  }

  private async queryExemplars(ctx: RequestContext): Promise<ApiResult> {
    const { form } = ctx;
    const { start, end } = this.metadataRange(form);
    if (end < start) throw new ApiError(ErrorType.BAD_DATA, 'end timestamp must not be before start timestamp');
    try {
      this.opts.engine.parse(form.value('query'));
    } catch (err) {
      throw badData(err);
    }
    if (!this.opts.apis) return { data: ['[]'] };
    const store = this.storeParams(form);
    try {
      const { data, warnings } = await collectExemplars(
        this.opts.apis.exemplars,
        {
          query: form.value('query'),
          start,
          end,
          partialResponse: store.partialResponse,
          replicaLabels: store.deduplicate ? store.replicaLabels : [],
        },
        ctx.signal,
      );
      return { data: [exemplarsJSON(data)], warnings: capWarnings(warnings) };
    } catch (err) {
      throw apiFailure(err, 'retrieving exemplars');
    }
  }

  // ---------------------------------------------------------------------------
  // Rules, alerts, targets and metric metadata (Thanos's Rules, Targets and Metadata
  // APIs over the endpoints advertising them). Replicas are deduplicated along the
  // replica labels unless dedup=false; partial_response works as for series.
  // ---------------------------------------------------------------------------

  private async rules(ctx: RequestContext, alertsOnly: boolean): Promise<ApiResult> {
    const { form } = ctx;
    let type: RulesRequestType = RulesRequestType.ALL;
    if (alertsOnly) {
      type = RulesRequestType.ALERT;
    } else {
      const t = form.value('type');
      if (t !== '') {
        // Thanos: the enum names, any case; Prometheus: "alert" and "record".
        const v = (RulesRequestType as unknown as Record<string, unknown>)[t.toUpperCase()];
        if (typeof v !== 'number') throw new ApiError(ErrorType.BAD_DATA, `invalid rules parameter type='${t}'`);
        type = v as RulesRequestType;
      }
    }
    let matcherSets: Matcher[][] = [];
    if (!alertsOnly) {
      try {
        matcherSets = form.values('match[]').map((v) => parseMetricSelector(v));
      } catch (err) {
        throw badData(err);
      }
    }
    const store = this.storeParams(form);
    if (!this.opts.apis) return { data: [alertsOnly ? '{"alerts":[]}' : '{"groups":[]}'] };
    try {
      const { groups, warnings } = await collectRules(
        this.opts.apis.rules,
        {
          type,
          partialResponse: store.partialResponse,
          matcherSets,
          ruleNames: alertsOnly ? [] : form.values('rule_name[]'),
          ruleGroups: alertsOnly ? [] : form.values('rule_group[]'),
          files: alertsOnly ? [] : form.values('file[]'),
          replicaLabels: store.deduplicate ? store.replicaLabels : [],
        },
        ctx.signal,
      );
      return { data: [alertsOnly ? alertsJSON(groups) : ruleGroupsJSON(groups)], warnings: capWarnings(warnings) };
    } catch (err) {
      throw apiFailure(err, 'error retrieving rules');
    }
  }

  private async targets(ctx: RequestContext): Promise<ApiResult> {
    const { form } = ctx;
    const s = form.value('state');
    let state: TargetsRequestState = TargetsRequestState.ANY;
    if (s !== '') {
      const v = (TargetsRequestState as unknown as Record<string, unknown>)[s.toUpperCase()];
      if (typeof v !== 'number') throw new ApiError(ErrorType.BAD_DATA, `invalid targets parameter state='${s}'`);
      state = v as TargetsRequestState;
    }
    const store = this.storeParams(form);
    if (!this.opts.apis) return { data: ['{"activeTargets":[],"droppedTargets":[]}'] };
    try {
      const { targets, warnings } = await collectTargets(
        this.opts.apis.targets,
        { state, partialResponse: store.partialResponse, replicaLabels: store.deduplicate ? store.replicaLabels : [] },
        ctx.signal,
      );
      return { data: [targetsJSON(targets)], warnings: capWarnings(warnings) };
    } catch (err) {
      throw apiFailure(err, 'retrieving targets');
    }
  }

  private async metadata(ctx: RequestContext): Promise<ApiResult> {
    const { form } = ctx;
    const intParam = (name: string, msg: string): number => {
      const v = form.value(name);
      if (v === '') return -1;
      if (!/^[+-]?\d+$/.test(v) || Math.abs(Number(v)) > 2 ** 31 - 1) throw new ApiError(ErrorType.BAD_DATA, msg);
      return Number(v);
    };
    const limit = intParam('limit', 'limit must be a number');
    const limitPerMetric = intParam('limit_per_metric', 'limit_per_metric must be a number');
    const store = this.storeParams(form);
    if (!this.opts.apis) return { data: ['{}'] };
    try {
      const { metadata, warnings } = await collectMetadata(
        this.opts.apis.metadata,
        { metric: form.value('metric'), limit, limitPerMetric, partialResponse: store.partialResponse },
        ctx.signal,
      );
      return { data: [metadataJSON(metadata)], warnings: capWarnings(warnings) };
    } catch (err) {
      throw apiFailure(err, 'retrieving metadata');
    }
  }

  // ---------------------------------------------------------------------------
  // Metadata: series, label names, label values
  // ---------------------------------------------------------------------------

  private async series(ctx: RequestContext): Promise<ApiResult> {
    const { form } = ctx;
    const matchParams = form.values('match[]');
    if (matchParams.length === 0) throw new ApiError(ErrorType.BAD_DATA, 'no match[] parameter provided');
    const limit = this.limitParam(form);
    const { start, end } = this.metadataRange(form);
    let sets: Matcher[][];
    try {
      sets = parseMatchersParam(matchParams);
    } catch (err) {
      throw invalidParam(err, 'match[]');
    }
    const store = this.storeParams(form);
    const queryable = this.opts.queryable({
      deduplicate: store.deduplicate,
      replicaLabels: store.replicaLabels,
      partialResponse: store.partialResponse,
      storeMatchers: store.storeMatchers,
      skipChunks: true,
      signal: ctx.signal,
      logger: this.logger,
    });
    const querier = await queryable.querier(start, end);
    const found: Labels[] = [];
    const warnings: string[] = [];
    try {
      const selects = planSeriesSelects(sets, store.deduplicate ? store.replicaLabels : []);
      // The querier bounds how many selects stream at once (--query.max-concurrent-select).
      await mapConcurrent(selects, selects.length, async ({ matchers, filter }) => {
        for await (const s of querier.select({ start, end, func: 'series' }, matchers)) {
          if (filter !== null && !matchesAnySet(s.labels, filter)) continue;
          found.push(s.labels);
          if (sets.length === 1 && limit > 0 && found.length > limit) break;
        }
      });
    } catch (err) {
      throw apiErrorOf(err);
    } finally {
      await querier.close();
    }
    let out = found;
    if (sets.length > 1) {
      // Several selectors (merged or not): their union, sorted, each label set once.
      out = found.slice().sort(compareLabels);
      out = out.filter((ls, i) => i === 0 || !labelsEqual(ls, out[i - 1]));
    }
    warnings.push(...queryable.warnings);
    if (limit > 0 && out.length > limit) {
      out = out.slice(0, limit);
      warnings.push('results truncated due to limit');
    }
    return { data: streamed(batchUtf8(seriesJSON(out))), warnings: capWarnings(warnings) };
  }

  private async labelNames(ctx: RequestContext): Promise<ApiResult> {
    return this.labels(ctx, null);
  }

  private async labelValues(ctx: RequestContext): Promise<ApiResult> {
    const raw = ctx.name ?? '';
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      throw new ApiError(ErrorType.BAD_DATA, `invalid label name: ${quotePathParam(raw)}`);
    }
    if (name.startsWith('U__')) name = unescapeName(name);
    // Thanos checks model.LabelNameRE: names as Prometheus 2 and the StoreAPI know them.
    if (!LABEL_NAME.test(name)) throw new ApiError(ErrorType.BAD_DATA, `invalid label name: ${quotePathParam(raw)}`);
    return this.labels(ctx, name);
  }

  /**
   * Label names (name null) or values of a label across the endpoints. With dedup on
   * (the default), the replica labels are left out, as Thanos asks its stores with
   * without_replica_labels: a replica label has no names or values once replicas merge.
   */
  private async labels(ctx: RequestContext, name: string | null): Promise<ApiResult> {
    const { form } = ctx;
    const limit = this.limitParam(form);
    const { start, end } = this.metadataRange(form);
    let sets: Matcher[][];
    try {
      sets = parseMatchersParam(form.values('match[]'));
    } catch (err) {
      throw badData(err);
    }
    const store = this.storeParams(form);
    const queryable = this.opts.queryable({
      deduplicate: store.deduplicate,
      replicaLabels: store.replicaLabels,
      partialResponse: store.partialResponse,
      storeMatchers: store.storeMatchers,
      signal: ctx.signal,
      logger: this.logger,
    });
    const querier = await queryable.querier(start, end);
    let values: string[];
    try {
      const call = (ms: Matcher[]): Promise<string[]> => (name === null ? querier.labelNames(ms) : querier.labelValues(name, ms));
      if (sets.length <= 1) {
        values = await call(sets[0] ?? []);
      } else {
        const all = new Set<string>();
        for (const ms of sets) for (const v of await call(ms)) all.add(v);
        values = [...all].sort(compareStrings);
      }
    } catch (err) {
      const e = apiErrorOf(err);
      throw e.type === ErrorType.CANCELED ? e : new ApiError(ErrorType.EXECUTION, e.message);
    } finally {
      await querier.close();
    }
    const warnings = [...queryable.warnings];
    if (limit > 0 && values.length > limit) {
      values = values.slice(0, limit);
      warnings.push('results truncated due to limit');
    }
    return { data: [stringsJSON(values)], warnings: capWarnings(warnings) };
  }

  // ---------------------------------------------------------------------------
  // Parameters
  // ---------------------------------------------------------------------------

  private limitParam(form: Form): number {
    try {
      return parseLimit(form.value('limit'));
    } catch (err) {
      throw invalidParam(err, 'limit');
    }
  }

  /**
   * When the query times out (unix ms): the sooner of the timeout parameter and
   * --query.timeout; 0 for never. A zero or negative timeout has passed already, as a
   * Go context's would.
   */
  private deadlineParam(form: Form): number {
    let ms = this.opts.queryTimeoutMs > 0 ? this.opts.queryTimeoutMs : Infinity;
    const v = form.value('timeout');
    if (v !== '') {
      try {
        ms = Math.min(ms, Math.max(0, parseDuration(v)));
      } catch (err) {
        throw invalidParam(err, 'timeout');
      }
    }
    return ms === Infinity ? 0 : this.now() + ms;
  }

  private lookbackDeltaParam(form: Form): number {
    const v = form.value('lookback_delta');
    if (v === '') return 0;
    try {
      return parseDuration(v);
    } catch (err) {
      throw new ApiError(ErrorType.BAD_DATA, `error parsing lookback delta duration: ${(err as Error).message}`);
    }
  }

  /** start/end of the metadata calls: all time when absent. */
  private metadataRange(form: Form): { start: number; end: number } {
    let start: number;
    let end: number;
    try {
      start = parseTimeParam(form, 'start', API_MIN_TIME);
    } catch (err) {
      throw invalidParam(err, 'start');
    }
    try {
      end = parseTimeParam(form, 'end', API_MAX_TIME);
    } catch (err) {
      throw invalidParam(err, 'end');
    }
    return { start, end };
  }

  /** dedup, replicaLabels[], partial_response and storeMatch[] (Thanos). */
  private storeParams(form: Form): StoreParams {
    let deduplicate = true;
    const d = form.value('dedup');
    if (d !== '') {
      try {
        deduplicate = parseBool(d);
      } catch (err) {
        throw new ApiError(ErrorType.BAD_DATA, `'dedup' parameter: ${(err as Error).message}`);
      }
    }
    let partialResponse = this.opts.partialResponse;
    const p = form.value('partial_response');
    if (p !== '') {
      try {
        partialResponse = parseBool(p);
      } catch (err) {
        throw new ApiError(ErrorType.BAD_DATA, `'partial_response' parameter: ${(err as Error).message}`);
      }
    }
    const fromReq = form.values('replicaLabels[]');
    const replicaLabels = fromReq.length > 0 ? fromReq : this.opts.replicaLabels;
    const storeMatchers: Matcher[][] = [];
    for (const s of form.values('storeMatch[]')) {
      try {
        storeMatchers.push(parseMetricSelector(s));
      } catch (err) {
        throw badData(err);
      }
    }
    return { deduplicate, replicaLabels, partialResponse, storeMatchers };
  }

  /** The StoreAPI settings of a PromQL task: plain data (storeMatch[] as given, already validated). */
  private taskStoreParams(form: Form, p: StoreParams): Pick<PromQLTask, 'deduplicate' | 'replicaLabels' | 'partialResponse' | 'storeMatch'> {
    return { deduplicate: p.deduplicate, replicaLabels: [...p.replicaLabels], partialResponse: p.partialResponse, storeMatch: form.values('storeMatch[]') };
  }

  /**
   * max_source_resolution in ms (Thanos parseDownsamplingParamMillis): a duration, or
   * "auto" (and --query.auto-downsampling) for `auto` (range queries: step / 5).
   */
  private maxSourceResolutionParam(form: Form, auto: number): number {
    const v = form.value('max_source_resolution');
    let msr = 0;
    if (this.opts.autoDownsampling || v === 'auto') msr = auto;
    if (v !== '' && v !== 'auto') {
      try {
        msr = parseDuration(v);
      } catch (err) {
        throw new ApiError(ErrorType.BAD_DATA, `'max_source_resolution' parameter: ${(err as Error).message}`);
      }
    }
    if (msr < 0) throw new ApiError(ErrorType.BAD_DATA, "negative 'max_source_resolution' is not accepted. Try a positive integer");
    return msr;
  }

  /**
   * The lookback delta for a max source resolution (Thanos LookbackDeltaFactory with
   * dynamic lookback): downsampled data has a sample every 5m or 1h, so the lookback
   * grows to the resolution read.
   */
  lookbackDeltaFor(maxSourceResolutionMs: number): number {
    const ld = this.opts.lookbackDeltaMs ?? 0;
    const lds: number[] = [];
    let cur = ld;
    for (const r of RES_LEVELS) {
      if (ld < r) cur = r;
      lds.push(cur);
    }
    for (let i = RES_LEVELS.length - 1; i >= 1; i--) {
      if (Math.max(RES_LEVELS[i - 1], ld) < maxSourceResolutionMs) return lds[i];
    }
    return lds[0];
  }

  // ---------------------------------------------------------------------------
  // Status
  // ---------------------------------------------------------------------------

  private buildInfoJSON(): string {
    return plainJSON(buildInfo());
  }

  private runtimeInfoJSON(): string {
    return plainJSON(runtimeInfo());
  }

  private flagsJSON(): string {
    return plainJSON(sortedFlags(this.opts.flags ?? {}));
  }

  private registerMetrics(registry: Registry): NonNullable<QueryAPI['metrics']> {
    const gate = this.gate;
    new Gauge({
      name: 'thanos_query_concurrent_gate_queries_in_flight',
      help: 'Number of queries that are currently in flight.',
      registers: [registry],
      collect() {
        this.set(gate.inFlight);
      },
    });
    new Gauge({
      name: 'thanos_query_concurrent_gate_queries_max',
      help: 'Maximum number of concurrent queries.',
      registers: [registry],
    }).set(Math.max(1, this.opts.maxConcurrent));
    return {
      requests: new Counter({
        name: 'http_requests_total',
        help: 'Tracks the number of HTTP requests.',
        labelNames: ['code', 'handler', 'method'],
        registers: [registry],
      }),
      duration: new Histogram({
        name: 'http_request_duration_seconds',
        help: 'Tracks the latencies for HTTP requests.',
        labelNames: ['code', 'handler', 'method'],
        buckets: [0.001, 0.01, 0.1, 0.3, 0.6, 1, 3, 6, 9, 20, 30, 60, 90, 120],
        registers: [registry],
      }),
      rangeSpan: new Histogram({
        name: 'thanos_query_range_requested_timespan_duration_seconds',
        help: 'A histogram of the query range window in seconds',
        buckets: Array.from({ length: 12 }, (_, i) => 15 * 60 * 2 ** i),
        registers: [registry],
      }),
    };
  }
}

/**
 * A failure of the Rules, Targets, Metadata or Exemplars fan-out: a bad query stays
 * bad_data, a cancelled request canceled; anything else is internal, as in Thanos.
 */
function apiFailure(err: unknown, context: string): ApiError {
  const e = apiErrorOf(err);
  if (e.type === ErrorType.CANCELED || e.type === ErrorType.BAD_DATA) return e;
  if ((err as Error)?.name === 'InvalidArgumentError') return new ApiError(ErrorType.BAD_DATA, (err as Error).message);
  return new ApiError(ErrorType.INTERNAL, `${context}: ${(err as Error)?.message ?? String(err)}`);
}

/** A list of label sets as a JSON array, piece by piece. */
function* seriesJSON(sets: readonly Labels[]): Generator<string> {
  yield '[';
  for (let i = 0; i < sets.length; i++) yield i === 0 ? labelsJSON(sets[i]) : ',' + labelsJSON(sets[i]);
  yield ']';
}

async function* streamed<T>(it: Iterable<T>): AsyncGenerator<T> {
  yield* it;
}

/** match[] selectors, each needing one matcher that does not match the empty string. */
function parseMatchersParam(values: readonly string[]): Matcher[][] {
  const sets = values.map((v) => parseMetricSelector(v));
  for (const ms of sets) {
    if (!ms.some((m) => !m.matches(''))) throw new Error('match[] must contain at least one non-empty matcher');
  }
  return sets;
}

/** model.LabelNameRE. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A path parameter as Go's %q prints it after the router unescaped it: percent escapes
 * become bytes, and bytes that are not UTF-8 print as \xNN.
 */
function quotePathParam(raw: string): string {
  const bytes = Buffer.from(raw.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (!text.includes('\ufffd') || Buffer.from(text, 'utf8').equals(bytes)) return goQuote(text);
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out += '\\' + String.fromCharCode(b);
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += '\\x' + b.toString(16).padStart(2, '0');
  }
  return out + '"';
}

/**
 * model.UnescapeName with ValueEncodingEscaping: "U__" then the name with "__" for "_"
 * and "_<hex>_" for any other character not valid in legacy names. Invalid input is
 * returned unchanged, as Prometheus does.
 */
export function unescapeName(name: string): string {
  if (!name.startsWith('U__')) return name;
  const s = name.slice(3);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '_') {
      if (!/[a-zA-Z0-9:]/.test(c)) return name;
      out += c;
      continue;
    }
    if (s[i + 1] === '_') {
      out += '_';
      i++;
      continue;
    }
    const end = s.indexOf('_', i + 1);
    if (end < 0) return name;
    const hex = s.slice(i + 1, end);
    if (!/^[0-9a-fA-F]+$/.test(hex)) return name;
    const cp = parseInt(hex, 16);
    if (cp > 0x10ffff) return name;
    out += String.fromCodePoint(cp);
    i = end;
  }
  return out;
}
