import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadBlock } from '@thanos-ts/block';
import { FilesystemBucket, getRangeBytes } from '@thanos-ts/objstore';
import type { Bucket } from '@thanos-ts/objstore';
import { Readable } from 'node:stream';
import { hintspb, typeUrl } from '@thanos-ts/storeapi';
import type { SeriesSink, StoreSeries, ValidatedSeriesRequest } from '@thanos-ts/storeapi';
import { removeTempDirs, tempDir, wrapMethods } from '@thanos-ts/testutil';
import { compareLabels, labelsFromRecord, labelsKey, labelsToString, MatchType, mergeLabels, newMatcher, SeriesBuilder, XorIterator } from '@thanos-ts/tsdb';
import type { Labels, Matcher } from '@thanos-ts/tsdb';
import { BucketStore } from './bucket-store.js';
import { SLAB_SIZE } from './chunk-pool.js';
import { InMemoryIndexCache } from './index-cache.js';
import { collectSeries, seriesRequest, testThanosMeta } from './series-fixture.js';

const H = 3600_000;

interface RefSeries {
  labels: Labels; // with external labels
  t: number[];
  v: number[];
}

/** Every sample written, by cluster, to check answers against. */
const reference: RefSeries[] = [];
let bucketDir: string;
let bkt: Bucket;
const fetched = { getRange: 0, get: 0 };

function seriesLabels(i: number): Labels {
  const rec: Record<string, string> = {
    __name__: i % 3 === 0 ? 'up' : 'http_requests_total',
    job: i % 2 === 0 ? 'api' : 'db',
    instance: `host-${i % 17}:9100`,
    idx: String(i),
  };
  if (i % 3 !== 0) rec.code = i % 5 === 0 ? '500' : '200';
  if (i % 7 === 0) rec.zone = 'z1';
  return labelsFromRecord(rec);
}

/** Writes one block of `n` series over [mint, maxt) for the given external labels. */
async function writeBlock(parent: string, ext: Record<string, string>, mint: number, maxt: number, n: number, step: number): Promise<string> {
  const b = new SeriesBuilder();
  const extLabels = labelsFromRecord(ext);
  for (let i = 0; i < n; i++) {
    const ls = seriesLabels(i);
    const ref: RefSeries = { labels: mergeLabels(ls, extLabels, true), t: [], v: [] };
    for (let t = mint + (i % 5) * 1000; t < maxt; t += step) {
      const v = i * 1000 + (t - mint) / step + (ext.replica === 'r1' ? 0.5 : 0);
      b.append(ls, t, v);
      ref.t.push(t);
      ref.v.push(v);
    }
    reference.push(ref);
  }
  const w = await b.writeBlock(parent, { mint, maxt, thanos: testThanosMeta(ext) });
  return w!.dir;
}

beforeAll(async () => {
  const local = await tempDir('store-blocks');
  bucketDir = await tempDir('store-bucket');
  const raw = new FilesystemBucket(bucketDir);
  bkt = wrapMethods<Bucket>(raw, {
    getRange: async (name, off, len) => {
      fetched.getRange++;
      return raw.getRange(name, off, len);
    },
    getRangeBytes: async (name, off, len) => {
      fetched.getRange++;
      return raw.getRangeBytes(name, off, len);
    },
    readRange: async (name, off, len, use) => {
      fetched.getRange++;
      return raw.readRange(name, off, len, use);
    },
    get: async (name) => {
      if (name.endsWith('/index') || name.includes('/chunks/')) fetched.get++;
      return raw.get(name);
    },
  });
  const dirs = [
    await writeBlock(local, { cluster: 'a', replica: 'r0' }, 0, 2 * H, 300, 15_000),
    await writeBlock(local, { cluster: 'a', replica: 'r0' }, 2 * H, 4 * H, 300, 15_000),
    await writeBlock(local, { cluster: 'b', replica: 'r1' }, 0, 2 * H, 120, 30_000),
  ];
  // Merge the two cluster-a blocks' reference series: the store returns them as one.
  const merged = new Map<string, RefSeries>();
  for (const r of reference) {
    const k = labelsKey(r.labels);
    const m = merged.get(k);
    if (m) {
      m.t.push(...r.t);
      m.v.push(...r.v);
    } else merged.set(k, { labels: r.labels, t: [...r.t], v: [...r.v] });
  }
  reference.length = 0;
  reference.push(...[...merged.values()].sort((a, b) => compareLabels(a.labels, b.labels)));
  for (const d of dirs) await uploadBlock(raw, d);
});

afterAll(async () => {
  await removeTempDirs();
});

async function newStore(opts: Partial<ConstructorParameters<typeof BucketStore>[0]> = {}): Promise<BucketStore> {
  const s = new BucketStore({
    bkt,
    dataDir: await tempDir('store-data'),
    indexCache: new InMemoryIndexCache({ maxSizeBytes: 64 << 20, maxItemSizeBytes: 32 << 20, enabledItems: [] }),
    chunkPoolBytes: 1 << 30,
    seriesBatchSize: 50,
    ...opts,
  });
  await s.syncBlocks();
  return s;
}

const request = (matchers: Matcher[], minTime: number, maxTime: number, extra: Partial<ValidatedSeriesRequest> = {}): ValidatedSeriesRequest =>
  seriesRequest(matchers, minTime, maxTime, extra);
const collect = collectSeries;

/** Samples of a store answer within [mint, maxt], per series, empty ones dropped. */
function samplesOf(series: StoreSeries[], mint: number, maxt: number): { labels: string; t: number[]; v: number[] }[] {
  const out: { labels: string; t: number[]; v: number[] }[] = [];
  for (const s of series) {
    const t: number[] = [];
    const v: number[] = [];
    for (const c of s.chunks) {
      expect(c.raw?.type).toBe(0);
      const it = new XorIterator(c.raw!.data);
      while (it.next()) {
        const ts = it.atT();
        if (ts >= mint && ts <= maxt) {
          t.push(ts);
          v.push(it.atF());
        }
      }
    }
    if (t.length > 0) out.push({ labels: labelsToString(s.labels), t, v });
  }
  return out;
}

function expected(matchers: Matcher[], mint: number, maxt: number, drop: string[] = []): { labels: string; t: number[]; v: number[] }[] {
  const out: { labels: string; t: number[]; v: number[] }[] = [];
  for (const r of reference) {
    if (!matchers.every((m) => m.matches(r.labels.find((l) => l.name === m.name)?.value ?? ''))) continue;
    const t: number[] = [];
    const v: number[] = [];
    for (let i = 0; i < r.t.length; i++) {
      if (r.t[i] >= mint && r.t[i] <= maxt) {
        t.push(r.t[i]);
        v.push(r.v[i]);
      }
    }
    if (t.length > 0) out.push({ labels: labelsToString(r.labels.filter((l) => !drop.includes(l.name))), t, v });
  }
  return out;
}

const eq = (n: string, v: string): Matcher => newMatcher(MatchType.EQ, n, v);
const neq = (n: string, v: string): Matcher => newMatcher(MatchType.NEQ, n, v);
const re = (n: string, v: string): Matcher => newMatcher(MatchType.RE, n, v);
const nre = (n: string, v: string): Matcher => newMatcher(MatchType.NRE, n, v);

describe('BucketStore', () => {
  it('serves every matcher kind across blocks and external label sets, sorted, sample for sample', async () => {
    const store = await newStore();
    expect(store.blockCount).toBe(3);
    fetched.get = 0;
    const cases: [string, Matcher[], number, number][] = [
      ['one metric', [eq('__name__', 'up')], 0, 4 * H],
      ['regex + not-equal', [eq('__name__', 'http_requests_total'), re('instance', 'host-1.*'), neq('code', '500')], 0, 4 * H],
      ['empty value selects the label absent', [eq('__name__', 'http_requests_total'), eq('zone', '')], 30 * 60_000, 3 * H],
      ['label present', [re('zone', '.+'), nre('job', 'db')], 0, 4 * H],
      ['external label only', [eq('cluster', 'b')], 0, 4 * H],
      ['external label mismatch', [eq('cluster', 'c'), eq('__name__', 'up')], 0, 4 * H],
      ['external regex and series label', [re('cluster', 'a|b'), eq('idx', '42')], H, H + 10 * 60_000],
      ['time range inside the second block', [eq('job', 'api')], 2 * H + 1000, 3 * H],
      ['set regex', [re('idx', '1|2|3|300|299')], 0, 4 * H],
    ];
    for (const [name, ms, mint, maxt] of cases) {
      const { series, hints } = await collect(store, request(ms, mint, maxt));
      const labels = series.map((s) => s.labels);
      expect([...labels].sort(compareLabels), name).toEqual(labels);
      expect(samplesOf(series, mint, maxt), name).toEqual(expected(ms, mint, maxt));
      expect(hints, name).toBe(1);
    }
    expect(fetched.get, 'never downloads a whole index or chunk file').toBe(0);
  });

  it('answers a repeated query from the index cache', async () => {
    const store = await newStore();
    const req = request([eq('__name__', 'up'), eq('job', 'api')], 0, 4 * H);
    await collect(store, req);
    const first = store.lastStats!;
    expect(first.postingsFetchedBytes).toBeGreaterThan(0);
    expect(first.seriesFetchedBytes).toBeGreaterThan(0);
    await collect(store, req);
    const second = store.lastStats!;
    expect(second.postingsFetchedBytes).toBe(0);
    expect(second.seriesFetchedBytes).toBe(0);
    expect(second.chunksFetchedBytes).toBeGreaterThan(0); // chunks are not cached in the index cache
  });

  it('answers with queried blocks, and with query statistics only when the request hints ask (as Thanos)', async () => {
    const store = await newStore();
    const hintsOf = async (req: ValidatedSeriesRequest): Promise<hintspb.SeriesResponseHints> => {
      let got: Uint8Array | null = null;
      await store.series(req, { series: () => undefined, warning: () => undefined, hints: (h) => void (got = h.value) }, new AbortController().signal);
      return hintspb.SeriesResponseHints.decode(got!);
    };
    const ms = [eq('__name__', 'up'), eq('job', 'api')];
    const plain = await hintsOf(request(ms, 0, 4 * H));
    expect(plain.queriedBlocks.length).toBeGreaterThan(0);
    expect(plain.queryStats).toBeNull();
    const asked = { type_url: typeUrl('hintspb.SeriesRequestHints'), value: hintspb.SeriesRequestHints.encode({ enableQueryStats: true }).finish() };
    const withStats = await hintsOf(request(ms, 0, 4 * H, { hints: asked } as Partial<ValidatedSeriesRequest>));
    expect(withStats.queriedBlocks).toEqual(plain.queriedBlocks);
    expect(Number(withStats.queryStats?.mergedSeriesCount)).toBeGreaterThan(0);
    expect(Number(withStats.queryStats?.blocksQueried)).toBe(plain.queriedBlocks.length);
  });

  it('drops replica labels on request, skips chunks, and honours the series limit field', async () => {
    const store = await newStore();
    const ms = [eq('__name__', 'up'), re('instance', 'host-3:.*')];
    const { series } = await collect(store, request(ms, 0, 4 * H, { withoutReplicaLabels: ['replica'] } as Partial<ValidatedSeriesRequest>));
    expect(series.length).toBeGreaterThan(0);
    expect(series.every((s) => !s.labels.some((l) => l.name === 'replica'))).toBe(true);
    expect(samplesOf(series, 0, 4 * H)).toEqual(expected(ms, 0, 4 * H, ['replica']));
    const skip = await collect(store, request(ms, 0, 4 * H, { skipChunks: true }));
    expect(skip.series.map((s) => labelsToString(s.labels))).toEqual(expected(ms, 0, 4 * H).map((e) => e.labels));
    expect(skip.series.every((s) => s.chunks.length === 0)).toBe(true);
    const limited = await collect(store, request([eq('__name__', 'up')], 0, 4 * H, { limit: 3 } as Partial<ValidatedSeriesRequest>));
    expect(limited.series).toHaveLength(3);
  });

  it('refuses requests over the series and sample limits with RESOURCE_EXHAUSTED errors', async () => {
    const store = await newStore({ seriesLimit: 10 });
    await expect(collect(store, request([eq('__name__', 'up')], 0, 4 * H))).rejects.toThrow(/exceeded series limit: limit 10 violated/);
    const store2 = await newStore({ samplesLimit: 120 * 5 });
    await expect(collect(store2, request([eq('__name__', 'up')], 0, 4 * H))).rejects.toThrow(/exceeded chunks limit: limit 5 violated/);
    await expect(collect(store2, request([eq('idx', '3')], 0, 30 * 60_000))).resolves.toBeDefined();
  });

  it('keeps fetched chunk data within --chunk-pool-size, and gives it all back', async () => {
    const small = await newStore({ chunkPoolBytes: 4096 });
    await expect(collect(small, request([eq('__name__', 'up')], 0, 4 * H))).rejects.toThrow(/chunk pool exhausted: \d+ bytes wanted/);
    expect(small.chunkPoolInUse).toBe(0);
    const big = await newStore({ chunkPoolBytes: 64 << 20 });
    await collect(big, request([eq('__name__', 'up')], 0, 4 * H));
    expect(big.chunkPoolInUse).toBe(0);
  });

  it('reads chunk ranges as they stream in, in pieces of any size, with the same answer', async () => {
    // A bucket that hands every range out in 7-byte pieces: records and their headers
    // straddle pieces, and gaps end mid-piece.
    const pieces = wrapMethods<Bucket>(bkt, {
      getRange: async (name, off, len) => {
        const all = Buffer.from(await getRangeBytes(bkt, name, off, len));
        return Readable.from(Array.from({ length: Math.ceil(all.length / 7) }, (_, i) => all.subarray(i * 7, i * 7 + 7)));
      },
      // Without the bucket's fast paths, every range streams in pieces.
      getRangeBytes: undefined,
      readRange: undefined,
    });
    const whole = await newStore();
    const streamed = await newStore({ bkt: pieces });
    for (const ms of [[eq('__name__', 'up')], [re('idx', '1|2|3|300|299')], [eq('cluster', 'b')]]) {
      const want = expected(ms, 0, 4 * H);
      expect(samplesOf((await collect(streamed, request(ms, 0, 4 * H))).series, 0, 4 * H)).toEqual(want);
      expect(samplesOf((await collect(whole, request(ms, 0, 4 * H))).series, 0, 4 * H)).toEqual(want);
      expect(streamed.lastStats!.chunksTouched).toBe(whole.lastStats!.chunksTouched);
      expect(streamed.lastStats!.chunkRefetches).toBe(0);
    }
  });

  it('keeps only the returned chunk bytes, in slabs reused by the next call', async () => {
    const store = await newStore();
    const req = request([eq('__name__', 'up')], 0, 4 * H);
    let held = 0;
    let touched = 0;
    let chunks = 0;
    const seen = new Set<ArrayBufferLike>();
    const sink: SeriesSink = {
      series: (s) => {
        for (const c of s.chunks) {
          touched += c.raw!.data.length;
          chunks++;
          seen.add(c.raw!.data.buffer);
        }
        return undefined;
      },
      warning: () => undefined,
      // Every load is done by the hints frame: what is in use is the answer's slabs.
      hints: () => void (held = store.chunkPoolInUse),
    };
    await store.series(req, sink, new AbortController().signal);
    const first = new Set(seen);
    // Records (chunk data with its length, encoding and CRC) packed into whole slabs.
    expect(held).toBeGreaterThanOrEqual(touched);
    expect(held).toBeLessThanOrEqual(Math.ceil((touched + 10 * chunks) / SLAB_SIZE + 1) * SLAB_SIZE);
    expect(store.chunkPoolInUse).toBe(0);
    seen.clear();
    await store.series(req, sink, new AbortController().signal);
    expect([...seen].some((b) => first.has(b)), 'the second call reuses slabs of the first').toBe(true);
  });

  it('refuses Series calls beyond the concurrency limit and its queue', async () => {
    const store = await newStore({ maxConcurrency: 1, maxQueued: 1 });
    const req = request([re('__name__', '.+')], 0, 4 * H);
    const results = await Promise.allSettled([collect(store, req), collect(store, req), collect(store, req), collect(store, req)]);
    const refused = results.filter((r) => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(refused).toHaveLength(2);
    for (const r of refused) expect(String((r as PromiseRejectedResult).reason)).toMatch(/too many concurrent Series calls/);
  });

  it('answers label names and values from index-headers and postings, with matchers and time ranges', async () => {
    const store = await newStore();
    const sig = new AbortController().signal;
    const names = await store.labelNames({ start: 0, end: 4 * H, parsedMatchers: [], matchers: [], withoutReplicaLabels: [], limit: 0 } as never, sig);
    expect(names.names).toEqual(['__name__', 'cluster', 'code', 'idx', 'instance', 'job', 'replica', 'zone']);
    const upNames = await store.labelNames({ start: 0, end: 4 * H, parsedMatchers: [eq('__name__', 'up')], matchers: [], withoutReplicaLabels: ['replica'], limit: 0 } as never, sig);
    expect(upNames.names).toEqual(['__name__', 'cluster', 'idx', 'instance', 'job', 'zone']);
    const jobs = await store.labelValues({ label: 'job', start: 0, end: 4 * H, parsedMatchers: [], matchers: [], withoutReplicaLabels: [], limit: 0 } as never, sig);
    expect(jobs.values).toEqual(['api', 'db']);
    const codes = await store.labelValues({ label: 'code', start: 0, end: 4 * H, parsedMatchers: [eq('job', 'db'), eq('cluster', 'b')], matchers: [], withoutReplicaLabels: [], limit: 0 } as never, sig);
    const want = new Set(reference.filter((r) => r.labels.some((l) => l.name === 'cluster' && l.value === 'b') && r.labels.some((l) => l.name === 'job' && l.value === 'db')).map((r) => r.labels.find((l) => l.name === 'code')?.value).filter((v) => v !== undefined));
    expect(codes.values).toEqual([...want].sort());
    const clusters = await store.labelValues({ label: 'cluster', start: 0, end: 4 * H, parsedMatchers: [eq('idx', '200')], matchers: [], withoutReplicaLabels: [], limit: 0 } as never, sig);
    expect(clusters.values).toEqual(['a']); // cluster b has only 120 series
    const later = await store.labelValues({ label: 'cluster', start: 3 * H, end: 4 * H, parsedMatchers: [], matchers: [], withoutReplicaLabels: [], limit: 0 } as never, sig);
    expect(later.values).toEqual(['a']);
  });

  it('reports external label sets and time range in Info, and follows blocks deleted from the bucket', async () => {
    const store = await newStore();
    const info = store.info();
    expect(info.labelSets!.map((s) => s.labels)).toEqual([
      [{ name: 'cluster', value: 'a' }, { name: 'replica', value: 'r0' }],
      [{ name: 'cluster', value: 'b' }, { name: 'replica', value: 'r1' }],
    ]);
    expect(info.store).toMatchObject({ minTime: 0, maxTime: 4 * H, supportsWithoutReplicaLabels: true });
    const victim = store.blockIds().find((id) => store.metas().find((m) => m.ulid === id)!.thanos.labels!.cluster === 'b')!;
    const dir = `${bucketDir}/${victim}`;
    const { rename } = await import('node:fs/promises');
    await rename(dir, `${dir}.hidden`);
    try {
      await store.syncBlocks();
      expect(store.blockCount).toBe(2);
      expect((await collect(store, request([eq('cluster', 'b')], 0, 4 * H))).series).toEqual([]);
    } finally {
      await rename(`${dir}.hidden`, dir);
    }
    await store.syncBlocks();
    expect(store.blockCount).toBe(3);
    expect((await collect(store, request([eq('cluster', 'b')], 0, 4 * H))).series.length).toBe(120);
  });

  it('serves only data within --min-time/--max-time', async () => {
    const store = await newStore({ minTime: 2 * H + 30 * 60_000, maxTime: 3 * H });
    const ms = [eq('__name__', 'up'), eq('instance', 'host-4:9100')];
    const { series } = await collect(store, request(ms, 0, 4 * H));
    expect(series.length).toBeGreaterThan(0);
    for (const s of series) for (const c of s.chunks) expect(c.maxTime >= 2 * H + 30 * 60_000 && c.minTime <= 3 * H).toBe(true);
    expect(samplesOf(series, 2 * H + 30 * 60_000, 3 * H)).toEqual(expected(ms, 2 * H + 30 * 60_000, 3 * H));
    expect(store.info().store).toMatchObject({ minTime: 2 * H + 30 * 60_000, maxTime: 3 * H });
  });

  it('keeps loaded index-headers within a byte cap, least recently used first', async () => {
    const probe = await newStore();
    await collect(probe, request([re('cluster', '.+'), eq('idx', '1')], 0, 4 * H));
    const all = probe.indexHeaderBytes; // all three loaded
    const store = await newStore({ indexHeaderMaxLoadedBytes: Math.floor((all * 2) / 3) + 1 });
    const { series } = await collect(store, request([re('cluster', '.+'), eq('idx', '1')], 0, 4 * H));
    expect(samplesOf(series, 0, 4 * H)).toEqual(expected([eq('idx', '1')], 0, 4 * H));
    expect(store.indexHeaderBytes).toBeLessThanOrEqual(Math.floor((all * 2) / 3) + 1);
    expect(store.indexHeaderBytes).toBeGreaterThan(0);
  });

  it('reads every index-header at sync unless lazy (Thanos default: not lazy)', async () => {
    const eager = await newStore({ lazyIndexHeaders: false });
    const lazy = await newStore({ lazyIndexHeaders: true });
    expect(lazy.indexHeaderBytes).toBe(0);
    await collect(lazy, request([re('cluster', '.+'), eq('idx', '1')], 0, 4 * H));
    // The eager store holds at sync what the lazy one loads for a query over every block.
    expect(eager.indexHeaderBytes).toBe(lazy.indexHeaderBytes);
    expect(eager.indexHeaderBytes).toBeGreaterThan(0);
  });

  it('loads index-headers lazily and unloads idle ones', async () => {
    const store = await newStore({ indexHeaderIdleTimeoutMs: 1 });
    expect(store.indexHeaderBytes).toBe(0);
    await collect(store, request([eq('cluster', 'b'), eq('idx', '1')], 0, 4 * H));
    expect(store.indexHeaderBytes).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 5));
    expect(store.unloadIdleHeaders()).toBe(1);
    expect(store.indexHeaderBytes).toBe(0);
  });
});
