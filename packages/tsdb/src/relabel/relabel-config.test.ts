import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RELABEL_REGEX,
  isValidTargetTemplate,
  parseRelabelConfigs,
  relabelConfigToObject,
  RelabelConfigError,
  type NameValidationScheme,
  type ParseRelabelOptions,
} from './relabel-config.js';

function reason(rule: unknown, opts?: ParseRelabelOptions): string {
  try {
    parseRelabelConfigs([rule], 'cfg', opts);
  } catch (e) {
    expect(e).toBeInstanceOf(RelabelConfigError);
    expect((e as RelabelConfigError).message).toBe(`cfg[0]: ${(e as RelabelConfigError).reason}`);
    return (e as RelabelConfigError).reason;
  }
  throw new Error(`accepted: ${JSON.stringify(rule)}`);
}

describe('parseRelabelConfigs', () => {
  it("applies Prometheus's defaults", () => {
    const [c] = parseRelabelConfigs([{ target_label: 't' }]);
    expect(c).toEqual({
      sourceLabels: [],
      separator: ';',
      regex: DEFAULT_RELABEL_REGEX,
      modulus: 0,
      targetLabel: 't',
      replacement: '$1',
      action: 'replace',
      nameValidationScheme: 'legacy',
    });
    expect(c.regex.source).toBe('(.*)');
  });

  it('reads every field; action is case-insensitive', () => {
    const [c] = parseRelabelConfigs(
      [{ source_labels: ['a', 'b'], separator: '/', regex: 'x(.*)', modulus: 8, target_label: 't', replacement: 'r', action: 'HashMod' }],
      'cfg',
      { nameValidationScheme: 'utf8' },
    );
    expect(c).toMatchObject({
      sourceLabels: ['a', 'b'],
      separator: '/',
      modulus: 8,
      targetLabel: 't',
      replacement: 'r',
      action: 'hashmod',
      nameValidationScheme: 'utf8',
    });
    expect(c.regex.source).toBe('x(.*)');
    expect(parseRelabelConfigs([{ source_labels: ['a'], action: 'KEEP' }])[0].action).toBe('keep');
    // YAML parsed with maps as Map objects reads the same.
    const fromMap = parseRelabelConfigs([new Map<unknown, unknown>([['source_labels', ['a']], ['action', 'drop']])]);
    expect(fromMap[0]).toMatchObject({ sourceLabels: ['a'], action: 'drop' });
  });

  it('decodes null and scalar values as Go yaml.v2 does', () => {
    const [c] = parseRelabelConfigs([
      { source_labels: ['a', null], separator: null, regex: null, modulus: null, target_label: 't', replacement: 7 },
    ]);
    expect(c.sourceLabels).toEqual(['a', '']);
    expect(c.separator).toBe('');
    expect(c.regex).not.toBe(DEFAULT_RELABEL_REGEX);
    expect(c.regex.source).toBe('');
    expect(c.modulus).toBe(0);
    expect(c.replacement).toBe('7');
    expect(parseRelabelConfigs([{ source_labels: ['a'], target_label: 't', separator: true }])[0].separator).toBe('true');
    expect(parseRelabelConfigs([{ source_labels: ['a'], target_label: 'b', action: 'hashmod', modulus: 2.9 }])[0].modulus).toBe(2);
    expect(parseRelabelConfigs([{ source_labels: ['a'], target_label: 'b', action: 'hashmod', modulus: 5n }])[0].modulus).toBe(5);
  });

  it('accepts an absent list and refuses what is not a list', () => {
    expect(parseRelabelConfigs(null)).toEqual([]);
    expect(parseRelabelConfigs(undefined)).toEqual([]);
    expect(parseRelabelConfigs([])).toEqual([]);
    expect(() => parseRelabelConfigs({ action: 'keep' }, 'flag')).toThrow('flag: cannot unmarshal !!map into []*relabel.Config');
    expect(() => parseRelabelConfigs('keep')).toThrow('relabel config: cannot unmarshal !!str `keep` into []*relabel.Config');
  });

  it('names the failing rule', () => {
    let err: RelabelConfigError | undefined;
    try {
      parseRelabelConfigs([{ source_labels: ['a'], action: 'keep' }, { action: 'x' }], '--selector.relabel-config');
    } catch (e) {
      err = e as RelabelConfigError;
    }
    expect(err).toBeInstanceOf(RelabelConfigError);
    expect(err!.index).toBe(1);
    expect(err!.reason).toBe('unknown relabel action "x"');
    expect(err!.message).toBe('--selector.relabel-config[1]: unknown relabel action "x"');
  });

  it('rejects unknown fields as strict YAML does', () => {
    expect(reason({ target_label: 't', foo: 1 })).toBe(
      'unknown field "foo" (valid fields: source_labels, separator, regex, modulus, target_label, replacement, action)',
    );
    // Prometheus 3's name_validation_scheme is not a YAML field of relabel configs.
    expect(reason({ target_label: 't', sourceLabels: ['a'] })).toMatch(/^unknown field "sourceLabels"/);
  });

  const ERRORS: [string, unknown, string, NameValidationScheme?][] = [
    ['null rule', null, 'empty or null relabeling rule'],
    ['scalar rule', 'x', 'cannot unmarshal !!str `x` into relabel.plain'],
    ['list rule', [1], 'cannot unmarshal !!seq into relabel.plain'],
    ['unknown action', { action: 'Bogus' }, 'unknown relabel action "Bogus"'],
    ['empty action', { action: '', target_label: 't' }, 'unknown relabel action ""'],
    ['null action', { action: null, target_label: 't' }, 'relabel action cannot be empty'],
    ['hashmod without modulus', { action: 'hashmod', source_labels: ['a'], target_label: 'b' }, 'relabel configuration for hashmod requires non-zero modulus'],
    ['hashmod modulus 0', { action: 'hashmod', target_label: 'b', modulus: 0 }, 'relabel configuration for hashmod requires non-zero modulus'],
    ['replace without target', {}, "relabel configuration for replace action requires 'target_label' value"],
    ['hashmod without target', { action: 'hashmod', modulus: 2 }, "relabel configuration for hashmod action requires 'target_label' value"],
    ['lowercase without target', { action: 'lowercase' }, "relabel configuration for lowercase action requires 'target_label' value"],
    ['keepequal without target', { action: 'keepequal' }, "relabel configuration for keepequal action requires 'target_label' value"],
    ['invalid replace target', { target_label: '1abc' }, `"1abc" is invalid 'target_label' for replace action`],
    ['invalid replace target template', { target_label: '${1}x$' }, `"\${1}x$" is invalid 'target_label' for replace action`],
    ['UTF-8 replace target, legacy', { target_label: 'a.b' }, `"a.b" is invalid 'target_label' for replace action`],
    ['variable in lowercase target, legacy', { action: 'lowercase', target_label: '${3}' }, `"\${3}" is invalid 'target_label' for lowercase action`],
    ['variable in hashmod target', { action: 'hashmod', modulus: 2, target_label: 'a${1}' }, `"a\${1}" is invalid 'target_label' for hashmod action`],
    ['replacement for uppercase', { action: 'uppercase', target_label: 'u', replacement: 'x' }, "'replacement' can not be set for uppercase action"],
    ['invalid labelmap replacement', { action: 'labelmap', replacement: '-' }, `"-" is invalid 'replacement' for labelmap action`],
    ['empty labelmap replacement', { action: 'labelmap', replacement: '' }, `"" is invalid 'replacement' for labelmap action`],
    ['keepequal with a regex', { action: 'keepequal', target_label: 't', regex: '(.*)' }, "keepequal action requires only 'source_labels' and `target_label`, and no other fields"],
    ['dropequal with a null regex', { action: 'dropequal', target_label: 't', regex: null }, "dropequal action requires only 'source_labels' and `target_label`, and no other fields"],
    ['dropequal with a separator', { action: 'dropequal', target_label: 't', separator: ',' }, "dropequal action requires only 'source_labels' and `target_label`, and no other fields"],
    ['labeldrop with source_labels []', { action: 'labeldrop', regex: 'a', source_labels: [] }, "labeldrop action requires only 'regex', and no other fields"],
    ['labelkeep with a target', { action: 'labelkeep', regex: 'a', target_label: 'x' }, "labelkeep action requires only 'regex', and no other fields"],
    ['labelkeep with a null separator', { action: 'labelkeep', regex: 'a', separator: null }, "labelkeep action requires only 'regex', and no other fields"],
    ['labeldrop with a modulus', { action: 'labeldrop', modulus: 3 }, "labeldrop action requires only 'regex', and no other fields"],
    ['invalid source label', { source_labels: ['1a'], target_label: 'b' }, '"1a" is not a valid label name'],
    ['empty source label, utf8', { source_labels: [''], target_label: 'b' }, '"" is not a valid label name', 'utf8'],
    ['invalid regex', { source_labels: ['a'], target_label: 'b', regex: 'a(b' }, 'error parsing regexp: missing closing ): `^(?s:a(b)$`'],
    ['lookahead', { source_labels: ['a'], target_label: 'b', regex: 'a(?!b)' }, 'error parsing regexp: invalid or unsupported Perl syntax: `(?!`'],
    ['source_labels not a list', { source_labels: 'a', target_label: 'b' }, 'source_labels: cannot unmarshal !!str `a` into model.LabelNames'],
    ['negative modulus', { action: 'hashmod', target_label: 'b', modulus: -1 }, 'modulus: cannot unmarshal !!int `-1` into uint64'],
    ['string modulus', { action: 'hashmod', target_label: 'b', modulus: '3' }, 'modulus: cannot unmarshal !!str `3` into uint64'],
    ['bool modulus', { action: 'hashmod', target_label: 'b', modulus: true }, 'modulus: cannot unmarshal !!bool `true` into uint64'],
    ['huge modulus', { action: 'hashmod', target_label: 'b', modulus: 2 ** 60 }, `modulus: ${2 ** 60} is above 2^53-1, which is not supported`],
    ['list regex', { target_label: 'b', regex: ['a'] }, 'regex: cannot unmarshal !!seq into string'],
    ['map separator', { target_label: 'b', separator: {} }, 'separator: cannot unmarshal !!map into string'],
  ];
  for (const [name, rule, want, scheme] of ERRORS) {
    it(`refuses: ${name}`, () => {
      expect(reason(rule, { nameValidationScheme: scheme ?? 'legacy' })).toBe(want);
    });
  }

  it('reports errors of custom unmarshalers first, then type errors, then validation', () => {
    // As Go: the bad action aborts decoding before the collected type error is reported.
    expect(reason({ modulus: 'x', action: 'nope' })).toBe('unknown relabel action "nope"');
    expect(reason({ modulus: 'x', separator: [], action: 'keep', bar: 1 })).toBe(
      'modulus: cannot unmarshal !!str `x` into uint64; separator: cannot unmarshal !!seq into string; ' +
        'unknown field "bar" (valid fields: source_labels, separator, regex, modulus, target_label, replacement, action)',
    );
  });

  it('restricts actions when asked', () => {
    const opts = { supportedActions: ['keep', 'drop', 'hashmod'] as const };
    expect(parseRelabelConfigs([{ source_labels: ['a'], action: 'Keep' }], 'sel', opts)).toHaveLength(1);
    expect(() => parseRelabelConfigs([{ target_label: 'x' }], 'sel', opts)).toThrow('sel[0]: unsupported relabel action: replace');
  });

  // Prometheus's TestRelabelValidate, as rules.
  const VALIDATE: [unknown, NameValidationScheme, string | null][] = [
    [{ action: null }, 'utf8', 'relabel action cannot be empty'],
    [{ action: 'replace' }, 'utf8', "relabel configuration for replace action requires 'target_label' value"],
    [{ action: 'lowercase' }, 'utf8', "relabel configuration for lowercase action requires 'target_label' value"],
    [{ action: 'lowercase', target_label: '${3}' }, 'utf8', null],
    [{ action: 'lowercase', target_label: '${3}' }, 'legacy', `"\${3}" is invalid 'target_label' for lowercase action`],
    [{ source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', target_label: '${3}' }, 'utf8', null],
    [{ source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', target_label: '0${3}' }, 'utf8', null],
    [{ source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', target_label: '-${3}' }, 'utf8', null],
    [{ regex: '__meta_kubernetes_pod_label_(strimzi_io_.+)', action: 'labelmap', replacement: '$1' }, 'legacy', null],
    [{ regex: '__meta_(.+)', action: 'labelmap', replacement: '${1}' }, 'legacy', null],
  ];
  for (const [i, [rule, scheme, want]] of VALIDATE.entries()) {
    it(`Prometheus TestRelabelValidate ${i}`, () => {
      if (want === null) expect(parseRelabelConfigs([rule], 'cfg', { nameValidationScheme: scheme })).toHaveLength(1);
      else expect(reason(rule, { nameValidationScheme: scheme })).toBe(want);
    });
  }

  it("Prometheus TestTargetLabelLegacyValidity: relabelTargetLegacy's language", () => {
    const cases: [string, boolean][] = [
      ['-label', false],
      ['label', true],
      ['label${1}', true],
      ['${1}label', true],
      ['${1}', true],
      ['${', false],
      ['$', false],
      ['${}', false],
      ['foo${', false],
      ['$1', true],
      ['asd$2asd', true],
      ['-foo${1}bar-', false],
      ['bar.foo${1}bar', false],
      ['_${1}_', true],
      ['foo${bar}foo', true],
      // Beyond Prometheus's table: digits only after the first token; no backtracking blow-up.
      ['1abc', false],
      ['$1$2${x}_9', true],
      ['a'.repeat(5000) + '-', false],
    ];
    for (const [s, valid] of cases) expect([s, isValidTargetTemplate(s)]).toEqual([s, valid]);
  });

  it('relabelConfigToObject round-trips through parseRelabelConfigs', () => {
    const rules = [
      { source_labels: ['a', 'b'], separator: '/', regex: 'x(.*)', target_label: 't', replacement: 'r$1' },
      { source_labels: ['a'], target_label: 't', action: 'keepequal' },
      { regex: 'tmp_.*', action: 'labeldrop' },
      { source_labels: ['__block_id'], target_label: 'shard', modulus: 3, action: 'hashmod' },
      { source_labels: ['a'], regex: '', target_label: 't', replacement: '' },
    ];
    const parsed = parseRelabelConfigs(rules);
    const objects = parsed.map(relabelConfigToObject);
    expect(objects[1]).toEqual({ source_labels: ['a'], separator: ';', target_label: 't', replacement: '$1', action: 'keepequal' });
    expect(objects[2]).toEqual({ separator: ';', regex: 'tmp_.*', replacement: '$1', action: 'labeldrop' });
    const again = parseRelabelConfigs(JSON.parse(JSON.stringify(objects)));
    expect(again.map(relabelConfigToObject)).toEqual(objects);
    expect(again.map((c) => c.regex.source)).toEqual(parsed.map((c) => c.regex.source));
  });
});
