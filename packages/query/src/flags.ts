// The query component's flags as Thanos spells them (cmd/thanos/query.go), and their
// translation into a QueryConfig. The CLI registers QUERY_FLAGS and hands the parsed
// values to queryConfigFromFlags; nothing here knows about the CLI library.

import { availableParallelism } from 'node:os';
import {
  FlagValues,
  GRPC_CLIENT_FLAGS,
  GRPC_SERVER_TLS_FLAGS,
  grpcClientConfigFromFlags,
  grpcServerTLSFromFlags,
  HTTP_CONFIG_FLAGS,
  httpConfigFileFromFlags,
  isDynamicNode,
  parseGoDuration,
  ResolverType,
  UserError,
  validateDNSAddress,
} from '@thanos-ts/runtime';
import type { FlagSpec, Logger } from '@thanos-ts/runtime';
import { DedupFunc } from '@thanos-ts/tsdb';
import type { Labels } from '@thanos-ts/tsdb';
import { parseFlagLabels } from '@thanos-ts/storeapi';
import { validateGroupAddress } from './discovery/endpoint-group.js';
import type { QueryConfig } from './query.js';

/** A query flag (runtime's FlagSpec). */
export type QueryFlagSpec = FlagSpec;

/** Every flag of `thanos-ts query` besides the global --log.* ones. */
export const QUERY_FLAGS: readonly QueryFlagSpec[] = [
  { name: 'grpc-address', kind: 'string', default: '0.0.0.0:10901', placeholder: '<host:port>', help: 'Listen ip:port address for gRPC endpoints (StoreAPI). Make sure this address is routable from other components.' },
  { name: 'grpc-grace-period', kind: 'string', default: '2m', placeholder: '<duration>', help: 'Time to wait after an interrupt received for GRPC Server.' },
  ...GRPC_SERVER_TLS_FLAGS,
  ...GRPC_CLIENT_FLAGS,
  { name: 'http-address', kind: 'string', default: '0.0.0.0:10902', placeholder: '<host:port>', help: 'Listen host:port for HTTP endpoints.' },
  ...HTTP_CONFIG_FLAGS,
  { name: 'web.route-prefix', kind: 'string', default: '', placeholder: '<prefix>', help: 'Prefix for API and UI endpoints. This allows thanos UI to be served on a sub-path. Defaults to the value of --web.external-prefix. This option is analogous to --web.route-prefix of Prometheus.' },
  { name: 'web.external-prefix', kind: 'string', default: '', placeholder: '<prefix>', help: 'Static prefix for all HTML links and redirect URLs in the UI query web interface. Actual endpoints are still served on / or the web.route-prefix. This allows thanos UI to be served behind a reverse proxy that strips a URL sub-path.' },
  { name: 'endpoint', kind: 'strings', placeholder: '<endpoint>', help: "Addresses of statically configured Thanos API servers (repeatable). The scheme may be prefixed with 'dns+' or 'dnssrv+' to detect Thanos API servers through respective DNS lookups ('dnssrvnoa+': SRV without A/AAAA lookups; 'dnsdualstack+': AAAA and A)." },
  { name: 'store', kind: 'strings', placeholder: '<store>', help: 'Deprecated alias of --endpoint (repeatable).' },
  { name: 'endpoint-group', kind: 'strings', placeholder: '<endpoint-group>', help: "Experimental: DNS name of statically configured Thanos API server groups (repeatable). Targets resolved from the DNS name will be queried in a round-robin, instead of a fanout manner. This flag should be used when connecting a Thanos Query to HA groups of Thanos components. HOST:PORT or dns+HOST:PORT (A/AAAA lookups by gRPC's dns resolver)." },
  { name: 'endpoint-strict', kind: 'strings', placeholder: '<endpoint-strict>', help: 'Addresses of only statically configured Thanos API servers that are always used, even if the health check fails (repeatable). Useful if you have a caching layer on top. DNS (dns+, dnssrv+) addresses are not permitted here.' },
  { name: 'endpoint-group-strict', kind: 'strings', placeholder: '<endpoint-group-strict>', help: 'Experimental: DNS name of statically configured Thanos API server groups (repeatable) that are always used, even if the health check fails.' },
  { name: 'endpoint.sd-files', kind: 'strings', placeholder: '<path>', help: 'Path to files that contain addresses of store API servers, in Prometheus file_sd format (YAML or JSON). The path can be a glob pattern (repeatable).' },
  { name: 'store.sd-files', kind: 'strings', placeholder: '<path>', help: 'Deprecated alias of --endpoint.sd-files (repeatable).' },
  { name: 'store.sd-interval', kind: 'string', default: '5m', placeholder: '<duration>', help: 'Refresh interval to re-read file SD files. It is used as a resync fallback.' },
  { name: 'store.sd-dns-interval', kind: 'string', default: '30s', placeholder: '<duration>', help: 'Interval between DNS resolutions.' },
  { name: 'store.sd-dns-resolver', kind: 'string', default: 'miekgdns', placeholder: '<resolver>', help: "Resolver to use. Possible options: [golang, miekgdns]. Both use Node's resolver here: A/AAAA through getaddrinfo (/etc/hosts, then the system's DNS), SRV through the servers of /etc/resolv.conf." },
  { name: 'store.sd-dns-server', kind: 'strings', placeholder: '<ip:port>', hidden: true, help: "Ours, for tests: DNS server to send every dns+/dnssrv+ lookup to instead of the system's (repeatable)." },
  { name: 'store.unhealthy-timeout', kind: 'string', default: '5m', placeholder: '<duration>', help: 'Timeout before an unhealthy store is dropped from /api/v1/stores and no longer queried.' },
  { name: 'store.response-timeout', kind: 'string', default: '0ms', placeholder: '<duration>', help: "If a Store doesn't send any data in this specified duration then a Store will be ignored and partial data will be returned if it's enabled. 0 disables timeout." },
  { name: 'endpoint.info-timeout', kind: 'string', default: '5s', placeholder: '<duration>', help: 'Timeout of gRPC Info requests; endpoints are also asked for Info this often.' },
  { name: 'query.replica-label', kind: 'strings', placeholder: '<replica-label>', help: "Labels to treat as a replica indicator along which data is deduplicated. Still you will be able to query without deduplication using 'dedup=false' parameter. Flag may be specified multiple times as well as a comma separated list of labels." },
  { name: 'deduplication.func', kind: 'string', default: 'penalty', placeholder: '<func>', help: "Deduplication algorithm for merging overlapping series. Possible values are: 'penalty', 'chain'. With 'penalty' the replicas are merged with a penalty-based algorithm; 'chain' merges them sample by sample (for receive replicas with identical data)." },
  { name: 'query.partial-response', kind: 'bool', default: true, help: 'Enable partial response for queries if no partial_response param is specified.' },
  { name: 'query.timeout', kind: 'string', default: '2m', placeholder: '<duration>', help: 'Maximum time to process query by query node.' },
  { name: 'query.max-concurrent', kind: 'string', default: '20', placeholder: '<n>', help: 'Maximum number of queries processed concurrently by query node.' },
  { name: 'query.max-samples', kind: 'string', default: '50000000', placeholder: '<n>', help: 'Maximum number of samples a single query can load into memory. Note that queries will fail if they try to load more samples than this into memory, so this also limits the number of samples a query can return.' },
  { name: 'query.workers', kind: 'string', placeholder: '<n>', help: 'Worker threads evaluating PromQL, so a long query never blocks health checks, metrics, gRPC or other queries; small queries (bounded samples, under 30 ms of evaluation) are answered on the main thread, the rest move to a worker; the threads start when a query needs them and stop after a minute without work (default: one per core; 0: evaluate everything on the main thread).' },
  { name: 'query.max-concurrent-select', kind: 'string', default: '4', placeholder: '<n>', help: 'Maximum number of select requests made concurrently per a query.' },
  { name: 'query.lookback-delta', kind: 'string', placeholder: '<duration>', help: 'The maximum lookback duration for retrieving metrics during expression evaluations. If unset it will use the promql default of 5m.' },
  { name: 'query.default-evaluation-interval', kind: 'string', default: '1m', placeholder: '<duration>', help: 'Set default evaluation interval for sub queries.' },
  { name: 'query.auto-downsampling', kind: 'bool', default: false, help: 'Enable automatic adjustment (step / 5) to what source of data should be used in store gateways if no max_source_resolution param is specified.' },
  { name: 'selector-label', kind: 'strings', placeholder: '<name>="<value>"', help: 'Query selector labels that will be exposed in info endpoint (repeated).' },
];

/** Replica labels from repeated, possibly comma-separated flag values; unique, in order. */
export function parseReplicaLabels(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    for (const l of v.split(',')) {
      const t = l.trim();
      if (t !== '' && !out.includes(t)) out.push(t);
    }
  }
  return out;
}

/**
 * The QueryConfig for parsed flag values, keyed by flag name ("query.replica-label") or
 * by commander's camel-cased key ("query.replicaLabel"). Missing flags take Thanos's
 * defaults. Bad values throw UserError naming the flag.
 */
export function queryConfigFromFlags(values: Record<string, unknown>, logger: Logger): QueryConfig {
  const f = new FlagValues(values, QUERY_FLAGS);
  const get = (name: string): unknown => f.raw(name);
  const str = (name: string): string => f.str(name);
  const strs = (name: string): string[] => f.strs(name);
  const bool = (name: string): boolean => f.bool(name);
  // Thanos model.Duration flags ("5m", "0ms"); --query.lookback-delta is a Go duration.
  const modelDuration = (name: string): number => f.duration(name);
  const int = (name: string): number => f.int(name);
  const positiveInt = (name: string): number => {
    const n = int(name);
    if (n <= 0) throw new UserError(`--${name}: must be positive, got ${n}`);
    return n;
  };
  const dedupFunc = str('deduplication.func');
  if (dedupFunc !== DedupFunc.PENALTY && dedupFunc !== DedupFunc.CHAIN) {
    throw new UserError(`--deduplication.func: enum value must be one of penalty,chain, got '${dedupFunc}'`);
  }
  let lookbackDeltaMs = 0;
  const lb = get('query.lookback-delta');
  if (lb !== undefined && lb !== '') {
    try {
      lookbackDeltaMs = parseGoDuration(String(lb));
    } catch (err) {
      throw new UserError(`--query.lookback-delta: ${(err as Error).message}`);
    }
  }
  const externalPrefix = str('web.external-prefix');
  const routePrefix = str('web.route-prefix') || externalPrefix;
  const infoTimeoutMs = modelDuration('endpoint.info-timeout');
  const endpoints = [...strs('endpoint'), ...strs('store')];
  const strictEndpoints = strs('endpoint-strict');
  const endpointGroups = strs('endpoint-group');
  const strictEndpointGroups = strs('endpoint-group-strict');
  validateEndpointFlags({ endpoints, strictEndpoints, endpointGroups, strictEndpointGroups }, logger);
  const dnsSDResolver = str('store.sd-dns-resolver');
  if (dnsSDResolver !== ResolverType.GOLANG && dnsSDResolver !== ResolverType.MIEKGDNS) {
    // Thanos falls back to golang with a warning.
    logger.warn({ type: dnsSDResolver }, 'no such resolver type, defaulting to golang');
  }
  return {
    grpcAddress: str('grpc-address'),
    grpcGracePeriodMs: modelDuration('grpc-grace-period'),
    grpcServerTLS: grpcServerTLSFromFlags(f),
    grpcClient: grpcClientConfigFromFlags(f),
    httpAddress: str('http-address'),
    httpConfigFile: httpConfigFileFromFlags(f),
    webRoutePrefix: routePrefix === '/' ? '' : routePrefix.replace(/\/+$/, ''),
    webExternalPrefix: externalPrefix,
    endpoints,
    strictEndpoints,
    endpointGroups,
    strictEndpointGroups,
    dnsSDIntervalMs: modelDuration('store.sd-dns-interval'),
    dnsSDServers: strs('store.sd-dns-server'),
    sdFiles: [...strs('endpoint.sd-files'), ...strs('store.sd-files')],
    sdIntervalMs: modelDuration('store.sd-interval'),
    unhealthyTimeoutMs: modelDuration('store.unhealthy-timeout'),
    responseTimeoutMs: modelDuration('store.response-timeout'),
    infoTimeoutMs,
    infoIntervalMs: infoTimeoutMs,
    replicaLabels: parseReplicaLabels(strs('query.replica-label')),
    dedupFunc,
    partialResponse: bool('query.partial-response'),
    queryTimeoutMs: modelDuration('query.timeout'),
    maxConcurrent: int('query.max-concurrent'),
    maxSamples: positiveInt('query.max-samples'),
    workers: str('query.workers') === '' ? availableParallelism() : int('query.workers'),
    maxConcurrentSelect: int('query.max-concurrent-select'),
    lookbackDeltaMs,
    defaultEvaluationIntervalMs: modelDuration('query.default-evaluation-interval'),
    autoDownsampling: bool('query.auto-downsampling'),
    selectorLabels: parseFlagLabels(strs('selector-label'), 'selector-label'),
    flags: queryFlagsMap(values),
    logger,
  };
}

/**
 * Rejects what Thanos rejects (validateEndpointConfig): a DNS address among the strict
 * ones, since strict endpoints must be static. Group addresses must be HOST:PORT or
 * dns+HOST:PORT here. Malformed dns+ addresses are only warned about: Thanos starts with
 * them and logs their lookup errors every pass.
 */
export function validateEndpointFlags(
  f: { endpoints: readonly string[]; strictEndpoints: readonly string[]; endpointGroups: readonly string[]; strictEndpointGroups: readonly string[] },
  logger: Logger,
): void {
  for (const [flag, addrs] of [['endpoint-strict', f.strictEndpoints], ['endpoint-group-strict', f.strictEndpointGroups]] as const) {
    for (const a of addrs) {
      if (isDynamicNode(a)) throw new UserError(`--${flag}: ${a} is a dynamically specified endpoint i.e. it uses SD and that is not permitted under strict mode.`);
    }
  }
  for (const [flag, addrs] of [['endpoint-group', f.endpointGroups], ['endpoint-group-strict', f.strictEndpointGroups]] as const) {
    for (const a of addrs) {
      try {
        validateGroupAddress(a);
      } catch (err) {
        throw new UserError(`--${flag}: ${(err as Error).message}`);
      }
    }
  }
  for (const a of f.endpoints) {
    try {
      validateDNSAddress(a);
    } catch (err) {
      logger.warn({ address: a, err: err as Error }, 'endpoint address will not resolve');
    }
  }
}

/**
 * Every flag of QUERY_FLAGS with its value as a string, as /api/v1/status/flags lists
 * them (Thanos flagsMap): defaults included, repeated flags joined by commas.
 */
export function queryFlagsMap(values: Record<string, unknown>): Record<string, string> {
  return new FlagValues(values, QUERY_FLAGS).asStrings();
}
