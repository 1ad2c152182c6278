// The generated protobuf code (gen/proto.js from proto/*.proto, see scripts/gen.mjs)
// and the narrowed types the rest of the package speaks.
//
// Decoding conventions of the generated code, relied on throughout:
//   * int64/uint64 fields are JS numbers (long.js is switched off in gen/proto.js).
//     Millisecond timestamps, counts and limits fit in 2^53; only uint64 Chunk.hash can
//     exceed it and is then rounded, which is harmless as nothing here uses its low bits.
//     Go's math.MaxInt64 (Thanos's "no upper bound") decodes as 2^63 and int64 writes
//     saturate, so it is re-encoded as MaxInt64 rather than wrapping negative.
//   * bytes fields are zero-copy views (Buffer.slice / Uint8Array.subarray) into the
//     buffer the message was decoded from: keep them only as long as that is alive.
//   * Fields at their default value are absent on decoded objects and read from the
//     prototype (0, '', false, empty frozen array, null for messages).
//   * Unknown fields are dropped, as Thanos's gogo code does.
import { google, hintspb, prometheus, prometheus_copy, thanos } from '../gen/proto.js';
// Prometheus remote write 2.0 (`io.prometheus.write.v2`), proto/prometheus/write_v2.proto.
import { io } from '../gen/proto.js';
import type { Labels } from '@thanos-ts/tsdb';

export { google, hintspb, prometheus, prometheus_copy, thanos };
export { io };

/** thanos.Chunk.Encoding; one less than the TSDB chunkenc numbering (XOR is 0 here, 1 there). */
export const StoreChunkEncoding = {
  XOR: 0,
  HISTOGRAM: 1,
  FLOAT_HISTOGRAM: 2,
} as const;
export type StoreChunkEncoding = (typeof StoreChunkEncoding)[keyof typeof StoreChunkEncoding];

/** thanos.Chunk as it crosses the StoreAPI: TSDB chunk bytes without encoding byte or CRC. */
export interface StoreChunk {
  /** StoreChunkEncoding (TSDB encoding − 1). */
  type: number;
  data: Uint8Array;
  /** xxhash64 of data, or 0/absent. */
  hash?: number;
}

/** thanos.AggrChunk: a raw chunk or the aggregates of a downsampled one, over [minTime, maxTime] (ms, inclusive). */
export interface AggrChunk {
  minTime: number;
  maxTime: number;
  raw?: StoreChunk | null;
  count?: StoreChunk | null;
  sum?: StoreChunk | null;
  min?: StoreChunk | null;
  max?: StoreChunk | null;
  counter?: StoreChunk | null;
}

/**
 * thanos.Series. Labels are the TSDB's {name, value} objects: the protobuf Label message
 * has the same shape, so series cross the wire without conversion.
 */
export interface StoreSeries {
  labels: Labels;
  chunks: AggrChunk[];
}

/** google.protobuf.Any (hints payloads). */
export interface AnyMessage {
  type_url: string;
  value: Uint8Array;
}

/**
 * thanos.SeriesResponse: exactly one of series, warning, hints or batch is set; `result`
 * names which on decoded messages.
 */
export interface SeriesResponse {
  result?: 'series' | 'warning' | 'hints' | 'batch';
  series?: StoreSeries | null;
  warning?: string | null;
  hints?: AnyMessage | null;
  batch?: { series: StoreSeries[] } | null;
}

/** Decoded request messages: every scalar field is present (defaults from the prototype). */
export type SeriesRequest = thanos.SeriesRequest;
export type LabelNamesRequest = thanos.LabelNamesRequest;
export type LabelValuesRequest = thanos.LabelValuesRequest;

/** Request messages as callers build them: any subset of fields. */
export type SeriesRequestInit = thanos.SeriesRequest.$Properties;
export type LabelNamesRequestInit = thanos.LabelNamesRequest.$Properties;
export type LabelValuesRequestInit = thanos.LabelValuesRequest.$Properties;

export interface LabelNamesResponse {
  names: string[];
  warnings: string[];
  hints?: AnyMessage | null;
}

export interface LabelValuesResponse {
  values: string[];
  warnings: string[];
  hints?: AnyMessage | null;
}

/** thanos.info.InfoResponse as built by a component; unset sub-messages mean "API not served". */
export type InfoResponseInit = thanos.info.InfoResponse.$Properties;

export interface StoreInfo {
  minTime: number;
  maxTime: number;
  supportsSharding: boolean;
  supportsWithoutReplicaLabels: boolean;
  supportsProjections: boolean;
  tsdbInfos: { labels?: { labels?: Labels | null } | null; minTime: number; maxTime: number }[];
}

/** thanos.info.InfoResponse as decoded by StoreClient.info(). */
export interface InfoResponse {
  labelSets: { labels: Labels }[];
  ComponentType: string;
  store?: StoreInfo | null;
  rules?: object | null;
  metricMetadata?: object | null;
  targets?: object | null;
  exemplars?: { minTime: number; maxTime: number } | null;
  query?: object | null;
  status?: object | null;
}

/** Component types Thanos reports in InfoResponse.ComponentType (pkg/component). */
export const ComponentType = {
  QUERY: 'query',
  RULE: 'rule',
  SIDECAR: 'sidecar',
  STORE: 'store',
  RECEIVE: 'receive',
  DEBUG: 'debug',
} as const;

/** The `type.googleapis.com/<full name>` URL of an Any payload. */
export function typeUrl(fullName: string): string {
  return `type.googleapis.com/${fullName}`;
}
