import { describe, expect, it } from 'vitest';
import { formatBytes, parseBytes } from './bytes.js';

describe('parseBytes', () => {
  it('reads Thanos byte sizes as powers of 1024', () => {
    expect(parseBytes('250MB')).toBe(250 * 1024 * 1024);
    expect(parseBytes('2GB')).toBe(2 * 1024 ** 3);
    expect(parseBytes('512KiB')).toBe(512 * 1024);
    expect(parseBytes('1GB512MB')).toBe(1024 ** 3 + 512 * 1024 ** 2);
    expect(parseBytes('0')).toBe(0);
    expect(parseBytes('100B')).toBe(100);
  });
  it('rejects what is not a size, naming it', () => {
    expect(() => parseBytes('250')).toThrow(/invalid byte size "250"/);
    expect(() => parseBytes('12XB')).toThrow(/unknown unit "XB"/);
    expect(() => parseBytes('')).toThrow(/empty/);
    expect(() => parseBytes('-1MB')).toThrow(/invalid byte size/);
  });
  it('formats defaults as Thanos prints them', () => {
    expect(formatBytes(250 * 1024 * 1024)).toBe('250MB');
    expect(formatBytes(2 * 1024 ** 3)).toBe('2GB');
    expect(formatBytes(1500)).toBe('1500B');
  });
});
