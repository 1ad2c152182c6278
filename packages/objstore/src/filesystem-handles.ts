// Open read-only file handles kept for reuse by the FILESYSTEM bucket. Opening, stating and
// closing a file for every ranged read costs three thread-pool round trips on top of the
// read itself; the store gateway makes thousands of small ranged reads of the same few
// files (a block's index and chunk segments), so their handles are kept in a bounded LRU.
//
// Objects are immutable once written, but they get replaced (an upload renames a new file
// over the name) and deleted (a compactor removes blocks). Changes made through the bucket
// that owns the cache drop the handle at once. Changes by other processes are noticed by
// re-stating the path when a handle is used after `revalidateMs`: a different inode means
// the handle is reopened, a missing path means not found. Handles unused for `idleMs` are
// closed, so a deleted file's disk space is freed soon after readers stop using it.

import type { FileHandle } from 'node:fs/promises';
import * as fs from 'node:fs/promises';

export interface FileHandleCacheOptions {
  /** Handles kept open at most (default 256); handles in use beyond it close when released. */
  maxOpen?: number;
  /** A handle unused this long is closed, ms (default 30 s). */
  idleMs?: number;
  /** A handle whose path was last checked longer ago than this is re-checked before use, ms (default 1 s). */
  revalidateMs?: number;
}

/** A handle lent out by {@link FileHandleCache.acquire}; give it back with release. */
export interface OpenFile {
  readonly path: string;
  readonly fh: FileHandle;
  readonly dev: number;
  readonly ino: number;
  refs: number;
  lastUse: number;
  checkedAt: number;
  /** Out of the cache: closed when the last user releases it. */
  evicted: boolean;
}

const DEFAULT_MAX_OPEN = 256;
const DEFAULT_IDLE_MS = 30_000;
const DEFAULT_REVALIDATE_MS = 1_000;

export class FileHandleCache {
  readonly #maxOpen: number;
  readonly #idleMs: number;
  readonly #revalidateMs: number;
  /** Cached handles by path, least recently used first. */
  readonly #files = new Map<string, OpenFile>();
  /** Opens in flight, so concurrent first reads of a file share one open. */
  readonly #opening = new Map<string, Promise<OpenFile>>();
  #sweeper: NodeJS.Timeout | null = null;
  #closed = false;
  /** Bumped by invalidate: an open that started before it serves its waiting reads but is not kept. */
  #generation = 0;

  constructor(opts: FileHandleCacheOptions = {}) {
    this.#maxOpen = Math.max(0, opts.maxOpen ?? DEFAULT_MAX_OPEN);
    this.#idleMs = opts.idleMs ?? DEFAULT_IDLE_MS;
    this.#revalidateMs = opts.revalidateMs ?? DEFAULT_REVALIDATE_MS;
  }

  /** Handles held by the cache now (in use or idle). */
  get size(): number {
    return this.#files.size;
  }

  /**
   * A handle on path, opened or reused. Throws the fs error of open or stat as is
   * (ENOENT for a missing file) and an EISDIR error for a directory.
   */
  async acquire(path: string): Promise<OpenFile> {
    const now = Date.now();
    const f = this.#files.get(path);
    if (f !== undefined) {
      if (now - f.checkedAt <= this.#revalidateMs) return this.#lend(f, now);
      // Checked once per window by whoever comes first; the others use the handle meanwhile.
      f.checkedAt = now;
      let st;
      try {
        st = await fs.stat(path);
      } catch (err) {
        this.#evict(f);
        throw err;
      }
      if (st.ino === f.ino && st.dev === f.dev && !st.isDirectory()) {
        if (!f.evicted) return this.#lend(f, Date.now());
      } else {
        this.#evict(f);
      }
    }
    let opening = this.#opening.get(path);
    if (opening === undefined) {
      opening = this.#open(path);
      this.#opening.set(path, opening);
      // A failed open is forgotten too, so the next read tries again.
      const clear = (): void => {
        if (this.#opening.get(path) === opening) this.#opening.delete(path);
      };
      opening.then(clear, clear);
    }
    const opened = await opening;
    return this.#lend(opened, Date.now());
  }

  /** Gives back a handle from acquire. */
  release(f: OpenFile): void {
    f.refs--;
    f.lastUse = Date.now();
    if (f.refs === 0 && f.evicted) void f.fh.close().catch(() => {});
  }

  /**
   * Drops the handle of path (after this bucket replaced or deleted the file), and makes an
   * open in flight for it serve only the reads already waiting on it.
   */
  invalidate(path: string): void {
    this.#generation++;
    this.#opening.delete(path);
    const f = this.#files.get(path);
    if (f !== undefined) this.#evict(f);
  }

  /** Drops a handle that failed (a stale NFS handle), so the next read reopens the file. */
  discard(f: OpenFile): void {
    this.#evict(f);
  }

  /** Closes every idle handle; handles in use close when released. Later reads open files uncached. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stopSweeper();
    const idle: Promise<void>[] = [];
    for (const f of [...this.#files.values()]) {
      this.#files.delete(f.path);
      f.evicted = true;
      if (f.refs === 0) idle.push(f.fh.close().catch(() => {}));
    }
    await Promise.all(idle);
  }

  async #open(path: string): Promise<OpenFile> {
    const generation = this.#generation;
    const fh = await fs.open(path, 'r');
    let st;
    try {
      st = await fh.stat();
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
    if (st.isDirectory()) {
      await fh.close().catch(() => {});
      throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${path}'`), { code: 'EISDIR' });
    }
    const now = Date.now();
    const f: OpenFile = { path, fh, dev: st.dev, ino: st.ino, refs: 0, lastUse: now, checkedAt: now, evicted: true };
    // Invalidated while opening (or the cache closed): serve the waiting reads, keep nothing.
    if (this.#closed || generation !== this.#generation || this.#maxOpen === 0) return f;
    const old = this.#files.get(path);
    if (old !== undefined) this.#evict(old);
    f.evicted = false;
    this.#files.set(path, f);
    this.#trim();
    this.#startSweeper();
    return f;
  }

  #lend(f: OpenFile, now: number): OpenFile {
    f.refs++;
    f.lastUse = now;
    if (!f.evicted) {
      // Re-inserting moves the entry to the most recently used end.
      this.#files.delete(f.path);
      this.#files.set(f.path, f);
    }
    return f;
  }

  #evict(f: OpenFile): void {
    if (f.evicted) return;
    f.evicted = true;
    if (this.#files.get(f.path) === f) this.#files.delete(f.path);
    if (f.refs === 0) void f.fh.close().catch(() => {});
  }

  /** Evicts least recently used handles beyond maxOpen. */
  #trim(): void {
    for (const f of this.#files.values()) {
      if (this.#files.size <= this.#maxOpen) break;
      this.#evict(f);
    }
  }

  #sweep(): void {
    const before = Date.now() - this.#idleMs;
    for (const f of [...this.#files.values()]) if (f.refs === 0 && f.lastUse < before) this.#evict(f);
    if (this.#files.size === 0) this.#stopSweeper();
  }

  #startSweeper(): void {
    if (this.#sweeper !== null || this.#idleMs <= 0 || !Number.isFinite(this.#idleMs)) return;
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(10, Math.min(this.#idleMs / 2, 5_000)));
    this.#sweeper.unref();
  }

  #stopSweeper(): void {
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    this.#sweeper = null;
  }
}
