// TSDBStore over a Head and a DB, served through StoreServer over loopback gRPC and, for
// two tenants, through the proxy in-process as receive serves them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDir, tempDir } from '@thanos-ts/testutil';
import { compareLabels, DB, Head, labelsFromStrings, labelsToString, MatchType, newMatcher, ValueType, XorChunk } from '@thanos-ts/tsdb';
import type { Labels, Queryable } from '@thanos-ts/tsdb';
import { StoreClient } from './client.js';
import { Status, StoreAPIError } from './errors.js';
import { localEndpoint } from './local-endpoint.js';
import { thanos } from './proto.js';
import type { SeriesResponse, StoreSeries } from './proto.js';
import { MAX_TIME, ProxyStore } from './proxy.js';
import { StoreServer } from './server.js';
import { TSDBStore } from './tsdb-store.js';

const T0 = 1_700_000_000_000;
const STEP = 15_000;
const N = 400; // samples per series: several chunks in the head
const ALL = [newMatcher(MatchType.RE, '__name__', '.+')];
const ALL_PROTO = [{ type: MatchType.RE, name: '__name__', value: '.+' }];
const thanosSeriesRequest = (r: thanos.SeriesRequest.$Properties): thanos.SeriesRequest => thanos.SeriesRequest.create(r);
const ext = (tenant: string): Labels => labelsFromStrings('receive', 'r0', 'tenant_id', tenant);

/** Series of a tenant: 2 metrics × 3 instances × 2 replicas, values depending on all of them. */
function seriesOf(tenant: string): Labels[] {
  const out: Labels[] = [];
  for (const m of ['http_requests_total', 'up']) {
    for (const i of ['a', 'b', 'c']) {
      for (const r of ['0', '1']) out.push(labelsFromStrings('__name__', m, 'instance', i, 'replica', r, 'tenant', tenant));
    }
  }
  return out;
}

async function fill(app: { append(ref: number, ls: Labels, t: number, v: number): number; commit(): Promise<void> }, series: Labels[], tenant: string): Promise<void> {
  for (let k = 0; k < N; k++) {
    series.forEach((ls, j) => app.append(0, ls, T0 + k * STEP, k * 10 + j + (tenant === 'b' ? 0.5 : 0)));
  }
  await app.commit();
}

type Dumped = { labels: string; samples: [number, number][] };

/** Series frames as labels and decoded samples, consecutive parts of one series joined. */
function dumpFrames(frames: readonly SeriesResponse[]): Dumped[] {
  const out: Dumped[] = [];
  for (const f of frames) {
    const list: StoreSeries[] = f.series ? [f.series] : (f.batch?.series ?? []);
    for (const s of list) {
      const samples: [number, number][] = [];
      for (const c of s.chunks) {
        expect(c.raw?.type ?? 0).toBe(0); // XOR
        const it = new XorChunk(Uint8Array.from(c.raw!.data)).iterator();
        while (it.next() !== ValueType.None) samples.push([it.atT(), it.atF()]);
        expect(it.err()).toBeNull();
      }
      const key = labelsToString(s.labels);
      if (out.length > 0 && out[out.length - 1].labels === key) out[out.length - 1].samples.push(...samples);
      else out.push({ labels: key, samples });
    }
  }
  return out;
}

/** What the TSDB's own querier says, with `extra` labels added. */
async function fromQuerier(q: Queryable, mint: number, maxt: number, extra: Labels): Promise<Dumped[]> {
  const querier = await q.querier(mint, maxt);
  const out: Dumped[] = [];
  for await (const s of querier.select({ start: mint, end: maxt }, ALL)) {
    const it = s.iterator();
    const samples: [number, number][] = [];
    while (it.next() !== ValueType.None) samples.push([it.atT(), it.atF()]);
    out.push({ labels: labelsToString([...s.labels, ...extra].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))), samples });
  }
  await querier.close();
  return out;
}

/** Only the samples of [mint, maxt] (chunks are passed whole, as Thanos does). */
const trim = (d: Dumped[], mint: number, maxt: number): Dumped[] => d.map((s) => ({ labels: s.labels, samples: s.samples.filter(([t]) => t >= mint && t <= maxt) }));

async function collect(it: AsyncIterable<SeriesResponse>): Promise<SeriesResponse[]> {
  const out: SeriesResponse[] = [];
  for await (const f of it) out.push(f);
  return out;
}

describe('TSDBStore over a Head, through StoreServer on loopback', () => {
  const head = new Head();
  const store = new TSDBStore({ db: head, externalLabels: ext('a') });
  const server = new StoreServer({ address: '127.0.0.1:0', store, info: store });
  let client: StoreClient;

  beforeAll(async () => {
    await fill(head.appender(), seriesOf('a'), 'a');
    await server.start();
    client = new StoreClient(server.address);
  });
  afterAll(async () => {
    client.close();
    await server.stop(1000);
  });

  it('answers Series as the head querier does, external labels added, chunks passed through', async () => {
    const frames = await collect(client.series({ minTime: T0, maxTime: T0 + N * STEP, matchers: ALL_PROTO, responseBatchSize: 5 }));
    const got = dumpFrames(frames);
    expect(got).toEqual(await fromQuerier(head, T0, T0 + N * STEP, ext('a')));
    expect(got).toHaveLength(12);
    expect(got[0].samples).toHaveLength(N);
    // The chunks as the head cut them (several a series), passed through.
    const first = frames.flatMap((f) => f.batch?.series ?? [f.series!])[0];
    const cq = await head.chunkQuerier(T0, T0 + N * STEP);
    let own: { mint: number; maxt: number; chunk: { bytes(): Uint8Array } }[] = [];
    for await (const cs of cq.select({ start: T0, end: T0 + N * STEP }, ALL)) {
      own = [...cs.chunks()];
      break;
    }
    expect(own.length).toBeGreaterThan(2);
    expect(first.chunks.map((c) => [c.minTime, c.maxTime, Buffer.from(c.raw!.data).toString('hex')])).toEqual(
      own.map((c) => [c.mint, c.maxt, Buffer.from(c.chunk.bytes()).toString('hex')]),
    );

    // A narrower range: only the chunks overlapping it, whole.
    const mint = T0 + 130 * STEP;
    const maxt = T0 + 200 * STEP;
    const narrow = dumpFrames(await collect(client.series({ minTime: mint, maxTime: maxt, matchers: ALL_PROTO })));
    expect(narrow[0].samples[0][0]).toBeLessThan(mint);
    expect(trim(narrow, mint, maxt)).toEqual(await fromQuerier(head, mint, maxt, ext('a')));
  });

  it('matches external labels, requires other matchers, honours skip_chunks and limit', async () => {
    const sel = (ms: { type: number; name: string; value: string }[], more: object = {}): Promise<SeriesResponse[]> =>
      collect(client.series({ minTime: T0, maxTime: T0 + N * STEP, matchers: ms, ...more }));
    expect(await sel([...ALL_PROTO, { type: MatchType.EQ, name: 'tenant_id', value: 'b' }])).toEqual([]);
    const up = await sel([{ type: MatchType.EQ, name: 'tenant_id', value: 'a' }, { type: MatchType.EQ, name: '__name__', value: 'up' }]);
    expect(up).toHaveLength(6);
    await expect(sel([{ type: MatchType.EQ, name: 'tenant_id', value: 'a' }])).rejects.toMatchObject({
      code: Status.INVALID_ARGUMENT,
      details: 'no matchers specified (excluding external labels)',
    });
    const skip = await sel(ALL_PROTO, { skipChunks: true });
    expect(skip).toHaveLength(12);
    expect(skip.every((f) => f.series!.chunks.length === 0)).toBe(true);
    expect(labelsToString(skip[0].series!.labels)).toBe('{__name__="http_requests_total", instance="a", receive="r0", replica="0", tenant="a", tenant_id="a"}');
    expect(await sel(ALL_PROTO, { limit: 5 })).toHaveLength(5);
  });

  it('drops without_replica_labels from series and external labels, keeping the stream sorted', async () => {
    const frames = await collect(client.series({ minTime: T0, maxTime: T0 + N * STEP, matchers: ALL_PROTO, withoutReplicaLabels: ['replica', 'receive'] }));
    const labels = frames.map((f) => f.series!.labels);
    expect(labels).toHaveLength(12);
    for (let i = 1; i < labels.length; i++) expect(compareLabels(labels[i - 1], labels[i])).toBeLessThanOrEqual(0);
    expect(labels.every((ls) => !ls.some((l) => l.name === 'replica' || l.name === 'receive'))).toBe(true);
    // Both replicas of a series, one after the other: the proxy merges them.
    expect(labelsToString(labels[0])).toBe(labelsToString(labels[1]));
  });

  it('splits a series over several frames past maxBytesPerFrame; the proxy joins them again', async () => {
    const small = new TSDBStore({ db: head, externalLabels: ext('a'), maxBytesPerFrame: 1 });
    const parts: SeriesResponse[] = [];
    await small.series(
      Object.assign(thanosSeriesRequest({ minTime: T0, maxTime: T0 + N * STEP, matchers: ALL_PROTO }), { parsedMatchers: ALL }),
      { series: (s) => void parts.push({ series: s }), warning: () => undefined, hints: () => undefined },
      new AbortController().signal,
    );
    expect(parts.length).toBeGreaterThan(12);
    expect(parts.every((f) => f.series!.chunks.length === 1)).toBe(true);
    const merged = await collect(new ProxyStore({ endpoints: () => [localEndpoint(small, () => small.info())] }).seriesStream({ minTime: T0, maxTime: T0 + N * STEP, matchers: ALL }));
    expect(merged).toHaveLength(12);
    expect(dumpFrames(merged)).toEqual(dumpFrames(parts));
    expect(dumpFrames(merged)).toEqual(await fromQuerier(head, T0, T0 + N * STEP, ext('a')));
  });

  it('answers LabelNames and LabelValues with the external labels', async () => {
    expect((await client.labelNames({ start: 0, end: 0 })).names).toEqual(['__name__', 'instance', 'receive', 'replica', 'tenant', 'tenant_id']);
    expect((await client.labelNames({ start: 0, end: 0, withoutReplicaLabels: ['replica'] })).names).toEqual(['__name__', 'instance', 'receive', 'tenant', 'tenant_id']);
    expect((await client.labelNames({ matchers: [{ type: MatchType.EQ, name: 'tenant_id', value: 'b' }] })).names).toEqual([]);
    expect((await client.labelNames({ matchers: [{ type: MatchType.EQ, name: '__name__', value: 'nope' }] })).names).toEqual([]);
    expect((await client.labelValues({ label: 'instance', start: T0, end: T0 + N * STEP })).values).toEqual(['a', 'b', 'c']);
    expect((await client.labelValues({ label: 'instance', limit: 2 })).values).toEqual(['a', 'b']);
    expect((await client.labelValues({ label: 'tenant_id' })).values).toEqual(['a']);
    expect((await client.labelValues({ label: 'tenant_id', matchers: [{ type: MatchType.EQ, name: '__name__', value: 'up' }] })).values).toEqual(['a']);
    expect((await client.labelValues({ label: 'tenant_id', matchers: [{ type: MatchType.EQ, name: '__name__', value: 'nope' }] })).values).toEqual([]);
    expect((await client.labelValues({ label: 'replica', withoutReplicaLabels: ['replica'] })).values).toEqual([]);
    await expect(client.labelValues({ label: '' })).rejects.toBeInstanceOf(StoreAPIError);
  });

  it('announces its external labels and [head min time, MaxInt64] in Info', async () => {
    const info = await client.info();
    expect(info.ComponentType).toBe('receive');
    expect(info.labelSets.map((s) => s.labels)).toEqual([ext('a')]);
    expect(info.store?.minTime).toBe(T0);
    expect(info.store?.maxTime).toBe(MAX_TIME);
    expect(info.store?.supportsWithoutReplicaLabels).toBe(true);
    expect(info.store?.tsdbInfos.map((t) => [t.labels?.labels, t.minTime])).toEqual([[ext('a'), T0]]);
    // An empty head starts at MaxInt64, as Prometheus's: no query reaches it.
    expect(new TSDBStore({ db: new Head() }).timeRange()).toEqual({ minTime: MAX_TIME, maxTime: MAX_TIME });
  });
});

describe('TSDBStore per tenant behind the proxy', () => {
  let dir: string;
  const dbs: DB[] = [];
  let proxy: ProxyStore;
  let server: StoreServer;
  let client: StoreClient;
  const tenants = ['b', 'a']; // not in label order: the merge sorts

  beforeAll(async () => {
    dir = await tempDir('tsdb-store');
    for (const t of tenants) {
      const db = await DB.open(`${dir}/${t}`, { autoCompact: false });
      await fill(db.appender(), seriesOf(t), t);
      dbs.push(db);
    }
    const stores = dbs.map((db, i) => new TSDBStore({ db, externalLabels: ext(tenants[i]) }));
    proxy = new ProxyStore({ endpoints: () => stores.map((s, i) => localEndpoint(s, () => s.info(), `tenant ${tenants[i]}`)), component: 'receive' });
    server = new StoreServer({ address: '127.0.0.1:0', store: proxy, info: proxy });
    await server.start();
    client = new StoreClient(server.address);
  });
  afterAll(async () => {
    client.close();
    await server.stop(1000);
    for (const db of dbs) await db.close();
    await removeTempDir(dir);
  });

  it('merges both tenants into one label-sorted, complete answer', async () => {
    const frames = await collect(client.series({ minTime: T0, maxTime: T0 + N * STEP, matchers: ALL_PROTO, responseBatchSize: 7 }));
    const got = dumpFrames(frames);
    const want = [...(await fromQuerier(dbs[0], T0, T0 + N * STEP, ext('b'))), ...(await fromQuerier(dbs[1], T0, T0 + N * STEP, ext('a')))];
    want.sort((x, y) => (x.labels < y.labels ? -1 : x.labels > y.labels ? 1 : 0));
    expect(got).toHaveLength(24);
    expect(got).toEqual(want);
    const labels = frames.flatMap((f) => f.batch?.series ?? (f.series ? [f.series] : [])).map((s) => s.labels);
    for (let i = 1; i < labels.length; i++) expect(compareLabels(labels[i - 1], labels[i])).toBeLessThan(0);

    // One tenant by its external label; the other is not asked.
    const onlyA = dumpFrames(await collect(client.series({ minTime: T0, maxTime: T0 + N * STEP, matchers: [...ALL_PROTO, { type: MatchType.EQ, name: 'tenant_id', value: 'a' }] })));
    expect(onlyA).toEqual(await fromQuerier(dbs[1], T0, T0 + N * STEP, ext('a')));
  });

  it('merges the replicas of a series within a tenant under without_replica_labels', async () => {
    const got = dumpFrames(await collect(proxy.seriesStream({ minTime: T0, maxTime: T0 + N * STEP, matchers: ALL, withoutReplicaLabels: ['replica'] })));
    // 2 tenants × 2 metrics × 3 instances; each with both replicas' chunks.
    expect(got).toHaveLength(12);
    expect(got[0].samples).toHaveLength(2 * N);
    expect(got.map((s) => s.labels)).toEqual([...got.map((s) => s.labels)].sort());
  });

  it('answers label calls and Info over both tenants', async () => {
    expect((await client.labelValues({ label: 'tenant_id' })).values).toEqual(['a', 'b']);
    expect((await client.labelNames({})).names).toEqual(['__name__', 'instance', 'receive', 'replica', 'tenant', 'tenant_id']);
    const info = await client.info();
    expect(info.ComponentType).toBe('receive');
    expect(info.labelSets.map((s) => s.labels)).toEqual([ext('a'), ext('b')]);
    expect(info.store?.minTime).toBe(T0);
    expect(info.store?.tsdbInfos).toHaveLength(2);
  });
});
