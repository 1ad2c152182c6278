// The PromQL evaluator: Engine (instant and range queries over a Queryable) and its errors.
export type { EngineOptions, QueryOptions, QueryResult } from './engine.js';
export { DEFAULT_LOOKBACK_DELTA, DEFAULT_MAX_SAMPLES, DEFAULT_TIMEOUT, Engine } from './engine.js';
export type { AbortSignalLike } from './errors.js';
export {
  ErrorWithAnnotations,
  EvalError,
  QueryCanceledError,
  QueryTimeoutError,
  StorageError,
  TooManySamplesError,
  UnsupportedError,
} from './errors.js';
export type { SelectedSeries } from './select.js';
