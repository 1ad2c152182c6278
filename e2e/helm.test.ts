// The Helm chart (deploy/helm/thanos-ts) without helm: rendered with the engine Helm
// uses (Go's text/template with Sprig, by deploy/helm/render), for the default values and
// for every component on, and every object checked against the Kubernetes schemas
// (kubernetes-models, from Kubernetes's OpenAPI; the Prometheus Operator's for
// ServiceMonitor). values.yaml is checked against values.schema.json, and what the
// objects say against each other and against thanos-ts's own flags.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import Ajv from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { removeTempDirs, tempDir } from '@thanos-ts/testutil';
import { afterAll } from 'vitest';
import { buildProgram } from '../packages/cli/src/index.js';

afterAll(removeTempDirs);

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHART = join(ROOT, 'deploy', 'helm', 'thanos-ts');
const RENDER_SRC = join(ROOT, 'deploy', 'helm', 'render');
const CACHE = join(ROOT, 'node_modules', '.cache', 'thanos-ts-helm-render');
const RENDER_BIN = join(CACHE, 'render');
const ALL_ON = join(CHART, 'ci', 'all-on-values.yaml');
const RELEASE = 'demo';
const NS = 'monitoring';

// The schema each kind is checked against: a kind not listed fails the test.
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Service': Service,
  'v1/Secret': Secret,
  'v1/ConfigMap': ConfigMap,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: any; data?: Record<string, string>; stringData?: Record<string, string> };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Container = { name: string; args: string[]; ports?: { name: string; containerPort: number }[]; livenessProbe?: any; readinessProbe?: any; volumeMounts?: { name: string; mountPath: string }[] };

/** Builds the renderer once per change of its source (GOPATH mode: Debian's Sprig and yaml.v3). */
function buildRenderer(): void {
  const src = join(RENDER_SRC, 'main.go');
  if (existsSync(RENDER_BIN) && statSync(RENDER_BIN).mtimeMs >= statSync(src).mtimeMs) return;
  mkdirSync(CACHE, { recursive: true });
  execFileSync('go', ['build', '-o', RENDER_BIN, '.'], {
    cwd: RENDER_SRC,
    env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOCACHE: join(CACHE, 'go-build'), GOFLAGS: '' },
    stdio: 'pipe',
  });
}

function render(valueFiles: string[], notes = false): string {
  return execFileSync(RENDER_BIN, ['-chart', CHART, '-name', RELEASE, '-namespace', NS, ...valueFiles.flatMap((f) => ['-f', f]), ...(notes ? ['-notes'] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The error a render fails with (its stderr), or null when it succeeds. */
function renderError(valueFiles: string[]): string | null {
  try {
    render(valueFiles);
    return null;
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
}

function objects(stream: string): K8sObject[] {
  return parseAllDocuments(stream)
    .map((d) => {
      if (d.errors.length) throw new Error(`rendered YAML does not parse: ${d.errors[0].message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

function validate(objs: K8sObject[]): void {
  for (const o of objs) {
    const Model = MODELS[`${o.apiVersion}/${o.kind}`];
    expect(Model, `${o.apiVersion} ${o.kind} ${o.metadata?.name}: no schema known for this kind`).toBeDefined();
    try {
      new Model(o as never).validate();
    } catch (err) {
      throw new Error(`${o.kind} ${o.metadata.name}: ${(err as Error).message}`);
    }
    expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe(NS);
  }
  const names = objs.map((o) => `${o.kind}/${o.metadata.name}`);
  expect(new Set(names).size, 'object names are unique per kind').toBe(names.length);
}

const find = (objs: K8sObject[], kind: string, name: string): K8sObject => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} among ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
};
const workloads = (objs: K8sObject[]): K8sObject[] => objs.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
const containers = (w: K8sObject): Container[] => w.spec.template.spec.containers;
const component = (o: K8sObject): string => o.metadata.labels?.['app.kubernetes.io/component'] ?? '';
const subset = (sel: Record<string, string>, labels: Record<string, string> = {}): boolean => Object.entries(sel).every(([k, v]) => labels[k] === v);
const full = (c: string): string => `${RELEASE}-thanos-ts-${c}`;

/** Helm's merge of value files: maps merge, anything else replaces. */
function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = v && cur && typeof v === 'object' && typeof cur === 'object' && !Array.isArray(v) && !Array.isArray(cur) ? merge(cur as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** Checks that hold for any set of values: probes, selectors, PVCs, PDBs, endpoints. */
function checkConsistency(objs: K8sObject[]): void {
  for (const w of workloads(objs)) {
    const podLabels = w.spec.template.metadata.labels as Record<string, string>;
    expect(subset(w.spec.selector.matchLabels, podLabels), `${w.metadata.name}: selector matches its pods`).toBe(true);
    const volumes = new Set<string>((w.spec.template.spec.volumes ?? []).map((v: { name: string }) => v.name));
    for (const t of w.spec.volumeClaimTemplates ?? []) volumes.add(t.metadata.name);
    for (const c of containers(w)) {
      expect(c.livenessProbe?.httpGet?.path, `${w.metadata.name} liveness`).toBe('/-/healthy');
      expect(c.readinessProbe?.httpGet?.path, `${w.metadata.name} readiness`).toBe('/-/ready');
      const ports = new Set((c.ports ?? []).map((p) => p.name));
      expect(ports.has(c.livenessProbe.httpGet.port), `${w.metadata.name}: probe port is a container port`).toBe(true);
      for (const m of c.volumeMounts ?? []) expect(volumes.has(m.name), `${w.metadata.name}: volume ${m.name} exists`).toBe(true);
    }
    if (w.kind === 'StatefulSet') {
      // Its governing Service exists.
      find(objs, 'Service', w.spec.serviceName);
    }
  }
  for (const s of objs.filter((o) => o.kind === 'Service')) {
    const targets = workloads(objs).filter((w) => subset(s.spec.selector, w.spec.template.metadata.labels));
    expect(targets, `Service ${s.metadata.name} selects exactly one workload`).toHaveLength(1);
    const named = new Set(containers(targets[0]).flatMap((c) => (c.ports ?? []).map((p) => p.name)));
    for (const p of s.spec.ports) expect(named.has(p.targetPort), `Service ${s.metadata.name} port ${p.name} targets a named container port`).toBe(true);
  }
  for (const p of objs.filter((o) => o.kind === 'PodDisruptionBudget')) {
    expect(workloads(objs).filter((w) => subset(p.spec.selector.matchLabels, w.spec.template.metadata.labels)), `PDB ${p.metadata.name}`).toHaveLength(1);
  }
  for (const m of objs.filter((o) => o.kind === 'ServiceMonitor')) {
    const svcs = objs.filter((o) => o.kind === 'Service' && subset(m.spec.selector.matchLabels, o.metadata.labels));
    expect(svcs, `ServiceMonitor ${m.metadata.name} selects one Service`).toHaveLength(1);
    expect(svcs[0].spec.ports.map((p: { name: string }) => p.name)).toContain(m.spec.endpoints[0].port);
  }
  // Every Secret and ConfigMap a pod mounts is rendered, unless it is the user's own.
  for (const w of workloads(objs)) {
    for (const v of w.spec.template.spec.volumes ?? []) {
      if (v.configMap) find(objs, 'ConfigMap', v.configMap.name);
    }
  }
  // The query's dnssrv+ endpoints name headless Services of this release that have a
  // port named grpc (the SRV record _grpc._tcp.<service>) and select a StoreAPI workload.
  const query = workloads(objs).find((w) => component(w) === 'query');
  if (query) {
    for (const a of containers(query)[0].args.filter((x) => x.startsWith(`--endpoint=dnssrv+_grpc._tcp.${RELEASE}-thanos-ts-`))) {
      const svcName = a.slice('--endpoint=dnssrv+_grpc._tcp.'.length).split('.')[0];
      const svc = find(objs, 'Service', svcName);
      expect(svc.spec.clusterIP, svcName).toBe('None');
      expect(svc.spec.ports.map((p: { name: string }) => p.name)).toContain('grpc');
    }
  }
}

/**
 * The flags `thanos-ts <command> --help` lists, read from the CLI's own commander
 * program in this process: each visible option's long name (a bool one is listed as
 * `--[no-]name`; its hidden `--no-` twin is not).
 */
let commandFlags: Map<string, Set<string>> | null = null;
function flagsOf(cmd: string): Set<string> | undefined {
  commandFlags ??= new Map(buildProgram().commands.map((c) => [c.name(), new Set(c.options.filter((o) => !o.hidden && o.long).map((o) => o.long!))]));
  return commandFlags.get(cmd);
}

function checkFlagsKnown(objs: K8sObject[]): void {
  for (const w of workloads(objs)) {
    for (const c of containers(w)) {
      const [cmd, ...flags] = c.args;
      const known = flagsOf(cmd);
      expect(known, `${w.metadata.name}: thanos-ts has a ${cmd} command`).toBeDefined();
      for (const f of flags) {
        const name = f.replace(/=.*$/, '');
        // Global flags are listed by the top-level --help.
        if (name === '--log.level' || name === '--log.format') continue;
        expect(known!.has(name), `${w.metadata.name}: ${cmd} has ${name}`).toBe(true);
      }
    }
  }
}

describe('the Helm chart', () => {
  let defaults: K8sObject[] = [];
  let allOn: K8sObject[] = [];

  beforeAll(() => {
    buildRenderer();
    defaults = objects(render([]));
    allOn = objects(render([ALL_ON]));
  }, 120_000);

  it('has the standard layout', () => {
    for (const f of ['Chart.yaml', 'values.yaml', 'values.schema.json', 'templates/_helpers.tpl', 'templates/NOTES.txt', '.helmignore']) expect(existsSync(join(CHART, f)), f).toBe(true);
    const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8'));
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'thanos-ts', type: 'application' });
  });

  it('validates values.yaml, and the all-on values, against values.schema.json, and rejects bad values', () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    const check = ajv.compile(JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')));
    const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
    expect(check(values), ajv.errorsText(check.errors)).toBe(true);
    expect(check(merge(values, parse(readFileSync(ALL_ON, 'utf8')))), ajv.errorsText(check.errors)).toBe(true);
    expect(check(merge(values, { compact: { replicas: 2 } }))).toBe(false);
    expect(check(merge(values, { store: { replica: 2 } }))).toBe(false);
    expect(check(merge(values, { query: { extraArgs: ['query.timeout=1m'] } }))).toBe(false);
  });

  it('renders the default values into valid Kubernetes objects: query, query-frontend, store and compactor on one bucket Secret', () => {
    validate(defaults);
    checkConsistency(defaults);
    expect(workloads(defaults).map((w) => `${w.kind}/${component(w)}`).sort()).toEqual(['Deployment/query', 'Deployment/query-frontend', 'StatefulSet/compact', 'StatefulSet/store']);
    const secret = find(defaults, 'Secret', full('objstore'));
    expect(parse(secret.stringData!['objstore.yml'])).toMatchObject({ type: 'S3', config: { bucket: 'thanos' } });
    expect(defaults.filter((o) => o.kind === 'ServiceMonitor')).toEqual([]);
    const qargs = containers(find(defaults, 'Deployment', full('query')))[0].args;
    expect(qargs.filter((a) => a.startsWith('--endpoint='))).toEqual([`--endpoint=dnssrv+_grpc._tcp.${full('store')}-headless.${NS}.svc.cluster.local`]);
    const fargs = containers(find(defaults, 'Deployment', full('query-frontend')))[0].args;
    expect(fargs).toContain(`--query-frontend.downstream-url=http://${full('query')}.${NS}.svc.cluster.local:10902`);
  });

  it('renders every component on into valid Kubernetes objects', () => {
    validate(allOn);
    checkConsistency(allOn);
    expect(workloads(allOn).map((w) => `${w.kind}/${component(w)}`).sort()).toEqual([
      'Deployment/query',
      'Deployment/query-frontend',
      'StatefulSet/compact',
      'StatefulSet/receive',
      'StatefulSet/rule',
      'StatefulSet/store',
    ]);
    // PVCs where persistence is on (the all-on values turn it off for the ruler).
    for (const c of ['store', 'compact', 'receive']) expect(find(allOn, 'StatefulSet', full(c)).spec.volumeClaimTemplates?.[0]?.metadata.name, c).toBe('data');
    expect(find(allOn, 'StatefulSet', full('rule')).spec.volumeClaimTemplates).toBeUndefined();
    // A PDB for every component with one enabled, a ServiceMonitor for every component.
    expect(allOn.filter((o) => o.kind === 'PodDisruptionBudget').map(component).sort()).toEqual(['compact', 'query', 'query-frontend', 'receive', 'rule', 'store']);
    expect(allOn.filter((o) => o.kind === 'ServiceMonitor').map(component).sort()).toEqual(['compact', 'query', 'query-frontend', 'receive', 'rule', 'store']);
    // The query reaches every StoreAPI component by SRV, then the extra endpoints.
    const qargs = containers(find(allOn, 'Deployment', full('query')))[0].args;
    expect(qargs.filter((a) => a.startsWith('--endpoint='))).toEqual([
      ...['store', 'receive', 'rule'].map((c) => `--endpoint=dnssrv+_grpc._tcp.${full(c)}-headless.${NS}.svc.cluster.local`),
      '--endpoint=dnssrv+_grpc._tcp.prometheus-thanos-sidecar.monitoring.svc.cluster.local',
    ]);
    expect(qargs).toContain('--query.timeout=1m');
  });

  it('builds the receive ring from the StatefulSet: a hashrings ConfigMap naming every pod, each receiver its own endpoint', () => {
    const sts = find(allOn, 'StatefulSet', full('receive'));
    const ring = JSON.parse(find(allOn, 'ConfigMap', `${full('receive')}-hashrings`).data!['hashrings.json']) as { hashring: string; endpoints: string[] }[];
    const headless = `${sts.spec.serviceName}.${NS}.svc.cluster.local`;
    expect(ring).toEqual([{ hashring: 'default', endpoints: Array.from({ length: sts.spec.replicas }, (_, i) => `${sts.metadata.name}-${i}.${headless}:10901`) }]);
    const args = containers(sts)[0].args;
    expect(args).toContain(`--receive.local-endpoint=$(POD_NAME).${headless}:10901`);
    expect(args).toContain('--receive.replication-factor=3');
    expect(args).toContain('--receive.ha-tracker');
    expect(find(allOn, 'Service', sts.spec.serviceName).spec.publishNotReadyAddresses).toBe(true);
  });

  it('passes only flags thanos-ts knows to every container', () => {
    checkFlagsKnown(allOn);
  }, 60_000);

  it('uses an existing objstore Secret instead of its own, and refuses values that cannot work', async () => {
    const dir = await tempDir('helm-values');
    const existing = join(dir, 'existing.yaml');
    writeFileSync(existing, 'objstore:\n  existingSecret:\n    name: my-bucket\n    key: bucket.yml\n');
    const objs = objects(render([existing]));
    validate(objs);
    expect(objs.filter((o) => o.kind === 'Secret')).toEqual([]);
    const store = find(objs, 'StatefulSet', full('store'));
    expect(store.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'objstore').secret.secretName).toBe('my-bucket');
    expect(containers(store)[0].args).toContain('--objstore.config-file=/etc/thanos-ts/objstore/bucket.yml');

    const badRing = join(dir, 'bad-ring.yaml');
    writeFileSync(badRing, 'receive:\n  enabled: true\n  replicas: 2\n  replicationFactor: 3\n');
    expect(renderError([badRing])).toMatch(/receive.replicationFactor \(3\) cannot exceed receive.replicas \(2\)/);
    const noQuery = join(dir, 'no-query.yaml');
    writeFileSync(noQuery, 'query:\n  enabled: false\n');
    expect(renderError([noQuery])).toMatch(/queryFrontend.enabled needs query.enabled/);
  });

  it('prints how to reach the query and the ring in NOTES.txt', () => {
    const notes = render([ALL_ON], true);
    expect(notes).toContain(`port-forward svc/${full('query')} 10902`);
    expect(notes).toContain(`http://${full('receive')}.${NS}.svc.cluster.local:19291/api/v1/receive`);
  });
});
