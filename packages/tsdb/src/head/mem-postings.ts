// The head's label index (Prometheus tsdb/index/postings.go MemPostings): for every
// label name and value, the ascending list of refs of the series that have it, plus
// the list of all series under the ("", "") key.
//
// Lists are growable Uint32Array buffers. Readers get a subarray of the filled part;
// appends only write past it, and every other change (insertion out of order, deletion)
// builds a new buffer, so a postings iterator handed out earlier never sees a list
// change under it. Series refs are therefore limited to uint32 here (4 billion series
// created over the life of one head).

import { compareStrings, type Labels } from '../labels/index.js';
import { ALL_POSTINGS_KEY, emptyPostings, listPostings, merge, type IndexPostingsReader, type Postings } from '../postings/index.js';

class RefList {
  buf = new Uint32Array(4);
  len = 0;

  add(ref: number): void {
    const n = this.len;
    if (n === 0 || this.buf[n - 1] < ref) {
      // fast path: refs are created in increasing order
      if (n === this.buf.length) {
        const b = new Uint32Array(n * 2);
        b.set(this.buf);
        this.buf = b;
      }
      this.buf[n] = ref;
      this.len = n + 1;
      return;
    }
    // Out of order (WAL replay): insert into a fresh buffer.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const m = (lo + hi) >>> 1;
      if (this.buf[m] < ref) lo = m + 1;
      else hi = m;
    }
    if (this.buf[lo] === ref) return;
    const b = new Uint32Array(Math.max(4, n * 2));
    b.set(this.buf.subarray(0, lo));
    b[lo] = ref;
    b.set(this.buf.subarray(lo, n), lo + 1);
    this.buf = b;
    this.len = n + 1;
  }

  /** Keeps the refs not in `drop`, in a new buffer. */
  removeAll(drop: ReadonlySet<number>): void {
    const b = new Uint32Array(Math.max(4, this.len));
    let k = 0;
    for (let i = 0; i < this.len; i++) {
      const r = this.buf[i];
      if (!drop.has(r)) b[k++] = r;
    }
    this.buf = b;
    this.len = k;
  }

  view(): Uint32Array {
    return this.buf.subarray(0, this.len);
  }
}

export class MemPostings implements IndexPostingsReader {
  private readonly m = new Map<string, Map<string, RefList>>();
  private readonly all = new RefList();

  constructor() {
    this.m.set(ALL_POSTINGS_KEY.name, new Map([[ALL_POSTINGS_KEY.value, this.all]]));
  }

  add(ref: number, labels: Labels): void {
    this.all.add(ref);
    for (const l of labels) {
      let vals = this.m.get(l.name);
      if (vals === undefined) {
        vals = new Map();
        this.m.set(l.name, vals);
      }
      let list = vals.get(l.value);
      if (list === undefined) {
        list = new RefList();
        vals.set(l.value, list);
      }
      list.add(ref);
    }
  }

  /** Removes deleted series, given with their labels so only their lists are rebuilt. */
  delete(refs: ReadonlySet<number>, labels: Iterable<Labels>): void {
    if (refs.size === 0) return;
    const touched = new Map<string, Set<string>>();
    for (const ls of labels) {
      for (const l of ls) {
        let s = touched.get(l.name);
        if (s === undefined) touched.set(l.name, (s = new Set()));
        s.add(l.value);
      }
    }
    this.all.removeAll(refs);
    for (const [name, values] of touched) {
      const vals = this.m.get(name);
      if (vals === undefined) continue;
      for (const v of values) {
        const list = vals.get(v);
        if (list === undefined) continue;
        list.removeAll(refs);
        if (list.len === 0) vals.delete(v);
      }
      if (vals.size === 0) this.m.delete(name);
    }
  }

  postings(name: string, ...values: string[]): Postings {
    const vals = this.m.get(name);
    if (vals === undefined) return emptyPostings();
    if (values.length === 1) {
      const l = vals.get(values[0]);
      return l === undefined ? emptyPostings() : listPostings(l.view());
    }
    const its: Postings[] = [];
    for (const v of values) {
      const l = vals.get(v);
      if (l !== undefined) its.push(listPostings(l.view()));
    }
    return merge(...its);
  }

  postingsForLabelMatching(name: string, match: (value: string) => boolean): Postings {
    const vals = this.m.get(name);
    if (vals === undefined) return emptyPostings();
    const its: Postings[] = [];
    for (const [v, l] of vals) if (match(v)) its.push(listPostings(l.view()));
    return merge(...its);
  }

  postingsForAllLabelValues(name: string): Postings {
    return this.postingsForLabelMatching(name, () => true);
  }

  /** Every series, ascending. */
  allPostings(): Postings {
    return listPostings(this.all.view());
  }

  /** Sorted label names (of series present, with or without samples). */
  labelNames(): string[] {
    const out: string[] = [];
    for (const n of this.m.keys()) if (n !== ALL_POSTINGS_KEY.name) out.push(n);
    return out.sort(compareStrings);
  }

  /** Sorted values of a label name. */
  labelValues(name: string): string[] {
    const vals = this.m.get(name);
    if (vals === undefined || name === ALL_POSTINGS_KEY.name) return [];
    return [...vals.keys()].sort(compareStrings);
  }

  /** The sorted symbol table: every label name and value. */
  symbols(): string[] {
    const s = new Set<string>();
    for (const [n, vals] of this.m) {
      if (n === ALL_POSTINGS_KEY.name) continue;
      s.add(n);
      for (const v of vals.keys()) s.add(v);
    }
    return [...s].sort(compareStrings);
  }
}
