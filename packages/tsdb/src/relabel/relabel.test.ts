import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rng } from '@thanos-ts/testutil';
import { labelsFromRecord, labelsToRecord, type Labels } from '../labels/index.js';
import { parseRelabelConfigs, type NameValidationScheme } from './relabel-config.js';
import { hashMod, relabel } from './relabel.js';

function run(
  input: Record<string, string>,
  rules: object[],
  scheme: NameValidationScheme = 'legacy',
): Record<string, string> | null {
  const out = relabel(labelsFromRecord(input), parseRelabelConfigs(rules, 'test', { nameValidationScheme: scheme }));
  return out && labelsToRecord(out);
}

interface Case {
  name: string;
  input: Record<string, string>;
  rules: object[];
  /** null: dropped. */
  output: Record<string, string> | null;
  /** Needs UTF-8 label names (Prometheus 3); the others must behave the same under both schemes. */
  utf8Only?: boolean;
}

// The cases of Prometheus's TestRelabel (model/relabel/relabel_test.go), same inputs and
// outputs, written as the YAML rules would be.
const PROMETHEUS_CASES: Case[] = [
  {
    name: 'replace with ${1} twice',
    input: { a: 'foo', b: 'bar', c: 'baz' },
    rules: [{ source_labels: ['a'], regex: 'f(.*)', target_label: 'd', separator: ';', replacement: 'ch${1}-ch${1}' }],
    output: { a: 'foo', b: 'bar', c: 'baz', d: 'choo-choo' },
  },
  {
    name: 'chained replaces see earlier results',
    input: { a: 'foo', b: 'bar', c: 'baz' },
    rules: [
      { source_labels: ['a', 'b'], regex: 'f(.*);(.*)r', target_label: 'a', separator: ';', replacement: 'b${1}${2}m' },
      { source_labels: ['c', 'a'], regex: '(b).*b(.*)ba(.*)', target_label: 'd', separator: ';', replacement: '$1$2$2$3' },
    ],
    output: { a: 'boobam', b: 'bar', c: 'baz', d: 'boooom' },
  },
  {
    name: 'drop before replace',
    input: { a: 'foo' },
    rules: [
      { source_labels: ['a'], regex: '.*o.*', action: 'drop' },
      { source_labels: ['a'], regex: 'f(.*)', target_label: 'd', separator: ';', replacement: 'ch$1-ch$1' },
    ],
    output: null,
  },
  {
    name: 'drop',
    input: { a: 'foo', b: 'bar' },
    rules: [{ source_labels: ['a'], regex: '.*o.*', action: 'drop' }],
    output: null,
  },
  {
    name: 'replace with one group',
    input: { a: 'abc' },
    rules: [{ source_labels: ['a'], regex: '.*(b).*', target_label: 'd', separator: ';', replacement: '$1' }],
    output: { a: 'abc', d: 'b' },
  },
  {
    name: 'drop without match',
    input: { a: 'foo' },
    rules: [{ source_labels: ['a'], regex: 'no-match', action: 'drop' }],
    output: { a: 'foo' },
  },
  {
    name: 'drop regex is anchored',
    input: { a: 'foo' },
    rules: [{ source_labels: ['a'], regex: 'f|o', action: 'drop' }],
    output: { a: 'foo' },
  },
  {
    name: 'keep without match',
    input: { a: 'foo' },
    rules: [{ source_labels: ['a'], regex: 'no-match', action: 'keep' }],
    output: null,
  },
  {
    name: 'keep with match',
    input: { a: 'foo' },
    rules: [{ source_labels: ['a'], regex: 'f.*', action: 'keep' }],
    output: { a: 'foo' },
  },
  {
    name: 'no replacement without a match',
    input: { a: 'boo' },
    rules: [{ source_labels: ['a'], regex: 'f', target_label: 'b', replacement: 'bar' }],
    output: { a: 'boo' },
  },
  {
    name: 'blank replacement deletes the expanded target',
    input: { a: 'foo', f: 'baz' },
    rules: [{ source_labels: ['a'], regex: '(f).*', target_label: '$1', replacement: '$2' }],
    output: { a: 'foo' },
  },
  {
    name: 'hashmod',
    input: { a: 'foo', b: 'bar', c: 'baz' },
    rules: [{ source_labels: ['c'], target_label: 'd', separator: ';', action: 'hashmod', modulus: 1000 }],
    output: { a: 'foo', b: 'bar', c: 'baz', d: '976' },
  },
  {
    name: 'hashmod of a value with a newline',
    input: { a: 'foo\nbar' },
    rules: [{ source_labels: ['a'], target_label: 'b', separator: ';', action: 'hashmod', modulus: 1000 }],
    output: { a: 'foo\nbar', b: '734' },
  },
  {
    name: 'labelmap',
    input: { a: 'foo', b1: 'bar', b2: 'baz' },
    rules: [{ regex: '(b.*)', replacement: 'bar_${1}', action: 'labelmap' }],
    output: { a: 'foo', b1: 'bar', b2: 'baz', bar_b1: 'bar', bar_b2: 'baz' },
  },
  {
    name: 'labelmap of meta labels',
    input: { a: 'foo', __meta_my_bar: 'aaa', __meta_my_baz: 'bbb', __meta_other: 'ccc' },
    rules: [{ regex: '__meta_(my.*)', replacement: '${1}', action: 'labelmap' }],
    output: {
      a: 'foo',
      __meta_my_bar: 'aaa',
      __meta_my_baz: 'bbb',
      __meta_other: 'ccc',
      my_bar: 'aaa',
      my_baz: 'bbb',
    },
  },
  {
    name: 'target label from a group',
    input: { a: 'some-name-value' },
    rules: [{ source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', replacement: '${2}', target_label: '${1}' }],
    output: { a: 'some-name-value', name: 'value' },
  },
  {
    name: 'replacement of a missing group is empty',
    input: { a: 'some-name-value' },
    rules: [{ source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', replacement: '${3}', target_label: '${1}' }],
    output: { a: 'some-name-value' },
  },
  {
    name: 'target label of a missing group is invalid',
    input: { a: 'some-name-0' },
    rules: [
      { source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', target_label: '${3}' },
      { source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', target_label: '${3}' },
      { source_labels: ['a'], regex: 'some-([^-]+)(-[^,]+)', replacement: '${1}', target_label: '${3}' },
    ],
    output: { a: 'some-name-0' },
  },
  {
    name: 'real-life service discovery tags',
    input: { __meta_sd_tags: 'path:/secret,job:some-job,label:foo=bar' },
    rules: [
      { source_labels: ['__meta_sd_tags'], regex: '(?:.+,|^)path:(/[^,]+).*', replacement: '${1}', target_label: '__metrics_path__' },
      { source_labels: ['__meta_sd_tags'], regex: '(?:.+,|^)job:([^,]+).*', replacement: '${1}', target_label: 'job' },
      { source_labels: ['__meta_sd_tags'], regex: '(?:.+,|^)label:([^=]+)=([^,]+).*', replacement: '${2}', target_label: '${1}' },
    ],
    output: {
      __meta_sd_tags: 'path:/secret,job:some-job,label:foo=bar',
      __metrics_path__: '/secret',
      job: 'some-job',
      foo: 'bar',
    },
  },
  {
    name: 'a label dropped and set again (prometheus#12283)',
    input: { __meta_kubernetes_pod_container_port_name: 'foo', __meta_kubernetes_pod_annotation_XXX_metrics_port: '9091' },
    rules: [
      { regex: '^__meta_kubernetes_pod_container_port_name$', action: 'labeldrop' },
      {
        source_labels: ['__meta_kubernetes_pod_annotation_XXX_metrics_port'],
        regex: '(.+)',
        replacement: 'metrics',
        target_label: '__meta_kubernetes_pod_container_port_name',
      },
      { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: '^metrics$', action: 'keep' },
    ],
    output: {
      __meta_kubernetes_pod_annotation_XXX_metrics_port: '9091',
      __meta_kubernetes_pod_container_port_name: 'metrics',
    },
  },
  {
    name: 'labelkeep',
    input: { a: 'foo', b1: 'bar', b2: 'baz' },
    rules: [{ regex: '(b.*)', action: 'labelkeep' }],
    output: { b1: 'bar', b2: 'baz' },
  },
  {
    name: 'labeldrop',
    input: { a: 'foo', b1: 'bar', b2: 'baz' },
    rules: [{ regex: '(b.*)', action: 'labeldrop' }],
    output: { a: 'foo' },
  },
  {
    name: 'uppercase and lowercase',
    input: { foo: 'bAr123Foo' },
    rules: [
      { source_labels: ['foo'], action: 'uppercase', target_label: 'foo_uppercase' },
      { source_labels: ['foo'], action: 'lowercase', target_label: 'foo_lowercase' },
    ],
    output: { foo: 'bAr123Foo', foo_lowercase: 'bar123foo', foo_uppercase: 'BAR123FOO' },
  },
  {
    name: 'keepequal with equal values',
    input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' },
    rules: [{ source_labels: ['__tmp_port'], action: 'keepequal', target_label: '__port1' }],
    output: { __tmp_port: '1234', __port1: '1234', __port2: '5678' },
  },
  {
    name: 'dropequal with equal values',
    input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' },
    rules: [{ source_labels: ['__tmp_port'], action: 'dropequal', target_label: '__port1' }],
    output: null,
  },
  {
    name: 'dropequal with different values',
    input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' },
    rules: [{ source_labels: ['__tmp_port'], action: 'dropequal', target_label: '__port2' }],
    output: { __tmp_port: '1234', __port1: '1234', __port2: '5678' },
  },
  {
    name: 'keepequal with different values',
    input: { __tmp_port: '1234', __port1: '1234', __port2: '5678' },
    rules: [{ source_labels: ['__tmp_port'], action: 'keepequal', target_label: '__port2' }],
    output: null,
  },
  {
    name: '. matches a newline',
    input: { a: 'line1\nline2', b: 'bar', c: 'baz' },
    rules: [{ source_labels: ['a'], regex: 'line1.*line2', target_label: 'd', separator: ';', replacement: 'match${1}' }],
    output: { a: 'line1\nline2', b: 'bar', c: 'baz', d: 'match' },
  },
  {
    name: 'UTF-8 source label',
    input: { 'utf-8.label': 'line1\nline2', b: 'bar', c: 'baz' },
    rules: [{ source_labels: ['utf-8.label'], regex: 'line1.*line2', target_label: 'd', separator: ';', replacement: 'match${1}' }],
    output: { 'utf-8.label': 'line1\nline2', b: 'bar', c: 'baz', d: 'match' },
    utf8Only: true,
  },
  {
    name: 'UTF-8 target label',
    input: { a: 'line1\nline2', b: 'bar', c: 'baz' },
    rules: [{ source_labels: ['a'], regex: 'line1.*line2', target_label: 'utf-8.label', separator: ';', replacement: 'match${1}' }],
    output: { a: 'line1\nline2', b: 'bar', c: 'baz', 'utf-8.label': 'match' },
    utf8Only: true,
  },
  {
    name: 'UTF-8 target label with a variable',
    input: { a: 'line1\nline2', b: 'bar', c: 'baz' },
    rules: [
      { source_labels: ['a'], regex: 'line1.*line2', target_label: 'utf-8.label${1}', separator: ';', replacement: 'match${1}' },
    ],
    output: { a: 'line1\nline2', b: 'bar', c: 'baz', 'utf-8.label': 'match' },
    utf8Only: true,
  },
  {
    name: 'numbered and named groups, braced and bare',
    input: { a: 'line1\nline2', b: 'bar', c: 'baz' },
    rules: [
      { source_labels: ['a'], regex: '(line1).*(?<second>line2)', target_label: 'label1_${1}', separator: ';', replacement: 'val_${second}' },
      { source_labels: ['a'], regex: '(line1).*(?<second>line2)', target_label: 'label2_$1', separator: ';', replacement: 'val_$second' },
    ],
    output: { a: 'line1\nline2', b: 'bar', c: 'baz', label1_line1: 'val_line2', label2_line1: 'val_line2' },
  },
  {
    name: 'type from the metric name',
    input: { __name__: 'http_requests_total' },
    rules: [{ source_labels: ['__name__'], regex: '.*_total$', target_label: '__type__', replacement: 'counter' }],
    output: { __name__: 'http_requests_total', __type__: 'counter' },
  },
  {
    name: 'unit from the metric name',
    input: { __name__: 'disk_usage_bytes' },
    rules: [{ source_labels: ['__name__'], regex: '.*_bytes$', target_label: '__unit__', replacement: 'bytes' }],
    output: { __name__: 'disk_usage_bytes', __unit__: 'bytes' },
  },
];

describe('relabel: Prometheus TestRelabel cases', () => {
  for (const c of PROMETHEUS_CASES) {
    it(c.name, () => {
      // Prometheus runs these with UTF-8 names; legacy names must give the same results.
      expect(run(c.input, c.rules, 'utf8')).toEqual(c.output);
      if (c.utf8Only) expect(() => run(c.input, c.rules, 'legacy')).toThrow(/is (not a valid label name|invalid 'target_label')/);
      else expect(run(c.input, c.rules, 'legacy')).toEqual(c.output);
    });
  }
});

describe('relabel', () => {
  it('returns sorted labels, drops empty values and leaves the input alone', () => {
    const input: Labels = Object.freeze([
      Object.freeze({ name: 'a', value: '1' }),
      Object.freeze({ name: 'empty', value: '' }),
      Object.freeze({ name: 'z', value: '2' }),
    ]);
    const cfgs = parseRelabelConfigs([
      { target_label: 'b', replacement: 'x' },
      { target_label: 'A', replacement: 'y' },
      { source_labels: ['z'], target_label: 'Z', action: 'uppercase' },
    ]);
    expect(relabel(input, cfgs)).toEqual([
      { name: 'A', value: 'y' },
      { name: 'Z', value: '2' },
      { name: 'a', value: '1' },
      { name: 'b', value: 'x' },
      { name: 'z', value: '2' },
    ]);
    expect(relabel(input, [])).toEqual([
      { name: 'a', value: '1' },
      { name: 'z', value: '2' },
    ]);
  });

  it('keeps an emptied label set apart from a dropped one', () => {
    const cfgs = parseRelabelConfigs([{ regex: 'nothing', action: 'labelkeep' }]);
    expect(relabel(labelsFromRecord({ a: '1' }), cfgs)).toEqual([]);
    expect(relabel(labelsFromRecord({ a: '1' }), parseRelabelConfigs([{ source_labels: ['a'], action: 'drop' }]))).toBeNull();
  });

  it('joins source labels with the separator, missing labels as empty strings', () => {
    const rules = [{ source_labels: ['a', 'missing', 'b'], separator: '/', target_label: 'j' }];
    expect(run({ a: 'x', b: 'y' }, rules)).toEqual({ a: 'x', b: 'y', j: 'x//y' });
    // No source labels: the value is "", which the default regex matches; $1 is "" too, so
    // the target is deleted.
    expect(run({ t: 'old' }, [{ target_label: 't' }])).toEqual({});
    expect(run({ t: 'old' }, [{ target_label: 't', replacement: 'new' }])).toEqual({ t: 'new' });
  });

  it('replace: default regex, separator and replacement', () => {
    expect(run({ a: 'x', b: 'y' }, [{ source_labels: ['a', 'b'], target_label: 'c' }])).toEqual({ a: 'x', b: 'y', c: 'x;y' });
  });

  it('replace: an expanded target that is not a valid name changes nothing', () => {
    const rules = [{ source_labels: ['a'], regex: '(.*)', target_label: '${1}', replacement: 'v' }];
    expect(run({ a: '1abc' }, rules, 'legacy')).toEqual({ a: '1abc' });
    expect(run({ a: '1abc' }, rules, 'utf8')).toEqual({ a: '1abc', '1abc': 'v' });
    expect(run({ a: '' }, rules, 'utf8')).toEqual({});
  });

  it('keep/drop on the regex of an unset label', () => {
    expect(run({ a: '1' }, [{ source_labels: ['x'], regex: '', action: 'keep' }])).toEqual({ a: '1' });
    expect(run({ a: '1' }, [{ source_labels: ['x'], regex: '.+', action: 'keep' }])).toBeNull();
    // An explicit null regex is the empty regex, as in Prometheus.
    expect(run({ a: '1' }, [{ source_labels: ['x'], regex: null, action: 'keep' }])).toEqual({ a: '1' });
    expect(run({ x: '1' }, [{ source_labels: ['x'], regex: null, action: 'keep' }])).toBeNull();
  });

  it('keepequal/dropequal treat missing labels as empty', () => {
    expect(run({ a: '1' }, [{ source_labels: ['x'], target_label: 'y', action: 'keepequal' }])).toEqual({ a: '1' });
    expect(run({ a: '1' }, [{ source_labels: ['x'], target_label: 'y', action: 'dropequal' }])).toBeNull();
    expect(run({ a: '1', b: '1' }, [{ source_labels: ['a'], target_label: 'b', action: 'dropequal' }])).toBeNull();
  });

  it('labelmap: later writes of the same name win, in Prometheus builder order', () => {
    // Base labels are visited in name order: b_x is written from a_x, then from b_x.
    expect(run({ a_x: '1', b_x: '2' }, [{ regex: '[ab]_(x)', replacement: 'm_$1', action: 'labelmap' }])).toEqual({
      a_x: '1',
      b_x: '2',
      m_x: '2',
    });
    // Labels set by earlier rules are visited after the unchanged ones, in the order they
    // were first set, whatever their names.
    const rules = [
      { target_label: 'z_x', replacement: 'from-z' },
      { target_label: 'a_x', replacement: 'from-a' },
      { regex: '[az]_(x)', replacement: 'm_$1', action: 'labelmap' },
    ];
    expect(run({}, rules)).toEqual({ a_x: 'from-a', z_x: 'from-z', m_x: 'from-a' });
    // A label overwritten earlier counts as set, not as a base label.
    const rules2 = [
      { target_label: 'a_x', replacement: 'new-a' },
      { regex: '[ab]_(x)', replacement: 'm_$1', action: 'labelmap' },
    ];
    expect(run({ a_x: 'old', b_x: 'b' }, rules2)).toEqual({ a_x: 'new-a', b_x: 'b', m_x: 'new-a' });
  });

  it('labelmap writes names without validating them, and can overwrite its source', () => {
    expect(run({ a: '1' }, [{ regex: 'a', replacement: 'b', action: 'labelmap' }])).toEqual({ a: '1', b: '1' });
    expect(run({ foo: '1' }, [{ regex: '(f)(o+)', replacement: '${2}$1', action: 'labelmap' }])).toEqual({ foo: '1', oof: '1' });
  });

  it('labeldrop/labelkeep see labels set and deleted by earlier rules', () => {
    const rules = [
      { target_label: 'tmp_1', replacement: 'x' },
      { source_labels: ['a'], target_label: 'a', replacement: '' },
      { regex: 'tmp_.*', action: 'labeldrop' },
    ];
    expect(run({ a: '1', b: '2' }, rules)).toEqual({ b: '2' });
    const keep = [{ target_label: 'k2', replacement: 'x' }, { regex: 'k.*', action: 'labelkeep' }];
    expect(run({ k1: '1', other: '2' }, keep)).toEqual({ k1: '1', k2: 'x' });
  });

  it('lowercase/uppercase map rune by rune as Go does', () => {
    const rules = [
      { source_labels: ['v'], target_label: 'lo', action: 'lowercase' },
      { source_labels: ['v'], target_label: 'up', action: 'uppercase' },
    ];
    const r = run({ v: 'Straße İΑΣ ᾳ ﬁ Ǆǅ' }, rules)!;
    // Go: ß and ﬁ have no single-rune upper case; İ lowers to i; final Σ lowers to σ; ᾳ
    // uppers to ᾼ.
    expect(r.up).toBe('STRAßE İΑΣ ᾼ ﬁ ǄǄ');
    expect(r.lo).toBe('straße iασ ᾳ ﬁ ǆǆ');
  });

  it('hashmod: last 8 bytes of md5 as a big-endian uint64, mod modulus', () => {
    const r = rng(7);
    const moduli = [1, 2, 3, 7, 1000, 2 ** 21 + 1, 2 ** 32 - 1, 2 ** 32 + 15, 2 ** 37 - 1, 2 ** 37, 2 ** 47 + 3, Number.MAX_SAFE_INTEGER];
    for (let i = 0; i < 300; i++) {
      const v = i % 10 === 0 ? '' : `v${Math.floor(r() * 1e9)}\u00e9${i}`;
      const tail = createHash('md5').update(v).digest('hex').slice(16);
      for (const m of moduli) {
        expect(hashMod(v, m)).toBe(Number(BigInt(`0x${tail}`) % BigInt(m)));
      }
    }
    expect(hashMod('baz', 1000)).toBe(976);
  });
});
