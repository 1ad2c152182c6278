import { describe, expect, it } from 'vitest';
import {
  decodeGoBytes,
  formatDurationMs,
  formatFloatF,
  formatFloatFixed,
  formatFloatG,
  isValidUTF8,
  parseDurationNs,
  parseFloatGo,
  parseIntGo0,
  quoteGo,
  quoteRuneGo,
  secondsToDurationMs,
  unquoteGo,
} from './go-strconv.js';

describe('Go number syntax', () => {
  it('ParseInt with base 0', () => {
    expect(parseIntGo0('10')).toBe(10);
    expect(parseIntGo0('010')).toBe(8);
    expect(parseIntGo0('0x1F')).toBe(31);
    expect(parseIntGo0('0x_1F')).toBe(31);
    expect(parseIntGo0('1_000')).toBe(1000);
    expect(parseIntGo0('09')).toBeNull();
    expect(parseIntGo0('1.5')).toBeNull();
    expect(parseIntGo0('1__0')).toBeNull();
    expect(parseIntGo0('9223372036854775807')).toBe(9223372036854775807);
    expect(parseIntGo0('9223372036854775808')).toBeNull();
  });
  it('ParseFloat', () => {
    expect(parseFloatGo('1e3')).toBe(1000);
    expect(parseFloatGo('.5')).toBe(0.5);
    expect(parseFloatGo('5.')).toBe(5);
    expect(parseFloatGo('Inf')).toBe(Infinity);
    expect(parseFloatGo('nan')).toBeNaN();
    expect(parseFloatGo('1_0.5')).toBe(10.5);
    expect(() => parseFloatGo('1e400')).toThrow('strconv.ParseFloat: parsing "1e400": value out of range');
    expect(() => parseFloatGo('0x1F_')).toThrow('strconv.ParseFloat: parsing "0x1F_": invalid syntax');
    expect(() => parseFloatGo('0x10')).toThrow('invalid syntax');
    expect(parseFloatGo('1e-400')).toBe(0);
  });
});

describe('Go quoting', () => {
  it('quotes like strconv.Quote', () => {
    expect(quoteGo('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(quoteGo('\n\t\x00\x7f')).toBe('"\\n\\t\\x00\\x7f"');
    expect(quoteGo('é😀')).toBe('"é😀"');
    expect(quoteGo('\u00ad')).toBe('"\\u00ad"');
    expect(quoteRuneGo(0x27)).toBe("'\\''");
    expect(quoteRuneGo(0x22)).toBe("'\"'");
  });
  it('keeps raw bytes through unquote and quote', () => {
    const s = unquoteGo('"a\\xc5z"');
    expect(s.length).toBe(3);
    expect(isValidUTF8(s)).toBe(false);
    expect(quoteGo(s)).toBe('"a\\xc5z"');
    expect(unquoteGo('"\\xc3\\xa9"')).toBe('é');
    expect(unquoteGo("'a\"b'")).toBe('a"b');
    expect(unquoteGo('`a\\nb`')).toBe('a\\nb');
    expect(unquoteGo('"\\101"')).toBe('A');
    expect(isValidUTF8('é😀')).toBe(true);
    expect(decodeGoBytes([0xe2, 0x82])).toBe('\udce2\udc82');
    expect(decodeGoBytes([0xed, 0xa0, 0x80])).toBe('\udced\udca0\udc80'); // no encoded surrogates
  });
});

describe('Go float formatting', () => {
  it("FormatFloat 'f' -1", () => {
    expect(formatFloatF(0.1)).toBe('0.1');
    expect(formatFloatF(1e21)).toBe('1000000000000000000000');
    expect(formatFloatF(1.5e-7)).toBe('0.00000015');
    expect(formatFloatF(-0)).toBe('-0');
    expect(formatFloatF(-Infinity)).toBe('-Inf');
  });
  it('%g / %v', () => {
    expect(formatFloatG(100000)).toBe('100000');
    expect(formatFloatG(1000000)).toBe('1e+06');
    expect(formatFloatG(0.0001)).toBe('0.0001');
    expect(formatFloatG(0.00001)).toBe('1e-05');
    expect(formatFloatG(1.5e300)).toBe('1.5e+300');
    expect(formatFloatG(NaN)).toBe('NaN');
  });
  it('%.Nf', () => {
    expect(formatFloatFixed(1.5, 3)).toBe('1.500');
    expect(formatFloatFixed(-0.0005, 3)).toBe('-0.001');
    expect(formatFloatFixed(0.0078125, 6)).toBe('0.007812'); // exact tie: half to even
    expect(formatFloatFixed(2 ** 63, 6)).toBe('9223372036854775808.000000');
  });
});

describe('durations', () => {
  it('parses like model.ParseDuration', () => {
    expect(parseDurationNs('1h30m')).toBe(5_400_000_000_000n);
    expect(parseDurationNs('0')).toBe(0n);
    expect(parseDurationNs('10s53ms')).toBe(10_053_000_000n);
    expect(() => parseDurationNs('5hs')).toThrow('unknown unit "hs" in duration "5hs"');
    expect(() => parseDurationNs('1m1h')).toThrow('not a valid duration string: "1m1h"');
    expect(() => parseDurationNs('300y')).toThrow('duration out of range');
  });
  it('formats like model.Duration.String', () => {
    expect(formatDurationMs(0)).toBe('0s');
    expect(formatDurationMs(5_400_000)).toBe('1h30m');
    expect(formatDurationMs(90 * 86_400_000)).toBe('90d');
    expect(formatDurationMs(14 * 86_400_000)).toBe('2w');
    expect(formatDurationMs(365 * 86_400_000)).toBe('1y');
    expect(formatDurationMs(1500)).toBe('1s500ms');
  });
  it('converts seconds like Prometheus', () => {
    expect(secondsToDurationMs(0.053)).toBe(53);
    expect(secondsToDurationMs(1.0005)).toBe(1000);
    expect(secondsToDurationMs(-90)).toBe(-90_000);
  });
});
