// The sidecar's HTTP client for its Prometheus (Thanos pkg/promclient): external labels
// from the config API, flags, the lowest timestamp from /metrics, label APIs, and the
// streamed remote read. Every error names the URL it was talking to.
//
// It speaks node:http over one keep-alive Agent rather than fetch: the remote read runs
// once per Series call, and undici's request setup and web streams cost several times
// what Prometheus itself spends on a small query.

import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { labelsFromRecord, parsePromTextString } from '@thanos-ts/tsdb';
import type { Labels, Matcher } from '@thanos-ts/tsdb';
import { InvalidArgumentError, UnavailableError } from '@thanos-ts/runtime';
import {
  ChunkedFrameReader,
  encodeReadRequest,
  isChunkedReadResponse,
  prometheus,
  REMOTE_READ_REQUEST_HEADERS,
} from '@thanos-ts/storeapi';
import type { ChunkedReadResponse } from '@thanos-ts/storeapi';
import { parseChunkedReadResponse } from './chunked-series.js';
import type { RawChunkedSeries } from './chunked-series.js';

interface ApiEnvelope<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
}

const READ_PATH = '/api/v1/read';

export class PromClient {
  private readonly base: string;
  private readonly origin: URL;
  /** Host name as node:http wants it (IPv6 without brackets). */
  private readonly hostname: string;
  /** Path of the base URL, without a trailing slash ('' for the root). */
  private readonly prefix: string;
  private readonly agent: http.Agent;
  private readonly transport: typeof http.request;
  private readonly readHeaders: OutgoingHttpHeaders;
  private readonly getHeaders: OutgoingHttpHeaders | undefined;

  /** @param timeoutMs how long a request may go without a byte from Prometheus */
  constructor(
    baseUrl: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
    this.origin = new URL(this.base);
    this.prefix = this.origin.pathname.replace(/\/+$/, '');
    this.hostname = this.origin.hostname.replace(/^\[|\]$/g, '');
    const tls = this.origin.protocol === 'https:';
    this.transport = tls ? https.request : http.request;
    this.agent = tls ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    // Credentials in the URL (http://user:pass@host) become basic auth.
    const auth =
      this.origin.username !== '' || this.origin.password !== ''
        ? { Authorization: `Basic ${Buffer.from(`${decodeURIComponent(this.origin.username)}:${decodeURIComponent(this.origin.password)}`).toString('base64')}` }
        : undefined;
    this.getHeaders = auth;
    this.readHeaders = { ...REMOTE_READ_REQUEST_HEADERS, ...auth };
  }

  get url(): string {
    return this.base;
  }

  /** Closes the idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  /**
   * Sends a request and resolves with the response head. Failing to connect, a 5xx and
   * `timeoutMs` without a byte are UnavailableError; an aborted signal rejects with its
   * reason. A keep-alive connection that Prometheus closed as we reused it is retried once.
   */
  private async send(method: string, path: string, body: Uint8Array | null, signal?: AbortSignal): Promise<IncomingMessage> {
    signal?.throwIfAborted();
    let res: IncomingMessage;
    try {
      res = await this.sendOnce(method, path, body, signal, false);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw new UnavailableError(`request ${this.base}${path}: ${(err as Error).message}`);
    }
    if (res.statusCode! >= 500) {
      const text = (await readBody(res, 300).catch(() => '')).trim().slice(0, 300);
      throw new UnavailableError(
        `request ${this.base}${path}: server returned HTTP status ${res.statusCode} ${res.statusMessage ?? ''}${text ? `: ${text}` : ''}`,
      );
    }
    return res;
  }

  private sendOnce(method: string, path: string, body: Uint8Array | null, signal: AbortSignal | undefined, retry: boolean): Promise<IncomingMessage> {
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = this.transport({
        protocol: this.origin.protocol,
        hostname: this.hostname,
        port: this.origin.port,
        method,
        path: this.prefix + path,
        headers: body === null ? this.getHeaders : this.readHeaders,
        agent: this.agent,
        timeout: this.timeoutMs,
        signal,
      });
      req.on('timeout', onRequestTimeout);
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (!retry && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE') && !signal?.aborted) {
          this.sendOnce(method, path, body, signal, true).then(resolve, reject);
        } else reject(err);
      });
      req.on('response', resolve);
      if (body === null) req.end();
      else req.end(body);
    });
  }

  private async api<T>(path: string, params?: URLSearchParams, signal?: AbortSignal): Promise<T> {
    const full = params ? `${path}?${params}` : path;
    const res = await this.send('GET', full, null, signal);
    let body: ApiEnvelope<T>;
    try {
      body = JSON.parse(await readBody(res)) as ApiEnvelope<T>;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (!(err instanceof SyntaxError)) throw new UnavailableError(`request ${this.base}${full}: ${(err as Error).message}`);
      throw new Error(`request ${this.base}${path}: HTTP ${res.statusCode}: response is not JSON`);
    }
    if (body.status !== 'success') {
      const msg = `request ${this.base}${path}: ${body.errorType ?? 'error'}: ${body.error ?? res.statusMessage}`;
      // Prometheus refused what we passed on from the client (a label name it does not take, say).
      throw body.errorType === 'bad_data' ? new InvalidArgumentError(msg) : new Error(msg);
    }
    return body.data as T;
  }

  /** Whether Prometheus answers /-/ready with 200. */
  async isReady(): Promise<boolean> {
    try {
      const res = await this.send('GET', '/-/ready', null);
      res.resume();
      return res.statusCode === 200;
    } catch {
      return false;
    }
  }

  /** global.external_labels of the loaded configuration, sorted. */
  async externalLabels(): Promise<Labels> {
    const data = await this.api<{ yaml: string }>('/api/v1/status/config');
    let cfg: { global?: { external_labels?: Record<string, string> } } | null;
    try {
      cfg = parseYaml(data.yaml) as typeof cfg;
    } catch (err) {
      throw new Error(`parse Prometheus configuration from ${this.base}: ${(err as Error).message}`);
    }
    const ext = cfg?.global?.external_labels ?? {};
    const rec: Record<string, string> = {};
    for (const [k, v] of Object.entries(ext)) rec[k] = String(v);
    return labelsFromRecord(rec);
  }

  /** Command-line flags Prometheus runs with, e.g. storage.tsdb.min-block-duration. */
  async flags(): Promise<Record<string, string>> {
    return this.api<Record<string, string>>('/api/v1/status/flags');
  }

  async version(): Promise<string> {
    const b = await this.api<{ version: string }>('/api/v1/status/buildinfo');
    return b.version;
  }

  /**
   * The oldest sample time Prometheus holds, from prometheus_tsdb_lowest_timestamp_seconds
   * (ms). Before the first block is cut the metric reads MaxInt64: report -Inf then so the
   * sidecar is never pruned from a query.
   */
  async lowestTimestamp(): Promise<number> {
    const res = await this.send('GET', '/metrics', null);
    let text: string;
    try {
      text = await readBody(res);
    } catch (err) {
      throw new UnavailableError(`request ${this.base}/metrics: ${(err as Error).message}`);
    }
    for (const e of parsePromTextString(text, { defaultTimestamp: 0 })) {
      if (e.kind === 'sample' && e.labels.length === 1 && e.labels[0].value === 'prometheus_tsdb_lowest_timestamp_seconds') {
        const ms = e.v * 1000;
        return ms >= 9.2e18 ? -(2 ** 63) : Math.floor(ms);
      }
    }
    throw new Error(`metrics of ${this.base} did not contain prometheus_tsdb_lowest_timestamp_seconds`);
  }
  async labelNames(start: number, end: number, matchers: readonly Matcher[], signal?: AbortSignal): Promise<string[]> {
    const p = timeParams(start, end, matchers);
    return (await this.api<string[] | null>('/api/v1/labels', p, signal)) ?? [];
  }

  async labelValues(name: string, start: number, end: number, matchers: readonly Matcher[], signal?: AbortSignal): Promise<string[]> {
    const p = timeParams(start, end, matchers);
    return (await this.api<string[] | null>(`/api/v1/label/${encodeURIComponent(name)}/values`, p, signal)) ?? [];
  }

  /** Label sets of matching series (for skip_chunks requests). */
  async series(start: number, end: number, matchers: readonly Matcher[], limit: number, signal?: AbortSignal): Promise<Record<string, string>[]> {
    const p = timeParams(start, end, matchers);
    if (limit > 0) p.set('limit', String(limit));
    return (await this.api<Record<string, string>[] | null>('/api/v1/series', p, signal)) ?? [];
  }

  /** /api/v1/rules, of one type ("alert", "record") or all (""). */
  async rules(type: string, signal?: AbortSignal): Promise<PromRuleDiscovery> {
    const p = new URLSearchParams();
    if (type !== '') p.set('type', type);
    return this.api<PromRuleDiscovery>('/api/v1/rules', p, signal);
  }

  /** /api/v1/targets, in one state ("active", "dropped") or any (""). */
  async targets(state: string, signal?: AbortSignal): Promise<PromTargetDiscovery> {
    const p = new URLSearchParams();
    if (state !== '') p.set('state', state);
    return this.api<PromTargetDiscovery>('/api/v1/targets', p, signal);
  }

  /** /api/v1/metadata of one metric ("" for all), at most `limit` metrics (negative: all). */
  async metadata(metric: string, limit: number, signal?: AbortSignal): Promise<Record<string, PromMetricMeta[]>> {
    const p = new URLSearchParams();
    if (metric !== '') p.set('metric', metric);
    if (limit >= 0) p.set('limit', String(limit));
    return (await this.api<Record<string, PromMetricMeta[]> | null>('/api/v1/metadata', p, signal)) ?? {};
  }

  /** /api/v1/query_exemplars over [start, end] (ms). */
  async exemplars(query: string, start: number, end: number, signal?: AbortSignal): Promise<PromExemplarData[]> {
    const p = timeParams(start, end, []);
    p.set('query', query);
    return (await this.api<PromExemplarData[] | null>('/api/v1/query_exemplars', p, signal)) ?? [];
  }

  /**
   * Remote read with STREAMED_XOR_CHUNKS: the series of each frame as it arrives (one per
   * frame from Prometheus), parsed without decoding chunks (see chunked-series.ts); their
   * bytes alias the response. A Prometheus that can only answer SAMPLES is an error
   * (every version since 2.13 streams).
   */
  remoteReadSeries(query: prometheus.Query.$Properties, signal?: AbortSignal): AsyncGenerator<RawChunkedSeries[]> {
    return this.readFrames(query, signal, parseChunkedReadResponse);
  }

  /** Remote read with STREAMED_XOR_CHUNKS, each frame decoded by protobufjs. */
  remoteRead(query: prometheus.Query.$Properties, signal?: AbortSignal): AsyncGenerator<ChunkedReadResponse> {
    return this.readFrames(query, signal, decodeChunkedReadResponse);
  }

  private async *readFrames<T>(query: prometheus.Query.$Properties, signal: AbortSignal | undefined, decode: (msg: Uint8Array) => T): AsyncGenerator<T> {
    const res = await this.remoteReadResponse(query, signal);
    const frames = new ChunkedFrameReader();
    let done = false;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        frames.push(chunk);
        for (let msg = frames.next(); msg !== null; msg = frames.next()) {
          let frame: T;
          try {
            frame = decode(msg);
          } catch (err) {
            throw frames.corrupt(`malformed ChunkedReadResponse: ${(err as Error).message}`);
          }
          yield frame;
        }
      }
      frames.end();
      done = true;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw new UnavailableError(`remote read ${this.base}${READ_PATH}: ${(err as Error).message}`);
    } finally {
      // Left early (a limit, an error downstream): drop the connection rather than drain it.
      if (!done) res.destroy();
    }
  }

  private async remoteReadResponse(query: prometheus.Query.$Properties, signal?: AbortSignal): Promise<IncomingMessage> {
    const body = encodeReadRequest({
      queries: [query],
      acceptedResponseTypes: [prometheus.ReadRequest.ResponseType.STREAMED_XOR_CHUNKS],
    });
    const res = await this.send('POST', READ_PATH, body, signal);
    if (res.statusCode !== 200) {
      const text = (await readBody(res, 300).catch(() => '')).trim().slice(0, 300);
      throw new Error(`remote read ${this.base}${READ_PATH}: HTTP ${res.statusCode}${text ? `: ${text}` : ''}`);
    }
    const type = res.headers['content-type'];
    if (!isChunkedReadResponse(type)) {
      res.destroy();
      throw new Error(`remote read ${this.base}${READ_PATH}: unexpected content type ${type ?? null}, want streamed chunks`);
    }
    return res;
  }
}

/** `timeout` fired: the socket went `timeoutMs` without a byte. */
function onRequestTimeout(this: http.ClientRequest): void {
  this.destroy(new Error(`no answer for ${(this.socket?.timeout ?? 0) / 1000}s`));
}

function decodeChunkedReadResponse(msg: Uint8Array): ChunkedReadResponse {
  return prometheus.ChunkedReadResponse.decode(msg) as unknown as ChunkedReadResponse;
}

/** The body as UTF-8 text, at most `limit` bytes of it (the rest is dropped). */
async function readBody(res: IncomingMessage, limit = Infinity): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (n < limit) parts.push(chunk);
    n += chunk.length;
  }
  return (parts.length === 1 ? parts[0] : Buffer.concat(parts)).toString('utf8');
}

// The JSON of Prometheus's /api/v1/rules, /targets, /metadata and /query_exemplars
// (web/api/v1/api.go), as far as the sidecar reads it.

export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  activeAt?: string;
  value: string;
}

export interface PromRule {
  type: 'alerting' | 'recording';
  name: string;
  query: string;
  labels?: Record<string, string>;
  health: string;
  lastError?: string;
  evaluationTime?: number;
  lastEvaluation?: string;
  // alerting only
  state?: string;
  duration?: number;
  keepFiringFor?: number;
  annotations?: Record<string, string>;
  alerts?: PromAlert[];
}

export interface PromRuleGroup {
  name: string;
  file: string;
  rules: PromRule[];
  interval: number;
  limit?: number;
  evaluationTime?: number;
  lastEvaluation?: string;
}

export interface PromRuleDiscovery {
  groups: PromRuleGroup[];
}

export interface PromActiveTarget {
  discoveredLabels: Record<string, string>;
  labels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  globalUrl: string;
  lastError: string;
  lastScrape: string;
  lastScrapeDuration: number;
  health: string;
}

export interface PromTargetDiscovery {
  activeTargets: PromActiveTarget[] | null;
  droppedTargets: { discoveredLabels: Record<string, string> }[] | null;
}

export interface PromMetricMeta {
  type: string;
  help: string;
  unit: string;
}

export interface PromExemplarData {
  seriesLabels: Record<string, string>;
  exemplars: { labels: Record<string, string>; value: string; timestamp: number }[];
}

function timeParams(start: number, end: number, matchers: readonly Matcher[]): URLSearchParams {
  const p = new URLSearchParams();
  // Unbounded ends are left out: Prometheus then uses its own min and max time.
  if (Math.abs(start) < 1e15) p.set('start', (start / 1000).toFixed(3));
  if (Math.abs(end) < 1e15) p.set('end', (end / 1000).toFixed(3));
  if (matchers.length > 0) p.append('match[]', `{${matchers.map((m) => m.toString()).join(',')}}`);
  return p;
}
