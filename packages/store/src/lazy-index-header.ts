// The lazy index-header (Thanos LazyBinaryReader): a block's index-header is built on disk
// when the block is first seen, but read into memory only when a query needs it, and
// released again after it has been idle, so the gateway's memory follows the blocks being
// queried rather than the blocks in the bucket. A header found corrupt is rebuilt once.

import { rm } from 'node:fs/promises';
import { IndexHeaderReader, writeIndexHeader } from '@thanos-ts/block';
import type { Bucket } from '@thanos-ts/objstore';
import type { Logger } from '@thanos-ts/runtime';
import { CorruptionError } from '@thanos-ts/tsdb';

export interface LazyIndexHeaderOptions {
  bkt: Bucket;
  blockId: string;
  file: string;
  postingOffsetsInMemSampling: number;
  logger: Logger;
  /** Called with the bytes the reader holds when it is loaded (+) and unloaded (−). */
  onLoad?: (bytes: number) => void;
  /** Called when the last user releases a loaded reader. */
  onIdle?: () => void;
}

export class LazyIndexHeader {
  private reader: IndexHeaderReader | null = null;
  private loading: Promise<IndexHeaderReader> | null = null;
  private users = 0;
  private lastUsed = 0;

  constructor(private readonly opts: LazyIndexHeaderOptions) {}

  get loaded(): boolean {
    return this.reader !== null;
  }

  /** When it was last acquired or released (ms); for least-recently-used unloading. */
  get lastUse(): number {
    return this.lastUsed;
  }

  /** Builds the header file from the bucket's index (ranged reads only). */
  async build(): Promise<number> {
    const r = await writeIndexHeader(this.opts.bkt, this.opts.blockId, this.opts.file);
    return r.fetchedBytes;
  }

  /** The reader, loading it if needed; pair every acquire with a release. */
  async acquire(): Promise<IndexHeaderReader> {
    this.users++;
    this.lastUsed = Date.now();
    try {
      if (this.reader !== null) return this.reader;
      this.loading ??= this.load().finally(() => {
        this.loading = null;
      });
      return await this.loading;
    } catch (err) {
      this.users--;
      throw err;
    }
  }

  release(): void {
    this.users--;
    this.lastUsed = Date.now();
    if (this.users === 0 && this.reader !== null) this.opts.onIdle?.();
  }

  /** Unloads the reader when nobody uses it and it was last used before `idleSince`. */
  unloadIfIdle(idleSince: number): boolean {
    if (this.reader === null || this.users > 0 || this.lastUsed > idleSince) return false;
    this.unload();
    return true;
  }

  /** Unloads now (block dropped, shutdown). Readers in use keep their buffer alive. */
  unload(): void {
    if (this.reader === null) return;
    this.opts.onLoad?.(-this.reader.byteSize);
    this.reader.close();
    this.reader = null;
  }

  private async load(): Promise<IndexHeaderReader> {
    const { file, postingOffsetsInMemSampling: sampling } = this.opts;
    let r: IndexHeaderReader;
    try {
      r = await IndexHeaderReader.open(file, { postingOffsetsInMemSampling: sampling });
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      if (!missing && !(err instanceof CorruptionError)) throw err;
      if (!missing) this.opts.logger.warn({ block: this.opts.blockId, err: (err as Error).message }, 'index-header corrupt; rebuilding it from the bucket');
      await rm(file, { force: true });
      await this.build();
      r = await IndexHeaderReader.open(file, { postingOffsetsInMemSampling: sampling });
    }
    this.reader = r;
    this.opts.onLoad?.(r.byteSize);
    return r;
  }
}
