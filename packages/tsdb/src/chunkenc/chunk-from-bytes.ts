import { EncXOR, UnsupportedChunkEncodingError } from './chunk.js';
import type { Chunk } from './chunk.js';
import { XorChunk } from './xor.js';

/**
 * Wraps encoded chunk bytes (not copied) in a Chunk of the given encoding
 * (chunkenc.FromData). Only XOR is supported so far; histogram encodings and the
 * Thanos downsampled aggregate (0xFF) throw UnsupportedChunkEncodingError.
 */
export function chunkFromBytes(encoding: number, data: Uint8Array): Chunk {
  switch (encoding) {
    case EncXOR:
      return new XorChunk(data);
    default:
      throw new UnsupportedChunkEncodingError(encoding);
  }
}
