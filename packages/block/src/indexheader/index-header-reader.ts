// IndexHeaderReader answers a store gateway's label and postings lookups for one block
// from its index-header file (format.ts), as Thanos' indexheader.BinaryReader does.
//
// The file is read into one Buffer (our mmap) and checked: magic, version, TOC CRC, the
// symbol table and postings offset table CRCs, and the structure of every table entry.
// Besides that Buffer only typed arrays and one small record per label name stay in
// memory: every 32nd symbol's position, and of the postings offset table every Nth
// entry of each label name plus its last (N = postingOffsetsInMemSampling, Thanos'
// sampling scheme). Strings are decoded when asked for; lookups binary-search the
// sampled entries and scan forward at most N entries, without allocating per entry.
//
// A postings list ends where the next one in the table begins: Prometheus writes the
// lists contiguously (4-byte aligned, each a multiple of 4 bytes) in table order, which
// opening checks as far as it can (offsets strictly increasing). The list of the last
// entry ends at the index TOC's label_offset_table, the position after the last list in
// every Prometheus index (Thanos instead uses the header's lastPostingEnd, the start of
// the postings offset table, overshooting by the legacy label offset table in indexes
// written before Prometheus 3.7; we fall back to it only if label_offset_table is
// implausible). The index TOC is read from the end of the copied postings offset table.
//
// Index version 1 (Prometheus < 2.13) is supported as Thanos supports it: symbol refs are
// byte offsets into the index rather than ordinals, and the postings offset table need
// not be sorted, so every entry is kept (sorted by name and value) with its end.
import { open } from 'node:fs/promises';
import { CorruptionError, crc32c, readSection, readTOC, TOC_LEN, U32List, type TOC } from '@thanos-ts/tsdb';
import {
  BINARY_FORMAT_V1,
  DEFAULT_POSTING_OFFSETS_IN_MEM_SAMPLING,
  INDEX_HEADER_HEADER_LEN,
  INDEX_HEADER_TOC_LEN,
  INDEX_VERSION_V1,
  INDEX_VERSION_V2,
  MAGIC_INDEX_HEADER,
  type PostingsRange,
} from './format.js';

export interface IndexHeaderReaderOptions {
  /**
   * Keep every Nth value of each label name (plus its last) in memory; lookups scan
   * at most N table entries. Default 32, as Thanos.
   */
  postingOffsetsInMemSampling?: number;
}

/** Every SYMBOL_FACTOR-th symbol position is kept (Prometheus index.symbolFactor). */
const SYMBOL_FACTOR = 32;
const SYMBOL_FACTOR_SHIFT = 5;
/** Direct-mapped cache of decoded symbols: fixed size, so memory does not grow with use. */
const SYMBOL_CACHE_SIZE = 1024;
/** The smallest postings list: len, #entries, CRC. */
const MIN_POSTINGS_LIST = 12;
const TWO32 = 0x1_0000_0000;
const EMPTY = Buffer.alloc(0);

/** A label name in the postings offset table. */
interface LabelNameEntry {
  readonly name: string;
  /** Index of the name's first sampled entry in samplePos. */
  readonly firstSample: number;
  readonly sampleCount: number;
  /** Number of values (table entries) of the name. */
  readonly valueCount: number;
  /**
   * Bytes of `n ‖ len(name) ‖ name` that start each of the name's entries; the same
   * for all of them, so scans skip it instead of parsing it.
   */
  readonly prefixLen: number;
  /** End in the index of the postings list of the name's last value. */
  readonly lastEnd: number;
}

interface NameBuilder {
  name: string;
  firstSample: number;
  valueCount: number;
  prefixLen: number;
  lastEntry: number;
}

export class IndexHeaderReader {
  /** Version byte of the index the header was built from: 1 or 2. */
  readonly indexVersion: number;
  /** The header's lastPostingEnd: the index's postings offset table start. */
  readonly lastPostingEnd: number;
  /** The TOC of the index the header was built from. */
  readonly indexTOC: TOC;

  private buf: Buffer;
  private closed = false;
  private readonly sampling: number;

  // Symbols: the section's payload [symStart, symEnd) in buf, starting with #symbols.
  private readonly symStart: number;
  private readonly symEnd: number;
  private readonly symbolCount: number;
  /** v2: position in buf of every SYMBOL_FACTOR-th symbol. */
  private readonly symSamples: Uint32Array;
  // NaN never equals a ref, so empty slots never hit.
  private readonly cacheRefs = new Float64Array(SYMBOL_CACHE_SIZE).fill(NaN);
  private readonly cacheVals: string[] = new Array<string>(SYMBOL_CACHE_SIZE);

  // Postings offset table: positions in buf of the sampled entries, grouped by label
  // name and in table (= value) order within a name. For v1 indexes every entry is
  // kept, and its list's end is in sampleEnds.
  private samplePos: Uint32Array;
  private sampleEnds: Float64Array | null = null;
  private names = new Map<string, LabelNameEntry>();
  private sortedNames: string[] = [];

  // The entry last read by readEntry or parseEntry: name bytes at ns (nl long, parseEntry
  // only), value bytes [vs, ve), postings offset, next entry; next is also where
  // uvarintChecked stopped.
  private ns = 0;
  private nl = 0;
  private vs = 0;
  private ve = 0;
  private off = 0;
  private next = 0;

  private readonly heldBytes: number;

  private constructor(
    bytes: Uint8Array,
    /** The index-header file, named in errors. */
    readonly file: string,
    opts: IndexHeaderReaderOptions,
  ) {
    const sampling = opts.postingOffsetsInMemSampling ?? DEFAULT_POSTING_OFFSETS_IN_MEM_SAMPLING;
    if (!Number.isSafeInteger(sampling) || sampling < 1) {
      throw new RangeError(`index-header: postingOffsetsInMemSampling must be a positive integer, got ${sampling}`);
    }
    this.sampling = sampling;
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.buf = b;
    const n = b.length;

    // Header.
    if (n < INDEX_HEADER_HEADER_LEN + INDEX_HEADER_TOC_LEN) this.corrupt(0, `index-header too small (${n} bytes)`);
    const magic = b.readUInt32BE(0);
    if (magic !== MAGIC_INDEX_HEADER) this.corrupt(0, `invalid magic number ${magic.toString(16)}`);
    if (b[4] !== BINARY_FORMAT_V1) this.corrupt(4, `unknown index-header file version ${b[4]}`);
    this.indexVersion = b[5];
    if (this.indexVersion !== INDEX_VERSION_V1 && this.indexVersion !== INDEX_VERSION_V2) {
      this.corrupt(5, `unsupported index version ${this.indexVersion}`);
    }
    this.lastPostingEnd = this.be64(6);

    // TOC.
    const tocAt = n - INDEX_HEADER_TOC_LEN;
    if (crc32c(b, tocAt, tocAt + 16) !== b.readUInt32BE(tocAt + 16)) this.corrupt(tocAt, 'read index-header TOC: invalid checksum');
    const symbolsAt = this.be64(tocAt);
    const tableAt = this.be64(tocAt + 8);
    const indexTocAt = tocAt - TOC_LEN;
    if (symbolsAt < INDEX_HEADER_HEADER_LEN || tableAt <= symbolsAt || tableAt > indexTocAt) {
      this.corrupt(tocAt, `read index-header TOC: bad offsets (symbols ${symbolsAt}, postings offset table ${tableAt}) for a file of ${n} bytes`);
    }
    // The index's own TOC ends the copied postings offset table; the index was
    // lastPostingEnd (its postings offset table start) + the copied bytes long.
    const indexSize = this.lastPostingEnd + (tocAt - tableAt);
    this.indexTOC = readTOC(b.subarray(indexTocAt, tocAt), file, indexSize, indexTocAt);
    if (this.indexTOC.postingsTable !== this.lastPostingEnd) {
      this.corrupt(6, `lastPostingEnd ${this.lastPostingEnd} is not the index's postings offset table ${this.indexTOC.postingsTable}`);
    }
    if (tableAt - symbolsAt !== this.indexTOC.series - this.indexTOC.symbols) {
      this.corrupt(tocAt, `symbols copy of ${tableAt - symbolsAt} bytes does not match the index's ${this.indexTOC.series - this.indexTOC.symbols}`);
    }

    // Symbols.
    const [symStart, symEnd] = readSection(b, symbolsAt, file, 0, 'read symbols');
    if (symEnd + 4 > tableAt) this.corrupt(symbolsAt, 'read symbols: section runs into the postings offset table');
    if (symEnd - symStart < 4) this.corrupt(symbolsAt, 'read symbols: section too short');
    this.symStart = symStart;
    this.symEnd = symEnd;
    this.symbolCount = b.readUInt32BE(symStart);
    if (this.symbolCount > symEnd - symStart - 4) this.corrupt(symStart, `read symbols: ${this.symbolCount} symbols cannot fit`);
    const v2 = this.indexVersion === INDEX_VERSION_V2;
    this.symSamples = new Uint32Array(v2 ? Math.ceil(this.symbolCount / SYMBOL_FACTOR) : 0);
    let p = symStart + 4;
    for (let i = 0; i < this.symbolCount; i++) {
      if (v2 && (i & (SYMBOL_FACTOR - 1)) === 0) this.symSamples[i >>> SYMBOL_FACTOR_SHIFT] = p;
      p = this.skipString(p, symEnd, 'read symbols');
    }
    if (p !== symEnd) this.corrupt(p, `read symbols: ${symEnd - p} stray bytes after ${this.symbolCount} symbols`);

    // Postings offset table.
    const [tStart, tEnd] = readSection(b, tableAt, file, 0, 'read postings offset table');
    if (tEnd + 4 > indexTocAt) this.corrupt(tableAt, 'read postings offset table: section runs into the index TOC');
    if (tEnd - tStart < 4) this.corrupt(tableAt, 'read postings offset table: section too short');
    if (v2) this.samplePos = this.loadSampled(tStart, tEnd);
    else this.samplePos = this.loadAll(tStart, tEnd);

    this.heldBytes =
      b.byteLength +
      this.symSamples.byteLength +
      this.samplePos.byteLength +
      (this.sampleEnds?.byteLength ?? 0) +
      this.cacheRefs.byteLength +
      SYMBOL_CACHE_SIZE * 8 +
      [...this.names.keys()].reduce((s, k) => s + 96 + 2 * k.length, 0);
  }

  /**
   * Reads and checks the index-header file.
   * @throws CorruptionError naming the file for any damage or unsupported version
   */
  static async open(file: string, opts: IndexHeaderReaderOptions = {}): Promise<IndexHeaderReader> {
    return new IndexHeaderReader(await readWholeFile(file), file, opts);
  }

  /** As open, for an index-header already in memory (`file` names it in errors). */
  static fromBytes(bytes: Uint8Array, file = 'index-header', opts: IndexHeaderReaderOptions = {}): IndexHeaderReader {
    return new IndexHeaderReader(bytes, file, opts);
  }

  /** Bytes of memory held (the file and the sampled tables), for a reader pool's budget. */
  get byteSize(): number {
    return this.closed ? 0 : this.heldBytes;
  }

  /**
   * The symbol a series entry refers to: for v2 indexes ref is the symbol's ordinal,
   * for v1 its byte offset in the index file.
   * @throws RangeError for a ref that names no symbol
   */
  lookupSymbol(ref: number): string {
    this.checkOpen();
    const slot = ref & (SYMBOL_CACHE_SIZE - 1);
    if (this.cacheRefs[slot] === ref) return this.cacheVals[slot];
    let p: number;
    if (this.indexVersion === INDEX_VERSION_V2) {
      if (!(ref >= 0 && ref < this.symbolCount && Number.isInteger(ref))) throw new RangeError(`unknown symbol ref ${ref}`);
      p = this.symSamples[ref >>> SYMBOL_FACTOR_SHIFT];
      for (let k = ref & (SYMBOL_FACTOR - 1); k > 0; k--) p = this.skipString(p, this.symEnd, 'lookup symbol');
    } else {
      // The symbol table starts at indexTOC.symbols in the index, at symStart - 4 here.
      p = ref - this.indexTOC.symbols + this.symStart - 4;
      if (!(p >= this.symStart + 4 && p < this.symEnd && Number.isInteger(ref))) throw new RangeError(`unknown symbol ref ${ref}`);
    }
    const s = this.stringAt(p, this.symEnd);
    this.cacheRefs[slot] = ref;
    this.cacheVals[slot] = s;
    return s;
  }

  /** Label names in UTF-8 byte order, without the all-postings key "". */
  labelNames(): string[] {
    this.checkOpen();
    return this.sortedNames.slice();
  }

  /** Values of label name (in UTF-8 byte order) that match (all if no match); [] when absent. */
  labelValues(name: string, match?: (value: string) => boolean): string[] {
    this.checkOpen();
    const e = this.names.get(name);
    if (!e) return [];
    const out: string[] = [];
    if (this.sampleEnds) {
      for (let i = e.firstSample; i < e.firstSample + e.valueCount; i++) {
        this.readEntry(this.samplePos[i], e.prefixLen);
        const v = this.buf.toString('utf8', this.vs, this.ve);
        if (!match || match(v)) out.push(v);
      }
      return out;
    }
    let pos = this.samplePos[e.firstSample];
    for (let i = 0; i < e.valueCount; i++) {
      this.readEntry(pos, e.prefixLen);
      pos = this.next;
      const v = this.buf.toString('utf8', this.vs, this.ve);
      if (!match || match(v)) out.push(v);
    }
    return out;
  }

  /**
   * The byte ranges in the index of the postings lists of name=values[i], each from its
   * length field through its CRC, or null for a value (or name) not in the index.
   * Values may come in any order and repeat.
   */
  postingsRanges(name: string, values: readonly string[]): (PostingsRange | null)[] {
    this.checkOpen();
    const out = new Array<PostingsRange | null>(values.length).fill(null);
    const e = this.names.get(name);
    if (!e || values.length === 0) return out;

    // Encode the wanted values once, to compare bytes with the table's.
    const starts = new Uint32Array(values.length + 1);
    let total = 0;
    for (let i = 0; i < values.length; i++) {
      starts[i] = total;
      total += Buffer.byteLength(values[i], 'utf8');
    }
    starts[values.length] = total;
    const want = Buffer.allocUnsafe(total);
    for (let i = 0; i < values.length; i++) want.write(values[i], starts[i], 'utf8');

    // Visit the values in byte order so that the cursor only moves forward.
    let order: number[] | null = null;
    for (let i = 1; i < values.length; i++) {
      if (compareBytes(want, starts[i - 1], starts[i], want, starts[i], starts[i + 1]) > 0) {
        order = Array.from(values, (_, k) => k).sort((x, y) => compareBytes(want, starts[x], starts[x + 1], want, starts[y], starts[y + 1]));
        break;
      }
    }

    if (this.sampleEnds) {
      for (let k = 0; k < values.length; k++) {
        const i = order ? order[k] : k;
        const at = this.findExact(e, want, starts[i], starts[i + 1]);
        if (at >= 0) out[i] = { start: this.off, end: this.sampleEnds[at] };
      }
      return out;
    }

    const lastSample = e.firstSample + e.sampleCount - 1;
    // Cursor: an entry of the name (position, value index) and the last sample at or before it.
    let curSample = -1;
    let curPos = 0;
    let curIdx = 0;
    for (let k = 0; k < values.length; k++) {
      const i = order ? order[k] : k;
      const ws = starts[i];
      const we = starts[i + 1];
      // Scanning on from the cursor is bounded only while the wanted value lies before the
      // next sample; otherwise binary-search the samples again.
      if (curSample < 0 || (curSample < lastSample && this.compareSample(curSample + 1, e.prefixLen, want, ws, we) <= 0)) {
        let lo = e.firstSample;
        let hi = lastSample + 1;
        while (lo < hi) {
          const m = (lo + hi) >>> 1;
          if (this.compareSample(m, e.prefixLen, want, ws, we) <= 0) lo = m + 1;
          else hi = m;
        }
        if (lo === e.firstSample) continue; // before the first value
        curSample = lo - 1;
        curPos = this.samplePos[curSample];
        curIdx = this.sampleIndex(e, curSample);
      }
      for (;;) {
        this.readEntry(curPos, e.prefixLen);
        const c = compareBytes(this.buf, this.vs, this.ve, want, ws, we);
        if (c > 0) break;
        const isLast = curIdx === e.valueCount - 1;
        if (c === 0) {
          const start = this.off;
          let end = e.lastEnd;
          if (!isLast) {
            this.readEntry(this.next, e.prefixLen);
            end = this.off;
          }
          out[i] = { start, end };
          break;
        }
        if (isLast) break; // after the last value
        curPos = this.next;
        curIdx++;
        if (curSample < lastSample && curIdx === this.sampleIndex(e, curSample + 1)) curSample++;
      }
    }
    return out;
  }

  /** The values of label name that match, in byte order, with their postings ranges. */
  postingsRangesMatching(name: string, match: (value: string) => boolean): { value: string; range: PostingsRange }[] {
    this.checkOpen();
    const out: { value: string; range: PostingsRange }[] = [];
    const e = this.names.get(name);
    if (!e) return out;
    if (this.sampleEnds) {
      for (let i = e.firstSample; i < e.firstSample + e.valueCount; i++) {
        this.readEntry(this.samplePos[i], e.prefixLen);
        const start = this.off;
        const v = this.buf.toString('utf8', this.vs, this.ve);
        if (match(v)) out.push({ value: v, range: { start, end: this.sampleEnds[i] } });
      }
      return out;
    }
    let pending: PostingsRange | null = null;
    let pos = this.samplePos[e.firstSample];
    for (let i = 0; i < e.valueCount; i++) {
      this.readEntry(pos, e.prefixLen);
      const start = this.off;
      pos = this.next;
      if (pending) {
        pending.end = start;
        pending = null;
      }
      const v = this.buf.toString('utf8', this.vs, this.ve);
      if (match(v)) {
        pending = { start, end: 0 };
        out.push({ value: v, range: pending });
      }
    }
    if (pending) pending.end = e.lastEnd;
    return out;
  }

  /** Releases the memory; the reader must not be used afterwards. */
  close(): void {
    this.closed = true;
    this.buf = EMPTY;
    this.samplePos = new Uint32Array(0);
    this.sampleEnds = null;
    this.names = new Map();
    this.sortedNames = [];
    this.cacheVals.fill('');
    this.cacheRefs.fill(NaN);
  }

  // --- opening ---

  /**
   * v2: the table is sorted by name, then value. Keeps every sampling-th entry of each
   * name and its last, and checks every entry's structure and order on the way.
   */
  private loadSampled(start: number, end: number): Uint32Array {
    const b = this.buf;
    const count = b.readUInt32BE(start);
    const samples = new U32List(256);
    const N = this.sampling;
    let cur: NameBuilder | null = null;
    let nameStart = 0;
    let nameLen = -1;
    let valStart = 0;
    let valLen = 0;
    let prevOff = -1;
    let p = start + 4;
    const finishName = (nb: NameBuilder, lastEnd: number): void => {
      if ((nb.valueCount - 1) % N !== 0) samples.push(nb.lastEntry);
      this.addName(nb, samples.n - nb.firstSample, lastEnd);
    };
    for (let i = 0; i < count; i++) {
      const entry = p;
      p = this.parseEntry(p, end);
      const ns = this.ns;
      const nl = this.nl;
      const vs = this.vs;
      const vl = this.ve - vs;
      const off = this.off;
      this.checkOffset(entry, off, prevOff);
      if (cur === null || nl !== nameLen || compareBytes(b, ns, ns + nl, b, nameStart, nameStart + nameLen) !== 0) {
        if (cur !== null) {
          if (compareBytes(b, ns, ns + nl, b, nameStart, nameStart + nameLen) < 0) {
            this.corrupt(entry, `postings offset table not sorted: label name ${this.str(ns, ns + nl)} after ${cur.name}`);
          }
          finishName(cur, off);
        }
        cur = { name: this.utf8(ns, ns + nl), firstSample: samples.n, valueCount: 0, prefixLen: ns + nl - entry, lastEntry: entry };
        nameStart = ns;
        nameLen = nl;
      } else {
        if (compareBytes(b, vs, vs + vl, b, valStart, valStart + valLen) <= 0) {
          this.corrupt(entry, `postings offset table not sorted: ${cur.name}=${this.str(vs, vs + vl)} after ${this.str(valStart, valStart + valLen)}`);
        }
        if (ns + nl - entry !== cur.prefixLen) this.corrupt(entry, 'postings offset table: non-canonical entry encoding');
      }
      if (cur.valueCount % N === 0) samples.push(entry);
      cur.valueCount++;
      cur.lastEntry = entry;
      valStart = vs;
      valLen = vl;
      prevOff = off;
    }
    if (p !== end) this.corrupt(p, `read postings offset table: ${end - p} stray bytes after ${count} entries`);
    if (cur !== null) finishName(cur, this.lastListEnd(prevOff));
    this.sortedNames = [...this.names.keys()].filter((k) => k !== '');
    return samples.toArray();
  }

  /**
   * v1: the table may be in any order, but (as Thanos assumes) lists were written in
   * table order, so an entry's list ends where the next entry's begins. Keeps every
   * entry, sorted by name and value, with its list's end.
   */
  private loadAll(start: number, end: number): Uint32Array {
    const b = this.buf;
    const count = b.readUInt32BE(start);
    const pos = new Uint32Array(count);
    const ends = new Float64Array(count);
    const nameStarts = new Uint32Array(count);
    const nameLens = new Uint32Array(count);
    const valStarts = new Uint32Array(count);
    const valLens = new Uint32Array(count);
    let prevOff = -1;
    let p = start + 4;
    for (let i = 0; i < count; i++) {
      pos[i] = p;
      p = this.parseEntry(p, end);
      this.checkOffset(pos[i], this.off, prevOff);
      if (i > 0) ends[i - 1] = this.off;
      prevOff = this.off;
      nameStarts[i] = this.ns;
      nameLens[i] = this.nl;
      valStarts[i] = this.vs;
      valLens[i] = this.ve - this.vs;
    }
    if (p !== end) this.corrupt(p, `read postings offset table: ${end - p} stray bytes after ${count} entries`);
    if (count > 0) ends[count - 1] = this.lastListEnd(prevOff);

    const cmp = (x: number, y: number): number =>
      compareBytes(b, nameStarts[x], nameStarts[x] + nameLens[x], b, nameStarts[y], nameStarts[y] + nameLens[y]) ||
      compareBytes(b, valStarts[x], valStarts[x] + valLens[x], b, valStarts[y], valStarts[y] + valLens[y]);
    const order = Array.from({ length: count }, (_, i) => i).sort(cmp);
    const sortedPos = new Uint32Array(count);
    const sortedEnds = new Float64Array(count);
    let cur: NameBuilder | null = null;
    for (let k = 0; k < count; k++) {
      const i = order[k];
      sortedPos[k] = pos[i];
      sortedEnds[k] = ends[i];
      const prefixLen = nameStarts[i] + nameLens[i] - pos[i];
      if (k > 0 && cmp(order[k - 1], i) === 0) {
        this.corrupt(pos[i], `postings offset table: duplicate entry ${this.str(nameStarts[i], nameStarts[i] + nameLens[i])}=${this.str(valStarts[i], valStarts[i] + valLens[i])}`);
      }
      if (cur === null || compareBytes(b, nameStarts[i], nameStarts[i] + nameLens[i], b, nameStarts[order[k - 1]], nameStarts[order[k - 1]] + nameLens[order[k - 1]]) !== 0) {
        if (cur !== null) this.addName(cur, cur.valueCount, 0);
        cur = { name: this.utf8(nameStarts[i], nameStarts[i] + nameLens[i]), firstSample: k, valueCount: 0, prefixLen, lastEntry: pos[i] };
      } else if (prefixLen !== cur.prefixLen) {
        this.corrupt(pos[i], 'postings offset table: non-canonical entry encoding');
      }
      cur.valueCount++;
    }
    if (cur !== null) this.addName(cur, cur.valueCount, 0);
    this.sampleEnds = sortedEnds;
    this.sortedNames = [...this.names.keys()].filter((k) => k !== '');
    return sortedPos;
  }

  private addName(nb: NameBuilder, sampleCount: number, lastEnd: number): void {
    this.names.set(nb.name, {
      name: nb.name,
      firstSample: nb.firstSample,
      sampleCount,
      valueCount: nb.valueCount,
      prefixLen: nb.prefixLen,
      lastEnd,
    });
  }

  /**
   * Parses and bounds-checks the table entry at p (`n=2 ‖ name ‖ value ‖ offset`),
   * setting ns/nl, vs/ve and off; returns the next entry's position.
   */
  private parseEntry(p: number, end: number): number {
    const entry = p;
    const keys = this.uvarintChecked(p, end);
    p = this.next;
    if (keys !== 2) this.corrupt(entry, `unexpected number of keys for postings offset table ${keys}`);
    const nl = this.uvarintChecked(p, end);
    this.ns = this.next;
    this.nl = nl;
    p = this.next + nl;
    if (p > end) this.corrupt(entry, 'postings offset table: label name runs past the section');
    const vl = this.uvarintChecked(p, end);
    this.vs = this.next;
    this.ve = this.next + vl;
    if (this.ve > end) this.corrupt(entry, 'postings offset table: label value runs past the section');
    this.off = this.uvarintChecked(this.ve, end);
    return this.next;
  }

  /** Postings lists are at least MIN_POSTINGS_LIST bytes, in table order, before the table. */
  private checkOffset(entry: number, off: number, prevOff: number): void {
    const lo = prevOff >= 0 ? prevOff + MIN_POSTINGS_LIST : this.indexTOC.postings;
    if (off < lo || off + MIN_POSTINGS_LIST > this.lastPostingEnd) {
      this.corrupt(entry, `postings offset ${off} out of order or outside the postings (previous ${prevOff}, table at ${this.lastPostingEnd})`);
    }
  }

  /**
   * End of the last postings list, whose offset is lastOff: the index TOC's
   * label_offset_table (Prometheus records it right after the last list, and keeps
   * it there even now that the table itself is gone), else the start of the postings
   * offset table.
   */
  private lastListEnd(lastOff: number): number {
    const e = this.indexTOC.labelIndicesTable;
    return e >= lastOff + MIN_POSTINGS_LIST && e <= this.lastPostingEnd ? e : this.lastPostingEnd;
  }

  // --- hot path helpers (on validated bytes) ---

  /** Reads the table entry at pos, whose name prefix is prefixLen bytes: sets vs, ve, off, next. */
  private readEntry(pos: number, prefixLen: number): void {
    const b = this.buf;
    let p = pos + prefixLen;
    let x = b[p++];
    let len = x & 0x7f;
    for (let mul = 128; x >= 0x80; mul *= 128) {
      x = b[p++];
      len += (x & 0x7f) * mul;
    }
    this.vs = p;
    p += len;
    this.ve = p;
    x = b[p++];
    let off = x & 0x7f;
    // Offsets are < 2^53 (an index is at most 64 GiB): plain number arithmetic is exact.
    for (let mul = 128; x >= 0x80; mul *= 128) {
      x = b[p++];
      off += (x & 0x7f) * mul;
    }
    this.off = off;
    this.next = p;
  }

  /** Compares the value of sampled entry s with want[ws, we). */
  private compareSample(s: number, prefixLen: number, want: Uint8Array, ws: number, we: number): number {
    this.readEntry(this.samplePos[s], prefixLen);
    return compareBytes(this.buf, this.vs, this.ve, want, ws, we);
  }

  /** Value index within its name of sampled entry s (v2). */
  private sampleIndex(e: LabelNameEntry, s: number): number {
    const rel = s - e.firstSample;
    return rel === e.sampleCount - 1 ? e.valueCount - 1 : rel * this.sampling;
  }

  /** v1: index in samplePos of name e's value want[ws, we), leaving its entry read; or -1. */
  private findExact(e: LabelNameEntry, want: Uint8Array, ws: number, we: number): number {
    let lo = e.firstSample;
    let hi = e.firstSample + e.valueCount;
    while (lo < hi) {
      const m = (lo + hi) >>> 1;
      const c = this.compareSample(m, e.prefixLen, want, ws, we);
      if (c === 0) return m;
      if (c < 0) lo = m + 1;
      else hi = m;
    }
    return -1;
  }

  // --- bytes ---

  /** Uvarint at p, not reading at or past end; sets next. */
  private uvarintChecked(p: number, end: number): number {
    const b = this.buf;
    let v = 0;
    let mul = 1;
    const at = p;
    for (let i = 0; i < 10; i++) {
      if (p >= end) this.corrupt(p, 'unexpected end of data in varint');
      const x = b[p++];
      v += (x & 0x7f) * mul;
      if (x < 0x80) {
        if (v > Number.MAX_SAFE_INTEGER) this.corrupt(at, 'varint exceeds 2^53');
        this.next = p;
        return v;
      }
      mul *= 128;
    }
    return this.corrupt(at, 'varint overflows 64 bits');
  }

  /** Skips the uvarint-prefixed string at p, which must end by end. */
  private skipString(p: number, end: number, what: string): number {
    const len = this.uvarintChecked(p, end);
    const q = this.next + len;
    if (q > end) this.corrupt(p, `${what}: string runs past the section`);
    return q;
  }

  /** The uvarint-prefixed string at p. */
  private stringAt(p: number, end: number): string {
    const len = this.uvarintChecked(p, end);
    const s = this.next;
    if (s + len > end) this.corrupt(p, 'symbol runs past the symbol table');
    return this.buf.toString('utf8', s, s + len);
  }

  private utf8(s: number, e: number): string {
    return this.buf.toString('utf8', s, e);
  }

  /** Quoted, for error messages. */
  private str(s: number, e: number): string {
    return JSON.stringify(this.utf8(s, e));
  }

  private be64(at: number): number {
    const hi = this.buf.readUInt32BE(at);
    if (hi >= 0x200000) this.corrupt(at, '64-bit offset exceeds 2^53');
    return hi * TWO32 + this.buf.readUInt32BE(at + 4);
  }

  private corrupt(offset: number, reason: string): never {
    throw new CorruptionError(this.file, offset, reason);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`index-header ${this.file}: reader closed`);
  }
}

/** Byte-wise comparison of a[as, ae) and b[bs, be), as Go compares strings. */
function compareBytes(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): number {
  const la = ae - as;
  const lb = be - bs;
  const n = la < lb ? la : lb;
  for (let i = 0; i < n; i++) {
    const d = a[as + i] - b[bs + i];
    if (d !== 0) return d;
  }
  return la - lb;
}

/** Reads a file into one Buffer (fs.readFile stops at 2 GiB; a Buffer may hold 4 GiB). */
async function readWholeFile(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const b = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const { bytesRead } = await fh.read(b, off, Math.min(size - off, 1 << 30), off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return off === size ? b : b.subarray(0, off);
  } finally {
    await fh.close();
  }
}
