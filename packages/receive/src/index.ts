// @thanos-ts/receive: the receiver (remote write into a TSDB per tenant, served over StoreAPI).
export { Receive, RECEIVE_PATH } from './receive.js';
export type { ReceiveConfig } from './receive.js';
export { RECEIVE_FLAGS, receiveConfigFromFlags } from './flags.js';
export { MultiTSDB, isValidTenant } from './multitsdb.js';
export type { MultiTSDBOptions, Tenant } from './multitsdb.js';
export { ReceiveHandler } from './handler.js';
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
  xxhash64,
} from './hashring.js';
export type { Endpoint, Hashring, HashringConfig } from './hashring.js';
