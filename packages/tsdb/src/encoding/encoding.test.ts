import { describe, expect, it } from 'vitest';
import { crc32c, DecodingBuffer, EncodingBuffer, CorruptionError } from './index.js';
import { uvarintSize, writeUvarint } from './encbuf.js';

describe('crc32c', () => {
  it('matches the Castagnoli check value', () => {
    // Standard check value for "123456789" (RFC 3720 appendix B.4).
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  });
  it('is the same across the 8-byte fast path and the tail', () => {
    const b = new Uint8Array(1000).map((_, i) => (i * 31) & 0xff);
    let slow = ~0 >>> 0;
    for (const x of b) {
      slow ^= x;
      for (let j = 0; j < 8; j++) slow = slow & 1 ? (slow >>> 1) ^ 0x82f63b78 : slow >>> 1;
    }
    expect(crc32c(b)).toBe(~slow >>> 0);
  });
});

describe('varints and fixed ints', () => {
  it('round-trips the Go encoding/binary forms', () => {
    const e = new EncodingBuffer(4);
    const values = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER];
    for (const v of values) e.putUvarint(v);
    for (const v of [0, -1, 1, -64, 64, -(2 ** 40), 2 ** 40, -(2 ** 51)]) e.putVarint(v);
    e.putBE32(0xdeadbeef);
    e.putBE64(2 ** 52 + 3);
    e.putBE64Signed(-1234567890123);
    e.putUvarintStr('héllo');
    const d = new DecodingBuffer(e.get());
    for (const v of values) expect(d.uvarint()).toBe(v);
    for (const v of [0, -1, 1, -64, 64, -(2 ** 40), 2 ** 40, -(2 ** 51)]) expect(d.varint()).toBe(v);
    expect(d.be32()).toBe(0xdeadbeef);
    expect(d.be64()).toBe(2 ** 52 + 3);
    expect(d.be64Signed()).toBe(-1234567890123);
    expect(d.uvarintStr()).toBe('héllo');
    expect(d.remaining).toBe(0);
  });
  it('encodes like Go: 300 is ac 02, -1 is 01', () => {
    const e = new EncodingBuffer();
    e.putUvarint(300);
    e.putVarint(-1);
    expect([...e.get()]).toEqual([0xac, 0x02, 0x01]);
  });
  it('reports truncation with file and offset', () => {
    const d = new DecodingBuffer(new Uint8Array([0x80, 0x80]), 'index', 100);
    expect(() => d.uvarint()).toThrow(CorruptionError);
    expect(() => new DecodingBuffer(new Uint8Array(3), 'index', 40).be32()).toThrow('index: offset 40: unexpected end of data');
  });
});

describe('writeUvarint and uvarintSize', () => {
  it('agree with the 7-bit groups of the value at every length (hashes reach 2^64)', () => {
    const values = [0, 1, 127, 128, 255, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 1.7e12, 2 ** 53 - 1];
    for (let bits = 1; bits <= 53; bits++) values.push(2 ** bits - 1, 2 ** bits, 2 ** (bits - 1) + 12345 * bits);
    values.push(2 ** 56 + 2 ** 20, 2 ** 60, 2 ** 63, 2 ** 64 - 2 ** 11);
    const buf = new Uint8Array(12);
    for (const v of values) {
      // The reference: groups by division, the low group first, high bit on all but the last.
      const want: number[] = [];
      let x = v;
      while (x >= 128) {
        want.push((x % 128) | 0x80);
        x = Math.floor(x / 128);
      }
      want.push(x);
      const end = writeUvarint(buf, 1, v);
      expect([...buf.subarray(1, end)], `${v}`).toEqual(want);
      expect(uvarintSize(v), `${v}`).toBe(want.length);
      if (v <= Number.MAX_SAFE_INTEGER) expect(new DecodingBuffer(buf.subarray(1, end), 'test').uvarint(), `${v}`).toBe(v);
    }
  });
});
