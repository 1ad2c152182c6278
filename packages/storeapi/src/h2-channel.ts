// A lean gRPC client channel for the hot streaming call of the query path
// (thanos.Store/Series), on our own HTTP/2 framing (h2-conn.ts). grpc-js routes every
// call through its channel, load balancer, retry and filter machinery: about three times
// the CPU and wall time per call of a plain HTTP/2 request on loopback (measured in the
// issue-15 notes), and node:http2's client stream objects cost ~0.25 ms more per call.
// This channel speaks the gRPC wire protocol (PROTOCOL-HTTP2.md) directly: one HTTP/2
// connection per endpoint, re-dialled when it goes away; one stream per call;
// length-prefixed messages out, status from the trailers. It carries no compression: a
// client configured for it keeps grpc-js.

import net from 'node:net';
import tls from 'node:tls';
import type { SecureContext } from 'node:tls';
import { status as Status } from '@grpc/grpc-js';
import { CONNECTION_LOST, H2ClientConnection, H2Error } from './h2-conn.js';
import type { H2ClientStream } from './h2-conn.js';
import { grpcFrame } from './h2-server.js';
import { encodeHeaders } from './hpack.js';

/** TLS of a lean channel; absent: plain text (h2c with prior knowledge, as gRPC does). */
export interface H2ChannelTLS {
  secureContext: SecureContext;
  /** Name verified in the server's certificate (--grpc-client-server-name). */
  servername?: string;
  rejectUnauthorized: boolean;
}

/** A failed call as grpc-js reports one: gRPC status code and details. */
export class H2CallError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${code} ${Status[code] ?? 'UNKNOWN'}: ${details}`);
    this.name = 'H2CallError';
  }
}

export interface H2CallOptions {
  /** Unix ms after which the call fails with DEADLINE_EXCEEDED; Infinity: none. */
  deadline: number;
  signal?: AbortSignal;
  /** Largest message accepted, bytes. */
  maxRecvMsgSize: number;
}


/** HTTP status codes of a response without grpc-status, as gRPC maps them. */
function statusFromHttp(code: number): number {
  switch (code) {
    case 400:
      return Status.INTERNAL;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Status.UNAVAILABLE;
    default:
      return Status.UNKNOWN;
  }
}

/** grpc-timeout's value: at most 8 digits and a unit. */
function grpcTimeout(ms: number): string {
  const m = Math.max(1, Math.ceil(ms));
  return m < 1e8 ? `${m}m` : `${Math.ceil(m / 1000)}S`;
}

function decodeGrpcMessage(s: string | undefined): string {
  if (s === undefined) return '';
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Buffers in arrival order, taken from the front without copying what lies in one. */
class ByteQueue {
  private readonly bufs: Buffer[] = [];
  /** Bytes held. */
  length = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.bufs.push(b);
    this.length += b.length;
  }

  /** The first 5 bytes (length >= 5). */
  peek5(): Buffer {
    const first = this.bufs[0];
    if (first.length >= 5) return first;
    const out = Buffer.allocUnsafe(5);
    let n = 0;
    for (const b of this.bufs) {
      n += b.copy(out, n, 0, Math.min(b.length, 5 - n));
      if (n === 5) break;
    }
    return out;
  }

  /** The first n bytes (n <= length): a view when they lie in one buffer, else one copy. */
  take(n: number): Buffer {
    this.length -= n;
    const first = this.bufs[0];
    if (first.length >= n) {
      if (first.length === n) this.bufs.shift();
      else this.bufs[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const b = this.bufs[0];
      const k = Math.min(b.length, n - off);
      b.copy(out, off, 0, k);
      off += k;
      if (k === b.length) this.bufs.shift();
      else this.bufs[0] = b.subarray(k);
    }
    return out;
  }
}

/** A stream reset by the server, as grpc-js reports it. */
function resetStatus(code: number, why: string): H2CallError {
  if (code === CONNECTION_LOST) return new H2CallError(Status.UNAVAILABLE, why);
  if (code === H2Error.REFUSED_STREAM) return new H2CallError(Status.UNAVAILABLE, why);
  if (code === H2Error.CANCEL) return new H2CallError(Status.CANCELLED, 'Call cancelled');
  if (code === H2Error.ENHANCE_YOUR_CALM) return new H2CallError(Status.RESOURCE_EXHAUSTED, 'Bandwidth exhausted or memory limit exceeded');
  return new H2CallError(Status.INTERNAL, `Received RST_STREAM with code ${code}`);
}

/**
 * One call's answer as it arrives: DATA in a queue the consumer drains (giving the
 * window back as it reads), headers, trailers, or how it failed.
 */
class CallState {
  readonly parts = new ByteQueue();
  responseHeaders: Record<string, string> | null = null;
  trailers: Record<string, string> | null = null;
  ended = false;
  failure: H2CallError | null = null;
  private wake: (() => void) | null = null;

  headers(h: Record<string, string>, endStream: boolean): void {
    if (this.responseHeaders === null && !endStream) this.responseHeaders = h;
    else if (this.responseHeaders === null) {
      // Trailers-Only: the status is in the only header block.
      this.responseHeaders = h;
      this.trailers = h;
    } else this.trailers = h;
    if (endStream) this.ended = true;
    this.notify();
  }

  data(chunk: Buffer, endStream: boolean): void {
    this.parts.push(chunk);
    if (endStream) this.ended = true;
    this.notify();
  }

  failed(code: number, why: string): void {
    if (this.ended || this.failure) return;
    this.failure = resetStatus(code, why);
    this.notify();
  }

  fail(err: H2CallError): void {
    if (this.failure) return;
    this.failure = err;
    this.notify();
  }

  /** Resolves at the next event. */
  next(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  private notify(): void {
    const w = this.wake;
    if (w !== null) {
      this.wake = null;
      w();
    }
  }
}

export class H2Channel {
  private conn: H2ClientConnection | null = null;
  private closed = false;
  private readonly host: string;
  private readonly port: number;
  /** Request header blocks per method path (HPACK without the dynamic table: encoded once). */
  private readonly requestHeaders = new Map<string, Buffer>();

  /** @param address HOST:PORT (an IPv6 host in brackets). */
  constructor(
    readonly address: string,
    private readonly tls?: H2ChannelTLS,
  ) {
    const colon = address.lastIndexOf(':');
    this.host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    this.port = Number(address.slice(colon + 1));
  }

  private connect(): H2ClientConnection {
    if (this.conn?.usable) return this.conn;
    let socket: net.Socket;
    if (this.tls) {
      const t = this.tls;
      socket = tls.connect({
        host: this.host,
        port: this.port,
        secureContext: t.secureContext,
        rejectUnauthorized: t.rejectUnauthorized,
        servername: t.servername ?? (net.isIP(this.host) ? undefined : this.host),
        ALPNProtocols: ['h2'],
        ...(t.rejectUnauthorized ? {} : { checkServerIdentity: () => undefined }),
      });
    } else {
      socket = net.connect({ host: this.host, port: this.port });
    }
    const conn = new H2ClientConnection(socket, {
      // Failures reach the calls on the connection; a new call dials again.
      onGone: () => {
        if (this.conn === conn) this.conn = null;
      },
    });
    this.conn = conn;
    return conn;
  }

  private headerBlock(path: string, deadline: number): Buffer {
    let base = this.requestHeaders.get(path);
    if (base === undefined) {
      base = encodeHeaders([
        [':method', 'POST'],
        [':scheme', this.tls ? 'https' : 'http'],
        [':path', path],
        [':authority', this.address],
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
        ['grpc-accept-encoding', 'identity'],
        ['user-agent', 'thanos-ts-h2'],
      ]);
      this.requestHeaders.set(path, base);
    }
    if (!Number.isFinite(deadline)) return base;
    return Buffer.concat([base, encodeHeaders([['grpc-timeout', grpcTimeout(deadline - Date.now())]])]);
  }

  /**
   * A server-streaming call: yields each response message's bytes as it arrives (HTTP/2
   * flow control holds the server back while the consumer is busy). Leaving the loop
   * early cancels the call. Failures throw H2CallError; an abort throws signal.reason.
   */
  async *serverStream(path: string, request: Uint8Array, opts: H2CallOptions): AsyncGenerator<Buffer> {
    if (this.closed) throw new H2CallError(Status.UNAVAILABLE, 'channel closed');
    const { signal } = opts;
    signal?.throwIfAborted();
    const call = new CallState();
    let stream: H2ClientStream;
    try {
      stream = this.connect().request(this.headerBlock(path, opts.deadline), grpcFrame(request), call);
    } catch (err) {
      throw new H2CallError(Status.UNAVAILABLE, (err as Error).message);
    }
    const cancel = (err: H2CallError): void => {
      call.fail(err);
      stream.reset(H2Error.CANCEL);
    };
    const timer = Number.isFinite(opts.deadline)
      ? setTimeout(() => cancel(new H2CallError(Status.DEADLINE_EXCEEDED, 'Deadline exceeded')), Math.max(0, opts.deadline - Date.now()))
      : null;
    const onAbort = (): void => cancel(new H2CallError(Status.CANCELLED, 'Cancelled on client'));
    signal?.addEventListener('abort', onAbort, { once: true });

    // DATA frames as they came; a message spanning several is copied once, when whole.
    // The stream's window is given back as messages are taken, and for what is buffered
    // whenever more is needed to complete a message: one larger than the window (a batch
    // of long series) must not wait forever for room.
    const parts = call.parts;
    let credited = 0;
    let done = false;
    try {
      for (;;) {
        if (call.failure) {
          if (signal?.aborted) throw signal.reason;
          throw call.failure;
        }
        if (parts.length >= 5) {
          const head = parts.peek5();
          if (head[0] !== 0) throw new H2CallError(Status.INTERNAL, 'compressed message received without grpc-encoding');
          const len = head.readUInt32BE(1);
          if (len > opts.maxRecvMsgSize) throw new H2CallError(Status.RESOURCE_EXHAUSTED, `Received message larger than max (${len} vs. ${opts.maxRecvMsgSize})`);
          if (parts.length >= 5 + len) {
            const msg = parts.take(5 + len);
            const fromCredit = Math.min(credited, 5 + len);
            credited -= fromCredit;
            if (5 + len > fromCredit) stream.consumed(5 + len - fromCredit);
            yield msg.subarray(5);
            continue;
          }
        }
        if (call.ended) break;
        if (parts.length > credited) {
          stream.consumed(parts.length - credited);
          credited = parts.length;
        }
        await call.next();
      }
      const h = call.trailers ?? call.responseHeaders ?? {};
      const st = h['grpc-status'];
      if (st === undefined) {
        const http = Number(call.responseHeaders?.[':status'] ?? 0);
        if (http !== 200) throw new H2CallError(statusFromHttp(http), `Received HTTP status code ${http}`);
        throw new H2CallError(Status.UNKNOWN, 'stream ended without a gRPC status');
      }
      const code = Number(st);
      if (code !== Status.OK) throw new H2CallError(code, decodeGrpcMessage(h['grpc-message']));
      if (parts.length > 0) throw new H2CallError(Status.INTERNAL, 'stream ended in the middle of a message');
      done = true;
    } finally {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (!done && !stream.closed) stream.reset(H2Error.CANCEL);
    }
  }

  close(): void {
    this.closed = true;
    void this.conn?.close();
    this.conn = null;
  }
}
