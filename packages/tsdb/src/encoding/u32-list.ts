// A growable Uint32Array: offsets, refs and postings collected without a JS array of
// boxed numbers. `a` holds the values in [0, n); the rest is spare capacity.

export class U32List {
  a: Uint32Array;
  n = 0;

  constructor(cap = 1024) {
    this.a = new Uint32Array(cap);
  }

  push(v: number): void {
    if (this.n === this.a.length) {
      const g = new Uint32Array(this.a.length * 2);
      g.set(this.a);
      this.a = g;
    }
    this.a[this.n++] = v;
  }

  /** A copy of the values, trimmed to their number. */
  toArray(): Uint32Array {
    return this.a.slice(0, this.n);
  }
}
