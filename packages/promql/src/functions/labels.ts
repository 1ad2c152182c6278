// Label functions: label_replace, label_join (promql/functions.go evalLabelReplace,
// evalLabelJoin) and the label set absent()/absent_over_time() return.
//
// Prometheus applies label_replace/label_join to whole series (the evaluated matrix), then
// merges series that end up with the same labels. The compile* functions give the
// evaluator a per-series rewriter for that; the vector kernels apply it to one step.

import { METRIC_NAME, MatchType, RegexpSyntaxError, compareStrings, compileRegexp, getLabel, parseExpandTemplate } from '@thanos-ts/tsdb';
import type { CompiledRegexp, ExpandPiece, Label, Labels, Matcher, RegexpMatch } from '@thanos-ts/tsdb';
import { isValidUTF8 } from '../go-strconv.js';
import type { Sample, Vector } from '../value.js';
import type { Annotations } from './annotations.js';
import { FunctionError, type VectorCall } from './types.js';

/** model.UTF8Validation.IsValidLabelName: any non-empty valid UTF-8 string. */
export function isValidLabelName(name: string): boolean {
  return name.length > 0 && isValidUTF8(name);
}

/**
 * ls with name set to value (labels.Builder.Set): an empty value deletes the label. Returns
 * ls itself when nothing changes.
 */
export function setLabel(ls: Labels, name: string, value: string): Labels {
  let i = 0;
  while (i < ls.length && compareStrings(ls[i].name, name) < 0) i++;
  const exists = i < ls.length && ls[i].name === name;
  if (value === '') {
    if (!exists) return ls;
    return ls.slice(0, i).concat(ls.slice(i + 1));
  }
  if (exists && ls[i].value === value) return ls;
  const out: Label[] = ls.slice(0, i);
  out.push({ name, value });
  for (let j = exists ? i + 1 : i; j < ls.length; j++) out.push(ls[j]);
  return out;
}

/**
 * Rewrites one series' labels; null when the labels stay as they are and the series keeps
 * its dropName flag. Otherwise the series' dropName becomes false when `dst` is
 * `__name__` (see `setsMetricName`) and stays unchanged else.
 */
export interface LabelRewriter {
  (metric: Labels): Labels | null;
  /** Whether the rewritten label is __name__ (then the series keeps its name). */
  readonly setsMetricName: boolean;
}

// Go's Regexp.Expand template syntax, shared with relabelling.
export { parseExpandTemplate };
type Piece = ExpandPiece;

/** Go's Regexp.ExpandString: a name stands for the first group of that name that took part. */
function expand(pieces: readonly Piece[], m: RegexpMatch, names: readonly string[]): string {
  let out = '';
  for (const p of pieces) {
    if (typeof p === 'string') out += p;
    else if (typeof p === 'number') out += m[p] ?? '';
    else {
      for (let i = 1; i < names.length; i++) {
        if (names[i] === p.name && m[i] !== undefined) {
          out += m[i];
          break;
        }
      }
    }
  }
  return out;
}

/**
 * label_replace(v, dst, replacement, src, regex) for one series: if regex (RE2, fully
 * anchored) matches the value of src, dst is set to the expanded replacement. Throws
 * FunctionError with Prometheus's message for an invalid regex or destination name.
 */
export function compileLabelReplace(dst: string, replacement: string, src: string, regex: string): LabelRewriter {
  // V8 when the regex is proven safe from catastrophic backtracking, else re2js.
  let re: CompiledRegexp;
  try {
    re = compileRegexp(regex, { captures: true });
  } catch (e) {
    if (e instanceof RegexpSyntaxError) throw new FunctionError(`invalid regular expression in label_replace(): ${regex}`);
    throw e;
  }
  if (!isValidLabelName(dst)) throw new FunctionError(`invalid destination label name in label_replace(): ${dst}`);
  const pieces = parseExpandTemplate(replacement);
  const rewrite = (metric: Labels): Labels | null => {
    const m = re.exec(getLabel(metric, src));
    if (m === null) return null;
    return setLabel(metric, dst, expand(pieces, m, re.groupNames));
  };
  return Object.assign(rewrite, { setsMetricName: dst === METRIC_NAME });
}

/**
 * label_join(v, dst, separator, src...) for one series: dst is set to the values of the
 * src labels (missing ones empty) joined by separator. Throws FunctionError for an invalid
 * label name (sources checked first, as Prometheus).
 */
export function compileLabelJoin(dst: string, separator: string, srcLabels: readonly string[]): LabelRewriter {
  for (const src of srcLabels) {
    if (!isValidLabelName(src)) throw new FunctionError(`invalid source label name in label_join(): ${src}`);
  }
  if (!isValidLabelName(dst)) throw new FunctionError(`invalid destination label name in label_join(): ${dst}`);
  const rewrite = (metric: Labels): Labels => {
    let joined = '';
    for (let i = 0; i < srcLabels.length; i++) {
      if (i > 0) joined += separator;
      joined += getLabel(metric, srcLabels[i]);
    }
    return setLabel(metric, dst, joined);
  };
  return Object.assign(rewrite, { setsMetricName: dst === METRIC_NAME });
}

function applyRewriter(vec: Vector, rewrite: LabelRewriter): Vector {
  const out: Sample[] = new Array<Sample>(vec.length);
  for (let i = 0; i < vec.length; i++) {
    const s = vec[i];
    const metric = rewrite(s.metric);
    out[i] = metric === null ? s : { ...s, metric, dropName: rewrite.setsMetricName ? false : s.dropName };
  }
  return out;
}

/**
 * label_replace over one instant vector: strings = [dst, replacement, src, regex]. The
 * caller checks the result for duplicate label sets.
 */
export function funcLabelReplace(vec: Vector, call: VectorCall, _ann: Annotations): Vector {
  const [dst, replacement, src, regex] = call.strings;
  return applyRewriter(vec, compileLabelReplace(dst, replacement, src, regex));
}

/** label_join over one instant vector: strings = [dst, separator, ...src]. */
export function funcLabelJoin(vec: Vector, call: VectorCall, _ann: Annotations): Vector {
  const [dst, separator, ...src] = call.strings;
  return applyRewriter(vec, compileLabelJoin(dst, separator, src));
}

/**
 * The labels of absent()'s / absent_over_time()'s output series: the equality matchers of
 * the selector, except __name__, and except names matched more than once or by a
 * non-equality matcher (createLabelsForAbsentFunction). Pass [] for arguments that are
 * not selectors.
 */
export function absentLabels(matchers: readonly Matcher[]): Labels {
  let ls: Labels = [];
  const has = new Set<string>();
  for (const m of matchers) {
    if (m.name === METRIC_NAME) continue;
    if (m.type === MatchType.EQ && !has.has(m.name)) {
      ls = setLabel(ls, m.name, m.value);
      has.add(m.name);
    } else {
      ls = setLabel(ls, m.name, '');
    }
  }
  return ls;
}
