// The StoreAPI server skeleton: mounts thanos.Store and thanos.info.Info on a gRPC
// server from a narrow interface a component implements. Everything the wire demands
// happens here, once: decoding and validating requests, batching and backpressure of
// the Series stream, cancellation, and mapping errors to gRPC status codes.

import { Server, status as Status } from '@grpc/grpc-js';
import type {
  sendUnaryData,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { InvalidArgumentError, nopLogger, parseHostPort } from '@thanos-ts/runtime';
import type { GrpcServerTLSConfig, Logger } from '@thanos-ts/runtime';
import type { Matcher } from '@thanos-ts/tsdb';
import { matchersFromProto } from './convert.js';
import { toWireStatus } from './errors.js';
import { addHealthService, HealthStatus, ServingStatus } from './health.js';
import { addExemplarsService, addMetadataService, addRulesService, addTargetsService } from './apis.js';
import type { ExemplarsAPI, MetadataAPI, RulesAPI, TargetsAPI } from './apis.js';
import { thanos } from './proto.js';
import './compression.js'; // registers snappy with grpc-js: every server accepts and answers it
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
 * drains in-flight calls (then cancels them after the grace period).
 */
export class StoreServer {
  readonly server: Server;
  readonly health = new HealthStatus();
  private boundPort = 0;
  private readonly logger: Logger;
  private creds: StoreServerCredentials | null = null;

  constructor(private readonly opts: StoreServerOptions) {
    this.logger = opts.logger ?? nopLogger();
    this.server = new Server({
      'grpc.max_receive_message_length': opts.maxRecvMsgSize ?? MAX_INT32,
      'grpc.max_send_message_length': opts.maxSendMsgSize ?? MAX_INT32,
      // Channelz bookkeeping costs every call; Go's gRPC has it off unless asked for.
      'grpc.enable_channelz': 0,
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
    const bindHost = host.includes(':') ? `[${host}]` : host;
    const creds = storeServerCredentials(this.opts.tls, this.logger);
    this.creds = creds;
    this.boundPort = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(`${bindHost}:${port}`, creds.credentials, (err, p) =>
        err ? reject(new Error(`grpc: listen on ${this.opts.address}: ${err.message}`)) : resolve(p),
      );
    });
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
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

// ---------------------------------------------------------------------------
// Service wiring
// ---------------------------------------------------------------------------

// Requests arrive as raw bytes and are decoded in the handler, so a malformed message is
// answered with INVALID_ARGUMENT and a reason (grpc-js itself would say INTERNAL,
// "Error deserializing request"). Responses are encoded by the handlers.
const passthrough = (b: Buffer): Buffer => b;

function method(path: string, responseStream: boolean, originalName: string): ServiceDefinition[string] {
  return {
    path,
    requestStream: false,
    responseStream,
    requestSerialize: passthrough,
    requestDeserialize: passthrough,
    responseSerialize: passthrough,
    responseDeserialize: passthrough,
    originalName,
  };
}

export const STORE_SERVICE: ServiceDefinition = {
  Series: method('/thanos.Store/Series', true, 'series'),
  LabelNames: method('/thanos.Store/LabelNames', false, 'labelNames'),
  LabelValues: method('/thanos.Store/LabelValues', false, 'labelValues'),
};

export const INFO_SERVICE: ServiceDefinition = {
  Info: method('/thanos.info.Info/Info', false, 'info'),
};

/** Mounts thanos.Store on a grpc-js server (for components that build their own Server). */
export function addStoreService(server: Server, store: StoreAPI, logger: Logger = nopLogger()): void {
  const impl: UntypedServiceImplementation = {
    Series: (call: ServerWritableStream<Buffer, Buffer>) => void handleSeries(store, call, logger),
    LabelNames: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) =>
      void handleUnary('LabelNames', call, cb, logger, async (signal) => {
        const req = decodeRequest('LabelNamesRequest', () => thanos.LabelNamesRequest.decode(call.request));
        if (req.start > req.end && req.end !== 0) throw new InvalidArgumentError(`start > end (${req.start} > ${req.end})`);
        const v = Object.assign(req, { parsedMatchers: matchersFromProto(req.matchers) });
        const res = await store.labelNames(v, signal);
        return thanos.LabelNamesResponse.encode(res).finish() as Buffer;
      }),
    LabelValues: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) =>
      void handleUnary('LabelValues', call, cb, logger, async (signal) => {
        const req = decodeRequest('LabelValuesRequest', () => thanos.LabelValuesRequest.decode(call.request));
        // Thanos: "label name parameter cannot be empty".
        if (req.label === '') throw new InvalidArgumentError('label name parameter cannot be empty');
        if (req.start > req.end && req.end !== 0) throw new InvalidArgumentError(`start > end (${req.start} > ${req.end})`);
        const v = Object.assign(req, { parsedMatchers: matchersFromProto(req.matchers) });
        const res = await store.labelValues(v, signal);
        return thanos.LabelValuesResponse.encode(res).finish() as Buffer;
      }),
  };
  server.addService(STORE_SERVICE, impl);
}

/** Mounts thanos.info.Info on a grpc-js server. */
export function addInfoService(server: Server, info: InfoAPI, logger: Logger = nopLogger()): void {
  server.addService(INFO_SERVICE, {
    Info: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) =>
      void handleUnary('Info', call, cb, logger, async () => {
        decodeRequest('InfoRequest', () => thanos.info.InfoRequest.decode(call.request));
        return thanos.info.InfoResponse.encode(await info.info()).finish() as Buffer;
      }),
  });
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
 * An AbortController following the call: aborted (with an AbortError) when the client
 * cancels, its deadline passes or the connection drops.
 */
export function callSignal(call: ServerWritableStream<Buffer, Buffer> | ServerUnaryCall<Buffer, Buffer>): {
  signal: AbortSignal;
  done: () => void;
} {
  const ac = new AbortController();
  const onCancel = (): void => ac.abort(new DOMException('the client cancelled the call', 'AbortError'));
  call.on('cancelled', onCancel);
  let timer: NodeJS.Timeout | undefined;
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  if (Number.isFinite(ms)) {
    timer = setTimeout(() => ac.abort(new DOMException('deadline exceeded', 'AbortError')), Math.max(0, ms - Date.now()));
  }
  if (call.cancelled) onCancel();
  return {
    signal: ac.signal,
    done: () => {
      call.off('cancelled', onCancel);
      if (timer) clearTimeout(timer);
    },
  };
}

export async function handleUnary(
  name: string,
  call: ServerUnaryCall<Buffer, Buffer>,
  cb: sendUnaryData<Buffer>,
  logger: Logger,
  fn: (signal: AbortSignal) => Promise<Buffer>,
): Promise<void> {
  const { signal, done } = callSignal(call);
  try {
    cb(null, await fn(signal));
  } catch (err) {
    const st = toWireStatus(signal.aborted ? signal.reason : err);
    logStatus(logger, name, st.code, st.details, err);
    cb({ code: st.code, details: st.details });
  } finally {
    done();
  }
}

async function handleSeries(store: StoreAPI, call: ServerWritableStream<Buffer, Buffer>, logger: Logger): Promise<void> {
  const { signal, done } = callSignal(call);
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
      // Nobody is listening any more; grpc-js has already closed the stream.
      logger.debug({ method: 'Series' }, 'series call cancelled by the client');
      return;
    }
    const st = toWireStatus(signal.aborted ? signal.reason : err);
    logStatus(logger, 'Series', st.code, st.details, err);
    // grpc-js turns an 'error' event on the call into the final status.
    call.emit('error', { code: st.code, details: st.details });
  } finally {
    done();
  }
}

export function logStatus(logger: Logger, method: string, code: number, details: string, err: unknown): void {
  if (code === Status.INTERNAL || code === Status.UNKNOWN) logger.error({ method, err }, 'StoreAPI call failed');
  else logger.debug({ method, code, details }, 'StoreAPI call failed');
}

/** Writes SeriesResponse frames to a grpc-js call, honouring its backpressure. */
export class GrpcSeriesSink implements SeriesSink {
  /** Frames written. */
  frames = 0;
  /** Encoded bytes written. */
  bytes = 0;
  private batch: StoreSeries[] | null;
  private drain: Promise<void> | null = null;

  constructor(
    private readonly call: ServerWritableStream<Buffer, Buffer>,
    private readonly signal: AbortSignal,
    private readonly batchSize = 0,
  ) {
    this.batch = batchSize > 1 ? [] : null;
  }

  series(s: StoreSeries): Promise<void> | undefined {
    if (this.batch === null) return this.write({ series: s as thanos.Series.$Properties });
    this.signal.throwIfAborted();
    this.batch.push(s);
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
    const series = this.batch as thanos.Series.$Properties[];
    this.batch = [];
    return this.write({ batch: { series } });
  }

  private write(msg: thanos.SeriesResponse.$Properties): Promise<void> | undefined {
    this.signal.throwIfAborted();
    const buf = thanos.SeriesResponse.encode(msg).finish() as Buffer;
    this.frames++;
    this.bytes += buf.length;
    if (this.call.write(buf)) return this.drain ?? undefined;
    // Frames written while a drain is pending are queued in order; waiting once suffices.
    this.drain ??= new Promise<void>((resolve, reject) => {
      const finish = (err?: unknown): void => {
        this.call.off('drain', onDrain);
        this.signal.removeEventListener('abort', onAbort);
        this.drain = null;
        if (err) reject(err);
        else resolve();
      };
      const onDrain = (): void => finish();
      const onAbort = (): void => finish(this.signal.reason);
      this.call.on('drain', onDrain);
      this.signal.addEventListener('abort', onAbort);
    });
    return this.drain;
  }
}
