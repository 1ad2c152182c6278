// Conversions between the protobuf messages and the TSDB types. Labels need none: the
// Label message and the TSDB Label are both {name, value}, so label arrays are passed
// through as they are (no copy) and only typed differently.

import { InvalidArgumentError } from '@thanos-ts/runtime';
import { MatchType, newMatcher, RegexpSyntaxError } from '@thanos-ts/tsdb';
import type { Label, Labels, Matcher } from '@thanos-ts/tsdb';
import type { prometheus, thanos } from './proto.js';

/** A LabelMatcher as decoded or as built by a caller (absent fields are defaults). */
export interface ProtoLabelMatcher {
  type?: number | null;
  name?: string | null;
  value?: string | null;
}

/** A decoded label list as TSDB labels; zero-copy (the array itself is returned). */
export function labelsFromProto(ls: readonly thanos.Label.$Properties[] | null | undefined): Labels {
  return (ls ?? []) as Labels;
}

/** TSDB labels as the label list of a message to encode; zero-copy. */
export function labelsToProto(ls: Labels): thanos.Label.$Properties[] {
  return ls as Label[];
}

/** ZLabelSet/LabelSet messages (e.g. InfoResponse.label_sets) as TSDB label sets. */
export function labelSetsFromProto(sets: readonly thanos.ZLabelSet.$Properties[] | null | undefined): Labels[] {
  return (sets ?? []).map((s) => labelsFromProto(s.labels));
}

/** TSDB label sets as ZLabelSet messages. */
export function labelSetsToProto(sets: readonly Labels[]): thanos.ZLabelSet.$Properties[] {
  return sets.map((labels) => ({ labels: labelsToProto(labels) }));
}

/**
 * Converts protobuf matchers (thanos.LabelMatcher or prometheus.LabelMatcher: the same
 * numbering) to TSDB matchers. An unknown type or a regex RE2 rejects is an
 * InvalidArgumentError, so the StoreAPI edge answers INVALID_ARGUMENT.
 */
export function matchersFromProto(ms: readonly ProtoLabelMatcher[] | null | undefined): Matcher[] {
  const out: Matcher[] = [];
  for (const m of ms ?? []) out.push(matcherFromProto(m));
  return out;
}

export function matcherFromProto(m: ProtoLabelMatcher): Matcher {
  const type = m.type ?? 0;
  const name = m.name ?? '';
  const value = m.value ?? '';
  if (type !== MatchType.EQ && type !== MatchType.NEQ && type !== MatchType.RE && type !== MatchType.NRE) {
    // Thanos: storepb.MatchersToPromMatchers.
    throw new InvalidArgumentError(`unrecognized label matcher type ${type}`);
  }
  try {
    return newMatcher(type, name, value);
  } catch (err) {
    if (err instanceof RegexpSyntaxError) {
      throw new InvalidArgumentError(`invalid matcher ${name}${type === MatchType.RE ? '=~' : '!~'}${JSON.stringify(value)}: ${err.message}`);
    }
    throw err;
  }
}

/** TSDB matchers as thanos.LabelMatcher messages. */
export function matchersToProto(ms: readonly Matcher[]): thanos.LabelMatcher.$Properties[] {
  return ms.map((m) => ({ type: m.type, name: m.name, value: m.value }));
}

/** TSDB matchers as prometheus.LabelMatcher messages (remote read). */
export function matchersToPromProto(ms: readonly Matcher[]): prometheus.LabelMatcher.$Properties[] {
  return ms.map((m) => ({ type: m.type, name: m.name, value: m.value }));
}

/** Prometheus's text form of a matcher list: `{a="1", b=~"x.*"}`. */
export function matchersToString(ms: readonly Matcher[]): string {
  return '{' + ms.map((m) => m.toString()).join(', ') + '}';
}

/** The first `limit` of a sorted LabelNames/LabelValues answer (a request's limit; 0: all). */
export function limitList(xs: string[], limit: unknown): string[] {
  const n = Number(limit ?? 0);
  return n > 0 && xs.length > n ? xs.slice(0, n) : xs;
}
