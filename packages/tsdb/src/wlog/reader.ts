// Reading records back out of segments (Prometheus wlog.Reader over a segmentBufReader).
//
// A segment is a sequence of 32 KiB pages. Each page holds fragments
//   type(1) ‖ length(2, BE) ‖ CRC32C(data)(4, BE) ‖ data
// where the low three bits of the type say full (1), first (2), middle (3) or last (4),
// and bit 3 (0x08) says the record was snappy-compressed before it was fragmented. A zero
// type byte ends the page: the rest of it is zeros. A segment that is not a whole number
// of pages reads as if zero-padded (the writer flushes partial pages).
//
// We are stricter than Prometheus about a torn tail. Its reader silently drops a record
// whose first fragments reached the disk but whose last did not (the zero padding after
// them reads as a page end), and then fails on the next segment's first record. Here a
// record left incomplete at the end of a segment, or a fragment running past the end of
// the file, is a corruption at the record's first byte, so repair() cuts it off cleanly.
// Records never cross segments (the writer cuts a segment before a record that would not
// fit), so each segment is read on its own, as Prometheus's replay does.

import { open, stat } from 'node:fs/promises';
import { crc32c } from '../encoding/crc32c.js';
import { CorruptionError } from '../encoding/errors.js';
import { snappyDecompress } from '../snappy/snappy.js';
import { lastCheckpoint } from './checkpoint-dir.js';
import { listSegments, segmentName, WAL_PAGE_SIZE, WAL_RECORD_HEADER_SIZE } from './segments.js';

/** Fragment types (the low three bits of the header's first byte). */
export const enum FragmentType {
  PageTerm = 0,
  Full = 1,
  First = 2,
  Middle = 3,
  Last = 4,
}
export const FRAGMENT_TYPE_MASK = 0x07;
export const SNAPPY_FLAG = 0x08;

/**
 * Damage in a write log segment (Prometheus wlog.CorruptionErr). `offset` is the byte in
 * the segment where the first damaged record starts: every record before it is whole, and
 * repair() truncates the segment there. `dir` is the WAL or checkpoint directory.
 */
export class WalCorruptionError extends CorruptionError {
  constructor(
    readonly dir: string,
    readonly segment: number,
    offset: number,
    reason: string,
  ) {
    super(segmentName(dir, segment), offset, reason);
    this.message = `corruption in segment ${segmentName(dir, segment)} at ${offset}: ${reason}`;
  }
}

export function isWalCorruption(err: unknown): err is WalCorruptionError {
  return err instanceof WalCorruptionError;
}

/** Pages read per file read: 512 KiB. */
const READ_PAGES = 16;

/** Fragment reassembly state carried from page to page within one segment. */
class SegmentParser {
  private frags: Uint8Array[] = [];
  private fragLen = 0;
  private compressed = false;
  /** Segment offset of the pending record's first fragment, or -1. */
  private recStart = -1;

  constructor(
    private readonly dir: string,
    private readonly segment: number,
  ) {}

  private corrupt(at: number, reason: string): WalCorruptionError {
    return new WalCorruptionError(this.dir, this.segment, this.recStart >= 0 ? this.recStart : at, reason);
  }

  /**
   * Parses whole pages in buf (buf[0] is at segment offset `base`); bytes at or past
   * `real` were not in the file and read as zeros. Complete records are pushed to out.
   * @returns the corruption that stopped parsing, or null
   */
  parse(buf: Uint8Array, base: number, real: number, out: Uint8Array[]): WalCorruptionError | null {
    for (let page = 0; page < real; page += WAL_PAGE_SIZE) {
      const pageEnd = page + WAL_PAGE_SIZE;
      let p = page;
      while (p < pageEnd && p < real) {
        const hdr = buf[p];
        const typ = hdr & FRAGMENT_TYPE_MASK;
        if (typ === FragmentType.PageTerm) {
          const end = Math.min(pageEnd, real);
          for (let i = p + 1; i < end; i++) {
            if (buf[i] !== 0) return this.corrupt(base + i, 'unexpected non-zero byte in padded page');
          }
          break;
        }
        if (p + WAL_RECORD_HEADER_SIZE > pageEnd) return this.corrupt(base + p, 'fragment header crosses a page boundary');
        if (p + WAL_RECORD_HEADER_SIZE > real) return this.corrupt(base + p, 'torn fragment header at end of segment');
        const len = (buf[p + 1] << 8) | buf[p + 2];
        const crc = ((buf[p + 3] << 24) | (buf[p + 4] << 16) | (buf[p + 5] << 8) | buf[p + 6]) >>> 0;
        const start = p + WAL_RECORD_HEADER_SIZE;
        const end = start + len;
        if (end > pageEnd) return this.corrupt(base + p, `invalid fragment size ${len}`);
        if (end > real) return this.corrupt(base + p, `torn fragment at end of segment: ${len} bytes announced, ${real - start} present`);
        const sum = crc32c(buf, start, end);
        if (sum !== crc) {
          return this.corrupt(base + p, `unexpected checksum ${sum.toString(16)}, expected ${crc.toString(16)}`);
        }
        const compressed = (hdr & SNAPPY_FLAG) !== 0;
        const data = buf.subarray(start, end);
        switch (typ) {
          case FragmentType.Full:
          case FragmentType.First:
            if (this.recStart >= 0) return this.corrupt(base + p, `unexpected ${typ === FragmentType.Full ? 'full' : 'first'} fragment inside a record`);
            this.recStart = base + p;
            this.compressed = compressed;
            break;
          case FragmentType.Middle:
          case FragmentType.Last:
            if (this.recStart < 0) return this.corrupt(base + p, `unexpected ${typ === FragmentType.Middle ? 'middle' : 'last'} fragment without a first`);
            if (compressed !== this.compressed) return this.corrupt(base + p, 'fragments disagree about compression');
            break;
          default:
            return this.corrupt(base + p, `invalid fragment type ${typ}`);
        }
        this.frags.push(data);
        this.fragLen += len;
        if (typ === FragmentType.Full || typ === FragmentType.Last) {
          let rec: Uint8Array;
          if (this.frags.length === 1) {
            rec = data; // fast path: a view into the read buffer, which is never reused
          } else {
            rec = new Uint8Array(this.fragLen);
            let o = 0;
            for (const f of this.frags) {
              rec.set(f, o);
              o += f.length;
            }
          }
          if (this.compressed && rec.length > 0) {
            try {
              rec = snappyDecompress(rec, 1 << 30);
            } catch (e) {
              return this.corrupt(base + p, `decompress record: ${(e as Error).message}`);
            }
          }
          out.push(rec);
          this.frags = [];
          this.fragLen = 0;
          this.recStart = -1;
        }
        p = end;
      }
    }
    return null;
  }

  /** Called at the end of the segment: a record still missing fragments is torn. */
  finish(): WalCorruptionError | null {
    if (this.recStart >= 0) return this.corrupt(this.recStart, 'last record is torn');
    return null;
  }
}

/**
 * Yields the records of one segment file in order.
 * @throws WalCorruptionError after yielding every whole record before the damage
 */
export async function* readSegment(dir: string, index: number): AsyncGenerator<Uint8Array> {
  const fh = await open(segmentName(dir, index), 'r');
  try {
    const parser = new SegmentParser(dir, index);
    const chunk = READ_PAGES * WAL_PAGE_SIZE;
    for (let base = 0; ; base += chunk) {
      // A fresh buffer per read: records handed out may be views into it.
      const buf = new Uint8Array(chunk);
      let real = 0;
      while (real < chunk) {
        const { bytesRead } = await fh.read(buf, real, chunk - real, base + real);
        if (bytesRead === 0) break;
        real += bytesRead;
      }
      if (real === 0) break;
      const out: Uint8Array[] = [];
      const err = parser.parse(buf, base, real, out);
      yield* out;
      if (err) throw err;
      if (real < chunk) break;
    }
    const err = parser.finish();
    if (err) throw err;
  } finally {
    await fh.close();
  }
}

/**
 * Records of a write log directory in replay order; repairs nothing.
 *
 * Without `from`/`to`: the last checkpoint's records (if any), then the segments after it,
 * as Prometheus's head replays on start. With either: only dir's segments in [from, to]
 * (inclusive; an open end when omitted), no checkpoint. Each record is its own bytes and
 * stays valid after the iteration moves on.
 * A missing dir reads as empty. Not a live reader: do not point it at a segment a WL is
 * still writing.
 * @throws WalCorruptionError at the first damage, after every whole record before it;
 *   its `dir` says whether the checkpoint or the WAL is damaged
 */
export async function* readRecords(dir: string, from?: number, to?: number): AsyncGenerator<Uint8Array> {
  // fast path: a directory that does not exist yet holds no records
  if (!(await isDir(dir))) return;
  let first = from ?? -1;
  const last = to ?? Infinity;
  if (from === undefined && to === undefined) {
    const cp = await lastCheckpoint(dir);
    if (cp !== null) {
      for (const s of await listSegments(cp.dir)) yield* readSegment(cp.dir, s.index);
      first = cp.index + 1;
    }
  }
  for (const s of await listSegments(dir)) {
    if (s.index < first) continue;
    if (s.index > last) break;
    yield* readSegment(dir, s.index);
  }
}

/** The segments readRecords(dir) replays (those after the last checkpoint). */
export async function replaySegments(dir: string): Promise<number[]> {
  if (!(await isDir(dir))) return [];
  const cp = await lastCheckpoint(dir);
  const first = cp === null ? -1 : cp.index + 1;
  return (await listSegments(dir)).map((s) => s.index).filter((i) => i >= first);
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
