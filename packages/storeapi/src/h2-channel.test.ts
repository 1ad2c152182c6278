import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status as Status } from '@grpc/grpc-js';
import { H2CallError, H2Channel } from './h2-channel.js';

function frame(payload: Buffer): Buffer {
  const f = Buffer.alloc(5 + payload.length);
  f.writeUInt32BE(payload.length, 1);
  payload.copy(f, 5);
  return f;
}

// A raw HTTP/2 server playing the gRPC server's part in the ways real servers answer.
let server: http2.Http2Server;
let address: string;
beforeAll(async () => {
  server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const path = headers[':path'];
    const body: Buffer[] = [];
    stream.on('data', (d: Buffer) => body.push(d));
    stream.on('end', () => {
      const req = Buffer.concat(body);
      switch (path) {
        case '/t/Echo': {
          // The request's payload three times, the frames cut at odd places.
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          const all = Buffer.concat([0, 1, 2].map((i) => frame(Buffer.concat([req.subarray(5), Buffer.from([i])]))));
          for (let off = 0; off < all.length; off += 3) stream.write(all.subarray(off, off + 3));
          stream.end();
          break;
        }
        case '/t/TrailersOnly':
          stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(Status.RESOURCE_EXHAUSTED), 'grpc-message': 'too%20many%20series' }, { endStream: true });
          break;
        case '/t/Http503':
          stream.respond({ ':status': 503 }, { endStream: true });
          break;
        case '/t/Hang':
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
          stream.write(frame(Buffer.from('first')));
          break;
        case '/t/Timeout':
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { endStream: true });
          break;
        default:
          stream.respond({ ':status': 404 }, { endStream: true });
      }
    });
    stream.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function collect(it: AsyncIterable<Buffer>): Promise<string[]> {
  const out: string[] = [];
  for await (const b of it) out.push(b.toString('latin1'));
  return out;
}

const opts = { deadline: Infinity, maxRecvMsgSize: 1 << 20 };

describe('H2Channel', () => {
  it('streams messages split across DATA frames, then succeeds on grpc-status 0', async () => {
    const ch = new H2Channel(address);
    expect(await collect(ch.serverStream('/t/Echo', Buffer.from('ab'), opts))).toEqual(['ab\x00', 'ab\x01', 'ab\x02']);
    // The session is reused for the next call.
    expect(await collect(ch.serverStream('/t/Echo', Buffer.from('c'), opts))).toEqual(['c\x00', 'c\x01', 'c\x02']);
    ch.close();
  });

  it('reads the status of a trailers-only answer, percent-decoded', async () => {
    const ch = new H2Channel(address);
    const err = await collect(ch.serverStream('/t/TrailersOnly', Buffer.alloc(0), opts)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(H2CallError);
    expect(err).toMatchObject({ code: Status.RESOURCE_EXHAUSTED, details: 'too many series' });
    ch.close();
  });

  it('maps an HTTP status without grpc-status as gRPC does', async () => {
    const ch = new H2Channel(address);
    await expect(collect(ch.serverStream('/t/Http503', Buffer.alloc(0), opts))).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    await expect(collect(ch.serverStream('/t/Nope', Buffer.alloc(0), opts))).rejects.toMatchObject({ code: Status.UNIMPLEMENTED });
    ch.close();
  });

  it('fails a response that ends without any status', async () => {
    const ch = new H2Channel(address);
    await expect(collect(ch.serverStream('/t/Timeout', Buffer.alloc(0), opts))).rejects.toMatchObject({ code: Status.UNKNOWN });
    ch.close();
  });

  it('refuses a message over the size limit', async () => {
    const ch = new H2Channel(address);
    await expect(collect(ch.serverStream('/t/Echo', Buffer.alloc(100), { ...opts, maxRecvMsgSize: 50 }))).rejects.toMatchObject({ code: Status.RESOURCE_EXHAUSTED });
    ch.close();
  });

  it('fails with DEADLINE_EXCEEDED when the server does not finish in time', async () => {
    const ch = new H2Channel(address);
    const got: string[] = [];
    const err = await (async () => {
      for await (const b of ch.serverStream('/t/Hang', Buffer.alloc(0), { ...opts, deadline: Date.now() + 200 })) got.push(b.toString());
    })().catch((e: unknown) => e);
    expect(got).toEqual(['first']);
    expect(err).toMatchObject({ code: Status.DEADLINE_EXCEEDED });
    ch.close();
  });

  it('throws the abort reason when the caller cancels', async () => {
    const ch = new H2Channel(address);
    const ac = new AbortController();
    const reason = new Error('client went away');
    const p = (async () => {
      for await (const _ of ch.serverStream('/t/Hang', Buffer.alloc(0), { ...opts, signal: ac.signal })) ac.abort(reason);
    })();
    await expect(p).rejects.toBe(reason);
    ch.close();
  });

  it('reports an endpoint that is not listening as UNAVAILABLE', async () => {
    const probe = http2.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const ch = new H2Channel(`127.0.0.1:${port}`);
    const err = await collect(ch.serverStream('/t/Echo', Buffer.from('x'), opts)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: Status.UNAVAILABLE });
    expect((err as H2CallError).details).toMatch(/ECONNREFUSED/);
    ch.close();
  });
});

// A gRPC-shaped server on Go's HTTP/2 stack (golang.org/x/net/http2, under grpc-go's
// transport and so under Thanos's stores and sidecars), h2c with prior knowledge. Its
// HPACK encoder indexes response fields into the dynamic table and Huffman-codes them.
const GO_SERVER = `package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"

	"golang.org/x/net/http2"
)

func frame(msg []byte) []byte {
	b := make([]byte, 5+len(msg))
	binary.BigEndian.PutUint32(b[1:], uint32(len(msg)))
	copy(b[5:], msg)
	return b
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println(ln.Addr().String())
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("content-type", "application/grpc")
		w.Header().Set("x-served-by", "go-http2-"+r.Header.Get("grpc-timeout"))
		switch r.URL.Path {
		case "/t/Count":
			w.Header().Set("Trailer", "grpc-status, grpc-message")
			w.WriteHeader(200)
			for i := 0; i < int(body[5]); i++ {
				w.Write(frame([]byte(fmt.Sprintf("message %d", i))))
				w.(http.Flusher).Flush()
			}
			w.Header().Set("grpc-status", "0")
		case "/t/Big":
			// 64 messages of 64 KiB: far past the initial windows.
			w.Header().Set("Trailer", "grpc-status")
			w.WriteHeader(200)
			msg := make([]byte, 64*1024)
			for i := 0; i < 64; i++ {
				msg[0] = byte(i)
				w.Write(frame(msg))
			}
			w.Header().Set("grpc-status", "0")
		case "/t/Size":
			// The request's size: the client had to wait for window to send it.
			w.Header().Set("Trailer", "grpc-status")
			w.WriteHeader(200)
			w.Write(frame([]byte(fmt.Sprint(len(body)))))
			w.Header().Set("grpc-status", "0")
		case "/t/Huge":
			// One message of 3 MiB: larger than the client's stream window.
			w.Header().Set("Trailer", "grpc-status")
			w.WriteHeader(200)
			msg := make([]byte, 3<<20)
			msg[len(msg)-1] = 42
			w.Write(frame(msg))
			w.Header().Set("grpc-status", "0")
		default:
			w.Header().Set("grpc-status", "9")
			w.Header().Set("grpc-message", "no%20such%20method")
			w.WriteHeader(200)
		}
	})
	srv := &http2.Server{}
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go srv.ServeConn(c, &http2.ServeConnOpts{Handler: h})
	}
}
`;

describe('H2Channel against a server on Go\'s HTTP/2 stack', () => {
  let dir = '';
  let proc: ChildProcess | null = null;
  let goAddress = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'thanos-ts-go-server-'));
    writeFileSync(join(dir, 'main.go'), GO_SERVER);
    const env = { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOFLAGS: '' };
    await promisify(execFile)('go', ['build', '-o', join(dir, 'server'), '.'], { cwd: dir, env });
    const p = spawn(join(dir, 'server'), [], { stdio: ['ignore', 'pipe', 'inherit'] });
    proc = p;
    goAddress = await new Promise<string>((resolve, reject) => {
      p.once('error', reject);
      p.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    });
  }, 120_000);
  afterAll(() => {
    proc?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams messages and reads the status from the trailers, call after call on one connection', async () => {
    const ch = new H2Channel(goAddress);
    for (let i = 0; i < 3; i++) {
      const got = await collect(ch.serverStream('/t/Count', Buffer.from([3]), { ...opts, deadline: Date.now() + 60_000 }));
      expect(got).toEqual(['message 0', 'message 1', 'message 2']);
    }
    ch.close();
  });

  it('takes an answer far past the initial flow-control windows', async () => {
    const ch = new H2Channel(goAddress);
    const got: Buffer[] = [];
    for await (const b of ch.serverStream('/t/Big', Buffer.alloc(0), { ...opts, maxRecvMsgSize: 1 << 20 })) got.push(b);
    expect(got.length).toBe(64);
    expect(got.map((b) => b[0])).toEqual([...Array(64).keys()]);
    expect(got.every((b) => b.length === 64 * 1024)).toBe(true);
    ch.close();
  });

  it('sends a request larger than the server\'s initial window', async () => {
    const ch = new H2Channel(goAddress);
    expect(await collect(ch.serverStream('/t/Size', Buffer.alloc(300_000, 1), opts))).toEqual([String(5 + 300_000)]);
    ch.close();
  });

  it('takes a message larger than its stream window', async () => {
    const ch = new H2Channel(goAddress);
    const got: Buffer[] = [];
    for await (const b of ch.serverStream('/t/Huge', Buffer.alloc(0), { ...opts, maxRecvMsgSize: 4 << 20, deadline: Date.now() + 30_000 })) got.push(b);
    expect(got.map((b) => b.length)).toEqual([3 << 20]);
    expect(got[0][(3 << 20) - 1]).toBe(42);
    ch.close();
  });

  it('reports a Trailers-Only status with its decoded message', async () => {
    const ch = new H2Channel(goAddress);
    const err = await collect(ch.serverStream('/t/Nope', Buffer.alloc(0), opts)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: Status.FAILED_PRECONDITION, details: 'no such method' });
    ch.close();
  });
});
