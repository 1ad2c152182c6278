// @thanos-ts/storeapi: the Thanos StoreAPI and Info API over gRPC, Prometheus remote
// read/write codecs, and the helpers every component speaking StoreAPI needs.
export * from './proto.js';
export * from './errors.js';
export * from './convert.js';
export * from './server.js';
export * from './h2-server.js';
export * from './apis.js';
export * from './client.js';
export * from './health.js';
export * from './merge.js';
export * from './selector.js';
export * from './snappy.js';
export * from './snappy-stream.js';
export * from './compression.js';
export * from './tls.js';
export * from './remote-read.js';
export * from './debug-client.js';
export * from './testing.js';
export * from './external-labels.js';
export * from './store-matching.js';
export * from './proxy.js';
export * from './local-endpoint.js';
export * from './tsdb-store.js';
export * from './writeable.js';
