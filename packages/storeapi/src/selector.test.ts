import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@thanos-ts/runtime';
import { parseSelector } from './selector.js';

const str = (sel: string): string =>
  parseSelector(sel)
    .map((m) => m.toString())
    .join(', ');

describe('parseSelector', () => {
  it('parses metric names, braces and all four operators', () => {
    expect(str('up')).toBe('__name__="up"');
    expect(str('up{}')).toBe('__name__="up"');
    expect(str('node:cpu:rate5m')).toBe('__name__="node:cpu:rate5m"');
    expect(str('{job="x"}')).toBe('job="x"');
    expect(str(' up { job = "x" , instance!="a", path=~"/api/.*",code!~"5.." , } ')).toBe(
      '__name__="up", job="x", instance!="a", path=~"/api/.*", code!~"5.."',
    );
    expect(str('{on="1", by="2", __name__=~"a|b"}')).toBe('on="1", by="2", __name__=~"a|b"');
  });

  it('unquotes double, single and backtick strings with Go escapes', () => {
    expect(parseSelector(`{a="x\\"y\\\\z\\n\\t"}`)[0].value).toBe('x"y\\z\n\t');
    expect(parseSelector(`{a='it\\'s "fine"'}`)[0].value).toBe(`it's "fine"`);
    expect(parseSelector('{a=`raw \\d+ "q" \'s\'`}')[0].value).toBe(`raw \\d+ "q" 's'`);
    expect(parseSelector(`{a="\\u00e9\\U0001F600\\x41\\101\\a\\b\\f\\r\\v"}`)[0].value).toBe('é😀AA\x07\b\f\r\v');
    // Byte escapes assemble UTF-8: \xc3\xa9 is "é".
    expect(parseSelector(`{a="\\xc3\\xa9"}`)[0].value).toBe('é');
    expect(parseSelector(`{a="日本語"}`)[0].value).toBe('日本語');
  });

  it('accepts Prometheus 3 quoted names', () => {
    expect(str('{"my.metric", "a.b"="c"}')).toBe('__name__="my.metric", "a.b"="c"');
    expect(str(`{'x'}`)).toBe('__name__="x"');
  });

  it('rejects bad selectors with positions', () => {
    const bad: [string, RegExp][] = [
      ['', /^1:1: parse error: unexpected end of input$/],
      ['{', /unexpected end of input inside braces/],
      ['{a="b"', /1:7: parse error: unexpected end of input in label matching, expected "," or "}"/],
      ['{a}', /1:3: parse error: unexpected "}" in label matching, expected one of/],
      ['{a=b}', /1:4: parse error: unexpected "b" in label matching, expected string/],
      ['{a=~"("}', /1:5: parse error: invalid regular expression in a: error parsing regexp: missing closing \)/],
      ['{a="b\\q"}', /1:6: parse error: unknown escape sequence "\\\\q"/],
      [`{a="it\\'s"}`, /unknown escape sequence/],
      ['{a="x', /1:4: parse error: unterminated quoted string/],
      ['{a="x\ny"}', /unterminated quoted string/],
      ['{a=`x}', /unterminated raw string/],
      ['{a="\\u12', /escape sequence not terminated/],
      ['{a="\\u12"}', /illegal character "\\"" in escape sequence/],
      ['{a="\\xzz"}', /illegal character "z" in escape sequence/],
      ['{a="\\ud800"}', /invalid Unicode code point/],
      ['{a="\\400"}', /invalid Unicode code point/],
      ['up{"x"}', /metric name must not be set twice: "up" or "x"/],
      ['up}', /unexpected "}" after the selector/],
      ['9up', /expected a metric name/],
      ['{a=""}', /vector selector must contain at least one non-empty matcher/],
      ['{a=~".*"}', /at least one non-empty matcher/],
    ];
    for (const [sel, msg] of bad) {
      let err: unknown = null;
      try {
        parseSelector(sel);
      } catch (e) {
        err = e;
      }
      expect(err, sel).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message, sel).toMatch(msg);
    }
  });
});
