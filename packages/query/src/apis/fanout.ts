// The fan-out shared by the Rules, Targets, Metadata and Exemplars proxies (Thanos
// pkg/rules/proxy.go and its siblings): every endpoint advertising the API is called
// concurrently and its whole answer collected; a failing endpoint becomes a warning
// naming it, or fails the call when partial responses are off. Warnings the endpoints
// send are passed on either way.

import { formatGoDuration, nopLogger } from '@thanos-ts/runtime';
import type { Logger } from '@thanos-ts/runtime';
import { Status, StoreAPIError } from '@thanos-ts/storeapi';
import type { ApiFrame, ResponseSink, StoreCallOptions, StoreClient } from '@thanos-ts/storeapi';
import type { Labels } from '@thanos-ts/tsdb';

/** The calls the proxies make on an endpoint (StoreClient has them). */
export type ApiEndpointClient = Pick<StoreClient, 'rules' | 'targets' | 'metricMetadata' | 'exemplars'>;

/** An endpoint serving one of the APIs, as the endpoint set knows it (EndpointRef). */
export interface ApiEndpoint {
  /** HOST:PORT. */
  readonly address: string;
  readonly client: ApiEndpointClient;
  /** External label sets from its last Info. */
  labelSets(): readonly Labels[];
  /** "sidecar", "query", … */
  componentType(): string;
}

export interface ApiProxyOptions {
  /** The endpoints advertising the API, read at every request. */
  endpoints: () => readonly ApiEndpoint[];
  /** Bounds each endpoint's whole call (ms; 0: none). */
  responseTimeoutMs?: number;
  logger?: Logger;
}

/**
 * Calls `call` on every endpoint concurrently and writes what they answered to `sink`:
 * all warnings first, then the payloads, endpoint by endpoint in the given order.
 */
export async function fanOut<T>(
  method: string,
  endpoints: readonly ApiEndpoint[],
  call: (e: ApiEndpoint, opts: StoreCallOptions) => AsyncIterable<ApiFrame<T>>,
  sink: ResponseSink<T>,
  abortOnError: boolean,
  signal: AbortSignal,
  opts: ApiProxyOptions,
): Promise<void> {
  const logger = opts.logger ?? nopLogger();
  const timeoutMs = opts.responseTimeoutMs ?? 0;
  const warnings: string[] = [];
  const answers = await Promise.all(
    endpoints.map(async (e) => {
      const out: T[] = [];
      const callSignal = timeoutMs > 0 ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : signal;
      try {
        for await (const f of call(e, { signal: callSignal })) {
          if (f.warning !== null) warnings.push(f.warning);
          else if (f.payload !== null) out.push(f.payload);
        }
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        const se = asStoreError(e.address, method, err, timeoutMs);
        logger.warn({ store: e.address, err: se }, `${method} request to endpoint failed`);
        if (abortOnError) throw se;
        warnings.push(se.message);
        return [];
      }
      return out;
    }),
  );
  for (const w of warnings) {
    const p = sink.warning(w);
    if (p) await p;
  }
  for (const list of answers) {
    for (const x of list) {
      const p = sink.send(x);
      if (p) await p;
    }
  }
}

function asStoreError(address: string, method: string, err: unknown, timeoutMs: number): StoreAPIError {
  if (err instanceof StoreAPIError) return err;
  const e = err as Error;
  if (e?.name === 'TimeoutError') {
    return new StoreAPIError(address, method, Status.DEADLINE_EXCEEDED, `no answer within ${formatGoDuration(timeoutMs)}`);
  }
  return new StoreAPIError(address, method, Status.UNKNOWN, e?.message ?? String(err));
}

/** Labels without the replica labels (a fresh array only when one is present). */
export function withoutReplicaLabels(ls: Labels, replicaLabels: ReadonlySet<string>): Labels {
  if (replicaLabels.size === 0) return ls;
  for (const l of ls) if (replicaLabels.has(l.name)) return ls.filter((x) => !replicaLabels.has(x.name));
  return ls;
}
