/**
 * CorruptionError reports bytes that do not follow the format they claim to be in:
 * bad magic, a checksum mismatch, a truncated section, an unknown version. It names the
 * file and the byte offset so an operator can find the damage.
 */
export class CorruptionError extends Error {
  override readonly name = 'CorruptionError';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${file}: offset ${offset}: ${reason}`);
  }
}

export function isCorruption(err: unknown): err is CorruptionError {
  return err instanceof CorruptionError;
}
