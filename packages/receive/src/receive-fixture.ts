// A ReceiveConfig for tests: every address on loopback port 0, no bucket, defaults as the flags have them.

import { nopLogger } from '@thanos-ts/runtime';
import type { ReceiveConfig } from './receive.js';

/** The config of a test receiver over `dataDir`. */
export function config(dataDir: string): ReceiveConfig {
  return {
    grpcAddress: '127.0.0.1:0',
    grpcGracePeriodMs: 1000,
    httpAddress: '127.0.0.1:0',
    remoteWriteAddress: '127.0.0.1:0',
    dataDir,
    externalLabels: [{ name: 'cluster', value: 'eu1' }],
    retentionMs: 0,
    blockDurationMs: 2 * 3600_000,
    walCompression: true,
    tenantHeader: 'THANOS-TENANT',
    defaultTenant: 'default-tenant',
    tenantLabelName: 'tenant_id',
    maxRequestBytes: 1 << 20,
    requestReadTimeoutMs: 5000,
    shipIntervalMs: 30_000,
    replicationFactor: 1,
    localEndpoint: '',
    hashringsFile: '',
    hashringsContent: '',
    hashringsAlgorithm: 'hashmod',
    hashringsRefreshMs: 300_000,
    replicaHeader: 'THANOS-REPLICA',
    forwardTimeoutMs: 5000,
    forwardMaxBackoffMs: 5000,
    remoteWriteClient: { compression: 'snappy' },
    tooFarInFutureMs: 0,
    bucket: null,
    logger: nopLogger(),
  };
}

