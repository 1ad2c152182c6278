import { describe, expect, it } from 'vitest';
import { labelsFromRecord, withoutLabels } from '@thanos-ts/tsdb';
import type { Labels } from '@thanos-ts/tsdb';
import { makeXorChunk, prometheus, thanos, withExternalLabels } from '@thanos-ts/storeapi';
import type { AggrChunk, ChunkedReadResponse, StoreSeries } from '@thanos-ts/storeapi';
import { encodeSeriesResponse, parseChunkedReadResponse, toStoreSeries } from './chunked-series.js';

type PromChunk = prometheus.Chunk.$Properties;

/** A thanos.Series as plain values, reading defaults as a decoder does. */
function plain(s: thanos.ISeries | StoreSeries): unknown {
  return {
    labels: (s.labels ?? []).map((l) => ({ name: l.name ?? '', value: l.value ?? '' })),
    chunks: (s.chunks ?? []).map((c) => {
      const a = c as AggrChunk;
      return {
        minTime: Number(a.minTime ?? 0),
        maxTime: Number(a.maxTime ?? 0),
        raw: a.raw ? { type: a.raw.type ?? 0, data: Buffer.from(a.raw.data ?? []).toString('hex') } : null,
        others: [a.count, a.sum, a.min, a.max, a.counter].filter((x) => x != null).length,
      };
    }),
  };
}

/** What the sidecar sent before the pass-through: protobufjs decode, objects, protobufjs encode. */
function oldPath(frames: Uint8Array[], labels: Labels): unknown {
  const chunks: AggrChunk[] = [];
  for (const f of frames) {
    for (const cs of (prometheus.ChunkedReadResponse.decode(f) as unknown as ChunkedReadResponse).chunkedSeries) {
      for (const c of cs.chunks) chunks.push({ minTime: Number(c.minTimeMs), maxTime: Number(c.maxTimeMs), raw: { type: c.type - 1, data: c.data } });
    }
  }
  const bytes = thanos.Series.encode({ labels, chunks } as thanos.ISeries).finish();
  return plain(thanos.Series.decode(bytes));
}

/** The series of an encoded SeriesResponse, checking it is one and has nothing else. */
function seriesOf(response: Uint8Array): thanos.Series {
  const r = thanos.SeriesResponse.decode(response);
  expect(r.result).toBe('series');
  // The same bytes are a SeriesBatch entry.
  const batch = thanos.SeriesBatch.decode(response);
  expect(batch.series).toHaveLength(1);
  expect(thanos.Series.encode(batch.series[0]).finish()).toEqual(thanos.Series.encode(r.series!).finish());
  return r.series as thanos.Series;
}

function newPath(frames: Uint8Array[], labels: Labels): { encoded: unknown; objects: unknown } {
  const parts = frames.flatMap((f) => parseChunkedReadResponse(f));
  return { encoded: plain(seriesOf(encodeSeriesResponse(labels, parts))), objects: plain(toStoreSeries(labels, parts)) };
}

function frame(labels: Record<string, string>, chunks: PromChunk[]): Uint8Array {
  return prometheus.ChunkedReadResponse.encode({ chunkedSeries: [{ labels: [...labelsFromRecord(labels)], chunks }], queryIndex: 0 }).finish();
}

function xor(t0: number, n: number): PromChunk {
  const c = makeXorChunk(t0, n, 15_000, (i) => Math.sin(i) * 1000);
  return { minTimeMs: c.minTime, maxTimeMs: c.maxTime, type: 1, data: c.raw!.data };
}

const ext = labelsFromRecord({ cluster: 'eu1', replica: 'a' });

/** The sidecar's label rule: series labels named like external ones give way to them. */
function finalLabels(series: Labels, externals: Labels): Labels {
  return withExternalLabels(withoutLabels(series, externals.map((l) => l.name)), externals);
}

describe('remote read series to thanos.Series bytes', () => {
  const cases: [string, Record<string, string>, PromChunk[]][] = [
    ['one XOR chunk', { __name__: 'up', job: 'x' }, [xor(1_700_000_000_000, 120)]],
    ['many chunks', { __name__: 'up', job: 'x' }, Array.from({ length: 500 }, (_, i) => xor(1_700_000_000_000 + i * 1_800_000, 120))],
    ['no chunks (empty series)', { __name__: 'up' }, []],
    ['a label overridden by an external label', { __name__: 'up', replica: 'own', zone: 'z' }, [xor(0, 3)]],
    [
      'zero and negative times, every encoding, UNKNOWN',
      { __name__: 'h' },
      [
        { minTimeMs: 0, maxTimeMs: 0, type: 1, data: Uint8Array.of(0, 0) },
        { minTimeMs: -5_000, maxTimeMs: -1, type: 2, data: Uint8Array.of(1, 2, 3) },
        { minTimeMs: -(2 ** 52), maxTimeMs: 2 ** 52, type: 3, data: Uint8Array.of(9) },
        { minTimeMs: 1, maxTimeMs: 2, type: 0, data: new Uint8Array(0) },
        { minTimeMs: 1, maxTimeMs: 2, type: 4, data: Uint8Array.of(4) },
      ],
    ],
    ['large chunk data (multi-byte lengths)', { __name__: 'big', 'ü': 'ñ✓' }, [{ minTimeMs: 7, maxTimeMs: 8, type: 1, data: new Uint8Array(70_000).fill(0xab) }]],
  ];

  for (const [name, labels, chunks] of cases) {
    it(`matches the decode and re-encode path: ${name}`, () => {
      const frames = [frame(labels, chunks)];
      for (const externals of [ext, [] as Labels]) {
        const want = finalLabels(labelsFromRecord(labels), externals);
        const { encoded, objects } = newPath(frames, want);
        const old = oldPath(frames, want);
        expect(encoded).toEqual(old);
        expect(objects).toEqual(old);
      }
    });
  }

  it('overrides a series label with the external label of the same name', () => {
    const want = finalLabels(labelsFromRecord({ __name__: 'up', replica: 'own' }), ext);
    const parts = parseChunkedReadResponse(frame({ __name__: 'up', replica: 'own' }, [xor(0, 2)]));
    const got = seriesOf(encodeSeriesResponse(want, parts));
    expect(got.labels.map((l) => `${l.name}=${l.value}`)).toEqual(['__name__=up', 'cluster=eu1', 'replica=a']);
  });

  it('joins a series continued over several frames', () => {
    const chunks = Array.from({ length: 9 }, (_, i) => xor(i * 1_800_000, 120));
    const frames = [frame({ a: '1' }, chunks.slice(0, 4)), frame({ a: '1' }, chunks.slice(4, 5)), frame({ a: '1' }, chunks.slice(5))];
    const want = finalLabels(labelsFromRecord({ a: '1' }), ext);
    expect(newPath(frames, want).encoded).toEqual(oldPath(frames, want));
    expect((newPath(frames, want).encoded as { chunks: unknown[] }).chunks).toHaveLength(9);
  });

  it('parses every series of a frame and skips unknown fields', () => {
    const msg = prometheus.ChunkedReadResponse.encode({
      chunkedSeries: [
        { labels: [{ name: 'a', value: '1' }], chunks: [xor(0, 3)] },
        { labels: [{ name: 'a', value: '2' }], chunks: [xor(0, 4), xor(60_000, 4)] },
      ],
      queryIndex: 3,
    }).finish();
    // Append unknown fields: a varint (field 9), a fixed64 (field 10) and a string (field 11).
    const extra = Uint8Array.of(0x48, 0x96, 0x01, 0x51, 1, 2, 3, 4, 5, 6, 7, 8, 0x5a, 2, 0x68, 0x69);
    const parts = parseChunkedReadResponse(Buffer.concat([msg, extra]));
    expect(parts.map((p) => p.labels[0].value)).toEqual(['1', '2']);
    expect(parts.map((p) => toStoreSeries(p.labels, [p]).chunks.length)).toEqual([1, 2]);
  });

  it('rejects malformed messages', () => {
    const good = frame({ a: '1' }, [xor(0, 3)]);
    // Cut inside the chunk: the series' length now overruns the message.
    expect(() => parseChunkedReadResponse(good.subarray(0, good.length - 3))).toThrow(/overruns/);
    // Field 1 with wire type 3 (start group) is not something Prometheus writes.
    expect(() => parseChunkedReadResponse(Uint8Array.of(0x0b))).toThrow(/unsupported wire type 3 of field 1/);
    // A chunk whose data length runs past the chunk.
    const bad = Uint8Array.of(0x0a, 0x06, 0x12, 0x04, 0x22, 0x05, 0x00, 0x00);
    expect(() => parseChunkedReadResponse(bad)).toThrow(/chunk data of 5 bytes overruns its Chunk/);
  });
});
