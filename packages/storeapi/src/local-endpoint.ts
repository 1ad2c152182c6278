// An in-process StoreAPI as a proxy endpoint (Thanos storepb.ServerAsClient, as receive's
// localClient uses it over each tenant's TSDBStore): the proxy calls the store's
// series/labelNames/labelValues directly, with no gRPC and no encoding, and sees what it
// would see from a StoreClient: the same frames, the same StoreAPIError for a failure,
// cancellation when it stops reading, and backpressure on the store's sink.

import { InvalidArgumentError } from '@thanos-ts/runtime';
import type { Labels } from '@thanos-ts/tsdb';
import { labelSetsFromProto, matchersFromProto } from './convert.js';
import type { StoreCallOptions } from './client.js';
import { Status, StoreAPIError, toWireStatus } from './errors.js';
import { thanos } from './proto.js';
import type {
  AnyMessage,
  InfoResponseInit,
  LabelNamesRequestInit,
  LabelNamesResponse,
  LabelValuesRequestInit,
  LabelValuesResponse,
  SeriesRequestInit,
  SeriesResponse,
  StoreSeries,
} from './proto.js';
import { MAX_TIME, MIN_TIME } from './proxy.js';
import type { StoreEndpoint, StoreEndpointClient } from './proxy.js';
import { validateSeriesRequest } from './server.js';
import type { SeriesSink, StoreAPI, ValidatedLabelNamesRequest, ValidatedLabelValuesRequest } from './server.js';

/**
 * A StoreEndpoint over an in-process StoreAPI. `info` is read whenever the proxy asks for
 * label sets or the time range (every request), so a store whose range grows (a head
 * being appended to) is never skipped for a stale one. `address` names the store in
 * warnings and errors and is what storeMatch[] matches (default "local").
 */
export function localEndpoint(store: StoreAPI, info: () => InfoResponseInit, address = 'local'): StoreEndpoint {
  const client = new LocalStoreClient(store, address);
  return {
    address,
    client,
    labelSets: (): Labels[] => labelSetsFromProto(info().labelSets),
    timeRange: (): { minTime: number; maxTime: number } => {
      const s = info().store;
      return s ? { minTime: Number(s.minTime ?? MIN_TIME), maxTime: Number(s.maxTime ?? MAX_TIME) } : { minTime: MIN_TIME, maxTime: MAX_TIME };
    },
    supportsWithoutReplicaLabels: (): boolean => info().store?.supportsWithoutReplicaLabels ?? false,
    tsdbInfos: (): thanos.info.TSDBInfo.$Properties[] => info().store?.tsdbInfos ?? [],
  };
}

/** The StoreEndpointClient calls on an in-process StoreAPI. */
export class LocalStoreClient implements StoreEndpointClient {
  constructor(
    private readonly store: StoreAPI,
    readonly address: string,
  ) {}

  /**
   * The Series frames the store writes, one series per frame, as they are written. The
   * store runs ahead of the reader by at most response_batch_size frames (one when
   * unset), then its sink waits. Leaving the loop early aborts the store's signal.
   */
  series(req: SeriesRequestInit, opts: StoreCallOptions = {}): AsyncIterable<SeriesResponse> {
    return { [Symbol.asyncIterator]: () => this.seriesIterator(req, opts) };
  }

  private async *seriesIterator(init: SeriesRequestInit, opts: StoreCallOptions): AsyncGenerator<SeriesResponse> {
    opts.signal?.throwIfAborted();
    const call = new CallSignal(opts);
    const ch = new FrameChannel(call.signal, Math.max(1, Number(init.responseBatchSize ?? 0)));
    let finished = false;
    try {
      const req = validateSeriesRequest(thanos.SeriesRequest.create(init));
      // The store's promise settles the channel; it is never awaited directly.
      this.store.series(req, ch, call.signal).then(
        () => ch.close(),
        (err: unknown) => ch.fail(err),
      );
      for (;;) {
        const f = await ch.next();
        if (f === null) break;
        yield f;
      }
      finished = true;
    } catch (err) {
      throw call.error(this.address, 'Series', err);
    } finally {
      if (!finished) call.cancel();
      call.done();
    }
  }

  async labelNames(init: LabelNamesRequestInit, opts: StoreCallOptions = {}): Promise<LabelNamesResponse> {
    opts.signal?.throwIfAborted();
    const call = new CallSignal(opts);
    try {
      const req = thanos.LabelNamesRequest.create(init);
      if (req.start > req.end && req.end !== 0) throw new InvalidArgumentError(`start > end (${req.start} > ${req.end})`);
      const v: ValidatedLabelNamesRequest = Object.assign(req, { parsedMatchers: matchersFromProto(req.matchers) });
      return await call.race(this.store.labelNames(v, call.signal));
    } catch (err) {
      throw call.error(this.address, 'LabelNames', err);
    } finally {
      call.done();
    }
  }

  async labelValues(init: LabelValuesRequestInit, opts: StoreCallOptions = {}): Promise<LabelValuesResponse> {
    opts.signal?.throwIfAborted();
    const call = new CallSignal(opts);
    try {
      const req = thanos.LabelValuesRequest.create(init);
      if (req.label === '') throw new InvalidArgumentError('label name parameter cannot be empty');
      if (req.start > req.end && req.end !== 0) throw new InvalidArgumentError(`start > end (${req.start} > ${req.end})`);
      const v: ValidatedLabelValuesRequest = Object.assign(req, { parsedMatchers: matchersFromProto(req.matchers) });
      return await call.race(this.store.labelValues(v, call.signal));
    } catch (err) {
      throw call.error(this.address, 'LabelValues', err);
    } finally {
      call.done();
    }
  }
}

/**
 * The signal a store sees for one call: aborted when the caller's signal aborts, when
 * the caller stops reading, or (with a TimeoutError) when timeoutMs passes, as a gRPC
 * deadline would.
 */
class CallSignal {
  private readonly ac = new AbortController();
  private readonly timer: NodeJS.Timeout | null = null;
  private timedOut = false;
  private readonly onParentAbort = (): void => this.ac.abort(this.parent!.reason);
  private readonly parent: AbortSignal | undefined;

  constructor(opts: StoreCallOptions) {
    this.parent = opts.signal;
    this.parent?.addEventListener('abort', this.onParentAbort);
    if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) {
      this.timer = setTimeout(() => {
        this.timedOut = true;
        this.ac.abort(new DOMException('context deadline exceeded', 'TimeoutError'));
      }, opts.timeoutMs);
    }
  }

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  /** The caller stopped reading: the store's sink throws from now on. */
  cancel(): void {
    this.ac.abort(new DOMException('the client cancelled the call', 'AbortError'));
  }

  done(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.parent?.removeEventListener('abort', this.onParentAbort);
  }

  /** p, or the abort as soon as it happens (a store may finish its work after that). */
  race<T>(p: Promise<T>): Promise<T> {
    const signal = this.ac.signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }

  /**
   * What the caller gets for a failure: its own abort reason when it aborted (as
   * StoreClient), else a StoreAPIError with the status the gRPC edge would have sent.
   */
  error(address: string, method: string, err: unknown): unknown {
    if (this.parent?.aborted) return this.parent.reason;
    if (this.timedOut) return new StoreAPIError(address, method, Status.DEADLINE_EXCEEDED, 'context deadline exceeded');
    if (err instanceof StoreAPIError && err.address === address) return err;
    const st = toWireStatus(err);
    return new StoreAPIError(address, method, st.code, st.details);
  }
}

/**
 * The store's SeriesSink on one side, an async frame reader on the other. It holds at
 * most `capacity` frames; past that the sink's promise waits for the reader. After
 * the signal aborts, every sink method throws its reason, as GrpcSeriesSink does.
 */
class FrameChannel implements SeriesSink {
  private readonly queue: SeriesResponse[] = [];
  private head = 0;
  private ended = false;
  private failure: { err: unknown } | null = null;
  /** The reader waiting for a frame or the end. */
  private wake: (() => void) | null = null;
  /** The writer waiting for room. */
  private room: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | null = null;

  constructor(
    private readonly signal: AbortSignal,
    private readonly capacity: number,
  ) {
    signal.addEventListener('abort', () => {
      this.room?.reject(signal.reason);
      this.room = null;
      this.wakeReader();
    }, { once: true });
  }

  series(s: StoreSeries): Promise<void> | undefined {
    return this.push({ result: 'series', series: s });
  }

  warning(msg: string): Promise<void> | undefined {
    return this.push({ result: 'warning', warning: msg });
  }

  hints(h: AnyMessage): Promise<void> | undefined {
    return this.push({ result: 'hints', hints: h });
  }

  close(): void {
    this.ended = true;
    this.wakeReader();
  }

  fail(err: unknown): void {
    this.failure = { err };
    this.ended = true;
    this.wakeReader();
  }

  /** The next frame, or null at the end; throws the store's error or the abort reason. */
  async next(): Promise<SeriesResponse | null> {
    for (;;) {
      if (this.head < this.queue.length) {
        const f = this.queue[this.head];
        this.queue[this.head++] = undefined as unknown as SeriesResponse;
        if (this.head === this.queue.length) {
          this.queue.length = 0;
          this.head = 0;
        }
        if (this.room !== null && this.queue.length - this.head < this.capacity) {
          this.room.resolve();
          this.room = null;
        }
        return f;
      }
      // Frames written before a failure are delivered first, as over the wire.
      if (this.failure !== null) throw this.failure.err;
      if (this.signal.aborted) throw this.signal.reason;
      if (this.ended) return null;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private push(f: SeriesResponse): Promise<void> | undefined {
    this.signal.throwIfAborted();
    this.queue.push(f);
    this.wakeReader();
    if (this.queue.length - this.head < this.capacity) return this.room?.promise;
    if (this.room === null) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // A store that stops writing after an abort need not handle the rejection.
      promise.catch(() => {});
      this.room = { promise, resolve, reject };
    }
    return this.room.promise;
  }

  private wakeReader(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}
