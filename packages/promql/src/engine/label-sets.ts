// Label-set operations of the evaluator (the parts of Prometheus's labels.Labels and
// labels.Builder it uses). Label sets are sorted arrays; every function returns a new
// array or the input itself when nothing changes, never mutates its input.

import { type Label, type Labels, METRIC_NAME, compareStrings } from '@thanos-ts/tsdb';
import { quoteGo } from '../go-strconv.js';

// Separates names and values in keys. A lone high surrogate never occurs in label text
// (decoded UTF-8 has none, and raw bytes are kept as U+DC80..U+DCFF), unlike '\xff',
// which is the valid character 'ÿ' in a JS string.
const SEP = '\ud800';

/** The metadata labels dropped with the metric name (schema.IsMetadataLabel). */
export function isMetadataLabel(name: string): boolean {
  return name === METRIC_NAME || name === '__type__' || name === '__unit__';
}

/** ls without __name__, __type__ and __unit__ (Labels.DropReserved(IsMetadataLabel)). */
export function dropMetricName(ls: Labels): Labels {
  let i = 0;
  for (; i < ls.length; i++) if (isMetadataLabel(ls[i].name)) break;
  if (i === ls.length) return ls; // fast path: nothing to drop
  // Memoised per label set: the same series loses its name at every step, and keeping the
  // result's identity lets the evaluator find its output series without hashing.
  let out = DROPPED.get(ls);
  if (out === undefined) {
    out = ls.filter((l) => !isMetadataLabel(l.name));
    DROPPED.set(ls, out);
  }
  return out;
}

const DROPPED = new WeakMap<Labels, Labels>();

/** The value of a label, '' when absent. Label sets are small: a linear scan wins. */
export function labelValue(ls: Labels, name: string): string {
  for (let i = 0; i < ls.length; i++) if (ls[i].name === name) return ls[i].value;
  return '';
}

/** ls with name set to value; an empty value deletes the label (labels.Builder.Set). */
export function setLabel(ls: Labels, name: string, value: string): Labels {
  if (value === '') return deleteLabels(ls, [name]);
  const out: Label[] = [];
  let done = false;
  for (const l of ls) {
    if (!done) {
      const c = compareStrings(l.name, name);
      if (c === 0) {
        if (l.value === value) return ls;
        out.push({ name, value });
        done = true;
        continue;
      }
      if (c > 0) {
        out.push({ name, value });
        done = true;
      }
    }
    out.push(l);
  }
  if (!done) out.push({ name, value });
  return out;
}

/** ls without the named labels. */
export function deleteLabels(ls: Labels, names: readonly string[]): Labels {
  let hit = false;
  for (const l of ls) if (names.includes(l.name)) hit = true;
  if (!hit) return ls;
  return ls.filter((l) => !names.includes(l.name));
}

/** ls with only the named labels. */
export function keepLabels(ls: Labels, names: readonly string[]): Labels {
  return ls.filter((l) => names.includes(l.name));
}

/** A string identifying a label set exactly (for Maps); the counterpart of Labels.Hash. */
export function labelsKey(ls: Labels): string {
  let s = '';
  for (let i = 0; i < ls.length; i++) s += ls[i].name + SEP + ls[i].value + SEP;
  return s;
}

/** Key of the labels named in sortedNames only (Labels.BytesWithLabels / HashForLabels). */
export function keyWithLabels(ls: Labels, sortedNames: readonly string[]): string {
  let s = '';
  let j = 0;
  for (let i = 0; i < ls.length && j < sortedNames.length; ) {
    const c = compareStrings(sortedNames[j], ls[i].name);
    if (c < 0) j++;
    else if (c > 0) i++;
    else {
      s += ls[i].name + SEP + ls[i].value + SEP;
      i++;
      j++;
    }
  }
  return s;
}

/**
 * Key of every label except those in sortedNames and, when dropName, __name__
 * (Labels.BytesWithoutLabels / HashWithoutLabels).
 */
export function keyWithoutLabels(ls: Labels, sortedNames: readonly string[], dropName: boolean): string {
  let s = '';
  let j = 0;
  for (let i = 0; i < ls.length; i++) {
    const n = ls[i].name;
    while (j < sortedNames.length && compareStrings(sortedNames[j], n) < 0) j++;
    if ((dropName && n === METRIC_NAME) || (j < sortedNames.length && sortedNames[j] === n)) continue;
    s += n + SEP + ls[i].value + SEP;
  }
  return s;
}

/**
 * The labels of a vector-matching group (Labels.MatchLabels): with on, those named;
 * without (ignoring), all others except __name__.
 */
export function matchLabels(ls: Labels, on: boolean, names: readonly string[]): Labels {
  return ls.filter((l) => names.includes(l.name) === on && (on || l.name !== METRIC_NAME));
}

/** Prometheus's Labels.String(): `{a="1", b="2"}`, names quoted when not legacy-valid. */
export function labelsString(ls: Labels): string {
  let s = '{';
  for (let i = 0; i < ls.length; i++) {
    if (i > 0) s += ', ';
    s += (isLegacyLabelName(ls[i].name) ? ls[i].name : quoteGo(ls[i].name)) + '=' + quoteGo(ls[i].value);
  }
  return s + '}';
}

function isLegacyLabelName(n: string): boolean {
  return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(n);
}

/** Sorts a string list in UTF-8 byte order (Go's sort.Strings). */
export function sortStrings(names: string[]): string[] {
  return names.sort(compareStrings);
}
