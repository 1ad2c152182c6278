export { createLogger, nopLogger, jsonLineToLogfmt, LOG_LEVELS } from './logger.js';
export type { Logger, LogFormat, LogLevel, LoggerOptions } from './logger.js';
export { Prober } from './prober.js';
export { createRegistry } from './metrics.js';
export { buildInfo, readGitHead, versionText, VERSION } from './build-info.js';
export type { BuildInfo, GitHead } from './build-info.js';
export { closeHttpServer, HttpServer } from './http-server.js';
export type { HttpServerOptions, RouteHandler } from './http-server.js';
export { registerStatusAPI, runtimeInfo, sortedFlags, type RuntimeInfo, type StatusAPIOptions } from './status-api.js';
export { parseHostPort } from './address.js';
export { runUntilSignal } from './service.js';
export type { Service } from './service.js';
export {
  InvalidArgumentError,
  UnavailableError,
  LimitExceededError,
  NotFoundError,
  UserError,
  wrapError,
} from './errors.js';
export {
  parsePromDuration,
  formatPromDuration,
  parseGoDuration,
  parseConfigDuration,
  formatGoDuration,
  parseTimeOrDuration,
  formatRFC3339,
} from './duration.js';
export { mapConcurrent, noop } from './concurrency.js';
export { writeFileAtomic, renameDirAtomic, syncDir } from './atomic-file.js';
export type { AtomicFileData, WriteFileAtomicOptions } from './atomic-file.js';
export { Gate } from './gate.js';
export { parseBytes, formatBytes } from './bytes.js';
export { FlagValues, flagKey, pathOrContent } from './flags.js';
export type { FlagSpec } from './flags.js';
export * from './transport-flags.js';
export * from './web-config.js';
export * from './discovery/dns.js';
export { FileSD, parseFileSD } from './discovery/file-sd.js';
export type { FileSDOptions } from './discovery/file-sd.js';
export { XXH64_RESULT, xxh64, xxhash64 } from './xxhash.js';
