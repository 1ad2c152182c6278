// The write log (Prometheus tsdb/wlog.WL): records appended to numbered segment files in
// 32 KiB pages, byte-compatible with Prometheus 2.42 (see reader.ts for the fragment
// layout and tsdb/docs/format/wal.md).
//
// Layout rules the writer keeps, as Prometheus's does:
// - a record is split into fragments so that none crosses a page; a page with fewer than
//   7 bytes left is finished with zeros;
// - a record never crosses a segment: if it would not fit in what is left of the active
//   segment, the segment is finished first;
// - opening a directory never appends to an existing segment: it starts segment last+1;
// - with `compress`, a record is snappy-compressed before fragmentation when that makes
//   it smaller, and its fragments carry the 0x08 flag.
//
// Each log() call is written with one writev, so a process crash loses nothing a
// resolved log() wrote; `sync` decides what a power loss may cost (see WLOptions).

import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, rm } from 'node:fs/promises';
import type { Logger } from '@thanos-ts/runtime';
import { syncDir } from '@thanos-ts/runtime';
import { crc32c } from '../encoding/crc32c.js';
import { snappyCompress } from '../snappy/snappy.js';
import { FragmentType, SNAPPY_FLAG } from './reader.js';
import { listSegments, segmentName, segmentRange, WAL_DEFAULT_SEGMENT_SIZE, WAL_PAGE_SIZE, WAL_RECORD_HEADER_SIZE } from './segments.js';

/**
 * When the log fsyncs.
 * - `'none'` (Prometheus's behaviour, the default): when a segment is finished and on
 *   close. A crash of the process loses nothing written; a power loss may lose the
 *   unsynced tail of the active segment (repair() then cuts it off).
 * - `'always'`: log() resolves only after its bytes are fsynced. Concurrent log() calls
 *   share fsyncs (group commit).
 * - `{ intervalMs }`: a background fsync every intervalMs while there are unsynced
 *   writes; bounds what a power loss may cost.
 */
export type WLSyncPolicy = 'none' | 'always' | { intervalMs: number };

export interface WLOptions {
  /** Segment size in bytes, a multiple of 32 KiB; default 128 MiB. */
  segmentSize?: number;
  /** Snappy-compress records (Prometheus --storage.tsdb.wal-compression). */
  compress?: boolean;
  sync?: WLSyncPolicy;
  logger?: Logger;
}

export class WL {
  private fh: FileHandle;
  private segmentIndex: number;
  /** Pages of the active segment completed (written or queued in `pending`). */
  private donePages: number;
  private page = new Uint8Array(WAL_PAGE_SIZE);
  private alloc = 0;
  private flushed = 0;
  /** Page slices laid out but not yet written, in order. */
  private pending: Uint8Array[] = [];
  private readonly pagesPerSegment: number;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** A failed write leaves the segment in an unknown state: later writes fail too. */
  private failed: Error | null = null;
  private writeSeq = 0;
  private syncedSeq = 0;
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    readonly dir: string,
    private readonly opts: Required<Pick<WLOptions, 'segmentSize' | 'compress' | 'sync'>> & { logger?: Logger },
    fh: FileHandle,
    segmentIndex: number,
  ) {
    this.fh = fh;
    this.segmentIndex = segmentIndex;
    this.donePages = 0;
    this.pagesPerSegment = opts.segmentSize / WAL_PAGE_SIZE;
  }

  /**
   * Opens (creating) the log in dir and starts a new segment after the last one. Replay
   * (readRecords) and repair() must be done before: the log never reads what is there.
   * @throws Error `invalid segment size` when segmentSize is not a multiple of 32 KiB
   */
  static async open(dir: string, opts: WLOptions = {}): Promise<WL> {
    const segmentSize = opts.segmentSize ?? WAL_DEFAULT_SEGMENT_SIZE;
    if (segmentSize <= 0 || segmentSize % WAL_PAGE_SIZE !== 0) throw new Error(`open wal: ${dir}: invalid segment size ${segmentSize}`);
    await mkdir(dir, { recursive: true });
    const { last } = await segmentRange(dir);
    const index = last + 1;
    const fh = await createSegment(dir, index);
    const w = new WL(dir, { segmentSize, compress: opts.compress ?? false, sync: opts.sync ?? 'none', logger: opts.logger }, fh, index);
    const sync = w.opts.sync;
    if (typeof sync === 'object') {
      w.timer = setInterval(() => {
        if (w.syncedSeq < w.writeSeq) w.sync().catch((err) => opts.logger?.error({ err }, 'wal: periodic fsync failed'));
      }, sync.intervalMs);
      w.timer.unref();
    }
    return w;
  }

  /** Index of the segment being written. */
  get activeSegment(): number {
    return this.segmentIndex;
  }

  /**
   * Appends whole records, in order, with one write. Resolves once the bytes are written
   * (and fsynced under sync 'always').
   */
  async log(...records: Uint8Array[]): Promise<void> {
    const seq = await this.locked(async () => {
      for (const rec of records) await this.layout(rec);
      if (this.alloc > this.flushed) this.queuePage(false);
      await this.writePending();
      return this.writeSeq;
    });
    if (this.opts.sync === 'always') await this.syncTo(seq);
  }

  /** Fsyncs the active segment. */
  async sync(): Promise<void> {
    await this.syncTo(this.writeSeq);
  }

  /**
   * Finishes the active segment (zero-padding its last page, fsync, close) and starts the
   * next one; returns the new segment's index.
   */
  async nextSegment(): Promise<number> {
    return this.locked(() => this.cut());
  }

  /** The first and last segment in dir, -1 when none. */
  async segments(): Promise<{ first: number; last: number }> {
    return segmentRange(this.dir);
  }

  /** Removes the segments before `beforeSegment` (wlog.Truncate). Checkpoint them first. */
  async truncate(beforeSegment: number): Promise<void> {
    await this.locked(async () => {
      let removed = false;
      for (const s of await listSegments(this.dir)) {
        if (s.index >= beforeSegment || s.index === this.segmentIndex) break;
        await rm(segmentName(this.dir, s.index));
        removed = true;
      }
      if (removed) await syncDir(this.dir);
    });
  }

  /** Pads the last page, fsyncs and closes. Later calls fail; a second close is a no-op. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.locked(async () => {
      if (this.closed) return;
      this.closed = true;
      try {
        if (this.failed === null) {
          // Padding the page finishes it: nothing may be appended to this segment later.
          if (this.alloc > 0) this.queuePage(true);
          await this.writePending();
          await this.fh.sync();
          this.syncedSeq = this.writeSeq;
        }
      } finally {
        await this.fh.close();
      }
    }, true);
  }

  private locked<T>(fn: () => Promise<T>, allowClosed = false): Promise<T> {
    const run = this.tail.then(() => {
      if (this.closed && !allowClosed) throw new Error(`wal ${this.dir}: closed`);
      if (this.failed !== null && !allowClosed) throw new Error(`wal ${this.dir}: an earlier write failed: ${this.failed.message}`);
      return fn();
    });
    this.tail = run.catch(() => {});
    return run;
  }

  private async syncTo(seq: number): Promise<void> {
    if (this.syncedSeq >= seq) return;
    await this.locked(async () => {
      // fast path: a sync that ran while we waited for the lock covered us
      if (this.syncedSeq >= seq) return;
      const target = this.writeSeq;
      await this.fh.sync();
      this.syncedSeq = Math.max(this.syncedSeq, target);
    });
  }

  /** Lays one record out into pages, cutting a segment first if it would not fit. */
  private async layout(rec: Uint8Array): Promise<void> {
    if (this.pageFull()) this.queuePage(true);

    let compressed = false;
    if (this.opts.compress && rec.length > 0) {
      const c = snappyCompress(rec);
      if (c.length < rec.length) {
        rec = c;
        compressed = true;
      }
    }

    const left =
      WAL_PAGE_SIZE - this.alloc - WAL_RECORD_HEADER_SIZE +
      (WAL_PAGE_SIZE - WAL_RECORD_HEADER_SIZE) * (this.pagesPerSegment - this.donePages - 1);
    if (rec.length > left) await this.cut();

    // One pass at least, so that an empty record is written too.
    for (let i = 0, off = 0; i === 0 || off < rec.length; i++) {
      const n = Math.min(rec.length - off, WAL_PAGE_SIZE - this.alloc - WAL_RECORD_HEADER_SIZE);
      const last = off + n === rec.length;
      let typ = i === 0 ? (last ? FragmentType.Full : FragmentType.First) : last ? FragmentType.Last : FragmentType.Middle;
      if (compressed) typ |= SNAPPY_FLAG;
      const p = this.page;
      const at = this.alloc;
      const crc = crc32c(rec, off, off + n);
      p[at] = typ;
      p[at + 1] = n >>> 8;
      p[at + 2] = n & 0xff;
      p[at + 3] = crc >>> 24;
      p[at + 4] = (crc >>> 16) & 0xff;
      p[at + 5] = (crc >>> 8) & 0xff;
      p[at + 6] = crc & 0xff;
      p.set(rec.subarray(off, off + n), at + WAL_RECORD_HEADER_SIZE);
      this.alloc += n + WAL_RECORD_HEADER_SIZE;
      off += n;
      if (this.pageFull()) this.queuePage(true);
    }
  }

  private pageFull(): boolean {
    return WAL_PAGE_SIZE - this.alloc < WAL_RECORD_HEADER_SIZE;
  }

  /**
   * Queues the unwritten part of the page. With `finish` the page is completed: its rest
   * stays zero and a fresh page starts (the queued slice keeps the old buffer).
   */
  private queuePage(finish: boolean): void {
    const end = finish ? WAL_PAGE_SIZE : this.alloc;
    if (end > this.flushed) this.pending.push(this.page.subarray(this.flushed, end));
    if (finish) {
      this.page = new Uint8Array(WAL_PAGE_SIZE);
      this.alloc = 0;
      this.flushed = 0;
      this.donePages++;
    } else {
      this.flushed = end;
    }
  }

  private async writePending(): Promise<void> {
    if (this.pending.length === 0) return;
    let bufs = this.pending;
    this.pending = [];
    try {
      // writev may write less than asked; continue with what is left.
      let total = 0;
      for (const b of bufs) total += b.length;
      while (total > 0) {
        const { bytesWritten } = await this.fh.writev(bufs);
        total -= bytesWritten;
        if (total === 0) break;
        let skip = bytesWritten;
        const rest: Uint8Array[] = [];
        for (const b of bufs) {
          if (skip >= b.length) {
            skip -= b.length;
            continue;
          }
          rest.push(skip > 0 ? b.subarray(skip) : b);
          skip = 0;
        }
        bufs = rest;
      }
      this.writeSeq++;
    } catch (err) {
      this.failed = err as Error;
      throw err;
    }
  }

  private async cut(): Promise<number> {
    // Only finish the page if it holds data: an empty page stays unwritten.
    if (this.alloc > 0) this.queuePage(true);
    await this.writePending();
    const next = this.segmentIndex + 1;
    const fh = await createSegment(this.dir, next);
    const prev = this.fh;
    this.fh = fh;
    this.segmentIndex = next;
    this.donePages = 0;
    this.page = new Uint8Array(WAL_PAGE_SIZE);
    this.alloc = 0;
    this.flushed = 0;
    try {
      await prev.sync();
      this.syncedSeq = this.writeSeq;
    } finally {
      await prev.close();
    }
    return next;
  }
}

async function createSegment(dir: string, index: number): Promise<FileHandle> {
  const fh = await open(segmentName(dir, index), 'a');
  const { size } = await fh.stat();
  if (size !== 0) {
    await fh.close();
    throw new Error(`create segment ${segmentName(dir, index)}: already exists with ${size} bytes`);
  }
  await syncDir(dir);
  return fh;
}
