// A buffered, synchronous, append-mostly file writer (Prometheus's index.FileWriter).
// Writes are synchronous like Go's: index writing is CPU-bound encoding with large
// sequential writes, and a 4 MiB buffer keeps syscalls rare.
import { closeSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';

/** The index format cannot address beyond 64 GiB (4-byte series refs × 16). */
const MAX_INDEX_SIZE = 16 * 0xffffffff;
const ZEROS = new Uint8Array(64);

export class FileWriter {
  private fd: number;
  private readonly buf: Uint8Array;
  private n = 0;
  /** Logical position: bytes written so far, buffered or not. */
  pos = 0;

  constructor(
    readonly path: string,
    bufferSize = 4 << 20,
  ) {
    this.fd = openSync(path, 'w');
    this.buf = new Uint8Array(bufferSize);
  }

  write(b: Uint8Array): void {
    if (this.pos + b.length > MAX_INDEX_SIZE) throw new Error(`${this.path}: exceeding max size of 64GiB`);
    if (b.length > this.buf.length - this.n) {
      this.flush();
      if (b.length > this.buf.length) {
        this.writeFully(b, null);
        this.pos += b.length;
        return;
      }
    }
    this.buf.set(b, this.n);
    this.n += b.length;
    this.pos += b.length;
  }

  /** Appends zero bytes until pos is a multiple of align. */
  addPadding(align: number): void {
    const rem = this.pos % align;
    if (rem === 0) return;
    const n = align - rem;
    this.write(n <= ZEROS.length ? ZEROS.subarray(0, n) : new Uint8Array(n));
  }

  /** Overwrites already written bytes at an absolute position. */
  writeAt(b: Uint8Array, at: number): void {
    this.flush();
    this.writeFully(b, at);
  }

  flush(): void {
    if (this.n === 0) return;
    this.writeFully(this.buf.subarray(0, this.n), null);
    this.n = 0;
  }

  private writeFully(b: Uint8Array, at: number | null): void {
    let off = 0;
    while (off < b.length) {
      const w = writeSync(this.fd, b, off, b.length - off, at === null ? null : at + off);
      off += w;
    }
  }

  /** Flushes, fsyncs and closes. */
  close(): void {
    if (this.fd < 0) return;
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
  }

  /** Closes without flushing and removes the file. */
  abort(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}
