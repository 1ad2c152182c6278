// Bit stream with Prometheus `bstream` semantics (tsdb/chunkenc/bstream.go,
// tsdb/docs/bstream.md): bits are written and read most-significant first within
// each byte, `writeBits(u, n)` writes the n low bits of u starting with the highest,
// and the final byte is zero-padded.
//
// JS bit operators work on 32 bits, so every multi-bit call takes at most 32 bits;
// 64-bit quantities (float bits, 64-bit delta-of-deltas) travel as two uint32 halves.

/** MASK[n] = 2^n - 1 for n in [0, 31]; n = 32 is handled by the callers with `>>> 0`. */
const MASK: readonly number[] = Array.from({ length: 32 }, (_, n) => 2 ** n - 1);
/** POW2[n] = 2^n for n in [0, 32], to combine split reads without 32-bit overflow. */
const POW2: readonly number[] = Array.from({ length: 33 }, (_, n) => 2 ** n);

/** Appends bits to a growable byte buffer. */
export class BitWriter {
  private buf: Uint8Array;
  private len = 0;
  /** How many low bits of the last byte are still free (0 = start a new byte). */
  private count = 0;

  constructor(initialCapacity = 128) {
    this.buf = new Uint8Array(Math.max(initialCapacity, 16));
  }

  /**
   * Continues writing after `data[0, len)`, whose last byte has `freeBits` unused low
   * bits (0..7). The bytes are copied into a buffer owned by the writer.
   */
  static resume(data: Uint8Array, freeBits: number): BitWriter {
    const w = new BitWriter(Math.max(128, data.length * 2));
    w.buf.set(data);
    w.len = data.length;
    w.count = data.length === 0 ? 0 : freeBits;
    return w;
  }

  /** Number of bytes written, including a partially written last byte. */
  get length(): number {
    return this.len;
  }

  /** Free bits left in the last byte. */
  get freeBits(): number {
    return this.count;
  }

  /** A view of the bytes written so far; valid until the next write. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** The underlying buffer (for in-place header rewrites); may change on growth. */
  raw(): Uint8Array {
    return this.buf;
  }

  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }

  writeBit(bit: number): void {
    if (this.count === 0) {
      if (this.len === this.buf.length) this.grow(1);
      this.buf[this.len++] = 0;
      this.count = 8;
    }
    this.count--;
    if (bit !== 0) this.buf[this.len - 1] |= 1 << this.count;
  }

  /** Writes the low `nbits` (0..32) bits of u, most significant first. */
  writeBits(u: number, nbits: number): void {
    if (nbits <= 0) return;
    if (this.len + 5 > this.buf.length) this.grow(5);
    const buf = this.buf;
    let len = this.len;
    let count = this.count;
    if (count !== 0) {
      // fill the partially written last byte
      if (nbits <= count) {
        count -= nbits;
        buf[len - 1] |= (u & MASK[nbits]) << count;
        this.count = count;
        return;
      }
      nbits -= count;
      buf[len - 1] |= (u >>> nbits) & MASK[count];
    }
    // whole bytes, then a partial one
    while (nbits >= 8) {
      nbits -= 8;
      buf[len++] = u >>> nbits;
    }
    if (nbits > 0) {
      buf[len++] = (u << (8 - nbits)) & 0xff;
      this.count = 8 - nbits;
    } else {
      this.count = 0;
    }
    this.len = len;
  }

  /** Writes 8 bits; the stream need not be byte-aligned. */
  writeByte(b: number): void {
    this.writeBits(b & 0xff, 8);
  }

  /** Writes the low nbits (0..64) of the 64-bit value hi:lo. */
  writeBits64(hi: number, lo: number, nbits: number): void {
    if (nbits > 32) {
      this.writeBits(hi, nbits - 32);
      this.writeBits(lo, 32);
    } else {
      this.writeBits(lo, nbits);
    }
  }
}

/**
 * Reads bits from a byte range. Bits are buffered in one 32-bit register that is
 * refilled four bytes at a time; a read that straddles a refill is stitched from the
 * old and the new register. Reads past the end return -1 (never throw), so decoders
 * can report truncation through their own error path without allocating.
 *
 * `reg` and `valid` are public so that decoders can peek at the next bits inline.
 */
export class BitReader {
  buf: Uint8Array = new Uint8Array(0);
  /** Next byte of `buf` to load into the register. */
  pos = 0;
  /** End (exclusive) of the readable range in `buf`. */
  end = 0;
  /** Buffered bits, right-aligned: the next bit is bit (valid-1). */
  reg = 0;
  /** Number of valid bits in `reg` (0..32). */
  valid = 0;

  constructor(buf?: Uint8Array, start = 0, end = buf ? buf.length : 0) {
    if (buf) this.reset(buf, start, end);
  }

  reset(buf: Uint8Array, start = 0, end = buf.length): void {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.reg = 0;
    this.valid = 0;
  }

  /** Absolute bit position of the next bit to read in `buf`. */
  get bitPosition(): number {
    return this.pos * 8 - this.valid;
  }

  /** Loads up to four more bytes into the (empty) register. False at end of data. */
  refill(): boolean {
    const buf = this.buf;
    const p = this.pos;
    const left = this.end - p;
    if (left >= 4) {
      this.reg = ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
      this.pos = p + 4;
      this.valid = 32;
      return true;
    }
    if (left <= 0) return false;
    let r = 0;
    for (let i = 0; i < left; i++) r = (r << 8) | buf[p + i];
    this.reg = r >>> 0;
    this.pos = p + left;
    this.valid = left * 8;
    return true;
  }

  /** Reads one bit (0 or 1), or -1 at end of data. */
  readBit(): number {
    if (this.valid === 0 && !this.refill()) return -1;
    this.valid--;
    return (this.reg >>> this.valid) & 1;
  }

  /** Reads nbits (1..32) as an unsigned number, or -1 at end of data. */
  readBits(nbits: number): number {
    const valid = this.valid;
    if (nbits <= valid) {
      const rest = valid - nbits;
      this.valid = rest;
      return nbits === 32 ? this.reg >>> 0 : (this.reg >>> rest) & MASK[nbits];
    }
    return this.readBitsSlow(nbits);
  }

  private readBitsSlow(nbits: number): number {
    // valid < nbits <= 32, so valid <= 31 and MASK applies.
    const have = this.valid;
    const hi = have === 0 ? 0 : this.reg & MASK[have];
    const need = nbits - have;
    this.valid = 0;
    if (!this.refill() || this.valid < need) {
      this.valid = 0;
      return -1;
    }
    const rest = this.valid - need;
    this.valid = rest;
    const lo = need === 32 ? this.reg >>> 0 : (this.reg >>> rest) & MASK[need];
    return hi * POW2[need] + lo;
  }

  /** Reads 8 bits, or -1 at end of data. */
  readByte(): number {
    return this.readBits(8);
  }
}
