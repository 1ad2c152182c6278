// The Alertmanager configuration of the ruler (Thanos pkg/alert/config.go with
// pkg/clientconfig's HTTP client and endpoint fields): the YAML of
// --alertmanagers.config(-file),
//
//   alertmanagers:
//   - http_config: {basic_auth: {username, password, password_file}, bearer_token,
//                   bearer_token_file, proxy_url, tls_config: {ca_file, cert_file, key_file,
//                   server_name, insecure_skip_verify}, transport_config: {...}}
//     static_configs: ["host:9093", ...]      # addresses, not Prometheus's target groups
//     file_sd_configs: [{files: [...], refresh_interval: 5m}]
//     scheme: http
//     path_prefix: ""
//     timeout: 10s
//     api_version: v2                         # or v1
//
// and the same shape built from each --alertmanagers.url. Decoding is strict, as Thanos's
// yaml.UnmarshalStrict: unknown fields are errors.

import { parsePromDuration } from '@thanos-ts/runtime';
import { parse as parseYaml } from 'yaml';

export type AlertmanagerAPIVersion = 'v1' | 'v2';

export const SUPPORTED_API_VERSIONS: readonly AlertmanagerAPIVersion[] = ['v1', 'v2'];

export interface BasicAuthConfig {
  username: string;
  password: string;
  passwordFile: string;
}

export interface TLSClientConfig {
  caFile: string;
  certFile: string;
  keyFile: string;
  serverName: string;
  insecureSkipVerify: boolean;
}

export interface HTTPClientConfig {
  /** null when no basic_auth is configured (all fields empty). */
  basicAuth: BasicAuthConfig | null;
  bearerToken: string;
  bearerTokenFile: string;
  tlsConfig: TLSClientConfig;
}

export interface FileSDConfig {
  /** Paths; the last element may hold a `*` (Prometheus file SD patterns). */
  files: string[];
  /** Re-read interval, ms (besides change events). */
  refreshIntervalMs: number;
}

/** One Alertmanager cluster: alerts go to every endpoint it discovers. */
export interface AlertmanagerConfig {
  httpConfig: HTTPClientConfig;
  /** host:port addresses. */
  staticAddresses: string[];
  fileSDConfigs: FileSDConfig[];
  /** http or https. */
  scheme: string;
  /** Put in front of /api/<version>/alerts. */
  pathPrefix: string;
  /** Per request, ms. */
  timeoutMs: number;
  apiVersion: AlertmanagerAPIVersion;
}

export const DEFAULT_ALERTMANAGER_TIMEOUT_MS = 10_000;
/** Prometheus file SD's default refresh_interval. */
export const DEFAULT_FILE_SD_REFRESH_MS = 5 * 60_000;

/** Thanos resolves these prefixes through DNS; thanos-ts does not do that for Alertmanagers yet. */
const DNS_PREFIXES = ['dns+', 'dnssrv+', 'dnssrvnoa+'];

/** Prometheus file SD: a path whose last element may contain `*`, ending in .json, .yml or .yaml. */
const FILE_SD_PATTERN = /^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$/;

export class AlertmanagerConfigError extends Error {
  override readonly name = 'AlertmanagerConfigError';
}

/**
 * Parses the --alertmanagers.config YAML into one config per Alertmanager cluster, with
 * Thanos's defaults (scheme http, timeout 10s, api_version v2). An empty document is no
 * Alertmanager.
 *
 * @throws AlertmanagerConfigError
 */
export function parseAlertmanagersConfig(text: string): AlertmanagerConfig[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new AlertmanagerConfigError(`parse alerting config: ${(err as Error).message}`, { cause: err });
  }
  if (doc === null || doc === undefined) return [];
  const root = mapping(doc, 'alert.AlertingConfig');
  strict(root, ['alertmanagers'], 'alert.AlertingConfig');
  const list = root.alertmanagers;
  if (list === null || list === undefined) return [];
  if (!Array.isArray(list)) throw new AlertmanagerConfigError('parse alerting config: alertmanagers: expected a list');
  return list.map((am, i) => {
    try {
      return decodeAlertmanager(am);
    } catch (err) {
      if (err instanceof AlertmanagerConfigError) throw new AlertmanagerConfigError(`parse alerting config: alertmanagers[${i}]: ${err.message}`, { cause: err });
      throw err;
    }
  });
}

/**
 * The config for one --alertmanagers.url (Thanos BuildAlertmanagerConfig): scheme and
 * host are required, user:password becomes basic auth, the path the path prefix.
 *
 * @throws AlertmanagerConfigError, also for dns+ and dnssrv+ schemes (not supported)
 */
export function alertmanagerConfigFromURL(address: string, timeoutMs: number): AlertmanagerConfig {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(address);
  if (!m) throw new AlertmanagerConfigError('alertmanagers.url contains empty scheme');
  const scheme = m[1].toLowerCase();
  if (DNS_PREFIXES.some((p) => scheme.startsWith(p))) {
    throw new AlertmanagerConfigError(`alertmanagers.url ${JSON.stringify(address)}: DNS discovery (${DNS_PREFIXES.join(', ')}) of Alertmanagers is not supported by thanos-ts; list the addresses or use file_sd_configs`);
  }
  // Go reads "host:9093" as scheme "host" with no host.
  if (!address.slice(m[0].length).startsWith('//')) throw new AlertmanagerConfigError('alertmanagers.url contains empty host');
  if (scheme !== 'http' && scheme !== 'https') throw new AlertmanagerConfigError(`alertmanagers.url ${JSON.stringify(address)}: unsupported scheme "${scheme}" (want http or https)`);
  let u: URL;
  try {
    u = new URL(address);
  } catch (err) {
    throw new AlertmanagerConfigError(`alertmanagers.url ${JSON.stringify(address)}: invalid URL`, { cause: err });
  }
  if (u.host === '') throw new AlertmanagerConfigError('alertmanagers.url contains empty host');
  const username = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  return {
    httpConfig: { ...emptyHTTPClientConfig(), basicAuth: username !== '' || password !== '' ? { username, password, passwordFile: '' } : null },
    staticAddresses: [u.host],
    fileSDConfigs: [],
    scheme,
    // URL gives '/' for no path where Go gives ''; both join to /api/v2/alerts.
    pathPrefix: u.pathname === '/' ? '' : decodeURIComponent(u.pathname),
    timeoutMs,
    apiVersion: 'v2',
  };
}

function emptyHTTPClientConfig(): HTTPClientConfig {
  return {
    basicAuth: null,
    bearerToken: '',
    bearerTokenFile: '',
    tlsConfig: { caFile: '', certFile: '', keyFile: '', serverName: '', insecureSkipVerify: false },
  };
}

const AM_FIELDS = ['http_config', 'static_configs', 'file_sd_configs', 'scheme', 'path_prefix', 'timeout', 'api_version'];
const HTTP_FIELDS = ['basic_auth', 'bearer_token', 'bearer_token_file', 'proxy_url', 'tls_config', 'transport_config'];
const BASIC_AUTH_FIELDS = ['username', 'password', 'password_file'];
const TLS_FIELDS = ['ca_file', 'cert_file', 'key_file', 'server_name', 'insecure_skip_verify'];
const TRANSPORT_FIELDS = [
  'max_idle_conns',
  'max_idle_conns_per_host',
  'idle_conn_timeout',
  'response_header_timeout',
  'expect_continue_timeout',
  'max_conns_per_host',
  'disable_compression',
  'tls_handshake_timeout',
  'dialer_timeout',
];
const FILE_SD_FIELDS = ['files', 'refresh_interval'];

function decodeAlertmanager(v: unknown): AlertmanagerConfig {
  const m = mapping(v, 'alert.AlertmanagerConfig');
  strict(m, AM_FIELDS, 'alert.AlertmanagerConfig');
  const scheme = m.scheme === undefined || m.scheme === null ? 'http' : str(m.scheme, 'scheme');
  if (scheme !== 'http' && scheme !== 'https') throw new AlertmanagerConfigError(`scheme: unsupported scheme "${scheme}" (want http or https)`);
  const staticAddresses = strList(m.static_configs, 'static_configs');
  for (const a of staticAddresses) {
    if (DNS_PREFIXES.some((p) => a.startsWith(p))) {
      throw new AlertmanagerConfigError(`static_configs: ${JSON.stringify(a)}: DNS discovery (${DNS_PREFIXES.join(', ')}) of Alertmanagers is not supported by thanos-ts; list the addresses or use file_sd_configs`);
    }
    if (a === '') throw new AlertmanagerConfigError('static_configs: empty address');
  }
  const apiVersion = m.api_version === undefined || m.api_version === null ? 'v2' : str(m.api_version, 'api_version');
  if (!(SUPPORTED_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    throw new AlertmanagerConfigError(`expected Alertmanager API version to be one of [${SUPPORTED_API_VERSIONS.join(' ')}] but got ${JSON.stringify(apiVersion)}`);
  }
  return {
    httpConfig: decodeHTTPClientConfig(m.http_config),
    staticAddresses,
    fileSDConfigs: list(m.file_sd_configs, 'file_sd_configs').map((f, i) => decodeFileSD(f, i)),
    scheme,
    pathPrefix: m.path_prefix === undefined || m.path_prefix === null ? '' : str(m.path_prefix, 'path_prefix'),
    timeoutMs: m.timeout === undefined || m.timeout === null ? DEFAULT_ALERTMANAGER_TIMEOUT_MS : duration(m.timeout, 'timeout'),
    apiVersion: apiVersion as AlertmanagerAPIVersion,
  };
}

function decodeHTTPClientConfig(v: unknown): HTTPClientConfig {
  const m = mapping(v ?? {}, 'clientconfig.HTTPClientConfig');
  strict(m, HTTP_FIELDS, 'clientconfig.HTTPClientConfig');
  const ba = mapping(m.basic_auth ?? {}, 'clientconfig.BasicAuth');
  strict(ba, BASIC_AUTH_FIELDS, 'clientconfig.BasicAuth');
  const basicAuth: BasicAuthConfig = {
    username: optStr(ba.username, 'basic_auth.username'),
    password: optStr(ba.password, 'basic_auth.password'),
    passwordFile: optStr(ba.password_file, 'basic_auth.password_file'),
  };
  const hasBasicAuth = basicAuth.username !== '' || basicAuth.password !== '' || basicAuth.passwordFile !== '';
  const tls = mapping(m.tls_config ?? {}, 'clientconfig.TLSConfig');
  strict(tls, TLS_FIELDS, 'clientconfig.TLSConfig');
  // transport_config tunes Go's http.Transport; its fields are accepted and not used.
  strict(mapping(m.transport_config ?? {}, 'clientconfig.TransportConfig'), TRANSPORT_FIELDS, 'clientconfig.TransportConfig');
  const proxyURL = optStr(m.proxy_url, 'proxy_url');
  if (proxyURL !== '') throw new AlertmanagerConfigError('http_config.proxy_url: sending alerts through an HTTP proxy is not supported by thanos-ts');
  const cfg: HTTPClientConfig = {
    basicAuth: hasBasicAuth ? basicAuth : null,
    bearerToken: optStr(m.bearer_token, 'bearer_token'),
    bearerTokenFile: optStr(m.bearer_token_file, 'bearer_token_file'),
    tlsConfig: {
      caFile: optStr(tls.ca_file, 'tls_config.ca_file'),
      certFile: optStr(tls.cert_file, 'tls_config.cert_file'),
      keyFile: optStr(tls.key_file, 'tls_config.key_file'),
      serverName: optStr(tls.server_name, 'tls_config.server_name'),
      insecureSkipVerify: bool(tls.insecure_skip_verify, 'tls_config.insecure_skip_verify'),
    },
  };
  // Prometheus common/config HTTPClientConfig.Validate, which Thanos's NewHTTPClient runs.
  if (cfg.bearerToken !== '' && cfg.bearerTokenFile !== '') throw new AlertmanagerConfigError('at most one of bearer_token & bearer_token_file must be configured');
  if (cfg.basicAuth && (cfg.bearerToken !== '' || cfg.bearerTokenFile !== '')) {
    throw new AlertmanagerConfigError('at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured');
  }
  if (cfg.basicAuth && cfg.basicAuth.password !== '' && cfg.basicAuth.passwordFile !== '') {
    throw new AlertmanagerConfigError('at most one of basic_auth password & password_file must be configured');
  }
  const { certFile, keyFile } = cfg.tlsConfig;
  if (certFile !== '' && keyFile === '') throw new AlertmanagerConfigError(`client cert file ${JSON.stringify(certFile)} specified without client key file`);
  if (keyFile !== '' && certFile === '') throw new AlertmanagerConfigError(`client key file ${JSON.stringify(keyFile)} specified without client cert file`);
  return cfg;
}

function decodeFileSD(v: unknown, i: number): FileSDConfig {
  const m = mapping(v, 'clientconfig.HTTPFileSDConfig');
  strict(m, FILE_SD_FIELDS, 'clientconfig.HTTPFileSDConfig');
  const files = strList(m.files, `file_sd_configs[${i}].files`);
  for (const f of files) {
    if (!FILE_SD_PATTERN.test(f)) throw new AlertmanagerConfigError(`file_sd_configs[${i}]: path name ${JSON.stringify(f)} is not valid for file discovery`);
  }
  // Thanos documents `refresh_interval: 0s` in its example; Prometheus's file SD would
  // panic on a zero ticker, so zero means the default here.
  const refresh = m.refresh_interval === undefined || m.refresh_interval === null ? 0 : duration(m.refresh_interval, `file_sd_configs[${i}].refresh_interval`);
  return { files, refreshIntervalMs: refresh > 0 ? refresh : DEFAULT_FILE_SD_REFRESH_MS };
}

// ---------------------------------------------------------------------------------------
// Strict decoding of YAML-parsed values, with yaml.v2's words where it matters.

type YamlMap = Record<string, unknown>;

function mapping(v: unknown, type: string): YamlMap {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new AlertmanagerConfigError(`cannot unmarshal ${JSON.stringify(v)} into ${type}`);
  return v as YamlMap;
}

function strict(m: YamlMap, allowed: readonly string[], type: string): void {
  for (const k of Object.keys(m)) {
    if (!allowed.includes(k)) throw new AlertmanagerConfigError(`field ${k} not found in type ${type}`);
  }
}

function str(v: unknown, field: string): string {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new AlertmanagerConfigError(`${field}: expected a string`);
}

function optStr(v: unknown, field: string): string {
  return v === undefined || v === null ? '' : str(v, field);
}

function bool(v: unknown, field: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  throw new AlertmanagerConfigError(`${field}: expected a bool`);
}

function list(v: unknown, field: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new AlertmanagerConfigError(`${field}: expected a list`);
  return v;
}

function strList(v: unknown, field: string): string[] {
  return list(v, field).map((x) => (x === null ? '' : str(x, field)));
}

function duration(v: unknown, field: string): number {
  try {
    return parsePromDuration(str(v, field));
  } catch (err) {
    throw new AlertmanagerConfigError(`${field}: ${(err as Error).message}`, { cause: err });
  }
}
