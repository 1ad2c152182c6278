// The server side of an HTTP/2 connection (RFC 9113), just what gRPC needs, written on
// the socket directly. node:http2 costs a small call about 0.4 ms of CPU in JavaScript
// around nghttp2 (a Duplex stream, header objects, listeners) and sends each response as
// three TCP packets: headers and the first message, later messages, then the trailers
// after a 'wantTrailers' round trip. Here everything a call produces in one turn of the
// event loop leaves in one write, so a small answer is one packet.
//
// Served: HEADERS/CONTINUATION, DATA, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE
// with flow control both ways; PRIORITY and unknown frames are ignored, PUSH_PROMISE is
// a protocol error. No server push, no HTTP/1.1 upgrade (h2c with prior knowledge, or
// TLS with ALPN h2, as grpc-go's server).

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

const SETTINGS_HEADER_TABLE_SIZE = 0x1;
const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;
const SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;

const DEFAULT_WINDOW = 65_535;
const MAX_WINDOW = 2 ** 31 - 1;
/** The largest frame payload we accept (the protocol's default; we advertise no other). */
const MAX_FRAME_IN = 16_384;
/** What each stream may send us before a WINDOW_UPDATE: requests are one message. */
const STREAM_RECV_WINDOW = 1 << 20;
/** The connection's receive window, raised from 64 KiB at the start. */
const CONN_RECV_WINDOW = 16 << 20;
/** Decoded request headers allowed per stream (grpc-go's default is 16 MiB; ours is smaller). */
const MAX_HEADER_LIST = 1 << 20;
/** Queued response bytes per stream above which write() asks the caller to wait. */
const STREAM_HIGH_WATER = 256 * 1024;
/** Socket backlog above which streams stop moving data to the socket. */
const SOCKET_HIGH_WATER = 1 << 20;
/**
 * Unsent bytes past which a client is taken to be flooding us with frames that need an
 * answer (PING, SETTINGS) without reading them: its connection is closed.
 */
const FLOOD_LIMIT = 16 << 20;
/** Below this many bytes a turn's output is joined into one buffer before writing. */
const JOIN_LIMIT = 64 * 1024;

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

/** What a stream tells the call on it. */
export interface H2StreamEvents {
  /** A DATA payload of the request. */
  requestData(chunk: Buffer): void;
  /** The client half-closed (END_STREAM). */
  requestEnded(): void;
  /** The stream is gone before the call finished: reset by the client or connection lost. */
  streamClosed(): void;
}

function frameHeader(length: number, type: number, flags: number, id: number): Buffer {
  const h = Buffer.allocUnsafe(9);
  h[0] = (length >>> 16) & 0xff;
  h[1] = (length >>> 8) & 0xff;
  h[2] = length & 0xff;
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return h;
}

/** One request stream; responses are written with respond(), write() and end(). */
export class H2ServerStream {
  /** Set by whoever serves the stream; until then request data is dropped. */
  events: H2StreamEvents | null = null;
  /** Request headers, names lowercase; repeated names joined with ", ". */
  readonly headers: Record<string, string>;
  /** We sent END_STREAM or RST_STREAM, or the stream was reset or lost. */
  closed = false;
  /** The client sent END_STREAM. */
  remoteEnded = false;
  /** @internal bytes we may still send on this stream. */
  sendWindow: number;
  /** @internal request bytes received since our last WINDOW_UPDATE for this stream. */
  recvUnacked = 0;
  private queue: Buffer[] = [];
  private queueHead = 0;
  /** @internal response bytes written but not yet framed. */
  queued = 0;
  private trailers: Buffer | null = null;
  private headersSent = false;
  private needDrain = false;
  private drainListeners: (() => void)[] | null = null;

  constructor(
    private readonly conn: H2ServerConnection,
    readonly id: number,
    headers: Record<string, string>,
    initialSendWindow: number,
  ) {
    this.headers = headers;
    this.sendWindow = initialSendWindow;
  }

  /** The client's address, host:port. */
  get peer(): string {
    return this.conn.peer;
  }

  /** Sends the response headers (an encoded header block); endStream for Trailers-Only. */
  respond(block: Buffer, endStream: boolean): void {
    if (this.closed || this.headersSent) return;
    this.headersSent = true;
    this.conn.sendHeaderBlock(this.id, block, endStream);
    if (endStream) this.finish();
  }

  /**
   * Queues a DATA payload (after respond()). Returns false when the stream holds more
   * than it should: wait for the drain listener before writing more.
   */
  write(chunk: Buffer): boolean {
    if (this.closed || this.trailers !== null) return true;
    if (chunk.length > 0) {
      this.queue.push(chunk);
      this.queued += chunk.length;
      this.conn.wantsToSend(this);
    }
    if (this.queued >= STREAM_HIGH_WATER) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  /** Ends the response with trailers (an encoded header block), after the queued data. */
  end(trailerBlock: Buffer): void {
    if (this.closed || this.trailers !== null) return;
    this.trailers = trailerBlock;
    this.conn.wantsToSend(this);
  }

  /** Resets the stream (RST_STREAM) and drops what is queued. */
  reset(code: number): void {
    if (this.closed) return;
    this.conn.sendReset(this.id, code);
    this.lost();
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

  /**
   * @internal Moves up to `budget` bytes of queued data into DATA frames (and the
   * trailers once the data is out). Returns the bytes framed.
   */
  pump(budget: number, maxFrame: number): number {
    let sent = 0;
    while (this.queueHead < this.queue.length) {
      const allowed = Math.min(budget - sent, this.sendWindow, this.conn.sendWindow);
      if (allowed <= 0) break;
      const buf = this.queue[this.queueHead];
      const n = Math.min(buf.length, allowed, maxFrame);
      const piece = n === buf.length ? buf : buf.subarray(0, n);
      if (n === buf.length) this.queue[this.queueHead++] = EMPTY;
      else this.queue[this.queueHead] = buf.subarray(n);
      this.conn.pushFrame(frameHeader(n, DATA, 0, this.id), piece);
      this.sendWindow -= n;
      this.conn.sendWindow -= n;
      this.queued -= n;
      sent += n;
    }
    if (this.queueHead === this.queue.length && this.queueHead > 0) {
      this.queue = [];
      this.queueHead = 0;
    }
    if (this.queued === 0 && this.trailers !== null) {
      this.conn.sendHeaderBlock(this.id, this.trailers, true);
      this.finish();
    } else if (this.needDrain && this.queued < STREAM_HIGH_WATER / 2) {
      this.needDrain = false;
      const l = this.drainListeners;
      if (l) for (const fn of l.slice()) fn();
    }
    return sent;
  }

  /** @internal Whether pump() has something to do. */
  get pending(): boolean {
    return !this.closed && (this.queued > 0 || this.trailers !== null);
  }

  /** We sent END_STREAM: a client still sending is told to stop (as grpc-go does). */
  private finish(): void {
    this.closed = true;
    this.queue = [];
    if (!this.remoteEnded) this.conn.sendReset(this.id, H2Error.NO_ERROR);
    this.conn.streamDone(this);
  }

  /** @internal Reset by the client or the connection went away. */
  lost(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.queued = 0;
    this.conn.streamDone(this);
    this.events?.streamClosed();
  }
}

const EMPTY = Buffer.alloc(0);

export interface H2ServerConnectionOptions {
  /** A new request stream with its headers. */
  onStream(stream: H2ServerStream): void;
  /** The connection failed (protocol or socket error): for debug logs. */
  onError?(err: Error): void;
}

/** One client connection. */
export class H2ServerConnection {
  /** @internal bytes we may still send on the connection. */
  sendWindow = DEFAULT_WINDOW;
  readonly peer: string;
  private readonly streams = new Map<number, H2ServerStream>();
  private readonly decoder = new HpackDecoder(4096, MAX_HEADER_LIST);
  private readonly sendable = new Set<H2ServerStream>();
  private prefaceSeen = false;
  private pending: Buffer | null = null;
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = 16_384;
  private lastStreamId = 0;
  private recvUnacked = 0;
  /** Header block being collected across CONTINUATION frames. */
  private continuing: { id: number; endStream: boolean; parts: Buffer[]; bytes: number } | null = null;
  private goawaySent = false;
  private destroyed = false;
  private onIdle: (() => void) | null = null;

  constructor(
    readonly socket: Duplex & { remoteAddress?: string; remotePort?: number; setNoDelay?(on: boolean): unknown },
    private readonly opts: H2ServerConnectionOptions,
  ) {
    this.peer = `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`;
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('drain', () => this.schedulePump());
    socket.on('error', (err: Error) => this.opts.onError?.(err));
    socket.on('close', () => this.closed());
    // Our settings: no push, a 1 MiB stream window; then the connection window raised.
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
    this.closed();
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
        if (id > this.lastStreamId) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
        this.streams.get(id)?.lost();
        return;
      }
      case SETTINGS:
        return this.onSettings(flags, id, p);
      case PUSH_PROMISE:
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      case PING:
        if (id !== 0 || p.length !== 8) throw new ConnectionError(id !== 0 ? H2Error.PROTOCOL_ERROR : H2Error.FRAME_SIZE_ERROR, 'malformed PING');
        if (!(flags & FLAG_ACK)) this.pushFrame(frameHeader(8, PING, FLAG_ACK, 0), Buffer.from(p));
        return;
      case GOAWAY:
        // The client stops opening streams; those in progress finish.
        return;
      case WINDOW_UPDATE:
        return this.onWindowUpdate(id, p);
      default:
        // Unknown frame types are ignored (RFC 9113 section 4.1).
        return;
    }
  }

  private onData(flags: number, id: number, p: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on stream 0');
    // Every byte counts against the connection window, whatever happens to the stream.
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
      if (id > this.lastStreamId) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on an idle stream');
      // A stream we finished or reset: the client may not know yet.
      if (s !== undefined) this.sendReset(id, H2Error.STREAM_CLOSED);
      return;
    }
    s.recvUnacked += p.length;
    if (s.recvUnacked > STREAM_RECV_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'stream sent past its window');
    if (flags & FLAG_END_STREAM) s.remoteEnded = true;
    else if (s.recvUnacked >= STREAM_RECV_WINDOW / 2) {
      this.pushWindowUpdate(id, s.recvUnacked);
      s.recvUnacked = 0;
    }
    // The payload is copied: it is a view of the socket's chunk, which the call may keep.
    if (data.length > 0) s.events?.requestData(Buffer.from(data));
    if (s.remoteEnded) s.events?.requestEnded();
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
    const existing = this.streams.get(id);
    if (existing !== undefined) {
      // Trailers from the client: they must end the stream.
      if (!endStream) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'HEADERS after the request headers without END_STREAM');
      if (!existing.remoteEnded) {
        existing.remoteEnded = true;
        existing.events?.requestEnded();
      }
      return;
    }
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
    s.remoteEnded = endStream;
    this.streams.set(id, s);
    this.opts.onStream(s);
    if (endStream && !s.closed) s.events?.requestEnded();
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
      void SETTINGS_HEADER_TABLE_SIZE;
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

  private pushWindowUpdate(id: number, inc: number): void {
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

  private sendGoaway(code: number, debug: string): void {
    this.goawaySent = true;
    const d = Buffer.from(debug, 'utf8');
    const p = Buffer.allocUnsafe(8 + d.length);
    p.writeUInt32BE(this.lastStreamId, 0);
    p.writeUInt32BE(code, 4);
    d.copy(p, 8);
    this.pushFrame(frameHeader(p.length, GOAWAY, 0, 0), p);
  }

  /** @internal A stream has data or trailers to send. */
  wantsToSend(s: H2ServerStream): void {
    this.sendable.add(s);
    this.scheduleFlush();
  }

  /** @internal */
  streamDone(s: H2ServerStream): void {
    this.streams.delete(s.id);
    this.sendable.delete(s);
    if (this.streams.size === 0 && this.onIdle !== null) {
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
    setImmediate(flushConnection, this);
  }

  /** @internal Frames what streams have queued (flow control permitting) and writes it all. */
  flush(): void {
    this.flushScheduled = false;
    if (this.destroyed) return;
    const sock = this.socket as Duplex & { writableLength: number };
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
      this.opts.onError?.(new Error(`${sock.writableLength} bytes unread by the client: closing the connection`));
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
    this.closed();
  }

  private endSocket(): void {
    if (this.destroyed) return;
    this.flush();
    this.socket.end();
    // A peer that never reads its side must not hold the socket open.
    const t = setTimeout(() => this.socket.destroy(), 5000);
    t.unref();
  }

  private closed(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pending = null;
    for (const s of [...this.streams.values()]) s.lost();
    this.streams.clear();
    this.sendable.clear();
    const fn = this.onIdle;
    this.onIdle = null;
    fn?.();
  }
}

function flushConnection(c: H2ServerConnection): void {
  c.flush();
}
