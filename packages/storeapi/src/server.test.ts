import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Client, credentials } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { LimitExceededError, UnavailableError } from '@thanos-ts/runtime';
import { labelsToString } from '@thanos-ts/tsdb';
import { StoreClient } from './client.js';
import { Status, StoreAPIError } from './errors.js';
import { encodeHealthCheckResponse, ServingStatus } from './health.js';
import { thanos } from './proto.js';
import type { SeriesResponse } from './proto.js';
import { StoreServer } from './server.js';
import type { SeriesSink, StoreAPI, ValidatedSeriesRequest } from './server.js';
import { FakeStore, makeSeries } from './testing.js';

const T0 = 1_700_000_000_000;
const ALL = { minTime: 0, maxTime: 9e15, matchers: [{ type: 2, name: '__name__', value: '.+' }] };

async function collect(it: AsyncIterable<SeriesResponse>): Promise<SeriesResponse[]> {
  const out: SeriesResponse[] = [];
  for await (const r of it) out.push(r);
  return out;
}

async function expectStatus(p: Promise<unknown>, code: number, msg?: RegExp): Promise<StoreAPIError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StoreAPIError);
  const e = err as StoreAPIError;
  expect(e.code, e.message).toBe(code);
  if (msg) expect(e.message).toMatch(msg);
  return e;
}

describe('StoreServer + StoreClient over loopback gRPC', () => {
  const series = makeSeries(10_000, { t0: T0 });
  const store = new FakeStore({
    series,
    info: {
      ComponentType: 'sidecar',
      labelSets: [{ labels: [{ name: 'cluster', value: 'a' }] }],
      store: { minTime: T0, maxTime: T0 + 3_600_000, supportsWithoutReplicaLabels: true },
    },
  });
  const server = new StoreServer({ address: '127.0.0.1:0', store, info: store });
  let client: StoreClient;

  beforeAll(async () => {
    await server.start();
    client = new StoreClient(server.address);
  });
  afterAll(async () => {
    client.close();
    await server.stop(1000);
  });

  it('streams 10k series with their chunks intact, in order', async () => {
    // Measure with a bare loop, then check what arrived.
    const got: SeriesResponse[] = [];
    let t = performance.now();
    for await (const r of client.series(ALL)) got.push(r);
    const ms = performance.now() - t;
    t = performance.now();
    let batched = 0;
    for await (const r of client.series({ ...ALL, responseBatchSize: 64 })) batched += r.batch!.series.length;
    const msBatched = performance.now() - t;
    console.log(
      `series throughput, 10000 series x 1 chunk over loopback: ` +
        `${Math.round(10_000 / (ms / 1000))} series/s one per frame, ${Math.round(10_000 / (msBatched / 1000))} series/s in batches of 64`,
    );
    expect(batched).toBe(10_000);
    expect(got.length).toBe(10_000);
    let bytes = 0;
    let prev = '';
    for (let n = 0; n < got.length; n++) {
      const r = got[n];
      expect(r.result).toBe('series');
      const s = r.series!;
      const key = labelsToString(s.labels);
      expect(key).toBe(labelsToString(series[n].labels));
      expect(key > prev).toBe(true);
      prev = key;
      expect(s.chunks.length).toBe(1);
      expect(s.chunks[0].minTime).toBe(T0);
      expect(s.chunks[0].maxTime).toBe(T0 + 119 * 15_000);
      bytes += s.chunks[0].raw!.data.length;
    }
    expect(bytes).toBe(10_000 * series[0].chunks[0].raw!.data.length);
  });

  it('decodes chunk bytes as zero-copy views of the received frame', async () => {
    for await (const r of client.series({ ...ALL, limit: 1 })) {
      const data = r.series!.chunks[0].raw!.data;
      expect(Buffer.from(data).equals(Buffer.from(series[0].chunks[0].raw!.data))).toBe(true);
      // A view into the larger frame buffer, not a copy of its own.
      expect(data.buffer.byteLength).toBeGreaterThan(data.length);
    }
  });

  it('batches series when response_batch_size > 1', async () => {
    const frames = await collect(client.series({ ...ALL, responseBatchSize: 64, limit: 200 }));
    expect(frames.map((f) => f.result)).toEqual(['batch', 'batch', 'batch', 'batch']);
    expect(frames.map((f) => f.batch!.series.length)).toEqual([64, 64, 64, 8]);
    expect(labelsToString(frames[3].batch!.series[7].labels)).toBe(labelsToString(series[199].labels));
  });

  it('passes matchers, skip_chunks and limits through to the StoreAPI', async () => {
    const frames = await collect(
      client.series({ minTime: 0, maxTime: 9e15, skipChunks: true, matchers: [{ type: 2, name: 'i', value: '0*1' }] }),
    );
    expect(frames.map((f) => f.series!.labels.find((l) => l.name === 'i')!.value)).toEqual(['00001']);
    expect(frames[0].series!.chunks).toEqual([]);
    expect(store.lastRequest!.parsedMatchers[0].toString()).toBe('i=~"0*1"');
  });

  it('serves LabelNames, LabelValues and Info', async () => {
    const names = await client.labelNames({ start: 0, end: 9e15 });
    expect(names.names).toEqual(['__name__', 'i', 'job']);
    const values = await client.labelValues({ label: 'i', start: 0, end: 9e15, matchers: [{ type: 2, name: 'i', value: '0000.' }] });
    expect(values.values).toEqual(['00000', '00001', '00002', '00003', '00004', '00005', '00006', '00007', '00008', '00009']);
    const info = await client.info();
    expect(info.ComponentType).toBe('sidecar');
    expect(info.labelSets.map((s) => labelsToString(s.labels))).toEqual(['{cluster="a"}']);
    expect(info.store!.minTime).toBe(T0);
    expect(info.store!.maxTime).toBe(T0 + 3_600_000);
    expect(info.store!.supportsWithoutReplicaLabels).toBe(true);
    expect(info.store!.supportsSharding).toBe(false);
    expect(info.rules).toBeNull();
  });

  it('answers INVALID_ARGUMENT for min_time > max_time, unknown matcher types and bad regexes', async () => {
    await expectStatus(collect(client.series({ minTime: 10, maxTime: 5 })), Status.INVALID_ARGUMENT, /min_time > max_time/);
    await expectStatus(
      collect(client.series({ minTime: 0, maxTime: 5, matchers: [{ type: 7 as never, name: 'a', value: 'b' }] })),
      Status.INVALID_ARGUMENT,
      /unrecognized label matcher type 7/,
    );
    const e = await expectStatus(
      collect(client.series({ minTime: 0, maxTime: 5, matchers: [{ type: 2, name: 'a', value: '(' }] })),
      Status.INVALID_ARGUMENT,
      /error parsing regexp: missing closing \): `\(`/,
    );
    expect(e.message).toMatch(/^store 127\.0\.0\.1:\d+: Series: rpc error: code = InvalidArgument desc = /);
    await expectStatus(
      client.labelValues({ label: 'a', matchers: [{ type: 3, name: 'a', value: '[' }] }),
      Status.INVALID_ARGUMENT,
      /LabelValues: rpc error: code = InvalidArgument desc = invalid matcher a!~"\[": error parsing regexp/,
    );
    await expectStatus(client.labelValues({}), Status.INVALID_ARGUMENT, /label name parameter cannot be empty/);
  });

  it('answers malformed protobuf with INVALID_ARGUMENT and keeps serving', async () => {
    const raw = new Client(server.address, credentials.createInsecure());
    const garbage = Buffer.from([0x0a, 0xff, 0xff, 0x01, 0x02]); // field 1 (LEN) of 32767 bytes, 2 present
    for (const path of ['/thanos.Store/Series', '/thanos.Store/LabelNames', '/thanos.info.Info/Info']) {
      const err = await new Promise<ServiceError>((resolve) => {
        if (path.endsWith('Series')) {
          const call = raw.makeServerStreamRequest(path, (b: Buffer) => b, (b: Buffer) => b, garbage, {});
          call.on('data', () => {});
          call.on('error', resolve);
        } else {
          raw.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, garbage, (e) => resolve(e!));
        }
      });
      expect(err.code, path).toBe(Status.INVALID_ARGUMENT);
      expect(err.details).toMatch(/^malformed (SeriesRequest|LabelNamesRequest|InfoRequest): /);
    }
    raw.close();
    expect((await client.labelNames({})).names.length).toBe(3);
  });

  it('answers grpc.health.v1 Check', async () => {
    const raw = new Client(server.address, credentials.createInsecure());
    const check = (body: Buffer): Promise<Buffer> =>
      new Promise((resolve, reject) =>
        raw.makeUnaryRequest('/grpc.health.v1.Health/Check', (b: Buffer) => b, (b: Buffer) => b, body, (e, v) => (e ? reject(e) : resolve(v!))),
      );
    expect(await check(Buffer.alloc(0))).toEqual(encodeHealthCheckResponse(ServingStatus.SERVING));
    expect(await check(Buffer.from('\x0a\x0cthanos.Store'))).toEqual(Buffer.from([8, 1]));
    await expect(check(Buffer.from('\x0a\x03foo'))).rejects.toMatchObject({ code: Status.NOT_FOUND });
    raw.close();
  });

  it('answers grpc.health.v1 Watch with the status and each change', async () => {
    const raw = new Client(server.address, credentials.createInsecure());
    const watch = (body: Buffer): { got: Buffer[]; cancel: () => void } => {
      const got: Buffer[] = [];
      const call = raw.makeServerStreamRequest('/grpc.health.v1.Health/Watch', (b: Buffer) => b, (b: Buffer) => b, body, {});
      call.on('data', (b: Buffer) => got.push(b));
      call.on('error', () => {});
      return { got, cancel: () => call.cancel() };
    };
    const store = watch(Buffer.from('\x0a\x0cthanos.Store'));
    const unknown = watch(Buffer.from('\x0a\x03foo'));
    await vi.waitUntil(() => store.got.length === 1 && unknown.got.length === 1);
    expect(store.got[0]).toEqual(Buffer.from([8, ServingStatus.SERVING]));
    expect(unknown.got[0]).toEqual(Buffer.from([8, ServingStatus.SERVICE_UNKNOWN]));
    server.setServing(false);
    await vi.waitUntil(() => store.got.length === 2);
    expect(store.got[1]).toEqual(Buffer.from([8, ServingStatus.NOT_SERVING]));
    server.setServing(true);
    await vi.waitUntil(() => store.got.length === 3);
    expect(store.got[2]).toEqual(Buffer.from([8, ServingStatus.SERVING]));
    expect(unknown.got.length).toBe(1);
    store.cancel();
    unknown.cancel();
    raw.close();
  });

  it('cancels the server side when the client aborts mid-stream', async () => {
    const ac = new AbortController();
    let n = 0;
    const err = await (async () => {
      for await (const r of client.series(ALL, { signal: ac.signal })) {
        expect(r.series).toBeTruthy();
        if (++n === 100) ac.abort(new Error('enough'));
      }
    })().catch((e: unknown) => e);
    expect((err as Error).message).toBe('enough');
    await store.done;
    expect(store.aborted).toBe(true);
    expect(store.sentAfterAbort).toBe(0);
    // Backpressure kept the server from racing ahead: far fewer than 10k series left it.
    expect(store.sent).toBeLessThan(5000);
  });

  it('cancels the call when the consumer stops iterating', async () => {
    let n = 0;
    for await (const r of client.series(ALL)) {
      expect(r.series).toBeTruthy();
      if (++n === 10) break;
    }
    await store.done;
    expect(store.aborted).toBe(true);
    expect(store.sentAfterAbort).toBe(0);
  });
});

describe('StoreServer: series handed over already encoded', () => {
  // Odd series go as objects, even ones as encoded SeriesResponse{series} bytes (as the
  // sidecar passes Prometheus's chunks through): unbatched and batched, the client reads
  // the same series in the same order.
  const series = makeSeries(10, { t0: T0 });
  const store: StoreAPI = {
    async series(_req: ValidatedSeriesRequest, sink: SeriesSink): Promise<void> {
      for (let i = 0; i < series.length; i++) {
        const bytes = thanos.SeriesResponse.encode({ series: series[i] as thanos.Series.$Properties }).finish();
        const p = i % 2 === 0 && sink.encodedSeries ? sink.encodedSeries(bytes) : sink.series(series[i]);
        if (p) await p;
      }
    },
    labelNames: async () => ({ names: [], warnings: [] }),
    labelValues: async () => ({ values: [], warnings: [] }),
  };
  const server = new StoreServer({ address: '127.0.0.1:0', store });
  let client: StoreClient;
  beforeAll(async () => {
    await server.start();
    client = new StoreClient(server.address);
  });
  afterAll(async () => {
    client.close();
    await server.stop(1000);
  });

  it('mixes objects and bytes in single and batched frames', async () => {
    const plain = (ss: readonly { labels: unknown; chunks: { minTime: number; maxTime: number; raw?: { data: Uint8Array } | null }[] }[]) =>
      ss.map((x) => ({ labels: x.labels, chunks: x.chunks.map((c) => [c.minTime, c.maxTime, Array.from(c.raw?.data ?? [])]) }));
    for (const responseBatchSize of [0, 3]) {
      const frames = await collect(client.series({ ...ALL, responseBatchSize }));
      const got = frames.flatMap((f) => (f.series ? [f.series] : (f.batch?.series ?? [])));
      expect(plain(got), `batch ${responseBatchSize}`).toEqual(plain(series));
      expect(frames.filter((f) => f.batch).length, `batch ${responseBatchSize}`).toBe(responseBatchSize === 0 ? 0 : 4);
    }
  });
});

describe('StoreServer error mapping and deadlines', () => {
  let mode = '';
  const slow: StoreAPI = {
    async series(req: ValidatedSeriesRequest, sink: SeriesSink, signal: AbortSignal): Promise<void> {
      if (mode === 'unavailable') throw new UnavailableError('prometheus answered 503');
      if (mode === 'limit') throw new LimitExceededError('exceeded series limit of 1');
      if (mode === 'internal') throw new TypeError('oops');
      if (mode === 'warn') {
        await sink.warning('one source failed');
        await sink.series({ labels: [{ name: 'a', value: '1' }], chunks: [] });
        return;
      }
      // 'hang': wait until cancelled.
      await new Promise<void>((_, reject) =>
        signal.addEventListener('abort', () => {
          slowAborted = true;
          reject(signal.reason);
        }),
      );
    },
    async labelNames() {
      throw new UnavailableError('backend down');
    },
    async labelValues(_req, signal) {
      await new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      return { values: [], warnings: [] };
    },
  };
  let slowAborted = false;
  const server = new StoreServer({ address: '127.0.0.1:0', store: slow });
  let client: StoreClient;

  beforeAll(async () => {
    await server.start();
    client = new StoreClient(server.address);
  });
  afterAll(async () => {
    client.close();
    await server.stop(1000);
  });

  it('maps typed errors to status codes', async () => {
    mode = 'unavailable';
    await expectStatus(collect(client.series({})), Status.UNAVAILABLE, /code = Unavailable desc = prometheus answered 503$/);
    mode = 'limit';
    await expectStatus(collect(client.series({})), Status.RESOURCE_EXHAUSTED, /exceeded series limit/);
    mode = 'internal';
    await expectStatus(collect(client.series({})), Status.INTERNAL, /desc = oops/);
    await expectStatus(client.labelNames({}), Status.UNAVAILABLE, /LabelNames: .*backend down/);
  });

  it('passes warnings through in order', async () => {
    mode = 'warn';
    const frames = await collect(client.series({}));
    expect(frames.map((f) => f.result)).toEqual(['warning', 'series']);
    expect(frames[0].warning).toBe('one source failed');
  });

  it('fails with DEADLINE_EXCEEDED and aborts the server side', async () => {
    mode = 'hang';
    slowAborted = false;
    await expectStatus(collect(client.series({}, { timeoutMs: 200 })), Status.DEADLINE_EXCEEDED, /DeadlineExceeded/);
    await expectStatus(client.labelValues({ label: 'x' }, { timeoutMs: 100 }), Status.DEADLINE_EXCEEDED);
    expect(slowAborted).toBe(true);
  });

  it('rejects unary calls with the abort reason when the caller aborts', async () => {
    const ac = new AbortController();
    const p = client.labelValues({ label: 'x' }, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('caller gave up')), 50);
    await expect(p).rejects.toThrow('caller gave up');
  });

  it('reports an unreachable endpoint as UNAVAILABLE naming the address', async () => {
    const c = new StoreClient('127.0.0.1:1');
    const e = await expectStatus(collect(c.series({}, { timeoutMs: 5000 })), Status.UNAVAILABLE);
    expect(e.message).toMatch(/^store 127\.0\.0\.1:1: Series: rpc error: code = Unavailable desc = /);
    c.close();
  });
});
