import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, createRegistry, HttpServer, jsonLineToLogfmt, nopLogger, parseHostPort, Prober } from './index.js';

describe('logger', () => {
  it('renders logfmt lines like Thanos', () => {
    expect(jsonLineToLogfmt('{"level":"info","ts":"2024-01-01T00:00:00.000Z","component":"sidecar","msg":"starting up"}')).toBe(
      'ts=2024-01-01T00:00:00.000Z level=info component=sidecar msg="starting up"',
    );
  });
  it('keeps err fields that are strings or errors', () => {
    expect(jsonLineToLogfmt('{"level":"warn","msg":"x","err":"boom"}')).toBe('level=warn msg=x err=boom');
    expect(jsonLineToLogfmt('{"level":"warn","msg":"x","err":{"type":"Error","message":"bad thing"}}')).toBe('level=warn msg=x err="bad thing"');
  });
  it('writes json with level names and ts', async () => {
    const out = new PassThrough();
    const lines: string[] = [];
    out.on('data', (b: Buffer) => lines.push(b.toString()));
    const log = createLogger({ format: 'json', level: 'debug', destination: out });
    log.debug({ block: 'x' }, 'hello');
    await new Promise((r) => setTimeout(r, 10));
    const obj = JSON.parse(lines.join(''));
    expect(obj).toMatchObject({ level: 'debug', block: 'x', msg: 'hello' });
    expect(typeof obj.ts).toBe('string');
  });
  it('rejects unknown levels and formats', () => {
    expect(() => createLogger({ level: 'loud' as never })).toThrow(/log.level/);
    expect(() => createLogger({ format: 'xml' as never })).toThrow(/log.format/);
  });
});

describe('http server', () => {
  it('serves /metrics, /-/healthy and /-/ready', async () => {
    const prober = new Prober();
    const srv = new HttpServer({ address: '127.0.0.1:0', registry: createRegistry('test'), prober, logger: nopLogger() });
    srv.route('/api/v1/x', (_req, res) => res.end('x'));
    await srv.start();
    const base = `http://${srv.address()}`;
    try {
      expect((await fetch(`${base}/-/healthy`)).status).toBe(503);
      prober.healthy();
      expect((await fetch(`${base}/-/healthy`)).status).toBe(200);
      const notReady = await fetch(`${base}/-/ready`);
      expect(notReady.status).toBe(503);
      prober.ready();
      expect(await (await fetch(`${base}/-/ready`)).text()).toBe('OK');
      expect(await (await fetch(`${base}/metrics`)).text()).toContain('thanos_build_info{');
      expect(await (await fetch(`${base}/api/v1/x`)).text()).toBe('x');
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      await srv.stop();
    }
  });
  it('answers request targets that are not plain paths instead of failing on them', async () => {
    const prober = new Prober();
    prober.healthy();
    const srv = new HttpServer({ address: '127.0.0.1:0', registry: createRegistry('test'), prober, logger: nopLogger() });
    srv.route('/api/v1/x', (_req, res) => res.end('x'));
    await srv.start();
    const { request } = await import('node:http');
    const get = (path: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const [host, port] = srv.address().split(':');
        request({ host, port: Number(port), path }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
    try {
      // "//" and "//host/x" once threw in new URL() before any handler ran, and the
      // rejection took the process down.
      expect(await get('//')).toBe(404);
      expect(await get('//evil.example/api/v1/x')).toBe(404);
      expect(await get('/api/v1/x')).toBe(200);
      expect(await get('/-/healthy')).toBe(200);
    } finally {
      await srv.stop();
    }
  });
  it('parses listen addresses', () => {
    expect(parseHostPort(':10902', 'f')).toEqual({ host: '0.0.0.0', port: 10902 });
    expect(parseHostPort('[::1]:9090', 'f')).toEqual({ host: '::1', port: 9090 });
    expect(() => parseHostPort('nope', 'http-address')).toThrow('http-address: invalid address "nope"');
  });
});
