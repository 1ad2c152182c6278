import { closeSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CorruptionError } from '../encoding/errors.js';
import {
  checkSegmentHeader,
  chunkRefOffset,
  chunkRefSegment,
  MAX_CHUNK_LENGTH_FIELD_SIZE,
  parseChunkRecord,
  SEGMENT_HEADER_SIZE,
} from './chunk-record.js';
import type { ChunkRecord } from './chunk-record.js';

/** A segment file of a block's chunks directory. */
export interface ChunkSegment {
  /** File name, e.g. "000001". */
  name: string;
  /** Size in bytes when the reader was opened. */
  size: number;
}

interface OpenSegment {
  name: string;
  /** Name used in errors, e.g. "chunks/000001". */
  label: string;
  path: string;
  size: number;
  fd: number; // -1 until first use
}

/** Bytes read speculatively per chunk lookup; most XOR chunks fit (the head caps them at 1 KiB). */
const PEEK = 512;

/**
 * Reads chunks of a block's `chunks/` directory by ref (tsdb/chunks.Reader) with
 * positional reads, opening each segment's fd lazily and validating its header on
 * first use. Nothing is loaded wholesale, so a reader is cheap for large blocks.
 */
export class ChunkReader {
  private readonly segs: OpenSegment[];
  private readonly scratch = new Uint8Array(PEEK);

  private constructor(
    readonly dir: string,
    segs: OpenSegment[],
  ) {
    this.segs = segs;
  }

  /**
   * Lists the segment files (names made of digits, in numeric order, as Prometheus'
   * sequenceFiles) of a chunks directory.
   */
  static open(dir: string): ChunkReader {
    const names = readdirSync(dir)
      .filter((n) => /^\d+$/.test(n))
      .sort((a, b) => Number(a) - Number(b));
    const prefix = basename(dir);
    const segs: OpenSegment[] = [];
    for (const name of names) {
      const path = join(dir, name);
      const fd = openSync(path, 'r');
      let size: number;
      try {
        size = fstatSync(fd).size;
      } finally {
        closeSync(fd);
      }
      segs.push({ name, label: `${prefix}/${name}`, path, size, fd: -1 });
    }
    return new ChunkReader(dir, segs);
  }

  /** The segment files, in ref order (segment index i is segments()[i]). */
  segments(): ChunkSegment[] {
    return this.segs.map((s) => ({ name: s.name, size: s.size }));
  }

  /** Total size of all segments in bytes. */
  size(): number {
    return this.segs.reduce((n, s) => n + s.size, 0);
  }

  /**
   * The chunk at `ref`, with its CRC verified. `data` is a fresh copy the caller
   * owns. Throws CorruptionError naming the segment file and offset.
   */
  chunk(ref: number): ChunkRecord {
    const segIndex = chunkRefSegment(ref);
    const offset = chunkRefOffset(ref);
    const seg = this.segment(segIndex, ref);
    if (offset < SEGMENT_HEADER_SIZE || offset >= seg.size) {
      throw new CorruptionError(seg.label, offset, `chunk ref ${ref} points outside the segment (${seg.size} bytes)`);
    }
    const peekLen = Math.min(PEEK, seg.size - offset);
    this.readInto(seg, this.scratch, peekLen, offset);
    // Learn the record size from the len varint, then read the whole record if needed.
    let len = 0;
    let mul = 1;
    let p = 0;
    for (;;) {
      if (p >= peekLen || p >= MAX_CHUNK_LENGTH_FIELD_SIZE) {
        return parseChunkRecord(this.scratch.subarray(0, peekLen), 0, seg.label, offset); // throws the precise error
      }
      const b = this.scratch[p++];
      len += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
    }
    const total = p + 1 + len + 4;
    let buf: Uint8Array;
    if (total <= peekLen) {
      buf = this.scratch.slice(0, total);
    } else {
      if (offset + total > seg.size) {
        throw new CorruptionError(seg.label, offset, `chunk of ${len} bytes needs ${total} bytes, only ${seg.size - offset} available`);
      }
      buf = new Uint8Array(total);
      this.readInto(seg, buf, total, offset);
    }
    const rec = parseChunkRecord(buf, 0, seg.label, offset);
    return { encoding: rec.encoding, data: rec.data };
  }

  /**
   * Reads bytes [start, end) of segment `segIndex` (0-based, as in refs), e.g. to
   * serve or cache a range of chunks; parse records out of it with parseChunkRecord.
   */
  readRange(segIndex: number, start: number, end: number): Uint8Array {
    const seg = this.segment(segIndex, -1);
    if (start < 0 || end < start || end > seg.size) {
      throw new CorruptionError(seg.label, start, `range [${start}, ${end}) outside the segment (${seg.size} bytes)`);
    }
    const buf = new Uint8Array(end - start);
    this.readInto(seg, buf, end - start, start);
    return buf;
  }

  /** Closes the open segment files. */
  close(): void {
    for (const s of this.segs) {
      if (s.fd >= 0) {
        closeSync(s.fd);
        s.fd = -1;
      }
    }
  }

  private segment(index: number, ref: number): OpenSegment {
    const seg = this.segs[index];
    if (seg === undefined) {
      const what = ref >= 0 ? `chunk ref ${ref}: ` : '';
      throw new CorruptionError(basename(this.dir), 0, `${what}segment index ${index} out of range (${this.segs.length} segments)`);
    }
    if (seg.fd < 0) {
      const fd = openSync(seg.path, 'r');
      try {
        const head = new Uint8Array(SEGMENT_HEADER_SIZE);
        const n = seg.size >= SEGMENT_HEADER_SIZE ? readSync(fd, head, 0, SEGMENT_HEADER_SIZE, 0) : seg.size;
        checkSegmentHeader(head.subarray(0, n), seg.label);
      } catch (err) {
        closeSync(fd);
        throw err;
      }
      seg.fd = fd;
    }
    return seg;
  }

  private readInto(seg: OpenSegment, buf: Uint8Array, len: number, position: number): void {
    let off = 0;
    while (off < len) {
      const n = readSync(seg.fd, buf, off, len - off, position + off);
      if (n === 0) throw new CorruptionError(seg.label, position + off, 'unexpected end of file');
      off += n;
    }
  }
}
