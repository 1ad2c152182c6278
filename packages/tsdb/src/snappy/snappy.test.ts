import { describe, expect, it } from 'vitest';
import { snappyCompress, snappyDecodedLength, snappyDecompress, SnappyError } from './snappy.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

describe('snappy block format', () => {
  // Hand-assembled from the format description; each exercises one element kind.
  const vectors: [string, string, string][] = [
    ['empty', '00', ''],
    ['one literal', '01 00 61', 'a'],
    // literal "abc", then copy-1 (len 9, offset 3) overlapping its own output
    ['copy with 1-byte offset, overlapping', '0c 08 616263 15 03', 'abcabcabcabc'],
    // literal "xy", copy-2 (len 64 → tag (63<<2)|2 = fe, offset 2)
    ['copy with 2-byte offset', '42 04 7879 fe 0200', 'xy'.repeat(33)],
    // literal "0123", copy-4 (len 4 → tag (3<<2)|3 = 0f, offset 4)
    ['copy with 4-byte offset', '08 0c 30313233 0f 04000000', '01230123'],
    // a 61-byte literal: tag 60<<2 = f0, then length-1 = 60 in one byte
    ['literal with 1-byte length', '3d f0 3c' + '7a'.repeat(61), 'z'.repeat(61)],
    // copy-1 with offset ≥ 256: "ab" + 254×"c" literal... offset 256 needs bits 8..10 in the tag
    ['copy-1 with 11-bit offset', '84 02 f0 ff' + '61'.repeat(256) + '21 00', 'a'.repeat(260)],
  ];
  for (const [name, enc, dec] of vectors) {
    it(`decodes: ${name}`, () => {
      expect(text(snappyDecompress(hex(enc)))).toBe(dec);
      expect(snappyDecodedLength(hex(enc))).toBe(dec.length);
    });
  }

  it('encodes like Go for small inputs', () => {
    // Go: snappy.Encode(nil, []byte("")) = 00; ("a") = 01 00 61; short inputs are one literal.
    expect(Buffer.from(snappyCompress(new Uint8Array())).toString('hex')).toBe('00');
    expect(Buffer.from(snappyCompress(Buffer.from('a'))).toString('hex')).toBe('010061');
    expect(Buffer.from(snappyCompress(Buffer.from('hello world'))).toString('hex')).toBe('0b2868656c6c6f20776f726c64');
  });

  it('round-trips random, repetitive and large inputs', () => {
    let seed = 7;
    const rand = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) / (1 << 24);
    const inputs: Uint8Array[] = [];
    for (const n of [1, 15, 16, 17, 100, 4095, 65535, 65536, 65537, 200_000]) {
      const random = new Uint8Array(n).map(() => (rand() * 256) | 0);
      const lowEntropy = new Uint8Array(n).map(() => (rand() * 4) | 0);
      const runs = new Uint8Array(n).map((_, i) => ((i / 1000) | 0) & 0xff);
      const text = Buffer.from('{__name__="up", job="prometheus", instance="127.0.0.1:9090"} '.repeat(Math.ceil(n / 60))).subarray(0, n);
      inputs.push(random, lowEntropy, runs, text);
    }
    for (const src of inputs) {
      const enc = snappyCompress(src);
      expect(enc.length).toBeLessThanOrEqual(32 + src.length + src.length / 6);
      expect(Buffer.from(snappyDecompress(enc)).equals(Buffer.from(src))).toBe(true);
    }
    const rep = Buffer.from('abcdefgh'.repeat(10_000));
    expect(snappyCompress(rep).length).toBeLessThan(rep.length / 15);
  });

  it('rejects corrupt input with a clear error', () => {
    const bad: [string, RegExp][] = [
      ['', /bad length preamble/],
      ['ff', /bad length preamble/],
      ['05 10 6162', /literal overruns input/],
      ['04 0c 61626364 09', /copy overruns input/],
      ['08 0c 30313233 0f 05000000', /copy offset 5 out of range/],
      ['03 00 61', /decoded 1 bytes, preamble says 3/],
      ['01 04 6162', /literal overruns output/],
      ['02 00 61 01 00', /copy offset 0 out of range/],
    ];
    for (const [enc, msg] of bad) {
      expect(() => snappyDecompress(hex(enc)), enc).toThrow(SnappyError);
      expect(() => snappyDecompress(hex(enc)), enc).toThrow(msg);
    }
    expect(() => snappyDecompress(hex('80 80 80 80 01'), 1 << 20)).toThrow(/exceeds the limit of 1048576 bytes/);
  });
});
