import { describe, expect, it } from 'vitest';
import { rng } from '@thanos-ts/testutil';
import { BitReader, BitWriter } from './bstream.js';

describe('BitWriter', () => {
  it('writes MSB first and zero-pads the last byte', () => {
    const w = new BitWriter(1);
    w.writeBit(1);
    w.writeBits(0b01, 2);
    w.writeBits(0xabcd, 16);
    expect([...w.bytes()]).toEqual([0b10110101, 0b01111001, 0b10100000]);
    expect(w.freeBits).toBe(5);
  });

  it('writeByte at an unaligned position writes 8 bits like Go writeByte', () => {
    const w = new BitWriter();
    w.writeBits(0b101, 3);
    w.writeByte(0xff);
    expect([...w.bytes()]).toEqual([0b10111111, 0b11100000]);
  });

  it('writes only the low n bits of a wider value, 32 bits included', () => {
    const w = new BitWriter();
    w.writeBits(0xffffffff, 4);
    w.writeBits(0x89abcdef, 32);
    w.writeBits64(0x12345678, 0x9abcdef0, 40);
    expect([...w.bytes()]).toEqual([0xf8, 0x9a, 0xbc, 0xde, 0xf7, 0x89, 0xab, 0xcd, 0xef, 0x00]);
  });

  it('resumes after existing bytes with free bits', () => {
    const w = new BitWriter();
    w.writeBits(0b1, 1);
    const r = BitWriter.resume(w.bytes(), w.freeBits);
    r.writeBits(0b1111111, 7);
    expect([...r.bytes()]).toEqual([0xff]);
  });
});

describe('BitReader', () => {
  it('round-trips random field widths across register refills', () => {
    const rand = rng(42);
    const widths: number[] = [];
    const values: number[] = [];
    const w = new BitWriter(1);
    for (let i = 0; i < 20000; i++) {
      const n = 1 + Math.floor(rand() * 32);
      const v = Math.floor(rand() * 2 ** n);
      widths.push(n);
      values.push(v);
      if (n === 1 && i % 2 === 0) w.writeBit(v);
      else w.writeBits(v, n);
    }
    const r = new BitReader(w.bytes());
    for (let i = 0; i < widths.length; i++) {
      const got = widths[i] === 1 && i % 3 === 0 ? r.readBit() : r.readBits(widths[i]);
      if (got !== values[i]) throw new Error(`field ${i} (${widths[i]} bits): got ${got}, want ${values[i]}`);
    }
  });

  it('returns -1 past the end instead of throwing', () => {
    const r = new BitReader(new Uint8Array([0xa5, 0x5a, 0xff]));
    expect(r.readBits(4)).toBe(0xa);
    expect(r.readBits(16)).toBe(0x55af);
    expect(r.readBits(5)).toBe(-1);
    const r2 = new BitReader(new Uint8Array([0x80]));
    expect(r2.readBit()).toBe(1);
    expect(r2.readBits(7)).toBe(0);
    expect(r2.readBit()).toBe(-1);
    expect(r2.readByte()).toBe(-1);
  });

  it('honours a start/end window and reports its bit position', () => {
    const r = new BitReader(new Uint8Array([1, 2, 3, 4, 5, 6, 7]), 2, 6);
    expect(r.readBits(32)).toBe(0x03040506);
    expect(r.bitPosition).toBe(48);
    expect(r.readBit()).toBe(-1);
  });
});
