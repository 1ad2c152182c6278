// Errors the head's appender returns for samples it refuses, with Prometheus's texts
// (storage/interface.go). Out-of-order and duplicate samples reuse the storage errors
// (their messages start with Prometheus's "out of order sample" and "duplicate sample
// for timestamp"); the two below exist only for appenders with a lower time bound.

export { OutOfOrderSampleError, DuplicateSampleForTimestampError } from '../storage/index.js';

/**
 * A sample older than the head accepts (storage.ErrOutOfBounds): below the appender's
 * minimum valid time, max(head max time - chunkRange/2, the head's last truncation
 * time), so that no append lands in a range being or already compacted into a block.
 */
export class OutOfBoundsError extends Error {
  override readonly name = 'OutOfBoundsError';
  constructor(
    readonly t: number,
    readonly minValidTime: number,
  ) {
    super('out of bounds');
  }
}

/**
 * A sample older than the out-of-order window allows (storage.ErrTooOldSample): below
 * the head's max time (when the appender started) minus the window. Only returned when
 * an out-of-order window is configured; without one such a sample is out of order or
 * out of bounds.
 */
export class TooOldSampleError extends Error {
  override readonly name = 'TooOldSampleError';
  constructor(readonly t: number) {
    super('too old sample');
  }
}

/** A sample whose series cannot be stored (tsdb.ErrInvalidSample): empty or duplicated label names. */
export class InvalidSampleError extends Error {
  override readonly name = 'InvalidSampleError';
  constructor(reason: string) {
    // errors.Wrap(ErrInvalidSample, reason) prints "reason: invalid sample".
    super(`${reason}: invalid sample`);
  }
}
