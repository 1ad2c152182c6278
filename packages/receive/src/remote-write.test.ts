import { describe, expect, it } from 'vitest';
import type { IncomingHttpHeaders } from 'node:http';
import { io, prometheus } from '@thanos-ts/storeapi';
import {
  CONTENT_TYPE_V1,
  CONTENT_TYPE_V1_PROTO,
  CONTENT_TYPE_V2,
  decodeWriteRequestV2,
  determineRemoteWriteVersion,
  ERR_MISSING_CONTENT_TYPE,
  ERR_UNKNOWN_REMOTE_WRITE_HEADERS,
  RemoteWriteDecodeError,
  RemoteWriteVersionError,
  remoteWriteV2ResponseHeaders,
} from './remote-write.js';

const v2 = io.prometheus.write.v2;

/** A sender's symbols table (Prometheus writev2.SymbolsTable): '' first, strings deduplicated. */
class Symbols {
  readonly strings: string[] = [''];
  private readonly refs = new Map<string, number>([['', 0]]);
  ref(s: string): number {
    let r = this.refs.get(s);
    if (r === undefined) {
      r = this.strings.length;
      this.strings.push(s);
      this.refs.set(s, r);
    }
    return r;
  }
  labels(...nv: string[]): number[] {
    return nv.map((s) => this.ref(s));
  }
}

function encodeV2(req: io.prometheus.write.v2.Request.$Properties): Uint8Array {
  return v2.Request.encode(req).finish();
}

/** The 1.0 wire bytes of time series: equal bytes mean equal messages, field for field. */
function encodeV1(timeseries: prometheus.TimeSeries.$Properties[]): Uint8Array {
  return prometheus.WriteRequest.encode({ timeseries }).finish();
}

function decodeError(buf: Uint8Array): RemoteWriteDecodeError {
  try {
    decodeWriteRequestV2(buf);
  } catch (err) {
    expect(err).toBeInstanceOf(RemoteWriteDecodeError);
    return err as RemoteWriteDecodeError;
  }
  throw new Error('decodeWriteRequestV2 did not throw');
}

const intHistogram: io.prometheus.write.v2.Histogram.$Properties = {
  countInt: 12,
  sum: 18.4,
  schema: 1,
  zeroThreshold: 0.001,
  zeroCountInt: 2,
  negativeSpans: [{ offset: 0, length: 2 }, { offset: 1, length: 1 }],
  negativeDeltas: [1, 1, -1],
  positiveSpans: [{ offset: -2, length: 2 }],
  positiveDeltas: [3, -2],
  resetHint: v2.Histogram.ResetHint.RESET_HINT_YES,
  timestamp: 1_700_000_000_000,
  startTimestamp: 1_600_000_000_000,
};

const floatHistogram: io.prometheus.write.v2.Histogram.$Properties = {
  countFloat: 7.5,
  sum: -3.25,
  schema: -53,
  zeroCountFloat: 0.5,
  positiveSpans: [{ offset: 0, length: 3 }],
  positiveCounts: [1.5, 2, 4],
  customValues: [0.1, 1, 10],
  resetHint: v2.Histogram.ResetHint.RESET_HINT_GAUGE,
  timestamp: 1_700_000_015_000,
};

describe('decodeWriteRequestV2', () => {
  it('translates series, samples, exemplars and histograms to remote write 1.0', () => {
    const sym = new Symbols();
    const buf = encodeV2({
      timeseries: [
        {
          labelsRefs: sym.labels('__name__', 'http_requests_total', 'job', 'api'),
          samples: [
            { value: 1, timestamp: 1000, startTimestamp: 500 },
            { value: 2.5, timestamp: 2000 },
          ],
          exemplars: [{ labelsRefs: sym.labels('trace_id', 'abc'), value: 1, timestamp: 1000 }],
          metadata: { type: v2.Metadata.MetricType.METRIC_TYPE_COUNTER, helpRef: sym.ref('Requests.'), unitRef: 0 },
        },
        {
          labelsRefs: sym.labels('__name__', 'latency', 'job', 'api'),
          histograms: [intHistogram, floatHistogram],
          exemplars: [{ labelsRefs: [], value: 0.3, timestamp: -5 }],
        },
        // A series with only labels: translated (the writer decides what to do with it).
        { labelsRefs: sym.labels('__name__', 'empty') },
      ],
      symbols: sym.strings,
    });

    const got = decodeWriteRequestV2(buf);

    expect(got.stats).toEqual({ samples: 2, histograms: 2, exemplars: 2 });
    expect(got.timeseries.map((t) => t.labels)).toEqual([
      [{ name: '__name__', value: 'http_requests_total' }, { name: 'job', value: 'api' }],
      [{ name: '__name__', value: 'latency' }, { name: 'job', value: 'api' }],
      [{ name: '__name__', value: 'empty' }],
    ]);
    const want: prometheus.TimeSeries.$Properties[] = [
      {
        labels: [{ name: '__name__', value: 'http_requests_total' }, { name: 'job', value: 'api' }],
        samples: [{ value: 1, timestamp: 1000 }, { value: 2.5, timestamp: 2000 }],
        exemplars: [{ labels: [{ name: 'trace_id', value: 'abc' }], value: 1, timestamp: 1000 }],
      },
      {
        labels: [{ name: '__name__', value: 'latency' }, { name: 'job', value: 'api' }],
        histograms: [
          {
            countInt: 12,
            sum: 18.4,
            schema: 1,
            zeroThreshold: 0.001,
            zeroCountInt: 2,
            negativeSpans: [{ offset: 0, length: 2 }, { offset: 1, length: 1 }],
            negativeDeltas: [1, 1, -1],
            positiveSpans: [{ offset: -2, length: 2 }],
            positiveDeltas: [3, -2],
            resetHint: prometheus.Histogram.ResetHint.YES,
            timestamp: 1_700_000_000_000,
          },
          {
            countFloat: 7.5,
            sum: -3.25,
            schema: -53,
            zeroCountFloat: 0.5,
            positiveSpans: [{ offset: 0, length: 3 }],
            positiveCounts: [1.5, 2, 4],
            customValues: [0.1, 1, 10],
            resetHint: prometheus.Histogram.ResetHint.GAUGE,
            timestamp: 1_700_000_015_000,
          },
        ],
        exemplars: [{ labels: [], value: 0.3, timestamp: -5 }],
      },
      { labels: [{ name: '__name__', value: 'empty' }] },
    ];
    // start_timestamp and metadata have no 1.0 field: the 1.0 bytes are exactly these.
    expect(Buffer.from(encodeV1(got.timeseries)).equals(Buffer.from(encodeV1(want)))).toBe(true);

    const h = got.timeseries[1].histograms!;
    expect([h[0].count, h[0].zeroCount, h[1].count, h[1].zeroCount]).toEqual(['countInt', 'zeroCountInt', 'countFloat', 'zeroCountFloat']);
    expect(h[0].countFloat).toBeUndefined();
    expect(h[1].countInt).toBeUndefined();
  });

  it('gives the same histogram as decoding its bytes as a 1.0 histogram (fields 1..16 agree)', () => {
    for (const hist of [intHistogram, floatHistogram]) {
      const bytes = v2.Histogram.encode(hist).finish();
      const asV1 = prometheus.Histogram.decode(bytes);
      const sym = new Symbols();
      const got = decodeWriteRequestV2(encodeV2({ timeseries: [{ labelsRefs: sym.labels('__name__', 'h'), histograms: [hist] }], symbols: sym.strings }));
      const translated = got.timeseries[0].histograms![0];
      expect(Buffer.from(prometheus.Histogram.encode(translated).finish()).equals(Buffer.from(prometheus.Histogram.encode(asV1).finish()))).toBe(true);
    }
  });

  it('resolves refs in any order, with symbols after the series on the wire', () => {
    const series = v2.TimeSeries.encode({ labelsRefs: [2, 1, 0, 0], samples: [{ value: 4, timestamp: 9 }] }).finish();
    const sym1 = v2.Request.encode({ symbols: ['', 'b', 'a'] }).finish();
    // field 5 (timeseries) first, then field 4 (symbols): protobuf allows any order.
    const tag = new Uint8Array([(5 << 3) | 2, series.length]);
    const buf = Buffer.concat([tag, series, sym1]);
    const got = decodeWriteRequestV2(buf);
    // Kept as sent (not sorted): the writer refuses unsorted label sets as Thanos does.
    expect(got.timeseries[0].labels).toEqual([{ name: 'a', value: 'b' }, { name: '', value: '' }]);
    expect(got.stats).toEqual({ samples: 1, histograms: 0, exemplars: 0 });
  });

  it('reads an empty body, and a 1.0 body (reserved fields 1..3), as no series', () => {
    expect(decodeWriteRequestV2(new Uint8Array(0))).toEqual({ timeseries: [], stats: { samples: 0, histograms: 0, exemplars: 0 } });
    const v1 = encodeV1([{ labels: [{ name: '__name__', value: 'up' }], samples: [{ value: 1, timestamp: 1 }] }]);
    expect(decodeWriteRequestV2(v1).timeseries).toEqual([]);
  });

  it('ignores metadata refs, which Thanos does not translate', () => {
    const buf = encodeV2({ symbols: ['', '__name__', 'up'], timeseries: [{ labelsRefs: [1, 2], metadata: { helpRef: 99, unitRef: 100 } }] });
    expect(decodeWriteRequestV2(buf).timeseries).toHaveLength(1);
  });

  it('refuses a truncated body with the protobuf error as cause', () => {
    const sym = new Symbols();
    const buf = encodeV2({ symbols: sym.strings, timeseries: [{ labelsRefs: sym.labels('__name__', 'up'), samples: [{ value: 1, timestamp: 1 }] }] });
    for (const cut of [buf.length - 1, buf.length - 5, 3]) {
      const err = decodeError(buf.subarray(0, cut));
      expect(err.message).toMatch(/^proto: decode io\.prometheus\.write\.v2\.Request: /);
      expect(err.cause).toBeInstanceOf(Error);
    }
  });

  it('refuses a label ref outside the symbols table', () => {
    const buf = encodeV2({ symbols: ['', '__name__', 'up'], timeseries: [{ labelsRefs: [1, 2, 2, 3] }] });
    expect(decodeError(buf).message).toBe('parsing labels for series [1 2 2 3]: labelRefs 2 (name) = 3 (value) outside of symbols table (size 3)');
  });

  it('refuses refs into an empty symbols table', () => {
    const buf = encodeV2({ timeseries: [{ labelsRefs: [0, 0] }] });
    expect(decodeError(buf).message).toBe('parsing labels for series [0 0]: labelRefs 0 (name) = 0 (value) outside of symbols table (size 0)');
  });

  it('refuses an odd number of label refs', () => {
    const buf = encodeV2({ symbols: ['', '__name__', 'up'], timeseries: [{ labelsRefs: [1, 2, 1] }] });
    expect(decodeError(buf).message).toBe('parsing labels for series [1 2 1]: invalid labelRefs length 3');
  });

  it('refuses bad exemplar label refs, naming the series', () => {
    const sym = new Symbols();
    const labelsRefs = sym.labels('__name__', 'up', 'job', 'a"b');
    const buf = encodeV2({ symbols: sym.strings, timeseries: [{ labelsRefs, exemplars: [{ labelsRefs: [1, 40], value: 1 }] }] });
    expect(decodeError(buf).message).toBe(`parsing exemplar for series {__name__="up", job="a\\"b"}: labelRefs 1 (name) = 40 (value) outside of symbols table (size 5)`);
    const odd = encodeV2({ symbols: sym.strings, timeseries: [{ labelsRefs, exemplars: [{ labelsRefs: [1] }] }] });
    expect(decodeError(odd).message).toMatch(/^parsing exemplar for series \{.*\}: invalid labelRefs length 1$/);
  });
});

describe('determineRemoteWriteVersion', () => {
  const VERSION = 'x-prometheus-remote-write-version';
  const cases: { name: string; headers: IncomingHttpHeaders; want: 1 | 2 | string }[] = [
    { name: 'no headers', headers: {}, want: 1 },
    { name: '1.0 sender', headers: { [VERSION]: '0.1.0', 'content-type': CONTENT_TYPE_V1 }, want: 1 },
    // Without version 2.0.0 the Content-Type is not looked at.
    { name: '2.0 content type, 1.0 version', headers: { [VERSION]: '0.1.0', 'content-type': CONTENT_TYPE_V2 }, want: 1 },
    { name: '2.0 content type, no version', headers: { 'content-type': CONTENT_TYPE_V2 }, want: 1 },
    { name: 'unknown content type, no version', headers: { 'content-type': 'application/json' }, want: 1 },
    { name: 'version 2.0 (not 2.0.0)', headers: { [VERSION]: '2.0', 'content-type': CONTENT_TYPE_V2 }, want: 1 },
    { name: '2.0 sender', headers: { [VERSION]: '2.0.0', 'content-type': CONTENT_TYPE_V2 }, want: 2 },
    { name: '2.0.0, plain protobuf', headers: { [VERSION]: '2.0.0', 'content-type': CONTENT_TYPE_V1 }, want: 1 },
    { name: '2.0.0, prometheus.WriteRequest', headers: { [VERSION]: '2.0.0', 'content-type': CONTENT_TYPE_V1_PROTO }, want: 1 },
    { name: '2.0.0, no content type', headers: { [VERSION]: '2.0.0' }, want: ERR_MISSING_CONTENT_TYPE },
    { name: '2.0.0, empty content type', headers: { [VERSION]: '2.0.0', 'content-type': '' }, want: ERR_MISSING_CONTENT_TYPE },
    // Exact comparison, as Thanos: a space after ';' is not the 2.0 content type.
    { name: '2.0.0, spaced content type', headers: { [VERSION]: '2.0.0', 'content-type': 'application/x-protobuf; proto=io.prometheus.write.v2.Request' }, want: ERR_UNKNOWN_REMOTE_WRITE_HEADERS },
    { name: '2.0.0, unknown message', headers: { [VERSION]: '2.0.0', 'content-type': 'application/x-protobuf;proto=io.prometheus.write.v3.Request' }, want: ERR_UNKNOWN_REMOTE_WRITE_HEADERS },
    { name: '2.0.0, json', headers: { [VERSION]: '2.0.0', 'content-type': 'application/json' }, want: ERR_UNKNOWN_REMOTE_WRITE_HEADERS },
    // Repeated version headers: the first counts (Go's Header.Get); Node joins them.
    { name: 'repeated version, joined', headers: { [VERSION]: '2.0.0, 0.1.0', 'content-type': CONTENT_TYPE_V2 }, want: 2 },
    { name: 'repeated version, 1.0 first', headers: { [VERSION]: '0.1.0, 2.0.0', 'content-type': CONTENT_TYPE_V2 }, want: 1 },
    { name: 'repeated version, array', headers: { [VERSION]: ['2.0.0', '0.1.0'] as unknown as string, 'content-type': CONTENT_TYPE_V2 }, want: 2 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      if (typeof c.want === 'number') {
        expect(determineRemoteWriteVersion(c.headers)).toBe(c.want);
      } else {
        expect(() => determineRemoteWriteVersion(c.headers)).toThrow(RemoteWriteVersionError);
        expect(() => determineRemoteWriteVersion(c.headers)).toThrow(new RemoteWriteVersionError(c.want));
      }
    });
  }

  it('uses Thanos texts', () => {
    expect(ERR_MISSING_CONTENT_TYPE).toBe('missing Content-Type header');
    expect(ERR_UNKNOWN_REMOTE_WRITE_HEADERS).toBe('required headers Content-Type and/or X-Prometheus-Remote-Write-Version not found');
  });
});

describe('remoteWriteV2ResponseHeaders', () => {
  it('reports what the request carried', () => {
    expect(remoteWriteV2ResponseHeaders({ samples: 3, histograms: 0, exemplars: 12 })).toEqual({
      'X-Prometheus-Remote-Write-Samples-Written': '3',
      'X-Prometheus-Remote-Write-Histograms-Written': '0',
      'X-Prometheus-Remote-Write-Exemplars-Written': '12',
    });
  });
});
