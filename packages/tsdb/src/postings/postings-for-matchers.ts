// Series selection for a set of label matchers: Prometheus's tsdb/querier.go
// PostingsForMatchers, step for step, so that empty-value semantics agree exactly:
// a label that is absent reads as "", so `{a=""}` selects the series without `a`,
// `{a!=""}` those with it, and `{a=~".*"}` everything.
import { MatchType, type Matcher } from '../matchers/index.js';
import { emptyPostings, intersect, isEmptyPostings, without, type Postings } from './postings.js';

/** The label pair under which an index stores the list of every series. */
export const ALL_POSTINGS_KEY: { readonly name: string; readonly value: string } = Object.freeze({ name: '', value: '' });

/** What postingsForMatchers needs from an index (block or head). */
export interface IndexPostingsReader {
  /** Union of the lists for name=value over the given values; unknown values are skipped. */
  postings(name: string, ...values: string[]): Postings;
  /** Union of the lists for every value of name that `match` accepts. */
  postingsForLabelMatching(name: string, match: (value: string) => boolean): Postings;
  /** Union of the lists for every value of name: the series that have the label. */
  postingsForAllLabelValues(name: string): Postings;
}

function isNot(m: Matcher): boolean {
  return m.type === MatchType.NEQ || m.type === MatchType.NRE;
}

/**
 * The postings of the series selected by all matchers, in ascending ref order.
 * Throws what the reader throws (e.g. CorruptionError).
 */
export function postingsForMatchers(ix: IndexPostingsReader, matchers: readonly Matcher[]): Postings {
  if (matchers.length === 1 && matchers[0].name === '' && matchers[0].value === '') {
    return ix.postings(ALL_POSTINGS_KEY.name, ALL_POSTINGS_KEY.value);
  }

  // A label must be set (non-empty) when some matcher on it rejects the empty string;
  // then its other matchers can be answered from the label's own values.
  const labelMustBeSet = new Set<string>();
  for (const m of matchers) if (!m.matches('')) labelMustBeSet.add(m.name);
  const isSubtracting = (m: Matcher): boolean => !labelMustBeSet.has(m.name) || (isNot(m) && m.matches(''));

  let hasSubtracting = false;
  let hasIntersecting = false;
  for (const m of matchers) {
    if (isSubtracting(m)) hasSubtracting = true;
    else hasIntersecting = true;
  }

  const its: Postings[] = [];
  const notIts: Postings[] = [];
  if (hasSubtracting && !hasIntersecting) {
    // Nothing to subtract from: start from every series.
    its.push(ix.postings(ALL_POSTINGS_KEY.name, ALL_POSTINGS_KEY.value));
  }

  // Intersecting matchers first (a stable partition, like Prometheus's sort).
  const ordered = [...matchers.filter((m) => !isSubtracting(m)), ...matchers.filter(isSubtracting)];
  for (const m of ordered) {
    if (m.name === '' && m.value === '') throw new Error('unexpected all postings');
    if (m.type === MatchType.RE && m.value === '.*') {
      // Matches every value, set or not: no constraint.
    } else if (m.type === MatchType.NRE && m.value === '.*') {
      return emptyPostings();
    } else if (m.type === MatchType.RE && m.value === '.+') {
      const it = ix.postingsForAllLabelValues(m.name);
      if (isEmptyPostings(it)) return emptyPostings();
      its.push(it);
    } else if (m.type === MatchType.NRE && m.value === '.+') {
      notIts.push(ix.postingsForAllLabelValues(m.name));
    } else if (labelMustBeSet.has(m.name)) {
      const matchesEmpty = m.matches('');
      if (isNot(m) && matchesEmpty) {
        // l!="foo": subtract the series where l="foo".
        notIts.push(postingsForMatcher(ix, m.inverse()));
      } else if (isNot(m) && !matchesEmpty) {
        // l!="": the series where l is set to something the inverse rejects.
        const it = inversePostingsForMatcher(ix, m.inverse());
        if (isEmptyPostings(it)) return emptyPostings();
        its.push(it);
      } else {
        // l="a", l=~"a|b", l=~"a.+".
        const it = postingsForMatcher(ix, m);
        if (isEmptyPostings(it)) return emptyPostings();
        its.push(it);
      }
    } else {
      // l="" or any matcher accepting "": it also selects series without l, so subtract
      // the series whose (non-empty) value it rejects.
      notIts.push(inversePostingsForMatcher(ix, m));
    }
  }

  let it = intersect(...its);
  for (const n of notIts) it = without(it, n);
  return it;
}

/** Postings of the series whose value of m.name matches m (never those without the label). */
function postingsForMatcher(ix: IndexPostingsReader, m: Matcher): Postings {
  if (m.type === MatchType.EQ) return ix.postings(m.name, m.value);
  if (m.type === MatchType.RE) {
    const set = m.setMatches();
    // fast path: a literal set is a few lookups instead of a scan of every value
    if (set.length > 0) return ix.postings(m.name, ...set);
  }
  return ix.postingsForLabelMatching(m.name, (v) => m.matches(v));
}

/** Postings of the series that have m.name set to a value m does not match. */
function inversePostingsForMatcher(ix: IndexPostingsReader, m: Matcher): Postings {
  if (m.type === MatchType.NRE) {
    const set = m.setMatches();
    if (set.length > 0) return ix.postings(m.name, ...set);
  }
  if (m.type === MatchType.NEQ) return ix.postings(m.name, m.value);
  if (m.value === '' && (m.type === MatchType.RE || m.type === MatchType.EQ)) {
    return ix.postingsForAllLabelValues(m.name);
  }
  return ix.postingsForLabelMatching(m.name, (v) => !m.matches(v));
}
