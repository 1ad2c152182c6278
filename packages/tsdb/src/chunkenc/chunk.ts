// Chunk encodings and the chunk/iterator contracts (Prometheus tsdb/chunkenc/chunk.go).

/** Chunk encoding byte as stored in chunk segment files and WAL/m-map records. */
export const Encoding = {
  None: 0,
  XOR: 1,
  Histogram: 2,
  FloatHistogram: 3,
} as const;
export type Encoding = number;

export const EncNone = Encoding.None;
export const EncXOR = Encoding.XOR;
export const EncHistogram = Encoding.Histogram;
export const EncFloatHistogram = Encoding.FloatHistogram;

const ENCODING_NAMES: Record<number, string> = {
  0: 'none',
  1: 'XOR',
  2: 'histogram',
  3: 'floathistogram',
  4: 'XOR2',
  5: 'histogramST',
  6: 'floathistogramST',
  0xff: 'aggr (thanos downsampled)',
};

/** Human-readable encoding name, as chunkenc.Encoding.String() spells it. */
export function encodingName(e: number): string {
  return ENCODING_NAMES[e] ?? '<unknown>';
}

/** What an iterator currently points at (chunkenc.ValueType). */
export const ValueType = {
  /** No value: the iterator is exhausted or failed (check err()). */
  None: 0,
  /** A float sample: read it with atT() / atF(). */
  Float: 1,
  /** Reserved for integer native histograms. */
  Histogram: 2,
  /** Reserved for float native histograms. */
  FloatHistogram: 3,
} as const;
export type ValueType = (typeof ValueType)[keyof typeof ValueType];

/**
 * Prometheus cuts chunks at 120 samples ("samplesPerChunk") in the head, promtool
 * backfill and compaction; writers of blocks should do the same.
 */
export const MAX_SAMPLES_PER_CHUNK = 120;

/** The head additionally caps XOR chunks at 1024 bytes (chunkenc.MaxBytesPerXORChunk). */
export const MAX_BYTES_PER_XOR_CHUNK = 1024;

/** Iterates the samples of one chunk in timestamp order, without allocating per sample. */
export interface ChunkIterator {
  /** Advances to the next sample and returns its type, or ValueType.None at the end or on error. */
  next(): ValueType;
  /**
   * Advances to the first sample with timestamp >= t. If the current sample already
   * qualifies it stays there. Returns ValueType.None when no such sample exists.
   */
  seek(t: number): ValueType;
  /** Timestamp (ms) of the current sample. */
  atT(): number;
  /** Value of the current float sample. */
  atF(): number;
  /** The error that stopped iteration, or null. Check it after next()/seek() return None. */
  err(): Error | null;
}

/** An encoded chunk of samples of one series. */
export interface Chunk {
  readonly encoding: Encoding;
  /** The encoded bytes (without the segment-file length, encoding byte or CRC). */
  bytes(): Uint8Array;
  numSamples(): number;
  /** An iterator over the chunk; `reuse` is recycled when it has the right type. */
  iterator(reuse?: ChunkIterator): ChunkIterator;
}

/** Thrown for chunk encodings this implementation cannot decode (yet). */
export class UnsupportedChunkEncodingError extends Error {
  override readonly name = 'UnsupportedChunkEncodingError';
  constructor(readonly encoding: number) {
    super(`unsupported chunk encoding ${encoding} (${encodingName(encoding)})`);
  }
}

/** An iterator with no samples whose err() says why (Prometheus' errIterator). */
export class ErrorIterator implements ChunkIterator {
  constructor(private readonly error: Error) {}
  next(): ValueType {
    return ValueType.None;
  }
  seek(): ValueType {
    return ValueType.None;
  }
  atT(): number {
    return 0;
  }
  atF(): number {
    return 0;
  }
  err(): Error | null {
    return this.error;
  }
}

/**
 * Parallel growable arrays that bulk decoders append float samples to, instead of
 * handing them out one by one through an iterator.
 */
export interface FloatSampleArrays {
  /** Timestamps (ms) of samples [0, n). */
  t: Float64Array;
  /** Values of samples [0, n), NaN payloads (the stale marker) kept bit for bit. */
  f: Float64Array;
  /** Samples held. */
  n: number;
  /**
   * Makes room for `extra` more samples (t and f may be replaced). Called before each
   * chunk is decoded, with its sample count, so it is also where a long read can be
   * cancelled (by throwing).
   */
  reserve(extra: number): void;
}

/**
 * A series that can append its float samples in bulk (the fast path of the PromQL
 * engine's preparation pass), decoding whole chunks in tight loops.
 */
export interface FloatSampleReader {
  /**
   * Appends to `out` exactly the samples that its iterator yields from seek(mint) on up
   * to maxt (inclusive), in order. Returns false when this series cannot (histogram or
   * downsampled chunks needing the iterators, data to be checked by them): `out` is then
   * as it was and the caller falls back to the iterator, which also reports errors.
   * Such series carry no start timestamps.
   */
  readFloats(mint: number, maxt: number, out: FloatSampleArrays): boolean;
}
