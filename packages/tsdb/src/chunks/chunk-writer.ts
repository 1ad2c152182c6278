import { closeSync, fsync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { syncDir } from '@thanos-ts/runtime';
import { crc32c, crc32cUpdate } from '../encoding/crc32c.js';
import { uvarintSize, writeUvarint } from '../encoding/encbuf.js';
import {
  CHUNK_CRC_SIZE,
  CHUNK_ENCODING_SIZE,
  CHUNKS_FORMAT_V1,
  chunkRef,
  chunkSegmentFileName,
  DEFAULT_CHUNK_SEGMENT_SIZE,
  MAGIC_CHUNKS,
  MAX_CHUNK_LENGTH_FIELD_SIZE,
  SEGMENT_HEADER_SIZE,
} from './chunk-record.js';

export interface ChunkWriterOptions {
  /** Maximum segment file size in bytes (default 512 MiB, at most 4 GiB). */
  segmentSize?: number;
  /** Size of the reused write buffer (default 4 MiB). */
  bufferSize?: number;
}

const MAX_SEGMENT_SIZE = 0x1_0000_0000; // offsets are the low 32 bits of a ref

/**
 * Streams chunks into a block's `chunks/` directory (tsdb/chunks.Writer). Records go
 * through one reused buffer that is flushed with positional writes, so memory stays
 * bounded whatever the block size. A new segment is cut when the next record could
 * push the current one past `segmentSize` (estimating the len field at its 5-byte
 * maximum, as Prometheus does); a segment always takes at least one chunk.
 *
 * Writes are synchronous (refs are needed immediately by the index writer); the
 * fsyncs are deferred to close(), which is asynchronous.
 */
export class ChunkWriter {
  private readonly segmentSize: number;
  private readonly buf: Uint8Array;
  private bufLen = 0;
  /** fds of all segments written; the last one is the tail. */
  private readonly fds: number[] = [];
  /** File offset at which buf[0] will be written. */
  private flushedTo = 0;
  /** Logical size of the tail segment (flushed + buffered). */
  private n = 0;
  private closed = false;
  private segmentCount = 0;

  constructor(
    readonly dir: string,
    opts: ChunkWriterOptions = {},
  ) {
    this.segmentSize = opts.segmentSize ?? DEFAULT_CHUNK_SEGMENT_SIZE;
    if (!(this.segmentSize > SEGMENT_HEADER_SIZE && this.segmentSize <= MAX_SEGMENT_SIZE)) {
      throw new RangeError(`chunk writer: segment size ${this.segmentSize} must be in (8, 2^32]`);
    }
    this.buf = new Uint8Array(Math.max(opts.bufferSize ?? 4 * 1024 * 1024, 64));
    mkdirSync(dir, { recursive: true });
  }

  /** Segment files written so far, e.g. ["000001", "000002"]. */
  segmentFiles(): string[] {
    return Array.from({ length: this.segmentCount }, (_, i) => chunkSegmentFileName(i + 1));
  }

  /**
   * Appends one chunk and returns its ref (segment index * 2^32 + offset).
   * `data` is copied (or written) before returning, so the caller may reuse it.
   */
  writeChunk(encoding: number, data: Uint8Array): number {
    if (this.closed) throw new Error('chunk writer: closed');
    const maxRecord = MAX_CHUNK_LENGTH_FIELD_SIZE + CHUNK_ENCODING_SIZE + data.length + CHUNK_CRC_SIZE;
    if (this.fds.length === 0 || (this.n > SEGMENT_HEADER_SIZE && this.n + maxRecord > this.segmentSize)) {
      this.cut();
    }
    const ref = chunkRef(this.fds.length - 1, this.n);
    ENC[0] = encoding;
    const crc = crc32cUpdate(crc32c(ENC), data); // CRC32C(encoding ‖ data)
    if (this.bufLen + maxRecord > this.buf.length) this.flush();
    const buf = this.buf;
    let p = writeUvarint(buf, this.bufLen, data.length);
    buf[p++] = encoding;
    if (p + data.length + CHUNK_CRC_SIZE <= buf.length) {
      buf.set(data, p);
      p += data.length;
    } else {
      // larger than the buffer: flush the head, write the data directly
      this.bufLen = p;
      this.flush();
      this.writeAt(data, 0, data.length);
      p = 0;
    }
    buf[p] = crc >>> 24;
    buf[p + 1] = (crc >>> 16) & 0xff;
    buf[p + 2] = (crc >>> 8) & 0xff;
    buf[p + 3] = crc & 0xff;
    this.bufLen = p + CHUNK_CRC_SIZE;
    this.n += uvarintSize(data.length) + CHUNK_ENCODING_SIZE + data.length + CHUNK_CRC_SIZE;
    return ref;
  }

  /** Flushes buffered records of the tail segment to the file. */
  private flush(): void {
    if (this.bufLen === 0) return;
    this.writeAt(this.buf, 0, this.bufLen);
    this.bufLen = 0;
  }

  private writeAt(b: Uint8Array, start: number, end: number): void {
    const fd = this.fds[this.fds.length - 1];
    let off = start;
    while (off < end) {
      const w = writeSync(fd, b, off, end - off, this.flushedTo);
      off += w;
      this.flushedTo += w;
    }
  }

  private cut(): void {
    this.flush();
    const seq = this.fds.length + 1;
    // 'wx': never overwrite an existing segment
    const fd = openSync(join(this.dir, chunkSegmentFileName(seq)), 'wx', 0o666);
    this.fds.push(fd);
    this.segmentCount++;
    this.flushedTo = 0;
    const buf = this.buf;
    buf[0] = MAGIC_CHUNKS >>> 24;
    buf[1] = (MAGIC_CHUNKS >>> 16) & 0xff;
    buf[2] = (MAGIC_CHUNKS >>> 8) & 0xff;
    buf[3] = MAGIC_CHUNKS & 0xff;
    buf[4] = CHUNKS_FORMAT_V1;
    buf[5] = buf[6] = buf[7] = 0;
    this.bufLen = SEGMENT_HEADER_SIZE;
    this.n = SEGMENT_HEADER_SIZE;
  }

  /** Flushes, fsyncs every segment and the directory, and closes the files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.fds.length > 0) this.flush();
      await Promise.all(this.fds.map((fd) => fsyncFd(fd)));
    } finally {
      for (const fd of this.fds.splice(0)) closeSync(fd);
    }
    await syncDir(this.dir);
  }
}

/** Scratch for the encoding byte, so the CRC needs no concatenated copy. */
const ENC = new Uint8Array(1);

function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}
