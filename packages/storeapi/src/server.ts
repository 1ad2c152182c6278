// The StoreAPI server skeleton: mounts thanos.Store and thanos.info.Info on a gRPC
// server (the lean one on node:http2, h2-server.ts) from a narrow interface a component
// implements. Everything the wire demands happens here, once: decoding and validating
// requests, batching and backpressure of the Series stream, cancellation, and mapping
// errors to gRPC status codes.

import { InvalidArgumentError, nopLogger, parseHostPort } from '@thanos-ts/runtime';
import type { GrpcServerTLSConfig, Logger } from '@thanos-ts/runtime';
import type { Matcher } from '@thanos-ts/tsdb';
import { matchersFromProto } from './convert.js';
import { encodeSeriesBatchResponse, encodeSeriesResponse } from './series-codec.js';
import { Status, toWireStatus } from './errors.js';
import { addHealthService, HealthStatus, ServingStatus } from './health.js';
import { addExemplarsService, addMetadataService, addRulesService, addTargetsService } from './apis.js';
import type { ExemplarsAPI, MetadataAPI, RulesAPI, TargetsAPI } from './apis.js';
import { thanos } from './proto.js';
import { GrpcServer } from './h2-server.js';
import type { ServerCall } from './h2-server.js';
import { storeServerCredentials } from './tls.js';
import type { StoreServerCredentials } from './tls.js';
import type {
  AnyMessage,
  InfoResponseInit,
  LabelNamesRequest,
  LabelNamesResponse,
  LabelValuesRequest,
  LabelValuesResponse,
  SeriesRequest,
  StoreSeries,
} from './proto.js';

/** math.MaxInt32: the message size limit Thanos sets on its gRPC servers and clients. */
export const MAX_INT32 = 2147483647;

/** A validated Series request: the decoded message plus its matchers as TSDB matchers. */
export type ValidatedSeriesRequest = SeriesRequest & { readonly parsedMatchers: readonly Matcher[] };
export type ValidatedLabelNamesRequest = LabelNamesRequest & { readonly parsedMatchers: readonly Matcher[] };
export type ValidatedLabelValuesRequest = LabelValuesRequest & { readonly parsedMatchers: readonly Matcher[] };

/**
 * Where a Series implementation writes its answer. Each method returns undefined when
 * the transport can take more, or a promise to await first (backpressure):
 *
 *   const p = sink.series(s); if (p) await p;
 *
 * After the client cancels, every method throws the AbortError the signal carries.
 */
export interface SeriesSink {
  /** One series (batched into SeriesBatch frames when the request asks for it). */
  series(s: StoreSeries): Promise<void> | undefined;
  /**
   * One series already encoded, as a thanos.SeriesResponse with its series field set
   * (bytes that are also a SeriesBatch entry), for stores that pass bytes through. Optional.
   */
  encodedSeries?(response: Uint8Array): Promise<void> | undefined;
  /** A non-fatal problem; the stream goes on. */
  warning(msg: string): Promise<void> | undefined;
  /** A hints frame (e.g. hintspb.SeriesResponseHints). */
  hints(h: AnyMessage): Promise<void> | undefined;
}

/** What a component implements to serve thanos.Store. */
export interface StoreAPI {
  /**
   * Streams the matching series to the sink, sorted by labels. `signal` aborts when the
   * client cancels or its deadline passes. Throw InvalidArgumentError, UnavailableError or
   * LimitExceededError (@thanos-ts/runtime) to choose the status code.
   */
  series(req: ValidatedSeriesRequest, sink: SeriesSink, signal: AbortSignal): Promise<void>;
  labelNames(req: ValidatedLabelNamesRequest, signal: AbortSignal): Promise<LabelNamesResponse>;
  labelValues(req: ValidatedLabelValuesRequest, signal: AbortSignal): Promise<LabelValuesResponse>;
}

/** What a component implements to serve thanos.info.Info. */
export interface InfoAPI {
  info(): InfoResponseInit | Promise<InfoResponseInit>;
}

export interface StoreServerOptions {
  /** Listen address, Thanos style: "0.0.0.0:10901", ":10901", "127.0.0.1:0". */
  address: string;
  /** Serves thanos.Store when set. */
  store?: StoreAPI;
  /** Serves thanos.info.Info when set. */
  info?: InfoAPI;
  /** Serves thanos.Rules when set. */
  rules?: RulesAPI;
  /** Serves thanos.Targets when set. */
  targets?: TargetsAPI;
  /** Serves thanos.Metadata when set. */
  metadata?: MetadataAPI;
  /** Serves thanos.Exemplars when set. */
  exemplars?: ExemplarsAPI;
  logger?: Logger;
  /** Largest request accepted, bytes (default MaxInt32, as Thanos). */
  maxRecvMsgSize?: number;
  /** Largest response sent, bytes (default MaxInt32, as Thanos). */
  maxSendMsgSize?: number;
  /** TLS (--grpc-server-tls-*); absent: plain text. */
  tls?: GrpcServerTLSConfig;
}

/**
 * A gRPC server with the StoreAPI, Info and health services. start() binds, stop()
 * drains in-flight calls (then cancels them after the grace period). More services
 * mount on `server` (addService takes grpc-js service definitions and handlers).
 */
export class StoreServer {
  readonly server: GrpcServer;
  readonly health = new HealthStatus();
  private boundPort = 0;
  private readonly logger: Logger;
  private creds: StoreServerCredentials | null = null;

  constructor(private readonly opts: StoreServerOptions) {
    this.logger = opts.logger ?? nopLogger();
    this.server = new GrpcServer({
      maxRecvMsgSize: opts.maxRecvMsgSize ?? MAX_INT32,
      maxSendMsgSize: opts.maxSendMsgSize ?? MAX_INT32,
      logger: this.logger,
    });
    if (opts.store) addStoreService(this.server, opts.store, this.logger);
    if (opts.info) addInfoService(this.server, opts.info, this.logger);
    if (opts.rules) addRulesService(this.server, opts.rules, this.logger);
    if (opts.targets) addTargetsService(this.server, opts.targets, this.logger);
    if (opts.metadata) addMetadataService(this.server, opts.metadata, this.logger);
    if (opts.exemplars) addExemplarsService(this.server, opts.exemplars, this.logger);
    addHealthService(this.server, this.health);
    this.health.set('', ServingStatus.NOT_SERVING);
  }

  /** Binds the listen address and marks the server SERVING. */
  async start(): Promise<void> {
    const { host, port } = parseHostPort(this.opts.address, 'grpc-address');
    const creds = storeServerCredentials(this.opts.tls, this.logger);
    this.creds = creds;
    try {
      this.boundPort = await this.server.listen(host, port, creds.credentials);
    } catch (err) {
      throw new Error(`grpc: listen on ${this.opts.address}: ${(err as Error).message}`, { cause: err });
    }
    creds.watch();
    this.setServing(true);
    this.logger.info({ address: this.address, tls: this.opts.tls !== undefined }, 'listening for StoreAPI gRPC');
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    return this.boundPort;
  }

  /** HOST:PORT to dial this server on (127.0.0.1 when listening on all interfaces). */
  get address(): string {
    const { host } = parseHostPort(this.opts.address, 'grpc-address');
    const dial = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    return `${dial.includes(':') ? `[${dial}]` : dial}:${this.boundPort}`;
  }

  setServing(serving: boolean): void {
    const st = serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    this.health.set('', st);
    if (this.opts.store) this.health.set('thanos.Store', st);
    if (this.opts.info) this.health.set('thanos.info.Info', st);
    if (this.opts.rules) this.health.set('thanos.Rules', st);
    if (this.opts.targets) this.health.set('thanos.Targets', st);
    if (this.opts.metadata) this.health.set('thanos.Metadata', st);
    if (this.opts.exemplars) this.health.set('thanos.Exemplars', st);
  }

  /** Stops accepting calls, waits up to graceMs for in-flight ones, then cancels them. */
  async stop(graceMs = 5000): Promise<void> {
    this.setServing(false);
    this.creds?.close();
    await this.server.shutdown(graceMs);
  }
}

// ---------------------------------------------------------------------------
// Service wiring
// ---------------------------------------------------------------------------

// Requests arrive as raw bytes and are decoded in the handler, so a malformed message is
// answered with INVALID_ARGUMENT and a reason. Responses are encoded by the handlers.

/** Mounts thanos.Store on a gRPC server. */
export function addStoreService(server: GrpcServer, store: StoreAPI, logger: Logger = nopLogger()): void {
  server.addMethod('/thanos.Store/Series', (call) => void handleSeries(store, call, logger));
  server.addMethod('/thanos.Store/LabelNames', (call) =>
    handleUnary('LabelNames', call, logger, async (signal) => {
      const req = decodeRequest('LabelNamesRequest', () => thanos.LabelNamesRequest.decode(call.request));
      if (req.start > req.end && req.end !== 0) throw new InvalidArgumentError(`start > end (${req.start} > ${req.end})`);
      const v = Object.assign(req, { parsedMatchers: matchersFromProto(req.matchers) });
      const res = await store.labelNames(v, signal);
      return thanos.LabelNamesResponse.encode(res).finish() as Buffer;
    }),
  );
  server.addMethod('/thanos.Store/LabelValues', (call) =>
    handleUnary('LabelValues', call, logger, async (signal) => {
      const req = decodeRequest('LabelValuesRequest', () => thanos.LabelValuesRequest.decode(call.request));
      // Thanos: "label name parameter cannot be empty".
      if (req.label === '') throw new InvalidArgumentError('label name parameter cannot be empty');
      if (req.start > req.end && req.end !== 0) throw new InvalidArgumentError(`start > end (${req.start} > ${req.end})`);
      const v = Object.assign(req, { parsedMatchers: matchersFromProto(req.matchers) });
      const res = await store.labelValues(v, signal);
      return thanos.LabelValuesResponse.encode(res).finish() as Buffer;
    }),
  );
}

/** Mounts thanos.info.Info on a gRPC server. */
export function addInfoService(server: GrpcServer, info: InfoAPI, logger: Logger = nopLogger()): void {
  server.addMethod('/thanos.info.Info/Info', (call) =>
    handleUnary('Info', call, logger, async () => {
      decodeRequest('InfoRequest', () => thanos.info.InfoRequest.decode(call.request));
      return thanos.info.InfoResponse.encode(await info.info()).finish() as Buffer;
    }),
  );
}

export function decodeRequest<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    throw new InvalidArgumentError(`malformed ${what}: ${(err as Error).message}`);
  }
}

/** Validates a decoded SeriesRequest as every store must (Thanos checks these too). */
export function validateSeriesRequest(req: SeriesRequest): ValidatedSeriesRequest {
  if (req.minTime > req.maxTime) {
    throw new InvalidArgumentError(`min_time > max_time (${req.minTime} > ${req.maxTime})`);
  }
  if (req.limit < 0) throw new InvalidArgumentError(`negative limit ${req.limit}`);
  return Object.assign(req, { parsedMatchers: matchersFromProto(req.matchers) });
}

/**
 * Runs a unary method: `fn` gets the call's signal (aborted when the client cancels or
 * its deadline passes) and returns the encoded response; a throw becomes the status.
 */
export function handleUnary(name: string, call: ServerCall, logger: Logger, fn: (signal: AbortSignal) => Promise<Buffer>): void {
  const signal = call.signal;
  fn(signal).then(
    (res) => call.sendUnary(res),
    (err: unknown) => {
      if (call.cancelled) return;
      const st = toWireStatus(signal.aborted ? signal.reason : err);
      logStatus(logger, name, st.code, st.details, err);
      call.sendStatus(st.code, st.details);
    },
  );
}

async function handleSeries(store: StoreAPI, call: ServerCall, logger: Logger): Promise<void> {
  const signal = call.signal;
  try {
    const req = validateSeriesRequest(decodeRequest('SeriesRequest', () => thanos.SeriesRequest.decode(call.request)));
    const sink = new GrpcSeriesSink(call, signal, req.responseBatchSize);
    await store.series(req, sink, signal);
    const p = sink.flush();
    if (p) await p;
    signal.throwIfAborted();
    call.end();
  } catch (err) {
    if (call.cancelled) {
      // Nobody is listening any more (or the deadline status went out already).
      logger.debug({ method: 'Series' }, 'series call cancelled by the client');
      return;
    }
    const st = toWireStatus(signal.aborted ? signal.reason : err);
    logStatus(logger, 'Series', st.code, st.details, err);
    call.sendStatus(st.code, st.details);
  }
}

export function logStatus(logger: Logger, method: string, code: number, details: string, err: unknown): void {
  if (code === Status.INTERNAL || code === Status.UNKNOWN) logger.error({ method, err }, 'StoreAPI call failed');
  else logger.debug({ method, code, details }, 'StoreAPI call failed');
}

/** Writes SeriesResponse frames to a call, honouring its backpressure. */
export class GrpcSeriesSink implements SeriesSink {
  /** Frames written. */
  frames = 0;
  /** Encoded bytes written. */
  bytes = 0;
  /** Pending series of a batch: objects, or encoded SeriesResponse{series} from encodedSeries(). */
  private batch: (StoreSeries | Uint8Array)[] | null;
  private drain: Promise<void> | null = null;

  constructor(
    private readonly call: ServerCall,
    private readonly signal: AbortSignal,
    private readonly batchSize = 0,
  ) {
    this.batch = batchSize > 1 ? [] : null;
  }

  series(s: StoreSeries): Promise<void> | undefined {
    if (this.batch === null) return this.writeBytes(encodeSeriesResponse(s));
    this.signal.throwIfAborted();
    this.batch.push(s);
    return this.batch.length >= this.batchSize ? this.flush() : undefined;
  }

  encodedSeries(response: Uint8Array): Promise<void> | undefined {
    // Unbatched, the bytes are the frame as they are.
    if (this.batch === null) return this.writeBytes(Buffer.isBuffer(response) ? response : Buffer.from(response.buffer, response.byteOffset, response.length));
    this.signal.throwIfAborted();
    this.batch.push(response);
    return this.batch.length >= this.batchSize ? this.flush() : undefined;
  }

  warning(msg: string): Promise<void> | undefined {
    this.flush();
    return this.write({ warning: msg });
  }

  hints(h: AnyMessage): Promise<void> | undefined {
    this.flush();
    return this.write({ hints: h });
  }

  /** Sends the pending batch, if any. */
  flush(): Promise<void> | undefined {
    if (this.batch === null || this.batch.length === 0) return this.drain ?? undefined;
    const batch = this.batch;
    this.batch = [];
    return this.writeBytes(encodeSeriesBatchResponse(batch));
  }

  private write(msg: thanos.SeriesResponse.$Properties): Promise<void> | undefined {
    return this.writeBytes(thanos.SeriesResponse.encode(msg).finish() as Buffer);
  }

  private writeBytes(buf: Buffer): Promise<void> | undefined {
    this.signal.throwIfAborted();
    this.frames++;
    this.bytes += buf.length;
    if (this.call.write(buf)) return this.drain ?? undefined;
    // Frames written while a drain is pending are queued in order; waiting once suffices.
    this.drain ??= drainOnce(this.call, () => (this.drain = null));
    return this.drain;
  }
}

/** call.drained(), running `settled` first whichever way it ends. */
export function drainOnce(call: ServerCall, settled: () => void): Promise<void> {
  return call.drained().then(settled, (err: unknown) => {
    settled();
    throw err;
  });
}
