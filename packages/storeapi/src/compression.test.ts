import { connect, createServer, constants as h2 } from 'node:http2';
import type { Http2Server, IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreClient } from './client.js';
import { Status } from './errors.js';
import { thanos } from './proto.js';
import { StoreServer } from './server.js';
import { snappyStreamDecode, snappyStreamEncode } from './snappy-stream.js';
import { FakeStore, makeSeries } from './testing.js';

const T0 = 1_700_000_000_000;
const ALL = { minTime: 0, maxTime: 9e15, matchers: [{ type: 2, name: '__name__', value: '.+' }] };
const MAGIC = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);

/** A gRPC length-prefixed message. */
function frame(compressed: boolean, body: Uint8Array): Buffer {
  const h = Buffer.alloc(5);
  h[0] = compressed ? 1 : 0;
  h.writeUInt32BE(body.length, 1);
  return Buffer.concat([h, body]);
}

/** One unary call over a raw HTTP/2 client: response headers, body and trailers. */
async function rawCall(
  address: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ headers: IncomingHttpHeaders; body: Buffer; trailers: IncomingHttpHeaders }> {
  const session = connect(`http://${address}`);
  try {
    const req = session.request({
      [h2.HTTP2_HEADER_METHOD]: 'POST',
      [h2.HTTP2_HEADER_PATH]: path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    let resHeaders: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (resHeaders = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.end(body);
    await new Promise<void>((resolve, reject) => {
      req.on('end', resolve);
      req.on('error', reject);
    });
    return { headers: resHeaders, body: Buffer.concat(chunks), trailers };
  } finally {
    session.close();
  }
}

describe('snappy gRPC compression', () => {
  // Long label values so a Series answer spans several 64 KiB snappy chunks.
  const series = makeSeries(2_000, { t0: T0 });
  const store = new FakeStore({ series, info: { ComponentType: 'store', labelSets: [] } });
  const server = new StoreServer({ address: '127.0.0.1:0', store, info: store });

  beforeAll(() => server.start());
  afterAll(() => server.stop(100));

  it('answers a snappy request in snappy, framed as golang/snappy frames it', async () => {
    const req = thanos.LabelNamesRequest.encode({ start: 0, end: 9e15 }).finish();
    const res = await rawCall(server.address, '/thanos.Store/LabelNames', { 'grpc-encoding': 'snappy', 'grpc-accept-encoding': 'snappy' }, frame(true, snappyStreamEncode(req)));
    expect(res.headers['grpc-encoding']).toBe('snappy');
    expect(String(res.headers['grpc-accept-encoding']).split(',')).toContain('snappy');
    expect(res.trailers['grpc-status']).toBe('0');
    expect(res.body[0]).toBe(1); // compressed flag
    const msg = res.body.subarray(5, 5 + res.body.readUInt32BE(1));
    expect(msg.subarray(0, 10).equals(MAGIC)).toBe(true);
    const names = thanos.LabelNamesResponse.decode(snappyStreamDecode(msg)).names;
    expect(names).toContain('__name__');
  });

  it('answers an uncompressed request uncompressed, advertising snappy', async () => {
    const req = thanos.LabelNamesRequest.encode({ start: 0, end: 9e15 }).finish();
    const res = await rawCall(server.address, '/thanos.Store/LabelNames', {}, frame(false, Buffer.from(req)));
    expect(res.headers['grpc-encoding']).toBe('identity');
    expect(String(res.headers['grpc-accept-encoding']).split(',')).toContain('snappy');
    expect(res.body[0]).toBe(0);
  });

  it('fails a corrupt snappy request with INTERNAL', async () => {
    const res = await rawCall(server.address, '/thanos.Store/LabelNames', { 'grpc-encoding': 'snappy' }, frame(true, Buffer.from([1, 2, 3, 4, 5])));
    expect(res.trailers['grpc-status'] ?? res.headers['grpc-status']).toBe(String(Status.INTERNAL));
  });

  it('StoreClient with snappy streams Series from our server', async () => {
    const client = new StoreClient(server.address, { grpc: { compression: 'snappy' } });
    try {
      let n = 0;
      for await (const r of client.series(ALL, { timeoutMs: 10_000 })) if (r.series) n++;
      expect(n).toBe(series.length);
      expect((await client.labelValues({ label: '__name__', start: 0, end: 9e15 })).values.length).toBeGreaterThan(0);
    } finally {
      client.close();
    }
  });

  describe('StoreClient with snappy on the wire', () => {
    let raw: Http2Server;
    const seen: { headers: IncomingHttpHeaders; body: Buffer }[] = [];
    let address = '';

    beforeAll(async () => {
      raw = createServer();
      raw.on('stream', (stream, headers) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          seen.push({ headers, body: Buffer.concat(chunks) });
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(Status.UNIMPLEMENTED), 'grpc-message': 'recorded' }));
          stream.end();
        });
      });
      await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
      address = `127.0.0.1:${(raw.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((r) => raw.close(() => r())));

    it('sends requests snappy-framed with grpc-encoding: snappy', async () => {
      const client = new StoreClient(address, { grpc: { compression: 'snappy' } });
      try {
        await client.labelValues({ label: 'job', start: 1, end: 2 }).catch(() => {});
      } finally {
        client.close();
      }
      const { headers, body } = seen[seen.length - 1];
      expect(headers['grpc-encoding']).toBe('snappy');
      expect(String(headers['grpc-accept-encoding']).split(',')).toContain('snappy');
      expect(body[0]).toBe(1);
      const msg = body.subarray(5, 5 + body.readUInt32BE(1));
      expect(msg.subarray(0, 10).equals(MAGIC)).toBe(true);
      expect(thanos.LabelValuesRequest.decode(snappyStreamDecode(msg)).label).toBe('job');
    });

    it('sends plain requests without --grpc-compression', async () => {
      const client = new StoreClient(address);
      try {
        await client.labelValues({ label: 'job', start: 1, end: 2 }).catch(() => {});
      } finally {
        client.close();
      }
      const { headers, body } = seen[seen.length - 1];
      expect(headers['grpc-encoding']).toBeUndefined();
      expect(body[0]).toBe(0);
    });
  });
});
