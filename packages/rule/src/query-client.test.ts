import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { httpQueryFunc, parseQueryConfig } from './query-client.js';

describe('parseQueryConfig', () => {
  it('reads static and file SD addresses with scheme, path prefix and basic auth, as Thanos clientconfig', () => {
    const c = parseQueryConfig(`
- http_config:
    basic_auth: { username: u, password: p }
  static_configs: ["q1:9090", "q2:9090"]
  file_sd_configs: [{ files: ["/sd/*.json"], refresh_interval: 1m }]
  scheme: https
  path_prefix: /thanos/
`);
    expect(c.addresses).toEqual(['https://q1:9090/thanos', 'https://q2:9090/thanos']);
    expect(c.sdFiles).toEqual(['/sd/*.json']);
    expect(c.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(() => parseQueryConfig('a: 1')).toThrow(/expected a list/);
  });
});

describe('httpQueryFunc', () => {
  it('turns vectors and scalars into samples, tries the next endpoint when one fails, and stops at a bad query', async () => {
    const srv = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const q = u.searchParams.get('query');
      const body =
        q === 'scalar(1)'
          ? { status: 'success', data: { resultType: 'scalar', result: [1, '+Inf'] } }
          : q === 'bad('
            ? { status: 'error', errorType: 'bad_data', error: 'parse error' }
            : { status: 'success', data: { resultType: 'vector', result: [{ metric: { b: '2', a: '1' }, value: [1, '0.5'] }] } };
      res.writeHead(q === 'bad(' ? 400 : 200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const good = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    try {
      const q = httpQueryFunc(() => ['http://127.0.0.1:1', good], { method: 'GET' });
      for (let i = 0; i < 3; i++) expect(await q('up', 1000)).toEqual([{ labels: [{ name: 'a', value: '1' }, { name: 'b', value: '2' }], value: 0.5 }]);
      expect(await q('scalar(1)', 1000)).toEqual([{ labels: [], value: Infinity }]);
      await expect(q('bad(', 1000)).rejects.toThrow('bad_data: parse error');
    } finally {
      srv.close();
    }
  });
});
