// The README's main job: `thanos-ts quickstart` brings up clusters of real Prometheus
// replicas with sidecars and a query over them, and stops every process on Ctrl-C.

import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreClient } from '@thanos-ts/storeapi';
import { removeTempDirs, tempDir, waitFor } from '@thanos-ts/testutil';
import { BIN } from './cli.js';

afterAll(removeTempDirs);

function childPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe('quickstart', () => {
  it('runs 2 clusters x 2 replicas with sidecars, a store gateway and a deduplicating query, and stops them all on SIGINT', async () => {
    const dir = await tempDir('quickstart');
    // A run of fixed ports below Linux's ephemeral range, so freePort() users elsewhere don't collide.
    const base = 20_000 + Math.floor(Math.random() * 9_000);
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
        { timeoutMs: 90_000, what: 'quickstart to come up' },
      );
      const endpoints = [...out.matchAll(/\s(127\.0\.0\.1:\d+)\s+http:\/\/127\.0\.0\.1:\d+\n/g)].map((m) => m[1]);
      expect(endpoints).toHaveLength(4);
      const labels = new Set<string>();
      for (const e of endpoints) {
        const c = new StoreClient(e);
        const info = await c.info();
        expect(info.ComponentType).toBe('sidecar');
        labels.add(info.labelSets[0].labels.map((l) => `${l.name}=${l.value}`).join(','));
        c.close();
      }
      expect([...labels].sort()).toEqual(['cluster=cluster-0,replica=0', 'cluster=cluster-0,replica=1', 'cluster=cluster-1,replica=0', 'cluster=cluster-1,replica=1']);
      expect(childPids(qs.pid!)).toHaveLength(10);

      // The query is printed first, on base-port+100, and sees one `up` per target:
      // 2 clusters × 2 Prometheus targets, each scraped by both replicas of its cluster.
      const queryUrl = `http://127.0.0.1:${base + 100}`;
      expect(out.split('\n')[0]).toContain(queryUrl);
      const countUp = async (dedup: boolean): Promise<string | null> => {
        const r = await fetch(`${queryUrl}/api/v1/query?query=count(up)&dedup=${dedup}`);
        const body = (await r.json()) as { status: string; data: { result: { value: [number, string] }[] } };
        return body.data.result[0]?.value[1] ?? null;
      };
      await waitFor(async () => (await countUp(false)) === '8', { timeoutMs: 20_000, what: 'every replica to scrape every target' });
      expect(await countUp(true)).toBe('4');

      // The store gateway on base+103 serves the bucket the sidecars ship to, and the
      // query knows it as a store endpoint.
      const store = new StoreClient(`127.0.0.1:${base + 103}`);
      expect((await store.info()).ComponentType).toBe('store');
      store.close();
      const stores = (await (await fetch(`${queryUrl}/api/v1/stores`)).json()) as { data: Record<string, { name: string }[]> };
      expect(stores.data.store?.map((s) => s.name)).toEqual([`127.0.0.1:${base + 103}`]);
      expect((await fetch(`http://127.0.0.1:${base + 102}/api/v1/blocks`)).status).toBe(200);
    } finally {
      const pids = childPids(qs.pid!);
      qs.kill('SIGINT');
      await exited;
      for (const p of pids) {
        expect(() => process.kill(p, 0)).toThrow();
      }
    }
  }, 120_000);
});
