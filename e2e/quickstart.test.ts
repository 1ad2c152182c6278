// The README's main job: `thanos-ts quickstart` brings up clusters of real Prometheus
// replicas with sidecars and a query over them, and stops every process on Ctrl-C.

import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
  // base+0: the first Prometheus; base+5: a sidecar's gRPC; base+100: the query's HTTP.
  it.each([0, 5, 100])('refuses a taken port base+%i in one line naming it and --base-port, starting nothing', async (offset) => {
    const dir = join(await tempDir('quickstart-busy'), 'qs');
    const base = randomBase();
    const squatter = await listen(base + offset);
    try {
      const t0 = Date.now();
      const r = await runCli(['quickstart', '--data-dir', dir, '--base-port', String(base)], { timeoutMs: 20_000 });
      expect(Date.now() - t0).toBeLessThan(10_000);
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

  it('reports a child that exits while starting with the tail of its log, and leaves nothing running', async () => {
    const tmp = await tempDir('quickstart-dies');
    const bin = join(tmp, 'bin');
    const dir = join(tmp, 'qs');
    execFileSync('mkdir', ['-p', bin]);
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

describe('quickstart', () => {
  it('runs 2 clusters x 2 replicas with sidecars, a receive ring fed by remote write, a store gateway and a deduplicating query, and stops them all on SIGINT', async () => {
    const dir = await tempDir('quickstart');
    const base = randomBase();
    const qs = spawn(process.execPath, [BIN, 'quickstart', '--data-dir', dir, '--base-port', String(base)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => qs.once('exit', (code) => r(code)));
    let out = '';
    qs.stdout.on('data', (b: Buffer) => (out += b.toString()));
    qs.stderr.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await waitFor(
        async () => {
          if (qs.exitCode !== null) throw new Error(`quickstart exited with ${qs.exitCode}:\n${out}`);
          return out.includes('Ctrl-C stops everything.');
        },
        { timeoutMs: 120_000, what: 'quickstart to come up' },
      );
      const endpoints = [...out.matchAll(/\s(127\.0\.0\.1:\d+)\s+http:\/\/127\.0\.0\.1:\d+\n/g)].map((m) => m[1]);
      expect(endpoints).toHaveLength(7);
      const labels = new Set<string>();
      const types: string[] = [];
      for (const e of endpoints) {
        const c = new StoreClient(e);
        const info = await c.info();
        types.push(info.ComponentType);
        if (info.ComponentType === 'sidecar') labels.add(info.labelSets[0].labels.map((l) => `${l.name}=${l.value}`).join(','));
        c.close();
      }
      expect(types).toEqual(['sidecar', 'sidecar', 'sidecar', 'sidecar', 'receive', 'receive', 'receive']);
      expect([...labels].sort()).toEqual(['cluster=cluster-0,replica=0', 'cluster=cluster-0,replica=1', 'cluster=cluster-1,replica=0', 'cluster=cluster-1,replica=1']);
      // 4 × (Prometheus, sidecar), 3 receivers and the Prometheus writing to them, store,
      // query, Alertmanager, ruler, compactor.
      expect(childPids(qs.pid!)).toHaveLength(17);

      // The query is printed first, on base-port+100, and sees one `up` per target:
      // 2 clusters × 2 Prometheus targets, each scraped by both replicas of its cluster.
      const queryUrl = `http://127.0.0.1:${base + 100}`;
      expect(out.split('\n')[0]).toContain(queryUrl);
      const countUp = async (dedup: boolean, cluster = 'cluster-.*'): Promise<string | null> => {
        const r = await fetch(`${queryUrl}/api/v1/query?query=${encodeURIComponent(`count(up{cluster=~"${cluster}"})`)}&dedup=${dedup}`);
        const body = (await r.json()) as { status: string; data: { result: { value: [number, string] }[] } };
        return body.data.result[0]?.value[1] ?? null;
      };
      await waitFor(async () => (await countUp(false)) === '8', { timeoutMs: 20_000, what: 'every replica to scrape every target' });
      expect(await countUp(true)).toBe('4');
      // The remote-writing Prometheus scrapes itself and the 3 receivers; each series is
      // on all 3 receivers (replication factor 3), one copy after deduplication.
      await waitFor(async () => (await countUp(false, 'remote-write')) === '12', { timeoutMs: 30_000, what: 'remote-written series on every receiver' });
      expect(await countUp(true, 'remote-write')).toBe('4');

      // The store gateway on base+103 serves the bucket the sidecars ship to, and the
      // query knows it as a store endpoint.
      const store = new StoreClient(`127.0.0.1:${base + 103}`);
      expect((await store.info()).ComponentType).toBe('store');
      store.close();
      const stores = (await (await fetch(`${queryUrl}/api/v1/stores`)).json()) as { data: Record<string, { name: string }[]> };
      expect(stores.data.store?.map((s) => s.name)).toEqual([`127.0.0.1:${base + 103}`]);
      expect((await fetch(`http://127.0.0.1:${base + 102}/api/v1/blocks`)).status).toBe(200);

      // The ruler on base+115 evaluates the demo rules through the query; its recording
      // rule's series comes back through the query, which has the ruler as an endpoint.
      const rules = (await (await fetch(`http://127.0.0.1:${base + 115}/api/v1/rules`)).json()) as { data: { groups: { name: string; rules: unknown[] }[] } };
      expect(rules.data.groups.map((g) => [g.name, g.rules.length])).toEqual([['quickstart', 2]]);
      const recorded = async (): Promise<number> => {
        const r = await fetch(`${queryUrl}/api/v1/query?query=${encodeURIComponent('count(cluster:up:sum{ruler="quickstart"})')}`);
        const body = (await r.json()) as { data: { result: { value: [number, string] }[] } };
        return Number(body.data.result[0]?.value[1] ?? 0);
      };
      await waitFor(async () => (await recorded()) === 3, { timeoutMs: 40_000, what: 'the recording rule for 3 clusters through the query' });
      expect((await fetch(`http://127.0.0.1:${base + 117}/-/ready`)).status).toBe(200);

      // The compactor on base+104 is up, listed in the printed table, and compacting
      // every minute (its first pass has run by the time it is ready or soon after).
      const compactUrl = `http://127.0.0.1:${base + 104}`;
      expect(out).toContain(`compactor: HTTP ${compactUrl}`);
      expect((await fetch(`${compactUrl}/-/ready`)).status).toBe(200);
      await waitFor(async () => /^thanos_compact_iterations_total [1-9]/m.test(await (await fetch(`${compactUrl}/metrics`)).text()), { timeoutMs: 20_000, what: 'a first compactor pass' });
      expect((await (await fetch(`${compactUrl}/metrics`)).text())).toMatch(/^thanos_compact_halted 0$/m);

      // A second quickstart with the same flags stops at once, in one line, and says
      // what to change: the ports and the data directory are both taken.
      const second = await runCli(['quickstart', '--data-dir', dir, '--base-port', String(base)], { timeoutMs: 20_000 });
      expect(second.code).not.toBe(0);
      expect(second.stderr.trim().split('\n')).toHaveLength(1);
      expect(second.stderr).toContain(`port ${base} `);
      expect(second.stderr).toContain(`another quickstart (pid ${qs.pid})`);
      expect(second.stderr).toMatch(/--base-port \d+ --data-dir /);
      expect(childPids(qs.pid!)).toHaveLength(17);
    } finally {
      const pids = childPids(qs.pid!);
      qs.kill('SIGINT');
      await exited;
      for (const p of pids) {
        expect(() => process.kill(p, 0)).toThrow();
      }
    }
  }, 200_000);
});
