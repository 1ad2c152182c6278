// Prometheus remote write 2.0 on the receive endpoint, as Thanos's receiver does it
// (pkg/receive/handler.go determineRWVersion, translateV2ToV1, handleV2HTTP):
//
//   * the version is chosen from X-Prometheus-Remote-Write-Version and Content-Type,
//     compared as exact strings (no media-type parsing, no 415: Thanos answers 400);
//   * an io.prometheus.write.v2.Request is translated into remote write 1.0 time series
//     (symbols resolved to labels; samples, exemplars and native histograms copied
//     field for field; metadata and start timestamps dropped) and written as 1.0 is;
//   * a written request is answered with the X-Prometheus-Remote-Write-*-Written
//     headers counting everything the request carried.
//
// Where Thanos trusts the symbol refs (an odd count loses the last ref, an out-of-range
// ref panics the handler), this refuses the request with Prometheus's texts
// (prompb/io/prometheus/write/v2 desymbolizeLabels, storage/remote writeV2).

import type { IncomingHttpHeaders } from 'node:http';
import { io, prometheus } from '@thanos-ts/storeapi';
import { labelsToString } from '@thanos-ts/tsdb';
import type { Label } from '@thanos-ts/tsdb';

// Decoded messages are class instances: every field reads a value (absent ones from the
// prototype), nested messages and repeated fields included, which the generated
// $Properties element types do not say.
type TimeSeriesV2 = io.prometheus.write.v2.TimeSeries & { exemplars: io.prometheus.write.v2.Exemplar[]; histograms: HistogramV2[] };
type HistogramV2 = io.prometheus.write.v2.Histogram;

export type RemoteWriteVersion = 1 | 2;

/** The request header naming the remote write spec version (2.0 senders send 2.0.0). */
export const REMOTE_WRITE_VERSION_HEADER = 'X-Prometheus-Remote-Write-Version';
export const REMOTE_WRITE_VERSION_20 = '2.0.0';

/** The Content-Type values Thanos recognises, exactly as it compares them. */
export const CONTENT_TYPE_V1 = 'application/x-protobuf';
export const CONTENT_TYPE_V1_PROTO = 'application/x-protobuf;proto=prometheus.WriteRequest';
export const CONTENT_TYPE_V2 = 'application/x-protobuf;proto=io.prometheus.write.v2.Request';

/** Response headers of a written 2.0 request. */
export const SAMPLES_WRITTEN_HEADER = 'X-Prometheus-Remote-Write-Samples-Written';
export const HISTOGRAMS_WRITTEN_HEADER = 'X-Prometheus-Remote-Write-Histograms-Written';
export const EXEMPLARS_WRITTEN_HEADER = 'X-Prometheus-Remote-Write-Exemplars-Written';

/** determineRWVersion's texts. */
export const ERR_MISSING_CONTENT_TYPE = 'missing Content-Type header';
export const ERR_UNKNOWN_REMOTE_WRITE_HEADERS = 'required headers Content-Type and/or X-Prometheus-Remote-Write-Version not found';

/** The headers do not name a remote write version this receiver reads; Thanos answers 400. */
export class RemoteWriteVersionError extends Error {
  override readonly name = 'RemoteWriteVersionError';
}

/**
 * A 2.0 body that is not a valid io.prometheus.write.v2.Request: bad protobuf (the
 * decoder's error is the cause), or label refs outside the symbols table or of odd
 * count. Answered with 400.
 */
export class RemoteWriteDecodeError extends Error {
  override readonly name = 'RemoteWriteDecodeError';
}

/** What a 2.0 request carried (Prometheus remoteapi.WriteResponseStats, without Confirmed). */
export interface WriteResponseStats {
  samples: number;
  histograms: number;
  exemplars: number;
}

/** A 2.0 request in remote write 1.0 shape, for the 1.0 write path. */
export interface TranslatedWriteRequest {
  timeseries: prometheus.TimeSeries.$Properties[];
  /** Counted over the whole request, as Thanos reports it in the *-Written headers. */
  stats: WriteResponseStats;
}

/** Go's http.Header.Get: the first value, or ''. Node joins repeated custom headers with ', '. */
function headerValue(v: string | string[] | undefined): string {
  if (v === undefined) return '';
  const s = Array.isArray(v) ? (v[0] ?? '') : v;
  const comma = s.indexOf(', ');
  return comma < 0 ? s : s.slice(0, comma);
}

/**
 * The remote write version of a request (Thanos determineRWVersion): 2 only for version
 * 2.0.0 with the 2.0 content type; a request without version 2.0.0 is 1.0 whatever its
 * Content-Type says.
 * @throws RemoteWriteVersionError when version 2.0.0 comes without a Content-Type or with
 *   one that names no known message
 */
export function determineRemoteWriteVersion(headers: IncomingHttpHeaders): RemoteWriteVersion {
  if (headerValue(headers['x-prometheus-remote-write-version']) !== REMOTE_WRITE_VERSION_20) return 1;
  const ct = headerValue(headers['content-type']);
  if (ct === '') throw new RemoteWriteVersionError(ERR_MISSING_CONTENT_TYPE);
  if (ct === CONTENT_TYPE_V2) return 2;
  if (ct === CONTENT_TYPE_V1 || ct === CONTENT_TYPE_V1_PROTO) return 1;
  throw new RemoteWriteVersionError(ERR_UNKNOWN_REMOTE_WRITE_HEADERS);
}

/**
 * Decodes a (decompressed) io.prometheus.write.v2.Request and translates it to remote
 * write 1.0 time series (Thanos translateV2ToV1). Label order is kept as sent: the
 * writer's validation refuses unsorted sets, as Thanos's does.
 *
 * Allocation: one label object per label and one object per series, exemplar and
 * histogram; label strings are the symbols themselves, and the sample arrays, bucket
 * spans, deltas and counts are the decoded ones, reused (a v2 Sample has the fields of a
 * v1 Sample plus startTimestamp, which the 1.0 path ignores).
 * @throws RemoteWriteDecodeError
 */
export function decodeWriteRequestV2(buf: Uint8Array): TranslatedWriteRequest {
  let symbols: string[];
  let series: TimeSeriesV2[];
  try {
    const req = io.prometheus.write.v2.Request.decode(buf);
    symbols = req.symbols;
    series = req.timeseries as TimeSeriesV2[];
  } catch (err) {
    throw new RemoteWriteDecodeError(`proto: decode io.prometheus.write.v2.Request: ${(err as Error).message}`, { cause: err });
  }
  const stats: WriteResponseStats = { samples: 0, histograms: 0, exemplars: 0 };
  const timeseries = new Array<prometheus.TimeSeries.$Properties>(series.length);
  for (let i = 0; i < series.length; i++) {
    const t = series[i];
    const labels = desymbolizeLabels(t.labelsRefs, symbols);
    if (labels === null) {
      throw new RemoteWriteDecodeError(`parsing labels for series ${goSlice(t.labelsRefs)}: ${labelRefsError(t.labelsRefs, symbols)}`);
    }
    stats.samples += t.samples.length;
    stats.histograms += t.histograms.length;
    stats.exemplars += t.exemplars.length;

    let exemplars: prometheus.Exemplar.$Properties[] = [];
    if (t.exemplars.length > 0) {
      exemplars = new Array<prometheus.Exemplar.$Properties>(t.exemplars.length);
      for (let j = 0; j < t.exemplars.length; j++) {
        const e = t.exemplars[j];
        const elabels = desymbolizeLabels(e.labelsRefs, symbols);
        if (elabels === null) {
          throw new RemoteWriteDecodeError(`parsing exemplar for series ${labelsToString(labels)}: ${labelRefsError(e.labelsRefs, symbols)}`);
        }
        exemplars[j] = { labels: elabels, value: e.value, timestamp: e.timestamp };
      }
    }

    let histograms: prometheus.Histogram.$Properties[] = [];
    if (t.histograms.length > 0) {
      histograms = new Array<prometheus.Histogram.$Properties>(t.histograms.length);
      for (let j = 0; j < t.histograms.length; j++) histograms[j] = histogramToV1(t.histograms[j]);
    }

    timeseries[i] = { labels, samples: t.samples, exemplars, histograms };
  }
  return { timeseries, stats };
}

/**
 * The headers Thanos sets on a written 2.0 request. It counts everything the request
 * carried, not what was appended: the spec is not settled on asynchronous writes, so
 * the sender is told all was accepted.
 */
export function remoteWriteV2ResponseHeaders(written: WriteResponseStats): Record<string, string> {
  return {
    [SAMPLES_WRITTEN_HEADER]: String(written.samples),
    [HISTOGRAMS_WRITTEN_HEADER]: String(written.histograms),
    [EXEMPLARS_WRITTEN_HEADER]: String(written.exemplars),
  };
}

/** Name/value ref pairs resolved against the symbols table; null when a ref is bad (see labelRefsError). */
function desymbolizeLabels(refs: readonly number[], symbols: readonly string[]): Label[] | null {
  const n = refs.length;
  if (n % 2 !== 0) return null;
  const out = new Array<Label>(n / 2);
  for (let i = 0; i < n; i += 2) {
    const name = symbols[refs[i]];
    const value = symbols[refs[i + 1]];
    // A ref past the table reads undefined; a decoded uint32 is never negative.
    if (name === undefined || value === undefined) return null;
    out[i / 2] = { name, value };
  }
  return out;
}

/** Why desymbolizeLabels refused refs, in Prometheus's words; only on the error path. */
function labelRefsError(refs: readonly number[], symbols: readonly string[]): string {
  if (refs.length % 2 !== 0) return `invalid labelRefs length ${refs.length}`;
  for (let i = 0; i < refs.length; i += 2) {
    if (refs[i] >= symbols.length || refs[i + 1] >= symbols.length) {
      return `labelRefs ${refs[i]} (name) = ${refs[i + 1]} (value) outside of symbols table (size ${symbols.length})`;
    }
  }
  return 'invalid labelRefs';
}

/** A []uint32 as Go's %v prints it: [1 2 3]. */
function goSlice(refs: readonly number[]): string {
  return `[${refs.join(' ')}]`;
}

/**
 * The 1.0 histogram of a 2.0 one: fields 1..16 are the same on the wire, and so are the
 * reset hint values; start_timestamp has no 1.0 field and is dropped, as Thanos does.
 */
function histogramToV1(h: HistogramV2): prometheus.Histogram.$Properties {
  const out: prometheus.Histogram.$Properties = {
    sum: h.sum,
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    negativeSpans: h.negativeSpans,
    negativeDeltas: h.negativeDeltas,
    negativeCounts: h.negativeCounts,
    positiveSpans: h.positiveSpans,
    positiveDeltas: h.positiveDeltas,
    positiveCounts: h.positiveCounts,
    resetHint: h.resetHint as number as prometheus.Histogram.ResetHint,
    timestamp: h.timestamp,
    customValues: h.customValues,
  };
  // Oneofs: copy only the member that is set. `count`/`zeroCount` are getters on
  // decoded messages, so this plain object gets them as fields.
  if (h.count === 'countInt') {
    out.count = 'countInt';
    out.countInt = h.countInt;
  } else if (h.count === 'countFloat') {
    out.count = 'countFloat';
    out.countFloat = h.countFloat;
  }
  if (h.zeroCount === 'zeroCountInt') {
    out.zeroCount = 'zeroCountInt';
    out.zeroCountInt = h.zeroCountInt;
  } else if (h.zeroCount === 'zeroCountFloat') {
    out.zeroCount = 'zeroCountFloat';
    out.zeroCountFloat = h.zeroCountFloat;
  }
  return out;
}
