// --cache-compression-type=snappy: results cache values stored snappy-compressed (block
// format, as Thanos's cortex cache compresses them), decompressed on the way back. A value
// that does not decompress (written uncompressed, or damaged) reads as a miss.

import type { Cache } from '@thanos-ts/cache';
import { snappyCompress, snappyDecompress } from '@thanos-ts/tsdb';

export type CacheCompression = '' | 'snappy';

export function compressedCache(inner: Cache, compression: CacheCompression): Cache {
  if (compression === '') return inner;
  return {
    name: inner.name,
    store(items: Map<string, Uint8Array>, ttlMs: number): void {
      const out = new Map<string, Uint8Array>();
      for (const [k, v] of items) out.set(k, snappyCompress(v));
      inner.store(out, ttlMs);
    },
    async fetch(keys: readonly string[]): Promise<Map<string, Uint8Array>> {
      const found = await inner.fetch(keys);
      const out = new Map<string, Uint8Array>();
      for (const [k, v] of found) {
        try {
          out.set(k, snappyDecompress(v));
        } catch {
          // a miss: the piece is asked again and stored anew
        }
      }
      return out;
    },
    close: () => inner.close(),
  };
}
