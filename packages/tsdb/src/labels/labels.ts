// Label sets as Prometheus defines them: name/value pairs sorted by name, names unique.
// A plain array of {name, value} objects is deliberately the same shape as the protobuf
// `thanos.Label` / `prometheus.Label` messages, so series cross the gRPC boundary and
// the TSDB without conversion.

export interface Label {
  name: string;
  value: string;
}

/** Sorted by name, unique names. Treat as immutable. */
export type Labels = readonly Label[];

export const METRIC_NAME = '__name__';

export const EMPTY_LABELS: Labels = Object.freeze([]) as Labels;

/** Builds sorted labels from a record; empty values are dropped as Prometheus does. */
export function labelsFromRecord(rec: Record<string, string>): Labels {
  const out: Label[] = [];
  for (const name of Object.keys(rec)) {
    if (rec[name] !== '') out.push({ name, value: rec[name] });
  }
  return out.sort((a, b) => compareStrings(a.name, b.name));
}

/** Builds labels from alternating name, value strings (sorted for you). */
export function labelsFromStrings(...nv: string[]): Labels {
  if (nv.length % 2 !== 0) throw new Error('labelsFromStrings: odd number of strings');
  const out: Label[] = [];
  for (let i = 0; i < nv.length; i += 2) out.push({ name: nv[i], value: nv[i + 1] });
  return out.sort((a, b) => compareStrings(a.name, b.name));
}

export function labelsToRecord(ls: Labels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of ls) out[l.name] = l.value;
  return out;
}

/**
 * Byte-wise comparison of two strings as UTF-8, which is how Go and the TSDB order them.
 * JS `<` compares UTF-16 code units; the two orders differ only for characters beyond
 * the BMP against U+E000..U+FFFF, so the fast path handles the common case.
 */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) {
      // Surrogates (U+D800..U+DFFF) encode code points above U+FFFF and must sort
      // after U+E000..U+FFFF in UTF-8 order.
      const sa = ca >= 0xd800 && ca <= 0xdfff;
      const sb = cb >= 0xd800 && cb <= 0xdfff;
      if (sa !== sb) return sa ? 1 : -1;
      return ca < cb ? -1 : 1;
    }
  }
  return a.length - b.length;
}

/** Orders label sets as Prometheus's labels.Compare does. */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x.name !== y.name) return compareStrings(x.name, y.name);
    if (x.value !== y.value) return compareStrings(x.value, y.value);
  }
  return a.length - b.length;
}

export function labelsEqual(a: Labels, b: Labels): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].name !== b[i].name || a[i].value !== b[i].value) return false;
  }
  return true;
}

export function getLabel(ls: Labels, name: string): string {
  for (const l of ls) if (l.name === name) return l.value;
  return '';
}

export function hasLabel(ls: Labels, name: string): boolean {
  for (const l of ls) if (l.name === name) return true;
  return false;
}

/**
 * A string key identifying a label set, for Maps. 0xff never occurs in valid UTF-8,
 * so it separates names and values unambiguously (Prometheus uses the same separator).
 */
export function labelsKey(ls: Labels): string {
  let s = '';
  for (const l of ls) s += l.name + '\xff' + l.value + '\xff';
  return s;
}

/** Returns ls without the named labels. */
export function withoutLabels(ls: Labels, names: Iterable<string>): Labels {
  const drop = names instanceof Set ? (names as Set<string>) : new Set(names);
  return ls.filter((l) => !drop.has(l.name));
}

/** Returns ls with only the named labels. */
export function keepLabels(ls: Labels, names: Iterable<string>): Labels {
  const keep = names instanceof Set ? (names as Set<string>) : new Set(names);
  return ls.filter((l) => keep.has(l.name));
}

/**
 * Merges `ext` into `ls`; on a name clash the value from `ext` wins when `extWins`
 * (Thanos sidecar semantics for external labels), else the one from `ls` (Prometheus).
 */
export function mergeLabels(ls: Labels, ext: Labels, extWins = true): Labels {
  const out: Label[] = [];
  let i = 0;
  let j = 0;
  while (i < ls.length || j < ext.length) {
    if (j >= ext.length) out.push(ls[i++]);
    else if (i >= ls.length) out.push(ext[j++]);
    else {
      const c = compareStrings(ls[i].name, ext[j].name);
      if (c < 0) out.push(ls[i++]);
      else if (c > 0) out.push(ext[j++]);
      else {
        out.push(extWins ? ext[j] : ls[i]);
        i++;
        j++;
      }
    }
  }
  return out;
}

/** Checks the invariants: names sorted, unique and non-empty. */
export function validateLabels(ls: Labels): string | null {
  for (let i = 0; i < ls.length; i++) {
    if (ls[i].name === '') return 'empty label name';
    if (i > 0) {
      const c = compareStrings(ls[i - 1].name, ls[i].name);
      if (c === 0) return `duplicate label name ${JSON.stringify(ls[i].name)}`;
      if (c > 0) return `labels not sorted: ${JSON.stringify(ls[i - 1].name)} before ${JSON.stringify(ls[i].name)}`;
    }
  }
  return null;
}

/** Formats labels the way Prometheus prints them: {a="1", b="2"}. */
export function labelsToString(ls: Labels): string {
  return '{' + ls.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(', ') + '}';
}
