// The ruler's own flags as Thanos spells them (cmd/thanos/rule.go, config.go
// queryConfig); the Alertmanager flags come from the notifier (@thanos-ts/rules), the
// bucket flags from the CLI.

import { FlagValues, GRPC_SERVER_TLS_FLAGS, grpcServerTLSFromFlags, HTTP_CONFIG_FLAGS, httpConfigFileFromFlags, pathOrContent, UserError } from '@thanos-ts/runtime';
import type { FlagSpec, GrpcServerTLSConfig } from '@thanos-ts/runtime';
import { parseFlagLabels } from '@thanos-ts/storeapi';
import type { Labels } from '@thanos-ts/tsdb';
import { parseRemoteWriteConfig } from './remote-write.js';
import type { RemoteWriteConfig } from './remote-write.js';

const RW_HELP =
  "YAML config for the remote-write configurations, that specify servers where samples should be sent to (see https://prometheus.io/docs/prometheus/latest/configuration/configuration/#remote_write). This automatically enables stateless mode for ruler and no series will be stored in the ruler's TSDB. If an empty config (or file) is provided, the flag is ignored and ruler is run with its own TSDB.";

export const RULE_FLAGS: readonly FlagSpec[] = [
  { name: 'grpc-address', kind: 'string', default: '0.0.0.0:10901', placeholder: '<host:port>', help: 'Listen ip:port address for gRPC endpoints (StoreAPI). Make sure this address is routable from other components.' },
  { name: 'grpc-grace-period', kind: 'string', default: '2m', placeholder: '<duration>', help: 'Time to wait after an interrupt received for GRPC Server.' },
  ...GRPC_SERVER_TLS_FLAGS,
  { name: 'http-address', kind: 'string', default: '0.0.0.0:10902', placeholder: '<host:port>', help: 'Listen host:port for HTTP endpoints.' },
  { name: 'http-grace-period', kind: 'string', default: '2m', placeholder: '<duration>', help: 'Time to wait after an interrupt received for HTTP Server.' },
  ...HTTP_CONFIG_FLAGS,
  { name: 'label', kind: 'strings', placeholder: '<name>="<value>"', help: 'Labels to be applied to all generated metrics (repeated). Similar to external labels for Prometheus, used to identify ruler and its blocks as unique source.' },
  { name: 'tsdb.block-duration', kind: 'string', default: '2h', placeholder: '<duration>', help: 'Block duration for TSDB block.' },
  { name: 'tsdb.retention', kind: 'string', default: '48h', placeholder: '<duration>', help: 'Block retention time on local disk.' },
  { name: 'tsdb.no-lockfile', kind: 'bool', default: false, help: 'Do not create lockfile in TSDB data directory. In any case, the lockfiles will be deleted on next startup.' },
  { name: 'tsdb.wal-compression', kind: 'bool', default: true, help: 'Compress the tsdb WAL.' },
  { name: 'data-dir', kind: 'string', default: 'data/', placeholder: '<dir>', help: 'data directory' },
  { name: 'rule-file', kind: 'strings', placeholder: '<file>', help: 'Rule files that should be used by rule manager. Can be in glob format (repeated). Note that rules are not automatically detected, use SIGHUP or do HTTP POST /-/reload to re-read them. Default: rules/' },
  { name: 'resend-delay', kind: 'string', default: '1m', placeholder: '<duration>', help: 'Minimum amount of time to wait before resending an alert to Alertmanager.' },
  { name: 'eval-interval', kind: 'string', default: '1m', placeholder: '<duration>', help: 'The default evaluation interval to use.' },
  { name: 'rule-query-offset', kind: 'string', default: '0s', placeholder: '<duration>', help: 'The default rule group query_offset duration to use.' },
  { name: 'for-outage-tolerance', kind: 'string', default: '1h', placeholder: '<duration>', help: 'Max time to tolerate prometheus outage for restoring "for" state of alert.' },
  { name: 'for-grace-period', kind: 'string', default: '10m', placeholder: '<duration>', help: 'Minimum duration between alert and restored "for" state. This is maintained only for alerts with configured "for" time greater than grace period.' },
  { name: 'restore-ignored-label', kind: 'strings', placeholder: '<label>', help: 'Label names to be ignored when restoring alerts from the remote storage. This is only used in stateless mode.' },
  { name: 'rule-concurrent-evaluation', kind: 'string', default: '1', placeholder: '<n>', help: 'How many rules can be evaluated concurrently. Default is 1.' },
  { name: 'query', kind: 'strings', placeholder: '<query>', help: "Addresses of statically configured query API servers (repeatable). The scheme may be prefixed with 'dns+' or 'dnssrv+' to detect query API servers through respective DNS lookups." },
  { name: 'query.config-file', kind: 'string', default: '', placeholder: '<file-path>', help: "Path to YAML file that contains query API servers configuration. See format details: https://thanos.io/tip/components/rule.md/#configuration. If defined, it takes precedence over the '--query' and '--query.sd-files' flags." },
  { name: 'query.config', kind: 'string', default: '', placeholder: '<content>', help: "Alternative to 'query.config-file' flag (mutually exclusive). Content of YAML file that contains query API servers configuration. See format details: https://thanos.io/tip/components/rule.md/#configuration. If defined, it takes precedence over the '--query' and '--query.sd-files' flags." },
  { name: 'query.sd-files', kind: 'strings', placeholder: '<path>', help: 'Path to file that contains addresses of query API servers. The path can be a glob pattern (repeatable).' },
  { name: 'query.sd-interval', kind: 'string', default: '5m', placeholder: '<duration>', help: 'Refresh interval to re-read file SD files. (used as a fallback)' },
  { name: 'query.sd-dns-interval', kind: 'string', default: '30s', placeholder: '<duration>', help: 'Interval between DNS resolutions.' },
  { name: 'query.http-method', kind: 'string', default: 'POST', placeholder: '<method>', help: 'HTTP method to use when sending queries. Possible options: [GET, POST]' },
  { name: 'query.default-step', kind: 'string', default: '1s', placeholder: '<duration>', help: 'Default range query step to use. This is only used in stateless Ruler and alert state restoration.' },
  { name: 'query.only-prometheus-params', kind: 'bool', default: false, hidden: true, help: 'Disable adding Thanos parameters (e.g dedup, partial_response) when querying metrics. Some non-Thanos systems have strict API validation.' },
  { name: 'web.external-prefix', kind: 'string', default: '', placeholder: '<prefix>', help: 'Static prefix for all HTML links and redirect URLs in the bucket web UI interface. Actual endpoints are still served on / or the web.route-prefix. This allows thanos bucket web UI to be served behind a reverse proxy that strips a URL sub-path.' },
  { name: 'web.route-prefix', kind: 'string', default: '', placeholder: '<prefix>', help: 'Prefix for API and UI endpoints. This allows thanos UI to be served on a sub-path. Defaults to the value of --web.external-prefix. This option is analogous to --web.route-prefix of Prometheus.' },
  { name: 'remote-write.config-file', kind: 'string', default: '', placeholder: '<file-path>', help: `Path to ${RW_HELP}` },
  { name: 'remote-write.config', kind: 'string', default: '', placeholder: '<content>', help: `Alternative to 'remote-write.config-file' flag (mutually exclusive). Content of ${RW_HELP}` },
  { name: 'shipper.upload-compacted', kind: 'bool', default: false, help: 'If true shipper will try to upload compacted blocks as well. Useful for migration purposes. Works only if compaction is disabled on Prometheus. Do it once and then disable the flag when done.' },
];

export interface RuleFlagsConfig {
  grpcAddress: string;
  grpcGracePeriodMs: number;
  grpcServerTLS?: GrpcServerTLSConfig;
  httpAddress: string;
  httpConfigFile: string;
  externalLabels: Labels;
  blockDurationMs: number;
  retentionMs: number;
  walCompression: boolean;
  dataDir: string;
  ruleFiles: string[];
  resendDelayMs: number;
  evalIntervalMs: number;
  queryOffsetMs: number;
  forOutageToleranceMs: number;
  forGracePeriodMs: number;
  queryAddresses: string[];
  querySDFiles: string[];
  querySDIntervalMs: number;
  queryDNSIntervalMs: number;
  queryHttpMethod: 'GET' | 'POST';
  queryOnlyPrometheusParams: boolean;
  /** --query.config(-file) content ('' = none). */
  queryConfigYAML: string;
  routePrefix: string;
  uploadCompacted: boolean;
  /** --remote-write.config: stateless mode (no local TSDB); null = off. */
  remoteWrite: RemoteWriteConfig[] | null;
  /** --restore-ignored-label */
  restoreIgnoredLabels: string[];
  /** --query.default-step (ms) */
  queryDefaultStepMs: number;
}

/** The ruler's own settings from parsed flag values, checked as Thanos checks them. */
export function ruleFlagsConfig(values: Record<string, unknown>): RuleFlagsConfig {
  const f = new FlagValues(values, RULE_FLAGS);
  const externalLabels = parseFlagLabels(f.strs('label'), 'label');
  const method = f.str('query.http-method');
  if (method !== 'GET' && method !== 'POST') throw new UserError(`--query.http-method: enum value must be one of GET,POST, got '${method}'`);
  const queryConfigYAML = pathOrContent(f, 'query.config');
  const queryAddresses = f.strs('query');
  const querySDFiles = f.strs('query.sd-files');
  if (queryAddresses.length === 0 && querySDFiles.length === 0 && queryConfigYAML === '') throw new UserError('no query configuration parameter was given');
  if ((queryAddresses.length > 0 || querySDFiles.length > 0) && queryConfigYAML !== '') {
    throw new UserError('--query/--query.sd-files/--grpc-query-endpoint and --query.config* parameters cannot be defined at the same time');
  }
  const evalIntervalMs = f.duration('eval-interval');
  if (evalIntervalMs <= 0) throw new UserError('--eval-interval: must be positive');
  const rwYAML = pathOrContent(f, 'remote-write.config');
  let remoteWrite: RemoteWriteConfig[] | null = null;
  if (rwYAML.trim() !== '') {
    try {
      remoteWrite = parseRemoteWriteConfig(rwYAML);
    } catch (err) {
      throw new UserError(`--remote-write.config: ${(err as Error).message}`);
    }
  }
  const blockDurationMs = f.duration('tsdb.block-duration');
  if (blockDurationMs <= 0) throw new UserError('--tsdb.block-duration: must be positive');
  return {
    grpcAddress: f.str('grpc-address'),
    grpcGracePeriodMs: f.duration('grpc-grace-period'),
    grpcServerTLS: grpcServerTLSFromFlags(f),
    httpAddress: f.str('http-address'),
    httpConfigFile: httpConfigFileFromFlags(f),
    externalLabels,
    blockDurationMs,
    retentionMs: f.duration('tsdb.retention'),
    walCompression: f.bool('tsdb.wal-compression'),
    dataDir: f.str('data-dir'),
    ruleFiles: f.strs('rule-file').length > 0 ? f.strs('rule-file') : ['rules/'],
    resendDelayMs: f.duration('resend-delay'),
    evalIntervalMs,
    queryOffsetMs: f.duration('rule-query-offset'),
    forOutageToleranceMs: f.duration('for-outage-tolerance'),
    forGracePeriodMs: f.duration('for-grace-period'),
    queryAddresses,
    querySDFiles,
    querySDIntervalMs: f.duration('query.sd-interval'),
    queryDNSIntervalMs: f.duration('query.sd-dns-interval'),
    queryHttpMethod: method,
    queryOnlyPrometheusParams: f.bool('query.only-prometheus-params'),
    queryConfigYAML,
    routePrefix: f.str('web.route-prefix') || f.str('web.external-prefix'),
    uploadCompacted: f.bool('shipper.upload-compacted'),
    remoteWrite,
    restoreIgnoredLabels: f.strs('restore-ignored-label'),
    queryDefaultStepMs: f.duration('query.default-step'),
  };
}
