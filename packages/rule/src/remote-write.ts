// The ruler's stateless mode (Thanos cmd/thanos/rule.go with --remote-write.config):
// recording-rule results and ALERTS/ALERTS_FOR_STATE leave by Prometheus remote write
// instead of landing in a local TSDB.
//
//   parseRemoteWriteConfig   the `remote_write:` section of a Prometheus config
//                            (config.RemoteWriteConfig with common's HTTPClientConfig)
//   RemoteWriteAppendable    what the rule manager appends to (Thanos: the agent DB plus
//                            remote.Storage); a commit hands samples to one QueueManager
//                            per remote_write entry
//   QueueManager / Shard     storage/remote/queue_manager.go in small: bounded per-shard
//                            queues, batches of max_samples_per_send or whatever is
//                            pending after batch_send_deadline, v1 WriteRequests,
//                            snappy, retries with exponential backoff
//
// Unlike Prometheus and Thanos there is no WAL behind the queues: samples not sent when
// the process dies are lost, and a full queue drops (and counts) instead of blocking
// rule evaluation.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Appendable, ForStateSource } from '@thanos-ts/rules';
import { nopLogger, parsePromDuration, VERSION } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { prometheus, snappyCompress } from '@thanos-ts/storeapi';
import { compareStrings, hashLabels, InvalidSampleError, labelsKey, mergeLabels, OutOfOrderSampleError, parseRelabelConfigs, relabel } from '@thanos-ts/tsdb';
import type { Appender, Label, Labels, RelabelConfig } from '@thanos-ts/tsdb';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';

// ---------------------------------------------------------------------------------------
// Configuration

export interface RemoteWriteBasicAuth {
  username: string;
  usernameFile: string;
  password: string;
  passwordFile: string;
}

/** `authorization`, with bearer_token(_file) folded in as common's Validate does. */
export interface RemoteWriteAuthorization {
  /** "Bearer" unless set. */
  type: string;
  credentials: string;
  credentialsFile: string;
}

export interface RemoteWriteTLSConfig {
  /** PEM inline (ca, cert, key) or in files; at most one of each pair. */
  ca: string;
  caFile: string;
  cert: string;
  certFile: string;
  key: string;
  keyFile: string;
  serverName: string;
  insecureSkipVerify: boolean;
  /** Node's names (TLSv1.2, …); '' = Node's default. */
  minVersion: string;
  maxVersion: string;
}

export interface RemoteWriteQueueConfig {
  /** Samples buffered per shard; more are dropped. */
  capacity: number;
  maxShards: number;
  /** Shards run: thanos-ts does not reshard dynamically, a ruler writes little. */
  minShards: number;
  maxSamplesPerSend: number;
  batchSendDeadlineMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  retryOnHTTP429: boolean;
  /** Samples older than this are dropped instead of sent; 0 = no limit. */
  sampleAgeLimitMs: number;
}

export interface RemoteWriteConfig {
  url: string;
  /** As configured, or the first 6 hex digits of the config's hash (Prometheus). */
  name: string;
  remoteTimeoutMs: number;
  headers: Record<string, string>;
  writeRelabelConfigs: RelabelConfig[];
  basicAuth: RemoteWriteBasicAuth | null;
  authorization: RemoteWriteAuthorization | null;
  tlsConfig: RemoteWriteTLSConfig;
  queueConfig: RemoteWriteQueueConfig;
  /** Only remote write 1.0 is spoken. */
  protobufMessage: 'prometheus.WriteRequest';
}

/** Prometheus 3.x defaults (config.DefaultQueueConfig), which Thanos's ruler uses. */
export const DEFAULT_REMOTE_WRITE_QUEUE_CONFIG: Readonly<RemoteWriteQueueConfig> = Object.freeze({
  capacity: 10_000,
  maxShards: 50,
  minShards: 1,
  maxSamplesPerSend: 2000,
  batchSendDeadlineMs: 5000,
  minBackoffMs: 30,
  maxBackoffMs: 5000,
  retryOnHTTP429: false,
  sampleAgeLimitMs: 0,
});
export const DEFAULT_REMOTE_TIMEOUT_MS = 30_000;

const WRITE_V1_MESSAGE = 'prometheus.WriteRequest';
const WRITE_V2_MESSAGE = 'io.prometheus.write.v2.Request';

export class RemoteWriteConfigError extends Error {
  override readonly name = 'RemoteWriteConfigError';
}

const ROOT_FIELDS = ['remote_write'];
const RW_FIELDS = [
  'url',
  'remote_timeout',
  'headers',
  'write_relabel_configs',
  'name',
  'send_exemplars',
  'send_native_histograms',
  'round_robin_dns',
  'protobuf_message',
  'failed_request_logging',
  'queue_config',
  'metadata_config',
  'sigv4',
  'azuread',
  'google_iam',
  // common's HTTPClientConfig, inlined.
  'basic_auth',
  'authorization',
  'oauth2',
  'bearer_token',
  'bearer_token_file',
  'tls_config',
  'follow_redirects',
  'enable_http2',
  'proxy_url',
  'no_proxy',
  'proxy_from_environment',
  'proxy_connect_header',
  'http_headers',
];
const BASIC_AUTH_FIELDS = ['username', 'username_file', 'username_ref', 'password', 'password_file', 'password_ref'];
const AUTHORIZATION_FIELDS = ['type', 'credentials', 'credentials_file', 'credentials_ref'];
const TLS_FIELDS = ['ca', 'cert', 'key', 'ca_file', 'cert_file', 'key_file', 'ca_ref', 'cert_ref', 'key_ref', 'server_name', 'insecure_skip_verify', 'min_version', 'max_version'];
const QUEUE_FIELDS = ['capacity', 'max_shards', 'min_shards', 'max_samples_per_send', 'batch_send_deadline', 'min_backoff', 'max_backoff', 'retry_on_http_429', 'sample_age_limit'];
const METADATA_FIELDS = ['send', 'send_interval', 'max_samples_per_send'];
/** Fields of other auth mechanisms and proxies: valid for Prometheus, not implemented here. */
const UNSUPPORTED_FIELDS = ['sigv4', 'azuread', 'google_iam', 'oauth2', 'proxy_url', 'no_proxy', 'proxy_connect_header', 'http_headers'];

/** config.reservedHeaders: set by the client itself. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-encoding',
  'content-length',
  'content-type',
  'user-agent',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'www-authenticate',
  'accept-encoding',
  'x-prometheus-remote-write-version',
  'x-prometheus-remote-read-version',
  'x-amz-date',
  'x-amz-security-token',
  'x-amz-content-sha256',
]);

const TLS_VERSIONS: Record<string, string> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };

/**
 * Parses --remote-write.config: a Prometheus config holding only `remote_write:`. Each
 * entry is checked as Prometheus's RemoteWriteConfig.UnmarshalYAML and common's
 * HTTPClientConfig.Validate check it; unknown fields are errors (Prometheus's strict
 * decoding; Thanos's own yaml.Unmarshal would ignore them). An empty document is none.
 *
 * @throws RemoteWriteConfigError
 */
export function parseRemoteWriteConfig(text: string): RemoteWriteConfig[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new RemoteWriteConfigError(`parse remote write config: ${(err as Error).message}`, { cause: err });
  }
  if (doc === null || doc === undefined) return [];
  const out: RemoteWriteConfig[] = [];
  try {
    const root = mapping(doc, 'config.Config');
    strict(root, ROOT_FIELDS, 'config.Config');
    const entries = list(root.remote_write, 'remote_write');
    const names = new Set<string>();
    const hashes = new Set<string>();
    entries.forEach((e, i) => {
      if (e === null || e === undefined) throw new RemoteWriteConfigError('empty or null remote write config section');
      let cfg: RemoteWriteConfig;
      try {
        cfg = decodeRemoteWrite(e);
      } catch (err) {
        if (err instanceof RemoteWriteConfigError) throw new RemoteWriteConfigError(`remote_write[${i}]: ${err.message}`, { cause: err });
        throw err;
      }
      if (cfg.name !== '') {
        if (names.has(cfg.name)) throw new RemoteWriteConfigError(`found multiple remote write configs with job name ${JSON.stringify(cfg.name)}`);
        names.add(cfg.name);
      }
      // WriteStorage.ApplyConfig: queues are keyed by the config's hash.
      const hash = createHash('md5').update(JSON.stringify(cfg)).digest('hex');
      if (hashes.has(hash)) throw new RemoteWriteConfigError(`duplicate remote write configs are not allowed, found duplicate for URL: ${cfg.url}`);
      hashes.add(hash);
      if (cfg.name === '') cfg.name = hash.slice(0, 6);
      out.push(cfg);
    });
  } catch (err) {
    if (err instanceof RemoteWriteConfigError) throw new RemoteWriteConfigError(`parse remote write config: ${err.message}`, { cause: err });
    throw err;
  }
  return out;
}

function decodeRemoteWrite(v: unknown): RemoteWriteConfig {
  const m = mapping(v, 'config.RemoteWriteConfig');
  strict(m, RW_FIELDS, 'config.RemoteWriteConfig');
  for (const f of UNSUPPORTED_FIELDS) {
    if (m[f] !== undefined && m[f] !== null && m[f] !== '') throw new RemoteWriteConfigError(`${f}: not supported by thanos-ts remote write`);
  }
  if (m.url === undefined || m.url === null || m.url === '') throw new RemoteWriteConfigError('url for remote_write is empty');
  const url = str(m.url, 'url');
  let u: URL;
  try {
    u = new URL(url);
  } catch (err) {
    throw new RemoteWriteConfigError(`url: parse ${JSON.stringify(url)}: invalid URL`, { cause: err });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RemoteWriteConfigError(`url: unsupported scheme ${JSON.stringify(u.protocol.slice(0, -1))} (want http or https)`);

  const protobufMessage = m.protobuf_message === undefined || m.protobuf_message === null ? WRITE_V1_MESSAGE : str(m.protobuf_message, 'protobuf_message');
  if (protobufMessage === WRITE_V2_MESSAGE) {
    throw new RemoteWriteConfigError(`invalid protobuf_message value: ${JSON.stringify(WRITE_V2_MESSAGE)} (remote write 2.0) is not supported by thanos-ts; use ${JSON.stringify(WRITE_V1_MESSAGE)}`);
  }
  if (protobufMessage !== WRITE_V1_MESSAGE) {
    throw new RemoteWriteConfigError(`invalid protobuf_message value: unknown type for remote write protobuf message ${protobufMessage}, supported: ${WRITE_V1_MESSAGE}, ${WRITE_V2_MESSAGE}`);
  }

  const headers: Record<string, string> = {};
  for (const [k, val] of Object.entries(mapping(m.headers, 'map[string]string'))) {
    if (k.toLowerCase() === 'authorization') throw new RemoteWriteConfigError('authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread or google_iam parameter');
    if (RESERVED_HEADERS.has(k.toLowerCase())) throw new RemoteWriteConfigError(`${k} is a reserved header. It must not be changed`);
    headers[k] = val === null ? '' : str(val, `headers.${k}`);
  }

  const rawRelabel = list(m.write_relabel_configs, 'write_relabel_configs');
  if (rawRelabel.some((r) => r === null || r === undefined)) throw new RemoteWriteConfigError('empty or null relabeling rule in remote write config');
  let writeRelabelConfigs: RelabelConfig[];
  try {
    writeRelabelConfigs = parseRelabelConfigs(rawRelabel, 'write_relabel_configs');
  } catch (err) {
    throw new RemoteWriteConfigError((err as Error).message, { cause: err });
  }

  // metadata_config: the ruler has no metric metadata to send; checked, then ignored.
  strict(mapping(m.metadata_config, 'config.MetadataConfig'), METADATA_FIELDS, 'config.MetadataConfig');
  for (const f of ['send_exemplars', 'send_native_histograms', 'round_robin_dns', 'failed_request_logging', 'follow_redirects', 'enable_http2', 'proxy_from_environment']) bool(m[f], f, false);

  const auth = decodeAuth(m);
  return {
    url,
    name: m.name === undefined || m.name === null ? '' : str(m.name, 'name'),
    remoteTimeoutMs: m.remote_timeout === undefined || m.remote_timeout === null ? DEFAULT_REMOTE_TIMEOUT_MS : duration(m.remote_timeout, 'remote_timeout'),
    headers,
    writeRelabelConfigs,
    ...auth,
    tlsConfig: decodeTLS(m.tls_config),
    queueConfig: decodeQueue(m.queue_config),
    protobufMessage: WRITE_V1_MESSAGE,
  };
}

/** common's HTTPClientConfig.Validate plus remote write's validateAuthConfigs. */
function decodeAuth(m: YamlMap): { basicAuth: RemoteWriteBasicAuth | null; authorization: RemoteWriteAuthorization | null } {
  let basicAuth: RemoteWriteBasicAuth | null = null;
  if (m.basic_auth !== undefined && m.basic_auth !== null) {
    const ba = mapping(m.basic_auth, 'config.BasicAuth');
    strict(ba, BASIC_AUTH_FIELDS, 'config.BasicAuth');
    if (optStr(ba.username_ref, '') !== '' || optStr(ba.password_ref, '') !== '') throw new RemoteWriteConfigError('basic_auth: username_ref and password_ref are not supported by thanos-ts');
    basicAuth = {
      username: optStr(ba.username, 'basic_auth.username'),
      usernameFile: optStr(ba.username_file, 'basic_auth.username_file'),
      password: optStr(ba.password, 'basic_auth.password'),
      passwordFile: optStr(ba.password_file, 'basic_auth.password_file'),
    };
  }
  let authorization: RemoteWriteAuthorization | null = null;
  if (m.authorization !== undefined && m.authorization !== null) {
    const a = mapping(m.authorization, 'config.Authorization');
    strict(a, AUTHORIZATION_FIELDS, 'config.Authorization');
    if (optStr(a.credentials_ref, '') !== '') throw new RemoteWriteConfigError('authorization: credentials_ref is not supported by thanos-ts');
    authorization = { type: optStr(a.type, 'authorization.type').trim(), credentials: optStr(a.credentials, 'authorization.credentials'), credentialsFile: optStr(a.credentials_file, 'authorization.credentials_file') };
  }
  const bearerToken = optStr(m.bearer_token, 'bearer_token');
  const bearerTokenFile = optStr(m.bearer_token_file, 'bearer_token_file');
  if (bearerToken !== '' && bearerTokenFile !== '') throw new RemoteWriteConfigError('at most one of bearer_token & bearer_token_file must be configured');
  if (basicAuth !== null && (bearerToken !== '' || bearerTokenFile !== '')) throw new RemoteWriteConfigError('at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured');
  if (basicAuth !== null && basicAuth.username !== '' && basicAuth.usernameFile !== '') throw new RemoteWriteConfigError('at most one of basic_auth username, username_file & username_ref must be configured');
  if (basicAuth !== null && basicAuth.password !== '' && basicAuth.passwordFile !== '') throw new RemoteWriteConfigError('at most one of basic_auth password, password_file & password_ref must be configured');
  if (authorization !== null) {
    if (bearerToken !== '' || bearerTokenFile !== '') throw new RemoteWriteConfigError('authorization is not compatible with bearer_token & bearer_token_file');
    if (authorization.credentials !== '' && authorization.credentialsFile !== '') throw new RemoteWriteConfigError('at most one of authorization credentials & credentials_file must be configured');
    if (authorization.type === '') authorization.type = 'Bearer';
    if (authorization.type.toLowerCase() === 'basic') throw new RemoteWriteConfigError('authorization type cannot be set to "basic", use "basic_auth" instead');
    if (basicAuth !== null) throw new RemoteWriteConfigError('at most one of basic_auth, oauth2 & authorization must be configured');
  } else if (bearerToken !== '' || bearerTokenFile !== '') {
    authorization = { type: 'Bearer', credentials: bearerToken, credentialsFile: bearerTokenFile };
  }
  return { basicAuth, authorization };
}

function decodeTLS(v: unknown): RemoteWriteTLSConfig {
  const t = mapping(v, 'config.TLSConfig');
  strict(t, TLS_FIELDS, 'config.TLSConfig');
  for (const f of ['ca_ref', 'cert_ref', 'key_ref']) if (optStr(t[f], f) !== '') throw new RemoteWriteConfigError(`tls_config.${f}: not supported by thanos-ts`);
  const version = (f: string): string => {
    const s = optStr(t[f], `tls_config.${f}`);
    if (s === '') return '';
    const node = TLS_VERSIONS[s];
    if (node === undefined) throw new RemoteWriteConfigError(`tls_config.${f}: unknown TLS version: ${s}`);
    return node;
  };
  const cfg: RemoteWriteTLSConfig = {
    ca: optStr(t.ca, 'tls_config.ca'),
    caFile: optStr(t.ca_file, 'tls_config.ca_file'),
    cert: optStr(t.cert, 'tls_config.cert'),
    certFile: optStr(t.cert_file, 'tls_config.cert_file'),
    key: optStr(t.key, 'tls_config.key'),
    keyFile: optStr(t.key_file, 'tls_config.key_file'),
    serverName: optStr(t.server_name, 'tls_config.server_name'),
    insecureSkipVerify: bool(t.insecure_skip_verify, 'tls_config.insecure_skip_verify', false),
    minVersion: version('min_version'),
    maxVersion: version('max_version'),
  };
  // common's TLSConfig.Validate.
  if (cfg.ca !== '' && cfg.caFile !== '') throw new RemoteWriteConfigError('at most one of ca, ca_file & ca_ref must be configured');
  if (cfg.cert !== '' && cfg.certFile !== '') throw new RemoteWriteConfigError('at most one of cert, cert_file & cert_ref must be configured');
  if (cfg.key !== '' && cfg.keyFile !== '') throw new RemoteWriteConfigError('at most one of key and key_file must be configured');
  const hasCert = cfg.cert !== '' || cfg.certFile !== '';
  const hasKey = cfg.key !== '' || cfg.keyFile !== '';
  if (hasCert && !hasKey) throw new RemoteWriteConfigError('exactly one of key or key_file must be configured when a client certificate is configured');
  if (hasKey && !hasCert) throw new RemoteWriteConfigError('exactly one of cert or cert_file must be configured when a client key is configured');
  return cfg;
}

function decodeQueue(v: unknown): RemoteWriteQueueConfig {
  const q = mapping(v, 'config.QueueConfig');
  strict(q, QUEUE_FIELDS, 'config.QueueConfig');
  const d = DEFAULT_REMOTE_WRITE_QUEUE_CONFIG;
  const cfg: RemoteWriteQueueConfig = {
    capacity: int(q.capacity, 'queue_config.capacity', d.capacity),
    maxShards: int(q.max_shards, 'queue_config.max_shards', d.maxShards),
    minShards: int(q.min_shards, 'queue_config.min_shards', d.minShards),
    maxSamplesPerSend: int(q.max_samples_per_send, 'queue_config.max_samples_per_send', d.maxSamplesPerSend),
    batchSendDeadlineMs: q.batch_send_deadline === undefined || q.batch_send_deadline === null ? d.batchSendDeadlineMs : duration(q.batch_send_deadline, 'queue_config.batch_send_deadline'),
    minBackoffMs: q.min_backoff === undefined || q.min_backoff === null ? d.minBackoffMs : duration(q.min_backoff, 'queue_config.min_backoff'),
    maxBackoffMs: q.max_backoff === undefined || q.max_backoff === null ? d.maxBackoffMs : duration(q.max_backoff, 'queue_config.max_backoff'),
    retryOnHTTP429: bool(q.retry_on_http_429, 'queue_config.retry_on_http_429', d.retryOnHTTP429),
    sampleAgeLimitMs: q.sample_age_limit === undefined || q.sample_age_limit === null ? d.sampleAgeLimitMs : duration(q.sample_age_limit, 'queue_config.sample_age_limit'),
  };
  // QueueConfig.Validate (Prometheus 3.x), plus a deadline a timer can run on.
  if (cfg.maxShards <= 0) throw new RemoteWriteConfigError('remote write queue max_shards must be positive');
  if (cfg.minShards <= 0) throw new RemoteWriteConfigError('remote write queue min_shards must be positive');
  if (cfg.minShards > cfg.maxShards) throw new RemoteWriteConfigError('remote write queue min_shards must not be greater than max_shards');
  if (cfg.maxSamplesPerSend <= 0) throw new RemoteWriteConfigError('remote write queue max_samples_per_send must be positive');
  if (cfg.capacity <= 0) throw new RemoteWriteConfigError('remote write queue capacity must be positive');
  if (cfg.maxBackoffMs < cfg.minBackoffMs) throw new RemoteWriteConfigError('remote write queue max_backoff must not be less than min_backoff');
  if (cfg.batchSendDeadlineMs <= 0) throw new RemoteWriteConfigError('remote write queue batch_send_deadline must be positive');
  return cfg;
}

// Strict decoding of YAML-parsed values, with yaml.v2's words where it matters.

type YamlMap = Record<string, unknown>;

function mapping(v: unknown, type: string): YamlMap {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new RemoteWriteConfigError(`cannot unmarshal ${JSON.stringify(v)} into ${type}`);
  return v as YamlMap;
}

function strict(m: YamlMap, allowed: readonly string[], type: string): void {
  for (const k of Object.keys(m)) {
    if (!allowed.includes(k)) throw new RemoteWriteConfigError(`field ${k} not found in type ${type}`);
  }
}

function list(v: unknown, field: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new RemoteWriteConfigError(`${field}: expected a list`);
  return v;
}

function str(v: unknown, field: string): string {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new RemoteWriteConfigError(`${field}: expected a string`);
}

function optStr(v: unknown, field: string): string {
  return v === undefined || v === null ? '' : str(v, field);
}

function bool(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'boolean') return v;
  throw new RemoteWriteConfigError(`${field}: cannot unmarshal ${JSON.stringify(v)} into bool`);
}

function int(v: unknown, field: string, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  throw new RemoteWriteConfigError(`${field}: cannot unmarshal ${JSON.stringify(v)} into int`);
}

function duration(v: unknown, field: string): number {
  try {
    return parsePromDuration(str(v, field));
  } catch (err) {
    throw new RemoteWriteConfigError(`${field}: ${(err as Error).message}`, { cause: err });
  }
}

// ---------------------------------------------------------------------------------------
// Metrics

/** prometheus_remote_storage_* as storage/remote/queue_manager.go names them. */
class QueueMetrics {
  readonly samplesTotal: Counter<Labelname>;
  readonly failedSamplesTotal: Counter<Labelname>;
  readonly retriedSamplesTotal: Counter<Labelname>;
  readonly droppedSamplesTotal: Counter<Labelname | 'reason'>;
  readonly pendingSamples: Gauge<Labelname>;
  readonly sentBatchDuration: Histogram<Labelname>;
  readonly sentBytesTotal: Counter<Labelname>;
  readonly highestSentTimestamp: Gauge<Labelname>;

  constructor(reg: Registry) {
    const labelNames = ['remote_name', 'url'] as const;
    const p = 'prometheus_remote_storage_';
    this.samplesTotal = metric(reg, `${p}samples_total`, (name) => new Counter({ name, help: 'Total number of samples sent to remote storage.', labelNames, registers: [reg] }));
    this.failedSamplesTotal = metric(reg, `${p}samples_failed_total`, (name) => new Counter({ name, help: 'Total number of samples which failed on send to remote storage, non-recoverable errors.', labelNames, registers: [reg] }));
    this.retriedSamplesTotal = metric(reg, `${p}samples_retried_total`, (name) => new Counter({ name, help: 'Total number of samples which failed on send to remote storage but were retried because the send error was recoverable.', labelNames, registers: [reg] }));
    this.droppedSamplesTotal = metric(reg, `${p}samples_dropped_total`, (name) => new Counter({ name, help: 'Total number of samples which were dropped after being read from the WAL before being sent via remote write, either via relabelling, due to being too old or unintentionally because of an unknown reference ID.', labelNames: [...labelNames, 'reason'], registers: [reg] }));
    this.pendingSamples = metric(reg, `${p}samples_pending`, (name) => new Gauge({ name, help: 'The number of samples pending in the queues shards to be sent to the remote storage.', labelNames, registers: [reg] }));
    this.sentBatchDuration = metric(reg, `${p}sent_batch_duration_seconds`, (name) => new Histogram({ name, help: 'Duration of send calls to the remote storage.', labelNames, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60, 120, 300], registers: [reg] }));
    this.sentBytesTotal = metric(reg, `${p}bytes_total`, (name) => new Counter({ name, help: 'The total number of bytes of data (not metadata) sent by the queue after compression.', labelNames, registers: [reg] }));
    this.highestSentTimestamp = metric(reg, `${p}queue_highest_sent_timestamp_seconds`, (name) => new Gauge({ name, help: 'Timestamp from a WAL sample, the highest timestamp successfully sent by this queue, in seconds since epoch.', labelNames, registers: [reg] }));
  }
}

type Labelname = 'remote_name' | 'url';

/** One instance per registry: a second appendable (a reload) reuses the first's metrics. */
function metric<M extends Counter<string> | Gauge<string> | Histogram<string>>(reg: Registry, name: string, make: (name: string) => M): M {
  return (reg.getSingleMetric(name) as M | undefined) ?? make(name);
}

// ---------------------------------------------------------------------------------------
// The appendable

/** A sample on its way: the series' labels as its queue sends them. */
export interface QueuedSample {
  labels: Labels;
  t: number;
  v: number;
}

interface MemSeries {
  ref: number;
  labels: Labels;
  /** Newest committed timestamp, ms. */
  lastT: number;
  /** Wall clock of the last commit touching it, for garbage collection. */
  lastSeen: number;
  /** Per queue: the labels sent (external labels, write relabelling), null when dropped. */
  sent: (Labels | null | undefined)[];
}

interface PendingSample {
  series: MemSeries;
  t: number;
  v: number;
}

export interface RemoteWriteAppendableOptions {
  configs: readonly RemoteWriteConfig[];
  /** Added to every series that lacks them (the ruler's --label), as Prometheus does. */
  externalLabels?: Labels;
  registry: Registry;
  logger?: Logger;
  /** How long stop() keeps sending what is queued (Thanos passes 1m). */
  flushDeadlineMs?: number;
  /** A series not written for this long is forgotten (only its out-of-order check is lost). */
  seriesTTLMs?: number;
}

export class RemoteWriteStoppedError extends Error {
  override readonly name = 'RemoteWriteStoppedError';
  constructor() {
    super('remote write storage is stopped');
  }
}

/**
 * The storage a stateless ruler appends to: series are kept only as far as needed to
 * refuse out-of-order samples (the agent DB's check); each commit hands its samples to
 * every remote_write entry's queue.
 */
export class RemoteWriteAppendable implements Appendable {
  private readonly queues: QueueManager[];
  private readonly series = new Map<string, MemSeries>();
  private readonly byRef = new Map<number, MemSeries>();
  private nextRef = 1;
  private lastGC = Date.now();
  private stopped = false;
  private readonly externalLabels: Labels;
  private readonly flushDeadlineMs: number;
  private readonly seriesTTLMs: number;
  private readonly samplesIn: Counter;

  constructor(opts: RemoteWriteAppendableOptions) {
    const logger = opts.logger ?? nopLogger();
    const metrics = new QueueMetrics(opts.registry);
    this.samplesIn = metric(opts.registry, 'prometheus_remote_storage_samples_in_total', (name) => new Counter({ name, help: 'Samples in to remote storage, compare to samples out for queue managers.', registers: [opts.registry] }));
    this.queues = opts.configs.map((c) => new QueueManager(c, metrics, logger.child({ remote_name: c.name, url: redactedURL(c.url) })));
    // mergeLabels wants both sides sorted.
    this.externalLabels = [...(opts.externalLabels ?? [])].sort((a, b) => compareStrings(a.name, b.name));
    this.flushDeadlineMs = opts.flushDeadlineMs ?? 60_000;
    this.seriesTTLMs = opts.seriesTTLMs ?? 2 * 3600_000;
  }

  /** Loads TLS material and starts the shards. */
  async start(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.start()));
  }

  /**
   * Sends what is queued, for at most the flush deadline; what is left then is dropped
   * (counted with reason "shutdown"). Commits fail afterwards.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.queues.map((q) => q.stop(this.flushDeadlineMs)));
  }

  appender(): Appender {
    // Samples are kept as objects: a plain array of doubles may quieten the stale
    // marker's NaN (see tsdb's float-bits), object fields keep its bits.
    let pending: PendingSample[] = [];
    return {
      append: (ref, labels, t, v) => {
        const series = this.getOrCreate(ref, labels, t);
        pending.push({ series, t, v });
        return series.ref;
      },
      commit: async () => {
        const batch = pending;
        pending = [];
        this.commit(batch);
      },
      rollback: async () => {
        pending = [];
      },
    };
  }

  /** The appender's series lookup, with the agent appender's checks. */
  private getOrCreate(ref: number, labels: Labels, t: number): MemSeries {
    let s = ref !== 0 ? this.byRef.get(ref) : undefined;
    if (s === undefined) {
      const ls = labels.filter((l) => l.value !== '');
      if (ls.length === 0) throw new InvalidSampleError('empty labelset');
      for (let i = 1; i < ls.length; i++) {
        if (ls[i].name === ls[i - 1].name) throw new InvalidSampleError(`label name "${ls[i].name}" is not unique`);
      }
      const key = labelsKey(ls);
      s = this.series.get(key);
      if (s === undefined) {
        s = { ref: this.nextRef++, labels: ls, lastT: -Infinity, lastSeen: Date.now(), sent: [] };
        this.series.set(key, s);
        this.byRef.set(s.ref, s);
      }
    }
    if (t < s.lastT) throw new OutOfOrderSampleError(t, s.lastT);
    return s;
  }

  /** Hands a committed batch to every queue, in append order. */
  private commit(batch: readonly PendingSample[]): void {
    if (this.stopped) throw new RemoteWriteStoppedError();
    const now = Date.now();
    this.samplesIn.inc(batch.length);
    for (const { series: s, t, v } of batch) {
      if (t > s.lastT) s.lastT = t;
      s.lastSeen = now;
      for (let q = 0; q < this.queues.length; q++) {
        let sent = s.sent[q];
        if (sent === undefined) sent = s.sent[q] = this.queues[q].seriesLabels(s.labels, this.externalLabels);
        this.queues[q].append(sent, t, v);
      }
    }
    if (now - this.lastGC > this.seriesTTLMs / 4) this.gc(now);
  }

  private gc(now: number): void {
    this.lastGC = now;
    for (const [key, s] of this.series) {
      if (now - s.lastSeen <= this.seriesTTLMs) continue;
      this.series.delete(key);
      this.byRef.delete(s.ref);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Queues

/** A send that may succeed if tried again (5xx, 429 when configured, network errors). */
export class RecoverableError extends Error {
  override readonly name = 'RecoverableError';
  constructor(
    message: string,
    /** From Retry-After, ms; 0 = use the backoff. */
    readonly retryAfterMs = 0,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const USER_AGENT = `Prometheus/${VERSION}`;
/** Prometheus reads at most this much of an error response. */
const MAX_ERR_MSG_LEN = 1024;

/** The queue of one remote_write entry: shards, each sending one batch at a time. */
class QueueManager {
  readonly name: string;
  readonly endpoint: string;
  private readonly shards: Shard[];
  private agent: http.Agent | null = null;
  /** Aborted when the flush deadline passes: in-flight sends and backoffs end. */
  private readonly hardStop = new AbortController();
  private readonly labels: Record<Labelname, string>;
  private highestSentMs = -Infinity;

  constructor(
    readonly cfg: RemoteWriteConfig,
    private readonly metrics: QueueMetrics,
    private readonly logger: Logger,
  ) {
    this.name = cfg.name;
    this.endpoint = redactedURL(cfg.url);
    this.labels = { remote_name: this.name, url: this.endpoint };
    this.shards = Array.from({ length: cfg.queueConfig.minShards }, () => new Shard(this));
    // Start the series at zero, as Prometheus's pre-registered per-queue metrics do.
    for (const m of [metrics.samplesTotal, metrics.failedSamplesTotal, metrics.retriedSamplesTotal, metrics.sentBytesTotal]) m.inc(this.labels, 0);
    metrics.pendingSamples.set(this.labels, 0);
  }

  async start(): Promise<void> {
    this.agent = new URL(this.cfg.url).protocol === 'https:' ? new https.Agent({ keepAlive: true, ...(await this.tlsOptions()) }) : new http.Agent({ keepAlive: true });
    for (const s of this.shards) s.start();
  }

  async stop(flushDeadlineMs: number): Promise<void> {
    const closed = Promise.all(this.shards.map((s) => s.close()));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), flushDeadlineMs)));
    if (await Promise.race([closed.then(() => false), expired])) {
      this.logger.warn({ deadline_ms: flushDeadlineMs }, 'remote write flush deadline exceeded; dropping the samples not sent');
      this.hardStop.abort(new Error('flush deadline exceeded'));
    }
    clearTimeout(timer);
    await closed;
    this.agent?.destroy();
    this.agent = null;
  }

  /** The labels this queue sends for a series: external labels added, then relabelled. */
  seriesLabels(ls: Labels, externalLabels: Labels): Labels | null {
    const withExternal = externalLabels.length > 0 ? mergeLabels(ls, externalLabels, false) : ls;
    const out = this.cfg.writeRelabelConfigs.length > 0 ? relabel(withExternal, this.cfg.writeRelabelConfigs) : withExternal;
    return out === null || out.length === 0 ? null : out;
  }

  /** Queues one committed sample; series dropped by relabelling and full shards drop it. */
  append(labels: Labels | null, t: number, v: number): void {
    if (labels === null) {
      this.metrics.droppedSamplesTotal.inc({ ...this.labels, reason: 'dropped_series' });
      return;
    }
    // Hashing keeps a series on one shard, so its samples leave in order.
    const shard = this.shards.length === 1 ? this.shards[0] : this.shards[hashLabels(labels) % this.shards.length];
    if (!shard.push({ labels, t, v })) {
      this.metrics.droppedSamplesTotal.inc({ ...this.labels, reason: 'queue_full' });
      return;
    }
    this.metrics.pendingSamples.inc(this.labels);
  }

  get aborted(): AbortSignal {
    return this.hardStop.signal;
  }

  /** @internal counts samples a shard gave up on at shutdown. */
  dropped(n: number, reason: string): void {
    if (n === 0) return;
    this.metrics.droppedSamplesTotal.inc({ ...this.labels, reason }, n);
    this.metrics.pendingSamples.dec(this.labels, n);
  }

  /**
   * Sends one batch until it is accepted, refused for good, or the flush deadline passes
   * (sendWriteRequestWithBackoff). Never throws: the outcome is in the metrics and logs.
   */
  async sendBatch(batch: QueuedSample[]): Promise<void> {
    const q = this.cfg.queueConfig;
    if (q.sampleAgeLimitMs > 0) {
      const oldest = Date.now() - q.sampleAgeLimitMs;
      const fresh = batch.filter((s) => s.t >= oldest);
      this.dropped(batch.length - fresh.length, 'too_old');
      batch = fresh;
      if (batch.length === 0) return;
    }
    const n = batch.length;
    const body = encodeWriteRequest(batch);
    let backoff = q.minBackoffMs;
    const signal = this.hardStop.signal;
    try {
      for (;;) {
        if (signal.aborted) {
          this.dropped(n, 'shutdown');
          return;
        }
        this.metrics.samplesTotal.inc(this.labels, n);
        const end = this.metrics.sentBatchDuration.startTimer(this.labels);
        let err: Error | null = null;
        try {
          await this.store(body, signal);
        } catch (e) {
          err = e as Error;
        }
        end();
        if (err === null) {
          this.metrics.sentBytesTotal.inc(this.labels, body.length);
          for (const s of batch) if (s.t > this.highestSentMs) this.highestSentMs = s.t;
          this.metrics.highestSentTimestamp.set(this.labels, Math.floor(this.highestSentMs / 1000));
          this.metrics.pendingSamples.dec(this.labels, n);
          return;
        }
        if (!(err instanceof RecoverableError)) {
          this.logger.error({ count: n, err: err.message }, 'non-recoverable error');
          this.metrics.failedSamplesTotal.inc(this.labels, n);
          this.metrics.pendingSamples.dec(this.labels, n);
          return;
        }
        if (signal.aborted) continue;
        const sleep = err.retryAfterMs > 0 ? err.retryAfterMs : backoff;
        await abortableSleep(sleep, signal);
        if (signal.aborted) continue;
        this.metrics.retriedSamplesTotal.inc(this.labels, n);
        this.logger.warn({ err: err.message }, 'Failed to send batch, retrying');
        backoff = Math.min(sleep * 2, q.maxBackoffMs);
      }
    } catch (err) {
      // Only a bug gets here; keep the shard alive.
      this.logger.error({ err: (err as Error).message }, 'remote write send failed unexpectedly');
      this.metrics.failedSamplesTotal.inc(this.labels, n);
      this.metrics.pendingSamples.dec(this.labels, n);
    }
  }

  /**
   * POSTs one snappy-compressed WriteRequest (remote.Client.Store).
   *
   * @throws RecoverableError for network errors, timeouts, 5xx and (when configured) 429;
   *   Error for other non-2xx answers
   */
  async store(body: Uint8Array, signal: AbortSignal): Promise<void> {
    const url = new URL(this.cfg.url);
    const headers: http.OutgoingHttpHeaders = {
      ...this.cfg.headers,
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf',
      'User-Agent': USER_AGENT,
      'X-Prometheus-Remote-Write-Version': '0.1.0',
      'Content-Length': body.length,
    };
    // Secrets in files are read at each request, as Prometheus does.
    const auth = await this.authorization();
    if (auth !== null) headers.Authorization = auth;
    const timeoutMs = this.cfg.remoteTimeoutMs;
    const res = await new Promise<{ code: number; status: string; retryAfter: string; line: string }>((resolve, reject) => {
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request(url, { method: 'POST', headers, agent: this.agent ?? undefined }, (r) => {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (chunk: string) => {
          if (text.length < MAX_ERR_MSG_LEN) text += chunk;
        });
        r.on('end', () => resolve({ code: r.statusCode ?? 0, status: r.statusMessage ?? '', retryAfter: String(r.headers['retry-after'] ?? ''), line: text.slice(0, MAX_ERR_MSG_LEN).split('\n')[0] }));
        r.on('error', reject);
      });
      const timer = setTimeout(() => req.destroy(new Error(`context deadline exceeded (remote_timeout ${timeoutMs}ms)`)), timeoutMs);
      const onAbort = (): void => void req.destroy(new Error('context canceled'));
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('close', () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      });
      req.on('error', reject);
      if (signal.aborted) onAbort();
      req.end(body);
    }).catch((err: Error) => {
      throw new RecoverableError(`Post ${JSON.stringify(this.endpoint)}: ${err.message}`, 0, { cause: err });
    });
    if (Math.floor(res.code / 100) === 2) return;
    const msg = `server returned HTTP status ${res.code} ${res.status}: ${res.line}`;
    if (Math.floor(res.code / 100) === 5) throw new RecoverableError(msg);
    if (res.code === 429 && this.cfg.queueConfig.retryOnHTTP429) throw new RecoverableError(msg, retryAfterMs(res.retryAfter));
    throw new Error(msg);
  }

  private async authorization(): Promise<string | null> {
    const { basicAuth, authorization } = this.cfg;
    if (basicAuth !== null) {
      const user = basicAuth.usernameFile !== '' ? (await readSecret(basicAuth.usernameFile, 'basic_auth username_file')).trim() : basicAuth.username;
      const pass = basicAuth.passwordFile !== '' ? (await readSecret(basicAuth.passwordFile, 'basic_auth password_file')).trim() : basicAuth.password;
      return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    }
    if (authorization !== null) {
      const creds = authorization.credentialsFile !== '' ? (await readSecret(authorization.credentialsFile, 'authorization credentials_file')).trim() : authorization.credentials;
      return `${authorization.type} ${creds}`;
    }
    return null;
  }

  private async tlsOptions(): Promise<https.AgentOptions> {
    const t = this.cfg.tlsConfig;
    const pem = async (inline: string, file: string, what: string): Promise<string | Buffer | undefined> => {
      if (inline !== '') return inline;
      if (file === '') return undefined;
      try {
        return await readFile(file);
      } catch (err) {
        throw new Error(`remote write ${this.name} tls_config: read ${what} ${file}: ${(err as Error).message}`, { cause: err });
      }
    };
    return {
      ca: await pem(t.ca, t.caFile, 'CA file'),
      cert: await pem(t.cert, t.certFile, 'cert file'),
      key: await pem(t.key, t.keyFile, 'key file'),
      servername: t.serverName !== '' ? t.serverName : undefined,
      rejectUnauthorized: !t.insecureSkipVerify,
      minVersion: (t.minVersion || undefined) as https.AgentOptions['minVersion'],
      maxVersion: (t.maxVersion || undefined) as https.AgentOptions['maxVersion'],
    };
  }
}

/**
 * One sender: a bounded FIFO and a loop that sends a batch when max_samples_per_send
 * are pending, or when batch_send_deadline has passed since the oldest pending sample
 * arrived, or when closing. One batch is in flight at a time.
 */
class Shard {
  private buf: QueuedSample[] = [];
  private head = 0;
  private firstAt = 0;
  private closing = false;
  private wakeUp: (() => void) | null = null;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly qm: QueueManager) {}

  get pending(): number {
    return this.buf.length - this.head;
  }

  push(s: QueuedSample): boolean {
    const q = this.qm.cfg.queueConfig;
    if (this.pending >= q.capacity) return false;
    if (this.pending === 0) this.firstAt = Date.now();
    this.buf.push(s);
    if (this.pending === 1 || this.pending >= q.maxSamplesPerSend) this.wake();
    return true;
  }

  start(): void {
    this.running = this.run();
  }

  close(): Promise<void> {
    this.closing = true;
    this.wake();
    return this.running;
  }

  private async run(): Promise<void> {
    const q = this.qm.cfg.queueConfig;
    const signal = this.qm.aborted;
    for (;;) {
      if (signal.aborted) {
        this.qm.dropped(this.pending, 'shutdown');
        this.buf = [];
        this.head = 0;
        return;
      }
      if (this.pending === 0) {
        if (this.closing) return;
        await this.sleep(null);
        continue;
      }
      const due = this.firstAt + q.batchSendDeadlineMs;
      if (this.pending < q.maxSamplesPerSend && !this.closing && Date.now() < due) {
        await this.sleep(due - Date.now());
        continue;
      }
      await this.qm.sendBatch(this.take(q.maxSamplesPerSend));
      // What is left waits a full deadline again, as Prometheus's timer resets on a send.
      this.firstAt = Date.now();
    }
  }

  private take(max: number): QueuedSample[] {
    const end = Math.min(this.buf.length, this.head + max);
    const batch = this.buf.slice(this.head, end);
    this.head = end;
    // Compact once the consumed prefix dominates, so the array does not grow forever.
    if (this.head >= 1024 && this.head * 2 >= this.buf.length) {
      this.buf = this.buf.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  /** Until woken, `ms` passes (null: no timer) or the hard stop. */
  private sleep(ms: number | null): Promise<void> {
    return new Promise<void>((resolve) => {
      const signal = this.qm.aborted;
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        if (this.wakeUp === done) this.wakeUp = null;
        resolve();
      };
      this.wakeUp = done;
      if (ms !== null) timer = setTimeout(done, Math.max(ms, 0));
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/**
 * A v1 WriteRequest for a batch, snappy-compressed. Samples of one series are grouped
 * into one TimeSeries in the order they came (the series' labels object is shared by all
 * its samples, so identity groups them).
 */
export function encodeWriteRequest(batch: readonly QueuedSample[]): Uint8Array {
  const bySeries = new Map<Labels, { timestamp: number; value: number }[]>();
  for (const s of batch) {
    let samples = bySeries.get(s.labels);
    if (samples === undefined) bySeries.set(s.labels, (samples = []));
    samples.push({ timestamp: s.t, value: s.v });
  }
  const timeseries: prometheus.TimeSeries.$Properties[] = [];
  for (const [labels, samples] of bySeries) timeseries.push({ labels: labels.map((l: Label) => ({ name: l.name, value: l.value })), samples });
  return snappyCompress(prometheus.WriteRequest.encode({ timeseries }).finish());
}

/** Retry-After as seconds or an HTTP date (retryAfterDuration); 0 when absent or bad. */
function retryAfterMs(h: string): number {
  if (h === '') return 0;
  if (/^\d+$/.test(h)) return Number(h) * 1000;
  const at = Date.parse(h);
  return Number.isNaN(at) ? 0 : Math.max(at - Date.now(), 0);
}

/** url.URL.Redacted: the password, if any, replaced, for metric labels and logs. */
export function redactedURL(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password === '') return raw;
    u.password = 'xxxxx';
    return u.href;
  } catch {
    return raw;
  }
}

async function readSecret(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`read ${what} ${file}: ${(err as Error).message}`, { cause: err });
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

// ---------------------------------------------------------------------------------------
// Restore

/**
 * Drops --restore-ignored-label names from the series a ForStateSource finds, as Thanos's
 * promClientsQueryable does: in stateless mode the ALERTS_FOR_STATE series come back
 * through query carrying the labels remote write added (external labels), which the
 * alerts being restored lack.
 */
export function withoutRestoreIgnoredLabels(source: ForStateSource, ignored: readonly string[]): ForStateSource {
  if (ignored.length === 0) return source;
  const drop = new Set(ignored);
  return async (matchers, mint, maxt) => (await source(matchers, mint, maxt)).map((s) => ({ ...s, labels: s.labels.filter((l) => !drop.has(l.name)) }));
}
