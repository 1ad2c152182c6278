// A lean gRPC client channel on node:http2 for the hot streaming call of the query path
// (thanos.Store/Series). grpc-js routes every call through its channel, load balancer,
// retry and filter machinery: about three times the CPU and wall time per call of a
// plain HTTP/2 request on loopback (measured in the issue-15 notes). This channel speaks
// the gRPC wire protocol (PROTOCOL-HTTP2.md) directly: one HTTP/2 session per endpoint,
// re-dialled when it goes away; one stream per call; length-prefixed messages out,
// status from the trailers. It carries no compression: a client configured for it keeps
// grpc-js.

import http2 from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import type { SecureContext } from 'node:tls';
import { status as Status } from '@grpc/grpc-js';
import { grpcFrame } from './h2-server.js';

/** TLS of a lean channel; absent: plain text (h2c with prior knowledge, as gRPC does). */
export interface H2ChannelTLS {
  secureContext: SecureContext;
  /** Name verified in the server's certificate (--grpc-client-server-name). */
  servername?: string;
  rejectUnauthorized: boolean;
}

/** What a server may send per call before the client has read it. */
const STREAM_WINDOW = 1 << 20;
/** And over all calls of the connection. */
const CONNECTION_WINDOW = 8 << 20;

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

const { NGHTTP2_CANCEL } = http2.constants;

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

function decodeGrpcMessage(v: string | string[] | undefined): string {
  if (v === undefined) return '';
  const s = Array.isArray(v) ? v.join(',') : v;
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

export class H2Channel {
  private session: ClientHttp2Session | null = null;
  private closed = false;
  private readonly authority: string;

  /** @param address HOST:PORT (an IPv6 host in brackets). */
  constructor(
    readonly address: string,
    private readonly tls?: H2ChannelTLS,
  ) {
    this.authority = `${tls ? 'https' : 'http'}://${address}`;
  }

  private connect(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    // Windows of HTTP/2's 64 KiB make a large answer wait a round trip per 64 KiB for
    // WINDOW_UPDATEs; grpc-go's clients grow theirs to megabytes (BDP estimation).
    const opts: http2.SecureClientSessionOptions = { settings: { enablePush: false, initialWindowSize: STREAM_WINDOW } };
    if (this.tls) {
      opts.secureContext = this.tls.secureContext;
      opts.rejectUnauthorized = this.tls.rejectUnauthorized;
      if (this.tls.servername) opts.servername = this.tls.servername;
      if (!this.tls.rejectUnauthorized) opts.checkServerIdentity = () => undefined;
      opts.ALPNProtocols = ['h2'];
    }
    const s = http2.connect(this.authority, opts);
    const forget = (): void => {
      if (this.session === s) this.session = null;
    };
    // Errors reach the streams open on the session; a new call dials again.
    s.on('error', forget);
    s.on('close', forget);
    s.on('goaway', forget);
    s.once('connect', () => s.setLocalWindowSize(CONNECTION_WINDOW));
    // Idle sessions must not keep a process alive (grpc-js channels do not either).
    s.unref();
    this.session = s;
    return s;
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
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-accept-encoding': 'identity',
      'user-agent': 'thanos-ts-h2',
    };
    if (Number.isFinite(opts.deadline)) headers['grpc-timeout'] = grpcTimeout(opts.deadline - Date.now());
    let stream: ClientHttp2Stream;
    try {
      stream = this.connect().request(headers, { endStream: false });
    } catch (err) {
      throw new H2CallError(Status.UNAVAILABLE, (err as Error).message);
    }
    stream.end(grpcFrame(request));

    let failure: H2CallError | null = null;
    let responseHeaders: IncomingHttpHeaders | null = null;
    let trailers: IncomingHttpHeaders | null = null;
    stream.on('response', (h) => (responseHeaders = h));
    stream.on('trailers', (t) => (trailers = t));
    // Errors surface through the iteration below; this keeps them from being unhandled.
    stream.on('error', () => {});
    const cancel = (code: number, details: string): void => {
      if (!failure) failure = new H2CallError(code, details);
      if (!stream.closed) stream.close(NGHTTP2_CANCEL);
    };
    const timer = Number.isFinite(opts.deadline)
      ? setTimeout(() => cancel(Status.DEADLINE_EXCEEDED, 'Deadline exceeded'), Math.max(0, opts.deadline - Date.now()))
      : null;
    const onAbort = (): void => cancel(Status.CANCELLED, 'Cancelled on client');
    signal?.addEventListener('abort', onAbort, { once: true });

    // DATA frames as they came; a message spanning several is copied once, when whole.
    const parts = new ByteQueue();
    let done = false;
    try {
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          parts.push(chunk);
          while (parts.length >= 5) {
            const head = parts.peek5();
            if (head[0] !== 0) throw new H2CallError(Status.INTERNAL, 'compressed message received without grpc-encoding');
            const len = head.readUInt32BE(1);
            if (len > opts.maxRecvMsgSize) throw new H2CallError(Status.RESOURCE_EXHAUSTED, `Received message larger than max (${len} vs. ${opts.maxRecvMsgSize})`);
            if (parts.length < 5 + len) break;
            yield parts.take(5 + len).subarray(5);
          }
        }
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (failure) throw failure;
        if (err instanceof H2CallError) throw err;
        throw new H2CallError(Status.UNAVAILABLE, (err as Error).message);
      }
      if (signal?.aborted) throw signal.reason;
      if (failure) throw failure;
      const h = (trailers ?? responseHeaders ?? {}) as IncomingHttpHeaders;
      const st = h['grpc-status'] ?? (responseHeaders as IncomingHttpHeaders | null)?.['grpc-status'];
      if (st === undefined) {
        const http = Number((responseHeaders as IncomingHttpHeaders | null)?.[':status'] ?? 0);
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
      if (!done && !stream.closed) stream.close(NGHTTP2_CANCEL);
    }
  }

  close(): void {
    this.closed = true;
    this.session?.close();
    this.session = null;
  }
}
