import { describe, expect, it } from 'vitest';
import { prometheus, thanos } from '@thanos-ts/storeapi';
import { hashLabels } from '@thanos-ts/tsdb';
import { scanWriteRequest } from './encoded-write-request.js';

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
