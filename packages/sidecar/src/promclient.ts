// The sidecar's HTTP client for its Prometheus (Thanos pkg/promclient): external labels
// from the config API, flags, the lowest timestamp from /metrics, label APIs, and the
// streamed remote read. Every error names the URL it was talking to.

import { parse as parseYaml } from 'yaml';
import { labelsFromRecord, parsePromTextString } from '@thanos-ts/tsdb';
import type { Labels, Matcher } from '@thanos-ts/tsdb';
import { InvalidArgumentError, UnavailableError } from '@thanos-ts/runtime';
import {
  encodeReadRequest,
  isChunkedReadResponse,
  prometheus,
  readChunkedResponse,
  REMOTE_READ_REQUEST_HEADERS,
} from '@thanos-ts/storeapi';
import type { ChunkedReadResponse } from '@thanos-ts/storeapi';

interface ApiEnvelope<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
}

export class PromClient {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  get url(): string {
    return this.base;
  }

  private async fetch(path: string, init: RequestInit = {}, signal?: AbortSignal): Promise<Response> {
    const url = this.base + path;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    try {
      res = await fetch(url, { ...init, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
      throw new UnavailableError(`request ${url}: ${cause}`);
    }
    if (res.status >= 500) {
      const body = (await res.text().catch(() => '')).trim().slice(0, 300);
      throw new UnavailableError(`request ${url}: server returned HTTP status ${res.status} ${res.statusText}${body ? `: ${body}` : ''}`);
    }
    return res;
  }

  private async api<T>(path: string, params?: URLSearchParams, signal?: AbortSignal): Promise<T> {
    const res = await this.fetch(params ? `${path}?${params}` : path, {}, signal);
    let body: ApiEnvelope<T>;
    try {
      body = (await res.json()) as ApiEnvelope<T>;
    } catch {
      throw new Error(`request ${this.base}${path}: HTTP ${res.status}: response is not JSON`);
    }
    if (body.status !== 'success') {
      const msg = `request ${this.base}${path}: ${body.errorType ?? 'error'}: ${body.error ?? res.statusText}`;
      // Prometheus refused what we passed on from the client (a label name it does not take, say).
      throw body.errorType === 'bad_data' ? new InvalidArgumentError(msg) : new Error(msg);
    }
    return body.data as T;
  }

  /** Whether Prometheus answers /-/ready with 200. */
  async isReady(): Promise<boolean> {
    try {
      const res = await this.fetch('/-/ready');
      await res.body?.cancel();
      return res.status === 200;
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
    const res = await this.fetch('/metrics');
    const text = await res.text();
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
   * Remote read with STREAMED_XOR_CHUNKS: yields frames as they arrive; Prometheus's
   * own chunks are passed through untouched. A Prometheus that can only answer SAMPLES
   * is an error (every version since 2.13 streams).
   */
  async *remoteRead(query: prometheus.Query.$Properties, signal?: AbortSignal): AsyncGenerator<ChunkedReadResponse> {
    const body = encodeReadRequest({
      queries: [query],
      acceptedResponseTypes: [prometheus.ReadRequest.ResponseType.STREAMED_XOR_CHUNKS],
    });
    const res = await this.fetch('/api/v1/read', { method: 'POST', headers: { ...REMOTE_READ_REQUEST_HEADERS }, body }, signal);
    if (res.status !== 200) {
      const text = (await res.text().catch(() => '')).trim().slice(0, 300);
      throw new Error(`remote read ${this.base}/api/v1/read: HTTP ${res.status}${text ? `: ${text}` : ''}`);
    }
    if (!isChunkedReadResponse(res.headers.get('content-type')) || !res.body) {
      await res.body?.cancel();
      throw new Error(`remote read ${this.base}/api/v1/read: unexpected content type ${res.headers.get('content-type')}, want streamed chunks`);
    }
    try {
      yield* readChunkedResponse(res.body as unknown as AsyncIterable<Uint8Array>);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw new UnavailableError(`remote read ${this.base}/api/v1/read: ${(err as Error).message}`);
    }
  }
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
