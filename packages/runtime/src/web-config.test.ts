import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSync } from 'bcryptjs';
import { makeTestCerts } from '@thanos-ts/testutil';
import type { TestCerts } from '@thanos-ts/testutil';
import { HttpServer } from './http-server.js';
import { nopLogger } from './logger.js';
import { createRegistry } from './metrics.js';
import { Prober } from './prober.js';
import { parseBasicAuth, parseWebConfig } from './web-config.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(url: string, o: { ca?: string; cert?: string; key?: string; auth?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        ca: o.ca ? readFileSync(o.ca) : undefined,
        cert: o.cert ? readFileSync(o.cert) : undefined,
        key: o.key ? readFileSync(o.key) : undefined,
        headers: o.auth ? { Authorization: 'Basic ' + Buffer.from(o.auth).toString('base64') } : {},
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('parseWebConfig', () => {
  const hash = hashSync('secret', 4);

  it('accepts an empty file: plain HTTP, no users', () => {
    const c = parseWebConfig('');
    expect(c.tls).toBeUndefined();
    expect(c.users.size).toBe(0);
    expect(c.http2).toBe(true);
  });

  it('rejects what exporter-toolkit rejects', () => {
    expect(() => parseWebConfig('foo: bar')).toThrow(/field foo not found in type web.Config/);
    expect(() => parseWebConfig('tls_server_config:\n  cert_file: x.crt\n')).toThrow(/missing one of key or key_file/);
    expect(() => parseWebConfig('tls_server_config:\n  key_file: x.key\n')).toThrow(/missing one of cert or cert_file/);
    expect(() => parseWebConfig('tls_server_config:\n  min_version: TLS14\n')).toThrow(/unknown TLS version: TLS14/);
    expect(() => parseWebConfig('tls_server_config:\n  cipher_suites: [TLS_FANCY]\n')).toThrow(/unknown cipher: TLS_FANCY/);
    expect(() => parseWebConfig('http_server_config:\n  headers:\n    X-Frame-Options: allow\n')).toThrow(/invalid value for X-Frame-Options/);
    expect(() => parseWebConfig('http_server_config:\n  headers:\n    Server: me\n')).toThrow(/HTTP header "Server" can not be configured/);
    expect(() => parseWebConfig('basic_auth_users:\n  alice: plain\n')).toThrow(/crypto\/bcrypt/);
    expect(parseWebConfig(`basic_auth_users:\n  alice: ${hash}\n`).users.get('alice')).toBe(hash);
  });

  it('parses basic auth headers as Go does', () => {
    expect(parseBasicAuth('Basic ' + Buffer.from('a:b:c').toString('base64'))).toEqual({ user: 'a', pass: 'b:c' });
    expect(parseBasicAuth('basic ' + Buffer.from('a:').toString('base64'))).toEqual({ user: 'a', pass: '' });
    expect(parseBasicAuth('Bearer x')).toBeNull();
    expect(parseBasicAuth('Basic ' + Buffer.from('nocolon').toString('base64'))).toBeNull();
  });
});

describe('HttpServer with --http.config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'thanos-ts-webcfg-'));
  let certs: TestCerts;
  let server: HttpServer;
  let base = '';
  const cfgFile = join(dir, 'web.yml');

  beforeAll(async () => {
    certs = makeTestCerts(dir);
    writeFileSync(
      cfgFile,
      [
        'tls_server_config:',
        '  cert_file: server.crt', // relative to the config file
        '  key_file: server.key',
        '  client_auth_type: RequireAndVerifyClientCert',
        '  client_ca_file: ca.crt',
        'http_server_config:',
        '  headers:',
        '    X-Frame-Options: deny',
        'basic_auth_users:',
        `  alice: ${hashSync('wonderland', 4)}`,
      ].join('\n'),
    );
    const prober = new Prober();
    prober.healthy();
    prober.ready();
    server = new HttpServer({ address: '127.0.0.1:0', registry: createRegistry('test'), prober, logger: nopLogger(), webConfigFile: cfgFile });
    server.route('/hello', (_req, res) => {
      res.writeHead(200);
      res.end('hi');
    });
    await server.start();
    base = `https://localhost:${server.address().split(':').pop()}`;
  });

  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const tlsOpts = (): { ca: string; cert: string; key: string } => ({ ca: certs.caCert, cert: certs.clientCert, key: certs.clientKey });

  it('answers with the right credentials over TLS with a client certificate', async () => {
    const r = await get(`${base}/hello`, { ...tlsOpts(), auth: 'alice:wonderland' });
    expect(r.status).toBe(200);
    expect(r.body).toBe('hi');
    expect(r.headers['x-frame-options']).toBe('deny');
  });

  it('answers 401 with WWW-Authenticate: Basic for wrong, unknown or missing credentials, health included', async () => {
    for (const auth of ['alice:wrong', 'bob:wonderland', undefined]) {
      for (const path of ['/hello', '/-/healthy', '/-/ready', '/metrics']) {
        const r = await get(`${base}${path}`, { ...tlsOpts(), auth });
        expect(r.status, `${path} ${auth}`).toBe(401);
        expect(r.headers['www-authenticate']).toBe('Basic');
        expect(r.body).toBe('Unauthorized\n');
      }
    }
    expect((await get(`${base}/-/healthy`, { ...tlsOpts(), auth: 'alice:wonderland' })).status).toBe(200);
  });

  it('refuses clients without a certificate from the client CA', async () => {
    await expect(get(`${base}/hello`, { ca: certs.caCert, auth: 'alice:wonderland' })).rejects.toThrow();
    await expect(get(`${base}/hello`, { ca: certs.caCert, cert: certs.strangerCert, key: certs.strangerKey, auth: 'alice:wonderland' })).rejects.toThrow();
  });

  it('picks up changed users without a restart', async () => {
    const text = readFileSync(cfgFile, 'utf8');
    writeFileSync(cfgFile, text.replace(/alice: .*/, `alice: ${hashSync('looking-glass', 4)}`));
    try {
      expect((await get(`${base}/hello`, { ...tlsOpts(), auth: 'alice:looking-glass' })).status).toBe(200);
      expect((await get(`${base}/hello`, { ...tlsOpts(), auth: 'alice:wonderland' })).status).toBe(401);
    } finally {
      writeFileSync(cfgFile, text);
    }
  });

  it('fails to start on a bad file', async () => {
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n');
    const s = new HttpServer({ address: '127.0.0.1:0', registry: createRegistry('test'), prober: new Prober(), logger: nopLogger(), webConfigFile: bad });
    await expect(s.start()).rejects.toThrow(/^http.config: failed to read cert_file/);
  });
});
