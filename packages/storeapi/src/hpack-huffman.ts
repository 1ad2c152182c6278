/**
 * The HPACK Huffman code (RFC 7541 Appendix B) and a table-driven codec for it.
 *
 * Decoding walks a 4-bit state machine built once at module load from the code table
 * (the approach nghttp2 takes): a state is an internal node of the code tree, i.e. the
 * bits read since the last emitted symbol; each input nibble moves to a new state and
 * emits at most one symbol, because the shortest code is 5 bits long.
 */

// RFC 7541 Appendix B, symbols 0..255 then EOS (256): code value (MSB-first) and bit length.
const CODES = [
  0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7,
  0xfffffe8, 0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec,
  0xfffffed, 0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3,
  0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb,
  0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa,
  0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18,
  0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
  0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb, 0x3fc,
  0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62,
  0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
  0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72,
  0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22,
  0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26,
  0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7,
  0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78,
  0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc,
  0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9,
  0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf,
  0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3,
  0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef,
  0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde,
  0x7fffea, 0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec,
  0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef,
  0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1,
  0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec,
  0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed,
  0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2,
  0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5,
  0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3,
  0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4,
  0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea,
  0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee,
  0x3fffffff,
];
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

const EOS = 256;

// Transition entry layout: bits 0-7 next state, 8-15 emitted symbol, then flags.
const EMIT = 1 << 16;
/** After this nibble the pending bits are a valid padding: at most 7 bits, all ones (an EOS prefix). */
const ACCEPT = 1 << 17;
/** This nibble completes EOS, which must never appear in a string (RFC 7541 §5.2). */
const FAIL = 1 << 18;

const TRANSITIONS = buildTransitions();

function buildTransitions(): Uint32Array {
  // The code tree as flat arrays: node 0 is the root; child > 0 is an internal node,
  // child < 0 is the leaf for symbol -child-1. 257 leaves need exactly 256 internal nodes.
  const child = new Int32Array(256 * 2);
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const code = CODES[sym];
    const len = LENGTHS[sym];
    let n = 0;
    for (let bit = len - 1; bit > 0; bit--) {
      const slot = n * 2 + ((code >>> bit) & 1);
      if (child[slot] === 0) child[slot] = nodes++;
      n = child[slot];
    }
    child[n * 2 + (code & 1)] = -sym - 1;
  }
  if (nodes !== 256) throw new Error(`hpack huffman: code tree has ${nodes} internal nodes, want 256`);

  // Padding is valid when the pending bits are a run of at most 7 ones.
  const accepting = new Uint8Array(256);
  for (let n = 0, depth = 0; depth <= 7; depth++, n = child[n * 2 + 1]) accepting[n] = 1;

  const table = new Uint32Array(256 * 16);
  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let n = state;
      let entry = 0;
      for (let bit = 3; bit >= 0; bit--) {
        const c = child[n * 2 + ((nibble >>> bit) & 1)];
        if (c >= 0) {
          n = c;
          continue;
        }
        const sym = -c - 1;
        if (sym === EOS) entry |= FAIL;
        else entry |= EMIT | (sym << 8);
        n = 0;
      }
      if (accepting[n]) entry |= ACCEPT;
      table[state * 16 + nibble] = entry | n;
    }
  }
  return table;
}

/** The most octets `len` Huffman-coded octets can decode to (every code is at least 5 bits). */
export function huffmanDecodedMaxLength(len: number): number {
  return Math.floor((len * 8) / 5);
}

/**
 * Decodes src[start, end) into out (which must hold huffmanDecodedMaxLength(end-start) octets).
 * Returns the number of octets written, or -1 when the input is invalid: it contains EOS,
 * or its padding is longer than 7 bits or not all ones (RFC 7541 §5.2).
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number, out: Uint8Array): number {
  const t = TRANSITIONS;
  let state = 0;
  let entry = ACCEPT;
  let n = 0;
  for (let i = start; i < end; i++) {
    const b = src[i];
    entry = t[(state << 4) | (b >>> 4)];
    if (entry & EMIT) out[n++] = entry >>> 8;
    state = entry & 0xff;
    const hi = entry;
    entry = t[(state << 4) | (b & 0x0f)];
    if ((hi | entry) & FAIL) return -1;
    if (entry & EMIT) out[n++] = entry >>> 8;
    state = entry & 0xff;
  }
  return entry & ACCEPT ? n : -1;
}

/** The length in octets of the Huffman coding of s (a latin1 string: one octet per char). */
export function huffmanEncodedLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += LENGTHS[s.charCodeAt(i) & 0xff];
  return (bits + 7) >>> 3;
}

/**
 * Writes the Huffman coding of s (latin1) at out[off], padded with the EOS prefix, and
 * returns the offset past it. out must have room for huffmanEncodedLength(s) octets.
 */
export function huffmanEncode(s: string, out: Uint8Array, off: number): number {
  // Up to 7 pending bits plus a 30-bit code fit exactly in a double's 53-bit mantissa,
  // so the accumulator uses arithmetic rather than 32-bit shifts.
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    const len = LENGTHS[sym];
    acc = acc * 2 ** len + CODES[sym];
    bits += len;
    while (bits >= 8) {
      bits -= 8;
      const scale = 2 ** bits;
      const byte = Math.floor(acc / scale);
      out[off++] = byte;
      acc -= byte * scale;
    }
  }
  if (bits > 0) out[off++] = (acc << (8 - bits)) | (0xff >>> bits);
  return off;
}
