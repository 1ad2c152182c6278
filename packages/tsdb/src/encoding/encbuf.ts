// Growable big-endian byte writer with Go encoding/binary varints.
// Integers are JS numbers: every value written by the TSDB formats (timestamps in ms,
// series refs, chunk refs of segment<<32|offset, lengths) fits in 2^53, and doubles
// avoid BigInt's allocation on hot paths. Values outside the safe range are rejected.

const TEXT = new TextEncoder();
const TWO32 = 0x1_0000_0000;

export class EncodingBuffer {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initialCapacity = 1024) {
    this.buf = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.pos;
  }

  reset(): void {
    this.pos = 0;
  }

  /** A view of the bytes written so far (valid until the next write or reset). */
  get(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  private grow(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.pos));
    this.buf = nb;
    this.view = new DataView(nb.buffer);
  }

  putByte(b: number): void {
    this.grow(1);
    this.buf[this.pos++] = b;
  }

  putBytes(b: Uint8Array): void {
    this.grow(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  putBE32(v: number): void {
    this.grow(4);
    this.view.setUint32(this.pos, v >>> 0);
    this.pos += 4;
  }

  putBE64(v: number): void {
    if (v < 0 || !Number.isSafeInteger(v)) throw new RangeError(`putBE64: ${v} is not a safe unsigned integer`);
    this.grow(8);
    this.view.setUint32(this.pos, Math.floor(v / TWO32));
    this.view.setUint32(this.pos + 4, v >>> 0);
    this.pos += 8;
  }

  /** Signed 64-bit big-endian (two's complement), for int64 timestamps. */
  putBE64Signed(v: number): void {
    if (!Number.isSafeInteger(v)) throw new RangeError(`putBE64Signed: ${v} is not a safe integer`);
    this.grow(8);
    this.view.setBigInt64(this.pos, BigInt(v));
    this.pos += 8;
  }

  putFloat64(v: number): void {
    this.grow(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }

  putUvarint(v: number): void {
    if (v < 0 || !Number.isSafeInteger(v)) throw new RangeError(`putUvarint: ${v} is not a safe unsigned integer`);
    this.grow(10);
    this.pos = writeUvarint(this.buf, this.pos, v);
  }

  /** Zigzag varint; |v| must stay below 2^52 so that the zigzag form is exact. */
  putVarint(v: number): void {
    if (!Number.isInteger(v) || Math.abs(v) >= 2 ** 52) throw new RangeError(`putVarint: ${v} is out of range`);
    this.putUvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  putUvarintBytes(b: Uint8Array): void {
    this.putUvarint(b.length);
    this.putBytes(b);
  }

  putUvarintStr(s: string): void {
    this.putUvarintBytes(TEXT.encode(s));
  }

  /** Overwrites 4 bytes at an earlier position (for length fields written after the fact). */
  setBE32(at: number, v: number): void {
    this.view.setUint32(at, v >>> 0);
  }

  /** Appends zero bytes until the length is a multiple of `align`. */
  padTo(align: number): void {
    const rem = this.pos % align;
    if (rem === 0) return;
    const n = align - rem;
    this.grow(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }
}

/** Writes v as a uvarint into buf at pos and returns the new position. buf must have room (10 bytes). */
export function writeUvarint(buf: Uint8Array, pos: number, v: number): number {
  // Above 32 bits (timestamps, chunk refs) groups come off by division until the rest fits
  // 32 bits; from there integer shifts, which cost a fraction of a division each.
  while (v > 0xffffffff) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Number of bytes the uvarint encoding of v takes. */
export function uvarintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  if (v < 0x800000000) return 5;
  if (v < 0x40000000000) return 6;
  if (v < 0x2000000000000) return 7;
  if (v < 0x100000000000000) return 8;
  if (v < 0x8000000000000000) return 9;
  return 10;
}

/** Zigzag-encodes a signed integer the way Go's binary.PutVarint does. */
export function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}
