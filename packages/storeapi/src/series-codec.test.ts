// The hand-written SeriesResponse decoder against protobufjs's, on messages protobufjs
// encodes: the same series, labels, chunks (bytes, int64 times of either sign, hashes),
// warnings, hints and batches; and precise errors on malformed frames.

import { describe, expect, it } from 'vitest';
import { rng as seeded } from '@thanos-ts/testutil';
import { thanos } from './proto.js';
import type { SeriesResponse, StoreSeries } from './proto.js';
import { decodeSeriesResponse, encodeSeriesBatchResponse, encodeSeriesResponse, SeriesDecodeError } from './series-codec.js';

type Rng = () => number;

function randomString(rng: Rng): string {
  const pool = ['', 'a', '__name__', 'le', 'job', 'instance', 'ünïcode-ß', '日本語', 'x'.repeat(80), 'emoji 🙂', 'v' + Math.floor(rng() * 1e6)];
  return pool[Math.floor(rng() * pool.length)];
}

function randomTime(rng: Rng): number {
  const kinds = [0, 1, -1, 1_700_000_000_000, -1_700_000_000_000, 2 ** 53 - 1, -(2 ** 53 - 1), Math.floor(rng() * 2 ** 40), -Math.floor(rng() * 2 ** 31)];
  return kinds[Math.floor(rng() * kinds.length)];
}

function randomChunk(rng: Rng): thanos.Chunk.$Properties | null {
  if (rng() < 0.3) return null;
  const n = Math.floor(rng() * 300);
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.floor(rng() * 256);
  return { type: Math.floor(rng() * 3), data, hash: rng() < 0.5 ? 0 : Math.floor(rng() * 2 ** 52) };
}

function randomSeries(rng: Rng): thanos.Series.$Properties {
  const labels = Array.from({ length: Math.floor(rng() * 6) }, () => ({ name: randomString(rng), value: randomString(rng) }));
  const chunks = Array.from({ length: Math.floor(rng() * 5) }, () => ({
    minTime: randomTime(rng),
    maxTime: randomTime(rng),
    raw: randomChunk(rng),
    count: randomChunk(rng),
    sum: randomChunk(rng),
    min: randomChunk(rng),
    max: randomChunk(rng),
    counter: randomChunk(rng),
  }));
  return { labels, chunks };
}

/** A decoded message as plain data with protobufjs's defaults filled in. */
function plain(m: SeriesResponse): unknown {
  const chunk = (c: { type?: number; data?: Uint8Array; hash?: number } | null | undefined) =>
    c ? { type: c.type ?? 0, data: Array.from(c.data ?? []), hash: Number(c.hash ?? 0) } : null;
  const series = (s: { labels?: { name?: string; value?: string }[]; chunks?: Record<string, unknown>[] }) => ({
    labels: (s.labels ?? []).map((l) => ({ name: l.name ?? '', value: l.value ?? '' })),
    chunks: (s.chunks ?? []).map((c) => ({
      minTime: Number(c.minTime ?? 0),
      maxTime: Number(c.maxTime ?? 0),
      ...Object.fromEntries(['raw', 'count', 'sum', 'min', 'max', 'counter'].map((k) => [k, chunk(c[k] as never)])),
    })),
  });
  return {
    result: m.result,
    series: m.series ? series(m.series as never) : null,
    warning: m.warning ?? null,
    hints: m.hints ? { type_url: m.hints.type_url, value: Array.from(m.hints.value) } : null,
    batch: m.batch ? m.batch.series.map((s) => series(s as never)) : null,
  };
}

describe('decodeSeriesResponse', () => {
  it('decodes what protobufjs encodes exactly as protobufjs decodes it', () => {
    const rng = seeded(7);
    for (let i = 0; i < 500; i++) {
      const kind = i % 4;
      const msg: thanos.SeriesResponse.$Properties =
        kind === 0
          ? { series: randomSeries(rng) }
          : kind === 1
            ? { warning: randomString(rng) }
            : kind === 2
              ? { hints: { type_url: 'type.googleapis.com/hintspb.SeriesResponseHints', value: Uint8Array.from([1, 2, 3, i & 0xff]) } }
              : { batch: { series: Array.from({ length: Math.floor(rng() * 4) }, () => randomSeries(rng)) } };
      const bytes = thanos.SeriesResponse.encode(msg).finish();
      const want = plain(thanos.SeriesResponse.decode(bytes) as unknown as SeriesResponse);
      expect(plain(decodeSeriesResponse(bytes)), `message ${i}`).toEqual(want);
    }
  });

  it('keeps chunk bytes as views of the frame', () => {
    const data = Uint8Array.from([9, 8, 7, 6]);
    const bytes = thanos.SeriesResponse.encode({ series: { labels: [{ name: 'a', value: 'b' }], chunks: [{ minTime: 1, maxTime: 2, raw: { type: 0, data } }] } }).finish();
    const got = decodeSeriesResponse(bytes);
    const raw = got.series!.chunks[0].raw!;
    expect(Array.from(raw.data)).toEqual([9, 8, 7, 6]);
    expect(raw.data.buffer).toBe(bytes.buffer);
  });

  it('skips unknown fields of every wire type', () => {
    // series { labels {name:"a" value:"b" 9:varint} 15:fixed64 } 7:fixed32 8:bytes
    const label = [0x0a, 1, 0x61, 0x12, 1, 0x62, 0x48, 0x96, 0x01];
    const series = [0x0a, label.length, ...label, 0x79, 1, 2, 3, 4, 5, 6, 7, 8];
    const bytes = Uint8Array.from([0x0a, series.length, ...series, 0x3d, 1, 2, 3, 4, 0x42, 2, 0xaa, 0xbb]);
    const got = decodeSeriesResponse(bytes);
    expect(got.series!.labels).toEqual([{ name: 'a', value: 'b' }]);
    expect(got.series!.chunks).toEqual([]);
  });

  it('fails with the byte offset on malformed frames', () => {
    const good = thanos.SeriesResponse.encode({ series: { labels: [{ name: 'job', value: 'api' }] } }).finish();
    const cases: [string, Uint8Array, RegExp][] = [
      ['truncated', good.subarray(0, good.length - 2), /past the end at byte/],
      ['truncated varint', Uint8Array.from([0x0a, 0x80]), /truncated varint at byte 2/],
      ['overlong length', Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x7f]), /varint over 32 bits/],
      ['group wire type', Uint8Array.from([0x0b]), /wire type 3 of field 1 at byte 1/],
      ['field number 0', Uint8Array.from([0x02, 0x00]), /field number 0 at byte 1/],
      ['invalid UTF-8', Uint8Array.from([0x12, 2, 0xc3, 0x28]), /invalid UTF-8 in a string at byte 2/],
      ['label overruns its series', Uint8Array.from([0x0a, 3, 0x0a, 5, 0x0a, 1, 0x61]), /past the end|overruns/],
    ];
    for (const [name, bytes, re] of cases) {
      let err: unknown;
      try {
        decodeSeriesResponse(bytes);
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(SeriesDecodeError);
      expect((err as Error).message, name).toMatch(re);
    }
  });
});

describe('encodeSeriesResponse', () => {
  it('writes the bytes protobufjs writes, for series and batches (encoded entries copied as they are)', () => {
    const rng = seeded(11);
    for (let i = 0; i < 500; i++) {
      const s = randomSeries(rng) as StoreSeries;
      expect(Buffer.from(encodeSeriesResponse(s)).equals(Buffer.from(thanos.SeriesResponse.encode({ series: s as thanos.Series.$Properties }).finish())), `series ${i}`).toBe(true);
      const batch = Array.from({ length: Math.floor(rng() * 5) }, () => randomSeries(rng) as StoreSeries);
      const mixed = batch.map((b, k) => (k % 2 === 1 ? thanos.SeriesResponse.encode({ series: b as thanos.Series.$Properties }).finish() : b));
      const want = thanos.SeriesResponse.encode({ batch: { series: batch as thanos.Series.$Properties[] } }).finish();
      expect(Buffer.from(encodeSeriesBatchResponse(mixed)).equals(Buffer.from(want)), `batch ${i}`).toBe(true);
    }
  });

  it('writes times down to int64 min and hashes up to 2^63 as protobufjs does', () => {
    for (const t of [-(2 ** 63), -(2 ** 53), -1, 0, 1, 127, 128, 2 ** 31, 2 ** 32, 2 ** 53 - 1]) {
      // (2^63 is past int64: protobufjs saturates it, which no store sends)
      const s: StoreSeries = { labels: [{ name: 'a', value: 'ü' }], chunks: [{ minTime: t, maxTime: Math.min(-t, 2 ** 53), raw: { type: 0, data: new Uint8Array([1]), hash: Math.abs(t) } }] };
      expect(Buffer.from(encodeSeriesResponse(s)).equals(Buffer.from(thanos.SeriesResponse.encode({ series: s as thanos.Series.$Properties }).finish())), `time ${t}`).toBe(true);
    }
  });
});
