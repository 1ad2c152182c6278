import { describe, expect, it } from 'vitest';
import type { DurationExpr, Expr } from './ast.js';
import { NO_FEATURES, parseExpr, parseMetricSelector } from './parser.js';
import { ParseErrors, positionToLineCol } from './parse-error.js';
import { printExpr } from './printer.js';

/** Fully parenthesised structure: shows how the parser grouped an expression. */
function tree(e: Expr): string {
  switch (e.type) {
    case 'BinaryExpr':
      return `(${tree(e.lhs)} ${e.op}${e.returnBool ? ' bool' : ''} ${tree(e.rhs)})`;
    case 'UnaryExpr':
      return `u${e.op}${tree(e.expr)}`;
    case 'ParenExpr':
      return `[${tree(e.expr)}]`;
    case 'Call':
      return `${e.func.name}(${e.args.map(tree).join(', ')})`;
    case 'AggregateExpr':
      return `${e.op}(${e.param !== null ? tree(e.param) + ', ' : ''}${tree(e.expr)})`;
    case 'SubqueryExpr':
      return `sq{${tree(e.expr)}}`;
    default:
      return printExpr(e);
  }
}

function parseError(q: string, options = {}): string {
  try {
    parseExpr(q, options);
  } catch (e) {
    if (e instanceof ParseErrors) return e.message;
    throw e;
  }
  throw new Error(`${q}: parsed, expected an error`);
}

describe('precedence and associativity', () => {
  const cases: Array<[string, string]> = [
    ['1 + 2 * 3', '(1 + (2 * 3))'],
    ['1 * 2 + 3', '((1 * 2) + 3)'],
    ['a - b - c', '((a - b) - c)'],
    ['a / b / c', '((a / b) / c)'],
    ['a / b * c % d', '(((a / b) * c) % d)'],
    ['2 ^ 3 ^ 2', '(2 ^ (3 ^ 2))'],
    ['a ^ b * c', '((a ^ b) * c)'],
    ['a % b ^ c', '(a % (b ^ c))'],
    ['a atan2 b * c', '((a atan2 b) * c)'],
    ['a + b atan2 c', '(a + (b atan2 c))'],
    ['a > b + c', '(a > (b + c))'],
    ['a == b != c', '((a == b) != c)'],
    ['a </ b + c', '(a </ (b + c))'],
    ['a >/ b == c', '((a >/ b) == c)'],
    ['a == b or c', '((a == b) or c)'],
    ['a or b and c', '(a or (b and c))'],
    ['a and b or c', '((a and b) or c)'],
    ['a unless b and c', '((a unless b) and c)'],
    ['a or b unless c or d', '((a or (b unless c)) or d)'],
    ['a > bool b and c', '((a > bool b) and c)'],
    // Unary minus binds like '*': looser than '^', tighter than '+'.
    ['-a ^ b', 'u-(a ^ b)'],
    ['-a * b', '(u-a * b)'],
    ['-a + b', '(u-a + b)'],
    ['a * -b', '(a * u-b)'],
    ['a ^ -b ^ c', '(a ^ u-(b ^ c))'],
    ['-2 ^ 2', 'u-(2 ^ 2)'],
    ['- - 1', '1'],
    ['+-1', '-1'],
    ['(a + b) * c', '([(a + b)] * c)'],
    // Postfix modifiers attach to the operand right before them.
    ['a + b offset 5m', '(a + b offset 5m)'],
    ['-a offset 5m', 'u-a offset 5m'],
    ['-a @ 5', 'u-a @ 5.000'],
    ['-count_over_time(a[5m])', 'u-count_over_time(a[5m])'],
    ['a * b @ 10', '(a * b @ 10.000)'],
    ['max_over_time(rate(a[5m])[1h:]) + b', '(max_over_time(sq{rate(a[5m])}) + b)'],
    // An offset ends at a literal, step(), range() or min_of/max_of; only a parenthesised
    // duration continues with duration arithmetic.
    ['foo offset 100 + 2', '(foo offset 1m40s + 2)'],
    ['foo offset -2 ^ 2', '(foo offset -2s ^ 2)'],
    ['foo offset step() * 0', '(foo offset step() * 0)'],
    ['foo offset -step() * 2', '(foo offset -step() * 2)'],
    ['foo offset min_of(step(), 1s) + 8000', '(foo offset min_of(step(), 1s) + 8000)'],
    ['foo offset -(min_of(step(), 1s)) + 8000', '(foo offset -(min_of(step(), 1s)) + 8000)'],
    ['foo offset (2 ^ 2)', 'foo offset (2 ^ 2)'],
    ['foo offset (1m) * 2', 'foo offset (1m) * 2'],
    ['foo offset (-2 * 2)', 'foo offset (-2 * 2)'],
  ];
  for (const [q, want] of cases) {
    it(q, () => expect(tree(parseExpr(q))).toBe(want));
  }
});

describe('printing (Prometheus String())', () => {
  const cases: Array<[string, string]> = [
    ['sum by(a)(x)', 'sum by (a) (x)'],
    ['sum(x) by (a,b,)', 'sum by (a, b) (x)'],
    ['SUM BY (group) (x)', 'sum by (group) (x)'],
    ['sum by () (x)', 'sum(x)'],
    ['sum without () (x)', 'sum without () (x)'],
    ['sum without ("a.b", c) (x)', 'sum without ("a.b", c) (x)'],
    ['topk(5, x)', 'topk(5, x)'],
    ['count_values("v", x)', 'count_values("v", x)'],
    ['quantile without(a) (0.9, x)', 'quantile without (a) (0.9, x)'],
    ['limit_ratio(0.5, x)', 'limit_ratio(0.5, x)'],
    ['a + on() b', 'a + on () b'],
    ['a + on(x,y) group_left(z) b', 'a + on (x, y) group_left (z) b'],
    ['a + ignoring(x) group_right b', 'a + ignoring (x) group_right () b'],
    ['a * on("ä") group_left("ö") b', 'a * on ("ä") group_left ("ö") b'],
    ['a and on(x) b', 'a and on (x) b'],
    ['a > bool 1', 'a > bool 1'],
    ['1 + on() a', '1 + a'],
    ['a + fill(0) b', 'a + fill (0) b'],
    ['a + fill(-1.5) b', 'a + fill (-1.5) b'],
    ['a + fill_right(1) fill_left(2) b', 'a + fill_left (2) fill_right (1) b'],
    ['a + fill_left(3) fill_right(3) b', 'a + fill (3) b'],
    ['a + fill(1234567) b', 'a + fill (1.234567e+06) b'],
    ['a + fill(NaN) b', 'a + fill_left (NaN) fill_right (NaN) b'],
    ['a + on(x) group_left fill(0) b', 'a + on (x) group_left () fill (0) b'],
    ['fill + fill(0) fill', 'fill + fill (0) fill'],
    ['foo{b="2",a="1"}', 'foo{a="1",b="2"}'],
    ['foo{a=~"x.*",a!~"y",a!=""}', 'foo{a!="",a!~"y",a=~"x.*"}'],
    ['{__name__="foo"}', '{__name__="foo"}'],
    ['{"foo"}', '{__name__="foo"}'],
    ['{"metric.name", "label.with.dots"="x"}', '{"label.with.dots"="x",__name__="metric.name"}'],
    ['foo{a="b",}', 'foo{a="b"}'],
    ['foo{}', 'foo'],
    ['foo:bar:rate5m', 'foo:bar:rate5m'],
    ['sum', 'sum'],
    ['offset', 'offset'],
    ['by + without', 'by + without'],
    ['foo offset 90m', 'foo offset 1h30m'],
    ['foo offset -5m', 'foo offset -5m'],
    ['foo offset 100', 'foo offset 1m40s'],
    ['foo offset 0', 'foo'],
    ['foo[3600]', 'foo[1h]'],
    ['foo[1.5]', 'foo[1s500ms]'],
    ['foo[7d]', 'foo[1w]'],
    ['foo[365d]', 'foo[1y]'],
    ['foo[8d]', 'foo[8d]'],
    ['foo @ 1', 'foo @ 1.000'],
    ['foo @ -1.5', 'foo @ -1.500'],
    ['foo @ 5m', 'foo @ 300.000'],
    ['foo offset 5m @ 10', 'foo @ 10.000 offset 5m'],
    ['foo[5m] offset 1m @ end()', 'foo[5m] @ end() offset 1m'],
    ['foo @ start()', 'foo @ start()'],
    ['rate(foo[5m])[30m:1m] offset 1h @ 100', 'rate(foo[5m])[30m:1m] @ 100.000 offset 1h'],
    ['x[1h:]', 'x[1h:]'],
    ['(x)[1h:90s]', '(x)[1h:1m30s]'],
    ['foo anchored', 'foo anchored'],
    ['foo[1m] smoothed offset 5m', 'foo[1m] smoothed offset 5m'],
    ['foo offset 5m anchored', 'foo anchored offset 5m'],
    ['1e3', '1000'],
    ['0x10', '16'],
    ['0X_1f', '31'],
    ['010', '8'],
    ['09', '9'],
    ['1_000', '1000'],
    ['.5', '0.5'],
    ['5.', '5'],
    ['1e21', '1000000000000000000000'],
    ['1e-7', '0.0000001'],
    ['Inf', '+Inf'],
    ['-inf', '-Inf'],
    ['nan', 'NaN'],
    ['-0', '-0'],
    ['5m', '5m'],
    ['90m', '1h30m'],
    ['-5m', '-5m'],
    ['1h30m', '1h30m'],
    ['10s53ms', '10s53ms'],
    ['"a\\nb"', '"a\\nb"'],
    ["'it\\'s'", '"it\'s"'],
    ['`raw"q\\`', '"raw\\"q\\\\"'],
    ['"\\xff"', '"\\xff"'],
    ['foo{a="\\xff",b="ä\\n"}', 'foo{a="\\xff",b="ä\\n"}'],
    ['"a\\xc5z"', '"a\\xc5z"'],
    ['"\\u00e9\\xc3\\xa9"', '"éé"'],
    ['"\\101\\x42\\U0001F600"', '"AB😀"'],
    ['foo[5m+1m]', 'foo[5m + 1m]'],
    ['foo[(5m)]', 'foo[(5m)]'],
    ['foo[-5m+10m]', 'foo[-5m + 10m]'],
    ['foo[2*3m]', 'foo[2 * 3m]'],
    ['foo[1h30m % 1h]', 'foo[1h30m % 1h]'],
    ['foo[step()*2:min_of(range(),1m)]', 'foo[step() * 2:min_of(range(), 1m)]'],
    ['foo[MAX_OF(STEP(), 1m)]', 'foo[max_of(step(), 1m)]'],
    ['foo[((5m + 1m))]', 'foo[(5m + 1m)]'], // Prometheus marks the expression wrapped, once
    ['foo offset -(1m)', 'foo offset -(1m)'],
    ['foo offset +(1m)', 'foo offset (1m)'],
    ['foo offset - -1m', 'foo offset 1m'],
    ['step()', 'step()'],
    ['start() + end() + range()', 'start() + end() + range()'],
    ['min_of(1, 2)', 'min_of(1, 2)'],
    ['info(up, {job="a"})', 'info(up, {job="a"})'],
    ['label_join(x, "d", ",", "a", "b", "c")', 'label_join(x, "d", ",", "a", "b", "c")'],
    ['-foo', '-foo'],
    ['+foo', '+foo'],
    ['foo # trailing comment', 'foo'],
    ['foo{a="b" # comment\n}', 'foo{a="b"}'],
  ];
  for (const [q, want] of cases) {
    it(q, () => {
      const printed = printExpr(parseExpr(q));
      expect(printed).toBe(want);
      // What we print parses back to the same text.
      expect(printExpr(parseExpr(printed))).toBe(printed);
    });
  }
});

describe('parse errors (Prometheus messages and positions)', () => {
  const cases: Array<[string, string]> = [
    ['', 'unknown position: parse error: no expression found in input'],
    ['# just a comment\n\n', '1:1: parse error: no expression found in input'],
    ['1+', '1:3: parse error: unexpected end of input'],
    ['.', "1:1: parse error: unexpected character: '.'"],
    ['2.5.', '1:1: parse error: bad number or duration syntax: "2.5."'],
    ['0deadbeef', '1:1: parse error: bad number or duration syntax: "0de"'],
    ['1e', '1:1: parse error: bad number or duration syntax: "1e"'],
    ['*1', '1:1: parse error: unexpected <op:*>'],
    ['(1))', "1:5: parse error: unexpected right parenthesis ')'"],
    ['((1)', '1:5: parse error: unclosed left parenthesis'],
    ['foo[5m', '1:7: parse error: unclosed left bracket'],
    ['foo{', '1:5: parse error: unexpected end of input inside braces'],
    ['foo{a="b"', '1:10: parse error: unexpected end of input inside braces'],
    ['"abc', '1:1: parse error: unterminated quoted string'],
    ['`abc', '1:1: parse error: unterminated raw string'],
    ['"\\q"', "1:1: parse error: unknown escape sequence U+0071 'q'"],
    ['"\\xZZ"', "1:1: parse error: illegal character U+005A 'Z' in escape sequence"],
    ['"\\ud800"', '1:1: parse error: escape sequence is an invalid Unicode code point'],
    ['"\ufffd"', '1:1: parse error: invalid UTF-8 rune'],
    ['a =~ b', "1:3: parse error: unexpected character after '=': '~'"],
    ['a ! b', "1:3: parse error: unexpected character after '!': ' '"],
    ['foo $', "1:5: parse error: unexpected character: '$'"],
    ['1 and 1', '1:1: parse error: set operator "and" not allowed in binary scalar expression'],
    ['1 == 1', '1:3: parse error: comparisons between scalars must use BOOL modifier'],
    ['a + bool b', '1:3: parse error: bool modifier can only be used on comparison operators'],
    ['a bool + b', '1:3: parse error: unexpected <bool>'],
    ['foo bar', '1:5: parse error: unexpected identifier "bar"'],
    ['foo:bar(1)', '1:8: parse error: unexpected "("'],
    ['foo(1)', '1:1: parse error: unknown function with name "foo"'],
    ['RATE(x[5m])', '1:1: parse error: unknown function with name "RATE"'],
    ['rate(foo, )', '1:9: parse error: trailing commas not allowed in function call args'],
    ['rate(x)', '1:6: parse error: expected type range vector in call to function "rate", got instant vector'],
    ['rate()', '1:1: parse error: expected 1 argument(s) in call to "rate", got 0'],
    ['round(x, 1, 2)', '1:1: parse error: expected at most 2 argument(s) in call to "round", got 3'],
    ['label_join(x, "a")', '1:1: parse error: expected at least 3 argument(s) in call to "label_join", got 2'],
    ['time(1)', '1:1: parse error: expected 0 argument(s) in call to "time", got 1'],
    ['info(x, y)', '1:9: parse error: expected label selectors only, got vector selector instead'],
    ['info(x, 1)', '1:1: parse error: expected type instant vector in call to function "info", got scalar'],
    ['sum(1 +)', '1:8: parse error: unexpected ")" in aggregation'],
    ['sum by (a) foo', '1:12: parse error: unexpected identifier "foo" in aggregation'],
    ['sum(foo bar)', '1:9: parse error: unexpected identifier "bar" in aggregation'],
    ['sum()', '1:1: parse error: no arguments for aggregate expression provided'],
    ['sum(a, b)', '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2'],
    ['topk(a)', '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1'],
    ['topk(a, b)', '1:6: parse error: expected type scalar in aggregation parameter, got instant vector'],
    ['count_values(1, b)', '1:14: parse error: expected type string in aggregation parameter, got scalar'],
    ['sum(rate(x[5m]))[5m]', '1:17: parse error: ranges only allowed for vector selectors'],
    ['sum(1)', '1:5: parse error: expected type instant vector in aggregation expression, got scalar'],
    ['sum by foo (x)', '1:8: parse error: unexpected identifier "foo" in grouping opts, expected "("'],
    ['sum without', '1:12: parse error: unexpected end of input in grouping opts, expected "("'],
    ['sum by (a,,b) (x)', '1:11: parse error: unexpected "," in grouping opts, expected label'],
    ['sum by (a b) (x)', '1:11: parse error: unexpected identifier "b" in grouping opts, expected "," or ")"'],
    ['sum by (without) (x)', '1:9: parse error: unexpected <without> in grouping opts, expected label'],
    ['sum by ("") (x)', '1:9: parse error: invalid label name for grouping: ""'],
    ['sum by ("\\xff") (x)', '1:9: parse error: invalid label name for grouping: "\\xff"'],
    ['a + on(x) group_left bool b', '1:22: parse error: unexpected <bool> in grouping opts, expected "("'],
    ['a + on(x) group_left(x) b', '1:3: parse error: label "x" must not occur in ON and GROUP clause at once'],
    ['a and on(x) group_left b', '1:1: parse error: no grouping allowed for "and" operation'],
    ['a + on(x) 1', '1:1: parse error: vector matching only allowed between instant vectors'],
    ['a + fill(0) 1', '1:1: parse error: filling in missing series only allowed between instant vectors'],
    ['a or fill(0) b', '1:1: parse error: filling in missing series not allowed for set operators'],
    ['a + fill(b) c', '1:10: parse error: unexpected identifier "b"'],
    ['"a" + 1', '1:1: parse error: binary expression must contain only scalar and instant vector types'],
    ['a + x[5m]', '1:5: parse error: binary expression must contain only scalar and instant vector types'],
    ['-"a"', '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string"'],
    ['{a=""}[5m:1m]', '1:1: parse error: vector selector must contain at least one non-empty matcher'],
    ['{}', '1:1: parse error: vector selector must contain at least one non-empty matcher'],
    ['{a=""}', '1:1: parse error: vector selector must contain at least one non-empty matcher'],
    ['{a=~".*"}', '1:1: parse error: vector selector must contain at least one non-empty matcher'],
    ['foo{__name__="bar"}', '1:1: parse error: metric name must not be set twice: "foo" or "bar"'],
    ['{a=b}', '1:4: parse error: unexpected identifier "b" in label matching, expected string'],
    ['{a}', '1:3: parse error: unexpected "}" in label matching, expected label matching operator'],
    ['{,}', '1:2: parse error: unexpected "," in label matching, expected identifier or "}"'],
    ['{a="b" c="d"}', '1:8: parse error: unexpected identifier "c" in label matching, expected "," or "}"'],
    ['{"a"=}', '1:6: parse error: unexpected "}" in label matching, expected string'],
    ['foo{a:b="c"}', "1:6: parse error: unexpected character inside braces: ':'"],
    ['foo{a=~"("}', '1:5: parse error: error parsing regexp: missing closing ): `(`'],
    ['foo[]', '1:5: parse error: unexpected "]" in subquery or range selector, expected number, duration, step(), or range()'],
    ['foo[5m 1]', '1:8: parse error: unexpected number "1" in subquery or range, expected ":" or "]"'],
    ['foo[5m:1m 1]', '1:11: parse error: unexpected number "1" in subquery selector, expected "]"'],
    ['foo[5m:+]', '1:9: parse error: unexpected "]" in subquery selector, expected number, duration, step(), range(), or "]"'],
    ['foo[5m + ]', '1:10: parse error: unexpected "]" in subquery or range selector, expected number, duration, step(), or range()'],
    ['foo[x]', "1:5: parse error: unexpected character in duration expression: 'x'"],
    ['foo[5m x]', "1:8: parse error: unexpected character: 'x', expected ':'"],
    ['foo[step():5m]', '1:12: parse error: unexpected colon before duration in duration expression'],
    ['foo[0s]', '1:5: parse error: duration must be greater than 0'],
    ['foo[-1m]', '1:5: parse error: duration must be greater than 0'],
    ['foo[1m:0]', '1:8: parse error: duration must be greater than 0'],
    ['foo[1m/0]', '1:7: parse error: division by zero'],
    ['foo[1m%0]', '1:7: parse error: modulo by zero'],
    ['foo[300y]', '1:5: parse error: duration out of range'],
    ['foo[5hs]', '1:5: parse error: unknown unit "hs" in duration "5hs"'],
    ['foo[1m1h]', '1:5: parse error: not a valid duration string: "1m1h"'],
    ['foo offset 5m[5m]', '1:14: parse error: no offset modifiers allowed before range'],
    ['foo @ 1 [5m]', '1:9: parse error: no @ modifiers allowed before range'],
    ['(foo)[5m]', '1:6: parse error: ranges only allowed for vector selectors'],
    ['foo offset', '1:11: parse error: unexpected end of input in offset, expected number, duration, step(), or range()'],
    ['foo offset (1m) + bar', '1:19: parse error: unexpected identifier "bar" in offset, expected number, duration, step(), or range()'],
    ['foo offset 1m offset 2m', '1:1: parse error: offset may not be set multiple times'],
    ['sum(foo) offset 1m', '1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery'],
    ['foo @', '1:6: parse error: unexpected end of input in @, expected timestamp'],
    ['foo @ start', '1:12: parse error: unexpected end of input in @, expected timestamp'],
    ['foo @ 1 @ 2', '1:1: parse error: @ <timestamp> may not be set multiple times'],
    ['foo @ Inf', '1:1: parse error: timestamp out of bounds for @ modifier: +Inf'],
    ['1 @ 1', '1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery'],
    ['rate(x[5m]) @ 1', '1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery'],
    ['sum(x)[5m:] anchored', '1:1: parse error: anchored modifier is not supported for subqueries'],
    ['foo anchored smoothed', '1:1: parse error: anchored and smoothed modifiers cannot be used together'],
    ['sum(x) smoothed', '1:1: parse error: smoothed modifier not implemented'],
    ['1[5m:]', '1:1: parse error: subquery is only allowed on instant vector, got scalar instead'],
    ['foo[5m][10m:]', '1:1: parse error: subquery is only allowed on instant vector, got matrix instead'],
    ['1 +\n  foo bar', '2:7: parse error: unexpected identifier "bar"'],
    ['{"ä"="x"} +', '1:13: parse error: unexpected end of input'],
  ];
  for (const [q, want] of cases) {
    it(JSON.stringify(q), () => expect(parseError(q)).toBe(want));
  }
});

describe('feature switches', () => {
  const cases: Array<[string, string]> = [
    ['sort_by_label(x, "a")', '1:1: parse error: function "sort_by_label" is not enabled'],
    ['limitk(1, x)', '1:1: parse error: limitk() is experimental and must be enabled with --enable-feature=promql-experimental-functions'],
    ['foo[5m+1m]', '1:5: parse error: experimental duration expression is not enabled'],
    ['foo[step()]', '1:5: parse error: experimental duration expression is not enabled'],
    ['foo offset (1m)', '1:13: parse error: experimental duration expression is not enabled'],
    ['foo anchored', '1:1: parse error: anchored modifier is experimental and not enabled'],
    ['foo[1m] smoothed', '1:1: parse error: smoothed modifier is experimental and not enabled'],
    ['a + fill(0) b', '1:1: parse error: binop fill modifiers are experimental and not enabled'],
  ];
  for (const [q, want] of cases) {
    it(q, () => {
      expect(parseError(q, NO_FEATURES)).toBe(want);
      expect(() => parseExpr(q)).not.toThrow(); // on by default
    });
  }
  it('keeps stable syntax without features', () => {
    expect(printExpr(parseExpr('foo offset -(1m)', NO_FEATURES))).toBe('foo offset -(1m)');
    expect(printExpr(parseExpr('rate(foo[5m] offset 1h @ end())', NO_FEATURES))).toBe('rate(foo[5m] @ end() offset 1h)');
  });
});

describe('syntax tree', () => {
  it('carries positions on every node', () => {
    const q = 'sum by (job) (rate(foo{a="b"}[5m] offset 1m))';
    const e = parseExpr(q);
    expect(e.type).toBe('AggregateExpr');
    if (e.type !== 'AggregateExpr') return;
    expect([e.start, e.end]).toEqual([0, q.length]);
    const call = e.expr;
    expect(call.type).toBe('Call');
    if (call.type !== 'Call') return;
    expect(q.slice(call.start, call.end)).toBe('rate(foo{a="b"}[5m] offset 1m)');
    const ms = call.args[0];
    expect(ms.type).toBe('MatrixSelector');
    if (ms.type !== 'MatrixSelector') return;
    expect(q.slice(ms.start, ms.end)).toBe('foo{a="b"}[5m] offset 1m');
    expect(q.slice(ms.vectorSelector.start, ms.vectorSelector.end)).toBe('foo{a="b"}');
    const bin = parseExpr('-a + 2 * b');
    if (bin.type !== 'BinaryExpr') throw new Error(bin.type);
    expect([bin.start, bin.end, bin.lhs.start, bin.lhs.end, bin.rhs.start, bin.rhs.end]).toEqual([0, 10, 0, 2, 5, 10]);
  });

  it('resolves value types', () => {
    const types = (q: string): string => parseExpr(q).valueType;
    expect(types('1 + 2')).toBe('scalar');
    expect(types('1 + foo')).toBe('vector');
    expect(types('"s"')).toBe('string');
    expect(types('(("s"))')).toBe('string');
    expect(types('foo[5m]')).toBe('matrix');
    expect(types('foo[5m:]')).toBe('matrix');
    expect(types('scalar(foo)')).toBe('scalar');
    expect(types('-time()')).toBe('scalar');
    expect(types('sum(foo)')).toBe('vector');
  });

  it('keeps durations and timestamps in milliseconds', () => {
    const ms = parseExpr('foo[1m30s] offset -2h @ 1.5');
    if (ms.type !== 'MatrixSelector') throw new Error(ms.type);
    expect(ms.range).toBe(90_000);
    expect(ms.rangeExpr).toBeNull();
    expect(ms.vectorSelector.originalOffset).toBe(-7_200_000);
    expect(ms.vectorSelector.timestamp).toBe(1500);
    expect(ms.vectorSelector.offset).toBe(0);

    const sq = parseExpr('foo[1h:] @ end() offset 5m');
    if (sq.type !== 'SubqueryExpr') throw new Error(sq.type);
    expect([sq.range, sq.step, sq.originalOffset, sq.startOrEnd, sq.timestamp]).toEqual([3_600_000, 0, 300_000, 'end', null]);

    const lit = parseExpr('1h30m');
    expect(lit).toMatchObject({ type: 'NumberLiteral', val: 5400, duration: true });
  });

  it('builds duration expressions', () => {
    const ms = parseExpr('foo[(5m)]');
    if (ms.type !== 'MatrixSelector') throw new Error(ms.type);
    expect(ms.range).toBe(0);
    expect(ms.rangeExpr).toMatchObject({ op: '+', lhs: null, wrapped: true, rhs: { type: 'NumberLiteral', val: 300 } });
    const off = parseExpr('foo offset -step()');
    if (off.type !== 'VectorSelector') throw new Error(off.type);
    const de = off.originalOffsetExpr as DurationExpr;
    expect(de).toMatchObject({ op: '-', lhs: null, rhs: { type: 'DurationExpr', op: 'step' } });
    const mx = parseExpr('foo[max_of(1m, 2 * step())]');
    if (mx.type !== 'MatrixSelector') throw new Error(mx.type);
    expect(mx.rangeExpr).toMatchObject({
      op: 'max_of',
      lhs: { type: 'NumberLiteral', val: 60, duration: true },
      rhs: { op: '*', lhs: { val: 2, duration: false }, rhs: { op: 'step' } },
    });
  });

  it('folds signs into number literals', () => {
    expect(parseExpr('-1')).toMatchObject({ type: 'NumberLiteral', val: -1, start: 0, end: 2 });
    expect(parseExpr(' - -2')).toMatchObject({ type: 'NumberLiteral', val: 2, start: 1 });
    expect(parseExpr('-(1)')).toMatchObject({ type: 'UnaryExpr', op: '-', expr: { type: 'ParenExpr' } });
  });

  it('sets up vector matching', () => {
    const set = parseExpr('a and b');
    expect(set).toMatchObject({ type: 'BinaryExpr', op: 'and', vectorMatching: { card: 'many-to-many' } });
    const grp = parseExpr('a / on(x) group_left(y) b');
    expect(grp).toMatchObject({ vectorMatching: { card: 'many-to-one', on: true, matchingLabels: ['x'], include: ['y'] } });
    const fill = parseExpr('a - ignoring(x) fill_left(1) b');
    expect(fill).toMatchObject({ vectorMatching: { card: 'one-to-one', on: false, matchingLabels: ['x'], fillValues: { lhs: 1, rhs: null } } });
    expect(parseExpr('a + 1')).toMatchObject({ vectorMatching: null });
    expect(parseExpr('a > bool 1')).toMatchObject({ returnBool: true });
  });

  it('appends the name matcher after the written ones', () => {
    const vs = parseExpr('foo{a="1"}');
    if (vs.type !== 'VectorSelector') throw new Error(vs.type);
    expect(vs.name).toBe('foo');
    expect(vs.matchers.map((m) => m.toString())).toEqual(['a="1"', '__name__="foo"']);
    const quoted = parseExpr('{"foo.bar", a=~"x|y"}');
    if (quoted.type !== 'VectorSelector') throw new Error(quoted.type);
    expect(quoted.name).toBe('');
    expect(quoted.matchers.map((m) => m.toString())).toEqual(['__name__="foo.bar"', 'a=~"x|y"']);
  });

  it('marks info() label selectors', () => {
    const e = parseExpr('info(up, {job=""})');
    if (e.type !== 'Call') throw new Error(e.type);
    expect(e.args[1]).toMatchObject({ type: 'VectorSelector', bypassEmptyMatcherCheck: true });
  });

  it('keeps raw bytes of string literals', () => {
    const e = parseExpr('"a\\xc5z"');
    if (e.type !== 'StringLiteral') throw new Error(e.type);
    expect(e.val.length).toBe(3);
    expect(printExpr(e)).toBe('"a\\xc5z"');
  });
});

describe('large inputs', () => {
  it('parses long operator chains without deep recursion', () => {
    const q = Array.from({ length: 20_000 }, (_, i) => `m${i}`).join(' + ');
    const e = parseExpr(q);
    expect(printExpr(e)).toBe(q);
  });

  it('reports every error of a pathological query quickly', () => {
    const q = '(' + '-{}-1'.repeat(10000) + ')' + '[1m:]'.repeat(1000);
    const t0 = performance.now();
    let err: ParseErrors | undefined;
    try {
      parseExpr(q);
    } catch (e) {
      err = e as ParseErrors;
    }
    expect(err).toBeInstanceOf(ParseErrors);
    expect(err!.errors.length).toBe(10_999);
    expect(err!.errors[0].positionRange).toEqual({ start: 2, end: 4 });
    expect(err!.errors[10_000].positionRange).toEqual({ start: 0, end: 50_012 });
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});

describe('parseMetricSelector', () => {
  it('returns the matchers', () => {
    expect(parseMetricSelector('up{job="a"}').map((m) => m.toString())).toEqual(['job="a"', '__name__="up"']);
    expect(parseMetricSelector('{a=~"b"}').map((m) => m.toString())).toEqual(['a=~"b"']);
  });
  it('rejects more than a selector', () => {
    expect(() => parseMetricSelector('up + 1')).toThrow('1:4: parse error: unexpected <op:+>');
    expect(() => parseMetricSelector('1')).toThrow('1:1: parse error: unexpected number "1"');
  });
});

describe('positionToLineCol', () => {
  it('counts lines and UTF-8 byte columns', () => {
    expect(positionToLineCol('abc', 0)).toBe('1:1');
    expect(positionToLineCol('ab\ncd', 4)).toBe('2:2');
    expect(positionToLineCol('ä+x', 2)).toBe('1:4');
    expect(positionToLineCol('abc', 1, 4)).toBe('5:2');
    expect(positionToLineCol('', 0)).toBe('unknown position');
    expect(positionToLineCol('abc', 9)).toBe('invalid position');
  });
});
