// Binary operators between vectors and scalars (promql/engine.go: VectorAnd, VectorOr,
// VectorUnless, VectorBinop, VectorscalarBinop, scalarBinop, vectorElemBinop,
// resultMetric). Samples are matched by the ordinal of their join signature, computed
// once per series before the steps (sig arrays run parallel to the vectors).

import type { Labels } from '@thanos-ts/tsdb';
import type { BinaryOp, PositionRange, VectorMatching } from '../ast.js';
import { isComparisonOp } from '../ast.js';
import { type Annotation, incompatibleTypesInBinOpInfo } from '../functions/annotations.js';
import { goPow } from '../go-math.js';
import { compareStrings } from '@thanos-ts/tsdb';
import type { Sample, Vector } from '../value.js';
import { EvalError } from './errors.js';
import { deleteLabels, dropMetricName, keepLabels, labelValue, labelsString, matchLabels, setLabel } from './label-sets.js';
import { type EvalNodeHelper, keyOf } from './node-helper.js';

/** Whether op changes what the metric means, so its name must go (changesMetricSchema). */
export function changesMetricSchema(op: BinaryOp): boolean {
  return op === '+' || op === '-' || op === '*' || op === '/' || op === '^' || op === '%' || op === 'atan2';
}

function btos(b: boolean): number {
  return b ? 1 : 0;
}

/** An operation between two scalars. */
export function scalarBinop(op: BinaryOp, lhs: number, rhs: number): number {
  switch (op) {
    case '+':
      return lhs + rhs;
    case '-':
      return lhs - rhs;
    case '*':
      return lhs * rhs;
    case '/':
      return lhs / rhs;
    case '^':
      return goPow(lhs, rhs);
    case '%':
      return lhs % rhs;
    case '==':
      return btos(lhs === rhs);
    case '!=':
      return btos(lhs !== rhs);
    case '>':
      return btos(lhs > rhs);
    case '<':
      return btos(lhs < rhs);
    case '>=':
      return btos(lhs >= rhs);
    case '<=':
      return btos(lhs <= rhs);
    case 'atan2':
      return Math.atan2(lhs, rhs);
    default:
      throw new EvalError(`operator "${op}" not allowed for Scalar operations`);
  }
}

// Result of one element operation, kept in module state to avoid allocating a tuple per
// sample: the value and whether the sample is kept (comparisons filter).
let elemValue = 0;
let elemKeep = false;

/**
 * The float operation between two vector elements (vectorElemBinop). Returns an info
 * annotation for operator/type combinations that produce no result, else null; the
 * outcome is in elemValue / elemKeep.
 */
function vectorElemBinop(op: BinaryOp, lhs: number, rhs: number, pos: PositionRange): Annotation | null {
  elemKeep = true;
  switch (op) {
    case '+':
      elemValue = lhs + rhs;
      return null;
    case '-':
      elemValue = lhs - rhs;
      return null;
    case '*':
      elemValue = lhs * rhs;
      return null;
    case '/':
      elemValue = lhs / rhs;
      return null;
    case '^':
      elemValue = goPow(lhs, rhs);
      return null;
    case '%':
      elemValue = lhs % rhs;
      return null;
    case 'atan2':
      elemValue = Math.atan2(lhs, rhs);
      return null;
    case '==':
      elemValue = lhs;
      elemKeep = lhs === rhs;
      return null;
    case '!=':
      elemValue = lhs;
      elemKeep = lhs !== rhs;
      return null;
    case '>':
      elemValue = lhs;
      elemKeep = lhs > rhs;
      return null;
    case '<':
      elemValue = lhs;
      elemKeep = lhs < rhs;
      return null;
    case '>=':
      elemValue = lhs;
      elemKeep = lhs >= rhs;
      return null;
    case '<=':
      elemValue = lhs;
      elemKeep = lhs <= rhs;
      return null;
    case '</':
    case '>/':
      elemValue = 0;
      elemKeep = false;
      return incompatibleTypesInBinOpInfo('float', op, 'float', pos);
    default:
      throw new EvalError(`operator "${op}" not allowed for operations between Vectors`);
  }
}

/** lhs and rhs: the lhs samples whose signature occurs on the right. */
export function vectorAnd(lhs: Vector, rhs: Vector, lsig: Int32Array, rsig: Int32Array, enh: EvalNodeHelper): Vector {
  if (lhs.length === 0 || rhs.length === 0) return enh.out;
  const present = enh.resetSigsPresent();
  for (let j = 0; j < rhs.length; j++) {
    enh.tick();
    present[rsig[j]] = 1;
  }
  for (let i = 0; i < lhs.length; i++) {
    enh.tick();
    if (present[lsig[i]] === 1) enh.out.push(lhs[i]);
  }
  return enh.out;
}

/** lhs or rhs: all of lhs, then the rhs samples whose signature is not on the left. */
export function vectorOr(lhs: Vector, rhs: Vector, lsig: Int32Array, rsig: Int32Array, enh: EvalNodeHelper): Vector {
  if (lhs.length === 0) {
    for (const s of rhs) {
      enh.tick();
      enh.out.push(s);
    }
    return enh.out;
  }
  if (rhs.length === 0) {
    for (const s of lhs) {
      enh.tick();
      enh.out.push(s);
    }
    return enh.out;
  }
  const present = enh.resetSigsPresent();
  for (let i = 0; i < lhs.length; i++) {
    enh.tick();
    present[lsig[i]] = 1;
    enh.out.push(lhs[i]);
  }
  for (let j = 0; j < rhs.length; j++) {
    enh.tick();
    if (present[rsig[j]] === 0) enh.out.push(rhs[j]);
  }
  return enh.out;
}

/** lhs unless rhs: the lhs samples whose signature is not on the right. */
export function vectorUnless(lhs: Vector, rhs: Vector, lsig: Int32Array, rsig: Int32Array, enh: EvalNodeHelper): Vector {
  if (lhs.length === 0 || rhs.length === 0) {
    for (const s of lhs) {
      enh.tick();
      enh.out.push(s);
    }
    return enh.out;
  }
  const present = enh.resetSigsPresent();
  for (let j = 0; j < rhs.length; j++) {
    enh.tick();
    present[rsig[j]] = 1;
  }
  for (let i = 0; i < lhs.length; i++) {
    enh.tick();
    if (present[lsig[i]] === 0) enh.out.push(lhs[i]);
  }
  return enh.out;
}

/**
 * An arithmetic or comparison operator between two vectors (VectorBinop), one-to-one or
 * many-to-one/one-to-many. Returns the annotation of the last element operation that
 * raised one, or null.
 */
export function vectorBinop(
  op: BinaryOp,
  lhsIn: Vector,
  rhsIn: Vector,
  matching: VectorMatching,
  returnBool: boolean,
  lsigIn: Int32Array,
  rsigIn: Int32Array,
  enh: EvalNodeHelper,
  pos: PositionRange,
): Annotation | null {
  if (matching.card === 'many-to-many') throw new EvalError('many-to-many only allowed for set operators');
  const fillL = matching.fillValues.lhs;
  const fillR = matching.fillValues.rhs;
  if ((lhsIn.length === 0 && rhsIn.length === 0) || ((lhsIn.length === 0 || rhsIn.length === 0) && fillL === null && fillR === null)) {
    return null; // nothing is going to match
  }
  // The code below handles one-to-one and many-to-one; one-to-many swaps the sides.
  const swapped = matching.card === 'one-to-many';
  const lhs = swapped ? rhsIn : lhsIn;
  const rhs = swapped ? lhsIn : rhsIn;
  const lsig = swapped ? rsigIn : lsigIn;
  const rsig = swapped ? lsigIn : rsigIn;

  const rightSigs = enh.resetRightSigs();
  const rightPresent = enh.resetSigsPresent();
  for (let j = 0; j < rhs.length; j++) {
    enh.tick();
    const rs = rhs[j];
    const ord = rsig[j];
    // The rhs is the "one" side: a second sample with the same signature means the match is many-to-many.
    if (rightPresent[ord] === 1) {
      const dupl = rightSigs[ord]!;
      const oneSide = swapped ? 'left' : 'right';
      const matched = matchLabels(rs.metric, matching.on, matching.matchingLabels);
      let d1 = labelsString(rs.metric);
      let d2 = labelsString(dupl.metric);
      if (compareStrings(d1, d2) > 0) [d1, d2] = [d2, d1];
      throw new EvalError(
        `found duplicate series for the match group ${labelsString(matched)} on the ${oneSide} hand-side of the operation: [${d1}, ${d2}]` +
          ';many-to-many matching not allowed: matching labels must be unique on one side',
      );
    }
    rightSigs[ord] = rs;
    rightPresent[ord] = 1;
  }

  const oneToOne = matching.card === 'one-to-one';
  const matchedPresent = oneToOne ? enh.resetMatchedSigsPresent() : null;
  const matchedSigs = oneToOne ? null : enh.resetMatchedSigs();
  let lastAnno: Annotation | null = null;

  const doBinOp = (lMetric: Labels, lf: number, rMetric: Labels, rf: number, ord: number): void => {
    const fl = swapped ? rf : lf;
    const fr = swapped ? lf : rf;
    const anno = vectorElemBinop(op, fl, fr, pos);
    if (anno !== null) {
      lastAnno = anno;
      return;
    }
    let value = elemValue;
    const keep = elemKeep;
    if (returnBool) value = keep ? 1 : 0;
    const dropMetricNameNow = !enh.enableDelayedNameRemoval && returnBool;
    const metric = resultMetric(lMetric, rMetric, op, matching, dropMetricNameNow, enh);
    if (oneToOne) {
      if (matchedPresent![ord] === 1) throw new EvalError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
      matchedPresent![ord] = 1;
    } else {
      // The grouping labels must make every result unique per match group.
      let inserted = matchedSigs![ord];
      if (inserted === null) {
        inserted = new Set<string>();
        matchedSigs![ord] = inserted;
      }
      const k = keyOf(metric);
      if (inserted.has(k)) throw new EvalError('multiple matches for labels: grouping labels must ensure unique matches');
      inserted.add(k);
    }
    if (!keep && !returnBool) return;
    enh.out.push(enh.sample(metric, value, returnBool));
  };

  for (let i = 0; i < lhs.length; i++) {
    enh.tick();
    const ls = lhs[i];
    const ord = lsig[i];
    if (rightPresent[ord] === 1) {
      const rs = rightSigs[ord]!;
      doBinOp(ls.metric, ls.f, rs.metric, rs.f, ord);
    } else if (fillR !== null) {
      doBinOp(ls.metric, ls.f, matchLabels(ls.metric, matching.on, matching.matchingLabels), fillR, ord);
    }
  }
  if (fillL !== null) {
    for (let j = 0; j < rhs.length; j++) {
      enh.tick();
      const rs = rhs[j];
      const ord = rsig[j];
      if (oneToOne ? matchedPresent![ord] === 1 : (matchedSigs![ord]?.size ?? 0) > 0) continue;
      doBinOp(matchLabels(rs.metric, matching.on, matching.matchingLabels), fillL, rs.metric, rs.f, ord);
    }
  }
  return lastAnno;
}

/**
 * The labels of a binary operation's result (resultMetric): the "many" side's labels,
 * reduced to the matching labels for one-to-one, plus group_x labels from the "one" side.
 */
export function resultMetric(lhs: Labels, rhs: Labels, op: BinaryOp, matching: VectorMatching, dropName: boolean, enh: EvalNodeHelper): Labels {
  let byRhs = enh.resultMetric.get(lhs);
  if (byRhs === undefined) {
    byRhs = new Map();
    enh.resultMetric.set(lhs, byRhs);
  }
  const cached = byRhs.get(rhs);
  if (cached !== undefined) return cached;

  let ls = lhs;
  if (dropName || changesMetricSchema(op)) ls = dropMetricName(ls);
  if (matching.card === 'one-to-one') {
    ls = matching.on ? keepLabels(ls, matching.matchingLabels) : deleteLabels(ls, matching.matchingLabels);
  }
  for (const name of matching.include) {
    // group_x labels come from the "one" side; absent there means absent in the result.
    const v = labelValue(rhs, name);
    ls = v !== '' ? setLabel(ls, name, v) : deleteLabels(ls, [name]);
  }
  byRhs.set(rhs, ls);
  return ls;
}

/**
 * An operation between a vector and a scalar (VectorscalarBinop); swap when the scalar is
 * on the left. Returns the last info annotation raised, or null.
 */
export function vectorScalarBinop(
  op: BinaryOp,
  lhs: Vector,
  scalar: number,
  swap: boolean,
  returnBool: boolean,
  enh: EvalNodeHelper,
  pos: PositionRange,
): Annotation | null {
  let last: Annotation | null = null;
  const cmp = isComparisonOp(op);
  const schema = changesMetricSchema(op);
  for (let i = 0; i < lhs.length; i++) {
    enh.tick();
    const s: Sample = lhs[i];
    const lf = swap ? scalar : s.f;
    const rf = swap ? s.f : scalar;
    const anno = vectorElemBinop(op, lf, rf, pos);
    if (anno !== null) {
      last = anno;
      continue;
    }
    let value = elemValue;
    let keep = elemKeep;
    // A comparison keeps the vector element's value, even when the scalar is on the left.
    if (cmp && swap) value = rf;
    if (returnBool) {
      value = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    if (schema || returnBool) {
      enh.out.push(enh.sample(enh.enableDelayedNameRemoval ? s.metric : dropMetricName(s.metric), value, true));
    } else {
      enh.out.push(enh.sample(s.metric, value, s.dropName));
    }
  }
  return last;
}
