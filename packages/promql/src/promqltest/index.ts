// The PromQL test-script runner (Prometheus's promqltest): script parsing, an in-memory
// Queryable, the runner with upstream's hidden re-runs, and corpus-level helpers.
export type { ClearCmd, Command, EvalCmd, ExpectLine, ExpectType, ExpectedSeries, LoadCmd, LoadSample } from './script.js';
export { ScriptError, isFail, isOrdered, parseScript, scriptLines } from './script.js';
export type { MemSeries } from './mem-storage.js';
export { MemStorage } from './mem-storage.js';
export type { EvalOutcome } from './runner.js';
export { TEST_MAX_SAMPLES, almostEqual, atModifierTestCases, compareResult, newTestEngine, runScript } from './runner.js';
export type { ConformanceOutcome, EvalTag, Tally } from './conformance.js';
export { findEvalsTsv, findTestFiles, readEvalTags, runConformance, summarize } from './conformance.js';
