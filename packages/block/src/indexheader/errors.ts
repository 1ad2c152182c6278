import { ObjectNotFoundError } from '@thanos-ts/objstore';
import { CorruptionError } from '@thanos-ts/tsdb';

/**
 * Prefixes err's message with context (Thanos errors.Wrap style), keeping the types
 * callers branch on: a CorruptionError stays one (with its file and offset), a missing
 * object stays an ObjectNotFoundError, and an abort is passed through untouched.
 */
export function wrapError(err: unknown, context: string): unknown {
  if (err instanceof Error && err.name === 'AbortError') return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof CorruptionError) {
    const c = new CorruptionError(err.file, err.offset, err.reason);
    c.message = `${context}: ${message}`;
    c.cause = err;
    return c;
  }
  if (err instanceof ObjectNotFoundError) {
    return new ObjectNotFoundError(`${context}: ${message}`, err.objectName, { cause: err });
  }
  return new Error(`${context}: ${message}`, { cause: err });
}
