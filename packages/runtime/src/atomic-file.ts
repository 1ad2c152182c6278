// Files that appear whole or not at all (Prometheus fileutil, Thanos WriteToDir): the
// bytes go to a temporary file beside the target, which is fsynced and renamed over
// it, then the directory is fsynced so the rename itself survives a crash. A reader
// sees the old file or the new one, never a part; a failed write leaves no temporary
// file behind.

import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * What writeFileAtomic writes: bytes or text in memory, or chunks of them from an
 * iterable, an async iterable or a Node Readable (consumed once, in order).
 */
export type AtomicFileData =
  | string
  | Uint8Array
  | Iterable<string | Uint8Array>
  | AsyncIterable<string | Uint8Array>;

export interface WriteFileAtomicOptions {
  /** Mode of the new file, before the umask; 0o666 when not given. */
  mode?: number;
  /** Creates the parent directories first. */
  mkdir?: boolean;
  /** The expected length in bytes; any other length fails the write before the rename. */
  size?: number;
  /**
   * Names the temporary file `<dir>/<tmpPrefix><random>` instead of
   * `<dir>/<name>.tmp-<random>`: for directories whose listings hide a reserved prefix.
   */
  tmpPrefix?: string;
  /** Stops the write between chunks; the temporary file is removed, the reason rethrown. */
  signal?: AbortSignal;
}

/** How often opening the temporary file is retried when its directory vanished meanwhile. */
const MKDIR_ATTEMPTS = 3;

/**
 * Writes `data` to `path` atomically: a temporary file in the same directory (unique per
 * call, so concurrent writers of one path do not mix bytes; the last rename wins), fsync,
 * rename over `path`, fsync of the directory. On failure the temporary file is removed,
 * a stream given as `data` destroyed, `path` left as it was, and the error rethrown.
 * @returns the number of bytes written
 * @throws Error `body has N bytes, expected M` when `opts.size` does not match
 */
export async function writeFileAtomic(path: string, data: AtomicFileData, opts: WriteFileAtomicOptions = {}): Promise<number> {
  const dir = dirname(path);
  const suffix = randomBytes(8).toString('hex');
  const tmp = opts.tmpPrefix !== undefined ? join(dir, opts.tmpPrefix + suffix) : join(dir, `${basename(path)}.tmp-${suffix}`);
  let fh: FileHandle | null = null;
  let created = false;
  try {
    opts.signal?.throwIfAborted();
    fh = await createTemp(dir, tmp, opts);
    created = true;
    const written = await writeData(fh, data, opts.signal);
    if (opts.size !== undefined && opts.size !== written) throw new Error(`body has ${written} bytes, expected ${opts.size}`);
    await fh.sync();
    const f = fh;
    fh = null;
    await f.close();
    await rename(tmp, path);
    created = false;
    await syncDir(dir);
    return written;
  } catch (err) {
    destroySource(data);
    if (fh !== null) await fh.close().catch(() => {});
    if (created) await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
}

/**
 * Renames directory `from` to `to` durably: `from` is fsynced first (its entries), then
 * renamed, then the parent of `to` fsynced. The files inside must be synced already.
 */
export async function renameDirAtomic(from: string, to: string): Promise<void> {
  await syncDir(from);
  await rename(from, to);
  await syncDir(dirname(to));
}

/** Fsyncs a directory, making creations, renames and removals in it durable. */
export async function syncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

async function createTemp(dir: string, tmp: string, opts: WriteFileAtomicOptions): Promise<FileHandle> {
  for (let attempt = 1; ; attempt++) {
    if (opts.mkdir) await mkdir(dir, { recursive: true });
    try {
      // wx: never write through a file somebody else created under this name.
      return await open(tmp, 'wx', opts.mode ?? 0o666);
    } catch (err) {
      // A concurrent remover may prune an empty directory between mkdir and open.
      if (opts.mkdir && attempt < MKDIR_ATTEMPTS && (err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
  }
}

async function writeData(fh: FileHandle, data: AtomicFileData, signal: AbortSignal | undefined): Promise<number> {
  // fast path: everything in memory
  if (typeof data === 'string' || data instanceof Uint8Array) {
    const b = toBytes(data);
    await writeAll(fh, b);
    return b.length;
  }
  let written = 0;
  if (Symbol.asyncIterator in data) {
    for await (const chunk of data) {
      signal?.throwIfAborted();
      const b = toBytes(chunk);
      await writeAll(fh, b);
      written += b.length;
    }
  } else {
    for (const chunk of data) {
      signal?.throwIfAborted();
      const b = toBytes(chunk);
      await writeAll(fh, b);
      written += b.length;
    }
  }
  signal?.throwIfAborted();
  return written;
}

function toBytes(chunk: string | Uint8Array): Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return chunk;
  throw new Error(`write file: unsupported chunk type ${typeof chunk}`);
}

/** fh.write may write less than asked; loops until every byte is down. */
async function writeAll(fh: FileHandle, b: Uint8Array): Promise<void> {
  for (let off = 0; off < b.length; ) {
    const { bytesWritten } = await fh.write(b, off, b.length - off);
    off += bytesWritten;
  }
}

/** A stream not read to its end is destroyed, as stream.pipeline does. */
function destroySource(data: AtomicFileData): void {
  const d = data as { destroy?: unknown };
  if (typeof d.destroy === 'function') (d.destroy as () => void).call(data);
}
