// http_config, the HTTP transport section Thanos shares between providers
// (github.com/thanos-io/objstore exthttp.HTTPConfig), and its mapping onto Node agents.
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';

import type { ConfigMap } from './config-map.js';
import { errorMessage } from './errors.js';

export interface TlsConfig {
  caFile: string;
  certFile: string;
  keyFile: string;
  serverName: string;
  insecureSkipVerify: boolean;
}

/** HttpConfig mirrors Thanos `http_config`; durations are in milliseconds. */
export interface HttpConfig {
  idleConnTimeoutMs: number;
  responseHeaderTimeoutMs: number;
  insecureSkipVerify: boolean;
  tlsHandshakeTimeoutMs: number;
  expectContinueTimeoutMs: number;
  maxIdleConns: number;
  maxIdleConnsPerHost: number;
  maxConnsPerHost: number;
  disableCompression: boolean;
  tls: TlsConfig;
}

/** parseHttpConfig reads Thanos exthttp.HTTPConfig with its defaults, strictly. */
export function parseHttpConfig(m: ConfigMap): HttpConfig {
  const cfg: HttpConfig = {
    idleConnTimeoutMs: m.duration('idle_conn_timeout', 90_000),
    responseHeaderTimeoutMs: m.duration('response_header_timeout', 120_000),
    insecureSkipVerify: m.bool('insecure_skip_verify'),
    tlsHandshakeTimeoutMs: m.duration('tls_handshake_timeout', 10_000),
    expectContinueTimeoutMs: m.duration('expect_continue_timeout', 1_000),
    maxIdleConns: m.int('max_idle_conns', 100),
    maxIdleConnsPerHost: m.int('max_idle_conns_per_host', 100),
    maxConnsPerHost: m.int('max_conns_per_host', 0),
    disableCompression: m.bool('disable_compression'),
    tls: { caFile: '', certFile: '', keyFile: '', serverName: '', insecureSkipVerify: false },
  };
  const tls = m.map('tls_config');
  cfg.tls = {
    caFile: tls.string('ca_file'),
    certFile: tls.string('cert_file'),
    keyFile: tls.string('key_file'),
    serverName: tls.string('server_name'),
    insecureSkipVerify: tls.bool('insecure_skip_verify'),
  };
  tls.strict();
  m.strict();
  const counts: [string, number][] = [
    ['max_idle_conns', cfg.maxIdleConns],
    ['max_idle_conns_per_host', cfg.maxIdleConnsPerHost],
    ['max_conns_per_host', cfg.maxConnsPerHost],
  ];
  for (const [key, v] of counts) {
    if (v < 0) throw m.error(`config.http_config.${key} must not be negative, got ${v}`);
  }
  if ((cfg.tls.certFile === '') !== (cfg.tls.keyFile === '')) {
    throw m.error('config.http_config.tls_config: cert_file and key_file must be set together');
  }
  return cfg;
}

export interface HttpAgents {
  http: http.Agent;
  https: https.Agent;
}

/**
 * httpAgents maps http_config onto Node agents. Node has no direct counterpart
 * for some Go transport knobs:
 * - idle_conn_timeout: the agent's socket timeout, which Node applies to idle pooled sockets;
 * - max_idle_conns_per_host: maxFreeSockets (0 → Go's default of 2); max_conns_per_host: maxSockets (0 → unlimited);
 * - TLS files, server_name and both insecure_skip_verify keys apply to HTTPS.
 * errPrefix leads errors reading the TLS files ("objstore config: S3: ").
 */
export function httpAgents(cfg: HttpConfig, errPrefix: string): HttpAgents {
  const agentOpts: http.AgentOptions = {
    keepAlive: true,
    timeout: cfg.idleConnTimeoutMs > 0 ? cfg.idleConnTimeoutMs : undefined,
    maxSockets: cfg.maxConnsPerHost > 0 ? cfg.maxConnsPerHost : Infinity,
    maxFreeSockets: cfg.maxIdleConnsPerHost > 0 ? cfg.maxIdleConnsPerHost : 2,
  };
  const readTlsFile = (key: string, file: string): Buffer | undefined => {
    if (file === '') return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`${errPrefix}http_config.tls_config.${key}: ${errorMessage(err)}`, { cause: err });
    }
  };
  return {
    http: new http.Agent(agentOpts),
    https: new https.Agent({
      ...agentOpts,
      rejectUnauthorized: !(cfg.insecureSkipVerify || cfg.tls.insecureSkipVerify),
      ca: readTlsFile('ca_file', cfg.tls.caFile),
      cert: readTlsFile('cert_file', cfg.tls.certFile),
      key: readTlsFile('key_file', cfg.tls.keyFile),
      servername: cfg.tls.serverName || undefined,
    }),
  };
}
