// The quantile of a set of floats (promql/quantile.go quantile()), shared by
// quantile_over_time, mad_over_time and the quantile aggregation.

/**
 * Sorts values ascending with NaNs first, the order Prometheus's vectorByValueHeap gives
 * (typed-array sort would put them last).
 */
export function sortNaNFirst(values: Float64Array): void {
  let nans = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== values[i]) nans++;
  values.sort();
  if (nans === 0 || nans === values.length) return;
  // sort() left the NaNs at the end: rotate them to the front.
  values.copyWithin(nans, 0, values.length - nans);
  values.fill(NaN, 0, nans);
}

/**
 * The φ-quantile of values sorted by sortNaNFirst, interpolating linearly between the two
 * closest ranks. NaN for no values or φ = NaN; -Inf for φ < 0; +Inf for φ > 1.
 */
export function quantileOfSorted(q: number, values: Float64Array): number {
  const n = values.length;
  if (n === 0 || q !== q) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const rank = q * (n - 1);
  const lowerIndex = Math.max(0, Math.floor(rank));
  const upperIndex = Math.min(n - 1, lowerIndex + 1);
  const weight = rank - Math.floor(rank);
  return values[lowerIndex] * (1 - weight) + values[upperIndex] * weight;
}

/** quantile(): sorts values in place (NaN first) and returns their φ-quantile. */
export function quantile(q: number, values: Float64Array): number {
  if (values.length === 0 || q !== q || q < 0 || q > 1) return quantileOfSorted(q, values);
  sortNaNFirst(values);
  return quantileOfSorted(q, values);
}
