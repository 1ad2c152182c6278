// @thanos-ts/query: the data path of the query component. Endpoints discovered and
// health-checked (EndpointSet), the StoreAPI proxy over them (ProxyStore, from
// @thanos-ts/storeapi; also served over gRPC), query-time deduplication of replicas
// (dedup/, over tsdb's dedup iterators), and the tsdb Queryable the PromQL engine reads
// through (StoreQueryable).
export { EndpointSet, EndpointRef, UNKNOWN_STORE_API, formatGoTime, marshalStoresView } from './endpointset.js';
export type { EndpointSetOptions, EndpointSpec, EndpointStatus, EndpointStatusJSON } from './endpointset.js';
export {
  Aggr,
  aggrsFromFunc,
  maxResolutionForSelect,
  chunksIterator,
  ChunkSeriesIterator,
  AverageIterator,
  BoundedIterator,
  StoreChunkSeries,
} from './chunk-series.js';
export type { ChunkOpener } from './chunk-series.js';
export { dedupSeriesSet, DedupSeries } from './dedup/series-set.js';
export type { DedupOptions } from './dedup/series-set.js';
export { StoreQueryable, StoreQuerier } from './querier.js';
export type { StoreQueryableOptions, SeriesProxy } from './querier.js';
export { Query } from './query.js';
export type { QueryConfig } from './query.js';
export { QUERY_FLAGS, queryConfigFromFlags, queryFlagsMap, parseReplicaLabels } from './flags.js';
export type { QueryFlagSpec } from './flags.js';
export { QueryAPI, unescapeName } from './api/query-api.js';
export type { QueryAPIOptions } from './api/query-api.js';
export { ApiError, ErrorType, apiErrorOf, statusCodeOf } from './api/errors.js';
export { formatSampleValue, formatTimestamp, jsonString, labelsJSON, queryDataParts } from './api/json.js';
export { parseTime, parseDuration, parseBool, API_MIN_TIME, API_MAX_TIME } from './api/params.js';
