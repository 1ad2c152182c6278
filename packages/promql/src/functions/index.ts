// The function kernels of PromQL and their registry. See README.md for the calling
// convention.

import { possibleNonCounterInfo, type Annotations } from './annotations.js';
import type { PositionRange } from '../ast.js';
import * as H from './histogram-quantile.js';
import * as L from './labels.js';
import * as M from './math.js';
import * as R from './range.js';
import * as S from './sort.js';
import type { InstantKernel, KernelEntry, RangeKernel, VectorKernel } from './types.js';

export type { InstantKernel, KernelEntry, RangeCall, RangeKernel, VectorCall, VectorKernel } from './types.js';
export { FunctionError } from './types.js';
export * from './annotations.js';
export { kahanSumInc } from './kahan.js';
export { quantile, quantileOfSorted, sortNaNFirst } from './quantile.js';
export * from './range.js';
export * from './math.js';
export * from './sort.js';
export * from './labels.js';
export type { BucketQuantileResult, ClassicBuckets } from './histogram-quantile.js';
export {
  bucketFraction,
  bucketQuantile,
  formatOpenMetricsFloat,
  funcHistogramFraction,
  funcHistogramQuantile,
  funcHistogramQuantiles,
} from './histogram-quantile.js';

const range = (kernel: RangeKernel, histogramAware: boolean): KernelEntry => ({ kind: 'range', kernel, histogramAware });
const instant = (kernel: InstantKernel): KernelEntry => ({ kind: 'instant', kernel });
const vector = (kernel: VectorKernel): KernelEntry => ({ kind: 'vector', kernel });

/**
 * The kernels by function name. Functions the evaluator implements itself are absent:
 * absent, scalar, vector, timestamp, start_timestamp, info, histogram_count/sum/avg/
 * stddev/stdvar (native histograms only), min_of/max_of, start/end/range/step.
 */
export const FUNCTION_KERNELS: ReadonlyMap<string, KernelEntry> = new Map<string, KernelEntry>([
  // range vectors; `true` = needs a histogram-aware kernel when the window holds histograms
  ['rate', range(R.funcRate, true)],
  ['increase', range(R.funcIncrease, true)],
  ['delta', range(R.funcDelta, true)],
  ['irate', range(R.funcIrate, true)],
  ['idelta', range(R.funcIdelta, true)],
  ['changes', range(R.funcChanges, true)],
  ['resets', range(R.funcResets, true)],
  ['sum_over_time', range(R.funcSumOverTime, true)],
  ['avg_over_time', range(R.funcAvgOverTime, true)],
  ['last_over_time', range(R.funcLastOverTime, true)],
  ['first_over_time', range(R.funcFirstOverTime, true)],
  ['deriv', range(R.funcDeriv, false)],
  ['predict_linear', range(R.funcPredictLinear, false)],
  ['count_over_time', range(R.funcCountOverTime, false)],
  ['present_over_time', range(R.funcPresentOverTime, false)],
  ['absent_over_time', range(R.funcAbsentOverTime, false)],
  ['max_over_time', range(R.funcMaxOverTime, false)],
  ['min_over_time', range(R.funcMinOverTime, false)],
  ['ts_of_max_over_time', range(R.funcTsOfMaxOverTime, false)],
  ['ts_of_min_over_time', range(R.funcTsOfMinOverTime, false)],
  ['ts_of_first_over_time', range(R.funcTsOfFirstOverTime, false)],
  ['ts_of_last_over_time', range(R.funcTsOfLastOverTime, false)],
  ['stddev_over_time', range(R.funcStddevOverTime, false)],
  ['stdvar_over_time', range(R.funcStdvarOverTime, false)],
  ['quantile_over_time', range(R.funcQuantileOverTime, false)],
  ['mad_over_time', range(R.funcMadOverTime, false)],
  ['double_exponential_smoothing', range(R.funcDoubleExponentialSmoothing, false)],
  // per sample
  ['abs', instant(M.funcAbs)],
  ['ceil', instant(M.funcCeil)],
  ['floor', instant(M.funcFloor)],
  ['exp', instant(M.funcExp)],
  ['sqrt', instant(M.funcSqrt)],
  ['ln', instant(M.funcLn)],
  ['log2', instant(M.funcLog2)],
  ['log10', instant(M.funcLog10)],
  ['sin', instant(M.funcSin)],
  ['cos', instant(M.funcCos)],
  ['tan', instant(M.funcTan)],
  ['asin', instant(M.funcAsin)],
  ['acos', instant(M.funcAcos)],
  ['atan', instant(M.funcAtan)],
  ['sinh', instant(M.funcSinh)],
  ['cosh', instant(M.funcCosh)],
  ['tanh', instant(M.funcTanh)],
  ['asinh', instant(M.funcAsinh)],
  ['acosh', instant(M.funcAcosh)],
  ['atanh', instant(M.funcAtanh)],
  ['deg', instant(M.funcDeg)],
  ['rad', instant(M.funcRad)],
  ['sgn', instant(M.funcSgn)],
  ['round', instant(M.funcRound)],
  ['clamp', instant(M.funcClamp)],
  ['clamp_min', instant(M.funcClampMin)],
  ['clamp_max', instant(M.funcClampMax)],
  ['year', instant(M.funcYear)],
  ['month', instant(M.funcMonth)],
  ['day_of_month', instant(M.funcDayOfMonth)],
  ['day_of_year', instant(M.funcDayOfYear)],
  ['day_of_week', instant(M.funcDayOfWeek)],
  ['days_in_month', instant(M.funcDaysInMonth)],
  ['hour', instant(M.funcHour)],
  ['minute', instant(M.funcMinute)],
  // whole vectors
  ['sort', vector(S.funcSort)],
  ['sort_desc', vector(S.funcSortDesc)],
  ['sort_by_label', vector(S.funcSortByLabel)],
  ['sort_by_label_desc', vector(S.funcSortByLabelDesc)],
  ['label_replace', vector(L.funcLabelReplace)],
  ['label_join', vector(L.funcLabelJoin)],
  ['histogram_quantile', vector(H.funcHistogramQuantile)],
  ['histogram_fraction', vector(H.funcHistogramFraction)],
  ['histogram_quantiles', vector(H.funcHistogramQuantiles)],
  // scalars
  ['pi', { kind: 'scalar', kernel: () => Math.PI }],
  ['time', { kind: 'scalar', kernel: (evalTs: number) => evalTs / 1000 }],
]);

/**
 * The engine's check after rate()/increase() of one series (engine.go): a named float
 * series that produced output but lacks the counter suffixes gets the "might not be a
 * counter" info. pos is the position of the function's first argument.
 */
export function checkCounterName(metricName: string, hadFloatOutput: boolean, pos: PositionRange, ann: Annotations): void {
  if (metricName === '' || !hadFloatOutput) return;
  if (metricName.endsWith('_total') || metricName.endsWith('_sum') || metricName.endsWith('_count') || metricName.endsWith('_bucket')) {
    return;
  }
  ann.add(possibleNonCounterInfo(metricName, pos));
}
