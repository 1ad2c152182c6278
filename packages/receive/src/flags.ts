// The receiver's flags as Thanos spells them (cmd/thanos/receive.go), those of this
// single-node slice, and their translation into a ReceiveConfig. The CLI registers
// RECEIVE_FLAGS plus the objstore flags and hands the values to receiveConfigFromFlags.

import { FlagValues, GRPC_SERVER_TLS_FLAGS, grpcServerTLSFromFlags, HTTP_CONFIG_FLAGS, httpConfigFileFromFlags, UserError } from '@thanos-ts/runtime';
import type { FlagSpec, Logger } from '@thanos-ts/runtime';
import type { Bucket } from '@thanos-ts/objstore';
import type { Labels } from '@thanos-ts/tsdb';
import { parseFlagLabels } from '@thanos-ts/storeapi';
import type { ReceiveConfig } from './receive.js';

export const RECEIVE_FLAGS: readonly FlagSpec[] = [
  { name: 'grpc-address', kind: 'string', default: '0.0.0.0:10901', placeholder: '<host:port>', help: 'Listen ip:port address for gRPC endpoints (StoreAPI). Make sure this address is routable from other components.' },
  { name: 'grpc-grace-period', kind: 'string', default: '2m', placeholder: '<duration>', help: 'Time to wait after an interrupt received for GRPC Server.' },
  ...GRPC_SERVER_TLS_FLAGS,
  { name: 'http-address', kind: 'string', default: '0.0.0.0:10902', placeholder: '<host:port>', help: 'Listen host:port for HTTP endpoints.' },
  ...HTTP_CONFIG_FLAGS,
  { name: 'http-grace-period', kind: 'string', default: '2m', placeholder: '<duration>', help: 'Accepted for compatibility with Thanos and ignored: the HTTP servers stop right after the gRPC server.' },
  { name: 'remote-write.address', kind: 'string', default: '0.0.0.0:19291', placeholder: '<address>', help: 'Address to listen on for remote write requests.' },
  { name: 'tsdb.path', kind: 'string', default: './data', placeholder: '<path>', help: 'Data directory of TSDB.' },
  { name: 'label', kind: 'strings', placeholder: '<key>="<value>"', help: 'External labels to announce. This flag will be removed in the future when handling multiple tsdb instances is added.' },
  { name: 'tsdb.retention', kind: 'string', default: '15d', placeholder: '<duration>', help: 'How long to retain raw samples on local storage. 0d - disables the retention policy (i.e. infinite retention). For more details on how retention is enforced for individual tenants, please refer to the Tenant lifecycle management section in the Receive documentation: https://thanos.io/tip/components/receive.md/#tenant-lifecycle-management' },
  { name: 'tsdb.block-duration', kind: 'string', default: '', placeholder: '<duration>', help: 'thanos-ts: duration of the blocks cut from the head (default: --tsdb.min-block-duration, 2h). Blocks are cut once the head spans 1.5 times this.' },
  { name: 'tsdb.min-block-duration', kind: 'string', default: '2h', placeholder: '<duration>', hidden: true, help: 'Min duration for local TSDB blocks.' },
  { name: 'tsdb.max-block-duration', kind: 'string', default: '2h', placeholder: '<duration>', hidden: true, help: 'Max duration for local TSDB blocks. thanos-ts does not compact local blocks: ignored.' },
  { name: 'tsdb.wal-compression', kind: 'bool', default: true, help: 'Compress the tsdb WAL.' },
  { name: 'tsdb.no-lockfile', kind: 'bool', default: false, help: 'Do not create lockfile in TSDB data directory. In any case, the lockfiles will be deleted on next startup. thanos-ts writes no lockfile: accepted and ignored.' },
  { name: 'tsdb.max-exemplars', kind: 'string', default: '0', placeholder: '<n>', help: 'Enables support for ingesting exemplars and sets the maximum number of exemplars that will be stored per tenant. thanos-ts stores no exemplars yet: received exemplars are counted in thanos_receive_exemplars_dropped_total and dropped.' },
  { name: 'receive.tenant-header', kind: 'string', default: 'THANOS-TENANT', placeholder: '<header>', help: 'HTTP header to determine tenant for write requests.' },
  { name: 'receive.default-tenant-id', kind: 'string', default: 'default-tenant', placeholder: '<id>', help: 'Default tenant ID to use when none is provided via a header.' },
  { name: 'receive.tenant-label-name', kind: 'string', default: 'tenant_id', placeholder: '<name>', help: 'Label name through which the tenant will be announced.' },
  { name: 'receive.replication-factor', kind: 'string', default: '1', placeholder: '<n>', help: 'How many times to replicate incoming write requests. thanos-ts receives on a single node so far: only 1 is accepted.' },
  { name: 'receive.max-request-size', kind: 'string', default: '32MiB', placeholder: '<size>', hidden: true, help: 'thanos-ts: largest remote write body accepted, compressed and decompressed; larger ones get 413.' },
  { name: 'receive.request-read-timeout', kind: 'string', default: '1m', placeholder: '<duration>', hidden: true, help: 'thanos-ts: time allowed to read a remote write body; a slower client gets 408.' },
  { name: 'shipper.sync-interval', kind: 'string', default: '30s', placeholder: '<duration>', hidden: true, help: 'thanos-ts: how often the tenants\' TSDB directories are scanned for blocks to upload.' },
];

/** The ReceiveConfig for parsed flag values (the bucket, if any, is opened by the caller). */
export function receiveConfigFromFlags(values: Record<string, unknown>, bucket: Bucket | null, logger: Logger): ReceiveConfig {
  const f = new FlagValues(values, RECEIVE_FLAGS);
  const rf = f.int('receive.replication-factor');
  if (rf !== 1) throw new UserError('--receive.replication-factor: thanos-ts receives on a single node so far; only 1 is supported');
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
    externalLabels: parseFlagLabels(f.strs('label'), 'label'),
    retentionMs: f.duration('tsdb.retention'),
    blockDurationMs: blockDuration,
    walCompression: f.bool('tsdb.wal-compression'),
    tenantHeader: f.str('receive.tenant-header'),
    defaultTenant: f.str('receive.default-tenant-id'),
    tenantLabelName,
    maxRequestBytes: f.bytes('receive.max-request-size'),
    requestReadTimeoutMs: f.duration('receive.request-read-timeout'),
    shipIntervalMs: f.duration('shipper.sync-interval'),
    bucket,
    logger,
  };
}
