import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBlocksFromOpenMetrics, removeTempDirs, startPrometheus, tempDir } from '@thanos-ts/testutil';
import type { PrometheusInstance } from '@thanos-ts/testutil';
import { labelsEqual, labelsFromRecord, withoutLabels } from '@thanos-ts/tsdb';
import type { Labels } from '@thanos-ts/tsdb';
import { matchersToPromProto, PrefixRunSorter, thanos, validateSeriesRequest, withExternalLabels } from '@thanos-ts/storeapi';
import type { AggrChunk, SeriesSink, StoreSeries, ValidatedSeriesRequest } from '@thanos-ts/storeapi';
import { PromClient } from './promclient.js';
import { PrometheusStore } from './prometheus-store.js';
import type { EncodedSeriesSink } from './prometheus-store.js';

// A real Prometheus over backfilled blocks, with frames cut at 2000 chunk bytes so that
// every series spans several frames. External labels cluster="c1", replica="r1".
let prom: PrometheusInstance;
let client: PromClient;
const ext = labelsFromRecord({ cluster: 'c1', replica: 'r1' });
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 10 * 3_600_000;
const STEP = 15_000;
const SAMPLES = 6 * 240; // 6h

beforeAll(async () => {
  const lines: string[] = [];
  const series = [
    ...Array.from({ length: 8 }, (_, i) => `m{job="a",i="${i}"}`),
    'm{job="a",replica="own"}', // overridden by the external replica label
    'p{a="1"}', // with the external labels, sorts after the next one
    'p{a="1",b="2"}',
    'e{job="b"}', // one sample: one short chunk
  ];
  for (const [k, s] of series.entries()) {
    const n = s.startsWith('e') ? 1 : SAMPLES;
    for (let j = 0; j < n; j++) lines.push(`${s} ${Math.sin(j / 10) * 100 + k} ${(T0 + j * STEP) / 1000}`);
  }
  const dir = await tempDir('prom-store');
  await createBlocksFromOpenMetrics(`${lines.join('\n')}\n# EOF\n`, dir);
  prom = await startPrometheus({
    dataDir: dir,
    externalLabels: { cluster: 'c1', replica: 'r1' },
    scrapeSelf: false,
    extraArgs: ['--storage.tsdb.retention.time=100y', '--storage.remote.read-max-bytes-in-frame=2000'],
  });
  client = new PromClient(prom.url);
}, 60_000);

afterAll(async () => {
  client?.close();
  await prom?.stop();
  await removeTempDirs();
});

/** A Series as plain values (defaults read as a decoder does). */
function plain(s: thanos.ISeries | StoreSeries): unknown {
  return {
    labels: (s.labels ?? []).map((l) => `${l.name}=${l.value}`).join(','),
    chunks: (s.chunks ?? []).map((c) => {
      const a = c as AggrChunk;
      return [Number(a.minTime ?? 0), Number(a.maxTime ?? 0), a.raw?.type ?? 0, Buffer.from(a.raw?.data ?? []).toString('hex')];
    }),
  };
}

/** Collects what PrometheusStore sends, through encodedSeries or as objects. */
function captureSink(encoded: boolean): { sink: SeriesSink; got: unknown[] } {
  const got: unknown[] = [];
  const sink: SeriesSink = {
    series: (s) => void got.push(plain(s)),
    warning: () => undefined,
    hints: () => undefined,
  };
  if (encoded) (sink as EncodedSeriesSink).encodedSeries = (b) => void got.push(plain(thanos.SeriesResponse.decode(b).series!));
  return { sink, got };
}

function request(init: thanos.ISeriesRequest): ValidatedSeriesRequest {
  return validateSeriesRequest(thanos.SeriesRequest.decode(thanos.SeriesRequest.encode(init).finish()));
}

/**
 * The sidecar's answer as it was before the pass-through: frames decoded by protobufjs,
 * chunks as objects, external labels applied the same way.
 */
async function oldAnswer(req: ValidatedSeriesRequest): Promise<unknown[]> {
  const extNames = ext.map((l) => l.name);
  const matchers = req.parsedMatchers.filter((m) => !extNames.includes(m.name));
  const finalExt = req.withoutReplicaLabels?.length ? withoutLabels(ext, req.withoutReplicaLabels) : ext;
  const out: unknown[] = [];
  const sorter = new PrefixRunSorter<AggrChunk[]>((labels, chunks) => void out.push(plain({ labels, chunks })));
  let cur: { key: Labels; final: Labels; chunks: AggrChunk[] } | null = null;
  let sent = 0;
  const limit = Number(req.limit ?? 0);
  const query = { startTimestampMs: Number(req.minTime), endTimestampMs: Number(req.maxTime), matchers: matchersToPromProto(matchers) };
  outer: for await (const frame of client.remoteRead(query)) {
    for (const cs of frame.chunkedSeries) {
      const key = withoutLabels(cs.labels, extNames);
      const chunks = cs.chunks.map((c) => ({ minTime: c.minTimeMs, maxTime: c.maxTimeMs, raw: { type: c.type - 1, data: c.data } }));
      if (cur !== null && labelsEqual(cur.key, key)) {
        cur.chunks.push(...chunks);
        continue;
      }
      if (cur !== null) {
        await sorter.push(cur.key, cur.final, cur.chunks);
        if (limit > 0 && ++sent >= limit) break outer;
      }
      cur = { key, final: withExternalLabels(key, finalExt), chunks };
    }
  }
  if (cur !== null && !(limit > 0 && sent >= limit)) await sorter.push(cur.key, cur.final, cur.chunks);
  await sorter.flush();
  return out;
}

describe('PrometheusStore.series against a real Prometheus', () => {
  const store = (): PrometheusStore => new PrometheusStore({ client, externalLabels: () => ext, minTime: () => -(2 ** 63) });
  const all = { type: thanos.LabelMatcher.Type.RE, name: '__name__', value: '.+' };
  const cases: [string, thanos.ISeriesRequest][] = [
    ['every series, every sample', { minTime: 0, maxTime: T0 + 24 * 3_600_000, matchers: [all] }],
    ['a time slice', { minTime: T0 + 3_600_000, maxTime: T0 + 2 * 3_600_000, matchers: [all] }],
    ['without the replica label', { minTime: 0, maxTime: T0 + 24 * 3_600_000, matchers: [all], withoutReplicaLabels: ['replica'] }],
    ['a limit', { minTime: 0, maxTime: T0 + 24 * 3_600_000, matchers: [all], limit: 3 }],
    ['an external label matcher', { minTime: 0, maxTime: T0 + 24 * 3_600_000, matchers: [{ type: 0, name: 'cluster', value: 'c1' }, { type: 0, name: 'job', value: 'a' }] }],
  ];

  for (const [name, init] of cases) {
    it(`sends what the decode and re-encode path sent: ${name}`, async () => {
      const want = await oldAnswer(request(init));
      expect(want.length).toBeGreaterThan(0);
      for (const encoded of [true, false]) {
        const { sink, got } = captureSink(encoded);
        await store().series(request(init), sink, new AbortController().signal);
        expect(got, encoded ? 'encoded' : 'objects').toEqual(want);
      }
    });
  }

  it('overrides series labels with external ones and keeps the answer sorted', async () => {
    const { sink, got } = captureSink(true);
    await store().series(request(cases[0][1]), sink, new AbortController().signal);
    const labels = (got as { labels: string; chunks: unknown[] }[]).map((s) => s.labels);
    expect(labels).toContain('__name__=m,cluster=c1,job=a,replica=r1');
    expect(labels.some((l) => l.includes('replica=own'))).toBe(false);
    expect(labels.indexOf('__name__=p,a=1,b=2,cluster=c1,replica=r1')).toBeLessThan(labels.indexOf('__name__=p,a=1,cluster=c1,replica=r1'));
    // Each series once, with all its chunks though Prometheus cut it into many frames.
    expect(new Set(labels).size).toBe(labels.length);
    const m0 = (got as { labels: string; chunks: number[][] }[]).find((s) => s.labels === '__name__=m,cluster=c1,i=0,job=a,replica=r1')!;
    expect(m0.chunks.length).toBeGreaterThanOrEqual(12);
    expect(m0.chunks[0][0]).toBe(T0);
    expect(m0.chunks.at(-1)![1]).toBe(T0 + (SAMPLES - 1) * STEP);
    let frames = 0;
    for await (const f of client.remoteRead({ startTimestampMs: 0, endTimestampMs: T0 + 24 * 3_600_000, matchers: [{ type: 0, name: 'i', value: '0' }] })) {
      expect(f.chunkedSeries).toHaveLength(1);
      frames++;
    }
    expect(frames).toBeGreaterThan(1);
  });
});
