// The receiver's flags as Thanos spells them (cmd/thanos/receive.go) and their
// translation into a ReceiveConfig. The CLI registers
// RECEIVE_FLAGS plus the objstore flags and hands the values to receiveConfigFromFlags.

import { FlagValues, GRPC_SERVER_TLS_FLAGS, grpcClientConfigFromFlags, grpcServerTLSFromFlags, HTTP_CONFIG_FLAGS, httpConfigFileFromFlags, UserError } from '@thanos-ts/runtime';
import type { FlagSpec, Logger } from '@thanos-ts/runtime';
import type { Bucket } from '@thanos-ts/objstore';
import type { Labels } from '@thanos-ts/tsdb';
import { parseFlagLabels } from '@thanos-ts/storeapi';
import { LIMITS_FLAGS, limitsConfigFromFlags } from './limits.js';
import type { ReceiveConfig } from './receive.js';

export const RECEIVE_FLAGS: readonly FlagSpec[] = [
  { name: 'grpc-address', kind: 'string', default: '0.0.0.0:10901', placeholder: '<host:port>', help: 'Listen ip:port address for gRPC endpoints (StoreAPI). Make sure this address is routable from other components.' },
  { name: 'grpc-grace-period', kind: 'string', default: '2m', placeholder: '<duration>', help: 'Time to wait after an interrupt received for GRPC Server.' },
  ...GRPC_SERVER_TLS_FLAGS,
  { name: 'http-address', kind: 'string', default: '0.0.0.0:10902', placeholder: '<host:port>', help: 'Listen host:port for HTTP endpoints.' },
  ...HTTP_CONFIG_FLAGS,
  { name: 'http-grace-period', kind: 'string', default: '2m', placeholder: '<duration>', help: 'Accepted for compatibility with Thanos and ignored: the HTTP servers stop right after the gRPC server.' },
  { name: 'remote-write.address', kind: 'string', default: '0.0.0.0:19291', placeholder: '<address>', help: 'Address to listen on for remote write requests.' },
  { name: 'remote-write.server-tls-cert', kind: 'string', default: '', placeholder: '<file>', help: 'TLS Certificate for HTTP server, leave blank to disable TLS.' },
  { name: 'remote-write.server-tls-key', kind: 'string', default: '', placeholder: '<file>', help: 'TLS Key for the HTTP server, leave blank to disable TLS.' },
  { name: 'remote-write.server-tls-client-ca', kind: 'string', default: '', placeholder: '<file>', help: 'TLS CA to verify clients against. If no client CA is specified, there is no client verification on server side. (tls.NoClientCert)' },
  { name: 'remote-write.server-tls-min-version', kind: 'string', default: '1.3', placeholder: '<version>', help: 'TLS version for the HTTP server, leave blank to default to TLS 1.3, Allowed values: ["1.0", "1.1", "1.2", "1.3"]' },
  { name: 'remote-write.client-tls-cert', kind: 'string', default: '', placeholder: '<file>', help: 'TLS Certificates to use to identify this client to the server.' },
  { name: 'remote-write.client-tls-key', kind: 'string', default: '', placeholder: '<file>', help: "TLS Key for the client's certificate." },
  { name: 'remote-write.client-tls-secure', kind: 'bool', default: false, help: 'Use TLS when talking to the other receivers.' },
  { name: 'remote-write.client-tls-skip-verify', kind: 'bool', default: false, help: 'Disable TLS certificate verification when talking to the other receivers i.e self signed, signed by fake CA.' },
  { name: 'remote-write.client-tls-ca', kind: 'string', default: '', placeholder: '<file>', help: 'TLS CA Certificates to use to verify servers.' },
  { name: 'remote-write.client-server-name', kind: 'string', default: '', placeholder: '<name>', help: 'Server name to verify the hostname on the returned TLS certificates. See https://tools.ietf.org/html/rfc4366#section-3.1' },
  { name: 'remote-write.client-tls-min-version', kind: 'string', default: '1.3', placeholder: '<version>', help: 'TLS version for the gRPC client, leave blank to default to TLS 1.3, Allowed values: ["1.0", "1.1", "1.2", "1.3"]' },
  { name: 'tsdb.path', kind: 'string', default: './data', placeholder: '<path>', help: 'Data directory of TSDB.' },
  { name: 'label', kind: 'strings', placeholder: '<key>="<value>"', help: 'External labels to announce. This flag will be removed in the future when handling multiple tsdb instances is added.' },
  { name: 'tsdb.retention', kind: 'string', default: '15d', placeholder: '<duration>', help: 'How long to retain raw samples on local storage. 0d - disables the retention policy (i.e. infinite retention). For more details on how retention is enforced for individual tenants, please refer to the Tenant lifecycle management section in the Receive documentation: https://thanos.io/tip/components/receive.md/#tenant-lifecycle-management' },
  { name: 'tsdb.block-duration', kind: 'string', default: '', placeholder: '<duration>', help: 'thanos-ts: duration of the blocks cut from the head (default: --tsdb.min-block-duration, 2h). Blocks are cut once the head spans 1.5 times this.' },
  { name: 'tsdb.min-block-duration', kind: 'string', default: '2h', placeholder: '<duration>', hidden: true, help: 'Min duration for local TSDB blocks.' },
  { name: 'tsdb.max-block-duration', kind: 'string', default: '2h', placeholder: '<duration>', hidden: true, help: 'Max duration for local TSDB blocks. thanos-ts does not compact local blocks: ignored.' },
  { name: 'tsdb.wal-compression', kind: 'bool', default: true, help: 'Compress the tsdb WAL.' },
  { name: 'tsdb.no-lockfile', kind: 'bool', default: false, help: 'Do not create lockfile in TSDB data directory. In any case, the lockfiles will be deleted on next startup. thanos-ts writes no lockfile: accepted and ignored.' },
  { name: 'tsdb.max-exemplars', kind: 'string', default: '0', placeholder: '<n>', help: 'Enables support for ingesting exemplars and sets the maximum number of exemplars that will be stored per tenant. thanos-ts stores no exemplars yet: received exemplars are counted in thanos_receive_exemplars_dropped_total and dropped.' },
  { name: 'receive.hashrings-file', kind: 'string', default: '', placeholder: '<path>', help: 'Path to file that contains the hashring configuration. A watcher is initialized to watch changes and update the hashring dynamically.' },
  { name: 'receive.hashrings', kind: 'string', default: '', placeholder: '<content>', help: "Alternative to 'receive.hashrings-file' flag (lower priority). Content of file that contains the hashring configuration." },
  { name: 'receive.hashrings-algorithm', kind: 'string', default: 'hashmod', placeholder: '<algorithm>', help: 'The algorithm used when distributing series in the hashrings. Must be one of hashmod, ketama. Will be overwritten by the tenant-specific algorithm in the hashring config.' },
  { name: 'receive.hashrings-file-refresh-interval', kind: 'string', default: '5m', placeholder: '<duration>', help: 'Refresh interval to re-read the hashring configuration file. (used as a fallback)' },
  { name: 'receive.local-endpoint', kind: 'string', default: '', placeholder: '<endpoint>', help: "Endpoint of local receive node. Used to identify the local node in the hashring configuration. If it's empty AND hashring configuration was provided, it means that receive will run in RoutingOnly mode." },
  { name: 'receive.tenant-header', kind: 'string', default: 'THANOS-TENANT', placeholder: '<header>', help: 'HTTP header to determine tenant for write requests.' },
  { name: 'receive.default-tenant-id', kind: 'string', default: 'default-tenant', placeholder: '<id>', help: 'Default tenant ID to use when none is provided via a header.' },
  { name: 'receive.tenant-label-name', kind: 'string', default: 'tenant_id', placeholder: '<name>', help: 'Label name through which the tenant will be announced.' },
  { name: 'receive.replica-header', kind: 'string', default: 'THANOS-REPLICA', placeholder: '<header>', help: 'HTTP header specifying the replica number of a write request.' },
  { name: 'receive.replication-factor', kind: 'string', default: '1', placeholder: '<n>', help: 'How many times to replicate incoming write requests.' },
  { name: 'receive.grpc-compression', kind: 'string', default: 'snappy', placeholder: '<compression>', help: 'Compression algorithm to use for gRPC requests to other receivers. Must be one of: snappy, none' },
  { name: 'receive-forward-timeout', kind: 'string', default: '5s', placeholder: '<duration>', hidden: true, help: 'Timeout for each forward request.' },
  { name: 'receive-forward-max-backoff', kind: 'string', default: '5s', placeholder: '<duration>', hidden: true, help: 'Maximum backoff for each forward fan-out request' },
  { name: 'tsdb.out-of-order.time-window', kind: 'string', default: '0s', placeholder: '<duration>', help: '[EXPERIMENTAL] Configures the allowed time window for ingestion of out-of-order samples. Disabled (0s) by defaultPlease note if you enable this option and you use compactor, make sure you have the --compact.enable-vertical-compaction flag enabled, otherwise you might risk compactor halt.' },
  { name: 'tsdb.out-of-order.cap-max', kind: 'string', default: '0', placeholder: '<n>', help: '[EXPERIMENTAL] Configures the maximum capacity for out-of-order chunks (in samples). If set to <=0, default value 32 is assumed.' },
  { name: 'tsdb.too-far-in-future.time-window', kind: 'string', default: '0s', placeholder: '<duration>', help: 'Configures the allowed time window for ingesting samples too far in the future. Disabled (0s) by default. Please note enable this flag will reject samples in the future of receive local NTP time + configured duration due to clock skew in remote write clients.' },
  { name: 'receive.max-request-size', kind: 'string', default: '32MiB', placeholder: '<size>', hidden: true, help: 'thanos-ts: largest remote write body accepted, compressed and decompressed; larger ones get 413.' },
  { name: 'receive.request-read-timeout', kind: 'string', default: '1m', placeholder: '<duration>', hidden: true, help: 'thanos-ts: time allowed to read a remote write body; a slower client gets 408.' },
  { name: 'receive.ha-tracker', kind: 'bool', default: false, help: 'thanos-ts: one copy per HA pair. Per tenant and cluster only the elected Prometheus replica is stored; writes from the others are answered 202 and dropped, and the replica label is removed from every series so both replicas write one series. The election of each cluster is held by the receiver owning it in the hashring (the next one if it is down).' },
  { name: 'receive.ha-tracker.cluster-label', kind: 'string', default: 'cluster', placeholder: '<name>', help: 'Prometheus label to look for in samples to identify a Prometheus HA cluster.' },
  { name: 'receive.ha-tracker.replica-label', kind: 'string', default: '__replica__', placeholder: '<name>', help: 'Prometheus label to look for in samples to identify a Prometheus HA replica.' },
  { name: 'receive.ha-tracker.failover-timeout', kind: 'string', default: '30s', placeholder: '<duration>', help: "If we don't receive any samples from the accepted replica for a cluster in this amount of time we will failover to the next replica we receive a sample from." },
  ...LIMITS_FLAGS,
  { name: 'shipper.sync-interval', kind: 'string', default: '30s', placeholder: '<duration>', hidden: true, help: 'thanos-ts: how often the tenants\' TSDB directories are scanned for blocks to upload.' },
];

/** The ReceiveConfig for parsed flag values (the bucket, if any, is opened by the caller). */
export function receiveConfigFromFlags(values: Record<string, unknown>, bucket: Bucket | null, logger: Logger): ReceiveConfig {
  const f = new FlagValues(values, RECEIVE_FLAGS);
  const rf = f.int('receive.replication-factor');
  if (!(rf >= 1)) throw new UserError('--receive.replication-factor: must be at least 1');
  const externalLabels = parseFlagLabels(f.strs('label'), 'label');
  if (externalLabels.length === 0) {
    throw new UserError('no external labels configured for receive, uniquely identifying external labels must be configured (ideally with `receive_` prefix); see https://thanos.io/tip/thanos/storage.md#external-labels for details.');
  }
  const algorithm = f.str('receive.hashrings-algorithm');
  if (algorithm !== 'hashmod' && algorithm !== 'ketama') throw new UserError(`--receive.hashrings-algorithm: enum value must be one of hashmod,ketama, got '${algorithm}'`);
  const blockDuration = f.str('tsdb.block-duration') !== '' ? f.duration('tsdb.block-duration') : f.duration('tsdb.min-block-duration');
  if (blockDuration <= 0) throw new UserError('--tsdb.block-duration: must be positive');
  const tenantLabelName = f.str('receive.tenant-label-name');
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(tenantLabelName)) throw new UserError(`--receive.tenant-label-name: invalid label name "${tenantLabelName}"`);
  if (f.str('receive.tenant-header') === '') throw new UserError('--receive.tenant-header: must not be empty');
  return {
    grpcAddress: f.str('grpc-address'),
    grpcGracePeriodMs: f.duration('grpc-grace-period'),
    grpcServerTLS: grpcServerTLSFromFlags(f),
    httpAddress: f.str('http-address'),
    httpConfigFile: httpConfigFileFromFlags(f),
    remoteWriteAddress: f.str('remote-write.address'),
    dataDir: f.str('tsdb.path'),
    externalLabels,
    retentionMs: f.duration('tsdb.retention'),
    blockDurationMs: blockDuration,
    walCompression: f.bool('tsdb.wal-compression'),
    tenantHeader: f.str('receive.tenant-header'),
    defaultTenant: f.str('receive.default-tenant-id'),
    tenantLabelName,
    maxRequestBytes: f.bytes('receive.max-request-size'),
    requestReadTimeoutMs: f.duration('receive.request-read-timeout'),
    shipIntervalMs: f.duration('shipper.sync-interval'),
    replicationFactor: rf,
    localEndpoint: f.str('receive.local-endpoint'),
    hashringsFile: f.str('receive.hashrings-file'),
    hashringsContent: f.str('receive.hashrings'),
    hashringsAlgorithm: algorithm,
    hashringsRefreshMs: f.duration('receive.hashrings-file-refresh-interval'),
    replicaHeader: f.str('receive.replica-header'),
    forwardTimeoutMs: f.duration('receive-forward-timeout'),
    forwardMaxBackoffMs: f.duration('receive-forward-max-backoff'),
    // Thanos's own names for the same settings as --grpc-client-* and --grpc-server-tls-*.
    remoteWriteClient: grpcClientConfigFromFlags(f, 'remote-write.client-', 'receive.grpc-compression'),
    remoteWriteServerTLS: grpcServerTLSFromFlags(f, 'remote-write.server-', 'remote write server'),
    tooFarInFutureMs: f.duration('tsdb.too-far-in-future.time-window'),
    outOfOrderTimeWindowMs: f.duration('tsdb.out-of-order.time-window'),
    outOfOrderCapMax: outOfOrderCapMax(f),
    limits: limitsFromFlags(f),
    haTracker: haTrackerFromFlags(f),
    bucket,
    logger,
  };
}

/** The limits configuration, or a null source when neither flag is set. */
function limitsFromFlags(f: FlagValues): ReceiveConfig['limits'] {
  const { source, reloadIntervalMs } = limitsConfigFromFlags(f);
  const given = f.str('receive.limits-config-file') !== '' || f.str('receive.limits-config') !== '';
  return { source: given ? source : null, reloadIntervalMs };
}

/** --receive.ha-tracker and its settings, checked; undefined when off. */
function haTrackerFromFlags(f: FlagValues): ReceiveConfig['haTracker'] {
  if (!f.bool('receive.ha-tracker')) return undefined;
  const clusterLabel = f.str('receive.ha-tracker.cluster-label');
  const replicaLabel = f.str('receive.ha-tracker.replica-label');
  for (const [flag, v] of [['cluster-label', clusterLabel], ['replica-label', replicaLabel]]) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(v)) throw new UserError(`--receive.ha-tracker.${flag}: invalid label name "${v}"`);
  }
  if (clusterLabel === replicaLabel) throw new UserError('--receive.ha-tracker.cluster-label and --receive.ha-tracker.replica-label must differ');
  const failoverTimeoutMs = f.duration('receive.ha-tracker.failover-timeout');
  if (failoverTimeoutMs <= 0) throw new UserError('--receive.ha-tracker.failover-timeout: must be positive');
  return { clusterLabel, replicaLabel, failoverTimeoutMs };
}

/** --tsdb.out-of-order.cap-max: <= 0 is Prometheus's default 32; at most 255 (a chunk's sample count byte). */
function outOfOrderCapMax(f: FlagValues): number {
  const n = f.int('tsdb.out-of-order.cap-max');
  if (n <= 0) return 32;
  if (n > 255) throw new UserError('--tsdb.out-of-order.cap-max: must be at most 255');
  return n;
}
