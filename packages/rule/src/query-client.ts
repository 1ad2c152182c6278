// How the ruler queries (Thanos cmd/thanos/rule.go queryFuncCreator, pkg/promclient):
// instant queries against the Prometheus HTTP API of the query components named by
// --query (HOST:PORT or a URL with scheme and path prefix; dns+ and dnssrv+ looked up
// every --query.sd-dns-interval) and --query.sd-files, tried in random order until one
// answers, with Thanos's parameters (dedup, partial_response).

import { readFileSync } from 'node:fs';
import { DNSProvider, FileSD, isDynamicNode, NodeDNSResolver, UserError } from '@thanos-ts/runtime';
import { parse as parseYaml } from 'yaml';
import type { Logger } from '@thanos-ts/runtime';
import type { QueryFunc, VectorSample } from '@thanos-ts/rules';
import type { Label } from '@thanos-ts/tsdb';
import { compareStrings } from '@thanos-ts/tsdb';

export interface QueryEndpointsOptions {
  /** --query */
  addresses: readonly string[];
  /** --query.sd-files */
  sdFiles: readonly string[];
  /** --query.sd-interval (ms) */
  sdIntervalMs: number;
  /** --query.sd-dns-interval (ms) */
  dnsIntervalMs: number;
  logger: Logger;
}

/** The query components' base URLs, as discovered now. */
export class QueryEndpoints {
  private fileSD: FileSD | null = null;
  private readonly dns: DNSProvider;
  private timer: NodeJS.Timeout | null = null;
  private fileTargets: string[] = [];

  constructor(private readonly opts: QueryEndpointsOptions) {
    this.dns = new DNSProvider({ resolver: new NodeDNSResolver(), logger: opts.logger });
  }

  async start(): Promise<void> {
    if (this.opts.sdFiles.length > 0) {
      this.fileSD = new FileSD({
        files: this.opts.sdFiles,
        refreshIntervalMs: this.opts.sdIntervalMs,
        onChange: (t) => {
          this.fileTargets = t;
          void this.resolve();
        },
        logger: this.opts.logger,
      });
      await this.fileSD.start();
      this.fileTargets = this.fileSD.targets();
    }
    await this.resolve();
    this.timer = setInterval(() => void this.resolve(), Math.max(1000, this.opts.dnsIntervalMs));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.fileSD?.stop();
  }

  private async resolve(): Promise<void> {
    const all = [...this.opts.addresses, ...this.fileTargets];
    // Only the host part goes to DNS; scheme and path prefix stay with each result.
    const dynamic = all.filter((a) => isDynamicNode(stripScheme(a).hostport));
    await this.dns.resolve(dynamic.map((a) => stripScheme(a).hostport), false).catch((err: unknown) => {
      this.opts.logger.warn({ err: (err as Error).message }, 'resolving query addresses');
    });
  }

  /** Base URLs (scheme, host:port, path prefix), deduplicated. */
  urls(): string[] {
    const out = new Set<string>();
    for (const a of [...this.opts.addresses, ...this.fileTargets]) {
      const { scheme, hostport, path } = stripScheme(a);
      const hosts = isDynamicNode(hostport) ? this.dns.addressesForHost(hostport) : [hostport];
      for (const h of hosts) out.add(`${scheme}://${h}${path}`);
    }
    return [...out];
  }
}

function stripScheme(addr: string): { scheme: string; hostport: string; path: string } {
  const m = /^(https?):\/\/([^/]+)(\/.*)?$/.exec(addr);
  if (m !== null) return { scheme: m[1], hostport: m[2], path: (m[3] ?? '').replace(/\/+$/, '') };
  return { scheme: 'http', hostport: addr, path: '' };
}

/** What --query.config (Thanos clientconfig.Config list, HTTP part) names. */
export interface QueryConfig {
  /** Static addresses as URLs (scheme and path prefix applied). */
  addresses: string[];
  /** file_sd_configs files; their targets get `fileScheme` and `filePathPrefix`. */
  sdFiles: string[];
  sdIntervalMs: number;
  /** Authorization header from basic_auth or bearer_token(_file), if any. */
  authorization: string | null;
}

/**
 * Parses --query.config: a YAML list of `{http_config: {basic_auth, bearer_token(_file)},
 * static_configs: [HOST:PORT], file_sd_configs: [{files, refresh_interval}], scheme,
 * path_prefix}`. TLS settings are not supported and refused.
 */
export function parseQueryConfig(text: string): QueryConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new UserError(`query configuration: ${(err as Error).message}`);
  }
  const out: QueryConfig = { addresses: [], sdFiles: [], sdIntervalMs: 300_000, authorization: null };
  if (doc === null || doc === undefined) return out;
  if (!Array.isArray(doc)) throw new UserError('query configuration: expected a list of query API server configurations');
  for (const c of doc as Record<string, unknown>[]) {
    const scheme = typeof c.scheme === 'string' && c.scheme !== '' ? c.scheme : 'http';
    const prefix = typeof c.path_prefix === 'string' ? c.path_prefix.replace(/\/+$/, '') : '';
    for (const a of (c.static_configs as string[] | undefined) ?? []) out.addresses.push(`${scheme}://${a}${prefix}`);
    for (const f of (c.file_sd_configs as { files?: string[] }[] | undefined) ?? []) out.sdFiles.push(...(f.files ?? []));
    const http = (c.http_config ?? {}) as { basic_auth?: { username?: string; password?: string; password_file?: string }; bearer_token?: string; bearer_token_file?: string; tls_config?: unknown };
    if (http.tls_config !== undefined && http.tls_config !== null && Object.keys(http.tls_config as object).length > 0) throw new UserError('query configuration: tls_config is not supported');
    if (http.basic_auth?.username) {
      const password = http.basic_auth.password_file ? readFileSync(http.basic_auth.password_file, 'utf8').trim() : (http.basic_auth.password ?? '');
      out.authorization = `Basic ${Buffer.from(`${http.basic_auth.username}:${password}`).toString('base64')}`;
    } else if (http.bearer_token || http.bearer_token_file) {
      out.authorization = `Bearer ${http.bearer_token ?? readFileSync(http.bearer_token_file!, 'utf8').trim()}`;
    }
  }
  return out;
}

export interface HttpQueryOptions {
  /** --query.http-method */
  method: 'GET' | 'POST';
  /** Authorization header to send. */
  authorization?: string | null;
  /** Per-request timeout (ms). */
  timeoutMs?: number;
  /** --query.only-prometheus-params: no dedup/partial_response parameters. */
  onlyPrometheusParams?: boolean;
}

interface ApiAnswer {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: unknown };
}

/** A QueryFunc over the endpoints' /api/v1/query; fails only when every endpoint failed. */
export function httpQueryFunc(endpoints: () => string[], opts: HttpQueryOptions): QueryFunc {
  return async (expr, timeMs, qopts = {}) => {
    const urls = shuffle(endpoints());
    if (urls.length === 0) throw new Error('no query API server reachable');
    const params = new URLSearchParams({ query: expr, time: (timeMs / 1000).toFixed(3) });
    if (!opts.onlyPrometheusParams) {
      params.set('dedup', 'true');
      params.set('partial_response', qopts.partialResponse ? 'true' : 'false');
    }
    let last: Error | null = null;
    for (const base of urls) {
      try {
        return await queryOnce(base, params, opts, qopts.signal);
      } catch (err) {
        last = err as Error;
        if ((err as { final?: boolean }).final) throw err;
      }
    }
    throw last!;
  };
}

async function queryOnce(base: string, params: URLSearchParams, opts: HttpQueryOptions, signal?: AbortSignal): Promise<VectorSample[]> {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 120_000);
  const sig = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const url = `${base}/api/v1/query`;
  // Answers of instant queries are small and the query usually close: compressing them
  // cost more CPU on both ends than it saved (measured in `pnpm bench rule`).
  const auth: Record<string, string> = { 'Accept-Encoding': 'identity', ...(opts.authorization ? { Authorization: opts.authorization } : {}) };
  const res =
    opts.method === 'GET'
      ? await fetch(`${url}?${params}`, { signal: sig, headers: auth })
      : await fetch(url, { method: 'POST', body: params, headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...auth }, signal: sig });
  const text = await res.text();
  let body: ApiAnswer;
  try {
    body = JSON.parse(text) as ApiAnswer;
  } catch {
    throw new Error(`read query instant response: expected 2xx response, got ${res.status}. Body: ${text.slice(0, 200)}`);
  }
  if (body.status !== 'success') {
    // A bad expression is the same on every endpoint: no point in trying the next.
    const err = Object.assign(new Error(`${body.errorType ?? 'error'}: ${body.error ?? ''}`), { final: res.status === 400 || res.status === 422 });
    throw err;
  }
  return toVector(body.data!);
}

function toVector(data: { resultType: string; result: unknown }): VectorSample[] {
  switch (data.resultType) {
    case 'vector':
      return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({ labels: toLabels(s.metric), value: parseFloatValue(s.value[1]) }));
    case 'scalar': {
      const [, v] = data.result as [number, string];
      return [{ labels: [], value: parseFloatValue(v) }];
    }
    default:
      throw new Error(`rule result is not a vector or scalar: ${data.resultType}`);
  }
}

function toLabels(m: Record<string, string>): Label[] {
  return Object.entries(m)
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => compareStrings(a.name, b.name));
}

/** Prometheus's JSON float strings: "NaN", "+Inf", "-Inf" and Go-formatted numbers. */
function parseFloatValue(v: string): number {
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  return Number(v);
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}
