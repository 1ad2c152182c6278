import { describe, expect, it } from 'vitest';
import type { VectorSample } from '../types.js';
import { Expander, GoSlice, expandErrorText, fromJS, newTemplateExpander, type GoValue } from './index.js';

const lbls = (o: Record<string, string>): VectorSample['labels'] =>
  Object.entries(o)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, value]) => ({ name, value })) as unknown as VectorSample['labels'];

interface Scenario {
  text: string;
  output?: string;
  input?: GoValue;
  queryResult?: VectorSample[];
  errorMsg?: string;
}

const ints = (xs: (number | bigint)[]): GoValue => new GoSlice(xs.map((x) => BigInt(x)), '[]int64');
const strs = (xs: string[]): GoValue => new GoSlice(xs, '[]string');
const floats = (xs: number[]): GoValue => new GoSlice(xs, '[]float64');
const metricA = (v: number, extra: Record<string, string> = { instance: 'a' }): VectorSample[] => [{ labels: lbls({ __name__: 'metric', ...extra }), value: v }];

// Prometheus template/template_test.go TestTemplateExpansion (text mode, no histograms).
const scenarios: Scenario[] = [
  { text: 'plain text', output: 'plain text' },
  { text: '{{ 1 }}', output: '1' },
  { text: '{{\u00a0}}', errorMsg: 'error parsing template test: template: test:1: unrecognized character in action: U+00A0' },
  { text: '{{ "<b>" }}', output: '<b>' },
  { text: '{{define "x"}}{{.arg0}} {{.arg1}}{{end}}{{template "x" (args 1 "2")}}', output: '1 2' },
  { text: '{{ query "1.5" | first | value }}', output: '1.5', queryResult: [{ labels: lbls({}), value: 1.5 }] },
  { text: `{{ query "metric{instance='a'}" | first | value }}`, queryResult: metricA(11), output: '11' },
  { text: `{{ query "metric{instance='a'}" | first | label "instance" }}`, queryResult: metricA(11), output: 'a' },
  { text: `{{ query "metric{__value__='a'}" | first | strvalue }}`, queryResult: metricA(11, { __value__: 'a' }), output: 'a' },
  { text: `{{ query "metric{instance='a'}" | first | label "foo" }}`, queryResult: metricA(11), output: '' },
  { text: '{{ $x := query "metric" | first }}{{ $x.Labels.foo }}', queryResult: metricA(11), output: '' },
  {
    text: '{{ range query "metric" | sortByLabel "instance" }}{{.Labels.instance}}:{{.Value}}: {{end}}',
    queryResult: [...metricA(21, { instance: 'b' }), ...metricA(11)],
    output: 'a:11: b:21: ',
  },
  { text: '{{ "foo.example.com" | stripPort }}', output: 'foo.example.com' },
  { text: '{{ "foo.example.com:12345" | stripPort }}', output: 'foo.example.com' },
  { text: '{{ "192.0.2.1" | stripPort }}', output: '192.0.2.1' },
  { text: '{{ "192.0.2.1:12345" | stripPort }}', output: '192.0.2.1' },
  { text: '{{ "2001:0DB8::1" | stripPort }}', output: '2001:0DB8::1' },
  { text: '{{ "[2001:0DB8::1]:12345" | stripPort }}', output: '2001:0DB8::1' },
  { text: '{{ "[2001:0DB8::1]::12345" | stripPort }}', output: '[2001:0DB8::1]::12345' },
  { text: '{{ .Foo }}', output: '<no value>' },
  { text: '{{', errorMsg: 'error parsing template test: template: test:1: unclosed action' },
  {
    text: '{{ query "missing" | first }}',
    queryResult: [],
    errorMsg: 'error executing template test: template: test:1:21: executing "test" at <first>: error calling first: first() called on vector with no elements',
  },
  {
    text: '{{ (query "missing").banana }}',
    queryResult: [],
    errorMsg: 'error executing template test: template: test:1:10: executing "test" at <"missing">: can\'t evaluate field banana in type template.queryResult',
  },
  { text: '{{ reReplaceAll "(a)b" "x$1" "ab" }}', output: 'xa' },
  { text: '{{ range . }}{{ humanize . }}:{{ end }}', input: floats([0.0, 1.0, 1234567.0, 0.12]), output: '0:1:1.235M:120m:' },
  { text: '{{ range . }}{{ humanize . }}:{{ end }}', input: strs(['0.0', '1.0', '1234567.0', '.12']), output: '0:1:1.235M:120m:' },
  {
    text: '{{ humanize "one" }}',
    errorMsg: 'error executing template test: template: test:1:3: executing "test" at <humanize "one">: error calling humanize: strconv.ParseFloat: parsing "one": invalid syntax',
  },
  { text: '{{ range . }}{{ humanize . }}:{{ end }}', input: ints([0, -1, 1, 1234567, 9223372036854775807n]), output: '0:-1:1:1.235M:9.223E:' },
  { text: '{{ range . }}{{ humanize1024 . }}:{{ end }}', input: floats([0.0, 1.0, 1048576.0, 0.12]), output: '0:1:1Mi:0.12:' },
  { text: '{{ range . }}{{ humanize1024 . }}:{{ end }}', input: strs(['0.0', '1.0', '1048576.0', '.12']), output: '0:1:1Mi:0.12:' },
  { text: '{{ range . }}{{ humanize1024 . }}:{{ end }}', input: ints([0, -1, 1, 1234567, 9223372036854775807n]), output: '0:-1:1:1.177Mi:8Ei:' },
  {
    text: '{{ range . }}{{ humanizeDuration . }}:{{ end }}',
    input: floats([0, 1, 60, 3600, 86400, 86400 + 3600, -(86400 * 2 + 3600 * 3 + 60 * 4 + 5), 899.99]),
    output: '0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:',
  },
  { text: '{{ range . }}{{ humanizeDuration . }}:{{ end }}', input: strs(['0', '1', '60', '3600', '86400']), output: '0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:' },
  {
    text: '{{ range . }}{{ humanizeDuration . }}:{{ end }}',
    input: floats([0.1, 0.0001, 0.12345, 60.1, 60.5, 1.2345, 12.345]),
    output: '100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:',
  },
  { text: '{{ range . }}{{ humanizeDuration . }}:{{ end }}', input: ints([0, -1, 1, 1234567]), output: '0s:-1s:1s:14d 6h 56m 7s:' },
  {
    text: '{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:{{humanizeTimestamp .}}:{{ end }}',
    input: floats([Infinity, -Infinity, NaN]),
    output: '+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:',
  },
  {
    text: '{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:{{humanizeTimestamp .}}:{{ end }}',
    input: strs(['+Inf', '-Inf', 'NaN']),
    output: '+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:',
  },
  {
    text: '{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}',
    output: '-22.22%:0%:12.35%:123.5%',
  },
  { text: '{{ range . }}{{ humanizePercentage . }}:{{ end }}', input: ints([0, -1, 1, 1234567, 9223372036854775807n]), output: '0%:-100%:100%:1.235e+08%:9.223e+20%:' },
  {
    text: '{{ "one" | humanizePercentage }}',
    errorMsg: 'error executing template test: template: test:1:11: executing "test" at <humanizePercentage>: error calling humanizePercentage: strconv.ParseFloat: parsing "one": invalid syntax',
  },
  {
    text: '{{ range . }}{{ humanizeTimestamp . }}:{{ end }}',
    input: ints([0, -1, 1, 1234567, 9223372036]),
    output:
      '1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-01 00:00:01 +0000 UTC:1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC:',
  },
  {
    text: '{{ range . }}{{ humanizeTimestamp . }}:{{ end }}',
    input: ints([-9223372036854775808n, 9223372036854775807n]),
    errorMsg:
      'error executing template test: template: test:1:16: executing "test" at <humanizeTimestamp .>: error calling humanizeTimestamp: -9.223372036854776e+18 cannot be represented as a nanoseconds timestamp since it overflows int64',
  },
  { text: '{{ 1435065584.128 | humanizeTimestamp }}', output: '2015-06-23 13:19:44.128 +0000 UTC' },
  { text: '{{ "1435065584.128" | humanizeTimestamp }}', output: '2015-06-23 13:19:44.128 +0000 UTC' },
  { text: '{{ (1435065584.128 | toTime).Format "2006" }}', output: '2015' },
  { text: '{{ ("1435065584.128" | toTime).Format "2006" }}', output: '2015' },
  { text: '{{ (1800 | toDuration).String }}', output: '30m0s' },
  { text: '{{ ("1800" | toDuration).String }}', output: '30m0s' },
  { text: '{{ now }}', output: '1.353755652e+09' },
  { text: '{{ (now | toTime).Format "Mon Jan 2 15:04:05 2006" }}', output: 'Sat Nov 24 11:14:12 2012' },
  { text: '{{ ("-30m" | parseDuration | toDuration | (now | toTime).Add).UnixMilli }}', output: '1353753852000' },
  { text: '{{ "aa bb CC" | title }}', output: 'Aa Bb CC' },
  { text: '{{ "aa bb CC" | toUpper }}', output: 'AA BB CC' },
  { text: '{{ "aA bB CC" | toLower }}', output: 'aa bb cc' },
  { text: '{{ match "a+" "aa" }} {{ match "a+" "b" }}', output: 'true false' },
  { text: '{{ graphLink "up" }}', output: '/graph?g0.expr=up&g0.tab=0' },
  { text: '{{ tableLink "up" }}', output: '/graph?g0.expr=up&g0.tab=1' },
  { text: '{{ pathPrefix }}', output: '/path/prefix' },
  { text: '{{ externalURL }}', output: 'http://testhost:9090/path/prefix' },
  { text: '{{ printf "%0.2f" (parseDuration "1h2m10ms") }}', output: '3720.01' },
  { text: '{{ printf "%0.2f" (parseDuration "-1h2m10ms") }}', output: '-3720.01' },
  { text: '{{ "foo.example.com" | stripDomain }}', output: 'foo' },
  { text: '{{ "foo.example.com:12345" | stripDomain }}', output: 'foo:12345' },
  { text: '{{ "192.0.2.1" | stripDomain }}', output: '192.0.2.1' },
  { text: '{{ "192.0.2.1:12345" | stripDomain }}', output: '192.0.2.1:12345' },
  { text: '{{ "2001:0DB8::1" | stripDomain }}', output: '2001:0DB8::1' },
  { text: '{{ "[2001:0DB8::1]:12345" | stripDomain }}', output: '[2001:0DB8::1]:12345' },
  { text: '{{ "[2001:0DB8::1]::12345" | stripDomain }}', output: '[2001:0DB8::1]::12345' },
];

describe('Prometheus template expansion (template_test.go)', () => {
  for (const s of scenarios) {
    it(s.text, async () => {
      const e = new Expander({ externalURL: 'http://testhost:9090/path/prefix', query: async () => s.queryResult ?? [] });
      const run = e.expand('test', s.text, s.input, 1353755652000);
      if (s.errorMsg !== undefined) await expect(run).rejects.toThrow(s.errorMsg);
      else expect(await run).toBe(s.output);
    });
  }
});

// Go text/template behaviour beyond Prometheus's own tests.
const goCases: [string, unknown, string][] = [
  ['{{ $x := 1 }}{{ if $x }}yes{{ else }}no{{ end }}', undefined, 'yes'],
  ['{{ if eq . "a" }}A{{ else if eq . "b" }}B{{ else }}C{{ end }}', 'b', 'B'],
  ['{{ range $k, $v := . }}{{ $k }}={{ $v }};{{ end }}', { b: '2', a: '1', c: '3' }, 'a=1;b=2;c=3;'],
  ['{{ range $i, $v := . }}{{ if eq $v "c" }}{{ break }}{{ end }}{{ if eq $i 0 }}{{ continue }}{{ end }}{{ $v }}{{ end }}', ['a', 'b', 'c', 'd'], 'b'],
  ['{{ range . }}x{{ else }}empty{{ end }}', [], 'empty'],
  ['{{ with .a }}{{ . }}{{ else }}none{{ end }}', { a: '' }, 'none'],
  ['{{ $x := "a" }}{{ $x = "b" }}{{ $x }}', undefined, 'b'],
  ['a  {{- 1 -}}  b', undefined, 'a1b'],
  ['a {{/* comment */}} b {{- /* trimmed */ -}} c', undefined, 'a  bc'],
  ['{{ printf "%s|%d|%5.2f|%v|%q|%x|%g|%e|%t|%-4s|%05d" "s" 42 3.14159 1e6 "q" 255 0.000012 123456.789 true "ab" 42 }}', undefined, 's|42| 3.14|1e+06|"q"|ff|1.2e-05|1.234568e+05|true|ab  |00042'],
  ['{{ printf "%d" "x" }} {{ printf "%s" }} {{ printf "a" 1 }}', undefined, '%!d(string=x) %!s(MISSING) a%!(EXTRA int=1)'],
  ['{{ 0.1 }} {{ 1e6 }} {{ 100000.0 }} {{ 1.5e-7 }} {{ 0x10 }} {{ \'a\' }}', undefined, '0.1 1e+06 100000 1.5e-07 16 97'],
  ['{{ len . }} {{ index . 1 }} {{ slice . 1 2 }}', ['a', 'b', 'c'], '3 b [b]'],
  ['{{ index . "k" }}|{{ index . "missing" }}|{{ .missing }}', { k: 'v' }, 'v||'],
  ['{{ and 1 0 2 }} {{ or 0 "" "x" }} {{ not true }} {{ and 1 2 }}', undefined, '0 x false 2'],
  ['{{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1.5 2.5 }} {{ ne 1 2 }}', undefined, 'true true true false true'],
  ['{{ html "<a href=\\"x\\">&</a>" }} {{ js "it\'s <x>" }} {{ urlquery "a b&c" }}', undefined, '&lt;a href=&#34;x&#34;&gt;&amp;&lt;/a&gt; it\\\'s \\u003Cx\\u003E a+b%26c'],
  ['{{ print 1 2 "a" "b" 3 }}|{{ println 1 "a" }}', undefined, '1 2ab3|1 a\n'],
  ['{{ define "x" }}[{{ . }}]{{ end }}{{ template "x" "x" }}{{ block "b" 2 }}<{{ . }}>{{ end }}', undefined, '[x]<2>'],
  ['{{ . }}', { b: '1', a: '2' }, 'map[a:2 b:1]'],
  ['{{ . }}', [1.5, 2], '[1.5 2]'],
  ['{{ reReplaceAll "(?P<host>[^:]+):(\\\\d+)" "${host} port $2" "node1:9100" }}', undefined, 'node1 port 9100'],
  ['{{ "abc" | len }}', undefined, '3'],
];

describe('Go text/template semantics', () => {
  for (const [text, data, want] of goCases) {
    it(text, async () => {
      expect(await new Expander().expand('t', text, fromJS(data), 0)).toBe(want);
    });
  }

  const errCases: [string, unknown, string][] = [
    ['{{ if eq . 1 }}x{{ end }}', 1.5, 'template: t:1:6: executing "t" at <eq . 1>: error calling eq: incompatible types for comparison'],
    ['{{ toUpper . }}', 1.5, 'template: t:1:11: executing "t" at <.>: wrong type for value; expected string; got float64'],
    ['{{ toUpper 3 }}', undefined, 'template: t:1:11: executing "t" at <3>: expected string; found 3'],
    ['{{ .a.b }}', { a: 'x' }, 'template: t:1:5: executing "t" at <.a.b>: can\'t evaluate field b in type string'],
    ['{{ humanize }}', undefined, 'template: t:1:3: executing "t" at <humanize>: wrong number of args for humanize: want 1 got 0'],
    ['{{ template "nope" }}', undefined, 'template: t:1:12: executing "t" at <{{template "nope"}}>: template "nope" not defined'],
    ['{{ range 3 }}{{ end }}', undefined, 'template: t:1:9: executing "t" at <3>: range can\'t iterate over 3'],
    ['{{ nil }}', undefined, 'template: t:1:3: executing "t" at <nil>: nil is not a command'],
  ];
  for (const [text, data, want] of errCases) {
    it(`fails: ${text}`, async () => {
      await expect(new Expander().expand('t', text, fromJS(data), 0)).rejects.toThrow(`error executing template t: ${want}`);
    });
  }
});

describe('newTemplateExpander', () => {
  const data = { labels: { instance: 'node1:9100', job: 'node' }, externalLabels: { cluster: 'eu' }, externalURL: 'http://prom:9090', value: 1234567 };

  it('expands with the preamble', async () => {
    const expand = newTemplateExpander({ externalURL: 'http://prom:9090' });
    const out = await expand('__alert_High', '{{ $labels.instance }} of {{ $externalLabels.cluster }} is {{ $value }} ({{ humanize $value }}) at {{ $externalURL }}', data, 0);
    expect(out).toBe('node1:9100 of eu is 1.234567e+06 (1.235M) at http://prom:9090');
    expect(await expand('__alert_High', '{{ .Labels.job }} {{ .Value }}', data, 0)).toBe('node 1.234567e+06');
    expect(await expand('__alert_High', 'no template here', data, 0)).toBe('no template here');
  });

  it('positions execution errors after the preamble, as Prometheus reports them', async () => {
    const expand = newTemplateExpander({});
    await expect(expand('__alert_A', '{{ $labels.x.y }}', data, 0)).rejects.toThrow(
      'error executing template __alert_A: template: __alert_A:1:122: executing "__alert_A" at <$labels.x.y>: can\'t evaluate field y in type string',
    );
    await expect(expand('__alert_A', '{{ $foo }}', data, 0)).rejects.toThrow('error parsing template __alert_A: template: __alert_A:1: undefined variable "$foo"');
  });

  it('queries through the QueryFunc, once per distinct expression', async () => {
    const asked: string[] = [];
    const expand = newTemplateExpander({
      query: async (expr, t) => {
        asked.push(`${expr}@${t}`);
        if (expr === 'bad') throw new Error('parse error: bad');
        return [{ labels: lbls({ instance: expr }), value: 2 }];
      },
    });
    const text =
      '{{ range $i := until }}{{ end }}'.replace('{{ range $i := until }}{{ end }}', '') +
      '{{ with query (printf "up{instance=%q}" $labels.instance) }}{{ . | first | value }} {{ (. | first).Labels.instance }}{{ end }}|{{ query "a" | len }}{{ query "a" | len }}';
    expect(await expand('__alert_A', text, data, 5000)).toBe('2 up{instance="node1:9100"}|11');
    expect(asked).toEqual(['up{instance="node1:9100"}@5000', 'a@5000']);
    await expect(expand('__alert_A', '{{ query "bad" }}', data, 0)).rejects.toThrow('error calling query: parse error: bad');
  });
});

// Observed from Prometheus 2.42 (/api/v1/alerts of an alert on vector(1234567.5), external
// label cluster="eu"): each annotation template and the value Prometheus gave it.
describe('as Prometheus 2.42 expands alert annotations', () => {
  const err = (msg: string): string => `<error expanding template: error executing template __alert_A: template: __alert_A:1:${msg}>`;
  const observed: [string, string][] = [
    ['{{ $value | humanize }}', '1.235M'],
    ['{{ $labels.x.y }}', err(`122: executing "__alert_A" at <$labels.x.y>: can't evaluate field y in type string`)],
    ['{{ if eq $value 1 }}x{{ end }}', err('118: executing "__alert_A" at <eq $value 1>: error calling eq: incompatible types for comparison')],
    ['{{ toUpper $value }}', err('123: executing "__alert_A" at <$value>: wrong type for value; expected string; got float64')],
    [
      '{{ $value }} {{ .Value }} {{ printf "%.2f|%v|%s|%d" $value $value $value $value }}',
      '1.2345675e+06 1.2345675e+06 1234567.50|1.2345675e+06|%!s(float64=1.2345675e+06)|%!d(float64=1.2345675e+06)',
    ],
    ['{{ humanizeDuration "abc" }}', err('115: executing "__alert_A" at <humanizeDuration "abc">: error calling humanizeDuration: strconv.ParseFloat: parsing "abc": invalid syntax')],
    ['{{ with query "up{job=\\"nonexistent\\"}" }}{{ . | first | value }}{{ else }}none{{ end }}', 'none'],
    ['{{ query "vector(3)" | first | value }} {{ range query "vector(4)" }}{{ . }}{{ end }}', '3 {map[] 4}'],
    [
      '{{ .Foo }}',
      err(
        `115: executing "__alert_A" at <.Foo>: can't evaluate field Foo in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }`,
      ),
    ],
    [
      '{{ printf "%s %s %s %s %s" "aaaaaaaaaaaaaaaaaaaaa" "b" "c" "d" (humanize "x") }}',
      err('176: executing "__alert_A" at <humanize "x">: error calling humanize: strconv.ParseFloat: parsing "x": invalid syntax'),
    ],
    ['{{ $labels }} {{ $externalLabels }} {{ len $labels }} {{ index $labels "a" }} [{{ $labels.missing }}]', 'map[] map[cluster:eu] 0  []'],
    ['{{ (query "vector(5)") }} {{ template "nope" }}', err('150: executing "__alert_A" at <{{template "nope"}}>: template "nope" not defined')],
    [
      '{{ reReplaceAll "(" "x" "y" }}',
      err('115: executing "__alert_A" at <reReplaceAll "(" "x" "y">: error calling reReplaceAll: regexp: Compile(`(`): error parsing regexp: missing closing ): `(`'),
    ],
    ['{{ match "(" "x" }}', err('115: executing "__alert_A" at <match "(" "x">: error calling match: error parsing regexp: missing closing ): `(`')],
    ['{{ 1.5 | toTime }} {{ 90 | humanizeDuration }} {{ (toTime 1.5).Unix }}', '1970-01-01 00:00:01.5 +0000 UTC 1m 30s 1'],
    ["{{ title \"hello wORLD-foo_bar o'neil\" }}", "Hello WORLD-Foo_bar O'Neil"],
    ['{{ printf "%v %v %v %v" 1e21 123456789.0 0.00001 -0.0 }}', '1e+21 1.23456789e+08 1e-05 -0'],
    ['{{ humanize 0.000123456 }} {{ humanize1024 1536 }} {{ humanizePercentage 0.5 }} {{ humanize -1234 }}', '123.5u 1.5ki 50% -1.234k'],
    ['{{ args 1 "a" }} {{ (args 1).arg3 }}', 'map[arg0:1 arg1:a] <no value>'],
  ];
  const expand = newTemplateExpander({
    externalURL: 'http://ext:9090/pfx',
    query: async (expr) => {
      const m = /^vector\((\d+)\)$/.exec(expr);
      return m ? [{ labels: lbls({}), value: Number(m[1]) }] : [];
    },
  });
  const data = { labels: {}, externalLabels: { cluster: 'eu' }, externalURL: 'http://ext:9090/pfx', value: 1234567.5 };
  for (const [text, want] of observed) {
    it(text, async () => {
      let got: string;
      try {
        got = await expand('__alert_A', text, data, 0);
      } catch (e) {
        got = expandErrorText(e);
      }
      expect(got).toBe(want);
    });
  }
});
