import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@thanos-ts/testutil';
import { UserError } from '@thanos-ts/runtime';
import { describe, expect, it } from 'vitest';
import { NOTIFIER_FLAGS, notifierConfigFromFlags } from './flags.js';

describe('NOTIFIER_FLAGS', () => {
  it("has Thanos's names and defaults", () => {
    const byName = new Map(NOTIFIER_FLAGS.map((f) => [f.name, f]));
    expect([...byName.keys()].sort()).toEqual([
      'alert.label-drop',
      'alert.query-template',
      'alert.query-url',
      'alert.relabel-config',
      'alert.relabel-config-file',
      'alertmanagers.config',
      'alertmanagers.config-file',
      'alertmanagers.sd-dns-interval',
      'alertmanagers.send-timeout',
      'alertmanagers.url',
    ]);
    expect(byName.get('alertmanagers.send-timeout')!.default).toBe('10s');
    expect(byName.get('alert.query-template')!.default).toBe('/graph?g0.expr={{.Expr}}&g0.tab=1');
    expect(byName.get('alertmanagers.url')!.kind).toBe('strings');
  });
});

describe('notifierConfigFromFlags', () => {
  it('builds one Alertmanager per --alertmanagers.url with --alertmanagers.send-timeout', () => {
    const c = notifierConfigFromFlags({ 'alertmanagers.url': ['http://a:9093', 'http://b:9093/am'], 'alertmanagers.send-timeout': '1m30s', 'alert.label-drop': ['replica'] });
    expect(c.alertmanagers.map((a) => [a.staticAddresses[0], a.pathPrefix, a.timeoutMs])).toEqual([
      ['a:9093', '', 90_000],
      ['b:9093', '/am', 90_000],
    ]);
    expect(c.labelDrop).toEqual(['replica']);
    expect(c.relabelConfigs).toEqual([]);
    expect(c.alertQueryTemplate).toBe('/graph?g0.expr={{.Expr}}&g0.tab=1');
  });

  it('reads the config file with $(VAR) substituted, and the relabel config', async () => {
    const dir = await tempDir('notifier-flags');
    const file = join(dir, 'am.yml');
    writeFileSync(file, 'alertmanagers:\n- static_configs: ["$(AM_HOST):9093"]\n  timeout: 2s\n');
    const c = notifierConfigFromFlags(
      { 'alertmanagers.config-file': file, 'alert.relabel-config': '- action: labeldrop\n  regex: tmp_.*\n', 'alert.query-url': 'http://thanos-query:9090' },
      { AM_HOST: 'am.local' },
    );
    expect(c.alertmanagers).toHaveLength(1);
    expect(c.alertmanagers[0].staticAddresses).toEqual(['am.local:9093']);
    expect(c.alertmanagers[0].timeoutMs).toBe(2000);
    expect(c.relabelConfigs).toHaveLength(1);
    expect(c.alertQueryURL).toBe('http://thanos-query:9090');
  });

  it.each([
    [{ 'alertmanagers.url': ['http://a:9093'], 'alertmanagers.config': 'alertmanagers: []' }, '--alertmanagers.url and --alertmanagers.config* parameters cannot be defined at the same time'],
    [{ 'alertmanagers.config': 'x: [$(NOPE)]' }, 'found reference to unset environment variable "NOPE"'],
    [{ 'alertmanagers.config': 'alertmanagers: [{bogus: 1}]' }, '--alertmanagers.config: parse alerting config: alertmanagers[0]: field bogus not found'],
    [{ 'alertmanagers.url': ['dns+http://am:9093'] }, '--alertmanagers.url: alertmanagers.url "dns+http://am:9093": DNS discovery'],
    [{ 'alertmanagers.url': ['http://a:9093'], 'alertmanagers.send-timeout': 'soon' }, '--alertmanagers.send-timeout'],
    [{ 'alert.relabel-config': '- action: explode\n' }, '--alert.relabel-config'],
    [{ 'alert.query-template': '/graph?g0.expr={{.Query}}' }, 'invalid alert source template'],
  ])('rejects %j', (values, msg) => {
    expect(() => notifierConfigFromFlags(values, {})).toThrow(UserError);
    expect(() => notifierConfigFromFlags(values, {})).toThrow(msg);
  });
});
