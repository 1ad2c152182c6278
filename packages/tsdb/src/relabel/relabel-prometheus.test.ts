// Cross-checks relabelling against the real Prometheus 2.42 binaries:
// - `promtool check config` must accept exactly the rules parseRelabelConfigs accepts
//   (as metric_relabel_configs), and fail with the message we give;
// - a running Prometheus applies `relabel_configs` to static targets, and the target
//   labels it reports at /api/v1/targets (and which targets it drops) must be what
//   relabel() computes from the same discovered labels, hashmod values included.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { promtool, removeTempDirs, rng, startPrometheus, tempDir, waitFor } from '@thanos-ts/testutil';
import { labelsFromRecord, labelsToRecord } from '../labels/index.js';
import { parseRelabelConfigs, RelabelConfigError } from './relabel-config.js';
import { relabel } from './relabel.js';

afterAll(removeTempDirs);

interface CheckCase {
  rule: unknown;
  /** What promtool's output must contain when both refuse the rule (default: our reason). */
  promtool?: string;
  /**
   * Where Prometheus 2.42 differs from the current Prometheus we follow: the verdict of
   * promtool 2.42 and why.
   */
  differs?: { promtoolAccepts: boolean; why: string };
}

const CHECK_CASES: CheckCase[] = [
  // Accepted.
  { rule: { source_labels: ['a'], target_label: 'b' } },
  { rule: { source_labels: ['a', 'b'], separator: '', regex: 'x(.*)', target_label: '${1}_x', replacement: '$1' } },
  { rule: { source_labels: ['a'], action: 'KEEP', regex: '(?i)foo|bar' } },
  { rule: { source_labels: ['a'], action: 'drop', target_label: 'ignored', modulus: 5, replacement: 'q' } },
  { rule: { source_labels: ['a'], target_label: 'b', action: 'HashMod', modulus: 3 } },
  { rule: { source_labels: ['a'], target_label: 'b', action: 'hashmod', modulus: 1.5 } },
  { rule: { source_labels: ['a'], target_label: 'b', action: 'hashmod', modulus: Number.MAX_SAFE_INTEGER } },
  { rule: { source_labels: ['a'], target_label: '__tmp', action: 'hashmod', modulus: 3 } },
  { rule: { regex: '__meta_(.+)', action: 'labelmap', replacement: 'm_$1' } },
  { rule: { regex: 'tmp_.*', action: 'labeldrop' } },
  { rule: { regex: 'tmp_.*', action: 'labelkeep', separator: ';', source_labels: null } },
  { rule: { source_labels: ['a'], target_label: 'b', action: 'uppercase' } },
  { rule: { source_labels: ['a'], target_label: 'b', action: 'lowercase', replacement: '$1' } },
  { rule: { source_labels: ['a'], target_label: 'b', action: 'keepequal' } },
  { rule: { source_labels: ['a'], target_label: 'b', action: 'dropequal', separator: ';' } },
  { rule: { source_labels: [null], target_label: 'b', separator: 1, replacement: true } },
  { rule: { source_labels: ['a'], target_label: 'b', modulus: null, regex: '\\Qa.b\\E[[:alpha:]]\\pL' } },
  { rule: { source_labels: ['a'], target_label: 'b', regex: '(?P<x>a)(?P<x>b)' } },
  { rule: { source_labels: ['a'], target_label: 'b', regex: 'a)|(b' } },
  { rule: { target_label: '${1}x$y' } },
  // Refused.
  { rule: null, promtool: 'empty or null metric relabeling rule' },
  { rule: 'x', promtool: 'cannot unmarshal !!str `x` into relabel.plain' },
  { rule: { action: 'Bogus' } },
  { rule: { action: '', target_label: 'b' } },
  { rule: { action: null, target_label: 'b' } },
  { rule: { source_labels: ['a'], target_label: 'b', action: 'hashmod' } },
  { rule: {} },
  { rule: { action: 'dropequal', source_labels: ['a'] } },
  { rule: { target_label: '1abc' } },
  { rule: { target_label: 'a.b' } },
  { rule: { target_label: '${1}x$' } },
  { rule: { action: 'hashmod', modulus: 2, target_label: 'a${1}' } },
  { rule: { action: 'uppercase', source_labels: ['a'], target_label: 'b', replacement: 'x' } },
  { rule: { action: 'labelmap', replacement: '-' } },
  { rule: { action: 'labelmap', replacement: '' } },
  { rule: { action: 'keepequal', source_labels: ['a'], target_label: 'b', regex: '(.*)' } },
  { rule: { action: 'keepequal', source_labels: ['a'], target_label: 'b', regex: null } },
  { rule: { action: 'labeldrop', regex: 'a', source_labels: [] } },
  { rule: { action: 'labelkeep', regex: 'a', separator: null } },
  { rule: { source_labels: ['1a'], target_label: 'b' } },
  { rule: { source_labels: 'a', target_label: 'b' }, promtool: 'cannot unmarshal !!str `a` into model.LabelNames' },
  { rule: { source_labels: ['a'], target_label: 'b', modulus: -1 }, promtool: 'cannot unmarshal !!int `-1` into uint64' },
  { rule: { source_labels: ['a'], target_label: 'b', modulus: '3' }, promtool: 'cannot unmarshal !!str `3` into uint64' },
  { rule: { source_labels: ['a'], target_label: 'b', modulus: true }, promtool: 'cannot unmarshal !!bool `true` into uint64' },
  { rule: { source_labels: ['a'], target_label: 'b', regex: ['a'] }, promtool: 'cannot unmarshal !!seq into string' },
  { rule: { source_labels: ['a'], target_label: 'b', foo: 1 }, promtool: 'field foo not found in type relabel.plain' },
  // Go 2.42 wraps the regex in `^(?:…)$`, the current Prometheus (and we) in `^(?s:…)$`.
  { rule: { source_labels: ['a'], target_label: 'b', regex: 'a(b' }, promtool: 'error parsing regexp: missing closing ): `^(?:a(b)$`' },
  { rule: { source_labels: ['a'], target_label: 'b', regex: '[a' }, promtool: 'error parsing regexp: missing closing ]: `[a)$`' },
  { rule: { source_labels: ['a'], target_label: 'b', regex: '\\8' } },
  { rule: { source_labels: ['a'], target_label: 'b', regex: 'a(?=b)' } },
  {
    rule: { source_labels: ['a'], target_label: '${1}', action: 'lowercase' },
    differs: {
      promtoolAccepts: true,
      why: 'Prometheus >= 3 checks the target of lowercase/uppercase/keepequal/dropequal as a plain label name',
    },
  },
];

function oursAccepts(rule: unknown): { ok: true } | { ok: false; reason: string } {
  try {
    parseRelabelConfigs([rule]);
    return { ok: true };
  } catch (e) {
    if (!(e instanceof RelabelConfigError)) throw e;
    return { ok: false, reason: e.reason };
  }
}

async function checkConfig(dir: string, name: string, rules: unknown[]): Promise<{ code: number; out: string }> {
  const file = join(dir, `${name}.yml`);
  const cfg = {
    scrape_configs: [{ job_name: 'x', static_configs: [{ targets: ['127.0.0.1:1'] }], metric_relabel_configs: rules }],
  };
  await writeFile(file, JSON.stringify(cfg)); // JSON is YAML
  const r = await promtool(['check', 'config', file]);
  return { code: r.code, out: r.stdout + r.stderr };
}

describe('relabel config vs promtool check config', () => {
  it('accepts and refuses the same rules, with the same messages', async () => {
    const dir = await tempDir('relabel-check');
    const verdicts = CHECK_CASES.map((c) => ({ c, ours: oursAccepts(c.rule) }));
    const accepted = verdicts.filter((v) => v.ours.ok).map((v) => v.c.rule);
    const refused = verdicts.filter((v) => !v.ours.ok);
    expect(accepted.length).toBeGreaterThan(15);
    expect(refused.length).toBeGreaterThan(25);

    // The rules we accept go into one file (promtool stops at the first bad rule and
    // names it); each refused one needs its own.
    const [all, ...each] = await Promise.all([
      checkConfig(dir, 'accepted', accepted),
      ...refused.map((v, i) => checkConfig(dir, `refused-${i}`, [v.c.rule])),
    ]);
    expect(all.code, all.out).toBe(0);
    for (const [i, { c, ours }] of refused.entries()) {
      const { code, out } = each[i];
      const reason = ours.ok ? '' : ours.reason;
      const what = `${JSON.stringify(c.rule)} → ours: ${reason}; promtool (${code}): ${out.trim()}`;
      if (c.differs) {
        expect(code === 0, `${what} (${c.differs.why})`).toBe(c.differs.promtoolAccepts);
        continue;
      }
      expect(code, what).toBe(1);
      expect(out, what).toContain(c.promtool ?? reason);
    }
  });
});

// Static targets: the same 40 label sets in every job.
function staticConfigs(): { targets: string[]; labels: Record<string, string> }[] {
  const r = rng(42);
  const envs = ['prod', 'staging', 'dev', 'Prod-EU', 'qa'];
  return Array.from({ length: 40 }, (_, i) => {
    const env = envs[i % envs.length];
    const labels: Record<string, string> = {
      env,
      tenant: i % 7 === 0 ? `tëam-ß-${i}` : `team-${Math.floor(r() * 1e6).toString(36)}-${i}`,
      region: `eu-west-${i % 3}`,
      __meta_x_zone: `z${i % 4}`,
    };
    if (i % 4 === 0) labels.drop_me = 'x';
    if (i % 6 === 0) labels.twin = env;
    return { targets: [`127.0.0.1:${21000 + i}`], labels };
  });
}

const JOBS: Record<string, object[]> = {
  hashmod: [
    { source_labels: ['__address__'], target_label: 'shard', modulus: 7, action: 'hashmod' },
    { source_labels: ['tenant', 'env'], separator: '/', target_label: 'h1000', modulus: 1000, action: 'HashMod' },
    { source_labels: ['__address__'], target_label: 'h_2p32', modulus: 4294967311, action: 'hashmod' },
    { source_labels: ['__address__'], target_label: 'h_2p37', modulus: 2 ** 37 + 9, action: 'hashmod' },
    { source_labels: ['tenant'], target_label: 'h_max', modulus: Number.MAX_SAFE_INTEGER, action: 'hashmod' },
  ],
  // Thanos-style sharding: keep one shard of three.
  sharded: [
    { source_labels: ['__address__', 'tenant'], target_label: '__tmp_hash', modulus: 3, action: 'hashmod' },
    { source_labels: ['__tmp_hash'], regex: '^1$', action: 'keep' },
  ],
  mixed: [
    { source_labels: ['env'], regex: 'dev', action: 'drop' },
    { source_labels: ['__address__'], regex: '(?P<host>[^:]+):(?P<port>\\d+)', target_label: 'port', replacement: 'p${port}' },
    { source_labels: ['__address__'], regex: '([^:]+):(\\d+)', target_label: 'host_$2', replacement: '$1' },
    { regex: '__meta_x_(.+)', replacement: 'meta_$1', action: 'labelmap' },
    { source_labels: ['tenant'], target_label: 'tenant_upper', action: 'uppercase' },
    { source_labels: ['tenant'], target_label: 'tenant_lower', action: 'lowercase' },
    { source_labels: ['env', 'region'], separator: '@', regex: '(?i)(prod.*)@eu-west-(\\d)', target_label: 'prod_region', replacement: '$2-${1}x' },
    { source_labels: ['drop_me'], target_label: 'drop_me', replacement: '' },
    { source_labels: ['port'], target_label: '__tmp_port' },
    { source_labels: ['__tmp_port'], target_label: 'port', action: 'keepequal' },
    { source_labels: ['env'], target_label: 'twin', action: 'dropequal' },
    { source_labels: ['tenant'], regex: '.*-1\\d', action: 'drop' },
    { regex: 'region', action: 'labeldrop' },
  ],
};

interface ApiTarget {
  discoveredLabels: Record<string, string>;
  labels: Record<string, string>;
}

describe('relabel vs a running Prometheus', () => {
  it('computes the target labels and drops Prometheus computes', async () => {
    const statics = staticConfigs();
    const prom = await startPrometheus({
      scrapeSelf: false,
      // Targets are listed before their first scrape; a long interval keeps it quiet.
      scrapeInterval: '1h',
      config: {
        scrape_configs: Object.entries(JOBS).map(([job, rules]) => ({
          job_name: job,
          static_configs: statics,
          relabel_configs: rules,
        })),
      },
    });
    try {
      // What we expect, from the labels Prometheus discovers: the static ones plus the
      // scrape defaults. (Prometheus 2.42's API cannot be asked for them: its relabelling
      // reuses the memory of the discovered labels, so /api/v1/targets shows them
      // overwritten for targets whose rules added labels.)
      const expectActive = new Map<string, Record<string, string>>();
      const expectDropped = new Map<string, number>();
      const stats = new Map<string, { active: number; dropped: number; shards: Set<string> }>();
      for (const [job, rules] of Object.entries(JOBS)) {
        const cfgs = parseRelabelConfigs(rules, `job ${job}`);
        const s = { active: 0, dropped: 0, shards: new Set<string>() };
        stats.set(job, s);
        for (const sc of statics) {
          const discovered = {
            ...sc.labels,
            __address__: sc.targets[0],
            job,
            __metrics_path__: '/metrics',
            __scheme__: 'http',
            __scrape_interval__: '1h',
            __scrape_timeout__: '10s',
          };
          const out = relabel(labelsFromRecord(discovered), cfgs);
          if (!out) {
            s.dropped++;
            continue;
          }
          // What Prometheus does after relabelling: default instance, hide __ labels.
          const rec = labelsToRecord(out);
          rec.instance ||= rec.__address__;
          for (const k of Object.keys(rec)) if (k.startsWith('__')) delete rec[k];
          expectActive.set(`${job} ${sc.targets[0]}`, rec);
          s.active++;
          if (job === 'hashmod') s.shards.add(rec.shard);
        }
        expectDropped.set(job, s.dropped);
      }
      const total = statics.length * Object.keys(JOBS).length;

      const data = await waitFor(
        async () => {
          const res = await fetch(`${prom.url}/api/v1/targets?state=any`);
          const body = (await res.json()) as { data: { activeTargets: ApiTarget[]; droppedTargets: ApiTarget[] } };
          const d = body.data;
          return d.activeTargets.length + d.droppedTargets.length === total ? d : null;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: 'all targets discovered' },
      );

      const got = new Map<string, Record<string, string>>();
      for (const t of data.activeTargets) got.set(`${t.labels.job} ${t.labels.instance}`, t.labels);
      expect(got.size).toBe(data.activeTargets.length);
      expect([...got.keys()].sort()).toEqual([...expectActive.keys()].sort());
      for (const [key, labels] of got) expect(labels, key).toEqual(expectActive.get(key));
      expect(data.droppedTargets.length).toBe([...expectDropped.values()].reduce((a, b) => a + b, 0));

      // The interesting paths were taken.
      expect(stats.get('hashmod')!.dropped).toBe(0);
      expect(stats.get('hashmod')!.shards.size).toBeGreaterThan(4);
      for (const job of ['sharded', 'mixed']) {
        expect(stats.get(job)!.active, job).toBeGreaterThan(5);
        expect(stats.get(job)!.dropped, job).toBeGreaterThan(5);
      }
    } finally {
      await prom.stop();
    }
  }, 60_000);
});
