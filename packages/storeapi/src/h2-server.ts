// A lean gRPC server for the StoreAPI servers, on our own HTTP/2 framing (h2-conn.ts).
// grpc-js's Server runs every call through interceptors, Readable/Writable wrappers,
// metadata objects and an AbortError with a captured stack, and node:http2 adds its own
// per-stream objects and splits each answer into three packets. This server speaks the
// gRPC wire protocol (PROTOCOL-HTTP2.md) directly, with grpc-go's server as the reference
// for what goes on the wire:
//
//   request   HEADERS :method POST, :path /pkg.Service/Method, content-type application/grpc[+proto],
//             grpc-timeout?, grpc-encoding?; DATA: one length-prefixed message; END_STREAM
//   response  HEADERS :status 200, content-type, grpc-encoding, grpc-accept-encoding (sent with
//             the first message); DATA: length-prefixed messages; TRAILERS grpc-status, grpc-message
//             — or one HEADERS frame with the status and END_STREAM (Trailers-Only)
//
// Only unary-request methods (unary and server-streaming) are served: all StoreAPI
// methods are. A message is [compressed flag u8][length u32 BE][bytes].

import net from 'node:net';
import tls from 'node:tls';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import zlib from 'node:zlib';
import { Metadata, status as Status } from '@grpc/grpc-js';
import type { ServerCredentials, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { nopLogger } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { SNAPPY_COMPRESSION } from './compression.js';
import { H2ServerConnection } from './h2-conn.js';
import type { H2ServerStream, H2StreamEvents } from './h2-conn.js';
import { encodeHeaders } from './hpack.js';
import { SnappyLimitError, snappyStreamDecode, snappyStreamEncode } from './snappy-stream.js';

// ---------------------------------------------------------------------------
// Wire helpers
// ---------------------------------------------------------------------------

/** A message compressor as the gRPC encodings name them (grpc-encoding). */
interface MessageCodec {
  compress(msg: Buffer): Buffer;
  /** Throws RangeError ERR_BUFFER_TOO_LARGE or SnappyLimitError past maxLength. */
  decompress(msg: Buffer, maxLength: number): Buffer;
}

// grpc-js's built-in codecs and the snappy one compression.ts registers with grpc-js,
// so this server accepts what a grpc-js server of ours accepted.
const CODECS = new Map<string, MessageCodec>([
  ['gzip', { compress: (m) => zlib.gzipSync(m), decompress: (m, max) => zlib.gunzipSync(m, { maxOutputLength: max }) }],
  ['deflate', { compress: (m) => zlib.deflateSync(m), decompress: (m, max) => zlib.inflateSync(m, { maxOutputLength: max }) }],
  [SNAPPY_COMPRESSION, { compress: snappyStreamEncode, decompress: snappyStreamDecode }],
]);

/** grpc-accept-encoding: every codec this server decodes. */
export const GRPC_ACCEPT_ENCODING = ['identity', ...CODECS.keys()].join(',');

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/**
 * grpc-timeout's value in milliseconds: 1 to 8 digits and a unit (H M S m u n). Throws
 * with grpc-go's words for a malformed one.
 */
export function parseGrpcTimeout(v: string): number {
  if (v.length < 2) throw new Error(`transport: timeout string is too short: ${JSON.stringify(v)}`);
  if (v.length > 9) throw new Error(`transport: timeout string is too long: ${JSON.stringify(v)}`);
  const unit = TIMEOUT_UNIT_MS[v[v.length - 1]];
  if (unit === undefined) throw new Error(`transport: timeout unit is not recognized: ${JSON.stringify(v)}`);
  const digits = v.slice(0, -1);
  if (!/^\d+$/.test(digits)) throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(digits)}: invalid syntax`);
  return Number(digits) * unit;
}

const PLAIN_MESSAGE = /^[\x20-\x24\x26-\x7e]*$/;

/**
 * grpc-message as the spec has it: bytes outside printable ASCII, and '%', percent-encoded
 * from the UTF-8 form (a lone surrogate becomes U+FFFD, as Go's invalid UTF-8 does).
 */
export function encodeGrpcMessage(msg: string): string {
  if (PLAIN_MESSAGE.test(msg)) return msg;
  let out = '';
  for (const b of Buffer.from(msg, 'utf8')) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b < 16 ? '0' : ''}${b.toString(16).toUpperCase()}`;
  }
  return out;
}

/** grpc-go's test for a gRPC content-type: application/grpc, optionally +subtype or ;params. */
function isGrpcContentType(ct: string): boolean {
  if (!ct.startsWith('application/grpc')) return false;
  return ct.length === 16 || ct[16] === '+' || ct[16] === ';';
}

/** A gRPC length-prefixed message: the 5-byte prefix followed by the bytes, in one buffer. */
export function grpcFrame(msg: Uint8Array, compressed = false): Buffer {
  const out = Buffer.allocUnsafe(5 + msg.byteLength);
  writeGrpcPrefix(out, msg.byteLength, compressed);
  out.set(msg, 5);
  return out;
}

/** The 5-byte prefix of a gRPC message: compressed flag and big-endian length. */
function writeGrpcPrefix(out: Buffer, length: number, compressed: boolean): void {
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(length, 1);
}

// Above this size a message goes out as prefix + payload in one writev instead of a copy.
const COPY_LIMIT = 32 * 1024;

const EMPTY = Buffer.alloc(0);
const MAX_TIMER_MS = 2 ** 31 - 1;

type HeaderFields = [string, string][];

// Header blocks are encoded without HPACK's dynamic table, so constant ones are encoded
// once and blocks can be joined.
const responseFields = (encoding: string): HeaderFields => [
  [':status', '200'],
  ['content-type', 'application/grpc'],
  ['grpc-encoding', encoding],
  ['grpc-accept-encoding', GRPC_ACCEPT_ENCODING],
];
const RESPONSE_HEADERS = encodeHeaders(responseFields('identity'));
const COMPRESSED_RESPONSE_HEADERS = new Map<string, Buffer>([...CODECS.keys()].map((name) => [name, encodeHeaders(responseFields(name))]));
const OK_TRAILERS = encodeHeaders([['grpc-status', '0']]);
const OK_TRAILERS_ONLY = Buffer.concat([RESPONSE_HEADERS, OK_TRAILERS]);

function statusFields(code: number, details: string): HeaderFields {
  const t: HeaderFields = [['grpc-status', String(code)]];
  if (details !== '') t.push(['grpc-message', encodeGrpcMessage(details)]);
  return t;
}

function statusTrailers(code: number, details: string): Buffer {
  if (code === Status.OK && details === '') return OK_TRAILERS;
  return encodeHeaders(statusFields(code, details));
}

/** Answers a stream that never becomes a call, as grpc-go's early abort does. */
function respondEarly(stream: H2ServerStream, httpStatus: number, code: number, details: string): void {
  // Whatever the client still sends is dropped (the stream has no events).
  stream.respond(
    encodeHeaders([[':status', String(httpStatus)], ['content-type', 'application/grpc'], ...statusFields(code, details)]),
    true,
  );
}

// ---------------------------------------------------------------------------
// One call
// ---------------------------------------------------------------------------

/** How a method is served: called once the request message has arrived. */
export type MethodHandler = (call: ServerCall) => void;

/** The limits a call checks its messages against. */
interface CallLimits {
  maxRecvMsgSize: number;
  maxSendMsgSize: number;
}

type StatusLike = { code?: number; details?: string; message?: string };

function onDeadline(call: ServerCall): void {
  call.deadlineExceeded();
}

/**
 * A call in progress. Handlers read `request`, write messages and finish with end() or
 * sendStatus(); `cancelled`/`signal` say when the client went away or the deadline passed.
 * The grpc-js call surface our handlers used (getDeadline, on('cancelled'|'drain'),
 * emit('error', status), metadata) is here too, for services mounted with addService.
 */
export class ServerCall implements H2StreamEvents {
  /** The request message (decompressed). */
  request: Buffer = EMPTY;
  /** True once the client cancelled, the connection dropped or the deadline passed. */
  cancelled = false;
  /** Status sent or call cancelled: nothing more goes out. */
  private finished = false;
  private headersSent = false;
  private parts: Buffer[] = [];
  private receivedBytes = 0;
  private expectedBytes = -1;
  private timer: NodeJS.Timeout | null = null;
  private ac: AbortController | null = null;
  private cancelReason = '';
  private cancelListeners: (() => void)[] | null = null;
  /** Encodes what write() is given (grpc-js services' responseSerialize); null: Buffers. */
  serialize: ((value: unknown) => Buffer) | null = null;

  constructor(
    readonly stream: H2ServerStream,
    /** /package.Service/Method */
    readonly path: string,
    readonly headers: Record<string, string>,
    /** Unix ms; Infinity without grpc-timeout. */
    readonly deadline: number,
    private readonly codec: MessageCodec | null,
    private readonly codecName: string,
    private readonly limits: CallLimits,
    private readonly handler: MethodHandler,
  ) {
    stream.events = this;
    // Node's timers take at most 2^31-1 ms (24.8 days); a later deadline never fires here.
    const ms = deadline - Date.now();
    if (ms <= MAX_TIMER_MS) this.timer = setTimeout(onDeadline, Math.max(0, ms), this);
  }

  /** Aborts (with an AbortError) when the call is cancelled or its deadline passes. */
  get signal(): AbortSignal {
    if (this.ac === null) {
      this.ac = new AbortController();
      if (this.cancelled) this.ac.abort(new DOMException(this.cancelReason, 'AbortError'));
    }
    return this.ac.signal;
  }

  /** The request headers as grpc-js Metadata (built when asked for). */
  get metadata(): Metadata {
    return Metadata.fromHttp2Headers(this.headers);
  }

  /** grpc-js: the deadline, Infinity without one. */
  getDeadline(): number {
    return this.deadline;
  }

  getPath(): string {
    return this.path;
  }

  getPeer(): string {
    return this.stream.peer;
  }

  /**
   * Sends one message. Returns false when the stream's buffer is full: wait for
   * drained() (or the 'drain' event) before writing more.
   */
  write(value: Buffer | unknown): boolean {
    if (this.finished) return true;
    let msg = this.serialize === null ? (value as Buffer) : this.serialize(value);
    if (msg.length > this.limits.maxSendMsgSize) {
      this.sendStatus(Status.RESOURCE_EXHAUSTED, `grpc: trying to send message larger than max (${msg.length} vs. ${this.limits.maxSendMsgSize})`);
      this.cancel('the message is larger than the send limit');
      return true;
    }
    const stream = this.stream;
    if (stream.closed) {
      this.cancel('the client cancelled the call');
      return true;
    }
    if (!this.headersSent) this.sendHeaders();
    let compressed = false;
    if (this.codec !== null) {
      msg = this.codec.compress(msg);
      compressed = true;
    }
    if (msg.length <= COPY_LIMIT) return stream.write(grpcFrame(msg, compressed));
    const prefix = Buffer.allocUnsafe(5);
    writeGrpcPrefix(prefix, msg.length, compressed);
    stream.write(prefix);
    return stream.write(msg);
  }

  /** Resolves when the stream takes more after write() returned false; rejects on cancel. */
  drained(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.cancelled) {
        reject(this.signal.reason);
        return;
      }
      const onDrain = (): void => {
        this.stream.offDrain(onDrain);
        this.off('cancelled', onCancel);
        resolve();
      };
      const onCancel = (): void => {
        this.stream.offDrain(onDrain);
        reject(this.signal.reason);
      };
      this.stream.onDrain(onDrain);
      this.on('cancelled', onCancel);
    });
  }

  /** A unary answer: the message and status OK. */
  sendUnary(msg: Buffer): void {
    if (this.finished) return;
    this.write(msg);
    this.sendStatus(Status.OK, '');
  }

  /** Ends the call with status OK. */
  end(): void {
    this.sendStatus(Status.OK, '');
  }

  /** Ends the call with a status: in the trailers, or Trailers-Only before any message. */
  sendStatus(code: number, details: string): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimer();
    const stream = this.stream;
    if (stream.closed) return;
    if (!this.headersSent) {
      this.headersSent = true;
      const h = code === Status.OK && details === '' ? OK_TRAILERS_ONLY : Buffer.concat([this.responseHeaders(), statusTrailers(code, details)]);
      stream.respond(h, true);
    } else {
      stream.end(statusTrailers(code, details));
    }
  }

  /** grpc-js: sends the response headers now, with custom metadata. */
  sendMetadata(md: Metadata): void {
    if (this.headersSent || this.finished || this.stream.closed) return;
    this.headersSent = true;
    const custom: HeaderFields = [];
    for (const [k, v] of Object.entries(md.toHttp2Headers())) {
      for (const one of Array.isArray(v) ? v : [v]) if (one !== undefined) custom.push([k, String(one)]);
    }
    this.stream.respond(Buffer.concat([this.responseHeaders(), encodeHeaders(custom)]), false);
  }

  on(event: 'cancelled' | 'drain', fn: () => void): this {
    if (event === 'drain') this.stream.onDrain(fn);
    else (this.cancelListeners ??= []).push(fn);
    return this;
  }

  off(event: 'cancelled' | 'drain', fn: () => void): this {
    if (event === 'drain') this.stream.offDrain(fn);
    else if (this.cancelListeners) {
      const i = this.cancelListeners.indexOf(fn);
      if (i >= 0) this.cancelListeners.splice(i, 1);
    }
    return this;
  }

  /** grpc-js: emit('error', { code, details }) ends a streaming call with that status. */
  emit(event: string, err?: StatusLike): boolean {
    if (event !== 'error') return false;
    this.sendStatus(err?.code ?? Status.UNKNOWN, err?.details ?? err?.message ?? '');
    return true;
  }

  /** @internal a DATA frame of the request. */
  requestData(chunk: Buffer): void {
    if (this.finished) return;
    this.parts.push(chunk);
    this.receivedBytes += chunk.length;
    if (this.expectedBytes < 0 && this.receivedBytes >= 5) {
      const head = this.parts[0].length >= 5 ? this.parts[0] : Buffer.concat(this.parts);
      const len = head.readUInt32BE(1);
      if (len > this.limits.maxRecvMsgSize) {
        this.fail(Status.RESOURCE_EXHAUSTED, `grpc: received message larger than max (${len} vs. ${this.limits.maxRecvMsgSize})`);
        return;
      }
      this.expectedBytes = 5 + len;
    }
    // A second whole prefix: more than the one message a unary-request method takes.
    if (this.expectedBytes >= 0 && this.receivedBytes >= this.expectedBytes + 5) {
      this.fail(Status.INTERNAL, 'cardinality violation: received multiple request messages for non-client-streaming RPC');
    }
  }

  /** @internal the client half-closed: decode the request and run the handler. */
  requestEnded(): void {
    if (this.finished) return;
    const n = this.receivedBytes;
    if (n === 0) {
      this.fail(Status.INTERNAL, 'cardinality violation: received no request message from non-client-streaming RPC');
      return;
    }
    if (n !== this.expectedBytes) {
      this.fail(Status.INTERNAL, 'unexpected EOF');
      return;
    }
    const buf = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, n);
    this.parts = [];
    const flag = buf[0];
    let msg = buf.subarray(5);
    if (flag === 1) {
      if (this.codec === null) {
        this.fail(Status.INTERNAL, 'grpc: compressed flag set with identity or empty encoding');
        return;
      }
      try {
        msg = this.codec.decompress(msg, this.limits.maxRecvMsgSize);
      } catch (err) {
        if (err instanceof SnappyLimitError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
          this.fail(Status.RESOURCE_EXHAUSTED, `grpc: received message after decompression larger than max ${this.limits.maxRecvMsgSize}`);
        } else {
          this.fail(Status.INTERNAL, `grpc: failed to decompress the received message: ${(err as Error).message}`);
        }
        return;
      }
    } else if (flag !== 0) {
      this.fail(Status.INTERNAL, `grpc: received unexpected payload format ${flag}`);
      return;
    }
    this.request = msg;
    try {
      this.handler(this);
    } catch (err) {
      this.sendStatus(Status.UNKNOWN, (err as Error).message);
    }
  }

  /** @internal the HTTP/2 stream closed: a call without a status was cancelled. */
  streamClosed(): void {
    this.clearTimer();
    if (!this.finished) this.cancel('the client cancelled the call');
  }

  /** @internal grpc-timeout passed: DEADLINE_EXCEEDED to the client, abort to the handler. */
  deadlineExceeded(): void {
    this.timer = null;
    if (this.finished) return;
    this.sendStatus(Status.DEADLINE_EXCEEDED, 'context deadline exceeded');
    this.cancel('deadline exceeded');
  }

  private fail(code: number, details: string): void {
    this.parts = [];
    this.sendStatus(code, details);
  }

  private cancel(reason: string): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.finished = true;
    this.cancelReason = reason;
    this.clearTimer();
    this.ac?.abort(new DOMException(reason, 'AbortError'));
    const fns = this.cancelListeners;
    if (fns) for (const fn of fns.slice()) fn();
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private responseHeaders(): Buffer {
    return this.codec === null ? RESPONSE_HEADERS : COMPRESSED_RESPONSE_HEADERS.get(this.codecName)!;
  }

  private sendHeaders(): void {
    this.headersSent = true;
    this.stream.respond(this.responseHeaders(), false);
  }
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

export interface GrpcServerOptions {
  /** Largest request message accepted, bytes (after decompression too). */
  maxRecvMsgSize: number;
  /** Largest response message sent, bytes. */
  maxSendMsgSize: number;
  logger?: Logger;
}

/**
 * A gRPC server: h2c with prior knowledge or TLS with ALPN h2. Methods are mounted with
 * addMethod (native) or addService (grpc-js service definitions and handlers). listen()
 * binds; shutdown() drains in-flight calls, then cancels them.
 */
export class GrpcServer {
  private readonly methods = new Map<string, MethodHandler>();
  private readonly services = new Set<string>();
  private readonly connections = new Set<H2ServerConnection>();
  private readonly limits: CallLimits;
  private readonly logger: Logger;
  private listener: net.Server | tls.Server | null = null;
  private unwatchCredentials: (() => void) | null = null;

  constructor(opts: GrpcServerOptions) {
    this.limits = { maxRecvMsgSize: opts.maxRecvMsgSize, maxSendMsgSize: opts.maxSendMsgSize };
    this.logger = opts.logger ?? nopLogger();
  }

  /** Serves `path` (/package.Service/Method), a unary or server-streaming method. */
  addMethod(path: string, handler: MethodHandler): void {
    const slash = path.lastIndexOf('/');
    if (path[0] !== '/' || slash <= 0) throw new Error(`grpc: malformed method path ${JSON.stringify(path)}`);
    if (this.methods.has(path)) throw new Error(`grpc: method ${path} registered twice`);
    this.methods.set(path, handler);
    this.services.add(path.slice(1, slash));
  }

  /**
   * Mounts a grpc-js service definition with its handlers: unary `(call, callback)` and
   * server-streaming `(call)` ones. Client-streaming methods are refused.
   */
  addService(def: ServiceDefinition, impl: UntypedServiceImplementation): void {
    for (const [name, m] of Object.entries(def)) {
      if (m.requestStream) throw new Error(`grpc: ${m.path}: client-streaming methods are not supported`);
      const fn = (impl[name] ?? impl[m.originalName ?? '']) as ((...args: unknown[]) => void) | undefined;
      if (!fn) continue;
      const deserialize = m.requestDeserialize as (b: Buffer) => unknown;
      const serialize = m.responseSerialize as (v: unknown) => Buffer;
      this.addMethod(m.path, (call) => {
        let req: unknown;
        try {
          req = deserialize(call.request);
        } catch {
          call.sendStatus(Status.INTERNAL, 'Error deserializing request');
          return;
        }
        (call as { request: unknown }).request = req;
        call.serialize = serialize;
        if (m.responseStream) {
          fn(call);
          return;
        }
        fn(call, (err: StatusLike | null, value?: unknown) => {
          if (err) call.sendStatus(err.code ?? Status.UNKNOWN, err.details ?? err.message ?? '');
          else call.sendUnary(value as Buffer);
        });
      });
    }
  }

  /**
   * Binds host:port (port 0: any free one) and resolves to the port. Credentials are
   * grpc-js ServerCredentials (tls.ts): insecure is h2c; secure ones give the TLS options,
   * and renewed certificates reach the listener through setSecureContext.
   */
  async listen(host: string, port: number, credentials: ServerCredentials): Promise<number> {
    if (this.listener) throw new Error('grpc: server already listening');
    const listener = credentials._isSecure() ? this.secureServer(credentials) : net.createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(port, host, () => {
        listener.off('error', reject);
        resolve();
      });
    }).catch((err: unknown) => {
      this.unwatchCredentials?.();
      this.unwatchCredentials = null;
      throw err;
    });
    listener.on('error', (err) => this.logger.error({ err }, 'grpc: server error'));
    this.listener = listener;
    const a = listener.address();
    return typeof a === 'object' && a !== null ? a.port : port;
  }

  /** One connection: its streams become calls. */
  private serve(socket: net.Socket | TLSSocket): void {
    const conn = new H2ServerConnection(socket, {
      onStream: (stream) => this.dispatch(stream, stream.headers),
      // Socket and protocol errors end that connection and its calls only.
      onError: (err) => this.logger.debug({ err }, 'grpc: connection error'),
    });
    this.connections.add(conn);
    socket.once('close', () => this.connections.delete(conn));
  }

  private secureServer(credentials: ServerCredentials): tls.Server {
    const server = tls.createServer({
      ...credentials._getConstructorOptions(),
      ...credentials._getSecureContextOptions(),
      ALPNProtocols: ['h2'],
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      // gRPC is HTTP/2 only (grpc-go refuses other protocols too).
      if (socket.alpnProtocol !== 'h2' && socket.alpnProtocol !== false) {
        socket.destroy();
        return;
      }
      this.serve(socket);
    });
    // A failed handshake ends that connection only.
    server.on('tlsClientError', (err) => this.logger.debug({ err }, 'grpc: TLS handshake failed'));
    const watcher = (ctx: SecureContextOptions | null): void => {
      if (!ctx) return;
      try {
        server.setSecureContext(ctx);
      } catch (err) {
        this.logger.error({ err }, 'grpc: set the renewed TLS context; keeping the previous one');
      }
    };
    credentials._addWatcher(watcher);
    this.unwatchCredentials = () => credentials._removeWatcher(watcher);
    return server;
  }

  private dispatch(stream: H2ServerStream, headers: Record<string, string>): void {
    const ct = headers['content-type'];
    if (typeof ct !== 'string' || !isGrpcContentType(ct)) {
      respondEarly(stream, 415, Status.INVALID_ARGUMENT, `invalid gRPC request content-type ${JSON.stringify(ct ?? '')}`);
      return;
    }
    let deadline = Infinity;
    const timeout = headers['grpc-timeout'];
    if (timeout !== undefined) {
      try {
        deadline = Date.now() + parseGrpcTimeout(String(timeout));
      } catch (err) {
        respondEarly(stream, 400, Status.INTERNAL, `malformed grpc-timeout: ${(err as Error).message}`);
        return;
      }
    }
    const method = headers[':method'];
    if (method !== 'POST') {
      respondEarly(stream, 405, Status.INTERNAL, `Received a HEADERS frame with :method ${JSON.stringify(method)} which should be POST`);
      return;
    }
    // grpc-go's order: headers, then an already passed deadline, then the method, then the codec.
    if (deadline <= Date.now()) {
      respondEarly(stream, 200, Status.DEADLINE_EXCEEDED, 'context deadline exceeded');
      return;
    }
    const path = headers[':path'] ?? '';
    const handler = this.methods.get(path);
    if (handler === undefined) {
      respondEarly(stream, 200, Status.UNIMPLEMENTED, unknownMethod(path, this.services));
      return;
    }
    const encoding = headers['grpc-encoding'];
    let codec: MessageCodec | null = null;
    let codecName = '';
    if (encoding !== undefined && encoding !== 'identity') {
      codecName = String(encoding);
      codec = CODECS.get(codecName) ?? null;
      if (codec === null) {
        respondEarly(stream, 200, Status.UNIMPLEMENTED, `grpc: Decompressor is not installed for grpc-encoding ${JSON.stringify(codecName)}`);
        return;
      }
    }
    new ServerCall(stream, path, headers, deadline, codec, codecName, this.limits, handler);
  }

  /**
   * Stops taking connections and streams (GOAWAY), waits up to graceMs for the calls in
   * flight, then closes what is left (cancelling those calls).
   */
  async shutdown(graceMs: number): Promise<void> {
    const listener = this.listener;
    if (!listener) return;
    this.listener = null;
    this.unwatchCredentials?.();
    this.unwatchCredentials = null;
    const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
    const timer = setTimeout(() => {
      for (const c of this.connections) c.destroy();
    }, graceMs);
    await Promise.all([...this.connections].map((c) => c.close()));
    await closed;
    clearTimeout(timer);
  }

  /** Closes every connection now, cancelling all calls. */
  forceShutdown(): void {
    for (const c of this.connections) c.destroy();
    void this.shutdown(0);
  }
}

function unknownMethod(path: string, services: ReadonlySet<string>): string {
  const slash = path.lastIndexOf('/');
  if (path[0] !== '/' || slash <= 0) return `malformed method name: ${JSON.stringify(path)}`;
  const service = path.slice(1, slash);
  const method = path.slice(slash + 1);
  return services.has(service) ? `unknown method ${method} for service ${service}` : `unknown service ${service}`;
}
