import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { labelsFromStrings } from '../labels/index.js';
import {
  parseOpenMetrics,
  parseOpenMetricsBatches,
  parseOpenMetricsString,
  TextParseError,
  type SampleEntry,
  type TextEntry,
} from './index.js';

async function collect(it: AsyncIterable<TextEntry>): Promise<TextEntry[]> {
  const out: TextEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

function samples(entries: TextEntry[]): SampleEntry[] {
  return entries.filter((e): e is SampleEntry => e.kind === 'sample');
}

function errorOf(text: string): string {
  try {
    parseOpenMetricsString(text);
  } catch (e) {
    expect(e).toBeInstanceOf(TextParseError);
    return (e as Error).message;
  }
  throw new Error(`no error for ${JSON.stringify(text)}`);
}

describe('parseOpenMetricsString', () => {
  it('parses metadata, samples, escapes, special values and exemplars', () => {
    const text = [
      '# HELP foo_seconds Some "help" with \\\\ and \\n escapes',
      '# TYPE foo_seconds gauge',
      '# UNIT foo_seconds seconds',
      'foo_seconds{b="2",a="x\\"y\\\\z\\nw"} 1.5 1.001',
      'foo_seconds{a="3",b=""} NaN 2',
      'foo_seconds{} +Inf 3',
      'foo_seconds -Inf 4.5',
      'bar_total 3 1e3 # {trace_id="abc"} 1 3',
      'bar_created 1.6e9 1',
      'baz{a="\\t"} -0 -1.5',
      '# EOF',
      '',
    ].join('\n');
    const entries = parseOpenMetricsString(text);
    expect(entries.slice(0, 3)).toEqual([
      { kind: 'help', metric: 'foo_seconds', help: 'Some "help" with \\ and \n escapes' },
      { kind: 'type', metric: 'foo_seconds', type: 'gauge' },
      { kind: 'unit', metric: 'foo_seconds', unit: 'seconds' },
    ]);
    const s = samples(entries);
    expect(s.map((e) => e.labels)).toEqual([
      labelsFromStrings('__name__', 'foo_seconds', 'a', 'x"y\\z\nw', 'b', '2'),
      labelsFromStrings('__name__', 'foo_seconds', 'a', '3'),
      labelsFromStrings('__name__', 'foo_seconds'),
      labelsFromStrings('__name__', 'foo_seconds'),
      labelsFromStrings('__name__', 'bar_total'),
      labelsFromStrings('__name__', 'bar_created'),
      // Escapes other than \\ \" \n stay as written.
      labelsFromStrings('__name__', 'baz', 'a', '\\t'),
    ]);
    // Timestamps are float seconds truncated to ms (Go's int64(ts*1000)): 1.001*1000 is 1000.999…
    expect(s.map((e) => e.t)).toEqual([1000, 2000, 3000, 4500, 1_000_000, 1000, -1500]);
    expect(s.map((e) => e.v)).toEqual([1.5, NaN, Infinity, -Infinity, 3, 1.6e9, -0]);
    expect(Object.is(s[6].v, -0)).toBe(true);
  });

  it('truncates timestamps toward zero like Go', () => {
    const ts = ['6.9999', '0.0001', '-0.0001', '1700000000.123', '1e-3', '2.5e2', '1.0005'];
    const text = ts.map((t, i) => `m{i="${i}"} 1 ${t}\n`).join('') + '# EOF';
    expect(samples(parseOpenMetricsString(text)).map((e) => e.t)).toEqual([6999, 0, 0, 1700000000123, 1, 250000, 1000]);
  });

  it('uses defaultTimestamp for samples without one', () => {
    const s = samples(parseOpenMetricsString('a 1\nb 2 3\n# EOF\n', { defaultTimestamp: 42 }));
    expect(s.map((e) => e.t)).toEqual([42, 3000]);
  });

  it('accepts the float syntax of Go ParseFloat, not that of JS', () => {
    const ok: [string, number][] = [
      ['1', 1],
      ['-2.5', -2.5],
      ['+.5', 0.5],
      ['5.', 5],
      ['1E+2', 100],
      ['1e-400', 0],
      ['inf', Infinity],
      ['-INFINITY', -Infinity],
      ['nan', NaN],
      ['0.1', 0.1],
      ['123456789012345678', 123456789012345678],
      ['0.30000000000000004', 0.30000000000000004],
    ];
    const text = ok.map(([v], i) => `m{i="${i}"} ${v} 0\n`).join('') + '# EOF\n';
    expect(samples(parseOpenMetricsString(text)).map((e) => e.v)).toEqual(ok.map(([, v]) => v));
    for (const [bad, msg] of [
      ['0x10', 'strconv.ParseFloat: parsing "0x10": invalid syntax'],
      ['0x1p3', 'unsupported character in float'],
      ['1_000', 'unsupported character in float'],
      ['Infinity1', 'strconv.ParseFloat: parsing "Infinity1": invalid syntax'],
      ['+NaN', 'strconv.ParseFloat: parsing "+NaN": invalid syntax'],
      ['1e', 'strconv.ParseFloat: parsing "1e": invalid syntax'],
      ['.', 'strconv.ParseFloat: parsing ".": invalid syntax'],
      ['1e400', 'strconv.ParseFloat: parsing "1e400": value out of range'],
      ['1\r', 'strconv.ParseFloat: parsing "1\\r": invalid syntax'],
    ]) {
      expect(errorOf(`m ${bad} 1\n# EOF\n`)).toBe(`openmetrics: line 1: ${msg}`);
    }
  });

  it('drops empty label values and rejects duplicate names', () => {
    const s = samples(parseOpenMetricsString('m{a="",b="1",c=""} 1 1\nm{a="",a="x"} 1 1\n# EOF\n'));
    expect(s.map((e) => e.labels)).toEqual([
      labelsFromStrings('__name__', 'm', 'b', '1'),
      labelsFromStrings('__name__', 'm', 'a', 'x'),
    ]);
    expect(errorOf('m{a="1",b="2",a="3"} 1 1\n# EOF\n')).toBe('openmetrics: line 1: label name "a" is not unique');
    expect(errorOf('m{__name__="x"} 1 1\n# EOF\n')).toBe('openmetrics: line 1: label name "__name__" is not unique');
  });

  it('reports errors with line numbers and Prometheus messages', () => {
    const cases: [string, string][] = [
      ['m 1 1\n', 'line 2: data does not end with # EOF'],
      ['', 'line 1: data does not end with # EOF'],
      ['m 1 1', 'line 1: expected next entry after timestamp, got "EOF"'],
      ['m 1', 'line 1: data does not end with # EOF'],
      ['# EOF\nm 1 1\n', 'line 2: unexpected data after # EOF'],
      ['# EOF\n\n', 'line 2: unexpected data after # EOF'],
      ['# EOF \n', 'line 1: unexpected data after # EOF'],
      ['m 1\n# EOF\n', 'line 1: expected timestamp for series {__name__="m"}, got none'],
      ['m{a="b"} 1\n# EOF\n', 'line 1: expected timestamp for series {__name__="m", a="b"}, got none'],
      ['a 1 1\nm{a=1} 1 1\n# EOF\n', 'line 2: expected label value, got "INVALID"'],
      ['m{a="1",} 1 1\n# EOF\n', 'line 1: expected label name, got "BCLOSE"'],
      ['m{,a="1"} 1 1\n# EOF\n', 'line 1: expected label name or left brace, got "COMMA"'],
      ['m{a="1"b="2"} 1 1\n# EOF\n', 'line 1: expected comma, got "LNAME"'],
      ['m{a="1"=} 1 1\n# EOF\n', 'line 1: expected comma or left brace, got "EQUAL"'],
      ['m{a:b="1"} 1 1\n# EOF\n', 'line 1: expected equal, got "INVALID"'],
      ['m{1a="1"} 1 1\n# EOF\n', 'line 1: expected label name or left brace, got "INVALID"'],
      ['m{a="1\n', 'line 1: expected label value, got "INVALID"'],
      ['m  1 1\n# EOF\n', 'line 1: expected value after metric, got "INVALID"'],
      ['m\n# EOF\n', 'line 1: expected value after metric, got "INVALID"'],
      ['m{a="1"}{ 1\n# EOF\n', 'line 1: expected value after metric, got "BOPEN"'],
      ['m 1 1 \n# EOF\n', 'line 1: expected next entry after timestamp, got "INVALID"'],
      ['m 1 1 2\n# EOF\n', 'line 1: expected next entry after timestamp, got "TIMESTAMP"'],
      ['m 1 \n# EOF\n', 'line 1: expected timestamp or # symbol, got "INVALID"'],
      ['m 1 NaN\n# EOF\n', 'line 1: invalid timestamp'],
      ['m 1 -Inf\n# EOF\n', 'line 1: invalid timestamp'],
      ['m 1 #x\n# EOF\n', 'line 1: strconv.ParseFloat: parsing "#x": invalid syntax'],
      ['m 1 # x\n# EOF\n', 'line 1: expected timestamp or # symbol, got "INVALID"'],
      ['m abc 1\n# EOF\n', 'line 1: strconv.ParseFloat: parsing "abc": invalid syntax'],
      ['# TYPE m bogus\n# EOF\n', 'line 1: invalid metric type "bogus"'],
      ['# TYPE m untyped\n# EOF\n', 'line 1: invalid metric type "untyped"'],
      ['# TYPE m\n# EOF\n', 'line 1: expected text in TYPE'],
      ['# HELP m\n# EOF\n', 'line 1: expected text in HELP'],
      ['# HELP 1m x\n# EOF\n', 'line 1: expected metric name after HELP, got "INVALID"'],
      ['# UNIT m_seconds bytes\n# EOF\n', 'line 1: unit not a suffix of metric "m_seconds"'],
      ['# UNIT seconds seconds\n# EOF\n', 'line 1: unit not a suffix of metric "seconds"'],
      ['# some comment\n# EOF\n', 'line 1: "INVALID" "s" is not a valid start token'],
      ['# HELPX m x\n# EOF\n', 'line 1: "INVALID" "X" is not a valid start token'],
      ['#HELP m x\n# EOF\n', 'line 1: "INVALID" "H" is not a valid start token'],
      ['\n# EOF\n', 'line 1: "INVALID" "\\n" is not a valid start token'],
      [' m 1 1\n# EOF\n', 'line 1: "INVALID" " " is not a valid start token'],
      ['1m 1 1\n# EOF\n', 'line 1: "INVALID" "1" is not a valid start token'],
      ['m 1 1 # {a="b"} 1\n# EOF\n', 'line 1: metric name m does not support exemplars'],
      ['m_total 1 1 # {a="b"} x\n# EOF\n', 'line 1: strconv.ParseFloat: parsing "x": invalid syntax'],
      ['m_total 1 1 # {a="b"}\n# EOF\n', 'line 1: expected value after exemplar labels, got "INVALID"'],
      ['m_total 1 1 # {a="b"} 1 NaN\n# EOF\n', 'line 1: invalid exemplar timestamp'],
      ['m_total 1 1 # {a="b"} 1 1 1\n# EOF\n', 'line 1: expected next entry after exemplar timestamp, got "TIMESTAMP"'],
      ['m_total 1 1 # {a=b} 1\n# EOF\n', 'line 1: expected label value, got "INVALID"'],
      ['m_total 1 1 # {a= 1} 1\n# EOF\n', 'line 1: expected label value, got "VALUE"'],
      ['m_total 1 1 # {a="b"} 1', 'line 1: data does not end with # EOF'],
    ];
    for (const [text, msg] of cases) expect(errorOf(text), JSON.stringify(text)).toBe(`openmetrics: ${msg}`);
  });

  it('accepts exemplars with and without timestamps, with or without a sample timestamp', () => {
    const s = samples(
      parseOpenMetricsString(
        [
          'a_bucket{le="1"} 1 5 # {} 0.5',
          'a_bucket{le="+Inf"} 2 6 # {id="x y},\\""} 0.5 5.5',
          'a_total 3 7 # {a="1",b="2"} 1 7',
          '# EOF',
        ].join('\n'),
      ),
    );
    expect(s.map((e) => [e.labels, e.t, e.v])).toEqual([
      [labelsFromStrings('__name__', 'a_bucket', 'le', '1'), 5000, 1],
      [labelsFromStrings('__name__', 'a_bucket', 'le', '+Inf'), 6000, 2],
      [labelsFromStrings('__name__', 'a_total'), 7000, 3],
    ]);
    expect(
      samples(parseOpenMetricsString('a_total 3 # {a="1"} 1\n# EOF\n', { defaultTimestamp: 9 })).map((e) => e.t),
    ).toEqual([9]);
  });

  it('accepts # EOF without a trailing newline', () => {
    expect(samples(parseOpenMetricsString('m 1 1\n# EOF'))).toHaveLength(1);
  });
});

describe('parseOpenMetrics (streaming)', () => {
  const doc = [
    '# HELP hello Ünïcode “help” ✓',
    '# TYPE hello gauge',
    ...Array.from({ length: 200 }, (_, i) => `m{a="värde ${i % 7} ✓",i="${i}"} ${i * 0.25} ${1000 + i}.5`),
    '# EOF',
    '',
  ]
    .join('\n');

  it('gives the same entries for any chunking, including splits inside UTF-8 sequences', async () => {
    const want = parseOpenMetricsString(doc);
    expect(samples(want)).toHaveLength(200);
    const bytes = Buffer.from(doc);
    for (const size of [1, 2, 3, 7, 64, 1000, bytes.length]) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(new Uint8Array(bytes.subarray(i, i + size)));
      expect(await collect(parseOpenMetrics(chunks)), `chunk size ${size}`).toEqual(want);
    }
  });

  it('reads a file through a Readable and yields batches', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'om-test-'));
    try {
      const file = join(dir, 'in.om');
      await writeFile(file, doc);
      const entries = await collect(parseOpenMetrics(createReadStream(file, { highWaterMark: 512 })));
      expect(entries).toEqual(parseOpenMetricsString(doc));
      let batches = 0;
      let n = 0;
      for await (const b of parseOpenMetricsBatches(createReadStream(file, { highWaterMark: 512 }))) {
        batches++;
        n += b.length;
      }
      expect(n).toBe(entries.length);
      expect(batches).toBeGreaterThan(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('accepts string chunks', async () => {
    expect(samples(await collect(parseOpenMetrics(['m 1', ' 1\n# E', 'OF\n'])))).toHaveLength(1);
  });

  it('reports the line of invalid UTF-8', async () => {
    const input = [Buffer.from('a 1 1\nm{a="'), Buffer.from([0xff, 0xfe]), Buffer.from('"} 1 1\n# EOF\n')];
    await expect(collect(parseOpenMetrics(input))).rejects.toThrow('openmetrics: line 2: invalid UTF-8 label value');
    const help = [Buffer.from('# HELP m '), Buffer.from([0xc3]), Buffer.from('\n# EOF\n')];
    await expect(collect(parseOpenMetrics(help))).rejects.toThrow(
      'openmetrics: line 1: help text is not a valid utf8 string',
    );
  });

  it('reports a missing # EOF after the last line', async () => {
    await expect(collect(parseOpenMetrics(Readable.from(['m 1 1\n', 'm 2 2\n'])))).rejects.toThrow(
      'openmetrics: line 3: data does not end with # EOF',
    );
  });

  it('refuses lines longer than maxLineBytes', async () => {
    const long = 'm{a="' + 'x'.repeat(5000) + '"} 1 1\n# EOF\n';
    await expect(collect(parseOpenMetrics([long.slice(0, 100), long.slice(100)], { maxLineBytes: 1024 }))).rejects.toThrow(
      'openmetrics: line 1: line longer than 1024 bytes',
    );
    expect(samples(await collect(parseOpenMetrics([long], { maxLineBytes: 8192 })))).toHaveLength(1);
  });

  it('stops reading when the consumer stops', async () => {
    let pulled = 0;
    async function* source(): AsyncGenerator<string> {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield `m ${i} ${i}\n`;
      }
    }
    for await (const e of parseOpenMetrics(source())) {
      expect(e.kind).toBe('sample');
      break;
    }
    expect(pulled).toBe(1);
  });
});
