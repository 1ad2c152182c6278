// Renders expressions back to PromQL exactly as Prometheus's String() methods do
// (promql/parser/printer.go): normalised spacing, sorted matchers, canonical durations.
// The output parses back to the same tree, which the test runner relies on when it
// rewrites queries with `@`.

import { type Matcher, MatchType, compareStrings } from '@thanos-ts/tsdb';
import type { AggregateExpr, BinaryExpr, DurationExpr, Expr, MatrixSelector, SubqueryExpr, VectorSelector } from './ast.js';
import { isAggregateWithParam } from './ast.js';
import { formatDurationMs, formatFloatF, formatFloatFixed, formatFloatG, nsFloatToMs, quoteGo } from './go-strconv.js';

/** The PromQL text of an expression, as Prometheus prints it. */
export function printExpr(node: Expr | DurationExpr): string {
  switch (node.type) {
    case 'AggregateExpr':
      return printAggregate(node);
    case 'BinaryExpr':
      return printBinary(node);
    case 'Call':
      return `${node.func.name}(${node.args.map(printExpr).join(', ')})`;
    case 'MatrixSelector':
      return printMatrixSelector(node);
    case 'SubqueryExpr':
      return printExpr(node.expr) + subqueryTimeSuffix(node);
    case 'NumberLiteral':
      if (node.duration) {
        return node.val < 0 ? '-' + formatDurationMs(nsFloatToMs(-node.val * 1e9)) : formatDurationMs(nsFloatToMs(node.val * 1e9));
      }
      return formatFloatF(node.val);
    case 'ParenExpr':
      return `(${printExpr(node.expr)})`;
    case 'StringLiteral':
      return quoteGo(node.val);
    case 'UnaryExpr':
      return node.op + printExpr(node.expr);
    case 'VectorSelector':
      return printVectorSelector(node, true);
    case 'StepInvariantExpr':
      return printExpr(node.expr);
    case 'DurationExpr':
      return printDurationExpr(node);
  }
}

/** Prints a chain of binary expressions nested on the left without recursing per link. */
function printBinary(root: BinaryExpr): string {
  const spine: BinaryExpr[] = [root];
  for (let n = root.lhs; n.type === 'BinaryExpr'; n = n.lhs) spine.push(n);
  let s = printExpr(spine[spine.length - 1].lhs);
  for (let i = spine.length - 1; i >= 0; i--) {
    const n = spine[i];
    s += ` ${n.op}${n.returnBool ? ' bool' : ''}${matchingString(n)} ${printExpr(n.rhs)}`;
  }
  return s;
}

/** The aggregation without its arguments, e.g. `sum by (job) ` (AggregateExpr.ShortString). */
export function aggregateOpString(node: AggregateExpr): string {
  if (node.without) return `${node.op} without (${labelList(node.grouping)}) `;
  if (node.grouping.length > 0) return `${node.op} by (${labelList(node.grouping)}) `;
  return node.op;
}

function printAggregate(node: AggregateExpr): string {
  const param = isAggregateWithParam(node.op) && node.param !== null ? printExpr(node.param) + ', ' : '';
  return `${aggregateOpString(node)}(${param}${printExpr(node.expr)})`;
}

/** Label names as written in by/without/on/…: quoted when not a legacy identifier. */
function labelList(names: readonly string[]): string {
  return names.map((n) => (isLegacyLabelName(n) ? n : quoteGo(n))).join(', ');
}

function isLegacyLabelName(s: string): boolean {
  return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(s);
}

function matchingString(node: BinaryExpr): string {
  const vm = node.vectorMatching;
  if (vm === null) return '';
  let out = '';
  const grouped = vm.card === 'many-to-one' || vm.card === 'one-to-many';
  if (vm.matchingLabels.length > 0 || vm.on || grouped) {
    out += ` ${vm.on ? 'on' : 'ignoring'} (${labelList(vm.matchingLabels)})`;
  }
  if (grouped) out += ` group_${vm.card === 'many-to-one' ? 'left' : 'right'} (${labelList(vm.include)})`;
  const { lhs, rhs } = vm.fillValues;
  if (lhs !== null && rhs !== null && lhs === rhs) {
    out += ` fill (${formatFloatG(lhs)})`;
  } else {
    if (lhs !== null) out += ` fill_left (${formatFloatG(lhs)})`;
    if (rhs !== null) out += ` fill_right (${formatFloatG(rhs)})`;
  }
  return out;
}

function printDurationExpr(node: DurationExpr): string {
  let s: string;
  switch (node.op) {
    case 'step':
      s = 'step()';
      break;
    case 'range':
      s = 'range()';
      break;
    case 'min_of':
    case 'max_of':
      s = `${node.op}(${printOperand(node.lhs)}, ${printOperand(node.rhs)})`;
      break;
    default:
      if (node.lhs === null) s = (node.op === '-' ? '-' : '') + printOperand(node.rhs);
      else s = `${printOperand(node.lhs)} ${node.op} ${printOperand(node.rhs)}`;
  }
  return node.wrapped ? `(${s})` : s;
}

function printOperand(n: Expr | DurationExpr | null): string {
  return n === null ? '' : printExpr(n);
}

function atString(ts: number | null, startOrEnd: 'start' | 'end' | null): string {
  if (ts !== null) return ' @ ' + formatFloatFixed(ts / 1000, 3);
  if (startOrEnd !== null) return ` @ ${startOrEnd}()`;
  return '';
}

function offsetString(ms: number, expr: DurationExpr | null): string {
  if (expr !== null) return ' offset ' + printDurationExpr(expr);
  if (ms > 0) return ' offset ' + formatDurationMs(ms);
  if (ms < 0) return ' offset -' + formatDurationMs(-ms);
  return '';
}

function printVectorSelector(node: VectorSelector, withModifiers: boolean): string {
  const parts: string[] = [];
  for (const m of node.matchers) {
    // The name written outside the braces is not repeated inside them.
    if (m.name === '__name__' && m.type === MatchType.EQ && m.value === node.name && m.value !== '') continue;
    parts.push(matcherString(m));
  }
  let s = node.name;
  if (parts.length > 0) s += '{' + parts.sort(compareStrings).join(',') + '}';
  if (!withModifiers) return s;
  s += atString(node.timestamp, node.startOrEnd);
  if (node.anchored) s += ' anchored';
  else if (node.smoothed) s += ' smoothed';
  return s + offsetString(node.originalOffset, node.originalOffsetExpr);
}

const MATCH_OPS = ['=', '!=', '=~', '!~'];

/** A matcher as Prometheus prints it; our quoting keeps raw bytes of values (`"\\xff"`). */
function matcherString(m: Matcher): string {
  const name = m.name !== '' && isLegacyLabelName(m.name) ? m.name : quoteGo(m.name);
  return name + MATCH_OPS[m.type] + quoteGo(m.value);
}

function rangeString(ms: number, expr: DurationExpr | null): string {
  return expr !== null ? printDurationExpr(expr) : formatDurationMs(ms);
}

function printMatrixSelector(node: MatrixSelector): string {
  const vs = node.vectorSelector;
  const ext = vs.anchored ? ' anchored' : vs.smoothed ? ' smoothed' : '';
  return (
    `${printVectorSelector(vs, false)}[${rangeString(node.range, node.rangeExpr)}]${ext}` +
    atString(vs.timestamp, vs.startOrEnd) +
    offsetString(vs.originalOffset, vs.originalOffsetExpr)
  );
}

/** `[range:step] @ t offset d` of a subquery (SubqueryExpr.ShortString). */
export function subqueryTimeSuffix(node: SubqueryExpr): string {
  const step = node.step !== 0 ? formatDurationMs(node.step) : node.stepExpr !== null ? printDurationExpr(node.stepExpr) : '';
  return (
    `[${rangeString(node.range, node.rangeExpr)}:${step}]` +
    atString(node.timestamp, node.startOrEnd) +
    offsetString(node.originalOffset, node.originalOffsetExpr)
  );
}
