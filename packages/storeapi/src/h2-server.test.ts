// The lean gRPC server over real HTTP/2 on loopback, against grpc-js clients, our lean
// client (h2-channel.ts) and raw node:http2 requests that look at the frames themselves.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, constants as h2 } from 'node:http2';
import type { ClientHttp2Session, IncomingHttpHeaders } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createSecureContext } from 'node:tls';
import zlib from 'node:zlib';
import { Client, credentials, Metadata, status as Status } from '@grpc/grpc-js';
import type { ServerUnaryCall, ServerWritableStream, ServiceError, sendUnaryData } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCerts } from '@thanos-ts/testutil';
import { H2CallError, H2Channel } from './h2-channel.js';
import { encodeGrpcMessage, GrpcServer, grpcFrame, parseGrpcTimeout } from './h2-server.js';
import type { ServerCall } from './h2-server.js';
import { snappyStreamDecode, snappyStreamEncode } from './snappy-stream.js';
import { storeServerCredentials } from './tls.js';
import { SNAPPY_COMPRESSION } from './compression.js';

const pass = (b: Buffer): Buffer => b;
const LIMITS = { maxRecvMsgSize: 4096, maxSendMsgSize: 1 << 20 };

/** A raw gRPC call over node:http2: response headers, the messages as framed, trailers. */
interface RawResult {
  headers: IncomingHttpHeaders;
  frames: { compressed: boolean; body: Buffer }[];
  trailers: IncomingHttpHeaders | null;
}

function rawCall(session: ClientHttp2Session, path: string, body: Buffer, headers: Record<string, string> = {}): Promise<RawResult> {
  const req = session.request({
    [h2.HTTP2_HEADER_METHOD]: 'POST',
    [h2.HTTP2_HEADER_PATH]: path,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...headers,
  });
  const chunks: Buffer[] = [];
  let resHeaders: IncomingHttpHeaders = {};
  let trailers: IncomingHttpHeaders | null = null;
  req.on('response', (h) => (resHeaders = h));
  req.on('trailers', (t) => (trailers = t));
  req.on('data', (c: Buffer) => chunks.push(c));
  req.end(body);
  return new Promise((resolve, reject) => {
    req.on('error', reject);
    req.on('end', () => {
      const all = Buffer.concat(chunks);
      const frames: RawResult['frames'] = [];
      for (let off = 0; off < all.length; ) {
        const len = all.readUInt32BE(off + 1);
        frames.push({ compressed: all[off] === 1, body: all.subarray(off + 5, off + 5 + len) });
        off += 5 + len;
      }
      resolve({ headers: resHeaders, frames, trailers });
    });
  });
}

/** grpc-status and grpc-message of a raw result, wherever they came. */
function statusOf(r: RawResult): { code: number; message: string } {
  const h = r.trailers ?? r.headers;
  return { code: Number(h['grpc-status']), message: decodeURIComponent(String(h['grpc-message'] ?? '')) };
}

function unary(c: Client, path: string, req: Buffer, md = new Metadata(), deadline?: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    c.makeUnaryRequest(path, pass, pass, req, md, deadline ? { deadline } : {}, (err, v) => (err ? reject(err) : resolve(v!))),
  );
}

function stream(c: Client, path: string, req: Buffer): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const call = c.makeServerStreamRequest(path, pass, pass, req, {});
    call.on('data', (b: Buffer) => out.push(b));
    call.on('error', reject);
    call.on('end', () => resolve(out));
  });
}

async function leanCall(ch: H2Channel, path: string, req: Buffer, deadline = Infinity): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const b of ch.serverStream(path, req, { deadline, maxRecvMsgSize: 1 << 20 })) out.push(Buffer.from(b));
  return out;
}

async function rejection(p: Promise<unknown>): Promise<ServiceError & H2CallError> {
  return p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e as ServiceError & H2CallError,
  );
}

/** Resolves once cond() holds (polled; no timing is asserted). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

describe('grpc-timeout and grpc-message codecs', () => {
  it('parses every unit and refuses what grpc-go refuses', () => {
    expect(parseGrpcTimeout('2H')).toBe(7_200_000);
    expect(parseGrpcTimeout('3M')).toBe(180_000);
    expect(parseGrpcTimeout('5S')).toBe(5000);
    expect(parseGrpcTimeout('250m')).toBe(250);
    expect(parseGrpcTimeout('1500u')).toBe(1.5);
    expect(parseGrpcTimeout('99999999n')).toBeCloseTo(99.999999);
    expect(() => parseGrpcTimeout('1')).toThrow('timeout string is too short');
    expect(() => parseGrpcTimeout('123456789S')).toThrow('timeout string is too long');
    expect(() => parseGrpcTimeout('10x')).toThrow('timeout unit is not recognized');
    expect(() => parseGrpcTimeout('-1S')).toThrow('invalid syntax');
  });

  it('percent-encodes grpc-message as the spec says', () => {
    expect(encodeGrpcMessage('plain text: ok (1 < 2)')).toBe('plain text: ok (1 < 2)');
    expect(encodeGrpcMessage('100%\nüber')).toBe('100%25%0A%C3%BCber');
  });
});

// A gRPC client on Go's HTTP/2 stack (golang.org/x/net/http2, whose framer and HPACK
// grpc-go's transport uses), h2c with prior knowledge: it makes the calls below and
// prints one JSON result per call. Built with Debian's Go and x/net (no module download).
const GO_X_NET = '/usr/share/gocode';
const GO_CLIENT = `package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"

	"golang.org/x/net/http2"
)

type result struct {
	Name       string   \`json:"name"\`
	HTTPStatus int      \`json:"httpStatus"\`
	Encoding   string   \`json:"encoding"\`
	Messages   []string \`json:"messages"\`
	Compressed []bool   \`json:"compressed"\`
	Status     string   \`json:"status"\`
	Message    string   \`json:"message"\`
	InTrailers bool     \`json:"inTrailers"\`
	Err        string   \`json:"err,omitempty"\`
}

func frame(msg []byte, compressed bool) []byte {
	b := make([]byte, 5+len(msg))
	if compressed {
		b[0] = 1
	}
	binary.BigEndian.PutUint32(b[1:], uint32(len(msg)))
	copy(b[5:], msg)
	return b
}

func call(ctx context.Context, tr *http2.Transport, addr, name, path string, body []byte, hdr map[string]string) result {
	r := result{Name: name}
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+path, bytes.NewReader(body))
	req.Header.Set("content-type", "application/grpc")
	req.Header.Set("te", "trailers")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer resp.Body.Close()
	r.HTTPStatus = resp.StatusCode
	r.Encoding = resp.Header.Get("grpc-encoding")
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		r.Err = err.Error()
	}
	for len(data) >= 5 {
		n := binary.BigEndian.Uint32(data[1:5])
		msg := data[5 : 5+n]
		if data[0] == 1 {
			zr, err := gzip.NewReader(bytes.NewReader(msg))
			if err == nil {
				msg, _ = io.ReadAll(zr)
			}
		}
		r.Compressed = append(r.Compressed, data[0] == 1)
		r.Messages = append(r.Messages, string(msg))
		data = data[5+n:]
	}
	if s := resp.Trailer.Get("grpc-status"); s != "" {
		r.Status, r.Message, r.InTrailers = s, resp.Trailer.Get("grpc-message"), true
	} else {
		r.Status, r.Message = resp.Header.Get("grpc-status"), resp.Header.Get("grpc-message")
	}
	return r
}

func main() {
	addr := os.Args[1]
	tr := &http2.Transport{AllowHTTP: true, DialTLS: func(network, a string, _ *tls.Config) (net.Conn, error) { return net.Dial(network, a) }}
	bg := context.Background()
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte("gzipped by go"))
	w.Close()
	out := []result{
		call(bg, tr, addr, "count", "/test.Echo/Count", frame([]byte{3}, false), nil),
		call(bg, tr, addr, "fail-before", "/test.Echo/Fail", frame([]byte{0}, false), nil),
		call(bg, tr, addr, "fail-after", "/test.Echo/Fail", frame([]byte{1}, false), nil),
		call(bg, tr, addr, "unknown", "/test.Nope/Unary", frame(nil, false), nil),
		call(bg, tr, addr, "gzip", "/test.Echo/Unary", frame(gz.Bytes(), true), map[string]string{"grpc-encoding": "gzip"}),
		call(bg, tr, addr, "deadline", "/test.Echo/Hang", frame(nil, false), map[string]string{"grpc-timeout": "100m"}),
	}
	// Cancel mid-stream: the context ends after the first message arrived.
	ctx, cancel := context.WithCancel(bg)
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/test.Echo/Hang", bytes.NewReader(frame(nil, false)))
	req.Header.Set("content-type", "application/grpc")
	resp, err := tr.RoundTrip(req)
	c := result{Name: "cancel"}
	if err != nil {
		c.Err = err.Error()
	} else {
		first := make([]byte, 12)
		_, err = io.ReadFull(resp.Body, first)
		c.Messages = []string{string(first[5:])}
		cancel()
		_, err = io.ReadAll(resp.Body)
		if err != nil {
			c.Err = err.Error()
		}
	}
	out = append(out, c)
	enc := json.NewEncoder(os.Stdout)
	for _, r := range out {
		enc.Encode(r)
	}
}
`;

interface GoResult {
  name: string;
  httpStatus: number;
  encoding: string;
  messages: string[] | null;
  compressed: boolean[] | null;
  status: string;
  message: string;
  inTrailers: boolean;
  err?: string;
}

describe('GrpcServer over loopback', () => {
  const server = new GrpcServer({ ...LIMITS });
  let address = '';
  let client: Client;
  let lean: H2Channel;
  let session: ClientHttp2Session;
  const seen: { request?: Buffer; cancelled?: boolean; aborted?: unknown; deadline?: number; metadata?: string[] } = {};
  let release: (() => void) | null = null;

  beforeAll(async () => {
    // Echo: the request back as one message.
    server.addMethod('/test.Echo/Unary', (call) => {
      seen.request = call.request;
      seen.deadline = call.getDeadline();
      call.sendUnary(call.request);
    });
    // Count: n messages of the request's first byte, "message i".
    server.addMethod('/test.Echo/Count', (call) => {
      const n = call.request[0] ?? 0;
      for (let i = 0; i < n; i++) call.write(Buffer.from(`message ${i}`));
      call.end();
    });
    // Fail: a status before (request [0]) or after (request [1]) a message.
    server.addMethod('/test.Echo/Fail', (call) => {
      if (call.request[0] === 1) call.write(Buffer.from('first'));
      call.sendStatus(Status.FAILED_PRECONDITION, 'broken: 100% üné\nline');
    });
    // Hang until cancelled or released; records what the handler saw.
    server.addMethod('/test.Echo/Hang', (call) => {
      seen.cancelled = false;
      seen.aborted = undefined;
      call.write(Buffer.from('started'));
      call.on('cancelled', () => (seen.cancelled = true));
      call.signal.addEventListener('abort', () => (seen.aborted = call.signal.reason));
      release = () => {
        call.write(Buffer.from('released'));
        call.end();
      };
    });
    server.addMethod('/test.Echo/Big', (call) => call.sendUnary(Buffer.alloc(LIMITS.maxSendMsgSize + 1)));
    // grpc-js style handlers, as ha-tracker-rpc.ts mounts them.
    server.addService(
      {
        Elect: { path: '/test.Compat/Elect', requestStream: false, responseStream: false, requestSerialize: pass, requestDeserialize: (b: Buffer) => b.toString(), responseSerialize: (s: string) => Buffer.from(s), responseDeserialize: pass, originalName: 'elect' },
        Watch: { path: '/test.Compat/Watch', requestStream: false, responseStream: true, requestSerialize: pass, requestDeserialize: pass, responseSerialize: pass, responseDeserialize: pass },
      },
      {
        Elect: (call: ServerUnaryCall<string, string>, cb: sendUnaryData<string>) => {
          seen.metadata = call.metadata.get('x-replica') as string[];
          if (call.request === 'bad') cb({ code: Status.INVALID_ARGUMENT, details: 'bad request' });
          else cb(null, `elected ${call.request} until ${Number.isFinite(call.getDeadline() as number) ? 'deadline' : 'forever'}`);
        },
        Watch: (call: ServerWritableStream<Buffer, Buffer>) => {
          call.write(Buffer.from('a'));
          if (!call.write(Buffer.from('b'))) throw new Error('a 1-byte write filled the stream');
          if (call.request.length > 0) call.emit('error', { code: Status.ABORTED, details: 'stopped' });
          else call.end();
        },
      },
    );
    const port = await server.listen('127.0.0.1', 0, storeServerCredentials(undefined).credentials);
    address = `127.0.0.1:${port}`;
    client = new Client(address, credentials.createInsecure());
    lean = new H2Channel(address);
    session = connect(`http://${address}`);
  });

  afterAll(async () => {
    client.close();
    lean.close();
    session.close();
    await server.shutdown(1000);
  });

  it('serves unary and streaming calls to a grpc-js client', async () => {
    expect((await unary(client, '/test.Echo/Unary', Buffer.from('hello'))).toString()).toBe('hello');
    expect(seen.deadline).toBe(Infinity);
    expect((await stream(client, '/test.Echo/Count', Buffer.from([3]))).map(String)).toEqual(['message 0', 'message 1', 'message 2']);
    expect(await stream(client, '/test.Echo/Count', Buffer.from([0]))).toEqual([]);
    // An empty request message is a message too.
    expect((await unary(client, '/test.Echo/Unary', Buffer.alloc(0))).length).toBe(0);
  });

  it('serves unary and streaming calls to the lean client', async () => {
    expect((await leanCall(lean, '/test.Echo/Unary', Buffer.from('hi'), Date.now() + 60_000)).map(String)).toEqual(['hi']);
    expect(seen.deadline).toBeGreaterThan(Date.now());
    // The longest grpc-timeout there is (about 11,400 years) outlasts the call.
    expect(statusOf(await rawCall(session, '/test.Echo/Unary', grpcFrame(Buffer.from('x')), { 'grpc-timeout': '99999999H' })).code).toBe(Status.OK);
    expect(seen.deadline).toBeGreaterThan(Date.now() + 1e14);
    const msgs = await leanCall(lean, '/test.Echo/Count', Buffer.from([200]));
    expect(msgs.length).toBe(200);
    expect(String(msgs[199])).toBe('message 199');
  });

  it('answers headers, length-prefixed messages and trailers on the wire', async () => {
    const r = await rawCall(session, '/test.Echo/Count', grpcFrame(Buffer.from([2])));
    expect(r.headers[':status']).toBe(200);
    expect(r.headers['content-type']).toBe('application/grpc');
    expect(String(r.headers['grpc-accept-encoding']).split(',')).toEqual(['identity', 'gzip', 'deflate', 'snappy']);
    expect(r.frames.map((f) => [f.compressed, String(f.body)])).toEqual([
      [false, 'message 0'],
      [false, 'message 1'],
    ]);
    expect(r.trailers).toMatchObject({ 'grpc-status': '0' });
    expect(r.trailers!['grpc-message']).toBeUndefined();
  });

  it('sends an error before any message Trailers-Only, and after messages in the trailers', async () => {
    const before = await rawCall(session, '/test.Echo/Fail', grpcFrame(Buffer.from([0])));
    expect(before.trailers).toBeNull();
    expect(before.frames).toEqual([]);
    expect(before.headers).toMatchObject({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(Status.FAILED_PRECONDITION) });
    expect(before.headers['grpc-message']).toBe('broken: 100%25 %C3%BCn%C3%A9%0Aline');
    const after = await rawCall(session, '/test.Echo/Fail', grpcFrame(Buffer.from([1])));
    expect(after.headers['grpc-status']).toBeUndefined();
    expect(after.frames.map((f) => String(f.body))).toEqual(['first']);
    expect(statusOf(after)).toEqual({ code: Status.FAILED_PRECONDITION, message: 'broken: 100% üné\nline' });
    // Both clients decode the status and its percent-encoded message.
    const e = await rejection(stream(client, '/test.Echo/Fail', Buffer.from([1])));
    expect([e.code, e.details]).toEqual([Status.FAILED_PRECONDITION, 'broken: 100% üné\nline']);
    const l = await rejection(leanCall(lean, '/test.Echo/Fail', Buffer.from([0])));
    expect(l).toBeInstanceOf(H2CallError);
    expect([l.code, l.details]).toEqual([Status.FAILED_PRECONDITION, 'broken: 100% üné\nline']);
  });

  it('answers UNIMPLEMENTED for unknown services and methods, in grpc-go words', async () => {
    const svc = await rejection(unary(client, '/test.Nope/Unary', Buffer.alloc(0)));
    expect([svc.code, svc.details]).toEqual([Status.UNIMPLEMENTED, 'unknown service test.Nope']);
    const m = await rejection(leanCall(lean, '/test.Echo/Nope', Buffer.alloc(0)));
    expect([m.code, m.details]).toEqual([Status.UNIMPLEMENTED, 'unknown method Nope for service test.Echo']);
    expect(statusOf(await rawCall(session, '/nonsense', grpcFrame(Buffer.alloc(0))))).toEqual({ code: Status.UNIMPLEMENTED, message: 'malformed method name: "/nonsense"' });
  });

  it('refuses non-gRPC requests with the HTTP status grpc-go gives', async () => {
    const json = await rawCall(session, '/test.Echo/Unary', Buffer.from('{}'), { 'content-type': 'application/json' });
    expect(json.headers[':status']).toBe(415);
    expect(statusOf(json)).toEqual({ code: Status.INVALID_ARGUMENT, message: 'invalid gRPC request content-type "application/json"' });
    const proto = await rawCall(session, '/test.Echo/Unary', grpcFrame(Buffer.from('x')), { 'content-type': 'application/grpc+proto' });
    expect(proto.frames.map((f) => String(f.body))).toEqual(['x']);
    const put = await rawCall(session, '/test.Echo/Unary', grpcFrame(Buffer.from('x')), { [h2.HTTP2_HEADER_METHOD]: 'PUT' });
    expect(put.headers[':status']).toBe(405);
    expect(statusOf(put).code).toBe(Status.INTERNAL);
    const badTimeout = await rawCall(session, '/test.Echo/Unary', grpcFrame(Buffer.from('x')), { 'grpc-timeout': '1x' });
    expect(badTimeout.headers[':status']).toBe(400);
    expect(statusOf(badTimeout).message).toMatch(/^malformed grpc-timeout: transport: timeout unit is not recognized/);
  });

  it('fails malformed request framing with INTERNAL', async () => {
    const cases: [Buffer, string][] = [
      [Buffer.alloc(0), 'cardinality violation: received no request message from non-client-streaming RPC'],
      [grpcFrame(Buffer.from('abcdef')).subarray(0, 8), 'unexpected EOF'],
      [Buffer.concat([grpcFrame(Buffer.from('a')), grpcFrame(Buffer.from('b'))]), 'cardinality violation: received multiple request messages for non-client-streaming RPC'],
      [grpcFrame(Buffer.from('a'), true), 'grpc: compressed flag set with identity or empty encoding'],
      [Buffer.from([7, 0, 0, 0, 1, 0x61]), 'grpc: received unexpected payload format 7'],
    ];
    for (const [body, message] of cases) {
      expect(statusOf(await rawCall(session, '/test.Echo/Unary', body))).toEqual({ code: Status.INTERNAL, message });
    }
  });

  it('decodes gzip and snappy requests and answers in the same encoding', async () => {
    for (const [name, compress, decompress] of [
      ['gzip', zlib.gzipSync, zlib.gunzipSync],
      [SNAPPY_COMPRESSION, snappyStreamEncode, snappyStreamDecode],
    ] as const) {
      const msg = Buffer.from(`compressed with ${name} `.repeat(20));
      const r = await rawCall(session, '/test.Echo/Unary', grpcFrame(compress(msg), true), { 'grpc-encoding': name });
      expect(seen.request!.equals(msg), name).toBe(true);
      expect(r.headers['grpc-encoding']).toBe(name);
      expect(r.frames.length).toBe(1);
      expect(r.frames[0].compressed).toBe(true);
      expect(decompress(r.frames[0].body).equals(msg)).toBe(true);
      expect(statusOf(r).code).toBe(Status.OK);
    }
    // grpc-js clients compress with gzip, and with snappy through our patch of it.
    for (const algorithm of [2, SNAPPY_COMPRESSION]) {
      const c = new Client(address, credentials.createInsecure(), { 'grpc.default_compression_algorithm': algorithm as number });
      const msg = Buffer.from('x'.repeat(1000));
      expect((await unary(c, '/test.Echo/Unary', msg)).equals(msg)).toBe(true);
      expect((await stream(c, '/test.Echo/Count', Buffer.from([2]))).map(String)).toEqual(['message 0', 'message 1']);
      c.close();
    }
    // An uncompressed message in a compressed call is fine; a codec we lack is not.
    expect(statusOf(await rawCall(session, '/test.Echo/Unary', grpcFrame(Buffer.from('plain')), { 'grpc-encoding': 'gzip' })).code).toBe(Status.OK);
    expect(statusOf(await rawCall(session, '/test.Echo/Unary', grpcFrame(Buffer.from('x'), true), { 'grpc-encoding': 'zstd' }))).toEqual({
      code: Status.UNIMPLEMENTED,
      message: 'grpc: Decompressor is not installed for grpc-encoding "zstd"',
    });
    expect(statusOf(await rawCall(session, '/test.Echo/Unary', grpcFrame(Buffer.from('not gzip'), true), { 'grpc-encoding': 'gzip' })).message).toMatch(
      /^grpc: failed to decompress the received message: /,
    );
  });

  it('enforces the receive limit before and after decompression, and the send limit', async () => {
    const big = Buffer.alloc(LIMITS.maxRecvMsgSize + 1);
    const e = await rejection(unary(client, '/test.Echo/Unary', big));
    expect([e.code, e.details]).toEqual([Status.RESOURCE_EXHAUSTED, `grpc: received message larger than max (${big.length} vs. ${LIMITS.maxRecvMsgSize})`]);
    for (const [name, compress] of [
      ['gzip', zlib.gzipSync],
      [SNAPPY_COMPRESSION, snappyStreamEncode],
    ] as const) {
      const r = await rawCall(session, '/test.Echo/Unary', grpcFrame(compress(big), true), { 'grpc-encoding': name });
      expect(statusOf(r)).toEqual({ code: Status.RESOURCE_EXHAUSTED, message: `grpc: received message after decompression larger than max ${LIMITS.maxRecvMsgSize}` });
    }
    const s = await rejection(leanCall(lean, '/test.Echo/Big', Buffer.alloc(0)));
    expect([s.code, s.details]).toEqual([Status.RESOURCE_EXHAUSTED, `grpc: trying to send message larger than max (${LIMITS.maxSendMsgSize + 1} vs. ${LIMITS.maxSendMsgSize})`]);
    // The connection serves on.
    expect((await unary(client, '/test.Echo/Unary', Buffer.from('ok'))).toString()).toBe('ok');
  });

  it('fails a call past its grpc-timeout with DEADLINE_EXCEEDED and aborts the handler', async () => {
    const r = await rawCall(session, '/test.Echo/Hang', grpcFrame(Buffer.alloc(0)), { 'grpc-timeout': '100m' });
    expect(r.frames.map((f) => String(f.body))).toEqual(['started']);
    expect(statusOf(r)).toEqual({ code: Status.DEADLINE_EXCEEDED, message: 'context deadline exceeded' });
    expect(seen.cancelled).toBe(true);
    expect((seen.aborted as DOMException).name).toBe('AbortError');
    // A deadline already past on arrival: no call at all.
    const late = await rawCall(session, '/test.Echo/Unary', grpcFrame(Buffer.from('x')), { 'grpc-timeout': '0n' });
    expect(late.trailers).toBeNull();
    expect(statusOf(late)).toEqual({ code: Status.DEADLINE_EXCEEDED, message: 'context deadline exceeded' });
    // grpc-js and the lean client see their deadline as DEADLINE_EXCEEDED.
    const e = await rejection(unary(client, '/test.Echo/Hang', Buffer.alloc(0), new Metadata(), Date.now() + 100));
    expect(e.code).toBe(Status.DEADLINE_EXCEEDED);
    const l = await rejection(leanCall(lean, '/test.Echo/Hang', Buffer.alloc(0), Date.now() + 100));
    expect(l.code).toBe(Status.DEADLINE_EXCEEDED);
  });

  it('tells the handler when the client cancels', async () => {
    for (const how of ['grpc-js', 'lean'] as const) {
      release = null;
      if (how === 'grpc-js') {
        const call = client.makeServerStreamRequest('/test.Echo/Hang', pass, pass, Buffer.alloc(0), {});
        call.on('error', () => {});
        await new Promise((r) => call.once('data', r));
        call.cancel();
      } else {
        const ac = new AbortController();
        const it = lean.serverStream('/test.Echo/Hang', Buffer.alloc(0), { deadline: Infinity, maxRecvMsgSize: 1024, signal: ac.signal });
        await it.next();
        ac.abort(new Error('enough'));
        await expect(it.next()).rejects.toThrow('enough');
      }
      await until(() => seen.cancelled === true);
      expect((seen.aborted as DOMException).message).toBe('the client cancelled the call');
      // Writing to the cancelled call is harmless.
      release!();
    }
  });

  it('mounts grpc-js style services: unary callbacks, metadata, write/end/emit', async () => {
    const md = new Metadata();
    md.set('x-replica', 'r1');
    expect((await unary(client, '/test.Compat/Elect', Buffer.from('a'), md, Date.now() + 5000)).toString()).toBe('elected a until deadline');
    expect(seen.metadata).toEqual(['r1']);
    const e = await rejection(unary(client, '/test.Compat/Elect', Buffer.from('bad')));
    expect([e.code, e.details]).toEqual([Status.INVALID_ARGUMENT, 'bad request']);
    expect((await stream(client, '/test.Compat/Watch', Buffer.alloc(0))).map(String)).toEqual(['a', 'b']);
    const s = await rejection(stream(client, '/test.Compat/Watch', Buffer.from('x')));
    expect([s.code, s.details]).toEqual([Status.ABORTED, 'stopped']);
  });
  it('serves a client on Go\'s HTTP/2 stack', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'thanos-ts-go-client-'));
    try {
      writeFileSync(join(dir, 'main.go'), GO_CLIENT);
      const env = { ...process.env, GO111MODULE: 'off', GOPATH: GO_X_NET, GOFLAGS: '' };
      await promisify(execFile)('go', ['build', '-o', join(dir, 'client'), '.'], { cwd: dir, env });
      seen.cancelled = false;
      // Asynchronously: the server answering it runs in this process.
      const { stdout: out } = await promisify(execFile)(join(dir, 'client'), [address], { encoding: 'utf8' });
      const r = Object.fromEntries(
        out
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as GoResult)
          .map((x) => [x.name, x]),
      );
      expect(r.count).toMatchObject({ httpStatus: 200, messages: ['message 0', 'message 1', 'message 2'], status: '0', inTrailers: true });
      expect(r['fail-before']).toMatchObject({ messages: null, status: String(Status.FAILED_PRECONDITION), inTrailers: false });
      expect(r['fail-after']).toMatchObject({ messages: ['first'], status: String(Status.FAILED_PRECONDITION), inTrailers: true });
      expect(r['fail-after'].message).toBe(encodeGrpcMessage('broken: 100% üné\nline'));
      expect(r.unknown).toMatchObject({ status: String(Status.UNIMPLEMENTED), message: 'unknown service test.Nope' });
      expect(r.gzip).toMatchObject({ encoding: 'gzip', messages: ['gzipped by go'], compressed: [true], status: '0' });
      expect(r.deadline).toMatchObject({ messages: ['started'], status: String(Status.DEADLINE_EXCEEDED), message: 'context deadline exceeded' });
      expect(r.cancel.messages).toEqual(['started']);
      expect(r.cancel.err).toMatch(/context canceled/);
      await until(() => seen.cancelled === true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('GrpcServer backpressure', () => {
  const MSG = 64 * 1024;
  const TOTAL = 1000; // 64 MiB in all
  const server = new GrpcServer({ maxRecvMsgSize: 1024, maxSendMsgSize: 1 << 30 });
  let written = 0;
  let waiting = false;
  let session: ClientHttp2Session;
  let address = '';

  beforeAll(async () => {
    server.addMethod('/test.Big/Stream', (call) => {
      void (async () => {
        written = 0;
        for (let i = 0; i < TOTAL; i++) {
          const msg = Buffer.alloc(MSG, i & 0xff);
          written++;
          if (!call.write(msg)) {
            waiting = true;
            await call.drained();
            waiting = false;
          }
        }
        call.end();
      })().catch(() => {});
    });
    const port = await server.listen('127.0.0.1', 0, storeServerCredentials(undefined).credentials);
    address = `127.0.0.1:${port}`;
    session = connect(`http://${address}`);
  });
  afterAll(async () => {
    session.close();
    await server.shutdown(100);
  });

  it('holds the handler back while a slow client does not read', async () => {
    const req = session.request({ ':method': 'POST', ':path': '/test.Big/Stream', 'content-type': 'application/grpc', te: 'trailers' });
    req.end(grpcFrame(Buffer.alloc(0)));
    req.pause();
    await until(() => waiting);
    // HTTP/2 flow control (64 KiB windows) and the stream's buffer stop the handler after
    // a few messages, not 64 MiB into memory.
    expect(written * MSG).toBeLessThan(2 * 1024 * 1024);
    // Reading on lets it finish, every byte in order.
    let bytes = 0;
    let trailers: IncomingHttpHeaders = {};
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.resume();
    await new Promise((r) => req.on('end', r));
    expect(bytes).toBe(TOTAL * (MSG + 5));
    expect(trailers['grpc-status']).toBe('0');
  });
});

describe('GrpcServer over TLS with client certificates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'thanos-ts-h2-server-'));
  const certs = makeTestCerts(dir);
  const server = new GrpcServer({ maxRecvMsgSize: 1024, maxSendMsgSize: 1024 });
  let address = '';
  const creds = storeServerCredentials({ certFile: certs.serverCert, keyFile: certs.serverKey, clientCAFile: certs.caCert, minVersion: '1.3' });

  beforeAll(async () => {
    server.addMethod('/test.Echo/Unary', (call) => call.sendUnary(call.request));
    address = `127.0.0.1:${await server.listen('127.0.0.1', 0, creds.credentials)}`;
  });
  afterAll(async () => {
    await server.shutdown(100);
    rmSync(dir, { recursive: true, force: true });
  });

  const read = (f: string): Buffer => readFileSync(f);

  it('serves clients with a certificate from the client CA, grpc-js and lean', async () => {
    const c = new Client(address, credentials.createSsl(read(certs.caCert), read(certs.clientKey), read(certs.clientCert)));
    expect((await unary(c, '/test.Echo/Unary', Buffer.from('tls'))).toString()).toBe('tls');
    c.close();
    const ctx = createSecureContext({ ca: read(certs.caCert), cert: read(certs.clientCert), key: read(certs.clientKey) });
    const lean = new H2Channel(address, { secureContext: ctx, rejectUnauthorized: true });
    expect((await leanCall(lean, '/test.Echo/Unary', Buffer.from('lean tls'))).map(String)).toEqual(['lean tls']);
    lean.close();
  });

  it('refuses clients without a certificate or with one from another CA', async () => {
    for (const [key, cert] of [
      [null, null],
      [read(certs.strangerKey), read(certs.strangerCert)],
    ]) {
      const c = new Client(address, credentials.createSsl(read(certs.caCert), key, cert));
      const e = await rejection(unary(c, '/test.Echo/Unary', Buffer.from('x'), new Metadata(), Date.now() + 3000));
      expect([Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED]).toContain(e.code);
      c.close();
    }
  });
});

describe('GrpcServer shutdown', () => {
  let server: GrpcServer;
  let release: (() => void) | null = null;
  let cancelled = false;
  let client: Client;

  afterEach(() => client?.close());

  async function start(): Promise<string> {
    server = new GrpcServer({ maxRecvMsgSize: 1024, maxSendMsgSize: 1024 });
    cancelled = false;
    server.addMethod('/test.Slow/Stream', (call: ServerCall) => {
      call.write(Buffer.from('one'));
      call.on('cancelled', () => (cancelled = true));
      release = () => {
        call.write(Buffer.from('two'));
        call.end();
      };
    });
    server.addMethod('/test.Slow/Unary', (call) => call.sendUnary(call.request));
    return `127.0.0.1:${await server.listen('127.0.0.1', 0, storeServerCredentials(undefined).credentials)}`;
  }

  it('lets an in-flight stream finish, refusing new calls meanwhile', async () => {
    const address = await start();
    client = new Client(address, credentials.createInsecure());
    release = null;
    const inflight = stream(client, '/test.Slow/Stream', Buffer.alloc(0));
    await until(() => release !== null);
    let stopped = false;
    const stopping = server.shutdown(30_000).then(() => (stopped = true));
    // A new connection is refused while the old call runs on.
    const other = new Client(address, credentials.createInsecure());
    const e = await rejection(unary(other, '/test.Slow/Unary', Buffer.from('x'), new Metadata(), Date.now() + 2000));
    expect([Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED]).toContain(e.code);
    other.close();
    expect(stopped).toBe(false);
    release!();
    expect((await inflight).map(String)).toEqual(['one', 'two']);
    await stopping;
    expect(cancelled).toBe(false);
  });

  it('cancels what is still running after the grace period', async () => {
    const address = await start();
    client = new Client(address, credentials.createInsecure());
    release = null;
    const inflight = rejection(stream(client, '/test.Slow/Stream', Buffer.alloc(0)));
    await until(() => release !== null);
    await server.shutdown(50);
    expect(cancelled).toBe(true);
    expect((await inflight).code).toBe(Status.UNAVAILABLE);
  });
});
