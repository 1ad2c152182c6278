// The README's main job: `thanos-ts quickstart` brings up every component (clusters of
// real Prometheus replicas with sidecars, a receive ring with the HA tracker fed by
// remote write, store gateway, compactor, ruler with Alertmanager, query and
// query-frontend), prints them all, and stops every process, children included, on one
// Ctrl-C. The stack is started once for this file; every check runs against that run.

import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreClient } from '@thanos-ts/storeapi';
import { removeTempDirs, tempDir, waitFor } from '@thanos-ts/testutil';
import { BIN, runCli } from './cli.js';

afterAll(removeTempDirs);

function childPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Processes whose command line mentions `text` (e.g. a test's own data directory). */
function processesMentioning(text: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', text]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Processes in the process groups `pgids`. */
function inGroups(pgids: number[]): number[] {
  try {
    return execFileSync('pgrep', ['-g', pgids.join(',')]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer((c) => c.end());
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

// A run of fixed ports below Linux's ephemeral range, so freePort() users elsewhere don't collide.
const randomBase = (): number => 20_000 + Math.floor(Math.random() * 9_000);

describe('quickstart before anything starts', () => {
  // base+0: the first Prometheus; base+5: a sidecar's gRPC; base+118: the query-frontend.
  it.each([0, 5, 118])('refuses a taken port base+%i in one line naming it and --base-port, starting nothing', async (offset) => {
    const dir = join(await tempDir('quickstart-busy'), 'qs');
    const base = randomBase();
    const squatter = await listen(base + offset);
    try {
      const r = await runCli(['quickstart', '--data-dir', dir, '--base-port', String(base)], { timeoutMs: 20_000 });
      expect(r.code).not.toBe(0);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`port ${base + offset} `);
      expect(lines[0]).toMatch(/--base-port \d+/);
      // Nothing started: no directory written, no process left behind.
      expect(existsSync(dir)).toBe(false);
      expect(processesMentioning(dir)).toEqual([]);
    } finally {
      squatter.close();
    }
  });

  it('refuses to start without Prometheus on PATH, in one line, starting nothing', async () => {
    const tmp = await tempDir('quickstart-nobin');
    const dir = join(tmp, 'qs');
    // PATH with node alone: no prometheus, no alertmanager.
    const bin = join(tmp, 'bin');
    await mkdir(bin);
    const qs = spawn(process.execPath, [BIN, 'quickstart', '--data-dir', dir, '--base-port', String(randomBase())], { env: { ...process.env, PATH: bin }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    qs.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((r) => qs.once('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(/prometheus binary is not on PATH/);
    expect(existsSync(dir)).toBe(false);
  });

  it('reports a child that exits while starting with the tail of its log, and leaves nothing running', async () => {
    const tmp = await tempDir('quickstart-dies');
    const bin = join(tmp, 'bin');
    const dir = join(tmp, 'qs');
    await mkdir(bin);
    // A "prometheus" that fails the way a real one does on a bad flag or a locked TSDB.
    await writeFile(join(bin, 'prometheus'), '#!/bin/sh\necho "ts=now level=error msg=\\"opening storage failed\\" err=\\"lock DB directory: resource temporarily unavailable\\""\nexit 3\n');
    await chmod(join(bin, 'prometheus'), 0o755);
    const qs = spawn(process.execPath, [BIN, 'quickstart', '--data-dir', dir, '--base-port', String(randomBase())], {
      env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    qs.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((r) => qs.once('exit', (c) => r(c)));
    expect(code).not.toBe(0);
    expect(err).toContain('cluster-0-replica-0-prometheus exited with code 3');
    expect(err).toContain(`last lines of ${join(dir, 'logs', 'cluster-0-replica-0-prometheus.log')}`);
    expect(err).toContain('lock DB directory: resource temporarily unavailable');
    expect(err.trim().split('\n').at(-1)).toMatch(/^error: cluster-0-replica-0-prometheus exited with code 3 while starting/);
    expect(processesMentioning(dir)).toEqual([]);
  });
});

// What the quickstart printed, read back.
interface Row {
  component: string;
  name: string;
  address: string;
  log: string;
}

describe('quickstart', () => {
  let dir = '';
  let base = 0;
  let qs: ChildProcess;
  let exited: Promise<number | null>;
  let out = '';
  let err = '';
  let rows: Row[] = [];
  let pidsWhileRunning: number[] = [];
  const query = (): string => `http://127.0.0.1:${base + 100}`;
  const frontend = (): string => `http://127.0.0.1:${base + 118}`;

  beforeAll(async () => {
    dir = await tempDir('quickstart');
    base = randomBase();
    qs = spawn(process.execPath, [BIN, 'quickstart', '--data-dir', dir, '--base-port', String(base)], { stdio: ['ignore', 'pipe', 'pipe'] });
    exited = new Promise<number | null>((r) => qs.once('exit', (code) => r(code)));
    qs.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    qs.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    await waitFor(
      async () => {
        if (qs.exitCode !== null) throw new Error(`quickstart exited with ${qs.exitCode}:\n${err}\n${out}`);
        return out.includes('Ctrl-C stops everything.');
      },
      { timeoutMs: 150_000, what: 'quickstart to come up' },
    );
    const table = out.split('\n').filter((l) => /^ {2}\S+ {2,}\S+ {2,}.+ {2,}\S+\.log$/.test(l));
    rows = table.map((l) => {
      const [component, name, address, log] = l.trim().split(/ {2,}/);
      return { component, name, address, log };
    });
    pidsWhileRunning = childPids(qs.pid!);
  }, 170_000);

  afterAll(async () => {
    if (!qs || qs.exitCode !== null) return;
    qs.kill('SIGINT');
    await exited;
  }, 30_000);

  it('prints the UI and the query-frontend first, then a table of every process with its address and log file', () => {
    const lines = out.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^UI: ${query()}/ `));
    expect(lines[1]).toMatch(new RegExp(`^Query frontend: ${frontend()}/ `));
    const count = (c: string): number => rows.filter((r) => r.component === c).length;
    expect(Object.fromEntries(['prometheus', 'sidecar', 'receive', 'store', 'query', 'query-frontend', 'compact', 'rule', 'alertmanager'].map((c) => [c, count(c)]))).toEqual({
      prometheus: 5,
      sidecar: 4,
      receive: 3,
      store: 1,
      query: 1,
      'query-frontend': 1,
      compact: 1,
      rule: 1,
      alertmanager: 1,
    });
    for (const r of rows) expect(existsSync(resolve(r.log))).toBe(true);
    // One progress line per process, each naming it.
    for (const r of rows) expect(err).toMatch(new RegExp(`\\[ ?\\d+/18\\] ${r.name} ready on `));
    expect(pidsWhileRunning).toHaveLength(18);
  });

  it('serves the sidecars and receivers over StoreAPI with their external labels', async () => {
    const labels: string[] = [];
    for (const r of rows.filter((x) => x.component === 'sidecar')) {
      const c = new StoreClient(r.address.replace(/^grpc /, ''));
      const info = await c.info();
      c.close();
      expect(info.ComponentType).toBe('sidecar');
      labels.push(info.labelSets[0].labels.map((l) => `${l.name}=${l.value}`).join(','));
    }
    expect(labels.sort()).toEqual(['cluster=cluster-0,replica=0', 'cluster=cluster-0,replica=1', 'cluster=cluster-1,replica=0', 'cluster=cluster-1,replica=1']);
    const store = new StoreClient(`127.0.0.1:${base + 103}`);
    expect((await store.info()).ComponentType).toBe('store');
    store.close();
    const stores = (await (await fetch(`${query()}/api/v1/stores`)).json()) as { data: Record<string, { name: string }[]> };
    expect(stores.data.store?.map((s) => s.name)).toEqual([`127.0.0.1:${base + 103}`]);
    expect(stores.data.receive).toHaveLength(3);
    expect(stores.data.sidecar).toHaveLength(4);
    expect(stores.data.rule).toHaveLength(1);
  });

  const instant = async (url: string, q: string, dedup = true): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}&dedup=${dedup}`);
    expect(r.status).toBe(200);
    return ((await r.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }).data.result;
  };
  const scalar = async (q: string, dedup = true, url = query()): Promise<string | null> => (await instant(url, q, dedup))[0]?.value[1] ?? null;

  it('deduplicates HA replicas in the query, and the receive ring keeps one copy per HA pair', async () => {
    // 2 clusters × 2 Prometheus targets, each scraped by both replicas of its cluster.
    await waitFor(async () => (await scalar('count(up{cluster=~"cluster-.*"})', false)) === '8', { timeoutMs: 30_000, what: 'every replica to scrape every target' });
    expect(await scalar('count(up{cluster=~"cluster-.*"})')).toBe('4');
    // The remote-writing Prometheus scrapes the 3 receivers, among the rest; each series
    // is on all 3 receivers (replication factor 3), one copy after deduplication.
    await waitFor(async () => (await scalar('count(up{cluster="remote-write",job="receive"})', false)) === '9', { timeoutMs: 40_000, what: 'remote-written series on every receiver' });
    expect(await scalar('count(up{cluster="remote-write",job="receive"})')).toBe('3');
    // The HA tracker elected the writer and stored its series without its replica label.
    const raw = await instant(query(), 'up{cluster="remote-write",job="receive"}', false);
    expect(raw.map((s) => s.metric.replica)).toEqual(raw.map(() => undefined));
    expect(new Set(raw.map((s) => s.metric.receive_replica))).toEqual(new Set(['0', '1', '2']));
  });

  it('answers through the query-frontend as the query does', async () => {
    expect(await scalar('count(up{cluster=~"cluster-.*"})', true, frontend())).toBe('4');
    const now = Math.floor(Date.now() / 1000);
    const r = await fetch(`${frontend()}/api/v1/query_range?query=${encodeURIComponent('count(up)')}&start=${now - 120}&end=${now}&step=15`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { status: string }).status).toBe('success');
  });

  it('runs the demo rules through the query, with an alert firing in Alertmanager within a minute', async () => {
    const rules = (await (await fetch(`http://127.0.0.1:${base + 115}/api/v1/rules`)).json()) as { data: { groups: { name: string; rules: { name: string }[] }[] } };
    expect(rules.data.groups.map((g) => [g.name, g.rules.map((r) => r.name)])).toEqual([['quickstart', ['cluster:up:sum', 'TargetDown', 'QuickstartRunning']]]);
    await waitFor(async () => (await scalar('count(cluster:up:sum{ruler="quickstart"})')) === '3', { timeoutMs: 40_000, what: 'the recording rule for 3 clusters through the query' });
    await waitFor(
      async () => {
        const alerts = (await (await fetch(`http://127.0.0.1:${base + 117}/api/v2/alerts`)).json()) as { labels: Record<string, string> }[];
        return alerts.some((a) => a.labels.alertname === 'QuickstartRunning');
      },
      { timeoutMs: 60_000, intervalMs: 1_000, what: 'QuickstartRunning in Alertmanager' },
    );
  }, 90_000);

  it('runs the compactor with vertical compaction, deduplicating by replica', async () => {
    const compact = `http://127.0.0.1:${base + 104}`;
    await waitFor(async () => /^thanos_compact_iterations_total [1-9]/m.test(await (await fetch(`${compact}/metrics`)).text()), { timeoutMs: 30_000, what: 'a first compactor pass' });
    expect(await (await fetch(`${compact}/metrics`)).text()).toMatch(/^thanos_compact_halted 0$/m);
    const flags = (await (await fetch(`${compact}/api/v1/status/flags`).catch(() => null))?.json().catch(() => null)) as { data?: Record<string, string> } | null;
    if (flags?.data) expect(flags.data['compact.enable-vertical-compaction']).toBe('true');
    expect((await fetch(`http://127.0.0.1:${base + 102}/api/v1/blocks`)).status).toBe(200);
  });

  it('refuses a second quickstart on the same ports and data directory in one line', async () => {
    const second = await runCli(['quickstart', '--data-dir', dir, '--base-port', String(base)], { timeoutMs: 20_000 });
    expect(second.code).not.toBe(0);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    expect(second.stderr).toContain(`port ${base} `);
    expect(second.stderr).toContain(`another quickstart (pid ${qs.pid})`);
    expect(second.stderr).toMatch(/--base-port \d+ --data-dir /);
    expect(childPids(qs.pid!)).toHaveLength(18);
  });

  // Last: stops the stack the other tests ran against.
  it('stops every process, children included, on one SIGINT', async () => {
    // Each child leads its own process group, which holds whatever it started.
    expect(inGroups(pidsWhileRunning).length).toBeGreaterThanOrEqual(18);
    qs.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(err).toContain('quickstart: stopped.');
    for (const p of pidsWhileRunning) expect(() => process.kill(p, 0)).toThrow();
    // Whatever a component started itself is gone too.
    expect(inGroups(pidsWhileRunning)).toEqual([]);
    expect(processesMentioning(dir)).toEqual([]);
    expect(existsSync(join(dir, 'quickstart.pid'))).toBe(false);
  }, 30_000);
});
