// The query-frontend service: the Prometheus HTTP API in front of a query. Range
// queries go limits → step align → downsampled retry → split by interval → results
// cache → retry → downstream (the order of Thanos's query range tripperware); label and
// series requests are split, cached and retried likewise; instant queries are retried;
// every other path is passed through unchanged.

import { createGzip } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { HttpServer, mapConcurrent, Prober } from '@thanos-ts/runtime';
import type { Logger, Service } from '@thanos-ts/runtime';
import { newCache } from '@thanos-ts/cache';
import { compressedCache } from './compressed-cache.js';
import type { Cache } from '@thanos-ts/cache';
import type { QueryFrontendConfig } from './config.js';
import { Downstream } from './downstream.js';
import { ApiError, badData, DownstreamError } from './errors.js';
import { hashKey } from './cache-key.js';
import {
  decodeCachedLabels,
  decodeLabelsRequest,
  decodeLabelsResponse,
  encodeCachedLabels,
  encodeLabelsRequest,
  encodeLabelsResponse,
  labelsCacheKey,
  mergeLabelsResponses,
  splitLabelsRequest,
} from './labels.js';
import type { LabelsOp, LabelsRequest, LabelsResponse } from './labels.js';
import { checkQueryLength, decodeQueryRange, encodeQueryRange } from './request.js';
import type { QueryRangeRequest } from './request.js';
import { decodeRangeResponse, emptyResponse, encodeRangeResponse, mergeResponses } from './response.js';
import type { RangeResponse } from './response.js';
import { ResultsCache, resultsCacheMetrics } from './results-cache.js';
import { retriesHistogram, withRetries } from './retry.js';
import { alignToStep, splitQuery } from './split.js';

export interface QueryFrontendOptions {
  logger: Logger;
  registry: Registry;
  /** For tests: caches to use instead of building them from the config. */
  caches?: { queryRange?: Cache; labels?: Cache };
  now?: () => number;
}

type Op = 'query' | 'query_range' | 'label_names' | 'label_values' | 'series';

const LABEL_VALUES = /\/api\/v1\/label\/.+\/values$/;

/** Max body of a form request (Thanos: 10 MiB). */
const MAX_BODY = 10 << 20;

/** Downsampling resolutions tried after raw data, for max_source_resolution=auto. */
const DOWNSAMPLED_RESOLUTIONS = [300_000, 3_600_000];

export class QueryFrontend implements Service {
  readonly prober = new Prober();
  private readonly http: HttpServer;
  private readonly downstream: Downstream;
  private readonly queries: Counter<'op'>;
  private readonly retries: Histogram<'tripperware'>;
  private readonly splitQueries: Counter;
  private readonly downsampledExtra: Counter;
  private readonly rangeCache: ResultsCache | null = null;
  private readonly labelsCache: Cache | null = null;
  private readonly caches: Cache[] = [];
  private readonly now: () => number;
  private readonly logger: Logger;

  constructor(
    private readonly cfg: QueryFrontendConfig,
    private readonly opts: QueryFrontendOptions,
  ) {
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
    const reg = opts.registry;
    this.queries = new Counter({ name: 'thanos_query_frontend_queries_total', help: 'Total queries passing through query frontend', labelNames: ['op'], registers: [reg] });
    for (const op of ['query', 'query_range', 'label_names', 'label_values', 'series']) this.queries.inc({ op }, 0);
    this.retries = retriesHistogram(reg);
    this.splitQueries = new Counter({ name: 'thanos_frontend_split_queries_total', help: 'Total number of underlying query requests after the split by interval is applied', registers: [reg] });
    this.downsampledExtra = new Counter({ name: 'thanos_frontend_downsampled_extra_queries_total', help: 'Total number of additional queries for downsampled data', registers: [reg] });
    this.downstream = new Downstream({
      url: cfg.downstreamURL,
      maxIdleConnsPerHost: cfg.downstreamTripper.maxIdleConnsPerHost,
      maxConnsPerHost: cfg.downstreamTripper.maxConnsPerHost,
      idleConnTimeoutMs: cfg.downstreamTripper.idleConnTimeoutMs,
      responseHeaderTimeoutMs: cfg.downstreamTripper.responseHeaderTimeoutMs,
    });
    const qr = cfg.queryRange;
    const compress = (c: Cache | null): Cache | null => (c ? compressedCache(c, cfg.cacheCompression) : null);
    const rangeCache = compress(opts.caches?.queryRange ?? (qr.cache ? this.track(newCache(qr.cache.cache, { name: qr.cache.name, registry: reg, logger: opts.logger })) : null));
    if (rangeCache) {
      this.rangeCache = new ResultsCache(
        {
          cache: rangeCache,
          ttlMs: qr.cache?.ttlMs ?? 0,
          splitIntervalMs: qr.splitIntervalMs,
          maxFreshnessMs: qr.maxCacheFreshnessMs,
          parallelism: qr.maxQueryParallelism,
          registry: reg,
          tripperware: 'query_range',
          logger: opts.logger,
          now: this.now,
        },
        (r) => this.rangeDownstream(r),
      );
    }
    const lc = cfg.labels.cache;
    this.labelsCache = compress(opts.caches?.labels ?? (lc ? this.track(newCache(lc.cache, { name: lc.name, registry: reg, logger: opts.logger })) : null));
    if (this.labelsCache) {
      const m = resultsCacheMetrics(reg);
      m.fetched.inc({ name: this.labelsCache.name, tripperware: 'labels' }, 0);
      m.hits.inc({ name: this.labelsCache.name, tripperware: 'labels' }, 0);
    }
    this.http = new HttpServer({ address: cfg.httpAddress, registry: reg, prober: this.prober, logger: opts.logger, webConfigFile: cfg.httpConfigFile });
    this.http.route('/', (req, res, url) => this.serve(req, res, url));
  }

  private track(c: Cache): Cache {
    this.caches.push(c);
    return c;
  }

  /** The bound HTTP address (host:port). */
  address(): string {
    return this.http.address();
  }

  async start(): Promise<void> {
    await this.http.start();
    this.prober.healthy();
    this.prober.ready();
  }

  async stop(): Promise<void> {
    this.prober.notReady(new Error('shutting down'));
    await this.http.stop();
    this.downstream.close();
    await Promise.all(this.caches.map((c) => c.close()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const began = performance.now();
    if (!this.cfg.webDisableCORS) {
      res.setHeader('Access-Control-Allow-Headers', 'Accept, Authorization, Content-Type, Origin');
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Expose-Headers', 'Date');
    }
    const op = operation(req, url.pathname);
    if (op === null) {
      await this.downstream.proxy(req, res, url);
      return;
    }
    this.queries.inc({ op });
    const ac = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) ac.abort(new Error('client went away'));
    });
    let form: URLSearchParams | null = null;
    try {
      form = await readForm(req, url);
      const tenant = this.tenant(req);
      const headers = this.forwarded(req);
      let body: Buffer;
      if (op === 'query_range') {
        const r = decodeQueryRange(form, url.pathname, this.cfg.queryRange.partialResponse);
        r.headers = headers;
        r.noCache = noStore(req);
        body = encodeRangeResponse(await this.queryRange(r, tenant, ac.signal));
      } else if (op === 'query') {
        body = await this.instantQuery(url.pathname, form, headers, ac.signal);
      } else {
        const r = decodeLabelsRequest(op, url.pathname, form, this.now(), this.cfg.labels.defaultTimeRangeMs);
        r.noCache = noStore(req);
        if (!r.rest.some(([k]) => k === 'partial_response')) r.rest.push(['partial_response', String(this.cfg.labels.partialResponse)]);
        body = encodeLabelsResponse(await this.labels(r, tenant, headers, ac.signal));
      }
      this.write(req, res, 200, { 'Content-Type': 'application/json' }, body);
    } catch (err) {
      if (err instanceof DownstreamError) {
        const ct = err.headers['content-type'] ?? 'application/json';
        this.write(req, res, err.status, { 'Content-Type': ct }, err.payload);
      } else if (err instanceof ApiError) {
        this.write(req, res, err.status, { 'Content-Type': 'application/json' }, err.body());
      } else if (ac.signal.aborted) {
        res.destroy();
      } else {
        this.logger.error({ err, path: url.pathname }, 'query-frontend request failed');
        this.write(req, res, 500, { 'Content-Type': 'application/json' }, new ApiError(500, 'internal', (err as Error).message).body());
      }
    } finally {
      this.logSlow(op, url, form, performance.now() - began);
    }
  }

  private logSlow(op: Op, url: URL, form: URLSearchParams | null, tookMs: number): void {
    const limit = this.cfg.logQueriesLongerThanMs;
    if (limit === 0 || (limit > 0 && tookMs <= limit)) return;
    const params: Record<string, string> = {};
    for (const [k, v] of form ?? []) params[`param_${k}`] = v;
    this.logger.info({ method: op, path: url.pathname, time_taken: `${tookMs.toFixed(1)}ms`, ...params }, 'slow query detected');
  }

  private write(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, body: Buffer): void {
    if (res.destroyed) return;
    const gzip = this.cfg.compressResponses && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) && body.length > 1024;
    if (!gzip) {
      res.writeHead(status, { ...headers, 'Content-Length': body.length });
      res.end(body);
      return;
    }
    res.writeHead(status, { ...headers, 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' });
    const z = createGzip({ level: 1 });
    z.pipe(res);
    z.end(body);
  }

  /** The org id of the request (Thanos extractOrgId): the first org id header set, else "anonymous". */
  private tenant(req: IncomingMessage): string {
    for (const h of this.cfg.orgIdHeaders) {
      const v = req.headers[h.toLowerCase()];
      if (typeof v === 'string' && v !== '') return v;
    }
    return 'anonymous';
  }

  private forwarded(req: IncomingMessage): [string, string][] {
    const out: [string, string][] = [];
    for (const h of this.cfg.forwardHeaders) {
      const v = req.headers[h.toLowerCase()];
      if (v === undefined) continue;
      for (const x of Array.isArray(v) ? v : [v]) out.push([h, x]);
    }
    return out;
  }

  /** A range query through the whole tripperware. */
  private async queryRange(r: QueryRangeRequest, tenant: string, signal?: AbortSignal): Promise<RangeResponse> {
    checkQueryLength(r, this.cfg.queryRange.maxQueryLengthMs);
    if (this.cfg.queryRange.alignRangeWithStep) r = alignToStep(r);
    if (this.cfg.queryRange.requestDownsampled && r.autoDownsampling) return this.downsampled(r, tenant, signal);
    return this.split(r, tenant, signal);
  }

  /**
   * max_source_resolution=auto (Thanos downsampled middleware): asks raw data first; for
   * the part the answer leaves empty at its start (raw data past retention), asks again
   * with 5m and then 1h downsampled data, and merges.
   */
  private async downsampled(req: QueryRangeRequest, tenant: string, signal?: AbortSignal): Promise<RangeResponse> {
    const resps: RangeResponse[] = [];
    let r = { ...req };
    let i = 0;
    while (i < DOWNSAMPLED_RESOLUTIONS.length) {
      if (i > 0) this.downsampledExtra.inc();
      const resp = await this.split(r, tenant, signal);
      resps.unshift(resp);
      const next = { ...r };
      for (; i < DOWNSAMPLED_RESOLUTIONS.length; i++) {
        if (next.maxSourceResolution < DOWNSAMPLED_RESOLUTIONS[i]) {
          next.autoDownsampling = false;
          next.maxSourceResolution = DOWNSAMPLED_RESOLUTIONS[i];
          break;
        }
      }
      const m = minResponseTime(resp);
      if (m === next.start) break;
      if (m !== -1) next.end = m - next.step;
      if (next.start > next.end) break;
      r = next;
    }
    return mergeResponses(resps);
  }

  private async split(r: QueryRangeRequest, tenant: string, signal?: AbortSignal): Promise<RangeResponse> {
    const interval = this.cfg.queryRange.splitIntervalMs;
    // `@ start()`/`@ end()` and pinned times would move with each piece; such queries go whole.
    const pieces = interval > 0 && !r.query.includes('@') ? splitQuery(r, interval) : [r];
    this.splitQueries.inc(pieces.length);
    const resps = await mapConcurrent(pieces, this.cfg.queryRange.maxQueryParallelism, (p) => (this.rangeCache ? this.rangeCache.do(p, tenant) : this.rangeDownstream(p, signal)));
    return resps.length === 0 ? emptyResponse() : mergeResponses(resps);
  }

  /** One range request to the query, retried. */
  private rangeDownstream(r: QueryRangeRequest, signal?: AbortSignal): Promise<RangeResponse> {
    return withRetries(
      this.cfg.queryRange.maxRetries,
      async () => {
        const a = await this.downstream.post(r.path, encodeQueryRange(r), r.headers, signal);
        return decodeRangeResponse(a.status, a.headers, a.body);
      },
      { logger: this.logger, signal, observe: (n) => this.retries.observe({ tripperware: 'query_range' }, n) },
    );
  }

  private instantQuery(path: string, form: URLSearchParams, headers: [string, string][], signal: AbortSignal): Promise<Buffer> {
    if (!form.has('partial_response')) form.set('partial_response', String(this.cfg.queryRange.partialResponse));
    return withRetries(
      this.cfg.instantMaxRetries,
      async () => {
        const a = await this.downstream.post(path, form, headers, signal);
        if (a.status !== 200) throw new DownstreamError(a.status, a.headers, a.body);
        return a.body;
      },
      { logger: this.logger, signal, observe: (n) => this.retries.observe({ tripperware: 'query_instant' }, n) },
    );
  }

  private async labels(r: LabelsRequest, tenant: string, headers: [string, string][], signal: AbortSignal): Promise<LabelsResponse> {
    const interval = this.cfg.labels.splitIntervalMs;
    const pieces = splitLabelsRequest(r, interval);
    this.splitQueries.inc(pieces.length);
    const resps = await mapConcurrent(pieces, this.cfg.labels.maxQueryParallelism, (p) => this.labelsPiece(p, tenant, interval, headers, signal));
    return mergeLabelsResponses(r.op, resps);
  }

  private async labelsPiece(r: LabelsRequest, tenant: string, interval: number, headers: [string, string][], signal: AbortSignal): Promise<LabelsResponse> {
    const ask = (): Promise<LabelsResponse> =>
      withRetries(
        this.cfg.labels.maxRetries,
        async () => {
          // GET: Prometheus serves label values for GET only.
          const a = await this.downstream.get(r.path, '?' + encodeLabelsRequest(r).toString(), headers, signal);
          return decodeLabelsResponse(a.status, a.headers, a.body);
        },
        { logger: this.logger, signal, observe: (n) => this.retries.observe({ tripperware: 'labels' }, n) },
      );
    const cache = this.labelsCache;
    // Only pieces wholly older than the freshness limit are cached: their answer is final.
    if (!cache || r.noCache || interval <= 0 || r.end > this.now() - this.cfg.labels.maxCacheFreshnessMs) return ask();
    const key = labelsCacheKey(tenant, r, interval);
    const h = hashKey(key);
    const m = resultsCacheMetrics(this.opts.registry);
    const labels = { name: cache.name, tripperware: 'labels' };
    m.fetched.inc(labels);
    const got = (await cache.fetch([h]).catch(() => new Map<string, Uint8Array>())).get(h);
    const hit = got ? decodeCachedLabels(key, got) : null;
    if (hit) {
      m.hits.inc(labels);
      return hit;
    }
    const resp = await ask();
    if (!resp.noStore) cache.store(new Map([[h, encodeCachedLabels(key, resp)]]), this.cfg.labels.cache?.ttlMs ?? 0);
    return resp;
  }
}

function operation(req: IncomingMessage, path: string): Op | null {
  if (req.method !== 'GET' && req.method !== 'POST') return null;
  if (path.endsWith('/api/v1/query')) return 'query';
  if (path.endsWith('/api/v1/query_range')) return 'query_range';
  if (path.endsWith('/api/v1/labels')) return 'label_names';
  if (path.endsWith('/api/v1/series')) return 'series';
  if (LABEL_VALUES.test(path)) return 'label_values';
  return null;
}

function noStore(req: IncomingMessage): boolean {
  return String(req.headers['cache-control'] ?? '').includes('no-store');
}

/** Go's Request.ParseForm: a url-encoded POST body's values, then the query string's. */
async function readForm(req: IncomingMessage, url: URL): Promise<URLSearchParams> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (req.method !== 'POST' || type !== 'application/x-www-form-urlencoded') {
    req.resume();
    return new URLSearchParams(url.searchParams);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw badData('http: request body too large');
    chunks.push(c);
  }
  const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  for (const [k, v] of url.searchParams) form.append(k, v);
  return form;
}

/** The earliest point of an answer; -1 when it has none (Thanos minResponseTime). */
function minResponseTime(r: RangeResponse): number {
  if (r.series.length === 0 || (r.series[0].ts.length === 0 && r.series[0].hts.length === 0)) return -1;
  let min = Infinity;
  for (const s of r.series) {
    if (s.ts.length > 0) min = Math.min(min, s.ts[0]);
    if (s.hts.length > 0) min = Math.min(min, s.hts[0]);
  }
  return min;
}
