// @thanos-ts/query-frontend: Thanos's query-frontend — splits, caches and retries
// Prometheus HTTP API range and label queries in front of a query.

export { QueryFrontend } from './frontend.js';
export type { QueryFrontendOptions } from './frontend.js';
export { QUERY_FRONTEND_FLAGS, queryFrontendConfigFromFlags } from './flags.js';
export { parseResponseCacheConfig } from './config.js';
export type { QueryFrontendConfig, ResponseCacheConfig, DownstreamTripperConfig } from './config.js';
