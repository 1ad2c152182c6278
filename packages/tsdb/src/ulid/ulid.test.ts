import { describe, expect, it } from 'vitest';
import { isValidUlid, ulid, ulidTime } from './index.js';

describe('ulid', () => {
  it('encodes like oklog/ulid', () => {
    // ulid.MustNew(5, nil) in Thanos' meta_test.go
    expect(ulid(5, new Uint8Array(10))).toBe('00000000050000000000000000');
    expect(ulid(0, new Uint8Array(10).fill(0xff))).toBe('0000000000ZZZZZZZZZZZZZZZZ');
    expect(ulid(2 ** 48 - 1, new Uint8Array(10))).toBe('7ZZZZZZZZZ0000000000000000');
    // oklog README example: time 1469918176385 -> 01ARYZ6S41
    expect(ulid(1469918176385, new Uint8Array(10)).slice(0, 10)).toBe('01ARYZ6S41');
    const r = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // 5-bit groups of 0x0102030405 and 0x060708090A
    expect(ulid(0, r).slice(10)).toBe('041061050R3GG28A');
  });

  it('validates and extracts the time', () => {
    const id = ulid(1_700_000_000_123);
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(isValidUlid(id)).toBe(true);
    expect(isValidUlid(id.toLowerCase())).toBe(true);
    expect(ulidTime(id)).toBe(1_700_000_000_123);
    expect(isValidUlid('01M85F1GJ14QHZT63Z1F48BQYF')).toBe(true);
    expect(isValidUlid('01M85F1GJ14QHZT63Z1F48BQY')).toBe(false); // 25 chars
    expect(isValidUlid('01M85F1GJ14QHZT63Z1F48BQYU')).toBe(false); // U is not Crockford
    expect(isValidUlid('81M85F1GJ14QHZT63Z1F48BQYF')).toBe(false); // overflows 128 bits
    expect(() => ulidTime('nope')).toThrow(RangeError);
    expect(() => ulid(-1)).toThrow(RangeError);
    expect(() => ulid(2 ** 48)).toThrow(RangeError);
    expect(() => ulid(1, new Uint8Array(3))).toThrow(RangeError);
  });

  it('is random across calls and monotonic within a millisecond', () => {
    const ids = Array.from({ length: 1000 }, () => ulid(1_000_000));
    expect(new Set(ids).size).toBe(1000);
    expect([...ids].sort()).toEqual(ids);
    const a = ulid(2_000_000);
    const b = ulid(2_000_001);
    expect(a < b).toBe(true);
    expect(a.slice(10)).not.toBe(ulid(3_000_000).slice(10));
  });
});
