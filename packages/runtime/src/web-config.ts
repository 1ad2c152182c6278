// --http.config: Prometheus's web configuration file (exporter-toolkit web/tls_config.go),
// which Thanos reads for every HTTP server. Its keys:
//
//   tls_server_config:        TLS is on once any of cert(_file), key(_file), client_ca(_file)
//     cert_file | cert         or client_auth_type is set; file paths are relative to
//     key_file  | key          the config file's directory
//     client_auth_type         NoClientCert (default), RequestClientCert, RequireAnyClientCert
//                              (or RequireClientCert), VerifyClientCertIfGiven,
//                              RequireAndVerifyClientCert
//     client_ca_file | client_ca
//     client_allowed_sans      client certificates must carry one of these SANs
//     min_version, max_version TLS10 … TLS13 (defaults TLS12, TLS13)
//     cipher_suites, curve_preferences, prefer_server_cipher_suites (Go's names)
//   http_server_config: { http2: true, headers: {…} }  only a few security headers allowed
//   rate_limit: { burst, interval }
//   basic_auth_users: { user: bcrypt hash }
//
// As in Prometheus, the file is re-read while serving: users, headers and the rate limit
// apply from the next request, TLS settings from the next connection. A request without
// the right basic-auth credentials gets 401 with `WWW-Authenticate: Basic`; bcrypt
// comparisons run one at a time and their results are cached.

import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, isAbsolute, join } from 'node:path';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { compare as bcryptCompare } from 'bcryptjs';
import { parse as parseYaml } from 'yaml';
import { parseGoDuration } from './duration.js';

export type ClientAuthType =
  | 'NoClientCert'
  | 'RequestClientCert'
  | 'RequireAnyClientCert'
  | 'VerifyClientCertIfGiven'
  | 'RequireAndVerifyClientCert';

export interface WebTLSConfig {
  cert: Buffer;
  key: Buffer;
  clientCAs?: Buffer;
  clientAuth: ClientAuthType;
  clientAllowedSans?: string[];
  minVersion: NodeTLSVersion;
  maxVersion: NodeTLSVersion;
  /** OpenSSL cipher list for TLS ≤ 1.2 ('' = Node's defaults). */
  ciphers: string;
  /** OpenSSL curve list ('' = Node's defaults). */
  ecdhCurve: string;
  honorCipherOrder: boolean;
}

export interface WebConfig {
  /** Undefined: plain HTTP. */
  tls?: WebTLSConfig;
  http2: boolean;
  headers: Record<string, string>;
  rateLimit?: { burst: number; intervalMs: number };
  /** User name to bcrypt hash; empty: no authentication. */
  users: Map<string, string>;
}

type NodeTLSVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

const TLS_VERSIONS: Record<string, NodeTLSVersion> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };
const VERSION_ORDER: NodeTLSVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

// Go's names (tls.CipherSuites()) to OpenSSL's. TLS 1.3 suites are not configurable in
// Go, so naming one changes nothing there; here too.
const CIPHERS: Record<string, string> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_AES_128_GCM_SHA256: '',
  TLS_AES_256_GCM_SHA384: '',
  TLS_CHACHA20_POLY1305_SHA256: '',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
};
const CURVES: Record<string, string> = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' };

// The headers the file may set, with their allowed values (none listed: any value).
const EXTRA_HTTP_HEADERS: Record<string, string[]> = {
  'Strict-Transport-Security': [],
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': [],
  'Content-Security-Policy': [],
};

const TOP_KEYS = ['tls_server_config', 'http_server_config', 'rate_limit', 'basic_auth_users'];
const TLS_KEYS = [
  'cert', 'key', 'client_ca', 'cert_file', 'key_file', 'client_auth_type', 'client_ca_file', 'cipher_suites',
  'curve_preferences', 'min_version', 'max_version', 'prefer_server_cipher_suites', 'client_allowed_sans',
];
const HTTP_KEYS = ['http2', 'headers'];
const RATE_KEYS = ['burst', 'interval'];

type YamlMap = Record<string, unknown>;

function mapOf(v: unknown, what: string): YamlMap {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error(`yaml: unmarshal errors: ${what} must be a mapping`);
  return v as YamlMap;
}

function strict(m: YamlMap, allowed: readonly string[], type: string): void {
  for (const k of Object.keys(m)) {
    if (!allowed.includes(k)) throw new Error(`yaml: unmarshal errors: field ${k} not found in type ${type}`);
  }
}

function str(v: unknown, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new Error(`yaml: unmarshal errors: ${field} must be a string`);
}

function strList(v: unknown, field: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new Error(`yaml: unmarshal errors: ${field} must be a list`);
  return v.map((x) => str(x, field));
}

function joinDir(dir: string, p: string): string {
  return p === '' || isAbsolute(p) ? p : join(dir, p);
}

/** Checks a bcrypt hash as Go's bcrypt.Cost does before accepting a users list. */
function validateBcryptHash(user: string, hash: string): void {
  if (hash.length < 59) throw new Error(`basic_auth_users: ${user}: crypto/bcrypt: hashedSecret too short to be a bcrypted password`);
  if (!/^\$2[aby]?\$/.test(hash)) throw new Error(`basic_auth_users: ${user}: crypto/bcrypt: bcrypt hashes must start with '$', but hashedSecret started with '${hash[0]}'`);
  const m = /^\$2[aby]?\$(\d\d)\$[./A-Za-z0-9]{53}$/.exec(hash);
  if (!m) throw new Error(`basic_auth_users: ${user}: crypto/bcrypt: malformed bcrypt hash`);
  const cost = Number(m[1]);
  if (cost < 4 || cost > 31) throw new Error(`basic_auth_users: ${user}: crypto/bcrypt: cost ${cost} is outside allowed range (4,31)`);
}

/**
 * Parses a web config file's text; relative file paths resolve against `dir`, and TLS
 * files are read. Throws on anything exporter-toolkit rejects.
 */
export function parseWebConfig(text: string, dir = '.'): WebConfig {
  const doc = mapOf(parseYaml(text) as unknown, 'the document');
  strict(doc, TOP_KEYS, 'web.Config');
  const httpCfg = mapOf(doc.http_server_config, 'http_server_config');
  strict(httpCfg, HTTP_KEYS, 'web.HTTPConfig');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(mapOf(httpCfg.headers, 'headers'))) {
    const allowed = EXTRA_HTTP_HEADERS[k];
    if (!allowed) throw new Error(`HTTP header "${k}" can not be configured`);
    const value = str(v, k);
    if (allowed.length > 0 && !allowed.includes(value)) {
      throw new Error(`invalid value for ${k}. Expected one of: [${allowed.map((a) => `"${a}"`).join(' ')}], but got: "${value}"`);
    }
    headers[k] = value;
  }
  const users = new Map<string, string>();
  for (const [u, h] of Object.entries(mapOf(doc.basic_auth_users, 'basic_auth_users'))) {
    const hash = str(h, u);
    validateBcryptHash(u, hash);
    users.set(u, hash);
  }
  let rateLimit: WebConfig['rateLimit'];
  const rl = mapOf(doc.rate_limit, 'rate_limit');
  strict(rl, RATE_KEYS, 'web.RateLimiterConfig');
  if (rl.interval !== undefined && rl.interval !== null) {
    const intervalMs = parseGoDuration(str(rl.interval, 'interval'));
    if (intervalMs > 0) rateLimit = { burst: Number(rl.burst ?? 0), intervalMs };
  }
  const tlsMap = mapOf(doc.tls_server_config, 'tls_server_config');
  strict(tlsMap, TLS_KEYS, 'web.TLSConfig');
  const tls = parseTLS(tlsMap, dir);
  return { tls, http2: httpCfg.http2 === undefined ? true : httpCfg.http2 === true, headers, rateLimit, users };
}

function parseTLS(m: YamlMap, dir: string): WebTLSConfig | undefined {
  const certFile = joinDir(dir, str(m.cert_file, 'cert_file'));
  const keyFile = joinDir(dir, str(m.key_file, 'key_file'));
  const caFile = joinDir(dir, str(m.client_ca_file, 'client_ca_file'));
  const certText = str(m.cert, 'cert');
  const keyText = str(m.key, 'key');
  const caText = str(m.client_ca, 'client_ca');
  const clientAuthRaw = str(m.client_auth_type, 'client_auth_type');
  // Versions, ciphers and curves are checked while unmarshalling, TLS or not.
  const version = (field: string, dflt: NodeTLSVersion): NodeTLSVersion => {
    const v = str(m[field], field);
    if (v === '') return dflt;
    const n = TLS_VERSIONS[v];
    if (!n) throw new Error(`unknown TLS version: ${v}`);
    return n;
  };
  const minVersion = version('min_version', 'TLSv1.2');
  const maxVersion = version('max_version', 'TLSv1.3');
  const ciphers = (strList(m.cipher_suites, 'cipher_suites') ?? []).map((c) => {
    if (!(c in CIPHERS)) throw new Error(`unknown cipher: ${c}`);
    return CIPHERS[c];
  });
  const curves = (strList(m.curve_preferences, 'curve_preferences') ?? []).map((c) => {
    if (!(c in CURVES)) throw new Error(`unknown curve: ${c}`);
    return CURVES[c];
  });
  const enabled = certFile !== '' || certText !== '' || keyFile !== '' || keyText !== '' || caFile !== '' || caText !== '' || clientAuthRaw !== '';
  if (!enabled) return undefined;
  if (certFile === '' && certText === '') throw new Error('missing one of cert or cert_file');
  if (keyFile === '' && keyText === '') throw new Error('missing one of key or key_file');
  const read = (path: string, field: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`failed to read ${field} (${path}): ${(err as Error).message}`);
    }
  };
  const cert = certFile !== '' ? read(certFile, 'cert_file') : Buffer.from(certText);
  const key = keyFile !== '' ? read(keyFile, 'key_file') : Buffer.from(keyText);
  let clientCAs: Buffer | undefined;
  if (caFile !== '') {
    try {
      clientCAs = readFileSync(caFile);
    } catch (err) {
      throw new Error((err as Error).message);
    }
  } else if (caText !== '') {
    clientCAs = Buffer.from(caText);
  }
  let clientAuth: ClientAuthType;
  switch (clientAuthRaw) {
    case '':
    case 'NoClientCert':
      clientAuth = 'NoClientCert';
      break;
    case 'RequireClientCert': // kept by exporter-toolkit for backwards compatibility
    case 'RequireAnyClientCert':
      clientAuth = 'RequireAnyClientCert';
      break;
    case 'RequestClientCert':
    case 'VerifyClientCertIfGiven':
    case 'RequireAndVerifyClientCert':
      clientAuth = clientAuthRaw;
      break;
    default:
      throw new Error('invalid ClientAuth: ' + clientAuthRaw);
  }
  if (clientCAs && clientAuth === 'NoClientCert') throw new Error("client CA's have been configured without a Client Auth Policy");
  if (VERSION_ORDER.indexOf(minVersion) > VERSION_ORDER.indexOf(maxVersion)) throw new Error('min_version is above max_version');
  return {
    cert,
    key,
    clientCAs,
    clientAuth,
    clientAllowedSans: strList(m.client_allowed_sans, 'client_allowed_sans'),
    minVersion,
    maxVersion,
    ciphers: ciphers.filter((c) => c !== '').join(':'),
    ecdhCurve: curves.join(':'),
    honorCipherOrder: m.prefer_server_cipher_suites === undefined ? true : m.prefer_server_cipher_suites === true,
  };
}

/** Reads and parses a web config file. */
export function loadWebConfig(path: string): WebConfig {
  return parseWebConfig(readFileSync(path, 'utf8'), dirname(path));
}

/**
 * Node TLS server options for a web TLS config. Client certificates that Node does not
 * check itself (any certificate for RequireAnyClientCert, a verified one if given, the
 * allowed SANs) are checked by checkWebClientCert once the handshake is done.
 */
export function webTLSServerOptions(t: WebTLSConfig): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } {
  const o: SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } = {
    cert: t.cert,
    key: t.key,
    minVersion: t.minVersion,
    maxVersion: t.maxVersion,
    honorCipherOrder: t.honorCipherOrder,
    requestCert: t.clientAuth !== 'NoClientCert',
    rejectUnauthorized: t.clientAuth === 'RequireAndVerifyClientCert',
  };
  if (t.clientCAs) o.ca = t.clientCAs;
  if (t.ciphers !== '') o.ciphers = t.ciphers;
  if (t.ecdhCurve !== '') o.ecdhCurve = t.ecdhCurve;
  return o;
}

/** Why a TLS connection's client certificate is not acceptable, or null when it is. */
export function checkWebClientCert(t: WebTLSConfig, socket: TLSSocket): string | null {
  const cert = socket.getPeerCertificate();
  const has = cert !== null && typeof cert === 'object' && Object.keys(cert).length > 0;
  if (t.clientAuth === 'RequireAnyClientCert' && !has) return 'tls: client didn\'t provide a certificate';
  if (t.clientAuth === 'VerifyClientCertIfGiven' && has && !socket.authorized) return `tls: failed to verify certificate: ${String(socket.authorizationError)}`;
  if (t.clientAllowedSans && has) {
    const sans = (cert.subjectaltname ?? '')
      .split(', ')
      .map((s) => s.replace(/^(DNS|IP Address|email|URI):/, ''))
      .filter((s) => s !== '');
    if (!sans.some((s) => t.clientAllowedSans!.includes(s))) return `could not find allowed SANs in client cert, found: [${t.clientAllowedSans.join(' ')}]`;
  }
  return null;
}

// A bcrypt hash of "fakepassword": compared against for unknown users so that the time
// taken does not tell which users exist.
const FAKE_HASH = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';
const AUTH_CACHE_SIZE = 100;

/** Parses `Authorization: Basic base64(user:pass)` as Go's Request.BasicAuth. */
export function parseBasicAuth(header: string | undefined): { user: string; pass: string } | null {
  if (!header || header.length < 6 || header.slice(0, 6).toLowerCase() !== 'basic ') return null;
  const b64 = header.slice(6);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return null;
  const decoded = Buffer.from(b64, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return null;
  return { user: decoded.slice(0, i), pass: decoded.slice(i + 1) };
}

/**
 * The per-request side of a web config file: headers, rate limit and basic auth. The
 * file is re-read when it changes; a file that no longer parses fails every request
 * with 500, as in Prometheus.
 */
export class WebConfigGuard {
  private cached: { mtimeMs: number; size: number; cfg: WebConfig } | null = null;
  private readonly authCache = new Map<string, boolean>();
  // bcrypt is CPU-heavy: one comparison at a time (exporter-toolkit's bcryptMtx).
  private bcryptQueue: Promise<unknown> = Promise.resolve();
  private tokens = 0;
  private lastRefill = Date.now();

  constructor(
    readonly path: string,
    private readonly onError: (err: Error) => void = () => {},
  ) {}

  /** The current config, re-read if the file changed. Throws when it does not parse. */
  config(): WebConfig {
    const st = statSync(this.path);
    if (this.cached && this.cached.mtimeMs === st.mtimeMs && this.cached.size === st.size) return this.cached.cfg;
    const cfg = loadWebConfig(this.path);
    if (this.cached === null || this.cached.cfg.rateLimit?.burst !== cfg.rateLimit?.burst) this.tokens = cfg.rateLimit?.burst ?? 0;
    this.cached = { mtimeMs: st.mtimeMs, size: st.size, cfg };
    return cfg;
  }

  /**
   * Applies the config to a request: true when it may proceed; otherwise the response
   * (500, 429 or 401) has been sent.
   */
  async admit(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    let cfg: WebConfig;
    try {
      cfg = this.config();
    } catch (err) {
      this.onError(err as Error);
      httpError(res, 500, 'Internal Server Error');
      return false;
    }
    if (cfg.rateLimit && !this.allow(cfg.rateLimit)) {
      httpError(res, 429, 'Too Many Requests');
      return false;
    }
    for (const [k, v] of Object.entries(cfg.headers)) res.setHeader(k, v);
    if (cfg.users.size === 0) return true;
    const creds = parseBasicAuth(req.headers.authorization);
    if (creds && (await this.authenticate(cfg, creds.user, creds.pass))) return true;
    res.setHeader('WWW-Authenticate', 'Basic');
    httpError(res, 401, 'Unauthorized');
    return false;
  }

  private async authenticate(cfg: WebConfig, user: string, pass: string): Promise<boolean> {
    const known = cfg.users.get(user);
    const hash = known ?? FAKE_HASH;
    const hex = (s: string): string => Buffer.from(s).toString('hex');
    const key = `${hex(user)}:${hex(hash)}:${hex(pass)}`;
    let ok = this.authCache.get(key);
    if (ok === undefined) {
      const run = this.bcryptQueue.then(() => bcryptCompare(pass, hash).catch(() => false));
      this.bcryptQueue = run;
      ok = (await run) && known !== undefined;
      this.remember(key, ok);
    }
    return ok && known !== undefined;
  }

  // Random eviction of a tenth when full, as exporter-toolkit's cache.
  private remember(key: string, ok: boolean): void {
    if (this.authCache.size >= AUTH_CACHE_SIZE) {
      const keys = [...this.authCache.keys()];
      const n = Math.max(Math.floor(keys.length / 10), 1);
      for (let i = 0; i <= n && keys.length > 0; i++) {
        const j = Math.floor(Math.random() * keys.length);
        this.authCache.delete(keys[j]);
        keys.splice(j, 1);
      }
    }
    this.authCache.set(key, ok);
  }

  // A token bucket: one token per interval, at most `burst` (golang.org/x/time/rate).
  private allow(rl: { burst: number; intervalMs: number }): boolean {
    const now = Date.now();
    this.tokens = Math.min(rl.burst, this.tokens + (now - this.lastRefill) / rl.intervalMs);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Go's http.Error. */
function httpError(res: ServerResponse, code: number, text: string): void {
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.writeHead(code);
  res.end(text + '\n');
}
