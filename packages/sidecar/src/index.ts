export { Sidecar } from './sidecar.js';
export type { SidecarConfig } from './sidecar.js';
export { PromClient } from './promclient.js';
export { PrometheusStore } from './prometheus-store.js';
export type { EncodedSeriesSink, PrometheusStoreOptions } from './prometheus-store.js';
export type { RawChunkedSeries } from './chunked-series.js';
export { matchExternalLabels, withExternalLabels, PrefixRunSorter } from '@thanos-ts/storeapi';
export { PrometheusAPIs, ruleGroupsFromPrometheus, targetsFromPrometheus, metadataFromPrometheus, exemplarsFromPrometheus } from './prometheus-apis.js';
export type { PrometheusAPIsOptions } from './prometheus-apis.js';
