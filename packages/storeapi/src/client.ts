// A StoreAPI client for one endpoint: Series as an async iterable (backpressure flows to
// the server through HTTP/2 flow control), LabelNames, LabelValues and Info, each with
// a timeout and cancellation by AbortSignal. Failures come out as StoreAPIError, which
// names the endpoint, the method and the gRPC status.

import { Client, status as Status } from '@grpc/grpc-js';
import type { ChannelOptions, ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import type { GrpcClientConfig } from '@thanos-ts/runtime';
import { noop } from '@thanos-ts/runtime';
import { StoreAPIError } from './errors.js';
import { H2Channel } from './h2-channel.js';
import { grpcClientTransport } from './tls.js';
import type { GrpcClientTransport } from './tls.js';
import { thanos } from './proto.js';
import { decodeSeriesResponse } from './series-codec.js';
import type {
  InfoResponse,
  LabelNamesRequestInit,
  LabelNamesResponse,
  LabelValuesRequestInit,
  LabelValuesResponse,
  SeriesRequestInit,
  SeriesResponse,
} from './proto.js';
import { MAX_INT32 } from './server.js';
import { EXEMPLARS_API, METADATA_API, RULES_API, TARGETS_API } from './apis.js';
import type {
  ApiFrame,
  ExemplarData,
  ExemplarsRequestInit,
  MetricMetadata,
  MetricMetadataRequestInit,
  RuleGroup,
  RulesRequestInit,
  StreamApiSpec,
  TargetDiscovery,
  TargetsRequestInit,
} from './apis.js';

export interface StoreClientOptions {
  /** Largest response accepted, bytes (default MaxInt32, as Thanos queriers). */
  maxRecvMsgSize?: number;
  /** Extra grpc-js channel options. */
  channelOptions?: ChannelOptions;
  /**
   * TLS and compression (--grpc-client-*, --grpc-compression) as plain data; read into
   * credentials on every construction unless `transport` is given. Absent: plain text.
   */
  grpc?: GrpcClientConfig;
  /** Credentials built once (grpcClientTransport(opts.grpc)) to share between clients. */
  transport?: GrpcClientTransport;
}

export interface StoreCallOptions {
  /** Fails the call with DEADLINE_EXCEEDED after this many milliseconds. */
  timeoutMs?: number;
  /** Aborting cancels the call; the pending operation rejects with signal.reason. */
  signal?: AbortSignal;
}

const encodeSeriesRequest = (r: SeriesRequestInit): Buffer => thanos.SeriesRequest.encode(r).finish() as Buffer;

/** HOST:PORT as the lean channel dials it (not a grpc-js target such as dns:///name). */
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:/\[\]]+):\d+$/;

export class StoreClient {
  private readonly client: Client;
  /** Series calls go over this lean HTTP/2 channel when the settings allow (h2-channel.ts). */
  private readonly lean: H2Channel | null;
  private readonly maxRecvMsgSize: number;

  /** @param address HOST:PORT of the endpoint; dialled with opts.grpc's TLS, if any. */
  constructor(
    readonly address: string,
    opts: StoreClientOptions = {},
  ) {
    const transport = opts.transport ?? grpcClientTransport(opts.grpc);
    this.maxRecvMsgSize = opts.maxRecvMsgSize ?? MAX_INT32;
    // Channel options (load balancing over DNS groups, keepalive) need grpc-js's channel.
    this.lean = transport.lean && !opts.channelOptions && HOST_PORT.test(address) ? new H2Channel(address, transport.lean.tls) : null;
    this.client = new Client(address, transport.credentials, {
      'grpc.max_receive_message_length': this.maxRecvMsgSize,
      'grpc.max_send_message_length': MAX_INT32,
      // Channelz bookkeeping costs every call; Go's gRPC has it off unless asked for.
      'grpc.enable_channelz': 0,
      ...transport.channelOptions,
      ...opts.channelOptions,
    });
  }

  /**
   * Streams the SeriesResponse frames of a Series call. The call starts when iteration
   * does; leaving the loop early (break, throw) cancels it.
   */
  series(req: SeriesRequestInit, opts: StoreCallOptions = {}): AsyncIterable<SeriesResponse> {
    return {
      [Symbol.asyncIterator]: () => this.seriesIterator(req, opts),
    };
  }

  private async *seriesIterator(req: SeriesRequestInit, opts: StoreCallOptions): AsyncGenerator<SeriesResponse> {
    if (this.lean) {
      yield* this.leanSeries(this.lean, req, opts);
      return;
    }
    const { signal } = opts;
    signal?.throwIfAborted();
    const call: ClientReadableStream<SeriesResponse> = this.client.makeServerStreamRequest(
      '/thanos.Store/Series',
      encodeSeriesRequest,
      decodeSeriesResponse,
      req,
      { deadline: deadlineOf(opts) },
    );
    // After we cancel, grpc-js may still emit the CANCELLED status as an error event.
    call.on('error', noop);
    const onAbort = (): void => call.cancel();
    signal?.addEventListener('abort', onAbort);
    let finished = false;
    try {
      for await (const msg of call as AsyncIterable<SeriesResponse>) yield msg;
      finished = true;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw this.wrap('Series', err);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!finished) call.cancel();
    }
  }

  private async *leanSeries(ch: H2Channel, req: SeriesRequestInit, opts: StoreCallOptions): AsyncGenerator<SeriesResponse> {
    const { signal } = opts;
    try {
      for await (const b of ch.serverStream('/thanos.Store/Series', encodeSeriesRequest(req), { deadline: deadlineOf(opts), signal, maxRecvMsgSize: this.maxRecvMsgSize })) {
        yield decodeSeriesResponse(b);
      }
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw this.wrap('Series', err);
    }
  }

  labelNames(req: LabelNamesRequestInit, opts: StoreCallOptions = {}): Promise<LabelNamesResponse> {
    return this.unary(
      'LabelNames',
      '/thanos.Store/LabelNames',
      thanos.LabelNamesRequest.encode(req).finish() as Buffer,
      (b) => thanos.LabelNamesResponse.decode(b) as LabelNamesResponse,
      opts,
    );
  }

  labelValues(req: LabelValuesRequestInit, opts: StoreCallOptions = {}): Promise<LabelValuesResponse> {
    return this.unary(
      'LabelValues',
      '/thanos.Store/LabelValues',
      thanos.LabelValuesRequest.encode(req).finish() as Buffer,
      (b) => thanos.LabelValuesResponse.decode(b) as LabelValuesResponse,
      opts,
    );
  }

  info(opts: StoreCallOptions = {}): Promise<InfoResponse> {
    return this.unary(
      'Info',
      '/thanos.info.Info/Info',
      Buffer.alloc(0),
      (b) => thanos.info.InfoResponse.decode(b) as unknown as InfoResponse,
      opts,
    );
  }

  /**
   * thanos.WriteableStore/RemoteWrite: hands a receiver series to write or forward. The
   * request is encoded once by the caller (it may go to several endpoints).
   */
  remoteWrite(encoded: Uint8Array, opts: StoreCallOptions = {}): Promise<void> {
    const body = Buffer.isBuffer(encoded) ? encoded : Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
    return this.unary('RemoteWrite', '/thanos.WriteableStore/RemoteWrite', body, () => undefined, opts);
  }

  /** thanos.Rules/Rules: rule groups and warnings, as they arrive. */
  rules(req: RulesRequestInit, opts: StoreCallOptions = {}): AsyncIterable<ApiFrame<RuleGroup>> {
    return this.apiStream(RULES_API, req, opts);
  }

  /** thanos.Targets/Targets. */
  targets(req: TargetsRequestInit, opts: StoreCallOptions = {}): AsyncIterable<ApiFrame<TargetDiscovery>> {
    return this.apiStream(TARGETS_API, req, opts);
  }

  /** thanos.Metadata/MetricMetadata. */
  metricMetadata(req: MetricMetadataRequestInit, opts: StoreCallOptions = {}): AsyncIterable<ApiFrame<MetricMetadata>> {
    return this.apiStream(METADATA_API, req, opts);
  }

  /** thanos.Exemplars/Exemplars. */
  exemplars(req: ExemplarsRequestInit, opts: StoreCallOptions = {}): AsyncIterable<ApiFrame<ExemplarData>> {
    return this.apiStream(EXEMPLARS_API, req, opts);
  }

  private apiStream<T>(s: StreamApiSpec<unknown, T>, req: object, opts: StoreCallOptions): AsyncIterable<ApiFrame<T>> {
    return { [Symbol.asyncIterator]: () => this.apiIterator(s, req, opts) };
  }

  private async *apiIterator<T>(s: StreamApiSpec<unknown, T>, req: object, opts: StoreCallOptions): AsyncGenerator<ApiFrame<T>> {
    const { signal } = opts;
    signal?.throwIfAborted();
    const call: ClientReadableStream<ApiFrame<T>> = this.client.makeServerStreamRequest(
      `/${s.service}/${s.method}`,
      s.encodeRequest,
      s.decodeFrame,
      req,
      { deadline: deadlineOf(opts) },
    );
    call.on('error', noop);
    const onAbort = (): void => call.cancel();
    signal?.addEventListener('abort', onAbort);
    let finished = false;
    try {
      for await (const f of call as AsyncIterable<ApiFrame<T>>) yield f;
      finished = true;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw this.wrap(s.method, err);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!finished) call.cancel();
    }
  }

  /** Resolves once the channel is connected (or rejects after timeoutMs). */
  waitForReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(Date.now() + timeoutMs, (err) =>
        err ? reject(new StoreAPIError(this.address, 'connect', Status.UNAVAILABLE, err.message)) : resolve(),
      );
    });
  }

  close(): void {
    this.lean?.close();
    this.client.close();
  }

  private unary<T>(
    name: string,
    path: string,
    body: Buffer,
    decode: (b: Buffer) => T,
    opts: StoreCallOptions,
  ): Promise<T> {
    const { signal } = opts;
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => call.cancel();
      const call = this.client.makeUnaryRequest(
        path,
        passthrough,
        decode,
        body,
        { deadline: deadlineOf(opts) },
        (err: ServiceError | null, value?: T) => {
          signal?.removeEventListener('abort', onAbort);
          if (err) reject(signal?.aborted ? signal.reason : this.wrap(name, err));
          else resolve(value as T);
        },
      );
      signal?.addEventListener('abort', onAbort);
    });
  }

  private wrap(method: string, err: unknown): Error {
    const e = err as Partial<ServiceError>;
    if (typeof e.code === 'number') return new StoreAPIError(this.address, method, e.code, e.details ?? e.message ?? '');
    return new StoreAPIError(this.address, method, Status.UNKNOWN, (err as Error).message ?? String(err));
  }
}

const passthrough = (b: Buffer): Buffer => b;

function deadlineOf(opts: StoreCallOptions): number {
  return opts.timeoutMs !== undefined && opts.timeoutMs > 0 ? Date.now() + opts.timeoutMs : Infinity;
}
