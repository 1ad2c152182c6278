// Postings: ascending lists of series refs, iterated like Prometheus's index.Postings.
// Series refs in a block index are (byte offset / 16) and fit in uint32, so lists are
// Uint32Array (or big-endian bytes straight from the index file) and refs are plain
// numbers; no iterator allocates per element.

/** Iterates an ascending list of series refs. */
export interface Postings {
  /** Advances to the next ref; false when exhausted (or on error, see err()). */
  next(): boolean;
  /** Advances to the first ref >= v (never backwards); false when there is none. */
  seek(v: number): boolean;
  /** The current ref; valid after next() or seek() returned true. */
  at(): number;
  /** The error that stopped iteration, if any. */
  err(): Error | null;
}

class ErrPostings implements Postings {
  constructor(private readonly e: Error | null) {}
  next(): boolean {
    return false;
  }
  seek(): boolean {
    return false;
  }
  at(): number {
    return 0;
  }
  err(): Error | null {
    return this.e;
  }
}

const EMPTY = new ErrPostings(null);

/** The empty postings list; intersect/merge/without short-circuit on it. */
export function emptyPostings(): Postings {
  return EMPTY;
}

/** True only for the emptyPostings() sentinel (an exhausted list is not detected). */
export function isEmptyPostings(p: Postings): boolean {
  return p === EMPTY;
}

/** Postings that yield nothing and report err. */
export function errPostings(err: Error): Postings {
  return new ErrPostings(err);
}

/** Binary search: first index in [lo, hi) with list[i] >= v. */
function lowerBound(list: ArrayLike<number>, lo: number, hi: number, v: number): number {
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (list[m] < v) lo = m + 1;
    else hi = m;
  }
  return lo;
}

class ListPostings implements Postings {
  private i = -1;
  constructor(private readonly list: ArrayLike<number>) {}

  next(): boolean {
    if (this.i < this.list.length) this.i++;
    return this.i < this.list.length;
  }

  seek(v: number): boolean {
    const list = this.list;
    let i = this.i < 0 ? 0 : this.i;
    if (i >= list.length) return false;
    // fast path: already there, or the next element is
    if (list[i] < v) {
      i = i + 1 < list.length && list[i + 1] >= v ? i + 1 : lowerBound(list, i + 1, list.length, v);
    }
    this.i = i;
    return i < list.length;
  }

  at(): number {
    return this.list[this.i];
  }

  err(): Error | null {
    return null;
  }

  /** Refs left after the current one. */
  len(): number {
    return this.list.length - Math.max(this.i + 1, 0);
  }
}

/** Postings over an ascending list of refs (retained, not copied). */
export function listPostings(list: Uint32Array | readonly number[]): Postings {
  return list.length === 0 ? EMPTY : new ListPostings(list);
}

/**
 * Postings over `count` big-endian uint32 refs at bytes[start…], as stored in an index
 * postings list. Reads in place: the bytes must outlive the iterator. Pass a DataView
 * of the whole buffer to share one view between many lists.
 */
export class BigEndianPostings implements Postings {
  private i = -1;
  private cur = 0;
  private readonly view: DataView;

  constructor(
    bytes: Uint8Array | DataView,
    private readonly start: number,
    private readonly count: number,
  ) {
    this.view = bytes instanceof DataView ? bytes : new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  next(): boolean {
    if (this.i + 1 >= this.count) {
      this.i = this.count;
      return false;
    }
    this.i++;
    this.cur = this.view.getUint32(this.start + this.i * 4);
    return true;
  }

  seek(v: number): boolean {
    if (this.i >= this.count) return false;
    if (this.i >= 0 && this.cur >= v) return true;
    let lo = this.i < 0 ? 0 : this.i + 1;
    let hi = this.count;
    const view = this.view;
    const base = this.start;
    while (lo < hi) {
      const m = (lo + hi) >>> 1;
      if (view.getUint32(base + m * 4) < v) lo = m + 1;
      else hi = m;
    }
    this.i = lo;
    if (lo >= this.count) return false;
    this.cur = view.getUint32(base + lo * 4);
    return true;
  }

  at(): number {
    return this.cur;
  }

  err(): Error | null {
    return null;
  }
}

/** Intersection of the inputs. */
export function intersect(...its: Postings[]): Postings {
  if (its.length === 0) return EMPTY;
  if (its.length === 1) return its[0];
  if (its.some((p) => p === EMPTY)) return EMPTY;
  return new IntersectPostings(its);
}

class IntersectPostings implements Postings {
  private cur = 0;
  constructor(private readonly its: Postings[]) {}

  at(): number {
    return this.cur;
  }

  seek(target: number): boolean {
    const its = this.its;
    for (;;) {
      let allEqual = true;
      for (const p of its) {
        if (!p.seek(target)) return false;
        const at = p.at();
        if (at > target) {
          target = at;
          allEqual = false;
        }
      }
      if (allEqual) {
        this.cur = target;
        return true;
      }
    }
  }

  next(): boolean {
    const its = this.its;
    if (!its[0].next()) return false;
    let target = its[0].at();
    let allEqual = true;
    for (let i = 1; i < its.length; i++) {
      if (!its[i].next()) return false;
      const at = its[i].at();
      if (at > target) {
        target = at;
        allEqual = false;
      } else if (at < target) allEqual = false;
    }
    if (allEqual) {
      this.cur = target;
      return true;
    }
    return this.seek(target);
  }

  err(): Error | null {
    for (const p of this.its) {
      const e = p.err();
      if (e) return e;
    }
    return null;
  }
}

/** Union of the inputs, without duplicates: a k-way merge over a binary heap. */
export function merge(...its: Postings[]): Postings {
  const live = its.filter((p) => p !== EMPTY);
  if (live.length === 0) return EMPTY;
  if (live.length === 1) return live[0];
  return new MergedPostings(live);
}

class MergedPostings implements Postings {
  // Min-heap of the iterators that still have a current element, keyed by at().
  private heap: Postings[] = [];
  private initialized = false;
  private cur = -1;

  constructor(private readonly all: Postings[]) {}

  private siftDown(i: number): void {
    const h = this.heap;
    const n = h.length;
    const p = h[i];
    const v = p.at();
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && h[c + 1].at() < h[c].at()) c++;
      if (h[c].at() >= v) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = p;
  }

  private heapify(): void {
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private popHead(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      this.siftDown(0);
    }
  }

  next(): boolean {
    const h = this.heap;
    if (!this.initialized) {
      this.initialized = true;
      for (const p of this.all) if (p.next()) h.push(p);
      this.heapify();
    } else {
      // Advance every iterator sitting on the current value (duplicates across inputs).
      while (h.length > 0 && h[0].at() === this.cur) {
        if (h[0].next()) this.siftDown(0);
        else this.popHead();
      }
    }
    if (h.length === 0) return false;
    this.cur = h[0].at();
    return true;
  }

  seek(v: number): boolean {
    const h = this.heap;
    if (!this.initialized) {
      this.initialized = true;
      for (const p of this.all) if (p.seek(v)) h.push(p);
      this.heapify();
    } else {
      if (h.length === 0) return false;
      if (this.cur >= v) return true;
      while (h.length > 0 && h[0].at() < v) {
        if (h[0].seek(v)) this.siftDown(0);
        else this.popHead();
      }
    }
    if (h.length === 0) return false;
    this.cur = h[0].at();
    return true;
  }

  at(): number {
    return this.cur;
  }

  err(): Error | null {
    for (const p of this.all) {
      const e = p.err();
      if (e) return e;
    }
    return null;
  }
}

/**
 * Union of big-endian postings lists in one buffer, list i being counts[i] refs at
 * starts[i]. Many lists over a dense range of refs (a regex over label values) are
 * unioned eagerly through a bitmap, O(total refs + range / 32), which beats a heap merge
 * of hundreds of lists by an order of magnitude; otherwise a lazy heap merge.
 */
export function mergeBigEndianLists(view: DataView, starts: ArrayLike<number>, counts: ArrayLike<number>): Postings {
  const k = starts.length;
  if (k === 0) return EMPTY;
  let total = 0;
  let min = 0xffffffff;
  let max = 0;
  for (let i = 0; i < k; i++) {
    const c = counts[i];
    if (c === 0) continue;
    total += c;
    const first = view.getUint32(starts[i]);
    const last = view.getUint32(starts[i] + 4 * (c - 1));
    if (first < min) min = first;
    if (last > max) max = last;
  }
  if (total === 0) return EMPTY;
  const words = ((max - min) >>> 5) + 1;
  if (k < 8 || words > 4 * total) {
    const its: Postings[] = [];
    for (let i = 0; i < k; i++) if (counts[i] > 0) its.push(new BigEndianPostings(view, starts[i], counts[i]));
    return merge(...its);
  }
  // fast path: bitmap union
  const bits = new Uint32Array(words);
  for (let i = 0; i < k; i++) {
    const end = starts[i] + 4 * counts[i];
    for (let p = starts[i]; p < end; p += 4) {
      const d = view.getUint32(p) - min;
      bits[d >>> 5] |= 1 << (d & 31);
    }
  }
  const out = new Uint32Array(total);
  let n = 0;
  for (let w = 0; w < words; w++) {
    let x = bits[w];
    while (x !== 0) {
      const low = x & -x; // lowest set bit
      out[n++] = min + w * 32 + (31 - Math.clz32(low));
      x ^= low;
    }
  }
  return new ListPostings(n === total ? out : out.subarray(0, n));
}

/** The refs of `full` that are not in `drop`. */
export function without(full: Postings, drop: Postings): Postings {
  if (full === EMPTY) return EMPTY;
  if (drop === EMPTY) return full;
  return new RemovedPostings(full, drop);
}

class RemovedPostings implements Postings {
  private cur = 0;
  private initialized = false;
  private fok = false;
  private rok = false;

  constructor(
    private readonly full: Postings,
    private readonly remove: Postings,
  ) {}

  at(): number {
    return this.cur;
  }

  next(): boolean {
    if (!this.initialized) {
      this.fok = this.full.next();
      this.rok = this.remove.next();
      this.initialized = true;
    }
    for (;;) {
      if (!this.fok) return false;
      if (!this.rok) {
        this.cur = this.full.at();
        this.fok = this.full.next();
        return true;
      }
      const f = this.full.at();
      const r = this.remove.at();
      if (f < r) {
        this.cur = f;
        this.fok = this.full.next();
        return true;
      }
      if (r < f) this.rok = this.remove.seek(f);
      else this.fok = this.full.next();
    }
  }

  seek(v: number): boolean {
    if (this.initialized && this.cur >= v) return true;
    this.fok = this.full.seek(v);
    this.rok = this.remove.seek(v);
    this.initialized = true;
    return this.next();
  }

  err(): Error | null {
    return this.full.err() ?? this.remove.err();
  }
}

/** Drains p into a Uint32Array; throws the iterator's error, if any. */
export function expandPostings(p: Postings): Uint32Array {
  let out = new Uint32Array(p instanceof ListPostings ? Math.max(p.len(), 16) : 256);
  let n = 0;
  while (p.next()) {
    if (n === out.length) {
      const grown = new Uint32Array(out.length * 2);
      grown.set(out);
      out = grown;
    }
    out[n++] = p.at();
  }
  const e = p.err();
  if (e) throw e;
  return n === out.length ? out : out.slice(0, n);
}
