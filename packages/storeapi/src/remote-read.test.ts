import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, startPrometheus, waitFor } from '@thanos-ts/testutil';
import { chunkFromBytes, EncXOR, labelsToString, ValueType } from '@thanos-ts/tsdb';
import { prometheus } from './proto.js';
import {
  ChunkedFrameReader,
  chunkedSeriesToStoreSeries,
  CHUNKED_READ_CONTENT_TYPE,
  decodeReadRequest,
  decodeReadResponse,
  encodeChunkedFrame,
  encodeReadRequest,
  isChunkedReadResponse,
  readChunkedResponse,
  ReadResponseType,
  REMOTE_READ_REQUEST_HEADERS,
  RemoteReadError,
} from './remote-read.js';
import type { ChunkedReadResponse } from './remote-read.js';
import { snappyDecodedLength } from './snappy.js';
import { makeXorChunk } from './testing.js';

afterAll(removeTempDirs);

async function* chunked(buf: Uint8Array, sizes: () => number): AsyncGenerator<Uint8Array> {
  for (let p = 0; p < buf.length; ) {
    const n = Math.max(1, sizes());
    yield buf.subarray(p, p + n);
    p += n;
  }
}

async function collect(it: AsyncIterable<ChunkedReadResponse>): Promise<ChunkedReadResponse[]> {
  const out: ChunkedReadResponse[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

/** n frames, each one series with a chunk, the i-th large when big(i). */
function makeStream(n: number, big: (i: number) => boolean = () => false): Uint8Array {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const c = makeXorChunk(1000 * i, big(i) ? 2000 : 5, 15_000);
    frames.push(
      encodeChunkedFrame({
        chunkedSeries: [
          {
            labels: [
              { name: '__name__', value: 'm' },
              { name: 'i', value: String(i) },
            ],
            chunks: [{ minTimeMs: c.minTime, maxTimeMs: c.maxTime, type: 1, data: c.raw!.data }],
          },
        ],
        queryIndex: i % 3,
      }),
    );
  }
  return concat(frames);
}

describe('streamed remote read frames', () => {
  it('encodes a frame as uvarint(len) | BE CRC32C | msg', () => {
    const f = encodeChunkedFrame({ queryIndex: 1 });
    // msg = field 2 varint 1 = 10 01; CRC32C("\x10\x01") computed independently below.
    expect(Buffer.from(f.subarray(0, 1)).toString('hex')).toBe('02');
    expect(Buffer.from(f.subarray(5)).toString('hex')).toBe('1001');
    const crc = new DataView(f.buffer, f.byteOffset + 1, 4).getUint32(0);
    expect(crc).toBe(bitwiseCrc32c(Uint8Array.from([0x10, 0x01])));
  });

  it('parses frames however the body is split', async () => {
    const body = makeStream(50, (i) => i % 7 === 0);
    let seed = 3;
    const rand = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) / (1 << 24);
    const splits: [string, () => number][] = [
      ['whole', () => body.length],
      ['1 byte', () => 1],
      ['3 bytes', () => 3],
      ['random', () => Math.floor(rand() * 300)],
      ['random large', () => Math.floor(rand() * 5000)],
    ];
    for (const [name, sizes] of splits) {
      const msgs = await collect(readChunkedResponse(chunked(body, sizes)));
      expect(msgs.length, name).toBe(50);
      for (let i = 0; i < 50; i++) {
        const s = msgs[i].chunkedSeries[0];
        expect(labelsToString(s.labels)).toBe(`{__name__="m", i="${i}"}`);
        expect(msgs[i].queryIndex).toBe(i % 3);
        const it = chunkFromBytes(s.chunks[0].type, s.chunks[0].data).iterator();
        let n = 0;
        while (it.next() === ValueType.Float) n++;
        expect(n, `${name} frame ${i}`).toBe(i % 7 === 0 ? 2000 : 5);
      }
    }
  });

  it('decodes frames inside one body chunk in place (zero-copy)', async () => {
    const body = makeStream(2);
    const [m] = await collect(readChunkedResponse(chunked(body, () => body.length)));
    expect(m.chunkedSeries[0].chunks[0].data.buffer).toBe(body.buffer);
  });

  it('accepts an empty body', async () => {
    expect(await collect(readChunkedResponse(chunked(new Uint8Array(0), () => 1)))).toEqual([]);
  });

  it('rejects a bad checksum', async () => {
    const body = makeStream(3);
    const corrupt = Uint8Array.from(body);
    corrupt[corrupt.length - 1] ^= 0x01; // last byte of frame 2's message
    const err = await collect(readChunkedResponse(chunked(corrupt, () => 7))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteReadError);
    expect((err as Error).message).toMatch(/^remote read: frame 2 at byte \d+: checksum mismatch: frame says 0x[0-9a-f]{8}, data has 0x[0-9a-f]{8}$/);
  });

  it('yields the good frames, then rejects a truncated stream', async () => {
    const body = makeStream(3);
    for (const cut of [1, 3, 10]) {
      const got: ChunkedReadResponse[] = [];
      const err = await (async () => {
        for await (const m of readChunkedResponse(chunked(body.subarray(0, body.length - cut), () => 64))) got.push(m);
      })().catch((e: unknown) => e);
      expect(got.length).toBe(2);
      expect((err as Error).message).toMatch(/^remote read: frame 2 at byte \d+: truncated frame: stream ended after \d+ of \d+ bytes$/);
    }
    // Cut inside the header of the next frame.
    const twoAndAByte = concat([makeStream(2), Uint8Array.from([0x85])]);
    await expect(collect(readChunkedResponse(chunked(twoAndAByte, () => 1000)))).rejects.toThrow(
      /frame 2 at byte \d+: truncated frame header: stream ended after 1 bytes/,
    );
  });

  it('enforces the frame size limit and rejects malformed lengths and messages', async () => {
    const body = makeStream(1, () => true);
    await expect(collect(readChunkedResponse(chunked(body, () => 100), { maxFrameBytes: 1000 }))).rejects.toThrow(
      /frame 0 at byte 0: frame of \d+ bytes exceeds the limit of 1000 bytes/,
    );
    const badVarint = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    await expect(collect(readChunkedResponse(chunked(badVarint, () => 2)))).rejects.toThrow(/malformed frame length/);
    // A valid CRC over bytes that are not a ChunkedReadResponse (field 1 LEN overrunning).
    const msg = Uint8Array.from([0x0a, 0x7f]);
    const crc = bitwiseCrc32c(msg);
    const frame = Uint8Array.from([2, crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff, ...msg]);
    await expect(collect(readChunkedResponse(chunked(frame, () => 100)))).rejects.toThrow(/malformed ChunkedReadResponse/);
  });

  it('hands out frame messages as they complete, in place unless split', () => {
    const body = makeStream(6, (i) => i === 2);
    const want = [...Array(6).keys()].map((i) => {
      const msg = prometheus.ChunkedReadResponse.encode(prometheus.ChunkedReadResponse.decode(frameMessage(body, i))).finish();
      return Buffer.from(msg).toString('hex');
    });
    for (const piece of [1, 5, 64, 333, body.length]) {
      const r = new ChunkedFrameReader();
      const got: Uint8Array[] = [];
      for (let p = 0; p < body.length; p += piece) {
        const chunk = body.slice(p, p + piece);
        r.push(chunk);
        for (let m = r.next(); m !== null; m = r.next()) {
          got.push(m);
          // One chunk holding the whole body: every message is a view of it.
          if (piece === body.length) expect(m.buffer, `frame ${got.length - 1}`).toBe(chunk.buffer);
        }
      }
      r.end();
      expect(got.map((m) => Buffer.from(m).toString('hex')), `pieces of ${piece}`).toEqual(want);
      expect(r.frames).toBe(6);
      expect(r.bytes).toBe(body.length);
      expect(r.corrupt('bad').message).toMatch(/^remote read: frame 5 at byte \d+: bad$/);
    }
    const r = new ChunkedFrameReader();
    r.push(body);
    r.next();
    expect(() => r.push(body)).toThrow(/push before next\(\) returned null/);
  });

  it('round-trips a ReadRequest through snappy', () => {
    const body = encodeReadRequest({
      queries: [{ startTimestampMs: 1, endTimestampMs: 2, matchers: [{ type: 1, name: 'a', value: 'b' }] }],
      acceptedResponseTypes: [ReadResponseType.STREAMED_XOR_CHUNKS, ReadResponseType.SAMPLES],
    });
    const req = decodeReadRequest(body);
    expect(req.queries[0].endTimestampMs).toBe(2);
    expect(req.acceptedResponseTypes).toEqual([1, 0]);
    // accepted_response_types is packed: field 2, LEN 2, values 1 0.
    const raw = Buffer.from(prometheus.ReadRequest.encode({ acceptedResponseTypes: [1, 0] }).finish()).toString('hex');
    expect(raw).toBe('12020100');
  });

  it('converts chunked series to StoreAPI series with encodings renumbered', () => {
    const s = chunkedSeriesToStoreSeries({
      labels: [{ name: 'a', value: '1' }],
      chunks: [{ minTimeMs: 5, maxTimeMs: 9, type: 1, data: Uint8Array.of(0, 0) }],
    });
    expect(s.chunks[0]).toEqual({ minTime: 5, maxTime: 9, raw: { type: 0, data: Uint8Array.of(0, 0) } });
    expect(() => chunkedSeriesToStoreSeries({ labels: [], chunks: [{ minTimeMs: 0, maxTimeMs: 0, type: 4, data: new Uint8Array() }] })).toThrow(
      /chunk encoding 4 has no StoreAPI equivalent/,
    );
  });
});

/** The message of the i-th frame of a stream. */
function frameMessage(body: Uint8Array, i: number): Uint8Array {
  let p = 0;
  for (;;) {
    let len = 0;
    for (let mul = 1; ; mul *= 128) {
      const b = body[p++];
      len += (b & 0x7f) * mul;
      if (b < 0x80) break;
    }
    if (i-- === 0) return body.subarray(p + 4, p + 4 + len);
    p += 4 + len;
  }
}

/** CRC-32C computed bit by bit, independent of the table-driven implementation. */
function bitwiseCrc32c(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

interface Sample {
  t: number;
  v: number;
}

describe('remote read against a real Prometheus', () => {
  it('decodes STREAMED_XOR_CHUNKS and SAMPLES responses matching the query API', async () => {
    const prom = await startPrometheus({ scrapeInterval: '200ms' });
    try {
      const metric = 'scrape_duration_seconds';
      await waitFor(
        async () => {
          const r = (await (await fetch(`${prom.url}/api/v1/query?query=count_over_time(${metric}[1h])`)).json()) as {
            data: { result: { value: [number, string] }[] };
          };
          return Number(r.data.result[0]?.value[1] ?? 0) >= 12;
        },
        { what: 'a dozen scrapes', timeoutMs: 20_000 },
      );
      const end = Date.now();
      const start = end - 3600_000;
      const query = { startTimestampMs: start, endTimestampMs: end, matchers: [{ type: 0, name: '__name__', value: metric }] };

      // Streamed chunks.
      const res = await fetch(`${prom.url}/api/v1/read`, {
        method: 'POST',
        headers: REMOTE_READ_REQUEST_HEADERS,
        body: encodeReadRequest({ queries: [query], acceptedResponseTypes: [ReadResponseType.STREAMED_XOR_CHUNKS] }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(CHUNKED_READ_CONTENT_TYPE);
      expect(isChunkedReadResponse(res.headers.get('content-type'))).toBe(true);
      const fromChunks: Sample[] = [];
      let labels = '';
      for await (const msg of readChunkedResponse(res.body as AsyncIterable<Uint8Array>)) {
        for (const cs of msg.chunkedSeries) {
          labels = labelsToString(cs.labels);
          for (const c of cs.chunks) {
            expect(c.type).toBe(EncXOR);
            const it = chunkFromBytes(c.type, c.data).iterator();
            while (it.next() === ValueType.Float) {
              expect(it.atT()).toBeGreaterThanOrEqual(c.minTimeMs);
              expect(it.atT()).toBeLessThanOrEqual(c.maxTimeMs);
              fromChunks.push({ t: it.atT(), v: it.atF() });
            }
          }
        }
      }
      expect(labels).toBe(`{__name__="${metric}", instance="127.0.0.1:${prom.port}", job="prometheus"}`);
      expect(fromChunks.length).toBeGreaterThanOrEqual(12);

      // The same samples, raw, from the query API (a range selector returns them as stored).
      const rangeSel = `${metric}[${Math.ceil((end - start) / 1000)}s]`;
      const raw = (await (await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(rangeSel)}&time=${end / 1000}`)).json()) as {
        data: { result: { values: [number, string][] }[] };
      };
      const fromApi = raw.data.result[0].values.map(([t, v]) => ({ t: Math.round(t * 1000), v: Number(v) }));
      expect(fromChunks).toEqual(fromApi);

      // query_range evaluates at steps: each point is the latest sample at or before it.
      const step = 1;
      const qr = (await (
        await fetch(
          `${prom.url}/api/v1/query_range?query=${metric}&start=${fromChunks[0].t / 1000}&end=${fromChunks.at(-1)!.t / 1000}&step=${step}`,
        )
      ).json()) as { data: { result: { values: [number, string][] }[] } };
      const points = qr.data.result[0].values;
      expect(points.length).toBeGreaterThan(1);
      for (const [ts, v] of points) {
        const t = Math.round(ts * 1000);
        const latest = fromChunks.filter((s) => s.t <= t).at(-1)!;
        expect(Number(v), `at ${t}`).toBe(latest.v);
      }

      // SAMPLES: a snappy block compressed by Go, decoded by us.
      const res2 = await fetch(`${prom.url}/api/v1/read`, {
        method: 'POST',
        headers: REMOTE_READ_REQUEST_HEADERS,
        body: encodeReadRequest({ queries: [{ ...query, endTimestampMs: fromChunks.at(-1)!.t }] }),
      });
      expect(res2.status).toBe(200);
      expect(res2.headers.get('content-encoding')).toBe('snappy');
      const rr = decodeReadResponse(new Uint8Array(await res2.arrayBuffer()));
      const ts = rr.results[0].timeseries![0];
      expect(ts.samples!.map((s) => ({ t: s.timestamp, v: s.value }))).toEqual(fromChunks);

      // Every series, both ways: a multi-block Go snappy body against the streamed chunks.
      // The request carries a 200 KB matcher value, so Go decodes a multi-block body of ours.
      const all = {
        startTimestampMs: start,
        endTimestampMs: fromChunks.at(-1)!.t,
        matchers: [
          { type: 2, name: '__name__', value: '.+' },
          { type: 1, name: 'no_such_label', value: 'x'.repeat(100_000) + 'y'.repeat(100_000) },
        ],
      };
      const [samplesRes, chunksRes] = await Promise.all([
        fetch(`${prom.url}/api/v1/read`, { method: 'POST', headers: REMOTE_READ_REQUEST_HEADERS, body: encodeReadRequest({ queries: [all] }) }),
        fetch(`${prom.url}/api/v1/read`, {
          method: 'POST',
          headers: REMOTE_READ_REQUEST_HEADERS,
          body: encodeReadRequest({ queries: [all], acceptedResponseTypes: [ReadResponseType.STREAMED_XOR_CHUNKS] }),
        }),
      ]);
      expect(samplesRes.status).toBe(200);
      const body = new Uint8Array(await samplesRes.arrayBuffer());
      expect(snappyDecodedLength(body)).toBeGreaterThan(65536); // more than one Go snappy block
      const bySamples = new Map<string, number>();
      for (const s of decodeReadResponse(body).results[0].timeseries!) bySamples.set(labelsToString(s.labels as never), s.samples!.length);
      const byChunks = new Map<string, number>();
      for await (const msg of readChunkedResponse(chunksRes.body as AsyncIterable<Uint8Array>)) {
        for (const cs of msg.chunkedSeries) {
          let n = 0;
          for (const c of cs.chunks) {
            const it = chunkFromBytes(c.type, c.data).iterator();
            while (it.next() === ValueType.Float) if (it.atT() <= all.endTimestampMs) n++;
          }
          const key = labelsToString(cs.labels);
          byChunks.set(key, (byChunks.get(key) ?? 0) + n);
        }
      }
      expect(bySamples.size).toBeGreaterThan(100);
      expect(byChunks).toEqual(bySamples);
    } finally {
      await prom.stop();
    }
  }, 40_000);
});
