// The APIs a query reads besides series (Thanos pkg/rules, pkg/targets, pkg/metadata,
// pkg/exemplars): thanos.Rules, thanos.Targets, thanos.Metadata and thanos.Exemplars.
// Each is one server-streaming method whose frames carry either a payload or a warning;
// a component implements the narrow interface below and mounts it with add*Service (or
// through StoreServerOptions), and StoreClient calls them.

import { InvalidArgumentError, nopLogger } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import type { Labels } from '@thanos-ts/tsdb';
import { toWireStatus } from './errors.js';
import { thanos } from './proto.js';
import type { GrpcServer, ServerCall } from './h2-server.js';
import { drainOnce, logStatus } from './server.js';

// ---------------------------------------------------------------------------
// Messages as the rest of the code speaks them
// ---------------------------------------------------------------------------

/** google.protobuf.Timestamp: seconds since the epoch (int64 as a number) and nanoseconds. */
export interface Timestamp {
  seconds: number;
  nanos: number;
}

/** thanos.ZLabelSet: labels sorted by name. */
export interface LabelSetMessage {
  labels: Labels;
}

/** thanos.AlertState. */
export const AlertState = thanos.AlertState;
export type AlertState = thanos.AlertState;

/** thanos.TargetHealth. */
export const TargetHealth = thanos.TargetHealth;
export type TargetHealth = thanos.TargetHealth;

/** thanos.RulesRequest.Type. */
export const RulesRequestType = thanos.RulesRequest.Type;
export type RulesRequestType = thanos.RulesRequest.Type;

/** thanos.TargetsRequest.State. */
export const TargetsRequestState = thanos.TargetsRequest.State;
export type TargetsRequestState = thanos.TargetsRequest.State;

/** thanos.AlertInstance: one active alert. */
export interface AlertInstance {
  labels?: LabelSetMessage | null;
  annotations?: LabelSetMessage | null;
  state: AlertState;
  activeAt?: Timestamp | null;
  value: string;
  PartialResponseStrategy?: number;
}

/** thanos.Alert: an alerting rule. */
export interface AlertingRule {
  state: AlertState;
  name: string;
  query: string;
  durationSeconds: number;
  labels?: LabelSetMessage | null;
  annotations?: LabelSetMessage | null;
  alerts: AlertInstance[];
  health: string;
  lastError: string;
  evaluationDurationSeconds: number;
  lastEvaluation?: Timestamp | null;
  keepFiringForSeconds: number;
}

/** thanos.RecordingRule. */
export interface RecordingRule {
  name: string;
  query: string;
  labels?: LabelSetMessage | null;
  health: string;
  lastError: string;
  evaluationDurationSeconds: number;
  lastEvaluation?: Timestamp | null;
}

/** thanos.Rule: exactly one of recording or alert. */
export interface Rule {
  recording?: RecordingRule | null;
  alert?: AlertingRule | null;
}

/** thanos.RuleGroup. */
export interface RuleGroup {
  name: string;
  file: string;
  rules: Rule[];
  /** Seconds. */
  interval: number;
  evaluationDurationSeconds: number;
  lastEvaluation?: Timestamp | null;
  limit: number;
  PartialResponseStrategy?: number;
}

/** thanos.ActiveTarget. */
export interface ActiveTarget {
  discoveredLabels?: LabelSetMessage | null;
  labels?: LabelSetMessage | null;
  scrapePool: string;
  scrapeUrl: string;
  globalUrl: string;
  lastError: string;
  lastScrape?: Timestamp | null;
  lastScrapeDuration: number;
  health: TargetHealth;
}

/** thanos.DroppedTarget. */
export interface DroppedTarget {
  discoveredLabels?: LabelSetMessage | null;
}

/** thanos.TargetDiscovery. */
export interface TargetDiscovery {
  activeTargets: ActiveTarget[];
  droppedTargets: DroppedTarget[];
}

/** thanos.Meta. */
export interface MetricMeta {
  type: string;
  help: string;
  unit: string;
}

/** thanos.MetricMetadata: metas by metric name. */
export interface MetricMetadata {
  metadata: Record<string, { metas: MetricMeta[] }>;
}

/** thanos.Exemplar: ts in milliseconds. */
export interface Exemplar {
  labels?: LabelSetMessage | null;
  value: number;
  ts: number;
}

/** thanos.ExemplarData: the exemplars of one series. */
export interface ExemplarData {
  seriesLabels?: LabelSetMessage | null;
  exemplars: Exemplar[];
}

/** Decoded requests: every scalar present (defaults from the prototype). */
export type RulesRequest = thanos.RulesRequest;
export type TargetsRequest = thanos.TargetsRequest;
export type MetricMetadataRequest = thanos.MetricMetadataRequest;
export type ExemplarsRequest = thanos.ExemplarsRequest;
export type RulesRequestInit = thanos.RulesRequest.$Properties;
export type TargetsRequestInit = thanos.TargetsRequest.$Properties;
export type MetricMetadataRequestInit = thanos.MetricMetadataRequest.$Properties;
export type ExemplarsRequestInit = thanos.ExemplarsRequest.$Properties;

/** A decoded response frame: the payload, or a warning. */
export interface ApiFrame<T> {
  payload: T | null;
  warning: string | null;
}

// ---------------------------------------------------------------------------
// Server side
// ---------------------------------------------------------------------------

/**
 * Where an implementation writes its answer. Each method returns undefined when the
 * transport can take more, or a promise to await first (backpressure). After the client
 * cancels, every method throws the AbortError the signal carries.
 */
export interface ResponseSink<T> {
  send(payload: T): Promise<void> | undefined;
  /** A non-fatal problem; the stream goes on. */
  warning(msg: string): Promise<void> | undefined;
}

/** thanos.Rules: the rule groups, one per send(). */
export interface RulesAPI {
  rules(req: RulesRequest, sink: ResponseSink<RuleGroup>, signal: AbortSignal): Promise<void>;
}

/** thanos.Targets: usually one TargetDiscovery in all. */
export interface TargetsAPI {
  targets(req: TargetsRequest, sink: ResponseSink<TargetDiscovery>, signal: AbortSignal): Promise<void>;
}

/** thanos.Metadata. */
export interface MetadataAPI {
  metricMetadata(req: MetricMetadataRequest, sink: ResponseSink<MetricMetadata>, signal: AbortSignal): Promise<void>;
}

/** thanos.Exemplars: one ExemplarData per series. */
export interface ExemplarsAPI {
  exemplars(req: ExemplarsRequest, sink: ResponseSink<ExemplarData>, signal: AbortSignal): Promise<void>;
}

/** How one streaming API is named and coded. */
export interface StreamApiSpec<Req, T> {
  /** Full service name, e.g. "thanos.Rules". */
  service: string;
  method: string;
  decodeRequest(b: Buffer): Req;
  encodeRequest(r: object): Buffer;
  encodeFrame(f: ApiFrame<T>): Buffer;
  decodeFrame(b: Buffer): ApiFrame<T>;
}

function spec<Req, T>(
  service: string,
  method: string,
  req: { decode(b: Uint8Array): unknown; encode(m: object): { finish(): Uint8Array } },
  res: { decode(b: Uint8Array): unknown; encode(m: object): { finish(): Uint8Array } },
  field: string,
): StreamApiSpec<Req, T> {
  return {
    service,
    method,
    decodeRequest: (b) => req.decode(b) as Req,
    encodeRequest: (r) => req.encode(r).finish() as Buffer,
    encodeFrame: (f) => res.encode(f.warning !== null ? { warning: f.warning } : { [field]: f.payload }).finish() as Buffer,
    decodeFrame: (b) => {
      const m = res.decode(b) as Record<string, unknown> & { result?: string };
      if (m.result === 'warning') return { payload: null, warning: m.warning as string };
      if (m.result === field) return { payload: m[field] as T, warning: null };
      throw new Error(`${service}/${method}: response frame without ${field} or warning`);
    },
  };
}

export const RULES_API = spec<RulesRequest, RuleGroup>('thanos.Rules', 'Rules', thanos.RulesRequest, thanos.RulesResponse, 'group');
export const TARGETS_API = spec<TargetsRequest, TargetDiscovery>('thanos.Targets', 'Targets', thanos.TargetsRequest, thanos.TargetsResponse, 'targets');
export const METADATA_API = spec<MetricMetadataRequest, MetricMetadata>(
  'thanos.Metadata',
  'MetricMetadata',
  thanos.MetricMetadataRequest,
  thanos.MetricMetadataResponse,
  'metadata',
);
export const EXEMPLARS_API = spec<ExemplarsRequest, ExemplarData>('thanos.Exemplars', 'Exemplars', thanos.ExemplarsRequest, thanos.ExemplarsResponse, 'data');

/** Mounts a streaming API on a gRPC server; `serve` writes the answer to the sink. */
export function addStreamService<Req, T>(
  server: GrpcServer,
  s: StreamApiSpec<Req, T>,
  serve: (req: Req, sink: ResponseSink<T>, signal: AbortSignal) => Promise<void>,
  logger: Logger = nopLogger(),
): void {
  server.addMethod(`/${s.service}/${s.method}`, (call) => void handleStream(s, serve, call, logger));
}

export function addRulesService(server: GrpcServer, api: RulesAPI, logger?: Logger): void {
  addStreamService(server, RULES_API, (r, sink, signal) => api.rules(r, sink, signal), logger);
}

export function addTargetsService(server: GrpcServer, api: TargetsAPI, logger?: Logger): void {
  addStreamService(server, TARGETS_API, (r, sink, signal) => api.targets(r, sink, signal), logger);
}

export function addMetadataService(server: GrpcServer, api: MetadataAPI, logger?: Logger): void {
  addStreamService(server, METADATA_API, (r, sink, signal) => api.metricMetadata(r, sink, signal), logger);
}

export function addExemplarsService(server: GrpcServer, api: ExemplarsAPI, logger?: Logger): void {
  addStreamService(server, EXEMPLARS_API, (r, sink, signal) => api.exemplars(r, sink, signal), logger);
}

async function handleStream<Req, T>(
  s: StreamApiSpec<Req, T>,
  serve: (req: Req, sink: ResponseSink<T>, signal: AbortSignal) => Promise<void>,
  call: ServerCall,
  logger: Logger,
): Promise<void> {
  const signal = call.signal;
  try {
    let req: Req;
    try {
      req = s.decodeRequest(call.request);
    } catch (err) {
      throw new InvalidArgumentError(`malformed ${s.method} request: ${(err as Error).message}`);
    }
    const sink = new GrpcResponseSink(call, signal, s);
    await serve(req, sink, signal);
    const p = sink.pending();
    if (p) await p;
    signal.throwIfAborted();
    call.end();
  } catch (err) {
    if (call.cancelled) return;
    const st = toWireStatus(signal.aborted ? signal.reason : err);
    logStatus(logger, s.method, st.code, st.details, err);
    call.sendStatus(st.code, st.details);
  }
}

/** Writes frames to a call, honouring its backpressure. */
class GrpcResponseSink<T> implements ResponseSink<T> {
  private drain: Promise<void> | null = null;

  constructor(
    private readonly call: ServerCall,
    private readonly signal: AbortSignal,
    private readonly s: StreamApiSpec<unknown, T>,
  ) {}

  send(payload: T): Promise<void> | undefined {
    return this.write(this.s.encodeFrame({ payload, warning: null }));
  }

  warning(msg: string): Promise<void> | undefined {
    return this.write(this.s.encodeFrame({ payload: null, warning: msg }));
  }

  pending(): Promise<void> | undefined {
    return this.drain ?? undefined;
  }

  private write(buf: Buffer): Promise<void> | undefined {
    this.signal.throwIfAborted();
    if (this.call.write(buf)) return this.drain ?? undefined;
    this.drain ??= drainOnce(this.call, () => (this.drain = null));
    return this.drain;
  }
}

// ---------------------------------------------------------------------------
// Helpers shared by implementations
// ---------------------------------------------------------------------------

/** A ResponseSink collecting into arrays (in-process callers, tests). */
export class CollectingSink<T> implements ResponseSink<T> {
  readonly payloads: T[] = [];
  readonly warnings: string[] = [];

  send(payload: T): undefined {
    this.payloads.push(payload);
    return undefined;
  }

  warning(msg: string): undefined {
    this.warnings.push(msg);
    return undefined;
  }
}

/** A Timestamp from unix milliseconds. */
export function timestampFromMillis(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

// Go's zero time.Time, 0001-01-01T00:00:00Z, in unix seconds.
const GO_ZERO_SECONDS = -62135596800;

/**
 * An RFC 3339 time as Go writes a time.Time in JSON ("2024-01-02T03:04:05.123456789Z",
 * "…+02:00") as a Timestamp, keeping all nine fraction digits (JS Dates keep three).
 */
export function parseRFC3339(s: string): Timestamp {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) throw new Error(`cannot parse ${JSON.stringify(s)} as an RFC 3339 time`);
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) throw new Error(`cannot parse ${JSON.stringify(s)} as an RFC 3339 time`);
  return { seconds: Math.floor(ms / 1000), nanos: m[2] ? Number(m[2].padEnd(9, '0')) : 0 };
}

/** A Timestamp as Go's RFC3339Nano in UTC (trailing fraction zeros dropped); null is Go's zero time. */
export function formatRFC3339(t: Timestamp | null | undefined): string {
  const seconds = t ? Number(t.seconds ?? 0) : GO_ZERO_SECONDS;
  const nanos = t ? (t.nanos ?? 0) : 0;
  const d = new Date(seconds * 1000);
  const year = d.getUTCFullYear();
  const iso = d.toISOString(); // ±YYYYYY for years outside 0..9999
  const body = year >= 0 && year <= 9999 ? iso.slice(0, 19) : iso.slice(0, iso.indexOf('.'));
  const frac = nanos > 0 ? '.' + String(nanos).padStart(9, '0').replace(/0+$/, '') : '';
  return `${body}${frac}Z`;
}
