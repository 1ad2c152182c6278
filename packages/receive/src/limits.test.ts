import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlagValues, LimitExceededError, UserError } from '@thanos-ts/runtime';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  expandEnv,
  LIMITS_FLAGS,
  limitsConfigContent,
  limitsConfigFromFlags,
  parseRootLimitsConfig,
  WriteLimiter,
  WriteLimitError,
} from './limits.js';
import type { WriteLimiterOptions } from './limits.js';

// Thanos pkg/receive/testdata/limits_config/good_limits.yaml.
const GOOD = `write:
  global:
    max_concurrency: 30
    meta_monitoring_url: "http://localhost:9090"
    meta_monitoring_limit_query: "sum(prometheus_tsdb_head_series) by (tenant)"
  default:
    request:
      size_bytes_limit: 1024
      series_limit: 1000
      samples_limit: 10
    head_series_limit: 1000
  tenants:
    acme:
      request:
        size_bytes_limit: 0
        series_limit: 0
        samples_limit: 0
      head_series_limit: 2000
    ajax:
      request:
        series_limit: 50000
        samples_limit: 500
`;

// Thanos pkg/receive/testdata/limits_config/invalid_limits.yaml: `request` one level too high.
const INVALID = `write:
  global:
    max_concurrency: 30
  request:
    size_bytes_limit: 1024
    series_limit: 1000
    samples_limit: 10
  tenants:
    acme:
      request:
        size_bytes_limit: 0
`;

async function metric(reg: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const m = await reg.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => String((x.labels as Record<string, unknown>)[k]) === val));
  return v?.value;
}

function options(over: Partial<WriteLimiterOptions> = {}): WriteLimiterOptions {
  return { registry: new Registry(), headSeries: () => 0, ...over };
}

describe('parseRootLimitsConfig', () => {
  it('parses Thanos good_limits.yaml', () => {
    const c = parseRootLimitsConfig(GOOD);
    expect(c.write.global).toEqual({
      maxConcurrency: 30,
      metaMonitoringURL: 'http://localhost:9090',
      metaMonitoringLimitQuery: 'sum(prometheus_tsdb_head_series) by (tenant)',
    });
    expect(c.write.default).toEqual({ request: { sizeBytesLimit: 1024, seriesLimit: 1000, samplesLimit: 10 }, headSeriesLimit: 1000 });
    expect(c.write.tenants.get('acme')).toEqual({ request: { sizeBytesLimit: 0, seriesLimit: 0, samplesLimit: 0 }, headSeriesLimit: 2000 });
    // Left out: undefined, to be inherited from the default.
    expect(c.write.tenants.get('ajax')).toEqual({ request: { seriesLimit: 50000, samplesLimit: 500 } });
  });

  it('refuses Thanos invalid_limits.yaml with go-yaml strict text', () => {
    expect(() => parseRootLimitsConfig(INVALID)).toThrow(
      'parsing config YAML file: yaml: unmarshal errors: line 4: field request not found in type receive.WriteLimitsConfig',
    );
  });

  it('reads an empty file as no limits, with the default meta-monitoring query', () => {
    for (const text of ['', '# nothing\n', 'write:\n', 'write: ~\n']) {
      const c = parseRootLimitsConfig(text);
      expect(c.write.global).toEqual({ maxConcurrency: 0, metaMonitoringURL: '', metaMonitoringLimitQuery: 'sum(prometheus_tsdb_head_series) by (tenant)' });
      expect(c.write.default).toEqual({ request: {}, headSeriesLimit: 0 });
      expect(c.write.tenants.size).toBe(0);
    }
  });

  it('lists every unknown field and type mismatch with its line', () => {
    const text = `write:
  global:
    max_concurrency: abc
    bogus: 1
  default:
    head_series_limit: -1
    request:
      samples_limit: [1]
  tenants: [a]
`;
    let msg = '';
    try {
      parseRootLimitsConfig(text);
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toBe(
      'parsing config YAML file: yaml: unmarshal errors: ' +
        'line 3: cannot unmarshal !!str `abc` into int64; ' +
        'line 4: field bogus not found in type receive.GlobalLimitsConfig; ' +
        'line 6: cannot unmarshal !!int `-1` into uint64; ' +
        'line 8: cannot unmarshal !!seq into int64; ' +
        'line 9: cannot unmarshal !!seq into receive.TenantsWriteLimitsConfig',
    );
  });

  it('refuses unknown top-level keys, tenant fields and a non-mapping document', () => {
    expect(() => parseRootLimitsConfig('read: {}\n')).toThrow('line 1: field read not found in type receive.RootLimitsConfig');
    expect(() => parseRootLimitsConfig('write:\n  tenants:\n    acme:\n      max_concurrency: 1\n')).toThrow('line 4: field max_concurrency not found in type receive.WriteLimitConfig');
    expect(() => parseRootLimitsConfig('write:\n  default:\n    request:\n      sample_limit: 1\n')).toThrow('line 4: field sample_limit not found in type receive.requestLimitsConfig');
    expect(() => parseRootLimitsConfig('hello\n')).toThrow('line 1: cannot unmarshal !!str `hello` into receive.RootLimitsConfig');
  });

  it('refuses duplicate keys as UnmarshalStrict does', () => {
    expect(() => parseRootLimitsConfig('write:\n  global:\n    max_concurrency: 1\n    max_concurrency: 2\n')).toThrow('line 4: key "max_concurrency" already set in map');
    expect(() => parseRootLimitsConfig('write:\n  tenants:\n    a: {}\n    a: {}\n')).toThrow('line 4: key "a" already set in map');
  });

  it('reports YAML syntax errors with their line', () => {
    expect(() => parseRootLimitsConfig('write:\n  global: max_concurrency: 3\n')).toThrow(/^parsing config YAML file: yaml: line 2: /);
  });

  it('validates meta_monitoring_url as Thanos (scheme and host), then ignores it', () => {
    expect(() => parseRootLimitsConfig('write:\n  global:\n    meta_monitoring_url: localhost:9090\n')).toThrow(
      'parsing config YAML file: localhost:9090 is not a valid meta-monitoring URL (scheme: localhost,host: )',
    );
    expect(() => parseRootLimitsConfig('write:\n  global:\n    meta_monitoring_url: /api\n')).toThrow('/api is not a valid meta-monitoring URL (scheme: ,host: )');
    const c = parseRootLimitsConfig('write:\n  global:\n    meta_monitoring_url: https://prom:9090\n    meta_monitoring_http_client:\n      basic_auth: {username: u}\n    meta_monitoring_limit_query: ""\n');
    expect(c.write.global.metaMonitoringHTTPClient).toEqual({ basic_auth: { username: 'u' } });
    expect(c.write.global.metaMonitoringLimitQuery).toBe('sum(prometheus_tsdb_head_series) by (tenant)');
    expect(() => parseRootLimitsConfig('write:\n  global:\n    meta_monitoring_http_client: yes\n')).toThrow('line 3: cannot unmarshal !!bool `yes` into clientconfig.HTTPClientConfig');
  });

  it('reads YAML 1.1 numbers, null pointers, anchors and merge keys as go-yaml v2', () => {
    const c = parseRootLimitsConfig(`write:
  default:
    request: &req
      size_bytes_limit: 1_048_576
      series_limit: 0x10
      samples_limit: 1e3
  tenants:
    a:
      request:
        <<: *req
        series_limit: 5
        samples_limit: ~
    b:
    c:
      request: ~
      head_series_limit: 0
`);
    expect(c.write.default.request).toEqual({ sizeBytesLimit: 1048576, seriesLimit: 16, samplesLimit: 1000 });
    expect(c.write.tenants.get('a')).toEqual({ request: { sizeBytesLimit: 1048576, seriesLimit: 5 } });
    expect(c.write.tenants.get('b')).toEqual({});
    expect(c.write.tenants.get('c')).toEqual({ headSeriesLimit: 0 });
  });

  it('refuses integers out of the Go type range', () => {
    expect(() => parseRootLimitsConfig('write:\n  global:\n    max_concurrency: 9223372036854775808\n')).toThrow('line 3: cannot unmarshal !!int `9223372...` into int64');
  });
});

describe('request limits', () => {
  it('applies defaults, per-tenant overrides and inheritance of left-out values', () => {
    const l = WriteLimiter.fromYAML(GOOD, options()).requestLimiter();
    // An unlisted tenant: the defaults.
    expect(l.limitsFor('other')).toEqual({ sizeBytesLimit: 1024, seriesLimit: 1000, samplesLimit: 10 });
    // acme: explicit 0 is unlimited.
    expect(l.limitsFor('acme')).toEqual({ sizeBytesLimit: 0, seriesLimit: 0, samplesLimit: 0 });
    // ajax: its own series and samples, size inherited from the default.
    expect(l.limitsFor('ajax')).toEqual({ sizeBytesLimit: 1024, seriesLimit: 50000, samplesLimit: 500 });

    expect(l.allowSizeBytes('other', 1024)).toBe(true);
    expect(l.allowSizeBytes('other', 1025)).toBe(false);
    expect(l.allowSizeBytes('acme', 1 << 30)).toBe(true);
    expect(l.allowSizeBytes('ajax', 1025)).toBe(false);
    expect(l.allowSeries('other', 1001)).toBe(false);
    expect(l.allowSeries('ajax', 50000)).toBe(true);
    expect(l.allowSamples('other', 11)).toBe(false);
    expect(l.allowSamples('ajax', 500)).toBe(true);
    expect(l.allowSamples('ajax', 501)).toBe(false);
  });

  it('treats unset default values and negative values as unlimited', () => {
    const l = WriteLimiter.fromYAML('write:\n  default:\n    request:\n      series_limit: -5\n  tenants:\n    t:\n      request:\n        samples_limit: 3\n', options()).requestLimiter();
    expect(l.allowSizeBytes('x', 1e12)).toBe(true);
    expect(l.allowSeries('x', 1e9)).toBe(true);
    expect(l.allowSamples('x', 1e9)).toBe(true);
    expect(l.allowSamples('t', 4)).toBe(false);
  });

  it('refuses with 413 and Thanos texts', () => {
    const l = WriteLimiter.fromYAML(GOOD, options()).requestLimiter();
    const caught = (fn: () => void): WriteLimitError => {
      try {
        fn();
      } catch (err) {
        return err as WriteLimitError;
      }
      throw new Error('not refused');
    };
    const size = caught(() => l.checkSizeBytes('other', 2000));
    expect(size).toBeInstanceOf(WriteLimitError);
    expect(size).toBeInstanceOf(LimitExceededError);
    expect([size.status, size.message]).toEqual([413, 'write request too large']);
    expect([caught(() => l.checkSeries('other', 1001)).message, caught(() => l.checkSamples('other', 11)).message]).toEqual(['too many timeseries', 'too many samples']);
    expect(() => l.checkSamples('other', 10)).not.toThrow();
  });

  it('exports the configured limits and how far past them refused requests were', async () => {
    const reg = new Registry();
    const l = WriteLimiter.fromYAML(GOOD, options({ registry: reg })).requestLimiter();
    expect(await metric(reg, 'thanos_receive_write_limits', { tenant: '', limit: 'body_size' })).toBe(1024);
    expect(await metric(reg, 'thanos_receive_write_limits', { tenant: 'ajax', limit: 'series' })).toBe(50000);
    expect(await metric(reg, 'thanos_receive_write_limits', { tenant: 'ajax', limit: 'body_size' })).toBe(1024);
    expect(await metric(reg, 'thanos_receive_write_limits', { tenant: 'acme', limit: 'samples' })).toBe(0);
    l.allowSamples('other', 15);
    l.allowSamples('other', 5);
    const hits = await reg.getSingleMetric('thanos_receive_write_limits_hit')!.get();
    const count = hits.values.find((v) => v.metricName === 'thanos_receive_write_limits_hit_count' && v.labels.tenant === 'other' && v.labels.limit === 'samples');
    const sum = hits.values.find((v) => v.metricName === 'thanos_receive_write_limits_hit_sum' && v.labels.tenant === 'other');
    expect([count?.value, sum?.value]).toEqual([1, 5]);
  });
});

describe('head series limit', () => {
  it('refuses a tenant at or over its limit with 429, counting it', async () => {
    const reg = new Registry();
    const heads: Record<string, number> = { other: 999, acme: 2000, ajax: 1000 };
    const l = WriteLimiter.fromYAML(GOOD, options({ registry: reg, headSeries: (t) => heads[t] ?? 0 }));
    expect(l.isUnderHeadSeriesLimit('other')).toBe(true); // 999 < default 1000
    expect(l.isUnderHeadSeriesLimit('acme')).toBe(false); // 2000 >= its 2000
    expect(l.isUnderHeadSeriesLimit('ajax')).toBe(false); // listed without one: default 1000
    expect(l.isUnderHeadSeriesLimit('new')).toBe(true);
    heads.other = 1000;
    let err: unknown;
    try {
      l.checkHeadSeries('other');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WriteLimitError);
    expect([(err as WriteLimitError).status, (err as Error).message]).toEqual([429, 'tenant is above active series limit']);
    expect(await metric(reg, 'thanos_receive_head_series_limited_requests_total', { tenant: 'acme' })).toBe(1);
    expect(await metric(reg, 'thanos_receive_head_series_limited_requests_total', { tenant: 'other' })).toBe(1);
    expect(await metric(reg, 'thanos_receive_head_series_limit', { tenant: '' })).toBe(1000);
    expect(await metric(reg, 'thanos_receive_head_series_limit', { tenant: 'acme' })).toBe(2000);
    expect(await metric(reg, 'thanos_receive_head_series_limit', { tenant: 'ajax' })).toBe(1000);
  });

  it('lets a tenant with head_series_limit 0 through, and only limits listed tenants without a default', () => {
    const headSeries = vi.fn(() => 1e9);
    const l = WriteLimiter.fromYAML('write:\n  default:\n    head_series_limit: 10\n  tenants:\n    free:\n      head_series_limit: 0\n', options({ headSeries }));
    expect(l.isUnderHeadSeriesLimit('free')).toBe(true);
    expect(l.isUnderHeadSeriesLimit('x')).toBe(false);
    const only = WriteLimiter.fromYAML('write:\n  tenants:\n    big:\n      head_series_limit: 5\n', options({ headSeries }));
    expect(only.isUnderHeadSeriesLimit('x')).toBe(true);
    expect(only.isUnderHeadSeriesLimit('big')).toBe(false);
  });

  it('neither counts series nor registers metrics when no head series limit is set', () => {
    const headSeries = vi.fn(() => 1e9);
    const reg = new Registry();
    const l = WriteLimiter.fromYAML(GOOD.replace(/head_series_limit: \d+/g, 'head_series_limit: 0'), options({ registry: reg, headSeries }));
    expect(l.isUnderHeadSeriesLimit('acme')).toBe(true);
    expect(headSeries).not.toHaveBeenCalled();
    expect(reg.getSingleMetric('thanos_receive_head_series_limit')).toBeUndefined();
  });
});

describe('write gate', () => {
  it('lets max_concurrency requests in and makes the others wait', async () => {
    const reg = new Registry();
    const l = WriteLimiter.fromYAML('write:\n  global:\n    max_concurrency: 2\n', options({ registry: reg }));
    const gate = l.writeGate();
    await gate.start();
    await gate.start();
    let third = false;
    const waiting = gate.start().then(() => (third = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(third).toBe(false);
    const p = 'thanos_receive_write_request_concurrent_gate_write_requests';
    expect(await metric(reg, `${p}_in_flight`)).toBe(2);
    expect(await metric(reg, `${p}_max`)).toBe(2);
    gate.done();
    await waiting;
    expect(third).toBe(true);
    expect(await metric(reg, `${p}_total`)).toBe(3);
    expect(await metric(reg, `${p}_in_flight`)).toBe(2);

    // A waiter whose request goes away leaves the line.
    const ac = new AbortController();
    const aborted = gate.start(ac.signal);
    ac.abort(new Error('client gone'));
    await expect(aborted).rejects.toThrow('client gone');
    gate.done();
    gate.done();
    expect(await metric(reg, `${p}_in_flight`)).toBe(0);
  });

  it('has no gate and no gate metrics without max_concurrency', async () => {
    const reg = new Registry();
    const l = WriteLimiter.fromYAML(GOOD.replace('max_concurrency: 30', 'max_concurrency: 0'), options({ registry: reg }));
    const g = l.writeGate();
    await Promise.all(Array.from({ length: 100 }, () => g.start()));
    expect(reg.getSingleMetric('thanos_receive_write_request_concurrent_gate_write_requests_max')).toBeUndefined();
  });
});

describe('loading and reloading', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'limits-'));
    file = join(dir, 'limits.yaml');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('wraps load errors as Thanos does', async () => {
    await expect(WriteLimiter.open(limitsConfigContent({ file: join(dir, 'missing.yaml') }), options())).rejects.toThrow(
      /^get content of limit configuration: loading file .*missing\.yaml for receive\.limits-config-file: ENOENT/,
    );
    writeFileSync(file, INVALID);
    await expect(WriteLimiter.open(limitsConfigContent({ file }), options())).rejects.toThrow(
      'parse limit configuration: parsing config YAML file: yaml: unmarshal errors: line 4: field request not found in type receive.WriteLimitsConfig',
    );
    expect(() => WriteLimiter.fromYAML(INVALID, options())).toThrow(/^parse limit configuration: parsing config YAML file: /);
    await expect(WriteLimiter.open(limitsConfigContent({ file, content: GOOD }), options())).rejects.toThrow('both receive.limits-config-file and receive.limits-config flags set.');
  });

  it('has no limits without a configuration, and cannot reload inline content', async () => {
    const none = await WriteLimiter.open(null, options());
    expect(none.canReload()).toBe(false);
    expect(none.requestLimiter().allowSizeBytes('t', 1e12)).toBe(true);
    const inline = await WriteLimiter.open(limitsConfigContent({ content: GOOD }), options());
    expect(inline.canReload()).toBe(false);
    expect(inline.requestLimiter().allowSizeBytes('t', 1025)).toBe(false);
    expect(await inline.reload()).toBe('unchanged');
  });

  it('applies a changed file, keeps the old configuration when the new one fails, and counts both', async () => {
    const reg = new Registry();
    writeFileSync(file, GOOD);
    const l = await WriteLimiter.open(limitsConfigContent({ file }), options({ registry: reg }));
    expect(l.canReload()).toBe(true);
    expect(await l.reload()).toBe('unchanged');
    expect(await metric(reg, 'thanos_receive_limits_config_reload_total')).toBe(0);

    writeFileSync(file, GOOD.replace('series_limit: 1000', 'series_limit: 7').replace(/ {4}ajax:\n(.*\n)*/, ''));
    expect(await l.reload()).toBe('reloaded');
    expect(l.requestLimiter().limitsFor('other').seriesLimit).toBe(7);
    expect(l.config.write.tenants.has('ajax')).toBe(false);
    // The dropped tenant leaves the configured-limits gauge.
    expect(await metric(reg, 'thanos_receive_write_limits', { tenant: 'ajax', limit: 'series' })).toBeUndefined();
    expect(await metric(reg, 'thanos_receive_write_limits', { tenant: '', limit: 'series' })).toBe(7);

    const before = l.requestLimiter();
    writeFileSync(file, INVALID);
    expect(await l.reload()).toBe('failed');
    expect(l.requestLimiter()).toBe(before);
    expect(l.requestLimiter().limitsFor('other').seriesLimit).toBe(7);
    expect(await metric(reg, 'thanos_receive_limits_config_reload_total')).toBe(2);
    expect(await metric(reg, 'thanos_receive_limits_config_reload_err_total')).toBe(1);
    // The same bad bytes are not tried again; a missing file is only logged.
    expect(await l.reload()).toBe('unchanged');
    rmSync(file);
    expect(await l.reload()).toBe('unchanged');
    expect(await metric(reg, 'thanos_receive_limits_config_reload_err_total')).toBe(1);

    writeFileSync(file, 'write:\n  global:\n    max_concurrency: 1\n');
    expect(await l.reload()).toBe('reloaded');
    expect(l.requestLimiter().allowSeries('other', 1e6)).toBe(true);
    expect(await metric(reg, 'thanos_receive_write_request_concurrent_gate_write_requests_max')).toBe(1);
  });

  it('keeps the gate across a reload with the same max_concurrency and replaces it otherwise', async () => {
    writeFileSync(file, 'write:\n  global:\n    max_concurrency: 1\n');
    const l = await WriteLimiter.open(limitsConfigContent({ file }), options());
    const g = l.writeGate();
    writeFileSync(file, 'write:\n  global:\n    max_concurrency: 1\n  default:\n    head_series_limit: 3\n');
    await l.reload();
    expect(l.writeGate()).toBe(g);
    writeFileSync(file, 'write:\n  global:\n    max_concurrency: 4\n');
    await l.reload();
    expect(l.writeGate()).not.toBe(g);
  });

  it('polls the file every reload interval between start() and stop()', async () => {
    writeFileSync(file, GOOD);
    const reg = new Registry();
    const l = await WriteLimiter.open(limitsConfigContent({ file }), options({ registry: reg, reloadIntervalMs: 10 }));
    await l.start();
    writeFileSync(file, GOOD.replace('samples_limit: 10', 'samples_limit: 99'));
    await vi.waitFor(() => expect(l.requestLimiter().limitsFor('x').samplesLimit).toBe(99), { timeout: 2000 });
    await l.stop();
    writeFileSync(file, GOOD);
    await new Promise((r) => setTimeout(r, 50));
    expect(l.requestLimiter().limitsFor('x').samplesLimit).toBe(99);
    expect(await metric(reg, 'thanos_receive_limits_config_reload_total')).toBe(1);
  });

  it('substitutes $(VAR) from the environment', async () => {
    expect(expandEnv('a: $(X) $(X)', { X: '5' })).toBe('a: 5 5');
    expect(() => expandEnv('a: $(NOPE)', {})).toThrow('found reference to unset environment variable "NOPE"');
    process.env.THANOS_TS_LIMITS_TEST = '42';
    try {
      const l = await WriteLimiter.open(limitsConfigContent({ content: 'write:\n  default:\n    request:\n      series_limit: $(THANOS_TS_LIMITS_TEST)\n' }), options());
      expect(l.requestLimiter().limitsFor('t').seriesLimit).toBe(42);
    } finally {
      delete process.env.THANOS_TS_LIMITS_TEST;
    }
  });
});

describe('flags', () => {
  it('reads the source and the reload timer', async () => {
    const d = limitsConfigFromFlags(new FlagValues({}, LIMITS_FLAGS));
    expect(d.reloadIntervalMs).toBe(1000);
    expect(d.source.path()).toBe('');
    expect(await d.source.content()).toBe('');
    const c = limitsConfigFromFlags(new FlagValues({ 'receive.limits-config': GOOD, 'receive.limits-config-reload-timer': '30s' }, LIMITS_FLAGS));
    expect(c.reloadIntervalMs).toBe(30_000);
    expect(await c.source.content()).toBe(GOOD);
    expect(() => limitsConfigFromFlags(new FlagValues({ 'receive.limits-config': GOOD, 'receive.limits-config-file': '/x' }, LIMITS_FLAGS))).toThrow(UserError);
  });
});
