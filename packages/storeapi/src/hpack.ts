/**
 * HPACK (RFC 7541): header compression for our HTTP/2 transport.
 *
 * Decoding keeps the dynamic table the peer's encoder drives. Encoding never uses the
 * dynamic table (every field is a static index or a literal without indexing), so our
 * side needs no encoder state and the peer's SETTINGS_HEADER_TABLE_SIZE never matters.
 *
 * Header names and values are octet strings; they are decoded and encoded as latin1
 * (one char per octet) so that any octet, including ≥0x80, round-trips unchanged.
 */
import { huffmanDecode, huffmanDecodedMaxLength } from './hpack-huffman.js';

/** A malformed header block (a COMPRESSION_ERROR connection error in HTTP/2 terms). */
export class HpackError extends Error {
  override name = 'HpackError';
}

// RFC 7541 Appendix A; HPACK index i is STATIC_TABLE[i - 1].
const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_LEN = STATIC_TABLE.length; // 61

const STATIC_NAMES: readonly string[] = STATIC_TABLE.map((e) => e[0]);
const STATIC_VALUES: readonly string[] = STATIC_TABLE.map((e) => e[1]);

/** RFC 7541 §4.1: an entry's size is its name and value lengths in octets plus 32. */
const ENTRY_OVERHEAD = 32;

/** Values above this are rejected: no length or index we accept needs more than 31 bits. */
const MAX_INT = 0x7fffffff;

/** Default limit on a decoded header list (SETTINGS_MAX_HEADER_LIST_SIZE we would advertise). */
const DEFAULT_MAX_HEADER_LIST_SIZE = 64 * 1024;

const EMPTY = Buffer.alloc(0);

export class HpackDecoder {
  private readonly maxTableSize: number;
  private readonly maxHeaderListSize: number;
  /** The dynamic table's current limit, as last set by a size update (≤ maxTableSize). */
  private tableLimit: number;
  private tableSize = 0;

  // The dynamic table as a ring: `count` entries, the newest at `head`, older ones at
  // decreasing positions. Capacity is a power of two so wrapping is a mask.
  private names: string[] = new Array<string>(16);
  private values: string[] = new Array<string>(16);
  private mask = 15;
  private head = 15;
  private count = 0;

  // Per-decode cursor, kept on the instance so integer/string reads allocate nothing.
  private buf: Buffer = EMPTY;
  private pos = 0;
  private end = 0;
  /** Reused output for Huffman-decoded strings; grows to the longest string seen. */
  private scratch: Buffer = Buffer.allocUnsafe(256);

  /**
   * maxTableSize: the SETTINGS_HEADER_TABLE_SIZE we advertise (4096 default); a size update
   * above it is an error. maxHeaderListSize: decoded name+value+32 per entry, summed; above it
   * decode throws HpackError('header list too large').
   */
  constructor(maxTableSize = 4096, maxHeaderListSize = DEFAULT_MAX_HEADER_LIST_SIZE) {
    this.maxTableSize = maxTableSize;
    this.maxHeaderListSize = maxHeaderListSize;
    this.tableLimit = maxTableSize;
  }

  /**
   * Decodes one complete header block (HEADERS + CONTINUATION payloads joined, padding and
   * priority already removed), calling onHeader(name, value) for each field in order. Names
   * are passed as sent (not lowercased; the caller validates).
   *
   * Throws HpackError on malformed input; the connection must then be closed with
   * COMPRESSION_ERROR since the dynamic table may be out of step with the peer's. A header
   * list above maxHeaderListSize is the exception: the rest of the block is still decoded
   * (without calling onHeader) so the table stays in step, then HpackError is thrown.
   * onHeader must not throw: an exception from it stops decoding mid-block, leaving the
   * table out of step just like a malformed block.
   */
  decode(block: Uint8Array, onHeader: (name: string, value: string) => void): void {
    this.buf = Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    this.pos = 0;
    this.end = block.length;
    let listSize = 0;
    let sawField = false;
    try {
      while (this.pos < this.end) {
        const b = this.buf[this.pos];
        let name: string;
        let value: string;
        if (b & 0x80) {
          // Indexed header field (§6.1).
          const index = this.readInt(7);
          if (index === 0) throw new HpackError('hpack: indexed field with index 0');
          if (index <= STATIC_LEN) {
            name = STATIC_NAMES[index - 1];
            value = STATIC_VALUES[index - 1];
          } else {
            const slot = this.dynamicSlot(index);
            name = this.names[slot];
            value = this.values[slot];
          }
        } else if (b & 0x40) {
          // Literal with incremental indexing (§6.2.1).
          name = this.readName(6);
          value = this.readString();
          this.add(name, value);
        } else if (b & 0x20) {
          // Dynamic table size update (§6.3): only before the first field of a block.
          if (sawField) throw new HpackError('hpack: dynamic table size update after a header field');
          const size = this.readInt(5);
          if (size > this.maxTableSize) {
            throw new HpackError(`hpack: dynamic table size update to ${size} above the maximum ${this.maxTableSize}`);
          }
          this.tableLimit = size;
          this.evictTo(size);
          continue;
        } else {
          // Literal without indexing (§6.2.2) or never indexed (§6.2.3): both 4-bit prefixes.
          name = this.readName(4);
          value = this.readString();
        }
        sawField = true;
        listSize += name.length + value.length + ENTRY_OVERHEAD;
        if (listSize <= this.maxHeaderListSize) onHeader(name, value);
      }
    } finally {
      this.buf = EMPTY; // do not pin the caller's frame buffer between calls
    }
    if (listSize > this.maxHeaderListSize) {
      throw new HpackError(`hpack: header list too large: ${listSize} octets, limit ${this.maxHeaderListSize}`);
    }
  }

  /** Test only: the dynamic table, newest entry first, and its size in octets (RFC 7541 §4.1). */
  tableEntriesForTest(): { entries: [string, string][]; size: number } {
    const entries: [string, string][] = [];
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head - i) & this.mask;
      entries.push([this.names[slot], this.values[slot]]);
    }
    return { entries, size: this.tableSize };
  }

  /** Ring slot of dynamic-table HPACK index (> 61); throws when there is no such entry. */
  private dynamicSlot(index: number): number {
    const age = index - STATIC_LEN - 1;
    if (age >= this.count) {
      throw new HpackError(`hpack: index ${index} past the end of the table (${STATIC_LEN + this.count} entries)`);
    }
    return (this.head - age) & this.mask;
  }

  /** An integer with an n-bit prefix (§5.1) at pos; the prefix's high bits are ignored. */
  private readInt(n: number): number {
    const buf = this.buf;
    const max = (1 << n) - 1;
    let value = buf[this.pos++] & max;
    if (value < max) return value; // fast path: fits in the prefix
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new HpackError('hpack: truncated integer');
      const b = buf[this.pos++];
      // Multiplication, not shifts: the sum can pass 2^31 before we reject it.
      value += (b & 0x7f) * 2 ** shift;
      if (value > MAX_INT) throw new HpackError('hpack: integer overflow');
      if ((b & 0x80) === 0) return value;
      shift += 7;
      // Five continuation octets already carry 35 bits; more can only be zero padding.
      if (shift > 28) throw new HpackError('hpack: integer overflow');
    }
  }

  /** The name of a literal field: an index with an n-bit prefix, or a literal string after index 0. */
  private readName(n: number): string {
    const index = this.readInt(n);
    if (index === 0) return this.readString();
    if (index <= STATIC_LEN) return STATIC_NAMES[index - 1];
    return this.names[this.dynamicSlot(index)];
  }

  /** A string literal (§5.2): H flag, 7-bit-prefix length, then raw or Huffman-coded octets. */
  private readString(): string {
    if (this.pos >= this.end) throw new HpackError('hpack: truncated string');
    const huffman = this.buf[this.pos] & 0x80;
    const len = this.readInt(7);
    const start = this.pos;
    if (len > this.end - start) throw new HpackError(`hpack: string length ${len} past the end of the block`);
    this.pos = start + len;
    if (!huffman) return latin1(this.buf, start, start + len);
    const need = huffmanDecodedMaxLength(len);
    if (need > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.max(need, this.scratch.length * 2));
    const n = huffmanDecode(this.buf, start, start + len, this.scratch);
    if (n < 0) throw new HpackError('hpack: invalid huffman-coded string');
    return latin1(this.scratch, 0, n);
  }

  /** Inserts an entry as the newest, evicting the oldest to fit (§4.4). */
  private add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.tableLimit) {
      // An entry larger than the table empties it and is not added.
      this.evictTo(0);
      return;
    }
    this.evictTo(this.tableLimit - size);
    if (this.count === this.mask + 1) this.grow();
    this.head = (this.head + 1) & this.mask;
    this.names[this.head] = name;
    this.values[this.head] = value;
    this.count++;
    this.tableSize += size;
  }

  private evictTo(size: number): void {
    while (this.tableSize > size) {
      const slot = (this.head - this.count + 1) & this.mask;
      this.tableSize -= this.names[slot].length + this.values[slot].length + ENTRY_OVERHEAD;
      this.names[slot] = this.values[slot] = '';
      this.count--;
    }
  }

  /** Doubles the ring, unwrapping it so the oldest entry lands at 0. */
  private grow(): void {
    const cap = (this.mask + 1) * 2;
    const names = new Array<string>(cap);
    const values = new Array<string>(cap);
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head - this.count + 1 + i) & this.mask;
      names[i] = this.names[slot];
      values[i] = this.values[slot];
    }
    this.names = names;
    this.values = values;
    this.mask = cap - 1;
    this.head = this.count - 1;
  }
}

/**
 * Octets [a, b) as a latin1 string (each octet becomes the char with the same code). Short
 * strings are built in JS, saving toString's native call; up to 12 chars V8 keeps the
 * result flat (longer concatenations become cons strings, slower as Map keys).
 */
function latin1(buf: Buffer, a: number, b: number): string {
  const len = b - a;
  if (len === 0) return '';
  if (len > 12) return buf.toString('latin1', a, b);
  let s = '';
  for (let i = a; i < b; i++) s += String.fromCharCode(buf[i]);
  return s;
}

// encodeHeaders' view of the static table, built once: name → its first index and the
// indexes of its entries by value.
type StaticName = { index: number; byValue: Map<string, number> };
const STATIC_BY_NAME = new Map<string, StaticName>();
for (let i = 0; i < STATIC_LEN; i++) {
  const [name, value] = STATIC_TABLE[i];
  let e = STATIC_BY_NAME.get(name);
  if (!e) STATIC_BY_NAME.set(name, (e = { index: i + 1, byValue: new Map() }));
  // Entries without a value only name the field; a literal empty value still matches them.
  e.byValue.set(value, i + 1);
}

/**
 * Encodes header fields without the dynamic table (so the peer's table never matters): a
 * field matching a static entry exactly is indexed (':status: 200' → 0x88), anything else a
 * literal without indexing, naming the static index when there is one. Strings are raw (no
 * Huffman) latin1 octets: chars above 0xff are not valid in header fields and are truncated.
 */
export function encodeHeaders(fields: readonly (readonly [string, string])[]): Buffer {
  let size = 0;
  for (let i = 0; i < fields.length; i++) {
    const [name, value] = fields[i];
    const st = STATIC_BY_NAME.get(name);
    if (st !== undefined && st.byValue.has(value)) {
      size += 1; // every static index fits the 7-bit prefix
      continue;
    }
    size += st !== undefined ? intLength(st.index, 4) : 1 + intLength(name.length, 7) + name.length;
    size += intLength(value.length, 7) + value.length;
  }
  const out = Buffer.allocUnsafe(size);
  let off = 0;
  for (let i = 0; i < fields.length; i++) {
    const [name, value] = fields[i];
    const st = STATIC_BY_NAME.get(name);
    if (st !== undefined) {
      const index = st.byValue.get(value);
      if (index !== undefined) {
        out[off++] = 0x80 | index;
        continue;
      }
      off = writeInt(out, off, 0x00, st.index, 4);
    } else {
      out[off++] = 0x00;
      off = writeInt(out, off, 0x00, name.length, 7);
      off = writeLatin1(out, off, name);
    }
    off = writeInt(out, off, 0x00, value.length, 7);
    off = writeLatin1(out, off, value);
  }
  return out;
}

/** Writes s as latin1 octets; short strings in JS, saving write()'s native call. */
function writeLatin1(out: Buffer, off: number, s: string): number {
  if (s.length > 32) return off + out.write(s, off, 'latin1');
  for (let i = 0; i < s.length; i++) out[off++] = s.charCodeAt(i);
  return off;
}

/** Octets taken by v as an integer with an n-bit prefix (§5.1). */
function intLength(v: number, n: number): number {
  const max = (1 << n) - 1;
  if (v < max) return 1;
  let len = 2;
  for (v -= max; v >= 0x80; v = Math.floor(v / 128)) len++;
  return len;
}

/** Writes v with an n-bit prefix, OR-ing `flags` into the first octet's high bits. */
function writeInt(out: Buffer, off: number, flags: number, v: number, n: number): number {
  const max = (1 << n) - 1;
  if (v < max) {
    out[off++] = flags | v;
    return off;
  }
  out[off++] = flags | max;
  for (v -= max; v >= 0x80; v = Math.floor(v / 128)) out[off++] = (v % 128) | 0x80;
  out[off++] = v;
  return off;
}
