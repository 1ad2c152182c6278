import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countRules, loadRuleFiles, parseRuleFile, parseRules, RuleError, RuleFileErrors } from './index.js';

// Expected messages are what promtool 2.42 (`promtool check rules`) prints for the same
// input, minus the file prefix; Go map order makes its label errors' order random, ours
// follows the file.
function messages(yaml: string): string[] {
  return parseRules(yaml).errors.map((e) => e.message);
}

describe('parseRules', () => {
  it('parses a valid file into groups and rules with positions', () => {
    const r = parseRules(`groups:
  - name: g1
    interval: 1m30s
    limit: 10
    partial_response_strategy: warn
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels:
          team: a
      - alert: HighLatency
        expr: job:up:sum > 0.5
        for: 10m
        keep_firing_for: 5m
        labels:
          severity: page
        annotations:
          summary: "high"
  - name: g2
    query_offset: 1m
    labels: {region: eu}
    rules: []
`);
    expect(r.errors).toEqual([]);
    expect(r.groups).toHaveLength(2);
    const [g1, g2] = r.groups!;
    expect(g1).toMatchObject({ name: 'g1', intervalMs: 90_000, limit: 10, partialResponseStrategy: 'warn', queryOffsetMs: null, labels: {} });
    expect(g1.rules[0]).toEqual({
      record: 'job:up:sum',
      alert: '',
      expr: 'sum by (job) (up)',
      forMs: 0,
      keepFiringForMs: 0,
      labels: { team: 'a' },
      annotations: {},
      pos: { line: 7, column: 9 },
      exprPos: { line: 8, column: 15 },
    });
    expect(g1.rules[1]).toMatchObject({ alert: 'HighLatency', forMs: 600_000, keepFiringForMs: 300_000, annotations: { summary: 'high' } });
    expect(g2).toMatchObject({ name: 'g2', queryOffsetMs: 60_000, labels: { region: 'eu' }, partialResponseStrategy: 'abort' });
    expect(countRules({ groups: r.groups! })).toBe(2);
  });

  it('accepts empty input and null items as promtool does (0 rules)', () => {
    expect(parseRules('')).toEqual({ groups: [], errors: [] });
    const r = parseRules('groups:\n  - name: g\n    rules:\n      -\n  -\n');
    expect(r.errors).toEqual([]);
    expect(countRules({ groups: r.groups! })).toBe(0);
  });

  it('reports unknown fields as yaml.v3 with KnownFields does', () => {
    expect(messages('groups:\n  - name: g1\n    foo: bar\n    rules:\n      - record: a\n        expr: up\n        bar: 1\n')).toEqual([
      'yaml: unmarshal errors:\n  line 3: field foo not found in type rulefmt.RuleGroup\n  line 7: field bar not found in type rulefmt.RuleNode',
    ]);
    expect(messages('x: 1\ngroups: []\n')).toEqual(['yaml: unmarshal errors:\n  line 1: field x not found in type rulefmt.RuleGroups']);
  });

  it('reports type errors from both decodes', () => {
    expect(messages('groups: foo\n')).toEqual([
      'yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `foo` into []rulefmt.RuleGroup',
      'yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `foo` into []yaml.Node',
    ]);
    expect(messages('- a\n- b\n')).toEqual([
      'yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into rulefmt.RuleGroups',
      'yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into rulefmt.ruleGroups',
    ]);
    expect(messages('groups:\n  - name: g\n    limit: "5"\n    rules: []\n')).toEqual(['yaml: unmarshal errors:\n  line 3: cannot unmarshal !!str `5` into int']);
    expect(messages('groups:\n  - name: g\n    limit: 1.5\n    rules: []\n')).toEqual([]);
    expect(messages('groups:\n  - name: g\n    limit: 0x10\n    rules: []\n')).toEqual([]);
    expect(messages('groups:\n  - name: [a]\n    rules:\n      - record: [a]\n        expr: {a: b}\n')).toEqual([
      'yaml: unmarshal errors:\n  line 2: cannot unmarshal !!seq into string',
    ]);
    expect(
      messages('groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        for: [1]\n        foo: 1\n        labels: {a: [1], b: 2, c: , d: true}\n'),
    ).toEqual([
      'yaml: unmarshal errors:\n  line 6: cannot unmarshal !!seq into string\n  line 7: field foo not found in type rulefmt.RuleNode\n  line 8: cannot unmarshal !!seq into string',
    ]);
  });

  it('reports repeated mapping keys and stops decoding that mapping', () => {
    expect(messages('groups:\n  - name: g\n    name: h\n    rules:\n      - record: a\n        record: b\n')).toEqual([
      'yaml: unmarshal errors:\n  line 3: mapping key "name" already defined at line 2',
    ]);
    expect(
      messages('groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n        record: b\n      - alert: b\n        expr: up\n        labels:\n          a: 1\n          a: 2\n'),
    ).toEqual(['yaml: unmarshal errors:\n  line 6: mapping key "record" already defined at line 4\n  line 11: mapping key "a" already defined at line 10']);
  });

  it('reports a bad duration alone, as its unmarshaler aborts the decode', () => {
    expect(messages('groups:\n  - name: g\n    interval: 1x\n    rules:\n      - alert: A\n        expr: up\n        foo: 1\n')).toEqual([
      'not a valid duration string: "1x"',
    ]);
    expect(messages('groups:\n  - name: g\n    rules:\n      - alert: a\n        expr: up\n        for: ""\n')).toEqual(['empty duration string']);
    expect(messages('groups:\n  - name: g\n    rules:\n      - alert: a\n        expr: up\n        for: -5m\n')).toEqual(['not a valid duration string: "-5m"']);
    expect(messages('groups:\n  - name: g\n    interval: 1_0s\n    rules: []\n')).toEqual(['not a valid duration string: "1_0s"']);
    expect(messages('groups:\n  - name: g\n    interval: 0\n    rules: []\n')).toEqual([]);
  });

  it('reports YAML syntax errors with a line', () => {
    const [e] = messages('groups:\n\t- name: g\n');
    expect(e).toMatch(/^yaml: line 2: /);
    expect(messages('groups:\n  - name: g\n    rules: *a\n')).toEqual(["yaml: unknown anchor 'a' referenced"]);
    expect(parseRules(Buffer.from('groups:\n  - name: g\xff\n', 'latin1')).errors.map((x) => x.message)).toEqual(['yaml: invalid leading UTF-8 octet']);
  });

  it('validates rules as rulefmt does, with positions where it gives them', () => {
    const yaml = `groups:
  - name: g1
    rules:
      - record: job:up:sum
        expr: sum by (job) (up
      - alert: A
        record: b
        expr: up
      - expr: up
      - record: x
      - record: "bad name"
        expr: up
        for: 5m
        keep_firing_for: 1m
        labels:
          __name__: x
          "bad-label": y
        annotations:
          a: b
      - alert: T
        expr: up
        annotations:
          "bad-ann": "ok"
  - name: g1
    rules: []
  - name: ""
    rules:
`;
    expect(messages(yaml)).toEqual([
      '5:15: group "g1", rule 1, "job:up:sum": could not parse expression: 1:17: parse error: unclosed left parenthesis',
      `7:17: 6:16: group "g1", rule 2, "A": only one of 'record' and 'alert' must be set`,
      `0:0: group "g1", rule 3, "": one of 'record' or 'alert' must be set`,
      `0:0: group "g1", rule 4, "x": field 'expr' must be set in rule`,
      `11:17: group "g1", rule 5, "bad name": invalid field 'annotations' in recording rule`,
      `11:17: group "g1", rule 5, "bad name": invalid field 'for' in recording rule`,
      `11:17: group "g1", rule 5, "bad name": invalid field 'keep_firing_for' in recording rule`,
      '11:17: group "g1", rule 5, "bad name": invalid recording rule name: bad name',
      'group "g1", rule 5, "bad name": invalid label name: __name__',
      'group "g1", rule 5, "bad name": invalid label name: bad-label',
      'group "g1", rule 6, "T": invalid annotation name: bad-ann',
      '24:5: groupname: "g1" is repeated in the same file',
      '26:5: Groupname must not be empty',
    ]);
    const err = parseRules(yaml).errors[0];
    expect(err).toBeInstanceOf(RuleError);
    expect(err).toMatchObject({ group: 'g1', rule: 1, ruleName: 'job:up:sum', pos: { line: 5, column: 15 } });
  });

  it('places empty, quoted, flow and block scalars as yaml.v3 does', () => {
    const yaml = `groups:
  - name: "a\\tb\\u00e9"
    rules:
      - record:
        expr:
      - record: "a"
        expr: ""
      - {record: a, expr: "sum(", labels: {"a b": 1}}
      - record: |
          foo
        expr: >-
          sum(
      - record: a
        expr: |
          sum(up)
          +
      - record: {a: b}
        expr: up
  - {name: "", rules: []}
`;
    expect(messages(yaml)).toEqual([
      `4:16: group "a\\tbé", rule 1, "": one of 'record' or 'alert' must be set`,
      `5:14: group "a\\tbé", rule 1, "": field 'expr' must be set in rule`,
      `7:15: group "a\\tbé", rule 2, "a": field 'expr' must be set in rule`,
      '8:27: group "a\\tbé", rule 3, "a": could not parse expression: 1:5: parse error: unclosed left parenthesis',
      'group "a\\tbé", rule 3, "a": invalid label name: a b',
      '11:15: group "a\\tbé", rule 4, "foo\\n": could not parse expression: 1:5: parse error: unclosed left parenthesis',
      '9:17: group "a\\tbé", rule 4, "foo\\n": invalid recording rule name: foo\n',
      '14:15: group "a\\tbé", rule 5, "a": could not parse expression: 3:1: parse error: unexpected end of input',
      `17:17: group "a\\tbé", rule 6, "": one of 'record' or 'alert' must be set`,
      '19:5: Groupname must not be empty',
    ]);
  });

  it('takes Thanos partial_response_strategy case-insensitively and rejects others', () => {
    const strategy = (s: string): unknown => parseRules(`groups:\n  - name: g\n    partial_response_strategy: ${s}\n    rules: []\n`);
    expect(strategy('WARN')).toMatchObject({ errors: [], groups: [{ partialResponseStrategy: 'warn' }] });
    expect(strategy('abort')).toMatchObject({ errors: [], groups: [{ partialResponseStrategy: 'abort' }] });
    expect(strategy('""')).toMatchObject({ errors: [], groups: [{ partialResponseStrategy: 'abort' }] });
    const bad = parseRules('groups:\n  - name: g\n    partial_response_strategy: afafsdgsdgs\n    rules: []\n');
    expect(bad.errors.map((e) => e.message)).toEqual([`failed to unmarshal "afafsdgsdgs" as 'partial_response_strategy'. Possible values are ABORT,WARN`]);
  });

  it('checks group labels (Prometheus 3.x) with the legacy name scheme', () => {
    expect(messages('groups:\n  - name: g\n    labels: {"a.b": x, __name__: y}\n    rules: []\n')).toEqual(['invalid label name: a.b', 'invalid label name: __name__']);
  });
});

describe('parseRuleFile / loadRuleFiles', () => {
  it('prefixes errors with the path and reads missing files as Go reports them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rulefmt-'));
    try {
      const good = join(dir, 'good.yaml');
      const bad = join(dir, 'bad.yaml');
      await writeFile(good, 'groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n');
      await writeFile(bad, 'groups:\n  - name: g\n    rules:\n      - record: a\n        expr: "up("\n');
      const r = await parseRuleFile(good);
      expect(r.errors).toEqual([]);
      expect(r.file?.path).toBe(good);
      const b = await parseRuleFile(bad);
      expect(b.errors.map((e) => e.message)).toEqual([`${bad}: 5:15: group "g", rule 1, "a": could not parse expression: 1:4: parse error: unclosed left parenthesis`]);
      const missing = join(dir, 'nope.yaml');
      expect((await parseRuleFile(missing)).errors[0].message).toBe(`${missing}: open ${missing}: no such file or directory`);

      expect((await loadRuleFiles([good])).map((f) => f.path)).toEqual([good]);
      const err = await loadRuleFiles([good, bad, missing]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RuleFileErrors);
      expect((err as RuleFileErrors).errors).toHaveLength(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('template checks (testTemplateParsing)', () => {
  it('parses alerting rules’ labels and annotations as Prometheus templates, with its preamble', () => {
    const yaml = `groups:
  - name: g
    rules:
      - alert: T
        expr: up
        labels:
          ok: '{{ $labels.job }} {{ $value | humanize }} {{ $externalLabels.x }} {{ $externalURL }}'
          x: "{{ $labels.foo "
        annotations:
          b: "{{ end }}"
          c: "{{ nosuchfunc }}"
      - record: r
        expr: up
        labels:
          x: "{{ not a template for recording rules"
`;
    expect(messages(yaml)).toEqual([
      'group "g", rule 1, "T": label "x": template: __alert_T:1: unclosed action',
      'group "g", rule 1, "T": annotation "b": template: __alert_T:1: unexpected {{end}}',
      'group "g", rule 1, "T": annotation "c": template: __alert_T:1: function "nosuchfunc" not defined',
    ]);
  });
});
