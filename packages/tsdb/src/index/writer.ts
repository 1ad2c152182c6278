// IndexWriter writes a format v2 index file (see format.ts) the way Prometheus's
// tsdb/index.Writer does: symbols first, then series one by one in label-set order,
// then on close the postings, the postings offset table and the TOC.
//
// Series bytes go straight to the file through a buffered writer. What stays in memory
// is the symbol table and, per label pair occurrence, three uint32s (name and value
// symbol ordinals and the series ref), sorted into postings lists on close.
//
// Legacy sections: Prometheus ≤ 3.6 also wrote "label indices" and a "label offset
// table". We do not. Checked against Prometheus v2.42.0 (the Debian binaries we interop
// with, `git show v2.42.0:tsdb/index/index.go`): its reader parses those TOC fields but
// never reads the sections; LabelNames and LabelValues use the postings offset table.
// Like Prometheus ≥ 3.7 we set TOC.labelIndices = TOC.postings (the position after the
// series, before alignment) and TOC.labelIndicesTable = TOC.postingsTable (the end of
// the last postings list), which index-header builders that take labelIndicesTable as
// "end of the last postings list" also rely on.
import { crc32c, crc32cUpdate, EncodingBuffer, U32List } from '../encoding/index.js';
import { compareLabels, compareStrings, labelsToString, validateLabels, type Labels } from '../labels/index.js';
import { FileWriter } from './file-writer.js';
import { FORMAT_V2, MAGIC_INDEX, POSTINGS_ALIGN, SERIES_ALIGN, type ChunkMeta, type TOC } from './format.js';

const STAGE_NONE = 0;
const STAGE_SYMBOLS = 1;
const STAGE_SERIES = 2;
const STAGE_DONE = 3;
const STAGE_NAMES = ['none', 'symbols', 'series', 'done'];
const UTF8 = new TextEncoder();

interface OffsetTableEntries {
  entryNames: number[];
  entryValues: number[];
  entryOffsets: number[];
}

export class IndexWriter {
  private readonly f: FileWriter;
  private stage = STAGE_NONE;
  private readonly toc: TOC = { symbols: 0, series: 0, labelIndices: 0, labelIndicesTable: 0, postings: 0, postingsTable: 0 };

  // Symbols: their ordinals, and the encoded section body (kept: the postings offset
  // table reuses the encoded entries) with each entry's start.
  private readonly symbolIndex = new Map<string, number>();
  private readonly symbolBuf = new EncodingBuffer(1 << 16);
  private readonly symbolStarts = new U32List();
  private lastSymbol = '';
  private utf8Scratch = new Uint8Array(256);

  private lastSeries: Labels = [];
  private lastSeriesRef = -1;
  private lastChunkRef = 0;

  // Postings input: every series ref, and every (name ordinal, value ordinal, series ref)
  // label occurrence.
  private readonly allSeries = new U32List();
  private readonly refs = new U32List();
  private readonly occName = new U32List();
  private readonly occValue = new U32List();

  // Reusable buffers.
  private readonly body = new EncodingBuffer(1 << 12);
  private readonly head = new EncodingBuffer(16);
  private readonly crcBuf = new Uint8Array(4);

  /** Opens (truncates) the index file at path. */
  constructor(readonly path: string) {
    this.f = new FileWriter(path);
    const h = new EncodingBuffer(8);
    h.putBE32(MAGIC_INDEX);
    h.putByte(FORMAT_V2);
    this.f.write(h.get());
  }

  private ensureStage(s: number): void {
    if (this.stage === s) return;
    if (this.stage > s) throw new Error(`index writer: invalid stage "${STAGE_NAMES[s]}", currently at "${STAGE_NAMES[this.stage]}"`);
    if (this.stage < s - 1) this.ensureStage(s - 1);
    switch (s) {
      case STAGE_SYMBOLS:
        this.toc.symbols = this.f.pos;
        break;
      case STAGE_SERIES:
        this.finishSymbols();
        this.toc.series = this.f.pos;
        break;
      case STAGE_DONE: {
        this.toc.labelIndices = this.f.pos;
        this.toc.postings = this.f.pos;
        const table = this.writePostings();
        this.toc.labelIndicesTable = this.f.pos;
        this.toc.postingsTable = this.f.pos;
        this.writePostingsOffsetTable(table);
        this.writeTOC();
        break;
      }
    }
    this.stage = s;
  }

  /** Adds the next symbol; symbols must be unique and in ascending (UTF-8 byte) order. */
  addSymbol(sym: string): void {
    if (this.stage !== STAGE_SYMBOLS) this.ensureStage(STAGE_SYMBOLS);
    const n = this.symbolStarts.n;
    if (n > 0 && compareStrings(sym, this.lastSymbol) <= 0) {
      throw new Error(`index writer: symbol ${JSON.stringify(sym)} out-of-order`);
    }
    this.symbolIndex.set(sym, n);
    this.lastSymbol = sym;
    this.symbolStarts.push(this.symbolBuf.length);
    // encodeInto a reused scratch buffer: no allocation per symbol.
    if (this.utf8Scratch.length < sym.length * 3) this.utf8Scratch = new Uint8Array(sym.length * 3);
    const { written } = UTF8.encodeInto(sym, this.utf8Scratch);
    this.symbolBuf.putUvarint(written);
    this.symbolBuf.putBytes(this.utf8Scratch.subarray(0, written));
  }

  /** Adds every label name and value of the block, sorted and deduplicated. */
  addSymbols(symbols: Iterable<string>): void {
    for (const s of symbols) this.addSymbol(s);
  }

  private finishSymbols(): void {
    const body = this.symbolBuf.get();
    const size = 4 + body.length;
    if (size > 0xffffffff) throw new Error(`index writer: symbol table size exceeds 4294967295 bytes: ${size}`);
    const h = new EncodingBuffer(8);
    h.putBE32(size);
    h.putBE32(this.symbolStarts.n);
    let crc = crc32cUpdate(0, h.get(), 4, 8);
    crc = crc32cUpdate(crc, body);
    this.f.write(h.get());
    this.f.write(body);
    this.writeCRC(crc);
    this.symbolStarts.push(body.length); // end of the last entry
  }

  private writeCRC(crc: number): void {
    const b = this.crcBuf;
    b[0] = crc >>> 24;
    b[1] = (crc >>> 16) & 0xff;
    b[2] = (crc >>> 8) & 0xff;
    b[3] = crc & 0xff;
    this.f.write(b);
  }

  /**
   * Adds a series with its chunks. Series must come in strictly increasing label-set
   * order; chunk refs must not decrease (within and across series), chunks must not
   * overlap in time. `ref`, when given, is the caller's own series ref and must not
   * decrease either. Returns the series' ref in this index (its byte offset / 16).
   */
  addSeries(labels: Labels, chunks: readonly ChunkMeta[]): number;
  addSeries(ref: number, labels: Labels, chunks: readonly ChunkMeta[]): number;
  addSeries(a: number | Labels, b: Labels | readonly ChunkMeta[], c?: readonly ChunkMeta[]): number {
    const ref = typeof a === 'number' ? a : -1;
    const lset = (typeof a === 'number' ? b : a) as Labels;
    const chunks = (typeof a === 'number' ? c : b) as readonly ChunkMeta[];
    if (this.stage !== STAGE_SERIES) this.ensureStage(STAGE_SERIES);

    const invalid = validateLabels(lset);
    if (invalid) throw new Error(`index writer: invalid label set ${labelsToString(lset)}: ${invalid}`);
    if (compareLabels(lset, this.lastSeries) <= 0) {
      throw new Error(
        `index writer: out-of-order series added with label set ${labelsToString(lset)}, last label set ${labelsToString(this.lastSeries)}`,
      );
    }
    if (ref >= 0 && ref < this.lastSeriesRef && this.lastSeries.length > 0) {
      throw new Error(`index writer: series with reference greater than ${ref} already added`);
    }
    let lastChunkRef = this.lastChunkRef;
    let lastMaxT = 0;
    for (let i = 0; i < chunks.length; i++) {
      const ch = chunks[i];
      if (ch.ref < lastChunkRef) throw new Error(`index writer: unsorted chunk reference: ${ch.ref}, previous: ${lastChunkRef}`);
      lastChunkRef = ch.ref;
      if (i > 0 && ch.mint <= lastMaxT) {
        throw new Error(`index writer: chunk minT ${ch.mint} is not higher than previous chunk maxT ${lastMaxT}`);
      }
      if (ch.maxt < ch.mint) throw new Error(`index writer: chunk maxT ${ch.maxt} is less than minT ${ch.mint}`);
      lastMaxT = ch.maxt;
    }

    const e = this.body;
    e.reset();
    e.putUvarint(lset.length);
    // Resolve every symbol before touching the file or the postings input.
    const start = this.occName.n;
    for (const l of lset) {
      const n = this.symbolIndex.get(l.name);
      if (n === undefined) throw this.missingSymbol(l.name, start);
      const v = this.symbolIndex.get(l.value);
      if (v === undefined) throw this.missingSymbol(l.value, start);
      e.putUvarint(n);
      e.putUvarint(v);
      this.occName.push(n);
      this.occValue.push(v);
    }
    e.putUvarint(chunks.length);
    if (chunks.length > 0) {
      let ch = chunks[0];
      e.putVarint(ch.mint);
      e.putUvarint(ch.maxt - ch.mint);
      e.putUvarint(ch.ref);
      let t0 = ch.maxt;
      let ref0 = ch.ref;
      for (let i = 1; i < chunks.length; i++) {
        ch = chunks[i];
        e.putUvarint(ch.mint - t0);
        e.putUvarint(ch.maxt - ch.mint);
        t0 = ch.maxt;
        e.putVarint(ch.ref - ref0);
        ref0 = ch.ref;
      }
    }

    // 16-byte alignment makes 4-byte refs address 64 GiB.
    this.f.addPadding(SERIES_ALIGN);
    const seriesRef = this.f.pos / SERIES_ALIGN;
    if (seriesRef > 0xffffffff) throw new Error('index writer: series offset exceeds 4 bytes');
    const bodyBytes = e.get();
    this.head.reset();
    this.head.putUvarint(bodyBytes.length);
    this.f.write(this.head.get());
    this.f.write(bodyBytes);
    this.writeCRC(crc32c(bodyBytes));

    for (let i = start; i < this.occName.n; i++) this.refs.push(seriesRef);
    this.allSeries.push(seriesRef);
    this.lastSeries = lset.slice();
    if (ref >= 0) this.lastSeriesRef = ref;
    this.lastChunkRef = lastChunkRef;
    return seriesRef;
  }

  private missingSymbol(sym: string, occStart: number): Error {
    this.occName.n = occStart;
    this.occValue.n = occStart;
    return new Error(`index writer: symbol entry for ${JSON.stringify(sym)} does not exist`);
  }

  /**
   * Writes the postings lists: all series for ("", ""), then per label name per value
   * (both ascending), each list 4-byte aligned and so contiguous; then the offset table.
   */
  private writePostings(): OffsetTableEntries {
    const n = this.occName.n;
    const names = this.occName.a;
    const values = this.occValue.a;
    const refs = this.refs.a;
    const numSymbols = this.symbolIndex.size;

    // Stable counting sorts, by value then by name ordinal: occurrences grouped by
    // (name, value) pair in symbol (= string) order, refs ascending within a pair since
    // series were added in ref order.
    const byValue = countingSort(values, n, numSymbols, null);
    const order = countingSort(names, n, numSymbols, byValue);

    // Offset table entries: name and value ordinals (-1 for the "" of the all-postings
    // key) and list offsets.
    const entryNames: number[] = [];
    const entryValues: number[] = [];
    const entryOffsets: number[] = [];

    this.f.addPadding(POSTINGS_ALIGN);
    entryNames.push(-1);
    entryValues.push(-1);
    entryOffsets.push(this.f.pos);
    this.writePostingsList(this.allSeries.a, 0, this.allSeries.n);

    const list = new U32List(1024);
    let i = 0;
    while (i < n) {
      const nm = names[order[i]];
      const vl = values[order[i]];
      list.n = 0;
      while (i < n && names[order[i]] === nm && values[order[i]] === vl) list.push(refs[order[i++]]);
      this.f.addPadding(POSTINGS_ALIGN);
      entryNames.push(nm);
      entryValues.push(vl);
      entryOffsets.push(this.f.pos);
      this.writePostingsList(list.a, 0, list.n);
    }

    return { entryNames, entryValues, entryOffsets };
  }

  private writePostingsList(refs: Uint32Array, from: number, to: number): void {
    const e = this.body;
    e.reset();
    const count = to - from;
    e.putBE32(4 + 4 * count);
    e.putBE32(count);
    for (let i = from; i < to; i++) e.putBE32(refs[i]);
    const b = e.get();
    this.f.write(b);
    this.writeCRC(crc32c(b, 4));
  }

  private writePostingsOffsetTable(t: OffsetTableEntries): void {
    const start = this.f.pos;
    const e = this.body;
    e.reset();
    e.putBE32(0); // length, patched below
    e.putBE32(t.entryNames.length);
    let crc = crc32cUpdate(0, e.get(), 4);
    this.f.write(e.get());
    // Names and values are copied from the encoded symbol table (uvarint len ‖ bytes).
    const syms = this.symbolBuf.get();
    const starts = this.symbolStarts.a;
    for (let k = 0; k < t.entryNames.length; k++) {
      const nm = t.entryNames[k];
      const vl = t.entryValues[k];
      e.reset();
      e.putByte(2);
      if (nm < 0) e.putByte(0);
      else e.putBytes(syms.subarray(starts[nm], starts[nm + 1]));
      if (vl < 0) e.putByte(0);
      else e.putBytes(syms.subarray(starts[vl], starts[vl + 1]));
      e.putUvarint(t.entryOffsets[k]);
      crc = crc32cUpdate(crc, e.get());
      this.f.write(e.get());
    }
    const len = this.f.pos - start - 4;
    if (len > 0xffffffff) throw new Error(`index writer: postings offset table length/crc32 write error: length size exceeds 4 bytes: ${len}`);
    const lb = new EncodingBuffer(4);
    lb.putBE32(len);
    this.f.writeAt(lb.get(), start);
    this.writeCRC(crc);
  }

  private writeTOC(): void {
    const e = new EncodingBuffer(64);
    const t = this.toc;
    for (const v of [t.symbols, t.series, t.labelIndices, t.labelIndicesTable, t.postings, t.postingsTable]) e.putBE64(v);
    this.f.write(e.get());
    this.writeCRC(crc32c(e.get()));
  }

  /** Writes postings, the postings offset table and the TOC, then fsyncs and closes the file. */
  close(): void {
    if (this.stage === STAGE_DONE) return;
    try {
      this.ensureStage(STAGE_DONE);
      this.f.close();
    } catch (err) {
      this.f.abort();
      throw err;
    }
  }

  /** Gives up: closes and removes the partial file. */
  abort(): void {
    this.stage = STAGE_DONE;
    this.f.abort();
  }
}

/**
 * Stable counting sort of the indices [0, n) (or of `perm`, when given) by keys[i]
 * in [0, range). Returns the sorted permutation.
 */
function countingSort(keys: Uint32Array, n: number, range: number, perm: Uint32Array | null): Uint32Array {
  const counts = new Uint32Array(range + 1);
  for (let i = 0; i < n; i++) counts[keys[i] + 1]++;
  for (let k = 1; k <= range; k++) counts[k] += counts[k - 1];
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const idx = perm ? perm[i] : i;
    out[counts[keys[idx]]++] = idx;
  }
  return out;
}
