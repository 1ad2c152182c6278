// @thanos-ts/receive: the receiver (remote write into a TSDB per tenant, served over StoreAPI).
export { Receive, RECEIVE_PATH } from './receive.js';
export type { ReceiveConfig } from './receive.js';
export { RECEIVE_FLAGS, receiveConfigFromFlags } from './flags.js';
export { MultiTSDB, isValidTenant } from './multitsdb.js';
export type { MultiTSDBOptions, Tenant } from './multitsdb.js';
export { ReceiveHandler, statusOf } from './handler.js';
export type { HandlerOptions } from './handler.js';
export { Writer, WriteConflictError, validateSeriesLabels, ERR_DUPLICATE_LABELS, ERR_EMPTY_LABELS, ERR_OUT_OF_ORDER_LABELS } from './writer.js';
export type { TenantAppendable, WriteStats } from './writer.js';
// The hashring (Thanos's hashmod and ketama, the hashrings file): routing and
// replication are wired into the handler next.
export {
  hashLabels,
  loadHashringsConfig,
  newHashring,
  newMultiHashring,
  parseHashringsConfig,
  SingleNodeHashring,
  InsufficientNodesError,
  NoMatchingHashringError,
} from './hashring.js';
export type { Endpoint, Hashring, HashringConfig } from './hashring.js';
export { Router } from './router.js';
export type { RouterOptions, TenantSeries } from './router.js';
export { HashringSource } from './hashring-source.js';
export type { HashringSourceOptions } from './hashring-source.js';
export { ReceiveWriteError } from './write-errors.js';
export type { WriteCause } from './write-errors.js';
export { decodeWriteRequestV2, determineRemoteWriteVersion, remoteWriteV2ResponseHeaders, RemoteWriteDecodeError, RemoteWriteVersionError } from './remote-write.js';
export type { RemoteWriteVersion, TranslatedWriteRequest, WriteResponseStats } from './remote-write.js';
export { HATracker, RingHATracker, findHALabels, stripReplicaLabel, DEFAULT_HA_CLUSTER_LABEL, DEFAULT_HA_REPLICA_LABEL, DEFAULT_HA_FAILOVER_TIMEOUT_MS } from './ha-tracker.js';
export type { HADecision, HARingDecision, HATrackerOptions, RingHATrackerOptions } from './ha-tracker.js';
export { addHATrackerService, HATrackerClient, HATrackerClientPool, HATrackerRPCError } from './ha-tracker-rpc.js';
export { WriteLimiter, WriteLimitError, LIMITS_FLAGS, limitsConfigContent, limitsConfigFromFlags, parseRootLimitsConfig } from './limits.js';
export type { RootLimitsConfig, LimitsConfigContent } from './limits.js';
