// Builds a store gateway's index-header file from a block's index in object storage,
// as Thanos' indexheader.WriteBinary does, with ranged reads only: the index TOC, the
// 5-byte index header, the symbol table and the postings offset table (which runs to
// the end of the file and so drags the index TOC along). Series and postings lists,
// almost all of an index, are never fetched. See format.ts for the layout.
import { addAbortSignal, type Readable } from 'node:stream';
import { getRangeBytes, type Bucket } from '@thanos-ts/objstore';
import { writeFileAtomic } from '@thanos-ts/runtime';
import { CorruptionError, crc32c, crc32cUpdate, HEADER_LEN, MAGIC_INDEX, readTOC, TOC_LEN } from '@thanos-ts/tsdb';
import { wrapError } from './errors.js';
import {
  BINARY_FORMAT_V1,
  INDEX_HEADER_HEADER_LEN,
  INDEX_HEADER_TOC_LEN,
  INDEX_VERSION_V1,
  INDEX_VERSION_V2,
  MAGIC_INDEX_HEADER,
} from './format.js';

export interface WriteIndexHeaderOptions {
  /** Aborts the downloads; the partial file is removed and the abort reason rethrown. */
  signal?: AbortSignal;
}

export interface WriteIndexHeaderResult {
  /** Size of the index-header file written. */
  bytes: number;
  /** Bytes read from the bucket. */
  fetchedBytes: number;
}

/**
 * Writes the index-header of block `blockId` (from `<blockId>/index` in bkt) to `file`,
 * usually `<data-dir>/<ULID>/index-header`. The file appears atomically (writeFileAtomic:
 * a temporary file fsynced, renamed, directory fsynced) and its content is byte for byte what
 * Thanos writes. The copied sections are CRC-checked on the way.
 *
 * @throws CorruptionError (message `build index-header: block <id>: …`) for an index
 *   that is damaged or of a version other than 1 or 2; ObjectNotFoundError for a
 *   missing index; the abort reason when opts.signal fires.
 */
export async function writeIndexHeader(
  bkt: Bucket,
  blockId: string,
  file: string,
  opts: WriteIndexHeaderOptions = {},
): Promise<WriteIndexHeaderResult> {
  const { signal } = opts;
  const obj = `${blockId}/index`;
  const fetched = { bytes: 0 };
  try {
    signal?.throwIfAborted();
    const { size } = await bkt.attributes(obj);
    if (size < HEADER_LEN + TOC_LEN) throw new CorruptionError(obj, 0, `index too small (${size} bytes)`);

    const [head, tail] = await Promise.all([
      fetchRange(bkt, obj, 0, HEADER_LEN, fetched),
      fetchRange(bkt, obj, size - TOC_LEN, TOC_LEN, fetched),
    ]);
    const magic = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
    if (magic !== MAGIC_INDEX) throw new CorruptionError(obj, 0, `invalid magic number ${magic.toString(16)}`);
    const version = head[4];
    if (version !== INDEX_VERSION_V1 && version !== INDEX_VERSION_V2) {
      throw new CorruptionError(obj, 4, `unsupported index version ${version} (an index-header is built from versions 1 and 2 only)`);
    }
    const toc = readTOC(tail, obj, size);
    if (toc.series <= toc.symbols) {
      throw new CorruptionError(obj, size - TOC_LEN, `TOC: series offset ${toc.series} not after symbols offset ${toc.symbols}`);
    }
    if (toc.postingsTable < toc.series) {
      throw new CorruptionError(obj, size - TOC_LEN, `TOC: postings offset table ${toc.postingsTable} before the series ${toc.series}`);
    }
    signal?.throwIfAborted();

    const symbolsLen = toc.series - toc.symbols;
    const tableLen = size - toc.postingsTable;
    const parts = indexHeaderParts(bkt, obj, version, toc, symbolsLen, tableLen, fetched, signal);
    const bytes = await writeFileAtomic(file, parts, { mode: 0o600, mkdir: true, signal });
    return { bytes, fetchedBytes: fetched.bytes };
  } catch (err) {
    if (signal?.aborted) throw err;
    throw wrapError(err, `build index-header: block ${blockId}`);
  }
}

/**
 * The index-header's bytes in file order: header, symbol table, postings offset table
 * (with the index TOC after it), index-header TOC. The copied sections are checked as
 * they stream past; a damaged one throws before the TOC is produced.
 */
async function* indexHeaderParts(
  bkt: Bucket,
  obj: string,
  version: number,
  toc: { symbols: number; postingsTable: number },
  symbolsLen: number,
  tableLen: number,
  fetched: { bytes: number },
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  const header = Buffer.alloc(INDEX_HEADER_HEADER_LEN);
  header.writeUInt32BE(MAGIC_INDEX_HEADER, 0);
  header[4] = BINARY_FORMAT_V1;
  header[5] = version;
  // Thanos records where the postings offset table starts as the end of the last
  // postings list. With a (legacy) label offset table in between it overshoots; the
  // reader finds the exact end from the index TOC copied along with the table.
  writeBE64(header, 6, toc.postingsTable);
  yield header;

  const symbolsAt = INDEX_HEADER_HEADER_LEN;
  const symbols = new SectionCheck(obj, toc.symbols, 'symbols');
  yield* copyRange(bkt, obj, toc.symbols, symbolsLen, symbols, fetched, signal);
  symbols.finish();

  const tableAt = symbolsAt + symbolsLen;
  const table = new SectionCheck(obj, toc.postingsTable, 'postings offset table');
  yield* copyRange(bkt, obj, toc.postingsTable, tableLen, table, fetched, signal);
  // The section must end before the index TOC that follows it.
  if (table.finish() > tableLen - TOC_LEN) {
    throw new CorruptionError(obj, toc.postingsTable, 'postings offset table: runs into the TOC');
  }

  const htoc = Buffer.alloc(INDEX_HEADER_TOC_LEN);
  writeBE64(htoc, 0, symbolsAt);
  writeBE64(htoc, 8, tableAt);
  htoc.writeUInt32BE(crc32c(htoc, 0, 16), 16);
  yield htoc;
}

async function fetchRange(bkt: Bucket, obj: string, offset: number, length: number, fetched: { bytes: number }): Promise<Uint8Array> {
  const b = await getRangeBytes(bkt, obj, offset, length);
  fetched.bytes += b.length;
  if (b.length !== length) throw new CorruptionError(obj, offset, `short read: got ${b.length} of ${length} bytes`);
  return b;
}

/** Streams index[offset, offset+length), feeding every byte to check. */
async function* copyRange(
  bkt: Bucket,
  obj: string,
  offset: number,
  length: number,
  check: SectionCheck,
  fetched: { bytes: number },
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  let rd: Readable = await bkt.getRange(obj, offset, length);
  if (signal) rd = addAbortSignal(signal, rd);
  let got = 0;
  try {
    for await (const chunk of rd as AsyncIterable<Uint8Array>) {
      got += chunk.length;
      fetched.bytes += chunk.length;
      if (got > length) break;
      check.update(chunk);
      yield chunk;
    }
  } finally {
    rd.destroy();
  }
  if (got !== length) throw new CorruptionError(obj, offset, `read ${check.what}: got ${got} bytes for a range of ${length}`);
}

/**
 * Verifies, as bytes stream past, that a range starts with a `len <4b> ‖ payload ‖
 * CRC32C(payload) <4b>` section.
 */
class SectionCheck {
  private pos = 0;
  private len = -1;
  private crc = 0;
  private readonly lenBytes = new Uint8Array(4);
  private readonly crcBytes = new Uint8Array(4);

  constructor(
    private readonly file: string,
    private readonly base: number,
    readonly what: string,
  ) {}

  update(c: Uint8Array): void {
    const start = this.pos;
    const end = start + c.length;
    for (let p = start; p < end && p < 4; p++) this.lenBytes[p] = c[p - start];
    if (this.len < 0 && end >= 4) this.len = be32(this.lenBytes, 0);
    if (this.len >= 0) {
      const payloadEnd = 4 + this.len;
      const s = Math.max(start, 4);
      const e = Math.min(end, payloadEnd);
      if (s < e) this.crc = crc32cUpdate(this.crc, c, s - start, e - start);
      for (let p = Math.max(start, payloadEnd); p < end && p < payloadEnd + 4; p++) this.crcBytes[p - payloadEnd] = c[p - start];
    }
    this.pos = end;
  }

  /** Checks the section is complete and intact; returns its size (8 + len). */
  finish(): number {
    if (this.len < 0 || this.pos < this.len + 8) {
      throw new CorruptionError(this.file, this.base, `${this.what}: section of ${this.len} bytes runs past the end of its range (${this.pos} bytes)`);
    }
    if (this.crc !== be32(this.crcBytes, 0)) throw new CorruptionError(this.file, this.base, `${this.what}: invalid checksum`);
    return this.len + 8;
  }
}

function be32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/** v < 2^53: index offsets are below 64 GiB. */
function writeBE64(b: Buffer, at: number, v: number): void {
  b.writeUInt32BE(Math.floor(v / 0x1_0000_0000), at);
  b.writeUInt32BE(v >>> 0, at + 4);
}
