import { describe, expect, it } from 'vitest';
import { prometheus, thanos } from '@thanos-ts/storeapi';
import { hashLabels } from '@thanos-ts/tsdb';
import { scanForwardRequest, scanWriteRequest } from './encoded-write-request.js';
import type { EncodedWriteRequest } from './encoded-write-request.js';

type Series = { labels: [string, string][]; samples: [number, number][] };

function encode(series: Series[], extra: Partial<prometheus.TimeSeries.$Properties> = {}): Uint8Array {
  return prometheus.WriteRequest.encode({
    timeseries: series.map((s) => ({
      labels: s.labels.map(([name, value]) => ({ name, value })),
      samples: s.samples.map(([timestamp, value]) => ({ timestamp, value })),
      ...extra,
    })),
    metadata: [{ metricFamilyName: 'up', help: 'x' }],
  }).finish();
}

describe('scanWriteRequest', () => {
  const series: Series[] = [
    { labels: [['__name__', 'up'], ['job', 'node']], samples: [[1000, 1], [2000, -0.5]] },
    { labels: [['__name__', 'temp'], ['city', 'Zürich']], samples: [[-5, NaN], [1_700_000_000_123, 1e300]] },
    { labels: [['__name__', 'none']], samples: [] },
  ];

  it('reads series, their label hashes and samples in place', () => {
    const req = scanWriteRequest(encode(series))!;
    expect(req).not.toBeNull();
    expect(req.n).toBe(3);
    expect(req.numSamples).toBe(4);
    for (let i = 0; i < series.length; i++) {
      const want = series[i].labels.map(([name, value]) => ({ name, value }));
      expect(req.labels(i)).toEqual(want);
      expect(req.hash[i]).toBe(hashLabels(want));
      expect(req.labelsEqual(i, want)).toBe(true);
      expect(req.labelsEqual(i, want.slice(1))).toBe(false);
      expect(req.labelsEqual(i, [...want, { name: 'z', value: '1' }])).toBe(false);
      const got: [number, number][] = [];
      for (let j = req.firstSample[i]; j < req.firstSample[i + 1]; j++) got.push([req.ts[j], req.vs[j]]);
      expect(got).toEqual(series[i].samples);
      expect(req.samplesOf(i)).toBe(series[i].samples.length);
    }
  });

  it('passes a series on as the bytes it came in', () => {
    const req = scanWriteRequest(encode(series))!;
    const fields = [0, 2].map((i) => req.seriesField(i));
    const total = fields.reduce((n, f) => n + f.length, 0);
    const tuple = new Uint8Array(total);
    let o = 0;
    for (const f of fields) {
      tuple.set(f, o);
      o += f.length;
    }
    const got = thanos.TimeSeriesTenantTuple.decode(tuple);
    expect(got.timeseries.map((t) => t.labels!.map((l) => l.value))).toEqual([['up', 'node'], ['none']]);
  });

  it('grows past its first guess of sizes', () => {
    const many: Series[] = [];
    for (let i = 0; i < 500; i++) many.push({ labels: [['i', String(i)]], samples: [[i, i], [i + 1, i]] });
    const req = scanWriteRequest(encode(many))!;
    expect(req.n).toBe(500);
    expect(req.numSamples).toBe(1000);
    expect(req.labels(499)).toEqual([{ name: 'i', value: '499' }]);
    expect(req.ts[999]).toBe(500);
  });

  it('leaves to the generated codec what it does not read: exemplars, histograms, bad bytes', () => {
    expect(scanWriteRequest(encode(series, { exemplars: [{ value: 1, timestamp: 1, labels: [] }] }))).toBeNull();
    expect(scanWriteRequest(encode(series, { histograms: [{ timestamp: 1 }] }))).toBeNull();
    const ok = encode(series);
    expect(scanWriteRequest(ok.subarray(0, ok.length - 3))).toBeNull();
    expect(scanWriteRequest(Uint8Array.of(0x0a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 0xff))).toBeNull(); // invalid UTF-8
    expect(scanWriteRequest(Uint8Array.of(0x08, 0x01))).toBeNull(); // unknown varint field
    expect(scanWriteRequest(new Uint8Array(0))!.n).toBe(0);
  });
});

describe('EncodedWriteRequest.labelRanges', () => {
  it("gives each label's name and value bytes, growing past 16 labels", () => {
    const labels: [string, string][] = Array.from({ length: 20 }, (_, i) => [`n${String(i).padStart(2, '0')}`, i === 3 ? 'Zürich' : `v${i}`]);
    const req = scanWriteRequest(encode([{ labels, samples: [[1, 1]] }]))!;
    const k = req.labelRanges(0);
    expect(k).toBe(20);
    const dec = new TextDecoder();
    const got: [string, string][] = [];
    for (let j = 0; j < k; j++) {
      const r = req.ranges;
      got.push([dec.decode(req.buf.subarray(r[4 * j], r[4 * j + 1])), dec.decode(req.buf.subarray(r[4 * j + 2], r[4 * j + 3]))]);
    }
    expect(got).toEqual(labels);
  });
});

describe('scanForwardRequest', () => {
  type Tuple = { tenant?: string; series: Series[] };
  const ts = (series: Series[], extra: Partial<prometheus.TimeSeries.$Properties> = {}): thanos.TimeSeriesTenantTuple.$Properties['timeseries'] =>
    series.map((s) => ({ labels: s.labels.map(([name, value]) => ({ name, value })), samples: s.samples.map(([timestamp, value]) => ({ timestamp, value })), ...extra }));
  const forward = (tuples: Tuple[], replica?: number): Uint8Array =>
    thanos.WriteRequest.encode({ timeseriesTenantData: tuples.map((t) => ({ tenant: t.tenant, timeseries: ts(t.series) })), replica }).finish();

  const read = (e: EncodedWriteRequest): { labels: string[]; samples: [number, number][] }[] =>
    Array.from({ length: e.n }, (_, i) => ({
      labels: e.labels(i).map((l) => `${l.name}=${l.value}`),
      samples: Array.from({ length: e.samplesOf(i) }, (_, j): [number, number] => [e.ts[e.firstSample[i] + j], e.vs[e.firstSample[i] + j]]),
    }));

  const a: Series[] = [
    { labels: [['__name__', 'up'], ['job', 'a']], samples: [[1000, 1]] },
    { labels: [['__name__', 'up'], ['job', 'b']], samples: [[1000, 0], [2000, 1]] },
  ];
  const b: Series[] = [{ labels: [['__name__', 'temp'], ['city', 'Zürich']], samples: [[5, 21.5]] }];

  it("reads the tenants' series, their hashes and the replica as the codec decodes them", () => {
    const buf = forward([{ tenant: 'team-a', series: a }, { tenant: 'team-ü', series: b }, { series: [] }], 3);
    const got = scanForwardRequest(buf)!;
    expect(got.replica).toBe(3);
    expect(got.tenants.map((t) => t.tenant)).toEqual(['team-a', 'team-ü', '']);
    const dec = thanos.WriteRequest.decode(buf);
    got.tenants.forEach((t, k) => {
      const want = (dec.timeseriesTenantData[k].timeseries ?? []).map((s) => ({
        labels: (s.labels ?? []).map((l) => `${l.name}=${l.value}`),
        samples: (s.samples ?? []).map((x): [number, number] => [Number(x.timestamp), x.value ?? 0]),
      }));
      expect(read(t.encoded)).toEqual(want);
      for (let i = 0; i < t.encoded.n; i++) expect(t.encoded.hash[i]).toBe(hashLabels(t.encoded.labels(i)));
    });
    // Forwarding passes the same bytes on.
    expect(thanos.TimeSeriesTenantTuple.decode(got.tenants[1].encoded.seriesField(0)).timeseries?.[0].labels?.[1].value).toBe('Zürich');
  });

  it('reads the legacy timeseries and tenant when there are no tuples, and replica 0 when unset', () => {
    const buf = thanos.WriteRequest.encode({ timeseries: ts(a), tenant: 'old' }).finish();
    const got = scanForwardRequest(buf)!;
    expect(got.replica).toBe(0);
    expect(got.tenants.map((t) => t.tenant)).toEqual(['old']);
    expect(read(got.tenants[0].encoded).map((s) => s.labels)).toEqual([['__name__=up', 'job=a'], ['__name__=up', 'job=b']]);
    // Tuples win over the legacy fields, as in the generic path.
    const both = thanos.WriteRequest.encode({ timeseries: ts(a), tenant: 'old', timeseriesTenantData: [{ tenant: 'new', timeseries: ts(b) }] }).finish();
    const g2 = scanForwardRequest(both)!;
    expect(g2.tenants.map((t) => [t.tenant, t.encoded.n])).toEqual([['new', 1]]);
    const empty = scanForwardRequest(new Uint8Array(0))!;
    expect(empty.tenants.map((t) => [t.tenant, t.encoded.n])).toEqual([['', 0]]);
  });

  it('leaves to the codec: exemplars, a tenant twice, unknown fields, truncation, bad UTF-8 tenants', () => {
    const withExemplar = thanos.WriteRequest.encode({ timeseriesTenantData: [{ tenant: 't', timeseries: ts(a, { exemplars: [{ value: 1, timestamp: 1, labels: [] }] }) }] }).finish();
    expect(scanForwardRequest(withExemplar)).toBeNull();
    expect(scanForwardRequest(forward([{ tenant: 't', series: a }, { tenant: 't', series: b }]))).toBeNull();
    const ok = forward([{ tenant: 't', series: a }], 1);
    expect(scanForwardRequest(ok.subarray(0, ok.length - 4))).toBeNull();
    expect(scanForwardRequest(Uint8Array.of(0x28, 0x01))).toBeNull(); // field 5
    expect(scanForwardRequest(Uint8Array.of(0x22, 0x03, 0x12, 0x01, 0xff))).toBeNull();
    expect(scanForwardRequest(Uint8Array.of(0x12, 0x01, 0xff))).toBeNull();
  });
});
