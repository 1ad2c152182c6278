// IndexReader reads a format v2 (or v3) index held in memory as one Uint8Array.
// Opening checks the header, the TOC, the symbol table and the postings offset table,
// all CRC-verified; series entries and postings lists are verified when read. Any
// damage surfaces as a CorruptionError naming the file and byte offset.
import { readFileSync } from 'node:fs';
import { CorruptionError } from '../encoding/index.js';
import { compareStrings } from '../labels/index.js';
import {
  BigEndianPostings,
  emptyPostings,
  mergeBigEndianLists,
  type IndexPostingsReader,
  type Postings,
} from '../postings/index.js';
import {
  decodeSeries,
  readHeader,
  readPostingsList,
  readPostingsOffsetTable,
  readSymbolTable,
  readTOC,
  SERIES_ALIGN,
  symbolAt,
  type SeriesEntry,
  type SymbolTable,
  type TOC,
} from './format.js';

/** The values of one label name in the postings offset table, and their lists' offsets. */
interface LabelValues {
  values: string[];
  /** Absolute file offsets of the postings lists, parallel to values. */
  offsets: Float64Array;
}

export class IndexReader implements IndexPostingsReader {
  readonly version: number;
  readonly toc: TOC;
  private readonly symbolTable: SymbolTable;
  // Decoded symbols, filled on demand (label names are few and half of all lookups).
  private readonly symbolCache: (string | undefined)[];
  // Label name → its values, sorted, with postings offsets. "" is the all-postings key.
  private readonly postingsTable = new Map<string, LabelValues>();
  private readonly names: string[];
  private readonly seriesEnd: number;
  private readonly lookup = (ref: number): string => this.lookupSymbol(ref);
  private readonly view: DataView;
  // Postings lists whose CRC has been checked: the bytes do not change, so once is enough.
  private readonly verified = new Map<number, number>();

  /**
   * @param bytes the whole index file
   * @param file name used in errors (e.g. "01H…/index")
   * @throws CorruptionError
   */
  constructor(
    readonly bytes: Uint8Array,
    readonly file = 'index',
  ) {
    this.version = readHeader(bytes, file);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.toc = readTOC(bytes, file);
    this.symbolTable = readSymbolTable(bytes, this.toc.symbols, file);
    this.symbolCache = new Array<string | undefined>(this.symbolTable.count);

    let curName: string | null = null;
    let cur: { values: string[]; offsets: number[] } | null = null;
    const building = new Map<string, { values: string[]; offsets: number[] }>();
    const tableAt = this.toc.postingsTable;
    readPostingsOffsetTable(bytes, tableAt, file, (name, value, off, entry) => {
      if (name !== curName) {
        if (curName !== null && compareStrings(name, curName) <= 0) {
          throw new CorruptionError(file, entry, `postings offset table not sorted: label name ${JSON.stringify(name)} after ${JSON.stringify(curName)}`);
        }
        curName = name;
        cur = { values: [], offsets: [] };
        building.set(name, cur);
      }
      const vals = cur!.values;
      if (vals.length > 0 && compareStrings(value, vals[vals.length - 1]) <= 0) {
        throw new CorruptionError(file, entry, `postings offset table not sorted: ${name}=${JSON.stringify(value)} after ${JSON.stringify(vals[vals.length - 1])}`);
      }
      if (off >= tableAt) throw new CorruptionError(file, entry, `postings offset ${off} points past the postings section`);
      vals.push(value);
      cur!.offsets.push(off);
    });
    for (const [name, v] of building) this.postingsTable.set(name, { values: v.values, offsets: Float64Array.from(v.offsets) });
    this.names = [...this.postingsTable.keys()].filter((n) => n !== '');

    // Series live between the series start and the first section after them.
    this.seriesEnd = this.toc.labelIndices || this.toc.postings || this.toc.postingsTable;
  }

  /** Reads the index file at path into memory. */
  static fromFile(path: string, name = path): IndexReader {
    const b = readFileSync(path);
    return new IndexReader(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), name);
  }

  get size(): number {
    return this.bytes.length;
  }

  get symbolCount(): number {
    return this.symbolTable.count;
  }

  /** The symbol with ordinal ref. */
  lookupSymbol(ref: number): string {
    let s = this.symbolCache[ref];
    if (s === undefined) {
      if (!(ref >= 0 && ref < this.symbolTable.count)) throw new Error(`unknown symbol offset ${ref}`);
      s = symbolAt(this.bytes, this.symbolTable.offsets[ref]);
      this.symbolCache[ref] = s;
    }
    return s;
  }

  /** Every symbol, in table (ascending) order. */
  *symbols(): IterableIterator<string> {
    for (let i = 0; i < this.symbolTable.count; i++) yield this.lookupSymbol(i);
  }

  /** Sorted label names. */
  labelNames(): string[] {
    return this.names.slice();
  }

  /** Sorted values of a label name ([] when absent). */
  labelValues(name: string): string[] {
    return this.postingsTable.get(name)?.values.slice() ?? [];
  }

  /** Union of the postings for name=v over values; unknown values are skipped. */
  postings(name: string, ...values: string[]): Postings {
    const e = this.postingsTable.get(name);
    if (!e || values.length === 0) return emptyPostings();
    if (values.length === 1) {
      const i = findValue(e.values, values[0]);
      return i < 0 ? emptyPostings() : this.postingsAt(e.offsets[i]);
    }
    const seen = new Set<number>();
    const offsets: number[] = [];
    for (const v of values) {
      const i = findValue(e.values, v);
      if (i < 0 || seen.has(i)) continue;
      seen.add(i);
      offsets.push(e.offsets[i]);
    }
    return this.mergeLists(offsets);
  }

  postingsForLabelMatching(name: string, match: (value: string) => boolean): Postings {
    const e = this.postingsTable.get(name);
    if (!e) return emptyPostings();
    const offsets: number[] = [];
    for (let i = 0; i < e.values.length; i++) if (match(e.values[i])) offsets.push(e.offsets[i]);
    return this.mergeLists(offsets);
  }

  postingsForAllLabelValues(name: string): Postings {
    const e = this.postingsTable.get(name);
    return e ? this.mergeLists(e.offsets) : emptyPostings();
  }

  /** Checks the lists at the given offsets and returns their union. */
  private mergeLists(offsets: ArrayLike<number>): Postings {
    if (offsets.length === 1) return this.postingsAt(offsets[0]);
    const starts = new Float64Array(offsets.length);
    const counts = new Uint32Array(offsets.length);
    for (let i = 0; i < offsets.length; i++) {
      starts[i] = offsets[i] + 8;
      counts[i] = this.listCount(offsets[i]);
    }
    return mergeBigEndianLists(this.view, starts, counts);
  }

  /** Number of refs in the list at off (whose refs start at off + 8), checked on first use. */
  private listCount(off: number): number {
    let n = this.verified.get(off);
    if (n === undefined) {
      n = readPostingsList(this.bytes, off, this.file).count;
      this.verified.set(off, n);
    }
    return n;
  }

  /** Postings in index order are already sorted by series labels. */
  sortedPostings(p: Postings): Postings {
    return p;
  }

  private postingsAt(off: number): Postings {
    const count = this.listCount(off);
    return count === 0 ? emptyPostings() : new BigEndianPostings(this.view, off + 8, count);
  }

  /**
   * Decodes series ref (from postings). With `out`, its arrays and chunk objects are
   * overwritten and returned: copy what you keep.
   */
  series(ref: number, out?: SeriesEntry): SeriesEntry {
    const off = ref * SERIES_ALIGN;
    if (!Number.isInteger(ref) || off < this.toc.series || off >= this.seriesEnd) {
      throw new CorruptionError(this.file, off, `series ref ${ref} outside the series section`);
    }
    const entry = out ?? { labels: [], chunks: [] };
    decodeSeries(this.bytes, off, this.file, this.lookup, entry);
    return entry;
  }
}

/** Index of v in the sorted (UTF-8 order) values, or -1. */
function findValue(values: string[], v: string): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    const c = compareStrings(values[m], v);
    if (c === 0) return m;
    if (c < 0) lo = m + 1;
    else hi = m;
  }
  return -1;
}
