// Errors that callers branch on. They are mapped once, at the edge, to gRPC status
// codes and Prometheus API error types; below that, code throws these.

/** The request was malformed (bad matcher, min > max, unknown flag value). */
export class InvalidArgumentError extends Error {
  override readonly name = 'InvalidArgumentError';
}

/** A peer or backend could not be reached or answered with a server error. */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
}

/** A configured limit (samples, series, concurrency) was hit. */
export class LimitExceededError extends Error {
  override readonly name = 'LimitExceededError';
}

/** The user asked for something that does not exist. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/**
 * A user-facing error: the CLI prints its message as one line and exits non-zero,
 * without a stack trace.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Prefixes an error's message with context, Thanos' errors.Wrap style. */
export function wrapError(err: unknown, context: string): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const wrapped = new (e.constructor as new (m: string) => Error)(`${context}: ${e.message}`);
  if (e.stack) wrapped.stack = `${wrapped.name}: ${wrapped.message}\n${e.stack.split('\n').slice(1).join('\n')}`;
  return Object.assign(wrapped, { cause: e });
}
