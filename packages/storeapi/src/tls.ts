// TLS for StoreAPI servers and clients, as Thanos sets it up (pkg/tls/options.go,
// pkg/extgrpc/client.go): servers present a certificate and, given a client CA, require
// and verify client certificates; clients verify servers against a CA (or the default
// roots), may present a certificate, skip verification or verify another name. The
// settings arrive as plain data (GrpcServerTLSConfig, GrpcClientConfig from
// @thanos-ts/runtime); the files are read here. A server picks up a renewed certificate
// and key without a restart, as Thanos's reloads them when their files change.

import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { SecureContextOptions } from 'node:tls';
import { credentials, ServerCredentials } from '@grpc/grpc-js';
import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';
import { nopLogger, UserError } from '@thanos-ts/runtime';
import type { GrpcClientConfig, GrpcServerTLSConfig, Logger, TLSVersionName } from '@thanos-ts/runtime';
import { SNAPPY_COMPRESSION } from './compression.js';
import type { H2ChannelTLS } from './h2-channel.js';

type NodeTLSVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** Node's name of a TLS version as Thanos's flags name it. */
export function nodeTLSVersion(v: TLSVersionName): NodeTLSVersion {
  return v === '1.0' ? 'TLSv1' : (`TLSv${v}` as NodeTLSVersion);
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UserError(`${what}: ${(err as Error).message}`);
  }
}

/** How often a TLS server looks at its certificate and key files for a renewal. */
const CERT_RELOAD_INTERVAL_MS = 10_000;

/**
 * grpc-js server credentials over a certificate and key that are re-read when their files
 * change. A renewal that fails to load is logged and the previous pair stays in use.
 */
class ReloadingServerCredentials extends ServerCredentials {
  private watching = false;

  constructor(
    private readonly cfg: GrpcServerTLSConfig,
    private readonly base: SecureContextOptions,
    private readonly logger: Logger,
  ) {
    const requireClientCert = cfg.clientCAFile !== '';
    super(
      { requestCert: requireClientCert, rejectUnauthorized: requireClientCert, minVersion: base.minVersion },
      { ...base, ...loadServerPair(cfg) },
    );
  }

  /** Starts watching the certificate and key files (grpc-js binds after this). */
  watch(): void {
    if (this.watching) return;
    this.watching = true;
    for (const f of [this.cfg.certFile, this.cfg.keyFile]) {
      watchFile(f, { interval: CERT_RELOAD_INTERVAL_MS, persistent: false }, this.reload);
    }
  }

  unwatch(): void {
    if (!this.watching) return;
    this.watching = false;
    for (const f of [this.cfg.certFile, this.cfg.keyFile]) unwatchFile(f, this.reload);
  }

  private readonly reload = (): void => {
    try {
      this.updateSecureContextOptions({ ...this.base, ...loadServerPair(this.cfg) });
      this.logger.info({ cert: this.cfg.certFile }, 'reloaded the gRPC server certificate');
    } catch (err) {
      this.logger.error({ err, cert: this.cfg.certFile }, 'reload the gRPC server certificate; keeping the previous one');
    }
  };

  _equals(other: ServerCredentials): boolean {
    return this === other;
  }
}

function loadServerPair(cfg: GrpcServerTLSConfig): SecureContextOptions {
  const pair = { cert: readFile(cfg.certFile, 'server credentials'), key: readFile(cfg.keyFile, 'server credentials') };
  try {
    createSecureContext(pair); // checks that the key belongs to the certificate
  } catch (err) {
    throw new UserError(`server credentials: ${(err as Error).message}`);
  }
  return pair;
}

/** Server credentials with file watching that StoreServer stops with the server. */
export interface StoreServerCredentials {
  credentials: ServerCredentials;
  /** Starts watching the certificate files for renewals. */
  watch(): void;
  /** Stops watching the certificate files. */
  close(): void;
}

/**
 * Credentials of a gRPC server: plain text without TLS settings; otherwise TLS of at least
 * the minimum version, with client certificates required and verified against the client
 * CA when one is given. Throws UserError naming what could not be loaded.
 */
export function storeServerCredentials(tls: GrpcServerTLSConfig | undefined, logger: Logger = nopLogger()): StoreServerCredentials {
  if (!tls) {
    logger.info({ protocol: 'gRPC' }, 'disabled TLS, key and cert must be set to enable');
    return { credentials: ServerCredentials.createInsecure(), watch: () => {}, close: () => {} };
  }
  const base: SecureContextOptions = { minVersion: nodeTLSVersion(tls.minVersion) };
  if (tls.clientCAFile !== '') base.ca = readFile(tls.clientCAFile, 'reading client CA');
  const creds = new ReloadingServerCredentials(tls, base, logger);
  logger.info({ protocol: 'gRPC', clientVerification: tls.clientCAFile !== '' }, 'enabling server side TLS');
  return { credentials: creds, watch: () => creds.watch(), close: () => creds.unwatch() };
}

/** What a StoreClient dials with. */
export interface GrpcClientTransport {
  credentials: ChannelCredentials;
  channelOptions: ChannelOptions;
  /**
   * The same settings for the lean HTTP/2 channel of Series calls (h2-channel.ts):
   * `{}` plain text, `{ tls }` TLS; null when the channel cannot carry them (compression).
   */
  lean: { tls?: H2ChannelTLS } | null;
}

/**
 * Credentials and channel options of a gRPC client from plain settings: TLS when set
 * (CA or default roots, optional client certificate, skip-verify, server name), and
 * snappy compression of requests when asked for (the server then answers in snappy).
 * Throws UserError naming a file that could not be read.
 */
export function grpcClientTransport(cfg: GrpcClientConfig | undefined): GrpcClientTransport {
  const channelOptions: ChannelOptions = {};
  if (cfg?.compression === SNAPPY_COMPRESSION) {
    // Our grpc-js patch takes a registered codec's name here (patches/README.md).
    channelOptions['grpc.default_compression_algorithm'] = SNAPPY_COMPRESSION as unknown as number;
  }
  const tls = cfg?.tls;
  const leanable = cfg?.compression !== SNAPPY_COMPRESSION;
  if (!tls) return { credentials: credentials.createInsecure(), channelOptions, lean: leanable ? {} : null };
  const ctx: SecureContextOptions = { minVersion: nodeTLSVersion(tls.minVersion) };
  if (tls.caFile !== '') ctx.ca = readFile(tls.caFile, 'reading client CA');
  if (tls.certFile !== '') {
    ctx.cert = readFile(tls.certFile, 'client credentials');
    ctx.key = readFile(tls.keyFile, 'client credentials');
  }
  let secureContext;
  try {
    secureContext = createSecureContext(ctx);
  } catch (err) {
    throw new UserError(`client credentials: ${(err as Error).message}`);
  }
  const verify = tls.skipVerify ? { rejectUnauthorized: false, checkServerIdentity: (): undefined => undefined } : {};
  if (tls.serverName !== '') channelOptions['grpc.ssl_target_name_override'] = tls.serverName;
  const leanTLS: H2ChannelTLS = { secureContext, rejectUnauthorized: !tls.skipVerify };
  if (tls.serverName !== '') leanTLS.servername = tls.serverName;
  return { credentials: credentials.createFromSecureContext(secureContext, verify), channelOptions, lean: leanable ? { tls: leanTLS } : null };
}
