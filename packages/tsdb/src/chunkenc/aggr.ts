// Thanos downsampled ("aggregate") chunks, byte-exact with Thanos
// pkg/compact/downsample/aggr.go. In a chunk segment file such a chunk is an ordinary
// record whose encoding byte is 0xFF (ChunkEncAggr); its data holds five sub-chunks in
// the fixed order count, sum, min, max, counter:
//
//   for each aggregate:  absent  -> uvarint(0)
//                        present -> uvarint(len(subdata)) | subEncoding (1B) | subdata
//
// len excludes the sub-encoding byte. Float downsampling fills all five with XOR
// chunks; Thanos' native-histogram downsampling uses FloatHistogram sub-chunks for
// sum and counter and leaves min/max absent. Encoding and decoding here pass any
// sub-encoding through untouched (so such chunks can be served byte for byte), but
// only XOR sub-chunks can be iterated: this codebase has no histogram chunks.

import { readUvarint } from '../encoding/decbuf.js';
import { uvarintSize, writeUvarint } from '../encoding/encbuf.js';
import { CorruptionError } from '../encoding/errors.js';
import { EncXOR, ErrorIterator, UnsupportedChunkEncodingError } from './chunk.js';
import type { Chunk, ChunkIterator } from './chunk.js';
import { XorChunk, XorIterator } from './xor.js';

const AGGR_ITERATOR_ERROR = 'aggr chunk: an aggregate chunk has no single sample stream; iterate one aggregate (aggrChunkIterator)';

/** Encoding byte of a downsampled aggregate chunk (downsample.ChunkEncAggr). */
export const CHUNK_ENC_AGGR = 0xff;

/** The aggregates of a downsampled chunk, by their position in it (downsample.AggrType). */
export const AggrType = {
  COUNT: 0,
  SUM: 1,
  MIN: 2,
  MAX: 3,
  COUNTER: 4,
} as const;
export type AggrType = (typeof AggrType)[keyof typeof AggrType];

/** Number of aggregate slots in an aggregate chunk. */
export const AGGR_COUNT = 5;

/** All aggregate types in chunk order. */
export const AGGR_TYPES: readonly AggrType[] = [AggrType.COUNT, AggrType.SUM, AggrType.MIN, AggrType.MAX, AggrType.COUNTER];

const AGGR_NAMES = ['count', 'sum', 'min', 'max', 'counter'] as const;

/** The aggregate's name as Thanos spells it (AggrType.String()): "count", "sum", ... */
export function aggrTypeName(t: number): string {
  return AGGR_NAMES[t] ?? '<unknown>';
}

/** One aggregate's sub-chunk: its chunkenc encoding and its data (header included). */
export interface AggrPart {
  encoding: number;
  data: Uint8Array;
}

/** The five sub-chunks of an aggregate chunk, indexed by AggrType; null = absent. */
export type AggrParts = [AggrPart | null, AggrPart | null, AggrPart | null, AggrPart | null, AggrPart | null];

/** What encodeAggrChunk takes per slot: a raw part, any Chunk, or null (absent). */
export type AggrPartInput = AggrPart | Pick<Chunk, 'encoding' | 'bytes'> | null;

const FILE = 'aggr chunk';

function partBytes(p: AggrPart | Pick<Chunk, 'encoding' | 'bytes'>): Uint8Array {
  // A Chunk is recognised by its bytes() method (XorChunk has a private `data` field).
  return 'bytes' in p && typeof p.bytes === 'function' ? p.bytes() : (p as AggrPart).data;
}

/**
 * Encodes the data of an aggregate chunk (without the 0xFF encoding byte, which the
 * chunk file record carries) from five parts indexed by AggrType (EncodeAggrChunk).
 * @throws RangeError unless exactly five parts are given, or for an invalid
 *   sub-encoding (not a byte, 0 or 0xFF) or an empty sub-chunk (length 0 means absent)
 */
export function encodeAggrChunk(parts: readonly AggrPartInput[]): Uint8Array {
  if (parts.length !== AGGR_COUNT) throw new RangeError(`aggr chunk: expected ${AGGR_COUNT} parts, got ${parts.length}`);
  let size = 0;
  for (let i = 0; i < AGGR_COUNT; i++) {
    const p = parts[i];
    if (p === null) {
      size += 1;
      continue;
    }
    const enc = p.encoding;
    if (!Number.isInteger(enc) || enc <= 0 || enc >= CHUNK_ENC_AGGR) {
      throw new RangeError(`aggr chunk: ${aggrTypeName(i)}: invalid sub-chunk encoding ${enc}`);
    }
    const n = partBytes(p).length;
    if (n === 0) throw new RangeError(`aggr chunk: ${aggrTypeName(i)}: empty sub-chunk (a zero length marks an absent aggregate)`);
    size += uvarintSize(n) + 1 + n;
  }
  const out = new Uint8Array(size);
  let pos = 0;
  for (let i = 0; i < AGGR_COUNT; i++) {
    const p = parts[i];
    if (p === null) {
      out[pos++] = 0;
      continue;
    }
    const b = partBytes(p);
    pos = writeUvarint(out, pos, b.length);
    out[pos++] = p.encoding;
    out.set(b, pos);
    pos += b.length;
  }
  return out;
}

/**
 * Result of readEntry: SCAN[0] = offset of the entry's sub-encoding byte, or -1 when
 * the aggregate is absent; SCAN[1] = offset just past the entry. Scratch, so lookups
 * allocate nothing.
 */
const SCAN = new Int32Array(2);

/** Reads the entry of aggregate `i` starting at data[pos] into SCAN. @throws CorruptionError */
function readEntry(data: Uint8Array, pos: number, i: number): void {
  const at = pos;
  const [len, next] = readUvarint(data, pos);
  if (next < 0) throw new CorruptionError(FILE, at, `${aggrTypeName(i)}: bad or truncated length`);
  pos = next;
  if (len === 0) {
    // Absent. Thanos' AggrChunk.Get additionally demands one byte after every length,
    // so it reports "invalid size" (not ErrAggrNotExist) for an absent *last*
    // aggregate; we read that case as absent too.
    SCAN[0] = -1;
    SCAN[1] = pos;
    return;
  }
  const end = pos + 1 + len;
  if (end > data.length) {
    throw new CorruptionError(FILE, at, `${aggrTypeName(i)}: sub-chunk of ${len} bytes needs ${end - pos} bytes, only ${data.length - pos} available`);
  }
  SCAN[0] = pos;
  SCAN[1] = end;
}

/** Reads the entries up to aggregate `which` into SCAN. */
function scan(data: Uint8Array, which: number): void {
  let pos = 0;
  for (let i = 0; i <= which; i++) {
    readEntry(data, pos, i);
    pos = SCAN[1];
  }
}

/**
 * Splits aggregate chunk data (without the 0xFF byte) into its five sub-chunks;
 * `data` of each part is a view into the input (not copied). Sub-encodings are not
 * interpreted. Bytes after the fifth entry are ignored, as Thanos does.
 * @throws CorruptionError for a truncated or malformed chunk
 */
export function decodeAggrChunk(data: Uint8Array): AggrParts {
  const out: AggrParts = [null, null, null, null, null];
  let pos = 0;
  for (let i = 0; i < AGGR_COUNT; i++) {
    readEntry(data, pos, i);
    if (SCAN[0] >= 0) out[i] = { encoding: data[SCAN[0]], data: data.subarray(SCAN[0] + 1, SCAN[1]) };
    pos = SCAN[1];
  }
  return out;
}

/**
 * The sub-chunk of one aggregate, as a view into `data`, or null when absent.
 * @throws CorruptionError for a malformed chunk up to that aggregate
 */
export function getAggrPart(data: Uint8Array, which: AggrType): AggrPart | null {
  checkType(which);
  scan(data, which);
  if (SCAN[0] < 0) return null;
  return { encoding: data[SCAN[0]], data: data.subarray(SCAN[0] + 1, SCAN[1]) };
}

/**
 * An iterator over one aggregate of aggregate chunk data (without the 0xFF byte), or
 * null when that aggregate is absent. `reuse` is reset and returned when given.
 * @throws UnsupportedChunkEncodingError when the sub-chunk is not XOR (native
 *   histogram downsampling), CorruptionError for a malformed chunk
 */
export function aggrChunkIterator(data: Uint8Array, which: AggrType, reuse?: XorIterator): XorIterator | null {
  checkType(which);
  scan(data, which);
  if (SCAN[0] < 0) return null;
  const enc = data[SCAN[0]];
  if (enc !== EncXOR) throw new UnsupportedChunkEncodingError(enc);
  const sub = data.subarray(SCAN[0] + 1, SCAN[1]);
  if (reuse !== undefined) {
    reuse.reset(sub);
    return reuse;
  }
  return new XorIterator(sub);
}

function checkType(which: number): void {
  if (!(Number.isInteger(which) && which >= 0 && which < AGGR_COUNT)) throw new RangeError(`aggr chunk: invalid aggregate type ${which}`);
}

/**
 * A downsampled chunk (downsample.AggrChunk) wrapping its encoded data. It is a Chunk
 * so that it can be written with BlockWriter; its own iterator() yields nothing (err()
 * says so), since each aggregate is a separate series of samples: use part(),
 * xorChunk() or aggrChunkIterator().
 */
export class AggrChunk implements Chunk {
  readonly encoding = CHUNK_ENC_AGGR;
  private decoded: AggrParts | null = null;

  /** Wraps aggregate chunk data (without the 0xFF byte), not copied nor validated. */
  constructor(private readonly data: Uint8Array) {}

  /** Encodes five parts (see encodeAggrChunk) into a new chunk. */
  static encode(parts: readonly AggrPartInput[]): AggrChunk {
    return new AggrChunk(encodeAggrChunk(parts));
  }

  bytes(): Uint8Array {
    return this.data;
  }

  /** All five sub-chunks (decoded once). @throws CorruptionError */
  parts(): AggrParts {
    return (this.decoded ??= decodeAggrChunk(this.data));
  }

  /** One aggregate's sub-chunk, or null when absent. @throws CorruptionError */
  part(which: AggrType): AggrPart | null {
    checkType(which);
    return this.parts()[which];
  }

  /**
   * One aggregate as an XorChunk view (not copied), or null when absent.
   * @throws UnsupportedChunkEncodingError for a non-XOR (histogram) sub-chunk
   */
  xorChunk(which: AggrType): XorChunk | null {
    const p = this.part(which);
    if (p === null) return null;
    if (p.encoding !== EncXOR) throw new UnsupportedChunkEncodingError(p.encoding);
    return new XorChunk(p.data);
  }

  /**
   * Samples of the count aggregate (= windows), as Thanos' AggrChunk.NumSamples; 0 when
   * count is absent or the chunk is malformed.
   */
  numSamples(): number {
    let p: AggrPart | null;
    try {
      p = this.part(AggrType.COUNT);
    } catch {
      return 0;
    }
    // every chunkenc encoding starts with a uint16 BE sample count
    return p === null || p.data.length < 2 ? 0 : (p.data[0] << 8) | p.data[1];
  }

  iterator(): ChunkIterator {
    return new ErrorIterator(new Error(AGGR_ITERATOR_ERROR));
  }
}
