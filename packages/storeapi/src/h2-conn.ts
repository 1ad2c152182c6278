// HTTP/2 connections (RFC 9113), just what gRPC needs, written on the socket directly:
// the server side of our gRPC server (h2-server.ts) and the client side of the lean
// channel (h2-channel.ts). node:http2 costs a small call about 0.4 ms of CPU in
// JavaScript around nghttp2 on each side (a Duplex stream, header objects, listeners),
// and a server on it sends each answer as three TCP packets: headers and the first
// message, later messages, then the trailers after a 'wantTrailers' round trip. Here
// everything one side produces in a turn of the event loop leaves in one write, so a
// small request or answer is one packet.
//
// Served: HEADERS/CONTINUATION, DATA, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE
// with flow control both ways; PRIORITY and unknown frames are ignored, PUSH_PROMISE is
// a protocol error (we never enable push). No HTTP/1.1 upgrade: h2c with prior
// knowledge, or TLS with ALPN h2, as gRPC does.

import type { Duplex } from 'node:stream';
import { HpackDecoder, HpackError } from './hpack.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const DATA = 0x0;
const HEADERS = 0x1;
const PRIORITY = 0x2;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PUSH_PROMISE = 0x5;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;

const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;

/** HTTP/2 error codes (RFC 9113 section 7). */
export const H2Error = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;
const SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;

const DEFAULT_WINDOW = 65_535;
const MAX_WINDOW = 2 ** 31 - 1;
/** The largest frame payload we accept (the protocol's default; we advertise no other). */
const MAX_FRAME_IN = 16_384;
/**
 * What the peer may send on a stream before our WINDOW_UPDATE. HTTP/2's 64 KiB would make
 * a large answer wait a round trip per 64 KiB; grpc-go grows its windows to megabytes.
 */
const STREAM_RECV_WINDOW = 1 << 20;
/** The connection's receive window, raised from 64 KiB at the start. */
const CONN_RECV_WINDOW = 16 << 20;
/** Decoded headers allowed per block (grpc-go's default is 16 MiB; ours is smaller). */
const MAX_HEADER_LIST = 1 << 20;
/** Queued bytes per stream above which write() asks the caller to wait. */
const STREAM_HIGH_WATER = 256 * 1024;
/** Socket backlog above which streams stop moving data to the socket. */
const SOCKET_HIGH_WATER = 1 << 20;
/**
 * Unsent bytes past which a peer is taken to be flooding us with frames that need an
 * answer (PING, SETTINGS) without reading them: its connection is closed.
 */
const FLOOD_LIMIT = 16 << 20;
/** Below this many bytes a turn's output is joined into one buffer before writing. */
const JOIN_LIMIT = 64 * 1024;
const MAX_STREAM_ID = 2 ** 31 - 1;

const EMPTY = Buffer.alloc(0);

/** The code a stream is lost with when its connection goes away (no HTTP/2 code). */
export const CONNECTION_LOST = -1;

/** A connection-level failure: GOAWAY with this code, then the socket closes. */
class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'ConnectionError';
  }
}

/** The 9-byte header of a frame (RFC 9113 section 4.1). */
export function frameHeader(length: number, type: number, flags: number, id: number): Buffer {
  const h = Buffer.allocUnsafe(9);
  h[0] = (length >>> 16) & 0xff;
  h[1] = (length >>> 8) & 0xff;
  h[2] = length & 0xff;
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return h;
}

type Socket = Duplex & { remoteAddress?: string; remotePort?: number; setNoDelay?(on: boolean): unknown; ref?(): unknown; unref?(): unknown };

// ---------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------

/**
 * One stream, the part both sides share: what we send (headers, DATA under flow
 * control, END_STREAM on trailers or on the last DATA frame) and its state.
 */
abstract class H2Stream {
  /** Closed both ways, or reset, or the connection is gone. */
  closed = false;
  /** The peer sent END_STREAM. */
  remoteEnded = false;
  /** @internal bytes we may still send on this stream. */
  sendWindow: number;
  /** @internal bytes received since our last WINDOW_UPDATE for this stream. */
  recvUnacked = 0;
  /** @internal bytes written but not yet framed. */
  queued = 0;
  private queue: Buffer[] = [];
  private queueHead = 0;
  /** undefined: not ending; null: END_STREAM on the last DATA; a block: trailers. */
  private ending: Buffer | null | undefined = undefined;
  private localEnded = false;
  private headersSent = false;
  private needDrain = false;
  private drainListeners: (() => void)[] | null = null;

  constructor(
    protected readonly session: H2Session,
    readonly id: number,
    initialSendWindow: number,
  ) {
    this.sendWindow = initialSendWindow;
  }

  /** Sends a header block (the first HEADERS); endStream: nothing follows. */
  protected sendHeaders(block: Buffer, endStream: boolean): void {
    if (this.closed || this.headersSent) return;
    this.headersSent = true;
    this.session.sendHeaderBlock(this.id, block, endStream);
    if (endStream) this.localEnd();
  }

  /**
   * Queues a DATA payload. Returns false when the stream holds more than it should:
   * wait for a drain listener before writing more.
   */
  write(chunk: Buffer): boolean {
    if (this.closed || this.ending !== undefined) return true;
    if (chunk.length > 0) {
      this.queue.push(chunk);
      this.queued += chunk.length;
      this.session.wantsToSend(this);
    }
    if (this.queued >= STREAM_HIGH_WATER) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  /** Ends our side after the queued data: with a trailer block, or null for a bare END_STREAM. */
  protected endWith(trailers: Buffer | null): void {
    if (this.closed || this.ending !== undefined || this.localEnded) return;
    this.ending = trailers;
    this.session.wantsToSend(this);
  }

  /** Resets the stream (RST_STREAM) and drops what is queued. */
  reset(code: number): void {
    if (this.closed) return;
    this.session.sendReset(this.id, code);
    this.lost(code, 'reset');
  }

  onDrain(fn: () => void): void {
    (this.drainListeners ??= []).push(fn);
  }

  offDrain(fn: () => void): void {
    const l = this.drainListeners;
    if (!l) return;
    const i = l.indexOf(fn);
    if (i >= 0) l.splice(i, 1);
  }

  /** @internal Whether pump() has something to do. */
  get pending(): boolean {
    return !this.closed && !this.localEnded && (this.queued > 0 || this.ending !== undefined);
  }

  /**
   * @internal Moves up to `budget` bytes of queued data into DATA frames, and the end
   * once the data is out. Returns the bytes framed.
   */
  pump(budget: number, maxFrame: number): number {
    const session = this.session;
    let sent = 0;
    while (this.queueHead < this.queue.length) {
      const allowed = Math.min(budget - sent, this.sendWindow, session.sendWindow);
      if (allowed <= 0) break;
      const buf = this.queue[this.queueHead];
      const n = Math.min(buf.length, allowed, maxFrame);
      const piece = n === buf.length ? buf : buf.subarray(0, n);
      if (n === buf.length) this.queue[this.queueHead++] = EMPTY;
      else this.queue[this.queueHead] = buf.subarray(n);
      this.queued -= n;
      const last = this.queued === 0 && this.ending === null;
      session.pushFrame(frameHeader(n, DATA, last ? FLAG_END_STREAM : 0, this.id), piece);
      this.sendWindow -= n;
      session.sendWindow -= n;
      sent += n;
      if (last) {
        this.localEnd();
        return sent;
      }
    }
    if (this.queueHead === this.queue.length && this.queueHead > 0) {
      this.queue = [];
      this.queueHead = 0;
    }
    if (this.queued === 0 && this.ending !== undefined) {
      if (this.ending === null) session.pushFrame(frameHeader(0, DATA, FLAG_END_STREAM, this.id), EMPTY);
      else session.sendHeaderBlock(this.id, this.ending, true);
      this.localEnd();
    } else if (this.needDrain && this.queued < STREAM_HIGH_WATER / 2) {
      this.needDrain = false;
      const l = this.drainListeners;
      if (l) for (const fn of l.slice()) fn();
    }
    return sent;
  }

  /** We sent END_STREAM. */
  private localEnd(): void {
    this.localEnded = true;
    this.queue = [];
    this.queued = 0;
    if (this.remoteEnded) this.close();
    else this.localEndedFirst();
  }

  /** What happens when we end before the peer did. */
  protected abstract localEndedFirst(): void;

  /** @internal The peer sent END_STREAM. */
  remoteEnd(): void {
    this.remoteEnded = true;
    if (this.localEnded) this.close();
  }

  protected close(): void {
    if (this.closed) return;
    this.closed = true;
    this.session.streamDone(this);
  }

  /** @internal Reset by the peer (code) or the connection went away. */
  lost(code: number, why: string): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.queued = 0;
    this.session.streamDone(this);
    this.onLost(code, why);
  }

  protected abstract onLost(code: number, why: string): void;

  /** @internal A DATA payload (padding removed); frameLength counts against the windows. */
  abstract dataFrame(data: Buffer, frameLength: number, endStream: boolean): void;

  /** @internal A header block on this stream after the first one of the request. */
  abstract headerBlock(headers: Record<string, string>, endStream: boolean): void;
}

/** What a server stream tells the call on it. */
export interface H2StreamEvents {
  /** A DATA payload of the request. */
  requestData(chunk: Buffer): void;
  /** The client half-closed (END_STREAM). */
  requestEnded(): void;
  /** The stream is gone before the call finished: reset by the client or connection lost. */
  streamClosed(): void;
}

/** A request stream on the server; the answer goes out with respond(), write() and end(). */
export class H2ServerStream extends H2Stream {
  /** Set by whoever serves the stream; until then request data is dropped. */
  events: H2StreamEvents | null = null;

  constructor(
    session: H2Session,
    id: number,
    /** Request headers, names lowercase; repeated names joined with ", ". */
    readonly headers: Record<string, string>,
    initialSendWindow: number,
  ) {
    super(session, id, initialSendWindow);
  }

  /** The client's address, host:port. */
  get peer(): string {
    return this.session.peer;
  }

  /** Sends the response headers (an encoded header block); endStream for Trailers-Only. */
  respond(block: Buffer, endStream: boolean): void {
    this.sendHeaders(block, endStream);
  }

  /** Ends the answer with trailers (an encoded header block), after the queued data. */
  end(trailerBlock: Buffer): void {
    this.endWith(trailerBlock);
  }

  /** Answered before the request ended: the client is told to stop sending (as grpc-go does). */
  protected localEndedFirst(): void {
    this.session.sendReset(this.id, H2Error.NO_ERROR);
    this.close();
  }

  protected onLost(): void {
    this.events?.streamClosed();
  }

  dataFrame(data: Buffer, frameLength: number, endStream: boolean): void {
    this.recvUnacked += frameLength;
    if (this.recvUnacked > STREAM_RECV_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'stream sent past its window');
    // A request is read as it comes: the window reopens at once.
    if (!endStream && this.recvUnacked >= STREAM_RECV_WINDOW / 2) {
      this.session.pushWindowUpdate(this.id, this.recvUnacked);
      this.recvUnacked = 0;
    }
    // The payload is copied: it is a view of the socket's chunk, which the call may keep.
    if (data.length > 0) this.events?.requestData(Buffer.from(data));
    if (endStream) this.requestEnd();
  }

  headerBlock(_headers: Record<string, string>, endStream: boolean): void {
    // Trailers from the client: they must end the stream.
    if (!endStream) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'HEADERS after the request headers without END_STREAM');
    this.requestEnd();
  }

  /** @internal */
  requestEnd(): void {
    if (this.remoteEnded) return;
    this.remoteEnd();
    this.events?.requestEnded();
  }
}

/** What a client stream tells the call on it. */
export interface H2ClientStreamEvents {
  /** Response headers (the first block) or trailers; endStream: the answer is complete. */
  headers(headers: Record<string, string>, endStream: boolean): void;
  /** A DATA payload of the answer: call consumed() once it is read. */
  data(chunk: Buffer, endStream: boolean): void;
  /**
   * Reset by the server (an H2Error code), or CONNECTION_LOST: the connection is gone
   * (why says how). Not called after the end of the answer.
   */
  failed(code: number, why: string): void;
}

/** A call's stream on the client. */
export class H2ClientStream extends H2Stream {
  constructor(
    session: H2Session,
    id: number,
    initialSendWindow: number,
    private readonly events: H2ClientStreamEvents,
  ) {
    super(session, id, initialSendWindow);
  }

  /** Sends the request: headers, then the body with END_STREAM. */
  send(headerBlock: Buffer, body: Buffer): void {
    this.sendHeaders(headerBlock, false);
    this.write(body);
    this.endWith(null);
  }

  /** The caller has read n bytes of DATA: the server may send that much more. */
  consumed(n: number): void {
    if (this.closed) return;
    this.recvUnacked -= n;
    this.readUnacked += n;
    if (this.readUnacked >= STREAM_RECV_WINDOW / 2) {
      this.session.pushWindowUpdate(this.id, this.readUnacked);
      this.readUnacked = 0;
    }
  }

  /** Read but not yet given back to the server. */
  private readUnacked = 0;

  /** Waiting for the answer after our END_STREAM. */
  protected localEndedFirst(): void {}

  protected onLost(code: number, why: string): void {
    this.events.failed(code, why);
  }

  dataFrame(data: Buffer, frameLength: number, endStream: boolean): void {
    // Not yet read: counts until consumed() (padding is given back at once).
    this.recvUnacked += data.length;
    if (this.recvUnacked + this.readUnacked > STREAM_RECV_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'stream sent past its window');
    // Padding is never read by anyone: it is given back with the next window update.
    this.readUnacked += frameLength - data.length;
    if (endStream) this.remoteEnd();
    this.events.data(data, endStream);
    if (endStream) this.abandonRequest();
  }

  headerBlock(headers: Record<string, string>, endStream: boolean): void {
    if (endStream) this.remoteEnd();
    this.events.headers(headers, endStream);
    if (endStream) this.abandonRequest();
  }

  /** Answered before our request was all sent: the rest is not sent. */
  private abandonRequest(): void {
    if (this.closed) return;
    this.session.sendReset(this.id, H2Error.NO_ERROR);
    this.close();
  }
}

// ---------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------

export interface H2SessionOptions {
  /** The connection failed (protocol or socket error): for debug logs. */
  onError?(err: Error): void;
}

/** What both sides of a connection do: frames in and out, settings, flow control. */
abstract class H2Session {
  /** @internal bytes we may still send on the connection. */
  sendWindow = DEFAULT_WINDOW;
  readonly peer: string;
  protected readonly streams = new Map<number, H2Stream>();
  protected peerInitialWindow = DEFAULT_WINDOW;
  protected goawaySent = false;
  protected destroyed = false;
  /** Highest stream id the peer opened (server) or we opened (client). */
  protected lastStreamId = 0;
  private readonly decoder = new HpackDecoder(4096, MAX_HEADER_LIST);
  private readonly sendable = new Set<H2Stream>();
  private prefaceSeen: boolean;
  private pending: Buffer | null = null;
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  private peerMaxFrame = 16_384;
  private recvUnacked = 0;
  /** Header block being collected across CONTINUATION frames. */
  private continuing: { id: number; endStream: boolean; parts: Buffer[]; bytes: number } | null = null;
  private onIdle: (() => void) | null = null;
  private socketError: Error | null = null;

  constructor(
    readonly socket: Socket,
    protected readonly opts: H2SessionOptions,
    /** Server: the peer starts with the client preface. Client: we send it. */
    readonly isServer: boolean,
  ) {
    this.peer = `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`;
    this.prefaceSeen = !isServer;
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('drain', () => this.schedulePump());
    socket.on('error', (err: Error) => {
      this.socketError = err;
      this.opts.onError?.(err);
    });
    socket.on('close', () => this.closed(this.socketError ?? new Error('connection closed')));
    if (!isServer) {
      this.out.push(PREFACE);
      this.outBytes += PREFACE.length;
    }
    // Our settings: no push, 1 MiB stream windows, the header list limit; then the
    // connection window raised.
    const settings = Buffer.allocUnsafe(18);
    settings.writeUInt16BE(SETTINGS_ENABLE_PUSH, 0);
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(SETTINGS_INITIAL_WINDOW_SIZE, 6);
    settings.writeUInt32BE(STREAM_RECV_WINDOW, 8);
    settings.writeUInt16BE(SETTINGS_MAX_HEADER_LIST_SIZE, 12);
    settings.writeUInt32BE(MAX_HEADER_LIST, 14);
    this.pushFrame(frameHeader(18, SETTINGS, 0, 0), settings);
    this.pushWindowUpdate(0, CONN_RECV_WINDOW - DEFAULT_WINDOW);
  }

  /** Streams in progress. */
  get activeStreams(): number {
    return this.streams.size;
  }

  /** GOAWAY sent or received, or the connection is gone: no new streams. */
  get draining(): boolean {
    return this.goawaySent || this.destroyed;
  }

  /**
   * Graceful close: GOAWAY (no new streams), the socket ends once the streams in
   * progress finish. Resolves then.
   */
  close(): Promise<void> {
    if (!this.goawaySent) this.sendGoaway(H2Error.NO_ERROR, '');
    if (this.streams.size === 0 || this.destroyed) {
      this.endSocket();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.onIdle = () => {
        this.endSocket();
        resolve();
      };
    });
  }

  /** Closes now: every stream in progress is lost. */
  destroy(): void {
    if (this.destroyed) return;
    this.socket.destroy();
    this.closed(new Error('connection closed'));
  }

  // ---- input ----

  private received(chunk: Buffer): void {
    if (this.destroyed) return;
    let buf = chunk;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let off = 0;
    try {
      if (!this.prefaceSeen) {
        if (buf.length < PREFACE.length) {
          if (!PREFACE.subarray(0, buf.length).equals(buf)) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad connection preface');
          this.pending = buf;
          return;
        }
        if (!buf.subarray(0, PREFACE.length).equals(PREFACE)) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad connection preface');
        this.prefaceSeen = true;
        off = PREFACE.length;
      }
      while (buf.length - off >= 9) {
        const len = (buf[off] << 16) | (buf[off + 1] << 8) | buf[off + 2];
        if (len > MAX_FRAME_IN) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, `frame of ${len} bytes is larger than ${MAX_FRAME_IN}`);
        if (buf.length - off < 9 + len) break;
        const type = buf[off + 3];
        const flags = buf[off + 4];
        const id = buf.readUInt32BE(off + 5) & 0x7fffffff;
        const payload = buf.subarray(off + 9, off + 9 + len);
        off += 9 + len;
        this.frame(type, flags, id, payload);
        if (this.destroyed) return;
      }
    } catch (err) {
      this.fail(err);
      return;
    }
    // A partial frame waits for the rest; it is copied so the socket's chunk can go.
    if (off < buf.length) this.pending = Buffer.from(buf.subarray(off));
    this.schedulePump();
  }

  private frame(type: number, flags: number, id: number, p: Buffer): void {
    if (this.continuing !== null && (type !== CONTINUATION || id !== this.continuing.id)) {
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'expected a CONTINUATION frame');
    }
    switch (type) {
      case DATA:
        return this.onData(flags, id, p);
      case HEADERS:
        return this.onHeaders(flags, id, p);
      case CONTINUATION: {
        const c = this.continuing;
        if (c === null) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'CONTINUATION without HEADERS');
        c.parts.push(Buffer.from(p));
        c.bytes += p.length;
        if (c.bytes > MAX_HEADER_LIST) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, 'header block too large');
        if (flags & FLAG_END_HEADERS) {
          this.continuing = null;
          this.headerBlock(c.id, Buffer.concat(c.parts, c.bytes), c.endStream);
        }
        return;
      }
      case PRIORITY:
        if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        return;
      case RST_STREAM: {
        if (id === 0 || p.length !== 4) throw new ConnectionError(id === 0 ? H2Error.PROTOCOL_ERROR : H2Error.FRAME_SIZE_ERROR, 'malformed RST_STREAM');
        if (this.isIdle(id)) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
        const code = p.readUInt32BE(0);
        this.streams.get(id)?.lost(code, `stream reset by the peer with code ${code}`);
        return;
      }
      case SETTINGS:
        return this.onSettings(flags, id, p);
      case PUSH_PROMISE:
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE with push disabled');
      case PING:
        if (id !== 0 || p.length !== 8) throw new ConnectionError(id !== 0 ? H2Error.PROTOCOL_ERROR : H2Error.FRAME_SIZE_ERROR, 'malformed PING');
        if (!(flags & FLAG_ACK)) this.pushFrame(frameHeader(8, PING, FLAG_ACK, 0), Buffer.from(p));
        return;
      case GOAWAY:
        if (id !== 0 || p.length < 8) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'malformed GOAWAY');
        return this.goawayReceived(p.readUInt32BE(0) & 0x7fffffff, p.readUInt32BE(4), p.subarray(8).toString('utf8'));
      case WINDOW_UPDATE:
        return this.onWindowUpdate(id, p);
      default:
        // Unknown frame types are ignored (RFC 9113 section 4.1).
        return;
    }
  }

  /** A stream id neither side has opened yet. */
  protected abstract isIdle(id: number): boolean;

  /** A header block on a stream we do not know: a new request (server), or an error. */
  protected abstract newStreamHeaders(id: number, headers: Record<string, string>, endStream: boolean): void;

  /** The peer's GOAWAY: streams above lastStreamId were never processed. */
  protected abstract goawayReceived(lastStreamId: number, code: number, debug: string): void;

  private onData(flags: number, id: number, p: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on stream 0');
    // Every byte counts against the connection window, whatever happens to the stream;
    // the connection window reopens at once (streams' windows bound what is buffered).
    this.recvUnacked += p.length;
    if (this.recvUnacked >= CONN_RECV_WINDOW / 2) {
      this.pushWindowUpdate(0, this.recvUnacked);
      this.recvUnacked = 0;
    }
    let data = p;
    if (flags & FLAG_PADDED) {
      if (p.length < 1 || p[0] >= p.length) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad DATA padding');
      data = p.subarray(1, p.length - p[0]);
    }
    const s = this.streams.get(id);
    if (s === undefined || s.remoteEnded) {
      if (this.isIdle(id)) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on an idle stream');
      // A stream that ended or was reset: the peer may not know yet.
      if (s !== undefined) s.reset(H2Error.STREAM_CLOSED);
      return;
    }
    s.dataFrame(data, p.length, (flags & FLAG_END_STREAM) !== 0);
  }

  private onHeaders(flags: number, id: number, p: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let start = 0;
    let end = p.length;
    if (flags & FLAG_PADDED) {
      if (p.length < 1) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad HEADERS padding');
      end -= p[0];
      start = 1;
    }
    if (flags & FLAG_PRIORITY) start += 5;
    if (start > end) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad HEADERS padding');
    const block = p.subarray(start, end);
    const endStream = (flags & FLAG_END_STREAM) !== 0;
    if (!(flags & FLAG_END_HEADERS)) {
      this.continuing = { id, endStream, parts: [Buffer.from(block)], bytes: block.length };
      return;
    }
    this.headerBlock(id, block, endStream);
  }

  private headerBlock(id: number, block: Buffer, endStream: boolean): void {
    // Every block is decoded, even one we refuse: the decoder's table must stay in step.
    const headers: Record<string, string> = {};
    try {
      this.decoder.decode(block, (name, value) => {
        const prev = headers[name];
        headers[name] = prev === undefined ? value : `${prev}, ${value}`;
      });
    } catch (err) {
      if (err instanceof HpackError) throw new ConnectionError(H2Error.COMPRESSION_ERROR, err.message);
      throw err;
    }
    const s = this.streams.get(id);
    if (s !== undefined) s.headerBlock(headers, endStream);
    else this.newStreamHeaders(id, headers, endStream);
  }

  private onSettings(flags: number, id: number, p: Buffer): void {
    if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & FLAG_ACK) {
      if (p.length !== 0) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if (p.length % 6 !== 0) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS payload not a multiple of 6');
    for (let i = 0; i < p.length; i += 6) {
      const key = p.readUInt16BE(i);
      const value = p.readUInt32BE(i + 2);
      if (key === SETTINGS_INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE too large');
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values()) {
          s.sendWindow += delta;
          if (s.sendWindow > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'stream window overflow');
        }
      } else if (key === SETTINGS_MAX_FRAME_SIZE) {
        if (value < 16_384 || value > 16_777_215) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad SETTINGS_MAX_FRAME_SIZE');
        this.peerMaxFrame = value;
      } else if (key === SETTINGS_ENABLE_PUSH) {
        if (value > 1) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad SETTINGS_ENABLE_PUSH');
      }
      // SETTINGS_HEADER_TABLE_SIZE does not matter: our encoder never uses the dynamic table.
    }
    this.pushFrame(frameHeader(0, SETTINGS, FLAG_ACK, 0), EMPTY);
    for (const s of this.streams.values()) if (s.pending) this.sendable.add(s);
  }

  private onWindowUpdate(id: number, p: Buffer): void {
    if (p.length !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'malformed WINDOW_UPDATE');
    const inc = p.readUInt32BE(0) & 0x7fffffff;
    if (id === 0) {
      if (inc === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += inc;
      if (this.sendWindow > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'connection window overflow');
      for (const s of this.streams.values()) if (s.pending) this.sendable.add(s);
      return;
    }
    const s = this.streams.get(id);
    if (s === undefined) return;
    if (inc === 0) {
      s.reset(H2Error.PROTOCOL_ERROR);
      return;
    }
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) {
      s.reset(H2Error.FLOW_CONTROL_ERROR);
      return;
    }
    if (s.pending) this.sendable.add(s);
  }

  // ---- output ----

  /** @internal */
  pushFrame(header: Buffer, payload: Buffer): void {
    this.out.push(header);
    this.outBytes += 9;
    if (payload.length > 0) {
      this.out.push(payload);
      this.outBytes += payload.length;
    }
    this.scheduleFlush();
  }

  /** @internal */
  pushWindowUpdate(id: number, inc: number): void {
    const p = Buffer.allocUnsafe(4);
    p.writeUInt32BE(inc, 0);
    this.pushFrame(frameHeader(4, WINDOW_UPDATE, 0, id), p);
  }

  /** @internal A header block as HEADERS (+ CONTINUATION frames past the peer's frame size). */
  sendHeaderBlock(id: number, block: Buffer, endStream: boolean): void {
    const max = this.peerMaxFrame;
    const es = endStream ? FLAG_END_STREAM : 0;
    if (block.length <= max) {
      this.pushFrame(frameHeader(block.length, HEADERS, es | FLAG_END_HEADERS, id), block);
      return;
    }
    for (let off = 0; off < block.length; off += max) {
      const piece = block.subarray(off, Math.min(block.length, off + max));
      const last = off + max >= block.length ? FLAG_END_HEADERS : 0;
      this.pushFrame(frameHeader(piece.length, off === 0 ? HEADERS : CONTINUATION, (off === 0 ? es : 0) | last, id), piece);
    }
  }

  /** @internal */
  sendReset(id: number, code: number): void {
    const p = Buffer.allocUnsafe(4);
    p.writeUInt32BE(code, 0);
    this.pushFrame(frameHeader(4, RST_STREAM, 0, id), p);
  }

  protected sendGoaway(code: number, debug: string): void {
    this.goawaySent = true;
    const d = Buffer.from(debug, 'utf8');
    const p = Buffer.allocUnsafe(8 + d.length);
    // A client names no stream of the server's (it never opens any).
    p.writeUInt32BE(this.isServer ? this.lastStreamId : 0, 0);
    p.writeUInt32BE(code, 4);
    d.copy(p, 8);
    this.pushFrame(frameHeader(p.length, GOAWAY, 0, 0), p);
  }

  /** @internal A stream has data or an end to send. */
  wantsToSend(s: H2Stream): void {
    this.sendable.add(s);
    this.scheduleFlush();
  }

  /** @internal */
  streamDone(s: H2Stream): void {
    this.streams.delete(s.id);
    this.sendable.delete(s);
    if (this.streams.size === 0) this.idle();
  }

  /** No stream left. */
  protected idle(): void {
    if (this.onIdle !== null) {
      const fn = this.onIdle;
      this.onIdle = null;
      // After the frames of this turn (the last trailers) are written.
      setImmediate(fn);
    }
  }

  private schedulePump(): void {
    if (this.sendable.size > 0) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.destroyed) return;
    this.flushScheduled = true;
    // After the microtasks and callbacks of this turn: what a call writes across its
    // awaits within one turn leaves in one write.
    setImmediate(flushSession, this);
  }

  /** @internal Frames what streams have queued (flow control permitting) and writes it all. */
  flush(): void {
    this.flushScheduled = false;
    if (this.destroyed) return;
    const sock = this.socket as Socket & { writableLength: number };
    if (this.sendable.size > 0 && sock.writableLength < SOCKET_HIGH_WATER) {
      const max = this.peerMaxFrame;
      // Round robin: each stream a share of what the socket should take now.
      let room = SOCKET_HIGH_WATER - sock.writableLength;
      for (const s of this.sendable) {
        if (room <= 0) break;
        if (!s.pending) {
          this.sendable.delete(s);
          continue;
        }
        room -= s.pump(room, max);
        if (!s.pending) this.sendable.delete(s);
        else if (this.sendWindow <= 0) break;
      }
    }
    const out = this.out;
    if (out.length === 0) return;
    if (sock.writableLength > FLOOD_LIMIT) {
      this.opts.onError?.(new Error(`${sock.writableLength} bytes unread by the peer: closing the connection`));
      this.destroy();
      return;
    }
    this.out = [];
    const bytes = this.outBytes;
    this.outBytes = 0;
    if (out.length === 1) sock.write(out[0]);
    else if (bytes <= JOIN_LIMIT) sock.write(Buffer.concat(out, bytes));
    else {
      sock.cork();
      for (const b of out) sock.write(b);
      sock.uncork();
    }
    // More to send once the socket drains ('drain') or the peer opens its window.
  }

  // ---- teardown ----

  private fail(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.opts.onError?.(e);
    if (e instanceof ConnectionError) {
      this.sendGoaway(e.code, e.message);
      this.flush();
      this.endSocket();
    } else {
      this.destroy();
    }
    this.closed(e);
  }

  private endSocket(): void {
    if (this.destroyed) return;
    this.flush();
    this.socket.end();
    // A peer that never reads its side must not hold the socket open.
    const t = setTimeout(() => this.socket.destroy(), 5000);
    t.unref();
  }

  private closed(why: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pending = null;
    for (const s of [...this.streams.values()]) s.lost(CONNECTION_LOST, why.message);
    this.streams.clear();
    this.sendable.clear();
    const fn = this.onIdle;
    this.onIdle = null;
    fn?.();
  }
}

function flushSession(c: H2Session): void {
  c.flush();
}

export interface H2ServerConnectionOptions extends H2SessionOptions {
  /** A new request stream with its headers. */
  onStream(stream: H2ServerStream): void;
}

/** One client's connection to our server. */
export class H2ServerConnection extends H2Session {
  constructor(
    socket: Socket,
    private readonly serverOpts: H2ServerConnectionOptions,
  ) {
    super(socket, serverOpts, true);
  }

  protected isIdle(id: number): boolean {
    return id > this.lastStreamId;
  }

  protected newStreamHeaders(id: number, headers: Record<string, string>, endStream: boolean): void {
    if (id % 2 === 0 || id <= this.lastStreamId) {
      // Closed streams' ids, or even ones, never come back.
      throw new ConnectionError(id % 2 === 0 ? H2Error.PROTOCOL_ERROR : H2Error.STREAM_CLOSED, `HEADERS on stream ${id}`);
    }
    this.lastStreamId = id;
    if (this.goawaySent) {
      this.sendReset(id, H2Error.REFUSED_STREAM);
      return;
    }
    const s = new H2ServerStream(this, id, headers, this.peerInitialWindow);
    this.streams.set(id, s);
    this.serverOpts.onStream(s);
    if (endStream && !s.closed) s.requestEnd();
  }

  protected goawayReceived(): void {
    // The client stops opening streams; those in progress finish.
  }
}

export interface H2ClientConnectionOptions extends H2SessionOptions {
  /** The server sent GOAWAY or the connection closed: new calls need a new connection. */
  onGone?(): void;
}

/** Our connection to a server. */
export class H2ClientConnection extends H2Session {
  private goawayFromPeer = false;

  constructor(
    socket: Socket,
    private readonly clientOpts: H2ClientConnectionOptions,
  ) {
    super(socket, clientOpts, false);
    socket.once('close', () => this.clientOpts.onGone?.());
    // An idle connection must not keep the process alive; one with calls does.
    socket.unref?.();
  }

  /** False once the server said GOAWAY or stream ids ran out: dial anew. */
  get usable(): boolean {
    return !this.draining && !this.goawayFromPeer && this.lastStreamId + 2 <= MAX_STREAM_ID;
  }

  /** Opens a stream and sends the request (header block, body, END_STREAM). */
  request(headerBlock: Buffer, body: Buffer, events: H2ClientStreamEvents): H2ClientStream {
    if (!this.usable) throw new Error('connection is closing');
    const id = this.lastStreamId === 0 ? 1 : this.lastStreamId + 2;
    this.lastStreamId = id;
    const s = new H2ClientStream(this, id, this.peerInitialWindow, events);
    if (this.streams.size === 0) this.socket.ref?.();
    this.streams.set(id, s);
    s.send(headerBlock, body);
    return s;
  }

  protected override idle(): void {
    super.idle();
    this.socket.unref?.();
  }

  protected isIdle(id: number): boolean {
    return id % 2 === 0 || id > this.lastStreamId;
  }

  protected newStreamHeaders(id: number): void {
    // Headers for a stream we have reset or finished are dropped; any other is an error.
    if (this.isIdle(id)) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `HEADERS on stream ${id} the client never opened`);
  }

  protected goawayReceived(lastStreamId: number, code: number, debug: string): void {
    this.goawayFromPeer = true;
    this.clientOpts.onGone?.();
    const why = `the server sent GOAWAY (code ${code}${debug ? `: ${debug}` : ''})`;
    for (const s of [...this.streams.values()]) if (s.id > lastStreamId) s.lost(H2Error.REFUSED_STREAM, why);
    if (this.streams.size === 0) void this.close();
  }
}
