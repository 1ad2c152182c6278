// `thanos-ts query-frontend` flags as Thanos declares them (cmd/thanos/query_frontend.go)
// and their translation into a QueryFrontendConfig.

import { parse as parseYaml } from 'yaml';
import { FlagValues, HTTP_CONFIG_FLAGS, httpConfigFileFromFlags, parseConfigDuration, pathOrContent, UserError } from '@thanos-ts/runtime';
import type { FlagSpec, Logger } from '@thanos-ts/runtime';
import { parseResponseCacheConfig } from './config.js';
import type { DownstreamTripperConfig, QueryFrontendConfig } from './config.js';

const ignored = 'Accepted for compatibility with Thanos and ignored.';
const unsupported = 'Dynamic splitting is not supported by thanos-ts: a value above 0 is refused.';

export const QUERY_FRONTEND_FLAGS: readonly FlagSpec[] = [
  { name: 'http-address', kind: 'string', default: '0.0.0.0:10902', placeholder: '<host:port>', help: 'Listen host:port for HTTP endpoints.' },
  { name: 'http-grace-period', kind: 'string', default: '2m', placeholder: '<duration>', help: 'Time to wait after an interrupt received for HTTP Server.' },
  ...HTTP_CONFIG_FLAGS,
  { name: 'web.disable-cors', kind: 'bool', default: false, help: 'Whether to disable CORS headers to be set by Thanos. By default Thanos sets CORS headers to be allowed by all.' },
  { name: 'query-range.align-range-with-step', kind: 'bool', default: true, help: 'Mutate incoming queries to align their start and end with their step for better cache-ability. Note: Grafana dashboards do that by default.' },
  { name: 'query-range.request-downsampled', kind: 'bool', default: true, help: 'Make additional query for downsampled data in case of empty or incomplete response to range request.' },
  { name: 'query-range.split-interval', kind: 'string', default: '24h', placeholder: '<duration>', help: 'Split query range requests by an interval and execute in parallel, it should be greater than 0 when query-range.response-cache-config is configured.' },
  { name: 'query-range.min-split-interval', kind: 'string', default: '0', placeholder: '<duration>', help: `Split query range requests above this interval in query-range.horizontal-shards requests of equal range. ${unsupported}` },
  { name: 'query-range.max-split-interval', kind: 'string', default: '0', placeholder: '<duration>', help: `Split query range below this interval in query-range.horizontal-shards. ${unsupported}` },
  { name: 'query-range.horizontal-shards', kind: 'string', default: '0', placeholder: '<n>', help: `Split queries in this many requests when query duration is below query-range.max-split-interval. ${unsupported}` },
  { name: 'query-range.max-retries-per-request', kind: 'string', default: '5', placeholder: '<n>', help: 'Maximum number of retries for a single query range request; beyond this, the downstream error is returned.' },
  { name: 'query.max-retries-per-request', kind: 'string', default: '5', placeholder: '<n>', help: 'Maximum number of retries for a single instant query request; beyond this, the downstream error is returned.' },
  { name: 'query-frontend.enable-x-functions', kind: 'bool', default: false, help: `Enable experimental x- functions in query-frontend. --no-query-frontend.enable-x-functions for disabling. ${ignored} (queries are passed on to the query, which decides)` },
  { name: 'enable-feature', kind: 'strings', placeholder: '<feature>', help: `Comma separated feature names to enable. Valid options for now: promql-experimental-functions (enables promql experimental functions in query-frontend). ${ignored}` },
  { name: 'query-range.max-query-length', kind: 'string', default: '0', placeholder: '<duration>', help: 'Limit the query time range (end - start time) in the query-frontend, 0 disables it.' },
  { name: 'query-range.max-query-parallelism', kind: 'string', default: '14', placeholder: '<n>', help: 'Maximum number of query range requests will be scheduled in parallel by the Frontend.' },
  { name: 'query-range.response-cache-max-freshness', kind: 'string', default: '1m', placeholder: '<duration>', help: 'Most recent allowed cacheable result for query range requests, to prevent caching very recent results that might still be in flux.' },
  { name: 'query-range.partial-response', kind: 'bool', default: true, help: 'Enable partial response for query range requests if no partial_response param is specified. --no-query-range.partial-response for disabling.' },
  { name: 'query-range.response-cache-config-file', kind: 'string', placeholder: '<file-path>', help: 'Path to YAML file that contains response cache configuration.' },
  { name: 'query-range.response-cache-config', kind: 'string', placeholder: '<content>', help: "Alternative to 'query-range.response-cache-config-file' flag (mutually exclusive). Content of YAML file that contains response cache configuration." },
  { name: 'labels.split-interval', kind: 'string', default: '24h', placeholder: '<duration>', help: 'Split labels requests by an interval and execute in parallel, it should be greater than 0 when labels.response-cache-config is configured.' },
  { name: 'labels.max-retries-per-request', kind: 'string', default: '5', placeholder: '<n>', help: 'Maximum number of retries for a single label/series API request; beyond this, the downstream error is returned.' },
  { name: 'labels.max-query-parallelism', kind: 'string', default: '14', placeholder: '<n>', help: 'Maximum number of labels requests will be scheduled in parallel by the Frontend.' },
  { name: 'labels.response-cache-max-freshness', kind: 'string', default: '1m', placeholder: '<duration>', help: 'Most recent allowed cacheable result for labels requests, to prevent caching very recent results that might still be in flux.' },
  { name: 'labels.partial-response', kind: 'bool', default: true, help: 'Enable partial response for labels requests if no partial_response param is specified. --no-labels.partial-response for disabling.' },
  { name: 'labels.default-time-range', kind: 'string', default: '24h', placeholder: '<duration>', help: 'The default metadata time range duration for retrieving labels through Labels and Series API when the range parameters are not specified.' },
  { name: 'labels.response-cache-config-file', kind: 'string', placeholder: '<file-path>', help: 'Path to YAML file that contains response cache configuration.' },
  { name: 'labels.response-cache-config', kind: 'string', placeholder: '<content>', help: "Alternative to 'labels.response-cache-config-file' flag (mutually exclusive). Content of YAML file that contains response cache configuration." },
  { name: 'cache-compression-type', kind: 'string', default: '', placeholder: '<type>', help: "Use compression in results cache. Supported values are: 'snappy' and '' (disable compression)." },
  { name: 'query-frontend.downstream-url', kind: 'string', default: 'http://localhost:9090', placeholder: '<url>', help: 'URL of downstream Prometheus Query compatible API.' },
  { name: 'query-frontend.downstream-tripper-config-file', kind: 'string', placeholder: '<file-path>', help: 'Path to YAML file that contains downstream tripper configuration. If your downstream URL is localhost or 127.0.0.1 then it is highly recommended to increase max_idle_conns_per_host to at least 100.' },
  { name: 'query-frontend.downstream-tripper-config', kind: 'string', placeholder: '<content>', help: "Alternative to 'query-frontend.downstream-tripper-config-file' flag (mutually exclusive). Content of YAML file that contains downstream tripper configuration." },
  { name: 'query-frontend.compress-responses', kind: 'bool', default: false, help: 'Compress HTTP responses.' },
  { name: 'query-frontend.log-queries-longer-than', kind: 'string', default: '0', placeholder: '<duration>', help: 'Log queries that are slower than the specified duration. Set to 0 to disable. Set to < 0 to enable on all queries.' },
  { name: 'query-frontend.force-query-stats', kind: 'bool', default: false, help: `Enables query statistics for all queries and will export statistics as logs and service headers. ${ignored}` },
  { name: 'query-frontend.org-id-header', kind: 'strings', placeholder: '<http-header-name>', help: "Request header names used to identify the source of slow queries (repeated flag). The values of the header will be added to the org id field in the slow query log. If multiple headers match the request, the first matching arg specified will take precedence. If no headers match 'anonymous' will be used." },
  { name: 'query-frontend.forward-header', kind: 'strings', placeholder: '<http-header-name>', help: 'List of headers forwarded by the query-frontend to downstream queriers, default is empty' },
  { name: 'query-frontend.tenant-header', kind: 'string', default: 'THANOS-TENANT', hidden: true, help: 'HTTP header to determine tenant' },
  { name: 'query-frontend.default-tenant-id', kind: 'string', default: 'default-tenant', hidden: true, help: 'Default tenant ID to use if tenant header is not present' },
  { name: 'query-frontend.tenant-certificate-field', kind: 'string', default: '', hidden: true, help: `Use TLS client's certificate field to determine tenant for requests. ${ignored}` },
  { name: 'query-frontend.vertical-shards', kind: 'string', default: '0', placeholder: '<n>', help: `Number of shards to use when distributing shardable PromQL queries. ${ignored} (no vertical sharding)` },
  { name: 'query-frontend.slow-query-logs-user-header', kind: 'string', default: '', placeholder: '<http-header-name>', help: 'Set the value of the field remote_user in the slow query logs to the value of the given HTTP header. Falls back to reading the user from the basic auth header.' },
  { name: 'log.request.decision', kind: 'string', default: '', placeholder: '<decision>', hidden: true, help: `Deprecation Warning - This flag would be soon deprecated, and replaced with \`request.logging-config\`. ${ignored}` },
  { name: 'request.logging-config-file', kind: 'string', placeholder: '<file-path>', help: `Path to YAML file with request logging configuration. ${ignored}` },
  { name: 'request.logging-config', kind: 'string', placeholder: '<content>', help: `Alternative to 'request.logging-config-file' flag (mutually exclusive). ${ignored}` },
];

function durationFlag(f: FlagValues, name: string): number {
  // Thanos declares these as Go time.Duration (DurationVar): "0" and negative values allowed.
  const s = f.str(name);
  const neg = s.startsWith('-');
  try {
    const ms = parseConfigDuration(neg ? s.slice(1) : s);
    return neg ? -ms : ms;
  } catch (err) {
    throw new UserError(`--${name}: ${(err as Error).message}`);
  }
}

function parseTripperConfig(text: string): DownstreamTripperConfig {
  const out: DownstreamTripperConfig = { idleConnTimeoutMs: 90_000, responseHeaderTimeoutMs: 0 };
  if (text.trim() === '') return out;
  let doc: Record<string, unknown>;
  try {
    doc = (parseYaml(text) ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new UserError(`parsing downstream tripper config YAML file: ${(err as Error).message}`);
  }
  const known = ['idle_conn_timeout', 'response_header_timeout', 'tls_handshake_timeout', 'expect_continue_timeout', 'max_idle_conns', 'max_idle_conns_per_host', 'max_conns_per_host', 'tls_config'];
  for (const k of Object.keys(doc)) if (!known.includes(k)) throw new UserError(`parsing downstream tripper config YAML file: field ${k} not found in type queryfrontend.DownstreamTripperConfig`);
  const dur = (k: string): number | undefined => (doc[k] === undefined ? undefined : parseConfigDuration(String(doc[k])));
  out.idleConnTimeoutMs = dur('idle_conn_timeout') || out.idleConnTimeoutMs;
  out.responseHeaderTimeoutMs = dur('response_header_timeout') ?? 0;
  if (doc.max_idle_conns_per_host !== undefined) out.maxIdleConnsPerHost = Number(doc.max_idle_conns_per_host);
  if (doc.max_conns_per_host !== undefined) out.maxConnsPerHost = Number(doc.max_conns_per_host);
  return out;
}

export function queryFrontendConfigFromFlags(values: Record<string, unknown>, logger: Logger): QueryFrontendConfig {
  const f = new FlagValues(values, QUERY_FRONTEND_FLAGS);
  const compression = f.str('cache-compression-type');
  if (compression !== '' && compression !== 'none' && compression !== 'snappy') throw new UserError(`--cache-compression-type: unsupported compression type "${compression}" (supported: 'snappy' and '')`);
  const downstreamURL = f.str('query-frontend.downstream-url');
  if (downstreamURL === '') throw new UserError('error validating the config: downstream URL should be configured');
  try {
    new URL(downstreamURL);
  } catch {
    throw new UserError(`--query-frontend.downstream-url: invalid URL "${downstreamURL}"`);
  }
  if (f.int('query-range.horizontal-shards') > 0 || durationFlag(f, 'query-range.min-split-interval') > 0 || durationFlag(f, 'query-range.max-split-interval') > 0) {
    throw new UserError('--query-range.min-split-interval/max-split-interval/horizontal-shards (dynamic splitting) are not supported by thanos-ts; use --query-range.split-interval');
  }
  const rangeCacheText = pathOrContent(f, 'query-range.response-cache-config');
  const labelsCacheText = pathOrContent(f, 'labels.response-cache-config');
  const rangeCache = rangeCacheText.trim() === '' ? null : parseResponseCacheConfig(rangeCacheText, 'query-range.response-cache-config', logger);
  const labelsCache = labelsCacheText.trim() === '' ? null : parseResponseCacheConfig(labelsCacheText, 'labels.response-cache-config', logger);
  const splitIntervalMs = durationFlag(f, 'query-range.split-interval');
  const labelsSplitMs = durationFlag(f, 'labels.split-interval');
  if (rangeCache && splitIntervalMs <= 0) throw new UserError('error validating the config: split queries or split threshold interval should be greater than 0 when caching is enabled');
  if (labelsCache && labelsSplitMs <= 0) throw new UserError('error validating the config: split queries interval should be greater than 0  when caching is enabled');
  const defaultTimeRangeMs = durationFlag(f, 'labels.default-time-range');
  if (defaultTimeRangeMs === 0) throw new UserError('error validating the config: labels.default-time-range cannot be set to 0');
  const parallelism = (name: string): number => {
    const n = f.int(name);
    if (n < 1) throw new UserError(`--${name}: must be at least 1`);
    return n;
  };
  return {
    cacheCompression: compression === 'snappy' ? 'snappy' : '',
    httpAddress: f.str('http-address'),
    httpConfigFile: httpConfigFileFromFlags(f),
    httpGracePeriodMs: durationFlag(f, 'http-grace-period'),
    webDisableCORS: f.bool('web.disable-cors'),
    downstreamURL,
    downstreamTripper: parseTripperConfig(pathOrContent(f, 'query-frontend.downstream-tripper-config')),
    compressResponses: f.bool('query-frontend.compress-responses'),
    logQueriesLongerThanMs: durationFlag(f, 'query-frontend.log-queries-longer-than'),
    forwardHeaders: [...f.strs('query-frontend.forward-header'), f.str('query-frontend.tenant-header')],
    orgIdHeaders: [...f.strs('query-frontend.org-id-header'), f.str('query-frontend.tenant-header')],
    queryRange: {
      alignRangeWithStep: f.bool('query-range.align-range-with-step'),
      requestDownsampled: f.bool('query-range.request-downsampled'),
      splitIntervalMs,
      maxRetries: f.int('query-range.max-retries-per-request'),
      maxQueryLengthMs: durationFlag(f, 'query-range.max-query-length'),
      maxQueryParallelism: parallelism('query-range.max-query-parallelism'),
      maxCacheFreshnessMs: durationFlag(f, 'query-range.response-cache-max-freshness'),
      partialResponse: f.bool('query-range.partial-response'),
      cache: rangeCache,
    },
    instantMaxRetries: f.int('query.max-retries-per-request'),
    labels: {
      splitIntervalMs: labelsSplitMs,
      maxRetries: f.int('labels.max-retries-per-request'),
      maxQueryParallelism: parallelism('labels.max-query-parallelism'),
      maxCacheFreshnessMs: durationFlag(f, 'labels.response-cache-max-freshness'),
      partialResponse: f.bool('labels.partial-response'),
      defaultTimeRangeMs,
      cache: labelsCache,
    },
  };
}
