export { freePort } from './net.js';
export { tempDir, removeTempDir, removeTempDirs } from './temp-dir.js';
export { waitFor, errorMessage } from './wait-for.js';
export { rng } from './random.js';
export type { WaitForOptions, Truthy } from './wait-for.js';
export { findBinary, LogBuffer } from './process.js';
export { startPrometheus } from './prometheus.js';
export type { PrometheusOptions, PrometheusInstance } from './prometheus.js';
export { promtool, createBlocksFromOpenMetrics, dumpBlocks, analyzeBlock, listBlocks } from './promtool.js';
export type {
  PromtoolResult,
  PromtoolOptions,
  CreateBlocksOptions,
  DumpOptions,
  BlockAnalysis,
  ListedBlock,
} from './promtool.js';
export { parseDump, parseGoG, unquoteGo } from './dump.js';
export type { DumpLabel, DumpedSample, DumpedSeries } from './dump.js';
export { startS3Server } from './s3.js';
export type { ObjstoreYamlOptions, S3Server, S3ServerOptions } from './s3.js';
export { startExporter, OPENMETRICS_CONTENT_TYPE } from './exporter.js';
export type { Exporter, ExporterOptions } from './exporter.js';
export { wrapMethods } from './wrap.js';
export { startAzurite } from './azurite.js';
export type { AzuriteObjstoreYamlOptions, AzuriteOptions, AzuriteServer } from './azurite.js';
export { makeTestCerts } from './tls-certs.js';
export type { TestCerts } from './tls-certs.js';
export { startAlertmanager, startWebhook } from './alertmanager.js';
export type { AlertmanagerInstance, AlertmanagerOptions, Webhook, WebhookAlert, WebhookNotification } from './alertmanager.js';
export { startMemcached } from './memcached.js';
export type { MemcachedInstance, MemcachedOptions } from './memcached.js';
