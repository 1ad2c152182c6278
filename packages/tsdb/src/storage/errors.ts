// Errors appenders return for samples they refuse (Prometheus storage/interface.go).
// Callers branch on them (count and drop the sample, answer 409, …), so they are types.

/** A sample older than the newest one already appended to its series (storage.ErrOutOfOrderSample). */
export class OutOfOrderSampleError extends Error {
  override readonly name = 'OutOfOrderSampleError';
  constructor(
    readonly t: number,
    readonly lastT: number,
    series = '',
  ) {
    super(`out of order sample: timestamp ${t} is before the series' last timestamp ${lastT}${series ? ` for series ${series}` : ''}`);
  }
}

/**
 * A sample at the timestamp of the series' newest sample but with a different value
 * (storage.ErrDuplicateSampleForTimestamp). An exact duplicate (same value bits) is
 * accepted and dropped, as Prometheus does.
 */
export class DuplicateSampleForTimestampError extends Error {
  override readonly name = 'DuplicateSampleForTimestampError';
  constructor(
    readonly t: number,
    series = '',
  ) {
    super(`duplicate sample for timestamp ${t}${series ? ` for series ${series}` : ''}`);
  }
}
