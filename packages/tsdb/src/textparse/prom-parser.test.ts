import { afterAll, describe, expect, it } from 'vitest';
import {
  parseGoG,
  removeTempDirs,
  startExporter,
  startPrometheus,
  waitFor,
  type Exporter,
} from '@thanos-ts/testutil';
import { labelsFromRecord, labelsFromStrings, labelsKey, labelsToRecord, type Labels } from '../labels/index.js';
import { parsePromText, parsePromTextString, TextParseError, type SampleEntry, type TextEntry } from './index.js';

afterAll(removeTempDirs);

function samples(entries: TextEntry[]): SampleEntry[] {
  return entries.filter((e): e is SampleEntry => e.kind === 'sample');
}

function reasonOf(text: string): string {
  try {
    parsePromTextString(text, { defaultTimestamp: 0 });
  } catch (e) {
    expect(e).toBeInstanceOf(TextParseError);
    return (e as TextParseError).reason;
  }
  throw new Error(`no error for ${JSON.stringify(text)}`);
}

const GOOD = [
  '# HELP http_requests_total The total number of HTTP requests, with \\\\ and \\n; \\" stays.',
  '# TYPE http_requests_total counter',
  'http_requests_total{method="post",code="200"} 1027',
  'http_requests_total{method="post",code="400"}    3   ',
  '',
  '# A free comment',
  '#comment without a space',
  'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
  'metric_without_timestamp_and_labels 12.47',
  'something_weird{problem="division by zero"} +Inf',
  'trailing_comma{a="1",} -Inf',
  'tabs_and_spaces\t{ a = "x" , b="y" }\t0.5',
  'no_comma{a="1" b="2"} NaN',
  'empty_value{a=""} 7',
  '# TYPE untyped_thing untyped',
  'untyped_thing 1e-300',
  '# TYPE a_summary summary',
  'a_summary{quantile="0.5"} 4.2',
  'a_summary_sum 1.7560473e+07',
  'a_summary_count 2693',
].join('\n');

describe('parsePromTextString', () => {
  it('parses the text format with its looser whitespace and comment rules', () => {
    const entries = parsePromTextString(GOOD + '\nwith_ts 1 1395066363000\n', { defaultTimestamp: 5 });
    expect(entries.slice(0, 2)).toEqual([
      {
        kind: 'help',
        metric: 'http_requests_total',
        help: 'The total number of HTTP requests, with \\ and \n; \\" stays.',
      },
      { kind: 'type', metric: 'http_requests_total', type: 'counter' },
    ]);
    expect(entries.find((e) => e.kind === 'type' && e.metric === 'untyped_thing')).toEqual({
      kind: 'type',
      metric: 'untyped_thing',
      type: 'unknown',
    });
    const s = samples(entries);
    expect(s.map((e) => [labelsToRecord(e.labels), e.v, e.t])).toEqual([
      [{ __name__: 'http_requests_total', method: 'post', code: '200' }, 1027, 5],
      [{ __name__: 'http_requests_total', method: 'post', code: '400' }, 3, 5],
      [
        { __name__: 'msdos_file_access_time_seconds', path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' },
        1.458255915e9,
        5,
      ],
      [{ __name__: 'metric_without_timestamp_and_labels' }, 12.47, 5],
      [{ __name__: 'something_weird', problem: 'division by zero' }, Infinity, 5],
      [{ __name__: 'trailing_comma', a: '1' }, -Infinity, 5],
      [{ __name__: 'tabs_and_spaces', a: 'x', b: 'y' }, 0.5, 5],
      [{ __name__: 'no_comma', a: '1', b: '2' }, NaN, 5],
      [{ __name__: 'empty_value' }, 7, 5],
      [{ __name__: 'untyped_thing' }, 1e-300, 5],
      [{ __name__: 'a_summary', quantile: '0.5' }, 4.2, 5],
      [{ __name__: 'a_summary_sum' }, 1.7560473e7, 5],
      [{ __name__: 'a_summary_count' }, 2693, 5],
      [{ __name__: 'with_ts' }, 1, 1395066363000],
    ]);
    expect(s[2].labels).toEqual(
      labelsFromStrings('__name__', 'msdos_file_access_time_seconds', 'error', 'Cannot find file:\n"FILE.TXT"', 'path', 'C:\\DIR\\FILE.TXT'),
    );
  });

  it('keeps leading whitespace in the metric name, as Prometheus does', () => {
    // PromParser.Metric takes the name from the line start; a scrape then fails with
    // "invalid metric name or label names".
    expect(samples(parsePromTextString('  a 1\n', { defaultTimestamp: 0 }))[0].labels).toEqual(
      labelsFromStrings('__name__', '  a'),
    );
  });

  it('needs no trailing newline and no end marker', () => {
    expect(samples(parsePromTextString('a 1 2', { defaultTimestamp: 0 })).map((e) => e.t)).toEqual([2]);
    expect(parsePromTextString('')).toEqual([]);
  });

  it('rejects samples without timestamp unless a default is given', () => {
    expect(() => parsePromTextString('a{b="c"} 1\n')).toThrow(
      'prometheus: line 1: expected timestamp for series {__name__="a", b="c"}, got none',
    );
  });

  it('reports errors like Prometheus', () => {
    const cases: [string, string][] = [
      ['a 1 -5\n', 'expected timestamp or new record, got "INVALID"'],
      ['a 1 1.5\n', 'expected next entry after timestamp, got "INVALID"'],
      ['a 1 99999999999999999999\n', 'strconv.ParseInt: parsing "99999999999999999999": value out of range'],
      ['a{b="c",,} 1\n', 'expected label name, got "COMMA"'],
      ['a{b} 1\n', 'expected equal, got "BCLOSE"'],
      ['a{b=c} 1\n', 'expected label value, got "INVALID"'],
      ['a\n', 'expected value after metric, got "INVALID"'],
      ['a x\n', 'strconv.ParseFloat: parsing "x": invalid syntax'],
      ['# TYPE a gaugehistogram\n', 'invalid metric type "gaugehistogram"'],
      ['# TYPE a  gauge\n', 'invalid metric type " gauge"'],
      ['# HELP 1a x\n', 'expected metric name after HELP, got "INVALID"'],
      ['{a="b"} 1\n', '"INVALID" is not a valid start token'],
      ['a{b="c\n', 'expected label value, got "INVALID"'],
    ];
    for (const [text, reason] of cases) expect(reasonOf(text), JSON.stringify(text)).toBe(reason);
    // "# HELP" without a name is just a comment.
    expect(parsePromTextString('# HELP\n# HELPING\n')).toEqual([]);
  });
});

interface ApiVector {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

interface ApiTargets {
  data: { activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] };
}

describe('PromParser vs a scraping Prometheus 2.42', () => {
  it('reads what Prometheus scrapes, and fails where its scrape fails with the same error', async () => {
    const bad = [
      'a 1 -5\n',
      'a 1 1.5\n',
      'a{b="c",,} 1\n',
      'a{b} 1\n',
      'a{b=c} 1\n',
      'a\n',
      'a x\n',
      '# TYPE a gaugehistogram\n',
      '# TYPE a  gauge\n',
      '# HELP 1a x\n',
      '{a="b"} 1\n',
      'a 0x1p3\n',
    ];
    const exporters: Exporter[] = [];
    try {
      const good = await startExporter(GOOD);
      exporters.push(good);
      for (const b of bad) exporters.push(await startExporter(b));
      const prom = await startPrometheus({
        scrapeSelf: false,
        config: {
          scrape_configs: exporters.map((e, i) => ({
            job_name: i === 0 ? 'good' : `bad${i}`,
            static_configs: [{ targets: [e.target] }],
          })),
        },
      });
      try {
        const targets = await waitFor(
          async () => {
            const res = (await (await fetch(`${prom.url}/api/v1/targets`)).json()) as ApiTargets;
            const t = res.data.activeTargets;
            return t.length === exporters.length && t.every((x) => x.health !== 'unknown') && t;
          },
          { timeoutMs: 20_000, what: 'every target scraped once' },
        );
        for (let i = 1; i < exporters.length; i++) {
          const target = targets.find((t) => t.labels.job === `bad${i}`)!;
          expect(target.lastError, JSON.stringify(bad[i - 1])).toBe(reasonOf(bad[i - 1]));
        }

        const res = (await (
          await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent('{job="good",__name__!~"up|scrape_.*"}')}`)
        ).json()) as ApiVector;
        const scraped = new Map<string, number>();
        for (const r of res.data.result) scraped.set(labelsKey(labelsFromRecord(r.metric)), parseGoG(r.value[1]));
        const ours = new Map<string, number>();
        for (const e of samples(parsePromTextString(GOOD, { defaultTimestamp: 0 }))) {
          ours.set(labelsKey(withTarget(e.labels, good.target)), e.v);
        }
        expect(scraped).toEqual(ours);
      } finally {
        await prom.stop();
      }
    } finally {
      await Promise.all(exporters.map((e) => e.stop()));
    }
  });

  it('streams from chunks', async () => {
    const chunks = [GOOD.slice(0, 100), GOOD.slice(100, 101), GOOD.slice(101)];
    const got: TextEntry[] = [];
    for await (const e of parsePromText(chunks, { defaultTimestamp: 1 })) got.push(e);
    expect(got).toEqual(parsePromTextString(GOOD, { defaultTimestamp: 1 }));
  });
});

function withTarget(ls: Labels, target: string): Labels {
  return labelsFromRecord({ ...labelsToRecord(ls), job: 'good', instance: target });
}
