import type { Bucket } from './bucket.js';
import { readAll } from './streams.js';

/** getBytes reads a whole object into memory. */
export async function getBytes(bkt: Bucket, name: string): Promise<Uint8Array> {
  return readAll(await bkt.get(name));
}

/** getRangeBytes reads [offset, offset+length) of an object; length -1 or undefined reads to the end. */
export async function getRangeBytes(bkt: Bucket, name: string, offset: number, length?: number): Promise<Uint8Array> {
  if (bkt.getRangeBytes !== undefined && length !== undefined && length >= 0) return bkt.getRangeBytes(name, offset, length);
  return readAll(await bkt.getRange(name, offset, length));
}
