// XOR ("Gorilla") float chunk, bit-exact with Prometheus tsdb/chunkenc/xor.go.
//
//   bytes 0-1  num_samples uint16 BE, rewritten after every append
//   sample 0   t0 varint (zigzag), v0 as 64 raw bits
//   sample 1   t1-t0 uvarint (of the uint64 difference), v1 as <xor>
//   sample n   <dod> then <xor>, bit-packed MSB first
//
//   <dod>  '0' | '10' 14 bits | '110' 17 bits | '1110' 20 bits | '1111' 64 bits
//          (n-bit bucket holds -(2^(n-1)-1) .. 2^(n-1), two's complement payload)
//   <xor>  '0' (same value)
//        | '10' + (64-leading-trailing) bits          (reuse previous leading/trailing)
//        | '11' + leading:5 + sigbits:6 + sigbits bits (sigbits 64 is written as 0;
//                                                       leading is clamped to 31)
//
// The 64-bit value XOR is done on two uint32 halves; floats are converted through a
// shared Float64Array, so NaN payloads (the stale marker) round-trip bit-exactly.

import { CorruptionError } from '../encoding/errors.js';
import { BitReader, BitWriter } from './bstream.js';
import { EncXOR, ValueType } from './chunk.js';
import type { Chunk, ChunkIterator, FloatSampleArrays } from './chunk.js';
import { F64, HI, LO, U32 } from './float-bits.js';
import { joinInt64, PARTS, readUvarint64, readVarint64, splitInt64, writeUvarint64, writeVarint64 } from './int64.js';

const HEADER_SIZE = 2;
const MAX_SAMPLES = 0xffff;
/** Marks "no leading/trailing state yet" in a fresh appender, as in xor.go. */
const UNSET = 0xff;

/** An XOR-encoded float chunk: either being appended to or wrapping read-only bytes. */
export class XorChunk implements Chunk {
  readonly encoding = EncXOR;
  /** Set while the chunk owns a growable buffer. */
  private w: BitWriter | null = null;
  /** Read-only bytes when created from existing data. */
  private data: Uint8Array;

  /**
   * A new, empty chunk, or (with `data`) a read-only view of encoded chunk bytes
   * (not copied). Appending to such a chunk copies the bytes first.
   */
  constructor(data?: Uint8Array) {
    if (data !== undefined) {
      if (data.length < HEADER_SIZE) {
        throw new CorruptionError('xor chunk', 0, `chunk of ${data.length} bytes is shorter than its 2-byte header`);
      }
      this.data = data;
      return;
    }
    const w = new BitWriter(128);
    w.writeBits(0, 16); // sample count
    this.w = w;
    this.data = w.bytes();
  }

  /** Wraps encoded chunk bytes without copying. */
  static fromBytes(data: Uint8Array): XorChunk {
    return new XorChunk(data);
  }

  /** The encoded bytes; for a chunk being appended to, valid until the next append. */
  bytes(): Uint8Array {
    return this.w !== null ? this.w.bytes() : this.data;
  }

  numSamples(): number {
    const b = this.w !== null ? this.w.raw() : this.data;
    return (b[0] << 8) | b[1];
  }

  iterator(reuse?: ChunkIterator): XorIterator {
    if (reuse instanceof XorIterator) {
      reuse.reset(this.bytes());
      return reuse;
    }
    return new XorIterator(this.bytes());
  }

  /**
   * An appender continuing after the existing samples. For a chunk created from
   * bytes, the samples are decoded once to recover the encoder state (and the bytes
   * are copied into a buffer this chunk then owns). Like Prometheus, the recovered
   * leading/trailing state is the iterator's, so continuing a chunk may encode
   * differently from (but decode identically to) one appender doing all samples.
   */
  appender(): XorAppender {
    const b = this.bytes();
    if (b.length === HEADER_SIZE && this.numSamples() === 0) {
      if (this.w === null) {
        this.w = BitWriter.resume(b, 0);
      }
      return new XorAppender(this.w, 0, 0, 0, 0, 0, UNSET, 0);
    }
    const it = new XorIterator(b);
    while (it.next() !== ValueType.None) {
      // decode to the end
    }
    const e = it.err();
    if (e !== null) throw e;
    const usedBits = it.bitPosition();
    const usedBytes = Math.ceil(usedBits / 8);
    const free = usedBytes * 8 - usedBits;
    this.w = BitWriter.resume(b.subarray(0, usedBytes), free);
    return new XorAppender(
      this.w,
      it.numSamplesRead(),
      it.atT(),
      it.lastTimeDelta(),
      it.valueHiBits(),
      it.valueLoBits(),
      it.leadingZeros(),
      it.trailingZeros(),
    );
  }

  /** Drops spare buffer capacity once no more samples will be appended. */
  compact(): void {
    if (this.w === null) return;
    this.data = this.w.bytes().slice();
    this.w = null;
  }
}

/** Appends samples to an XorChunk; obtain one with XorChunk.appender(). */
export class XorAppender {
  /** @internal use XorChunk.appender() */
  constructor(
    private readonly w: BitWriter,
    private num: number,
    private t: number,
    private tDelta: number,
    private vhi: number,
    private vlo: number,
    private leading: number,
    private trailing: number,
  ) {}

  /**
   * Appends a sample. t must be a safe integer (ms); samples are expected in
   * increasing timestamp order, as everywhere in the TSDB.
   * @throws RangeError when the chunk already holds 65535 samples or t is not a safe integer
   */
  append(t: number, v: number): void {
    if (!Number.isSafeInteger(t)) throw new RangeError(`xor chunk: timestamp ${t} is not a safe integer`);
    const w = this.w;
    const num = this.num;
    F64[0] = v;
    const vhi = U32[HI];
    const vlo = U32[LO];
    let tDelta = 0;
    if (num === 0) {
      writeVarint64(w, t);
      w.writeBits(vhi, 32);
      w.writeBits(vlo, 32);
    } else if (num === 1) {
      tDelta = t - this.t;
      splitInt64(tDelta); // a negative delta is written as its uint64 form, like Go
      writeUvarint64(w, PARTS[0], PARTS[1]);
      this.writeValue(vhi, vlo);
    } else {
      if (num >= MAX_SAMPLES) throw new RangeError('xor chunk: capacity of 65535 samples exceeded');
      tDelta = t - this.t;
      const dod = tDelta - this.tDelta;
      if (dod === 0) {
        w.writeBit(0);
      } else if (dod >= -8191 && dod <= 8192) {
        w.writeBits(0x8000 | (dod & 0x3fff), 16); // '10' + 14 bits
      } else if (dod >= -65535 && dod <= 65536) {
        w.writeBits(0xc0000 | (dod & 0x1ffff), 20); // '110' + 17 bits
      } else if (dod >= -524287 && dod <= 524288) {
        w.writeBits(0xe00000 | (dod & 0xfffff), 24); // '1110' + 20 bits
      } else {
        w.writeBits(0b1111, 4);
        splitInt64(dod);
        w.writeBits(PARTS[0], 32);
        w.writeBits(PARTS[1], 32);
      }
      this.writeValue(vhi, vlo);
    }
    this.t = t;
    this.vhi = vhi;
    this.vlo = vlo;
    this.tDelta = tDelta;
    this.num = num + 1;
    const raw = w.raw();
    raw[0] = (num + 1) >>> 8;
    raw[1] = (num + 1) & 0xff;
  }

  private writeValue(vhi: number, vlo: number): void {
    const w = this.w;
    const dhi = (vhi ^ this.vhi) >>> 0;
    const dlo = (vlo ^ this.vlo) >>> 0;
    if (dhi === 0 && dlo === 0) {
      w.writeBit(0);
      return;
    }
    let lead = dhi !== 0 ? Math.clz32(dhi) : 32 + Math.clz32(dlo);
    if (lead >= 32) lead = 31; // must fit in 5 bits
    const trail = dlo !== 0 ? 31 - Math.clz32(dlo & -dlo) : 63 - Math.clz32(dhi & -dhi);
    let shift: number;
    let nbits: number;
    // control bits: '10' (reuse leading/trailing) or '11' + leading:5 + sigbits:6 (64 wraps to 0)
    let ctl: number;
    let ctlBits: number;
    if (this.leading !== UNSET && lead >= this.leading && trail >= this.trailing) {
      shift = this.trailing;
      nbits = 64 - this.leading - shift;
      ctl = 0b10;
      ctlBits = 2;
    } else {
      this.leading = lead;
      this.trailing = trail;
      shift = trail;
      nbits = 64 - lead - trail;
      ctl = (0b11 << 11) | (lead << 6) | (nbits & 63);
      ctlBits = 13;
    }
    // the low nbits of delta >> shift (nothing above them is set)
    let hi: number;
    let lo: number;
    if (shift === 0) {
      hi = dhi;
      lo = dlo;
    } else if (shift < 32) {
      lo = (dlo >>> shift) | (dhi << (32 - shift));
      hi = dhi >>> shift;
    } else {
      lo = dhi >>> (shift - 32);
      hi = 0;
    }
    if (ctlBits + nbits <= 32) {
      // fast path: control and payload in one call
      w.writeBits((ctl << nbits) | lo, ctlBits + nbits);
    } else {
      w.writeBits(ctl, ctlBits);
      if (nbits > 32) {
        w.writeBits(hi, nbits - 32);
        w.writeBits(lo, 32);
      } else {
        w.writeBits(lo, nbits);
      }
    }
  }
}

/**
 * Decodes an XOR chunk. Reusable across chunks with reset(); allocates nothing per
 * sample or per chunk. Truncated or malformed data stops iteration with a
 * CorruptionError from err() instead of producing a wrong sample.
 */
export class XorIterator implements ChunkIterator {
  private readonly br = new BitReader();
  private numTotal = 0;
  private numRead = 0;
  private t = 0;
  private tDelta = 0;
  private vhi = 0;
  private vlo = 0;
  private val = 0;
  private leading = 0;
  private trailing = 0;
  private error: CorruptionError | null = null;

  constructor(data?: Uint8Array) {
    if (data) this.reset(data);
  }

  /** Points the iterator at another chunk's bytes (the chunk data, header included). */
  reset(data: Uint8Array): void {
    this.numRead = 0;
    this.t = 0;
    this.tDelta = 0;
    this.vhi = 0;
    this.vlo = 0;
    this.val = 0;
    this.leading = 0;
    this.trailing = 0;
    this.error = null;
    if (data.length < HEADER_SIZE) {
      this.numTotal = 0;
      this.br.reset(data, 0, 0);
      this.error = new CorruptionError('xor chunk', 0, `chunk of ${data.length} bytes is shorter than its 2-byte header`);
      return;
    }
    this.numTotal = (data[0] << 8) | data[1];
    this.br.reset(data, HEADER_SIZE, data.length);
  }

  atT(): number {
    return this.t;
  }

  atF(): number {
    return this.val;
  }

  err(): Error | null {
    return this.error;
  }

  seek(t: number): ValueType {
    if (this.error !== null) return ValueType.None;
    while (t > this.t || this.numRead === 0) {
      if (this.next() === ValueType.None) return ValueType.None;
    }
    return ValueType.Float;
  }

  next(): ValueType {
    if (this.error !== null || this.numRead === this.numTotal) return ValueType.None;
    if (this.numRead < 2) return this.numRead === 0 ? this.readFirst() : this.readSecond();
    const br = this.br;
    if (br.valid === 0 && !br.refill()) return this.fail('unexpected end of data in timestamp');
    // fast path: regular interval, dod == 0 is a single 0 bit
    if (((br.reg >>> (br.valid - 1)) & 1) === 0) {
      br.valid--;
      this.t += this.tDelta;
      return this.readValue();
    }
    return this.readDod();
  }

  private readFirst(): ValueType {
    const br = this.br;
    const t = readVarint64(br);
    if (Number.isNaN(t)) return this.fail('bad or truncated first timestamp');
    const hi = br.readBits(32);
    const lo = br.readBits(32);
    if (hi < 0 || lo < 0) return this.fail('unexpected end of data in first value');
    this.t = t;
    this.vhi = hi;
    this.vlo = lo;
    U32[HI] = hi;
    U32[LO] = lo;
    this.val = F64[0];
    this.numRead = 1;
    return ValueType.Float;
  }

  private readSecond(): ValueType {
    if (!readUvarint64(this.br)) return this.fail('bad or truncated timestamp delta');
    // Go stores uint64(t1-t0); reinterpret as signed like int64(tDelta) does.
    const d = joinInt64(PARTS[0], PARTS[1]);
    if (Number.isNaN(d) || !Number.isSafeInteger(this.t + d)) return this.fail('timestamp delta out of range');
    this.tDelta = d;
    this.t += d;
    return this.readValue();
  }

  private readDod(): ValueType {
    const br = this.br;
    let sz: number;
    if (br.valid >= 4) {
      // The first bit is known to be 1.
      const top4 = (br.reg >>> (br.valid - 4)) & 0xf;
      if (top4 < 0b1100) {
        br.valid -= 2;
        sz = 14;
      } else if (top4 < 0b1110) {
        br.valid -= 3;
        sz = 17;
      } else if (top4 === 0b1110) {
        br.valid -= 4;
        sz = 20;
      } else {
        br.valid -= 4;
        sz = 64;
      }
    } else {
      br.readBit(); // the 1 already seen
      sz = 14;
      let bit = br.readBit();
      if (bit === 1) {
        sz = 17;
        bit = br.readBit();
        if (bit === 1) {
          sz = 20;
          bit = br.readBit();
          if (bit === 1) sz = 64;
        }
      }
      if (bit < 0) return this.fail('unexpected end of data in timestamp');
    }
    let dod: number;
    if (sz === 64) {
      const hi = br.readBits(32);
      const lo = br.readBits(32);
      if (hi < 0 || lo < 0) return this.fail('unexpected end of data in timestamp');
      dod = joinInt64(hi, lo);
      if (Number.isNaN(dod)) return this.fail('delta of delta out of range');
    } else {
      const b = br.readBits(sz);
      if (b < 0) return this.fail('unexpected end of data in timestamp');
      // negative values come back as large unsigned ones
      dod = b > 1 << (sz - 1) ? b - (1 << sz) : b;
    }
    this.tDelta += dod;
    this.t += this.tDelta;
    if (!Number.isSafeInteger(this.t)) return this.fail('timestamp out of range');
    return this.readValue();
  }

  private readValue(): ValueType {
    const br = this.br;
    if (br.valid === 0 && !br.refill()) return this.fail('unexpected end of data in value');
    if (((br.reg >>> (br.valid - 1)) & 1) === 0) {
      // fast path: value unchanged
      br.valid--;
      this.numRead++;
      return ValueType.Float;
    }
    let ctl: number;
    if (br.valid >= 2) {
      br.valid -= 2;
      ctl = (br.reg >>> br.valid) & 1;
    } else {
      br.readBit();
      ctl = br.readBit();
      if (ctl < 0) return this.fail('unexpected end of data in value');
    }
    let trailing: number;
    let mbits: number;
    if (ctl === 0) {
      trailing = this.trailing;
      mbits = 64 - this.leading - trailing;
    } else {
      const x = br.readBits(11);
      if (x < 0) return this.fail('unexpected end of data in value');
      const leading = x >>> 6;
      mbits = x & 63 || 64;
      trailing = 64 - leading - mbits;
      if (trailing < 0) return this.fail(`invalid xor header: ${leading} leading zeros and ${mbits} significant bits`);
      this.leading = leading;
      this.trailing = trailing;
    }
    let hi = 0;
    let lo: number;
    if (mbits > 32) {
      hi = br.readBits(mbits - 32);
      lo = br.readBits(32);
      if (hi < 0 || lo < 0) return this.fail('unexpected end of data in value');
    } else {
      lo = br.readBits(mbits);
      if (lo < 0) return this.fail('unexpected end of data in value');
    }
    if (trailing !== 0) {
      if (trailing < 32) {
        hi = (hi << trailing) | (lo >>> (32 - trailing));
        lo <<= trailing;
      } else {
        hi = lo << (trailing - 32);
        lo = 0;
      }
    }
    const vhi = (this.vhi ^ hi) >>> 0;
    const vlo = (this.vlo ^ lo) >>> 0;
    this.vhi = vhi;
    this.vlo = vlo;
    U32[HI] = vhi;
    U32[LO] = vlo;
    this.val = F64[0];
    this.numRead++;
    return ValueType.Float;
  }

  private fail(reason: string): ValueType {
    const br = this.br;
    const at = Math.min(br.end, Math.max(0, Math.floor(br.bitPosition / 8)));
    this.error = new CorruptionError('xor chunk', at, `sample ${this.numRead} of ${this.numTotal}: ${reason}`);
    return ValueType.None;
  }

  // State accessors used to resume appending to a decoded chunk.

  /** @internal */
  bitPosition(): number {
    return this.br.bitPosition;
  }
  /** @internal */
  numSamplesRead(): number {
    return this.numRead;
  }
  /** @internal */
  lastTimeDelta(): number {
    return this.tDelta;
  }
  /** @internal */
  valueHiBits(): number {
    return this.vhi;
  }
  /** @internal */
  valueLoBits(): number {
    return this.vlo;
  }
  /** @internal */
  leadingZeros(): number {
    return this.leading;
  }
  /** @internal */
  trailingZeros(): number {
    return this.trailing;
  }
}

/** How decodeXorInto ended. */
export const XorDecodeResult = {
  /** Every sample of the chunk was decoded. */
  Done: 0,
  /** Stopped at the first sample after maxt (not appended). */
  PastMaxt: 1,
  /**
   * Stopped at data XorIterator would reject, or that this fast path leaves to it
   * (timestamps beyond ±2^52, a negative first delta): discard what was appended and
   * read the chunk with XorIterator, which reports the error if there is one.
   */
  Unhandled: 2,
} as const;
export type XorDecodeResult = (typeof XorDecodeResult)[keyof typeof XorDecodeResult];

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Decodes an XOR chunk (header included) in one loop, appending the samples with
 * mint <= t <= maxt to `out` (after out.reserve(numSamples)) and stopping at the first
 * one after maxt; the samples are those XorIterator yields, bit for bit, with no call
 * or allocation per sample. The bit stream is read through a local 32-bit
 * register holding the next bits left-aligned (so the next bit is its sign), refilled
 * a byte at a time to at least 25 bits, which covers every field but the value
 * payloads over 25 bits and the 64-bit delta-of-delta; those are read 16 bits at a time.
 */
export function decodeXorInto(data: Uint8Array, mint: number, maxt: number, out: FloatSampleArrays): XorDecodeResult {
  const end = data.length;
  if (end < HEADER_SIZE) return XorDecodeResult.Unhandled;
  const total = (data[0] << 8) | data[1];
  if (total === 0) return XorDecodeResult.Done;
  out.reserve(total);
  const ts = out.t;
  const fs = out.f;
  const f64 = F64;
  const u32 = U32;
  const hiIdx = HI;
  const loIdx = LO;
  let n = out.n;

  // Sample 0: t0 as a zigzag varint, then 64 raw value bits, byte-aligned. Varints are
  // summed as numbers; eight bytes (56 bits) at most, then checked to be safe integers.
  let pos = HEADER_SIZE;
  let u = 0;
  let mul = 1;
  let b = 0x80;
  for (let i = 0; b >= 0x80; i++) {
    if (i === 8 || pos >= end) return XorDecodeResult.Unhandled;
    b = data[pos++];
    u += (b & 0x7f) * mul;
    mul *= 128;
  }
  if (u > MAX_SAFE) return XorDecodeResult.Unhandled;
  let t = u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  if (pos + 8 > end) return XorDecodeResult.Unhandled;
  let vhi = (data[pos] << 24) | (data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3];
  let vlo = (data[pos + 4] << 24) | (data[pos + 5] << 16) | (data[pos + 6] << 8) | data[pos + 7];
  pos += 8;
  u32[hiIdx] = vhi;
  u32[loIdx] = vlo;
  let val = f64[0];
  if (t >= mint) {
    if (t > maxt) return XorDecodeResult.PastMaxt;
    ts[n] = t;
    fs[n] = val;
    n++;
  }
  if (total === 1) {
    out.n = n;
    return XorDecodeResult.Done;
  }

  // Sample 1: t1-t0 as a uvarint of its uint64 form (a negative delta is huge: left to
  // the iterator), then the bit stream starts with its value.
  u = 0;
  mul = 1;
  b = 0x80;
  for (let i = 0; b >= 0x80; i++) {
    if (i === 8 || pos >= end) return XorDecodeResult.Unhandled;
    b = data[pos++];
    u += (b & 0x7f) * mul;
    mul *= 128;
  }
  if (u > MAX_SAFE) return XorDecodeResult.Unhandled;
  let tDelta = u;
  t += tDelta;
  if (!Number.isSafeInteger(t)) return XorDecodeResult.Unhandled;

  let reg = 0; // next bits, left-aligned; the bits below `valid` are zero
  let valid = 0;
  let leading = 0;
  let trailing = 0;
  for (let read = 1; ; ) {
    // <xor value>
    while (valid <= 24 && pos < end) {
      reg |= data[pos++] << (24 - valid);
      valid += 8;
    }
    if (valid === 0) return XorDecodeResult.Unhandled;
    if (reg >= 0) {
      // '0': value unchanged
      reg <<= 1;
      valid--;
    } else {
      if (valid < 2) return XorDecodeResult.Unhandled;
      let mbits: number;
      if ((reg & 0x40000000) === 0) {
        // '10': previous leading/trailing
        reg <<= 2;
        valid -= 2;
        mbits = 64 - leading - trailing;
      } else {
        // '11' leading:5 sigbits:6
        if (valid < 13) return XorDecodeResult.Unhandled;
        const x = (reg >>> 19) & 0x7ff;
        reg <<= 13;
        valid -= 13;
        leading = x >>> 6;
        mbits = x & 63 || 64;
        trailing = 64 - leading - mbits;
        if (trailing < 0) return XorDecodeResult.Unhandled;
      }
      while (valid <= 24 && pos < end) {
        reg |= data[pos++] << (24 - valid);
        valid += 8;
      }
      let hi = 0;
      let lo: number;
      if (mbits <= 25) {
        if (valid < mbits) return XorDecodeResult.Unhandled;
        lo = reg >>> (32 - mbits);
        reg <<= mbits;
        valid -= mbits;
      } else {
        lo = 0;
        for (let rem = mbits; rem > 0; ) {
          const k = rem > 16 ? 16 : rem;
          while (valid <= 24 && pos < end) {
            reg |= data[pos++] << (24 - valid);
            valid += 8;
          }
          if (valid < k) return XorDecodeResult.Unhandled;
          hi = (hi << k) | (lo >>> (32 - k));
          lo = (lo << k) | (reg >>> (32 - k));
          reg <<= k;
          valid -= k;
          rem -= k;
        }
      }
      if (trailing !== 0) {
        if (trailing < 32) {
          hi = (hi << trailing) | (lo >>> (32 - trailing));
          lo <<= trailing;
        } else {
          hi = lo << (trailing - 32);
          lo = 0;
        }
      }
      vhi ^= hi;
      vlo ^= lo;
      u32[hiIdx] = vhi;
      u32[loIdx] = vlo;
      val = f64[0];
    }

    if (t >= mint) {
      if (t > maxt) {
        out.n = n;
        return XorDecodeResult.PastMaxt;
      }
      ts[n] = t;
      fs[n] = val;
      n++;
    }
    if (++read === total) break;

    // <dod> of the next sample
    while (valid <= 24 && pos < end) {
      reg |= data[pos++] << (24 - valid);
      valid += 8;
    }
    if (valid === 0) return XorDecodeResult.Unhandled;
    if (reg >= 0) {
      // '0': regular interval
      reg <<= 1;
      valid--;
      t += tDelta;
      continue;
    }
    const top = reg >>> 28;
    let dod: number;
    if (top !== 0b1111) {
      let pre: number;
      let sz: number;
      if (top < 0b1100) {
        pre = 2;
        sz = 14;
      } else if (top < 0b1110) {
        pre = 3;
        sz = 17;
      } else {
        pre = 4;
        sz = 20;
      }
      if (valid < pre + sz) return XorDecodeResult.Unhandled;
      const x = (reg << pre) >>> (32 - sz);
      reg <<= pre + sz;
      valid -= pre + sz;
      // negative values come back as large unsigned ones
      dod = x > 1 << (sz - 1) ? x - (1 << sz) : x;
    } else {
      if (valid < 4) return XorDecodeResult.Unhandled;
      reg <<= 4;
      valid -= 4;
      let hi = 0;
      let lo = 0;
      for (let rem = 64; rem > 0; rem -= 16) {
        while (valid <= 24 && pos < end) {
          reg |= data[pos++] << (24 - valid);
          valid += 8;
        }
        if (valid < 16) return XorDecodeResult.Unhandled;
        hi = (hi << 16) | (lo >>> 16);
        lo = (lo << 16) | (reg >>> 16);
        reg <<= 16;
        valid -= 16;
      }
      dod = joinInt64(hi, lo);
      if (Number.isNaN(dod)) return XorDecodeResult.Unhandled;
    }
    tDelta += dod;
    t += tDelta;
    if (!Number.isSafeInteger(t)) return XorDecodeResult.Unhandled;
  }
  out.n = n;
  return XorDecodeResult.Done;
}

const NO_SAMPLES = new Float64Array(0);

/** Decoded samples of one chunk, grown to the largest chunk seen (nothing before the first). */
class ChunkSamples implements FloatSampleArrays {
  t = NO_SAMPLES;
  f = NO_SAMPLES;
  n = 0;

  reserve(extra: number): void {
    if (this.n + extra <= this.t.length) return;
    const cap = Math.max(this.t.length * 2, this.n + extra);
    const t = new Float64Array(cap);
    const f = new Float64Array(cap);
    t.set(this.t.subarray(0, this.n));
    f.set(this.f.subarray(0, this.n));
    this.t = t;
    this.f = f;
  }
}

/**
 * Iterates an XOR chunk like XorIterator (same samples, seek semantics and errors), but
 * decodes it whole with decodeXorInto when first read and then steps through arrays,
 * which is cheaper where samples are taken one by one anyway (dedup, downsampled
 * aggregates). A chunk the fast path leaves to XorIterator is read by one. Reusable
 * across chunks with reset().
 */
export class BufferedXorIterator implements ChunkIterator {
  private readonly buf = new ChunkSamples();
  /** Index of the current sample; -1 before the first. */
  private i = -1;
  /** Bytes reset() was given and not yet decoded. */
  private pending: Uint8Array | null = null;
  /** Set while the chunk is read by XorIterator instead. */
  private slow: XorIterator | null = null;
  private spare: XorIterator | null = null;

  constructor(data?: Uint8Array) {
    if (data) this.reset(data);
  }

  /** Points the iterator at another chunk's bytes (the chunk data, header included). */
  reset(data: Uint8Array): void {
    this.pending = data;
    this.slow = null;
    this.i = -1;
    this.buf.n = 0;
  }

  private decode(data: Uint8Array): void {
    this.pending = null;
    if (decodeXorInto(data, -Infinity, Infinity, this.buf) === XorDecodeResult.Unhandled) {
      this.buf.n = 0;
      const slow = (this.spare ??= new XorIterator());
      slow.reset(data);
      this.slow = slow;
    }
  }

  next(): ValueType {
    if (this.pending !== null) this.decode(this.pending);
    if (this.slow !== null) return this.slow.next();
    // At the end the last sample stays current, as in XorIterator.
    if (this.i + 1 >= this.buf.n) return ValueType.None;
    this.i++;
    return ValueType.Float;
  }

  seek(t: number): ValueType {
    if (this.pending !== null) this.decode(this.pending);
    if (this.slow !== null) return this.slow.seek(t);
    const ts = this.buf.t;
    const n = this.buf.n;
    let i = this.i;
    if (i < 0) {
      if (n === 0) return ValueType.None;
      i = 0;
    }
    while (t > ts[i]) {
      if (i + 1 >= n) {
        this.i = i;
        return ValueType.None;
      }
      i++;
    }
    this.i = i;
    return ValueType.Float;
  }

  atT(): number {
    return this.slow !== null ? this.slow.atT() : this.buf.t[this.i];
  }

  atF(): number {
    return this.slow !== null ? this.slow.atF() : this.buf.f[this.i];
  }

  err(): Error | null {
    return this.slow !== null ? this.slow.err() : null;
  }
}
