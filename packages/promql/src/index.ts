// @thanos-ts/promql: the PromQL language of Prometheus 3.14. This package holds the typed
// syntax tree, the lexer and parser (with Prometheus's error messages and type checks),
// the printer, the test-script value notation (parseSeriesDesc) and the value types the
// evaluator computes with.
export type {
  AggregateExpr,
  AggregateOp,
  AtModifierPreprocessor,
  BinaryExpr,
  BinaryOp,
  Call,
  DurationExpr,
  DurationNode,
  DurationOp,
  Expr,
  MatrixSelector,
  Node,
  NumberLiteral,
  ParenExpr,
  PositionRange,
  StepInvariantExpr,
  StringLiteral,
  SubqueryExpr,
  UnaryExpr,
  UnaryOp,
  VectorMatchCardinality,
  VectorMatching,
  VectorSelector,
} from './ast.js';
export { children, extractSelectors, inspect, isAggregateWithParam, isComparisonOp, isSetOp, positionRange } from './ast.js';
export { ValueType, documentedType } from './value-type.js';
export type { FunctionDef } from './functions.js';
export { FUNCTIONS, getFunction } from './functions.js';
export type { ParseOptions } from './parser.js';
export { ALL_FEATURES, NO_FEATURES, parseExpr, parseMetricSelector } from './parser.js';
export { ParseErr, ParseErrors, positionToLineCol } from './parse-error.js';
export { aggregateOpString, printExpr, subqueryTimeSuffix } from './printer.js';
export {
  formatDurationMs,
  formatFloatF,
  formatFloatFixed,
  formatFloatG,
  isValidUTF8,
  parseDurationMs,
  quoteGo,
  secondsToDurationMs,
  unquoteGo,
} from './go-strconv.js';
export type { SequenceValue, SeriesDesc } from './series-desc.js';
export { parseMetric, parseSeriesDesc } from './series-desc.js';
export type { Span } from './histogram.js';
export {
  CUSTOM_BUCKETS_SCHEMA,
  CounterResetHint,
  FloatHistogram,
  HistogramError,
  bucketEntries,
  exponentialBound,
  isCustomBucketsSchema,
  isExponentialSchema,
} from './histogram.js';
export type { Matrix, Sample, Scalar, Series, StringValue, Value, Vector } from './value.js';
export { FloatPoints, HistogramPoints, matrixValue, newSeries, scalarValue, seriesLength, stringValue, vectorValue } from './value.js';
export type { DurationContext } from './durations.js';
export { DurationError, calculateDurationMs, evaluateDurationExpr, resolveDurationExprs } from './durations.js';
export { goPow } from './go-math.js';
export type { AbortSignalLike, EngineOptions, QueryOptions, QueryResult } from './engine/index.js';
/** XXH64, seed 0 (BigInt: for occasional hashing, not hot paths). */
export {
  DEFAULT_LOOKBACK_DELTA,
  DEFAULT_MAX_SAMPLES,
  DEFAULT_TIMEOUT,
  Engine,
  ErrorWithAnnotations,
  EvalError,
  QueryCanceledError,
  QueryTimeoutError,
  StorageError,
  TooManySamplesError,
  UnsupportedError,
} from './engine/index.js';
export type { ConformanceOutcome, EvalOutcome, EvalTag, Tally } from './promqltest/index.js';
export { MemStorage, almostEqual, newTestEngine, parseScript, runConformance, runScript, summarize } from './promqltest/index.js';
export { Annotation, AnnotationKind, Annotations } from './functions/annotations.js';
