import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { UnavailableError } from '@thanos-ts/runtime';
import { crc32c, MatchType, newMatcher } from '@thanos-ts/tsdb';
import { CHUNKED_READ_CONTENT_TYPE, decodeReadRequest, encodeChunkedFrame, makeXorChunk, prometheus } from '@thanos-ts/storeapi';
import { PromClient } from './promclient.js';
import { parseChunkedReadResponse } from './chunked-series.js';
import type { RawChunkedSeries } from './chunked-series.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A fake Prometheus on loopback; counts the TCP connections it accepted. */
async function fakePrometheus(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server = createServer(handler);
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

function frames(n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const chunks = Array.from({ length: 3 }, (_, k) => {
      const c = makeXorChunk(k * 1_800_000, 120, 15_000, (j) => i * 1000 + j);
      return { minTimeMs: c.minTime, maxTimeMs: c.maxTime, type: 1, data: c.raw!.data };
    });
    out.push(encodeChunkedFrame({ chunkedSeries: [{ labels: [{ name: '__name__', value: 'm' }, { name: 'i', value: String(i) }], chunks }] }));
  }
  return out;
}

/** The message of a frame: after its uvarint length and CRC. */
function messageOf(frame: Uint8Array): Uint8Array {
  let len = 0;
  let p = 0;
  for (let mul = 1; ; mul *= 128) {
    const b = frame[p++];
    len += (b & 0x7f) * mul;
    if (b < 0x80) break;
  }
  return frame.subarray(p + 4, p + 4 + len);
}

/** Answers a remote read with `body`, written in pieces of `piece` bytes, each in its own tick. */
function streamBody(body: Uint8Array, piece: number) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', async () => {
      const rr = decodeReadRequest(Buffer.concat(parts));
      if (rr.acceptedResponseTypes[0] !== prometheus.ReadRequest.ResponseType.STREAMED_XOR_CHUNKS) res.writeHead(400).end('want streamed');
      res.writeHead(200, { 'Content-Type': CHUNKED_READ_CONTENT_TYPE });
      for (let p = 0; p < body.length; p += piece) {
        res.write(body.subarray(p, p + piece));
        await new Promise((r) => setImmediate(r));
      }
      res.end();
    });
  };
}

const query = { startTimestampMs: 0, endTimestampMs: 10, matchers: [{ type: 0, name: '__name__', value: 'm' }] };

async function collect(it: AsyncIterable<RawChunkedSeries[]>): Promise<RawChunkedSeries[]> {
  const out: RawChunkedSeries[] = [];
  for await (const f of it) out.push(...f);
  return out;
}

/** Series as comparable values: labels and, per chunk, its descriptor's view of the bytes. */
function summary(series: RawChunkedSeries[]): string[] {
  return series.map((s) => `${s.labels.map((l) => `${l.name}=${l.value}`).join(',')} ${s.chunksSize} ${Buffer.from(s.buf).toString('hex')}`);
}

describe('PromClient remote read over node:http', () => {
  it('reads frames split anyhow across reads, over one kept-alive connection', async () => {
    const fs = frames(8);
    const body = Buffer.concat(fs);
    const want = summary(fs.flatMap((f) => parseChunkedReadResponse(messageOf(f))));
    for (const piece of [1, 7, 1000, body.length]) {
      const prom = await fakePrometheus(streamBody(body, piece));
      const client = new PromClient(prom.url);
      try {
        for (let call = 0; call < 3; call++) expect(summary(await collect(client.remoteReadSeries(query))), `pieces of ${piece}`).toEqual(want);
        expect(prom.connections()).toBe(1);
      } finally {
        client.close();
      }
    }
  });

  it('names the frame and both checksums when a CRC does not match', async () => {
    const fs = frames(3);
    const corrupt = Buffer.concat(fs);
    corrupt[fs[0].length + fs[1].length - 1] ^= 0x10; // last byte of frame 1
    const prom = await fakePrometheus(streamBody(corrupt, 100));
    const client = new PromClient(prom.url);
    const got: RawChunkedSeries[] = [];
    const err = await (async () => {
      for await (const f of client.remoteReadSeries(query)) got.push(...f);
    })().catch((e: unknown) => e);
    client.close();
    expect(got).toHaveLength(1);
    expect(err).toBeInstanceOf(UnavailableError);
    const msg = messageOf(corrupt.subarray(fs[0].length, fs[0].length + fs[1].length));
    const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
    expect((err as Error).message).toBe(
      `remote read ${prom.url}/api/v1/read: remote read: frame 1 at byte ${fs[0].length}: checksum mismatch: ` +
        `frame says ${hex(crc32c(messageOf(fs[1])))}, data has ${hex(crc32c(msg))}`,
    );
  });

  it('fails a stream that ends inside a frame', async () => {
    const body = Buffer.concat(frames(2));
    const prom = await fakePrometheus((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': CHUNKED_READ_CONTENT_TYPE });
        res.end(body.subarray(0, body.length - 10));
      });
    });
    const client = new PromClient(prom.url);
    await expect(collect(client.remoteReadSeries(query))).rejects.toThrow(
      new RegExp(`^remote read ${prom.url}/api/v1/read: remote read: frame 1 at byte \\d+: truncated frame: stream ended after \\d+ of \\d+ bytes$`),
    );
    client.close();
  });

  it('maps HTTP errors, a dead server and silence to clear errors', async () => {
    const prom = await fakePrometheus((req, res) => {
      req.resume();
      if (req.url === '/api/v1/read') res.writeHead(500, 'Internal Server Error').end('internal meltdown');
      else if (req.url === '/prefix/api/v1/read') res.writeHead(400).end('bad matcher');
      else if (req.url?.startsWith('/slow')) setTimeout(() => res.end(), 5_000);
      else res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end('x');
    });
    const client = new PromClient(prom.url);
    const e500 = await collect(client.remoteReadSeries(query)).catch((e: unknown) => e);
    expect(e500).toBeInstanceOf(UnavailableError);
    expect((e500 as Error).message).toBe(`request ${prom.url}/api/v1/read: server returned HTTP status 500 Internal Server Error: internal meltdown`);
    await expect(collect(new PromClient(`${prom.url}/prefix/`).remoteReadSeries(query))).rejects.toThrow(
      `remote read ${prom.url}/prefix/api/v1/read: HTTP 400: bad matcher`,
    );
    await expect(collect(new PromClient(`${prom.url}/other`).remoteReadSeries(query))).rejects.toThrow(
      `remote read ${prom.url}/other/api/v1/read: unexpected content type application/x-protobuf, want streamed chunks`,
    );
    const slow = new PromClient(`${prom.url}/slow`, 200);
    const timeout = await collect(slow.remoteReadSeries(query)).catch((e: unknown) => e);
    expect(timeout).toBeInstanceOf(UnavailableError);
    expect((timeout as Error).message).toBe(`request ${prom.url}/slow/api/v1/read: no answer for 0.2s`);
    client.close();
    slow.close();

    const gone = await fakePrometheus(() => undefined);
    await new Promise((r) => servers.pop()!.close(r));
    const dead = new PromClient(gone.url);
    const refused = await collect(dead.remoteReadSeries(query)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UnavailableError);
    expect((refused as Error).message).toMatch(new RegExp(`^request ${gone.url}/api/v1/read: connect ECONNREFUSED`));
  });

  it('stops reading when the caller aborts, with the caller reason', async () => {
    const body = Buffer.concat(frames(50));
    const prom = await fakePrometheus(streamBody(body, 500));
    const client = new PromClient(prom.url);
    const ac = new AbortController();
    const reason = new DOMException('the client cancelled the call', 'AbortError');
    let n = 0;
    const err = await (async () => {
      for await (const f of client.remoteReadSeries(query, ac.signal)) {
        n += f.length;
        if (n === 2) ac.abort(reason);
      }
    })().catch((e: unknown) => e);
    expect(err).toBe(reason);
    expect(n).toBeLessThan(50);
    // The client is still usable.
    expect(await collect(client.remoteReadSeries(query))).toHaveLength(50);
    client.close();
  });

  it('reads the JSON APIs over the same connection', async () => {
    const prom = await fakePrometheus((req, res) => {
      req.resume();
      const u = new URL(req.url!, 'http://x');
      if (u.pathname === '/api/v1/labels') res.end(JSON.stringify({ status: 'success', data: [u.searchParams.get('match[]')] }));
      else if (u.pathname === '/api/v1/label/bad/values') res.writeHead(400).end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'no' }));
      else res.end('not json');
    });
    const client = new PromClient(prom.url);
    expect(await client.labelNames(-Infinity, Infinity, [newMatcher(MatchType.EQ, 'a', 'b')])).toEqual(['{a="b"}']);
    await expect(client.labelValues('bad', 0, 1, [])).rejects.toThrow(`request ${prom.url}/api/v1/label/bad/values: bad_data: no`);
    await expect(client.flags()).rejects.toThrow(`request ${prom.url}/api/v1/status/flags: HTTP 200: response is not JSON`);
    expect(prom.connections()).toBe(1);
    client.close();
  });
});
