// The sidecar beside a real Prometheus (Debian's 2.42): StoreAPI answers with exactly
// Prometheus's samples, blocks are shipped to a filesystem bucket and to S3 exactly once,
// and an outage of Prometheus is a clear gRPC error that heals by itself.

import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketFromConfig, getBytes } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { listBlockIds } from '@thanos-ts/block';
import { chunkFromBytes, labelsToString, parseBlockMeta, ValueType } from '@thanos-ts/tsdb';
import { StoreClient } from '@thanos-ts/storeapi';
import type { StoreAPIError } from '@thanos-ts/storeapi';
import { freePort, removeTempDirs, startPrometheus, startS3Server, tempDir, waitFor } from '@thanos-ts/testutil';
import type { PrometheusInstance, S3Server } from '@thanos-ts/testutil';
import { runCli } from './cli.js';
import { startComponent } from './components.js';
import type { Component } from './components.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await removeTempDirs();
});

type Stack = { prom: PrometheusInstance; sidecar: Component; client: StoreClient; cfg: string };

/**
 * Prometheus with external labels cutting a block every 10s (its first one once the head
 * spans 15s), and our sidecar shipping to `objstore`.
 */
async function stack(objstoreYaml: string): Promise<Stack> {
  const prom = await startPrometheus({ externalLabels: { cluster: 'eu1', replica: 'a' }, blockDuration: '10s', scrapeInterval: '1s' });
  cleanups.push(() => prom.stop());
  const cfg = join(await tempDir('sidecar-cfg'), 'objstore.yml');
  await writeFile(cfg, objstoreYaml);
  const sidecar = await startComponent([
    'sidecar',
    '--prometheus.url',
    prom.url,
    '--tsdb.path',
    prom.dataDir,
    '--objstore.config-file',
    cfg,
    '--shipper.sync-interval',
    '2s',
  ]);
  cleanups.push(() => sidecar.stop());
  const client = new StoreClient(sidecar.grpcAddress);
  cleanups.push(async () => client.close());
  return { prom, sidecar, client, cfg };
}

async function collectSeries(client: StoreClient, matchers: { type: number; name: string; value: string }[], minTime: number, maxTime: number) {
  const out: { labels: string; samples: [number, number][] }[] = [];
  for await (const r of client.series({ minTime, maxTime, matchers })) {
    if (!r.series) continue;
    const samples: [number, number][] = [];
    for (const c of r.series.chunks) {
      const it = chunkFromBytes(c.raw!.type + 1, c.raw!.data).iterator();
      while (it.next() !== ValueType.None) if (it.atT() >= minTime && it.atT() <= maxTime) samples.push([it.atT(), it.atF()]);
    }
    out.push({ labels: labelsToString(r.series.labels), samples });
  }
  return out;
}

async function shippedBlocks(bkt: Bucket, want: number): Promise<string[]> {
  return waitFor(
    async () => {
      const ids = await listBlockIds(bkt);
      return ids.length >= want ? ids : null;
    },
    { timeoutMs: 90_000, intervalMs: 1000, what: `${want} blocks in the bucket` },
  );
}

// Both stacks wait for Prometheus to cut its first block: they start together, once.
let fsStack: Stack;
let s3Stack: Stack;
let s3: S3Server;
beforeAll(async () => {
  const dir = await tempDir('sidecar-bkt');
  const s3Side = async (): Promise<Stack> => {
    s3 = await startS3Server();
    cleanups.push(() => s3.stop());
    return stack(s3.objstoreYaml('sidecar'));
  };
  [fsStack, s3Stack] = await Promise.all([stack(`type: FILESYSTEM\nconfig:\n  directory: ${dir}\n`), s3Side()]);
}, 90_000);

describe('sidecar with a filesystem bucket', () => {
  it('serves Prometheus over StoreAPI, ships blocks once, and survives Prometheus going away', async () => {
    const { prom, sidecar, client, cfg } = fsStack;

    // Info: component type and external labels.
    const info = await client.info();
    expect(info.ComponentType).toBe('sidecar');
    expect(info.labelSets.map((s) => labelsToString(s.labels))).toEqual(['{cluster="eu1", replica="a"}']);
    expect(info.store?.supportsWithoutReplicaLabels).toBe(true);

    // Series == the raw samples Prometheus itself returns for the same selector and range.
    // Enough samples for the comparison below to mean something (it needs more than 3).
    await waitFor(async () => {
      const r = (await (await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent('count_over_time(up[1m])')}`)).json()) as { data?: { result?: { value: [number, string] }[] } };
      return Number(r.data?.result?.[0]?.value[1] ?? 0) >= 6;
    }, { timeoutMs: 30_000, what: 'six scrapes of up' });
    const end = Date.now() - 1000;
    const start = end - 60_000;
    const q = await (await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent('{__name__=~"up|prometheus_tsdb_head_series"}[60s]')}&time=${end / 1000}`)).json();
    const want = (q.data.result as { metric: Record<string, string>; values: [number, string][] }[])
      .map((s) => ({
        labels: labelsToString(Object.entries({ ...s.metric, cluster: 'eu1', replica: 'a' }).sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, value]) => ({ name, value }))),
        samples: s.values.map(([t, v]) => [Math.round(t * 1000), Number(v)] as [number, number]),
      }))
      .sort((a, b) => (a.labels < b.labels ? -1 : 1));
    // Prometheus 2.42 range selectors are closed at the start: [end-60s, end].
    const got = await collectSeries(client, [{ type: 2, name: '__name__', value: 'up|prometheus_tsdb_head_series' }], end - 60_000, end);
    expect(got.length).toBe(2);
    expect(got).toEqual(want);
    expect(got[0].samples.length).toBeGreaterThan(3);

    // Label names and values come from Prometheus's API, plus the external labels.
    const names = await client.labelNames({ start: start, end: end, matchers: [] });
    expect(names.names).toEqual(expect.arrayContaining(['__name__', 'cluster', 'instance', 'job', 'replica']));
    expect((await client.labelValues({ label: 'job', start, end, matchers: [] })).values).toEqual(['prometheus']);
    expect((await client.labelValues({ label: 'cluster', start, end, matchers: [] })).values).toEqual(['eu1']);
    expect((await client.labelValues({ label: 'job', start, end, matchers: [{ type: 0, name: 'cluster', value: 'us1' }] })).values).toEqual([]);

    // The debugging client prints the same series.
    const cli = await runCli(['tools', 'store', 'series', '--endpoint', sidecar.grpcAddress, '--match', 'up', '--min-time', String(end - 60_000), '--max-time', String(end)]);
    expect(cli.code).toBe(0);
    const upSamples = got.find((g) => g.labels.startsWith('{__name__="up"'))!.samples.length;
    expect(cli.stdout).toContain(`{__name__="up", cluster="eu1", instance="${prom.url.replace('http://', '')}", job="prometheus", replica="a"} chunks=`);
    expect(cli.stdout).toMatch(new RegExp(`series=1 chunks=\\d+ samples=${upSamples} `));

    // Blocks reach the bucket with a Thanos meta.json.
    const bkt = await bucketFromConfig(await readFile(cfg, 'utf8'));
    const ids = await shippedBlocks(bkt, 1);
    const meta = parseBlockMeta(await getBytes(bkt, `${ids[0]}/meta.json`));
    expect(meta.thanos.labels).toEqual({ cluster: 'eu1', replica: 'a' });
    expect(meta.thanos.source).toBe('sidecar');
    expect(meta.thanos.files?.map((f) => f.rel_path)).toEqual(['chunks/000001', 'index', 'meta.json']);
    expect(meta.compaction.level).toBe(1);

    // A restarted sidecar uploads nothing twice: checked after two of its syncs (one at
    // start, one after --shipper.sync-interval).
    await sidecar.restart();
    await waitFor(async () => {
      const text = await (await fetch(`http://${sidecar.httpAddress}/metrics`)).text();
      return Number(/^thanos_shipper_dir_syncs_total (\S+)$/m.exec(text)?.[1] ?? 0) >= 2;
    }, { timeoutMs: 30_000, what: 'two shipper syncs after the restart' });
    // Prometheus cuts a block every 10s and the sidecar ships it at once: compare the
    // shipper's record with the bucket between two uploads, not in the middle of one.
    let shipped: string[] = [];
    let inBucket: string[] = [];
    await waitFor(async () => {
      inBucket = await listBlockIds(bkt);
      shipped = JSON.parse(await readFile(join(prom.dataDir, 'thanos.shipper.json'), 'utf8')).uploaded as string[];
      return JSON.stringify([...shipped].sort()) === JSON.stringify(inBucket);
    }, { timeoutMs: 10_000, what: 'thanos.shipper.json to list the blocks in the bucket' }).catch(() => undefined);
    expect([...shipped].sort()).toEqual(inBucket);
    expect(new Set(inBucket).size).toBe(inBucket.length);
    const uploadLines = sidecar.logs().split('\n').filter((l) => l.includes('msg="upload new block"'));
    const uploadedIds = uploadLines.map((l) => /block=(\w+)/.exec(l)![1]);
    expect(new Set(uploadedIds).size).toBe(uploadedIds.length);

    // Prometheus down: a clear UNAVAILABLE; back up: the sidecar recovers by itself.
    await prom.stop();
    const err = (await collectSeries(client, [{ type: 0, name: '__name__', value: 'up' }], start, end).catch((e) => e)) as StoreAPIError;
    expect(err.codeName).toBe('Unavailable');
    expect(err.message).toContain(`request ${prom.url}/api/v1/read`);
    await prom.restart();
    const again = await waitFor(async () => (await collectSeries(client, [{ type: 0, name: '__name__', value: 'up' }], start, end).catch(() => null))?.length, {
      timeoutMs: 30_000,
      what: 'sidecar to answer again',
    });
    expect(again).toBe(1);
  }, 180_000);
});

describe('sidecar with S3', () => {
  it('ships blocks to an S3 endpoint', async () => {
    const { client } = s3Stack;
    expect((await client.info()).ComponentType).toBe('sidecar');
    const bkt = await bucketFromConfig(s3.objstoreYaml('sidecar'));
    const ids = await shippedBlocks(bkt, 1);
    const meta = parseBlockMeta(await getBytes(bkt, `${ids[0]}/meta.json`));
    expect(meta.thanos.labels).toEqual({ cluster: 'eu1', replica: 'a' });
    expect(meta.thanos.source).toBe('sidecar');
    expect(meta.stats.numSamples).toBeGreaterThan(0);
  }, 180_000);
});

describe('sidecar bad input', () => {
  let fake: Server;
  it('maps bad requests to INVALID_ARGUMENT and a failing Prometheus to UNAVAILABLE', async () => {
    // A Prometheus whose remote read answers 500.
    const port = await freePort();
    fake = createServer((req, res) => {
      if (req.url?.startsWith('/api/v1/status/config')) {
        res.end(JSON.stringify({ status: 'success', data: { yaml: 'global:\n  external_labels:\n    cluster: fake\n' } }));
      } else if (req.url?.startsWith('/metrics')) {
        res.end('# TYPE prometheus_tsdb_lowest_timestamp_seconds gauge\nprometheus_tsdb_lowest_timestamp_seconds 1000\n');
      } else if (req.url?.startsWith('/api/v1/read')) {
        res.writeHead(500).end('internal meltdown');
      } else res.end('{}');
    });
    await new Promise<void>((r) => fake.listen(port, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise((r) => fake.close(r)));
    const sidecar = await startComponent(['sidecar', '--prometheus.url', `http://127.0.0.1:${port}`, '--tsdb.path', await tempDir('fake-tsdb')]);
    cleanups.push(() => sidecar.stop());
    const client = new StoreClient(sidecar.grpcAddress);
    cleanups.push(async () => client.close());
    const call = (req: object) => collectSeries(client, (req as { matchers: never }).matchers, (req as { minTime: number }).minTime, (req as { maxTime: number }).maxTime).catch((e: StoreAPIError) => e);
    const bad = (await call({ matchers: [{ type: 2, name: 'job', value: '(' }], minTime: 0, maxTime: 10 })) as StoreAPIError;
    expect(bad.codeName).toBe('InvalidArgument');
    const minMax = (await call({ matchers: [{ type: 0, name: 'job', value: 'x' }], minTime: 10, maxTime: 0 })) as StoreAPIError;
    expect(minMax.codeName).toBe('InvalidArgument');
    const unknownType = (await call({ matchers: [{ type: 9, name: 'job', value: 'x' }], minTime: 0, maxTime: 10 })) as StoreAPIError;
    expect(unknownType.codeName).toBe('InvalidArgument');
    const onlyExt = (await call({ matchers: [{ type: 0, name: 'cluster', value: 'fake' }], minTime: 0, maxTime: 10 })) as StoreAPIError;
    expect(onlyExt.message).toContain('no matchers specified (excluding external labels)');
    const down = (await call({ matchers: [{ type: 0, name: 'job', value: 'x' }], minTime: 0, maxTime: 10 })) as StoreAPIError;
    expect(down.codeName).toBe('Unavailable');
    expect(down.message).toContain('500');
    // Still serving afterwards.
    expect((await client.info()).ComponentType).toBe('sidecar');
    expect(sidecar.logs()).not.toContain('    at ');
  }, 60_000);

  it('refuses to start when Prometheus has no external labels', async () => {
    const prom = await startPrometheus({});
    cleanups.push(() => prom.stop());
    const sidecar = await startComponent(['sidecar', '--prometheus.url', prom.url, '--tsdb.path', prom.dataDir], { waitReady: false });
    expect(await sidecar.exited()).toBe(1);
    expect(sidecar.logs()).toContain('error: no external labels configured on Prometheus server, uniquely identifying external labels must be configured');
  }, 60_000);
});
