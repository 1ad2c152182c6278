// localEndpoint: an in-process StoreAPI behind the proxy answers as the same store does
// through StoreServer and StoreClient, with the same cancellation, errors and backpressure.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@thanos-ts/runtime';
import { MatchType, newMatcher } from '@thanos-ts/tsdb';
import type { Labels } from '@thanos-ts/tsdb';
import { StoreClient } from './client.js';
import { labelSetsFromProto, labelsToProto } from './convert.js';
import { Status, StoreAPIError } from './errors.js';
import { LocalStoreClient, localEndpoint } from './local-endpoint.js';
import type { InfoResponseInit, SeriesResponse } from './proto.js';
import { PartialResponseStrategy, ProxyStore } from './proxy.js';
import type { StoreEndpoint } from './proxy.js';
import { StoreServer } from './server.js';
import type { SeriesSink, StoreAPI, ValidatedSeriesRequest } from './server.js';
import { FakeStore, makeSeries } from './testing.js';

const T0 = 1_700_000_000_000;
const ALL = [newMatcher(MatchType.RE, '__name__', '.+')];
const ALL_PROTO = [{ type: MatchType.RE, name: '__name__', value: '.+' }];

function infoOf(ext: Labels): InfoResponseInit {
  return {
    ComponentType: 'receive',
    labelSets: [{ labels: labelsToProto(ext) }],
    store: { minTime: T0, maxTime: T0 + 3_600_000, supportsWithoutReplicaLabels: true },
  };
}

/** A StoreEndpoint over a StoreClient, the way the query's EndpointSet builds one. */
function grpcEndpoint(client: StoreClient, info: InfoResponseInit): StoreEndpoint {
  return {
    address: client.address,
    client,
    labelSets: () => labelSetsFromProto(info.labelSets),
    timeRange: () => ({ minTime: Number(info.store!.minTime), maxTime: Number(info.store!.maxTime) }),
    supportsWithoutReplicaLabels: () => true,
    tsdbInfos: () => [],
  };
}

async function collect(it: AsyncIterable<SeriesResponse>): Promise<SeriesResponse[]> {
  const out: SeriesResponse[] = [];
  for await (const f of it) out.push(f);
  return out;
}

const plain = (frames: SeriesResponse[]): unknown[] =>
  frames.map((f) =>
    f.series
      ? { labels: f.series.labels.map((l) => `${l.name}=${l.value}`), chunks: f.series.chunks.map((c) => [c.minTime, c.maxTime, Buffer.from(c.raw!.data).toString('hex')]) }
      : { warning: f.warning },
  );

describe('localEndpoint', () => {
  const a = new FakeStore({ series: makeSeries(300, { t0: T0, extra: [{ name: 'tenant', value: 'a' }] }), info: infoOf([{ name: 'tenant', value: 'a' }]) });
  const b = new FakeStore({ series: makeSeries(200, { t0: T0, chunksPerSeries: 2, extra: [{ name: 'tenant', value: 'b' }] }), info: infoOf([{ name: 'tenant', value: 'b' }]) });
  const servers = [new StoreServer({ address: '127.0.0.1:0', store: a }), new StoreServer({ address: '127.0.0.1:0', store: b })];
  const clients: StoreClient[] = [];

  beforeAll(async () => {
    for (const s of servers) {
      await s.start();
      clients.push(new StoreClient(s.address));
    }
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all(servers.map((s) => s.stop(1000)));
  });

  it('gives the proxy the answer the same stores give over gRPC', async () => {
    const local = new ProxyStore({ endpoints: () => [localEndpoint(a, () => a.info(), 'a'), localEndpoint(b, () => b.info(), 'b')] });
    const remote = new ProxyStore({ endpoints: () => [grpcEndpoint(clients[0], a.info()), grpcEndpoint(clients[1], b.info())] });
    const req = { minTime: T0, maxTime: T0 + 3_600_000, matchers: ALL };
    const viaLocal = await collect(local.seriesStream(req));
    const viaGrpc = await collect(remote.seriesStream(req));
    expect(viaLocal).toHaveLength(500);
    expect(plain(viaLocal)).toEqual(plain(viaGrpc));

    const names = { start: 0, end: 0, matchers: ALL };
    expect(await local.labelNamesOf(names)).toEqual(await remote.labelNamesOf(names));
    expect(await local.labelValuesOf('tenant', names)).toEqual({ values: ['a', 'b'], warnings: [] });
    // Label sets and time range come from the info callback, at every request.
    expect(local.labelSets()).toEqual([[{ name: 'tenant', value: 'a' }], [{ name: 'tenant', value: 'b' }]]);
    expect(local.timeRange()).toEqual({ minTime: T0, maxTime: T0 + 3_600_000 });
    // A matcher on the label set skips the other store.
    const before = a.lastRequest;
    const onlyB = await collect(local.seriesStream({ ...req, matchers: [...ALL, newMatcher(MatchType.EQ, 'tenant', 'b')] }));
    expect(onlyB).toHaveLength(200);
    expect(a.lastRequest).toBe(before);
  });

  it('holds the store back until the reader takes frames (backpressure)', async () => {
    const client = new LocalStoreClient(a, 'a');
    const it = client.series({ minTime: T0, maxTime: T0 + 3_600_000, matchers: ALL_PROTO, responseBatchSize: 4 })[Symbol.asyncIterator]();
    await it.next();
    await new Promise((r) => setTimeout(r, 20));
    // One frame read, at most four waiting, and the fifth written is the one the store waits on.
    expect(a.sent).toBeLessThanOrEqual(6);
    let n = 1;
    while (!(await it.next()).done) n++;
    expect(n).toBe(300);
    expect(a.sent).toBe(300);
  });

  it('cancels the store when the reader stops', async () => {
    const client = new LocalStoreClient(a, 'a');
    let n = 0;
    for await (const f of client.series({ minTime: T0, maxTime: T0 + 3_600_000, matchers: ALL_PROTO })) {
      expect(f.series).toBeTruthy();
      if (++n === 3) break;
    }
    await a.done;
    expect(a.aborted).toBe(true);
    expect(a.sentAfterAbort).toBe(0);
    expect(a.sent).toBeLessThan(10);
  });

  it('fails as a gRPC store would: StoreAPIError with the status code, naming the store', async () => {
    const failing: StoreAPI = {
      series: async (_req: ValidatedSeriesRequest, sink: SeriesSink) => {
        await sink.series({ labels: [{ name: '__name__', value: 'x' }], chunks: [] });
        throw new InvalidArgumentError('bad things');
      },
      labelNames: async () => {
        throw new Error('boom');
      },
      labelValues: async () => ({ values: [], warnings: [] }),
    };
    const client = new LocalStoreClient(failing, 'tenant-x');
    const frames: SeriesResponse[] = [];
    const err = await (async () => {
      for await (const f of client.series({ minTime: 0, maxTime: 10, matchers: ALL_PROTO })) frames.push(f);
    })().then(
      () => null,
      (e: unknown) => e,
    );
    // Frames written before the failure arrive first.
    expect(frames).toHaveLength(1);
    expect(err).toBeInstanceOf(StoreAPIError);
    expect((err as StoreAPIError).code).toBe(Status.INVALID_ARGUMENT);
    expect((err as StoreAPIError).message).toBe('store tenant-x: Series: rpc error: code = InvalidArgument desc = bad things');
    await expect(client.labelNames({})).rejects.toMatchObject({ code: Status.INTERNAL, address: 'tenant-x' });
    await expect(client.labelValues({ label: '' })).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT });
    // An invalid request never reaches the store.
    await expect(collect(client.series({ minTime: 10, maxTime: 0, matchers: ALL_PROTO }))).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT });

    // Behind the proxy: a warning with partial response, the error without.
    const proxy = new ProxyStore({ endpoints: () => [localEndpoint(failing, () => infoOf([]), 'tenant-x')] });
    const warned = await collect(proxy.seriesStream({ minTime: T0, maxTime: T0 + 10, matchers: ALL }));
    // (The merge passes a warning on as soon as it reads it, before the series it holds.)
    expect(warned.map((f) => f.warning ?? 'series').sort()).toEqual(['series', 'store tenant-x: Series: rpc error: code = InvalidArgument desc = bad things']);
    await expect(collect(proxy.seriesStream({ minTime: T0, maxTime: T0 + 10, matchers: ALL, partialResponseStrategy: PartialResponseStrategy.ABORT }))).rejects.toBeInstanceOf(StoreAPIError);
  });

  it('gives up on a store that sends nothing within the timeout', async () => {
    const slow = new FakeStore({ series: makeSeries(5, { t0: T0 }), beforeSeries: (_i, signal) => new Promise((r) => signal.addEventListener('abort', () => r())) });
    const client = new LocalStoreClient(slow, 'slow');
    await expect(collect(client.series({ minTime: T0, maxTime: T0 + 1, matchers: ALL_PROTO }, { timeoutMs: 50 }))).rejects.toMatchObject({
      code: Status.DEADLINE_EXCEEDED,
    });
    const proxy = new ProxyStore({ endpoints: () => [localEndpoint(slow, () => infoOf([]), 'slow')], responseTimeoutMs: 50 });
    const frames = await collect(proxy.seriesStream({ minTime: T0, maxTime: T0 + 1, matchers: ALL }));
    expect(frames.map((f) => f.warning)).toEqual(['store slow: Series: rpc error: code = DeadlineExceeded desc = failed to receive any data in 50ms']);
    await slow.done;
    expect(slow.aborted).toBe(true);
  });

  it('reads the info callback at every request', async () => {
    let maxTime = T0 - 1;
    const ep = localEndpoint(a, () => ({ ...infoOf([]), store: { minTime: T0 - 10, maxTime } }));
    const proxy = new ProxyStore({ endpoints: () => [ep] });
    const req = { minTime: T0, maxTime: T0 + 3_600_000, matchers: ALL };
    expect(await collect(proxy.seriesStream(req))).toHaveLength(0);
    maxTime = T0 + 3_600_000;
    expect(await collect(proxy.seriesStream(req))).toHaveLength(300);
    expect(ep.address).toBe('local');
    expect(ep.labelSets()).toEqual([[]]);
  });
});
