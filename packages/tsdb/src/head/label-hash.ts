// The head's label hash: FNV-1a (32 bit) over the UTF-8 bytes of every name and value,
// a name followed by 0xff and a value by 0xfe (bytes UTF-8 never contains, so the
// boundaries are unambiguous). Hashing UTF-8 rather than UTF-16 code units lets a
// caller holding labels still encoded (a remote-write request's protobuf bytes) find a
// series without decoding a string: hash the bytes with hashLabelBytes, then compare
// them with utf8Equals.

import type { Labels } from '../labels/index.js';

/** FNV-1a offset basis: the hash of an empty label set. */
export const LABELS_HASH_INIT = 0x811c9dc5;
const PRIME = 0x01000193;
const NAME_END = 0xff;
const VALUE_END = 0xfe;

/** The head's hash of a label set; allocates nothing. */
export function hashLabels(ls: Labels): number {
  let h = LABELS_HASH_INIT;
  for (let i = 0; i < ls.length; i++) {
    const l = ls[i];
    h = Math.imul(hashString(h, l.name) ^ NAME_END, PRIME);
    h = Math.imul(hashString(h, l.value) ^ VALUE_END, PRIME);
  }
  return h >>> 0;
}

/**
 * Continues a label hash with one label given as UTF-8 bytes: name buf[ns, ne), value
 * buf[vs, ve). Start from LABELS_HASH_INIT; the result of the last label, `>>> 0`,
 * equals hashLabels of the decoded set.
 */
export function hashLabelBytes(h: number, buf: Uint8Array, ns: number, ne: number, vs: number, ve: number): number {
  for (let i = ns; i < ne; i++) h = Math.imul(h ^ buf[i], PRIME);
  h = Math.imul(h ^ NAME_END, PRIME);
  for (let i = vs; i < ve; i++) h = Math.imul(h ^ buf[i], PRIME);
  return Math.imul(h ^ VALUE_END, PRIME);
}

/** FNV-1a over the UTF-8 encoding of s (a lone surrogate as U+FFFD, as TextEncoder does). */
function hashString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, PRIME);
      continue;
    }
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), PRIME);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        h = Math.imul(h ^ (0xf0 | (c >> 18)), PRIME);
        h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), PRIME);
        h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), PRIME);
        h = Math.imul(h ^ (0x80 | (c & 0x3f)), PRIME);
        continue;
      }
      c = 0xfffd;
    }
    h = Math.imul(h ^ (0xe0 | (c >> 12)), PRIME);
    h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), PRIME);
    h = Math.imul(h ^ (0x80 | (c & 0x3f)), PRIME);
  }
  return h;
}

/**
 * Whether buf[start, end) is the UTF-8 encoding of s. Bytes that are not valid UTF-8
 * never equal a string (a decoder would have replaced them).
 */
export function utf8Equals(buf: Uint8Array, start: number, end: number, s: string): boolean {
  let p = start;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      if (p >= end || buf[p] !== c) return false;
      p++;
      continue;
    }
    if (c < 0x800) {
      if (p + 2 > end || buf[p] !== (0xc0 | (c >> 6)) || buf[p + 1] !== (0x80 | (c & 0x3f))) return false;
      p += 2;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      // A lone surrogate cannot come from decoding valid UTF-8.
      if (c > 0xdbff || d < 0xdc00 || d > 0xdfff) return false;
      c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
      i++;
      if (
        p + 4 > end ||
        buf[p] !== (0xf0 | (c >> 18)) ||
        buf[p + 1] !== (0x80 | ((c >> 12) & 0x3f)) ||
        buf[p + 2] !== (0x80 | ((c >> 6) & 0x3f)) ||
        buf[p + 3] !== (0x80 | (c & 0x3f))
      ) {
        return false;
      }
      p += 4;
      continue;
    }
    if (p + 3 > end || buf[p] !== (0xe0 | (c >> 12)) || buf[p + 1] !== (0x80 | ((c >> 6) & 0x3f)) || buf[p + 2] !== (0x80 | (c & 0x3f))) return false;
    p += 3;
  }
  return p === end;
}
