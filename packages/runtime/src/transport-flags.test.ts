import { describe, expect, it } from 'vitest';
import { FlagValues } from './flags.js';
import { GRPC_CLIENT_FLAGS, GRPC_SERVER_TLS_FLAGS, grpcClientConfigFromFlags, grpcServerTLSFromFlags } from './transport-flags.js';

const server = (v: Record<string, unknown>): ReturnType<typeof grpcServerTLSFromFlags> => grpcServerTLSFromFlags(new FlagValues(v, GRPC_SERVER_TLS_FLAGS));
const client = (v: Record<string, unknown>): ReturnType<typeof grpcClientConfigFromFlags> => grpcClientConfigFromFlags(new FlagValues(v, GRPC_CLIENT_FLAGS));

describe('gRPC server TLS flags', () => {
  it('is plain text without certificate and key', () => {
    expect(server({})).toBeUndefined();
  });

  it('takes certificate, key, client CA and min version (default 1.3)', () => {
    expect(server({ 'grpc-server-tls-cert': 'c', grpcServerTlsKey: 'k', 'grpc-server-tls-client-ca': 'ca' })).toEqual({
      certFile: 'c',
      keyFile: 'k',
      clientCAFile: 'ca',
      minVersion: '1.3',
    });
    expect(server({ 'grpc-server-tls-cert': 'c', 'grpc-server-tls-key': 'k', 'grpc-server-tls-min-version': '1.2' })?.minVersion).toBe('1.2');
  });

  it('fails partial settings as Thanos does', () => {
    expect(() => server({ 'grpc-server-tls-cert': 'c' })).toThrow('setup gRPC server: both server key and certificate must be provided');
    expect(() => server({ 'grpc-server-tls-key': 'k' })).toThrow('both server key and certificate must be provided');
    expect(() => server({ 'grpc-server-tls-client-ca': 'ca' })).toThrow('when a client CA is used a server key and certificate must also be provided');
    expect(() => server({ 'grpc-server-tls-min-version': '1.4' })).toThrow("--grpc-server-tls-min-version: enum value must be one of 1.0,1.1,1.2,1.3, got '1.4'");
  });
});

describe('gRPC client flags', () => {
  it('is plain text and uncompressed by default', () => {
    expect(client({})).toEqual({ compression: 'none' });
  });

  it('uses TLS only with --grpc-client-tls-secure, as Thanos', () => {
    expect(client({ 'grpc-client-tls-cert': 'c' })).toEqual({ compression: 'none' });
    expect(client({ 'grpc-client-tls-secure': true, 'grpc-client-tls-ca': 'ca', 'grpc-client-server-name': 'n', 'grpc-compression': 'snappy' })).toEqual({
      compression: 'snappy',
      tls: { skipVerify: false, certFile: '', keyFile: '', caFile: 'ca', serverName: 'n', minVersion: '1.3' },
    });
  });

  it('fails a certificate without its key and bad enums', () => {
    expect(() => client({ 'grpc-client-tls-secure': true, 'grpc-client-tls-cert': 'c' })).toThrow('both client key and certificate must be provided');
    expect(() => client({ 'grpc-client-tls-secure': true, 'grpc-client-tls-key': 'k' })).toThrow('both client key and certificate must be provided');
    expect(() => client({ 'grpc-compression': 'gzip' })).toThrow("--grpc-compression: enum value must be one of snappy,none, got 'gzip'");
  });
});
