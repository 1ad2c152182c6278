import type { Readable } from 'node:stream';

import { DIR_DELIM } from './bucket.js';
import type { Bucket, IterFn, IterOptions, ObjectAttributes, UploadBody, UploadOptions } from './bucket.js';

/**
 * PrefixedBucket confines a bucket to "prefix/" (objstore.yml `prefix`): every
 * object name gets the prefix, and iter strips it from what it reports, so
 * callers never see it. Error messages name the full, prefixed object.
 */
export class PrefixedBucket implements Bucket {
  readonly #bkt: Bucket;
  readonly #prefix: string;

  /** prefix is used without leading and trailing "/"; it must not be empty. */
  constructor(bkt: Bucket, prefix: string) {
    const p = trimSlashes(prefix);
    if (p === '') throw new Error('prefixed bucket: prefix is empty');
    this.#bkt = bkt;
    this.#prefix = p + DIR_DELIM;
    const bytes = bkt.getRangeBytes?.bind(bkt);
    if (bytes !== undefined) this.getRangeBytes = (name, offset, length) => bytes(this.#full(name), offset, length);
    const range = bkt.readRange?.bind(bkt);
    if (range !== undefined) this.readRange = (name, offset, length, use) => range(this.#full(name), offset, length, use);
    const ranges = bkt.readRanges?.bind(bkt);
    if (ranges !== undefined) this.readRanges = (name, starts, ends, use) => ranges(this.#full(name), starts, ends, use);
    this.rangeGapBytes = bkt.rangeGapBytes;
    this.rangeReadMaxBytes = bkt.rangeReadMaxBytes;
  }

  readonly getRangeBytes?: (name: string, offset: number, length: number) => Promise<Uint8Array>;
  readonly readRange?: <T>(name: string, offset: number, length: number, use: (bytes: Uint8Array) => T) => Promise<T>;
  readonly readRanges?: Bucket['readRanges'];
  readonly rangeGapBytes?: number;
  readonly rangeReadMaxBytes?: number;

  /** name is the underlying bucket's name, as in Thanos. */
  name(): string {
    return this.#bkt.name();
  }

  /** #full prefixes a name; the empty name stays empty so the backend rejects it. */
  #full(name: string): string {
    return name === '' ? '' : this.#prefix + name;
  }

  get(name: string): Promise<Readable> {
    return this.#bkt.get(this.#full(name));
  }

  getRange(name: string, offset: number, length?: number): Promise<Readable> {
    return this.#bkt.getRange(this.#full(name), offset, length);
  }


  exists(name: string): Promise<boolean> {
    return this.#bkt.exists(this.#full(name));
  }

  attributes(name: string): Promise<ObjectAttributes> {
    return this.#bkt.attributes(this.#full(name));
  }

  upload(name: string, body: UploadBody, opts?: UploadOptions): Promise<void> {
    return this.#bkt.upload(this.#full(name), body, opts);
  }

  delete(name: string): Promise<void> {
    return this.#bkt.delete(this.#full(name));
  }

  iter(dir: string, fn: IterFn, opts?: IterOptions): Promise<void> {
    const n = this.#prefix.length;
    return this.#bkt.iter(this.#prefix + dir, (name) => fn(name.startsWith(this.#prefix) ? name.slice(n) : name), opts);
  }

  close(): Promise<void> {
    return this.#bkt.close();
  }
}

/** trimSlashes removes leading and trailing "/" (Thanos strings.Trim(prefix, "/")). */
export function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, '');
}
