// Index file format v2 (Prometheus tsdb/docs/format/index.md, tsdb/index/index.go).
//
//   magic 0xBAAAD700 <4b> ‖ version <1b>
//   symbol table         len <4b> ‖ #symbols <4b> ‖ (uvarint len ‖ utf8)* ‖ CRC32C <4b>
//   series               16-byte aligned entries: uvarint len ‖ body ‖ CRC32C(body) <4b>
//   [label indices]      legacy, not read
//   postings             4-byte aligned lists: len <4b> ‖ #refs <4b> ‖ ref <4b>* ‖ CRC32C <4b>
//   [label offset table] legacy, not read
//   postings offset tbl  len <4b> ‖ #entries <4b> ‖ (0x02 ‖ name ‖ value ‖ uvarint offset)* ‖ CRC32C
//   TOC                  6 × offset <8b> ‖ CRC32C <4b>       (the last 52 bytes)
//
// Every section CRC covers the `len` bytes after its length field. Integers are big-endian.
// The functions here are pure parsers over (bytes, offset) so that readers of whole files
// and readers of byte ranges (the store gateway's index-header) share them: `base` is the
// absolute file offset of bytes[0], used only in error messages.
import { CorruptionError, crc32c, DecodingBuffer } from '../encoding/index.js';
import type { Label } from '../labels/index.js';

export const MAGIC_INDEX = 0xbaaad700;
export const HEADER_LEN = 5;
export const FORMAT_V1 = 1;
export const FORMAT_V2 = 2;
/** Read-compatible with v2 (Prometheus ≥ 3.0 reads it as v2; nothing writes it yet). */
export const FORMAT_V3 = 3;
export const TOC_LEN = 6 * 8 + 4;
/** Series entries start at multiples of 16; a series ref is offset / 16. */
export const SERIES_ALIGN = 16;
/** Postings lists start at multiples of 4. */
export const POSTINGS_ALIGN = 4;

/** Section start offsets. Zero means absent. */
export interface TOC {
  symbols: number;
  series: number;
  labelIndices: number;
  labelIndicesTable: number;
  postings: number;
  postingsTable: number;
}

/** Chunk metadata as stored in a series entry. `ref` is segment << 32 | offset (< 2^53). */
export interface ChunkMeta {
  mint: number;
  maxt: number;
  ref: number;
}

/** A decoded series entry. */
export interface SeriesEntry {
  labels: Label[];
  chunks: ChunkMeta[];
}

const TEXT = new TextDecoder('utf-8');

/** Decodes UTF-8 bytes[start, end); short ASCII strings skip TextDecoder. */
export function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 32) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = bytes[i];
      if (c >= 0x80) return TEXT.decode(bytes.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return TEXT.decode(bytes.subarray(start, end));
}

function be32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/**
 * Checks the header at bytes[0…] and returns the format version (2 or 3).
 * Throws CorruptionError for a short file, bad magic or an unsupported version.
 */
export function readHeader(bytes: Uint8Array, file: string): number {
  if (bytes.length < HEADER_LEN) throw new CorruptionError(file, 0, `index header: file too small (${bytes.length} bytes)`);
  const magic = be32(bytes, 0);
  if (magic !== MAGIC_INDEX) throw new CorruptionError(file, 0, `invalid magic number ${magic.toString(16)}`);
  const version = bytes[4];
  if (version === FORMAT_V1) {
    throw new CorruptionError(file, 4, 'unsupported index format version 1 (only 2 and 3 are read)');
  }
  if (version !== FORMAT_V2 && version !== FORMAT_V3) {
    throw new CorruptionError(file, 4, `unknown index file version ${version}`);
  }
  return version;
}

/**
 * Reads and CRC-checks the TOC in the last TOC_LEN bytes of `bytes`, and checks that every
 * offset lies inside a file of `fileSize` bytes (default: bytes is the whole file).
 */
export function readTOC(bytes: Uint8Array, file: string, fileSize = bytes.length, base = fileSize - bytes.length): TOC {
  if (bytes.length < TOC_LEN || fileSize < HEADER_LEN + TOC_LEN) {
    throw new CorruptionError(file, base, `read TOC: file too small (${fileSize} bytes)`);
  }
  const at = bytes.length - TOC_LEN;
  const want = be32(bytes, at + TOC_LEN - 4);
  if (crc32c(bytes, at, at + TOC_LEN - 4) !== want) {
    throw new CorruptionError(file, base + at, 'read TOC: invalid checksum');
  }
  const d = new DecodingBuffer(bytes.subarray(at, at + TOC_LEN - 4), file, base + at);
  const toc: TOC = {
    symbols: d.be64(),
    series: d.be64(),
    labelIndices: d.be64(),
    labelIndicesTable: d.be64(),
    postings: d.be64(),
    postingsTable: d.be64(),
  };
  const tocStart = fileSize - TOC_LEN;
  for (const [k, v] of Object.entries(toc)) {
    if (v !== 0 && (v < HEADER_LEN || v > tocStart)) {
      throw new CorruptionError(file, base + at, `read TOC: ${k} offset ${v} outside the file (${fileSize} bytes)`);
    }
  }
  if (toc.symbols === 0 || toc.postingsTable === 0) {
    throw new CorruptionError(file, base + at, 'read TOC: no symbol table or postings offset table');
  }
  return toc;
}

/**
 * Checks a `len <4b> ‖ payload ‖ CRC32C <4b>` section at bytes[off] and returns the
 * payload range [start, end).
 */
export function readSection(bytes: Uint8Array, off: number, file: string, base: number, what: string): [number, number] {
  if (off < 0 || off + 4 > bytes.length) {
    throw new CorruptionError(file, base + off, `${what}: section header beyond end of data`);
  }
  const len = be32(bytes, off);
  const start = off + 4;
  const end = start + len;
  if (end + 4 > bytes.length) {
    throw new CorruptionError(file, base + off, `${what}: length ${len} runs past the end of data`);
  }
  if (crc32c(bytes, start, end) !== be32(bytes, end)) {
    throw new CorruptionError(file, base + off, `${what}: invalid checksum`);
  }
  return [start, end];
}

/** A parsed symbol table: symbol i is the uvarint-prefixed string at bytes[offsets[i]]. */
export interface SymbolTable {
  count: number;
  /** Offsets of each symbol's length varint, relative to bytes. */
  offsets: Uint32Array | Float64Array;
}

/** Reads and CRC-checks the symbol table at bytes[off]; V2/V3 ordinal references. */
export function readSymbolTable(bytes: Uint8Array, off: number, file: string, base = 0): SymbolTable {
  const [start, end] = readSection(bytes, off, file, base, 'read symbols');
  if (end - start < 4) throw new CorruptionError(file, base + off, 'read symbols: section too short');
  const count = be32(bytes, start);
  // Each symbol takes at least one byte.
  if (count > end - start - 4) throw new CorruptionError(file, base + start, `read symbols: ${count} symbols cannot fit`);
  const offsets = end <= 0xffffffff ? new Uint32Array(count) : new Float64Array(count);
  const d = new DecodingBuffer(bytes.subarray(0, end), file, base);
  d.pos = start + 4;
  for (let i = 0; i < count; i++) {
    offsets[i] = d.pos;
    const n = d.uvarint();
    d.skip(n);
  }
  if (d.pos !== end) throw new CorruptionError(file, base + d.pos, `read symbols: ${end - d.pos} stray bytes after ${count} symbols`);
  return { count, offsets };
}

/** The string of symbol table entry at bytes[off] (a uvarint length and UTF-8 bytes). */
export function symbolAt(bytes: Uint8Array, off: number): string {
  let n = 0;
  let mul = 1;
  let p = off;
  for (;;) {
    const b = bytes[p++];
    n += (b & 0x7f) * mul;
    if (b < 0x80) break;
    mul *= 128;
  }
  return decodeUtf8(bytes, p, p + n);
}

/**
 * Calls fn(name, value, postingsOffset, entryOffset) for each postings offset table entry
 * at bytes[off], in file order, after checking the CRC. Name strings are reused between
 * consecutive entries with the same name bytes. entryOffset is relative to bytes.
 */
export function readPostingsOffsetTable(
  bytes: Uint8Array,
  off: number,
  file: string,
  fn: (name: string, value: string, postingsOffset: number, entryOffset: number) => void,
  base = 0,
): number {
  const [start, end] = readSection(bytes, off, file, base, 'read postings offset table');
  if (end - start < 4) throw new CorruptionError(file, base + off, 'read postings offset table: section too short');
  const count = be32(bytes, start);
  const d = new DecodingBuffer(bytes.subarray(0, end), file, base);
  d.pos = start + 4;
  let prevStart = -1;
  let prevLen = -1;
  let prevName = '';
  for (let i = 0; i < count; i++) {
    const entry = d.pos;
    const keys = d.uvarint();
    if (keys !== 2) throw new CorruptionError(file, base + entry, `unexpected number of keys for postings offset table ${keys}`);
    const nlen = d.uvarint();
    const nstart = d.pos;
    d.skip(nlen);
    let name = prevName;
    if (nlen !== prevLen || !sameBytes(bytes, nstart, prevStart, nlen)) {
      name = decodeUtf8(bytes, nstart, nstart + nlen);
      prevName = name;
      prevStart = nstart;
      prevLen = nlen;
    }
    const vlen = d.uvarint();
    const vstart = d.pos;
    d.skip(vlen);
    const value = decodeUtf8(bytes, vstart, vstart + vlen);
    fn(name, value, d.uvarint(), entry);
  }
  if (d.pos !== end) {
    throw new CorruptionError(file, base + d.pos, `read postings offset table: ${end - d.pos} stray bytes after ${count} entries`);
  }
  return count;
}

function sameBytes(b: Uint8Array, a: number, c: number, n: number): boolean {
  if (c < 0) return false;
  for (let i = 0; i < n; i++) if (b[a + i] !== b[c + i]) return false;
  return true;
}

/**
 * Checks the postings list at bytes[off] and returns where its refs are:
 * `count` big-endian uint32 values from bytes[start].
 */
export function readPostingsList(bytes: Uint8Array, off: number, file: string, base = 0): { start: number; count: number } {
  const [start, end] = readSection(bytes, off, file, base, 'decode postings');
  if (end - start < 4) throw new CorruptionError(file, base + off, 'decode postings: list too short');
  const count = be32(bytes, start);
  if (end - start - 4 !== count * 4) {
    throw new CorruptionError(
      file,
      base + off,
      `decode postings: unexpected postings length, should be ${count * 4} bytes for ${count} postings, got ${end - start - 4} bytes`,
    );
  }
  return { start: start + 4, count };
}

/**
 * Decodes the series entry at bytes[off] (its uvarint length), checking its CRC unless
 * `verify` is false (the caller checked it once, see verifySeriesEntry), into out.
 * lookup(ordinal) resolves a symbol reference and throws for an unknown one.
 * Returns the offset just after the entry's CRC.
 */
export function decodeSeries(
  bytes: Uint8Array,
  off: number,
  file: string,
  lookup: (ref: number) => string,
  out: SeriesEntry,
  base = 0,
  verify = true,
): number {
  const d = new DecodingBuffer(bytes, file, base);
  d.pos = off;
  const len = d.uvarint();
  const start = d.pos;
  const end = start + len;
  if (end + 4 > bytes.length) throw new CorruptionError(file, base + off, `read series: length ${len} runs past the end of data`);
  if (verify && crc32c(bytes, start, end) !== be32(bytes, end)) throw new CorruptionError(file, base + off, 'read series: invalid checksum');
  // Reads stay within bytes; that they stay within the entry is checked at the end.
  const b = d;
  const labels = out.labels;
  labels.length = 0;
  readSeriesLabels(b, labels, lookup, file, base);
  const chunks = out.chunks;
  const c = b.uvarint();
  if (c > end - b.pos) throw new CorruptionError(file, base + b.pos, `read series: ${c} chunks cannot fit`);
  // Reuse the chunk meta objects already in out.
  if (chunks.length > c) chunks.length = c;
  if (c > 0) {
    let t0 = b.varint();
    let maxt = b.uvarint() + t0;
    let ref = b.uvarint();
    setChunk(chunks, 0, t0, maxt, ref);
    t0 = maxt;
    for (let i = 1; i < c; i++) {
      const mint = b.uvarint() + t0;
      maxt = b.uvarint() + mint;
      ref += b.varint();
      t0 = maxt;
      setChunk(chunks, i, mint, maxt, ref);
    }
  }
  if (b.pos !== end) throw new CorruptionError(file, base + off, `read series: entry of ${len} bytes holds ${b.pos - start} bytes of labels and chunks`);
  return end + 4;
}

function setChunk(chunks: ChunkMeta[], i: number, mint: number, maxt: number, ref: number): void {
  const c = chunks[i];
  if (c) {
    c.mint = mint;
    c.maxt = maxt;
    c.ref = ref;
  } else chunks[i] = { mint, maxt, ref };
}

/**
 * Checks that the series entry at bytes[off] (uvarint length ‖ body ‖ CRC32C) lies within
 * bytes and matches its CRC. Done once when an entry is read from the object, so that
 * decoding it again from a cache need not repeat it. Returns the offset after the CRC.
 */
export function verifySeriesEntry(bytes: Uint8Array, off: number, file: string, base = 0): number {
  const d = new DecodingBuffer(bytes, file, base);
  d.pos = off;
  const len = d.uvarint();
  const start = d.pos;
  const end = start + len;
  if (end + 4 > bytes.length) throw new CorruptionError(file, base + off, `read series: length ${len} runs past the end of data`);
  if (crc32c(bytes, start, end) !== be32(bytes, end)) throw new CorruptionError(file, base + off, 'read series: invalid checksum');
  return end + 4;
}

/**
 * Chunk metas as (mint, maxt, ref) triples in one growable Float64Array: what a batch of
 * series keeps of its entries without an object and three boxed numbers per chunk.
 */
export class ChunkMetaBuffer {
  /** The triples; replaced by a larger array when full, so read it after appending. */
  data: Float64Array;
  /** Metas held. */
  length = 0;

  constructor(capacity = 256) {
    this.data = new Float64Array(3 * Math.max(1, capacity));
  }

  push(mint: number, maxt: number, ref: number): void {
    let d = this.data;
    const at = 3 * this.length;
    if (at + 3 > d.length) {
      const grown = new Float64Array(2 * d.length);
      grown.set(d);
      this.data = d = grown;
    }
    d[at] = mint;
    d[at + 1] = maxt;
    d[at + 2] = ref;
    this.length++;
  }

  mint(i: number): number {
    return this.data[3 * i];
  }

  maxt(i: number): number {
    return this.data[3 * i + 1];
  }

  ref(i: number): number {
    return this.data[3 * i + 2];
  }
}

/**
 * Decodes the series entry at bytes[off] for a request over [mint, maxt], as Thanos'
 * decodeSeriesForTime: chunk metas outside the window are stepped over without being
 * materialised, decoding stops at the first chunk starting after maxt (the format keeps
 * a series' chunks in time order: each mint is a uvarint delta from the previous maxt),
 * and label symbols are looked up only for a series that keeps a chunk. The CRC is not
 * checked here: the entry must have passed verifySeriesEntry when it was read.
 *
 * The kept metas are appended to `metas`; when there are any, the labels are pushed to
 * `labels` (new objects, so the caller may keep them). Returns how many metas were kept:
 * on 0, `metas` and `labels` are as they were.
 */
export function decodeSeriesForTime(
  bytes: Uint8Array,
  off: number,
  file: string,
  lookup: (ref: number) => string,
  labels: Label[],
  metas: ChunkMetaBuffer,
  mint: number,
  maxt: number,
  base = 0,
): number {
  const b = new DecodingBuffer(bytes, file, base);
  b.pos = off;
  const len = b.uvarint();
  const end = b.pos + len;
  if (end > bytes.length) throw new CorruptionError(file, base + off, `read series: length ${len} runs past the end of data`);
  const from = metas.length;
  // Step over the label refs; they are resolved below only if the series is kept.
  const labelsAt = b.pos;
  const k = b.uvarint();
  for (let i = 0; i < 2 * k; i++) b.uvarint();
  const c = b.uvarint();
  if (c > end - b.pos) throw new CorruptionError(file, base + b.pos, `read series: ${c} chunks cannot fit`);
  if (c > 0) {
    let cmint = b.varint();
    let cmaxt = b.uvarint() + cmint;
    let ref = b.uvarint();
    // The hot loop of a Series call (3 varints per chunk, ~100s of chunks per series),
    // with the varints read inline: a call per varint costs 2-3x. The entry passed its CRC,
    // so bounds are checked once per chunk meta (a read past bytes yields undefined, which
    // ends a varint) instead of once per byte.
    let pos = b.pos;
    if (pos > end) throw new CorruptionError(file, base + off, 'read series: chunk meta 0 runs past the entry');
    for (let i = 0; ; ) {
      if (cmint > maxt) break;
      if (cmaxt >= mint) metas.push(cmint, cmaxt, ref);
      if (++i >= c) break;
      let x = bytes[pos++];
      let v = x & 0x7f;
      for (let m = 128; x >= 0x80; m *= 128) v += ((x = bytes[pos++]) & 0x7f) * m;
      cmint = v + cmaxt;
      x = bytes[pos++];
      v = x & 0x7f;
      for (let m = 128; x >= 0x80; m *= 128) v += ((x = bytes[pos++]) & 0x7f) * m;
      cmaxt = v + cmint;
      x = bytes[pos++];
      v = x & 0x7f;
      for (let m = 128; x >= 0x80; m *= 128) v += ((x = bytes[pos++]) & 0x7f) * m;
      ref += v % 2 === 0 ? v / 2 : -(v + 1) / 2;
      if (pos > end || cmaxt > Number.MAX_SAFE_INTEGER || ref > Number.MAX_SAFE_INTEGER) {
        metas.length = from;
        throw new CorruptionError(file, base + off, `read series: chunk meta ${i} runs past the entry or beyond 2^53`);
      }
    }
  }
  const kept = metas.length - from;
  if (kept === 0) return 0;
  b.pos = labelsAt;
  try {
    readSeriesLabels(b, labels, lookup, file, base);
  } catch (err) {
    metas.length = from;
    throw err;
  }
  return kept;
}

/** A series entry's label count and symbol references, at b.pos, resolved into labels. */
function readSeriesLabels(b: DecodingBuffer, labels: Label[], lookup: (ref: number) => string, file: string, base: number): void {
  const k = b.uvarint();
  for (let i = 0; i < k; i++) {
    const at = b.pos;
    const n = b.uvarint();
    const v = b.uvarint();
    let name: string;
    let value: string;
    try {
      name = lookup(n);
      value = lookup(v);
    } catch (e) {
      throw new CorruptionError(file, base + at, `read series: lookup label: ${(e as Error).message}`);
    }
    labels.push({ name, value });
  }
}
