// Big-endian byte reader with Go encoding/binary varints. Every read is bounds-checked
// and throws CorruptionError naming the file and absolute offset, so a truncated or
// garbled file never yields a wrong answer. See encbuf.ts for why numbers, not BigInt.

import { CorruptionError } from './errors.js';

const TEXT = new TextDecoder('utf-8', { fatal: false });
const TWO32 = 0x1_0000_0000;

export class DecodingBuffer {
  /** Current read position, relative to the start of `buf`. */
  pos = 0;
  // Made on first fixed-width read: most decoders read only varints, and a DataView per
  // small record is a measurable share of decoding.
  private dv: DataView | null = null;

  /**
   * @param buf the bytes to read
   * @param file name used in error messages
   * @param base absolute file offset of buf[0], used in error messages
   */
  constructor(
    readonly buf: Uint8Array,
    readonly file = '<buffer>',
    readonly base = 0,
  ) {
  }

  private get view(): DataView {
    return (this.dv ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  corrupt(reason: string, at = this.pos): CorruptionError {
    return new CorruptionError(this.file, this.base + at, reason);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw this.corrupt(`unexpected end of data: need ${n} bytes, have ${this.buf.length - this.pos}`);
    }
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  byte(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  be32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  be64(): number {
    this.need(8);
    const hi = this.view.getUint32(this.pos);
    const lo = this.view.getUint32(this.pos + 4);
    if (hi >= 0x200000) throw this.corrupt(`64-bit value ${hi}:${lo} exceeds 2^53`);
    this.pos += 8;
    return hi * TWO32 + lo;
  }

  be64Signed(): number {
    this.need(8);
    const v = this.view.getBigInt64(this.pos);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw this.corrupt(`64-bit value ${v} exceeds 2^53`);
    }
    this.pos += 8;
    return Number(v);
  }

  float64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  uvarint(): number {
    const buf = this.buf;
    let pos = this.pos;
    // fast path: one byte
    if (pos < buf.length && buf[pos] < 0x80) {
      this.pos = pos + 1;
      return buf[pos];
    }
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) throw this.corrupt('unexpected end of data in varint');
      const b = buf[pos++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (v > Number.MAX_SAFE_INTEGER) throw this.corrupt('varint exceeds 2^53', this.pos);
        this.pos = pos;
        return v;
      }
      mul *= 128;
    }
    throw this.corrupt('varint overflows 64 bits');
  }

  varint(): number {
    const u = this.uvarint();
    // Zigzag decode without 32-bit bit operations.
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  uvarintBytes(): Uint8Array {
    return this.bytes(this.uvarint());
  }

  uvarintStr(): string {
    return TEXT.decode(this.uvarintBytes());
  }
}

/** Decodes a uvarint at buf[pos]; returns [value, newPos]. For tight loops outside a DecodingBuffer. */
export function readUvarint(buf: Uint8Array, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10 && pos < buf.length; i++) {
    const b = buf[pos++];
    v += (b & 0x7f) * mul;
    if (b < 0x80) return [v, pos];
    mul *= 128;
  }
  return [-1, -1];
}
