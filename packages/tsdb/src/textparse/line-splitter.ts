import { isAscii, isUtf8 } from 'node:buffer';

/** Receives the lines of a byte stream, one call per line. */
export interface LineSink {
  /**
   * `line` keeps its terminating '\n' when it had one (only the last line of a stream
   * can lack it); `lineNo` counts from 1; `badUtf8` says the bytes were not valid UTF-8
   * (the string then holds U+FFFD where they were).
   */
  line(line: string, lineNo: number, badUtf8: boolean): void;
}

/**
 * Splits a byte stream into lines without holding more than one partial line. Each line
 * is decoded into a string of its own rather than sliced from a decoded chunk: label
 * values cut from the line keep only that line alive, not a whole 64 KiB chunk, which
 * matters when a consumer keeps the Labels of millions of series.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private lineNo = 0;

  constructor(
    private readonly sink: LineSink,
    private readonly maxLineBytes: number,
  ) {}

  /** Number of lines handed to the sink so far. */
  get lines(): number {
    return this.lineNo;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    if (this.pendingBytes > 0) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        this.keep(chunk);
        return;
      }
      this.pending.push(chunk.subarray(0, nl + 1));
      const line = Buffer.concat(this.pending);
      this.pending = [];
      this.pendingBytes = 0;
      this.emitDecoded(line, 0, line.length);
      pos = nl + 1;
    }
    const last = chunk.lastIndexOf(10);
    if (last >= pos) {
      const region = chunk.subarray(pos, last + 1);
      if (isAscii(region)) {
        // fast path: one-byte strings, no UTF-8 decoding or validation
        for (let nl = chunk.indexOf(10, pos); nl >= 0 && nl <= last; nl = chunk.indexOf(10, pos)) {
          if (nl + 1 - pos > this.maxLineBytes) this.tooLong();
          this.sink.line(chunk.toString('latin1', pos, nl + 1), ++this.lineNo, false);
          pos = nl + 1;
        }
      } else {
        const valid = isUtf8(region);
        for (let nl = chunk.indexOf(10, pos); nl >= 0 && nl <= last; nl = chunk.indexOf(10, pos)) {
          if (valid) {
            if (nl + 1 - pos > this.maxLineBytes) this.tooLong();
            this.sink.line(chunk.toString('utf8', pos, nl + 1), ++this.lineNo, false);
          } else this.emitDecoded(chunk, pos, nl + 1);
          pos = nl + 1;
        }
      }
    }
    if (pos < chunk.length) this.keep(chunk.subarray(pos));
  }

  /** Flushes a last line that had no '\n'. */
  end(): void {
    if (this.pendingBytes === 0) return;
    const line = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.emitDecoded(line, 0, line.length);
  }

  private keep(b: Buffer): void {
    this.pendingBytes += b.length;
    if (this.pendingBytes > this.maxLineBytes) this.tooLong();
    this.pending.push(b);
  }

  private emitDecoded(b: Buffer, start: number, end: number): void {
    if (end - start > this.maxLineBytes) this.tooLong();
    const bad = !isUtf8(b.subarray(start, end));
    this.sink.line(b.toString('utf8', start, end), ++this.lineNo, bad);
  }

  private tooLong(): never {
    throw new LineTooLongError(this.lineNo + 1, this.maxLineBytes);
  }
}

export class LineTooLongError extends Error {
  constructor(
    readonly lineNo: number,
    readonly maxLineBytes: number,
  ) {
    super(`line longer than ${maxLineBytes} bytes`);
  }
}

/** Byte chunks of a Readable, an async iterable or a plain iterable of strings/bytes. */
export type TextInput = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

export function toBuffer(chunk: Uint8Array | string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (Buffer.isBuffer(chunk)) return chunk;
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
