import { describe, expect, it } from 'vitest';
import { FilesystemBucket } from '@thanos-ts/objstore';
import { nopLogger } from '@thanos-ts/runtime';
import type { BlockMeta } from '@thanos-ts/tsdb';
import { storeConfigFromFlags } from './flags.js';
import { relabelBlockFilter } from '@thanos-ts/block';
import { testThanosMeta } from './series-fixture.js';

function meta(ulid: string, labels: Record<string, string>): BlockMeta {
  return { ulid, minTime: 0, maxTime: 1, stats: {}, compaction: { level: 1, sources: [ulid] }, version: 1, thanos: { labels, downsample: { resolution: 0 }, source: 'test', index_stats: {} } } as unknown as BlockMeta;
}

const IDS = Array.from({ length: 40 }, (_, i) => `01HZZZZZZZZZZZZZZZZZZZZZ${String(i).padStart(2, '0')}`);

describe('relabelBlockFilter', () => {
  it('keeps or drops blocks by their external labels', async () => {
    const f = relabelBlockFilter('- action: keep\n  source_labels: [cluster]\n  regex: eu|us\n')!;
    const metas = new Map([
      ['A', meta('A', { cluster: 'eu' })],
      ['B', meta('B', { cluster: 'ap' })],
      ['C', meta('C', { cluster: 'us' })],
    ]);
    expect([...(await f.filter(metas, null as never))]).toEqual(['B']);
  });

  it('shards blocks by hashmod of __block_id: shards are disjoint and cover every block', async () => {
    const metas = new Map(IDS.map((id) => [id, meta(id, { cluster: 'eu' })]));
    const kept: Set<string>[] = [];
    for (const shard of [0, 1, 2]) {
      const f = relabelBlockFilter(
        `- action: hashmod\n  source_labels: [__block_id]\n  target_label: shard\n  modulus: 3\n- action: keep\n  source_labels: [shard]\n  regex: "${shard}"\n`,
      )!;
      const dropped = await f.filter(metas, null as never);
      kept.push(new Set(IDS.filter((id) => !dropped.has(id))));
    }
    expect(kept.reduce((n, s) => n + s.size, 0)).toBe(IDS.length);
    for (const s of kept) expect(s.size).toBeGreaterThan(0);
  });

  it('rejects invalid configurations with the flag name and Prometheus reason', () => {
    expect(() => relabelBlockFilter('- action: hashmod\n  source_labels: [a]\n  target_label: b\n')).toThrow(/--selector.relabel-config.*modulus/);
    expect(() => relabelBlockFilter('- action: nope\n')).toThrow(/--selector.relabel-config.*unknown relabel action/);
    expect(() => relabelBlockFilter('[')).toThrow(/--selector.relabel-config: parse relabel configuration/);
    expect(relabelBlockFilter('')).toBeNull();
  });
});

describe('storeConfigFromFlags', () => {
  const bkt = new FilesystemBucket('/tmp/unused-bucket');
  it('takes Thanos defaults', () => {
    const cfg = storeConfigFromFlags({}, bkt, nopLogger());
    expect(cfg).toMatchObject({
      grpcAddress: '0.0.0.0:10901',
      httpAddress: '0.0.0.0:10902',
      dataDir: './data',
      syncIntervalMs: 15 * 60_000,
      chunkPoolBytes: 2 * 1024 ** 3,
      maxConcurrency: 20,
      ignoreDeletionMarksDelayMs: 24 * 3600_000,
      samplesLimit: 0,
      indexCache: { maxSizeBytes: 250 * 1024 ** 2 },
    });
  });
  it('reads limits, relative times and the index cache config', () => {
    const now = Date.now();
    const cfg = storeConfigFromFlags(
      {
        'store.grpc.series-sample-limit': '1200',
        'min-time': '-2w',
        'max-time': '-1h',
        'index-cache.config': 'type: IN-MEMORY\nconfig:\n  max_size: 10MB\n',
      },
      bkt,
      nopLogger(),
    );
    expect(cfg.samplesLimit).toBe(1200);
    expect(Math.abs(cfg.minTime - (now - 14 * 86400_000))).toBeLessThan(5000);
    expect(Math.abs(cfg.maxTime - (now - 3600_000))).toBeLessThan(5000);
    expect(cfg.indexCache.maxSizeBytes).toBe(10 * 1024 ** 2);
  });
  it('names the flag of a bad value', () => {
    expect(() => storeConfigFromFlags({ 'index-cache-size': 'lots' }, bkt, nopLogger())).toThrow(/--index-cache-size: invalid byte size "lots"/);
    expect(() => storeConfigFromFlags({ 'sync-block-duration': '5x' }, bkt, nopLogger())).toThrow(/--sync-block-duration/);
    expect(() => storeConfigFromFlags({ 'min-time': '-1h', 'max-time': '-2h' }, bkt, nopLogger())).toThrow(/can't be greater than --max-time/);
    expect(() => storeConfigFromFlags({ 'store.grpc.series-max-concurrency': '0' }, bkt, nopLogger())).toThrow(/series-max-concurrency/);
  });
});

describe('Store', () => {
  it('serves blocks marked for deletion until --ignore-deletion-marks-delay has passed, and answers over gRPC', async () => {
    const { markForDeletion, uploadBlock } = await import('@thanos-ts/block');
    const { removeTempDirs, tempDir } = await import('@thanos-ts/testutil');
    const { labelsFromRecord, SeriesBuilder } = await import('@thanos-ts/tsdb');
    const { StoreClient } = await import('@thanos-ts/storeapi');
    const { Store } = await import('./store.js');
    const { storeConfigFromFlags: fromFlags } = await import('./flags.js');
    try {
      const bucketDir = await tempDir('store-svc-bucket');
      const bkt = new FilesystemBucket(bucketDir);
      const ids: string[] = [];
      for (const [cluster, markedAgo] of [['fresh', 60_000], ['old', 48 * 3600_000], ['none', -1]] as const) {
        const b = new SeriesBuilder();
        for (let t = 0; t < 3600_000; t += 60_000) b.append(labelsFromRecord({ __name__: 'up', cluster_of: cluster }), t, 1);
        const w = await b.writeBlock(await tempDir('store-svc-blocks'), { mint: 0, maxt: 3600_000, thanos: testThanosMeta({ cluster }) });
        await uploadBlock(bkt, w!.dir);
        if (markedAgo >= 0) await markForDeletion(bkt, w!.ulid, '', Date.now() - markedAgo);
        ids.push(w!.ulid);
      }
      const store = new Store(
        fromFlags({ 'grpc-address': '127.0.0.1:0', 'http-address': '127.0.0.1:0', 'data-dir': await tempDir('store-svc-data'), 'ignore-deletion-marks-delay': '24h' }, bkt, nopLogger()),
      );
      await store.start();
      try {
        expect(store.bucketStore.blockIds()).toEqual([ids[0], ids[2]].sort());
        const client = new StoreClient(store.grpcAddress);
        const info = await client.info();
        expect(info.ComponentType).toBe('store');
        expect(info.labelSets.map((s) => s.labels[0].value)).toEqual(['fresh', 'none']);
        const series: string[] = [];
        for await (const r of client.series({ minTime: 0, maxTime: 3600_000, matchers: [{ type: 0, name: '__name__', value: 'up' }] })) {
          if (r.series) series.push(r.series.labels.map((l) => `${l.name}=${l.value}`).join(','));
        }
        expect(series).toEqual(['__name__=up,cluster=fresh,cluster_of=fresh', '__name__=up,cluster=none,cluster_of=none']);
        client.close();
        const ready = await fetch(`http://${store.httpAddress}/-/ready`);
        expect(ready.status).toBe(200);
        const metrics = await (await fetch(`http://${store.httpAddress}/metrics`)).text();
        expect(metrics).toMatch(/thanos_objstore_bucket_operations_total\{bucket="[^"]+",operation="get_range"\} [1-9]/);
        expect(metrics).toMatch(/thanos_bucket_store_blocks_loaded 2/);
        expect(metrics).toMatch(/thanos_store_index_cache_requests_total\{item_type="Postings"\} [1-9]/);
      } finally {
        await store.stop();
      }
    } finally {
      await removeTempDirs();
    }
  });
});
