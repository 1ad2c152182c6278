// sort, sort_desc, sort_by_label, sort_by_label_desc (promql/functions.go).
//
// Prometheus sorts with Go's unstable sort.Sort; for up to 12 samples that is an insertion
// sort, i.e. stable, which is what Array.prototype.sort gives here. Beyond that, samples with
// equal values may come out in a different order than in Prometheus.

import { compareLabels, compareStrings, getLabel } from '@thanos-ts/tsdb';
import type { Sample, Vector } from '../value.js';
import type { Annotations } from './annotations.js';
import type { VectorCall } from './types.js';

/** Float samples only (histogram samples are dropped by the sort functions). */
function floatsOnly(vec: Vector): Sample[] {
  const out: Sample[] = [];
  for (const s of vec) if (s.h === null) out.push(s);
  return out;
}

/** Ascending by value, NaN last. */
function byValueAsc(a: Sample, b: Sample): number {
  const x = a.f;
  const y = b.f;
  if (x !== x) return y !== y ? 0 : 1;
  if (y !== y) return -1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Descending by value, NaN last. */
function byValueDesc(a: Sample, b: Sample): number {
  const x = a.f;
  const y = b.f;
  if (x !== x) return y !== y ? 0 : 1;
  if (y !== y) return -1;
  return x > y ? -1 : x < y ? 1 : 0;
}

/** cmp, calling tick first when there is one (large sorts stay interruptible). */
function ticking<T>(cmp: (a: T, b: T) => number, tick: (() => void) | undefined): (a: T, b: T) => number {
  return tick === undefined ? cmp : (a, b) => (tick(), cmp(a, b));
}

export function funcSort(vec: Vector, call: VectorCall, _ann: Annotations): Vector {
  return floatsOnly(vec).sort(ticking(byValueAsc, call.tick));
}

export function funcSortDesc(vec: Vector, call: VectorCall, _ann: Annotations): Vector {
  return floatsOnly(vec).sort(ticking(byValueDesc, call.tick));
}

const MAX_INT64_DIGITS = '9223372036854775807';

/** strconv.Atoi succeeds on a run of ASCII digits iff it fits an int64. */
function fitsInt64(digits: string): boolean {
  let i = 0;
  while (i < digits.length - 1 && digits.charCodeAt(i) === 0x30) i++;
  const sig = digits.length - i;
  if (sig < 19) return true;
  if (sig > 19) return false;
  return digits.slice(i) <= MAX_INT64_DIGITS;
}

/** Compares two digit runs that both fit an int64 by numeric value. */
function compareDigits(a: string, b: string): number {
  let i = 0;
  while (i < a.length - 1 && a.charCodeAt(i) === 0x30) i++;
  let j = 0;
  while (j < b.length - 1 && b.charCodeAt(j) === 0x30) j++;
  const la = a.length - i;
  const lb = b.length - j;
  if (la !== lb) return la < lb ? -1 : 1;
  const x = a.slice(i);
  const y = b.slice(j);
  return x < y ? -1 : x > y ? 1 : 0;
}

const CHUNK = /\d+|\D+/g;

function isDigitChunk(s: string): boolean {
  const c = s.charCodeAt(0);
  return c >= 0x30 && c <= 0x39;
}

/**
 * facette/natsort.Compare (the version Prometheus vendors): whether a sorts before b in
 * natural order. Strings are cut into digit and non-digit chunks; chunks that both parse
 * as int64 compare numerically, others byte-wise. Quirks kept: when all of a's chunks equal
 * b's leading chunks the answer is true, and an empty a is never "before".
 */
export function natsortLess(a: string, b: string): boolean {
  const ca = a.match(CHUNK) ?? [];
  const cb = b.match(CHUNK) ?? [];
  for (let i = 0; i < ca.length; i++) {
    if (i >= cb.length) return false;
    const x = ca[i];
    const y = cb[i];
    const xNum = isDigitChunk(x) && fitsInt64(x);
    const yNum = isDigitChunk(y) && fitsInt64(y);
    if (xNum && yNum) {
      const c = compareDigits(x, y);
      if (c === 0) {
        if (i === ca.length - 1) return true;
        if (i === cb.length - 1) return false;
        continue;
      }
      return c < 0;
    }
    if (x === y) {
      if (i === ca.length - 1) return true;
      if (i === cb.length - 1) return false;
      continue;
    }
    return compareStrings(x, y) < 0;
  }
  return false;
}

function sortByLabel(vec: Vector, names: readonly string[], desc: boolean, tick: (() => void) | undefined): Vector {
  const sign = desc ? -1 : 1;
  // sort_by_label keeps histogram samples, unlike sort().
  return vec.slice().sort((a, b) => {
    tick?.();
    for (const name of names) {
      const x = getLabel(a.metric, name);
      const y = getLabel(b.metric, name);
      if (x === y) continue;
      return natsortLess(x, y) ? -sign : sign;
    }
    return sign * compareLabels(a.metric, b.metric);
  });
}

/** sort_by_label(v, label...): strings = the label names. */
export function funcSortByLabel(vec: Vector, call: VectorCall, _ann: Annotations): Vector {
  return sortByLabel(vec, call.strings, false, call.tick);
}

export function funcSortByLabelDesc(vec: Vector, call: VectorCall, _ann: Annotations): Vector {
  return sortByLabel(vec, call.strings, true, call.tick);
}
