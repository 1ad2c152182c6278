// The HTTP/2 framing under the gRPC server, frame by frame: a raw client on a TCP socket
// writes frames and reads what the server sends (node:http2 and Go's clients are in
// h2-server.test.ts).

import net from 'node:net';
import { ServerCredentials, status as Status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rng } from '@thanos-ts/testutil';
import { frameHeader } from './h2-conn.js';
import { GrpcServer, grpcFrame } from './h2-server.js';
import type { ServerCall } from './h2-server.js';
import { encodeHeaders, HpackDecoder } from './hpack.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

function frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([frameHeader(payload.length, type, flags, id), payload]);
}

function settings(pairs: [number, number][]): Buffer {
  const p = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([k, v], i) => {
    p.writeUInt16BE(k, 6 * i);
    p.writeUInt32BE(v, 6 * i + 2);
  });
  return frame(4, 0, 0, p);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** A raw HTTP/2 client: writes bytes, collects frames and the socket reads they came in. */
class RawClient {
  readonly frames: Frame[] = [];
  /** How many socket reads brought each frame (index of the read). */
  readonly readOf: number[] = [];
  closed = false;
  private reads = 0;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  readonly decoder = new HpackDecoder();

  constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.reads++;
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 9) {
        const len = this.buf.readUIntBE(0, 3);
        if (this.buf.length < 9 + len) break;
        this.frames.push({ type: this.buf[3], flags: this.buf[4], id: this.buf.readUInt32BE(5) & 0x7fffffff, payload: this.buf.subarray(9, 9 + len) });
        this.readOf.push(this.reads);
        this.buf = this.buf.subarray(9 + len);
      }
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => {});
  }

  static async open(port: number, extraSettings: [number, number][] = []): Promise<RawClient> {
    const sock = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const c = new RawClient(sock);
    sock.write(Buffer.concat([PREFACE, settings(extraSettings)]));
    // The server's SETTINGS, and its ACK of ours.
    await c.until((f) => f.type === 4 && (f.flags & 1) === 1);
    return c;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves with the first frame (from the start) matching, or rejects when the socket closes first. */
  async until(pred: (f: Frame) => boolean, from = 0): Promise<Frame> {
    for (;;) {
      const f = this.frames.slice(from).find(pred);
      if (f) return f;
      if (this.closed) throw new Error('connection closed');
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  async untilClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
  }

  headersOf(f: Frame): Record<string, string> {
    const h: Record<string, string> = {};
    this.decoder.decode(f.payload, (n, v) => (h[n] = v));
    return h;
  }

  /** HEADERS + DATA(END_STREAM) of a gRPC request on stream id. */
  request(id: number, path: string, msg: Buffer): void {
    const block = encodeHeaders([
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', path],
      [':authority', 'x'],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
    ]);
    this.sock.write(Buffer.concat([frame(1, 4, id, block), frame(0, 1, id, grpcFrame(msg))]));
  }
}

describe('H2 server connection, frame by frame', () => {
  const server = new GrpcServer({ maxRecvMsgSize: 1 << 20, maxSendMsgSize: 1 << 20 });
  let port = 0;
  const started: string[] = [];
  const cancelled: string[] = [];

  beforeAll(async () => {
    // Echo: answers the request's bytes, repeated as often as its first byte says (×1000).
    server.addMethod('/test.Echo/Echo', (call: ServerCall) => {
      const n = call.request.length > 0 ? call.request[0] : 1;
      call.write(Buffer.alloc(n * 1000, 7));
      call.end();
    });
    // Never answers: only a cancel ends it.
    server.addMethod('/test.Echo/Hang', (call: ServerCall) => {
      started.push(String(call.request));
      call.signal.addEventListener('abort', () => cancelled.push(String(call.request)));
    });
    port = await server.listen('127.0.0.1', 0, ServerCredentials.createInsecure());
  });
  afterAll(() => server.forceShutdown());

  it('sends a small answer (headers, message, trailers) in one write', async () => {
    const c = await RawClient.open(port);
    const from = c.frames.length;
    c.request(1, '/test.Echo/Echo', Buffer.from([1]));
    const trailers = await c.until((f) => f.type === 1 && f.id === 1 && (f.flags & 1) === 1, from);
    const mine = c.frames.slice(from).filter((f) => f.id === 1);
    expect(mine.map((f) => f.type)).toEqual([1, 0, 1]);
    expect(c.headersOf(mine[0])).toMatchObject({ ':status': '200', 'content-type': 'application/grpc' });
    expect(mine[1].payload.length).toBe(5 + 1000);
    expect(c.headersOf(trailers)).toEqual({ 'grpc-status': '0' });
    // All three came in the same socket read: one packet for the whole answer.
    const idx = c.frames.indexOf(mine[0]);
    expect(c.readOf[idx]).toBe(c.readOf[c.frames.indexOf(trailers)]);
    c.sock.destroy();
  });

  it('answers PING with its payload and SETTINGS with an ACK', async () => {
    const c = await RawClient.open(port);
    const from = c.frames.length;
    c.sock.write(Buffer.concat([frame(6, 0, 0, Buffer.from('12345678')), settings([[4, 100_000]])]));
    const ping = await c.until((f) => f.type === 6, from);
    expect(ping.flags & 1).toBe(1);
    expect(ping.payload.toString()).toBe('12345678');
    await c.until((f) => f.type === 4 && (f.flags & 1) === 1, from);
    c.sock.destroy();
  });

  it('holds DATA to the client window and sends the rest on WINDOW_UPDATE', async () => {
    // Stream window 1000 bytes: a 5,005-byte answer goes out 1000 bytes at a time.
    const c = await RawClient.open(port, [[4, 1000]]);
    const from = c.frames.length;
    c.request(1, '/test.Echo/Echo', Buffer.from([5]));
    await c.until((f) => f.type === 0 && f.id === 1, from);
    await new Promise((r) => setTimeout(r, 100));
    const data = (): number => c.frames.slice(from).filter((f) => f.type === 0 && f.id === 1).reduce((a, f) => a + f.payload.length, 0);
    expect(data()).toBe(1000);
    expect(c.frames.slice(from).some((f) => f.type === 1 && (f.flags & 1) === 1)).toBe(false);
    c.sock.write(frame(8, 0, 1, u32(10_000)));
    await c.until((f) => f.type === 1 && f.id === 1 && (f.flags & 1) === 1, from);
    expect(data()).toBe(5005);
    c.sock.destroy();
  });

  it('decodes a header block split over CONTINUATION frames', async () => {
    const c = await RawClient.open(port);
    const from = c.frames.length;
    const block = encodeHeaders([
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/test.Echo/Echo'],
      [':authority', 'x'],
      ['content-type', 'application/grpc'],
      ['x-padding', 'p'.repeat(40_000)],
    ]);
    c.sock.write(Buffer.concat([frame(1, 0, 1, block.subarray(0, 16_000)), frame(9, 0, 1, block.subarray(16_000, 32_000)), frame(9, 4, 1, block.subarray(32_000)), frame(0, 1, 1, grpcFrame(Buffer.from([2])))]));
    const t = await c.until((f) => f.type === 1 && f.id === 1 && (f.flags & 1) === 1, from);
    expect(c.headersOf(t)).toEqual({ 'grpc-status': '0' });
    c.sock.destroy();
  });

  it('cancels the call when the client resets its stream', async () => {
    const c = await RawClient.open(port);
    c.request(1, '/test.Echo/Hang', Buffer.from('reset-me'));
    await expect.poll(() => started.includes('reset-me')).toBe(true);
    c.sock.write(frame(3, 0, 1, u32(0x8)));
    await expect.poll(() => cancelled.includes('reset-me')).toBe(true);
    c.sock.destroy();
  });

  it('cancels the calls of a connection that drops', async () => {
    const c = await RawClient.open(port);
    c.request(1, '/test.Echo/Hang', Buffer.from('dropped'));
    await expect.poll(() => started.includes('dropped')).toBe(true);
    c.sock.destroy();
    await expect.poll(() => cancelled.includes('dropped')).toBe(true);
  });

  it('ends a connection with GOAWAY and the reason on protocol errors', async () => {
    const cases: [string, Buffer, number][] = [
      ['a frame larger than 16 KiB', frame(0, 0, 1, Buffer.alloc(20_000)), 0x6],
      ['DATA on stream 0', frame(0, 0, 0, Buffer.alloc(1)), 0x1],
      ['an even stream id', frame(1, 4, 2, encodeHeaders([[':method', 'POST']])), 0x1],
      ['a malformed header block', frame(1, 4, 1, Buffer.from([0x80])), 0x9],
      ['PUSH_PROMISE', frame(5, 4, 1, Buffer.alloc(4)), 0x1],
      ['HEADERS interrupted by another frame', Buffer.concat([frame(1, 0, 1, encodeHeaders([[':method', 'POST']])), frame(6, 0, 0, Buffer.alloc(8))]), 0x1],
    ];
    for (const [what, bytes, code] of cases) {
      const c = await RawClient.open(port);
      c.sock.write(bytes);
      const g = await c.until((f) => f.type === 7);
      expect(g.payload.readUInt32BE(4), what).toBe(code);
      await c.untilClosed();
    }
  });

  it('survives random frames: each connection ends or goes on, and the server keeps serving', async () => {
    const rnd = rng(15);
    for (let i = 0; i < 150; i++) {
      const c = await RawClient.open(port);
      const parts: Buffer[] = [];
      for (let k = 0, n = 1 + Math.floor(rnd() * 6); k < n; k++) {
        const type = Math.floor(rnd() * 11);
        const len = Math.floor(rnd() * 40);
        const payload = Buffer.from(Array.from({ length: len }, () => Math.floor(rnd() * 256)));
        parts.push(frame(type, Math.floor(rnd() * 256), Math.floor(rnd() * 6), type === 1 && rnd() < 0.5 ? encodeHeaders([[':path', '/test.Echo/Echo']]) : payload));
      }
      c.sock.write(Buffer.concat(parts));
      await new Promise((r) => setTimeout(r, 2));
      c.sock.destroy();
    }
    const c = await RawClient.open(port);
    c.request(1, '/test.Echo/Echo', Buffer.from([1]));
    const t = await c.until((f) => f.type === 1 && f.id === 1 && (f.flags & 1) === 1);
    expect(c.headersOf(t)).toEqual({ 'grpc-status': '0' });
    c.sock.destroy();
  });

  it('closes a connection whose preface is not HTTP/2', async () => {
    const sock = net.connect(port, '127.0.0.1');
    const c = new RawClient(sock);
    sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const g = await c.until((f) => f.type === 7);
    expect(g.payload.readUInt32BE(4)).toBe(0x1);
    await c.untilClosed();
  });

  it('refuses new streams after GOAWAY and finishes the ones in flight', async () => {
    const other = new GrpcServer({ maxRecvMsgSize: 1 << 20, maxSendMsgSize: 1 << 20 });
    let finish: (() => void) | null = null;
    other.addMethod('/test.Echo/Slow', (call: ServerCall) => {
      finish = () => {
        call.write(Buffer.from('done'));
        call.end();
      };
    });
    const p = await other.listen('127.0.0.1', 0, ServerCredentials.createInsecure());
    const c = await RawClient.open(p);
    c.request(1, '/test.Echo/Slow', Buffer.from('x'));
    await expect.poll(() => finish !== null).toBe(true);
    const down = other.shutdown(10_000);
    const g = await c.until((f) => f.type === 7);
    expect(g.payload.readUInt32BE(0)).toBe(1);
    expect(g.payload.readUInt32BE(4)).toBe(0);
    c.request(3, '/test.Echo/Slow', Buffer.from('y'));
    const rst = await c.until((f) => f.type === 3 && f.id === 3);
    expect(rst.payload.readUInt32BE(0)).toBe(0x7);
    finish!();
    const t = await c.until((f) => f.type === 1 && f.id === 1 && (f.flags & 1) === 1);
    expect(c.headersOf(t)['grpc-status']).toBe(String(Status.OK));
    await down;
    await c.untilClosed();
  });
});
