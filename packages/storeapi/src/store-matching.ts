// Which stores a request can skip, from what their Info says (Thanos pkg/store/proxy.go
// storeMatches, LabelSetsMatch, matchesExternalLabels).

import { getLabel, hasLabel } from '@thanos-ts/tsdb';
import type { Labels, Matcher } from '@thanos-ts/tsdb';
import { matchExternalLabels } from './external-labels.js';

/**
 * False when no label set of a store can match the matchers: a matcher on a label the
 * set has must accept its value (labels the set lacks are not judged, the store's
 * series may carry them). A store announcing no label sets matches everything. Label
 * sets are alternatives: one matching is enough.
 */
export function labelSetsMatch(matchers: readonly Matcher[], labelSets: readonly Labels[]): boolean {
  if (labelSets.length === 0) return true;
  next: for (const ls of labelSets) {
    for (const m of matchers) {
      if (hasLabel(ls, m.name) && !m.matches(getLabel(ls, m.name))) continue next;
    }
    return true;
  }
  return false;
}

/**
 * Checks matchers against the labels a component announces for all of its data (the
 * query's --selector-label): `match` is false when one of them rules that data out;
 * otherwise `matchers` are those left to pass on, without the ones the selector labels
 * already satisfy. The same rule as matchExternalLabels, in the shape Thanos returns.
 */
export function matchesExternalLabels(matchers: readonly Matcher[], externalLabels: Labels): { match: boolean; matchers: Matcher[] } {
  const rest = matchExternalLabels(matchers, externalLabels);
  return rest === null ? { match: false, matchers: [] } : { match: true, matchers: rest };
}

/**
 * Whether an endpoint address passes the storeMatch[] debug matchers: any one group of
 * matchers accepting the label set {__address__="<address>"} is enough.
 */
export function storeMatchersMatchAddress(groups: readonly (readonly Matcher[])[], address: string): boolean {
  if (groups.length === 0) return true;
  for (const ms of groups) {
    let ok = true;
    for (const m of ms) {
      if (m.name === '__address__' && !m.matches(address)) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}

/** Whether [mint, maxt] and [storeMin, storeMax] overlap (all inclusive). */
export function timeRangesOverlap(mint: number, maxt: number, storeMin: number, storeMax: number): boolean {
  return !(mint > storeMax || maxt < storeMin);
}
