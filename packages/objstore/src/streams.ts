import { Readable, finished } from 'node:stream';

import type { UploadBody } from './bucket.js';

import { wrapError } from './errors.js';

/**
 * ObjectReader re-emits a backend stream, adding operation context to its
 * errors ("get range chunks/000001 [8, 1032): aborted") and optionally cutting
 * it to [skip, skip+limit): some servers (s3rver answers "bytes=0-0" with the
 * whole object) send more than was asked for. Destroying the reader destroys
 * the source, which releases its file descriptor or connection.
 */
export class ObjectReader extends Readable {
  readonly #src: Readable;
  #skip: number;
  #remaining: number;
  #done = false;

  constructor(src: Readable, context: string, skip = 0, limit = Infinity) {
    super();
    this.#src = src;
    this.#skip = skip;
    this.#remaining = limit;

    src.on('data', (chunk: Buffer | string) => this.#onData(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    // finished() reports errors and a close before 'end' (a cut connection) alike.
    finished(src, { writable: false }, (err) => {
      if (this.#done) return;
      this.#done = true;
      if (err) this.destroy(wrapError(context, err));
      else this.push(null);
    });
    src.pause();
    if (this.#remaining === 0) this.#finish();
  }

  #onData(chunk: Buffer): void {
    if (this.#done) return;
    if (this.#skip > 0) {
      if (chunk.length <= this.#skip) {
        this.#skip -= chunk.length;
        return;
      }
      chunk = chunk.subarray(this.#skip);
      this.#skip = 0;
    }
    if (chunk.length >= this.#remaining) {
      this.push(chunk.subarray(0, this.#remaining));
      this.#remaining = 0;
      this.#finish();
      return;
    }
    this.#remaining -= chunk.length;
    if (!this.push(chunk)) this.#src.pause();
  }

  /** #finish ends the reader early, once limit bytes were pushed. */
  #finish(): void {
    this.#done = true;
    this.push(null);
    this.#src.destroy();
  }

  override _read(): void {
    if (!this.#done) this.#src.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#done = true;
    this.#src.destroy();
    cb(err);
  }
}

/** emptyReader is the stream for zero-length reads. */
export function emptyReader(): Readable {
  return Readable.from([]);
}

/** readAll collects a stream into one buffer. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(toBuffer(chunk));
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

/** toBuffer views a chunk from any stream mode as a Buffer without copying bytes. */
export function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk);
  throw new Error(`unsupported stream chunk type ${typeof chunk}`);
}

/**
 * readParts splits a stream into buffers of exactly partSize bytes (the last
 * one shorter, and none at all for an empty stream). Each part is a fresh
 * buffer, so it can be uploaded while the next one fills. Breaking out of the
 * iteration destroys the source.
 */
export async function* readParts(src: AsyncIterable<unknown>, partSize: number): AsyncGenerator<Buffer> {
  let part = Buffer.allocUnsafe(partSize);
  let filled = 0;
  for await (const raw of src) {
    let chunk = toBuffer(raw);
    while (chunk.length > 0) {
      const n = Math.min(chunk.length, partSize - filled);
      chunk.copy(part, filled, 0, n);
      filled += n;
      chunk = chunk.subarray(n);
      if (filled === partSize) {
        yield part;
        part = Buffer.allocUnsafe(partSize);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield part.subarray(0, filled);
}

/** rangeContext renders the context of a ranged read: "get range index [8, 1032)". */
export function rangeContext(name: string, offset: number, length: number): string {
  return `get range ${name} [${offset}, ${length < 0 ? 'end' : offset + length})`;
}

/**
 * checkRange validates getRange arguments and normalises length (undefined → -1).
 * Throws with context on negative or non-integer values.
 */
export function checkRange(name: string, offset: number, length: number | undefined): number {
  const len = length ?? -1;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new Error(`get range ${name}: invalid offset ${offset}`);
  }
  if (!Number.isSafeInteger(len) || len < -1) {
    throw new Error(`get range ${name}: invalid length ${length}`);
  }
  return len;
}

/**
 * holdErrors keeps a body stream that fails before upload starts reading it
 * from crashing the process with an unhandled 'error' event. The error is not
 * lost: the stream stores it and reading rethrows it.
 */
export function holdErrors(body: UploadBody): void {
  if (!(body instanceof Uint8Array)) body.on('error', () => {});
}

/** The body's length must be the declared size, when one was given. */
export function checkSize(actual: number, declared: number | undefined): void {
  if (declared !== undefined && declared !== actual) {
    throw new Error(`body has ${actual} bytes, expected ${declared}`);
  }
}

/** A buffer in consecutive slices of `size` bytes (no copies). */
export function* sliceParts(buf: Buffer, size: number): Generator<Buffer> {
  for (let off = 0; off < buf.length; off += size) yield buf.subarray(off, off + size);
}

/**
 * The part size for an upload: `partSize`, grown (in whole MiB, up to `maxPartSize`)
 * when a known size would need more than `maxParts` parts.
 */
export function partSizeFor(size: number | undefined, partSize: number, maxParts: number, maxPartSize: number): number {
  if (size === undefined || size <= partSize * maxParts) return partSize;
  return Math.min(maxPartSize, Math.ceil(size / maxParts / 2 ** 20) * 2 ** 20);
}

/** How a provider sends an object: in one request, or in parts (S3 multipart, Azure blocks). */
export interface PartedWriter {
  put(buf: Buffer): Promise<void>;
  parts(parts: AsyncIterable<Buffer>, size: number | undefined): Promise<void>;
}

/**
 * Uploads a stream in one request when it fits in one part, else in parts, reading no
 * more than two parts ahead; the declared size is checked. The stream is stopped (and
 * destroyed if not used up) on every path.
 */
export async function uploadParted(body: AsyncIterable<unknown>, partSize: number, size: number | undefined, w: PartedWriter): Promise<void> {
  const parts = readParts(body, partSize);
  try {
    const first = await parts.next();
    if (first.done || first.value.length < partSize) {
      const buf = first.done ? Buffer.alloc(0) : first.value;
      checkSize(buf.length, size);
      await w.put(buf);
      return;
    }
    const second = await parts.next();
    if (second.done) {
      checkSize(first.value.length, size);
      await w.put(first.value);
      return;
    }
    await w.parts(chain([first.value, second.value], parts), size);
  } finally {
    await parts.return(undefined);
  }
}

async function* chain(head: Buffer[], tail: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield* head;
  for (let r = await tail.next(); !r.done; r = await tail.next()) yield r.value;
}
