// The transport flags every component shares, as Thanos spells them (cmd/thanos/config.go
// grpcConfig, grpcClientConfig, httpConfig): TLS for gRPC servers, TLS and compression for
// gRPC clients, and the HTTP server's --http.config. Components spread these specs into
// their flag lists and read them back with the functions below, which check the settings
// as Thanos does (pkg/tls) and return plain data: the files are read where the server or
// client is built, so the settings can cross worker threads.

import { UserError } from './errors.js';
import type { FlagSpec, FlagValues } from './flags.js';

/** TLS versions as Thanos's flags name them (pkg/tls AllowedTLSVersions). */
export const TLS_VERSIONS = ['1.0', '1.1', '1.2', '1.3'] as const;
export type TLSVersionName = (typeof TLS_VERSIONS)[number];

/** --grpc-compression values (Thanos: snappy.Name, compressionNone). */
export const GRPC_COMPRESSIONS = ['snappy', 'none'] as const;
export type GrpcCompressionName = (typeof GRPC_COMPRESSIONS)[number];

/** TLS of a gRPC server; absent: plain text. */
export interface GrpcServerTLSConfig {
  certFile: string;
  keyFile: string;
  /** When set, clients must present a certificate signed by one of these CAs. */
  clientCAFile: string;
  minVersion: TLSVersionName;
}

/** How a gRPC client dials its servers. */
export interface GrpcClientConfig {
  /** TLS towards the servers; absent: plain text. */
  tls?: GrpcClientTLSConfig;
  compression: GrpcCompressionName;
}

export interface GrpcClientTLSConfig {
  /** Do not verify the server's certificate chain and name. */
  skipVerify: boolean;
  /** Client certificate and key, both or neither ('' = none). */
  certFile: string;
  keyFile: string;
  /** CAs to verify servers against ('' = the default roots). */
  caFile: string;
  /** Name to verify the server certificate against instead of the dialled host ('' = the host). */
  serverName: string;
  minVersion: TLSVersionName;
}

const versionsHelp = 'Allowed values: ["1.0", "1.1", "1.2", "1.3"]';

/** --grpc-server-tls-*: every component with a gRPC server. */
export const GRPC_SERVER_TLS_FLAGS: readonly FlagSpec[] = [
  { name: 'grpc-server-tls-cert', kind: 'string', default: '', placeholder: '<file>', help: 'TLS Certificate for gRPC server, leave blank to disable TLS' },
  { name: 'grpc-server-tls-key', kind: 'string', default: '', placeholder: '<file>', help: 'TLS Key for the gRPC server, leave blank to disable TLS' },
  { name: 'grpc-server-tls-client-ca', kind: 'string', default: '', placeholder: '<file>', help: 'TLS CA to verify clients against. If no client CA is specified, there is no client verification on server side. (tls.NoClientCert)' },
  { name: 'grpc-server-tls-min-version', kind: 'string', default: '1.3', placeholder: '<version>', help: `TLS supported minimum version for gRPC server. If no version is specified, it'll default to 1.3. ${versionsHelp}` },
];

/** --grpc-client-* and --grpc-compression: components that dial StoreAPI endpoints. */
export const GRPC_CLIENT_FLAGS: readonly FlagSpec[] = [
  { name: 'grpc-client-tls-secure', kind: 'bool', default: false, help: 'Use TLS when talking to the gRPC server' },
  { name: 'grpc-client-tls-skip-verify', kind: 'bool', default: false, help: 'Disable TLS certificate verification i.e self signed, signed by fake CA' },
  { name: 'grpc-client-tls-cert', kind: 'string', default: '', placeholder: '<file>', help: 'TLS Certificates to use to identify this client to the server' },
  { name: 'grpc-client-tls-key', kind: 'string', default: '', placeholder: '<file>', help: "TLS Key for the client's certificate" },
  { name: 'grpc-client-tls-ca', kind: 'string', default: '', placeholder: '<file>', help: 'TLS CA Certificates to use to verify gRPC servers' },
  { name: 'grpc-client-server-name', kind: 'string', default: '', placeholder: '<name>', help: 'Server name to verify the hostname on the returned gRPC certificates. See https://tools.ietf.org/html/rfc4366#section-3.1' },
  { name: 'grpc-client-tls-min-version', kind: 'string', default: '1.3', placeholder: '<version>', help: `TLS supported minimum version for gRPC client. If no version is specified, it'll default to 1.3. ${versionsHelp}` },
  { name: 'grpc-compression', kind: 'string', default: 'none', placeholder: '<compression>', help: 'Compression algorithm to use for gRPC requests to other clients. Must be one of: snappy, none' },
];

/** --http.config: every component's HTTP server. */
export const HTTP_CONFIG_FLAGS: readonly FlagSpec[] = [
  { name: 'http.config', kind: 'string', default: '', placeholder: '<file>', help: '[EXPERIMENTAL] Path to the configuration file that can enable TLS or authentication for all HTTP endpoints.' },
];

function enumFlag<T extends string>(f: FlagValues, name: string, allowed: readonly T[]): T {
  const v = f.str(name);
  if ((allowed as readonly string[]).includes(v)) return v as T;
  // kingpin's wording for a bad enum value.
  throw new UserError(`--${name}: enum value must be one of ${allowed.join(',')}, got '${v}'`);
}

/**
 * The gRPC server's TLS from --grpc-server-tls-*, or undefined for plain text. Partial
 * settings fail as in Thanos (tls.NewServerConfig): a client CA without a certificate
 * and key, or only one of certificate and key. `prefix` and `what` serve other servers
 * with the same settings (the receiver's --remote-write.server-tls-*).
 */
export function grpcServerTLSFromFlags(f: FlagValues, prefix = 'grpc-server-', what = 'gRPC server'): GrpcServerTLSConfig | undefined {
  const certFile = f.str(`${prefix}tls-cert`);
  const keyFile = f.str(`${prefix}tls-key`);
  const clientCAFile = f.str(`${prefix}tls-client-ca`);
  const minVersion = enumFlag(f, `${prefix}tls-min-version`, TLS_VERSIONS);
  if (certFile === '' && keyFile === '') {
    if (clientCAFile !== '') throw new UserError(`setup ${what}: when a client CA is used a server key and certificate must also be provided`);
    return undefined;
  }
  if (certFile === '' || keyFile === '') throw new UserError(`setup ${what}: both server key and certificate must be provided`);
  return { certFile, keyFile, clientCAFile, minVersion };
}

/**
 * The gRPC client settings from --grpc-client-* and --grpc-compression. As in Thanos
 * (extgrpc.StoreClientTLSCredentials), TLS is used only with --grpc-client-tls-secure;
 * then a certificate needs its key and the other way round. `prefix` and
 * `compressionFlag` serve clients with the same settings under other names (the
 * receiver's --remote-write.client-* and --receive.grpc-compression).
 */
export function grpcClientConfigFromFlags(f: FlagValues, prefix = 'grpc-client-', compressionFlag = 'grpc-compression'): GrpcClientConfig {
  const compression = enumFlag(f, compressionFlag, GRPC_COMPRESSIONS);
  const minVersion = enumFlag(f, `${prefix}tls-min-version`, TLS_VERSIONS);
  if (!f.bool(`${prefix}tls-secure`)) return { compression };
  const certFile = f.str(`${prefix}tls-cert`);
  const keyFile = f.str(`${prefix}tls-key`);
  if ((certFile === '') !== (keyFile === '')) throw new UserError('both client key and certificate must be provided');
  return {
    compression,
    tls: {
      skipVerify: f.bool(`${prefix}tls-skip-verify`),
      certFile,
      keyFile,
      caFile: f.str(`${prefix}tls-ca`),
      serverName: f.str(`${prefix}server-name`),
      minVersion,
    },
  };
}

/** The --http.config file path ('' = plain HTTP without authentication). */
export function httpConfigFileFromFlags(f: FlagValues): string {
  return f.str('http.config');
}
