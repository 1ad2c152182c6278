import { describe, expect, it } from 'vitest';
import { isStaleNaN, STALE_NAN } from '../chunkenc/float-bits.js';
import { labelsFromStrings } from '../labels/labels.js';
import {
  decodeExemplars,
  decodeFloatHistogramSamples,
  decodeHistogramSamples,
  decodeMetadata,
  decodeMmapMarkers,
  decodeSamples,
  decodeSeries,
  decodeTombstones,
  encodeExemplars,
  encodeSampleColumns,
  decodeSampleColumns,
  newSampleColumns,
  encodeFloatHistogramSamples,
  encodeHistogramSamples,
  encodeMetadata,
  encodeMmapMarkers,
  encodeSamples,
  encodeSeries,
  encodeTombstones,
  RecordMetricType,
  RecordType,
  recordType,
} from './record.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('record', () => {
  it('encodes samples as Prometheus does: BE64 base ref and time, signed varint deltas, BE64 value bits', () => {
    const rec = encodeSamples([
      { ref: 10, t: 1000, v: 1 },
      { ref: 9, t: 999, v: -2 },
    ]);
    // 02 | ref 10 | t 1000 | (0, 0, 1.0) | (-1 → 01, -1 → 01, -2.0)
    expect(hex(rec)).toBe(
      '02' + '000000000000000a' + '00000000000003e8' + '00' + '00' + '3ff0000000000000' + '01' + '01' + 'c000000000000000',
    );
    expect(decodeSamples(rec)).toEqual([
      { ref: 10, t: 1000, v: 1 },
      { ref: 9, t: 999, v: -2 },
    ]);
  });

  it('keeps the stale marker bits', () => {
    const [s] = decodeSamples(encodeSamples([{ ref: 1, t: 5, v: STALE_NAN }]));
    expect(isStaleNaN(s.v)).toBe(true);
  });

  it('encodes series with BE64 refs and uvarint-length labels', () => {
    const series = [
      { ref: 1, labels: labelsFromStrings('__name__', 'up', 'job', 'x') },
      { ref: 2 ** 40, labels: labelsFromStrings() },
    ];
    const rec = encodeSeries(series);
    expect(hex(rec.subarray(0, 10))).toBe('01' + '0000000000000001' + '02');
    expect(recordType(rec)).toBe(RecordType.Series);
    expect(decodeSeries(rec)).toEqual(series);
  });

  it('writes one tombstone entry per interval, read back one interval each', () => {
    const rec = encodeTombstones([{ ref: 3, intervals: [{ mint: -5, maxt: 10 }, { mint: 20, maxt: 30 }] }]);
    expect(hex(rec)).toBe('03' + '0000000000000003' + '09' + '14' + '0000000000000003' + '28' + '3c');
    expect(decodeTombstones(rec)).toEqual([
      { ref: 3, intervals: [{ mint: -5, maxt: 10 }] },
      { ref: 3, intervals: [{ mint: 20, maxt: 30 }] },
    ]);
  });

  it('round-trips exemplars, metadata and mmap markers', () => {
    const ex = [
      { ref: 5, t: 100, v: 0.5, labels: labelsFromStrings('trace_id', 'abc') },
      { ref: 7, t: 90, v: 1.5, labels: labelsFromStrings() },
    ];
    expect(decodeExemplars(encodeExemplars(ex))).toEqual(ex);
    const md = [{ ref: 300, type: RecordMetricType.Counter, unit: 'seconds', help: 'Total time.' }];
    const mrec = encodeMetadata(md);
    expect(hex(mrec.subarray(0, 5))).toBe('06' + 'ac02' + '01' + '02');
    expect(decodeMetadata(mrec)).toEqual(md);
    const mm = [{ ref: 1, mmapRef: 2 ** 33 + 8 }];
    expect(decodeMmapMarkers(encodeMmapMarkers(mm))).toEqual(mm);
  });

  it('round-trips histogram samples', () => {
    const h = {
      counterResetHint: 0,
      schema: -1,
      zeroThreshold: 1e-128,
      zeroCount: 2,
      count: 9,
      sum: 12.5,
      positiveSpans: [{ offset: -2, length: 2 }],
      negativeSpans: [],
      positiveBuckets: [3, -1],
      negativeBuckets: [],
    };
    const hs = [{ ref: 1, t: 10, h }];
    expect(decodeHistogramSamples(encodeHistogramSamples(hs))).toEqual(hs);
    const fhs = [{ ref: 2, t: 11, fh: { ...h, zeroCount: 2.5, positiveBuckets: [3.5, 1] } }];
    expect(decodeFloatHistogramSamples(encodeFloatHistogramSamples(fhs))).toEqual(fhs);
  });

  it('empty sample records are a type byte only', () => {
    expect(hex(encodeSamples([]))).toBe('02');
    expect(decodeSamples(encodeSamples([]))).toEqual([]);
  });

  it('types unknown and empty records as Unknown; rejects a wrong type and trailing bytes', () => {
    expect(recordType(new Uint8Array())).toBe(RecordType.Unknown);
    expect(recordType(Uint8Array.of(9))).toBe(RecordType.Unknown);
    expect(() => decodeSamples(encodeSeries([]))).toThrow(/invalid record type/);
    const bad = Uint8Array.from([...encodeSeries([{ ref: 1, labels: [] }]), 0, 0]);
    expect(() => decodeSeries(bad)).toThrow(/unexpected end/);
  });

  it('encodeSampleColumns writes the bytes encodeSamples writes, NaN payloads included', () => {
    const samples = [
      { ref: 5, t: 1_700_000_000_000, v: 1.5 },
      { ref: 3, t: 1_699_999_999_000, v: STALE_NAN },
      { ref: 2 ** 40, t: -7, v: -0 },
      { ref: 6, t: 1_700_000_000_001, v: Infinity },
    ];
    const refs = Float64Array.from(samples, (s) => s.ref);
    const ts = Float64Array.from(samples, (s) => s.t);
    const vs = new Float64Array(8);
    for (let i = 0; i < samples.length; i++) vs[i] = samples[i].v;
    const got = encodeSampleColumns(refs, ts, vs, samples.length);
    expect([...got]).toEqual([...encodeSamples(samples)]);
    expect(isStaleNaN(decodeSamples(got)[1].v)).toBe(true);
    expect([...encodeSampleColumns(refs, ts, vs, 0)]).toEqual([...encodeSamples([])]);
  });

  it('series records round-trip ASCII and other labels; sample columns decode as decodeSamples', () => {
    const series = [
      { ref: 1, labels: labelsFromStrings('__name__', 'up', 'city', 'Zürich', 'e', '😀') },
      { ref: 2, labels: labelsFromStrings('__name__', 'up', 'city', 'Zurich', 'e', 'x') },
      { ref: 3, labels: labelsFromStrings('__name__', 'upp', 'city', 'Zürich') },
    ];
    expect(decodeSeries(encodeSeries(series))).toEqual(series);
    const samples = [
      { ref: 7, t: 1000, v: STALE_NAN },
      { ref: 2, t: 900, v: 2.5 },
    ];
    const cols = decodeSampleColumns(encodeSamples(samples), newSampleColumns());
    expect(cols.n).toBe(2);
    expect([cols.refs[1], cols.ts[1], cols.vs[1]]).toEqual([2, 900, 2.5]);
    expect(isStaleNaN(cols.vs[0])).toBe(true);
    expect(decodeSampleColumns(encodeSamples([]), cols).n).toBe(0);
  });
});
