// The store gateway's flags as Thanos spells them (cmd/thanos/store.go) and their
// translation into a StoreConfig. The CLI registers STORE_FLAGS (plus the objstore
// flags it shares with other components) and hands the values to storeConfigFromFlags.

import { FlagValues, GRPC_SERVER_TLS_FLAGS, grpcServerTLSFromFlags, HTTP_CONFIG_FLAGS, httpConfigFileFromFlags, pathOrContent, UserError } from '@thanos-ts/runtime';
import type { FlagSpec, Logger } from '@thanos-ts/runtime';
import type { Bucket } from '@thanos-ts/objstore';
import { parseCachingBucketConfig } from './caching-bucket.js';
import { parseIndexCacheConfig } from './index-cache.js';
import type { IndexCacheConfig } from './index-cache.js';
import type { StoreConfig } from './store.js';

export const STORE_FLAGS: readonly FlagSpec[] = [
  { name: 'grpc-address', kind: 'string', default: '0.0.0.0:10901', placeholder: '<host:port>', help: 'Listen ip:port address for gRPC endpoints (StoreAPI). Make sure this address is routable from other components.' },
  { name: 'grpc-grace-period', kind: 'string', default: '2m', placeholder: '<duration>', help: 'Time to wait after an interrupt received for GRPC Server.' },
  ...GRPC_SERVER_TLS_FLAGS,
  { name: 'http-address', kind: 'string', default: '0.0.0.0:10902', placeholder: '<host:port>', help: 'Listen host:port for HTTP endpoints.' },
  ...HTTP_CONFIG_FLAGS,
  { name: 'http-grace-period', kind: 'string', default: '2m', placeholder: '<duration>', help: 'Accepted for compatibility with Thanos and ignored: the HTTP server stops right after the gRPC server.' },
  { name: 'data-dir', kind: 'string', default: './data', placeholder: '<dir>', help: 'Local data directory used for caching purposes (index-header, in-mem cache items and meta.jsons). If removed, no data will be lost, just store will have to rebuild the cache.' },
  { name: 'cache-index-header', kind: 'bool', default: true, help: 'Accepted for compatibility with Thanos and ignored: thanos-ts always caches index-headers on disk under --data-dir.' },
  { name: 'index-cache-size', kind: 'string', default: '250MB', placeholder: '<size>', help: 'Maximum size of items held in the in-memory index cache. Ignored if --index-cache.config or --index-cache.config-file option is specified, except with type MEMCACHED, where it sizes the in-memory cache kept in front of memcached.' },
  { name: 'index-cache.config-file', kind: 'string', placeholder: '<file-path>', help: 'Path to YAML file that contains index cache configuration (type IN-MEMORY or MEMCACHED). See format details: https://thanos.io/tip/components/store.md/#index-cache' },
  { name: 'index-cache.config', kind: 'string', placeholder: '<content>', help: "Alternative to 'index-cache.config-file' flag (mutually exclusive). Content of YAML file that contains index cache configuration." },
  { name: 'store.caching-bucket.config-file', kind: 'string', placeholder: '<file-path>', help: 'Path to YAML file that contains configuration for caching bucket (type IN-MEMORY or MEMCACHED). See format details: https://thanos.io/tip/components/store.md/#caching-bucket' },
  { name: 'store.caching-bucket.config', kind: 'string', placeholder: '<content>', help: "Alternative to 'store.caching-bucket.config-file' flag (mutually exclusive). Content of YAML file that contains configuration for caching bucket. See format details: https://thanos.io/tip/components/store.md/#caching-bucket" },
  { name: 'chunk-pool-size', kind: 'string', default: '2GB', placeholder: '<size>', help: 'Maximum size of concurrently allocatable bytes reserved strictly to reuse for chunks in memory.' },
  { name: 'store.grpc.touched-series-limit', kind: 'string', default: '0', placeholder: '<n>', help: 'DEPRECATED: use store.limits.request-series.' },
  { name: 'store.grpc.series-sample-limit', kind: 'string', default: '0', placeholder: '<n>', help: 'DEPRECATED: use store.limits.request-samples.' },
  { name: 'store.limits.request-series', kind: 'string', default: '0', placeholder: '<n>', help: 'The maximum series allowed for a single Series request. The Series call fails if this limit is exceeded. 0 means no limit.' },
  { name: 'store.limits.request-samples', kind: 'string', default: '0', placeholder: '<n>', help: "The maximum samples allowed for a single Series request, The Series call fails if this limit is exceeded. 0 means no limit. NOTE: For efficiency the limit is internally implemented as 'chunks limit' considering each chunk contains a maximum of 120 samples." },
  { name: 'store.grpc.series-max-concurrency', kind: 'string', default: '20', placeholder: '<n>', help: 'Maximum number of concurrent Series calls.' },
  { name: 'sync-block-duration', kind: 'string', default: '15m', placeholder: '<duration>', help: 'Repeat interval for syncing the blocks between local and remote view.' },
  { name: 'block-sync-concurrency', kind: 'string', default: '20', placeholder: '<n>', help: 'Number of blocks whose index-headers are built or loaded at once during a sync. Must be equal or greater than 1.' },
  { name: 'block-meta-fetch-concurrency', kind: 'string', default: '32', placeholder: '<n>', help: 'Number of meta.json files fetched from object storage at once.' },
  { name: 'min-time', kind: 'string', default: '0000-01-01T00:00:00Z', placeholder: '<time>', help: 'Start of time range limit to serve. Thanos Store will serve only metrics, which happened later than this value. Option can be a constant time in RFC3339 format or time duration relative to current time, such as -1d or 2h45m. Valid duration units are ms, s, m, h, d, w, y.' },
  { name: 'max-time', kind: 'string', default: '9999-12-31T23:59:59Z', placeholder: '<time>', help: 'End of time range limit to serve. Thanos Store will serve only blocks, which happened earlier than this value. Option can be a constant time in RFC3339 format or time duration relative to current time, such as -1d or 2h45m. Valid duration units are ms, s, m, h, d, w, y.' },
  { name: 'selector.relabel-config-file', kind: 'string', placeholder: '<file-path>', help: 'Path to YAML file with relabeling configuration that allows selecting blocks. It follows native Prometheus relabel-config syntax. See format details: https://prometheus.io/docs/prometheus/latest/configuration/configuration/#relabel_config' },
  { name: 'selector.relabel-config', kind: 'string', placeholder: '<content>', help: "Alternative to 'selector.relabel-config-file' flag (mutually exclusive). Content of YAML file with relabeling configuration that allows selecting blocks." },
  { name: 'consistency-delay', kind: 'string', default: '0s', placeholder: '<duration>', help: 'Minimum age of all blocks before they are being read. Set it to safe value (e.g 30m) if your object storage is eventually consistent. GCS and S3 are (roughly) strongly consistent.' },
  { name: 'ignore-deletion-marks-delay', kind: 'string', default: '24h', placeholder: '<duration>', help: 'Duration after which the blocks marked for deletion will be filtered out while fetching blocks. The idea of ignore-deletion-marks-delay is to ignore blocks that are marked for deletion with some delay. This ensures store can still serve blocks that are meant to be deleted but do not have a replacement yet. Default is 24h, half of the default value for --delete-delay on compactor.' },
  { name: 'store.index-header-posting-offsets-in-mem-sampling', kind: 'string', default: '32', placeholder: '<n>', hidden: true, help: 'Controls what is the ratio of postings offsets store will hold in memory. Larger value will keep less offsets, which will increase CPU cycles needed for query touching those postings.' },
  { name: 'store.enable-index-header-lazy-reader', kind: 'bool', default: false, help: 'If true, Store Gateway will lazy memory map index-header only once the block is required by a query. (thanos-ts reads it into memory then, and unloads it after the idle timeout; without the flag, every index-header is read at sync and kept.)' },
  { name: 'store.index-header-lazy-reader-idle-timeout', kind: 'string', default: '5m', placeholder: '<duration>', help: "If index-header lazy reader is enabled and this idle timeout setting is > 0, index-headers held in memory will be automatically released after 'idle timeout' inactivity." },
  { name: 'store.index-header-max-loaded-bytes', kind: 'string', default: '0', placeholder: '<size>', help: 'thanos-ts only: most bytes of index-headers held in memory at once; loading another unloads the least recently used ones not in use. 0 means no cap (idle ones are still unloaded after the idle timeout).' },
  { name: 'debug.series-batch-size', kind: 'string', default: '10000', placeholder: '<n>', hidden: true, help: 'The batch size when fetching series from TSDB blocks.' },
  { name: 'web.disable', kind: 'bool', default: false, help: 'Disable Block Viewer UI.' },
  { name: 'web.route-prefix', kind: 'string', default: '', placeholder: '<prefix>', help: 'Prefix for API and UI endpoints.' },
  { name: 'web.external-prefix', kind: 'string', default: '', placeholder: '<prefix>', help: 'Static prefix for all HTML links and redirect URLs in the bucket web UI interface. Actual endpoints are still served on / or the web.route-prefix. This allows thanos bucket web UI to be served behind a reverse proxy that strips a URL sub-path.' },
];

/** The StoreConfig for parsed flag values (the bucket is opened by the caller). */
export function storeConfigFromFlags(values: Record<string, unknown>, bkt: Bucket, logger: Logger): StoreConfig {
  const f = new FlagValues(values, STORE_FLAGS);
  const cacheText = pathOrContent(f, 'index-cache.config');
  let indexCache: IndexCacheConfig;
  if (cacheText.trim() !== '') {
    indexCache = parseIndexCacheConfig(cacheText, f.has('index-cache.config-file') ? f.str('index-cache.config-file') : '--index-cache.config', f.bytes('index-cache-size'));
  } else indexCache = { maxSizeBytes: f.bytes('index-cache-size'), maxItemSizeBytes: Math.floor(f.bytes('index-cache-size') / 2), enabledItems: [] };
  const cbText = pathOrContent(f, 'store.caching-bucket.config');
  const cachingBucket =
    cbText.trim() === ''
      ? undefined
      : parseCachingBucketConfig(cbText, f.has('store.caching-bucket.config-file') ? f.str('store.caching-bucket.config-file') : '--store.caching-bucket.config');
  const minTime = f.time('min-time');
  const maxTime = f.time('max-time');
  if (minTime > maxTime) throw new UserError(`invalid argument: --min-time '${f.str('min-time')}' can't be greater than --max-time '${f.str('max-time')}'`);
  const blockSyncConcurrency = f.int('block-sync-concurrency');
  if (blockSyncConcurrency < 1) throw new UserError('--block-sync-concurrency: must be equal or greater than 1');
  const maxConcurrency = f.int('store.grpc.series-max-concurrency');
  if (maxConcurrency < 1) throw new UserError('--store.grpc.series-max-concurrency: must be at least 1');
  const samplesLimit = f.int('store.limits.request-samples') || f.int('store.grpc.series-sample-limit');
  const seriesLimit = f.int('store.limits.request-series') || f.int('store.grpc.touched-series-limit');
  const routePrefix = f.str('web.route-prefix') || f.str('web.external-prefix');
  return {
    bkt,
    grpcAddress: f.str('grpc-address'),
    grpcGracePeriodMs: f.duration('grpc-grace-period'),
    grpcServerTLS: grpcServerTLSFromFlags(f),
    httpAddress: f.str('http-address'),
    httpConfigFile: httpConfigFileFromFlags(f),
    webRoutePrefix: routePrefix === '/' ? '' : routePrefix.replace(/\/+$/, ''),
    webDisable: f.bool('web.disable'),
    dataDir: f.str('data-dir'),
    indexCache,
    cachingBucket,
    chunkPoolBytes: f.bytes('chunk-pool-size'),
    seriesLimit,
    samplesLimit,
    maxConcurrency,
    syncIntervalMs: f.duration('sync-block-duration'),
    blockSyncConcurrency,
    metaFetchConcurrency: Math.max(1, f.int('block-meta-fetch-concurrency')),
    minTime,
    maxTime,
    relabelConfig: pathOrContent(f, 'selector.relabel-config'),
    consistencyDelayMs: f.duration('consistency-delay'),
    ignoreDeletionMarksDelayMs: f.duration('ignore-deletion-marks-delay'),
    postingOffsetsInMemSampling: Math.max(1, f.int('store.index-header-posting-offsets-in-mem-sampling')),
    lazyIndexHeaders: f.bool('store.enable-index-header-lazy-reader'),
    indexHeaderIdleTimeoutMs: f.bool('store.enable-index-header-lazy-reader') ? f.duration('store.index-header-lazy-reader-idle-timeout') : 0,
    indexHeaderMaxLoadedBytes: f.bytes('store.index-header-max-loaded-bytes'),
    seriesBatchSize: Math.max(1, f.int('debug.series-batch-size')),
    logger,
  };
}
