// Wire compatibility of the generated code: expected bytes are assembled by hand from
// the field numbers and wire types in proto/ (as gogo writes them: ascending field
// order, defaults omitted, repeated scalars packed).
import { describe, expect, it } from 'vitest';
import { prometheus, thanos } from './proto.js';
import type { SeriesResponse } from './proto.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const str = (s: string): string => Buffer.from(s).toString('hex');

describe('thanos StoreAPI wire format', () => {
  it('encodes a SeriesRequest field by field', () => {
    const b = thanos.SeriesRequest.encode({
      minTime: 1,
      maxTime: 1_700_000_000_000,
      matchers: [{ type: thanos.LabelMatcher.Type.RE, name: 'job', value: 'x' }],
      aggregates: [thanos.Aggr.COUNT, thanos.Aggr.SUM],
      partialResponseStrategy: thanos.PartialResponseStrategy.ABORT,
      skipChunks: true,
      withoutReplicaLabels: ['replica'],
      responseBatchSize: 64,
    }).finish();
    expect(hex(b)).toBe(
      [
        '08 01', // 1 min_time
        '10 80d095ffbc31', // 2 max_time (varint of 1700000000000)
        '1a 0a 0802 1203' + str('job') + '1a01' + str('x'), // 3 matchers {type=2 name value}
        '2a 02 01 02', // 5 aggregates, packed
        '38 01', // 7 partial_response_strategy
        '40 01', // 8 skip_chunks
        '72 07' + str('replica'), // 14 without_replica_labels
        '8001 40', // 16 response_batch_size (two-byte tag)
      ]
        .join('')
        .replace(/\s+/g, ''),
    );
    const d = thanos.SeriesRequest.decode(b);
    expect([d.minTime, d.maxTime, d.responseBatchSize, d.limit]).toEqual([1, 1_700_000_000_000, 64, 0]);
    expect(d.matchers[0]).toMatchObject({ type: 2, name: 'job', value: 'x' });
  });

  it('encodes negative int64 as ten-byte varints and decodes them as numbers', () => {
    const b = thanos.SeriesRequest.encode({ minTime: -1, maxTime: 2 ** 53 - 1 }).finish();
    expect(hex(b)).toBe('08ffffffffffffffffff01' + '10ffffffffffffff0f');
    const d = thanos.SeriesRequest.decode(b);
    expect(typeof d.minTime).toBe('number');
    expect(d.minTime).toBe(-1);
    expect(d.maxTime).toBe(Number.MAX_SAFE_INTEGER);
    // Thanos's MinTime (math.MinInt64 as used by the querier for "no start") decodes to a number, rounded.
    const minInt64 = thanos.SeriesRequest.decode(bytes('08 80808080808080808001'));
    expect(minInt64.minTime).toBe(-(2 ** 63));
  });

  it('keeps Go math.MaxInt64 / MinInt64 (Thanos "no bound") across decode and re-encode', () => {
    const b = bytes('08 80808080808080808001 10 ffffffffffffffff7f');
    const d = thanos.SeriesRequest.decode(b);
    expect(d.maxTime).toBe(2 ** 63); // MaxInt64 rounds up as a number...
    expect(hex(thanos.SeriesRequest.encode(d).finish())).toBe(hex(b)); // ...and saturates back on encode.
    expect(hex(thanos.info.StoreInfo.encode({ maxTime: Number.MAX_VALUE }).finish())).toBe('10ffffffffffffffff7f');
    expect(hex(thanos.info.StoreInfo.encode({ minTime: -Infinity }).finish())).toBe('0880808080808080808001');
    // uint64 is not saturated: Chunk.hash above 2^63 keeps its (rounded) value.
    expect(thanos.Chunk.decode(thanos.Chunk.encode({ hash: 2 ** 63 + 2 ** 12 }).finish()).hash).toBe(2 ** 63 + 2 ** 12);
  });

  it('decodes repeated scalars both packed and unpacked', () => {
    expect(thanos.SeriesRequest.decode(bytes('2a 03 01 02 05')).aggregates).toEqual([1, 2, 5]);
    expect(thanos.SeriesRequest.decode(bytes('28 01 28 02 28 05')).aggregates).toEqual([1, 2, 5]);
    expect(thanos.SeriesRequest.decode(bytes('28 01 2a 02 02 05')).aggregates).toEqual([1, 2, 5]);
    expect(thanos.SymbolTable.decode(bytes('0a 02 03 07 08 09')).offsets).toEqual([3, 7, 9]);
    // sint64 deltas: zigzag 1 → -1, 4 → 2; packed (LEN) and unpacked (VARINT).
    expect(prometheus.Histogram.decode(bytes('62 02 01 04')).positiveDeltas).toEqual([-1, 2]);
    expect(prometheus.Histogram.decode(bytes('60 01 60 04')).positiveDeltas).toEqual([-1, 2]);
    expect(hex(prometheus.Histogram.encode({ positiveDeltas: [-1, 2] }).finish())).toBe('62020104');
    // doubles: packed fixed64 and unpacked.
    expect(prometheus.Histogram.decode(bytes('6a 08 000000000000f83f')).positiveCounts).toEqual([1.5]);
    expect(prometheus.Histogram.decode(bytes('69 000000000000f83f 69 0000000000000040')).positiveCounts).toEqual([1.5, 2]);
  });

  it('encodes SeriesResponse oneof members', () => {
    const series = thanos.SeriesResponse.encode({
      series: {
        labels: [{ name: 'a', value: 'b' }],
        chunks: [{ minTime: 0, maxTime: 5, raw: { type: thanos.Chunk.Encoding.XOR, data: Uint8Array.of(0, 1) } }],
      },
    }).finish();
    // 1 series { 1 labels {1 "a" 2 "b"}, 2 chunks { 2 max_time 5, 3 raw { 2 data 00 01 } } }
    expect(hex(series)).toBe('0a12' + '0a06' + '0a0161' + '120162' + '1208' + '1005' + '1a04' + '12020001');
    expect(hex(thanos.SeriesResponse.encode({ warning: 'w' }).finish())).toBe('120177');
    expect(hex(thanos.SeriesResponse.encode({ hints: { type_url: 'x', value: Uint8Array.of(1) } }).finish())).toBe('1a06' + '0a0178' + '120101');
    expect(hex(thanos.SeriesResponse.encode({ batch: { series: [{ labels: [] }] } }).finish())).toBe('22020a00');

    const d = thanos.SeriesResponse.decode(series) as SeriesResponse;
    expect(d.result).toBe('series');
    expect(d.warning).toBeFalsy();
    const c = d.series!.chunks[0];
    expect([c.minTime, c.maxTime, c.raw!.type]).toEqual([0, 5, 0]);
    expect(c.count).toBeNull();
    expect(hex(c.raw!.data)).toBe('0001');
    expect((thanos.SeriesResponse.decode(bytes('120177')) as SeriesResponse).result).toBe('warning');
  });

  it('decodes bytes fields as views of the input buffer', () => {
    const buf = bytes('0a12' + '0a06' + '0a0161' + '120162' + '1208' + '1005' + '1a04' + '12020001');
    const d = thanos.SeriesResponse.decode(buf) as SeriesResponse;
    const data = d.series!.chunks[0].raw!.data;
    expect(data.buffer).toBe(buf.buffer);
    expect(data.byteOffset).toBe(buf.byteOffset + 18);
    const u8 = Uint8Array.from(buf);
    const d2 = thanos.SeriesResponse.decode(u8) as SeriesResponse;
    expect(d2.series!.chunks[0].raw!.data.buffer).toBe(u8.buffer);
  });

  it('encodes InfoResponse with the CamelCase ComponentType field 2', () => {
    const b = thanos.info.InfoResponse.encode({
      labelSets: [{ labels: [{ name: 'a', value: 'b' }] }],
      ComponentType: 'sidecar',
      store: { minTime: 1, maxTime: 2, supportsWithoutReplicaLabels: true },
    }).finish();
    expect(hex(b)).toBe('0a08' + '0a06' + '0a0161' + '120162' + '1207' + str('sidecar') + '1a06' + '0801' + '1002' + '2801');
    // gogo always writes non-nullable TSDBInfo.labels, empty or not: 0a 00 must decode.
    const st = thanos.info.StoreInfo.decode(bytes('32 06 0a00 1001 1802'));
    expect(st.tsdbInfos[0]).toMatchObject({ minTime: 1, maxTime: 2 });
    expect(st.tsdbInfos[0].labels).toMatchObject({});
  });

  it('drops unknown fields, as gogo code does', () => {
    // field 99 varint, field 100 LEN, then min_time 7
    const d = thanos.SeriesRequest.decode(bytes('98 06 01' + 'a2 06 02 ffff' + '08 07'));
    expect(d.minTime).toBe(7);
    expect(hex(thanos.SeriesRequest.encode(d).finish())).toBe('0807');
  });

  it('encodes prometheus remote read messages', () => {
    const q = prometheus.Query.encode({
      startTimestampMs: 1,
      endTimestampMs: 2,
      matchers: [{ type: prometheus.LabelMatcher.Type.EQ, name: '__name__', value: 'up' }],
      hints: { stepMs: 15 },
    }).finish();
    expect(hex(q)).toBe('0801' + '1002' + '1a0e' + '1208' + str('__name__') + '1a02' + str('up') + '2202' + '080f');
    const chunk = prometheus.Chunk.encode({ minTimeMs: 1, maxTimeMs: 2, type: prometheus.Chunk.Encoding.XOR, data: Uint8Array.of(9) }).finish();
    expect(hex(chunk)).toBe('0801' + '1002' + '1801' + '220109');
    const w = prometheus.WriteRequest.encode({
      timeseries: [{ labels: [{ name: 'a', value: 'b' }], samples: [{ value: 1.5, timestamp: 3 }] }],
    }).finish();
    expect(hex(w)).toBe('0a15' + '0a06' + '0a0161' + '120162' + '120b' + '09000000000000f83f' + '1003');
  });
});
