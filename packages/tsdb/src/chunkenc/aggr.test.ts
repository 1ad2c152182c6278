import { describe, expect, it } from 'vitest';
import { rng } from '@thanos-ts/testutil';
import { isCorruption } from '../encoding/index.js';
import {
  AGGR_TYPES,
  AggrChunk,
  aggrChunkIterator,
  AggrType,
  aggrTypeName,
  CHUNK_ENC_AGGR,
  decodeAggrChunk,
  EncFloatHistogram,
  EncXOR,
  encodeAggrChunk,
  getAggrPart,
  UnsupportedChunkEncodingError,
  ValueType,
  XorChunk,
  XorIterator,
  type AggrPart,
} from './index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

function xor(samples: [number, number][]): XorChunk {
  const c = new XorChunk();
  const app = c.appender();
  for (const [t, v] of samples) app.append(t, v);
  return c;
}

function drain(it: XorIterator): [number, number][] {
  const out: [number, number][] = [];
  while (it.next() !== ValueType.None) out.push([it.atT(), it.atF()]);
  expect(it.err()).toBeNull();
  return out;
}

// XOR chunk of the single sample (t=1000, v=1) by the Prometheus format: sample count
// 0x0001, t0 as zigzag varint (2000 = d0 0f), then the 64 bits of 1.0.
const ONE_SAMPLE_XOR = '0001 d00f 3ff0000000000000';
// (t=1000, v=-2): -2.0 is c000000000000000.
const MINUS_TWO_XOR = '0001 d00f c000000000000000';

describe('aggregate chunk encoding', () => {
  it('matches a hand-assembled byte vector (count, min present; sum, max, counter absent)', () => {
    const count = xor([[1000, 1]]);
    const min = xor([[1000, -2]]);
    expect(hex(count.bytes())).toBe(ONE_SAMPLE_XOR.replace(/ /g, ''));
    expect(hex(min.bytes())).toBe(MINUS_TWO_XOR.replace(/ /g, ''));
    const want = bytes(`
      0c 01 ${ONE_SAMPLE_XOR}
      00
      0c 01 ${MINUS_TWO_XOR}
      00
      00`);
    const got = encodeAggrChunk([count, null, min, null, null]);
    expect(hex(got)).toBe(hex(want));

    const parts = decodeAggrChunk(want);
    expect(parts.map((p) => p?.encoding ?? null)).toEqual([EncXOR, null, EncXOR, null, null]);
    expect(hex(parts[0]!.data)).toBe(hex(count.bytes()));
    expect(hex(parts[2]!.data)).toBe(hex(min.bytes()));
    expect(drain(aggrChunkIterator(want, AggrType.MIN)!)).toEqual([[1000, -2]]);
    // The absent last aggregate: Thanos' Get() says "invalid size" here; we say absent.
    expect(aggrChunkIterator(want, AggrType.COUNTER)).toBeNull();
    expect(getAggrPart(want, AggrType.SUM)).toBeNull();
  });

  it('writes sub-chunk lengths of 128 bytes and more as multi-byte uvarints, excluding the encoding byte', () => {
    const samples: [number, number][] = Array.from({ length: 100 }, (_, i) => [i * 15_000 + (i % 3), Math.sin(i) * 1e6]);
    const c = xor(samples);
    const n = c.bytes().length;
    expect(n).toBeGreaterThanOrEqual(128);
    const enc = encodeAggrChunk([null, null, null, null, c]);
    expect([...enc.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
    expect(enc[4]).toBe((n & 0x7f) | 0x80);
    expect(enc[5]).toBe(n >>> 7);
    expect(enc[6]).toBe(EncXOR);
    expect(enc.length).toBe(4 + 2 + 1 + n);
    expect(drain(aggrChunkIterator(enc, AggrType.COUNTER)!)).toEqual(samples);
  });

  it('decodes zero-copy: parts are views into the input', () => {
    const enc = encodeAggrChunk(AGGR_TYPES.map((t) => xor([[t * 10, t]])));
    const parts = decodeAggrChunk(enc);
    for (const p of parts) {
      expect(p!.data.buffer).toBe(enc.buffer);
    }
    enc[parts[4]!.data.byteOffset + 5] ^= 0xff; // mutate the input: the part sees it
    expect(parts[4]!.data[5]).toBe(enc[parts[4]!.data.byteOffset + 5]);
  });

  it('round-trips random combinations of present and absent aggregates', () => {
    const r = rng(42);
    for (let round = 0; round < 100; round++) {
      const input: (XorChunk | null)[] = AGGR_TYPES.map(() => {
        if (r() < 0.3) return null;
        const n = 1 + Math.floor(r() * 200);
        const s: [number, number][] = [];
        let t = Math.floor(r() * 1e12);
        for (let i = 0; i < n; i++) {
          t += Math.floor(r() * 60_000);
          s.push([t, Math.round(r() * 1e6) / 8]);
        }
        return xor(s);
      });
      const enc = encodeAggrChunk(input);
      const parts = decodeAggrChunk(enc);
      for (let i = 0; i < 5; i++) {
        if (input[i] === null) {
          expect(parts[i]).toBeNull();
          expect(aggrChunkIterator(enc, i as AggrType)).toBeNull();
        } else {
          expect(parts[i]!.encoding).toBe(EncXOR);
          expect(hex(parts[i]!.data)).toBe(hex(input[i]!.bytes()));
          expect(drain(aggrChunkIterator(enc, i as AggrType)!)).toEqual(drain(input[i]!.iterator()));
        }
      }
      // Encoding the decoded parts again is the identity.
      expect(hex(encodeAggrChunk(parts))).toBe(hex(enc));
    }
  });

  it('passes other sub-encodings through but refuses to iterate them', () => {
    const fh: AggrPart = { encoding: EncFloatHistogram, data: bytes('0001 aabbcc') };
    const enc = encodeAggrChunk([xor([[1, 1]]), fh, null, null, fh]);
    const parts = decodeAggrChunk(enc);
    expect(parts[1]).toEqual({ encoding: EncFloatHistogram, data: fh.data });
    expect(() => aggrChunkIterator(enc, AggrType.SUM)).toThrow(UnsupportedChunkEncodingError);
    expect(() => new AggrChunk(enc).xorChunk(AggrType.COUNTER)).toThrow(UnsupportedChunkEncodingError);
    expect(drain(aggrChunkIterator(enc, AggrType.COUNT)!)).toEqual([[1, 1]]);
  });

  it('rejects bad input to the encoder', () => {
    const c = xor([[1, 1]]);
    expect(() => encodeAggrChunk([c, c, c, c])).toThrow(/expected 5 parts, got 4/);
    expect(() => encodeAggrChunk([c, c, c, c, c, c])).toThrow(RangeError);
    expect(() => encodeAggrChunk([{ encoding: 0, data: c.bytes() }, null, null, null, null])).toThrow(/count: invalid sub-chunk encoding 0/);
    expect(() => encodeAggrChunk([null, { encoding: CHUNK_ENC_AGGR, data: c.bytes() }, null, null, null])).toThrow(/sum: invalid/);
    expect(() => encodeAggrChunk([null, null, { encoding: EncXOR, data: new Uint8Array(0) }, null, null])).toThrow(/min: empty sub-chunk/);
  });

  it('reports malformed data as corruption, naming the aggregate', () => {
    const good = encodeAggrChunk([xor([[1, 1]]), xor([[1, 2]]), null, null, xor([[1, 3]])]);
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(0), /count: bad or truncated length/],
      [good.subarray(0, 10), /count: sub-chunk of 11 bytes needs 12 bytes, only 9 available/],
      [good.subarray(0, 26), /min: bad or truncated length/], // entries missing
      [good.subarray(0, good.length - 1), /counter: sub-chunk/],
      [bytes('ffffffffffffffffffff01'), /count: bad or truncated length/],
      [bytes('ffffffff7f'), /count: sub-chunk of 34359738367 bytes/],
    ];
    for (const [data, re] of cases) {
      let err: unknown = null;
      try {
        decodeAggrChunk(data);
      } catch (e) {
        err = e;
      }
      expect(isCorruption(err), String(err)).toBe(true);
      expect((err as Error).message).toMatch(re);
    }
    // Lookups of an earlier aggregate do not need the rest.
    expect(getAggrPart(good.subarray(0, 14), AggrType.COUNT)).not.toBeNull();
    expect(() => getAggrPart(good, 5 as AggrType)).toThrow(/invalid aggregate type 5/);
  });
});

describe('AggrChunk', () => {
  it('is a Chunk with encoding 0xFF whose sample count is its count aggregate', () => {
    const c = AggrChunk.encode([xor([[10, 3], [20, 4]]), xor([[10, 30], [20, 40]]), null, null, xor([[1, 1], [10, 2], [20, 3], [20, 3]])]);
    expect(c.encoding).toBe(0xff);
    expect(c.numSamples()).toBe(2);
    expect(c.xorChunk(AggrType.COUNTER)!.numSamples()).toBe(4);
    expect(c.xorChunk(AggrType.MIN)).toBeNull();
    expect(c.part(AggrType.SUM)!.encoding).toBe(EncXOR);
    const it = c.iterator();
    expect(it.next()).toBe(ValueType.None);
    expect(it.err()?.message).toMatch(/aggrChunkIterator/);
    expect(new AggrChunk(encodeAggrChunk([null, null, null, null, null])).numSamples()).toBe(0);
    expect(new AggrChunk(new Uint8Array([0x80])).numSamples()).toBe(0);
  });

  it('reuses the iterator it is given', () => {
    const enc = encodeAggrChunk([xor([[1, 1]]), xor([[2, 2]]), null, null, null]);
    const reuse = new XorIterator();
    expect(aggrChunkIterator(enc, AggrType.SUM, reuse)).toBe(reuse);
    expect(drain(reuse)).toEqual([[2, 2]]);
  });

  it('names the aggregates as Thanos does', () => {
    expect(AGGR_TYPES.map(aggrTypeName)).toEqual(['count', 'sum', 'min', 'max', 'counter']);
    expect(aggrTypeName(7)).toBe('<unknown>');
  });
});
