import type { Readable } from 'node:stream';

/** DIR_DELIM separates "directories" in object names, as in Thanos (`objstore.DirDelim`). */
export const DIR_DELIM = '/';

/** UploadBody is what upload accepts: a Node stream, or bytes already in memory (Buffer included). */
export type UploadBody = Readable | Uint8Array;

export interface UploadOptions {
  /**
   * Body size in bytes when known. Backends use it to plan multipart uploads and
   * fail the upload if the body turns out to have a different length.
   */
  size?: number;
}

export interface IterOptions {
  /** List every object below dir instead of its direct children. */
  recursive?: boolean;
}

export interface ObjectAttributes {
  size: number;
  lastModified: Date;
}

/** IterFn receives full object names; an error it throws stops iteration and is rethrown as is. */
export type IterFn = (name: string) => void | Promise<void>;

/**
 * Bucket is the one object storage interface every component talks to
 * (Thanos `objstore.Bucket`). Object names are relative to the bucket and use
 * "/" as directory delimiter; objects are immutable once uploaded.
 */
export interface Bucket {
  /** name identifies the bucket in logs ("fs: /data/bucket", or the S3 bucket name). */
  name(): string;

  /** get streams a whole object. Throws ObjectNotFoundError if it does not exist. */
  get(name: string): Promise<Readable>;

  /**
   * getRange streams length bytes from offset; length -1 or undefined reads to the end.
   * A range reaching past the end is cut at the end; an offset at or past the end
   * yields an empty stream. Throws ObjectNotFoundError if the object does not exist.
   */
  getRange(name: string, offset: number, length?: number): Promise<Readable>;

  /**
   * The bytes getRange would stream, in memory: for backends where a range is one
   * positional read, without a stream around it. Optional; getRangeBytes() falls back to
   * reading getRange. Same errors and end-of-object rules as getRange.
   */
  getRangeBytes?(name: string, offset: number, length: number): Promise<Uint8Array>;

  /**
   * Reads a small range and hands it to `use` at once; `bytes` is valid only during the
   * call (a backend may read into a buffer it reuses), so `use` copies what it keeps.
   * Optional, for backends where a range is one positional read: the store gateway reads
   * one chunk per series this way without allocating a buffer per read.
   */
  readRange?<T>(name: string, offset: number, length: number, use: (bytes: Uint8Array) => T): Promise<T>;

  /**
   * Ranges [starts[i], ends[i]) of one object, each at most rangeReadMaxBytes, read in
   * order: `use(i, bytes)` gets range i (bytes valid during the call only; shorter at
   * the end of the object). One call for many small ranges: where a read costs a system
   * call, the per-read promises and bookkeeping of readRange would cost more than it.
   */
  readRanges?(name: string, starts: ArrayLike<number>, ends: ArrayLike<number>, use: (i: number, bytes: Uint8Array) => void): Promise<void>;

  /**
   * The gap worth reading through rather than asking again (the store gateway's
   * partitioner). Unset: an object store's, 512 KiB as in Thanos, where every request is
   * a round trip. A local filesystem pays microseconds per positional read, so reading
   * through a large gap only allocates and copies bytes nobody wants.
   */
  readonly rangeGapBytes?: number;

  /**
   * The longest read worth merging ranges into (with rangeGapBytes); unset: no limit. A
   * local filesystem reads up to this much synchronously into a reused buffer; past it
   * a read allocates and goes through the thread pool.
   */
  readonly rangeReadMaxBytes?: number;

  /** exists reports whether an object (not a directory) named name exists. */
  exists(name: string): Promise<boolean>;

  /** attributes returns size and modification time. Throws ObjectNotFoundError if missing. */
  attributes(name: string): Promise<ObjectAttributes>;

  /**
   * upload stores body under name, replacing any existing object. Readers see
   * either the old object or the complete new one, never a partial write. If
   * the body stream errors, nothing is stored and the stream is destroyed.
   */
  upload(name: string, body: UploadBody, opts?: UploadOptions): Promise<void>;

  /**
   * delete removes an object. Deleting a missing object succeeds: S3 cannot
   * tell without an extra request, and idempotent deletes make retries safe.
   */
  delete(name: string): Promise<void>;

  /**
   * iter calls fn for each entry under dir ("" is the root; "a" and "a/" are the
   * same directory), one at a time, in lexicographic order. Names are full object
   * names. Non-recursive iteration reports direct children, subdirectories with a
   * trailing "/"; recursive iteration reports only objects. A missing dir yields nothing.
   */
  iter(dir: string, fn: IterFn, opts?: IterOptions): Promise<void>;

  /** close releases connections; the bucket must not be used afterwards. */
  close(): Promise<void>;
}

/** Logger is the minimal structured logger backends accept (pino-compatible). */
export interface Logger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}
