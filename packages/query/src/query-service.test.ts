import { availableParallelism } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeStore, StoreClient, StoreServer, makeSeries } from '@thanos-ts/storeapi';
import type { SeriesResponse } from '@thanos-ts/storeapi';
import { nopLogger, UserError } from '@thanos-ts/runtime';
import { labelsToString, MatchType, newMatcher } from '@thanos-ts/tsdb';
import { waitFor } from '@thanos-ts/testutil';
import { parseFlagLabels } from '@thanos-ts/storeapi';
import { parseReplicaLabels, queryConfigFromFlags } from './flags.js';
import { Query } from './query.js';

const T0 = 1_700_000_000_000;

describe('queryConfigFromFlags', () => {
  it('takes Thanos defaults and both key spellings', () => {
    const cfg = queryConfigFromFlags(
      {
        endpoint: ['a:1'],
        store: ['b:2'],
        'query.replicaLabel': ['replica,rule_replica', 'replica'],
        'selector-label': ['region="eu"', 'az="a\\"1"'],
        'query.partialResponse': false,
        'web.external-prefix': '/thanos/',
      },
      nopLogger(),
    );
    expect(cfg).toMatchObject({
      grpcAddress: '0.0.0.0:10901',
      httpAddress: '0.0.0.0:10902',
      endpoints: ['a:1', 'b:2'],
      replicaLabels: ['replica', 'rule_replica'],
      selectorLabels: [{ name: 'az', value: 'a"1' }, { name: 'region', value: 'eu' }],
      partialResponse: false,
      dedupFunc: 'penalty',
      queryTimeoutMs: 120_000,
      maxConcurrent: 20,
      maxConcurrentSelect: 4,
      responseTimeoutMs: 0,
      unhealthyTimeoutMs: 300_000,
      infoIntervalMs: 5_000,
      sdIntervalMs: 300_000,
      lookbackDeltaMs: 0,
      defaultEvaluationIntervalMs: 60_000,
      webRoutePrefix: '/thanos',
    });
    expect(queryConfigFromFlags({}, nopLogger()).partialResponse).toBe(true);
    expect(queryConfigFromFlags({}, nopLogger())).toMatchObject({ maxSamples: 50_000_000, workers: availableParallelism() });
    expect(queryConfigFromFlags({ 'query.workers': '0', 'query.max-samples': '1000' }, nopLogger())).toMatchObject({ maxSamples: 1000, workers: 0 });
    expect(() => queryConfigFromFlags({ 'query.max-samples': '0' }, nopLogger())).toThrow(/--query.max-samples: must be positive/);
  });

  it('rejects bad values naming the flag', () => {
    expect(() => queryConfigFromFlags({ 'deduplication.func': 'quorum' }, nopLogger())).toThrow(/--deduplication.func/);
    expect(() => queryConfigFromFlags({ 'query.timeout': 'soon' }, nopLogger())).toThrow(UserError);
    expect(() => parseFlagLabels(['region=eu'], 'selector-label')).toThrow(/unquote label value/);
    expect(() => parseFlagLabels(['1x="a"'], 'selector-label')).toThrow(/unsupported format/);
    expect(parseReplicaLabels(['a, b', '', 'b'])).toEqual(['a', 'b']);
  });
});

describe('Query service', () => {
  const servers: StoreServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop(100)));
  });

  it('serves StoreAPI over gRPC, metrics and probes; ready after the first endpoint pass', async () => {
    const addrs: string[] = [];
    for (const replica of ['0', '1']) {
      const fake = new FakeStore({
        series: makeSeries(3, { t0: T0, extra: [{ name: 'replica', value: replica }] }),
        info: { ComponentType: 'sidecar', labelSets: [{ labels: [{ name: 'replica', value: replica }] }], store: { minTime: T0, maxTime: 2 ** 63 } },
      });
      const s = new StoreServer({ address: '127.0.0.1:0', store: fake, info: fake });
      await s.start();
      servers.push(s);
      addrs.push(s.address);
    }
    const cfg = queryConfigFromFlags(
      { endpoint: addrs, 'grpc-address': '127.0.0.1:0', 'http-address': '127.0.0.1:0', 'query.replica-label': ['replica'], 'selector-label': ['region="eu"'] },
      nopLogger(),
    );
    const q = new Query(cfg);
    await q.start();
    try {
      const base = `http://${q.httpAddress}`;
      expect((await fetch(`${base}/-/healthy`)).status).toBe(200);
      await q.ready();
      expect((await fetch(`${base}/-/ready`)).status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/thanos_store_nodes_grpc_connections\{external_labels="\{replica=\\"0\\"\}",store_type="sidecar"\} 1/);

      const client = new StoreClient(q.grpcAddress);
      try {
        const info = await client.info();
        expect(info.ComponentType).toBe('query');
        expect(info.labelSets.map((s) => labelsToString(s.labels))).toEqual(['{region="eu", replica="0"}', '{region="eu", replica="1"}']);
        const frames: SeriesResponse[] = [];
        for await (const f of client.series({
          minTime: T0,
          maxTime: T0 + 3_600_000,
          matchers: [{ type: 0, name: 'region', value: 'eu' }, { type: 0, name: '__name__', value: 'test_metric' }],
          withoutReplicaLabels: ['replica'],
        })) {
          frames.push(f);
        }
        expect(frames.map((f) => labelsToString(f.series!.labels))).toEqual([
          '{__name__="test_metric", i="0", job="fake"}',
          '{__name__="test_metric", i="1", job="fake"}',
          '{__name__="test_metric", i="2", job="fake"}',
        ]);
        // A selector label that rules everything out: no data, no error.
        const none: SeriesResponse[] = [];
        for await (const f of client.series({ minTime: T0, maxTime: T0 + 1, matchers: [{ type: 0, name: 'region', value: 'us' }] })) none.push(f);
        expect(none).toEqual([]);
      } finally {
        client.close();
      }

      const querier = await q.queryable().querier(T0, T0 + 3_600_000);
      const names: string[] = [];
      for await (const s of querier.select({ start: T0, end: T0 + 3_600_000 }, [newMatcher(MatchType.EQ, '__name__', 'test_metric')])) {
        names.push(labelsToString(s.labels));
      }
      expect(names).toEqual(['{__name__="test_metric", i="0", job="fake"}', '{__name__="test_metric", i="1", job="fake"}', '{__name__="test_metric", i="2", job="fake"}']);
      // As Thanos: a select needs at least one matcher besides the selector labels.
      const empty = querier.select({ start: T0, end: T0 + 1 }, [newMatcher(MatchType.EQ, 'region', 'eu')]);
      await expect((async () => {
        for await (const _ of empty) void _;
      })()).rejects.toThrow('no matchers specified (excluding selector labels)');
    } finally {
      await q.stop();
    }
    await waitFor(async () => fetch(`http://${q.httpAddress}/-/ready`).then(() => false, () => true), { timeoutMs: 5_000, what: 'http stopped' });
  });
});
