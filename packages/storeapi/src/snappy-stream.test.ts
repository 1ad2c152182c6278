import { describe, expect, it } from 'vitest';
import { SnappyError } from './snappy.js';
import { SnappyLimitError, snappyMaskedCRC, snappyStreamDecode, snappyStreamEncode } from './snappy-stream.js';

const MAGIC = [0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59];

// A stream written byte by byte from framing_format.txt, as golang/snappy's Reader
// accepts it. Checksums computed apart from our CRC code (a bitwise CRC-32C, masked).
//   abcdabcdabcdabcd: crc32c 0xf36a0939, masked 0xb4f6d1ac
//   xyz:              crc32c 0x25236885, masked 0x738d351e
const FIXTURE = Uint8Array.from([
  ...MAGIC,
  // compressed chunk: 4-byte CRC + 9-byte block = 13
  0x00, 0x0d, 0x00, 0x00,
  0xac, 0xd1, 0xf6, 0xb4,
  0x10, // uvarint decoded length 16
  0x0c, 0x61, 0x62, 0x63, 0x64, // literal of 4: "abcd"
  0x2e, 0x04, 0x00, // copy, 2-byte offset: length 12, offset 4
  // padding chunk, 2 bytes
  0xfe, 0x02, 0x00, 0x00, 0x00, 0x00,
  // the stream identifier again (allowed anywhere)
  ...MAGIC,
  // uncompressed chunk: CRC + "xyz"
  0x01, 0x07, 0x00, 0x00,
  0x1e, 0x35, 0x8d, 0x73,
  0x78, 0x79, 0x7a,
  // reserved skippable chunk 0x80 with one byte
  0x80, 0x01, 0x00, 0x00, 0x2a,
]);

describe('snappy framing format', () => {
  it('decodes a stream written by hand from the format description', () => {
    expect(Buffer.from(snappyStreamDecode(FIXTURE)).toString()).toBe('abcdabcdabcdabcdxyz');
  });

  it('masks CRC-32C as the format says', () => {
    expect(snappyMaskedCRC(Buffer.from('abcdabcdabcdabcd'))).toBe(0xb4f6d1ac);
    expect(snappyMaskedCRC(Buffer.from('xyz'))).toBe(0x738d351e);
  });

  it('writes the stream identifier, then checksummed chunks of at most 64 KiB', () => {
    const src = Buffer.alloc(150_000);
    for (let i = 0; i < src.length; i++) src[i] = (i * 7) % 251 < 200 ? 0x41 : i & 0xff;
    const enc = snappyStreamEncode(src);
    expect([...enc.subarray(0, 10)]).toEqual(MAGIC);
    let p = 10;
    const sizes: number[] = [];
    while (p < enc.length) {
      const type = enc[p];
      const len = enc[p + 1] | (enc[p + 2] << 8) | (enc[p + 3] << 16);
      expect(type === 0x00 || type === 0x01).toBe(true);
      const body = enc.subarray(p + 8, p + 4 + len);
      const data = type === 0x00 ? snappyStreamDecode(Buffer.concat([Buffer.from(MAGIC), enc.subarray(p, p + 4 + len)])) : body;
      expect(enc.readUInt32LE(p + 4)).toBe(snappyMaskedCRC(data));
      sizes.push(data.length);
      p += 4 + len;
    }
    expect(sizes).toEqual([65536, 65536, 150_000 - 131072]);
    expect(enc.length).toBeLessThan(src.length / 2);
    expect(Buffer.from(snappyStreamDecode(enc)).equals(src)).toBe(true);
  });

  it('stores incompressible data in uncompressed chunks', () => {
    const src = Buffer.alloc(1000);
    let x = 12345;
    for (let i = 0; i < src.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      src[i] = x >>> 24;
    }
    const enc = snappyStreamEncode(src);
    expect(enc[10]).toBe(0x01);
    expect(Buffer.from(snappyStreamDecode(enc)).equals(src)).toBe(true);
  });

  it('round-trips empty and small inputs', () => {
    for (const s of ['', 'a', 'hello hello hello hello hello hello']) {
      expect(Buffer.from(snappyStreamDecode(snappyStreamEncode(Buffer.from(s)))).toString()).toBe(s);
    }
    expect(snappyStreamDecode(new Uint8Array(0)).length).toBe(0);
  });

  it('rejects corrupt streams', () => {
    const bad = (b: Uint8Array, msg: RegExp): void => {
      expect(() => snappyStreamDecode(b)).toThrow(SnappyError);
      expect(() => snappyStreamDecode(b)).toThrow(msg);
    };
    bad(FIXTURE.subarray(10), /missing stream identifier/);
    const crc = FIXTURE.slice();
    crc[14] ^= 1;
    bad(crc, /checksum mismatch/);
    bad(Uint8Array.from([...MAGIC, 0x02, 0x00, 0x00, 0x00]), /reserved unskippable chunk type 0x02/);
    bad(FIXTURE.subarray(0, FIXTURE.length - 1), /overruns/);
  });

  it('stops at the size limit', () => {
    const enc = snappyStreamEncode(Buffer.alloc(10_000, 1));
    expect(() => snappyStreamDecode(enc, 9_999)).toThrow(SnappyLimitError);
    expect(snappyStreamDecode(enc, 10_000).length).toBe(10_000);
  });
});
