/**
 * ObjectNotFoundError is thrown by get, getRange and attributes when the named
 * object does not exist (a directory, or a "dir/" prefix on S3, is not an object).
 * Callers branch on it with {@link isObjectNotFound}, never on message text.
 */
export class ObjectNotFoundError extends Error {
  override readonly name = 'ObjectNotFoundError';
  /** Full object name as the backend saw it (including any bucket prefix). */
  readonly objectName: string;

  constructor(message: string, objectName: string, options?: { cause?: unknown }) {
    super(message, options);
    this.objectName = objectName;
  }
}

/**
 * isObjectNotFound reports whether err, or any error in its `cause` chain, is an
 * ObjectNotFoundError, so callers may wrap bucket errors with their own context.
 */
export function isObjectNotFound(err: unknown): boolean {
  // Bounded walk: a cause chain is short, and this guards against cycles.
  for (let e = err, depth = 0; e != null && depth < 16; depth++) {
    if (e instanceof ObjectNotFoundError) return true;
    e = typeof e === 'object' && 'cause' in e ? (e as { cause?: unknown }).cause : undefined;
  }
  return false;
}

/** notFound builds the not-found error for operation context op ("get chunks/000001"). */
export function notFound(op: string, objectName: string, cause?: unknown): ObjectNotFoundError {
  return new ObjectNotFoundError(`${op}: object not found`, objectName, { cause });
}

/** errorMessage renders any thrown value as a one-line message. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * wrapError prefixes err with context, keeping the original as `cause`.
 * Not-found errors keep their type so isObjectNotFound still holds.
 */
export function wrapError(context: string, err: unknown): Error {
  if (err instanceof ObjectNotFoundError) {
    return new ObjectNotFoundError(`${context}: ${err.message}`, err.objectName, { cause: err });
  }
  return new Error(`${context}: ${errorMessage(err)}`, { cause: err });
}
