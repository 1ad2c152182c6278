import { describe, expect, it } from 'vitest';
import { type Item, ItemType, Lexer, itemDesc } from './lexer.js';

const T = ItemType;
const NAMES = new Map<number, string>(Object.entries(ItemType).map(([k, v]) => [v, k]));

function lex(input: string, seriesDesc = false): string[] {
  const l = new Lexer(input);
  l.seriesDesc = seriesDesc;
  const out: string[] = [];
  for (;;) {
    const it = l.nextItem();
    if (it.typ === T.EOF) return out;
    out.push(`${NAMES.get(it.typ)}:${it.val}`);
    if (it.typ === T.ERROR) return out;
  }
}

describe('Lexer', () => {
  it('scans operators, keywords case-insensitively and identifiers', () => {
    expect(lex('sum BY (a) (x:y{b!~"c"}) >= bool 1 </ 2 >/ 3 atan2 4')).toEqual([
      'SUM:sum',
      'BY:BY',
      'LEFT_PAREN:(',
      'IDENTIFIER:a',
      'RIGHT_PAREN:)',
      'LEFT_PAREN:(',
      'METRIC_IDENTIFIER:x:y',
      'LEFT_BRACE:{',
      'IDENTIFIER:b',
      'NEQ_REGEX:!~',
      'STRING:"c"',
      'RIGHT_BRACE:}',
      'RIGHT_PAREN:)',
      'GTE:>=',
      'BOOL:bool',
      'NUMBER:1',
      'TRIM_UPPER:</',
      'NUMBER:2',
      'TRIM_LOWER:>/',
      'NUMBER:3',
      'ATAN2:atan2',
      'NUMBER:4',
    ]);
  });

  it('scans numbers and durations', () => {
    expect(lex('1 .5 5. 1e-3 0x1F 0X_a 1_000 Inf nAn 5m 1h30m 10s53ms 2y')).toEqual([
      'NUMBER:1',
      'NUMBER:.5',
      'NUMBER:5.',
      'NUMBER:1e-3',
      'NUMBER:0x1F',
      'NUMBER:0X_a',
      'NUMBER:1_000',
      'NUMBER:Inf',
      'NUMBER:nAn',
      'DURATION:5m',
      'DURATION:1h30m',
      'DURATION:10s53ms',
      'DURATION:2y',
    ]);
  });

  it('treats fill keywords as keywords only before "("', () => {
    expect(lex('fill + fill (0) fill_left')).toEqual(['IDENTIFIER:fill', 'ADD:+', 'FILL:fill', 'LEFT_PAREN:(', 'NUMBER:0', 'RIGHT_PAREN:)', 'IDENTIFIER:fill_left']);
  });

  it('lexes keywords inside braces as identifiers', () => {
    expect(lex('{by="x", offset=~"y"}')).toEqual([
      'LEFT_BRACE:{',
      'IDENTIFIER:by',
      'EQL:=',
      'STRING:"x"',
      'COMMA:,',
      'IDENTIFIER:offset',
      'EQL_REGEX:=~',
      'STRING:"y"',
      'RIGHT_BRACE:}',
    ]);
  });

  it('lexes duration expressions inside brackets', () => {
    expect(lex('x[ 5m+Step():MIN_OF(1m, 2)]')).toEqual([
      'IDENTIFIER:x',
      'LEFT_BRACKET:[',
      'DURATION:5m',
      'ADD:+',
      'STEP:Step',
      'LEFT_PAREN:(',
      'RIGHT_PAREN:)',
      'COLON::',
      'MIN_OF:MIN_OF',
      'LEFT_PAREN:(',
      'DURATION:1m',
      'COMMA:,',
      'NUMBER:2',
      'RIGHT_PAREN:)',
      'RIGHT_BRACKET:]',
    ]);
  });

  it('skips comments and reports them', () => {
    expect(lex('a # note\n+ b')).toEqual(['IDENTIFIER:a', 'COMMENT:# note', 'ADD:+', 'IDENTIFIER:b']);
  });

  it('lexes series descriptions', () => {
    expect(lex('m{a="b"} 1+2x3 _x2 stale -1 {{sum:1 buckets:[1 -2]}}x1', true)).toEqual([
      'IDENTIFIER:m',
      'LEFT_BRACE:{',
      'IDENTIFIER:a',
      'EQL:=',
      'STRING:"b"',
      'RIGHT_BRACE:}',
      'SPACE: ',
      'NUMBER:1',
      'ADD:+',
      'NUMBER:2',
      'TIMES:x',
      'NUMBER:3',
      'SPACE: ',
      'BLANK:_',
      'TIMES:x',
      'NUMBER:2',
      'SPACE: ',
      'IDENTIFIER:stale',
      'SPACE: ',
      'SUB:-',
      'NUMBER:1',
      'SPACE: ',
      'OPEN_HIST:{{',
      'SUM_DESC:sum',
      'COLON::',
      'NUMBER:1',
      'SPACE: ',
      'BUCKETS_DESC:buckets',
      'COLON::',
      'LEFT_BRACKET:[',
      'NUMBER:1',
      'SPACE: ',
      'SUB:-',
      'NUMBER:2',
      'RIGHT_BRACKET:]',
      'CLOSE_HIST:}}',
      'TIMES:x',
      'NUMBER:1',
    ]);
  });

  it('reports errors at the start of the bad token', () => {
    const l = new Lexer('foo + "ab\\q"');
    let it: Item;
    do it = l.nextItem();
    while (it.typ !== T.ERROR && it.typ !== T.EOF);
    expect(it).toEqual({ typ: T.ERROR, pos: 6, val: "unknown escape sequence U+0071 'q'" });
  });

  it('describes items like Prometheus', () => {
    const d = (typ: ItemType, val: string): string => itemDesc({ typ, pos: 0, val });
    expect(d(T.IDENTIFIER, 'foo')).toBe('identifier "foo"');
    expect(d(T.METRIC_IDENTIFIER, 'a:b')).toBe('metric identifier "a:b"');
    expect(d(T.NUMBER, '1')).toBe('number "1"');
    expect(d(T.DURATION, '5m')).toBe('duration "5m"');
    expect(d(T.STRING, '"a long string"')).toBe('string "\\"a long st"...');
    expect(d(T.ADD, '+')).toBe('<op:+>');
    expect(d(T.LAND, 'AND')).toBe('<op:AND>');
    expect(d(T.SUM, 'sum')).toBe('<aggr:sum>');
    expect(d(T.OFFSET, 'offset')).toBe('<offset>');
    expect(d(T.STEP, 'step')).toBe('"step"');
    expect(d(T.RIGHT_PAREN, ')')).toBe('")"');
    expect(d(T.EOF, '')).toBe('end of input');
    expect(d(T.SCHEMA_DESC, 'schema')).toBe('"<Item 57372>" "schema"');
  });
});
