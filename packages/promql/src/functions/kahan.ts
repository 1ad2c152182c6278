// Kahan-Babuška-Neumaier summation as Prometheus's util/kahansum.Inc. Hot kernels inline
// the same three lines; this module serves callers that sum outside a tight loop (e.g.
// aggregations in the evaluator).

/**
 * Adds inc to (sum, c) and stores the new (sum, c) in out[0], out[1]. Go returns two
 * values; a caller-owned scratch array avoids allocating a pair per call.
 */
export function kahanSumInc(inc: number, sum: number, c: number, out: Float64Array): void {
  const t = sum + inc;
  if (t === Infinity || t === -Infinity) c = 0;
  else if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  out[0] = t;
  out[1] = c;
}
