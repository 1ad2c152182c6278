import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCerts } from '@thanos-ts/testutil';
import type { TestCerts } from '@thanos-ts/testutil';
import type { GrpcClientTLSConfig } from '@thanos-ts/runtime';
import { StoreClient } from './client.js';
import { Status, StoreAPIError } from './errors.js';
import { StoreServer } from './server.js';
import { FakeStore, makeSeries } from './testing.js';
import { grpcClientTransport, storeServerCredentials } from './tls.js';

const T0 = 1_700_000_000_000;
const ALL = { minTime: 0, maxTime: 9e15, matchers: [{ type: 2, name: '__name__', value: '.+' }] };

describe('StoreAPI over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'thanos-ts-tls-'));
  let certs: TestCerts;
  const store = new FakeStore({ series: makeSeries(50, { t0: T0 }), info: { ComponentType: 'sidecar', labelSets: [] } });
  let server: StoreServer;
  const clients: StoreClient[] = [];

  const tlsClient = (over: Partial<GrpcClientTLSConfig>, compression: 'snappy' | 'none' = 'none'): StoreClient => {
    const c = new StoreClient(server.address, {
      grpc: {
        compression,
        tls: { skipVerify: false, certFile: certs.clientCert, keyFile: certs.clientKey, caFile: certs.caCert, serverName: '', minVersion: '1.3', ...over },
      },
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    certs = makeTestCerts(dir);
    server = new StoreServer({
      address: '127.0.0.1:0',
      store,
      info: store,
      tls: { certFile: certs.serverCert, keyFile: certs.serverKey, clientCAFile: certs.caCert, minVersion: '1.3' },
    });
    await server.start();
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await server.stop(100);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a client with a certificate from the client CA', async () => {
    const c = tlsClient({});
    expect((await c.info({ timeoutMs: 5000 })).ComponentType).toBe('sidecar');
    let n = 0;
    for await (const r of c.series(ALL, { timeoutMs: 5000 })) if (r.series) n++;
    expect(n).toBe(50);
  });

  it('serves over snappy too', async () => {
    const c = tlsClient({}, 'snappy');
    let n = 0;
    for await (const r of c.series(ALL, { timeoutMs: 5000 })) if (r.series) n++;
    expect(n).toBe(50);
  });

  it('verifies the server by the name given instead of the dialled host', async () => {
    expect((await tlsClient({ serverName: 'localhost' }).info({ timeoutMs: 5000 })).ComponentType).toBe('sidecar');
    const err = await tlsClient({ serverName: 'elsewhere.test' }).info({ timeoutMs: 3000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreAPIError);
    expect((err as StoreAPIError).code).toBe(Status.UNAVAILABLE);
  });

  it('skips verification of the server when asked to', async () => {
    expect((await tlsClient({ caFile: '', skipVerify: true }).info({ timeoutMs: 5000 })).ComponentType).toBe('sidecar');
  });

  it('fails clients without a certificate, with one from another CA, or without TLS', async () => {
    const plain = new StoreClient(server.address);
    clients.push(plain);
    for (const c of [tlsClient({ certFile: '', keyFile: '' }), tlsClient({ certFile: certs.strangerCert, keyFile: certs.strangerKey }), plain]) {
      const err = await c.info({ timeoutMs: 3000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreAPIError);
      expect([Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED]).toContain((err as StoreAPIError).code);
    }
  });

  it('fails a server whose files do not load, naming them', () => {
    expect(() => storeServerCredentials({ certFile: join(dir, 'nope.crt'), keyFile: certs.serverKey, clientCAFile: '', minVersion: '1.3' })).toThrow(
      /^server credentials: .*nope\.crt/,
    );
    expect(() => storeServerCredentials({ certFile: certs.serverCert, keyFile: certs.clientKey, clientCAFile: '', minVersion: '1.3' })).toThrow(
      /^server credentials: .*key values mismatch/,
    );
    expect(() => storeServerCredentials({ certFile: certs.serverCert, keyFile: certs.serverKey, clientCAFile: join(dir, 'no-ca'), minVersion: '1.3' })).toThrow(
      /^reading client CA: /,
    );
  });

  it('fails a client whose files do not load, naming them', () => {
    const tls = { skipVerify: false, certFile: '', keyFile: '', caFile: join(dir, 'no-ca'), serverName: '', minVersion: '1.3' as const };
    expect(() => grpcClientTransport({ compression: 'none', tls })).toThrow(/^reading client CA: /);
    expect(() => grpcClientTransport({ compression: 'none', tls: { ...tls, caFile: '', certFile: join(dir, 'x.crt'), keyFile: certs.clientKey } })).toThrow(
      /^client credentials: /,
    );
  });
});
