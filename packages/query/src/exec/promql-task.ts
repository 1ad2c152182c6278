// A PromQL query as the API hands it to a runner (in-process, or a worker thread), and
// the one evaluation both run: engine, StoreAPI-backed queryable, result limit, capped
// warnings, and the answer's `data` encoded as it is walked.

import type { AbortSignalLike, Engine, QueryOptions, Value } from '@thanos-ts/promql';
import { documentedType, ParseErrors, parseMetricSelector } from '@thanos-ts/promql';
import type { Labels, Matcher } from '@thanos-ts/tsdb';
import { ApiError, apiErrorOf, badData, invalidParam } from '../api/errors.js';
import { queryDataBytes } from '../api/json.js';
import { capWarnings, MAX_ANNOTATIONS } from '../api/warnings.js';
import type { StoreQueryable } from '../querier.js';

/** Everything a runner needs to evaluate one query: plain data, so it can cross threads. */
export interface PromQLTask {
  kind: 'instant' | 'range';
  query: string;
  /** Unix ms; an instant query has start = end and step 0. */
  start: number;
  end: number;
  step: number;
  /** 0: the engine's lookback delta. */
  lookbackDelta: number;
  /** Unix ms at which the query times out (timeout parameter, --query.timeout); 0: never. */
  deadline: number;
  deduplicate: boolean;
  replicaLabels: string[];
  partialResponse: boolean;
  /** storeMatch[] selectors as given. */
  storeMatch: string[];
  maxSourceResolutionMs: number;
  /** Result series kept (limit parameter); 0: all. */
  limit: number;
}

/** An evaluated query: annotations first, so the status is known before `data` streams. */
export interface PromQLAnswer {
  warnings: string[];
  infos: string[];
  /** The `data` member of the response, UTF-8, in order. */
  data: AsyncIterable<Uint8Array>;
  /**
   * The whole `data` member when it came in one piece (most answers): written with the
   * envelope as one body with a Content-Length, instead of chunked.
   */
  whole?: Uint8Array;
}

/** Evaluates PromQL tasks; `signal` cancels one (the client went away). */
export interface PromQLRunner {
  /** Resolves once queries can run (worker threads loaded). */
  start(): Promise<void>;
  run(task: PromQLTask, signal: AbortSignal): Promise<PromQLAnswer>;
  close(): Promise<void>;
}

/** The storeMatch[] parameter as matcher groups (bad_data when one does not parse). */
export function parseStoreMatch(selectors: readonly string[]): Matcher[][] {
  const out: Matcher[][] = [];
  for (const s of selectors) {
    try {
      out.push(parseMetricSelector(s));
    } catch (err) {
      throw badData(err);
    }
  }
  return out;
}

/** The queryable settings of a task (StoreQueryableOptions without the proxy). */
export function queryableSettings(task: PromQLTask): {
  deduplicate: boolean;
  replicaLabels: string[];
  partialResponse: boolean;
  storeMatchers: Matcher[][];
  maxSourceResolutionMs: number;
} {
  return {
    deduplicate: task.deduplicate,
    replicaLabels: task.replicaLabels,
    partialResponse: task.partialResponse,
    storeMatchers: parseStoreMatch(task.storeMatch),
    maxSourceResolutionMs: task.maxSourceResolutionMs,
  };
}

/** Evaluated, not yet encoded: the encoding runs when `data` is iterated. */
export interface EvaluatedQuery {
  warnings: string[];
  infos: string[];
  data: Iterable<Buffer>;
}

/** Tighter bounds for one evaluation (the inline runner's), and errors to pass on as they are. */
export interface EvaluationBounds {
  maxSamples?: number;
  maxSelectedSamples?: number;
  onSelected?: (samples: number) => void;
  /** Errors of the evaluation thrown as they are instead of as an ApiError. */
  keep?: (err: unknown) => boolean;
}

/**
 * Runs the task on the engine over the queryable. Errors come out as ApiError with
 * Prometheus's types; `timedOut` tells a cancellation by the deadline from one by the
 * client.
 */
export async function evaluatePromQL(
  engine: Engine,
  queryable: StoreQueryable,
  task: PromQLTask,
  signal: AbortSignalLike,
  timedOut: () => boolean,
  bounds: EvaluationBounds = {},
): Promise<EvaluatedQuery> {
  // Parsed here, off the main thread: a megabyte of PromQL takes a while.
  let expr;
  try {
    expr = engine.parse(task.query);
  } catch (err) {
    throw invalidParam(err, 'query');
  }
  if (task.kind === 'range' && expr.valueType !== 'vector' && expr.valueType !== 'scalar') {
    throw invalidParam(new Error(`invalid expression type "${documentedType(expr.valueType)}" for range query, must be Scalar or instant Vector`), 'query');
  }
  const parsed = { parsed: true as const, expr, text: task.query };
  let res;
  try {
    const opts: QueryOptions = { signal, lookbackDelta: task.lookbackDelta, maxSamples: bounds.maxSamples, maxSelectedSamples: bounds.maxSelectedSamples, onSelected: bounds.onSelected };
    res =
      task.kind === 'instant'
        ? await engine.instantQuery(queryable, parsed, task.start, opts)
        : await engine.rangeQuery(queryable, parsed, task.start, task.end, task.step, opts);
  } catch (err) {
    if (bounds.keep?.(err)) throw err;
    if (err instanceof ParseErrors) throw invalidParam(err, 'query');
    if (err instanceof ApiError) throw err;
    throw apiErrorOf(err, timedOut());
  }
  const annos = res.annotations.asStrings(task.query, 0, MAX_ANNOTATIONS);
  // StoreAPI warnings and PromQL warnings share Prometheus's cap of ten.
  const warnings = capWarnings([...queryable.warnings, ...annos.warnings]);
  let value = res.value;
  if (task.limit > 0) {
    if (value.type === 'vector' && value.vector.length > task.limit) {
      value = { type: 'vector', vector: value.vector.slice(0, task.limit) };
      warnings.push('results truncated due to limit');
    } else if (value.type === 'matrix' && value.matrix.length > task.limit) {
      value = { type: 'matrix', matrix: value.matrix.slice(0, task.limit) };
      warnings.push('results truncated due to limit');
    }
  }
  return { warnings, infos: annos.infos, data: queryDataBytes(value, chunkSizeFor(value)) };
}

/** The answer's chunks are at most this big. */
export const MAX_CHUNK = 64 * 1024;
const MIN_CHUNK = 4 * 1024;

/**
 * A chunk size near the answer's estimated size: the encoder allocates a chunk up front,
 * and most answers are far smaller than MAX_CHUNK. A low estimate costs a larger chunk
 * (the encoder grows it), never different bytes.
 */
export function chunkSizeFor(v: Value): number {
  let est = 0;
  if (v.type === 'vector') {
    for (let i = 0; i < v.vector.length && est < MAX_CHUNK; i++) est += 64 + labelsBytes(v.vector[i].metric) + (v.vector[i].h === null ? 32 : 512);
  } else if (v.type === 'matrix') {
    for (let i = 0; i < v.matrix.length && est < MAX_CHUNK; i++) {
      const s = v.matrix[i];
      est += 64 + labelsBytes(s.metric) + 32 * s.floats.length + 512 * (s.histograms?.length ?? 0);
    }
  } else {
    est = 256;
  }
  return Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, est));
}

function labelsBytes(ls: Labels): number {
  let n = 0;
  for (const l of ls) n += 8 + l.name.length + l.value.length;
  return n;
}
